/* fl-context: read the OpenNebula context as data, apply defaults, validate, and write the
 * resolved configuration for the other flkit tools. */
#include "fl_buf.h"
#include "fl_check.h"
#include "fl_cli.h"
#include "fl_ctx.h"
#include "fl_flwrcfg.h"
#include "fl_fs.h"
#include "fl_log.h"
#include "fl_render.h"
#include "fl_var.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static const char usage_text[] =
    "usage: fl-context [options] validate --role superlink|supernode\n"
    "       fl-context [options] show [--role R] [--format text|env|shell|json] [--show-secrets]\n"
    "       fl-context [options] get NAME\n"
    "       fl-context [options] render --role R [-o FILE]\n"
    "       fl-context [options] run-config [--format text|toml]\n"
    "       fl-context [options] node-config [--format text|toml] [--partition-id N --num-partitions M]\n"
    "       fl-context user-inputs --role superlink|supernode|service [--oneapp]\n"
    "       fl-context reference [--format text|man]\n";

static const char help_text[] =
    "\n"
    "Reads the OpenNebula context (one_env or context.sh) as data, never executing it; the\n"
    "process environment overrides it, ONEAPP_<NAME> overrides <NAME>, empty means unset.\n"
    "\n"
    "options:\n"
    "  -c, --context FILE   context file (default $FLKIT_CONTEXT, else " FL_CTX_DEFAULT_PATH ");\n"
    "                       a file written by `render` is accepted too\n"
    "  -E, --env-only       read no file: the environment only\n"
    "      --no-env         ignore the process environment\n"
    "  -r, --role ROLE      superlink, supernode (user-inputs: also service)\n"
    "  -f, --format FMT     output format of show, run-config, node-config, reference\n"
    "  -o, --output FILE    render: where to write (default /run/flkit/ROLE.conf, mode 0600)\n"
    "      --show-secrets   show: print FL_SSL_KEYFILE instead of redacting it\n"
    "      --oneapp         user-inputs: name the inputs ONEAPP_<NAME>\n"
    "  -q, --quiet          log warnings and errors only\n"
    "  -v, --verbose        log debug lines too\n"
    "  -h, --help           this text and the variable table\n"
    "  -V, --version\n"
    "Options may come before or after the verb; an option of another verb is a usage error.\n"
    "\n"
    "exit status: 0 ok, 1 invalid configuration or unreadable context, 2 usage error.\n"
    "Variables (details: fl-context reference, fl-context(5)):\n";

struct opts {
	const char *context;
	int env_only, no_env, show_secrets, oneapp;
	unsigned role;
	int format; /* -1 = verb default */
	const char *output;
	long partition_id, num_partitions;
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "fl-context: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	return FL_EXIT_USAGE;
}

static int load(const struct opts *o, struct fl_ctx *c)
{
	struct fl_ctx_opts co = {NULL, FL_CTX_DEFAULT_TOKEN, o->no_env ? NULL : environ};
	if (!o->env_only) {
		co.path = o->context ? o->context : getenv("FLKIT_CONTEXT");
		if (!co.path || !*co.path)
			co.path = FL_CTX_DEFAULT_PATH;
	}
	struct fl_err e = {0};
	if (fl_ctx_load(c, &co, &e) < 0) {
		fl_error("%s", e.msg);
		if (!o->context && co.path)
			fl_error("no usable context file; pass --context FILE, or --env-only to use the "
			         "environment alone");
		fl_ctx_free(c);
		return -1;
	}
	/* FL_LOG_FORMAT is usually set in the context, not in the hook's environment. */
	if (strcmp(fl_ctx_get(c, "FL_LOG_FORMAT"), "json") == 0)
		fl_log_set_json(1);
	return 0;
}

static unsigned role_of(const struct opts *o, const struct fl_ctx *c)
{
	return o->role ? o->role : c->rendered_role;
}

/* Log the diagnostics and the verdict; returns the error count. Verbs that only emit a
 * value (quiet_ok) log warnings and errors: `validate` already told the rest. */
static unsigned report(const struct fl_ctx *c, unsigned role, int quiet_ok)
{
	struct fl_diags d = FL_DIAGS_INIT;
	unsigned errors = fl_ctx_validate(c, role, &d);
	for (size_t i = 0; i < d.n; i++)
		if (!quiet_ok || d.v[i].level >= FL_WARN)
			fl_log(d.v[i].level, "%s", d.v[i].msg);
	if (errors)
		fl_fatal("%u configuration error(s). Aborting boot.", errors);
	else if (!quiet_ok)
		fl_info("Configuration validation passed.");
	fl_diags_free(&d);
	return errors;
}

