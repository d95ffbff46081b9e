/* fl_s3: a client of S3-compatible stores over libcurl's SigV4 (design 03 §7.3, 08 §1): target
 * parsing, credentials, single and resumable multipart uploads verified after the fact, bounded
 * downloads. Secrets live only in struct fl_s3_cred and curl's memory, and are wiped after use. */
#ifndef FL_S3_H
#define FL_S3_H
#include "fl_buf.h"
#include "fl_clock.h"
#include "fl_err.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_S3_REGION_DEFAULT "us-east-1"
/* S3's limits: parts of 5 MiB to 5 GiB, at most 10,000 of them; a single PUT up to 5 GiB. */
#define FL_S3_PART_MIN      (5LL * 1024 * 1024)
#define FL_S3_PART_MAX      (5LL * 1024 * 1024 * 1024)
#define FL_S3_PARTS_MAX     10000
#define FL_S3_SINGLE_MAX    (5LL * 1024 * 1024 * 1024)
#define FL_S3_THRESHOLD_DEF (200LL * 1024 * 1024) /* rclone's cutoff */
#define FL_S3_PART_DEF      (16LL * 1024 * 1024)
/* Bounds on what is read from a store or a user: an XML body, a key, a URL. */
#define FL_S3_XML_MAX 1048576
#define FL_S3_KEY_MAX 1024
#define FL_S3_URL_MAX 2048

/* Where objects go: s3://bucket[/prefix] at endpoint (scheme://host[:port], no path). */
struct fl_s3_target {
	char *endpoint; /* "https://s3.us-east-1.amazonaws.com" */
	char *bucket;   /* 3-63 of [a-z0-9.-], S3's bucket rules */
	char *prefix;   /* "" or "a/b" (no leading or trailing slash) */
	char *region;
	bool virtual_host; /* bucket.host/key instead of host/bucket/key */
};
/* Parse url ("s3://bucket[/prefix]"), endpoint (NULL or "": https://s3.<region>.amazonaws.com),
 * region (NULL or "": FL_S3_REGION_DEFAULT). Path-style unless virtual_host. -1 and e
 * (FL_EXIT_USAGE) naming the value otherwise. */
int fl_s3_target_parse(struct fl_s3_target *t, const char *url, const char *endpoint, const char *region,
                       bool virtual_host, struct fl_err *e);
void fl_s3_target_free(struct fl_s3_target *t);
/* The object key of name under the target's prefix ("prefix/name" or "name"). */
void fl_s3_key(const struct fl_s3_target *t, const char *name, struct fl_buf *out);
/* key URI-encoded as S3 wants it: every byte but A-Z a-z 0-9 - _ . ~ and / as %XX. */
void fl_s3_key_encode(const char *key, struct fl_buf *out);
/* The request URL of key (NULL: the bucket) with an optional query ("uploads", NULL: none). */
void fl_s3_url(const struct fl_s3_target *t, const char *key, const char *query, struct fl_buf *out);

/* Credentials: the standard AWS variables, else the credentials file. */
struct fl_s3_cred {
	char id[129];
	char secret[129];
	char token[2049]; /* "" when none */
	char source[512]; /* "the environment" or the file, for messages (never a secret) */
};
/* AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN] when set, else the file
 * AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials), profile AWS_PROFILE (default
 * "default"). */
int fl_s3_cred_load(struct fl_s3_cred *c, struct fl_err *e);
/* The profile of the credentials file path: a regular file (not a symlink) owned by the caller,
 * mode 0600 or stricter, at most 64 KiB, INI as the AWS tools write it. */
int fl_s3_cred_file(struct fl_s3_cred *c, const char *path, const char *profile, struct fl_err *e);
void fl_s3_cred_wipe(struct fl_s3_cred *c);

/* XML of S3's replies, read by a small strict scanner (no entities but the five predefined
 * and numeric ones, no comments or CDATA, at most FL_S3_XML_MAX bytes). The text of the first
 * element named tag (unescaped, at most size-1 bytes) into out: 0, or -1 when absent,
 * malformed or too long. */
