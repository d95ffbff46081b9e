/* fl_ctxfile: one_env and context.sh read as data, never executed. */
#include "fl_ctxfile.h"

#include "fl_buf.h"
#include "fl_fs.h"

#include <stdlib.h>
#include <string.h>

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

/* Where the parse is: the input, the current line, the entry being read. */
struct cfparse {
	const char *end, *what;
	unsigned line;       /* of the current position, 1-based */
	unsigned entry_line; /* where the entry being read starts */
	const char *name;
	size_t nlen;
	int has_export;
	struct fl_buf val;
};

static const char *skip_blanks(const char *q, const char *end)
{
	while (q < end && (is_blank(*q) || *q == '\r'))
		q++;
	return q;
}

static void count_lines(struct cfparse *s, const char *from, const char *to)
{
	for (const char *c = from; c < to; c++)
		s->line += *c == '\n';
}

/* `export` (optional) and NAME, checked; q at the first non-blank of a line. The position
 * after the '=', or NULL (e). */
static const char *entry_name(struct cfparse *s, const char *q, size_t count, struct fl_err *e)
{
	s->has_export = 0;
	if ((size_t)(s->end - q) >= 7 && memcmp(q, "export", 6) == 0 && is_blank(q[6])) {
		s->has_export = 1;
		q += 7;
		while (q < s->end && is_blank(*q))
			q++;
	}
	s->name = q;
	while (q < s->end && is_name_char(*q))
		q++;
	s->nlen = (size_t)(q - s->name);
	if (s->nlen == 0 || q == s->end || *q != '=') {
		fl_err_set(e, FL_EXIT_FAIL,
		           "%s:%u: expected NAME='value' or export NAME=\"value\"; fix or regenerate "
		           "the file",
		           s->what, s->line);
		return NULL;
	}
	if (s->nlen > FL_CTXFILE_MAX_NAME) {
		fl_err_set(e, FL_EXIT_FAIL, "%s:%u: variable name longer than %u characters", s->what,
		           s->line, FL_CTXFILE_MAX_NAME);
		return NULL;
	}
	if (count >= FL_CTXFILE_MAX_ENTRIES) {
		fl_err_set(e, FL_EXIT_FAIL, "%s:%u: more than %u variables; refusing the file", s->what,
		           s->line, FL_CTXFILE_MAX_ENTRIES);
		return NULL;
	}
	return q + 1;
}

/* context.sh, q after the opening quote: every ' inside is written '\'' ; anything else ends
 * the value. The position at the end of its line, or NULL (e). */
static const char *value_single(struct cfparse *s, const char *q, struct fl_err *e)
{
	for (;;) {
		const char *sq = memchr(q, '\'', (size_t)(s->end - q));
		if (!sq) {
			fl_err_set(e, FL_EXIT_FAIL, "%s:%u: value of %.*s has no closing quote", s->what,
			           s->entry_line, (int)s->nlen, s->name);
			return NULL;
		}
		count_lines(s, q, sq);
		fl_buf_add(&s->val, q, (size_t)(sq - q));
		if ((size_t)(s->end - sq) >= 4 && memcmp(sq, "'\\''", 4) == 0) {
			fl_buf_addc(&s->val, '\'');
			q = sq + 4;
			continue;
		}
		q = skip_blanks(sq + 1, s->end);
		break;
	}
	if (q < s->end && *q != '\n') {
		fl_err_set(e, FL_EXIT_FAIL, "%s:%u: unexpected text after the closing quote of %.*s", s->what,
		           s->line, (int)s->nlen, s->name);
		return NULL;
	}
	return q;
}

/* one_env, q after the opening quote: raw bytes, no escapes. The value ends at a `"` closing
 * a line after which the file ends or the next assignment begins. */
static const char *value_double(struct cfparse *s, const char *q, struct fl_err *e)
{
	const char *c = q, *close = NULL;
	while (c < s->end) {
		const char *dq = memchr(c, '"', (size_t)(s->end - c));
		if (!dq)
			break;
		const char *after = skip_blanks(dq + 1, s->end);
		if (after == s->end || (*after == '\n' && (only_space(after + 1, s->end) ||
		                                           entry_starts(after + 1, s->end, s->has_export)))) {
			close = dq;
			break;
		}
		c = dq + 1;
	}
	if (!close) {
		fl_err_set(e, FL_EXIT_FAIL, "%s:%u: value of %.*s has no closing quote", s->what,
		           s->entry_line, (int)s->nlen, s->name);
		return NULL;
	}
	count_lines(s, q, close);
	fl_buf_add(&s->val, q, (size_t)(close - q));
	return skip_blanks(close + 1, s->end);
}

/* NAME=bare: to the end of the line, trailing blanks dropped. */
static const char *value_bare(struct cfparse *s, const char *q)
{
	const char *nl = q < s->end ? memchr(q, '\n', (size_t)(s->end - q)) : NULL;
	const char *ve = nl ? nl : s->end;
	while (ve > q && (is_blank(ve[-1]) || ve[-1] == '\r'))
		ve--;
	fl_buf_add(&s->val, q, (size_t)(ve - q));
	return nl ? nl : s->end;
}

/* One entry, q at the first non-blank of its line, added to out (count entries so far). The
 * position after its last line, or NULL (e). */
static const char *entry_parse(struct cfparse *s, const char *q, struct fl_kvlist *out, size_t count,
                               struct fl_err *e)
{
	s->entry_line = s->line;
	if (!(q = entry_name(s, q, count, e)))
		return NULL;
	fl_buf_reset(&s->val);
	fl_buf_add(&s->val, "", 0);
	if (q < s->end && *q == '\'')
		q = value_single(s, q + 1, e);
	else if (q < s->end && *q == '"')
		q = value_double(s, q + 1, e);
	else
		q = value_bare(s, q);
	if (!q)
		return NULL;
	fl_kvlist_add(out, s->name, s->nlen, s->val.data, s->val.len, s->entry_line);
	if (q < s->end) { /* at '\n' */
		q++;
		s->line++;
	}
	return q;
}

int fl_ctxfile_parse(const char *buf, size_t len, const char *what, struct fl_kvlist *out, struct fl_err *e)
{
	const char *nul = memchr(buf, '\0', len);
	if (nul) {
		unsigned nl = 1;
		for (const char *c = buf; c < nul; c++)
			nl += *c == '\n';
		return fl_err_set(e, FL_EXIT_FAIL, "%s:%u: NUL byte (offset %zu); this is not a context file",
		                  what, nl, (size_t)(nul - buf));
	}
	struct cfparse s = {.end = buf + len, .what = what, .line = 1, .val = FL_BUF_INIT};
	size_t start_n = out->n;
	const char *p = buf;
	while (p && p < s.end) {
		/* Skip blank lines and comments between entries. */
		const char *q = skip_blanks(p, s.end);
		if (q == s.end)
			break;
		if (*q == '\n' || *q == '#') {
			const char *nl = memchr(q, '\n', (size_t)(s.end - q));
			p = nl ? nl + 1 : s.end;
			s.line++;
			continue;
		}
		p = entry_parse(&s, q, out, out->n - start_n, e);
	}
	fl_buf_free(&s.val);
	if (p)
		return 0;
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