static int need_role(const struct opts *o, const struct fl_ctx *c, const char *verb)
{
	unsigned r = role_of(o, c);
	if (r != FL_ROLE_SUPERLINK && r != FL_ROLE_SUPERNODE) {
		fprintf(stderr, "fl-context: %s needs --role superlink or --role supernode\n", verb);
		return -1;
	}
	return (int)r;
}

static int validate(const struct opts *o)
{
	struct fl_ctx c;
	if (load(o, &c) < 0)
		return FL_EXIT_FAIL;
	int role = need_role(o, &c, "validate");
	int rc = role < 0 ? FL_EXIT_USAGE : report(&c, (unsigned)role, 0) ? FL_EXIT_FAIL : FL_EXIT_OK;
	fl_ctx_free(&c);
	return rc;
}

static void emit(struct fl_buf *b)
{
	fwrite(fl_buf_str(b), 1, b->len, stdout);
	fl_buf_free(b);
}

static int show(const struct opts *o)
{
	int f = o->format < 0 ? FL_FMT_TEXT : o->format;
	if (f > FL_FMT_JSON)
		return usage_error("show: --format is text, env, shell or json%s", "");
	struct fl_ctx c;
	if (load(o, &c) < 0)
		return FL_EXIT_FAIL;
	struct fl_buf b = FL_BUF_INIT;
	fl_render_show(&c, role_of(o, &c), (enum fl_format)f, o->show_secrets, &b);
	emit(&b);
	fl_ctx_free(&c);
	return FL_EXIT_OK;
}

static int get(const struct opts *o, const char *name)
{
	const char *bare = strncmp(name, "ONEAPP_", 7) == 0 ? name + 7 : name;
	if (!fl_var_find(bare))
		return usage_error("get: unknown variable '%s'; `fl-context reference` lists them", name);
	struct fl_ctx c;
	if (load(o, &c) < 0)
		return FL_EXIT_FAIL;
	printf("%s\n", fl_ctx_get(&c, bare));
	fl_ctx_free(&c);
	return FL_EXIT_OK;
}

static int render(const struct opts *o)
{
	struct fl_ctx c;
	if (load(o, &c) < 0)
		return FL_EXIT_FAIL;
	int role = need_role(o, &c, "render");
	if (role < 0) {
		fl_ctx_free(&c);
		return FL_EXIT_USAGE;
	}
	if (report(&c, (unsigned)role, 1)) {
		fl_error("nothing written: fix the configuration and run render again");
		fl_ctx_free(&c);
		return FL_EXIT_FAIL;
	}
	char def[64];
	snprintf(def, sizeof def, "/run/flkit/%s.conf", fl_var_role_name((unsigned)role));
	const char *out = o->output ? o->output : def;
	struct fl_err e = {0};
	struct fl_buf b = FL_BUF_INIT;
	fl_render_file(&c, (unsigned)role, &b);
	int rc = FL_EXIT_OK;
	char *dir = fl_xstrdup(out);
	char *slash = strrchr(dir, '/');
	if (!o->output && slash) {
		*slash = '\0';
		if (fl_fs_mkdir_p(dir, 0700, FL_OWNER_KEEP, (gid_t)-1, &e) < 0)
			rc = FL_EXIT_FAIL;
	}
	/* A render killed mid-write leaves its 0600 temp file (FL_SSL_KEYFILE for a SuperLink):
	 * the next one removes it, under a lock so that a concurrent render's is left alone. */
	int lock = rc == FL_EXIT_OK ? fl_fs_lock_dir(out, &e) : -1;
	if (lock < 0)
		rc = FL_EXIT_FAIL;
	if (rc == FL_EXIT_OK) {
		fl_fs_clean_temps(out);
		if (fl_fs_write_atomic(out, b.data, b.len, 0600, FL_OWNER_KEEP, (gid_t)-1, &e) < 0)
			rc = FL_EXIT_FAIL;
	}
	if (lock >= 0)
		close(lock);
	if (rc == FL_EXIT_OK)
		fl_info("Wrote the %s configuration to %s", fl_var_role_name((unsigned)role), out);
	else
		fl_error("%s", e.msg);
	free(dir);
	explicit_bzero(b.data, b.len);
	fl_buf_free(&b);
	fl_ctx_free(&c);
	return rc;
}

