/* fl-onegate: the OneGate client of the Flower appliances: show and update VMs, show and scale
 * the service, publish attributes, discover the SuperLink, compute a SuperNode's partition. */
#include "fl_buf.h"
#include "fl_check.h"
#include "fl_cli.h"
#include "fl_ctx.h"
#include "fl_discover.h"
#include "fl_fs.h"
#include "fl_log.h"
#include "fl_onegate.h"

#include <ctype.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_DEADLINE 30000 /* ms, every verb but discover */

extern char **environ;

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
    "(default $FLKIT_CONTEXT, else " FL_CTX_DEFAULT_PATH "), then " FL_CTX_DEFAULT_TOKEN ".\n"
    "The token is never printed, logged or passed to another program.\n"
    "\n"
    "options:\n"
    "  -c, --context FILE      context file (one_env, context.sh or a rendered fl-context file;\n"
    "                          -C is an older spelling)\n"
    "  -E, --env-only          read no context file\n"
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
    "  -j, --json              print JSON\n"
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
	const char *context, *endpoint, *vmid, *token_file, *output, *role, *cardinality, *role_name;
	bool env_only, json, extended, raw, best_effort, keep_path, tls_verify, no_precheck, deadline_set;
	int schedule; /* -1: from the context */
	long timeout_ms, connect_ms, retries;
	uint64_t deadline_ms, interval_ms, max_interval_ms;
	unsigned attempts, service_rate;
	int type; /* vm update: 0 none, 1 --data, 2 --erase */
	struct fl_buf data;
	int *seen; /* the options given, as getopt returned them */
	size_t nseen;
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "fl-onegate: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	return FL_EXIT_USAGE;
}

static void emit(struct fl_buf *b)
{
	fwrite(fl_buf_str(b), 1, b->len, stdout);
	fl_buf_free(b);
}

