/* fl-context: read the OpenNebula context as data, apply defaults, validate, and write the
 * resolved configuration for the other flkit tools. */
#include "fl_buf.h"
#include "fl_check.h"
#include "fl_ctx.h"
#include "fl_flwrcfg.h"
#include "fl_fs.h"
#include "fl_log.h"
#include "fl_output.h"
#include "fl_render.h"
#include "fl_tool.h"
#include "fl_validate.h"
#include "fl_var.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    "                       a file written by `render` is accepted too (flkit(7) CONFIGURATION)\n"
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
	unsigned role;
	int format; /* -1 = verb default */
	const char *output;
	bool show_secrets, oneapp;
	long partition_id, num_partitions;
};

static unsigned role_of(const struct opts *o, const struct fl_ctx *c)
{
	return o->role ? o->role : c->rendered_role;
}

/* Log the diagnostics and the verdict; returns the error count. Verbs that only emit a
 * value (quiet_ok) log warnings and errors: `validate` already told the rest. */
static unsigned report(const struct fl_ctx *c, unsigned role, int quiet_ok)
{
	struct fl_diags d = FL_DIAGS_INIT;
	unsigned errors = fl_validate_ctx(c, role, &d);
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

static void emit(struct fl_buf *b)
{
	fwrite(fl_buf_str(b), 1, b->len, stdout);
	fl_buf_free(b);
}

/* The --format a verb takes (fmts: bits of enum fl_format), or -1 after the usage error. */
static int format_of(const struct fl_tool *t, unsigned fmts, const char *verb, const char *names)
{
	const struct opts *o = t->data;
	int f = o->format < 0 ? FL_FMT_TEXT : o->format;
	if (!(fmts & (1u << f))) {
		fl_tool_usage_error(t, "%s: --format is %s", verb, names);
		return -1;
	}
	return f;
}

static int validate(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	struct fl_ctx c;
	if (fl_tool_load(t, 0, &c))
		return FL_EXIT_FAIL;
	int role = need_role(t->data, &c, "validate");
	int rc = role < 0 ? FL_EXIT_USAGE : report(&c, (unsigned)role, 0) ? FL_EXIT_FAIL : FL_EXIT_OK;
	fl_ctx_free(&c);
	return rc;
}

static int show(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	unsigned fmts = 1u << FL_FMT_TEXT | 1u << FL_FMT_ENV | 1u << FL_FMT_SHELL | 1u << FL_FMT_JSON;
	int f = format_of(t, fmts, "show", "text, env, shell or json");
	struct fl_ctx c;
	if (f < 0)
		return FL_EXIT_USAGE;
	if (fl_tool_load(t, 0, &c))
		return FL_EXIT_FAIL;
	struct fl_buf b = FL_BUF_INIT;
	fl_render_show(&c, role_of(o, &c), (enum fl_format)f, o->show_secrets, &b);
	emit(&b);
	fl_ctx_free(&c);
	return FL_EXIT_OK;
}

static int get(struct fl_tool *t, char **args, int n)
{
	(void)n;
	const char *name = args[0], *bare = strncmp(name, "ONEAPP_", 7) == 0 ? name + 7 : name;
	if (!fl_var_find(bare)) {
		fl_tool_usage_error(t, "get: unknown variable '%s'; `fl-context reference` lists them", name);
		return FL_EXIT_USAGE;
	}
	struct fl_ctx c;
	if (fl_tool_load(t, 0, &c))
		return FL_EXIT_FAIL;
	printf("%s\n", fl_ctx_setting(&c, bare)->value);
	fl_ctx_free(&c);
	return FL_EXIT_OK;
}

static int render(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	struct fl_ctx c;
	if (fl_tool_load(t, 0, &c))
		return FL_EXIT_FAIL;
	int role = need_role(o, &c, "render"), rc = FL_EXIT_OK;
	if (role < 0) {
		rc = FL_EXIT_USAGE;
	} else if (report(&c, (unsigned)role, 1)) {
		fl_error("nothing written: fix the configuration and run render again");
		rc = FL_EXIT_FAIL;
	} else {
		char def[64];
		snprintf(def, sizeof def, FL_TOOL_RENDERED_DIR "/%s.conf", fl_var_role_name((unsigned)role));
		const char *out = o->output ? o->output : def;
		struct fl_buf b = FL_BUF_INIT;
		struct fl_err e = {0};
		fl_render_file(&c, (unsigned)role, &b);
		/* The SuperLink's file holds FL_SSL_KEYFILE: 0600, and no temp file left behind. */
		if (fl_output_write(out, b.data, b.len, 0600, !o->output, &e) < 0) {
			fl_error("%s", e.msg);
			rc = FL_EXIT_FAIL;
		} else {
			fl_info("Wrote the %s configuration to %s", fl_var_role_name((unsigned)role), out);
		}
		explicit_bzero(b.data, b.len);
		fl_buf_free(&b);
	}
	fl_ctx_free(&c);
	return rc;
}

static int run_config(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	int f = format_of(t, 1u << FL_FMT_TEXT | 1u << FL_FMT_TOML, "run-config", "text or toml");
	struct fl_ctx c;
	if (f < 0)
		return FL_EXIT_USAGE;
	if (fl_tool_load(t, 0, &c))
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

/* FL_NODE_CONFIG, else the partition the options give. */
static int node_config_emit(const struct opts *o, const struct fl_ctx *c, bool toml)
{
	struct fl_buf b = FL_BUF_INIT;
	const char *nc = fl_ctx_value(c, FLV_FL_NODE_CONFIG);
	char gen[64] = "";
	if (!*nc && o->partition_id >= 0)
		snprintf(gen, sizeof gen, "partition-id=%ld num-partitions=%ld", o->partition_id,
		         o->num_partitions);
	struct fl_err e = {0};
	if (fl_flwrcfg_node_config(*nc ? nc : gen, toml, true, &b, &e) < 0) {
		fl_buf_free(&b);
		return fl_log_err(&e);
	}
	emit(&b);
	return FL_EXIT_OK;
}

static int node_config(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	int f = format_of(t, 1u << FL_FMT_TEXT | 1u << FL_FMT_TOML, "node-config", "text or toml");
	if (f < 0)
		return FL_EXIT_USAGE;
	if ((o->partition_id < 0) != (o->num_partitions < 0) ||
	    (o->partition_id >= 0 && o->partition_id >= o->num_partitions)) {
		fl_tool_usage_error(
		    t, "node-config: give --partition-id N and --num-partitions M together, N < M");
		return FL_EXIT_USAGE;
	}
	struct fl_ctx c;
	if (fl_tool_load(t, 0, &c))
		return FL_EXIT_FAIL;
	int rc = report(&c, FL_ROLE_SUPERNODE, 1) ? FL_EXIT_FAIL : node_config_emit(o, &c, f == FL_FMT_TOML);
	fl_ctx_free(&c);
	return rc;
}

static int user_inputs(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	if (!o->role) {
		fl_tool_usage_error(t, "user-inputs needs --role superlink, supernode or service");
		return FL_EXIT_USAGE;
	}
	struct fl_buf b = FL_BUF_INIT;
	fl_render_user_inputs(o->role, o->oneapp, &b);
	emit(&b);
	return FL_EXIT_OK;
}

static int reference(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	int f = format_of(t, 1u << FL_FMT_TEXT | 1u << FL_FMT_MAN, "reference", "text or man");
	if (f < 0)
		return FL_EXIT_USAGE;
	struct fl_buf b = FL_BUF_INIT;
	fl_render_reference((enum fl_format)f, &b);
	emit(&b);
	return FL_EXIT_OK;
}

static void help_table(void)
{
	struct fl_buf b = FL_BUF_INIT;
	fl_render_reference(FL_FMT_TEXT, &b);
	emit(&b);
}

enum { OPT_SECRETS = FL_TOOL_OWN, OPT_ONEAPP, OPT_PID, OPT_NPART };

static int option(struct fl_tool *t, int ch, const char *arg)
{
	struct opts *o = t->data;
	long *count = ch == OPT_PID ? &o->partition_id : &o->num_partitions;
	switch (ch) {
	case 'r':
		if (!(o->role = fl_var_role_parse(arg))) {
			fl_tool_usage_error(t, "unknown role '%s': use superlink, supernode or service", arg);
			return FL_EXIT_USAGE;
		}
		break;
	case 'f':
		if ((o->format = fl_render_format_parse(arg)) < 0) {
			fl_tool_usage_error(t, "unknown format '%s'", arg);
			return FL_EXIT_USAGE;
		}
		break;
	case 'o': o->output = arg; break;
	case OPT_SECRETS: o->show_secrets = true; break;
	case OPT_ONEAPP: o->oneapp = true; break;
	case OPT_PID:
	case OPT_NPART:
		if (!fl_check_nonneg(arg, count)) {
			fl_tool_usage_error(t, "%s needs a non-negative integer",
			                    ch == OPT_PID ? "--partition-id" : "--num-partitions");
			return FL_EXIT_USAGE;
		}
		break;
	}
	return 0;
}

/* The options only some verbs take (the others apply to every verb). */
static const struct fl_tool_opt opts[] = {
    {"role", 1, 'r', "validate|show|render|user-inputs"},
    {"format", 1, 'f', "show|run-config|node-config|reference"},
    {"output", 1, 'o', "render"},
    {"show-secrets", 0, OPT_SECRETS, "show"},
    {"oneapp", 0, OPT_ONEAPP, "user-inputs"},
    {"partition-id", 1, OPT_PID, "node-config"},
    {"num-partitions", 1, OPT_NPART, "node-config"},
};

static const struct fl_tool_verb verbs[] = {
    {"validate", 0, 0, NULL, validate},
    {"show", 0, 0, NULL, show},
    {"get", 1, 1, "get takes exactly one NAME", get},
    {"render", 0, 0, NULL, render},
    {"run-config", 0, 0, NULL, run_config},
    {"node-config", 0, 0, NULL, node_config},
    {"user-inputs", 0, 0, NULL, user_inputs},
    {"reference", 0, 0, NULL, reference},
};

int main(int argc, char **argv)
{
	static struct opts o = {.format = -1, .partition_id = -1, .num_partitions = -1};
	/* Static: what it holds is still reachable when main returns. */
	static struct fl_tool t = {
	    .name = "fl-context",
	    .usage = usage_text,
	    .help = help_text,
	    .help_more = help_table,
	    .opts = opts,
	    .nopts = sizeof opts / sizeof opts[0],
	    .verbs = verbs,
	    .nverbs = sizeof verbs / sizeof verbs[0],
	    .token_file = FL_CTX_DEFAULT_TOKEN,
	    .option = option,
	    .data = &o,
	};
	int rc = fl_tool_parse(&t, argc, argv);
	if (rc == FL_TOOL_GO)
		rc = fl_tool_dispatch(&t);
	fl_tool_free(&t);
	return rc;
}