static int run_config(const struct opts *o)
{
	int f = o->format < 0 ? FL_FMT_TEXT : o->format;
	if (f != FL_FMT_TEXT && f != FL_FMT_TOML)
		return usage_error("run-config: --format is text or toml%s", "");
	struct fl_ctx c;
	if (load(o, &c) < 0)
		return FL_EXIT_FAIL;
	int rc = FL_EXIT_FAIL;
	if (!report(&c, FL_ROLE_SUPERLINK, 1)) {
		struct fl_buf b = FL_BUF_INIT;
		fl_render_run_config(&c, (enum fl_format)f, &b);
		emit(&b);
		rc = FL_EXIT_OK;
	}
	fl_ctx_free(&c);
	return rc;
}

static int node_config(const struct opts *o)
{
	int f = o->format < 0 ? FL_FMT_TEXT : o->format;
	if (f != FL_FMT_TEXT && f != FL_FMT_TOML)
		return usage_error("node-config: --format is text or toml%s", "");
	if ((o->partition_id < 0) != (o->num_partitions < 0) ||
	    (o->partition_id >= 0 && o->partition_id >= o->num_partitions))
		return usage_error(
		    "node-config: give --partition-id N and --num-partitions M together, N < M%s", "");
	struct fl_ctx c;
	if (load(o, &c) < 0)
		return FL_EXIT_FAIL;
	int rc = FL_EXIT_FAIL;
	if (!report(&c, FL_ROLE_SUPERNODE, 1)) {
		struct fl_buf b = FL_BUF_INIT;
		const char *nc = fl_ctx_get(&c, "FL_NODE_CONFIG");
		char gen[64] = "";
		if (!*nc && o->partition_id >= 0)
			snprintf(gen, sizeof gen, "partition-id=%ld num-partitions=%ld", o->partition_id,
			         o->num_partitions);
		struct fl_err e = {0};
		if (fl_flwrcfg_node_config(*nc ? nc : gen, f == FL_FMT_TOML, true, &b, &e) == 0) {
			emit(&b);
			rc = FL_EXIT_OK;
		} else {
			fl_error("%s", e.msg);
			fl_buf_free(&b);
		}
	}
	fl_ctx_free(&c);
	return rc;
}

static int user_inputs(const struct opts *o)
{
	if (!o->role)
		return usage_error("user-inputs needs --role superlink, supernode or service%s", "");
	struct fl_buf b = FL_BUF_INIT;
	fl_render_user_inputs(o->role, o->oneapp, &b);
	emit(&b);
	return FL_EXIT_OK;
}

static int reference(const struct opts *o)
{
	int f = o->format < 0 ? FL_FMT_TEXT : o->format;
	if (f != FL_FMT_TEXT && f != FL_FMT_MAN)
		return usage_error("reference: --format is text or man%s", "");
	struct fl_buf b = FL_BUF_INIT;
	fl_render_reference((enum fl_format)f, &b);
	emit(&b);
	return FL_EXIT_OK;
}

static bool known_verb(const char *verb)
{
	static const char *const verbs[] = {"validate",   "show",        "get",         "render",
	                                    "run-config", "node-config", "user-inputs", "reference"};
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(verb, verbs[i]) == 0)
			return true;
	return false;
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

