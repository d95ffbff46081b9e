/* fl_tool: the front end every flkit tool shares: the common options, the tool's own options
 * with the verbs that take them, the verb table, the one rule for finding the configuration
 * (flkit(7) CONFIGURATION) and the usage errors. A tool declares a struct fl_tool and calls
 * fl_tool_parse, then fl_tool_dispatch; its verbs call fl_tool_load. */
#ifndef FL_TOOL_H
#define FL_TOOL_H

#include "fl_buf.h"
#include "fl_ctx.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* What fl_tool_parse returns when the tool is to go on (any other value is an exit status). */
#define FL_TOOL_GO (-1)

/* The rendered files (`fl-context render`) are DIR/ROLE.conf. */
#define FL_TOOL_RENDERED_DIR FL_CTX_RENDERED_DIR

/* getopt codes of the common options without a letter; a tool's own long-only options use
 * codes from FL_TOOL_OWN up to below these. */
enum { FL_TOOL_OWN = 256, FL_TOOL_NO_ENV = 0x1000 };

/* The common options: bits of struct fl_tool.declines. -q, -v, -h and -V are never declined. */
enum {
	FL_TOOL_C_CONTEXT = 1u << 0,  /* -c, --context FILE */
	FL_TOOL_C_ENV_ONLY = 1u << 1, /* -E, --env-only */
	FL_TOOL_C_NO_ENV = 1u << 2,   /* --no-env */
	FL_TOOL_C_FORMAT = 1u << 3,   /* -f, --format FMT */
};

/* How the tool finds its configuration (struct fl_tool.flags). */
enum {
	/* Look for what `fl-context render` wrote (FL_TOOL_RENDERED_DIR/ROLE.conf) before one_env:
	 * the tools that run from the resolved configuration. */
	FL_TOOL_RENDERED = 1u << 0,
	/* No file named and no one_env: the environment alone (else a missing one_env is an error). */
	FL_TOOL_ENV_FALLBACK = 1u << 1,
	/* After the verb only the verb's own options (those with verbs in the table). */
	FL_TOOL_OPTIONS_FIRST = 1u << 2,
};

/* One option of the tool. A common option may be listed too: to name the verbs that take it
 * (--format) or to be told of it through option(). */
struct fl_tool_opt {
	const char *name;  /* long name without "--", or NULL for a letter only */
	int has_arg;       /* 0 or 1 */
	int ch;            /* its letter, or a code from FL_TOOL_OWN */
	const char *verbs; /* the verbs that take it, '|'-separated ("vm show|discover"); NULL: all */
	/* For the generated OPTIONS of -h (struct fl_tool.help_end): the argument's name ("FILE")
	 * and what the option does, one line or several joined by '\n'; NULL help: not listed. A
	 * common option listed with help replaces the generic line. */
	const char *arg, *help;
};

struct fl_tool;

/* One verb: name is one word or two ("vm show"); args the words after it, nargs of them. */
struct fl_tool_verb {
	const char *name;
	int min_args, max_args; /* max_args -1: any number */
	/* The usage error when the count is wrong (printf-free text); NULL: "unexpected argument". */
	const char *args_error;
	int (*run)(struct fl_tool *t, char **args, int nargs);
};

struct fl_tool {
	/* Declared by the tool. */
	const char *name;  /* "fl-context" */
	const char *usage; /* the synopsis, ending in a newline: after every usage error */
	const char *help;  /* printed after the usage by -h */
	/* Set: -h prints, after help, the OPTIONS generated from opts and the common options, then
	 * this (the exit status, ...). */
	const char *help_end;
	void (*help_more)(void);
	const struct fl_tool_opt *opts;
	size_t nopts;
	const struct fl_tool_verb *verbs;
	size_t nverbs;
	unsigned flags;
	unsigned declines;       /* FL_TOOL_C_* this tool does not take */
	const char *decline_why; /* said when one is given anyway */
	const char *token_file;  /* the OneGate token when TOKENTXT is unset, or NULL */
	/* An option of opts was given: 0 to go on, else the exit status (after a usage error). */
	int (*option)(struct fl_tool *t, int ch, const char *arg);
	/* Or NULL. After a successful parse, before the verb: the checks of options that depend
	 * on each other. FL_TOOL_GO to go on, else the exit status (after its message). */
	int (*check)(struct fl_tool *t);
	void *data; /* the tool's own state, for option() and the verbs */
	/* Where the rule looks; NULL: FL_TOOL_RENDERED_DIR and FL_CTX_DEFAULT_PATH (tests move them). */
	const char *rendered_dir, *one_env;

