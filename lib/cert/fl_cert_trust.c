/* fl_cert_trust: the SuperNode side: which TLS mode (design 02 §2.3), which CA (CONTEXT over
 * OneGate), its validation (Step 7b, plus CA check and optional pinning) and installation. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED

#include "fl_cert.h"

#include "fl_b64.h"
#include "fl_buf.h"
#include "fl_cert_io.h"
#include "fl_check.h"
#include "fl_fileset.h"
#include "fl_fs.h"
#include "fl_validate.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define ONEGATE_MAX   (1u << 20)
#define SHOWN_TLS_MAX 32

void fl_cert_onegate_free(struct fl_onegate_tls *og)
{
	free(og->tls);
	free(og->ca_cert);
	free(og->superlink);
	free(og->version);
	memset(og, 0, sizeof *og);
}

static bool attr_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isupper((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

int fl_cert_onegate_parse(const char *buf, size_t len, struct fl_onegate_tls *og, struct fl_err *e)
{
	memset(og, 0, sizeof *og);
	og->present = true;
	if (len > ONEGATE_MAX)
		return fl_err_set(e, FL_EXIT_FAIL, "OneGate data is %zu bytes, more than %u; refusing it",
		                  len, ONEGATE_MAX);
	if (memchr(buf, '\0', len))
		return fl_err_set(e, FL_EXIT_FAIL, "OneGate data contains a NUL byte; refusing it");
	unsigned lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl ? 1 : 0);
		lineno++;
		if (n && line[n - 1] == '\r')
			n--;
		size_t lead = 0;
		while (lead < n && (line[lead] == ' ' || line[lead] == '\t'))
			lead++;
		if (lead == n || line[lead] == '#')
			continue;
		const char *eq = memchr(line, '=', n);
		if (!eq || !attr_name_ok(line + lead, (size_t)(eq - line - (ptrdiff_t)lead))) {
			fl_cert_onegate_free(og);
			og->present = true;
			return fl_err_set(
			    e, FL_EXIT_FAIL,
			    "OneGate data line %u is not ATTRIBUTE=VALUE (an upper-case name); refusing "
			    "it",
			    lineno);
		}
		const char *key = line + lead;
		size_t klen = (size_t)(eq - key);
		const char *v = eq + 1;
		size_t vlen = n - (size_t)(v - line);
		if (vlen >= 2 &&
		    ((v[0] == '"' && v[vlen - 1] == '"') || (v[0] == '\'' && v[vlen - 1] == '\''))) {
			v++;
			vlen -= 2;
		}
		char **slot = NULL;
		if (klen == 6 && memcmp(key, "FL_TLS", 6) == 0)
			slot = &og->tls;
		else if (klen == 10 && memcmp(key, "FL_CA_CERT", 10) == 0)
			slot = &og->ca_cert;
		else if (klen == 20 && memcmp(key, "FL_SUPERLINK_ADDRESS", 20) == 0)
			slot = &og->superlink;
		else if (klen == 10 && memcmp(key, "FL_VERSION", 10) == 0)
			slot = &og->version;
		if (!slot)
			continue; /* FL_ENDPOINT and the rest belong to other steps */
		if (*slot) {
			fl_cert_onegate_free(og);
			og->present = true;
			return fl_err_set(e, FL_EXIT_FAIL,
			                  "OneGate data gives %.*s twice (line %u); refusing ambiguous data",
			                  (int)klen, key, lineno);
		}
		*slot = fl_xstrndup(v, vlen);
	}
	return 0;
}

int fl_cert_onegate_load(const char *path, struct fl_onegate_tls *og, struct fl_err *e)
{
	memset(og, 0, sizeof *og);
	bool in = strcmp(path, "-") == 0;
	/* O_NONBLOCK: a FIFO or device must be refused, not waited on. */
	int fd = in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return fl_err_sys(e, errno, "cannot read OneGate data from %s", path);
	struct stat st;
	if (!in && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s is not a regular file (a FIFO, device or directory); give a file "
		                  "with fl-onegate's output, or - for standard input",
		                  path);
	}
	if (!in)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	struct fl_buf b = FL_BUF_INIT;
	char chunk[8192];
	int rc = 0;
	/* One byte past the limit is enough to tell an oversized input. */
	while (b.len <= ONEGATE_MAX) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = fl_err_sys(e, errno, "cannot read OneGate data from %s",
			                in ? "standard input" : path);
			break;
		}
		if (n == 0)
			break;
		fl_buf_add(&b, chunk, (size_t)n);
	}
	if (!in)
		close(fd);
	if (rc == 0 && b.len > ONEGATE_MAX)
		rc = fl_err_set(e, FL_EXIT_FAIL, "OneGate data from %s is more than %u bytes; refusing it",
		                in ? "standard input" : path, ONEGATE_MAX);
	if (rc == 0)
		rc = fl_cert_onegate_parse(fl_buf_str(&b), b.len, og, e);
	fl_buf_free(&b);
	return rc;
}

