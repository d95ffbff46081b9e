/* fl_s3_req: signed S3 requests over libcurl (SigV4 by curl, the payload hash ours), their
 * retries, HEAD and GET. */
#include "fl_s3-internal.h"
#include "fl_retry.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define DEADLINE_DEF_MS 60000

void fl_s3_hex(const unsigned char *d, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void fl_s3_rq_init(struct fl_s3_rq *rq, const char *method, const char *key, const char *query)
{
	memset(rq, 0, sizeof *rq);
	rq->method = method;
	rq->key = key;
	rq->query = query;
	rq->fd = -1;
	rq->out_fd = -1;
}

void fl_s3_rq_free(struct fl_s3_rq *rq)
{
	fl_buf_free(&rq->body);
}

int fl_s3_open(struct fl_s3 *s, struct fl_s3_target *t, struct fl_s3_cred *cred, const struct fl_s3_opts *o,
               struct fl_err *e)
{
	static bool global;
	memset(s, 0, sizeof *s);
	if (!global && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fl_err_set(e, FL_EXIT_FAIL, "libcurl cannot start");
	global = true;
	s->t = *t;
	memset(t, 0, sizeof *t);
	s->cred = *cred;
	fl_s3_cred_wipe(cred);
	if (o)
		s->o = *o;
	if (!s->o.deadline_ms)
		s->o.deadline_ms = DEADLINE_DEF_MS;
	snprintf(s->userpwd, sizeof s->userpwd, "%s:%s", s->cred.id, s->cred.secret);
	s->curl = curl_easy_init();
	if (!s->curl) {
		fl_s3_close(s);
		return fl_err_set(e, FL_EXIT_FAIL, "libcurl cannot make a handle");
	}
	return 0;
}

void fl_s3_close(struct fl_s3 *s)
{
	if (s->curl)
		curl_easy_cleanup(s->curl);
	fl_s3_target_free(&s->t);
	fl_s3_cred_wipe(&s->cred);
	OPENSSL_cleanse(s->userpwd, sizeof s->userpwd);
	memset(s, 0, sizeof *s);
}

struct attempt {
	struct fl_s3 *s;
	struct fl_s3_rq *rq;
	long long sent;
	bool write_failed;
	char curl_err[CURL_ERROR_SIZE];
};

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ctx)
{
	struct attempt *a = ctx;
	struct fl_s3_rq *rq = a->rq;
	size_t want = size * nmemb;
	long long left = (rq->fd >= 0 ? rq->len : (long long)rq->mem_len) - a->sent;
	if ((long long)want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (rq->fd >= 0) {
		ssize_t n = pread(rq->fd, buf, want, rq->off + a->sent);
		if (n <= 0)
			return CURL_READFUNC_ABORT; /* a file that shrank or failed */
		want = (size_t)n;
	} else {
		memcpy(buf, rq->mem + a->sent, want);
	}
	if (rq->md5)
		EVP_DigestUpdate(rq->md5, buf, want);
	if (rq->sha)
		EVP_DigestUpdate(rq->sha, buf, want);
	a->sent += (long long)want;
	return want;
}

static size_t on_write(char *buf, size_t size, size_t nmemb, void *ctx)
{
	struct attempt *a = ctx;
	struct fl_s3_rq *rq = a->rq;
	size_t n = size * nmemb;
	long status = 0;
	curl_easy_getinfo(a->s->curl, CURLINFO_RESPONSE_CODE, &status);
	if (rq->out_fd >= 0 && status / 100 == 2) {
		if (rq->got + (long long)n > rq->out_max)
			goto fail;
		for (size_t done = 0; done < n;) {
			ssize_t w =
			    pwrite(rq->out_fd, buf + done, n - done, (off_t)(rq->got + (long long)done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto fail;
			done += (size_t)w;
		}
		if (rq->sha)
			EVP_DigestUpdate(rq->sha, buf, n);
	} else {
		if (rq->body.len + n > FL_S3_XML_MAX)
			goto fail;
		fl_buf_add(&rq->body, buf, n);
	}
	rq->got += (long long)n;
	return n;
fail:
	a->write_failed = true;
	return 0;
}

/* Header lines: ETag, Content-Length and our metadata. */
static size_t on_header(char *buf, size_t size, size_t nmemb, void *ctx)
{
	struct fl_s3_rq *rq = ((struct attempt *)ctx)->rq;
	size_t n = size * nmemb;
	char line[512];
	if (n >= sizeof line)
		return n;
	memcpy(line, buf, n);
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	char *colon = strchr(line, ':');
	if (!colon)
		return n;
	*colon = '\0';
	char *v = colon + 1 + strspn(colon + 1, " \t");
	if (strcasecmp(line, "ETag") == 0) {
		size_t l = strlen(v);
		if (l >= 2 && v[0] == '"' && v[l - 1] == '"') {
			v[l - 1] = '\0';
			v++;
		}
		snprintf(rq->obj.etag, sizeof rq->obj.etag, "%s", v);
	} else if (strcasecmp(line, "Content-Length") == 0) {
		rq->obj.size = strtoll(v, NULL, 10);
	} else if (strcasecmp(line, "x-amz-meta-sha256") == 0) {
		snprintf(rq->obj.sha256, sizeof rq->obj.sha256, "%s", v);
	}
	return n;
}

static struct curl_slist *headers(struct fl_s3 *s, struct fl_s3_rq *rq, const char *sha)
{
	struct curl_slist *h = NULL;
	char line[2200];
	snprintf(line, sizeof line, "x-amz-content-sha256: %s", sha);
	h = curl_slist_append(h, line);
	if (s->cred.token[0]) {
		snprintf(line, sizeof line, "x-amz-security-token: %s", s->cred.token);
		h = curl_slist_append(h, line);
		OPENSSL_cleanse(line, sizeof line);
	}
	if (rq->meta_sha256) {
		snprintf(line, sizeof line, "x-amz-meta-sha256: %s", rq->meta_sha256);
		h = curl_slist_append(h, line);
	}
	if (rq->fd >= 0 || rq->mem) {
		snprintf(line, sizeof line, "Content-Type: %s",
		         rq->content_type ? rq->content_type : "application/octet-stream");
		h = curl_slist_append(h, line);
	}
	/* No "Expect:" to turn 100-continue off: curl 7.88 would sign the empty header, which
	 * no store recomputes the same way. */
	return h;
}

static void wipe_headers(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static void setup(struct attempt *a, const char *url, struct curl_slist *h, char *sigv4)
{
	struct fl_s3 *s = a->s;
	struct fl_s3_rq *rq = a->rq;
	CURL *c = s->curl;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_VERBOSE, 0L); /* never: it would print the signed headers */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, a->curl_err);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "flkit/" FLKIT_VERSION " (fl-ckpt)");
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->o.ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->o.ca_file);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
	curl_easy_setopt(c, CURLOPT_USERPWD, s->userpwd);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	if (strcmp(rq->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(rq->method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, a);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		                 (curl_off_t)(rq->fd >= 0 ? rq->len : (long long)rq->mem_len));
	} else if (strcmp(rq->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, a);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->mem_len);
	} else if (strcmp(rq->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	}
}

static bool transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM: return true;
	default: return false;
	}
}