	/* Filled by fl_tool_parse. */
	const char *context; /* -c FILE */
	bool env_only, no_env;
	const char *format; /* --format FMT as given, or NULL: the tool checks the value */
	char **args;        /* the words that are not options, in order: the verb first */
	int nargs;
	int *seen; /* the getopt codes of the options given, in order */
	size_t nseen;
};

/* In a struct fl_tool initializer: the tool's option and verb tables. */
#define FL_TOOL_TABLES(o, v)                                                                                 \
	.opts = (o), .nopts = sizeof(o) / sizeof((o)[0]), .verbs = (v), .nverbs = sizeof(v) / sizeof((v)[0])

/* A tool's main: fl_tool_parse, the tool's check, fl_tool_dispatch, fl_tool_free. Returns the
 * exit status. */
int fl_tool_main(struct fl_tool *t, int argc, char **argv);

/* Parse argv: common options, the tool's, the words. Handles -h (usage and help on stdout),
 * -V ("TOOL VERSION"), -q, -v, usage errors, --context and --env-only together, and a --context
 * that is not a regular file. Returns FL_TOOL_GO, or the exit status to end with. */
int fl_tool_parse(struct fl_tool *t, int argc, char **argv);

/* Run the verb the words name: unknown verb, an option of another verb, or a wrong count of
 * arguments is a usage error (exit 2); no verb prints the usage (exit 2). */
int fl_tool_dispatch(struct fl_tool *t);

/* The options given that verb does not take: a usage error "TOOL: --x is an option of A or B,
 * not of C" and FL_EXIT_USAGE; else 0. */
int fl_tool_foreign(const struct fl_tool *t, const char *verb);

/* "TOOL: message", then the usage, on stderr; FL_EXIT_USAGE, for the caller to return. */
int fl_tool_usage_error(const struct fl_tool *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The configuration file the one rule picks for role (0: any; the rendered file only when just
 * one role has one), into buf; NULL when the environment alone is read. *named: the file was
 * named (-c or $FLKIT_CONTEXT), so it must be readable. */
const char *fl_tool_config_path(const struct fl_tool *t, unsigned role, char *buf, size_t size, bool *named);

/* The environment the configuration overlays: environ, or NULL under --no-env. */
char **fl_tool_env(const struct fl_tool *t);

/* Load the configuration by the one rule and apply its FL_LOG_FORMAT. 0, or FL_EXIT_FAIL with
 * the error (and, when no file was named, the --context/--env-only hint) logged. */
int fl_tool_load(const struct fl_tool *t, unsigned role, struct fl_ctx *c);

/* FL_LOG_FORMAT=json in c: log lines become JSON (the context, not the hook's environment,
 * usually sets it). */
void fl_tool_log_format(const struct fl_ctx *c);

/* The OPTIONS part of -h into b: "options:", the common options the tool takes, its own
 * options with help (in table order), one line each, the descriptions in one column. */
void fl_tool_help_options(const struct fl_tool *t, struct fl_buf *b);

/* An option's value as a number of seconds, fractions allowed (0 to 10^7), into *ms. 0, or
 * the usage error "TOOL: --flag 'x' is not a number of seconds; ..." and FL_EXIT_USAGE. */
int fl_tool_seconds(const struct fl_tool *t, const char *flag, const char *arg, uint64_t *ms);

/* An option's value as a whole number from min to max into *v; unit names what it counts
 * ("days", "seconds"; NULL: a count). 0, or the usage error "TOOL: --flag 'x' is not a number
 * of UNIT; give a whole number from MIN to MAX" and FL_EXIT_USAGE. */
int fl_tool_number(const struct fl_tool *t, const char *flag, const char *arg, long min, long max,
                   const char *unit, long *v);

/* An option's value that is one of names (NULL-terminated) into *out as its index. 0, or the
 * usage error "TOOL: unknown WHAT 'x': use A, B or C" and FL_EXIT_USAGE. */
int fl_tool_keyword(const struct fl_tool *t, const char *what, const char *arg, const char *const *names,
                    int *out);

/* The time the run works at into *now. test_clock (test builds only, FLKIT_TEST_CLOCK): a set
 * $FLKIT_NOW (seconds since the epoch) moves it, for tests of expiry. 0, or the usage error and
 * FL_EXIT_USAGE when $FLKIT_NOW is not such a number. */
int fl_tool_now(const struct fl_tool *t, bool test_clock, time_t *now);

/* An --owner UID:GID value: two numbers of digits only, below 2^31. 0, or -1 (*uid and *gid
 * untouched) when s is not one. */
int fl_tool_owner(const char *s, uid_t *uid, gid_t *gid);

void fl_tool_free(struct fl_tool *t);

#endif
