/* fl_retry: bounded retries with exponential backoff and jitter, on an injectable clock. */
#include "fl_retry.h"

#include <stdio.h>

/* xorshift32: jitter needs spread, not secrecy. */
static uint32_t next_rand(uint32_t *s)
{
	uint32_t x = *s ? *s : 2463534242u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

uint64_t fl_retry_delay(struct fl_backoff *b, unsigned attempt)
{
	double d = (double)b->initial_ms;
	/* max_ms 0 means no cap; stop growing long before a double loses whole milliseconds. */
	for (unsigned i = 1; i < attempt && (b->max_ms == 0 || d < (double)b->max_ms) && d < 1e15; i++)
		d *= b->factor;
	if (b->max_ms && d > (double)b->max_ms)
		d = (double)b->max_ms;
	if (b->jitter > 0) {
		if (!b->seed)
			b->seed = (uint32_t)fl_clock_now_ms(NULL) | 1u;
		double u = (double)next_rand(&b->seed) / 4294967296.0;
		d -= d * b->jitter * u;
	}
	return (uint64_t)d;
}

int fl_retry_run(struct fl_backoff *b, const struct fl_clock *c, fl_retry_fn fn, void *ctx, struct fl_err *e)
{
	uint64_t start = fl_clock_now_ms(c);
	for (unsigned attempt = 1;; attempt++) {
		int r = fn(ctx, attempt, e);
		if (r <= 0)
			return r == 0 ? 0 : -1;
		if (b->max_attempts && attempt >= b->max_attempts)
			break;
		uint64_t delay = fl_retry_delay(b, attempt);
		if (b->deadline_ms) {
			uint64_t used = fl_clock_now_ms(c) - start;
			if (used >= b->deadline_ms)
				break;
			if (delay > b->deadline_ms - used)
				delay = b->deadline_ms - used;
		}
		fl_clock_sleep_ms(c, delay);
		if (b->deadline_ms && fl_clock_now_ms(c) - start >= b->deadline_ms) {
			/* One last try at the deadline itself. */
			r = fn(ctx, attempt + 1, e);
			if (r <= 0)
				return r == 0 ? 0 : -1;
			break;
		}
	}
	if (e) {
		char last[sizeof e->msg];
		snprintf(last, sizeof last, "%s", e->msg);
		fl_err_set(e, FL_EXIT_TIMEOUT, "gave up after retries: %s", last[0] ? last : "no success");
	}
	return -1;
}
