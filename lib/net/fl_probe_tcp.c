/* fl_probe_tcp: the TCP connect probe, and the dialing that the TLS probe shares. */
#include "fl_probe-internal.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *connect_hint(bool all_refused, bool all_timed_out)
{
	if (all_refused)
		return "nothing listens there: is the Flower service running, on this address and port?";
	if (all_timed_out)
		return "check the address and the firewalls or security groups in between";
	return "check the address, that the Flower service listens there, and the network in between";
}

int fl_probe_dial(const struct fl_hostport *hp, long timeout_ms, uint64_t deadline, int *fdp,
                  enum fl_probe_fail *why, struct fl_err *e)
{
	char addr[FL_HOSTPORT_LEN];
	fl_hostport_format(hp, addr, sizeof addr);
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (literal_family(hp->host) ? AI_NUMERICHOST : 0);
	char port[8];
	snprintf(port, sizeof port, "%u", hp->port);
	int g = getaddrinfo(hp->host, port, &hints, &res);
	if (g != 0) {
		if (g == EAI_NONAME || g == EAI_NODATA || g == EAI_FAIL)
			fl_err_set(e, FL_EXIT_FAIL,
			           "cannot resolve %s: no such host; check the name or dial an IP address",
			           addr);
		else if (g == EAI_AGAIN)
			fl_err_set(
			    e, FL_EXIT_FAIL,
			    "cannot resolve %s: temporary failure in name resolution; check the DNS servers",
			    addr);
		else
			fl_err_set(e, FL_EXIT_FAIL, "cannot resolve %s: %s", addr,
			           g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
		return fail(why, FL_PROBE_UNREACHABLE);
	}
	if (left_ms(deadline) <= 0) { /* the resolver took it all */
		freeaddrinfo(res);
		fl_err_set(e, FL_EXIT_FAIL, "cannot connect to %s: name resolution took the whole timeout",
		           addr);
		return fail(why, FL_PROBE_TIMEOUT);
	}

	size_t n = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		n++;
	char tried[640] = "";
	size_t tl = 0, i = 0;
	bool all_refused = true, all_timed_out = true;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next, i++) {
		int ms = left_ms(deadline);
		uint64_t slice = i + 1 == n ? deadline : deadline - (uint64_t)ms + (uint64_t)ms / (n - i);
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0;
		if (fd < 0) {
			fl_err_sys(e, errno, "cannot create a socket to probe %s", addr);
			freeaddrinfo(res);
			return fail(why, FL_PROBE_SETUP);
		}
		if (ms <= 0) {
			err = ETIMEDOUT;
		} else if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			if (errno != EINPROGRESS && errno != EINTR) {
				err = errno;
			} else {
				int w = wait_fd(fd, POLLOUT, slice);
				socklen_t sl = sizeof err;
				if (w == 0)
					err = ETIMEDOUT;
				else if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
					err = errno;
			}
		}
		if (err == 0) {
			freeaddrinfo(res);
			*fdp = fd;
			return 0;
		}
		close(fd);
		all_refused = all_refused && err == ECONNREFUSED;
		all_timed_out = all_timed_out && err == ETIMEDOUT;
		char num[INET6_ADDRSTRLEN] = "?", what[64];
		getnameinfo(ai->ai_addr, ai->ai_addrlen, num, sizeof num, NULL, 0, NI_NUMERICHOST);
		if (ms <= 0)
			snprintf(what, sizeof what, "not tried, no time left");
		else if (err == ETIMEDOUT && n == 1)
			snprintf(what, sizeof what, "timed out after %ld ms", timeout_ms);
		else
			snprintf(what, sizeof what, "%s", err == ETIMEDOUT ? "timed out" : errno_text(err));
		if (n == 1)
			snprintf(tried, sizeof tried, "%s", what);
		else if (tl < sizeof tried)
			tl += (size_t)snprintf(tried + tl, sizeof tried - tl, "%s%s: %s", tl ? "; " : "", num,
			                       what);
	}
	freeaddrinfo(res);
	if (n == 1)
		fl_err_set(e, FL_EXIT_FAIL, "cannot connect to %s: %s; %s", addr, tried,
		           connect_hint(all_refused, all_timed_out));
	else
		fl_err_set(e, FL_EXIT_FAIL, "cannot connect to %s within %ld ms: %s; %s", addr, timeout_ms,
		           tried, connect_hint(all_refused, all_timed_out));
	return fail(why, all_timed_out ? FL_PROBE_TIMEOUT : FL_PROBE_UNREACHABLE);
}

int fl_probe_tcp(const struct fl_hostport *hp, long timeout_ms, enum fl_probe_fail *why, struct fl_err *e)
{
	struct fl_hostport t = probe_target(hp);
	hp = &t;
	enum fl_probe_fail w;
	if (!why)
		why = &w;
	*why = FL_PROBE_OK;
	if (check_timeout(timeout_ms, why, e) < 0)
		return -1;
	int fd;
	if (fl_probe_dial(hp, timeout_ms, fl_clock_now_ms(NULL) + (uint64_t)timeout_ms, &fd, why, e) < 0)
		return -1;
	close(fd);
	return 0;
}
