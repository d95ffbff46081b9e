/* fl_follow: read a growing log file line by line, as `tail -F` would, but as data: survives
 * rotation by rename (a new inode at the path: the old file is read to its end first) and by
 * copytruncate (the size drops below the offset: read again from 0), keeps a partial last line
 * until its newline arrives, and bounds memory: a line longer than FL_MEVENT_LINE_MAX is
 * delivered truncated once (flagged) and the rest of it skipped. NUL bytes are data. Opens
 * with O_NOFOLLOW|O_NONBLOCK and refuses what is not a regular file (a FIFO, a device). */
#ifndef FL_FOLLOW_H
#define FL_FOLLOW_H

#include "fl_err.h"

#include <stdbool.h>
#include <stddef.h>

struct fl_follow;

/* One complete line (without its newline); truncated: longer than the bound, cut. */
typedef void (*fl_follow_line_fn)(void *arg, const char *line, size_t n, bool truncated);

/* Follow path from its start (from_end: from its current end). A path that does not exist
 * yet is not an error: it is opened when it appears. 0, or -1 with e (not a regular file,
 * permission). */
int fl_follow_open(struct fl_follow **f, const char *path, bool from_end, struct fl_err *e);

/* Deliver every complete line available now (the partial tail kept). Returns the number of
 * lines, or -1 with e on a read error (the follower stays usable). */
long fl_follow_poll(struct fl_follow *f, fl_follow_line_fn fn, void *arg, struct fl_err *e);

/* At the end of input (a one-shot parse): the partial last line, if any, as a line. */
void fl_follow_flush(struct fl_follow *f, fl_follow_line_fn fn, void *arg);

void fl_follow_close(struct fl_follow *f);

#endif