/* FL_TLS as logged: bounded, so a hostile value cannot flood the log. */
static void shown(const char *v, char *out, size_t outlen)
{
	if (!v || !*v)
		snprintf(out, outlen, "not set");
	else if (strlen(v) > SHOWN_TLS_MAX)
		snprintf(out, outlen, "%.*s...", SHOWN_TLS_MAX, v);
	else
		snprintf(out, outlen, "%s", v);
}

static bool is_yes(const char *v)
{
	return v && strcasecmp(v, "YES") == 0;
}

static bool is_no(const char *v)
{
	return v && strcasecmp(v, "NO") == 0;
}

/* Fingerprint of a CA value that decodes, "" otherwise (for the mismatch warning only). */
static void quiet_fingerprint(const char *b64, char out[FL_CERT_FP_LEN])
{
	struct fl_pem p;
	out[0] = '\0';
	if (fl_cert_pem_decode("-", b64, FL_PEM_CERTS, &p, NULL) == 0) {
		fl_cert_fingerprint(sk_X509_value(p.certs, 0), out);
		fl_cert_pem_free(&p);
	}
}

static int fail_no_ca(bool static_mode, const struct fl_onegate_tls *og, const char *og_tls,
                      struct fl_diags *d, struct fl_err *e)
{
	static const char workaround[] =
	    "Workaround: set FL_SSL_CA_CERTFILE in the SuperNode context to the output of "
	    "`base64 -w0 /opt/flower/certs/ca.crt` on the SuperLink.";
	if (static_mode || !og) {
		fl_diags_add(d, FL_ERROR, "FL_TLS_ENABLED=YES but FL_SSL_CA_CERTFILE not provided");
		if (static_mode) {
			fl_diags_add(
			    d, FL_ERROR,
			    "Static TLS mode requires FL_SSL_CA_CERTFILE (base64-encoded PEM CA cert)");
			return fl_err_set(
			    e, FL_EXIT_FAIL,
			    "Static TLS mode requires FL_SSL_CA_CERTFILE. No OneGate available for "
			    "auto-retrieval.");
		}
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "No CA certificate for TLS: FL_SSL_CA_CERTFILE is not set and no OneGate data is "
		    "available for auto-retrieval (pass --onegate-file or --onegate-ca-cert). %s",
		    workaround);
	}
	char v[SHOWN_TLS_MAX + 8];
	shown(og_tls, v, sizeof v);
	if (is_yes(og_tls)) {
		fl_diags_add(d, FL_ERROR, "SuperLink has FL_TLS=YES but FL_CA_CERT not published");
		fl_diags_add(d, FL_ERROR, "SuperLink may still be publishing or publication failed");
	} else {
		fl_diags_add(
		    d, FL_ERROR,
		    "FL_TLS_ENABLED=YES but FL_SSL_CA_CERTFILE not provided and the SuperLink publishes no "
		    "FL_CA_CERT (FL_TLS=%s)",
		    v);
	}
	return fl_err_set(e, FL_EXIT_FAIL,
	                  "No CA certificate for TLS; refusing to fall back to insecure mode. %s",
	                  workaround);
}

static int install(const struct fl_cert_supernode_opts *o, const char *pem, size_t len,
                   struct fl_cert_trust *t, struct fl_err *e)
{
	t->path = fl_cert_io_join(o->dir, "ca.crt");
	if (fl_cert_owner_check(o->uid, e) < 0 || fl_cert_io_check_links(t->path, e) < 0 ||
	    fl_fs_mkdir_p(o->dir, 0700, o->uid, o->gid, e) < 0)
		return -1;
	fl_fileset_clean(t->path);
	if (fl_cert_io_same(t->path, pem, len)) {
		t->action = FL_CERT_KEPT;
		return fl_cert_io_fix_mode(t->path, 0644, o->uid, o->gid, e);
	}
	t->action = FL_CERT_INSTALLED;
	return fl_fs_write_atomic(t->path, pem, len, 0644, o->uid, o->gid, e);
}

