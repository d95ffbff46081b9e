/* fl_probe: is a Flower endpoint up? TCP, TLS and gRPC health probes, each within a deadline. */
#include "fl_probe.h"
#include "fl_buf.h"
#include "fl_cert.h"
#include "fl_retry.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- addresses --- */

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A DNS name (underscores allowed: container names) that getaddrinfo will not read as an
 * inet_aton number ("10.1", "1234"): a top label of digits only is refused. */
static bool name_ok(const char *h, size_t n)
{
	if (n == 0 || n > 253 || !is_alnum((unsigned char)h[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!is_alnum(c) && c != '-' && c != '.' && c != '_')
			return false;
	}
	const char *top = memrchr(h, '.', n);
	top = top ? top + 1 : h;
	if (top == h + n) /* "name." : the label before the root */
		return n > 1 && name_ok(h, n - 1);
	for (const char *p = top; p < h + n; p++)
		if (*p < '0' || *p > '9')
			return true;
	return false;
}

/* AF_INET or AF_INET6 for an address literal, 0 for a name. */
static int literal_family(const char *host)
{
	unsigned char a[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, host, a) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, host, a) == 1)
		return AF_INET6;
	return 0;
}

/* Fills *hp only on success: a refused input leaves it empty. */
static int hostport_parse(const char *s, struct fl_hostport *hp, struct fl_err *e)
{
	if (!s || !*s)
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "no address given; expected host:port, e.g. 127.0.0.1:9092");
	size_t len = strlen(s);
	if (len > 300)
		return fl_err_set(e, FL_EXIT_USAGE, "'%.40s...' is too long for host:port (%zu bytes)", s,
		                  len);
	if (strstr(s, "://"))
		return fl_err_set(e, FL_EXIT_USAGE, "'%s' has a scheme; give host:port, e.g. 192.0.2.10:9092",
		                  s);

	const char *host, *port;
	size_t hlen;
	bool bracket = s[0] == '[';
	if (bracket) {
		const char *close = strchr(s, ']');
		if (!close)
			return fl_err_set(e, FL_EXIT_USAGE,
			                  "'%s': no ']' after the IPv6 address; expected [addr]:port", s);
		if (close[1] != ':')
			return fl_err_set(e, FL_EXIT_USAGE,
			                  "'%s' has no port; expected [addr]:port, e.g. [::1]:9092", s);
		host = s + 1;
		hlen = (size_t)(close - host);
		port = close + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon)
			return fl_err_set(e, FL_EXIT_USAGE,
			                  "'%s' has no port; expected host:port, e.g. %s:9092", s, s);
		if (memchr(s, ':', (size_t)(colon - s)))
			return fl_err_set(e, FL_EXIT_USAGE,
			                  "'%s': an IPv6 address needs brackets, e.g. [fd00::2]:9092", s);
		host = s;
		hlen = (size_t)(colon - s);
		port = colon + 1;
	}

	size_t plen = strlen(port);
	bool digits = plen >= 1 && plen <= 5 && port[0] != '0';
	long pn = 0;
	for (size_t i = 0; digits && i < plen; i++) {
		digits = port[i] >= '0' && port[i] <= '9';
		pn = pn * 10 + (port[i] - '0');
	}
	if (!digits || pn > 65535)
		return fl_err_set(e, FL_EXIT_USAGE, "'%s': port '%s' is not a number in 1-65535", s, port);
	memcpy(hp->port, port, plen + 1);

	char h[sizeof hp->host];
	if (hlen >= sizeof h)
		return fl_err_set(e, FL_EXIT_USAGE, "'%.40s...': the host is longer than %zu bytes", s,
		                  sizeof h - 1);
	memcpy(h, host, hlen);
	h[hlen] = '\0';
	if (memchr(h, '%', hlen))
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "'%s': zone ids are not supported; use a global or loopback address", s);
	struct in_addr a4;
	struct in6_addr a6;
	if (bracket) {
		if (inet_pton(AF_INET6, h, &a6) != 1)
			return fl_err_set(e, FL_EXIT_USAGE, "'%s': '%s' in brackets is not an IPv6 address",
			                  s, h);
		if (IN6_IS_ADDR_UNSPECIFIED(&a6)) /* [::] binds everything: dial the loopback */
			a6 = in6addr_loopback;
		inet_ntop(AF_INET6, &a6, hp->host, sizeof hp->host);
	} else if (hlen == 0) {
		strcpy(hp->host, "127.0.0.1");
	} else if (inet_pton(AF_INET, h, &a4) == 1) {
		if (a4.s_addr == htonl(INADDR_ANY))
			a4.s_addr = htonl(INADDR_LOOPBACK);
		inet_ntop(AF_INET, &a4, hp->host, sizeof hp->host);
	} else if (!name_ok(h, hlen)) {
		return fl_err_set(e, FL_EXIT_USAGE, "'%s': '%s' is neither a host name nor an IP address", s,
		                  h);
	} else {
		memcpy(hp->host, h, hlen + 1);
	}
	return 0;
}

