/* fl-certgen: TLS for Flower: the SuperLink's CA and server certificate, the SuperNode's
 * trusted CA, and inspection for operators and renewal timers. */
#include "fl_buf.h"
#include "fl_cert.h"
#include "fl_check.h"
#include "fl_ctx.h"
#include "fl_fs.h"
#include "fl_log.h"
#include "fl_net.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

extern char **environ;

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
    "                           /run/flkit/ROLE.conf if present, else " FL_CTX_DEFAULT_PATH ")\n"
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
	const char *context;
	int env_only, no_env, force, accept_ca_key;
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

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "fl-certgen: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	return FL_EXIT_USAGE;
}

static int usage_days(const char *fmt, long a, long b)
{
	fprintf(stderr, "fl-certgen: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\n%s", usage_text);
	return FL_EXIT_USAGE;
}

static void emit(struct fl_buf *b)
{
	fwrite(fl_buf_str(b), 1, b->len, stdout);
	fflush(stdout);
	fl_buf_free(b);
}

static int load(const struct opts *o, const char *role, struct fl_ctx *c)
{
	struct fl_ctx_opts co = {NULL, NULL, o->no_env ? NULL : environ};
	char rendered[64];
	struct stat st;
	if (!o->env_only) {
		co.path = o->context ? o->context : getenv("FLKIT_CONTEXT");
		snprintf(rendered, sizeof rendered, "/run/flkit/%s.conf", role);
		if ((!co.path || !*co.path) && stat(rendered, &st) == 0)
			co.path = rendered;
		if (!co.path || !*co.path)
			co.path = FL_CTX_DEFAULT_PATH;
	}
	struct fl_err e = {0};
	if (fl_ctx_load(c, &co, &e) < 0) {
		fl_error("%s", e.msg);
		if (!o->context)
			fl_error("no usable context file; pass --context FILE, or --env-only to use the "
			         "environment "
			         "alone");
		fl_ctx_free(c);
		return -1;
	}
	/* FL_LOG_FORMAT is usually set in the context, not in the hook's environment. */
	if (strcmp(fl_ctx_get(c, "FL_LOG_FORMAT"), "json") == 0)
		fl_log_set_json(1);
	/* A context file that carries the operator's private key is a key file too. */
	char why[4200];
	if (co.path && fl_ctx_is_set(c, "FL_SSL_KEYFILE") && lstat(co.path, &st) == 0 &&
	    S_ISREG(st.st_mode) && fl_cert_exposed(co.path, FL_OWNER_KEEP, 077, why, sizeof why))
		fl_warn("%s, and it holds FL_SSL_KEYFILE: the server key may be known to someone else; "
		        "make the file 0600 and owned by root (fl-context render writes it so), and "
		        "replace the key if others could have read it",
		        why);
	return 0;
}

/* --ip, else $FLKIT_NET_ADDRS, else none (the library detects them). */
static int addresses(const struct opts *o, struct fl_addrs *a)
{
	struct fl_err e = {0};
	for (size_t i = 0; i < o->ips.n; i++)
		fl_net_addrs_add(a, o->ips.v[i], NULL);
	const char *env = getenv("FLKIT_NET_ADDRS");
	if (!a->n && env && *env && fl_net_addrs_parse(a, env, "FLKIT_NET_ADDRS", &e) < 0) {
		fl_error("%s", e.msg);
		return -1;
	}
	return 0;
}

static int superlink(const struct opts *o)
{
	if (o->format == 0)
		return usage_error("superlink: --format is env or json%s", "");
	struct fl_addrs addrs = FL_ADDRS_INIT;
	if (addresses(o, &addrs) < 0)
		return FL_EXIT_USAGE;
	struct fl_ctx c;
	if (load(o, "superlink", &c) < 0) {
		fl_net_addrs_free(&addrs);
		return FL_EXIT_FAIL;
	}
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
	struct fl_cert_published p;
	struct fl_diags d = FL_DIAGS_INIT;
	struct fl_err e = {0};
	int r = fl_cert_superlink(&c, &so, &p, &d, &e);
	fl_diags_log(&d);
	int rc = FL_EXIT_OK;
	if (r < 0) {
		rc = fl_log_err(&e);
	} else {
		struct fl_buf b = FL_BUF_INIT;
		fl_cert_published_render(&p, o->format < 0 ? 1 : o->format, &b);
		emit(&b);
	}
	fl_cert_published_free(&p);
	fl_ctx_free(&c);
	fl_net_addrs_free(&addrs);
	return rc;
}

