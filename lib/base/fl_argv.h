/* fl_argv: NULL-terminated argument vectors, built one word at a time (never a shell string). */
#ifndef FL_ARGV_H
#define FL_ARGV_H

#include <stddef.h>

struct fl_argv {
	char **v; /* NULL-terminated */
	size_t n;
	size_t cap;
};

#define FL_ARGV_INIT                                                                                         \
	{                                                                                                    \
		NULL, 0, 0                                                                                   \
	}

void fl_argv_add(struct fl_argv *a, const char *s);
void fl_argv_addf(struct fl_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fl_argv_free(struct fl_argv *a);

#endif
