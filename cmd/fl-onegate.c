/* fl-onegate: the OneGate client of the Flower appliances: show and update VMs, show and scale
 * the service, publish attributes, discover the SuperLink, compute a SuperNode's partition. */
#include "fl_buf.h"
#include "fl_check.h"
#include "fl_ctx.h"
#include "fl_fs.h"
#include "fl_log.h"
#include "fl_onegate.h"
#include "fl_onegate_verb.h"
#include "fl_tool.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_DEADLINE 30000 /* ms, every verb but discover */

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
    "\n"
    "options:\n"
    "  -c, --context FILE      context file (one_env, context.sh or a rendered fl-context file;\n"
    "                          -C is an older spelling)\n"
    "  -E, --env-only          read no context file\n"
    "      --no-env            read no identity or variable from the environment\n"
    "      --endpoint URL      OneGate endpoint (overrides ONEGATE_ENDPOINT)\n"
    "      --vmid N            this VM's ID (overrides VMID)\n"
    "      --token-file FILE   read the token from FILE (overrides TOKENTXT)\n"
    "      --connect-timeout S connect timeout of one request (default 5)\n"
    "      --timeout S         total time of one request (default 10)\n"
    "      --retries N         retries of a request after transport errors or 5xx (default 3)\n"
    "      --deadline S        overall budget (default 30; discover: the schedule's)\n"
    "      --keep-path         keep a path prefix of the endpoint (the Ruby client drops it)\n"
    "      --tls-verify        verify an https endpoint's certificate (the Ruby client does not)\n"
    "  -d, --data K=V          vm update: attributes (repeatable; lines joined by newlines)\n"
    "  -e, --erase KEY         vm update: remove one attribute\n"
    "      --raw               vm update, publish: raw body (OneGate before 5.10)\n"
    "  -r, --role ROLE         service scale: the role\n"
    "      --cardinality N     service scale: the new number of VMs\n"
    "  -j, --json              print JSON (the same as --format json)\n"
    "  -f, --format FMT        text (default) or json\n"
    "      --extended          service show: full VM information\n"
    "      --best-effort       publish: a failure is a warning and exit 0\n"
    "      --schedule S        discover: fast (default), fixed (30 x 10 s) or exponential (edge);\n"
    "                          default from FL_EDGE_BACKOFF when it is set\n"
    "      --interval S        discover: first delay\n"
    "      --max-interval S    discover: cap of one delay (exponential: FL_EDGE_MAX_BACKOFF)\n"
    "      --attempts N        discover: attempts (fixed: 30)\n"
    "      --service-rate N    discover, fast: requests/s the whole service may send (500)\n"
    "      --role-name ROLE    discover: SuperLink role (superlink); partition: supernode\n"
    "      --no-precheck       discover: skip the GET /vm connectivity check\n"
    "  -o, --output FILE       discover: write the KEY=VALUE lines to FILE atomically\n"
    "  -q, --quiet             log warnings and errors only\n"
    "  -v, --verbose           log debug lines too\n"
    "  -h, --help\n"
    "  -V, --version\n"
    "Options may come before or after the verb; an option of another verb is a usage error.\n"
    "\n"
    "exit status: 0 ok, 1 definite error (OneGate refused: its text is logged), 2 usage,\n"
    "3 OneGate absent or unreachable, 4 timed out (discover).\n";

struct opts {
	const char *endpoint, *vmid, *token_file, *output, *role, *cardinality;
	bool keep_path, tls_verify, deadline_set;
	int schedule; /* -1: from the context */
	long timeout_ms, connect_ms, retries;
	uint64_t deadline_ms;
	int type;                /* vm update: 0 none, 1 --data, 2 --erase */
	struct fl_buf data, pub; /* vm update's body; publish's */
	struct fl_onegate_verb_opts v;
	struct fl_discover_opts d;
};

/* The exit status of a library call that returned r with e: 0, or e's code when r < 0. */
static int status(int r, const struct fl_err *e)
{
	return r < 0 ? (e->code ? e->code : FL_EXIT_FAIL) : FL_EXIT_OK;
}

