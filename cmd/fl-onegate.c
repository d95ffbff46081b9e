/* fl-onegate: the OneGate client of the Flower appliances: show and update VMs, show and scale
 * the service, publish attributes, discover the SuperLink, compute a SuperNode's partition. */
#include "fl_buf.h"
#include "fl_check.h"
#include "fl_ctx.h"
#include "fl_discover.h"
#include "fl_fs.h"
#include "fl_log.h"
#include "fl_onegate.h"
#include "fl_output.h"
#include "fl_tool.h"

#include <ctype.h>
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
	const char *endpoint, *vmid, *token_file, *output, *role, *cardinality, *role_name;
	bool json, extended, raw, best_effort, keep_path, tls_verify, no_precheck, deadline_set;
	int schedule; /* -1: from the context */
	long timeout_ms, connect_ms, retries;
	uint64_t deadline_ms, interval_ms, max_interval_ms;
	unsigned attempts, service_rate;
	int type;                /* vm update: 0 none, 1 --data, 2 --erase */
	struct fl_buf data, pub; /* vm update's body; publish's */
};

static void emit(struct fl_buf *b)
{
	fwrite(fl_buf_str(b), 1, b->len, stdout);
	fl_buf_free(b);
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

/* The context and identity (the file by the one rule, else its header lines, plus the
 * environment; the token file). A file that does not parse loses what it held: when the verb
 * needs OneGate and the identity is incomplete, say so, rather than blame the VM template
 * (CONTEXT TOKEN=YES) or the discovery mode for what is missing. The verb needs OneGate unless
 * the variable unless is set (FLV_COUNT: always). */
static int load(const struct fl_tool *t, struct fl_ctx *c, enum fl_var_id unless)
{
	const struct opts *o = t->data;
	char buf[4200];
	bool named;
	const char *path = fl_tool_config_path(t, 0, buf, sizeof buf, &named);
	struct fl_err e = {0}, bad = {0};
	if (fl_onegate_ctx_load(c, path, named, o->token_file, fl_tool_env(t), &bad, &e) < 0)
		return fl_err_log(&e);
	fl_tool_log_format(c);
	const char *ep = o->endpoint ? o->endpoint : c->id.endpoint, *vmid = o->vmid ? o->vmid : c->id.vmid;
	bool incomplete = !ep || !*ep || !vmid || !*vmid || !c->id.token || !*c->id.token;
	bool needs_gate = unless == FLV_COUNT || !*fl_ctx_value(c, unless);
	if (bad.msg[0] && incomplete && needs_gate) {
		fl_error("%s: the OneGate identity (ONEGATE_ENDPOINT, VMID, TOKENTXT) is incomplete because "
		         "this file does not parse; fix it (it is read as data, never sourced)",
		         bad.msg);
		fl_ctx_free(c);
		return FL_EXIT_FAIL;
	}
	return 0;
}

typedef int gate_fn(struct fl_tool *t, struct fl_onegate *g, char **args, int n);

/* Open OneGate with c's identity and run fn. soft: a OneGate that cannot be opened is a
 * warning (publish --best-effort). */
static int open_run(struct fl_tool *t, const struct fl_ctx *c, char **args, int n, gate_fn *fn, bool soft)
{
	struct fl_onegate_opts go;
	struct fl_onegate g;
	struct fl_err e = {0};
	gate_opts(t->data, c, &go);
	if (fl_onegate_open(&g, &go, &e) < 0) {
		int rc = fl_err_log(&e);
		if (!soft)
			return rc;
		fl_warn("OneGate publication failed; continuing without it.");
		return FL_EXIT_OK;
	}
	int rc = fn(t, &g, args, n);
	fl_onegate_close(&g);
	return rc;
}

/* Load the context, then open_run. */
static int with_gate(struct fl_tool *t, char **args, int n, gate_fn *fn, bool soft)
{
	struct fl_ctx c;
	int rc = load(t, &c, FLV_COUNT);
	if (rc)
		return rc;
	rc = open_run(t, &c, args, n, fn, soft);
	fl_ctx_free(&c);
	return rc;
}

/* --- verbs --- */

static bool bad_id(const struct fl_tool *t, char **args, int n)
{
	const char *id = n ? args[0] : NULL;
	if (id && (!*id || strspn(id, "0123456789") != strlen(id) || strlen(id) > 18)) {
		fl_tool_usage_error(t, "'%s' is not a VM ID", id);
		return true;
	}
	return false;
}

static int vm_show_g(struct fl_tool *t, struct fl_onegate *g, char **args, int n)
{
	const struct opts *o = t->data;
	struct fl_onegate_vm vm;
	struct fl_err e = {0};
	if (fl_onegate_vm_get(g, n ? args[0] : NULL, &vm, &e) < 0)
		return fl_err_log(&e);
	struct fl_buf b = FL_BUF_INIT;
	if (o->json)
		fl_onegate_render_json(vm.root, &b);
	else
		fl_onegate_render_vm(&vm, isatty(STDOUT_FILENO), &b);
	emit(&b);
	fl_onegate_vm_free(&vm);
	return FL_EXIT_OK;
}

static int vm_show(struct fl_tool *t, char **args, int n)
{
	return bad_id(t, args, n) ? FL_EXIT_USAGE : with_gate(t, args, n, vm_show_g, false);
}

static int vm_update_g(struct fl_tool *t, struct fl_onegate *g, char **args, int n)
{
	const struct opts *o = t->data;
	struct fl_err e = {0};
	if (fl_onegate_update(g, n ? args[0] : NULL, fl_buf_str(&o->data), o->type, o->raw, &e) < 0)
		return fl_err_log(&e);
	return FL_EXIT_OK;
}

static int vm_update(struct fl_tool *t, char **args, int n)
{
	const struct opts *o = t->data;
	const char *data = fl_buf_str(&o->data);
	if (bad_id(t, args, n))
		return FL_EXIT_USAGE;
	if (!o->type) {
		fl_tool_usage_error(t, "You have to provide the data as a param (--data, --erase)");
		return FL_EXIT_USAGE;
	}
	if (o->type == 2 && (!*data || strpbrk(data, "\n="))) {
		fl_tool_usage_error(t, "--erase takes one attribute name, not '%.64s'", data);
		return FL_EXIT_USAGE;
	}
	if (o->type == 1)
		fl_onegate_warn_data(data);
	return with_gate(t, args, n, vm_update_g, false);
}

static int service_show_g(struct fl_tool *t, struct fl_onegate *g, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	struct fl_onegate_service s;
	struct fl_err e = {0};
	if (fl_onegate_service_get(g, o->extended, &s, &e) < 0)
		return fl_err_log(&e);
	struct fl_buf b = FL_BUF_INIT;
	if (o->json)
		fl_onegate_render_json(s.root, &b);
	else
		fl_onegate_render_service(&s, o->extended, isatty(STDOUT_FILENO), &b);
	emit(&b);
	fl_onegate_service_free(&s);
	return FL_EXIT_OK;
}

static int service_show(struct fl_tool *t, char **args, int n)
{
	return with_gate(t, args, n, service_show_g, false);
}

static int service_scale_g(struct fl_tool *t, struct fl_onegate *g, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	struct fl_err e = {0};
	return fl_onegate_scale(g, o->role, o->cardinality, &e) < 0 ? fl_err_log(&e) : FL_EXIT_OK;
}

static int service_scale(struct fl_tool *t, char **args, int n)
{
	const struct opts *o = t->data;
	if (!o->role || !o->cardinality) {
		fl_tool_usage_error(t, "service scale needs --role ROLE and --cardinality N");
		return FL_EXIT_USAGE;
	}
	return with_gate(t, args, n, service_scale_g, false);
}

static int publish_g(struct fl_tool *t, struct fl_onegate *g, char **pairs, int n)
{
	const struct opts *o = t->data;
	struct fl_err e = {0};
	struct fl_buf keys = FL_BUF_INIT;
	if (fl_onegate_update(g, NULL, fl_buf_str(&o->pub), 1, o->raw, &e) < 0) {
		int rc = fl_err_log(&e);
		bool superlink = false;
		for (int i = 0; i < n; i++)
			superlink |= strncmp(pairs[i], "FL_ENDPOINT=", 12) == 0;
		if (superlink)
			fl_warn(
			    "OneGate publication failed. SuperNodes must use static FL_SUPERLINK_ADDRESS.");
		else if (o->best_effort)
			fl_warn("OneGate publication failed; continuing without it.");
		return o->best_effort ? FL_EXIT_OK : rc;
	}
	for (int i = 0; i < n; i++)
		fl_buf_addf(&keys, "%s%.*s", i ? " " : "", (int)(strchr(pairs[i], '=') - pairs[i]), pairs[i]);
	fl_info("Published %s to OneGate", fl_buf_str(&keys));
	fl_buf_free(&keys);
	return FL_EXIT_OK;
}

static int publish(struct fl_tool *t, char **pairs, int n)
{
	struct opts *o = t->data;
	struct fl_err e = {0};
	if (fl_onegate_publish_data(pairs, (size_t)n, &o->pub, &e) < 0)
		return fl_err_log(&e); /* FL_EXIT_USAGE: nothing was sent */
	return with_gate(t, pairs, n, publish_g, o->best_effort);
}

static int get_g(struct fl_tool *t, struct fl_onegate *g, char **args, int n)
{
	(void)t, (void)n;
	char name[129];
	size_t len = strlen(args[0]);
	for (size_t i = 0; i <= len; i++)
		name[i] = (char)toupper((unsigned char)args[0][i]);
	struct fl_onegate_vm vm;
	struct fl_err e = {0};
	if (fl_onegate_vm_get(g, NULL, &vm, &e) < 0)
		return fl_err_log(&e);
	json_t *v = vm.user_template ? json_object_get(vm.user_template, name) : NULL;
	int rc = FL_EXIT_OK;
	if (!v) {
		fl_error("%s is not set in this VM's USER_TEMPLATE", name);
		rc = FL_EXIT_FAIL;
	} else if (json_is_string(v)) {
		printf("%s\n", json_string_value(v));
	} else {
		char *js = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%s\n", js ? js : "");
		free(js);
	}
	fl_onegate_vm_free(&vm);
	return rc;
}

static int get(struct fl_tool *t, char **args, int n)
{
	const char *attr = args[0];
	size_t len = strlen(attr);
	if (len == 0 || len > 128 ||
	    strspn(attr, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != len) {
		fl_tool_usage_error(t, "get: '%.64s' is not an attribute name", attr);
		return FL_EXIT_USAGE;
	}
	return with_gate(t, args, n, get_g, false);
}

/* What discover found: on stdout, or with -o into a file written whole. */
static int discover_out(const struct opts *o, const struct fl_superlink *sl)
{
	struct fl_buf b = FL_BUF_INIT;
	fl_superlink_render(sl, o->json, &b);
	if (!o->output) {
		emit(&b);
		return FL_EXIT_OK;
	}
	struct fl_err e = {0};
	int rc = fl_output_write(o->output, b.data, b.len, 0644, false, &e) < 0 ? fl_err_log(&e) : FL_EXIT_OK;
	fl_buf_free(&b);
	return rc;
}

static int discover_ctx(const struct opts *o, const struct fl_ctx *c)
{
	struct fl_discover_opts d = {
	    .static_address = fl_ctx_value(c, FLV_FL_SUPERLINK_ADDRESS),
	    .role = o->role_name,
	    .interval_ms = o->interval_ms,
	    .max_interval_ms = o->max_interval_ms,
	    .attempts = o->attempts,
	    .deadline_ms = o->deadline_set ? o->deadline_ms : 0,
	    .service_rate = o->service_rate,
	    .extended = o->extended,
	    .no_precheck = o->no_precheck,
	};
	struct fl_err e = {0};
	if (o->schedule >= 0)
		d.schedule = (enum fl_discover_schedule)o->schedule;
	else if (fl_discover_ctx_schedule(c, &d.schedule, &e) < 0)
		return fl_err_log(&e);
	if (d.schedule == FL_DISCOVER_EXPONENTIAL && !d.max_interval_ms &&
	    fl_discover_ctx_edge_max(c, &d.max_interval_ms, &e) < 0)
		return fl_err_log(&e);
	struct fl_onegate_opts go;
	gate_opts(o, c, &go);
	go.deadline_ms = 0; /* the schedule's deadline bounds every request */
	struct fl_superlink sl;
	if (fl_discover_superlink(&go, &d, &sl, &e) < 0)
		return e.code ? e.code : FL_EXIT_FAIL; /* already logged */
	int rc = discover_out(o, &sl);
	fl_superlink_free(&sl);
	return rc;
}

static int discover(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	struct fl_ctx c;
	int rc = load(t, &c, FLV_FL_SUPERLINK_ADDRESS); /* a static address needs no OneGate */
	if (rc)
		return rc;
	rc = discover_ctx(t->data, &c);
	fl_ctx_free(&c);
	return rc;
}

static int partition_g(struct fl_tool *t, struct fl_onegate *g, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	struct fl_partition p;
	struct fl_err e = {0};
	int rc = fl_discover_partition(g, o->role_name ? o->role_name : "supernode", &p, &e);
	if (rc == 1)
		return FL_EXIT_OK;
	if (rc < 0)
		return fl_err_log(&e);
	fl_info("Auto-computed FL_NODE_CONFIG: partition-id=%ld num-partitions=%ld", p.id, p.num);
	if (o->json)
		printf("{\"partition-id\":%ld,\"num-partitions\":%ld}\n", p.id, p.num);
	else
		printf("partition-id=%ld num-partitions=%ld\n", p.id, p.num);
	return FL_EXIT_OK;
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
		rc = open_run(t, &c, args, n, partition_g, false);
	}
	fl_ctx_free(&c);
	return rc;
}

static int precheck_g(struct fl_tool *t, struct fl_onegate *g, char **args, int n)
{
	(void)t, (void)args, (void)n;
	struct fl_err e = {0};
	return fl_discover_precheck(g, false, &e) < 0 ? e.code : FL_EXIT_OK;
}

static int precheck(struct fl_tool *t, char **args, int n)
{
	return with_gate(t, args, n, precheck_g, false);
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
	case OPT_INTERVAL: return secs(t, arg, "--interval", &o->interval_ms);
	case OPT_MAX_INTERVAL: return secs(t, arg, "--max-interval", &o->max_interval_ms);
	case OPT_RETRIES: return count(t, arg, "--retries", &o->retries);
	case OPT_ATTEMPTS: return count(t, arg, "--attempts", &n) ? -1 : (o->attempts = (unsigned)n, 0);
	case OPT_SERVICE_RATE:
		return count(t, arg, "--service-rate", &n) ? -1 : (o->service_rate = (unsigned)n, 0);
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
		o->json = strcmp(arg, "json") == 0;
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
	case OPT_RAW: o->raw = true; break;
	case 'r': o->role = arg; break;
	case OPT_CARDINALITY: o->cardinality = arg; break;
	case 'j': o->json = true; break;
	case OPT_EXTENDED: o->extended = true; break;
	case OPT_BEST_EFFORT: o->best_effort = true; break;
	case OPT_ROLE_NAME: o->role_name = arg; break;
	case OPT_NO_PRECHECK: o->no_precheck = true; break;
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
		return fl_err_log(&e);
	if (o->max_interval_ms && o->max_interval_ms < o->interval_ms) {
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