/* The context and identity (file, else its header lines, plus the environment; token file). */
static int load(const struct opts *o, struct fl_ctx *c, struct fl_err *bad)
{
	const char *path = NULL;
	bool explicit_path = false;
	if (!o->env_only) {
		path = o->context ? o->context : getenv("FLKIT_CONTEXT");
		explicit_path = path && *path;
		if (!explicit_path)
			path = access(FL_CTX_DEFAULT_PATH, F_OK) == 0 ? FL_CTX_DEFAULT_PATH : NULL;
	}
	struct fl_err e = {0};
	if (fl_onegate_ctx_load(c, path, explicit_path, o->token_file, environ, bad, &e) < 0)
		return fl_log_err(&e);
	return 0;
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

/* --- verbs --- */

static int vm_show(const struct opts *o, struct fl_onegate *g, const char *id)
{
	struct fl_onegate_vm vm;
	struct fl_err e = {0};
	if (fl_onegate_vm_get(g, id, &vm, &e) < 0)
		return fl_log_err(&e);
	struct fl_buf b = FL_BUF_INIT;
	if (o->json)
		fl_onegate_render_json(vm.root, &b);
	else
		fl_onegate_render_vm(&vm, isatty(STDOUT_FILENO), &b);
	emit(&b);
	fl_onegate_vm_free(&vm);
	return FL_EXIT_OK;
}

static int vm_update(const struct opts *o, struct fl_onegate *g, const char *id)
{
	const char *data = fl_buf_str(&o->data);
	if (o->type == 2 && (!*data || strpbrk(data, "\n=")))
		return usage_error("--erase takes one attribute name, not '%.64s'", data);
	if (o->type == 1)
		fl_onegate_warn_data(data);
	struct fl_err e = {0};
	if (fl_onegate_update(g, id, data, o->type, o->raw, &e) < 0)
		return fl_log_err(&e);
	return FL_EXIT_OK;
}

static int service_show(const struct opts *o, struct fl_onegate *g)
{
	struct fl_onegate_service s;
	struct fl_err e = {0};
	if (fl_onegate_service_get(g, o->extended, &s, &e) < 0)
		return fl_log_err(&e);
	struct fl_buf b = FL_BUF_INIT;
	if (o->json)
		fl_onegate_render_json(s.root, &b);
	else
		fl_onegate_render_service(&s, o->extended, isatty(STDOUT_FILENO), &b);
	emit(&b);
	fl_onegate_service_free(&s);
	return FL_EXIT_OK;
}

static int service_scale(const struct opts *o, struct fl_onegate *g)
{
	struct fl_err e = {0};
	if (fl_onegate_scale(g, o->role, o->cardinality, &e) < 0)
		return fl_log_err(&e);
	return FL_EXIT_OK;
}

static int publish(const struct opts *o, struct fl_onegate *g, const struct fl_buf *data, char **pairs,
                   size_t n)
{
	struct fl_err e = {0};
	if (fl_onegate_update(g, NULL, fl_buf_str(data), 1, o->raw, &e) < 0) {
		int rc = fl_log_err(&e);
		bool superlink = false;
		for (size_t i = 0; i < n; i++)
			superlink |= strncmp(pairs[i], "FL_ENDPOINT=", 12) == 0;
		if (superlink)
			fl_warn(
			    "OneGate publication failed. SuperNodes must use static FL_SUPERLINK_ADDRESS.");
		else if (o->best_effort)
			fl_warn("OneGate publication failed; continuing without it.");
		return o->best_effort ? FL_EXIT_OK : rc;
	}
	struct fl_buf keys = FL_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		fl_buf_addf(&keys, "%s%.*s", i ? " " : "", (int)(strchr(pairs[i], '=') - pairs[i]), pairs[i]);
	fl_info("Published %s to OneGate", fl_buf_str(&keys));
	fl_buf_free(&keys);
	return FL_EXIT_OK;
}

static int get(struct fl_onegate *g, const char *attr)
{
	char name[129];
	size_t n = strlen(attr);
	if (n == 0 || n >= sizeof name ||
	    strspn(attr, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return usage_error("get: '%.64s' is not an attribute name", attr);
	for (size_t i = 0; i <= n; i++)
		name[i] = (char)toupper((unsigned char)attr[i]);
	struct fl_onegate_vm vm;
	struct fl_err e = {0};
	if (fl_onegate_vm_get(g, NULL, &vm, &e) < 0)
		return fl_log_err(&e);
	json_t *v = vm.user_template ? json_object_get(vm.user_template, name) : NULL;
	int rc = FL_EXIT_OK;
	if (!v) {
		fl_error("%s is not set in this VM's USER_TEMPLATE", name);
		rc = FL_EXIT_FAIL;
	} else if (json_is_string(v)) {
		printf("%s\n", json_string_value(v));
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%s\n", s ? s : "");
		free(s);
	}
	fl_onegate_vm_free(&vm);
	return rc;
}

static int discover(const struct opts *o, const struct fl_ctx *c)
{
	struct fl_discover_opts d = {
	    .static_address = fl_ctx_get(c, "FL_SUPERLINK_ADDRESS"),
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
		return fl_log_err(&e);
	if (d.schedule == FL_DISCOVER_EXPONENTIAL && !d.max_interval_ms &&
	    fl_discover_ctx_edge_max(c, &d.max_interval_ms, &e) < 0)
		return fl_log_err(&e);
	struct fl_onegate_opts go;
	gate_opts(o, c, &go);
	go.deadline_ms = 0; /* the schedule's deadline bounds every request */
	struct fl_superlink sl;
	if (fl_discover_superlink(&go, &d, &sl, &e) < 0)
		return e.code ? e.code : FL_EXIT_FAIL; /* already logged */
	struct fl_buf b = FL_BUF_INIT;
	fl_superlink_render(&sl, o->json, &b);
	int rc = FL_EXIT_OK;
	if (o->output) {
		/* As fl-context render: what a killed run left beside the file goes first. */
		int lock = fl_fs_lock_dir(o->output, &e);
		if (lock < 0) {
			rc = fl_log_err(&e);
		} else {
			fl_fs_clean_temps(o->output);
			if (fl_fs_write_atomic(o->output, b.data, b.len, 0644, FL_OWNER_KEEP, (gid_t)-1, &e) <
			    0)
				rc = fl_log_err(&e);
			close(lock);
		}
		fl_buf_free(&b);
	} else {
		emit(&b);
	}
	fl_superlink_free(&sl);
	return rc;
}

static int partition(const struct opts *o, const struct fl_ctx *c, struct fl_onegate *g)
{
	struct fl_partition p;
	struct fl_err e = {0};
	int rc = fl_discover_partition(g, o->role_name ? o->role_name : "supernode", &p, &e);
	if (rc == 1)
		return FL_EXIT_OK;
	if (rc < 0)
		return fl_log_err(&e);
	(void)c;
	fl_info("Auto-computed FL_NODE_CONFIG: partition-id=%ld num-partitions=%ld", p.id, p.num);
	if (o->json)
		printf("{\"partition-id\":%ld,\"num-partitions\":%ld}\n", p.id, p.num);
	else
		printf("partition-id=%ld num-partitions=%ld\n", p.id, p.num);
	return FL_EXIT_OK;
}

static int precheck(struct fl_onegate *g)
{
	struct fl_err e = {0};
	return fl_discover_precheck(g, false, &e) < 0 ? e.code : FL_EXIT_OK;
}

/* --- options --- */

static uint64_t parse_secs(const char *s, const char *flag)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !isfinite(v) || v < 0 || v > 1e7) {
		usage_error("%s needs a number of seconds", flag);
		exit(FL_EXIT_USAGE);
	}
	return (uint64_t)(v * 1000.0 + 0.5);
}

static long parse_count(const char *s, const char *flag)
{
	long v;
	if (!fl_check_nonneg(s, &v)) {
		usage_error("%s needs a non-negative integer", flag);
		exit(FL_EXIT_USAGE);
	}
	return v;
}

/* getopt_long's codes of the long-only options. */
enum {
	OPT_ENDPOINT = 256,
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

/* The options only some verbs take (the others apply to every verb). */
static const struct fl_cli_verbopt verb_opts[] = {
    {'d', "--data", "vm update"},
    {'e', "--erase", "vm update"},
    {OPT_RAW, "--raw", "vm update|publish"},
    {'r', "--role", "service scale"},
    {OPT_CARDINALITY, "--cardinality", "service scale"},
    {'j', "--json", "vm show|service show|discover|partition"},
    {OPT_EXTENDED, "--extended", "service show|discover"},
    {OPT_BEST_EFFORT, "--best-effort", "publish"},
    {OPT_SCHEDULE, "--schedule", "discover"},
    {OPT_INTERVAL, "--interval", "discover"},
    {OPT_MAX_INTERVAL, "--max-interval", "discover"},
    {OPT_ATTEMPTS, "--attempts", "discover"},
    {OPT_SERVICE_RATE, "--service-rate", "discover"},
    {OPT_ROLE_NAME, "--role-name", "discover|partition"},
    {OPT_NO_PRECHECK, "--no-precheck", "discover"},
    {'o', "--output", "discover"},
};

/* An option given that verb does not take: a usage error naming both. */
static bool foreign(const struct opts *o, const char *verb)
{
	const struct fl_cli_verbopt *f =
	    fl_cli_foreign(verb_opts, sizeof verb_opts / sizeof verb_opts[0], o->seen, o->nseen, verb);
	if (!f)
		return false;
	fl_cli_foreign_print("fl-onegate", f, verb, usage_text);
	return true;
}

/* Verbs that need no OneGate identity before their own checks. */
static int run(struct opts *o, int argc, char **argv)
{
	const char *verb = argv[0];
	const char *sub = argc > 1 ? argv[1] : NULL;
	const char *id = NULL;
	struct fl_buf pub = FL_BUF_INIT;
	enum {
		V_VM_SHOW,
		V_VM_UPDATE,
		V_SVC_SHOW,
		V_SVC_SCALE,
		V_PUBLISH,
		V_GET,
		V_DISCOVER,
		V_PARTITION,
		V_PRECHECK
	} v;

	if (strcmp(verb, "vm") == 0 && sub && (strcmp(sub, "show") == 0 || strcmp(sub, "update") == 0)) {
		v = strcmp(sub, "show") == 0 ? V_VM_SHOW : V_VM_UPDATE;
		if (argc > 3)
			return usage_error("unexpected argument '%s'", argv[3]);
		id = argc > 2 ? argv[2] : NULL;
		if (id && (!*id || strspn(id, "0123456789") != strlen(id) || strlen(id) > 18))
			return usage_error("'%s' is not a VM ID", id);
		if (v == V_VM_UPDATE && !o->type)
			return usage_error("You have to provide the data as a param (--data, --erase)%s", "");
	} else if (strcmp(verb, "service") == 0 && sub &&
	           (strcmp(sub, "show") == 0 || strcmp(sub, "scale") == 0)) {
		v = strcmp(sub, "show") == 0 ? V_SVC_SHOW : V_SVC_SCALE;
		if (argc > 2)
			return usage_error("unexpected argument '%s'", argv[2]);
		if (v == V_SVC_SCALE && (!o->role || !o->cardinality))
			return usage_error("service scale needs --role ROLE and --cardinality N%s", "");
	} else if (strcmp(verb, "vm") == 0 || strcmp(verb, "service") == 0) {
		return usage_error("unknown or missing %s command", verb);
	} else if (strcmp(verb, "publish") == 0) {
		v = V_PUBLISH;
		struct fl_err e = {0};
		if (fl_onegate_publish_data(argv + 1, (size_t)argc - 1, &pub, &e) < 0) {
			fl_buf_free(&pub);
			return fl_log_err(&e); /* FL_EXIT_USAGE: nothing was sent */
		}
	} else if (strcmp(verb, "get") == 0) {
		v = V_GET;
		if (argc != 2)
			return usage_error("get takes exactly one ATTR%s", "");
	} else if (strcmp(verb, "discover") == 0 || strcmp(verb, "partition") == 0 ||
	           strcmp(verb, "precheck") == 0) {
		v = verb[0] == 'd' ? V_DISCOVER : verb[0] == 'p' && verb[1] == 'a' ? V_PARTITION : V_PRECHECK;
		if (argc > 1)
			return usage_error("unexpected argument '%s'", argv[1]);
	} else {
		return usage_error("unknown verb '%s'", verb);
	}
	if (foreign(o, v == V_VM_SHOW     ? "vm show"
	               : v == V_VM_UPDATE ? "vm update"
	               : v == V_SVC_SHOW  ? "service show"
	               : v == V_SVC_SCALE ? "service scale"
	                                  : verb)) {
		fl_buf_free(&pub);
		return FL_EXIT_USAGE;
	}

	struct fl_ctx c;
	struct fl_err bad = {0};
	int rc = load(o, &c, &bad);
	if (rc) {
		fl_buf_free(&pub);
		return rc;
	}
	/* A context file that does not parse loses what it held: say so, rather than blame the
	 * VM template (CONTEXT TOKEN=YES) or the discovery mode for what is missing. */
	bool incomplete = !*(o->endpoint     ? o->endpoint
	                     : c.id.endpoint ? c.id.endpoint
	                                     : "") ||
	                  !*(o->vmid     ? o->vmid
	                     : c.id.vmid ? c.id.vmid
	                                 : "") ||
	                  !c.id.token || !*c.id.token;
	bool needs_gate = !(v == V_DISCOVER && *fl_ctx_get(&c, "FL_SUPERLINK_ADDRESS")) &&
	                  !(v == V_PARTITION && *fl_ctx_get(&c, "FL_NODE_CONFIG"));
	if (bad.msg[0] && incomplete && needs_gate) {
		fl_error("%s: the OneGate identity (ONEGATE_ENDPOINT, VMID, TOKENTXT) is incomplete because "
		         "this file does not parse; fix it (it is read as data, never sourced)",
		         bad.msg);
		fl_buf_free(&pub);
		fl_ctx_free(&c);
		return FL_EXIT_FAIL;
	}
	if (v == V_DISCOVER) {
		rc = discover(o, &c);
		fl_ctx_free(&c);
		return rc;
	}
	if (v == V_PARTITION && *fl_ctx_get(&c, "FL_NODE_CONFIG")) {
		const char *nc = fl_ctx_get(&c, "FL_NODE_CONFIG");
		fl_info("FL_NODE_CONFIG provided by user: %s (skipping auto-computation)", nc);
		printf("%s\n", nc);
		fl_ctx_free(&c);
		return FL_EXIT_OK;
	}
	struct fl_onegate_opts go;
	struct fl_onegate g;
	struct fl_err e = {0};
	gate_opts(o, &c, &go);
	if (fl_onegate_open(&g, &go, &e) < 0) {
		rc = fl_log_err(&e);
		if (v == V_PUBLISH && o->best_effort) {
			fl_warn("OneGate publication failed; continuing without it.");
			rc = FL_EXIT_OK;
		}
		fl_buf_free(&pub);
		fl_ctx_free(&c);
		return rc;
	}
	switch (v) {
	case V_VM_SHOW: rc = vm_show(o, &g, id); break;
	case V_VM_UPDATE: rc = vm_update(o, &g, id); break;
	case V_SVC_SHOW: rc = service_show(o, &g); break;
	case V_SVC_SCALE: rc = service_scale(o, &g); break;
	case V_PUBLISH: rc = publish(o, &g, &pub, argv + 1, (size_t)argc - 1); break;
	case V_GET: rc = get(&g, argv[1]); break;
	case V_PARTITION: rc = partition(o, &c, &g); break;
	case V_PRECHECK: rc = precheck(&g); break;
	case V_DISCOVER: break;
	}
	fl_onegate_close(&g);
	fl_buf_free(&pub);
	fl_ctx_free(&c);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"context", required_argument, NULL, 'c'},
	    {"env-only", no_argument, NULL, 'E'},
	    {"endpoint", required_argument, NULL, OPT_ENDPOINT},
	    {"vmid", required_argument, NULL, OPT_VMID},
	    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
	    {"connect-timeout", required_argument, NULL, OPT_CONNECT},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"retries", required_argument, NULL, OPT_RETRIES},
	    {"deadline", required_argument, NULL, OPT_DEADLINE},
	    {"keep-path", no_argument, NULL, OPT_KEEP_PATH},
	    {"tls-verify", no_argument, NULL, OPT_TLS_VERIFY},
	    {"data", required_argument, NULL, 'd'},
	    {"erase", required_argument, NULL, 'e'},
	    {"raw", no_argument, NULL, OPT_RAW},
	    {"role", required_argument, NULL, 'r'},
	    {"cardinality", required_argument, NULL, OPT_CARDINALITY},
	    {"json", no_argument, NULL, 'j'},
	    {"extended", no_argument, NULL, OPT_EXTENDED},
	    {"best-effort", no_argument, NULL, OPT_BEST_EFFORT},
	    {"schedule", required_argument, NULL, OPT_SCHEDULE},
	    {"interval", required_argument, NULL, OPT_INTERVAL},
	    {"max-interval", required_argument, NULL, OPT_MAX_INTERVAL},
	    {"attempts", required_argument, NULL, OPT_ATTEMPTS},
	    {"service-rate", required_argument, NULL, OPT_SERVICE_RATE},
	    {"role-name", required_argument, NULL, OPT_ROLE_NAME},
	    {"no-precheck", no_argument, NULL, OPT_NO_PRECHECK},
	    {"output", required_argument, NULL, 'o'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {.schedule = -1, .retries = -1, .data = FL_BUF_INIT};
	fl_log_init("fl-onegate");
	/* "-": options anywhere, the other words returned in order (as 1), whatever
	 * POSIXLY_CORRECT says; which verb an option belongs to is checked once the verb is known. */
	static char **pos; /* static: still reachable when main returns early */
	static int *seen;
	pos = fl_xcalloc((size_t)argc + 1, sizeof *pos);
	seen = fl_xcalloc((size_t)argc + 1, sizeof *seen);
	size_t npos = 0;
	o.seen = seen;
	int ch;
	while ((ch = getopt_long(argc, argv, "-c:C:Ed:e:r:jo:qvhV", longopts, NULL)) != -1) {
		if (ch != 1)
			seen[o.nseen++] = ch;
		switch (ch) {
		case 1: pos[npos++] = optarg; continue; /* a verb or argument, in order */
		case 'c':
		case 'C': o.context = optarg; break;
		case 'E': o.env_only = true; break;
		case OPT_ENDPOINT: o.endpoint = optarg; break;
		case OPT_VMID: o.vmid = optarg; break;
		case OPT_TOKEN_FILE: o.token_file = optarg; break;
		case OPT_CONNECT: o.connect_ms = (long)parse_secs(optarg, "--connect-timeout"); break;
		case OPT_TIMEOUT: o.timeout_ms = (long)parse_secs(optarg, "--timeout"); break;
		case OPT_RETRIES: o.retries = parse_count(optarg, "--retries"); break;
		case OPT_DEADLINE:
			o.deadline_ms = parse_secs(optarg, "--deadline");
			o.deadline_set = true;
			break;
		case OPT_KEEP_PATH: o.keep_path = true; break;
		case OPT_TLS_VERIFY: o.tls_verify = true; break;
		case 'd':
			/* Several --data are one request, lines joined; the Ruby CLI keeps the last. */
			if (o.type != 1)
				fl_buf_reset(&o.data);
			else
				fl_buf_addc(&o.data, '\n');
			fl_buf_adds(&o.data, optarg);
			o.type = 1;
			break;
		case 'e':
			fl_buf_reset(&o.data);
			fl_buf_adds(&o.data, optarg);
			o.type = 2;
			break;
		case OPT_RAW: o.raw = true; break;
		case 'r': o.role = optarg; break;
		case OPT_CARDINALITY: o.cardinality = optarg; break;
		case 'j': o.json = true; break;
		case OPT_EXTENDED: o.extended = true; break;
		case OPT_BEST_EFFORT: o.best_effort = true; break;
		case OPT_SCHEDULE:
			if (strcmp(optarg, "fast") == 0)
				o.schedule = FL_DISCOVER_FAST;
			else if (strcmp(optarg, "fixed") == 0)
				o.schedule = FL_DISCOVER_FIXED;
			else if (strcmp(optarg, "exponential") == 0)
				o.schedule = FL_DISCOVER_EXPONENTIAL;
			else
				return usage_error("--schedule is fast, fixed or exponential, not '%s'",
				                   optarg);
			break;
		case OPT_INTERVAL: o.interval_ms = parse_secs(optarg, "--interval"); break;
		case OPT_MAX_INTERVAL: o.max_interval_ms = parse_secs(optarg, "--max-interval"); break;
		case OPT_ATTEMPTS: o.attempts = (unsigned)parse_count(optarg, "--attempts"); break;
		case OPT_SERVICE_RATE:
			o.service_rate = (unsigned)parse_count(optarg, "--service-rate");
			break;
		case OPT_ROLE_NAME: o.role_name = optarg; break;
		case OPT_NO_PRECHECK: o.no_precheck = true; break;
		case 'o': o.output = optarg; break;
		case 'q': fl_log_set_threshold(FL_WARN); break;
		case 'v': fl_log_set_threshold(FL_DEBUG); break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return FL_EXIT_OK;
		case 'V': puts("fl-onegate " FLKIT_VERSION); return FL_EXIT_OK;
		default: fputs(usage_text, stderr); return FL_EXIT_USAGE;
		}
	}
	if (o.env_only && o.context)
		return usage_error("--context and --env-only exclude each other%s", "");
	/* Files named by an option: a FIFO or device is refused here, never waited on. */
	const char *file_opts[][2] = {{"--context", o.context}, {"--token-file", o.token_file}};
	for (size_t i = 0; i < sizeof file_opts / sizeof file_opts[0]; i++) {
		struct fl_err fe = {0};
		if (fl_fs_check_regular(file_opts[i][0], file_opts[i][1], &fe) < 0) {
			fl_buf_free(&o.data);
			return fl_log_err(&fe);
		}
	}
	if (o.max_interval_ms && o.max_interval_ms < o.interval_ms)
		return usage_error("--max-interval must not be below --interval%s", "");
	while (optind < argc) /* after "--" */
		pos[npos++] = argv[optind++];
	int rc;
	if (npos == 0) {
		fputs(usage_text, stderr);
		rc = FL_EXIT_USAGE;
	} else {
		rc = run(&o, (int)npos, pos);
	}
	fl_buf_free(&o.data);
	free(pos);
	free(seen);
	return rc;
}
