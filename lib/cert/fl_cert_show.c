/* fl_cert_show: what is installed, for people and for timers: subject, SAN, validity, days
 * left, fingerprint, key type, chain and key status; and the KEY=VALUE publication lines. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED

#include "fl_cert.h"

#include "fl_buf.h"
#include "fl_cert_io.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void info_free(struct fl_cert_info *i)
{
	free(i->path);
	free(i->subject);
	free(i->issuer);
	free(i->serial);
	free(i->san);
	free(i->not_before);
	free(i->not_after);
	free(i->key_type);
	free(i->problem);
	memset(i, 0, sizeof *i);
}

void fl_cert_report_free(struct fl_cert_report *r)
{
	info_free(&r->ca);
	info_free(&r->server);
	free(r->key_type);
	free(r->chain);
	free(r->san_missing);
	memset(r, 0, sizeof *r);
}

static char *serial_text(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	char *out = fl_xstrdup(hex ? hex : "?");
	OPENSSL_free(hex);
	BN_free(bn);
	return out;
}

static void fill(struct fl_cert_info *i, X509 *x, time_t now)
{
	char kd[64];
	i->parsed = true;
	i->subject = fl_cert_io_name(X509_get_subject_name(x));
	i->issuer = fl_cert_io_name(X509_get_issuer_name(x));
	i->serial = serial_text(x);
	i->san = fl_cert_san_text(x);
	i->not_before = fl_cert_io_time(X509_get0_notBefore(x));
	i->not_after = fl_cert_io_time(X509_get0_notAfter(x));
	i->seconds_left = fl_cert_io_seconds_until(X509_get0_notAfter(x), now);
	i->days_left = fl_cert_io_days(i->seconds_left);
	EVP_PKEY *pk = X509_get0_pubkey(x);
	if (pk)
		fl_cert_key_desc(pk, kd, sizeof kd);
	else
		snprintf(kd, sizeof kd, "unknown");
	i->key_type = fl_xstrdup(kd);
	i->is_ca = X509_check_ca(x) == 1;
	fl_cert_fingerprint(x, i->fingerprint);
	ERR_clear_error();
}

/* Load path into i; the certificates stay in *certs for the chain check. */
static void load(struct fl_cert_info *i, const char *path, time_t now, STACK_OF(X509) * *certs)
{
	char why[512];
	i->path = fl_xstrdup(path);
	enum fl_cert_load r = fl_cert_load_certs(path, certs, NULL, NULL, why, sizeof why);
	if (r == FL_CERT_ABSENT)
		return;
	i->present = true;
	if (r == FL_CERT_UNUSABLE) {
		i->problem = fl_xstrdup(why);
		return;
	}
	i->ncerts = sk_X509_num(*certs);
	fill(i, sk_X509_value(*certs, 0), now);
}

/* Set the status to at least s. */
static void worse(struct fl_cert_report *r, enum fl_cert_status s)
{
	if (s > r->status)
		r->status = s;
}

static void judge_time(struct fl_cert_report *r, const struct fl_cert_info *i, const char *what, time_t now,
                       struct fl_diags *d)
{
	(void)now;
	if (!i->parsed)
		return;
	if (i->seconds_left < 0) {
		fl_diags_add(d, FL_ERROR, "%s expired on %s", what, i->not_after);
		worse(r, FL_CERT_INVALID);
	} else if (i->seconds_left < (long long)r->warn_days * 86400) {
		fl_diags_add(d, FL_WARN, "%s expires in %ld days (on %s), within the %ld-day warning window",
		             what, i->days_left, i->not_after, r->warn_days);
		worse(r, FL_CERT_SOON);
	}
}

/* --file: that one certificate. Refused outright (exit 1), not reported as an invalid
 * certificate: not a file at all, or a private key, which show never prints anything of. */
