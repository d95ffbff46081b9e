/* fl_buf: growable byte buffer, always NUL-terminated, for building output and files. */
#include "fl_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *fl_xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);
	if (!q)
		abort();
	return q;
}

void *fl_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		abort();
	return p;
}

char *fl_xstrndup(const char *s, size_t n)
{
	char *p = fl_xrealloc(NULL, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *fl_xstrdup(const char *s)
{
	return fl_xstrndup(s, strlen(s));
}

static void grow(struct fl_buf *b, size_t extra)
{
	if (extra > (size_t)-1 / 2 - b->len)
		abort();
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = fl_xrealloc(b->data, cap);
	b->cap = cap;
}

void fl_buf_add(struct fl_buf *b, const void *p, size_t n)
{
	grow(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void fl_buf_adds(struct fl_buf *b, const char *s)
{
	fl_buf_add(b, s, strlen(s));
}

void fl_buf_addc(struct fl_buf *b, char c)
{
	fl_buf_add(b, &c, 1);
}

void fl_buf_addf(struct fl_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void fl_buf_add_sq(struct fl_buf *b, const char *s)
{
	fl_buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			fl_buf_adds(b, "'\\''");
		else
			fl_buf_addc(b, *s);
	}
	fl_buf_addc(b, '\'');
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one. */
size_t fl_buf_utf8_seqlen(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n;
	unsigned int cp;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Reject overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

void fl_buf_add_dq(struct fl_buf *b, const char *s)
{
	fl_buf_addc(b, '"');
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		switch (*p) {
		case '"':
			fl_buf_adds(b, "\\\"");
			p++;
			continue;
		case '\\':
			fl_buf_adds(b, "\\\\");
			p++;
			continue;
		case '\n':
			fl_buf_adds(b, "\\n");
			p++;
			continue;
		case '\r':
			fl_buf_adds(b, "\\r");
			p++;
			continue;
		case '\t':
			fl_buf_adds(b, "\\t");
			p++;
			continue;
		default: break;
		}
		if (*p < 0x20 || *p == 0x7f) {
			fl_buf_addf(b, "\\u%04x", *p);
			p++;
			continue;
		}
		size_t n = fl_buf_utf8_seqlen(p);
		if (n == 0) {
			/* Both JSON and TOML need valid UTF-8: replace the stray byte. */
			fl_buf_adds(b, "\\ufffd");
			p++;
			continue;
		}
		fl_buf_add(b, p, n);
		p += n;
	}
	fl_buf_addc(b, '"');
}

const char *fl_buf_str(const struct fl_buf *b)
{
	return b->data ? b->data : "";
}

void fl_buf_reset(struct fl_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void fl_buf_free(struct fl_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
