/* fl_clock: the monotonic clock and sleep, replaceable by tests (a virtual clock). */
#ifndef FL_CLOCK_H
#define FL_CLOCK_H

#include <stdint.h>

/* A clock tests can replace: now_ms and sleep_ms with a shared ctx. NULL = the real one. */
struct fl_clock {
	uint64_t (*now_ms)(void *ctx);
	void (*sleep_ms)(void *ctx, uint64_t ms);
	void *ctx;
};

uint64_t fl_clock_now_ms(const struct fl_clock *c); /* monotonic */
void fl_clock_sleep_ms(const struct fl_clock *c, uint64_t ms);

#endif
