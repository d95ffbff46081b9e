/* test_probe: health probes against in-process servers: TCP accept, refusal and timeouts, TLS
 * verify outcomes, a fake HTTP/2 gRPC health server, and the health answer parser. */
#include "fl_cert.h"
#include "fl_probe.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[] = "/tmp/fl-probe-XXXXXX";

/* --- fixtures: sockets and children --- */

/* A listening socket on 127.0.0.1 (or ::1) with a kernel-chosen port. */
static int listener(int family, int backlog, struct fl_hostport *hp)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		sl = sizeof *a;
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	unsigned port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                                        : ((struct sockaddr_in6 *)&ss)->sin6_port);
	memset(hp, 0, sizeof *hp);
	char addr[64];
	snprintf(addr, sizeof addr, family == AF_INET ? "127.0.0.1:%u" : "[::1]:%u", port);
	struct fl_err e = {0};
	if (fl_hostport_parse(addr, hp, &e) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A loopback port nothing listens on (bound once, then released). */
static void closed_port(struct fl_hostport *hp)
{
	int fd = listener(AF_INET, 1, hp);
	close(fd);
}

/* Run serve(lfd, arg) for each connection in a child until it is killed. */
static pid_t serve(int lfd, void (*fn)(int cfd, void *arg), void *arg)
{
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		for (;;) {
			int c = accept(lfd, NULL, NULL);
			if (c < 0)
				continue;
			fn(c, arg);
			close(c);
		}
	}
	close(lfd);
	return pid;
}

/* SIGKILL: a child under valgrind must not print a leak report of its own. */
static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* Read what the peer sends until it closes or goes quiet for ms. */
static void drain(int fd, int ms)
{
	char buf[4096];
	struct pollfd p = {fd, POLLIN, 0};
	while (poll(&p, 1, ms) > 0 && read(fd, buf, sizeof buf) > 0)
		;
}

/* --- names --- */

static void test_fail_names(void)
{
	CHECK_STR(fl_probe_fail_name(FL_PROBE_NOT_SERVING), "not-serving", "fail names");
	CHECK_STR(fl_probe_fail_name(FL_PROBE_OK), "ok", "fail names: ok");
}

/* A probe of a bind-all address dials the loopback, and says so. */
static void test_bind_all(void)
{
	struct fl_hostport hp, any;
	struct fl_err e = {0};
	int lfd = listener(AF_INET, 8, &hp);
	char addr[64];
	snprintf(addr, sizeof addr, "0.0.0.0:%u", hp.port);
	CHECK(fl_hostport_parse(addr, &any, &e) == 0 && fl_probe_tcp(&any, 2000, NULL, &e) == 0,
	      "tcp: 0.0.0.0:port dials 127.0.0.1 (%s)", e.msg);
	close(lfd);
	closed_port(&hp);
	snprintf(addr, sizeof addr, "0.0.0.0:%u", hp.port);
	fl_hostport_parse(addr, &any, &e);
	snprintf(addr, sizeof addr, "127.0.0.1:%u", hp.port);
	CHECK(fl_probe_tcp(&any, 2000, NULL, &e) < 0 && strstr(e.msg, addr),
	      "tcp: the failure of 0.0.0.0:port names the loopback it dialed (%s)", e.msg);
}

/* --- the health answer parser --- */

static int parse_hex(const char *hex, int *st, struct fl_err *e)
{
	unsigned char b[256];
	size_t n = 0;
	for (const char *p = hex; *p && n < sizeof b;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		char pair[3] = {p[0], p[1], '\0'};
		b[n++] = (unsigned char)strtoul(pair, NULL, 16);
		p += 2;
	}
	fl_err_clear(e);
	*st = -99;
	return fl_probe_health_parse(b, n, st, e);
}

