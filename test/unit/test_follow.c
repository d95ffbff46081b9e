/* test_follow: a followed log as lines: partial lines, a giant line in bounded memory, NUL
 * bytes, rotation by rename (nothing lost), copytruncate, a file that appears later, and what
 * is refused (a FIFO, a symbolic link, a directory). */
#include "fl_follow.h"
#include "fl_mevent.h"
#include "unit.h"
#include "unit_fs.h"

#include <fcntl.h>
#include <sys/stat.h>

/* The lines delivered, each as "<line>|" (or "<n bytes>T|" when truncated). */
static struct fl_buf got = FL_BUF_INIT;

static void on_line(void *arg, const char *line, size_t n, bool truncated)
{
	(void)arg;
	if (truncated)
		fl_buf_addf(&got, "<%zu>T|", n);
	else {
		fl_buf_add(&got, line, n);
		fl_buf_addc(&got, '|');
	}
}

static void append(const char *path, const char *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0 || write(fd, s, n) != (ssize_t)n)
		abort();
	close(fd);
}

static void appends(const char *path, const char *s)
{
	append(path, s, strlen(s));
}

static long poll_into(struct fl_follow *f)
{
	struct fl_err e = {0};
	fl_buf_reset(&got);
	return fl_follow_poll(f, on_line, NULL, &e);
}

static void test_lines(const char *dir)
{
	char *p = unit_path(dir, "a.log");
	struct fl_follow *f;
	struct fl_err e = {0};
	appends(p, "one\ntw");
	CHECK(fl_follow_open(&f, p, false, &e) == 0, "open a log");
	CHECK(poll_into(f) == 1 && strcmp(fl_buf_str(&got), "one|") == 0, "a partial line is kept");
	appends(p, "o\nthree\n");
	CHECK(poll_into(f) == 2 && strcmp(fl_buf_str(&got), "two|three|") == 0, "its rest completes it");
	CHECK(poll_into(f) == 0 && got.len == 0, "nothing new: nothing");
	append(p, "a\0b\n", 4);
	poll_into(f);
	CHECK(got.len == 4 && memcmp(got.data, "a\0b|", 4) == 0, "a NUL byte is data");
	appends(p, "tail");
	CHECK(poll_into(f) == 0, "a last line without its newline waits");
	fl_buf_reset(&got);
	fl_follow_flush(f, on_line, NULL);
	CHECK_STR(fl_buf_str(&got), "tail|", "flush: the partial last line becomes a line");
	fl_follow_close(f);

	appends(p, "\nlater\n");
	CHECK(fl_follow_open(&f, p, true, &e) == 0 && poll_into(f) == 0,
	      "from_end: what is there is skipped");
	appends(p, "new\n");
	CHECK(poll_into(f) == 1 && strcmp(fl_buf_str(&got), "new|") == 0,
	      "from_end: what comes after is read");
	fl_follow_close(f);
	free(p);
}

static void test_giant(const char *dir)
{
	char *p = unit_path(dir, "giant.log");
	size_t big = 3 * FL_MEVENT_LINE_MAX + 17;
	char *s = malloc(big);
	memset(s, 'x', big);
	appends(p, "before\n");
	append(p, s, big);
	struct fl_follow *f;
	struct fl_err e = {0};
	fl_follow_open(&f, p, false, &e);
	poll_into(f);
	char want[64];
	snprintf(want, sizeof want, "before|<%d>T|", FL_MEVENT_LINE_MAX);
	CHECK_STR(fl_buf_str(&got), want, "a line over the bound: delivered cut once, at the bound");
	append(p, s, 1000);
	appends(p, "\nafter\n");
	CHECK(poll_into(f) == 1 && strcmp(fl_buf_str(&got), "after|") == 0,
	      "its rest is skipped up to its newline");
	memset(s, 'z', big);
	append(p, s, FL_MEVENT_LINE_MAX + 100);
	appends(p, "\nok\n");
	poll_into(f);
	snprintf(want, sizeof want, "<%d>T|ok|", FL_MEVENT_LINE_MAX);
	CHECK_STR(fl_buf_str(&got), want, "a long line read whole into the buffer is cut too");
	CHECK(poll_into(f) == 0, "nothing more");
	memset(s, 'y', FL_MEVENT_LINE_MAX);
	append(p, s, FL_MEVENT_LINE_MAX);
	appends(p, "\n");
	poll_into(f);
	CHECK(got.len == FL_MEVENT_LINE_MAX + 1 && got.data[0] == 'y',
	      "a line of exactly the bound is whole");
	fl_follow_close(f);
	free(s);
	free(p);
}

