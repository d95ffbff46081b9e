/* fl_tool: the front end every flkit tool shares: options, verbs, the configuration rule. */
#include "fl_tool.h"

#include "fl_buf.h"
#include "fl_check.h"
#include "fl_cli.h"
#include "fl_fs.h"
#include "fl_log.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static const struct option common_long[] = {
    {"context", required_argument, NULL, 'c'},
    {"env-only", no_argument, NULL, 'E'},
    {"no-env", no_argument, NULL, FL_TOOL_NO_ENV},
    {"format", required_argument, NULL, 'f'},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
};
#define NCOMMON (sizeof common_long / sizeof common_long[0])

int fl_tool_usage_error(const struct fl_tool *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", t->name);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n%s", t->usage);
	va_end(ap);
	return FL_EXIT_USAGE;
}

static const struct fl_tool_opt *own_opt(const struct fl_tool *t, int ch)
{
	for (size_t i = 0; i < t->nopts; i++)
		if (t->opts[i].ch == ch)
			return &t->opts[i];
	return NULL;
}

static bool is_common(int ch)
{
	for (size_t i = 0; i < NCOMMON; i++)
		if (common_long[i].val == ch)
			return true;
	return false;
}

/* The common option ch as a FL_TOOL_C_* bit (0: one never declined), and its name. */
static unsigned common_bit(int ch, const char **name)
{
	switch (ch) {
	case 'c': *name = "--context"; return FL_TOOL_C_CONTEXT;
	case 'E': *name = "--env-only"; return FL_TOOL_C_ENV_ONLY;
	case FL_TOOL_NO_ENV: *name = "--no-env"; return FL_TOOL_C_NO_ENV;
	case 'f': *name = "--format"; return FL_TOOL_C_FORMAT;
	default: *name = ""; return 0;
	}
}

/* getopt_long's tables: the common options, then the tool's (a common one listed is not
 * repeated). */
static struct option *long_table(const struct fl_tool *t, struct fl_buf *shorts)
{
	struct option *lo = fl_xcalloc(NCOMMON + t->nopts + 1, sizeof *lo);
	size_t n = 0;
	for (size_t i = 0; i < NCOMMON; i++)
		lo[n++] = common_long[i];
	fl_buf_adds(shorts, "-c:Ef:qvhV");
	for (size_t i = 0; i < t->nopts; i++) {
		const struct fl_tool_opt *o = &t->opts[i];
		if (is_common(o->ch))
			continue;
		if (o->name)
			lo[n++] = (struct option){o->name, o->has_arg ? required_argument : no_argument, NULL,
			                          o->ch};
		if (o->ch > 0 && o->ch < FL_TOOL_OWN) {
			fl_buf_addc(shorts, (char)o->ch);
			if (o->has_arg)
				fl_buf_addc(shorts, ':');
		}
	}
	return lo;
}

/* The generic lines of the common options in -h, in their order there. */
static const struct fl_tool_opt common_help[] = {
    {"context", 1, 'c', NULL, "FILE", "the configuration file (flkit(7) CONFIGURATION)"},
    {"env-only", 0, 'E', NULL, NULL, "read no file: the environment only"},
    {"no-env", 0, FL_TOOL_NO_ENV, NULL, NULL, "ignore the process environment"},
    {"format", 1, 'f', NULL, "FMT", "output format"},
    {"quiet", 0, 'q', NULL, NULL, "log warnings and errors only"},
    {"verbose", 0, 'v', NULL, NULL, "log debug lines too"},
    {"help", 0, 'h', NULL, NULL, "this text"},
    {"version", 0, 'V', NULL, NULL, "the tool and its version"},
};
#define NCOMMON_HELP (sizeof common_help / sizeof common_help[0])

/* The entry -h lists for option ch: the tool's when it has help, else the generic one (NULL
 * when declined or the tool's own has none). */