static void test_health_parse(void)
{
	static const struct {
		const char *hex, *name;
		int status;
	} good[] = {
	    {"00 00000002 0801", "SERVING", 1},
	    {"00 00000002 0802", "NOT_SERVING", 2},
	    {"00 00000002 0803", "SERVICE_UNKNOWN", 3},
	    {"00 00000000", "empty message is UNKNOWN", 0},
	    {"00 00000002 0800", "explicit UNKNOWN", 0},
	    {"00 00000004 0802 0801", "the last status wins", 1},
	    {"00 00000005 1203616263 ", "len-delimited field 2 skipped: UNKNOWN", 0},
	    {"00 0000000a 1203616263 0801 18ff01", "unknown len-delimited and varint fields skipped", 1},
	    {"00 0000000b 110102030405060708 0801", "fixed64 field skipped", 1},
	    {"00 00000007 1501020304 0801", "fixed32 field skipped", 1},
	    {"00 00000003 088101", "a two-byte varint status (129)", 129},
	    {"00 0000000b 08ffffffffffffffffff01", "a negative enum value (-1)", -1},
	    {"00 00000006 f8ffffff0f 01", "the largest field number", 0},
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		int st;
		struct fl_err e;
		int r = parse_hex(good[i].hex, &st, &e);
		CHECK(r == 0 && st == good[i].status, "health parse: %s (%d: %s)", good[i].name, st,
		      r ? e.msg : "ok");
	}
	static const struct {
		const char *hex, *name, *want;
	} bad[] = {
	    {"", "empty body", "truncated gRPC frame"},
	    {"00 0000", "truncated header", "3 of its 5"},
	    {"00 00000003 0801", "length larger than the data", "exceeds"},
	    {"00 ffffffff 0801", "a 4 GiB length", "exceeds"},
	    {"00 00000001 0801", "bytes after the message", "after the gRPC message"},
	    {"01 00000002 0801", "compressed flag 1", "compressed"},
	    {"02 00000002 0801", "flag 2", "compressed flag 2"},
	    {"00 00000001 08", "field without its value", "truncated protobuf varint"},
	    {"00 00000001 88", "a truncated key", "truncated protobuf varint"},
	    {"00 0000000c 08 ffffffffffffffffffff 01", "a varint of 11 bytes", "overlong"},
	    {"00 0000000b 08 ffffffffffffffffff02", "a 10-byte varint over 64 bits", "overlong"},
	    {"00 00000003 0a0108", "status as a length-delimited field", "wire type 2"},
	    {"00 00000003 120501", "a length beyond the message", "exceeds the message"},
	    {"00 00000003 110102", "a truncated fixed64", "truncated protobuf field"},
	    {"00 00000002 1b01", "group wire type 3", "wire type 3"},
	    {"00 00000002 0701", "field number 0", "field key"},
	    {"00 00000006 8080808010 00", "a key above 32 bits", "field key"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int st;
		struct fl_err e;
		int r = parse_hex(bad[i].hex, &st, &e);
		CHECK(r < 0 && e.code == FL_EXIT_FAIL && strstr(e.msg, bad[i].want) && st == 0,
		      "health parse: refuses %s (%s)", bad[i].name, e.msg);
	}
}

/* --- TCP --- */

static void test_tcp(void)
{
	struct fl_hostport hp;
	struct fl_err e = {0};
	enum fl_probe_fail why;
	int lfd = listener(AF_INET, 8, &hp);
	CHECK(fl_probe_tcp(&hp, 2000, &why, &e) == 0 && why == FL_PROBE_OK, "tcp: a listening socket (%s)",
	      e.msg);
	struct fl_hostport lh = hp;
	snprintf(lh.host, sizeof lh.host, "localhost");
	lh.is_ip = false;
	CHECK(fl_probe_tcp(&lh, 2000, NULL, &e) == 0,
	      "tcp: localhost reaches a listener on 127.0.0.1 whatever it resolves to first (%s)", e.msg);
	close(lfd);

	struct fl_hostport v6;
	lfd = listener(AF_INET6, 8, &v6);
	if (lfd >= 0) {
		CHECK(fl_probe_tcp(&v6, 2000, &why, &e) == 0, "tcp: [::1] (%s)", e.msg);
		close(lfd);
	} else {
		SKIP("no IPv6 loopback", "tcp: [::1]");
	}

	closed_port(&hp);
	char addr[FL_HOSTPORT_LEN];
	fl_hostport_format(&hp, addr, sizeof addr);
	fl_err_clear(&e);
	CHECK(fl_probe_tcp(&hp, 2000, &why, &e) < 0 && why == FL_PROBE_UNREACHABLE &&
	          e.code == FL_EXIT_FAIL && strstr(e.msg, "connection refused") && strstr(e.msg, addr),
	      "tcp: a closed port is refused, naming the address (%s)", e.msg);

	CHECK(fl_probe_tcp(&hp, 0, &why, &e) < 0 && why == FL_PROBE_SETUP && e.code == FL_EXIT_USAGE,
	      "tcp: a zero timeout is refused");
	CHECK(fl_probe_tcp(&hp, FL_PROBE_MAX_TIMEOUT + 1, &why, &e) < 0 && why == FL_PROBE_SETUP,
	      "tcp: an absurd timeout is refused");

	/* A full accept queue drops SYNs: the connect hangs and must give up on time. */
	lfd = listener(AF_INET, 0, &hp);
	int fill[16], nfill = 0;
	bool full = false;
	while (nfill < 16 && !full) {
		int f = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)hp.port)};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int c = connect(f, (struct sockaddr *)&a, sizeof a);
		fill[nfill++] = f;
		if (c == 0)
			continue;
		struct pollfd p = {f, POLLOUT, 0};
		full = poll(&p, 1, 200) == 0;
	}
	if (full) {
		/* Nothing will ever accept: only the probe's own timeout can end the connect. */
		int r = fl_probe_tcp(&hp, 300, &why, &e);
		CHECK(r < 0 && why == FL_PROBE_TIMEOUT && strstr(e.msg, "timed out after 300 ms"),
		      "tcp: a connect that hangs times out (%s)", e.msg);
	} else {
		SKIP("the kernel accepted 16 connections on a backlog of 0",
		     "tcp: a connect that hangs times out");
	}
	for (int i = 0; i < nfill; i++)
		close(fill[i]);
	close(lfd);
}

