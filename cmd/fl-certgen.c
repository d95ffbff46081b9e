/* fl-certgen: TLS for Flower: the SuperLink's CA and server certificate, the SuperNode's
 * trusted CA, and inspection for operators and renewal timers. */
#include "fl_buf.h"
#include "fl_cert.h"
#include "fl_cert_verb.h"
#include "fl_check.h"
#include "fl_ctx.h"
#include "fl_fs.h"
#include "fl_log.h"
#include "fl_net.h"
#include "fl_tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char usage_text[] =
    "usage: fl-certgen [options] superlink [--key-type T] [--ip ADDR]... [--force] [--accept-ca-key]\n"
    "                                     [--lock-timeout N] [--format env|json]\n"
    "       fl-certgen [options] supernode [--onegate-file FILE|- | --onegate-tls V --onegate-ca-cert B64]\n"
    "       fl-certgen [options] show [--file CERT] [--format text|env|json]\n"
    "       fl-certgen [options] check [--file CERT] [--warn-days N]\n";

static const char help_text[] =
    "\n"
    "superlink  FL_TLS_ENABLED=YES: keep, re-issue or create the CA (10 years) and server\n"
    "           certificate (1 year), or check and install FL_SSL_CA_CERTFILE/CERTFILE/KEYFILE;\n"
    "           prints FL_TLS, FL_CA_CERT and FL_CA_FINGERPRINT for the OneGate publication\n"
    "supernode  decide TLS (FL_TLS_ENABLED, then OneGate FL_TLS) and install the trusted CA\n"
    "show       subject, SAN, validity, days left, fingerprint, key type, chain status\n"
    "check      like show, as an exit status: 0 ok, 1 invalid, 4 expires within --warn-days\n"
    "\n"
    "options:\n"
    "  -c, --context FILE       context or rendered file (default $FLKIT_CONTEXT, else\n"
    "                           /run/flkit/ROLE.conf if present, else " FL_CTX_DEFAULT_PATH ";\n"
    "                           flkit(7) CONFIGURATION)\n"
    "  -E, --env-only           read no file: the environment only\n"
    "      --no-env             ignore the process environment\n"
    "  -d, --dir DIR            certificate directory (default " FL_CERT_DIR ")\n"
    "      --ca-key-dir DIR     root-only directory of ca.key, outside --dir (default " FL_CERT_CA_KEY_DIR
    ")\n"
    "      --owner UID:GID      owner of the container-visible files (default 49999:49999)\n"
    "  -k, --key-type T         p256 (default), rsa:2048, rsa:3072 or rsa:4096\n"
    "      --ip ADDR            a VM address for the SAN (repeatable; default: every address of\n"
    "                           the default-route interface, or $FLKIT_NET_ADDRS)\n"
    "      --ca-days N          CA lifetime (default 3650)\n"
    "      --server-days N      server certificate lifetime (default 365)\n"
    "      --renew-days N       re-issue when the server certificate expires within N days (30;\n"
    "                           less than --server-days)\n"
    "      --force              create a new CA and server certificate\n"
    "      --accept-ca-key      keep a CA key that another user owned or could read (warned)\n"
    "      --lock-timeout N     wait at most N seconds for another run's lock (60; exit 4)\n"
    "      --onegate-file F     FL_TLS=/FL_CA_CERT= lines from OneGate (- for stdin)\n"
    "      --onegate-tls V      OneGate FL_TLS value\n"
    "      --onegate-ca-cert B  OneGate FL_CA_CERT value\n"
    "      --file CERT          show/check: this certificate file only\n"
    "      --warn-days N        check: exit 4 when a certificate expires within N days (30)\n"
    "  -f, --format FMT         output: env (KEY=VALUE) or json; show also text\n"
    "  -q, --quiet              log warnings and errors only\n"
    "  -v, --verbose            log debug lines too\n"
    "  -h, --help\n"
    "  -V, --version\n"
    "\n"
    "exit status: 0 ok, 1 failure (or check: invalid), 2 usage error, 4 check: expires soon,\n"
    "             or superlink: the lock stayed held for --lock-timeout.\n";

struct opts {
	bool force, accept_ca_key;
	long lock_timeout;
	const char *dir, *ca_key_dir, *file, *onegate_file, *onegate_tls, *onegate_ca;
	uid_t uid;
	gid_t gid;
	enum fl_key_type key_type;
	long ca_days, server_days, renew_days, warn_days;
	int format; /* -1 verb default, 0 text, 1 env, 2 json */
	struct fl_addrs ips;
	time_t now;
};

