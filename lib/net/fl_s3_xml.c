/* fl_s3_xml: the few elements of S3's XML replies, read by a bounded strict scanner. */
#include "fl_s3.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Refused outright: a body over the bound, NUL bytes, and markup this scanner does not speak
 * (DOCTYPE, comments, CDATA), so that no text can hide an element from it. */
static bool doc_ok(const char *xml, size_t len)
{
	return xml && len <= FL_S3_XML_MAX && !memchr(xml, '\0', len) && !memmem(xml, len, "<!", 2);
}

static int put_utf8(unsigned long cp, char *out, size_t size, size_t *o)
{
	unsigned char u[4];
	size_t n;
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return -1;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xC0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xE0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xF0 | (cp >> 18));
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	if (*o + n >= size)
		return -1;
	memcpy(out + *o, u, n);
	*o += n;
	return 0;
}

/* One entity at s (after '&', up to and including ';'): its length, or 0 when unknown. */
static size_t entity(const char *s, size_t n, char *out, size_t size, size_t *o)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
		size_t k = strlen(named[i].name);
		if (n >= k && memcmp(s, named[i].name, k) == 0) {
			if (*o + 1 >= size)
				return 0;
			out[(*o)++] = named[i].c;
			return k;
		}
	}
	if (n < 3 || s[0] != '#')
		return 0;
	bool hex = s[1] == 'x';
	unsigned long cp = 0;
	size_t i = hex ? 2 : 1, start = i;
	for (; i < n && i < start + 8 && s[i] != ';'; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'          ? c - '0'
		        : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
		                                      : -1;
		if (d < 0)
			return 0;
		cp = cp * (hex ? 16 : 10) + (unsigned long)d;
	}
	if (i == start || i >= n || s[i] != ';' || put_utf8(cp, out, size, o) < 0)
		return 0;
	return i + 1;
}

/* The text between <tag> and </tag> inside [xml, xml+len): its bounds, or NULL. */
static const char *find(const char *xml, size_t len, const char *tag, size_t *tlen)
{
	char open[80], close[81];
	size_t k = strlen(tag);
	if (k == 0 || k > 70)
		return NULL;
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	const char *a = memmem(xml, len, open, k + 2);
	if (!a)
		return NULL;
	a += k + 2;
	const char *b = memmem(a, len - (size_t)(a - xml), close, k + 3);
	if (!b)
		return NULL;
	*tlen = (size_t)(b - a);
	return a;
}

static int unescape(const char *s, size_t n, char *out, size_t size)
{
	size_t o = 0;
	if (size == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '<' || s[i] == '>')
			return -1; /* an element inside: not a text element */
		if (s[i] == '&') {
			size_t k = entity(s + i + 1, n - i - 1, out, size, &o);
			if (k == 0)
				return -1;
			i += k;
			continue;
		}
		if (o + 1 >= size)
			return -1;
		out[o++] = s[i];
	}
	out[o] = '\0';
	return 0;
}

int fl_s3_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t size)
{
	size_t n;
	if (!doc_ok(xml, len))
		return -1;
	const char *t = find(xml, len, tag, &n);
	return t ? unescape(t, n, out, size) : -1;
}

int fl_s3_xml_error(const char *xml, size_t len, char *out, size_t size)
{
	char code[128], msg[512];
	bool hc = fl_s3_xml_text(xml, len, "Code", code, sizeof code) == 0;
	bool hm = fl_s3_xml_text(xml, len, "Message", msg, sizeof msg) == 0;
	if (!hc && !hm)
		return -1;
	/* The store's words reach a terminal: nothing but printable ASCII and UTF-8 of them. */
	for (char *p = code; hc && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	for (char *p = msg; hm && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	snprintf(out, size, "%s%s%s", hc ? code : "", hc && hm ? ": " : "", hm ? msg : "");
	return 0;
}

static int number(const char *s, long long max, long long *v)
{
	if (!*s || strlen(s) > 19)
		return -1;
	long long x = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (max - (*s - '0')) / 10)
			return -1;
		x = x * 10 + (*s - '0');
	}
	*v = x;
	return 0;
}

int fl_s3_xml_parts(const char *xml, size_t len, fl_s3_part_fn fn, void *ctx, bool *truncated)
{
	char buf[128];
	/* AWS says ListPartsResult, moto ListPartsResponse. */
	if (!doc_ok(xml, len) ||
	    (!memmem(xml, len, "<ListPartsResult", 16) && !memmem(xml, len, "<ListPartsResponse", 18)))
		return -1;
	*truncated =
	    fl_s3_xml_text(xml, len, "IsTruncated", buf, sizeof buf) == 0 && strcmp(buf, "true") == 0;
	const char *p = xml, *end = xml + len;
	long long last = 0;
	size_t n;
	const char *part;
	while ((part = find(p, (size_t)(end - p), "Part", &n))) {
		char etag[128];
		long long num, size;
		if (fl_s3_xml_text(part, n, "PartNumber", buf, sizeof buf) < 0 ||
		    number(buf, FL_S3_PARTS_MAX, &num) < 0 || num <= last)
			return -1;
		if (fl_s3_xml_text(part, n, "Size", buf, sizeof buf) < 0 ||
		    number(buf, FL_S3_PART_MAX, &size) < 0)
			return -1;
		if (fl_s3_xml_text(part, n, "ETag", etag, sizeof etag) < 0)
			return -1;
		char *q = etag;
		size_t el = strlen(etag);
		if (el >= 2 && etag[0] == '"' && etag[el - 1] == '"') {
			etag[el - 1] = '\0';
			q++;
		}
		if (fn(ctx, (int)num, q, size) < 0)
			return -1;
		last = num;
		p = part + n + 7; /* past "</Part>" */
	}
	return memmem(p, (size_t)(end - p), "<Part>", 6) ? -1 : 0; /* one left open */
}