static const struct fl_tool_opt *help_entry(const struct fl_tool *t, int ch)
{
	const struct fl_tool_opt *o = own_opt(t, ch);
	const char *name;
	if (o && o->help)
		return o;
	if (!is_common(ch) || (common_bit(ch, &name) & t->declines))
		return NULL;
	for (size_t i = 0; i < NCOMMON_HELP; i++)
		if (common_help[i].ch == ch)
			return &common_help[i];
	return NULL;
}

/* "  -x, --name ARG" into b; its length. */
static size_t help_left(const struct fl_tool_opt *o, struct fl_buf *b)
{
	size_t start = b->len;
	bool letter = o->ch > 0 && o->ch < FL_TOOL_OWN;
	if (letter)
		fl_buf_addf(b, "  -%c%s", o->ch, o->name ? "," : "");
	else
		fl_buf_adds(b, "     ");
	if (o->name)
		fl_buf_addf(b, " --%s", o->name);
	if (o->arg)
		fl_buf_addf(b, " %s", o->arg);
	return b->len - start;
}

static void help_line(const struct fl_tool_opt *o, size_t col, struct fl_buf *b)
{
	size_t n = help_left(o, b);
	for (const char *h = o->help; *h;) {
		size_t len = strcspn(h, "\n");
		fl_buf_addf(b, "%*s%.*s\n", (int)(col - n), "", (int)len, h);
		h += len + (h[len] == '\n');
		n = 0;
	}
}

/* One line of the OPTIONS list. */
struct help_row {
	const struct fl_tool_opt *o;
};

/* The entries -h lists, in order: -c -E --no-env, the tool's (--format where it puts it),
 * --format if it does not, -q -v -h -V. */
static size_t help_entries(const struct fl_tool *t, struct help_row *v)
{
	size_t n = 0;
	for (size_t i = 0; i < 3; i++)
		if ((v[n].o = help_entry(t, common_help[i].ch)))
			n++;
	for (size_t i = 0; i < t->nopts; i++)
		if (t->opts[i].help && (!is_common(t->opts[i].ch) || t->opts[i].ch == 'f'))
			v[n++].o = &t->opts[i];
	for (size_t i = 3; i < NCOMMON_HELP; i++) {
		const struct fl_tool_opt *o = help_entry(t, common_help[i].ch);
		if (o && (o->ch != 'f' || o == &common_help[i]))
			v[n++].o = o;
	}
	return n;
}

void fl_tool_help_options(const struct fl_tool *t, struct fl_buf *b)
{
	struct help_row *v = fl_xcalloc(NCOMMON_HELP + t->nopts, sizeof *v);
	size_t n = help_entries(t, v), col = 0;
	struct fl_buf left = FL_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		size_t w = help_left(v[i].o, &left);
		col = w > col ? w : col;
	}
	fl_buf_free(&left);
	fl_buf_adds(b, "options:\n");
	for (size_t i = 0; i < n; i++)
		help_line(v[i].o, col + 2, b);
	if (!(t->flags & FL_TOOL_OPTIONS_FIRST))
		fl_buf_adds(b, "Options may come before or after the verb; an option of another verb is a "
		               "usage error.\n");
	free(v);
}

static void help(const struct fl_tool *t)
{
	fputs(t->usage, stdout);
	if (t->help)
		fputs(t->help, stdout);
	if (t->help_end) {
		struct fl_buf b = FL_BUF_INIT;
		fl_tool_help_options(t, &b);
		fputs(fl_buf_str(&b), stdout);
		fputs(t->help_end, stdout);
		fl_buf_free(&b);
	}
	fflush(stdout);
	if (t->help_more)
		t->help_more();
}

int fl_tool_seconds(const struct fl_tool *t, const char *flag, const char *arg, uint64_t *ms)
{
	char *end;
	double v = strtod(arg, &end);
	if (end == arg || *end || !isfinite(v) || v < 0 || v > 1e7)
		return fl_tool_usage_error(
		    t, "%s '%s' is not a number of seconds; give 0 to 10000000 (fractions allowed)", flag,
		    arg);
	*ms = (uint64_t)(v * 1000.0 + 0.5);
	return 0;
}

