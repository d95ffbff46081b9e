/* fl_probe_tls: the TLS handshake probe, verified against a CA and the dialed host. */
#include "fl_cert.h"
#include "fl_probe-internal.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The CA file the server certificate is verified with: given, readable, not a directory. */
static int ca_file_check(const char *ca_path, enum fl_probe_fail *why, struct fl_err *e)
{
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
	return 0;
}

/* SSL_connect on the connected fd until done, failed or the deadline: 0, or -1 with e, *why. */
static int handshake(SSL *ssl, int fd, uint64_t deadline, long timeout_ms, const char *addr,
                     const struct fl_hostport *hp, const char *ca_path, enum fl_probe_fail *why,
                     struct fl_err *e)
{
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int r = SSL_connect(ssl);
		if (r == 1)
			return 0;
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
			return -1;
		}
		handshake_failed(ssl, err, sys_errno, addr, hp, ca_path, why, e);
		return -1;
	}
}

int fl_probe_tls(const struct fl_hostport *hp, const char *ca_path, long timeout_ms,
                 struct fl_probe_tls_info *info, enum fl_probe_fail *why, struct fl_err *e)
{
	struct fl_hostport t = probe_target(hp);
	hp = &t;
	enum fl_probe_fail w;
	if (!why)
		why = &w;
	*why = FL_PROBE_OK;
	if (info)
		memset(info, 0, sizeof *info);
	if (check_timeout(timeout_ms, why, e) < 0)
		return -1;
	uint64_t deadline = fl_clock_now_ms(NULL) + (uint64_t)timeout_ms;
	if (ca_file_check(ca_path, why, e) < 0)
		return -1;
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
	if (fl_probe_dial(hp, timeout_ms, deadline, &fd, why, e) < 0)
		goto out;
	SSL_set_fd(ssl, fd);

	struct sigpipe_guard g;
	sigpipe_block(&g);
	rc = handshake(ssl, fd, deadline, timeout_ms, addr, hp, ca_path, why, e);
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
