/* fl_metrics_verb: what fl-metrics' verbs do once the options are known. Each verb is in its
 * own file (fl_metrics_verb.c: parse; fl_metrics_serve.c; fl_metrics_show.c;
 * fl_metrics_publish.c) and returns the exit status, its failure logged. */
#ifndef FL_METRICS_VERB_H
#define FL_METRICS_VERB_H

#include "fl_buf.h"
#include "fl_tool.h"

#include <stdbool.h>
#include <stddef.h>

#define FL_METRICS_FOLLOW_MAX 8

/* The options of every verb (cmd/fl-metrics.c fills it; 0/NULL: not given). */
struct fl_metrics_verb {
	const char *follow[FL_METRICS_FOLLOW_MAX]; /* --follow FILE (repeatable) */
	size_t nfollow;
	const char *db;        /* --db FILE: the SuperLink state database */
	const char *strategy;  /* --strategy NAME: the default label */
	bool mark_failed;      /* --mark-failed */
	bool from_end;         /* --from-end (serve) */
	long port;             /* --port N (serve); 0: FL_METRICS_PORT */
	const char *bind;      /* --bind ADDR (serve) */
	bool force;            /* --force (serve): even when FL_METRICS_ENABLED is not YES */
	long poll_ms;          /* --poll SECONDS (serve, publish): how often sources are read */
	long interval_ms;      /* --interval SECONDS (publish): the periodic refresh */
	bool once;             /* --once (publish) */
	const char *log;       /* --log FILE (publish): the SuperNode's output */
	const char *container; /* --container NAME (publish): the Flower container to watch */
	const char *pidfile;   /* --pidfile FILE (publish): the native SuperNode's pid */
};

/* out on standard output, flushed, then freed: the exit status (1, logged, when it cannot be
 * written: a closed pipe, a full disk). */
int fl_metrics_verb_print(struct fl_buf *out);

int fl_metrics_verb_parse(struct fl_tool *t, const struct fl_metrics_verb *o, char **args, int nargs);
int fl_metrics_verb_serve(struct fl_tool *t, const struct fl_metrics_verb *o);
int fl_metrics_verb_show(struct fl_tool *t, const struct fl_metrics_verb *o);
int fl_metrics_verb_publish(struct fl_tool *t, const struct fl_metrics_verb *o);

#endif