bool fl_cert_supernode_tls(const struct fl_ctx *c, const struct fl_onegate_tls *og)
{
	if (c->conf.set[FLV_FL_TLS_ENABLED])
		return c->conf.FL_TLS_ENABLED;
	if (c->conf.set[FLV_FL_SUPERLINK_ADDRESS])
		return false;
	return og && is_yes(og->tls);
}

/* What fl_cert_supernode works from: the context's values, OneGate's, the CA chosen. */
struct trustsel {
	const char *ctx_ca, *pin_text;
	bool tls, tls_set, static_mode;
	unsigned char pin[32];
	const struct fl_onegate_tls *og; /* NULL in static mode */
	const char *og_tls, *og_ca;
	const char *b64, *name; /* the CA value chosen and where it comes from */
	struct fl_pem pem;
};

/* Check: the context's values, before anything is decided. */
static int trust_inputs(const struct fl_ctx *c, const struct fl_cert_supernode_opts *o, struct trustsel *s,
                        struct fl_diags *d, struct fl_err *e)
{
	/* fl-certgen may run on a configuration no tool validated: a bad value is refused here. */
	if (fl_validate_var(c, FLV_FL_TLS_ENABLED, e) < 0 || fl_validate_var(c, FLV_FL_CA_FINGERPRINT, e) < 0)
		return -1;
	s->tls = c->conf.FL_TLS_ENABLED;
	s->tls_set = c->conf.set[FLV_FL_TLS_ENABLED];
	s->ctx_ca = c->conf.FL_SSL_CA_CERTFILE;
	s->pin_text = c->conf.FL_CA_FINGERPRINT;
	if (*s->pin_text && fl_cert_fingerprint_parse(s->pin_text, s->pin) < 0)
		return fl_err_set(e, FL_EXIT_FAIL, "FL_CA_FINGERPRINT: not a SHA-256 fingerprint");
	s->static_mode = c->conf.set[FLV_FL_SUPERLINK_ADDRESS];
	s->og = o->og;
	if (s->static_mode && s->og) {
		fl_diags_add(d, FL_INFO,
		             "FL_SUPERLINK_ADDRESS is set (static mode): OneGate TLS attributes not used");
		s->og = NULL;
	}
	s->og_tls = s->og ? s->og->tls : NULL;
	s->og_ca = s->og && s->og->ca_cert && *s->og->ca_cert ? s->og->ca_cert : NULL;
	return 0;
}

/* Decide, in strict priority: YES forces on, NO forces off, then OneGate, then insecure; the
 * log says which case applied and warns when the two sides disagree. */
static void trust_explain(const struct trustsel *s, struct fl_diags *d)
{
	char v[SHOWN_TLS_MAX + 8];
	shown(s->og_tls, v, sizeof v);
	if (s->tls_set && s->tls) {
		fl_diags_add(d, FL_INFO, "TLS explicitly enabled via FL_TLS_ENABLED=YES");
		if (s->og && is_no(s->og_tls))
			fl_diags_add(d, FL_WARN,
			             "FL_TLS_ENABLED=YES but SuperLink advertises FL_TLS=NO via OneGate. "
			             "Connection will "
			             "fail unless the SuperLink serves TLS.");
	} else if (s->tls_set) {
		fl_diags_add(d, FL_INFO, "TLS explicitly disabled via FL_TLS_ENABLED=NO");
		if (is_yes(s->og_tls)) {
			fl_diags_add(d, FL_WARN,
			             "FL_TLS_ENABLED=NO but SuperLink advertises FL_TLS=YES via OneGate.");
			fl_diags_add(
			    d, FL_WARN,
			    "This SuperNode will connect in insecure mode. Connection will fail if SuperLink "
			    "requires TLS.");
			fl_diags_add(d, FL_WARN,
			             "Remove FL_TLS_ENABLED=NO or set FL_TLS_ENABLED=YES to match SuperLink "
			             "TLS mode.");
		}
	} else if (is_yes(s->og_tls)) {
		fl_diags_add(d, FL_INFO, "TLS auto-detected from OneGate (FL_TLS=YES on SuperLink)");
	} else if (s->og) {
		fl_diags_add(d, FL_INFO, "SuperLink not advertising TLS (FL_TLS=%s). Using insecure mode.",
		             v);
	}
}