int main(int argc, char **argv)
{
	enum { OPT_NO_ENV = 256, OPT_SECRETS, OPT_ONEAPP, OPT_PID, OPT_NPART };
	static const struct option longopts[] = {
	    {"context", required_argument, NULL, 'c'},
	    {"env-only", no_argument, NULL, 'E'},
	    {"no-env", no_argument, NULL, OPT_NO_ENV},
	    {"role", required_argument, NULL, 'r'},
	    {"format", required_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'o'},
	    {"show-secrets", no_argument, NULL, OPT_SECRETS},
	    {"oneapp", no_argument, NULL, OPT_ONEAPP},
	    {"partition-id", required_argument, NULL, OPT_PID},
	    {"num-partitions", required_argument, NULL, OPT_NPART},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	/* The options only some verbs take (the others apply to every verb). */
	static const struct fl_cli_verbopt verb_opts[] = {
	    {'r', "--role", "validate|show|render|user-inputs"},
	    {'f', "--format", "show|run-config|node-config|reference"},
	    {'o', "--output", "render"},
	    {OPT_SECRETS, "--show-secrets", "show"},
	    {OPT_ONEAPP, "--oneapp", "user-inputs"},
	    {OPT_PID, "--partition-id", "node-config"},
	    {OPT_NPART, "--num-partitions", "node-config"},
	};
	struct opts o = {.format = -1, .partition_id = -1, .num_partitions = -1};
	fl_log_init("fl-context");
	/* "-": options anywhere, the other words returned in order (as 1), whatever
	 * POSIXLY_CORRECT says. Static: still reachable when main returns early. */
	static char **pos;
	static int *seen;
	pos = fl_xcalloc((size_t)argc + 1, sizeof *pos);
	seen = fl_xcalloc((size_t)argc + 1, sizeof *seen);
	int npos = 0;
	size_t nseen = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, "-c:Er:f:o:qvhV", longopts, NULL)) != -1) {
		if (ch == 1) {
			pos[npos++] = optarg;
			continue;
		}
		seen[nseen++] = ch;
		switch (ch) {
		case 'c': o.context = optarg; break;
		case 'E': o.env_only = 1; break;
		case OPT_NO_ENV: o.no_env = 1; break;
		case 'r':
			if (!(o.role = fl_var_role_parse(optarg)))
				return usage_error("unknown role '%s': use superlink, supernode or service",
				                   optarg);
			break;
		case 'f':
			if ((o.format = fl_format_parse(optarg)) < 0)
				return usage_error("unknown format '%s'", optarg);
			break;
		case 'o': o.output = optarg; break;
		case OPT_SECRETS: o.show_secrets = 1; break;
		case OPT_ONEAPP: o.oneapp = 1; break;
		case OPT_PID: o.partition_id = parse_count(optarg, "--partition-id"); break;
		case OPT_NPART: o.num_partitions = parse_count(optarg, "--num-partitions"); break;
		case 'q': fl_log_set_threshold(FL_WARN); break;
		case 'v': fl_log_set_threshold(FL_DEBUG); break;
		case 'h': {
			struct fl_buf b = FL_BUF_INIT;
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			fl_render_reference(FL_FMT_TEXT, &b);
			emit(&b);
			return FL_EXIT_OK;
		}
		case 'V': puts("fl-context " FLKIT_VERSION); return FL_EXIT_OK;
		default: fputs(usage_text, stderr); return FL_EXIT_USAGE;
		}
	}
	if (o.env_only && o.context)
		return usage_error("--context and --env-only exclude each other%s", "");
	if (o.env_only && o.no_env)
		return usage_error("--env-only and --no-env leave nothing to read%s", "");
	/* A FIFO or device as --context is refused here, never waited on. */
	struct fl_err fe = {0};
	if (fl_fs_check_regular("--context", o.context, &fe) < 0) {
		fl_error("%s", fe.msg);
		return FL_EXIT_FAIL;
	}
	while (optind < argc) /* after "--" */
		pos[npos++] = argv[optind++];
	if (npos < 1) {
		fputs(usage_text, stderr);
		return FL_EXIT_USAGE;
	}
	const char *verb = pos[0];
	const struct fl_cli_verbopt *f =
	    fl_cli_foreign(verb_opts, sizeof verb_opts / sizeof verb_opts[0], seen, nseen, verb);
	if (f && known_verb(verb)) {
		fl_cli_foreign_print("fl-context", f, verb, usage_text);
		return FL_EXIT_USAGE;
	}
	int rest = npos - 1;
	if (strcmp(verb, "get") == 0) {
		if (rest != 1)
			return usage_error("get takes exactly one NAME%s", "");
		return get(&o, pos[1]);
	}
	if (rest != 0)
		return usage_error("unexpected argument '%s'", pos[1]);
	if (strcmp(verb, "validate") == 0)
		return validate(&o);
	if (strcmp(verb, "show") == 0)
		return show(&o);
	if (strcmp(verb, "render") == 0)
		return render(&o);
	if (strcmp(verb, "run-config") == 0)
		return run_config(&o);
	if (strcmp(verb, "node-config") == 0)
		return node_config(&o);
	if (strcmp(verb, "user-inputs") == 0)
		return user_inputs(&o);
	if (strcmp(verb, "reference") == 0)
		return reference(&o);
	return usage_error("unknown verb '%s'", verb);
}