int fl_tool_number(const struct fl_tool *t, const char *flag, const char *arg, long min, long max,
                   const char *unit, long *v)
{
	long n;
	if (fl_check_nonneg(arg, &n) && n >= min && n <= max) {
		*v = n;
		return 0;
	}
	fl_tool_usage_error(t, "%s '%s' is not %s%s; give a whole number from %ld to %ld", flag, arg,
	                    unit ? "a number of " : "a count", unit ? unit : "", min, max);
	return FL_EXIT_USAGE;
}

int fl_tool_keyword(const struct fl_tool *t, const char *what, const char *arg, const char *const *names,
                    int *out)
{
	size_t n = 0;
	for (; names[n]; n++)
		if (strcmp(arg, names[n]) == 0) {
			*out = (int)n;
			return 0;
		}
	struct fl_buf b = FL_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		fl_buf_addf(&b, "%s%s", i == 0 ? "" : i + 1 < n ? ", " : " or ", names[i]);
	fl_tool_usage_error(t, "unknown %s '%s': use %s", what, arg, fl_buf_str(&b));
	fl_buf_free(&b);
	return FL_EXIT_USAGE;
}

int fl_tool_now(const struct fl_tool *t, bool test_clock, time_t *now)
{
	const char *env = test_clock ? getenv("FLKIT_NOW") : NULL;
	*now = time(NULL);
	if (!env || !*env)
		return 0;
	char *end;
	errno = 0;
	long long v = strtoll(env, &end, 10);
	if (*end || errno || v < 0)
		return fl_tool_usage_error(t, "FLKIT_NOW must be seconds since the epoch, not '%s'", env);
	*now = (time_t)v;
	return 0;
}

/* A common option: FL_TOOL_GO, or the exit status. */
static int common(struct fl_tool *t, int ch, const char *arg)
{
	const char *name;
	if (common_bit(ch, &name) & t->declines)
		return fl_tool_usage_error(t, "%s does not apply to %s: %s", name, t->name,
		                           t->decline_why ? t->decline_why : "it reads no configuration");
	switch (ch) {
	case 'c': t->context = arg; break;
	case 'E': t->env_only = true; break;
	case FL_TOOL_NO_ENV: t->no_env = true; break;
	case 'f': t->format = arg; break;
	case 'q': fl_log_set_threshold(FL_WARN); break;
	case 'v': fl_log_set_threshold(FL_DEBUG); break;
	case 'h': help(t); return FL_EXIT_OK;
	case 'V': printf("%s %s\n", t->name, FLKIT_VERSION); return FL_EXIT_OK;
	}
	return FL_TOOL_GO;
}

/* One option as getopt returned it; at: the word it came from. */
static int one_option(struct fl_tool *t, int ch, const char *arg, const char *at)
{
	if (ch == '?' || ch == ':') {
		fputs(t->usage, stderr);
		return FL_EXIT_USAGE;
	}
	const struct fl_tool_opt *o = own_opt(t, ch);
	if ((t->flags & FL_TOOL_OPTIONS_FIRST) && t->nargs && !(o && o->verbs))
		return fl_tool_usage_error(t, "options go before the verb: '%s' follows it", at);
	t->seen[t->nseen++] = ch;
	if (is_common(ch)) {
		int rc = common(t, ch, arg);
		if (rc != FL_TOOL_GO)
			return rc;
	}
	int rc = o && t->option ? t->option(t, ch, arg) : 0;
	return rc ? rc : FL_TOOL_GO;
}

/* What every tool refuses once all options are known. */
static int check_common(const struct fl_tool *t)
{
	if (t->env_only && t->context)
		return fl_tool_usage_error(t, "--context and --env-only exclude each other");
	if (t->env_only && t->no_env)
		return fl_tool_usage_error(t, "--env-only and --no-env leave nothing to read");
	/* A FIFO or device as --context is refused here, never waited on. */
	struct fl_err e = {0};
	if (fl_fs_check_regular("--context", t->context, &e) < 0)
		return fl_log_err(&e);
	return FL_TOOL_GO;
}

