/* fl-onegate: the OneGate client of the Flower appliances: show and update VMs, show and scale
 * the service, publish attributes, discover the SuperLink, compute a SuperNode's partition. */
#include "fl_buf.h"
#include "fl_ctx.h"
#include "fl_log.h"
#include "fl_onegate.h"
#include "fl_onegate_verb.h"
#include "fl_output.h"
#include "fl_tool.h"

#include <limits.h>

static const char usage_text[] =
    "usage: fl-onegate [options] vm show [ID] [--json]\n"
    "       fl-onegate [options] vm update [ID] --data K=V [--data K=V]... | --erase KEY\n"
    "       fl-onegate [options] service show [--extended] [--json]\n"
    "       fl-onegate [options] service scale --role ROLE --cardinality N\n"
    "       fl-onegate [options] publish K=V... [--best-effort]\n"
    "       fl-onegate [options] get ATTR\n"
    "       fl-onegate [options] discover [--schedule fast|fixed|exponential] [-o FILE] [--json]\n"
    "       fl-onegate [options] partition [--role-name ROLE] [--json]\n"
    "       fl-onegate [options] precheck\n";

static const char help_text[] =
    "\n"
    "Identity: TOKENTXT, VMID and ONEGATE_ENDPOINT from the environment, then the context file\n"
    "(flkit(7) CONFIGURATION: -c, $FLKIT_CONTEXT, else " FL_CTX_DEFAULT_PATH " when present),\n"
    "then " FL_CTX_DEFAULT_TOKEN ".\n"
    "The token is never printed, logged or passed to another program.\n"
    "\n";

static const char help_end[] =
    "\n"
    "exit status: 0 ok, 1 definite error (OneGate refused: its text is logged), 2 usage,\n"
    "3 OneGate absent or unreachable, 4 timed out (discover).\n";

/* The context and identity: the file by the one rule (else its header lines) and the
 * environment, then the token file. The verb needs OneGate unless the variable unless is set
 * (FLV_COUNT: always). */
static int load(const struct fl_tool *t, struct fl_ctx *c, enum fl_var_id unless)
{
	const struct fl_onegate_cli *o = t->data;
	char buf[4200];
	bool named;
	const char *path = fl_tool_config_path(t, 0, buf, sizeof buf, &named);
	struct fl_err e = {0}, bad = {0};
	if (fl_onegate_ctx_load(c, path, named, o->token_file, fl_tool_env(t), &bad, &e) < 0)
		return fl_log_err(&e);
	fl_tool_log_format(c);
	bool needs_gate = unless == FLV_COUNT || !*fl_ctx_value(c, unless);
	if (fl_onegate_verb_identity(c, o->endpoint, o->vmid, &bad, needs_gate, &e) < 0) {
		fl_ctx_free(c);
		return fl_log_err(&e);
	}
	return 0;
}

/* Load the context, run the verb (on OneGate unless the context spares it), print what it
 * found. */
static int with_gate(struct fl_tool *t, enum fl_onegate_verb v, char **args, int n)
{
	struct fl_ctx c;
	int rc = load(t, &c, fl_onegate_verb_unless(v));
	if (!rc) {
		struct fl_buf out = FL_BUF_INIT;
		rc = fl_onegate_verb_run(t->data, &c, v, args, (size_t)n, &out);
		fl_output_stdout(&out);
		fl_ctx_free(&c);
	}
	return rc;
}

/* --- verbs: their usage checks, then OneGate --- */

static int vm(struct fl_tool *t, enum fl_onegate_verb v, char **args, int n)
{
	const struct fl_onegate_cli *o = t->data;
	struct fl_err e = {0};
	if (fl_onegate_verb_vm_check(o, n ? args[0] : NULL, v == FL_OG_VM_UPDATE, &e) < 0)
		return fl_tool_usage_error(t, "%s", e.msg);
	if (v == FL_OG_VM_UPDATE && o->type == 1)
		fl_onegate_warn_data(fl_buf_str(&o->data));
	return with_gate(t, v, args, n);
}

static int vm_show(struct fl_tool *t, char **args, int n)
{
	return vm(t, FL_OG_VM_SHOW, args, n);
}

static int vm_update(struct fl_tool *t, char **args, int n)
{
	return vm(t, FL_OG_VM_UPDATE, args, n);
}

static int service_show(struct fl_tool *t, char **args, int n)
{
	return with_gate(t, FL_OG_SERVICE_SHOW, args, n);
}

static int service_scale(struct fl_tool *t, char **args, int n)
{
	const struct fl_onegate_cli *o = t->data;
	if (!o->role || !o->cardinality)
		return fl_tool_usage_error(t, "service scale needs --role ROLE and --cardinality N");
	return with_gate(t, FL_OG_SERVICE_SCALE, args, n);
}

