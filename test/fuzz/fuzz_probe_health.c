/* fuzz_probe_health: libFuzzer target for the probes' untrusted input: the gRPC health answer a
 * server sends (fl_probe_health_parse). It parses into sane values or fails with a message, never
 * crashes. (host:port has its own target, fuzz_hostport.)
 *
 * Input: the first byte, then the answer; an odd first byte is ignored (it once picked the
 * host:port parser, and the seed corpus keeps that layout). */
#include "fuzz.h"
#include "fl_probe.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void health(const uint8_t *d, size_t n)
{
	int st = 12345;
	struct fl_err e;
	fl_err_clear(&e);
	if (fl_probe_health_parse(d, n, &st, &e) < 0) {
		REQUIRE(e.code == FL_EXIT_FAIL && e.msg[0] && st == FL_HEALTH_UNKNOWN);
		return;
	}
	/* One uncompressed frame whose length is exactly what follows the header. */
	REQUIRE(n >= 5 && d[0] == 0);
	uint32_t mlen = (uint32_t)d[1] << 24 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 8 | d[4];
	REQUIRE(mlen == n - 5);
	/* A valid message followed by status fields is valid, and the last status wins. */
	if (n > 1 << 16)
		return;
	uint8_t *b = malloc(n + 4);
	memcpy(b, d, n);
	memcpy(b + n, "\x08\x02\x08\x01", 4);
	mlen += 4;
	b[1] = (uint8_t)(mlen >> 24);
	b[2] = (uint8_t)(mlen >> 16);
	b[3] = (uint8_t)(mlen >> 8);
	b[4] = (uint8_t)mlen;
	int st2 = 0;
	REQUIRE(fl_probe_health_parse(b, n + 4, &st2, &e) == 0 && st2 == FL_HEALTH_SERVING);
	/* The same frame cut short by one byte is refused. */
	REQUIRE(fl_probe_health_parse(b, n + 3, &st2, &e) < 0);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (!(data[0] & 1))
		health(data + 1, size - 1);
	return 0;
}
