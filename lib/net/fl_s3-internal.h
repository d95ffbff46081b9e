/* fl_s3-internal: one signed S3 request with its retries, shared by fl_s3_req.c and
 * fl_s3_put.c; not libfl's API. */
#ifndef FL_S3_INTERNAL_H
#define FL_S3_INTERNAL_H

#include "fl_s3.h"

#include <openssl/evp.h>
#include <sys/types.h>

/* SHA-256 of the empty body, signed for GET, HEAD and DELETE. */
#define FL_S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct fl_s3_rq {
	const char *method;       /* GET HEAD PUT POST DELETE */
	const char *key;          /* NULL: the bucket */
	const char *query;        /* NULL: none */
	const char *sha256;       /* payload hash signed (hex); NULL: computed from mem, or the empty one */
	const char *meta_sha256;  /* x-amz-meta-sha256 to store; NULL: none */
	const char *content_type; /* NULL: application/octet-stream when there is a body */
	/* The body: mem_len bytes of mem, or len bytes of fd from off (read with pread). */
	const char *mem;
	size_t mem_len;
	int fd;
	off_t off;
	long long len;
	EVP_MD_CTX *md5, *sha; /* when not NULL: fed every body byte sent by the last attempt */
	/* GET: a 2xx body goes to out_fd (truncated at each attempt), at most out_max bytes. */
	int out_fd;
	long long out_max;
	/* The reply. */
	long status;
	struct fl_buf body; /* a non-2xx body, or a 2xx one when out_fd < 0 (bounded) */
	struct fl_s3_obj obj;
	long long got; /* body bytes received */
};
/* A request with fd and out_fd set to -1 and everything else empty. */
void fl_s3_rq_init(struct fl_s3_rq *rq, const char *method, const char *key, const char *query);
void fl_s3_rq_free(struct fl_s3_rq *rq);
/* Send rq, retrying what may pass (network, 5xx, 429) under the deadline: 0 on a 2xx reply;
 * -1 and e otherwise (FL_EXIT_UNAVAILABLE when it never got through, FL_EXIT_FAIL with the
 * store's "Code: Message" when refused). */
int fl_s3_request(struct fl_s3 *s, struct fl_s3_rq *rq, struct fl_err *e);
/* hex of a finished digest. */
void fl_s3_hex(const unsigned char *d, size_t n, char *out);

#endif