static int publish(struct fl_tool *t, char **pairs, int n)
{
	struct fl_onegate_cli *o = t->data;
	struct fl_err e = {0};
	if (fl_onegate_publish_data(pairs, (size_t)n, &o->pub, &e) < 0)
		return fl_log_err(&e); /* FL_EXIT_USAGE: nothing was sent */
	return with_gate(t, FL_OG_PUBLISH, pairs, n);
}

static int get(struct fl_tool *t, char **args, int n)
{
	struct fl_err e = {0};
	if (fl_onegate_verb_attr_check(args[0], &e) < 0)
		return fl_tool_usage_error(t, "%s", e.msg);
	return with_gate(t, FL_OG_GET, args, n);
}

static int precheck(struct fl_tool *t, char **args, int n)
{
	return with_gate(t, FL_OG_PRECHECK, args, n);
}

static int discover(struct fl_tool *t, char **args, int n)
{
	return with_gate(t, FL_OG_DISCOVER, args, n);
}

static int partition(struct fl_tool *t, char **args, int n)
{
	return with_gate(t, FL_OG_PARTITION, args, n);
}

/* --- options --- */

enum {
	OPT_ENDPOINT = FL_TOOL_OWN,
	OPT_VMID,
	OPT_TOKEN_FILE,
	OPT_CONNECT,
	OPT_TIMEOUT,
	OPT_RETRIES,
	OPT_DEADLINE,
	OPT_KEEP_PATH,
	OPT_TLS_VERIFY,
	OPT_RAW,
	OPT_EXTENDED,
	OPT_BEST_EFFORT,
	OPT_SCHEDULE,
	OPT_INTERVAL,
	OPT_MAX_INTERVAL,
	OPT_ATTEMPTS,
	OPT_SERVICE_RATE,
	OPT_ROLE_NAME,
	OPT_NO_PRECHECK,
	OPT_CARDINALITY,
};

static int option(struct fl_tool *t, int ch, const char *arg)
{
	struct fl_onegate_cli *o = t->data;
	long n = 0;
	int rc, k = 0;
	switch (ch) {
	case 'C': t->context = arg; break; /* the older spelling of -c */
	case OPT_ENDPOINT: o->endpoint = arg; break;
	case OPT_VMID: o->vmid = arg; break;
	case OPT_TOKEN_FILE: o->token_file = arg; break;
	case OPT_KEEP_PATH: o->keep_path = true; break;
	case OPT_TLS_VERIFY: o->tls_verify = true; break;
	case 'd': fl_onegate_verb_data(o, false, arg); break;
	case 'e': fl_onegate_verb_data(o, true, arg); break;
	case OPT_RAW: o->v.raw = true; break;
	case 'r': o->role = arg; break;
	case OPT_CARDINALITY: o->cardinality = arg; break;
	case 'j': o->v.json = true; break;
	case OPT_EXTENDED: o->v.extended = true; break;
	case OPT_BEST_EFFORT: o->v.best_effort = true; break;
	case OPT_ROLE_NAME: o->v.role_name = o->d.role = arg; break;
	case OPT_NO_PRECHECK: o->d.no_precheck = true; break;
	case 'o': o->output = arg; break;
	case OPT_CONNECT: return fl_tool_seconds(t, "--connect-timeout", arg, &o->connect_ms);
	case OPT_TIMEOUT: return fl_tool_seconds(t, "--timeout", arg, &o->timeout_ms);
	case OPT_DEADLINE:
		o->deadline_set = true;
		return fl_tool_seconds(t, "--deadline", arg, &o->deadline_ms);
	case OPT_INTERVAL: return fl_tool_seconds(t, "--interval", arg, &o->d.interval_ms);
	case OPT_MAX_INTERVAL: return fl_tool_seconds(t, "--max-interval", arg, &o->d.max_interval_ms);
	case OPT_RETRIES: return fl_tool_number(t, "--retries", arg, 0, UINT_MAX - 1, NULL, &o->retries);
	case OPT_ATTEMPTS:
		rc = fl_tool_number(t, "--attempts", arg, 0, UINT_MAX, NULL, &n);
		o->d.attempts = (unsigned)n;
		return rc;
	case OPT_SERVICE_RATE:
		rc = fl_tool_number(t, "--service-rate", arg, 0, UINT_MAX, NULL, &n);
		o->d.service_rate = (unsigned)n;
		return rc;
	case OPT_SCHEDULE:
		/* fast, fixed, exponential: the order of enum fl_discover_schedule */
		return fl_tool_keyword(t, "schedule", arg,
		                       (const char *const[]){"fast", "fixed", "exponential", NULL},
		                       &o->schedule);
	case 'f':
		rc = fl_tool_keyword(t, "format", arg, (const char *const[]){"text", "json", NULL}, &k);
		o->v.json = k == 1;
		return rc;
	}
	return 0;
}