int fl_hostport_parse(const char *s, struct fl_hostport *hp, struct fl_err *e)
{
	struct fl_hostport out;
	memset(&out, 0, sizeof out);
	memset(hp, 0, sizeof *hp);
	if (hostport_parse(s, &out, e) < 0)
		return -1;
	*hp = out;
	return 0;
}

void fl_hostport_format(const struct fl_hostport *hp, char *out, size_t outlen)
{
	bool v6 = literal_family(hp->host) == AF_INET6;
	snprintf(out, outlen, v6 ? "[%s]:%s" : "%s:%s", hp->host, hp->port);
}

const char *fl_probe_fail_name(enum fl_probe_fail why)
{
	switch (why) {
	case FL_PROBE_OK: return "ok";
	case FL_PROBE_SETUP: return "setup";
	case FL_PROBE_UNREACHABLE: return "unreachable";
	case FL_PROBE_TIMEOUT: return "timeout";
	case FL_PROBE_HANDSHAKE: return "handshake";
	case FL_PROBE_VERIFY: return "verify";
	case FL_PROBE_HOSTNAME: return "hostname";
	case FL_PROBE_PROTOCOL: return "protocol";
	case FL_PROBE_NOT_SERVING: return "not-serving";
	}
	return "unknown";
}

/* --- time and sockets --- */

static int fail(enum fl_probe_fail *why, enum fl_probe_fail w)
{
	*why = w;
	return -1;
}

static int check_timeout(long timeout_ms, enum fl_probe_fail *why, struct fl_err *e)
{
	if (timeout_ms >= 1 && timeout_ms <= FL_PROBE_MAX_TIMEOUT)
		return 0;
	fl_err_set(e, FL_EXIT_USAGE, "probe timeout %ld ms is outside 1-%ld ms", timeout_ms,
	           FL_PROBE_MAX_TIMEOUT);
	return fail(why, FL_PROBE_SETUP);
}

static int left_ms(uint64_t deadline)
{
	uint64_t now = fl_clock_now_ms(NULL);
	return now >= deadline ? 0 : (int)(deadline - now);
}

/* Wait for events on fd until the deadline: 1 ready, 0 deadline passed, -1 error (errno). */
static int wait_fd(int fd, short events, uint64_t deadline)
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

static const char *errno_text(int err)
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

/* What to check, by what every attempt ran into. */
static const char *connect_hint(bool all_refused, bool all_timed_out)
{
	if (all_refused)
		return "nothing listens there: is the Flower service running, on this address and port?";
	if (all_timed_out)
		return "check the address and the firewalls or security groups in between";
	return "check the address, that the Flower service listens there, and the network in between";
}

/* Connect to hp before the deadline, trying each address in its share of the time left.
 * 0 with *fdp (non-blocking), or -1 with e and *why. */