static int inspect_file(const char *file, time_t now, struct fl_cert_report *r, struct fl_diags *d,
                        struct fl_err *e)
{
	char *buf = NULL;
	size_t len = 0;
	struct fl_err re = {0};
	int rr = fl_cert_io_read(file, &buf, &len, &re);
	bool key = rr == 0 && memmem(buf, len, "PRIVATE KEY-----", 16) != NULL;
	fl_cert_io_wipe_free(buf, len);
	if (rr < 0)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s; --file takes a certificate file (PEM), not a FIFO, device, "
		                  "directory or link",
		                  re.msg);
	if (key)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s is a private key: show and check read certificates only, and a "
		                  "private key is never shown or published; give the certificate "
		                  "(server.pem or ca.crt)",
		                  file);
	STACK_OF(X509) *srv = NULL;
	load(&r->server, file, now, &srv);
	sk_X509_pop_free(srv, X509_free);
	if (!r->server.present)
		return fl_err_set(e, FL_EXIT_FAIL, "%s does not exist", file);
	if (r->server.problem) {
		fl_diags_add(d, FL_ERROR, "%s", r->server.problem);
		worse(r, FL_CERT_INVALID);
	}
	judge_time(r, &r->server, file, now, d);
	return 0;
}

static void judge_ca(struct fl_cert_report *r, const char *ca_path, time_t now, struct fl_diags *d)
{
	if (!r->ca.present) {
		fl_diags_add(d, FL_ERROR, "%s is missing", ca_path);
		worse(r, FL_CERT_INVALID);
	} else if (r->ca.problem) {
		fl_diags_add(d, FL_ERROR, "%s", r->ca.problem);
		worse(r, FL_CERT_INVALID);
	} else if (!r->ca.is_ca) {
		fl_diags_add(d, FL_ERROR, "%s is not a CA certificate (no basicConstraints CA:TRUE)",
		             ca_path);
		worse(r, FL_CERT_INVALID);
	}
	judge_time(r, &r->ca, "the CA certificate", now, d);
}

/* server.key: present, its type, and whether it belongs to leaf (NULL: server.pem unusable). */
static void judge_key(struct fl_cert_report *r, const char *key_path, const char *srv_path, X509 *leaf,
                      struct fl_diags *d)
{
	EVP_PKEY *key = NULL;
	char why[512];
	enum fl_cert_load kr = fl_cert_load_key(key_path, &key, why, sizeof why);
	r->key_present = kr != FL_CERT_ABSENT;
	if (kr == FL_CERT_LOADED) {
		char kd[64];
		fl_cert_key_desc(key, kd, sizeof kd);
		r->key_type = fl_xstrdup(kd);
	}
	if (leaf) {
		r->key_match = key && fl_cert_io_key_matches(leaf, key);
		if (kr == FL_CERT_ABSENT)
			fl_diags_add(d, FL_ERROR, "%s is missing", key_path);
		else if (kr == FL_CERT_UNUSABLE)
			fl_diags_add(d, FL_ERROR, "%s", why);
		else if (!r->key_match)
			fl_diags_add(d, FL_ERROR, "%s does not match %s", key_path, srv_path);
		if (!r->key_match)
			worse(r, FL_CERT_INVALID);
	}
	EVP_PKEY_free(key);
}

/* server.pem (and the chain it carries) against ca.crt. */
static void judge_chain(struct fl_cert_report *r, STACK_OF(X509) * srv, STACK_OF(X509) * cas,
                        const char *srv_path, const char *ca_path, time_t now, struct fl_diags *d)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	for (int i = 1; chain && i < sk_X509_num(srv); i++)
		sk_X509_push(chain, sk_X509_value(srv, i));
	char vwhy[160];
	if (fl_cert_verify(sk_X509_value(srv, 0), cas, chain, now, vwhy, sizeof vwhy, NULL) == 0) {
		r->chain = fl_xstrdup("ok");
	} else {
		r->chain = fl_xstrdup(vwhy);
		fl_diags_add(d, FL_ERROR, "%s does not verify against %s: %s", srv_path, ca_path, vwhy);
		worse(r, FL_CERT_INVALID);
	}
	sk_X509_free(chain);
}

