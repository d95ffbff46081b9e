/* fl_err: error values filled by libfl, printed only by cmd/. */
#include "fl_err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int fl_err_set(struct fl_err *e, int code, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
		e->code = code;
	}
	return -1;
}

int fl_err_sys(struct fl_err *e, int errnum, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < sizeof e->msg)
			snprintf(e->msg + n, sizeof e->msg - (size_t)n, ": %s", strerror(errnum));
		e->code = FL_EXIT_FAIL;
	}
	return -1;
}

void fl_err_clear(struct fl_err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}
