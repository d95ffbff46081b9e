/* fl_ctxfile: one_env and context.sh read as data, never executed. */
#include "fl_ctxfile.h"

#include "fl_buf.h"
#include "fl_fs.h"

#include <stdlib.h>
#include <string.h>

void fl_kvlist_add(struct fl_kvlist *l, const char *name, size_t nlen, const char *value, size_t vlen,
                   unsigned line)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->v = fl_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n].name = fl_xstrndup(name, nlen);
	l->v[l->n].value = fl_xstrndup(value, vlen);
	l->v[l->n].line = line;
	l->n++;
}

const char *fl_kvlist_get(const struct fl_kvlist *l, const char *name)
{
	for (size_t i = l->n; i-- > 0;)
		if (strcmp(l->v[i].name, name) == 0)
			return l->v[i].value;
	return NULL;
}

void fl_kvlist_free(struct fl_kvlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Does an assignment start at p? With need_export, only `export NAME="` counts, exactly how
 * loc-16-gen-env writes every line; this is what lets a raw value contain `"` + newline, and
 * even a line such as `export FOO=1` inside a START_SCRIPT. */
static int entry_starts(const char *p, const char *end, int need_export)
{
	if ((size_t)(end - p) >= 7 && memcmp(p, "export", 6) == 0 && is_blank(p[6])) {
		p += 7;
		while (p < end && is_blank(*p))
			p++;
	} else if (need_export) {
		return 0;
	}
	const char *n = p;
	while (p < end && is_name_char(*p))
		p++;
	if (p == n || p >= end || *p != '=')
		return 0;
	return !need_export || (p + 1 < end && p[1] == '"');
}

/* Only blanks, CR and newlines up to end? */
static int only_space(const char *p, const char *end)
{
	for (; p < end; p++)
		if (!is_blank(*p) && *p != '\n' && *p != '\r')
			return 0;
	return 1;
}

int fl_ctxfile_parse(const char *buf, size_t len, const char *what, struct fl_kvlist *out, struct fl_err *e)
{
	const char *p = buf, *end = buf + len;
	unsigned line = 1;
	struct fl_buf val = FL_BUF_INIT;
	size_t start_n = out->n;

	const char *nul = memchr(buf, '\0', len);
	if (nul) {
		unsigned nl = 1;
		for (const char *c = buf; c < nul; c++)
			nl += *c == '\n';
		return fl_err_set(e, FL_EXIT_FAIL, "%s:%u: NUL byte (offset %zu); this is not a context file",
		                  what, nl, (size_t)(nul - buf));
	}
	while (p < end) {
		/* Skip blank lines and comments between entries. */
		const char *q = p;
		while (q < end && (is_blank(*q) || *q == '\r'))
			q++;
		if (q == end)
			break;
		if (*q == '\n' || *q == '#') {
			const char *nl = memchr(q, '\n', (size_t)(end - q));
			p = nl ? nl + 1 : end;
			line++;
			continue;
		}
		unsigned entry_line = line;
		int has_export = 0;
		if ((size_t)(end - q) >= 7 && memcmp(q, "export", 6) == 0 && is_blank(q[6])) {
			has_export = 1;
			q += 7;
			while (q < end && is_blank(*q))
				q++;
		}
		const char *name = q;
		while (q < end && is_name_char(*q))
			q++;
		size_t nlen = (size_t)(q - name);
		if (nlen == 0 || q == end || *q != '=') {
			fl_err_set(e, FL_EXIT_FAIL,
			           "%s:%u: expected NAME='value' or export NAME=\"value\"; fix or regenerate "
			           "the file",
			           what, line);
			goto fail;
		}
		if (nlen > FL_CTXFILE_MAX_NAME) {
			fl_err_set(e, FL_EXIT_FAIL, "%s:%u: variable name longer than %u characters", what,
			           line, FL_CTXFILE_MAX_NAME);
			goto fail;
		}
		if (out->n - start_n >= FL_CTXFILE_MAX_ENTRIES) {
			fl_err_set(e, FL_EXIT_FAIL, "%s:%u: more than %u variables; refusing the file", what,
			           line, FL_CTXFILE_MAX_ENTRIES);
			goto fail;
		}
		q++; /* '=' */
		fl_buf_reset(&val);
		fl_buf_add(&val, "", 0);
		if (q < end && *q == '\'') {
			/* context.sh: every ' inside is written '\'' ; anything else ends the value. */
			q++;
			for (;;) {
				const char *sq = memchr(q, '\'', (size_t)(end - q));
				if (!sq) {
					fl_err_set(e, FL_EXIT_FAIL,
					           "%s:%u: value of %.*s has no closing quote", what,
					           entry_line, (int)nlen, name);
					goto fail;
				}
				for (const char *c = q; c < sq; c++)
					line += *c == '\n';
				fl_buf_add(&val, q, (size_t)(sq - q));
				if ((size_t)(end - sq) >= 4 && memcmp(sq, "'\\''", 4) == 0) {
					fl_buf_addc(&val, '\'');
					q = sq + 4;
					continue;
				}
				q = sq + 1;
				break;
			}
			while (q < end && (is_blank(*q) || *q == '\r'))
				q++;
			if (q < end && *q != '\n') {
				fl_err_set(e, FL_EXIT_FAIL,
				           "%s:%u: unexpected text after the closing quote of %.*s", what,
				           line, (int)nlen, name);
				goto fail;
			}
		} else if (q < end && *q == '"') {
			/* one_env: raw bytes, no escapes. The value ends at a `"` closing a line
			 * after which the file ends or the next assignment begins. */
			q++;
			const char *c = q, *close = NULL;
			while (c < end) {
				const char *dq = memchr(c, '"', (size_t)(end - c));
				if (!dq)
					break;
				const char *after = dq + 1;
				while (after < end && (is_blank(*after) || *after == '\r'))
					after++;
				if (after == end ||
				    (*after == '\n' && (only_space(after + 1, end) ||
				                        entry_starts(after + 1, end, has_export)))) {
					close = dq;
					break;
				}
				c = dq + 1;
			}
			if (!close) {
				fl_err_set(e, FL_EXIT_FAIL, "%s:%u: value of %.*s has no closing quote", what,
				           entry_line, (int)nlen, name);
				goto fail;
			}
			for (const char *k = q; k < close; k++)
				line += *k == '\n';
			fl_buf_add(&val, q, (size_t)(close - q));
			q = close + 1;
			while (q < end && (is_blank(*q) || *q == '\r'))
				q++;
		} else {
			const char *nl = q < end ? memchr(q, '\n', (size_t)(end - q)) : NULL;
			const char *ve = nl ? nl : end;
			while (ve > q && (is_blank(ve[-1]) || ve[-1] == '\r'))
				ve--;
			fl_buf_add(&val, q, (size_t)(ve - q));
			q = nl ? nl : end;
		}
		fl_kvlist_add(out, name, nlen, val.data, val.len, entry_line);
		if (q < end) { /* at '\n' */
			q++;
			line++;
		}
		p = q;
	}
	fl_buf_free(&val);
	return 0;
fail:
	fl_buf_free(&val);
	/* All or nothing: drop what this call added. */
	while (out->n > start_n) {
		out->n--;
		free(out->v[out->n].name);
		free(out->v[out->n].value);
	}
	return -1;
}

int fl_ctxfile_load(const char *path, struct fl_kvlist *out, struct fl_err *e)
{
	char *buf;
	size_t len;
	if (fl_fs_read(path, FL_CTXFILE_MAX_BYTES, &buf, &len, e) < 0)
		return -1;
	int r = fl_ctxfile_parse(buf, len, path, out, e);
	free(buf);
	return r;
}
