/* fl-context: read the OpenNebula context as data, apply defaults, validate, and write the
 * resolved configuration for the other flkit tools. */
#include "fl_buf.h"
#include "fl_context_verb.h"
#include "fl_ctx.h"
#include "fl_output.h"
#include "fl_render.h"
#include "fl_tool.h"
#include "fl_var.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: fl-context [options] validate --role superlink|supernode\n"
    "       fl-context [options] show [--role R] [--format text|env|shell|json] [--show-secrets]\n"
    "       fl-context [options] get NAME\n"
    "       fl-context [options] render --role R [-o FILE]\n"
    "       fl-context [options] run-config [--format text|toml]\n"
    "       fl-context [options] node-config [--format text|toml] [--partition-id N --num-partitions M]\n"
    "       fl-context user-inputs --role superlink|supernode|service [--service] [--oneapp]\n"
    "                  [--format block|params|json]\n"
    "       fl-context reference [--format text|man]\n";

static const char help_text[] =
    "\n"
    "Reads the OpenNebula context (one_env or context.sh) as data, never executing it; the\n"
    "process environment overrides it, ONEAPP_<NAME> overrides <NAME>, empty means unset.\n"
    "\n";

static const char help_end[] =
    "\n"
    "exit status: 0 ok, 1 invalid configuration or unreadable context, 2 usage error.\n"
    "Variables (details: fl-context reference, fl-context(5)):\n";

struct opts {
	unsigned role;
	const char *format; /* NULL = the verb's default */
	const char *output;
	bool show_secrets, oneapp, service;
	long partition_id, num_partitions;
};

