/* fl_ckpt: the checkpoint directory's lifecycle (design 03 §4, §7.3; README decision 13): the
 * commit protocol, listing, the latest link, verification, restore and retention. The layout
 * stays the spec's (checkpoint_round_<N>.npz, a relative checkpoint_latest.npz symlink,
 * checkpoint_latest.json) so an unmodified spec ServerApp resumes from it; the manifest
 * (fl_manifest.h) records every committed round and its SHA-256.
 *
 * Commit order, each step durable before the next: round file (temp in the directory, written,
 * verified and hashed in the same pass, fsync, rename, fsync of the directory); manifest entry;
 * latest link (symlink to a temp name, rename over); metadata JSON. A round file without a
 * manifest entry is uncommitted: listed as such, never latest, never uploaded. */
#ifndef FL_CKPT_H
#define FL_CKPT_H

#include "fl_err.h"
#include "fl_manifest.h"
#include "fl_npz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define FL_CKPT_HOST_DIR      "/opt/flower/checkpoints"
#define FL_CKPT_CONTAINER_DIR "/app/checkpoints"
#define FL_CKPT_LATEST        "checkpoint_latest.npz"
#define FL_CKPT_META          "checkpoint_latest.json"
#define FL_CKPT_UID           49999
#define FL_CKPT_GID           49999
/* Temp names fl-ckpt creates in the directory: .fl-ckpt.<pid>.<anything>.tmp (a file, a link,
 * or a staging directory of regular files). A mutating command removes those whose pid is no
 * longer alive (kill(pid, 0) fails with ESRCH) at its start, under the lock. */
#define FL_CKPT_TEMP_PREFIX ".fl-ckpt."
#define FL_CKPT_TEMP_SUFFIX ".tmp"
#define FL_CKPT_TEMP_LEN    64
/* Copy block of a commit; the SHA-256 is computed over the same blocks as they are written. */
#define FL_CKPT_BLOCK ((size_t)1024 * 1024)

/* An open checkpoint directory. */
struct fl_ckpt {
	char *dir;  /* host path */
	int dirfd;  /* O_DIRECTORY|O_NOFOLLOW on dir; every name is resolved under it */
	int lockfd; /* -1 unless fl_ckpt_open took the lock */
	uid_t uid;  /* owner of what is written (FL_CKPT_UID by default; the caller's in tests) */
	gid_t gid;
	struct fl_manifest m; /* loaded at open */
};

/* Open dir (which must exist and be a directory, not a symlink). mutate: take the lock (waiting
 * at most lock_timeout_ms, exit 4 at the bound) and remove stale temp files. */
int fl_ckpt_open(struct fl_ckpt *ck, const char *dir, bool mutate, long lock_timeout_ms, uid_t uid, gid_t gid,
                 struct fl_err *e);
void fl_ckpt_close(struct fl_ckpt *ck);

/* Remove the stale temp files of the directory (FL_CKPT_TEMP_PREFIX, fl_manifest_save's and
 * the metadata's); fl_ckpt_open does it for a mutating open. Only under the lock. */
void fl_ckpt_clean_temps(const struct fl_ckpt *ck);
/* Remove the staging directory name under parent (an unarchive's): the regular files and links
 * directly inside, then itself; no recursion and nothing followed. */
void fl_ckpt_remove_stage(int parent, const char *name);

/* A fresh temp name in the directory: .fl-ckpt.<pid>.<16 hex>.tmp. */
void fl_ckpt_temp_name(char out[FL_CKPT_TEMP_LEN]);

/* The owner to give what is written: ck->uid/gid, or FL_OWNER_KEEP when they are the caller's
 * (a test run, or root writing for root). */
void fl_ckpt_owner(const struct fl_ckpt *ck, uid_t *uid, gid_t *gid);

/* `init`: mkdir -p dir (0755), chown uid:gid (never through a symlink); idempotent. It is
 * fl_fs_mkdir_p(dir, 0755, uid, gid): the very call fl-launch makes for the checkpoint
 * directory it plans (an owned 0755 directory, lib/launch), so the two cannot drift apart. */
int fl_ckpt_init_dir(const char *dir, uid_t uid, gid_t gid, struct fl_err *e);

/* FL_CHECKPOINT_PATH (a container path under /app/checkpoints) as the host path under
 * /opt/flower/checkpoints into out; -1 and e naming the path otherwise. */
int fl_ckpt_host_path(const char *container_path, char *out, size_t size, struct fl_err *e);

/* The spec's save trigger (design 03 §4.2). */
bool fl_ckpt_should_save(long round, long interval, long total);

