/* fl_mhttp: the /metrics HTTP server of `fl-metrics serve` (libmicrohttpd: internal threads on
 * epoll). It serves an immutable snapshot of the exposition in both formats: the producer
 * renders once per change and swaps the snapshot; a scrape takes a reference and never renders,
 * never waits for the sources and never sees a half-applied event.
 *
 * Routes: GET/HEAD /metrics: 200, the format negotiated from Accept (503 until the first
 * snapshot); GET/HEAD /: 200, a small HTML page linking /metrics; another path: 404; another
 * method: 405 with "Allow: GET, HEAD". */
#ifndef FL_MHTTP_H
#define FL_MHTTP_H

#include "fl_err.h"
#include "fl_metrics.h"

#include <stddef.h>

#define FL_MHTTP_CONN_LIMIT 128 /* connections served at once; more wait in the listen backlog */
#define FL_MHTTP_TIMEOUT_S  10  /* an idle or half-sent request is dropped after this */
#define FL_MHTTP_THREADS    2   /* server threads (libmicrohttpd's pool, each on epoll) */

struct fl_mhttp_cfg {
	const char *addr;    /* one IPv4 or IPv6 literal (no brackets): the only address bound */
	unsigned port;       /* 0: any free port (tests; fl_mhttp_port says which) */
	unsigned conn_limit; /* 0: FL_MHTTP_CONN_LIMIT */
	unsigned timeout_s;  /* 0: FL_MHTTP_TIMEOUT_S */
	unsigned threads;    /* 0: FL_MHTTP_THREADS */
};

struct fl_mhttp;

/* Bind addr:port and start serving. 0, or -1 with e: not an address, the address is not this
 * machine's, or the port is in use ("Address already in use: ..."). */
int fl_mhttp_start(const struct fl_mhttp_cfg *cfg, struct fl_mhttp **h, struct fl_err *e);

/* The port bound (the one chosen when cfg->port was 0). */
unsigned fl_mhttp_port(const struct fl_mhttp *h);

/* Render m in the text and OpenMetrics formats and make it the snapshot scrapes get. The caller
 * holds m still while this runs (it is read, not kept). */
void fl_mhttp_publish(struct fl_mhttp *h, const struct fl_metrics *m);

/* The same from bodies already rendered (copied). */
void fl_mhttp_publish_bodies(struct fl_mhttp *h, const char *prom, size_t nprom, const char *om, size_t nom);

/* Stop serving (connections in progress are closed), free everything. NULL is fine. */
void fl_mhttp_stop(struct fl_mhttp *h);

#endif
