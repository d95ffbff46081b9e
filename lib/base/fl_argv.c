/* fl_argv: NULL-terminated argument vectors, built one word at a time (never a shell string). */
#include "fl_argv.h"

#include "fl_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void fl_argv_add(struct fl_argv *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->v = fl_xrealloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n++] = fl_xstrdup(s);
	a->v[a->n] = NULL;
}

void fl_argv_addf(struct fl_argv *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	fl_argv_add(a, s);
	free(s);
}

void fl_argv_free(struct fl_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}
