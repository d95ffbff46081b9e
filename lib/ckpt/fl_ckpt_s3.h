/* fl_ckpt_s3: off-VM copies of committed rounds in an S3-compatible store (design 03 §7.3):
 * upload (round file, then checkpoint_round_<N>.json with its manifest entry, each verified in
 * the store before it counts), download and restore --from-s3 (GET into a temp, the remote
 * SHA-256 checked, then committed by the directory's own protocol, which verifies again). */
#ifndef FL_CKPT_S3_H
#define FL_CKPT_S3_H

#include "fl_buf.h"
#include "fl_ckpt.h"
#include "fl_s3.h"

#include <stdbool.h>
#include <sys/types.h>

/* Upload state of round N in the checkpoint directory (a resumable multipart upload). */
#define FL_CKPT_S3_STATE_FMT ".fl-ckpt-upload.%ld.json"

struct fl_ckpt_s3 {
	const char *dir; /* the checkpoint directory */
	uid_t uid;       /* owner of what download commits */
	gid_t gid;
	long lock_timeout_ms;
	const char *url;      /* s3://bucket[/prefix] */
	const char *endpoint; /* NULL: AWS */
	const char *region;   /* NULL: us-east-1 */
	bool virtual_host;
	struct fl_s3_opts s3; /* CA file, thresholds, deadline */
};

/* Upload committed round (0: the latest link's round). Logs progress; out gets
 * "s3://bucket/key\n" of the round file and of its JSON. -1 and e otherwise (FL_EXIT_FAIL for
 * an uncommitted round, a refusal or a mismatch; FL_EXIT_UNAVAILABLE for an unreachable
 * store). */
int fl_ckpt_s3_upload(const struct fl_ckpt_s3 *o, long round, struct fl_buf *out, struct fl_err *e);
/* Download round and commit it into o->dir (make_latest: and point the latest link at it). */
int fl_ckpt_s3_download(const struct fl_ckpt_s3 *o, long round, bool make_latest, struct fl_buf *out,
                        struct fl_err *e);
/* Split "s3://bucket[/prefix]/checkpoint_round_<N>.npz" into the target URL (caller frees)
 * and N; -1 and e (FL_EXIT_USAGE) when the last segment is not a round file. */
int fl_ckpt_s3_object(const char *object_url, char **url, long *round, struct fl_err *e);

#endif