static void emit(struct fl_buf *b)
{
	fwrite(fl_buf_str(b), 1, b->len, stdout);
	fflush(stdout);
	fl_buf_free(b);
}

/* The SAN addresses (--ip, else $FLKIT_NET_ADDRS); a usage error when malformed. */
static int addresses(const struct opts *o, struct fl_addrs *a)
{
	struct fl_err e = {0};
	if (fl_cert_verb_addrs(&o->ips, a, &e) == 0)
		return 0;
	fl_error("%s", e.msg);
	fl_net_addrs_free(a);
	return -1;
}

/* superlink and supernode print KEY=VALUE or JSON, not text. */
static bool text_refused(const struct fl_tool *t, const char *verb)
{
	const struct opts *o = t->data;
	if (o->format == 0)
		fl_tool_usage_error(t, "%s: --format is env or json", verb);
	return o->format == 0;
}

static int superlink(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	struct fl_addrs addrs = FL_ADDRS_INIT;
	struct fl_ctx c;
	if (text_refused(t, "superlink") || addresses(o, &addrs) < 0)
		return FL_EXIT_USAGE;
	int rc = fl_tool_load(t, FL_ROLE_SUPERLINK, &c);
	if (!rc) {
		struct fl_cert_superlink_opts so = {
		    {o->dir, o->ca_key_dir, o->uid, o->gid},
		    o->key_type,
		    o->ca_days,
		    o->server_days,
		    o->renew_days,
		    o->force,
		    o->now,
		    &addrs,
		    o->accept_ca_key,
		    o->lock_timeout,
		};
		struct fl_buf b = FL_BUF_INIT;
		fl_cert_verb_warn_exposed(&c);
		rc = fl_cert_verb_superlink(&c, &so, o->format < 0 ? 1 : o->format, &b);
		emit(&b);
		fl_ctx_free(&c);
	}
	fl_net_addrs_free(&addrs);
	return rc;
}

/* What OneGate published: --onegate-file, else --onegate-tls and --onegate-ca-cert. */
static int read_onegate(const struct opts *o, struct fl_onegate_tls *og)
{
	struct fl_err e = {0};
	if (o->onegate_file)
		return fl_cert_onegate_load(o->onegate_file, og, &e) < 0 ? fl_log_err(&e) : 0;
	memset(og, 0, sizeof *og);
	og->present = true;
	og->tls = o->onegate_tls ? fl_xstrdup(o->onegate_tls) : NULL;
	og->ca_cert = o->onegate_ca ? fl_xstrdup(o->onegate_ca) : NULL;
	return 0;
}

static int supernode(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	if (text_refused(t, "supernode"))
		return FL_EXIT_USAGE;
	if (o->onegate_file && (o->onegate_tls || o->onegate_ca)) {
		fl_tool_usage_error(t, "--onegate-file excludes --onegate-tls and --onegate-ca-cert");
		return FL_EXIT_USAGE;
	}
	struct fl_onegate_tls og = {0};
	bool have_og = o->onegate_file || o->onegate_tls || o->onegate_ca;
	struct fl_ctx c;
	int rc = have_og && read_onegate(o, &og) ? FL_EXIT_FAIL : FL_EXIT_OK;
	if (!rc && !(rc = fl_tool_load(t, FL_ROLE_SUPERNODE, &c))) {
		struct fl_cert_supernode_opts so = {o->dir, o->uid, o->gid, o->now, have_og ? &og : NULL};
		struct fl_buf b = FL_BUF_INIT;
		fl_cert_verb_warn_exposed(&c);
		rc = fl_cert_verb_supernode(&c, &so, o->format < 0 ? 1 : o->format, &b);
		emit(&b);
		fl_ctx_free(&c);
	}
	fl_cert_onegate_free(&og);
	return rc;
}

/* show and check: the same report; check turns it into the exit status. */
static int inspect(const struct opts *o, bool check)
{
	struct fl_addrs addrs = FL_ADDRS_INIT;
	if (addresses(o, &addrs) < 0)
		return FL_EXIT_USAGE;
	struct fl_cert_verb_inspect in = {o->dir, o->file, &addrs, o->now, o->warn_days, o->format, check};
	struct fl_buf b = FL_BUF_INIT;
	int rc = fl_cert_verb_inspect(&in, &b);
	emit(&b);
	fl_net_addrs_free(&addrs);
	return rc;
}