static void gate_opts(const struct opts *o, const struct fl_ctx *c, struct fl_onegate_opts *go)
{
	memset(go, 0, sizeof *go);
	go->endpoint = o->endpoint ? o->endpoint : c->id.endpoint;
	go->vmid = o->vmid ? o->vmid : c->id.vmid;
	go->token = c->id.token;
	go->connect_timeout_ms = o->connect_ms;
	go->timeout_ms = o->timeout_ms;
	go->attempts = o->retries >= 0 ? (unsigned)o->retries + 1 : 0;
	go->deadline_ms = o->deadline_set ? o->deadline_ms : DEFAULT_DEADLINE;
	go->keep_path = o->keep_path;
	go->tls_verify = o->tls_verify;
}

/* The context and identity: the file by the one rule (else its header lines) and the
 * environment, then the token file. The verb needs OneGate unless the variable unless is set
 * (FLV_COUNT: always). */
static int load(const struct fl_tool *t, struct fl_ctx *c, enum fl_var_id unless)
{
	const struct opts *o = t->data;
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

enum verb { VM_SHOW, VM_UPDATE, SERVICE_SHOW, SERVICE_SCALE, PUBLISH, GET, PARTITION, PRECHECK };

/* One verb on an open OneGate; what it prints is in out. */
static int act(struct opts *o, struct fl_onegate *g, enum verb v, char **args, int n, struct fl_buf *out)
{
	struct fl_err e = {0};
	const char *id = n ? args[0] : NULL;
	int r = 0;
	switch (v) {
	case VM_SHOW: r = fl_onegate_verb_vm_show(g, id, &o->v, out, &e); break;
	case VM_UPDATE: r = fl_onegate_update(g, id, fl_buf_str(&o->data), o->type, o->v.raw, &e); break;
	case SERVICE_SHOW: r = fl_onegate_verb_service_show(g, &o->v, out, &e); break;
	case SERVICE_SCALE: r = fl_onegate_scale(g, o->role, o->cardinality, &e); break;
	case PUBLISH:
		return status(fl_onegate_verb_publish(g, fl_buf_str(&o->pub), args, (size_t)n, &o->v, &e),
		              &e);
	case GET: r = fl_onegate_verb_get(g, args[0], out, &e); break;
	case PARTITION:
		if ((r = fl_onegate_verb_partition(g, &o->v, out, &e)) > 0)
			return FL_EXIT_OK; /* in no service */
		break;
	case PRECHECK: return status(fl_discover_precheck(g, false, &e), &e);
	}
	return r < 0 ? fl_log_err(&e) : FL_EXIT_OK;
}

/* Open OneGate with c's identity, run the verb, print what it found. A OneGate that cannot be
 * opened is a warning for publish --best-effort. */
static int run(struct fl_tool *t, const struct fl_ctx *c, enum verb v, char **args, int n)
{
	struct opts *o = t->data;
	struct fl_onegate_opts go;
	struct fl_onegate g;
	struct fl_err e = {0};
	gate_opts(o, c, &go);
	if (fl_onegate_open(&g, &go, &e) < 0) {
		int rc = fl_log_err(&e);
		if (v != PUBLISH || !o->v.best_effort)
			return rc;
		fl_warn("OneGate publication failed; continuing without it.");
		return FL_EXIT_OK;
	}
	struct fl_buf out = FL_BUF_INIT;
	o->v.tty = isatty(STDOUT_FILENO);
	int rc = act(o, &g, v, args, n, &out);
	fwrite(fl_buf_str(&out), 1, out.len, stdout);
	fl_buf_free(&out);
	fl_onegate_close(&g);
	return rc;
}

static int with_gate(struct fl_tool *t, enum verb v, char **args, int n)
{
	struct fl_ctx c;
	int rc = load(t, &c, FLV_COUNT);
	if (!rc) {
		rc = run(t, &c, v, args, n);
		fl_ctx_free(&c);
	}
	return rc;
}

/* --- verbs: their usage checks, then OneGate --- */

static bool bad_id(const struct fl_tool *t, char **args, int n)
{
	const char *id = n ? args[0] : NULL;
	if (id && (!*id || strspn(id, "0123456789") != strlen(id) || strlen(id) > 18)) {
		fl_tool_usage_error(t, "'%s' is not a VM ID", id);
		return true;
	}
	return false;
}

static int vm_show(struct fl_tool *t, char **args, int n)
{
	return bad_id(t, args, n) ? FL_EXIT_USAGE : with_gate(t, VM_SHOW, args, n);
}

static int vm_update(struct fl_tool *t, char **args, int n)
{
	const struct opts *o = t->data;
	const char *data = fl_buf_str(&o->data);
	bool bad_erase = o->type == 2 && (!*data || strpbrk(data, "\n="));
	if (bad_id(t, args, n))
		return FL_EXIT_USAGE;
	if (!o->type)
		fl_tool_usage_error(t, "You have to provide the data as a param (--data, --erase)");
	else if (bad_erase)
		fl_tool_usage_error(t, "--erase takes one attribute name, not '%.64s'", data);
	if (!o->type || bad_erase)
		return FL_EXIT_USAGE;
	if (o->type == 1)
		fl_onegate_warn_data(data);
	return with_gate(t, VM_UPDATE, args, n);
}

static int service_show(struct fl_tool *t, char **args, int n)
{
	return with_gate(t, SERVICE_SHOW, args, n);
}

static int service_scale(struct fl_tool *t, char **args, int n)
{
	const struct opts *o = t->data;
	if (!o->role || !o->cardinality) {
		fl_tool_usage_error(t, "service scale needs --role ROLE and --cardinality N");
		return FL_EXIT_USAGE;
	}
	return with_gate(t, SERVICE_SCALE, args, n);
}

static int publish(struct fl_tool *t, char **pairs, int n)
{
	struct opts *o = t->data;
	struct fl_err e = {0};
	if (fl_onegate_publish_data(pairs, (size_t)n, &o->pub, &e) < 0)
		return fl_log_err(&e); /* FL_EXIT_USAGE: nothing was sent */
	return with_gate(t, PUBLISH, pairs, n);
}

static int get(struct fl_tool *t, char **args, int n)
{
	struct fl_err e = {0};
	if (fl_onegate_verb_attr_check(args[0], &e) < 0) {
		fl_tool_usage_error(t, "%s", e.msg);
		return FL_EXIT_USAGE;
	}
	return with_gate(t, GET, args, n);
}

static int precheck(struct fl_tool *t, char **args, int n)
{
	return with_gate(t, PRECHECK, args, n);
}

static int discover(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	struct opts *o = t->data;
	struct fl_ctx c;
	int rc = load(t, &c, FLV_FL_SUPERLINK_ADDRESS); /* a static address needs no OneGate */
	if (rc)
		return rc;
	struct fl_onegate_opts go;
	struct fl_buf out = FL_BUF_INIT;
	struct fl_err e = {0};
	gate_opts(o, &c, &go);
	o->d.deadline_ms = o->deadline_set ? o->deadline_ms : 0;
	o->d.extended = o->v.extended;
	rc =
	    status(fl_onegate_verb_discover(&c, &go, &o->d, o->schedule, o->v.json, o->output, &out, &e), &e);
	fwrite(fl_buf_str(&out), 1, out.len, stdout);
	fl_buf_free(&out);
	fl_ctx_free(&c);
	return rc;
}

static int partition(struct fl_tool *t, char **args, int n)
{
	struct fl_ctx c;
	int rc = load(t, &c, FLV_FL_NODE_CONFIG);
	if (rc)
		return rc;
	const char *nc = fl_ctx_value(&c, FLV_FL_NODE_CONFIG);
	if (*nc) {
		fl_info("FL_NODE_CONFIG provided by user: %s (skipping auto-computation)", nc);
		printf("%s\n", nc);
	} else {
		rc = run(t, &c, PARTITION, args, n);
	}
	fl_ctx_free(&c);
	return rc;
}

/* --- options --- */

/* A number of seconds as milliseconds into *ms; -1 after the usage error. */
static int secs(const struct fl_tool *t, const char *s, const char *flag, uint64_t *ms)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !isfinite(v) || v < 0 || v > 1e7) {
		fl_tool_usage_error(t, "%s needs a number of seconds", flag);
		return -1;
	}
	*ms = (uint64_t)(v * 1000.0 + 0.5);
	return 0;
}