/* A SAN that does not cover the VM's addresses is a warning. */
static void judge_san(struct fl_cert_report *r, X509 *leaf, const struct fl_addrs *addrs, struct fl_diags *d)
{
	struct fl_sans want = FL_SANS_INIT, missing = FL_SANS_INIT;
	char buf[80];
	for (size_t i = 0; i < addrs->n; i++) {
		snprintf(buf, sizeof buf, "IP:%s", addrs->v[i]);
		fl_cert_sans_add(&want, buf);
	}
	fl_cert_san_missing(leaf, &want, &missing);
	if (missing.n) {
		r->san_missing = fl_cert_io_sans_join(&missing);
		fl_diags_add(d, FL_WARN,
		             "the server certificate SAN does not cover %s; SuperNodes "
		             "connecting there fail (fl-certgen superlink reissues it)",
		             r->san_missing);
	}
	fl_cert_sans_free(&want);
	fl_cert_sans_free(&missing);
}

int fl_cert_inspect(const char *dir, const char *file, const struct fl_addrs *addrs, time_t now,
                    long warn_days, struct fl_cert_report *r, struct fl_diags *d, struct fl_err *e)
{
	memset(r, 0, sizeof *r);
	r->warn_days = warn_days;
	if (file)
		return inspect_file(file, now, r, d, e);
	STACK_OF(X509) *cas = NULL, *srv = NULL;
	char *ca_path = fl_cert_io_join(dir, "ca.crt"), *srv_path = fl_cert_io_join(dir, "server.pem"),
	     *key_path = fl_cert_io_join(dir, "server.key");
	load(&r->ca, ca_path, now, &cas);
	load(&r->server, srv_path, now, &srv);
	int rc = 0;
	if (!r->ca.present && !r->server.present) {
		rc = fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s holds no ca.crt and no server.pem; run fl-certgen superlink (or supernode) first",
		    dir);
	} else {
		judge_ca(r, ca_path, now, d);
	}
	if (rc == 0 && r->server.present) {
		if (r->server.problem) {
			fl_diags_add(d, FL_ERROR, "%s", r->server.problem);
			worse(r, FL_CERT_INVALID);
		}
		X509 *leaf = srv ? sk_X509_value(srv, 0) : NULL;
		judge_key(r, key_path, srv_path, leaf, d);
		if (leaf && cas)
			judge_chain(r, srv, cas, srv_path, ca_path, now, d);
		if (leaf && addrs && addrs->n)
			judge_san(r, leaf, addrs, d);
		judge_time(r, &r->server, "the server certificate", now, d);
	}
	sk_X509_pop_free(cas, X509_free);
	sk_X509_pop_free(srv, X509_free);
	free(ca_path);
	free(srv_path);
	free(key_path);
	ERR_clear_error();
	return rc;
}

static const char *status_name(enum fl_cert_status s)
{
	return s == FL_CERT_OK ? "ok" : s == FL_CERT_SOON ? "expires-soon" : "invalid";
}

static void text_info(struct fl_buf *b, const char *label, const struct fl_cert_info *i)
{
	fl_buf_addf(b, "%s: %s\n", label, i->path ? i->path : "");
	if (!i->present) {
		fl_buf_adds(b, "  missing\n");
		return;
	}
	if (!i->parsed) {
		fl_buf_addf(b, "  unusable: %s\n", i->problem ? i->problem : "?");
		return;
	}
	fl_buf_addf(b, "  subject:     %s\n", i->subject);
	fl_buf_addf(b, "  issuer:      %s\n", i->issuer);
	if (*i->san)
		fl_buf_addf(b, "  san:         %s\n", i->san);
	fl_buf_addf(b, "  not before:  %s\n", i->not_before);
	fl_buf_addf(b, "  not after:   %s (%ld days left)\n", i->not_after, i->days_left);
	fl_buf_addf(b, "  key:         %s\n", i->key_type);
	fl_buf_addf(b, "  serial:      %s\n", i->serial);
	fl_buf_addf(b, "  sha256:      %s\n", i->fingerprint);
	if (i->ncerts > 1)
		fl_buf_addf(b, "  certificates: %d (first shown)\n", i->ncerts);
}

