/* fl_hostport: parse and format host:port by the one grammar described in fl_hostport.h. */
#include "fl_hostport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* The longest valid input: "[" 45-byte IPv6 "]" is shorter than a name, so name ":" port. */
#define INPUT_MAX (FL_HOSTPORT_HOST_MAX + 1 + 5)

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
}

int fl_hostport_parse_port(const char *s, size_t n, unsigned *port)
{
	if (n < 1 || n > 5 || s[0] == '0')
		return -1;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	if (port)
		*port = v;
	return 0;
}

/* RFC 1123 name of n bytes at h (the rules in the header). */
static bool name_ok(const char *h, size_t n)
{
	if (n == 0 || n > FL_HOSTPORT_HOST_MAX)
		return false;
	size_t label = 0;
	bool digits_only = true;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			digits_only = true;
			continue;
		}
		if (!label_char(c) || (label == 0 && c == '-') || ++label > 63)
			return false;
		digits_only = digits_only && is_digit(c);
	}
	return label > 0 && h[n - 1] != '-' && !digits_only;
}

static int host_v6(const char *s, const char *h, size_t n, struct fl_hostport *hp, struct fl_err *e)
{
	struct in6_addr a;
	char tmp[INET6_ADDRSTRLEN];
	if (memchr(h, '%', n))
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "'%s': zone ids are not supported; use a global or loopback address", s);
	if (n >= sizeof tmp)
		return fl_err_set(e, FL_EXIT_USAGE, "'%s': what is in brackets is not an IPv6 address", s);
	memcpy(tmp, h, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET6, tmp, &a) != 1)
		return fl_err_set(e, FL_EXIT_USAGE, "'%s': '%s' in brackets is not an IPv6 address", s, tmp);
	memcpy(hp->host, tmp, n + 1);
	hp->is_ipv6 = hp->is_ip = true;
	hp->is_any = IN6_IS_ADDR_UNSPECIFIED(&a);
	return 0;
}

static int host_plain(const char *s, const char *h, size_t n, struct fl_hostport *hp, struct fl_err *e)
{
	if (n == 0)
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "'%s' has no host before the port; give a name or an address, e.g. "
		                  "127.0.0.1%s (0.0.0.0 listens on every interface)",
		                  s, s);
	if (n > FL_HOSTPORT_HOST_MAX)
		return fl_err_set(e, FL_EXIT_USAGE, "'%.40s...': the host is longer than %d bytes", s,
		                  FL_HOSTPORT_HOST_MAX);
	memcpy(hp->host, h, n);
	hp->host[n] = '\0';
	/* Digits and dots only: an IPv4 address, never a name (getaddrinfo would read "10.1"). */
	if (strspn(hp->host, "0123456789.") == n) {
		struct in_addr a;
		if (inet_pton(AF_INET, hp->host, &a) != 1)
			return fl_err_set(e, FL_EXIT_USAGE,
			                  "'%s': '%s' is not an IPv4 address; expected four numbers 0-255 "
			                  "without leading zeros, e.g. 192.0.2.10",
			                  s, hp->host);
		hp->is_ip = true;
		hp->is_any = a.s_addr == htonl(INADDR_ANY);
		return 0;
	}
	if (!name_ok(h, n))
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "'%s': '%s' is neither a host name nor an IP address; a name is labels "
		                  "of letters, digits, '-' and '_' joined by dots (RFC 1123), e.g. "
		                  "superlink.example.com",
		                  s, hp->host);
	return 0;
}

static int parse(const char *s, struct fl_hostport *hp, struct fl_err *e)
{
	if (!s || !*s)
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "no address given; expected host:port, e.g. 127.0.0.1:9092");
	size_t len = strlen(s);
	if (len > INPUT_MAX)
		return fl_err_set(e, FL_EXIT_USAGE, "'%.40s...' is too long for host:port (%zu bytes)", s,
		                  len);
	if (strstr(s, "://"))
		return fl_err_set(e, FL_EXIT_USAGE, "'%s' has a scheme; give host:port, e.g. 192.0.2.10:9092",
		                  s);
	const char *port;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close)
			return fl_err_set(e, FL_EXIT_USAGE,
			                  "'%s': no ']' after the IPv6 address; expected [addr]:port", s);
		if (close[1] != ':')
			return fl_err_set(e, FL_EXIT_USAGE,
			                  "'%s' has no port; expected [addr]:port, e.g. [::1]:9092", s);
		port = close + 2;
		if (host_v6(s, s + 1, (size_t)(close - s - 1), hp, e) < 0)
			return -1;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon)
			return fl_err_set(e, FL_EXIT_USAGE,
			                  "'%s' has no port; expected host:port, e.g. %s:9092", s, s);
		if (memchr(s, ':', (size_t)(colon - s)))
			return fl_err_set(e, FL_EXIT_USAGE,
			                  "'%s': an IPv6 address needs brackets, e.g. [fd00::2]:9092", s);
		port = colon + 1;
		if (host_plain(s, s, (size_t)(colon - s), hp, e) < 0)
			return -1;
	}
	if (fl_hostport_parse_port(port, strlen(port), &hp->port) < 0)
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "'%s': port '%s' is not a number in 1-65535 written in decimal without "
		                  "sign or leading zeros, e.g. 9092",
		                  s, port);
	return 0;
}

int fl_hostport_parse(const char *s, struct fl_hostport *hp, struct fl_err *e)
{
	memset(hp, 0, sizeof *hp);
	if (parse(s, hp, e) == 0)
		return 0;
	memset(hp, 0, sizeof *hp);
	return -1;
}

int fl_hostport_format(const struct fl_hostport *hp, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, hp->is_ipv6 ? "[%s]:%u" : "%s:%u", hp->host, hp->port);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int fl_hostport_join(char *out, size_t outlen, const char *host, unsigned port)
{
	int n = snprintf(out, outlen, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

void fl_hostport_loopback(struct fl_hostport *hp)
{
	if (hp->is_any)
		snprintf(hp->host, sizeof hp->host, "%s", hp->is_ipv6 ? "::1" : "127.0.0.1");
	hp->is_any = false;
}