static int count(const struct fl_tool *t, const char *s, const char *flag, long *v)
{
	if (fl_check_nonneg(s, v))
		return 0;
	fl_tool_usage_error(t, "%s needs a non-negative integer", flag);
	return -1;
}

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

/* Options with a number, a schedule or a format; -1 after a usage error. */
static int option_value(struct fl_tool *t, struct opts *o, int ch, const char *arg)
{
	uint64_t ms = 0;
	long n = 0;
	static const char *const sched[] = {"fast", "fixed", "exponential"};
	static const enum fl_discover_schedule sched_v[] = {FL_DISCOVER_FAST, FL_DISCOVER_FIXED,
	                                                    FL_DISCOVER_EXPONENTIAL};
	switch (ch) {
	case OPT_CONNECT: return secs(t, arg, "--connect-timeout", &ms) ? -1 : (o->connect_ms = (long)ms, 0);
	case OPT_TIMEOUT: return secs(t, arg, "--timeout", &ms) ? -1 : (o->timeout_ms = (long)ms, 0);
	case OPT_DEADLINE: o->deadline_set = true; return secs(t, arg, "--deadline", &o->deadline_ms);
	case OPT_INTERVAL: return secs(t, arg, "--interval", &o->d.interval_ms);
	case OPT_MAX_INTERVAL: return secs(t, arg, "--max-interval", &o->d.max_interval_ms);
	case OPT_RETRIES: return count(t, arg, "--retries", &o->retries);
	case OPT_ATTEMPTS: return count(t, arg, "--attempts", &n) ? -1 : (o->d.attempts = (unsigned)n, 0);
	case OPT_SERVICE_RATE:
		return count(t, arg, "--service-rate", &n) ? -1 : (o->d.service_rate = (unsigned)n, 0);
	case OPT_SCHEDULE:
		for (size_t i = 0; i < 3; i++)
			if (strcmp(arg, sched[i]) == 0)
				return o->schedule = (int)sched_v[i], 0;
		fl_tool_usage_error(t, "--schedule is fast, fixed or exponential, not '%s'", arg);
		return -1;
	case 'f':
		if (strcmp(arg, "text") != 0 && strcmp(arg, "json") != 0) {
			fl_tool_usage_error(t, "unknown format '%s': use text or json", arg);
			return -1;
		}
		o->v.json = strcmp(arg, "json") == 0;
		return 0;
	}
	return 0;
}

