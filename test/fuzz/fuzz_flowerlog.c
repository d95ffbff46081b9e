/* fuzz_flowerlog: libFuzzer target for Flower's ServerApp lines read as untrusted bytes
 * (fl_flowerlog): any bytes, split at newlines, give only well-formed events: a known type, a
 * NUL-terminated strategy and node id, rounds and counts never below -1, a duration that is
 * unknown or not negative, and at most FL_FLOWERLOG_FAIL_MAX + 4 events from one line. */
#include "fuzz.h"
#include "fl_flowerlog.h"

#include <math.h>
#include <string.h>

static int per_line;

static void check(void *ctx, const struct fl_mevent *ev)
{
	(void)ctx;
	per_line++;
	REQUIRE(ev->type > FL_MEV_NONE && ev->type < FL_MEV_COUNT);
	REQUIRE(memchr(ev->strategy, '\0', sizeof ev->strategy) != NULL);
	REQUIRE(memchr(ev->node_id, '\0', sizeof ev->node_id) != NULL);
	REQUIRE(ev->round >= -1 && ev->num_rounds >= -1 && ev->selected >= -1 && ev->responded >= -1);
	REQUIRE(isnan(ev->duration) || ev->duration >= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_flowerlog p;
	fl_flowerlog_init(&p);
	const char *s = (const char *)data;
	double ts = 1000;
	while (size > 0) {
		const char *nl = memchr(s, '\n', size);
		size_t n = nl ? (size_t)(nl - s) : size;
		per_line = 0;
		int got = fl_flowerlog_feed(&p, s, n, (n & 1) ? NAN : ts, check, NULL);
		REQUIRE(got == per_line && got <= FL_FLOWERLOG_FAIL_MAX + 4);
		ts += 0.5;
		s += n + (nl != NULL);
		size -= n + (nl != NULL);
	}
	per_line = 0;
	REQUIRE(fl_flowerlog_flush(&p, ts, check, NULL) == per_line);
	return 0;
}