static int show(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	return inspect(t->data, false);
}

static int check(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	return inspect(t->data, true);
}

/* A count of days within [min, FL_CERT_MAX_DAYS]. */
static int parse_days(const struct fl_tool *t, const char *s, const char *flag, long min, long *out)
{
	long v;
	if (!fl_check_nonneg(s, &v) || v < min || v > FL_CERT_MAX_DAYS) {
		fl_tool_usage_error(t, "%s needs a whole number of days from %ld to %d, not '%s'", flag, min,
		                    FL_CERT_MAX_DAYS, s);
		return FL_EXIT_USAGE;
	}
	*out = v;
	return 0;
}

enum {
	OPT_CA_KEY_DIR = FL_TOOL_OWN,
	OPT_OWNER,
	OPT_IP,
	OPT_CA_DAYS,
	OPT_SERVER_DAYS,
	OPT_RENEW_DAYS,
	OPT_WARN_DAYS,
	OPT_OG_FILE,
	OPT_OG_TLS,
	OPT_OG_CA,
	OPT_FILE,
	OPT_FORCE,
	OPT_ACCEPT_CA_KEY,
	OPT_LOCK_TIMEOUT,
};

/* The options with a value that is checked here. */
static int option_value(struct fl_tool *t, struct opts *o, int ch, const char *arg)
{
	struct fl_err e = {0};
	switch (ch) {
	case OPT_OWNER:
		if (fl_tool_owner(arg, &o->uid, &o->gid) == 0)
			return 0;
		fl_tool_usage_error(t, "--owner needs numeric UID:GID, not '%s'", arg);
		return FL_EXIT_USAGE;
	case 'k':
		if (fl_cert_key_type_parse(arg, &o->key_type) == 0)
			return 0;
		fl_tool_usage_error(t, "unknown key type '%s': use p256, rsa:2048, rsa:3072 or rsa:4096",
		                    arg);
		return FL_EXIT_USAGE;
	case OPT_IP:
		if (fl_net_addrs_add(&o->ips, arg, &e) == 0)
			return 0;
		fl_tool_usage_error(t, "--ip: %s", e.msg);
		return FL_EXIT_USAGE;
	case OPT_CA_DAYS: return parse_days(t, arg, "--ca-days", 2, &o->ca_days);
	case OPT_SERVER_DAYS: return parse_days(t, arg, "--server-days", 1, &o->server_days);
	case OPT_RENEW_DAYS: return parse_days(t, arg, "--renew-days", 0, &o->renew_days);
	case OPT_WARN_DAYS: return parse_days(t, arg, "--warn-days", 0, &o->warn_days);
	case OPT_LOCK_TIMEOUT:
		if (fl_check_nonneg(arg, &o->lock_timeout) && o->lock_timeout <= 86400)
			return 0;
		fl_tool_usage_error(t, "--lock-timeout needs whole seconds from 0 to 86400, not '%s'", arg);
		return FL_EXIT_USAGE;
	case 'f':
		for (int i = 0; i < 3; i++)
			if (strcmp(arg, (const char *[]){"text", "env", "json"}[i]) == 0) {
				o->format = i;
				return 0;
			}
		fl_tool_usage_error(t, "unknown format '%s': use text, env or json", arg);
		return FL_EXIT_USAGE;
	}
	return 0;
}

static int option(struct fl_tool *t, int ch, const char *arg)
{
	struct opts *o = t->data;
	switch (ch) {
	case 'd': o->dir = arg; break;
	case OPT_CA_KEY_DIR: o->ca_key_dir = arg; break;
	case OPT_FORCE: o->force = true; break;
	case OPT_ACCEPT_CA_KEY: o->accept_ca_key = true; break;
	case OPT_OG_FILE: o->onegate_file = arg; break;
	case OPT_OG_TLS: o->onegate_tls = arg; break;
	case OPT_OG_CA: o->onegate_ca = arg; break;
	case OPT_FILE: o->file = arg; break;
	default: return option_value(t, o, ch, arg);
	}
	return 0;
}