static const struct fl_tool_opt opts[] = {
    {"context", 1, 'c', NULL, "FILE",
     "context file (one_env, context.sh or a rendered fl-context file;\n-C is an older spelling)"},
    {NULL, 1, 'C', NULL, NULL, NULL},
    {"endpoint", 1, OPT_ENDPOINT, NULL, "URL", "OneGate endpoint (overrides ONEGATE_ENDPOINT)"},
    {"vmid", 1, OPT_VMID, NULL, "N", "this VM's ID (overrides VMID)"},
    {"token-file", 1, OPT_TOKEN_FILE, NULL, "FILE", "read the token from FILE (overrides TOKENTXT)"},
    {"connect-timeout", 1, OPT_CONNECT, NULL, "S", "connect timeout of one request (default 5)"},
    {"timeout", 1, OPT_TIMEOUT, NULL, "S", "total time of one request (default 10)"},
    {"retries", 1, OPT_RETRIES, NULL, "N", "retries of a request after transport errors or 5xx (default 3)"},
    {"deadline", 1, OPT_DEADLINE, NULL, "S", "overall budget (default 30; discover: the schedule's)"},
    {"keep-path", 0, OPT_KEEP_PATH, NULL, NULL,
     "keep a path prefix of the endpoint (the Ruby client drops it)"},
    {"tls-verify", 0, OPT_TLS_VERIFY, NULL, NULL,
     "verify an https endpoint's certificate (the Ruby client does not)"},
    {"data", 1, 'd', "vm update", "K=V", "vm update: attributes (repeatable; lines joined by newlines)"},
    {"erase", 1, 'e', "vm update", "KEY", "vm update: remove one attribute"},
    {"raw", 0, OPT_RAW, "vm update|publish", NULL, "vm update, publish: raw body (OneGate before 5.10)"},
    {"role", 1, 'r', "service scale", "ROLE", "service scale: the role"},
    {"cardinality", 1, OPT_CARDINALITY, "service scale", "N", "service scale: the new number of VMs"},
    {"json", 0, 'j', "vm show|service show|discover|partition", NULL,
     "print JSON (the same as --format json)"},
    {"format", 1, 'f', "vm show|service show|discover|partition", "FMT", "text (default) or json"},
    {"extended", 0, OPT_EXTENDED, "service show|discover", NULL, "service show: full VM information"},
    {"best-effort", 0, OPT_BEST_EFFORT, "publish", NULL, "publish: a failure is a warning and exit 0"},
    {"schedule", 1, OPT_SCHEDULE, "discover", "S",
     "discover: fast (default), fixed (30 x 10 s) or exponential (edge);\n"
     "default from FL_EDGE_BACKOFF when it is set"},
    {"interval", 1, OPT_INTERVAL, "discover", "S", "discover: first delay"},
    {"max-interval", 1, OPT_MAX_INTERVAL, "discover", "S",
     "discover: cap of one delay (exponential: FL_EDGE_MAX_BACKOFF)"},
    {"attempts", 1, OPT_ATTEMPTS, "discover", "N", "discover: attempts (fixed: 30)"},
    {"service-rate", 1, OPT_SERVICE_RATE, "discover", "N",
     "discover, fast: requests/s the whole service may send (500)"},
    {"role-name", 1, OPT_ROLE_NAME, "discover|partition", "ROLE",
     "discover: SuperLink role (superlink); partition: supernode"},
    {"no-precheck", 0, OPT_NO_PRECHECK, "discover", NULL, "discover: skip the GET /vm connectivity check"},
    {"output", 1, 'o', "discover", "FILE", "discover: write the KEY=VALUE lines to FILE atomically"},
};

static const struct fl_tool_verb verbs[] = {
    {"vm show", 0, 1, NULL, vm_show},           {"vm update", 0, 1, NULL, vm_update},
    {"service show", 0, 0, NULL, service_show}, {"service scale", 0, 0, NULL, service_scale},
    {"publish", 0, -1, NULL, publish},          {"get", 1, 1, "get takes exactly one ATTR", get},
    {"discover", 0, 0, NULL, discover},         {"partition", 0, 0, NULL, partition},
    {"precheck", 0, 0, NULL, precheck},
};

static int check_options(struct fl_tool *t)
{
	struct fl_err e = {0};
	if (fl_onegate_verb_cli_check(t->data, &e) < 0)
		return e.code == FL_EXIT_USAGE ? fl_tool_usage_error(t, "%s", e.msg) : fl_log_err(&e);
	return FL_TOOL_GO;
}

int main(int argc, char **argv)
{
	static struct fl_onegate_cli o = {
	    .schedule = -1, .retries = -1, .data = FL_BUF_INIT, .pub = FL_BUF_INIT};
	static struct fl_tool t = {
	    .name = "fl-onegate",
	    .usage = usage_text,
	    .help = help_text,
	    .help_end = help_end,
	    FL_TOOL_TABLES(opts, verbs),
	    .flags = FL_TOOL_ENV_FALLBACK,
	    .option = option,
	    .check = check_options,
	    .data = &o,
	};
	int rc = fl_tool_main(&t, argc, argv);
	fl_buf_free(&o.data);
	fl_buf_free(&o.pub);
	return rc;
}
