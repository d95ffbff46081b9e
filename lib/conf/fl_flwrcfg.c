/* fl_flwrcfg: values in Flower's config syntax (--run-config, --node-config): the one
 * conversion fl-context and fl-launch share, and the one typing table for node-config. */
#include "fl_flwrcfg.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DIGITS "0123456789"

const char *fl_flwrcfg_type_name(enum fl_cfg_type t)
{
	switch (t) {
	case FL_CFG_STRING: return "string";
	case FL_CFG_INT: return "integer";
	case FL_CFG_FLOAT: return "float";
	case FL_CFG_BOOL: return "boolean";
	}
	return "?";
}

/* The parts of [+-][digits][.digits][e[+-]digits]; false when s has another shape. */
struct num {
	bool neg, point, exp_neg;
	const char *ip, *fp, *ep; /* integer, fraction and exponent digits */
	size_t il, fl, el;
};

static bool num_split(const char *s, struct num *n)
{
	memset(n, 0, sizeof *n);
	if (*s == '+' || *s == '-')
		n->neg = *s++ == '-';
	n->ip = s;
	n->il = strspn(s, DIGITS);
	s += n->il;
	n->fp = s;
	if (*s == '.') {
		n->point = true;
		n->fp = ++s;
		n->fl = strspn(s, DIGITS);
		s += n->fl;
	}
	if (n->il + n->fl == 0)
		return false;
	n->ep = s;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			n->exp_neg = *s++ == '-';
		n->ep = s;
		n->el = strspn(s, DIGITS);
		if (n->el == 0)
			return false;
		s += n->el;
	}
	return *s == '\0';
}

static int why_set(const char **why, const char *text)
{
	if (why)
		*why = text;
	return -1;
}

static int add_int(struct fl_buf *out, const char *v, const char **why)
{
	struct num n;
	if (!num_split(v, &n) || n.point || n.el || n.il == 0)
		return why_set(why, "not an integer; write digits, e.g. 12");
	while (n.il > 1 && *n.ip == '0') {
		n.ip++;
		n.il--;
	}
	bool zero = n.il == 1 && *n.ip == '0';
	struct fl_buf t = FL_BUF_INIT;
	if (n.neg && !zero)
		fl_buf_addc(&t, '-');
	fl_buf_add(&t, n.ip, n.il);
	errno = 0;
	(void)strtoll(fl_buf_str(&t), NULL, 10);
	int rc = 0;
	if (errno == ERANGE)
		rc = why_set(why, "an integer beyond 64 bits (Flower carries -9223372036854775808 to "
		                  "9223372036854775807); use a smaller number");
	else
		fl_buf_adds(out, fl_buf_str(&t));
	fl_buf_free(&t);
	return rc;
}

static int add_float(struct fl_buf *out, const char *v, const char **why)
{
	struct num n;
	if (!num_split(v, &n))
		return why_set(why, "not a number; write e.g. 0.5 or 1e-3");
	errno = 0;
	double d = strtod(v, NULL);
	bool nonzero = strspn(n.ip, "0") < n.il || strspn(n.fp, "0") < n.fl;
	if (isinf(d))
		return why_set(why, "a number beyond the range of a double (about 1.8e308); use a "
		                    "smaller exponent");
	if (errno == ERANGE && d == 0.0 && nonzero)
		return why_set(why, "a number too small for a double: Flower would read 0.0; write 0 "
		                    "or a smaller negative exponent");
	/* TOML wants digits on both sides of the point and no leading zero. */
	while (n.il > 1 && *n.ip == '0') {
		n.ip++;
		n.il--;
	}
	if (n.neg)
		fl_buf_addc(out, '-');
	if (n.il)
		fl_buf_add(out, n.ip, n.il);
	else
		fl_buf_addc(out, '0');
	fl_buf_addc(out, '.');
	if (n.fl)
		fl_buf_add(out, n.fp, n.fl);
	else
		fl_buf_addc(out, '0');
	if (n.el) {
		fl_buf_adds(out, n.exp_neg ? "e-" : "e");
		fl_buf_add(out, n.ep, n.el);
	}
	return 0;
}

/* A TOML basic string ("..."), or a literal one ('...') for text with a double quote: in
 * Flower's k=v syntax a quoted value ends at the first quote of its kind, escaped or not. */
