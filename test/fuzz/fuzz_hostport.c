/* fuzz_hostport: libFuzzer target for the one host:port grammar (fl_hostport_parse), fed what
 * operators and OneGate give. An input parses into sane fields that format back to exactly the
 * input, or fails with a message and an all-zero result; the validators agree with the parser. */
#include "fuzz.h"
#include "fl_buf.h"
#include "fl_check.h"
#include "fl_hostport.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_';
}

static void same(const struct fl_hostport *a, const struct fl_hostport *b)
{
	REQUIRE(strcmp(a->host, b->host) == 0 && a->port == b->port && a->is_ipv6 == b->is_ipv6 &&
	        a->is_ip == b->is_ip && a->is_any == b->is_any);
}

static void hostport(const char *s, size_t n)
{
	struct fl_hostport hp, again;
	struct fl_err e;
	fl_err_clear(&e);
	memset(&hp, 'x', sizeof hp);
	int r = fl_hostport_parse(s, &hp, &e);
	REQUIRE(fl_check_hostport(s, NULL) == (r == 0));
	if (r < 0) {
		REQUIRE(e.code == FL_EXIT_USAGE && e.msg[0] && all_zero(&hp, sizeof hp));
		REQUIRE(!fl_check_listen(s, NULL));
		return;
	}
	/* Only the NUL-free prefix is parsed: embedded NULs end the string. */
	REQUIRE(strlen(s) <= n);
	REQUIRE(hp.host[0] && memchr(hp.host, '\0', sizeof hp.host) &&
	        strlen(hp.host) <= FL_HOSTPORT_HOST_MAX);
	REQUIRE(hp.port >= 1 && hp.port <= 65535);
	REQUIRE(!hp.is_ipv6 || hp.is_ip);
	REQUIRE(!hp.is_any || hp.is_ip);
	REQUIRE(fl_check_listen(s, NULL) == hp.is_ip);
	unsigned char a[16];
	if (hp.is_ipv6)
		REQUIRE(inet_pton(AF_INET6, hp.host, a) == 1);
	else if (hp.is_ip)
		REQUIRE(inet_pton(AF_INET, hp.host, a) == 1);
	else
		for (const char *p = hp.host; *p; p++)
			REQUIRE(name_char(*p));
	/* Round trip: the formatted text is the input, and parses to the same fields. */
	char out[FL_HOSTPORT_LEN];
	REQUIRE(fl_hostport_format(&hp, out, sizeof out) == 0);
	REQUIRE(strcmp(out, s) == 0);
	REQUIRE(fl_hostport_parse(out, &again, &e) == 0);
	same(&hp, &again);
	char joined[FL_HOSTPORT_LEN];
	REQUIRE(fl_hostport_join(joined, sizeof joined, hp.host, hp.port) == 0 && strcmp(joined, s) == 0);
	/* Where a probe dials parses too, and is never the bind-all address. */
	struct fl_hostport dial = hp;
	fl_hostport_loopback(&dial);
	REQUIRE(!dial.is_any && dial.port == hp.port);
	REQUIRE(fl_hostport_format(&dial, out, sizeof out) == 0 && fl_hostport_parse(out, &again, &e) == 0);
	REQUIRE(!again.is_any && again.is_ip == hp.is_ip && again.is_ipv6 == hp.is_ipv6);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fl_xstrndup((const char *)data, size);
	hostport(s, size);
	free(s);
	return 0;
}