static int dial(const struct fl_hostport *hp, long timeout_ms, uint64_t deadline, int *fdp,
                enum fl_probe_fail *why, struct fl_err *e)
{
	char addr[FL_HOSTPORT_LEN];
	fl_hostport_format(hp, addr, sizeof addr);
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (literal_family(hp->host) ? AI_NUMERICHOST : 0);
	int g = getaddrinfo(hp->host, hp->port, &hints, &res);
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
	enum fl_probe_fail w;
	if (!why)
		why = &w;
	*why = FL_PROBE_OK;
	if (check_timeout(timeout_ms, why, e) < 0)
		return -1;
	int fd;
	if (dial(hp, timeout_ms, fl_clock_now_ms(NULL) + (uint64_t)timeout_ms, &fd, why, e) < 0)
		return -1;
	close(fd);
	return 0;
}

/* --- TLS --- */

/* OpenSSL writes with write(2): a server that hung up would kill us with SIGPIPE. Block it for
 * the probe and swallow one raised meanwhile (the usual approach of libraries doing I/O). */
struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t s, pend;
	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	sigpending(&pend);
	g->was_pending = sigismember(&pend, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &s, &g->old);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
	sigset_t s, pend;
	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	sigpending(&pend);
	if (!g->was_pending && sigismember(&pend, SIGPIPE) == 1) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&s, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static const char *ssl_reason(unsigned long code)
{
	const char *r = code ? ERR_reason_error_string(code) : NULL;
	return r ? r : "unknown error";
}

/* The leaf the server sent, also when it did not verify. */
static X509 *peer_leaf(SSL *ssl)
{
	X509 *x = SSL_get0_peer_certificate(ssl);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	if (!x && chain && sk_X509_num(chain) > 0)
		x = sk_X509_value(chain, 0);
	return x;
}

static void verify_failed(SSL *ssl, long verr, const char *addr, const struct fl_hostport *hp,
                          const char *ca_path, enum fl_probe_fail *why, struct fl_err *e)
{
	if (verr == X509_V_ERR_HOSTNAME_MISMATCH || verr == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		X509 *leaf = peer_leaf(ssl);
		char *san = leaf ? fl_cert_san_text(leaf) : NULL;
		fl_err_set(
		    e, FL_EXIT_FAIL,
		    "TLS handshake with %s failed: the server certificate does not cover %s (its SAN: %s); "
		    "dial a name or address it covers, or reissue it covering %s:%s (FL_CERT_EXTRA_SAN for "
		    "certificates fl-certgen makes, the operator's CA for FL_SSL_CERTFILE)",
		    addr, hp->host, san && *san ? san : "none", literal_family(hp->host) ? "IP" : "DNS",
		    hp->host);
		free(san);
		*why = FL_PROBE_HOSTNAME;
		return;
	}
	char hint[512];
	switch (verr) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		snprintf(
		    hint, sizeof hint,
		    "the CA in %s did not sign this server's certificate; install the CA the server uses",
		    ca_path);
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_CRL_HAS_EXPIRED:
		snprintf(hint, sizeof hint, "check the clocks of both machines, or renew the certificate");
		break;
	case X509_V_ERR_INVALID_PURPOSE:
		snprintf(hint, sizeof hint,
		         "the certificate is not meant for a TLS server (extendedKeyUsage)");
		break;
	default:
		snprintf(hint, sizeof hint, "check the CA in %s and the server's certificate", ca_path);
		break;
	}
	fl_err_set(e, FL_EXIT_FAIL, "TLS handshake with %s failed: certificate verify failed (%s); %s", addr,
	           X509_verify_cert_error_string(verr), hint);
	*why = FL_PROBE_VERIFY;
}

