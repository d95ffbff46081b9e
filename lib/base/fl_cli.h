/* fl_cli: rules every tool's front end shares: which verbs an option belongs to. */
#ifndef FL_CLI_H
#define FL_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* An option that only some verbs take. verbs: the verbs separated by '|' ("vm show|discover"). */
struct fl_cli_verbopt {
	int ch;           /* what getopt_long returns for it */
	const char *name; /* as the user knows it: "--cardinality" */
	const char *verbs;
};

/* The options given (seen, the getopt codes in order, n of them) that verb does not take: the
 * first such entry of t, or NULL when all belong to verb (or to every verb: not in t). */
const struct fl_cli_verbopt *fl_cli_foreign(const struct fl_cli_verbopt *t, size_t nt, const int *seen,
                                            size_t n, const char *verb);

/* The entry of t for ch, or NULL: an option every verb takes. */
const struct fl_cli_verbopt *fl_cli_find(const struct fl_cli_verbopt *t, size_t nt, int ch);

/* verb is one of the '|'-separated verbs. */
bool fl_cli_verb_in(const char *verbs, const char *verb);

/* The usage error for f given to verb: "TOOL: --json is an option of vm show or discover, not
 * of get", then the usage text, on stderr. */
void fl_cli_foreign_print(const char *tool, const struct fl_cli_verbopt *f, const char *verb,
                          const char *usage);

#endif
