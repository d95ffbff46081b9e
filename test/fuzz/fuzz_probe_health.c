/* fuzz_probe_health: libFuzzer target for the probes' untrusted input: the gRPC health answer a
 * server sends (fl_probe_health_parse) and the host:port an operator or OneGate gives
 * (fl_hostport_parse). Both parse into sane values or fail with a message, never crash.
 *
 * Input: the first byte picks the parser (even: health answer, odd: host:port), the rest is
 * its input. */
#include "fl_buf.h"
#include "fl_probe.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                                        \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "fuzz_probe_health: invariant failed: %s (%s:%d)\n", #cond,          \
			        __FILE__, __LINE__);                                                         \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

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

static bool is_port(const char *p)
{
	size_t n = strlen(p);
	if (n < 1 || n > 5 || p[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return strtol(p, NULL, 10) <= 65535;
}

static void hostport(const char *s)
{
	struct fl_hostport hp, again;
	struct fl_err e;
	fl_err_clear(&e);
	memset(&hp, 'x', sizeof hp);
	if (fl_hostport_parse(s, &hp, &e) < 0) {
		REQUIRE(e.code == FL_EXIT_USAGE && e.msg[0] && !hp.host[0] && !hp.port[0]);
		return;
	}
	REQUIRE(hp.host[0] && memchr(hp.host, '\0', sizeof hp.host) && is_port(hp.port));
	REQUIRE(strcmp(hp.host, "0.0.0.0") != 0 && strcmp(hp.host, "::") != 0);
	unsigned char a[16];
	bool literal = inet_pton(AF_INET, hp.host, a) == 1 || inet_pton(AF_INET6, hp.host, a) == 1;
	if (!literal)
		for (const char *p = hp.host; *p; p++)
			REQUIRE((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			        (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_');
	/* What the probes print dials the same place. */
	char out[FL_HOSTPORT_LEN];
	fl_hostport_format(&hp, out, sizeof out);
	REQUIRE(fl_hostport_parse(out, &again, &e) == 0);
	REQUIRE(strcmp(again.host, hp.host) == 0 && strcmp(again.port, hp.port) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1) {
		char *s = fl_xstrndup((const char *)data + 1, size - 1);
		hostport(s);
		free(s);
	} else {
		health(data + 1, size - 1);
	}
	return 0;
}
