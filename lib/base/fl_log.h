/* fl_log: the one log line format of every tool, text or JSON, always on stderr. */
#ifndef FL_LOG_H
#define FL_LOG_H

#include <stdio.h>

enum fl_level { FL_DEBUG, FL_INFO, FL_WARN, FL_ERROR, FL_FATAL };

/* tool: "fl-context" etc. Reads FL_LOG_FORMAT (or ONEAPP_FL_LOG_FORMAT) for json. */
void fl_log_init(const char *tool);
void fl_log_set_json(int on);
void fl_log_set_threshold(enum fl_level min);
/* Where lines go (tests); NULL restores stderr. */
void fl_log_set_stream(FILE *f);
const char *fl_log_level_name(enum fl_level l);

/* Messages may carry untrusted values: control characters are escaped so one call is
 * always exactly one line. */
void fl_log(enum fl_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Log e's message as an error and return its exit code (FL_EXIT_FAIL when unset): what
 * every command does with a failed library call. */
struct fl_err;
int fl_log_err(const struct fl_err *e);

#define fl_debug(...) fl_log(FL_DEBUG, __VA_ARGS__)
#define fl_info(...)  fl_log(FL_INFO, __VA_ARGS__)
#define fl_warn(...)  fl_log(FL_WARN, __VA_ARGS__)
#define fl_error(...) fl_log(FL_ERROR, __VA_ARGS__)
#define fl_fatal(...) fl_log(FL_FATAL, __VA_ARGS__)

#endif