static int read_onegate(const struct opts *o, struct fl_onegate_tls *og)
{
	struct fl_err e = {0};
	if (o->onegate_file) {
		if (fl_cert_onegate_load(o->onegate_file, og, &e) < 0) {
			fl_error("%s", e.msg);
			return -1;
		}
		return 0;
	}
	memset(og, 0, sizeof *og);
	og->present = true;
	og->tls = o->onegate_tls ? fl_xstrdup(o->onegate_tls) : NULL;
	og->ca_cert = o->onegate_ca ? fl_xstrdup(o->onegate_ca) : NULL;
	return 0;
}

static int supernode(const struct opts *o)
{
	if (o->format == 0)
		return usage_error("supernode: --format is env or json%s", "");
	if (o->onegate_file && (o->onegate_tls || o->onegate_ca))
		return usage_error("--onegate-file excludes --onegate-tls and --onegate-ca-cert%s", "");
	struct fl_onegate_tls og = {0};
	bool have_og = o->onegate_file || o->onegate_tls || o->onegate_ca;
	if (have_og && read_onegate(o, &og) < 0) {
		fl_cert_onegate_free(&og);
		return FL_EXIT_FAIL;
	}
	struct fl_ctx c;
	if (load(o, "supernode", &c) < 0) {
		fl_cert_onegate_free(&og);
		return FL_EXIT_FAIL;
	}
	struct fl_cert_supernode_opts so = {o->dir, o->uid, o->gid, o->now, have_og ? &og : NULL};
	struct fl_cert_trust t;
	struct fl_diags d = FL_DIAGS_INIT;
	struct fl_err e = {0};
	int r = fl_cert_supernode(&c, &so, &t, &d, &e);
	fl_diags_log(&d);
	int rc = FL_EXIT_OK;
	if (r < 0) {
		rc = fl_log_err(&e);
	} else {
		struct fl_buf b = FL_BUF_INIT;
		fl_cert_trust_render(&t, o->format < 0 ? 1 : o->format, &b);
		emit(&b);
	}
	fl_cert_trust_free(&t);
	fl_ctx_free(&c);
	fl_cert_onegate_free(&og);
	return rc;
}

/* show and check: the same report; check turns it into the exit status. */
static int inspect(const struct opts *o, bool check)
{
	struct fl_addrs addrs = FL_ADDRS_INIT;
	if (addresses(o, &addrs) < 0)
		return FL_EXIT_USAGE;
	struct fl_err e = {0};
	if (!addrs.n && !o->file && fl_net_vm_addrs(&addrs, NULL, &e) < 0)
		fl_debug("SAN not checked against the VM addresses: %s", e.msg);
	struct fl_cert_report r;
	struct fl_diags d = FL_DIAGS_INIT;
	int res = fl_cert_inspect(o->dir, o->file, &addrs, o->now, o->warn_days, &r, &d, &e);
	fl_diags_log(&d);
	fl_net_addrs_free(&addrs);
	if (res < 0) {
		fl_cert_report_free(&r);
		return fl_log_err(&e);
	}
	int rc = FL_EXIT_OK;
	if (check) {
		rc = r.status == FL_CERT_INVALID ? FL_EXIT_FAIL
		     : r.status == FL_CERT_SOON  ? FL_EXIT_TIMEOUT
		                                 : FL_EXIT_OK;
		if (rc == FL_EXIT_OK)
			fl_info("certificates in %s are valid for more than %ld days",
			        o->file ? o->file : o->dir, o->warn_days);
		if (o->format > 0) {
			struct fl_buf b = FL_BUF_INIT;
			fl_cert_report_render(&r, o->format, &b);
			emit(&b);
		}
	} else {
		struct fl_buf b = FL_BUF_INIT;
		fl_cert_report_render(&r, o->format < 0 ? 0 : o->format, &b);
		emit(&b);
	}
	fl_cert_report_free(&r);
	return rc;
}

