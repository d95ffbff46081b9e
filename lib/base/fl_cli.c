/* fl_cli: rules every tool's front end shares: which verbs an option belongs to. */
#include "fl_cli.h"

#include <stdio.h>
#include <string.h>

bool fl_cli_verb_in(const char *verbs, const char *verb)
{
	size_t n = strlen(verb);
	for (const char *p = verbs; *p;) {
		size_t k = strcspn(p, "|");
		if (k == n && strncmp(p, verb, n) == 0)
			return true;
		p += k + (p[k] == '|');
	}
	return false;
}

const struct fl_cli_verbopt *fl_cli_find(const struct fl_cli_verbopt *t, size_t nt, int ch)
{
	for (size_t i = 0; i < nt; i++)
		if (t[i].ch == ch)
			return &t[i];
	return NULL;
}

const struct fl_cli_verbopt *fl_cli_foreign(const struct fl_cli_verbopt *t, size_t nt, const int *seen,
                                            size_t n, const char *verb)
{
	for (size_t i = 0; i < n; i++) {
		const struct fl_cli_verbopt *o = fl_cli_find(t, nt, seen[i]);
		if (o && !fl_cli_verb_in(o->verbs, verb))
			return o;
	}
	return NULL;
}

void fl_cli_foreign_print(const char *tool, const struct fl_cli_verbopt *f, const char *verb,
                          const char *usage)
{
	size_t n = 1;
	for (const char *p = f->verbs; *p; p++)
		n += *p == '|';
	fprintf(stderr, "%s: %s is an option of ", tool, f->name);
	const char *p = f->verbs;
	for (size_t i = 0; i < n; i++) {
		size_t k = strcspn(p, "|");
		fprintf(stderr, "%s%.*s", i == 0 ? "" : i == n - 1 ? " or " : ", ", (int)k, p);
		p += k + (p[k] == '|');
	}
	fprintf(stderr, ", not of %s\n%s", verb, usage);
}
