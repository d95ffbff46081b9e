/* fl_logscan: a Flower service's output read as untrusted bytes: shown escaped, and the one
 * question health asks of it (registered since the last start?) answered without trusting it.
 *
 * What is trusted, and why: user code (ClientApps) writes to the same output as Flower, so
 * any line can be forged. But user code only runs once the SuperNode has registered, so
 * between a start and the registration only Flower writes. Hence: the last start line (found
 * anywhere, even glued to a partial line) ends every earlier registration, and a
 * registration counts only when no start line follows it. A forged start line can only make
 * health say "not registered" (never the reverse); a forged registration can only follow a
 * real one. NUL bytes, invalid UTF-8, escapes and long lines are plain bytes here. */
#include "fl_logscan.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK ((size_t)64 * 1024)

/* The last occurrence of a registration: "SuperNode ID: " then a digit. */
static const char *last_id(const char *s, size_t n)
{
	const size_t k = sizeof FL_LOGSCAN_ID - 1;
	const char *best = NULL, *p = s, *end = s + n;
	while ((size_t)(end - p) > k && (p = memmem(p, (size_t)(end - p), FL_LOGSCAN_ID, k)) != NULL) {
		if ((size_t)(end - p) > k && p[k] >= '0' && p[k] <= '9')
			best = p;
		p++;
	}
	return best;
}

static const char *last_start(const char *s, size_t n)
{
	const size_t k = sizeof FL_LOGSCAN_START - 1;
	const char *best = NULL, *p = s, *end = s + n;
	while ((size_t)(end - p) >= k && (p = memmem(p, (size_t)(end - p), FL_LOGSCAN_START, k)) != NULL)
		best = p++;
	return best;
}

enum fl_logscan_verdict fl_logscan_last(const char *s, size_t n)
{
	const char *st = last_start(s, n), *id = last_id(s, n);
	if (!st && !id)
		return FL_LOGSCAN_NONE;
	return id && (!st || id > st) ? FL_LOGSCAN_REGISTERED : FL_LOGSCAN_STARTED;
}

bool fl_logscan_registered_fd(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	/* Chunks overlap by enough that a line cut by a chunk boundary is seen whole once. */
	const size_t overlap =
	    sizeof FL_LOGSCAN_START > sizeof FL_LOGSCAN_ID ? sizeof FL_LOGSCAN_START : sizeof FL_LOGSCAN_ID;
	static char buf[CHUNK + sizeof FL_LOGSCAN_START + sizeof FL_LOGSCAN_ID];
	off_t pos = st.st_size;
	while (pos > 0) {
		off_t from = pos > (off_t)CHUNK ? pos - (off_t)CHUNK : 0;
		size_t want = (size_t)(pos - from) + overlap;
		if ((off_t)want > st.st_size - from)
			want = (size_t)(st.st_size - from);
		size_t got = 0;
		while (got < want) {
			ssize_t r = pread(fd, buf + got, want - got, from + (off_t)got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		enum fl_logscan_verdict v = fl_logscan_last(buf, got);
		if (v != FL_LOGSCAN_NONE)
			return v == FL_LOGSCAN_REGISTERED;
		pos = from;
	}
	return false;
}

/* Length of a complete CSI sequence at s (ESC [ params intermediates final), or 0. */
static size_t csi_len(const unsigned char *s, size_t n)
{
	if (n < 3 || s[0] != 0x1b || s[1] != '[')
		return 0;
	size_t i = 2;
	while (i < n && s[i] >= 0x30 && s[i] <= 0x3f)
		i++;
	while (i < n && s[i] >= 0x20 && s[i] <= 0x2f)
		i++;
	return i < n && s[i] >= 0x40 && s[i] <= 0x7e ? i + 1 : 0;
}

void fl_logscan_escape(struct fl_buf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t csi = csi_len(p + i, n - i);
		if (csi) {
			i += csi;
			continue;
		}
		if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f && c != '\\')) {
			fl_buf_addc(out, (char)c);
			i++;
			continue;
		}
		if (c == '\\') {
			fl_buf_adds(out, "\\\\");
			i++;
			continue;
		}
		if (c == 0x1b) {
			fl_buf_adds(out, "\\e");
			i++;
			continue;
		}
		if (c >= 0x80) {
			/* fl_buf_utf8_seqlen reads up to 4 bytes: give it a padded copy. */
			unsigned char q[5] = {0};
			memcpy(q, p + i, n - i < 4 ? n - i : 4);
			size_t k = fl_buf_utf8_seqlen(q);
			/* C1 controls (U+0080-U+009F, e.g. U+009B = CSI) act on terminals too. */
			if (k && !(k == 2 && q[0] == 0xc2 && q[1] < 0xa0)) {
				fl_buf_add(out, p + i, k);
				i += k;
				continue;
			}
		}
		fl_buf_addf(out, "\\x%02x", c);
		i++;
	}
}

void fl_logscan_tail(const char *s, size_t n, unsigned max_lines, struct fl_buf *out)
{
	while (n && s[n - 1] == '\n')
		n--;
	if (!n || !max_lines)
		return;
	size_t start = n;
	for (unsigned lines = 0; start > 0; start--)
		if (s[start - 1] == '\n' && ++lines == max_lines)
			break;
	fl_logscan_escape(out, s + start, n - start);
	fl_buf_addc(out, '\n');
}