/* A count of days within [min, FL_CERT_MAX_DAYS]. */
static int parse_days(const char *s, const char *flag, long min, long *out)
{
	long v;
	if (!fl_check_nonneg(s, &v) || v < min || v > FL_CERT_MAX_DAYS) {
		fprintf(stderr, "fl-certgen: %s needs a whole number of days from %ld to %d, not '%s'\n%s",
		        flag, min, FL_CERT_MAX_DAYS, s, usage_text);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_owner(const char *s, struct opts *o)
{
	unsigned long u, g;
	char *end;
	errno = 0;
	u = strtoul(s, &end, 10);
	if (end == s || *end != ':' || errno)
		return -1;
	const char *gs = end + 1;
	g = strtoul(gs, &end, 10);
	if (end == gs || *end || errno || u >= 0xffffffffUL || g >= 0xffffffffUL || s[0] == '-' ||
	    gs[0] == '-')
		return -1;
	o->uid = (uid_t)u;
	o->gid = (gid_t)g;
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_NO_ENV = 256,
		OPT_CA_KEY_DIR,
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
	static const struct option longopts[] = {
	    {"context", required_argument, NULL, 'c'},
	    {"env-only", no_argument, NULL, 'E'},
	    {"no-env", no_argument, NULL, OPT_NO_ENV},
	    {"dir", required_argument, NULL, 'd'},
	    {"ca-key-dir", required_argument, NULL, OPT_CA_KEY_DIR},
	    {"owner", required_argument, NULL, OPT_OWNER},
	    {"key-type", required_argument, NULL, 'k'},
	    {"ip", required_argument, NULL, OPT_IP},
	    {"ca-days", required_argument, NULL, OPT_CA_DAYS},
	    {"server-days", required_argument, NULL, OPT_SERVER_DAYS},
	    {"renew-days", required_argument, NULL, OPT_RENEW_DAYS},
	    {"warn-days", required_argument, NULL, OPT_WARN_DAYS},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"accept-ca-key", no_argument, NULL, OPT_ACCEPT_CA_KEY},
	    {"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
	    {"onegate-file", required_argument, NULL, OPT_OG_FILE},
	    {"onegate-tls", required_argument, NULL, OPT_OG_TLS},
	    {"onegate-ca-cert", required_argument, NULL, OPT_OG_CA},
	    {"file", required_argument, NULL, OPT_FILE},
	    {"format", required_argument, NULL, 'f'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {
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
	fl_log_init("fl-certgen");
	int ch, rc = -1;
	struct fl_err e = {0};
	while (rc < 0 && (ch = getopt_long(argc, argv, "c:Ed:k:f:qvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.context = optarg; break;
		case 'E': o.env_only = 1; break;
		case OPT_NO_ENV: o.no_env = 1; break;
		case 'd': o.dir = optarg; break;
		case OPT_CA_KEY_DIR: o.ca_key_dir = optarg; break;
		case OPT_OWNER:
			if (parse_owner(optarg, &o) < 0)
				rc = usage_error("--owner needs numeric UID:GID, not '%s'", optarg);
			break;
		case 'k':
			if (fl_cert_key_type_parse(optarg, &o.key_type) < 0)
				rc = usage_error(
				    "unknown key type '%s': use p256, rsa:2048, rsa:3072 or rsa:4096",
				    optarg);
			break;
		case OPT_IP:
			if (fl_net_addrs_add(&o.ips, optarg, &e) < 0)
				rc = usage_error("--ip: %s", e.msg);
			break;
		case OPT_CA_DAYS:
			if (parse_days(optarg, "--ca-days", 2, &o.ca_days) < 0)
				rc = FL_EXIT_USAGE;
			break;
		case OPT_SERVER_DAYS:
			if (parse_days(optarg, "--server-days", 1, &o.server_days) < 0)
				rc = FL_EXIT_USAGE;
			break;
		case OPT_RENEW_DAYS:
			if (parse_days(optarg, "--renew-days", 0, &o.renew_days) < 0)
				rc = FL_EXIT_USAGE;
			break;
		case OPT_WARN_DAYS:
			if (parse_days(optarg, "--warn-days", 0, &o.warn_days) < 0)
				rc = FL_EXIT_USAGE;
			break;
		case OPT_FORCE: o.force = 1; break;
		case OPT_ACCEPT_CA_KEY: o.accept_ca_key = 1; break;
		case OPT_LOCK_TIMEOUT:
			if (!fl_check_nonneg(optarg, &o.lock_timeout) || o.lock_timeout > 86400)
				rc = usage_error(
				    "--lock-timeout needs whole seconds from 0 to 86400, not '%s'", optarg);
			break;
		case OPT_OG_FILE: o.onegate_file = optarg; break;
		case OPT_OG_TLS: o.onegate_tls = optarg; break;
		case OPT_OG_CA: o.onegate_ca = optarg; break;
		case OPT_FILE: o.file = optarg; break;
		case 'f':
			if (strcmp(optarg, "text") == 0)
				o.format = 0;
			else if (strcmp(optarg, "env") == 0)
				o.format = 1;
			else if (strcmp(optarg, "json") == 0)
				o.format = 2;
			else
				rc = usage_error("unknown format '%s': use text, env or json", optarg);
			break;
		case 'q': fl_log_set_threshold(FL_WARN); break;
		case 'v': fl_log_set_threshold(FL_DEBUG); break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			rc = FL_EXIT_OK;
			break;
		case 'V':
			puts("fl-certgen " FLKIT_VERSION);
			rc = FL_EXIT_OK;
			break;
		default: fputs(usage_text, stderr); rc = FL_EXIT_USAGE;
		}
	}
	o.now = time(NULL);
#ifdef FLKIT_TEST_CLOCK
	/* Test builds only (build/test-bin): FLKIT_NOW (seconds since the epoch) moves the clock
	 * for tests of expiry and renewal. The installed binary has no clock override. */
	const char *now = getenv("FLKIT_NOW");
	long long t;
	char *end;
	if (rc < 0 && now && *now) {
		errno = 0;
		t = strtoll(now, &end, 10);
		if (*end || errno || t < 0)
			rc = usage_error("FLKIT_NOW must be seconds since the epoch, not '%s'", now);
		else
			o.now = (time_t)t;
	}
#endif
	/* --renew-days at or above a lifetime would renew on every run (a new server certificate,
	 * or with the CA's, a new CA breaking every SuperNode). */
	if (rc < 0 && o.renew_days >= o.server_days)
		rc = usage_days("--renew-days %ld must be less than --server-days (%ld), or every run "
		                "reissues the server certificate; lower --renew-days",
		                o.renew_days, o.server_days);
	if (rc < 0 && o.renew_days >= o.ca_days)
		rc = usage_days("--renew-days %ld must be less than --ca-days (%ld), or the CA is always "
		                "within its renewal window; lower --renew-days",
		                o.renew_days, o.ca_days);
	if (rc < 0 && o.env_only && (o.context || o.no_env))
		rc = usage_error("--env-only excludes --context and --no-env%s", "");
	if (rc < 0 && optind >= argc) {
		fputs(usage_text, stderr);
		rc = FL_EXIT_USAGE;
	}
	if (rc < 0 && argc - optind > 1)
		rc = usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (rc < 0) {
		const char *verb = argv[optind];
		if (strcmp(verb, "superlink") == 0)
			rc = superlink(&o);
		else if (strcmp(verb, "supernode") == 0)
			rc = supernode(&o);
		else if (strcmp(verb, "show") == 0)
			rc = inspect(&o, false);
		else if (strcmp(verb, "check") == 0)
			rc = inspect(&o, true);
		else
			rc = usage_error("unknown verb '%s'", verb);
	}
	fl_net_addrs_free(&o.ips);
	return rc;
}