/* Why SSL_connect failed (not a timeout): verify, hostname or handshake. */
static void handshake_failed(SSL *ssl, int err, int sys_errno, const char *addr, const struct fl_hostport *hp,
                             const char *ca_path, enum fl_probe_fail *why, struct fl_err *e)
{
	long verr = SSL_get_verify_result(ssl);
	if (verr != X509_V_OK) {
		verify_failed(ssl, verr, addr, hp, ca_path, why, e);
		return;
	}
	const char *not_tls =
	    "is this a TLS port? A Flower service started with --insecure does not speak TLS";
	char what[256];
	const char *hint = not_tls;
	if (err == SSL_ERROR_SSL) {
		unsigned long code = ERR_peek_error();
		switch (ERR_GET_REASON(code)) {
		case SSL_R_UNEXPECTED_EOF_WHILE_READING:
			snprintf(what, sizeof what, "the server closed the connection");
			break;
		case SSL_R_WRONG_VERSION_NUMBER:
		case SSL_R_PACKET_LENGTH_TOO_LONG:
		case SSL_R_RECORD_LENGTH_MISMATCH:
			snprintf(what, sizeof what, "the server does not speak TLS (%s)", ssl_reason(code));
			break;
		case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		case SSL_R_UNSUPPORTED_PROTOCOL:
			snprintf(what, sizeof what, "no TLS version in common (%s)", ssl_reason(code));
			hint = "the server must accept TLS 1.2 or later";
			break;
		case SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
			snprintf(what, sizeof what, "no ALPN protocol in common (%s)", ssl_reason(code));
			hint = "this probe offers h2 and http/1.1, what gRPC servers accept";
			break;
		default:
			snprintf(what, sizeof what, "%s", ssl_reason(code));
			hint = "check that this is the Flower service's TLS port and its TLS settings";
			break;
		}
	} else if (err == SSL_ERROR_SYSCALL && sys_errno) {
		snprintf(what, sizeof what, "%s", errno_text(sys_errno));
	} else {
		snprintf(what, sizeof what, "the server closed the connection");
	}
	fl_err_set(e, FL_EXIT_FAIL, "TLS handshake with %s failed: %s; %s", addr, what, hint);
	*why = FL_PROBE_HANDSHAKE;
}

static void tls_info(SSL *ssl, struct fl_probe_tls_info *info)
{
	snprintf(info->version, sizeof info->version, "%s", SSL_get_version(ssl));
	const unsigned char *alpn = NULL;
	unsigned alen = 0;
	SSL_get0_alpn_selected(ssl, &alpn, &alen);
	if (alpn && alen < sizeof info->alpn) {
		memcpy(info->alpn, alpn, alen);
		info->alpn[alen] = '\0';
	}
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	if (!leaf)
		return;
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, info->peer,
	                              (int)sizeof info->peer) < 0) {
		info->peer[0] = '\0';
		char *san = fl_cert_san_text(leaf);
		if (san) {
			snprintf(info->peer, sizeof info->peer, "%.*s", (int)strcspn(san, ","), san);
			free(san);
		}
	}
	struct tm tm;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm) == 1)
		info->not_after = timegm(&tm);
}

int fl_probe_tls(const struct fl_hostport *hp, const char *ca_path, long timeout_ms,
                 struct fl_probe_tls_info *info, enum fl_probe_fail *why, struct fl_err *e)
{
	enum fl_probe_fail w;
	if (!why)
		why = &w;
	*why = FL_PROBE_OK;
	if (info)
		memset(info, 0, sizeof *info);
	if (check_timeout(timeout_ms, why, e) < 0)
		return -1;
	uint64_t deadline = fl_clock_now_ms(NULL) + (uint64_t)timeout_ms;
	if (!ca_path || !*ca_path) {
		fl_err_set(e, FL_EXIT_USAGE, "no CA file given to verify the server certificate with");
		return fail(why, FL_PROBE_SETUP);
	}
	struct stat st;
	if (stat(ca_path, &st) < 0 || access(ca_path, R_OK) < 0) {
		fl_err_sys(e, errno, "cannot read the CA file %s", ca_path);
		return fail(why, FL_PROBE_SETUP);
	}
	if (S_ISDIR(st.st_mode)) {
		fl_err_set(e, FL_EXIT_FAIL,
		           "the CA file %s is a directory; give the CA certificate file (ca.crt)", ca_path);
		return fail(why, FL_PROBE_SETUP);
	}
	char addr[FL_HOSTPORT_LEN];
	fl_hostport_format(hp, addr, sizeof addr);

