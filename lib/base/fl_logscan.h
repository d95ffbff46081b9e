/* fl_logscan: a Flower service's output read as untrusted bytes: shown escaped, and the one
 * question health asks of it (registered since the last start?) answered without trusting it. */
#ifndef FL_LOGSCAN_H
#define FL_LOGSCAN_H

#include "fl_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What Flower prints when a SuperNode starts, and when it has registered. */
#define FL_LOGSCAN_START "Starting Flower SuperNode"
#define FL_LOGSCAN_ID    "SuperNode ID: "

enum fl_logscan_verdict {
	FL_LOGSCAN_NONE = 0,       /* neither line in the bytes given */
	FL_LOGSCAN_STARTED = -1,   /* the last of the two is a start: not registered since */
	FL_LOGSCAN_REGISTERED = 1, /* the last of the two is a registration ("SuperNode ID: " digit) */
};

/* Which of the two lines comes last in s[0..n). Bytes, not a C string: NUL, invalid UTF-8
 * and escapes are data. */
enum fl_logscan_verdict fl_logscan_last(const char *s, size_t n);

/* Registered since the last start, reading the regular file fd backwards from its end in
 * bounded chunks (memory does not grow with the file); no start line in the whole file means
 * the file holds one run only (the process runtime rotates it at each start of its own). */
bool fl_logscan_registered_fd(int fd);

/* Append s[0..n) to out, printable: tab and newline kept, well-formed CSI sequences (colours)
 * dropped, ESC as \e, a backslash as \\, any other control character, DEL, C1 control and
 * byte that is not valid UTF-8 as \xNN. */
void fl_logscan_escape(struct fl_buf *out, const char *s, size_t n);

/* The last max_lines lines of s[0..n) (a final newline does not start an empty line),
 * escaped, each ended by a newline. */
void fl_logscan_tail(const char *s, size_t n, unsigned max_lines, struct fl_buf *out);

#endif