static int add_string(struct fl_buf *out, const char *v, const char **why)
{
	bool dq = false, sq = false, ctl = false;
	for (const unsigned char *p = (const unsigned char *)v; *p;) {
		size_t n = fl_buf_utf8_seqlen(p);
		if (n == 0)
			return why_set(why, "bytes that are not UTF-8 (TOML strings are UTF-8); use UTF-8 "
			                    "text");
		dq |= *p == '"';
		sq |= *p == '\'';
		ctl |= *p < 0x20 || *p == 0x7f;
		p += n;
	}
	if (dq && (sq || ctl))
		return why_set(why, "a string holding a double quote and a single quote or a control "
		                    "character (no string in Flower's key=value syntax holds both); "
		                    "remove the quotes");
	if (dq) {
		fl_buf_addf(out, "'%s'", v);
		return 0;
	}
	fl_buf_addc(out, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		switch (*p) {
		case '\\': fl_buf_adds(out, "\\\\"); break;
		case '\b': fl_buf_adds(out, "\\b"); break;
		case '\t': fl_buf_adds(out, "\\t"); break;
		case '\n': fl_buf_adds(out, "\\n"); break;
		case '\f': fl_buf_adds(out, "\\f"); break;
		case '\r': fl_buf_adds(out, "\\r"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fl_buf_addf(out, "\\u%04x", *p);
			else
				fl_buf_addc(out, (char)*p);
		}
	}
	fl_buf_addc(out, '"');
	return 0;
}

int fl_flwrcfg_value(struct fl_buf *out, const char *v, enum fl_cfg_type t, const char **why)
{
	switch (t) {
	case FL_CFG_BOOL:
		if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0) {
			fl_buf_adds(out, "true");
			return 0;
		}
		if (strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0) {
			fl_buf_adds(out, "false");
			return 0;
		}
		return why_set(why, "not a boolean; write true or false");
	case FL_CFG_INT: return add_int(out, v, why);
	case FL_CFG_FLOAT: return add_float(out, v, why);
	case FL_CFG_STRING: return add_string(out, v, why);
	}
	return why_set(why, "unknown type");
}

int fl_flwrcfg_type_of(const char *v, enum fl_cfg_type *t, const char **why)
{
	struct num n;
	if (strcasecmp(v, "true") == 0 || strcasecmp(v, "false") == 0)
		*t = FL_CFG_BOOL;
	else if (num_split(v, &n) && !n.point && !n.el)
		*t = n.il > 1 && *n.ip == '0' ? FL_CFG_STRING : FL_CFG_INT;
	else if (num_split(v, &n))
		*t = FL_CFG_FLOAT;
	else
		*t = FL_CFG_STRING;
	struct fl_buf scratch = FL_BUF_INIT;
	int rc = fl_flwrcfg_value(&scratch, v, *t, why);
	fl_buf_free(&scratch);
	return rc;
}

int fl_flwrcfg_pair(struct fl_buf *out, bool toml, const char *key, const char *v, enum fl_cfg_type t,
                    const char **why)
{
	struct fl_buf tv = FL_BUF_INIT;
	int rc = fl_flwrcfg_value(&tv, v, t, why);
	if (rc == 0 && toml)
		fl_buf_addf(out, "%s = %s\n", key, fl_buf_str(&tv));
	else if (rc == 0)
		fl_buf_addf(out, "%s%s=%s", out->len && out->data[out->len - 1] != '\n' ? " " : "", key,
		            fl_buf_str(&tv));
	fl_buf_free(&tv);
	return rc;
}

#define KEY_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

int fl_flwrcfg_node_config(const char *list, bool toml, bool nl, struct fl_buf *out, struct fl_err *e)
{
	struct fl_buf b = FL_BUF_INIT;
	int rc = 0;
	for (const char *p = list; rc == 0;) {
		p += strspn(p, " \t\n\r");
		if (!*p)
			break;
		size_t n = strcspn(p, " \t\n\r");
		const char *eq = memchr(p, '=', n);
		size_t kl = eq ? (size_t)(eq - p) : 0;
		if (kl == 0 || strspn(p, KEY_CHARS) != kl) {
			rc = fl_err_set(e, FL_EXIT_FAIL,
			                "Invalid FL_NODE_CONFIG pair: '%.*s'. Expected format: key=value "
			                "(key of letters, digits, _ and -).",
			                (int)(n > 200 ? 200 : n), p);
			break;
		}
		char *key = fl_xstrndup(p, kl), *v = fl_xstrndup(eq + 1, n - kl - 1);
		enum fl_cfg_type t;
		const char *why = NULL;
		if (fl_flwrcfg_type_of(v, &t, &why) < 0 || fl_flwrcfg_pair(&b, toml, key, v, t, &why) < 0)
			rc = fl_err_set(e, FL_EXIT_FAIL,
			                "Invalid FL_NODE_CONFIG pair: '%s=%.200s'. Flower cannot represent "
			                "it: %s.",
			                key, v, why);
		free(key);
		free(v);
		p += n;
	}
	if (rc == 0) {
		if (nl && !toml && b.len)
			fl_buf_addc(&b, '\n');
		fl_buf_add(out, b.data, b.len);
	}
	fl_buf_free(&b);
	return rc;
}
