/* test_logscan: a service's output as untrusted bytes: the registration verdict (also across
 * the chunks of the backward file scan), escaping and tail. */
#include "fl_logscan.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define START "INFO :      Starting Flower SuperNode\n"
#define ID    "INFO :      SuperNode ID: 42\n"

static bool fd_verdict(const char *s, size_t n)
{
	int fd = memfd_create("test_logscan", MFD_CLOEXEC);
	if (fd < 0 || write(fd, s, n) != (ssize_t)n)
		abort();
	bool r = fl_logscan_registered_fd(fd);
	close(fd);
	return r;
}

static void test_verdict(void)
{
	CHECK_INT(fl_logscan_last("", 0), FL_LOGSCAN_NONE, "verdict: nothing");
	CHECK_INT(fl_logscan_last(START ID, sizeof START ID - 1), FL_LOGSCAN_REGISTERED,
	          "verdict: start, ID");
	const char nul[] = START ID "x\0y\n" START;
	CHECK_INT(fl_logscan_last(nul, sizeof nul - 1), FL_LOGSCAN_STARTED, "verdict: a NUL hides nothing");
	const char nodigit[] = START "SuperNode ID: x\n";
	CHECK_INT(fl_logscan_last(nodigit, sizeof nodigit - 1), FL_LOGSCAN_STARTED,
	          "verdict: 'SuperNode ID: ' needs a digit");
	const char glued[] = START ID "partial" START;
	CHECK_INT(fl_logscan_last(glued, sizeof glued - 1), FL_LOGSCAN_STARTED,
	          "verdict: a start glued to a partial line counts");
}

/* A start or an ID placed across every offset near the 64 KiB chunk boundary of the backward
 * scan: the file verdict is the whole-buffer verdict. */
static void test_chunks(void)
{
	const size_t size = 200 * 1024;
	char *buf = malloc(size);
	int bad = 0;
	for (size_t at = size - 64 * 1024 - 40; at < size - 64 * 1024 + 40; at++) {
		for (int which = 0; which < 2; which++) {
			memset(buf, 'x', size);
			memcpy(buf, START ID, sizeof START ID - 1);
			const char *pat = which ? START : ID;
			memcpy(buf + at, pat, strlen(pat));
			bool want = fl_logscan_last(buf, size) == FL_LOGSCAN_REGISTERED;
			if (fd_verdict(buf, size) != want || want != (which == 0))
				bad++;
		}
	}
	CHECK_INT(bad, 0, "chunks: a line cut by the chunk boundary is seen whole");
	memset(buf, 'x', size);
	memcpy(buf, START ID, sizeof START ID - 1);
	CHECK(fd_verdict(buf, size), "chunks: an ID 200 KiB back, no start after it: registered");
	memcpy(buf + size - (sizeof START - 1), START, sizeof START - 1);
	CHECK(!fd_verdict(buf, size), "chunks: a start at the very end: not registered");
	free(buf);
}

static void test_escape(void)
{
	struct fl_buf b = FL_BUF_INIT;
	const char in[] = "a\0b\tc\x1b[1;31md\x1b]0;t\x07"
	                  "e\\f\xff\xc2\x9b\xc3\xa9\x7f\x1b[";
	fl_logscan_escape(&b, in, sizeof in - 1);
	CHECK_STR(fl_buf_str(&b), "a\\x00b\tcd\\e]0;t\\x07e\\\\f\\xff\\xc2\\x9b\xc3\xa9\\x7f\\e[",
	          "escape: NUL, OSC, backslash, invalid UTF-8, C1, DEL escaped; CSI colours dropped");
	fl_buf_free(&b);

	fl_logscan_tail("1\n2\n3\n\n", 7, 2, &b);
	CHECK_STR(fl_buf_str(&b), "2\n3\n", "tail: the last lines, the final newlines do not count");
	fl_buf_free(&b);
	fl_logscan_tail("1\0002\n3", 5, 5, &b);
	CHECK_STR(fl_buf_str(&b), "1\\x002\n3\n", "tail: a NUL does not end the output");
	fl_buf_free(&b);
}

int main(void)
{
	test_verdict();
	test_chunks();
	test_escape();
	return unit_done();
}
