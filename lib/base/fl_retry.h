/* fl_retry: bounded retries with exponential backoff and jitter, on an injectable clock. */
#ifndef FL_RETRY_H
#define FL_RETRY_H

#include "fl_clock.h"
#include "fl_err.h"

#include <stdint.h>

struct fl_backoff {
	uint64_t initial_ms;   /* first delay */
	uint64_t max_ms;       /* cap for one delay, 0 = none */
	double factor;         /* growth per attempt, 1.0 = fixed interval */
	double jitter;         /* 0..1: the delay is drawn from [d*(1-jitter), d] */
	unsigned max_attempts; /* 0 = unlimited */
	uint64_t deadline_ms;  /* overall budget from the first attempt, 0 = none */
	uint32_t seed;         /* jitter PRNG state; 0 picks one from the clock */
};

/* Delay before attempt number `attempt` (1-based: the delay after attempt 1 failed). */
uint64_t fl_retry_delay(struct fl_backoff *b, unsigned attempt);

/* The step retried: 0 done, >0 try again (transient), <0 give up (permanent; e is set). */
typedef int (*fl_retry_fn)(void *ctx, unsigned attempt, struct fl_err *e);

/* Run fn until it succeeds, fails permanently, or attempts/deadline run out (then -1 with
 * FL_EXIT_TIMEOUT and the last transient message in e). Never sleeps past the deadline. */
int fl_retry_run(struct fl_backoff *b, const struct fl_clock *c, fl_retry_fn fn, void *ctx, struct fl_err *e);

#endif