static void env_pair(struct fl_buf *b, const char *prefix, const char *key, const char *v)
{
	fl_buf_addf(b, "%s%s=", prefix, key);
	fl_buf_add_sq(b, v ? v : "");
	fl_buf_addc(b, '\n');
}

static void env_info(struct fl_buf *b, const char *prefix, const struct fl_cert_info *i)
{
	char n[32];
	env_pair(b, prefix, "PATH", i->path);
	env_pair(b, prefix, "STATE", !i->present ? "missing" : i->parsed ? "ok" : "unusable");
	if (!i->parsed)
		return;
	env_pair(b, prefix, "SUBJECT", i->subject);
	env_pair(b, prefix, "ISSUER", i->issuer);
	env_pair(b, prefix, "SAN", i->san);
	env_pair(b, prefix, "NOT_BEFORE", i->not_before);
	env_pair(b, prefix, "NOT_AFTER", i->not_after);
	snprintf(n, sizeof n, "%ld", i->days_left);
	env_pair(b, prefix, "DAYS_LEFT", n);
	env_pair(b, prefix, "KEY_TYPE", i->key_type);
	env_pair(b, prefix, "SERIAL", i->serial);
	env_pair(b, prefix, "FINGERPRINT", i->fingerprint);
	env_pair(b, prefix, "IS_CA", i->is_ca ? "YES" : "NO");
}

static void json_str(struct fl_buf *b, const char *key, const char *v, bool comma)
{
	fl_buf_add_dq(b, key);
	fl_buf_addc(b, ':');
	if (v)
		fl_buf_add_dq(b, v);
	else
		fl_buf_adds(b, "null");
	if (comma)
		fl_buf_addc(b, ',');
}

static void json_info(struct fl_buf *b, const struct fl_cert_info *i)
{
	fl_buf_addc(b, '{');
	json_str(b, "path", i->path, true);
	json_str(b, "state",
	         !i->present ? "missing"
	         : i->parsed ? "ok"
	                     : "unusable",
	         i->parsed || i->problem != NULL);
	if (!i->parsed) {
		if (i->problem)
			json_str(b, "problem", i->problem, false);
		fl_buf_addc(b, '}');
		return;
	}
	json_str(b, "subject", i->subject, true);
	json_str(b, "issuer", i->issuer, true);
	fl_buf_adds(b, "\"san\":[");
	const char *p = i->san;
	for (bool first = true; *p;) {
		const char *sep = strstr(p, ", ");
		size_t n = sep ? (size_t)(sep - p) : strlen(p);
		char *one = fl_xstrndup(p, n);
		if (!first)
			fl_buf_addc(b, ',');
		fl_buf_add_dq(b, one);
		free(one);
		first = false;
		p += n + (sep ? 2 : 0);
	}
	fl_buf_adds(b, "],");
	json_str(b, "not_before", i->not_before, true);
	json_str(b, "not_after", i->not_after, true);
	fl_buf_addf(b, "\"days_left\":%ld,", i->days_left);
	json_str(b, "key_type", i->key_type, true);
	json_str(b, "serial", i->serial, true);
	json_str(b, "sha256", i->fingerprint, true);
	fl_buf_addf(b, "\"is_ca\":%s,\"certificates\":%d}", i->is_ca ? "true" : "false", i->ncerts);
}