static const char *what(const struct fl_s3_rq *rq)
{
	return rq->key ? rq->key : "(bucket)";
}

/* The outcome of one reply: 0, >0 try again, <0 refused. */
static int judge(struct attempt *a, CURLcode rc, struct fl_err *e)
{
	struct fl_s3 *s = a->s;
	struct fl_s3_rq *rq = a->rq;
	if (rc != CURLE_OK) {
		const char *why = a->curl_err[0] ? a->curl_err : curl_easy_strerror(rc);
		if (a->write_failed)
			return fl_err_set(e, FL_EXIT_FAIL,
			                  "S3 %s %s: the reply is larger than %lld bytes (or could "
			                  "not be written): refused",
			                  rq->method, what(rq),
			                  rq->out_fd >= 0 ? rq->out_max : (long long)FL_S3_XML_MAX);
		if (rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_READ_ERROR)
			return fl_err_set(e, FL_EXIT_FAIL,
			                  "S3 %s %s: the local file could not be read in full "
			                  "(did it shrink?)",
			                  rq->method, what(rq));
		if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
		    rc == CURLE_SSL_CERTPROBLEM)
			return fl_err_set(e, FL_EXIT_FAIL,
			                  "S3 endpoint %s: TLS verification failed (%s): give the "
			                  "store's CA with --ca-file",
			                  s->t.endpoint, why);
		fl_err_set(e, transient(rc) ? FL_EXIT_UNAVAILABLE : FL_EXIT_FAIL, "S3 %s %s at %s: %s",
		           rq->method, what(rq), s->t.endpoint, why);
		return transient(rc) ? 1 : -1;
	}
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &rq->status);
	if (rq->status / 100 == 2)
		return 0;
	char msg[700];
	if (fl_s3_xml_error(rq->body.data, rq->body.len, msg, sizeof msg) < 0)
		snprintf(msg, sizeof msg, "%s", rq->status == 404 ? "NoSuchKey: not found" : "no error text");
	bool again = rq->status >= 500 || rq->status == 429;
	fl_err_set(e, again ? FL_EXIT_UNAVAILABLE : FL_EXIT_FAIL, "S3 %s s3://%s/%s: HTTP %ld %s", rq->method,
	           s->t.bucket, rq->key ? rq->key : "", rq->status, msg);
	return again ? 1 : -1;
}

