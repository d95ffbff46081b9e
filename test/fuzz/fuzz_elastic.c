/* fuzz_elastic: libFuzzer target for the publisher's reading of a SuperNode's output
 * (fl_elastic_node_line) and its schedule: whatever the lines, the rounds stay bounded, the
 * status is one of 0/1/2 and agrees with the state, and whatever the state flips, the requests
 * stay within the burst plus one per gap.
 *
 * Input: lines separated by '\n'; after each line the clock advances by its first byte in ms
 * and the running state is that byte's low bit. */
#include "fuzz.h"
#include "fl_elastic.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_elastic_node n;
	memset(&n, 0, sizeof n);
	struct fl_elastic el;
	struct fl_elastic_opts o = {.interval_ms = 5000, .gap_ms = 1000, .burst = 3, .retry_ms = 100};
	fl_elastic_init(&el, &o);
	uint64_t now = 0;
	const char *s = (const char *)data, *end = s + size;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
		fl_elastic_node_line(&n, s, len);
		REQUIRE(n.round >= 0 && n.round <= 999999999);
		REQUIRE(n.last_round >= 0 && n.last_round <= 999999999);
		bool running = len > 0 && (s[0] & 1);
		enum fl_elastic_status st = fl_elastic_node_status(&n, running);
		REQUIRE(st == FL_ELASTIC_DISCONNECTED || st == FL_ELASTIC_IDLE || st == FL_ELASTIC_TRAINING);
		REQUIRE(st != FL_ELASTIC_TRAINING || (running && n.registered && n.in_flight));
		fl_elastic_observe(&el, st, n.last_round);
		now += len > 0 ? (unsigned char)s[0] : 0;
		long v;
		uint64_t w;
		int a;
		while ((a = fl_elastic_next(&el, now, &v, &w)) >= 0) {
			REQUIRE(a < FL_ELASTIC_NATTR && v == el.value[a]);
			fl_elastic_sent(&el, a, v, (v & 1) ? FL_ELASTIC_OK : FL_ELASTIC_FAILED, now);
		}
		/* GCRA: at most burst + now / gap requests since 0. */
		REQUIRE(el.requests <= o.burst + now / o.gap_ms);
		s += len + 1;
	}
	return 0;
}
