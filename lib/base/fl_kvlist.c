/* fl_kvlist: an ordered list of NAME=value assignments, as a context file holds them. */
#include "fl_kvlist.h"

#include "fl_buf.h"

#include <stdlib.h>
#include <string.h>

void fl_kvlist_add(struct fl_kvlist *l, const char *name, size_t nlen, const char *value, size_t vlen,
                   unsigned line)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = fl_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n].name = fl_xstrndup(name, nlen);
	l->v[l->n].value = fl_xstrndup(value, vlen);
	l->v[l->n].line = line;
	l->n++;
}

const char *fl_kvlist_get(const struct fl_kvlist *l, const char *name)
{
	for (size_t i = l->n; i-- > 0;)
		if (strcmp(l->v[i].name, name) == 0)
			return l->v[i].value;
	return NULL;
}

void fl_kvlist_free(struct fl_kvlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