/* --- TLS --- */

struct pki {
	EVP_PKEY *ca_key, *other_key, *key;
	X509 *ca, *other, *good, *narrow, *expired;
	char *ca_path, *other_path, *junk_path, *missing_path;
};

static X509 *issue(EVP_PKEY *key, X509 *ca, EVP_PKEY *ca_key, const char *cn, const struct fl_sans *s,
                   time_t nb, time_t na)
{
	struct fl_cert_req r = {key, ca, ca_key, cn, s, nb, na};
	return fl_cert_issue(&r, NULL);
}

static char *write_pem(const char *name, X509 *x)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", root, name) < 0)
		abort();
	FILE *f = fopen(p, "w");
	if (x)
		PEM_write_X509(f, x);
	else
		fputs("not a certificate\n", f);
	fclose(f);
	return p;
}

static bool pki_make(struct pki *k)
{
	time_t now = time(NULL);
	memset(k, 0, sizeof *k);
	k->ca_key = fl_cert_keygen(FL_KEY_P256, NULL);
	k->other_key = fl_cert_keygen(FL_KEY_P256, NULL);
	k->key = fl_cert_keygen(FL_KEY_P256, NULL);
	k->ca = issue(k->ca_key, NULL, NULL, "Flower CA", NULL, now - 3600, now + 86400);
	k->other = issue(k->other_key, NULL, NULL, "Other CA", NULL, now - 3600, now + 86400);
	struct fl_sans all = FL_SANS_INIT, narrow = FL_SANS_INIT;
	struct fl_err e;
	fl_cert_sans_build(NULL, NULL, &all, &e);
	fl_cert_sans_add(&narrow, "DNS:flower.example.com");
	k->good = issue(k->key, k->ca, k->ca_key, "flower-superlink", &all, now - 3600, now + 86400);
	k->narrow = issue(k->key, k->ca, k->ca_key, "flower-superlink", &narrow, now - 3600, now + 86400);
	k->expired = issue(k->key, k->ca, k->ca_key, "flower-superlink", &all, now - 7200, now - 3600);
	fl_cert_sans_free(&all);
	fl_cert_sans_free(&narrow);
	if (!k->ca || !k->other || !k->good || !k->narrow || !k->expired)
		return false;
	k->ca_path = write_pem("ca.crt", k->ca);
	k->other_path = write_pem("other.crt", k->other);
	k->junk_path = write_pem("junk.crt", NULL);
	if (asprintf(&k->missing_path, "%s/missing.crt", root) < 0)
		abort();
	return true;
}

