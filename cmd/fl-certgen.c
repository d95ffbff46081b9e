/* fl-certgen: TLS for Flower: the SuperLink's CA and server certificate, the SuperNode's
 * trusted CA, and inspection for operators and renewal timers. */
#include "fl_buf.h"
#include "fl_cert.h"
#include "fl_cert_verb.h"
#include "fl_ctx.h"
#include "fl_log.h"
#include "fl_net.h"
#include "fl_output.h"
#include "fl_tool.h"

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
    "\n";

static const char help_end[] =
    "\n"
    "exit status: 0 ok, 1 failure (or check: invalid), 2 usage error, 4 check: expires soon,\n"
    "             or superlink: the lock stayed held for --lock-timeout.\n";

struct opts {
	struct fl_cert_superlink_opts sl; /* its layout and clock serve every verb */
	const char *file, *onegate_file, *onegate_tls, *onegate_ca;
	long warn_days;
	int format; /* -1 verb default, 0 text, 1 env, 2 json */
	struct fl_addrs ips;
};

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
	struct opts *o = t->data;
	struct fl_addrs addrs = FL_ADDRS_INIT;
	struct fl_ctx c;
	if (text_refused(t, "superlink") || addresses(o, &addrs) < 0)
		return FL_EXIT_USAGE;
	int rc = fl_tool_load(t, FL_ROLE_SUPERLINK, &c);
	if (!rc) {
		struct fl_buf b = FL_BUF_INIT;
		o->sl.addrs = &addrs;
		fl_cert_verb_warn_exposed(&c);
		rc = fl_cert_verb_superlink(&c, &o->sl, o->format < 0 ? 1 : o->format, &b);
		fl_output_stdout(&b);
		fl_ctx_free(&c);
	}
	fl_net_addrs_free(&addrs);
	return rc;
}