static void test_rotation(const char *dir)
{
	char *p = unit_path(dir, "r.log"), *old = unit_path(dir, "r.log.1");
	struct fl_follow *f;
	struct fl_err e = {0};
	appends(p, "1\n");
	fl_follow_open(&f, p, false, &e);
	poll_into(f);
	/* The writer still writes the old file after the rename, then reopens. */
	appends(p, "2\n");
	rename(p, old);
	appends(old, "3\npart");
	CHECK(poll_into(f) == 2 && strcmp(fl_buf_str(&got), "2|3|") == 0,
	      "renamed, no new file yet: the old one read");
	appends(p, "4\n");
	struct fl_buf all = FL_BUF_INIT;
	fl_buf_adds(&all, fl_buf_str(&got));
	poll_into(f);
	fl_buf_adds(&all, fl_buf_str(&got));
	CHECK_STR(fl_buf_str(&all), "2|3|part|4|",
	          "rename rotation: the old file's rest, then the new file: nothing lost");
	fl_buf_free(&all);

	appends(p, "5\n6\n");
	poll_into(f);
	int fd = open(p, O_WRONLY | O_TRUNC);
	close(fd);
	appends(p, "7\n");
	CHECK(poll_into(f) == 1 && strcmp(fl_buf_str(&got), "7|") == 0,
	      "copytruncate: read again from the start");
	fl_follow_close(f);
	free(p);
	free(old);
}

static void test_refused(const char *dir)
{
	struct fl_follow *f = NULL;
	struct fl_err e = {0};
	char *later = unit_path(dir, "later.log");
	CHECK(fl_follow_open(&f, later, false, &e) == 0 && poll_into(f) == 0,
	      "a missing file is not an error");
	appends(later, "hello\n");
	CHECK(poll_into(f) == 1 && strcmp(fl_buf_str(&got), "hello|") == 0,
	      "it is read from its start once it appears");
	fl_follow_close(f);

	char *fifo = unit_path(dir, "fifo");
	mkfifo(fifo, 0600);
	CHECK(fl_follow_open(&f, fifo, false, &e) < 0 && strstr(e.msg, "is a FIFO") && strstr(e.msg, fifo),
	      "a FIFO is refused, named");
	char *link = unit_path(dir, "link");
	if (symlink(later, link) < 0)
		abort();
	fl_err_clear(&e);
	CHECK(fl_follow_open(&f, link, false, &e) < 0 && strstr(e.msg, "symbolic link") &&
	          strstr(e.msg, link),
	      "a symbolic link is refused, named");
	fl_err_clear(&e);
	CHECK(fl_follow_open(&f, dir, false, &e) < 0 && strstr(e.msg, "is a directory"),
	      "a directory is refused");
	fl_err_clear(&e);
	CHECK(fl_follow_open(&f, "/dev/null", false, &e) < 0 && strstr(e.msg, "is a device"),
	      "a device is refused");
	free(later);
	free(fifo);
	free(link);
}

int main(void)
{
	if (unit_fs_init("test_follow") < 0)
		return 1;
	test_lines(unit_root);
	test_giant(unit_root);
	test_rotation(unit_root);
	test_refused(unit_root);
	rm_all(unit_root);
	fl_buf_free(&got);
	return unit_done();
}