static unsigned role_of(const struct opts *o, const struct fl_ctx *c)
{
	return o->role ? o->role : c->rendered_role;
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

/* The --format a verb takes (fmts: bits of enum fl_format, which names lists; def without
 * --format), or -1 after the usage error. */
static int format_of(const struct fl_tool *t, unsigned fmts, enum fl_format def, const char *verb,
                     const char *names)
{
	const struct opts *o = t->data;
	if (!o->format)
		return (int)def;
	int f = fl_render_format_parse(o->format);
	if (f < 0)
		fl_tool_usage_error(t, "%s: unknown format '%s': --format is %s", verb, o->format, names);
	else if (!(fmts & (1u << f)))
		fl_tool_usage_error(t, "%s: --format is %s, not %s", verb, names, o->format);
	return f >= 0 && (fmts & (1u << f)) ? f : -1;
}

static int validate(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	struct fl_ctx c;
	if (fl_tool_load(t, 0, &c))
		return FL_EXIT_FAIL;
	int role = need_role(t->data, &c, "validate");
	int rc = role < 0                                            ? FL_EXIT_USAGE
	         : fl_context_verb_report(&c, (unsigned)role, false) ? FL_EXIT_FAIL
	                                                             : FL_EXIT_OK;
	fl_ctx_free(&c);
	return rc;
}

static int show(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	unsigned fmts = 1u << FL_FMT_TEXT | 1u << FL_FMT_ENV | 1u << FL_FMT_SHELL | 1u << FL_FMT_JSON;
	int f = format_of(t, fmts, FL_FMT_TEXT, "show", "text, env, shell or json");
	struct fl_ctx c;
	if (f < 0)
		return FL_EXIT_USAGE;
	if (fl_tool_load(t, 0, &c))
		return FL_EXIT_FAIL;
	struct fl_buf b = FL_BUF_INIT;
	fl_render_show(&c, role_of(o, &c), (enum fl_format)f, o->show_secrets, &b);
	fl_output_stdout(&b);
	fl_ctx_free(&c);
	return FL_EXIT_OK;
}

static int get(struct fl_tool *t, char **args, int n)
{
	(void)n;
	const char *name = args[0], *bare = strncmp(name, "ONEAPP_", 7) == 0 ? name + 7 : name;
	if (!fl_var_find(bare))
		return fl_tool_usage_error(t, "get: unknown variable '%s'; `fl-context reference` lists them",
		                           name);
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
	int role = need_role(o, &c, "render");
	int rc = role < 0 ? FL_EXIT_USAGE : fl_context_verb_render(&c, (unsigned)role, o->output);
	fl_ctx_free(&c);
	return rc;
}

static int run_config(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	int f =
	    format_of(t, 1u << FL_FMT_TEXT | 1u << FL_FMT_TOML, FL_FMT_TEXT, "run-config", "text or toml");
	struct fl_ctx c;
	if (f < 0)
		return FL_EXIT_USAGE;
	if (fl_tool_load(t, 0, &c))
		return FL_EXIT_FAIL;
	int rc = FL_EXIT_FAIL;
	if (!fl_context_verb_report(&c, FL_ROLE_SUPERLINK, true)) {
		struct fl_buf b = FL_BUF_INIT;
		fl_render_run_config(&c, (enum fl_format)f, &b);
		fl_output_stdout(&b);
		rc = FL_EXIT_OK;
	}
	fl_ctx_free(&c);
	return rc;
}

static int node_config(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	int f =
	    format_of(t, 1u << FL_FMT_TEXT | 1u << FL_FMT_TOML, FL_FMT_TEXT, "node-config", "text or toml");
	if (f < 0)
		return FL_EXIT_USAGE;
	if ((o->partition_id < 0) != (o->num_partitions < 0) ||
	    (o->partition_id >= 0 && o->partition_id >= o->num_partitions))
		return fl_tool_usage_error(
		    t, "node-config: give --partition-id N and --num-partitions M together, N < M");
	struct fl_ctx c;
	if (fl_tool_load(t, 0, &c))
		return FL_EXIT_FAIL;
	struct fl_buf b = FL_BUF_INIT;
	int rc =
	    fl_context_verb_report(&c, FL_ROLE_SUPERNODE, true)
	        ? FL_EXIT_FAIL
	        : fl_context_verb_node_config(&c, o->partition_id, o->num_partitions, f == FL_FMT_TOML, &b);
	fl_output_stdout(&b);
	fl_ctx_free(&c);
	return rc;
}

static int user_inputs(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	const struct opts *o = t->data;
	int f = format_of(t, 1u << FL_FMT_BLOCK | 1u << FL_FMT_PARAMS | 1u << FL_FMT_JSON, FL_FMT_BLOCK,
	                  "user-inputs", "block, params or json");
	if (f < 0)
		return FL_EXIT_USAGE;
	if (!o->role)
		return fl_tool_usage_error(t, "user-inputs needs --role superlink, supernode or service");
	if (o->service && o->role == FL_ROLE_SERVICE)
		return fl_tool_usage_error(t, "user-inputs: --service goes with --role superlink or "
		                              "supernode (a role of a OneFlow service), not service");
	struct fl_buf b = FL_BUF_INIT;
	fl_render_user_inputs(o->role, o->service, o->oneapp, (enum fl_format)f, &b);
	fl_output_stdout(&b);
	return FL_EXIT_OK;
}

static int reference(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	int f = format_of(t, 1u << FL_FMT_TEXT | 1u << FL_FMT_MAN, FL_FMT_TEXT, "reference", "text or man");
	if (f < 0)
		return FL_EXIT_USAGE;
	struct fl_buf b = FL_BUF_INIT;
	fl_render_reference((enum fl_format)f, &b);
	fl_output_stdout(&b);
	return FL_EXIT_OK;
}

static void help_table(void)
{
	struct fl_buf b = FL_BUF_INIT;
	fl_render_reference(FL_FMT_TEXT, &b);
	fl_output_stdout(&b);
}

enum { OPT_SECRETS = FL_TOOL_OWN, OPT_ONEAPP, OPT_SERVICE, OPT_PID, OPT_NPART };

static int option(struct fl_tool *t, int ch, const char *arg)
{
	struct opts *o = t->data;
	switch (ch) {
	case 'r':
		if (!(o->role = fl_var_role_parse(arg)))
			return fl_tool_usage_error(
			    t, "unknown role '%s': use superlink, supernode or service", arg);
		break;
	case 'f': o->format = arg; break;
	case 'o': o->output = arg; break;
	case OPT_SECRETS: o->show_secrets = true; break;
	case OPT_ONEAPP: o->oneapp = true; break;
	case OPT_SERVICE: o->service = true; break;
	case OPT_PID: return fl_tool_number(t, "--partition-id", arg, 0, INT_MAX, NULL, &o->partition_id);
	case OPT_NPART:
		return fl_tool_number(t, "--num-partitions", arg, 0, INT_MAX, NULL, &o->num_partitions);
	}
	return 0;
}

/* The options only some verbs take (the others apply to every verb). */
static const struct fl_tool_opt opts[] = {
    {"context", 1, 'c', NULL, "FILE",
     "context file (default $FLKIT_CONTEXT, else " FL_CTX_DEFAULT_PATH ");\n"
     "a file written by `render` is accepted too (flkit(7) CONFIGURATION)"},
    {"role", 1, 'r', "validate|show|render|user-inputs", "ROLE",
     "superlink, supernode (user-inputs: also service)"},
    {"format", 1, 'f', "show|run-config|node-config|reference|user-inputs", "FMT",
     "output format of show, run-config, node-config, reference, user-inputs"},
    {"output", 1, 'o', "render", "FILE", "render: where to write (default /run/flkit/ROLE.conf, mode 0600)"},
    {"show-secrets", 0, OPT_SECRETS, "show", NULL, "show: print FL_SSL_KEYFILE instead of redacting it"},
    {"oneapp", 0, OPT_ONEAPP, "user-inputs", NULL, "user-inputs: name the inputs ONEAPP_<NAME>"},
    {"service", 0, OPT_SERVICE, "user-inputs", NULL,
     "user-inputs: the role's inputs inside a OneFlow service (no service-level\n"
     "variable, no FL_SUPERLINK_ADDRESS); without it, a standalone VM's"},
    {"partition-id", 1, OPT_PID, "node-config", "N", "node-config: this SuperNode's partition"},
    {"num-partitions", 1, OPT_NPART, "node-config", "M", "node-config: the number of partitions"},
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
	static struct opts o = {.partition_id = -1, .num_partitions = -1};
	/* Static: what it holds is still reachable when main returns. */
	static struct fl_tool t = {
	    .name = "fl-context",
	    .usage = usage_text,
	    .help = help_text,
	    .help_end = help_end,
	    .help_more = help_table,
	    FL_TOOL_TABLES(opts, verbs),
	    .token_file = FL_CTX_DEFAULT_TOKEN,
	    .option = option,
	    .data = &o,
	};
	return fl_tool_main(&t, argc, argv);
}
