/* fuzz_logscan: libFuzzer target for a service's output read as untrusted bytes (fl_logscan):
 * the escaped form never holds a control character but tab and newline, `tail` keeps at most
 * the lines asked, and the registration verdict read backwards from a file in chunks is the
 * verdict of the whole output.
 *
 * Input: the first byte is the number of lines asked of tail, the rest is the output. */
#include "fuzz.h"
#include "fl_buf.h"
#include "fl_logscan.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void printable(const struct fl_buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];
		REQUIRE(c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f));
		/* No C1 control: U+0080-U+009F is C2 80..C2 9F in UTF-8. */
		REQUIRE(!(c == 0xc2 && i + 1 < b->len && (unsigned char)b->data[i + 1] < 0xa0));
	}
	REQUIRE(!b->data || strlen(b->data) == b->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned lines = data[0];
	const char *s = (const char *)data + 1;
	size_t n = size - 1;

	struct fl_buf esc = FL_BUF_INIT;
	fl_logscan_escape(&esc, s, n);
	printable(&esc);
	fl_buf_free(&esc);

	struct fl_buf tail = FL_BUF_INIT;
	fl_logscan_tail(s, n, lines, &tail);
	printable(&tail);
	size_t nl = 0;
	for (size_t i = 0; i < tail.len; i++)
		nl += tail.data[i] == '\n';
	REQUIRE(nl <= lines);
	REQUIRE(tail.len == 0 || tail.data[tail.len - 1] == '\n');
	fl_buf_free(&tail);

	int fd = memfd_create("fuzz_logscan", MFD_CLOEXEC);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, s, n) == (ssize_t)n);
	REQUIRE(fl_logscan_registered_fd(fd) == (fl_logscan_last(s, n) == FL_LOGSCAN_REGISTERED));
	close(fd);
	return 0;
}
