/* fl_check: pure validators for the value grammars of context variables. */
#include "fl_check.h"

#include "fl_b64.h"
#include "fl_buf.h"
#include "fl_hostport.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool fl_check_version(const char *s)
{
	for (int part = 0; part < 3; part++) {
		size_t n = strspn(s, "0123456789");
		if (n == 0 || n > 9)
			return false;
		s += n;
		if (part < 2) {
			if (*s != '.')
				return false;
			s++;
		}
	}
	return *s == '\0';
}

static bool parse_int(const char *s, long *out)
{
	if (!all_digits(s, strlen(s)))
		return false;
	errno = 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (errno || *end || v > INT_MAX)
		return false;
	if (out)
		*out = v;
	return true;
}

bool fl_check_posint(const char *s, long *out)
{
	return s[0] >= '1' && s[0] <= '9' && parse_int(s, out);
}

bool fl_check_nonneg(const char *s, long *out)
{
	return parse_int(s, out);
}

bool fl_check_float(const char *s, double *out)
{
	/* ^[0-9]*\.?[0-9]+$ : digits, at most one dot, and at least one digit after it. */
	size_t a = strspn(s, "0123456789");
	const char *p = s + a;
	if (*p == '.') {
		size_t b = strspn(p + 1, "0123456789");
		if (b == 0 || p[1 + b] != '\0')
			return false;
	} else if (*p != '\0' || a == 0) {
		return false;
	}
	if (strlen(s) > 64)
		return false;
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v))
		return false;
	if (out)
		*out = v;
	return true;
}

bool fl_check_enum(const char *options, const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return false;
	for (const char *p = options; *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (len == n && memcmp(p, s, n) == 0)
			return true;
		if (!c)
			break;
		p = c + 1;
	}
	return false;
}

/* RFC 1123 host name: labels of letters, digits and hyphens (underscore tolerated, as
 * resolvers do), 1-63 characters, not starting or ending with a hyphen. */
static bool hostname_ok(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	size_t label = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		          c == '-' || c == '_';
		if (!ok || (label == 0 && c == '-') || ++label > 63)
			return false;
	}
	return s[n - 1] != '-';
}

/* The n bytes at s are an address of family af (AF_INET or AF_INET6) as inet_pton reads it. */
static bool ip_ok(int af, const char *s, size_t n)
{
	char tmp[INET6_ADDRSTRLEN];
	unsigned char a[sizeof(struct in6_addr)];
	if (n >= (af == AF_INET ? INET_ADDRSTRLEN : INET6_ADDRSTRLEN))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return inet_pton(af, tmp, a) == 1;
}

bool fl_check_hostport(const char *s, unsigned *port)
{
	struct fl_hostport hp;
	if (fl_hostport_parse(s, &hp, NULL) < 0)
		return false;
	if (port)
		*port = hp.port;
	return true;
}

bool fl_check_listen(const char *s, unsigned *port)
{
	struct fl_hostport hp;
	if (fl_hostport_parse(s, &hp, NULL) < 0 || !hp.is_ip)
		return false;
	if (port)
		*port = hp.port;
	return true;
}

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
static bool repo_component_ok(const char *s, size_t n)
{
	size_t i = 0;
	for (;;) {
		size_t run = 0;
		while (i < n && lower_alnum(s[i])) {
			i++;
			run++;
		}
		if (run == 0)
			return false;
		if (i == n)
			return true;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += i + 1 < n && s[i + 1] == '_' ? 2 : 1;
		else if (s[i] == '-')
			while (i < n && s[i] == '-')
				i++;
		else
			return false;
	}
}

/* A registry: host name labels ([A-Za-z0-9], dashes inside) or an IPv4 address, :port. */
static bool registry_ok(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t hn = colon ? (size_t)(colon - s) : n;
	if (colon) {
		if (fl_hostport_parse_port(colon + 1, n - hn - 1, NULL) < 0)
			return false;
	}
	if (hn == 0)
		return false;
	/* Labels start and end with a letter or digit: a dot or dash never at an edge or next
	 * to a dot. */
	for (size_t i = 0; i < hn; i++) {
		char c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			continue;
		if ((c != '-' && c != '.') || i == 0 || i + 1 == hn || s[i - 1] == '.' || s[i + 1] == '.' ||
		    (c == '.' && (s[i - 1] == '-' || s[i + 1] == '-')))
			return false;
	}
	return true;
}

bool fl_check_image_repo(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 255)
		return false;
	const char *p = s, *slash = strchr(s, '/');
	/* As docker splits it: the first part names a registry when it has a dot or a port,
	 * or is localhost; otherwise it is part of the repository path. */
	if (slash) {
		size_t fn = (size_t)(slash - s);
		if (memchr(s, '.', fn) || memchr(s, ':', fn) || (fn == 9 && memcmp(s, "localhost", 9) == 0)) {
			if (!registry_ok(s, fn))
				return false;
			p = slash + 1;
		}
	}
	for (;;) {
		const char *q = strchr(p, '/');
		size_t len = q ? (size_t)(q - p) : strlen(p);
		if (!repo_component_ok(p, len))
			return false;
		if (!q)
			return true;
		p = q + 1;
	}
}