/* What the options say together; FL_TOOL_GO when they agree. */
static int check_options(const struct fl_tool *t, struct opts *o)
{
	o->now = time(NULL);
#ifdef FLKIT_TEST_CLOCK
	/* Test builds only (build/test-bin): FLKIT_NOW (seconds since the epoch) moves the clock
	 * for tests of expiry and renewal. The installed binary has no clock override. */
	const char *now = getenv("FLKIT_NOW");
	char *end;
	if (now && *now) {
		errno = 0;
		long long v = strtoll(now, &end, 10);
		if (*end || errno || v < 0) {
			fl_tool_usage_error(t, "FLKIT_NOW must be seconds since the epoch, not '%s'", now);
			return FL_EXIT_USAGE;
		}
		o->now = (time_t)v;
	}
#endif
	/* --renew-days at or above a lifetime would renew on every run (a new server certificate,
	 * or with the CA's, a new CA breaking every SuperNode). */
	if (o->renew_days >= o->server_days) {
		fl_tool_usage_error(t,
		                    "--renew-days %ld must be less than --server-days (%ld), or every run "
		                    "reissues the server certificate; lower --renew-days",
		                    o->renew_days, o->server_days);
		return FL_EXIT_USAGE;
	}
	if (o->renew_days >= o->ca_days) {
		fl_tool_usage_error(t,
		                    "--renew-days %ld must be less than --ca-days (%ld), or the CA is always "
		                    "within its renewal window; lower --renew-days",
		                    o->renew_days, o->ca_days);
		return FL_EXIT_USAGE;
	}
	return FL_TOOL_GO;
}

static const struct fl_tool_opt opts[] = {
    {"dir", 1, 'd', NULL},
    {"ca-key-dir", 1, OPT_CA_KEY_DIR, NULL},
    {"owner", 1, OPT_OWNER, NULL},
    {"key-type", 1, 'k', "superlink"},
    {"ip", 1, OPT_IP, NULL},
    {"ca-days", 1, OPT_CA_DAYS, NULL},
    {"server-days", 1, OPT_SERVER_DAYS, NULL},
    {"renew-days", 1, OPT_RENEW_DAYS, NULL},
    {"warn-days", 1, OPT_WARN_DAYS, "show|check"},
    {"force", 0, OPT_FORCE, "superlink"},
    {"accept-ca-key", 0, OPT_ACCEPT_CA_KEY, "superlink"},
    {"lock-timeout", 1, OPT_LOCK_TIMEOUT, "superlink"},
    {"onegate-file", 1, OPT_OG_FILE, "supernode"},
    {"onegate-tls", 1, OPT_OG_TLS, "supernode"},
    {"onegate-ca-cert", 1, OPT_OG_CA, "supernode"},
    {"file", 1, OPT_FILE, "show|check"},
    {"format", 1, 'f', NULL},
};

static const struct fl_tool_verb verbs[] = {
    {"superlink", 0, 0, NULL, superlink},
    {"supernode", 0, 0, NULL, supernode},
    {"show", 0, 0, NULL, show},
    {"check", 0, 0, NULL, check},
};

int main(int argc, char **argv)
{
	static struct opts o = {
	    .dir = FL_CERT_DIR,
	    .ca_key_dir = FL_CERT_CA_KEY_DIR,
	    .uid = FL_CERT_UID,
	    .gid = FL_CERT_GID,
	    .key_type = FL_KEY_P256,
	    .ca_days = FL_CERT_CA_DAYS,
	    .server_days = FL_CERT_SERVER_DAYS,
	    .renew_days = FL_CERT_RENEW_DAYS,
	    .warn_days = FL_CERT_RENEW_DAYS,
	    .lock_timeout = FL_CERT_LOCK_TIMEOUT,
	    .format = -1,
	    .ips = FL_ADDRS_INIT,
	};
	static struct fl_tool t = {
	    .name = "fl-certgen",
	    .usage = usage_text,
	    .help = help_text,
	    .opts = opts,
	    .nopts = sizeof opts / sizeof opts[0],
	    .verbs = verbs,
	    .nverbs = sizeof verbs / sizeof verbs[0],
	    .flags = FL_TOOL_RENDERED,
	    .option = option,
	    .data = &o,
	};
	int rc = fl_tool_parse(&t, argc, argv);
	if (rc == FL_TOOL_GO)
		rc = check_options(&t, &o);
	if (rc == FL_TOOL_GO)
		rc = fl_tool_dispatch(&t);
	fl_tool_free(&t);
	fl_net_addrs_free(&o.ips);
	return rc;
}