int fl_s3_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t size);
/* An error body as "Code: Message" (either part may be missing); -1 when it says neither. */
int fl_s3_xml_error(const char *xml, size_t len, char *out, size_t size);
/* The parts of a ListPartsResult, in order: call fn for each (number, ETag without quotes,
 * size). -1 on malformed XML, a part without one of the three, a number out of 1-10000 or not
 * ascending, or when fn returns -1. *truncated from IsTruncated. */
typedef int (*fl_s3_part_fn)(void *ctx, int number, const char *etag, long long size);
int fl_s3_xml_parts(const char *xml, size_t len, fl_s3_part_fn fn, void *ctx, bool *truncated);

/* A client. */
struct fl_s3_opts {
	const char *ca_file;           /* CA bundle for a self-signed endpoint; NULL: the system's */
	long long threshold;           /* multipart above this size (0: FL_S3_THRESHOLD_DEF) */
	long long part_size;           /* 0: FL_S3_PART_DEF, grown to fit FL_S3_PARTS_MAX */
	uint64_t deadline_ms;          /* for one request and its retries (0: 60 s) */
	const struct fl_clock *clock;  /* NULL: the real one */
	int stop_after_parts;          /* tests only: fail after uploading this many parts (0: off) */
	void (*note)(const char *msg); /* progress lines (parts uploaded, skipped), NULL: none */
};
struct fl_s3 {
	struct fl_s3_target t;
	struct fl_s3_cred cred;
	struct fl_s3_opts o;
	void *curl;
	char userpwd[260];
};
/* Take t (moved: the caller no longer frees it) and cred (copied, the caller's wiped). */
int fl_s3_open(struct fl_s3 *s, struct fl_s3_target *t, struct fl_s3_cred *cred, const struct fl_s3_opts *o,
               struct fl_err *e);
void fl_s3_close(struct fl_s3 *s);

/* What HEAD says about an object. */
struct fl_s3_obj {
	long long size;
	char etag[80];   /* without quotes */
	char sha256[65]; /* x-amz-meta-sha256, "" when absent */
};
/* Each of these: network failures and 5xx/429 retried with backoff until the deadline, then -1
 * with FL_EXIT_UNAVAILABLE; a refusal (4xx) at once, -1 and FL_EXIT_FAIL with the store's
 * "Code: Message". HEAD of a missing object: -1, FL_EXIT_FAIL, *missing true when not NULL. */
int fl_s3_head(struct fl_s3 *s, const char *key, struct fl_s3_obj *obj, bool *missing, struct fl_err *e);
/* GET key into fd (from its offset 0, truncated first) when HEAD says it is at most max bytes;
 * obj gets what HEAD said, and the body's size is checked against it; sha256 gets the SHA-256
 * hex of the bytes written, hashed as they came. */
int fl_s3_get_fd(struct fl_s3 *s, const char *key, int fd, long long max, struct fl_s3_obj *obj,
                 char sha256[65], struct fl_err *e);

/* Upload size bytes of fd (read with pread) to key, stored with x-amz-meta-sha256 = sha256 (the
 * manifest's). A single PUT up to the threshold, else multipart whose progress is kept in the
 * state file state_path (JSON, written atomically): a later call with the same file (size and
 * SHA-256 equal) continues the upload, confirming the parts the store holds by ListParts and
 * by their MD5, instead of starting over. The upload counts only when HEAD shows the size, the
 * SHA-256 metadata and the ETag computed from the bytes sent; then the state file is removed.
 * The bytes read are hashed as they are sent: a file that is not what sha256 says fails. */
struct fl_s3_put_result {
	int parts;         /* 0 for a single PUT */
	int parts_skipped; /* parts already in the store from an earlier run */
	char etag[80];
};
int fl_s3_put_fd(struct fl_s3 *s, const char *key, int fd, long long size, const char *sha256,
                 const char *state_path, struct fl_s3_put_result *r, struct fl_err *e);
/* A small object from memory (a single PUT), verified the same way. */
int fl_s3_put_mem(struct fl_s3 *s, const char *key, const char *data, size_t len, const char *content_type,
                  struct fl_err *e);
/* Abort the multipart upload a state file records, and remove the file. */
int fl_s3_put_abort(struct fl_s3 *s, const char *state_path, struct fl_err *e);

#endif