	ERR_clear_error();
	int rc = -1, fd = -1;
	SSL *ssl = NULL;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		fl_err_set(e, FL_EXIT_FAIL, "cannot create a TLS context: %s", ssl_reason(ERR_peek_error()));
		*why = FL_PROBE_SETUP;
		goto out;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, ca_path, NULL) != 1) {
		fl_err_set(e, FL_EXIT_FAIL,
		           "cannot load CA certificates from %s: %s; it must hold PEM certificates", ca_path,
		           ssl_reason(ERR_peek_last_error()));
		*why = FL_PROBE_SETUP;
		goto out;
	}
	ssl = SSL_new(ctx);
	static const unsigned char alpn[] = "\x02h2\x08http/1.1";
	X509_VERIFY_PARAM *vp = ssl ? SSL_get0_param(ssl) : NULL;
	bool setup = ssl && SSL_set_alpn_protos(ssl, alpn, sizeof alpn - 1) == 0;
	if (setup && literal_family(hp->host)) {
		setup = X509_VERIFY_PARAM_set1_ip_asc(vp, hp->host) == 1;
	} else if (setup) {
		/* SNI only for names (RFC 6066 forbids literals). */
		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		setup = X509_VERIFY_PARAM_set1_host(vp, hp->host, 0) == 1 &&
		        SSL_set_tlsext_host_name(ssl, hp->host) == 1;
	}
	if (!setup) {
		fl_err_set(e, FL_EXIT_FAIL, "cannot set up TLS to %s: %s", addr,
		           ssl_reason(ERR_peek_error()));
		*why = FL_PROBE_SETUP;
		goto out;
	}
	if (dial(hp, timeout_ms, deadline, &fd, why, e) < 0)
		goto out;
	SSL_set_fd(ssl, fd);

	struct sigpipe_guard g;
	sigpipe_block(&g);
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int r = SSL_connect(ssl);
		if (r == 1) {
			rc = 0;
			break;
		}
		int err = SSL_get_error(ssl, r), sys_errno = errno;
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
			int ready = wait_fd(fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
			if (ready > 0)
				continue;
			if (ready == 0) {
				fl_err_set(
				    e, FL_EXIT_FAIL,
				    "TLS handshake with %s timed out after %ld ms: the server accepted the "
				    "connection but did not complete the handshake; is this the TLS port "
				    "of a running Flower service?",
				    addr, timeout_ms);
				*why = FL_PROBE_TIMEOUT;
			} else {
				fl_err_sys(e, errno, "TLS handshake with %s failed", addr);
				*why = FL_PROBE_HANDSHAKE;
			}
			break;
		}
		handshake_failed(ssl, err, sys_errno, addr, hp, ca_path, why, e);
		break;
	}
	if (rc == 0) {
		if (info)
			tls_info(ssl, info);
		SSL_shutdown(ssl); /* one close_notify, not waiting for the server's */
	}
	sigpipe_restore(&g);
out:
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* --- gRPC health --- */