int fl_tool_parse(struct fl_tool *t, int argc, char **argv)
{
	fl_log_init(t->name);
	free(t->args);
	free(t->seen);
	t->args = fl_xcalloc((size_t)argc + 1, sizeof *t->args);
	t->seen = fl_xcalloc((size_t)argc + 1, sizeof *t->seen);
	t->nargs = 0;
	t->nseen = 0;
	struct fl_buf shorts = FL_BUF_INIT;
	struct option *lo = long_table(t, &shorts);
	int rc = FL_TOOL_GO, ch;
	/* "-": options anywhere, the other words returned in order (as 1), whatever
	 * POSIXLY_CORRECT says; which verb an option belongs to is checked once the verb is known. */
	optind = 0;
	for (int at = 1;
	     rc == FL_TOOL_GO && (ch = getopt_long(argc, argv, fl_buf_str(&shorts), lo, NULL)) != -1;
	     at = optind) {
		if (ch == 1)
			t->args[t->nargs++] = optarg;
		else
			rc = one_option(t, ch, optarg, at < argc ? argv[at] : "");
	}
	free(lo);
	fl_buf_free(&shorts);
	if (rc != FL_TOOL_GO)
		return rc;
	while (optind < argc) /* after "--" */
		t->args[t->nargs++] = argv[optind++];
	return check_common(t);
}

int fl_tool_foreign(const struct fl_tool *t, const char *verb)
{
	for (size_t i = 0; i < t->nseen; i++) {
		const struct fl_tool_opt *o = own_opt(t, t->seen[i]);
		if (!o || !o->verbs || fl_cli_verb_in(o->verbs, verb))
			continue;
		char name[64];
		if (o->name)
			snprintf(name, sizeof name, "--%s", o->name);
		else
			snprintf(name, sizeof name, "-%c", o->ch);
		struct fl_cli_verbopt f = {o->ch, name, o->verbs};
		fl_cli_foreign_print(t->name, &f, verb, t->usage);
		return FL_EXIT_USAGE;
	}
	return 0;
}

/* The verb args name, and how many words its name took; NULL when none. */
static const struct fl_tool_verb *find_verb(const struct fl_tool *t, int *words)
{
	for (size_t i = 0; i < t->nverbs; i++) {
		const char *name = t->verbs[i].name, *sp = strchr(name, ' ');
		if (!sp && strcmp(name, t->args[0]) == 0) {
			*words = 1;
			return &t->verbs[i];
		}
		if (sp && t->nargs > 1 && strncmp(name, t->args[0], (size_t)(sp - name)) == 0 &&
		    t->args[0][sp - name] == '\0' && strcmp(sp + 1, t->args[1]) == 0) {
			*words = 2;
			return &t->verbs[i];
		}
	}
	return NULL;
}

/* args[0] is the first word of a two-word verb ("vm" of "vm show"). */
static bool verb_group(const struct fl_tool *t, const char *w)
{
	size_t n = strlen(w);
	for (size_t i = 0; i < t->nverbs; i++)
		if (strncmp(t->verbs[i].name, w, n) == 0 && t->verbs[i].name[n] == ' ')
			return true;
	return false;
}

int fl_tool_dispatch(struct fl_tool *t)
{
	if (t->nargs < 1) {
		fputs(t->usage, stderr);
		return FL_EXIT_USAGE;
	}
	int words = 0;
	const struct fl_tool_verb *v = find_verb(t, &words);
	if (!v) {
		if (verb_group(t, t->args[0]))
			fl_tool_usage_error(t, "unknown or missing %s command", t->args[0]);
		else
			fl_tool_usage_error(t, "unknown verb '%s'", t->args[0]);
		return FL_EXIT_USAGE;
	}
	if (fl_tool_foreign(t, v->name))
		return FL_EXIT_USAGE;
	char **args = t->args + words;
	int n = t->nargs - words;
	if (n < v->min_args || (v->max_args >= 0 && n > v->max_args)) {
		if (v->args_error)
			fl_tool_usage_error(t, "%s", v->args_error);
		else if (n > v->min_args)
			fl_tool_usage_error(t, "unexpected argument '%s'", args[v->max_args]);
		else
			fl_tool_usage_error(t, "%s needs more arguments", v->name);
		return FL_EXIT_USAGE;
	}
	return v->run(t, args, n);
}