/* Load: the CA from the context (it wins) or from OneGate, decoded; what OneGate publishes is
 * the SuperLink's certificates and nothing else. */
static int trust_load(struct trustsel *s, struct fl_cert_trust *t, struct fl_diags *d, struct fl_err *e)
{
	if (*s->ctx_ca) {
		s->b64 = s->ctx_ca;
		s->name = "FL_SSL_CA_CERTFILE";
		t->source = "context";
		fl_diags_add(d, FL_INFO, "CA certificate decoded from FL_SSL_CA_CERTFILE%s",
		             s->og_ca ? " (CONTEXT wins: the FL_CA_CERT published in OneGate is ignored)"
		                      : "");
	} else if (s->og_ca) {
		s->b64 = s->og_ca;
		s->name = "OneGate FL_CA_CERT";
		t->source = "onegate";
		fl_diags_add(d, FL_INFO, "CA certificate retrieved from OneGate (FL_CA_CERT, %zu bytes)",
		             strlen(s->og_ca));
	} else {
		return fail_no_ca(s->static_mode, s->og, s->og_tls, d, e);
	}
	struct fl_err de = {0};
	if (fl_cert_pem_decode(s->name, s->b64, FL_PEM_CERTS, &s->pem, &de) < 0) {
		fl_diags_add(d, FL_ERROR, "CA certificate from %s is not valid PEM format", s->name);
		fl_diags_add(d, FL_ERROR,
		             "Check FL_SSL_CA_CERTFILE encoding or SuperLink FL_CA_CERT publication");
		fl_diags_add(d, FL_ERROR,
		             "Expected: base64-encoded PEM certificate (-----BEGIN CERTIFICATE-----)");
		return fl_err_set(e, FL_EXIT_FAIL, "%s", de.msg);
	}
	if (*s->ctx_ca)
		return 0;
	size_t n = 0;
	unsigned char *raw = fl_b64_decode(s->b64, &n);
	char what[128];
	int only = raw ? fl_cert_pem_only_certs(raw, n, what, sizeof what) : 0;
	if (raw) {
		OPENSSL_cleanse(raw, n);
		free(raw);
	}
	if (only < 0)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "OneGate FL_CA_CERT holds more than certificates (%s): refusing "
		                  "it; the SuperLink must publish its CA certificate(s) only",
		                  what);
	return 0;
}

/* Check: CA certificates only, and the pinned one when FL_CA_FINGERPRINT pins it. */
static int trust_check(const struct trustsel *s, struct fl_cert_trust *t, struct fl_diags *d,
                       struct fl_err *e)
{
	int n = sk_X509_num(s->pem.certs);
	for (int i = 0; i < n; i++) {
		X509 *x = sk_X509_value(s->pem.certs, i);
		if (X509_check_ca(x) != 1) {
			char *subj = fl_cert_io_name(X509_get_subject_name(x));
			fl_err_set(
			    e, FL_EXIT_FAIL,
			    "%s is not a CA certificate: %s%s has no basicConstraints CA:TRUE. Trust the CA "
			    "(ca.crt), not the server certificate (server.pem)",
			    s->name, subj, n > 1 ? " in the bundle" : "");
			free(subj);
			return -1;
		}
	}
	fl_cert_fingerprint(sk_X509_value(s->pem.certs, 0), t->fingerprint);
	if (!*s->pin_text)
		return 0;
	unsigned char got[32];
	if (n != 1)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "FL_CA_FINGERPRINT pins one CA certificate, but %s holds %d; give the pinned CA "
		    "alone",
		    s->name, n);
	if (fl_cert_fingerprint_parse(t->fingerprint, got) < 0 || memcmp(got, s->pin, sizeof s->pin) != 0)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "CA certificate from %s has SHA-256 fingerprint %s, but FL_CA_FINGERPRINT "
		                  "pins %.100s; "
		                  "refusing it. If the SuperLink's CA was replaced on purpose, update "
		                  "FL_CA_FINGERPRINT (fl-certgen show on the SuperLink prints it)",
		                  s->name, t->fingerprint, s->pin_text);
	fl_diags_add(d, FL_INFO, "CA certificate matches the pinned FL_CA_FINGERPRINT");
	return 0;
}