int fl_probe_health_parse(const unsigned char *body, size_t len, int *status, struct fl_err *e)
{
	*status = FL_HEALTH_UNKNOWN;
	if (len < 5)
		return fl_err_set(e, FL_EXIT_FAIL, "truncated gRPC frame: %zu of its 5 header bytes", len);
	if (body[0] == 1)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "the gRPC message is compressed (flag 1) though none was asked for");
	if (body[0] != 0)
		return fl_err_set(e, FL_EXIT_FAIL, "invalid gRPC compressed flag %u", body[0]);
	uint32_t mlen = (uint32_t)body[1] << 24 | (uint32_t)body[2] << 16 | (uint32_t)body[3] << 8 | body[4];
	if (mlen > len - 5)
		return fl_err_set(e, FL_EXIT_FAIL, "gRPC message length %u exceeds the %zu bytes received",
		                  mlen, len - 5);
	if (mlen < len - 5)
		return fl_err_set(e, FL_EXIT_FAIL, "%zu unexpected bytes after the gRPC message",
		                  len - 5 - mlen);

	const unsigned char *p = body + 5, *end = p + mlen;
	int st = FL_HEALTH_UNKNOWN;
	while (p < end) {
		uint64_t v[2] = {0, 0}; /* key, then a varint value or a length */
		unsigned wt = 0, field = 0;
		for (int k = 0; k < 2; k++) {
			if (k == 1 && wt != 0 && wt != 2)
				break;
			int i = 0;
			for (;; i++) {
				if (p >= end)
					return fl_err_set(e, FL_EXIT_FAIL,
					                  "truncated protobuf varint at byte %zu",
					                  (size_t)(p - body));
				unsigned char b = *p++;
				if (i == 9 && b > 1)
					return fl_err_set(e, FL_EXIT_FAIL,
					                  "overlong protobuf varint at byte %zu",
					                  (size_t)(p - body - 1));
				v[k] |= (uint64_t)(b & 0x7f) << (7 * i);
				if (!(b & 0x80))
					break;
			}
			if (k == 0) {
				if (v[0] > UINT32_MAX || v[0] >> 3 == 0)
					return fl_err_set(e, FL_EXIT_FAIL, "invalid protobuf field key %llu",
					                  (unsigned long long)v[0]);
				wt = (unsigned)(v[0] & 7);
				field = (unsigned)(v[0] >> 3);
			}
		}
		if (field == 1 && wt != 0)
			return fl_err_set(e, FL_EXIT_FAIL, "the status field has wire type %u, not a varint",
			                  wt);
		size_t skip = 0;
		switch (wt) {
		case 0:
			if (field == 1) /* an int32 enum; protobuf keeps the low 32 bits */
				st = (int)(int32_t)(uint32_t)v[1];
			break;
		case 1: skip = 8; break;
		case 2:
			if (v[1] > (uint64_t)(end - p))
				return fl_err_set(e, FL_EXIT_FAIL,
				                  "protobuf field %u of %llu bytes exceeds the message",
				                  field, (unsigned long long)v[1]);
			skip = (size_t)v[1];
			break;
		case 5: skip = 4; break;
		default:
			return fl_err_set(e, FL_EXIT_FAIL, "unsupported protobuf wire type %u (field %u)", wt,
			                  field);
		}
		if (skip > (size_t)(end - p))
			return fl_err_set(e, FL_EXIT_FAIL, "truncated protobuf field %u", field);
		p += skip;
	}
	*status = st;
	return 0;
}

static const char *health_name(int st)
{
	switch (st) {
	case FL_HEALTH_UNKNOWN: return "UNKNOWN";
	case FL_HEALTH_SERVING: return "SERVING";
	case FL_HEALTH_NOT_SERVING: return "NOT_SERVING";
	case FL_HEALTH_SERVICE_UNKNOWN: return "SERVICE_UNKNOWN";
	default: return "undefined";
	}
}

static const char *grpc_code_name(int code)
{
	static const char *const names[] = {
	    "OK",        "CANCELLED",       "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
	    "NOT_FOUND", "ALREADY_EXISTS",  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	    "ABORTED",   "OUT_OF_RANGE",    "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
	    "DATA_LOSS", "UNAUTHENTICATED",
	};
	return code >= 0 && (size_t)code < sizeof names / sizeof names[0] ? names[code] : "undefined";
}

/* What the server sent: the body (bounded) and the headers and trailers that matter. */
struct grpc_rx {
	unsigned char body[FL_PROBE_MAX_BODY];
	size_t len;
	bool oversize;
	int grpc_status; /* -1: none seen, -2: not a number */
	char grpc_message[200];
	char content_type[64];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct grpc_rx *rx = ud;
	size_t len = size * n;
	if (len > sizeof rx->body - rx->len) {
		rx->oversize = true;
		return 0; /* abort the transfer */
	}
	memcpy(rx->body + rx->len, p, len);
	rx->len += len;
	return len;
}

