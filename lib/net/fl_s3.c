/* fl_s3: where objects go (s3://bucket/prefix at an endpoint) and how their URLs are spelt. */
#include "fl_s3.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

static bool bucket_ok(const char *b)
{
	size_t n = strlen(b);
	if (n < 3 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && c != '.' && c != '-')
			return false;
		if (!alnum && (i == 0 || i == n - 1))
			return false;
		if (c == '.' && b[i + 1] == '.')
			return false;
	}
	return true;
}

/* A prefix: segments of printable bytes (UTF-8 allowed), none empty, "." or "..". */
static bool prefix_ok(const char *p)
{
	size_t n = strlen(p);
	if (n > FL_S3_KEY_MAX / 2)
		return false;
	const char *seg = p;
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '/' || c == '\0') {
			size_t len = (size_t)(p + i - seg);
			if (len == 0 || (len == 1 && seg[0] == '.') ||
			    (len == 2 && seg[0] == '.' && seg[1] == '.'))
				return false;
			seg = p + i + 1;
		} else if (c < 0x20 || c == 0x7f || c == '\\') {
			return false;
		}
	}
	return true;
}

static int parse_url(struct fl_s3_target *t, const char *url, struct fl_err *e)
{
	const char *fix = "write s3://BUCKET or s3://BUCKET/PREFIX (bucket: 3-63 of a-z 0-9 . -)";
	if (!url || strncmp(url, "s3://", 5) != 0 || strlen(url) > FL_S3_URL_MAX)
		return fl_err_set(e, FL_EXIT_USAGE, "S3 URL '%s' is not an s3:// URL: %s", url ? url : "",
		                  fix);
	const char *b = url + 5, *slash = strchr(b, '/');
	t->bucket = slash ? fl_xstrndup(b, (size_t)(slash - b)) : fl_xstrdup(b);
	if (!bucket_ok(t->bucket))
		return fl_err_set(e, FL_EXIT_USAGE, "S3 URL '%s': '%s' is not a valid bucket name: %s", url,
		                  t->bucket, fix);
	const char *p = slash ? slash + 1 : "";
	size_t n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	t->prefix = fl_xstrndup(p, n);
	if (n > 0 && !prefix_ok(t->prefix))
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "S3 URL '%s': the prefix '%s' has an empty, '.' or '..' segment, a control "
		                  "character or a backslash, or is too long: %s",
		                  url, t->prefix, fix);
	return 0;
}

static bool region_ok(const char *r)
{
	size_t n = strlen(r);
	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((r[i] >= 'a' && r[i] <= 'z') || (r[i] >= '0' && r[i] <= '9') || r[i] == '-'))
			return false;
	return true;
}

static int parse_endpoint(struct fl_s3_target *t, const char *ep, struct fl_err *e)
{
	const char *fix = "write http(s)://HOST[:PORT] with no path, query or user";
	if (strlen(ep) > FL_S3_URL_MAX)
		return fl_err_set(e, FL_EXIT_USAGE, "S3 endpoint is longer than %d bytes: %s", FL_S3_URL_MAX,
		                  fix);
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *q = NULL, *user = NULL;
	int rc = -1;
	if (!u)
		abort();
	if (curl_url_set(u, CURLUPART_URL, ep, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		fl_err_set(e, FL_EXIT_USAGE, "S3 endpoint '%s' is not a URL: %s", ep, fix);
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	curl_url_get(u, CURLUPART_QUERY, &q, 0);
	curl_url_get(u, CURLUPART_USER, &user, 0);
	if ((strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
	    (path && strcmp(path, "/") != 0) || q || user || strchr(ep, '#')) {
		fl_err_set(e, FL_EXIT_USAGE, "S3 endpoint '%s' is not http(s)://HOST[:PORT]: %s", ep, fix);
		goto out;
	}
	struct fl_buf b = FL_BUF_INIT;
	fl_buf_addf(&b, "%s://%s%s%s", scheme, host, port ? ":" : "", port ? port : "");
	t->endpoint = b.data;
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(q);
	curl_free(user);
	curl_url_cleanup(u);
	return rc;
}

int fl_s3_target_parse(struct fl_s3_target *t, const char *url, const char *endpoint, const char *region,
                       bool virtual_host, struct fl_err *e)
{
	memset(t, 0, sizeof *t);
	t->virtual_host = virtual_host;
	t->region = fl_xstrdup(region && *region ? region : FL_S3_REGION_DEFAULT);
	if (!region_ok(t->region)) {
		fl_err_set(e, FL_EXIT_USAGE,
		           "S3 region '%s' is not a region name: write one like us-east-1 "
		           "(lower-case letters, digits and '-', at most 32)",
		           t->region);
		goto fail;
	}
	if (parse_url(t, url, e) < 0)
		goto fail;
	if (endpoint && *endpoint) {
		if (parse_endpoint(t, endpoint, e) < 0)
			goto fail;
	} else {
		struct fl_buf b = FL_BUF_INIT;
		fl_buf_addf(&b, "https://s3.%s.amazonaws.com", t->region);
		t->endpoint = b.data;
	}
	if (virtual_host && strchr(t->bucket, '.') && strncmp(t->endpoint, "https:", 6) == 0) {
		fl_err_set(e, FL_EXIT_USAGE,
		           "S3 bucket '%s' has a dot, which breaks TLS name checks of virtual-host URLs: "
		           "leave out --virtual-host (path-style)",
		           t->bucket);
		goto fail;
	}
	return 0;
fail:
	fl_s3_target_free(t);
	return -1;
}

void fl_s3_target_free(struct fl_s3_target *t)
{
	free(t->endpoint);
	free(t->bucket);
	free(t->prefix);
	free(t->region);
	memset(t, 0, sizeof *t);
}

void fl_s3_key(const struct fl_s3_target *t, const char *name, struct fl_buf *out)
{
	if (t->prefix && *t->prefix)
		fl_buf_addf(out, "%s/", t->prefix);
	fl_buf_adds(out, name);
}

void fl_s3_key_encode(const char *key, struct fl_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_' || c == '.' || c == '~' || c == '/') {
			fl_buf_addc(out, (char)c);
		} else {
			char pct[3] = {'%', hex[c >> 4], hex[c & 15]};
			fl_buf_add(out, pct, 3);
		}
	}
}

void fl_s3_url(const struct fl_s3_target *t, const char *key, const char *query, struct fl_buf *out)
{
	if (t->virtual_host) {
		const char *host = strstr(t->endpoint, "://") + 3;
		fl_buf_add(out, t->endpoint, (size_t)(host - t->endpoint));
		fl_buf_addf(out, "%s.%s/", t->bucket, host);
	} else {
		fl_buf_addf(out, "%s/%s/", t->endpoint, t->bucket);
	}
	if (key)
		fl_s3_key_encode(key, out);
	if (query)
		fl_buf_addf(out, "?%s", query);
}