static void pki_free(struct pki *k)
{
	EVP_PKEY_free(k->ca_key);
	EVP_PKEY_free(k->other_key);
	EVP_PKEY_free(k->key);
	X509_free(k->ca);
	X509_free(k->other);
	X509_free(k->good);
	X509_free(k->narrow);
	X509_free(k->expired);
	unlink(k->ca_path);
	unlink(k->other_path);
	unlink(k->junk_path);
	free(k->ca_path);
	free(k->other_path);
	free(k->junk_path);
	free(k->missing_path);
}

/* The fixture picks ALPN h2 when the client sent no SNI and http/1.1 when it sent SNI
 * "localhost", and refuses any other SNI: info.alpn shows what went out. */
static int alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned inlen, void *arg)
{
	(void)arg;
	const char *sni = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
	const unsigned char *want =
	    sni ? (const unsigned char *)"\x08http/1.1" : (const unsigned char *)"\x02h2";
	unsigned char *sel;
	if (SSL_select_next_proto(&sel, outlen, want, want[0] + 1u, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static int sni_check(SSL *s, int *al, void *arg)
{
	(void)arg;
	const char *sni = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
	if (sni && strcmp(sni, "localhost") != 0) {
		*al = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

struct tls_conf {
	X509 *cert;
	EVP_PKEY *key;
	bool tls11; /* a server stuck at TLS 1.1 */
};

static void tls_conn(int c, void *arg)
{
	struct tls_conf *tc = arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX_use_certificate(ctx, tc->cert);
	SSL_CTX_use_PrivateKey(ctx, tc->key);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_check);
	if (tc->tls11) {
		SSL_CTX_set_security_level(ctx, 0);
		SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
		SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
	}
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, c);
	if (SSL_accept(ssl) == 1) {
		char b[64];
		SSL_read(ssl, b, sizeof b); /* until the client's close_notify */
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
}

static void close_conn(int c, void *arg)
{
	(void)c;
	(void)arg;
}

static void http_conn(int c, void *arg)
{
	(void)arg;
	drain(c, 100);
	static const char ans[] =
	    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	if (write(c, ans, sizeof ans - 1) < 0)
		return;
}

static pid_t tls_server(struct tls_conf *tc, struct fl_hostport *hp)
{
	int lfd = listener(AF_INET, 16, hp);
	return serve(lfd, tls_conn, tc);
}

static int tls(const struct fl_hostport *hp, const char *ca, long ms, struct fl_probe_tls_info *info,
               enum fl_probe_fail *why, struct fl_err *e)
{
	fl_err_clear(e);
	return fl_probe_tls(hp, ca, ms, info, why, e);
}

static void test_tls(void)
{
	struct pki k;
	if (!CHECK(pki_make(&k), "tls: CA and server certificates issue"))
		return;
	struct fl_hostport hp;
	struct fl_probe_tls_info info;
	enum fl_probe_fail why;
	struct fl_err e;
	char addr[FL_HOSTPORT_LEN];

	struct tls_conf good = {k.good, k.key, false};
	pid_t pid = tls_server(&good, &hp);
	fl_hostport_format(&hp, addr, sizeof addr);
	time_t now = time(NULL);
	int r = tls(&hp, k.ca_path, 5000, &info, &why, &e);
	CHECK(r == 0 && why == FL_PROBE_OK, "tls: verified handshake with 127.0.0.1 (%s)", e.msg);
	CHECK(strncmp(info.version, "TLSv1.", 6) == 0 && strcmp(info.version, "TLSv1.1") != 0,
	      "tls: version TLS 1.2 or later (%s)", info.version);
	CHECK_STR(info.peer, "flower-superlink", "tls: peer is the leaf CN");
	CHECK_STR(info.alpn, "h2", "tls: ALPN h2 and no SNI for an IP literal");
	CHECK(info.not_after > now + 86000 && info.not_after <= now + 86400 + 5,
	      "tls: not_after of the leaf");
	struct fl_hostport lh = hp;
	snprintf(lh.host, sizeof lh.host, "localhost");
	lh.is_ip = false;
	r = tls(&lh, k.ca_path, 5000, &info, &why, &e);
	CHECK(r == 0, "tls: verified handshake with localhost (%s)", e.msg);
	CHECK_STR(info.alpn, "http/1.1", "tls: SNI localhost went out for a name");
	CHECK(tls(&hp, k.ca_path, 5000, NULL, NULL, &e) == 0, "tls: info and why may be NULL");

	r = tls(&hp, k.other_path, 5000, &info, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_VERIFY && e.code == FL_EXIT_FAIL &&
	          strstr(e.msg, "certificate verify failed (unable to get local issuer certificate)") &&
	          strstr(e.msg, k.other_path) && strstr(e.msg, addr),
	      "tls: a wrong CA is a verify failure naming the error, the CA file and the address (%s)",
	      e.msg);
	CHECK(!info.version[0], "tls: info is empty after a failure");

	r = tls(&hp, k.missing_path, 5000, &info, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_SETUP && strstr(e.msg, k.missing_path) &&
	          strstr(e.msg, "No such file"),
	      "tls: a missing CA file (%s)", e.msg);
	r = tls(&hp, k.junk_path, 5000, &info, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_SETUP && strstr(e.msg, k.junk_path),
	      "tls: a CA file without a certificate (%s)", e.msg);
	r = tls(&hp, root, 5000, &info, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_SETUP && strstr(e.msg, "is a directory"),
	      "tls: a directory as CA file (%s)", e.msg);
	r = tls(&hp, "", 5000, &info, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_SETUP, "tls: no CA file");
	stop(pid);

	struct tls_conf narrow = {k.narrow, k.key, false};
	pid = tls_server(&narrow, &hp);
	r = tls(&hp, k.ca_path, 5000, &info, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_HOSTNAME && strstr(e.msg, "does not cover 127.0.0.1") &&
	          strstr(e.msg, "DNS:flower.example.com") &&
	          strstr(e.msg, "covering IP:127.0.0.1 (FL_CERT_EXTRA_SAN"),
	      "tls: a SAN without the dialed IP is a hostname failure showing the SAN (%s)", e.msg);
	lh = hp;
	snprintf(lh.host, sizeof lh.host, "localhost");
	lh.is_ip = false;
	r = tls(&lh, k.ca_path, 5000, &info, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_HOSTNAME && strstr(e.msg, "does not cover localhost"),
	      "tls: a SAN without the dialed name (%s)", e.msg);
	stop(pid);

	struct tls_conf expired = {k.expired, k.key, false};
	pid = tls_server(&expired, &hp);
	r = tls(&hp, k.ca_path, 5000, &info, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_VERIFY && strstr(e.msg, "certificate has expired") &&
	          strstr(e.msg, "clocks"),
	      "tls: an expired certificate (%s)", e.msg);
	stop(pid);

	struct tls_conf old = {k.good, k.key, true};
	pid = tls_server(&old, &hp);
	r = tls(&hp, k.ca_path, 5000, &info, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_HANDSHAKE && strstr(e.msg, "no TLS version in common"),
	      "tls: a TLS 1.1 server (%s)", e.msg);
	stop(pid);

	pid = serve(listener(AF_INET, 16, &hp), close_conn, NULL);
	r = tls(&hp, k.ca_path, 5000, &info, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_HANDSHAKE && strstr(e.msg, "TLS handshake with") &&
	          (strstr(e.msg, "closed the connection") || strstr(e.msg, "reset")) &&
	          strstr(e.msg, "--insecure"),
	      "tls: a server that hangs up is a handshake failure (%s)", e.msg);
	stop(pid);

	pid = serve(listener(AF_INET, 16, &hp), http_conn, NULL);
	r = tls(&hp, k.ca_path, 5000, &info, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_HANDSHAKE && strstr(e.msg, "does not speak TLS"),
	      "tls: a plaintext server (%s)", e.msg);
	stop(pid);

	/* The kernel completes the TCP handshake for a listener nobody accepts on: the
	 * ClientHello is never answered. */
	int lfd = listener(AF_INET, 16, &hp);
	r = tls(&hp, k.ca_path, 300, &info, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_TIMEOUT && strstr(e.msg, "timed out after 300 ms"),
	      "tls: a server that never answers the ClientHello times out (%s)", e.msg);
	close(lfd);

	closed_port(&hp);
	r = tls(&hp, k.ca_path, 2000, &info, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_UNREACHABLE && strstr(e.msg, "connection refused"),
	      "tls: a closed port is unreachable, not a TLS failure (%s)", e.msg);
	pki_free(&k);
}

/* --- gRPC health over a fake HTTP/2 server --- */

enum h2_mode {
	H2_SERVING,
	H2_NOT_SERVING,
	H2_EMPTY,
	H2_STATUS12,
	H2_NO_STATUS,
	H2_404,
	H2_HTML,
	H2_OVERSIZE
};

static bool read_full(int fd, void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, 3000) <= 0)
			return false;
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static void h2_frame(int fd, unsigned type, unsigned flags, unsigned stream, const void *payload, size_t n)
{
	unsigned char h[9] = {
	    (unsigned char)(n >> 16),      (unsigned char)(n >> 8),      (unsigned char)n,
	    (unsigned char)type,           (unsigned char)flags,         (unsigned char)(stream >> 24),
	    (unsigned char)(stream >> 16), (unsigned char)(stream >> 8), (unsigned char)stream};
	if (write(fd, h, sizeof h) < 0 || (n && write(fd, payload, n) < 0))
		return;
}

/* HPACK literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2). */
static size_t hpack_lit(unsigned char *b, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), o = 0;
	b[o++] = 0x00;
	b[o++] = (unsigned char)nl;
	memcpy(b + o, name, nl);
	o += nl;
	b[o++] = (unsigned char)vl;
	memcpy(b + o, value, vl);
	return o + vl;
}

static void h2_conn(int c, void *arg)
{
	enum h2_mode mode = *(enum h2_mode *)arg;
	unsigned char pre[24], h[9], payload[16384], req[5];
	size_t reqlen = 0;
	if (!read_full(c, pre, sizeof pre) || memcmp(pre, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24) != 0)
		return;
	h2_frame(c, 4, 0, 0, NULL, 0); /* our SETTINGS */
	unsigned stream = 0;
	while (!stream && read_full(c, h, sizeof h)) {
		size_t n = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
		if (n > sizeof payload || (n && !read_full(c, payload, n)))
			return;
		unsigned sid =
		    ((unsigned)h[5] & 0x7f) << 24 | (unsigned)h[6] << 16 | (unsigned)h[7] << 8 | h[8];
		if (h[3] == 4 && !(h[4] & 1))
			h2_frame(c, 4, 1, 0, NULL, 0); /* SETTINGS ACK */
		if (h[3] == 0 && n <= sizeof req - reqlen) {
			memcpy(req + reqlen, payload, n);
			reqlen += n;
		}
		if ((h[3] == 0 || h[3] == 1) && (h[4] & 1))
			stream = sid;
	}
	if (!stream)
		return;
	bool req_ok = reqlen == 5 && memcmp(req, "\0\0\0\0\0", 5) == 0;
	unsigned char hb[512];
	size_t hl = 0;
	hb[hl++] = mode == H2_404 ? 0x8d : 0x88; /* :status 404 or 200 from the static table */
	hl += hpack_lit(hb + hl, "content-type", mode == H2_HTML ? "text/html" : "application/grpc");
	if (!req_ok || mode == H2_STATUS12) { /* trailers-only */
		hl += hpack_lit(hb + hl, "grpc-status", req_ok ? "12" : "3");
		hl += hpack_lit(hb + hl, "grpc-message",
		                req_ok ? "Method not found: grpc.health.v1.Health%2FCheck"
		                       : "unexpected request body");
		h2_frame(c, 1, 0x5, stream, hb, hl);
	} else {
		h2_frame(c, 1, 0x4, stream, hb, hl);
		static unsigned char big[5000];
		static const unsigned char serving[] = {0, 0, 0, 0, 2, 8, 1},
		                           not_serving[] = {0, 0, 0, 0, 2, 8, 2}, empty[] = {0, 0, 0, 0, 0};
		switch (mode) {
		case H2_NOT_SERVING: h2_frame(c, 0, 0, stream, not_serving, sizeof not_serving); break;
		case H2_EMPTY: h2_frame(c, 0, 0, stream, empty, sizeof empty); break;
		case H2_OVERSIZE: h2_frame(c, 0, 0, stream, big, sizeof big); break;
		default: h2_frame(c, 0, mode == H2_NO_STATUS ? 1 : 0, stream, serving, sizeof serving); break;
		}
		if (mode != H2_NO_STATUS) {
			hl = hpack_lit(hb, "grpc-status", "0");
			h2_frame(c, 1, 0x5, stream, hb, hl);
		}
	}
	drain(c, 2000);
}

static int health(enum h2_mode mode, enum fl_probe_fail *why, struct fl_err *e)
{
	struct fl_hostport hp;
	pid_t pid = serve(listener(AF_INET, 16, &hp), h2_conn, &mode);
	fl_err_clear(e);
	int r = fl_probe_grpc_health(&hp, 5000, why, e);
	stop(pid);
	return r;
}

static void test_grpc_health(void)
{
	enum fl_probe_fail why;
	struct fl_err e;
	CHECK(health(H2_SERVING, &why, &e) == 0 && why == FL_PROBE_OK, "grpc: SERVING (%s)", e.msg);
	CHECK(health(H2_NOT_SERVING, &why, &e) < 0 && why == FL_PROBE_NOT_SERVING &&
	          strstr(e.msg, "not serving (status 2 NOT_SERVING)"),
	      "grpc: NOT_SERVING (%s)", e.msg);
	CHECK(health(H2_EMPTY, &why, &e) < 0 && why == FL_PROBE_NOT_SERVING &&
	          strstr(e.msg, "status 0 UNKNOWN"),
	      "grpc: an empty answer is UNKNOWN (%s)", e.msg);
	CHECK(health(H2_STATUS12, &why, &e) < 0 && why == FL_PROBE_PROTOCOL &&
	          strstr(e.msg,
	                 "gRPC status 12 (UNIMPLEMENTED): Method not found: grpc.health.v1.Health/Check") &&
	          strstr(e.msg, "no health service"),
	      "grpc: a server without the health service, grpc-message decoded (%s)", e.msg);
	CHECK(health(H2_NO_STATUS, &why, &e) < 0 && why == FL_PROBE_PROTOCOL &&
	          strstr(e.msg, "no grpc-status"),
	      "grpc: an answer without grpc-status (%s)", e.msg);
	CHECK(health(H2_404, &why, &e) < 0 && why == FL_PROBE_PROTOCOL && strstr(e.msg, "HTTP status 404"),
	      "grpc: HTTP 404 (%s)", e.msg);
	CHECK(health(H2_HTML, &why, &e) < 0 && why == FL_PROBE_PROTOCOL && strstr(e.msg, "text/html"),
	      "grpc: not gRPC content (%s)", e.msg);
	CHECK(health(H2_OVERSIZE, &why, &e) < 0 && why == FL_PROBE_PROTOCOL &&
	          strstr(e.msg, "larger than 4096"),
	      "grpc: an oversized answer is cut off (%s)", e.msg);

	struct fl_hostport hp;
	pid_t pid = serve(listener(AF_INET, 16, &hp), http_conn, NULL);
	fl_err_clear(&e);
	CHECK(fl_probe_grpc_health(&hp, 5000, &why, &e) < 0 && why == FL_PROBE_PROTOCOL &&
	          strstr(e.msg, "plaintext health port"),
	      "grpc: an HTTP/1.1 server (%s)", e.msg);
	stop(pid);

	closed_port(&hp);
	CHECK(fl_probe_grpc_health(&hp, 2000, &why, &e) < 0 && why == FL_PROBE_UNREACHABLE &&
	          strstr(e.msg, "connection refused") && strstr(e.msg, "--health-server-address"),
	      "grpc: a closed port (%s)", e.msg);

	/* A listener nobody accepts on never answers: only the probe's timeout ends the wait. */
	int lfd = listener(AF_INET, 16, &hp);
	int r = fl_probe_grpc_health(&hp, 300, &why, &e);
	CHECK(r < 0 && why == FL_PROBE_TIMEOUT && strstr(e.msg, "no answer within 300 ms"),
	      "grpc: a server that never answers times out (%s)", e.msg);
	close(lfd);
	CHECK(fl_probe_grpc_health(&hp, -5, &why, &e) < 0 && why == FL_PROBE_SETUP,
	      "grpc: a negative timeout");
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	test_fail_names();
	test_bind_all();
	test_health_parse();
	test_tcp();
	test_tls();
	test_grpc_health();
	rmdir(root);
	return unit_done();
}