void fl_cert_report_render(const struct fl_cert_report *r, int fmt, struct fl_buf *out)
{
	bool single = r->ca.path == NULL;
	const char *key = single || !r->server.present ? NULL
	                  : !r->key_present            ? "missing"
	                  : r->key_match               ? "match"
	                                               : "mismatch";
	if (fmt == 1) {
		if (!single)
			env_info(out, "CA_", &r->ca);
		env_info(out, single ? "CERT_" : "SERVER_", &r->server);
		if (key)
			env_pair(out, "", "SERVER_KEY", key);
		if (r->chain)
			env_pair(out, "", "CHAIN", r->chain);
		if (r->server.parsed && !single)
			env_pair(out, "", "SAN_MISSING", r->san_missing);
		env_pair(out, "", "STATUS", status_name(r->status));
		return;
	}
	if (fmt == 2) {
		fl_buf_addc(out, '{');
		if (!single) {
			fl_buf_adds(out, "\"ca\":");
			json_info(out, &r->ca);
			fl_buf_addc(out, ',');
		}
		fl_buf_adds(out, single ? "\"certificate\":" : "\"server\":");
		json_info(out, &r->server);
		fl_buf_addc(out, ',');
		if (key)
			json_str(out, "server_key", key, true);
		if (r->key_type)
			json_str(out, "server_key_type", r->key_type, true);
		if (r->chain)
			json_str(out, "chain", r->chain, true);
		if (r->server.parsed && !single)
			json_str(out, "san_missing", r->san_missing, true);
		json_str(out, "status", status_name(r->status), false);
		fl_buf_adds(out, "}\n");
		return;
	}
	if (!single)
		text_info(out, "ca", &r->ca);
	text_info(out, single ? "certificate" : "server", &r->server);
	if (key)
		fl_buf_addf(out, "server key:    %s%s%s%s\n", key, r->key_type ? " (" : "",
		            r->key_type ? r->key_type : "", r->key_type ? ")" : "");
	if (r->chain)
		fl_buf_addf(out, "chain:         %s\n", r->chain);
	if (r->server.parsed && !single)
		fl_buf_addf(out, "vm addresses:  %s%s\n", r->san_missing ? "not covered: " : "covered",
		            r->san_missing ? r->san_missing : "");
	fl_buf_addf(out, "status:        %s\n", status_name(r->status));
}

void fl_cert_published_render(const struct fl_cert_published *p, int fmt, struct fl_buf *out)
{
	bool on = p->action != FL_CERT_DISABLED;
	if (fmt == 2) {
		fl_buf_addf(out, "{\"FL_TLS\":\"%s\"", on ? "YES" : "NO");
		if (on)
			fl_buf_addf(out,
			            ",\"FL_CA_CERT\":\"%s\",\"FL_CA_FINGERPRINT\":\"%s\",\"action\":\"%s\"",
			            p->ca_b64, p->fingerprint, fl_cert_action_name(p->action));
		fl_buf_adds(out, "}\n");
		return;
	}
	fl_buf_addf(out, "FL_TLS=%s\n", on ? "YES" : "NO");
	if (on)
		fl_buf_addf(out, "FL_CA_CERT=%s\nFL_CA_FINGERPRINT=%s\n", p->ca_b64, p->fingerprint);
}

void fl_cert_trust_render(const struct fl_cert_trust *t, int fmt, struct fl_buf *out)
{
	if (fmt == 2) {
		fl_buf_addf(out, "{\"FL_TLS\":\"%s\"", t->tls ? "YES" : "NO");
		if (t->tls) {
			fl_buf_adds(out, ",\"FL_CA_PATH\":");
			fl_buf_add_dq(out, t->path);
			fl_buf_addf(out,
			            ",\"FL_CA_SOURCE\":\"%s\",\"FL_CA_FINGERPRINT\":\"%s\",\"action\":\"%s\"",
			            t->source, t->fingerprint, fl_cert_action_name(t->action));
		}
		fl_buf_adds(out, "}\n");
		return;
	}
	fl_buf_addf(out, "FL_TLS=%s\n", t->tls ? "YES" : "NO");
	if (t->tls) {
		fl_buf_adds(out, "FL_CA_PATH=");
		fl_buf_add_sq(out, t->path);
		fl_buf_addf(out, "\nFL_CA_SOURCE=%s\nFL_CA_FINGERPRINT=%s\n", t->source, t->fingerprint);
	}
}
