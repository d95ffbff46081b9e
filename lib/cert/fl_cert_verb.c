/* fl_cert_verb: what fl-certgen's verbs do once the options are known. */
#include "fl_cert_verb.h"

#include "fl_fs.h"
#include "fl_log.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int fl_cert_verb_addrs(const struct fl_addrs *ips, struct fl_addrs *a, struct fl_err *e)
{
	for (size_t i = 0; i < ips->n; i++)
		fl_net_addrs_add(a, ips->v[i], NULL);
	const char *env = getenv("FLKIT_NET_ADDRS");
	if (!a->n && env && *env && fl_net_addrs_parse(a, env, "FLKIT_NET_ADDRS", e) < 0)
		return -1;
	return 0;
}

int fl_cert_verb_days_check(const struct fl_cert_superlink_opts *so, struct fl_err *e)
{
	if (so->renew_days >= so->server_days)
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "--renew-days %ld must be less than --server-days (%ld), or every run "
		                  "reissues the server certificate; lower --renew-days",
		                  so->renew_days, so->server_days);
	if (so->renew_days >= so->ca_days)
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "--renew-days %ld must be less than --ca-days (%ld), or the CA is always "
		                  "within its renewal window; lower --renew-days",
		                  so->renew_days, so->ca_days);
	return 0;
}

int fl_cert_verb_onegate(const char *file, const char *tls, const char *ca, struct fl_onegate_tls *og,
                         struct fl_err *e)
{
	if (file)
		return fl_cert_onegate_load(file, og, e);
	memset(og, 0, sizeof *og);
	og->present = true;
	og->tls = tls ? fl_xstrdup(tls) : NULL;
	og->ca_cert = ca ? fl_xstrdup(ca) : NULL;
	return 0;
}

void fl_cert_verb_warn_exposed(const struct fl_ctx *c)
{
	char why[4200];
	struct stat st;
	if (c->path && c->conf.set[FLV_FL_SSL_KEYFILE] && lstat(c->path, &st) == 0 && S_ISREG(st.st_mode) &&
	    fl_cert_exposed(c->path, FL_OWNER_KEEP, 077, why, sizeof why))
		fl_warn("%s, and it holds FL_SSL_KEYFILE: the server key may be known to someone else; "
		        "make the file 0600 and owned by root (fl-context render writes it so), and "
		        "replace the key if others could have read it",
		        why);
}

int fl_cert_verb_superlink(const struct fl_ctx *c, const struct fl_cert_superlink_opts *so, int fmt,
                           struct fl_buf *out)
{
	struct fl_cert_published p;
	struct fl_diags d = FL_DIAGS_INIT;
	struct fl_err e = {0};
	int r = fl_cert_superlink(c, so, &p, &d, &e);
	fl_diags_log(&d);
	if (r == 0)
		fl_cert_published_render(&p, fmt, out);
	fl_cert_published_free(&p);
	return r < 0 ? fl_log_err(&e) : FL_EXIT_OK;
}

int fl_cert_verb_supernode(const struct fl_ctx *c, const struct fl_cert_supernode_opts *so, int fmt,
                           struct fl_buf *out)
{
	struct fl_cert_trust t;
	struct fl_diags d = FL_DIAGS_INIT;
	struct fl_err e = {0};
	int r = fl_cert_supernode(c, so, &t, &d, &e);
	fl_diags_log(&d);
	if (r == 0)
		fl_cert_trust_render(&t, fmt, out);
	fl_cert_trust_free(&t);
	return r < 0 ? fl_log_err(&e) : FL_EXIT_OK;
}

int fl_cert_verb_inspect(const struct fl_cert_verb_inspect *o, struct fl_buf *out)
{
	struct fl_err e = {0};
	if (!o->addrs->n && !o->file && fl_net_vm_addrs(o->addrs, NULL, &e) < 0)
		fl_debug("SAN not checked against the VM addresses: %s", e.msg);
	struct fl_cert_report r;
	struct fl_diags d = FL_DIAGS_INIT;
	int res = fl_cert_inspect(o->dir, o->file, o->addrs, o->now, o->warn_days, &r, &d, &e);
	fl_diags_log(&d);
	if (res < 0) {
		fl_cert_report_free(&r);
		return fl_log_err(&e);
	}
	int rc = FL_EXIT_OK;
	if (o->check) {
		rc = r.status == FL_CERT_INVALID ? FL_EXIT_FAIL
		     : r.status == FL_CERT_SOON  ? FL_EXIT_TIMEOUT
		                                 : FL_EXIT_OK;
		if (rc == FL_EXIT_OK)
			fl_info("certificates in %s are valid for more than %ld days",
			        o->file ? o->file : o->dir, o->warn_days);
	}
	if (!o->check || o->fmt > 0)
		fl_cert_report_render(&r, o->fmt < 0 ? 0 : o->fmt, out);
	fl_cert_report_free(&r);
	return rc;
}
