/* fl_err: error values filled by libfl, printed only by cmd/. */
#ifndef FL_ERR_H
#define FL_ERR_H

#include <stddef.h>

/* Exit codes shared by every tool (design decision 4). */
enum {
	FL_EXIT_OK = 0,
	FL_EXIT_FAIL = 1,
	FL_EXIT_USAGE = 2,
	FL_EXIT_UNAVAILABLE = 3,
	FL_EXIT_TIMEOUT = 4,
};

struct fl_err {
	int code;       /* one of FL_EXIT_* */
	char msg[1024]; /* what failed, the value, what to do */
};

/* Fill e (if not NULL) and return -1 so callers can `return fl_err_set(...)`. */
int fl_err_set(struct fl_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same, appending ": strerror(errnum)". */
int fl_err_sys(struct fl_err *e, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Put "FMT: " before e's message and set its code: the caller says where the failure happened
 * ("GET /vm: ..."). Returns -1. */
int fl_err_prefix(struct fl_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Append FMT to e's message (what to do about it: "; set X"). Returns -1. */
int fl_err_append(struct fl_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fl_err_clear(struct fl_err *e);

#endif