/* One round file as list shows it. */
struct fl_ckpt_round {
	long round;
	char file[FL_MANIFEST_FILE_LEN];
	long long size;
	time_t mtime;
	long arrays;    /* from the manifest, or -1 when uncommitted and not verified */
	bool committed; /* has a manifest entry */
	bool latest;    /* the latest link's target */
	int valid;      /* 1 verified, 0 failed, -1 not checked */
};

/* The round files of the directory, ascending by round (numeric order), committed or not. */
int fl_ckpt_rounds(const struct fl_ckpt *ck, struct fl_ckpt_round **out, size_t *n, struct fl_err *e);

/* The latest link's round: 0 and *round when it is a relative link to an existing
 * checkpoint_round_<N>.npz; -1 and e (FL_EXIT_FAIL) when missing, dangling or malformed. */
int fl_ckpt_latest(const struct fl_ckpt *ck, long *round, struct fl_err *e);
/* The highest committed round whose file verifies (structure, CRC, manifest SHA-256). */
int fl_ckpt_latest_verified(const struct fl_ckpt *ck, long *round, struct fl_err *e);

/* Verify the round file of round: structure + CRC, and size/SHA-256/array count against its
 * manifest entry when committed, and num_arrays of the metadata JSON when it names the round.
 * 0 valid; -1 and e naming the failed check and member. */
int fl_ckpt_verify_round(const struct fl_ckpt *ck, long round, struct fl_npz_info *info, struct fl_err *e);

/* checkpoint_latest.json: 1 and its fields when present and well formed, 0 when absent, -1 and
 * e when it is not a regular file or not the spec's {"round", "timestamp", "num_arrays"}. */
struct fl_ckpt_meta {
	long round;
	long num_arrays;
	char timestamp[64];
};
int fl_ckpt_meta_read(const struct fl_ckpt *ck, struct fl_ckpt_meta *meta, struct fl_err *e);
/* Replace checkpoint_latest.json (indent 2, as the spec's saver writes it) atomically. */
int fl_ckpt_meta_write(const struct fl_ckpt *ck, long round, long num_arrays, const struct timespec *ts,
                       struct fl_err *e);

/* Commit: copy the .npz read from src_fd into round's file by the protocol above, add the
 * manifest entry; when make_latest, swap the link and write the metadata JSON. The source is
 * verified as it is committed (the bytes written to the temp file, before the rename); an
 * invalid one leaves the directory as it was. Replacing the link's own round, the link steps
 * aside (to the newest other committed round, or is removed with the JSON) while the round is
 * uncommitted, and comes back even without make_latest. */
int fl_ckpt_commit_fd(struct fl_ckpt *ck, long round, int src_fd, bool make_latest, struct fl_err *e);

/* The same with the round's metrics (name -> value, recorded in its manifest entry for
 * prune --keep-best); info (may be NULL) gets what the verification saw. */
struct fl_ckpt_commit {
	bool make_latest;
	const struct fl_manifest_metric *metrics;
	size_t nmetrics;
};
int fl_ckpt_commit(struct fl_ckpt *ck, long round, int src_fd, const struct fl_ckpt_commit *c,
                   struct fl_npz_info *info, struct fl_err *e);

/* Swap the latest link to round's file (symlink to a temp name, rename over, directory fsync);
 * the file is not checked. */
int fl_ckpt_link(struct fl_ckpt *ck, long round, struct fl_err *e);

/* Point the latest link at round (committed, verified) and rewrite the metadata JSON with the
 * file's mtime (restore --round). */
int fl_ckpt_set_latest(struct fl_ckpt *ck, long round, struct fl_err *e);

/* Retention. keep: newest rounds kept (>= 1); keep_every: also every round divisible by it (0:
 * off); keep_best: also the round with the best value of that metric in its manifest entry
 * (NULL: off): lower is better for names ending in "loss" or "error", else higher, unless best
 * says otherwise. Never the latest target nor the highest round. The selection is over every
 * round file, committed or not, so a prune killed between removing an entry and the file
 * leaves an orphan that the next prune selects again. dry_run: report only. The removed rounds (ascending)
 * into *gone. */
enum fl_ckpt_best { FL_CKPT_BEST_AUTO, FL_CKPT_BEST_MIN, FL_CKPT_BEST_MAX };
struct fl_ckpt_prune {
	long keep, keep_every;
	const char *keep_best;
	enum fl_ckpt_best best;
	bool dry_run;
};
int fl_ckpt_prune(struct fl_ckpt *ck, const struct fl_ckpt_prune *p, long **gone, size_t *ngone,
                  struct fl_err *e);

/* The selection alone (tests): of the n rounds r (ascending; value[i] of the keep_best metric,
 * has[i] when the round has it), which to remove (remove[i]). latest: the link's round, or 0. */
void fl_ckpt_prune_select(const struct fl_ckpt_prune *p, const long *r, const double *value, const bool *has,
                          size_t n, long latest, bool *remove);

#endif
