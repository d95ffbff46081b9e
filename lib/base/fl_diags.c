/* fl_diags: the diagnostics list: add, log, free. */
#include "fl_diags.h"

#include "fl_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_diags_add(struct fl_diags *d, enum fl_level l, const char *fmt, ...)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->v = fl_xrealloc(d->v, d->cap * sizeof *d->v);
	}
	va_list ap;
	va_start(ap, fmt);
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		abort();
	va_end(ap);
	d->v[d->n].level = l;
	d->v[d->n].msg = m;
	d->n++;
	if (l >= FL_ERROR)
		d->errors++;
}

void fl_diags_free(struct fl_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	memset(d, 0, sizeof *d);
}

void fl_diags_log(struct fl_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		fl_log(d->v[i].level, "%s", d->v[i].msg);
	fl_diags_free(d);
}
