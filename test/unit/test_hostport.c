/* test_hostport: the one host:port grammar: a table of accepted inputs with their fields, a table
 * of refused inputs with the reason given, the length bounds, format round trips and the
 * loopback a probe dials. */
#include "fl_hostport.h"
#include "unit.h"

#include <stdbool.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_accepted(void)
{
	static const struct {
		const char *in, *host;
		unsigned port;
		bool v6, ip, any;
	} t[] = {
	    {"127.0.0.1:9092", "127.0.0.1", 9092, false, true, false},
	    {"0.0.0.0:9092", "0.0.0.0", 9092, false, true, true},
	    {"192.0.2.10:1", "192.0.2.10", 1, false, true, false},
	    {"255.255.255.255:65535", "255.255.255.255", 65535, false, true, false},
	    {"[::]:9092", "::", 9092, true, true, true},
	    {"[::1]:1", "::1", 1, true, true, false},
	    {"[FD00:0::2]:65535", "FD00:0::2", 65535, true, true, false},
	    {"[::ffff:10.0.0.1]:443", "::ffff:10.0.0.1", 443, true, true, false},
	    {"[0:0:0:0:0:0:0:0]:9092", "0:0:0:0:0:0:0:0", 9092, true, true, true},
	    {"superlink.example.com:9092", "superlink.example.com", 9092, false, false, false},
	    {"localhost:8080", "localhost", 8080, false, false, false},
	    {"flower_superlink:9092", "flower_superlink", 9092, false, false, false},
	    {"a-b.c-d:10", "a-b.c-d", 10, false, false, false},
	    {"1a.example:10", "1a.example", 10, false, false, false},
	    {"10.0.0.1a:10", "10.0.0.1a", 10, false, false, false},
	    {"x:65535", "x", 65535, false, false, false},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		struct fl_hostport hp;
		struct fl_err e = {0};
		int r = fl_hostport_parse(t[i].in, &hp, &e);
		CHECK(r == 0 && strcmp(hp.host, t[i].host) == 0 && hp.port == t[i].port &&
		          hp.is_ipv6 == t[i].v6 && hp.is_ip == t[i].ip && hp.is_any == t[i].any,
		      "'%s' is host %s port %u%s%s%s (%s)", t[i].in, t[i].host, t[i].port,
		      t[i].v6 ? " ipv6" : "", t[i].ip ? " ip" : "", t[i].any ? " any" : "", r ? e.msg : "");
		char out[FL_HOSTPORT_LEN];
		CHECK(r == 0 && fl_hostport_format(&hp, out, sizeof out) == 0 && strcmp(out, t[i].in) == 0,
		      "'%s' formats back unchanged", t[i].in);
	}
}

static void test_refused(void)
{
	static const struct {
		const char *in, *want;
	} t[] = {
	    {"", "no address"},
	    {"127.0.0.1", "has no port"},
	    {"host", "has no port"},
	    {"127.0.0.1:", "port ''"},
	    {"127.0.0.1:0", "1-65535"},
	    {"127.0.0.1:65536", "1-65535"},
	    {"127.0.0.1:09092", "without sign or leading zeros"},
	    {"host:09092", "port '09092'"},
	    {"[::1]:09092", "leading zeros"},
	    {"127.0.0.1:+80", "1-65535"},
	    {"127.0.0.1:-1", "1-65535"},
	    {"127.0.0.1:123456", "1-65535"},
	    {"127.0.0.1:99999999999", "1-65535"},
	    {"host:9092 ", "1-65535"},
	    {"host:1:2", "needs brackets"},
	    {"::1:9092", "needs brackets"},
	    {"fd00::2", "needs brackets"},
	    {":9092", "has no host"},
	    {"[::1]", "has no port"},
	    {"[::1]9092", "has no port"},
	    {"[::1:9092", "no ']'"},
	    {"[]:9092", "not an IPv6 address"},
	    {"[127.0.0.1]:9092", "not an IPv6 address"},
	    {"[zz::1]:1", "not an IPv6 address"},
	    {"[fe80::1%eth0]:9092", "zone ids"},
	    {"http://127.0.0.1:9092", "scheme"},
	    {"999.1.1.1:9092", "not an IPv4 address"},
	    {"256.0.0.1:1", "not an IPv4 address"},
	    {"1.2.3:9092", "not an IPv4 address"},
	    {"1.2.3.4.5:9092", "not an IPv4 address"},
	    {"010.0.0.1:9092", "without leading zeros"},
	    {"10.1:9092", "not an IPv4 address"},
	    {"1234:9092", "not an IPv4 address"},
	    {"a b:9092", "neither a host name"},
	    {" host:9092", "neither a host name"},
	    {"-x:9092", "neither a host name"},
	    {"x-:9092", "neither a host name"},
	    {"a.-b:1", "neither a host name"},
	    {"a-.b:1", "neither a host name"},
	    {"a..b:1", "neither a host name"},
	    {".a:1", "neither a host name"},
	    {"host.:9092", "neither a host name"},
	    {"foo.123:9092", "neither a host name"},
	    {"host/path:9092", "neither a host name"},
	    {"h\xc3\xb6st:1", "neither a host name"},
	    {"x\n:9092", "neither a host name"},
	    {"x\t:9092", "neither a host name"},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		struct fl_hostport hp;
		struct fl_err e = {0};
		memset(&hp, 'x', sizeof hp);
		int r = fl_hostport_parse(t[i].in, &hp, &e);
		bool named = t[i].in[0] == '\0' || strstr(e.msg, t[i].in) != NULL;
		CHECK(r < 0 && e.code == FL_EXIT_USAGE && strstr(e.msg, t[i].want) && named && !hp.host[0] &&
		          hp.port == 0 && !hp.is_ip,
		      "'%s' is refused: %s (%s)", t[i].in, t[i].want, e.msg);
	}
	struct fl_hostport hp;
	struct fl_err e = {0};
	CHECK(fl_hostport_parse(NULL, &hp, &e) < 0 && e.code == FL_EXIT_USAGE, "NULL is refused");
	fl_err_clear(&e);
	CHECK(fl_hostport_parse("x:0", &hp, NULL) < 0, "a NULL error is allowed");
}

