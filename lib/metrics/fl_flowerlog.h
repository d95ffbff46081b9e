/* fl_flowerlog: Flower's own ServerApp text lines (Message-API and legacy strategies, design 07
 * §5.3) turned into synthetic training events, for an app that emits no JSON events. Stateful
 * (a round opens at `[ROUND n]` and ends at its last aggregate), fixed size, and safe on any
 * bytes: ANSI colours are stripped, unknown and garbage lines are ignored. */
#ifndef FL_FLOWERLOG_H
#define FL_FLOWERLOG_H

#include "fl_mevent.h"

#include <stdbool.h>
#include <stddef.h>

/* Only the first FL_FLOWERLOG_LINE_MAX bytes of a line are read (Flower's lines that matter
 * are short); one aggregate gives at most FL_FLOWERLOG_FAIL_MAX client_failure events. */
#define FL_FLOWERLOG_LINE_MAX 1024
#define FL_FLOWERLOG_FAIL_MAX 1024

/* `Waiting for nodes to connect: k connected (minimum required: n).` (printed every second)
 * for this long, or this many lines, is a training_stalled event (once per wait). */
#define FL_FLOWERLOG_STALL_S 60

typedef void (*fl_flowerlog_emit_fn)(void *ctx, const struct fl_mevent *ev);

struct fl_flowerlog {
	char strategy[FL_MEVENT_STR_MAX];
	long long num_rounds, round, selected, responded, failed;
	double round_ts, train_loss, train_acc; /* NAN: unknown */
	bool pending_start;                     /* `Starting X strategy:` without its rounds yet */
	bool pending_round;                     /* `[ROUND n]` seen, round_start not emitted yet */
	bool round_open;                        /* round_start emitted, round_end not yet */
	int phase;                              /* 0, 1 after aggregate_train, 2 after _evaluate */
	bool started;                           /* training_start emitted */
	bool ended;                             /* training_end emitted */
	unsigned long long failseq;             /* synthetic node ids of failures */
	double wait_since;                      /* the first `Waiting for nodes` line's time, NAN */
	unsigned wait_lines;                    /* `Waiting for nodes` lines in a row */
	bool wait_reported;                     /* training_stalled emitted for this wait */
};

void fl_flowerlog_init(struct fl_flowerlog *p);

/* One line (no newline needed), ts its time in Unix seconds or NAN. Calls emit for each event
 * the line completes (0 or more). Returns the number of events emitted. */
int fl_flowerlog_feed(struct fl_flowerlog *p, const char *line, size_t n, double ts,
                      fl_flowerlog_emit_fn emit, void *ctx);

/* End of input: what was pending is emitted (a training_start without its rounds line, a
 * round_start without its configure line, a round_end after the last aggregate). */
int fl_flowerlog_flush(struct fl_flowerlog *p, double ts, fl_flowerlog_emit_fn emit, void *ctx);

#endif
