/* fl_diags: a list of diagnostics (a level and a message each) that library code fills and a
 * tool prints or inspects: validation, certificate and launch decisions report through it. */
#ifndef FL_DIAGS_H
#define FL_DIAGS_H

#include "fl_log.h"

#include <stddef.h>

struct fl_diag {
	enum fl_level level;
	char *msg;
};

struct fl_diags {
	struct fl_diag *v;
	size_t n, cap;
	unsigned errors; /* how many have level FL_ERROR or above */
};

#define FL_DIAGS_INIT                                                                                        \
	{                                                                                                    \
		NULL, 0, 0, 0                                                                                \
	}

void fl_diags_add(struct fl_diags *d, enum fl_level l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fl_diags_free(struct fl_diags *d);
/* Log every diagnostic at its level, then free them. */
void fl_diags_log(struct fl_diags *d);

#endif
