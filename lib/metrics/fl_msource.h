/* fl_msource: the sources fl-metrics reads, polled into one struct fl_metrics: followed log
 * files (FL JSON lines or Docker json-file logs) and the SuperLink state database (read-only;
 * fl_linkdb). serve, show and parse share it. */
#ifndef FL_MSOURCE_H
#define FL_MSOURCE_H

#include "fl_err.h"
#include "fl_metrics.h"

#include <stdbool.h>
#include <stddef.h>

struct fl_msource_cfg {
	const char *const *follow; /* log files; "-" is stdin (parse only) */
	size_t nfollow;
	const char *db; /* the state database file, or NULL */
	bool from_end;  /* start at the files' ends (default: from their start) */
};

struct fl_msource;

/* 0, or -1 with e (a file that is not a regular file, a database that is not Flower's). */
int fl_msource_open(struct fl_msource **s, const struct fl_msource_cfg *cfg, struct fl_err *e);

/* Read what is new from every source into m. Returns the number of lines and rows read, or -1
 * with e when a source failed this time (m keeps what the others gave). */
long fl_msource_poll(struct fl_msource *s, struct fl_metrics *m, double now, struct fl_err *e);

/* End of input for one-shot use: partial last lines become lines. */
void fl_msource_flush(struct fl_msource *s, struct fl_metrics *m, double now);

void fl_msource_close(struct fl_msource *s);

/* One-shot use (parse, show): open, poll, flush, close. The lines and rows read, or -1 with e. */
long fl_msource_read_all(const struct fl_msource_cfg *cfg, struct fl_metrics *m, double now,
                         struct fl_err *e);

#endif
