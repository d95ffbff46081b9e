/* fl_kvlist: an ordered list of NAME=value assignments, as a context file holds them. */
#ifndef FL_KVLIST_H
#define FL_KVLIST_H

#include <stddef.h>

struct fl_kv {
	char *name;
	char *value;
	unsigned line; /* where the assignment starts, 1-based */
};

struct fl_kvlist {
	struct fl_kv *v;
	size_t n, cap;
};

#define FL_KVLIST_INIT                                                                                       \
	{                                                                                                    \
		NULL, 0, 0                                                                                   \
	}

/* Last assignment of name wins (one_env repeats VMID). NULL when absent. */
const char *fl_kvlist_get(const struct fl_kvlist *l, const char *name);
void fl_kvlist_add(struct fl_kvlist *l, const char *name, size_t nlen, const char *value, size_t vlen,
                   unsigned line);
void fl_kvlist_free(struct fl_kvlist *l);

#endif
