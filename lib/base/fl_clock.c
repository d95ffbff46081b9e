/* fl_clock: the monotonic clock and sleep, replaceable by tests (a virtual clock). */
#include "fl_clock.h"

#include <errno.h>
#include <time.h>

static uint64_t real_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t fl_clock_now_ms(const struct fl_clock *c)
{
	return c && c->now_ms ? c->now_ms(c->ctx) : real_now_ms();
}

void fl_clock_sleep_ms(const struct fl_clock *c, uint64_t ms)
{
	if (c && c->sleep_ms) {
		c->sleep_ms(c->ctx, ms);
		return;
	}
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