static bool has_dotdot(const char *s)
{
	for (const char *p = s; (p = strstr(p, "..")) != NULL; p += 2) {
		bool start = p == s || p[-1] == '/';
		bool stop = p[2] == '\0' || p[2] == '/';
		if (start && stop)
			return true;
	}
	return false;
}

/* Container paths end up in argv and in Flower's k=v config strings: keep them plain. */
static bool path_chars_ok(const char *s)
{
	size_t n = strlen(s);
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") == n;
}

bool fl_check_relpath(const char *s)
{
	return s[0] && s[0] != '/' && !has_dotdot(s) && path_chars_ok(s) && strlen(s) < 1024;
}

bool fl_check_abspath(const char *s)
{
	return s[0] == '/' && !has_dotdot(s) && path_chars_ok(s) && strlen(s) < 1024;
}

static bool s3_bucket_ok(const char *b, size_t n)
{
	if (n < 3 || n > 63 || strspn(b, "abcdefghijklmnopqrstuvwxyz0123456789.-") < n)
		return false;
	if (!isalnum((unsigned char)b[0]) || !isalnum((unsigned char)b[n - 1]))
		return false;
	char copy[64];
	memcpy(copy, b, n);
	copy[n] = '\0';
	if (strstr(copy, "..") || strncmp(copy, "xn--", 4) == 0 || ip_ok(AF_INET, b, n))
		return false;
	return n < 8 || memcmp(b + n - 8, "-s3alias", 8) != 0;
}

