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

int fl_err_prefix(struct fl_err *e, int code, const char *fmt, ...)
{
	if (e) {
		char old[sizeof e->msg];
		snprintf(old, sizeof old, "%s", e->msg);
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
		size_t at = n < 0 ? 0 : (size_t)n;
		if (at + 2 < sizeof e->msg) { /* the old message, cut to what still fits */
			memcpy(e->msg + at, ": ", 2);
			at += 2;
			size_t k = strnlen(old, sizeof e->msg - 1 - at);
			memcpy(e->msg + at, old, k);
			e->msg[at + k] = '\0';
		}
		e->code = code;
	}
	return -1;
}

int fl_err_append(struct fl_err *e, const char *fmt, ...)
{
	if (e) {
		size_t n = strlen(e->msg);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg + n, sizeof e->msg - n, fmt, ap);
		va_end(ap);
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