static int option(struct fl_tool *t, int ch, const char *arg)
{
	struct opts *o = t->data;
	switch (ch) {
	case 'C': t->context = arg; break; /* the older spelling of -c */
	case OPT_ENDPOINT: o->endpoint = arg; break;
	case OPT_VMID: o->vmid = arg; break;
	case OPT_TOKEN_FILE: o->token_file = arg; break;
	case OPT_KEEP_PATH: o->keep_path = true; break;
	case OPT_TLS_VERIFY: o->tls_verify = true; break;
	case 'd':
		/* Several --data are one request, lines joined; the Ruby CLI keeps the last. */
		if (o->type != 1)
			fl_buf_reset(&o->data);
		else
			fl_buf_addc(&o->data, '\n');
		fl_buf_adds(&o->data, arg);
		o->type = 1;
		break;
	case 'e':
		fl_buf_reset(&o->data);
		fl_buf_adds(&o->data, arg);
		o->type = 2;
		break;
	case OPT_RAW: o->v.raw = true; break;
	case 'r': o->role = arg; break;
	case OPT_CARDINALITY: o->cardinality = arg; break;
	case 'j': o->v.json = true; break;
	case OPT_EXTENDED: o->v.extended = true; break;
	case OPT_BEST_EFFORT: o->v.best_effort = true; break;
	case OPT_ROLE_NAME: o->v.role_name = o->d.role = arg; break;
	case OPT_NO_PRECHECK: o->d.no_precheck = true; break;
	case 'o': o->output = arg; break;
	default: return option_value(t, o, ch, arg) ? FL_EXIT_USAGE : 0;
	}
	return 0;
}