bool fl_check_s3_url(const char *s)
{
	if (strncmp(s, "s3://", 5) != 0 || strlen(s) > 1024)
		return false;
	const char *b = s + 5;
	size_t n = strcspn(b, "/");
	if (!s3_bucket_ok(b, n))
		return false;
	const char *p = b + n;
	if (!*p || !p[1])
		return true; /* no prefix, or a lone '/' */
	p++;
	if (strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-") < strlen(p))
		return false;
	for (;;) {
		size_t k = strcspn(p, "/");
		if (k == 0 || (k == 2 && p[0] == '.' && p[1] == '.') || (k == 1 && p[0] == '.'))
			return false;
		p += k;
		if (!*p || !p[1])
			return true;
		p++;
	}
}

bool fl_check_http_url(const char *s)
{
	const char *a = strncmp(s, "http://", 7) == 0 ? s + 7 : strncmp(s, "https://", 8) == 0 ? s + 8 : NULL;
	if (!a)
		return false;
	size_t n = strcspn(a, "/");
	if (n == 0 || n > 300 || (a[n] && a[n + 1]))
		return false;
	char host[301];
	memcpy(host, a, n);
	host[n] = '\0';
	unsigned port;
	/* With a port: host:port as everywhere else; without: a name, IPv4 or [v6]. */
	char *colon = strrchr(host, ':');
	if (colon && (host[0] != '[' || colon > strchr(host, ']')))
		return fl_check_hostport(host, &port);
	if (host[0] == '[' && host[n - 1] == ']')
		return ip_ok(AF_INET6, host + 1, n - 2);
	return ip_ok(AF_INET, host, n) || hostname_ok(host, n);
}

bool fl_check_region(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

bool fl_check_san_entry(const char *s)
{
	if (strncmp(s, "IP:", 3) == 0) {
		size_t n = strlen(s + 3);
		return ip_ok(AF_INET, s + 3, n) || ip_ok(AF_INET6, s + 3, n);
	}
	if (strncmp(s, "DNS:", 4) == 0) {
		const char *h = s + 4;
		size_t n = strlen(h);
		/* The spec's [a-zA-Z0-9.-]+ ; label rules on top. */
		return n > 0 &&
		       strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n &&
		       hostname_ok(h, n);
	}
	return false;
}

bool fl_check_cuda_devices(const char *s)
{
	if (strcmp(s, "all") == 0)
		return true;
	for (;;) {
		size_t n = strspn(s, "0123456789");
		if (n == 0 || n > 4)
			return false;
		s += n;
		if (*s == '\0')
			return true;
		if (*s != ',')
			return false;
		s++;
	}
}

#define NODE_KEY_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
#define NODE_VAL_CHARS NODE_KEY_CHARS "./:+,@%"

int fl_check_node_pair(const char *tok, size_t len)
{
	const char *eq = memchr(tok, '=', len);
	if (!eq || eq == tok || eq + 1 == tok + len)
		return 1;
	for (const char *p = tok; p < eq; p++)
		if (!strchr(NODE_KEY_CHARS, *p) || *p == '\0')
			return 1;
	for (const char *p = eq + 1; p < tok + len; p++)
		if (*p == '\0' || !strchr(NODE_VAL_CHARS, *p))
			return 2;
	return 0;
}

bool fl_check_sha256(const char *s)
{
	size_t n = strlen(s);
	if (n == 64)
		return strspn(s, "0123456789abcdefABCDEF") == 64;
	if (n != 95)
		return false;
	for (size_t i = 0; i < n; i++)
		if (i % 3 == 2 ? s[i] != ':' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
}

/* Never prompt for a passphrase: an encrypted key is simply not accepted. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

bool fl_check_pem_b64(const char *s, bool key)
{
	size_t n;
	unsigned char *der = fl_b64_decode(s, &n);
	if (!der)
		return false;
	bool ok = false;
	if (n > 0 && n < INT_MAX) {
		BIO *bio = BIO_new_mem_buf(der, (int)n);
		if (bio) {
			if (key) {
				EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
				ok = k != NULL;
				EVP_PKEY_free(k);
			} else {
				X509 *x = PEM_read_bio_X509(bio, NULL, no_password, NULL);
				ok = x != NULL;
				X509_free(x);
			}
			BIO_free(bio);
		}
	}
	OPENSSL_cleanse(der, n);
	free(der);
	return ok;
}

/* Split a non-negative decimal into integer digits without leading zeros and fraction digits
 * without trailing zeros. */
static void dec_parts(const char *s, const char **ip, size_t *il, const char **fp, size_t *fl)
{
	const char *dot = strchr(s, '.');
	size_t n = dot ? (size_t)(dot - s) : strlen(s);
	while (n > 0 && *s == '0') {
		s++;
		n--;
	}
	*ip = s;
	*il = n;
	*fp = dot ? dot + 1 : "";
	*fl = strlen(*fp);
	while (*fl > 0 && (*fp)[*fl - 1] == '0')
		(*fl)--;
}

int fl_check_decimal_cmp(const char *a, const char *b)
{
	const char *ai, *af, *bi, *bf;
	size_t ail, afl, bil, bfl;
	dec_parts(a, &ai, &ail, &af, &afl);
	dec_parts(b, &bi, &bil, &bf, &bfl);
	if (ail != bil)
		return ail < bil ? -1 : 1;
	int c = memcmp(ai, bi, ail);
	if (c)
		return c < 0 ? -1 : 1;
	for (size_t i = 0; i < afl || i < bfl; i++) {
		char x = i < afl ? af[i] : '0', y = i < bfl ? bf[i] : '0';
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

bool fl_check_var_value(const struct fl_var *var, const char *v)
{
	double d;
	long l;
	unsigned port;
	switch (var->check) {
	case FL_CK_VERSION: return fl_check_version(v);
	case FL_CK_POSINT: return fl_check_posint(v, NULL);
	case FL_CK_NONNEG: return fl_check_nonneg(v, NULL);
	case FL_CK_FLOAT: {
		if (!fl_check_float(v, &d))
			return false;
		/* Compare the decimal text, not a rounded double: 0.4999999999999999999999 is
		 * below 0.5 and 1.00000000000000000001 is above 1. */
		char bound[32];
		snprintf(bound, sizeof bound, "%.17g", var->min);
		int lo = fl_check_decimal_cmp(v, bound);
		if ((var->flags & FL_VF_MIN_OPEN) ? lo <= 0 : lo < 0)
			return false;
		if (var->max > var->min) {
			snprintf(bound, sizeof bound, "%.17g", var->max);
			int hi = fl_check_decimal_cmp(v, bound);
			if ((var->flags & FL_VF_MAX_OPEN) ? hi >= 0 : hi > 0)
				return false;
		}
		return true;
	}
	case FL_CK_ENUM: return fl_check_enum(var->options, v);
	case FL_CK_YESNO: return strcmp(v, "YES") == 0 || strcmp(v, "NO") == 0;
	case FL_CK_YESNO_CI: return strcasecmp(v, "YES") == 0 || strcasecmp(v, "NO") == 0;
	case FL_CK_HOSTPORT: return fl_check_hostport(v, &port);
	case FL_CK_LISTEN: return fl_check_listen(v, &port);
	case FL_CK_RELPATH: return fl_check_relpath(v);
	case FL_CK_ABSPATH: return fl_check_abspath(v);
	case FL_CK_SAN_LIST: return fl_check_san_entry(v);
	case FL_CK_METRICS_PORT:
		return fl_check_nonneg(v, &l) && l >= 1024 && l <= 65535 && (l < 9091 || l > 9093);
	case FL_CK_NODE_CONFIG: return fl_check_node_pair(v, strlen(v)) == 0;
	case FL_CK_CUDA_DEVICES: return fl_check_cuda_devices(v);
	case FL_CK_PEM_CERT: return fl_check_pem_b64(v, false);
	case FL_CK_PEM_KEY: return fl_check_pem_b64(v, true);
	case FL_CK_SHA256: return fl_check_sha256(v);
	case FL_CK_S3_URL: return fl_check_s3_url(v);
	case FL_CK_HTTP_URL: return fl_check_http_url(v);
	case FL_CK_REGION: return fl_check_region(v);
	}
	return false;
}
