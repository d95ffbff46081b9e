/* fl_s3_put: uploads that count only once the store shows what was sent: a single PUT, or a
 * multipart upload whose progress survives in a state file and is resumed, not restarted. */
#include "fl_fs.h"
#include "fl_s3-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAX  (4L * 1024 * 1024)
#define STATE_VER  1
#define READ_CHUNK ((size_t)1 << 20)

/* The state of one multipart upload, as saved. */
struct mp {
	char *key, *upload_id, *state_path;
	char sha256[65];
	long long size, part_size;
	int nparts;
	char (*etag)[33];   /* [nparts]: hex MD5 of each part; "" while not uploaded */
	char (*remote)[33]; /* [nparts]: what ListParts says the store holds */
	long long *rsize;   /* [nparts] */
	bool resumable;     /* a failure that a later run may continue from */
};

static void mp_free(struct mp *m)
{
	free(m->key);
	free(m->upload_id);
	free(m->etag);
	free(m->remote);
	free(m->rsize);
	memset(m, 0, sizeof *m);
}

static void mp_alloc(struct mp *m)
{
	m->nparts = (int)((m->size + m->part_size - 1) / m->part_size);
	m->etag = fl_xcalloc((size_t)m->nparts, sizeof *m->etag);
	m->remote = fl_xcalloc((size_t)m->nparts, sizeof *m->remote);
	m->rsize = fl_xcalloc((size_t)m->nparts, sizeof *m->rsize);
}

/* Query values: every byte but the unreserved ones encoded, '/' included. */
static void query_encode(const char *v, struct fl_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			fl_buf_addc(out, (char)*p);
		} else {
			char pct[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			fl_buf_add(out, pct, 3);
		}
	}
}

static void upload_query(const struct mp *m, int part, struct fl_buf *q)
{
	if (part > 0)
		fl_buf_addf(q, "partNumber=%d&", part);
	fl_buf_adds(q, "uploadId=");
	query_encode(m->upload_id, q);
}

static int state_save(const struct mp *m, struct fl_err *e)
{
	json_t *parts = json_array();
	for (int i = 0; i < m->nparts; i++)
		if (m->etag[i][0])
			json_array_append_new(parts,
			                      json_pack("{s:i,s:s}", "part", i + 1, "md5", m->etag[i]));
	json_t *j = json_pack("{s:i,s:s,s:s,s:I,s:s,s:I,s:o}", "version", STATE_VER, "key", m->key,
	                      "upload_id", m->upload_id, "size", (json_int_t)m->size, "sha256", m->sha256,
	                      "part_size", (json_int_t)m->part_size, "parts", parts);
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!text)
		return fl_err_set(e, FL_EXIT_FAIL, "upload state %s cannot be formatted", m->state_path);
	int rc = fl_fs_write_atomic(m->state_path, text, strlen(text), 0600, FL_OWNER_KEEP, FL_OWNER_KEEP, e);
	free(text);
	return rc;
}