static const struct fl_tool_opt opts[] = {
    {NULL, 1, 'C', NULL},
    {"endpoint", 1, OPT_ENDPOINT, NULL},
    {"vmid", 1, OPT_VMID, NULL},
    {"token-file", 1, OPT_TOKEN_FILE, NULL},
    {"connect-timeout", 1, OPT_CONNECT, NULL},
    {"timeout", 1, OPT_TIMEOUT, NULL},
    {"retries", 1, OPT_RETRIES, NULL},
    {"deadline", 1, OPT_DEADLINE, NULL},
    {"keep-path", 0, OPT_KEEP_PATH, NULL},
    {"tls-verify", 0, OPT_TLS_VERIFY, NULL},
    {"data", 1, 'd', "vm update"},
    {"erase", 1, 'e', "vm update"},
    {"raw", 0, OPT_RAW, "vm update|publish"},
    {"role", 1, 'r', "service scale"},
    {"cardinality", 1, OPT_CARDINALITY, "service scale"},
    {"json", 0, 'j', "vm show|service show|discover|partition"},
    {"format", 1, 'f', "vm show|service show|discover|partition"},
    {"extended", 0, OPT_EXTENDED, "service show|discover"},
    {"best-effort", 0, OPT_BEST_EFFORT, "publish"},
    {"schedule", 1, OPT_SCHEDULE, "discover"},
    {"interval", 1, OPT_INTERVAL, "discover"},
    {"max-interval", 1, OPT_MAX_INTERVAL, "discover"},
    {"attempts", 1, OPT_ATTEMPTS, "discover"},
    {"service-rate", 1, OPT_SERVICE_RATE, "discover"},
    {"role-name", 1, OPT_ROLE_NAME, "discover|partition"},
    {"no-precheck", 0, OPT_NO_PRECHECK, "discover"},
    {"output", 1, 'o', "discover"},
};

static const struct fl_tool_verb verbs[] = {
    {"vm show", 0, 1, NULL, vm_show},           {"vm update", 0, 1, NULL, vm_update},
    {"service show", 0, 0, NULL, service_show}, {"service scale", 0, 0, NULL, service_scale},
    {"publish", 0, -1, NULL, publish},          {"get", 1, 1, "get takes exactly one ATTR", get},
    {"discover", 0, 0, NULL, discover},         {"partition", 0, 0, NULL, partition},
    {"precheck", 0, 0, NULL, precheck},
};

/* What the options say together, and files they name; FL_TOOL_GO when all is well. */
static int check_options(const struct fl_tool *t, const struct opts *o)
{
	/* A FIFO or device is refused here, never waited on. */
	struct fl_err e = {0};
	if (fl_fs_check_regular("--token-file", o->token_file, &e) < 0)
		return fl_log_err(&e);
	if (o->d.max_interval_ms && o->d.max_interval_ms < o->d.interval_ms) {
		fl_tool_usage_error(t, "--max-interval must not be below --interval");
		return FL_EXIT_USAGE;
	}
	return FL_TOOL_GO;
}

int main(int argc, char **argv)
{
	static struct opts o = {.schedule = -1, .retries = -1, .data = FL_BUF_INIT, .pub = FL_BUF_INIT};
	static struct fl_tool t = {
	    .name = "fl-onegate",
	    .usage = usage_text,
	    .help = help_text,
	    .opts = opts,
	    .nopts = sizeof opts / sizeof opts[0],
	    .verbs = verbs,
	    .nverbs = sizeof verbs / sizeof verbs[0],
	    .flags = FL_TOOL_ENV_FALLBACK,
	    .option = option,
	    .data = &o,
	};
	int rc = fl_tool_parse(&t, argc, argv);
	if (rc == FL_TOOL_GO)
		rc = check_options(&t, &o);
	if (rc == FL_TOOL_GO)
		rc = fl_tool_dispatch(&t);
	fl_tool_free(&t);
	fl_buf_free(&o.data);
	fl_buf_free(&o.pub);
	return rc;
}