static int supernode(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	if (text_refused(t, "supernode"))
		return FL_EXIT_USAGE;
	if (o->onegate_file && (o->onegate_tls || o->onegate_ca))
		return fl_tool_usage_error(t, "--onegate-file excludes --onegate-tls and --onegate-ca-cert");
	struct fl_onegate_tls og = {0};
	bool have_og = o->onegate_file || o->onegate_tls || o->onegate_ca;
	struct fl_ctx c;
	struct fl_err e = {0};
	int rc = FL_EXIT_OK;
	if (have_og && fl_cert_verb_onegate(o->onegate_file, o->onegate_tls, o->onegate_ca, &og, &e) < 0)
		rc = fl_log_err(&e);
	if (!rc && !(rc = fl_tool_load(t, FL_ROLE_SUPERNODE, &c))) {
		const struct fl_cert_layout *l = &o->sl.layout;
		struct fl_cert_supernode_opts so = {l->dir, l->uid, l->gid, o->sl.now, have_og ? &og : NULL};
		struct fl_buf b = FL_BUF_INIT;
		fl_cert_verb_warn_exposed(&c);
		rc = fl_cert_verb_supernode(&c, &so, o->format < 0 ? 1 : o->format, &b);
		fl_output_stdout(&b);
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
	struct fl_cert_verb_inspect in = {o->sl.layout.dir, o->file,   &addrs, o->sl.now,
	                                  o->warn_days,     o->format, check};
	struct fl_buf b = FL_BUF_INIT;
	int rc = fl_cert_verb_inspect(&in, &b);
	fl_output_stdout(&b);
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

static int option(struct fl_tool *t, int ch, const char *arg)
{
	struct opts *o = t->data;
	struct fl_err e = {0};
	switch (ch) {
	case 'd': o->sl.layout.dir = arg; break;
	case OPT_CA_KEY_DIR: o->sl.layout.ca_key_dir = arg; break;
	case OPT_FORCE: o->sl.force = true; break;
	case OPT_ACCEPT_CA_KEY: o->sl.accept_ca_key = true; break;
	case OPT_OG_FILE: o->onegate_file = arg; break;
	case OPT_OG_TLS: o->onegate_tls = arg; break;
	case OPT_OG_CA: o->onegate_ca = arg; break;
	case OPT_FILE: o->file = arg; break;
	case OPT_OWNER:
		if (fl_tool_owner(arg, &o->sl.layout.uid, &o->sl.layout.gid) == 0)
			return 0;
		return fl_tool_usage_error(t, "--owner needs numeric UID:GID, not '%s'", arg);
	case 'k':
		if (fl_cert_key_type_parse(arg, &o->sl.key_type) == 0)
			return 0;
		return fl_tool_usage_error(
		    t, "unknown key type '%s': use p256, rsa:2048, rsa:3072 or rsa:4096", arg);
	case OPT_IP:
		if (fl_net_addrs_add(&o->ips, arg, &e) == 0)
			return 0;
		return fl_tool_usage_error(t, "--ip: %s", e.msg);
	case OPT_CA_DAYS:
		return fl_tool_number(t, "--ca-days", arg, 2, FL_CERT_MAX_DAYS, "days", &o->sl.ca_days);
	case OPT_SERVER_DAYS:
		return fl_tool_number(t, "--server-days", arg, 1, FL_CERT_MAX_DAYS, "days",
		                      &o->sl.server_days);
	case OPT_RENEW_DAYS:
		return fl_tool_number(t, "--renew-days", arg, 0, FL_CERT_MAX_DAYS, "days", &o->sl.renew_days);
	case OPT_WARN_DAYS:
		return fl_tool_number(t, "--warn-days", arg, 0, FL_CERT_MAX_DAYS, "days", &o->warn_days);
	case OPT_LOCK_TIMEOUT:
		return fl_tool_number(t, "--lock-timeout", arg, 0, 86400, "seconds", &o->sl.lock_timeout);
	case 'f':
		return fl_tool_keyword(t, "format", arg, (const char *const[]){"text", "env", "json", NULL},
		                       &o->format);
	}
	return 0;
}

#ifdef FLKIT_TEST_CLOCK
#define TEST_CLOCK true /* build/test-bin: FLKIT_NOW moves the clock; the installed binary has none */
#else
#define TEST_CLOCK false
#endif

/* What the options say together; FL_TOOL_GO when they agree. */
static int check_options(struct fl_tool *t)
{
	struct opts *o = t->data;
	struct fl_err e = {0};
	if (fl_tool_now(t, TEST_CLOCK, &o->sl.now))
		return FL_EXIT_USAGE;
	if (fl_cert_verb_days_check(&o->sl, &e) < 0)
		return fl_tool_usage_error(t, "%s", e.msg);
	return FL_TOOL_GO;
}

static const struct fl_tool_opt opts[] = {
    {"context", 1, 'c', NULL, "FILE",
     "context or rendered file (default $FLKIT_CONTEXT, else\n"
     "/run/flkit/ROLE.conf if present, else " FL_CTX_DEFAULT_PATH ";\nflkit(7) CONFIGURATION)"},
    {"dir", 1, 'd', NULL, "DIR", "certificate directory (default " FL_CERT_DIR ")"},
    {"ca-key-dir", 1, OPT_CA_KEY_DIR, NULL, "DIR",
     "root-only directory of ca.key, outside --dir (default " FL_CERT_CA_KEY_DIR ")"},
    {"owner", 1, OPT_OWNER, NULL, "UID:GID", "owner of the container-visible files (default 49999:49999)"},
    {"key-type", 1, 'k', "superlink", "T", "p256 (default), rsa:2048, rsa:3072 or rsa:4096"},
    {"ip", 1, OPT_IP, NULL, "ADDR",
     "a VM address for the SAN (repeatable; default: every address of\n"
     "the default-route interface, or $FLKIT_NET_ADDRS)"},
    {"ca-days", 1, OPT_CA_DAYS, NULL, "N", "CA lifetime (default 3650)"},
    {"server-days", 1, OPT_SERVER_DAYS, NULL, "N", "server certificate lifetime (default 365)"},
    {"renew-days", 1, OPT_RENEW_DAYS, NULL, "N",
     "re-issue when the server certificate expires within N days (30;\nless than --server-days)"},
    {"force", 0, OPT_FORCE, "superlink", NULL, "create a new CA and server certificate"},
    {"accept-ca-key", 0, OPT_ACCEPT_CA_KEY, "superlink", NULL,
     "keep a CA key that another user owned or could read (warned)"},
    {"lock-timeout", 1, OPT_LOCK_TIMEOUT, "superlink", "N",
     "wait at most N seconds for another run's lock (60; exit 4)"},
    {"onegate-file", 1, OPT_OG_FILE, "supernode", "F",
     "FL_TLS=/FL_CA_CERT= lines from OneGate (- for stdin)"},
    {"onegate-tls", 1, OPT_OG_TLS, "supernode", "V", "OneGate FL_TLS value"},
    {"onegate-ca-cert", 1, OPT_OG_CA, "supernode", "B", "OneGate FL_CA_CERT value"},
    {"file", 1, OPT_FILE, "show|check", "CERT", "show/check: this certificate file only"},
    {"warn-days", 1, OPT_WARN_DAYS, "show|check", "N",
     "check: exit 4 when a certificate expires within N days (30)"},
    {"format", 1, 'f', NULL, "FMT", "output: env (KEY=VALUE) or json; show also text"},
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
	    .sl =
	        {
	            .layout = {FL_CERT_DIR, FL_CERT_CA_KEY_DIR, FL_CERT_UID, FL_CERT_GID},
	            .key_type = FL_KEY_P256,
	            .ca_days = FL_CERT_CA_DAYS,
	            .server_days = FL_CERT_SERVER_DAYS,
	            .renew_days = FL_CERT_RENEW_DAYS,
	            .lock_timeout = FL_CERT_LOCK_TIMEOUT,
	        },
	    .warn_days = FL_CERT_RENEW_DAYS,
	    .format = -1,
	    .ips = FL_ADDRS_INIT,
	};
	static struct fl_tool t = {
	    .name = "fl-certgen",
	    .usage = usage_text,
	    .help = help_text,
	    .help_end = help_end,
	    FL_TOOL_TABLES(opts, verbs),
	    .flags = FL_TOOL_RENDERED,
	    .option = option,
	    .check = check_options,
	    .data = &o,
	};
	int rc = fl_tool_main(&t, argc, argv);
	fl_net_addrs_free(&o.ips);
	return rc;
}