/* RFC 1123's bounds: labels of 63, names of 253. */
static void test_bounds(void)
{
	char s[600];
	struct fl_hostport hp;
	struct fl_err e = {0};
	memset(s, 'a', 63);
	strcpy(s + 63, ":1");
	CHECK(fl_hostport_parse(s, &hp, &e) == 0 && strlen(hp.host) == 63, "a label of 63 is accepted");
	memset(s, 'a', 64);
	strcpy(s + 64, ":1");
	CHECK(fl_hostport_parse(s, &hp, &e) < 0 && strstr(e.msg, "neither a host name"),
	      "a label of 64 is refused");
	size_t n = 0;
	for (int i = 0; i < 4; i++) { /* 4 labels of 63 and 3 dots: 255 */
		if (i)
			s[n++] = '.';
		memset(s + n, 'b', 63);
		n += 63;
	}
	strcpy(s + 253, ":65535"); /* cut to 253: labels of 63, 63, 63, 61 */
	CHECK(fl_hostport_parse(s, &hp, &e) == 0 && strlen(hp.host) == 253 && hp.port == 65535,
	      "a name of 253 is accepted (%s)", e.msg);
	char out[FL_HOSTPORT_LEN];
	CHECK(fl_hostport_format(&hp, out, sizeof out) == 0 && strcmp(out, s) == 0,
	      "the longest name formats back");
	CHECK(fl_hostport_format(&hp, out, 10) < 0, "format says when the buffer is too small");
	s[253] = 'c';
	strcpy(s + 254, ":1");
	CHECK(fl_hostport_parse(s, &hp, &e) < 0 && strstr(e.msg, "longer than 253"),
	      "a name of 254 is refused (%s)", e.msg);
	memset(s, 'a', 500);
	strcpy(s + 500, ":1");
	CHECK(fl_hostport_parse(s, &hp, &e) < 0 && strstr(e.msg, "too long"),
	      "an oversized input is refused");
}

static void test_port(void)
{
	unsigned p = 0;
	CHECK(fl_hostport_parse_port("9092", 4, &p) == 0 && p == 9092, "port: 9092");
	CHECK(fl_hostport_parse_port("90921", 2, &p) == 0 && p == 90, "port: reads only n bytes");
	CHECK(fl_hostport_parse_port("09092", 5, &p) < 0, "port: a leading zero is refused");
	CHECK(fl_hostport_parse_port("0", 1, &p) < 0, "port: 0 is refused");
	CHECK(fl_hostport_parse_port("", 0, &p) < 0, "port: empty is refused");
	CHECK(fl_hostport_parse_port("65536", 5, &p) < 0, "port: 65536 is refused");
	CHECK(fl_hostport_parse_port("65535", 5, NULL) == 0, "port: 65535, NULL out");
}

static void test_join_loopback(void)
{
	char out[FL_HOSTPORT_LEN];
	fl_hostport_join(out, sizeof out, "fd00::2", 9092);
	CHECK_STR(out, "[fd00::2]:9092", "join: IPv6 gets brackets");
	fl_hostport_join(out, sizeof out, "10.0.0.1", 9093);
	CHECK_STR(out, "10.0.0.1:9093", "join: IPv4 does not");
	fl_hostport_join(out, sizeof out, "superlink", 1);
	CHECK_STR(out, "superlink:1", "join: a name does not");

	static const struct {
		const char *in, *want;
	} t[] = {
	    {"0.0.0.0:9092", "127.0.0.1:9092"}, {"[::]:9092", "[::1]:9092"},
	    {"10.0.0.1:9092", "10.0.0.1:9092"}, {"[fd00::2]:9092", "[fd00::2]:9092"},
	    {"localhost:1", "localhost:1"},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		struct fl_hostport hp;
		struct fl_err e = {0};
		fl_hostport_parse(t[i].in, &hp, &e);
		fl_hostport_loopback(&hp);
		fl_hostport_format(&hp, out, sizeof out);
		CHECK(strcmp(out, t[i].want) == 0 && !hp.is_any, "loopback: %s is dialed as %s", t[i].in,
		      t[i].want);
	}
}

int main(void)
{
	test_accepted();
	test_refused();
	test_bounds();
	test_port();
	test_join_loopback();
	return unit_done();
}
