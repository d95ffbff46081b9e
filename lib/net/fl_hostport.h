/* fl_hostport: the one host:port grammar of flkit, for validation, fl-launch, discovery and the
 * probes.
 *
 * host:port is exactly one of
 *   IPv4:port     a dotted quad of four decimal octets 0-255 without leading zeros (10.0.0.1,
 *                 not 010.0.0.1, 10.1 or 999.1.1.1); 0.0.0.0 is the bind-all address;
 *   [IPv6]:port   an IPv6 address in brackets, mandatory since a port follows (no zone id such
 *                 as %eth0, no IPv4 in brackets); [::] is the bind-all address;
 *   name:port     a DNS name per RFC 1123: dot-separated labels of 1-63 letters, digits, '-'
 *                 and '_' (tolerated, as resolvers do: container names), a label neither
 *                 starting nor ending with '-', at most 253 characters in all, no trailing dot,
 *                 the last label not all digits (so that no name reads as an IPv4 number);
 * and port is decimal 1-65535 without sign or leading zeros (9092, not 09092 or +9092). Nothing
 * else: no empty host, no scheme, no path, no whitespace or other bytes. */
#ifndef FL_HOSTPORT_H
#define FL_HOSTPORT_H

#include "fl_err.h"

#include <stdbool.h>
#include <stddef.h>

#define FL_HOSTPORT_HOST_MAX 253 /* the longest host: a DNS name */
#define FL_HOSTPORT_LEN      272 /* room for any formatted "[host]:port" and its NUL */

/* A parsed host:port. */
struct fl_hostport {
	char host[FL_HOSTPORT_HOST_MAX + 1]; /* as written, IPv6 without its brackets */
	unsigned port;                       /* 1-65535 */
	bool is_ipv6;                        /* host is an IPv6 literal (written in brackets) */
	bool is_ip;                          /* host is an IPv4 or IPv6 literal, not a name */
	bool is_any;                         /* host is the bind-all 0.0.0.0 or :: */
};

/* Parse s by the grammar above into hp. Returns 0, or -1 with FL_EXIT_USAGE and a message that
 * names s, what is wrong and what is expected; hp is then all zero. */
int fl_hostport_parse(const char *s, struct fl_hostport *hp, struct fl_err *e);

/* The port grammar alone on the n bytes at s: 0 with *port set (may be NULL), or -1. */
int fl_hostport_parse_port(const char *s, size_t n, unsigned *port);

/* Write hp as "host:port", or "[host]:port" for IPv6, into out; what fl_hostport_parse read
 * it from. Returns 0, or -1 when outlen is too small (out then holds a truncated string). */
int fl_hostport_format(const struct fl_hostport *hp, char *out, size_t outlen);

/* Write host and port as host:port into out, bracketing a host that holds ':' (IPv6). */
int fl_hostport_join(char *out, size_t outlen, const char *host, unsigned port);

/* Where a client dials a server that listens on hp: the bind-all 0.0.0.0 and :: become the
 * loopback 127.0.0.1 and ::1; any other hp is left as it is. */
void fl_hostport_loopback(struct fl_hostport *hp);

#endif
