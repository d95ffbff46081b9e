/* fl_probe-internal: what the TCP, TLS and gRPC probes (fl_probe_*.c) share; not libfl's API. */
#ifndef FL_PROBE_INTERNAL_H
#define FL_PROBE_INTERNAL_H

#include "fl_probe.h"
#include "fl_retry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline int fail(enum fl_probe_fail *why, enum fl_probe_fail w)
{
	*why = w;
	return -1;
}

static inline int check_timeout(long timeout_ms, enum fl_probe_fail *why, struct fl_err *e)
{
	if (timeout_ms >= 1 && timeout_ms <= FL_PROBE_MAX_TIMEOUT)
		return 0;
	fl_err_set(e, FL_EXIT_USAGE, "probe timeout %ld ms is outside 1-%ld ms", timeout_ms,
	           FL_PROBE_MAX_TIMEOUT);
	return fail(why, FL_PROBE_SETUP);
}

static inline int left_ms(uint64_t deadline)
{
	uint64_t now = fl_clock_now_ms(NULL);
	return now >= deadline ? 0 : (int)(deadline - now);
}

/* Wait for events on fd until the deadline: 1 ready, 0 deadline passed, -1 error (errno). */
static inline int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		int ms = left_ms(deadline);
		if (ms <= 0)
			return 0;
		struct pollfd p = {fd, events, 0};
		int r = poll(&p, 1, ms);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static inline const char *errno_text(int err)
{
	switch (err) {
	case ECONNREFUSED: return "connection refused";
	case ECONNRESET: return "connection reset by the server";
	case EHOSTUNREACH: return "no route to host";
	case ENETUNREACH: return "network is unreachable";
	case EADDRNOTAVAIL: return "address not available here";
	case EPIPE: return "the server closed the connection";
	default: return strerror(err);
	}
}

/* AF_INET or AF_INET6 for an address literal, 0 for a name (from the text: a caller may fill
 * a struct fl_hostport by hand). */
static inline int literal_family(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, host, a) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, host, a) == 1)
		return AF_INET6;
	return 0;
}

/* Where a probe of hp dials: a bind-all address on the loopback (fl_hostport_loopback). */
static inline struct fl_hostport probe_target(const struct fl_hostport *hp)
{
	struct fl_hostport t = *hp;
	fl_hostport_loopback(&t);
	return t;
}

/* Connect to hp before the deadline, trying each address in its share of the time left.
 * 0 with *fdp (non-blocking), or -1 with e and *why. In fl_probe_tcp.c. */
int fl_probe_dial(const struct fl_hostport *hp, long timeout_ms, uint64_t deadline, int *fdp,
                  enum fl_probe_fail *why, struct fl_err *e);

#endif