static bool hex_ok(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static int state_parts(struct mp *m, json_t *parts)
{
	size_t i;
	json_t *p;
	json_array_foreach(parts, i, p)
	{
		json_int_t n;
		const char *md5;
		if (json_unpack(p, "{s:I,s:s!}", "part", &n, "md5", &md5) < 0 || n < 1 || n > m->nparts ||
		    !hex_ok(md5, 32))
			return -1;
		snprintf(m->etag[n - 1], sizeof m->etag[0], "%s", md5);
	}
	return 0;
}

/* Load the state file into m: 1 loaded, 0 absent, -1 unreadable or malformed (e says which). */
static int state_load(struct mp *m, const char *path, struct fl_err *e)
{
	struct stat st;
	if (lstat(path, &st) < 0 && errno == ENOENT)
		return 0;
	int fd = fl_fs_open_regular(NULL, path, O_NOFOLLOW, e);
	if (fd < 0)
		return -1;
	json_error_t je;
	json_t *j = fstat(fd, &st) == 0 && st.st_size <= STATE_MAX
	                ? json_loadfd(fd, JSON_REJECT_DUPLICATES, &je)
	                : NULL;
	close(fd);
	const char *key, *id, *sha;
	json_int_t ver, size, psize;
	json_t *parts;
	int rc = -1;
	if (j &&
	    json_unpack(j, "{s:I,s:s,s:s,s:I,s:s,s:I,s:o!}", "version", &ver, "key", &key, "upload_id", &id,
	                "size", &size, "sha256", &sha, "part_size", &psize, "parts", &parts) == 0 &&
	    ver == STATE_VER && size > 0 && psize >= FL_S3_PART_MIN && psize <= FL_S3_PART_MAX &&
	    (size + psize - 1) / psize <= FL_S3_PARTS_MAX && hex_ok(sha, 64) && *id && strlen(id) < 1024 &&
	    json_is_array(parts)) {
		m->key = fl_xstrdup(key);
		m->upload_id = fl_xstrdup(id);
		snprintf(m->sha256, sizeof m->sha256, "%s", sha);
		m->size = size;
		m->part_size = psize;
		mp_alloc(m);
		rc = state_parts(m, parts) == 0 ? 1 : -1;
	}
	json_decref(j);
	if (rc < 0) {
		mp_free(m);
		fl_err_set(e, FL_EXIT_FAIL,
		           "upload state %s is malformed; remove it (the upload then starts over)", path);
	}
	return rc;
}

static int on_part(void *ctx, int number, const char *etag, long long size)
{
	struct mp *m = ctx;
	if (number > m->nparts)
		return -1;
	snprintf(m->remote[number - 1], sizeof m->remote[0], "%s", etag);
	m->rsize[number - 1] = size;
	return 0;
}

/* What the store holds of the upload: 0, or -1 (missing: *gone true). */
static int list_parts(struct fl_s3 *s, struct mp *m, bool *gone, struct fl_err *e)
{
	int marker = 0;
	*gone = false;
	for (int pages = 0; pages < FL_S3_PARTS_MAX; pages++) {
		struct fl_buf q = FL_BUF_INIT;
		struct fl_s3_rq rq;
		bool more = false;
		fl_buf_addf(&q, "max-parts=1000&part-number-marker=%d&", marker);
		upload_query(m, 0, &q);
		fl_s3_rq_init(&rq, "GET", m->key, q.data);
		int rc = fl_s3_request(s, &rq, e);
		if (rc < 0)
			*gone = rq.status == 404;
		else if (fl_s3_xml_parts(rq.body.data, rq.body.len, on_part, m, &more) < 0)
			rc = fl_err_set(e, FL_EXIT_FAIL, "S3 ListParts of s3://%s/%s: the reply is malformed",
			                s->t.bucket, m->key);
		char next[32] = "";
		if (rc == 0 && more &&
		    (fl_s3_xml_text(rq.body.data, rq.body.len, "NextPartNumberMarker", next, sizeof next) <
		         0 ||
		     strtol(next, NULL, 10) <= marker))
			rc = fl_err_set(e, FL_EXIT_FAIL,
			                "S3 ListParts of s3://%s/%s: truncated without a next marker",
			                s->t.bucket, m->key);
		marker = (int)strtol(next, NULL, 10);
		fl_s3_rq_free(&rq);
		fl_buf_free(&q);
		if (rc < 0 || !more)
			return rc;
	}
	return 0;
}

static int create(struct fl_s3 *s, struct mp *m, struct fl_err *e)
{
	struct fl_s3_rq rq;
	char id[1024];
	fl_s3_rq_init(&rq, "POST", m->key, "uploads=");
	rq.meta_sha256 = m->sha256;
	rq.mem = "";
	int rc = fl_s3_request(s, &rq, e);
	if (rc == 0 && fl_s3_xml_text(rq.body.data, rq.body.len, "UploadId", id, sizeof id) < 0)
		rc = fl_err_set(e, FL_EXIT_FAIL,
		                "S3 CreateMultipartUpload of s3://%s/%s: no UploadId in the reply",
		                s->t.bucket, m->key);
	fl_s3_rq_free(&rq);
	if (rc == 0)
		m->upload_id = fl_xstrdup(id);
	return rc;
}

static void abort_upload(struct fl_s3 *s, struct mp *m)
{
	struct fl_buf q = FL_BUF_INIT;
	struct fl_s3_rq rq;
	struct fl_err ignored;
	upload_query(m, 0, &q);
	fl_s3_rq_init(&rq, "DELETE", m->key, q.data);
	fl_s3_request(s, &rq, &ignored);
	fl_s3_rq_free(&rq);
	fl_buf_free(&q);
	unlink(m->state_path);
}

int fl_s3_put_abort(struct fl_s3 *s, const char *state_path, struct fl_err *e)
{
	struct mp m = {0};
	int rc = state_load(&m, state_path, e);
	if (rc > 0) {
		m.state_path = (char *)state_path;
		abort_upload(s, &m);
	}
	mp_free(&m);
	return rc < 0 ? -1 : 0;
}

/* MD5 and SHA-256 of len bytes of fd at off, fed to whole (the file's SHA-256) too. */
static int hash_range(int fd, off_t off, long long len, EVP_MD_CTX *whole, char md5[33], char sha[65])
{
	EVP_MD_CTX *a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new();
	char *buf = malloc(READ_CHUNK);
	int rc = 0;
	if (!a || !b || !buf)
		abort();
	EVP_DigestInit_ex(a, EVP_md5(), NULL);
	EVP_DigestInit_ex(b, EVP_sha256(), NULL);
	for (long long done = 0; done < len && rc == 0;) {
		size_t want = len - done > (long long)READ_CHUNK ? READ_CHUNK : (size_t)(len - done);
		ssize_t n = pread(fd, buf, want, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -1;
			break;
		}
		EVP_DigestUpdate(a, buf, (size_t)n);
		EVP_DigestUpdate(b, buf, (size_t)n);
		EVP_DigestUpdate(whole, buf, (size_t)n);
		done += n;
	}
	unsigned char d[32];
	EVP_DigestFinal_ex(a, d, NULL);
	fl_s3_hex(d, 16, md5);
	EVP_DigestFinal_ex(b, d, NULL);
	fl_s3_hex(d, 32, sha);
	EVP_MD_CTX_free(a);
	EVP_MD_CTX_free(b);
	free(buf);
	return rc;
}

static int finish_md(EVP_MD_CTX *c, size_t n, char *out)
{
	unsigned char d[32];
	EVP_DigestFinal_ex(c, d, NULL);
	fl_s3_hex(d, n, out);
	return 0;
}

/* Upload part i (0-based) whose hashes are md5/sha; the store's ETag must be its MD5. */
static int put_part(struct fl_s3 *s, struct mp *m, int fd, int i, const char *md5, const char *sha,
                    struct fl_err *e)
{
	struct fl_buf q = FL_BUF_INIT;
	struct fl_s3_rq rq;
	char sent[33];
	upload_query(m, i + 1, &q);
	fl_s3_rq_init(&rq, "PUT", m->key, q.data);
	rq.fd = fd;
	rq.off = (off_t)i * m->part_size;
	rq.len = m->size - rq.off < m->part_size ? m->size - rq.off : m->part_size;
	rq.sha256 = sha;
	rq.md5 = EVP_MD_CTX_new();
	int rc = fl_s3_request(s, &rq, e);
	finish_md(rq.md5, 16, sent);
	if (rc == 0 && strcmp(sent, md5) != 0)
		rc = fl_err_set(e, FL_EXIT_FAIL, "%s changed while part %d was uploaded; upload it again",
		                m->key, i + 1);
	else if (rc == 0 && strcasecmp(rq.obj.etag, md5) != 0)
		rc = fl_err_set(
		    e, FL_EXIT_FAIL,
		    "S3 UploadPart %d of s3://%s/%s: the store's ETag '%s' is not the part's MD5 %s "
		    "(a store that encrypts with KMS cannot be verified this way)",
		    i + 1, s->t.bucket, m->key, rq.obj.etag, md5);
	EVP_MD_CTX_free(rq.md5);
	fl_s3_rq_free(&rq);
	fl_buf_free(&q);
	return rc;
}

static void note(const struct fl_s3 *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const struct fl_s3 *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	if (!s->o.note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	s->o.note(msg);
}

/* Every part in order: hashed here (and into whole), skipped when the store already holds it
 * with that MD5 and size, uploaded otherwise; the state saved after each. */
static int upload_parts(struct fl_s3 *s, struct mp *m, int fd, EVP_MD_CTX *whole, struct fl_s3_put_result *r,
                        struct fl_err *e)
{
	int uploaded = 0;
	for (int i = 0; i < m->nparts; i++) {
		off_t off = (off_t)i * m->part_size;
		long long len = m->size - off < m->part_size ? m->size - off : m->part_size;
		char md5[33], sha[65];
		if (hash_range(fd, off, len, whole, md5, sha) < 0)
			return fl_err_sys(e, errno, "%s cannot be read at byte %lld", m->key, (long long)off);
		if (strcasecmp(m->remote[i], md5) == 0 && m->rsize[i] == len) {
			snprintf(m->etag[i], sizeof m->etag[i], "%s", md5);
			r->parts_skipped++;
			continue;
		}
		if (s->o.stop_after_parts > 0 && uploaded >= s->o.stop_after_parts) {
			m->resumable = true;
			return fl_err_set(e, FL_EXIT_FAIL, "stopped after %d part(s), as the test asked",
			                  uploaded);
		}
		if (put_part(s, m, fd, i, md5, sha, e) < 0) {
			/* Unreachable: resume later. Changed: the next run sees another SHA-256 and
			 * starts over. Refused: nothing to resume. */
			m->resumable = e->code == FL_EXIT_UNAVAILABLE || strstr(e->msg, " changed while ");
			return -1;
		}
		snprintf(m->etag[i], sizeof m->etag[i], "%s", md5);
		uploaded++;
		note(s, "s3://%s/%s: part %d of %d uploaded (%lld bytes)", s->t.bucket, m->key, i + 1,
		     m->nparts, len);
		if (state_save(m, e) < 0)
			return -1;
	}
	return 0;
}

/* A digit of a hex string hex_ok accepted. */
static int nibble(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

/* CompleteMultipartUpload; the ETag it should produce into etag (md5 of the part MD5s, "-N"). */
static int complete(struct fl_s3 *s, struct mp *m, char *etag, size_t esize, struct fl_err *e)
{
	struct fl_buf body = FL_BUF_INIT, q = FL_BUF_INIT;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	EVP_DigestInit_ex(c, EVP_md5(), NULL);
	fl_buf_adds(&body, "<CompleteMultipartUpload>");
	for (int i = 0; i < m->nparts; i++) {
		unsigned char d[16];
		for (size_t k = 0; k < 16; k++)
			d[k] =
			    (unsigned char)(nibble(m->etag[i][2 * k]) << 4 | nibble(m->etag[i][2 * k + 1]));
		EVP_DigestUpdate(c, d, 16);
		fl_buf_addf(&body, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>", i + 1,
		            m->etag[i]);
	}
	fl_buf_adds(&body, "</CompleteMultipartUpload>");
	char hex[33];
	finish_md(c, 16, hex);
	EVP_MD_CTX_free(c);
	snprintf(etag, esize, "%s-%d", hex, m->nparts);
	upload_query(m, 0, &q);
	struct fl_s3_rq rq;
	fl_s3_rq_init(&rq, "POST", m->key, q.data);
	rq.mem = body.data;
	rq.mem_len = body.len;
	rq.content_type = "application/xml";
	int rc = fl_s3_request(s, &rq, e);
	char msg[700];
	/* S3 may answer 200 and put the failure in the body. */
	if (rc == 0 && memmem(rq.body.data ? rq.body.data : "", rq.body.len, "<Error>", 7) &&
	    fl_s3_xml_error(rq.body.data, rq.body.len, msg, sizeof msg) == 0)
		rc = fl_err_set(e, FL_EXIT_FAIL, "S3 CompleteMultipartUpload of s3://%s/%s: %s", s->t.bucket,
		                m->key, msg);
	fl_s3_rq_free(&rq);
	fl_buf_free(&body);
	fl_buf_free(&q);
	return rc;
}

/* The upload counts only when HEAD shows the size, the SHA-256 and the expected ETag. */
static int verify(struct fl_s3 *s, const char *key, long long size, const char *sha, const char *etag,
                  struct fl_err *e)
{
	struct fl_s3_obj o;
	if (fl_s3_head(s, key, &o, NULL, e) < 0)
		return -1;
	if (o.size != size)
		return fl_err_set(e, FL_EXIT_FAIL, "s3://%s/%s holds %lld bytes after the upload, not %lld",
		                  s->t.bucket, key, o.size, size);
	if (strcasecmp(o.sha256, sha) != 0)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "s3://%s/%s: x-amz-meta-sha256 is '%s', not the manifest's %s", s->t.bucket,
		                  key, o.sha256, sha);
	if (strcasecmp(o.etag, etag) != 0)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "s3://%s/%s: the store's ETag '%s' is not %s, computed from the bytes "
		                  "sent",
		                  s->t.bucket, key, o.etag, etag);
	return 0;
}

static int put_single(struct fl_s3 *s, const char *key, int fd, long long size, const char *sha256,
                      struct fl_s3_put_result *r, struct fl_err *e)
{
	struct fl_s3_rq rq;
	char md5[33], sha[65];
	fl_s3_rq_init(&rq, "PUT", key, NULL);
	rq.fd = fd;
	rq.len = size;
	rq.sha256 = sha256;
	rq.meta_sha256 = sha256;
	rq.md5 = EVP_MD_CTX_new();
	rq.sha = EVP_MD_CTX_new();
	int rc = fl_s3_request(s, &rq, e);
	finish_md(rq.md5, 16, md5);
	finish_md(rq.sha, 32, sha);
	EVP_MD_CTX_free(rq.md5);
	EVP_MD_CTX_free(rq.sha);
	fl_s3_rq_free(&rq);
	if (rc == 0 && strcmp(sha, sha256) != 0)
		rc = fl_err_set(e, FL_EXIT_FAIL,
		                "%s: the bytes sent have SHA-256 %s, not the manifest's %s (the file "
		                "changed or is corrupt): run fl-ckpt verify",
		                key, sha, sha256);
	if (rc == 0)
		rc = verify(s, key, size, sha256, md5, e);
	if (rc == 0)
		snprintf(r->etag, sizeof r->etag, "%s", md5);
	return rc;
}

/* Resume the upload of the state file when it is of this very file and the store still has it;
 * else start one. 0 with m ready, -1 and e. */
static int begin(struct fl_s3 *s, struct mp *m, const char *key, long long size, const char *sha256,
                 long long psize, struct fl_err *e)
{
	struct mp old = {0};
	int st = state_load(&old, m->state_path, e);
	if (st < 0)
		return -1;
	if (st > 0 && strcmp(old.key, key) == 0 && old.size == size && strcmp(old.sha256, sha256) == 0) {
		bool gone;
		old.state_path = m->state_path;
		if (list_parts(s, &old, &gone, e) == 0) {
			*m = old;
			note(s, "s3://%s/%s: resuming upload %.12s...", s->t.bucket, key, m->upload_id);
			return 0;
		}
		if (!gone)
			return -1;
		old.upload_id[0] = '\0';
	}
	if (st > 0 && old.upload_id[0]) {
		old.state_path = m->state_path;
		abort_upload(s, &old); /* another file's: of no use now */
	}
	mp_free(&old);
	m->key = fl_xstrdup(key);
	m->size = size;
	m->part_size = psize;
	snprintf(m->sha256, sizeof m->sha256, "%s", sha256);
	mp_alloc(m);
	if (create(s, m, e) < 0)
		return -1;
	return state_save(m, e);
}

static int put_multi(struct fl_s3 *s, const char *key, int fd, long long size, const char *sha256,
                     const char *state_path, struct fl_s3_put_result *r, struct fl_err *e)
{
	long long psize = s->o.part_size > 0 ? s->o.part_size : FL_S3_PART_DEF;
	if (psize < FL_S3_PART_MIN)
		psize = FL_S3_PART_MIN;
	while ((size + psize - 1) / psize > FL_S3_PARTS_MAX)
		psize *= 2;
	struct mp m = {.state_path = (char *)state_path};
	if (begin(s, &m, key, size, sha256, psize, e) < 0) {
		mp_free(&m);
		return -1;
	}
	EVP_MD_CTX *whole = EVP_MD_CTX_new();
	EVP_DigestInit_ex(whole, EVP_sha256(), NULL);
	char sha[65], etag[48];
	int rc = upload_parts(s, &m, fd, whole, r, e);
	finish_md(whole, 32, sha);
	EVP_MD_CTX_free(whole);
	r->parts = m.nparts;
	if (rc == 0 && strcmp(sha, sha256) != 0) {
		rc = fl_err_set(e, FL_EXIT_FAIL,
		                "%s: the file's SHA-256 is %s, not the manifest's %s (the file changed "
		                "or is corrupt): run fl-ckpt verify",
		                key, sha, sha256);
		abort_upload(s, &m);
	}
	if (rc == 0)
		rc = complete(s, &m, etag, sizeof etag, e);
	if (rc == 0)
		rc = verify(s, key, size, sha256, etag, e);
	if (rc == 0) {
		snprintf(r->etag, sizeof r->etag, "%s", etag);
		unlink(state_path);
	} else if (!m.resumable && e->code == FL_EXIT_FAIL) {
		abort_upload(s, &m); /* refused for good: nothing to resume */
	}
	mp_free(&m);
	return rc;
}

int fl_s3_put_mem(struct fl_s3 *s, const char *key, const char *data, size_t len, const char *content_type,
                  struct fl_err *e)
{
	struct fl_s3_rq rq;
	unsigned char d[32];
	char md5[33], sha[65];
	EVP_Digest(data, len, d, NULL, EVP_sha256(), NULL);
	fl_s3_hex(d, 32, sha);
	EVP_Digest(data, len, d, NULL, EVP_md5(), NULL);
	fl_s3_hex(d, 16, md5);
	fl_s3_rq_init(&rq, "PUT", key, NULL);
	rq.mem = data;
	rq.mem_len = len;
	rq.sha256 = sha;
	rq.meta_sha256 = sha;
	rq.content_type = content_type;
	int rc = fl_s3_request(s, &rq, e);
	fl_s3_rq_free(&rq);
	return rc == 0 ? verify(s, key, (long long)len, sha, md5, e) : -1;
}

int fl_s3_put_fd(struct fl_s3 *s, const char *key, int fd, long long size, const char *sha256,
                 const char *state_path, struct fl_s3_put_result *r, struct fl_err *e)
{
	memset(r, 0, sizeof *r);
	if (!hex_ok(sha256, 64))
		return fl_err_set(e, FL_EXIT_FAIL, "%s: '%s' is not a SHA-256 (64 lowercase hex digits)", key,
		                  sha256);
	if (size < 0 || size > FL_S3_PART_MAX * FL_S3_PARTS_MAX)
		return fl_err_set(e, FL_EXIT_FAIL, "%s: %lld bytes is beyond what S3 stores in one object",
		                  key, size);
	long long threshold = s->o.threshold > 0 ? s->o.threshold : FL_S3_THRESHOLD_DEF;
	if (threshold > FL_S3_SINGLE_MAX)
		threshold = FL_S3_SINGLE_MAX;
	if (size <= threshold || size <= FL_S3_PART_MIN)
		return put_single(s, key, fd, size, sha256, r, e);
	return put_multi(s, key, fd, size, sha256, state_path, r, e);
}