/* Warnings only: a CONTEXT CA that is not the one the SuperLink publishes, a CA outside its
 * validity (the handshake says the rest). */
static void trust_warn(const struct trustsel *s, const struct fl_cert_trust *t, time_t now,
                       struct fl_diags *d)
{
	if (*s->ctx_ca && s->og_ca) {
		char ofp[FL_CERT_FP_LEN];
		quiet_fingerprint(s->og_ca, ofp);
		if (*ofp && strcmp(ofp, t->fingerprint) != 0)
			fl_diags_add(d, FL_WARN,
			             "The CONTEXT CA (SHA-256 %s) differs from the CA the SuperLink "
			             "publishes (%s): the "
			             "handshake fails unless the SuperLink uses operator certificates from "
			             "the CONTEXT CA",
			             t->fingerprint, ofp);
	}
	for (int i = 0; i < sk_X509_num(s->pem.certs); i++) {
		X509 *x = sk_X509_value(s->pem.certs, i);
		char *until = fl_cert_io_time(X509_get0_notAfter(x)),
		     *from = fl_cert_io_time(X509_get0_notBefore(x));
		if (fl_cert_io_seconds_until(X509_get0_notAfter(x), now) < 0)
			fl_diags_add(d, FL_WARN,
			             "CA certificate expired on %s: the TLS handshake will fail until the "
			             "SuperLink's CA is renewed",
			             until);
		else if (fl_cert_io_seconds_until(X509_get0_notBefore(x), now) > 0)
			fl_diags_add(d, FL_WARN,
			             "CA certificate is valid only from %s: check the system clock", from);
		free(until);
		free(from);
	}
	char *subj = fl_cert_io_name(X509_get_subject_name(sk_X509_value(s->pem.certs, 0)));
	fl_diags_add(d, FL_INFO, "CA certificate validated: %s", subj);
	free(subj);
}

/* Commit: ca.crt written (or kept when those bytes are there). */
static int trust_install(const struct fl_cert_supernode_opts *o, const struct trustsel *s,
                         struct fl_cert_trust *t, struct fl_diags *d, struct fl_err *e)
{
	size_t outlen = 0;
	char *out = fl_cert_io_pem_certs(s->pem.certs, &outlen);
	if (!out)
		return fl_err_set(e, FL_EXIT_FAIL, "cannot encode the CA certificate as PEM");
	int rc = install(o, out, outlen, t, e);
	free(out);
	if (rc < 0)
		return -1;
	fl_diags_add(d, FL_INFO, "CA certificate %s at %s (SHA-256 %s)",
	             t->action == FL_CERT_KEPT ? "already installed" : "installed", t->path, t->fingerprint);
	return 0;
}

int fl_cert_supernode(const struct fl_ctx *c, const struct fl_cert_supernode_opts *o, struct fl_cert_trust *t,
                      struct fl_diags *d, struct fl_err *e)
{
	memset(t, 0, sizeof *t);
	struct trustsel s = {0};
	if (trust_inputs(c, o, &s, d, e) < 0)
		return -1;
	trust_explain(&s, d);
	if (!fl_cert_supernode_tls(c, s.og)) {
		fl_diags_add(d, FL_INFO, "TLS not enabled. Using --insecure mode (Phase 1 behavior).");
		if (*s.ctx_ca)
			fl_diags_add(d, FL_INFO,
			             "FL_SSL_CA_CERTFILE ignored -- TLS is not enabled (FL_TLS_ENABLED=YES "
			             "forces it)");
		return 0;
	}
	int rc = -1;
	if (trust_load(&s, t, d, e) == 0 && trust_check(&s, t, d, e) == 0) {
		trust_warn(&s, t, o->now, d);
		if (trust_install(o, &s, t, d, e) == 0) {
			t->tls = true;
			rc = 0;
		}
	}
	fl_cert_pem_free(&s.pem);
	ERR_clear_error();
	return rc;
}

void fl_cert_trust_free(struct fl_cert_trust *t)
{
	free(t->path);
	memset(t, 0, sizeof *t);
}
