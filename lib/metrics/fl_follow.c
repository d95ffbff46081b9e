/* fl_follow: a growing log file as lines, through rotation and truncation, in bounded memory. */
#include "fl_follow.h"

#include "fl_buf.h"
#include "fl_mevent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK      ((size_t)64 * 1024)
#define LINE_BOUND ((size_t)FL_MEVENT_LINE_MAX)

struct fl_follow {
	char *path;
	int fd; /* -1: not open (the path does not exist yet) */
	bool is_stdin;
	dev_t dev;
	ino_t ino;
	off_t off;     /* bytes read from the open file */
	bool skipping; /* inside a line that was too long: drop up to its newline */
	size_t len;    /* bytes of the partial line in buf */
	char buf[];    /* FL_MEVENT_LINE_MAX + CHUNK */
};

static const char *kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/* Open f->path: 0 (opened, or it does not exist yet: fd -1), or -1 with e. */
static int open_path(struct fl_follow *f, bool at_end, struct fl_err *e)
{
	int fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			return fl_err_set(e, 1, "%s: is a symbolic link; name the log file itself", f->path);
		return fl_err_sys(e, errno, "%s: cannot open the log", f->path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int err = errno;
		close(fd);
		return fl_err_sys(e, err, "%s: cannot stat the log", f->path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fl_err_set(e, 1,
		                  "%s: is %s; name a regular log file (a Docker json-file log or a file the "
		                  "service writes)",
		                  f->path, kind(st.st_mode));
	}
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->off = at_end ? st.st_size : 0;
	if (at_end && lseek(fd, f->off, SEEK_SET) < 0)
		f->off = 0;
	f->len = 0;
	f->skipping = false;
	return 0;
}

int fl_follow_open(struct fl_follow **out, const char *path, bool from_end, struct fl_err *e)
{
	struct fl_follow *f = fl_xcalloc(1, sizeof *f + LINE_BOUND + CHUNK);
	f->path = fl_xstrdup(path);
	f->fd = -1;
	if (strcmp(path, "-") == 0) {
		/* A one-shot parse of standard input: read to its end. */
		f->is_stdin = true;
		f->fd = STDIN_FILENO;
	} else if (open_path(f, from_end, e) < 0) {
		fl_follow_close(f);
		return -1;
	}
	*out = f;
	return 0;
}

/* Deliver the complete lines of buf (and cut one that is too long); keep the partial tail. */
static long split(struct fl_follow *f, fl_follow_line_fn fn, void *arg)
{
	long lines = 0;
	size_t start = 0;
	for (;;) {
		char *nl = memchr(f->buf + start, '\n', f->len - start);
		if (!nl)
			break;
		size_t n = (size_t)(nl - (f->buf + start));
		if (!f->skipping) {
			/* A whole long line can fit in the buffer: it is cut all the same. */
			fn(arg, f->buf + start, n > LINE_BOUND ? LINE_BOUND : n, n > LINE_BOUND);
			lines++;
		}
		f->skipping = false;
		start += n + 1;
	}
	size_t rest = f->len - start;
	if (f->skipping)
		rest = 0; /* still inside the long line */
	else if (rest > LINE_BOUND) {
		fn(arg, f->buf + start, LINE_BOUND, true);
		lines++;
		f->skipping = true;
		rest = 0;
	}
	memmove(f->buf, f->buf + f->len - rest, rest);
	f->len = rest;
	return lines;
}

/* Read fd to its current end. */
static long drain(struct fl_follow *f, fl_follow_line_fn fn, void *arg, struct fl_err *e)
{
	long lines = 0;
	for (;;) {
		ssize_t r = read(f->fd, f->buf + f->len, CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return lines;
		if (r < 0)
			return fl_err_sys(e, errno, "%s: cannot read the log", f->path);
		if (r == 0)
			return lines;
		f->off += r;
		f->len += (size_t)r;
		lines += split(f, fn, arg);
	}
}

long fl_follow_poll(struct fl_follow *f, fl_follow_line_fn fn, void *arg, struct fl_err *e)
{
	if (f->is_stdin)
		return drain(f, fn, arg, e);
	if (f->fd < 0) {
		if (open_path(f, false, e) < 0)
			return -1;
		if (f->fd < 0)
			return 0; /* not there yet */
	}
	long lines = 0;
	struct stat st;
	if (stat(f->path, &st) == 0 && (st.st_ino != f->ino || st.st_dev != f->dev)) {
		/* Renamed away and a new file in its place: the old one's rest first. */
		long n = drain(f, fn, arg, e);
		if (n < 0)
			return -1;
		fl_follow_flush(f, fn, arg);
		close(f->fd);
		f->fd = -1;
		if (open_path(f, false, e) < 0)
			return -1;
		if (f->fd < 0)
			return n;
		lines = n;
	}
	if (fstat(f->fd, &st) == 0 && st.st_size < f->off) {
		/* Copied and truncated in place: what it holds now is new. */
		f->off = 0;
		f->len = 0;
		f->skipping = false;
		if (lseek(f->fd, 0, SEEK_SET) < 0)
			return fl_err_sys(e, errno, "%s: cannot seek the truncated log", f->path);
	}
	long n = drain(f, fn, arg, e);
	return n < 0 ? -1 : lines + n;
}

void fl_follow_flush(struct fl_follow *f, fl_follow_line_fn fn, void *arg)
{
	if (f->len > 0 && !f->skipping)
		fn(arg, f->buf, f->len, false);
	f->len = 0;
	f->skipping = false;
}

void fl_follow_close(struct fl_follow *f)
{
	if (!f)
		return;
	if (f->fd >= 0 && !f->is_stdin)
		close(f->fd);
	free(f->path);
	free(f);
}