/* Copy a header value, percent-decoded (grpc-message is), control characters as '?'. */
static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void header_value(const char *v, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < outlen; i++) {
		unsigned char c = (unsigned char)v[i];
		int hi = i + 2 < n ? hex_digit(v[i + 1]) : -1, lo = hi >= 0 ? hex_digit(v[i + 2]) : -1;
		if (c == '%' && hi >= 0 && lo >= 0) {
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[o] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct grpc_rx *rx = ud;
	size_t len = size * n, nl = 0;
	while (nl < len && p[nl] != ':')
		nl++;
	if (nl == len)
		return len; /* the status line or the blank line */
	const char *v = p + nl + 1;
	size_t vl = len - nl - 1;
	while (vl && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	if (nl == 11 && strncasecmp(p, "grpc-status", nl) == 0) {
		int code = 0;
		bool ok = vl >= 1 && vl <= 3;
		for (size_t i = 0; ok && i < vl; i++) {
			ok = v[i] >= '0' && v[i] <= '9';
			code = code * 10 + (v[i] - '0');
		}
		rx->grpc_status = ok ? code : -2;
	} else if (nl == 12 && strncasecmp(p, "grpc-message", nl) == 0) {
		header_value(v, vl, rx->grpc_message, sizeof rx->grpc_message);
	} else if (nl == 12 && strncasecmp(p, "content-type", nl) == 0) {
		header_value(v, vl, rx->content_type, sizeof rx->content_type);
	}
	return len;
}

static int grpc_transfer_failed(CURL *c, CURLcode rc, const char *errbuf, const struct grpc_rx *rx,
                                const char *addr, long timeout_ms, enum fl_probe_fail *why, struct fl_err *e)
{
	const char *hint =
	    "is the health server enabled (--health-server-address) and listening on this port?";
	long os_errno = 0;
	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
	switch (rc) {
	case CURLE_WRITE_ERROR:
		if (!rx->oversize)
			break;
		fl_err_set(
		    e, FL_EXIT_FAIL,
		    "gRPC health check of %s: the answer is larger than %d bytes; is this the health port "
		    "(--health-server-address)?",
		    addr, FL_PROBE_MAX_BODY);
		return fail(why, FL_PROBE_PROTOCOL);
	case CURLE_COULDNT_RESOLVE_HOST:
		fl_err_set(e, FL_EXIT_FAIL,
		           "cannot resolve %s: no such host; check the name or dial an IP address", addr);
		return fail(why, FL_PROBE_UNREACHABLE);
	case CURLE_COULDNT_CONNECT:
		fl_err_set(e, FL_EXIT_FAIL, "gRPC health check of %s: cannot connect: %s; %s", addr,
		           os_errno ? errno_text((int)os_errno) : errbuf, hint);
		return fail(why, FL_PROBE_UNREACHABLE);
	case CURLE_OPERATION_TIMEDOUT: {
		curl_off_t connected = 0;
		curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
		if (connected > 0)
			fl_err_set(e, FL_EXIT_FAIL,
			           "gRPC health check of %s: no answer within %ld ms; is this the plaintext "
			           "health port (--health-server-address), not a TLS one?",
			           addr, timeout_ms);
		else
			fl_err_set(e, FL_EXIT_FAIL,
			           "gRPC health check of %s: cannot connect: timed out after %ld ms; %s",
			           addr, timeout_ms,
			           "check the address and the firewalls or security groups in between");
		return fail(why, FL_PROBE_TIMEOUT);
	}
	default: break;
	}
	const char *what = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	if (rc == CURLE_GOT_NOTHING)
		what = "the server closed the connection without an HTTP/2 answer";
	fl_err_set(e, FL_EXIT_FAIL,
	           "gRPC health check of %s failed: %s; is this the plaintext health port "
	           "(--health-server-address)? TLS and API ports do not answer it",
	           addr, what);
	return fail(why, FL_PROBE_PROTOCOL);
}

/* Judge a completed exchange: HTTP 200, gRPC content, grpc-status 0, a SERVING message. */
static int grpc_judge(long http, const struct grpc_rx *rx, const char *addr, enum fl_probe_fail *why,
                      struct fl_err *e)
{
	if (http != 200 || strncmp(rx->content_type, "application/grpc", 16) != 0) {
		char what[96];
		if (http != 200)
			snprintf(what, sizeof what, "HTTP status %ld", http);
		else
			snprintf(what, sizeof what, "content-type '%s'", rx->content_type);
		fl_err_set(e, FL_EXIT_FAIL,
		           "gRPC health check of %s: %s: not a gRPC answer; is this the health port "
		           "(--health-server-address)?",
		           addr, what);
		return fail(why, FL_PROBE_PROTOCOL);
	}
	if (rx->grpc_status != 0) {
		if (rx->grpc_status < 0)
			fl_err_set(e, FL_EXIT_FAIL, "gRPC health check of %s: the answer has %s grpc-status",
			           addr, rx->grpc_status == -1 ? "no" : "an invalid");
		else
			fl_err_set(e, FL_EXIT_FAIL, "gRPC health check of %s: gRPC status %d (%s): %s%s",
			           addr, rx->grpc_status, grpc_code_name(rx->grpc_status),
			           rx->grpc_message[0] ? rx->grpc_message : "no message",
			           rx->grpc_status == 12
			               ? "; this gRPC server has no health service: dial the port of "
			                 "--health-server-address, not an API port"
			               : "");
		return fail(why, FL_PROBE_PROTOCOL);
	}
	int st;
	struct fl_err pe;
	if (fl_probe_health_parse(rx->body, rx->len, &st, &pe) < 0) {
		fl_err_set(e, FL_EXIT_FAIL, "gRPC health check of %s: malformed answer: %s", addr, pe.msg);
		return fail(why, FL_PROBE_PROTOCOL);
	}
	if (st != FL_HEALTH_SERVING) {
		fl_err_set(
		    e, FL_EXIT_FAIL,
		    "gRPC health check of %s: not serving (status %d %s); the server is up but not ready",
		    addr, st, health_name(st));
		return fail(why, FL_PROBE_NOT_SERVING);
	}
	return 0;
}

int fl_probe_grpc_health(const struct fl_hostport *hp, long timeout_ms, enum fl_probe_fail *why,
                         struct fl_err *e)
{
	enum fl_probe_fail w;
	if (!why)
		why = &w;
	*why = FL_PROBE_OK;
	if (check_timeout(timeout_ms, why, e) < 0)
		return -1;
	static bool global;
	if (!global) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		global = true;
	}
	char addr[FL_HOSTPORT_LEN], url[FL_HOSTPORT_LEN + 64], deadline[32];
	fl_hostport_format(hp, addr, sizeof addr);
	snprintf(url, sizeof url, "http://%s/grpc.health.v1.Health/Check", addr);
	snprintf(deadline, sizeof deadline, "grpc-timeout: %ldm", timeout_ms);
	CURL *c = curl_easy_init();
	struct grpc_rx *rx = fl_xcalloc(1, sizeof *rx); /* 4 KiB: off the stack */
	struct curl_slist *hdr = NULL;
	const char *const lines[] = {"Content-Type: application/grpc", "TE: trailers", deadline,
	                             "Accept:", "Expect:"};
	bool oom = !c;
	for (size_t i = 0; !oom && i < sizeof lines / sizeof lines[0]; i++) {
		struct curl_slist *l = curl_slist_append(hdr, lines[i]);
		oom = !l;
		hdr = l ? l : hdr;
	}
	if (oom) {
		curl_slist_free_all(hdr);
		free(rx);
		curl_easy_cleanup(c);
		fl_err_set(e, FL_EXIT_FAIL, "cannot set up the gRPC health check of %s: out of memory", addr);
		return fail(why, FL_PROBE_SETUP);
	}
	rx->grpc_status = -1;
	/* An empty HealthCheckRequest (service ""): flag 0, length 0. */
	static const char request[5] = {0, 0, 0, 0, 0};
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never through http_proxy: it is a local probe */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, request);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)sizeof request);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "flkit/" FLKIT_VERSION " (health probe)");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, rx);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, rx);
	CURLcode rc = curl_easy_perform(c);
	int r;
	if (rc != CURLE_OK) {
		r = grpc_transfer_failed(c, rc, errbuf, rx, addr, timeout_ms, why, e);
	} else {
		long http = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
		r = grpc_judge(http, rx, addr, why, e);
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	free(rx);
	return r;
}
