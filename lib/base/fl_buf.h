/* fl_buf: growable byte buffer, always NUL-terminated, for building output and files. */
#ifndef FL_BUF_H
#define FL_BUF_H

#include <stddef.h>

struct fl_buf {
	char *data; /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

#define FL_BUF_INIT                                                                                          \
	{                                                                                                    \
		NULL, 0, 0                                                                                   \
	}

/* All appends abort() on allocation failure: a tool that cannot allocate a few KiB
 * cannot report anything useful either. */
void fl_buf_add(struct fl_buf *b, const void *p, size_t n);
void fl_buf_adds(struct fl_buf *b, const char *s);
void fl_buf_addc(struct fl_buf *b, char c);
void fl_buf_addf(struct fl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a single-quoted shell word: 'it'\''s'. */
void fl_buf_add_sq(struct fl_buf *b, const char *s);
/* Append s as a double-quoted string valid in both JSON and TOML: control characters are
 * escaped and invalid UTF-8 bytes become U+FFFD. */
void fl_buf_add_dq(struct fl_buf *b, const char *s);
/* Length of the valid UTF-8 sequence at p (1-4), or 0 when there is none. */
size_t fl_buf_utf8_seqlen(const unsigned char *p);
const char *fl_buf_str(const struct fl_buf *b); /* "" when empty */
void fl_buf_reset(struct fl_buf *b);
void fl_buf_free(struct fl_buf *b);

char *fl_xstrdup(const char *s);
char *fl_xstrndup(const char *s, size_t n);
void *fl_xcalloc(size_t n, size_t size);
void *fl_xrealloc(void *p, size_t size);

#endif
