/* test_retry: backoff growth, cap and jitter; retries on a fake clock that never sleeps. */
#include "fl_retry.h"
#include "unit.h"

#include <stdbool.h>

static void test_backoff(void)
{
	struct fl_backoff b = {.initial_ms = 100, .max_ms = 1000, .factor = 2.0};
	static const uint64_t want[] = {100, 200, 400, 800, 1000, 1000, 1000};
	bool ok = true;
	for (unsigned a = 1; a <= 7; a++)
		ok = ok && fl_retry_delay(&b, a) == want[a - 1];
	CHECK(ok, "backoff: 100, 200, 400, 800, then capped at 1000");
	CHECK(fl_retry_delay(&b, 100000) == 1000, "backoff: a huge attempt number is still the cap");
	CHECK(fl_retry_delay(&b, 0) == 100 && fl_retry_delay(&b, 1) == 100, "backoff: attempts 0 and 1");

	struct fl_backoff fixed = {.initial_ms = 10000, .max_ms = 10000, .factor = 1.0};
	CHECK(fl_retry_delay(&fixed, 1) == 10000 && fl_retry_delay(&fixed, 30) == 10000,
	      "backoff: factor 1.0 is a fixed interval (the spec's 30x10 s)");
	struct fl_backoff edge = {.initial_ms = 10000, .max_ms = 300000, .factor = 2.0};
	CHECK(fl_retry_delay(&edge, 5) == 160000 && fl_retry_delay(&edge, 6) == 300000,
	      "backoff: edge schedule 10 s doubling, capped at 300 s");

	/* Jitter: every delay in [d*(1-j), d]; the same seed gives the same sequence. */
	struct fl_backoff j1 = {.initial_ms = 1000, .max_ms = 8000, .factor = 2.0, .jitter = 0.5, .seed = 42};
	struct fl_backoff j2 = j1;
	bool in_range = true, same = true;
	uint64_t lo = UINT64_MAX, hi = 0;
	for (unsigned i = 0; i < 1000; i++) {
		unsigned a = 1 + i % 6;
		uint64_t d = fl_retry_delay(&j1, a);
		uint64_t full = a >= 4 ? 8000 : 1000u << (a - 1);
		in_range = in_range && d >= full / 2 && d <= full;
		same = same && d == fl_retry_delay(&j2, a);
		if (a == 1) {
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
	}
	CHECK(in_range, "jitter 0.5: every delay within [d/2, d]");
	CHECK(same, "jitter: a fixed seed gives a reproducible sequence");
	CHECK(lo < 600 && hi > 900, "jitter: delays spread over the range (%llu..%llu)",
	      (unsigned long long)lo, (unsigned long long)hi);
	CHECK(j1.seed != 42, "jitter: the seed advances");

	struct fl_backoff full = {
	    .initial_ms = 1000, .max_ms = 1000, .factor = 2.0, .jitter = 1.0, .seed = 7};
	bool ok1 = true;
	for (int i = 0; i < 1000; i++)
		ok1 = ok1 && fl_retry_delay(&full, 3) <= 1000;
	CHECK(ok1, "jitter 1.0: delays within [0, d]");
	struct fl_backoff zero = {.initial_ms = 500, .max_ms = 5000, .factor = 3.0, .jitter = 0.3};
	uint64_t d = fl_retry_delay(&zero, 2);
	CHECK(zero.seed != 0 && d >= 1050 && d <= 1500,
	      "jitter: seed 0 picks one; delay %llu in [1050, 1500]", (unsigned long long)d);
}

/* The fake clock: time moves only when someone sleeps (or the step spends time). */
struct fake {
	uint64_t now, slept;
	unsigned sleeps;
	uint64_t max_sleep;
};

static uint64_t fake_now(void *ctx)
{
	return ((struct fake *)ctx)->now;
}

static void fake_sleep(void *ctx, uint64_t ms)
{
	struct fake *f = ctx;
	f->now += ms;
	f->slept += ms;
	f->sleeps++;
	if (ms > f->max_sleep)
		f->max_sleep = ms;
}

struct step {
	struct fake *clock;
	unsigned calls;
	unsigned succeed_at; /* 0: never */
	bool permanent;      /* fail permanently on the first call */
	uint64_t cost_ms;    /* time each call takes */
	uint64_t last_start; /* fake time of the last call */
	uint64_t start0;
};

static int step_fn(void *ctx, unsigned attempt, struct fl_err *e)
{
	struct step *s = ctx;
	s->calls++;
	s->last_start = s->clock->now;
	s->clock->now += s->cost_ms;
	if (attempt != s->calls)
		return fl_err_set(e, FL_EXIT_FAIL, "attempt number %u on call %u", attempt, s->calls);
	if (s->permanent)
		return fl_err_set(e, FL_EXIT_UNAVAILABLE, "OneGate said 401");
	if (s->succeed_at && attempt >= s->succeed_at)
		return 0;
	fl_err_set(e, FL_EXIT_UNAVAILABLE, "attempt %u: connection refused", attempt);
	return 1;
}

static int silent_fn(void *ctx, unsigned attempt, struct fl_err *e)
{
	(void)ctx, (void)attempt, (void)e;
	return 1;
}

static void test_retry(void)
{
	struct fake clk = {.now = 1000000};
	struct fl_clock c = {fake_now, fake_sleep, &clk};
	struct fl_err e;

	struct fl_backoff b = {.initial_ms = 100, .max_ms = 10000, .factor = 2.0, .max_attempts = 10};
	struct step s = {.clock = &clk, .succeed_at = 3};
	fl_err_clear(&e);
	CHECK(fl_retry_run(&b, &c, step_fn, &s, &e) == 0, "retry: success on attempt 3");
	CHECK(s.calls == 3 && clk.sleeps == 2 && clk.slept == 300,
	      "retry: 3 calls, slept 100+200 ms (%u, %u, %llu)", s.calls, clk.sleeps,
	      (unsigned long long)clk.slept);

	clk = (struct fake){.now = 5};
	s = (struct step){.clock = &clk, .permanent = true};
	CHECK(fl_retry_run(&b, &c, step_fn, &s, &e) < 0 && s.calls == 1 && clk.sleeps == 0,
	      "retry: a permanent failure stops at once");
	CHECK(e.code == FL_EXIT_UNAVAILABLE && strcmp(e.msg, "OneGate said 401") == 0,
	      "retry: a permanent failure keeps its own error");

	clk = (struct fake){0};
	b = (struct fl_backoff){.initial_ms = 100, .max_ms = 10000, .factor = 2.0, .max_attempts = 4};
	s = (struct step){.clock = &clk};
	CHECK(fl_retry_run(&b, &c, step_fn, &s, &e) < 0 && s.calls == 4 && clk.sleeps == 3,
	      "retry: max_attempts 4 means 4 calls and 3 sleeps");
	CHECK(e.code == FL_EXIT_TIMEOUT && strstr(e.msg, "attempt 4: connection refused"),
	      "retry: giving up is FL_EXIT_TIMEOUT with the last message (%s)", e.msg);

	clk = (struct fake){0};
	b.max_attempts = 1;
	s = (struct step){.clock = &clk};
	CHECK(fl_retry_run(&b, &c, step_fn, &s, &e) < 0 && s.calls == 1 && clk.sleeps == 0,
	      "retry: max_attempts 1 never sleeps");

	/* A step that does not set e still gives a message. */
	clk = (struct fake){0};
	fl_err_clear(&e);
	b.max_attempts = 2;
	CHECK(fl_retry_run(&b, &c, silent_fn, NULL, &e) < 0 && e.code == FL_EXIT_TIMEOUT &&
	          strstr(e.msg, "no success"),
	      "retry: a step that sets no message still gives one on give-up (%s)", e.msg);

	/* Deadline: the sum of sleeps never exceeds it, and no attempt starts after it. */
	unsigned bad = 0;
	for (uint32_t seed = 1; seed <= 200; seed++) {
		clk = (struct fake){.now = 777};
		b = (struct fl_backoff){.initial_ms = 1000,
		                        .max_ms = 60000,
		                        .factor = 2.0,
		                        .jitter = seed % 2 ? 0.5 : 0,
		                        .deadline_ms = 5000 + seed * 37,
		                        .seed = seed};
		s = (struct step){.clock = &clk, .cost_ms = seed % 3 * 150};
		int r = fl_retry_run(&b, &c, step_fn, &s, &e);
		bool ok = r < 0 && e.code == FL_EXIT_TIMEOUT && clk.slept <= b.deadline_ms &&
		          s.last_start - 777 <= b.deadline_ms && s.calls >= 2;
		if (!ok && !bad++)
			DIAG("seed %u: r=%d code=%d slept=%llu last start=+%llu deadline=%llu calls=%u", seed,
			     r, e.code, (unsigned long long)clk.slept,
			     (unsigned long long)(s.last_start - 777), (unsigned long long)b.deadline_ms,
			     s.calls);
	}
	CHECK(bad == 0, "retry: the deadline is never overshot and ends in FL_EXIT_TIMEOUT (200 schedules)");

	/* Deadline 3500 with 1000, 2000: the last sleep is cut to 500 and one try runs at the deadline. */
	clk = (struct fake){0};
	b = (struct fl_backoff){.initial_ms = 1000, .max_ms = 60000, .factor = 2.0, .deadline_ms = 3500};
	s = (struct step){.clock = &clk, .succeed_at = 4};
	CHECK(fl_retry_run(&b, &c, step_fn, &s, &e) == 0 && s.calls == 4 && clk.slept == 3500 &&
	          clk.max_sleep == 2000,
	      "retry: a last try at the deadline can still succeed (calls %u, slept %llu)", s.calls,
	      (unsigned long long)clk.slept);

	/* The real clock: a short schedule really sleeps about that long. */
	b = (struct fl_backoff){.initial_ms = 10, .max_ms = 10, .factor = 1.0, .max_attempts = 3};
	s = (struct step){.clock = &clk, .succeed_at = 3};
	uint64_t t0 = fl_clock_now_ms(NULL);
	int r = fl_retry_run(&b, NULL, step_fn, &s, &e);
	uint64_t dt = fl_clock_now_ms(NULL) - t0;
	CHECK(r == 0 && dt >= 20 && dt < 1000, "retry: the real clock sleeps (%llu ms for 2x10 ms)",
	      (unsigned long long)dt);
}

int main(void)
{
	test_backoff();
	test_retry();
	return unit_done();
}