const char *fl_tool_config_path(const struct fl_tool *t, unsigned role, char *buf, size_t size, bool *named)
{
	*named = false;
	if (t->env_only)
		return NULL;
	const char *p = t->context ? t->context : getenv("FLKIT_CONTEXT");
	if (p && *p) {
		*named = true;
		return p;
	}
	if (t->flags & FL_TOOL_RENDERED) {
		const char *dir = t->rendered_dir ? t->rendered_dir : FL_TOOL_RENDERED_DIR;
		int found = 0;
		for (unsigned r = FL_ROLE_SUPERLINK; r <= FL_ROLE_SUPERNODE; r++) {
			char cand[4096];
			snprintf(cand, sizeof cand, "%s/%s.conf", dir, fl_var_role_name(r));
			if ((!role || role == r) && access(cand, F_OK) == 0) {
				snprintf(buf, size, "%s", cand);
				found++;
			}
		}
		if (found == 1)
			return buf;
	}
	const char *one = t->one_env ? t->one_env : FL_CTX_DEFAULT_PATH;
	if ((t->flags & FL_TOOL_ENV_FALLBACK) && access(one, F_OK) != 0)
		return NULL;
	return one;
}

char **fl_tool_env(const struct fl_tool *t)
{
	return t->no_env ? NULL : environ;
}

void fl_tool_log_format(const struct fl_ctx *c)
{
	if (c->conf.FL_LOG_FORMAT == FL_LOG_FORMAT_JSON)
		fl_log_set_json(1);
}

int fl_tool_load(const struct fl_tool *t, unsigned role, struct fl_ctx *c)
{
	char buf[4200];
	bool named;
	struct fl_ctx_opts co = {fl_tool_config_path(t, role, buf, sizeof buf, &named), t->token_file,
	                         fl_tool_env(t)};
	struct fl_err e = {0};
	if (fl_ctx_load(c, &co, &e) < 0) {
		fl_error("%s", e.msg);
		if (!t->context && co.path)
			fl_error("no usable context file; pass --context FILE, or --env-only to use the "
			         "environment alone");
		fl_ctx_free(c);
		return FL_EXIT_FAIL;
	}
	fl_tool_log_format(c);
	return 0;
}

int fl_tool_owner(const char *s, uid_t *uid, gid_t *gid)
{
	/* Digits only (no sign, no blank: strtoul's leniency) and below 2^31: -1 would mean
	 * "leave the owner alone" to chown, and a value past 32 bits would wrap to root. */
	const char *colon = strchr(s, ':');
	char us[16] = "", gs[16] = "";
	long u, g;
	if (!colon || (size_t)(colon - s) >= sizeof us || strlen(colon + 1) >= sizeof gs)
		return -1;
	memcpy(us, s, (size_t)(colon - s));
	memcpy(gs, colon + 1, strlen(colon + 1));
	if (!fl_check_nonneg(us, &u) || !fl_check_nonneg(gs, &g))
		return -1;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

int fl_tool_main(struct fl_tool *t, int argc, char **argv)
{
	int rc = fl_tool_parse(t, argc, argv);
	if (rc == FL_TOOL_GO && t->check)
		rc = t->check(t);
	if (rc == FL_TOOL_GO)
		rc = fl_tool_dispatch(t);
	fl_tool_free(t);
	return rc;
}

void fl_tool_free(struct fl_tool *t)
{
	free(t->args);
	free(t->seen);
	t->args = NULL;
	t->seen = NULL;
	t->nargs = 0;
	t->nseen = 0;
}