static void reset_reply(struct fl_s3_rq *rq)
{
	fl_buf_reset(&rq->body);
	memset(&rq->obj, 0, sizeof rq->obj);
	rq->got = 0;
	rq->status = 0;
	if (rq->md5)
		EVP_DigestInit_ex(rq->md5, EVP_md5(), NULL);
	if (rq->sha)
		EVP_DigestInit_ex(rq->sha, EVP_sha256(), NULL);
	if (rq->out_fd >= 0 && ftruncate(rq->out_fd, 0) < 0)
		rq->out_max = -1; /* every write then fails, named as such */
}

static int attempt_once(void *ctx, unsigned n, struct fl_err *e)
{
	struct attempt *a = ctx;
	struct fl_s3_rq *rq = a->rq;
	(void)n;
	char sha[65], sigv4[64];
	if (rq->sha256) {
		snprintf(sha, sizeof sha, "%s", rq->sha256);
	} else if (rq->mem) {
		unsigned char d[32];
		EVP_Digest(rq->mem, rq->mem_len, d, NULL, EVP_sha256(), NULL);
		fl_s3_hex(d, 32, sha);
	} else {
		snprintf(sha, sizeof sha, "%s", FL_S3_EMPTY_SHA256);
	}
	snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", a->s->t.region);
	struct fl_buf url = FL_BUF_INIT;
	fl_s3_url(&a->s->t, rq->key, rq->query, &url);
	struct curl_slist *h = headers(a->s, rq, sha);
	reset_reply(rq);
	a->sent = 0;
	a->write_failed = false;
	a->curl_err[0] = '\0';
	setup(a, url.data, h, sigv4);
	CURLcode rc = curl_easy_perform(a->s->curl);
	int r = judge(a, rc, e);
	curl_easy_setopt(a->s->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(a->s->curl, CURLOPT_USERPWD, NULL);
	wipe_headers(h);
	fl_buf_free(&url);
	return r;
}

int fl_s3_request(struct fl_s3 *s, struct fl_s3_rq *rq, struct fl_err *e)
{
	struct attempt a = {.s = s, .rq = rq};
	struct fl_backoff b = {
	    .initial_ms = 200, .max_ms = 5000, .factor = 2.0, .jitter = 0.5, .deadline_ms = s->o.deadline_ms};
	struct fl_err last = {0};
	if (fl_retry_run(&b, s->o.clock, attempt_once, &a, &last) == 0)
		return 0;
	if (last.code != FL_EXIT_TIMEOUT) {
		if (e)
			*e = last;
		return -1;
	}
	return fl_err_set(e, FL_EXIT_UNAVAILABLE,
	                  "S3 store %s unreachable for %llu s (%s); check the endpoint, the network and "
	                  "the store, then run again",
	                  s->t.endpoint, (unsigned long long)(s->o.deadline_ms / 1000), last.msg);
}

int fl_s3_head(struct fl_s3 *s, const char *key, struct fl_s3_obj *obj, bool *missing, struct fl_err *e)
{
	struct fl_s3_rq rq;
	fl_s3_rq_init(&rq, "HEAD", key, NULL);
	int rc = fl_s3_request(s, &rq, e);
	if (missing)
		*missing = rc < 0 && rq.status == 404;
	if (rc < 0 && rq.status >= 400 && rq.status < 500 && rq.status != 404) {
		/* A HEAD reply has no body: ask again with GET for the store's Code and Message. */
		struct fl_s3_rq why;
		struct fl_err e2 = {0};
		fl_s3_rq_init(&why, "GET", key, NULL);
		if (fl_s3_request(s, &why, &e2) < 0 && why.status == rq.status && e)
			*e = e2;
		fl_s3_rq_free(&why);
	}
	if (rc == 0)
		*obj = rq.obj;
	fl_s3_rq_free(&rq);
	return rc;
}

int fl_s3_get_fd(struct fl_s3 *s, const char *key, int fd, long long max, struct fl_s3_obj *obj,
                 char sha256[65], struct fl_err *e)
{
	if (fl_s3_head(s, key, obj, NULL, e) < 0)
		return -1;
	if (obj->size < 0 || obj->size > max)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "S3 object s3://%s/%s is %lld bytes, more than the %lld allowed",
		                  s->t.bucket, key, obj->size, max);
	struct fl_s3_rq rq;
	fl_s3_rq_init(&rq, "GET", key, NULL);
	rq.out_fd = fd;
	rq.out_max = obj->size;
	rq.sha = EVP_MD_CTX_new();
	int rc = fl_s3_request(s, &rq, e);
	unsigned char d[32];
	EVP_DigestFinal_ex(rq.sha, d, NULL);
	EVP_MD_CTX_free(rq.sha);
	fl_s3_hex(d, 32, sha256);
	if (rc == 0 && rq.got != obj->size)
		rc = fl_err_set(e, FL_EXIT_FAIL, "S3 GET s3://%s/%s: %lld bytes received, HEAD said %lld",
		                s->t.bucket, key, rq.got, obj->size);
	fl_s3_rq_free(&rq);
	return rc;
}
