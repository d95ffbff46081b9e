/* fl_metrics: the training state the exporter shows, built only by applying events (from log
 * lines, or derived from the SuperLink state database), and rendered as the spec's 11 fl_*
 * metrics (design 04 §3.3, README decision 14: the failure counter is fl_clients_failed_total)
 * plus a few marked non-spec extras. Fixed size: memory does not grow with history (a bounded
 * node set, a bounded ring of recent rounds). Not thread-safe: the caller locks. */
#ifndef FL_METRICS_H
#define FL_METRICS_H

#include "fl_buf.h"
#include "fl_mevent.h"

#include <stdbool.h>
#include <stdint.h>

/* fl_round_duration_seconds buckets (+Inf implied). */
#define FL_METRICS_NBUCKETS  8
#define FL_METRICS_NODES_MAX 4096 /* node ids tracked for join/leave idempotence */
#define FL_METRICS_HISTORY   256  /* recent rounds kept for `show` */
#define FL_METRICS_SEEN      1024 /* recent timestamped events remembered for duplicates */

enum fl_metrics_status { FL_MST_IDLE = 0, FL_MST_RUNNING = 1, FL_MST_COMPLETE = 2, FL_MST_FAILED = 3 };

enum fl_metrics_format {
	FL_METRICS_PROM,        /* text 0.0.4 */
	FL_METRICS_OPENMETRICS, /* application/openmetrics-text 1.0.0, ends in # EOF */
	FL_METRICS_JSON,        /* the state as one JSON object (show, tests, scripts) */
};

/* Where a value came from: log events, or the state database (db wins for the client gauges
 * and the status while it is readable). */
enum fl_metrics_origin { FL_MOR_NONE = 0, FL_MOR_EVENTS, FL_MOR_DB };

struct fl_metrics_round {
	long long round;
	double loss, accuracy, duration; /* NAN: unknown */
	long long selected, responded, failed;
	double end_ts; /* when round_end was seen (event time, else wall clock) */
};

struct fl_metrics {
	char strategy[FL_MEVENT_STR_MAX]; /* the label: last seen, else the default given */
	/* The spec's 11 (the labeled ones are "absent" until first set: HELP/TYPE only). */
	bool have_round_current, have_round_total, have_loss, have_accuracy, have_hist;
	double round_current, round_total, loss, accuracy;
	uint64_t bucket[FL_METRICS_NBUCKETS]; /* non-cumulative counts per bucket (+Inf: count) */
	double hist_sum;
	uint64_t hist_count;
	double clients_connected, clients_selected, clients_responded;
	uint64_t clients_failed, checkpoints_saved;
	enum fl_metrics_status status;
	enum fl_metrics_origin connected_origin, status_origin;

	/* Non-spec extras (fl-metrics(1) says so). */
	uint64_t events[FL_MEV_COUNT];         /* fl_metrics_events_total{event=} */
	uint64_t skipped[FL_MEV_TOO_LONG + 1]; /* fl_metrics_lines_skipped_total{reason=} */
	uint64_t lines;                        /* lines read */
	double last_event_ts;                  /* fl_metrics_last_event_timestamp_seconds, NAN: none */
	long long clients_registered;          /* db: node rows not unregistered; -1 unknown */
	long long min_clients;                 /* training_start min_clients; -1 unknown */
	bool stalled;                          /* a training_stalled event for the current round */
	bool mark_failed;                      /* --mark-failed: status stays 3 */

	/* Join/leave idempotence: 64-bit hashes of the connected node ids (open addressing). */
	uint64_t node[FL_METRICS_NODES_MAX];
	unsigned nnodes;

	/* The same event line read through two sources (a SuperLink <= 1.26 writes the ServerApp's
	 * output to its log and to the database's logs table) counts once: hashes of the last
	 * FL_METRICS_SEEN timestamped JSON events fed, a ring. */
	uint64_t seen[FL_METRICS_SEEN];
	unsigned seen_head;
	uint64_t duplicates; /* fl_metrics_events_duplicate_total */

	/* The last FL_METRICS_HISTORY rounds, oldest first from hist_head. */
	struct fl_metrics_round history[FL_METRICS_HISTORY];
	unsigned hist_len, hist_head;
};

/* Bucket upper bounds: 1, 5, 10, 30, 60, 120, 300, 600. */
extern const double fl_metrics_buckets[FL_METRICS_NBUCKETS];

/* A fresh state; strategy: the default label (FL_STRATEGY; NULL or "": FedAvg). */
void fl_metrics_init(struct fl_metrics *m, const char *strategy);

/* Apply one event (design 04 §8.3 mapping). now: wall clock for events without a timestamp. */
void fl_metrics_apply(struct fl_metrics *m, const struct fl_mevent *ev, double now);

/* Parse one line and apply it, counting lines and skips. A timestamped event equal (type, time
 * and data) to one of the last FL_METRICS_SEEN fed is a duplicate: counted, not applied.
 * Returns the skip reason (FL_MEV_OK for a duplicate too). */
enum fl_mevent_skip fl_metrics_feed(struct fl_metrics *m, const char *line, size_t n, double now);

/* The state database's absolute values (they replace the event-derived ones): the online
 * SuperNodes, registered ones (-1: unknown), and the run status. */
void fl_metrics_set_connected(struct fl_metrics *m, long long online, long long registered);
void fl_metrics_set_status(struct fl_metrics *m, enum fl_metrics_status st);

/* The exposition (or JSON) of m, appended to out. */
void fl_metrics_render(const struct fl_metrics *m, enum fl_metrics_format f, struct fl_buf *out);

/* "text/plain; version=0.0.4; charset=utf-8" etc. */
const char *fl_metrics_content_type(enum fl_metrics_format f);

/* The format an Accept header asks for: OpenMetrics when it names
 * application/openmetrics-text (with q > 0), else the text format. NULL: text. */
enum fl_metrics_format fl_metrics_negotiate(const char *accept);

/* The i-th oldest of the recent rounds (i < m->hist_len). */
const struct fl_metrics_round *fl_metrics_history(const struct fl_metrics *m, unsigned i);

#endif
