/* fl_ckpt_commit: the commit protocol (round file, manifest entry, latest link, metadata), each
 * step durable before the next, and the latest link's swap for restore. */
#include "fl_ckpt.h"

#include "fl_buf.h"
#include "fl_fs.h"
#include "fl_log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The verifier of the bytes being written, on a thread of its own: it reads what the copy
 * feeds its pipe, checks the structure and CRCs and hashes in the same pass, so the file is
 * verified as it is written (no second read) and the hashing runs beside the copy. */
struct stream_check {
	int fd; /* the pipe's read end */
	struct fl_npz_info *info;
	struct fl_err e;
	int rc;
};

static void *stream_check_run(void *arg)
{
	struct stream_check *sc = arg;
	sc->rc = fl_npz_verify_fd(sc->fd, FL_NPZ_SHA256, sc->info, &sc->e);
	/* Drain what the copy still sends: an early verdict must not leave it writing to a pipe
	 * nobody reads (EPIPE, SIGPIPE). */
	char sink[65536];
	for (;;) {
		ssize_t n = read(sc->fd, sink, sizeof sink);
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	return NULL;
}

/* Bytes written between requests to start their writeback, so the final fsync finds little
 * left to do and the disk works while the copy goes on. */
#define WRITEBACK_STEP (8 * (off_t)1024 * 1024)

/* Copy src into out in FL_CKPT_BLOCK blocks, each also fed to the verifier's pipe feed;
 * *size the bytes. */
static int copy_fed(int src, int out, int feed, const char *tmp, long long *size, struct fl_err *e)
{
	unsigned char *buf = fl_xcalloc(1, FL_CKPT_BLOCK);
	int rc = 0;
	off_t flushed = 0;
	*size = 0;
	for (;;) {
		ssize_t n = read(src, buf, FL_CKPT_BLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = fl_err_sys(e, errno, "cannot read the source checkpoint");
			break;
		}
		if (n == 0)
			break;
		if (write_all(out, buf, (size_t)n) < 0) {
			rc = fl_err_sys(e, errno, "cannot write %s (disk full? free space and save again)",
			                tmp);
			break;
		}
		if (write_all(feed, buf, (size_t)n) < 0)
			abort(); /* the verifier drains its pipe to the end */
		*size += n;
		if (*size - flushed >= WRITEBACK_STEP) {
			(void)sync_file_range(out, flushed, *size - flushed, SYNC_FILE_RANGE_WRITE);
			flushed = *size;
		}
	}
	free(buf);
	return rc;
}

/* Copy src into out while a thread verifies and hashes the same bytes: 0 with info (its
 * sha256 too) filled when the copy succeeded and the bytes are a valid checkpoint. */
static int copy_verified(int src, int out, const char *tmp, struct fl_npz_info *info, long long *size,
                         struct fl_err *e)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return fl_err_sys(e, errno, "cannot make a pipe for the verifier");
	(void)fcntl(p[1], F_SETPIPE_SZ, (int)FL_CKPT_BLOCK); /* fewer switches; the default works too */
	struct stream_check sc = {.fd = p[0], .info = info};
	pthread_t th;
	int err = pthread_create(&th, NULL, stream_check_run, &sc);
	if (err) {
		close(p[0]);
		close(p[1]);
		return fl_err_sys(e, err, "cannot start the verifier");
	}
	int rc = copy_fed(src, out, p[1], tmp, size, e);
	close(p[1]); /* end of stream: the verifier's verdict */
	pthread_join(th, NULL);
	close(p[0]);
	if (rc == 0 && sc.rc < 0) {
		*e = sc.e;
		fl_err_prefix(e, FL_EXIT_FAIL, "the source is not a valid checkpoint");
		rc = fl_err_append(e, "; nothing was changed");
	}
	return rc;
}

static void hex(const unsigned char md[32], char out[65])
{
	for (size_t i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The temp file, complete and durable: written, hashed, fsync'd, verified, owned. */
static int write_temp(struct fl_ckpt *ck, int src, const char *tmp, struct fl_manifest_entry *en,
                      struct fl_npz_info *info, struct fl_err *e)
{
	int fd = openat(ck->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return fl_err_sys(e, errno, "cannot create %s in %s", tmp, ck->dir);
	memset(info, 0, sizeof *info);
	uid_t uid;
	gid_t gid;
	fl_ckpt_owner(ck, &uid, &gid);
	/* Verified as written: what is renamed is the stream that verified. */
	int rc = copy_verified(src, fd, tmp, info, &en->size, e);
	if (rc == 0 && (fchmod(fd, 0644) < 0 || (uid != FL_OWNER_KEEP && fchown(fd, uid, gid) < 0)))
		rc = fl_err_sys(e, errno, "cannot set mode and owner %ld:%ld of %s/%s", (long)ck->uid,
		                (long)ck->gid, ck->dir, tmp);
	if (rc == 0 && fsync(fd) < 0)
		rc = fl_err_sys(e, errno, "cannot fsync %s/%s (disk full? free space and save again)",
		                ck->dir, tmp);
	if (close(fd) < 0 && rc == 0)
		rc = fl_err_sys(e, errno, "cannot close %s/%s", ck->dir, tmp);
	if (rc == 0) {
		hex(info->sha256, en->sha256);
		en->arrays = (long)info->narrays;
	}
	return rc;
}

static void now_utc(char out[FL_MANIFEST_TIME_LEN])
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, FL_MANIFEST_TIME_LEN - 9, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, FL_MANIFEST_TIME_LEN - n, ".%06dZ", (int)(ts.tv_nsec / 1000) % 1000000);
}

/* A round committed before loses its entry before its file is replaced: a kill in between
 * leaves an uncommitted file, never a committed one whose SHA-256 disagrees. */
static int uncommit(struct fl_ckpt *ck, long round, struct fl_err *e)
{
	if (!fl_manifest_find(&ck->m, round))
		return 0;
	uid_t uid;
	gid_t gid;
	fl_ckpt_owner(ck, &uid, &gid);
	fl_manifest_remove(&ck->m, round);
	return fl_manifest_save(ck->dir, &ck->m, uid, gid, e);
}

/* The link's own round is about to lose its entry (uncommit): the link steps aside first, to the
 * newest other committed round whose file is in place (with that round's metadata JSON, as
 * restore --round writes it), or, when there is none, the link and the JSON are removed. The
 * commit links the round back once its new entry is in. *aside: whether it stepped aside.
 *
 * Why here and not (only) in `fl-ckpt latest`: refusing a link whose target has no entry would
 * fix what fl-ckpt and the demo's resume report, but the unmodified spec ServerApp follows the
 * link blindly (os.path.exists, np.load). The file it would load is whole (a round file reaches
 * its final name only by a rename after it verified, old content or new), yet its commit never
 * finished: it may be the new content of a save that was killed, with a JSON whose num_arrays
 * is the old one (which then also fails verify's metadata check). Keeping the link off the round
 * for exactly the window in which the round is uncommitted keeps "an uncommitted file is never
 * latest" for every reader of the link. A kill in that window leaves the link at the older round
 * (or no link): committed and verifying, the save's caller saw no success, and the next save or
 * restore --round puts it back. The cost is two link swaps and a JSON write, only when a save
 * replaces the link's own round. */
static int step_aside(struct fl_ckpt *ck, long round, bool *aside, struct fl_err *e)
{
	long cur = 0;
	struct fl_err le = {0};
	*aside = false;
	if (!fl_manifest_find(&ck->m, round) || fl_ckpt_latest(ck, &cur, &le) < 0 || cur != round)
		return 0;
	*aside = true;
	for (size_t i = ck->m.n; i-- > 0;) {
		const struct fl_manifest_entry *o = &ck->m.v[i];
		struct stat st;
		char name[FL_MANIFEST_FILE_LEN];
		if (o->round == round || fl_manifest_file(o->round, name) < 0 ||
		    fstatat(ck->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		long arrays = o->arrays;
		return fl_ckpt_link(ck, o->round, e) < 0 ||
		               fl_ckpt_meta_write(ck, o->round, arrays, &st.st_mtim, e) < 0
		           ? -1
		           : 0;
	}
	if (unlinkat(ck->dirfd, FL_CKPT_LATEST, 0) < 0 && errno != ENOENT)
		return fl_err_sys(e, errno, "cannot remove %s/%s", ck->dir, FL_CKPT_LATEST);
	if (unlinkat(ck->dirfd, FL_CKPT_META, 0) < 0 && errno != ENOENT)
		return fl_err_sys(e, errno, "cannot remove %s/%s", ck->dir, FL_CKPT_META);
	if (fsync(ck->dirfd) < 0)
		return fl_err_sys(e, errno, "cannot fsync the directory %s", ck->dir);
	return 0;
}

/* The round file in place and durable: temp, rename, directory fsync. */
static int commit_file(struct fl_ckpt *ck, long round, int src, struct fl_manifest_entry *en,
                       struct fl_npz_info *info, bool *aside, struct fl_err *e)
{
	char name[FL_MANIFEST_FILE_LEN], tmp[FL_CKPT_TEMP_LEN];
	fl_manifest_file(round, name);
	fl_ckpt_temp_name(tmp);
	*aside = false;
	if (write_temp(ck, src, tmp, en, info, e) < 0 || step_aside(ck, round, aside, e) < 0 ||
	    uncommit(ck, round, e) < 0) {
		unlinkat(ck->dirfd, tmp, 0);
		/* Name the round file: the temp's name means nothing to the reader (disk full). */
		return fl_err_prefix(e, e->code, "%s/%s not saved", ck->dir, name);
	}
	if (renameat(ck->dirfd, tmp, ck->dirfd, name) < 0) {
		int err = errno;
		unlinkat(ck->dirfd, tmp, 0);
		return fl_err_sys(e, err, "cannot rename %s to %s in %s%s", tmp, name, ck->dir,
		                  err == EISDIR ? " (a directory has the round file's name: remove it)" : "");
	}
	if (fsync(ck->dirfd) < 0)
		return fl_err_sys(e, errno, "cannot fsync the directory %s", ck->dir);
	return 0;
}

int fl_ckpt_commit(struct fl_ckpt *ck, long round, int src_fd, const struct fl_ckpt_commit *c,
                   struct fl_npz_info *info, struct fl_err *e)
{
	char name[FL_MANIFEST_FILE_LEN];
	if (fl_manifest_file(round, name) < 0)
		return fl_err_set(e, FL_EXIT_USAGE, "round %ld is out of range; rounds are 1-%ld", round,
		                  FL_MANIFEST_ROUND_MAX);
	struct fl_npz_info local;
	if (!info)
		info = &local;
	struct fl_manifest_entry en = {.round = round};
	en.metrics = (struct fl_manifest_metric *)c->metrics;
	en.nmetrics = c->nmetrics;
	/* Check the entry's own fields (the metrics) before anything is written. */
	struct fl_manifest_entry probe = en;
	probe.size = FL_MANIFEST_SIZE_MIN;
	memset(probe.sha256, 'a', 64);
	snprintf(probe.time, sizeof probe.time, "1970-01-01T00:00:00Z");
	if (fl_manifest_check_entry(&probe, e) < 0)
		return -1;
	bool aside = false;
	if (commit_file(ck, round, src_fd, &en, info, &aside, e) < 0) {
		if (aside)
			fl_err_append(
			    e,
			    "; the latest link no longer names round %ld (it stepped aside while the "
			    "round was uncommitted): fl-ckpt restore --round N points it back",
			    round);
		return -1;
	}
	now_utc(en.time);
	uid_t uid;
	gid_t gid;
	fl_ckpt_owner(ck, &uid, &gid);
	if (fl_manifest_put(&ck->m, &en, e) < 0 || fl_manifest_save(ck->dir, &ck->m, uid, gid, e) < 0)
		return fl_err_prefix(e, FL_EXIT_FAIL, "%s is in place but not committed", name);
	/* The metadata describes the link's round: replacing that round rewrites it too, and a link
	 * that stepped aside for the commit comes back, even without make_latest. */
	long cur = 0;
	struct fl_err le = {0};
	bool is_latest = aside || (fl_ckpt_latest(ck, &cur, &le) == 0 && cur == round);
	if (!c->make_latest && !is_latest)
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (fl_ckpt_link(ck, round, e) < 0 || fl_ckpt_meta_write(ck, round, en.arrays, &ts, e) < 0)
		return -1;
	return 0;
}

int fl_ckpt_commit_fd(struct fl_ckpt *ck, long round, int src_fd, bool make_latest, struct fl_err *e)
{
	struct fl_ckpt_commit c = {.make_latest = make_latest};
	return fl_ckpt_commit(ck, round, src_fd, &c, NULL, e);
}

int fl_ckpt_link(struct fl_ckpt *ck, long round, struct fl_err *e)
{
	char name[FL_MANIFEST_FILE_LEN], tmp[FL_CKPT_TEMP_LEN];
	if (fl_manifest_file(round, name) < 0)
		return fl_err_set(e, FL_EXIT_USAGE, "round %ld is out of range", round);
	fl_ckpt_temp_name(tmp);
	if (symlinkat(name, ck->dirfd, tmp) < 0)
		return fl_err_sys(e, errno, "cannot create the link %s in %s", tmp, ck->dir);
	uid_t uid;
	gid_t gid;
	fl_ckpt_owner(ck, &uid, &gid);
	if (uid != FL_OWNER_KEEP && fchownat(ck->dirfd, tmp, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		int err = errno;
		unlinkat(ck->dirfd, tmp, 0);
		return fl_err_sys(e, err, "cannot set the owner of the link %s/%s", ck->dir, tmp);
	}
	/* rename over the old link swaps it atomically; a directory there is refused by rename. */
	if (renameat(ck->dirfd, tmp, ck->dirfd, FL_CKPT_LATEST) < 0) {
		int err = errno;
		unlinkat(ck->dirfd, tmp, 0);
		return fl_err_sys(e, err, "cannot replace %s/%s%s", ck->dir, FL_CKPT_LATEST,
		                  err == EISDIR ? " (it is a directory: remove it)" : "");
	}
	if (fsync(ck->dirfd) < 0)
		return fl_err_sys(e, errno, "cannot fsync the directory %s", ck->dir);
	return 0;
}

int fl_ckpt_meta_write(const struct fl_ckpt *ck, long round, long num_arrays, const struct timespec *ts,
                       struct fl_err *e)
{
	struct tm tm;
	char t[24], stamp[64];
	gmtime_r(&ts->tv_sec, &tm);
	strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
	/* As Python's datetime.now(timezone.utc).isoformat() writes it. */
	snprintf(stamp, sizeof stamp, "%s.%06ld+00:00", t, ts->tv_nsec / 1000);
	json_t *o = json_pack("{s:I, s:s, s:I}", "round", (json_int_t)round, "timestamp", stamp, "num_arrays",
	                      (json_int_t)num_arrays);
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!text)
		abort(); /* allocation only */
	struct fl_buf path = FL_BUF_INIT;
	fl_buf_addf(&path, "%s/%s", ck->dir, FL_CKPT_META);
	uid_t uid;
	gid_t gid;
	fl_ckpt_owner(ck, &uid, &gid);
	int rc = fl_fs_write_atomic(path.data, text, strlen(text), 0644, uid, gid, e);
	free(text);
	fl_buf_free(&path);
	return rc;
}

int fl_ckpt_set_latest(struct fl_ckpt *ck, long round, struct fl_err *e)
{
	const struct fl_manifest_entry *en = fl_manifest_find(&ck->m, round);
	char name[FL_MANIFEST_FILE_LEN];
	if (fl_manifest_file(round, name) < 0)
		return fl_err_set(e, FL_EXIT_USAGE, "round %ld is out of range", round);
	if (!en)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "round %ld is not committed (no manifest entry); commit it first with fl-ckpt "
		    "save --round %ld --from %s/%s",
		    round, round, ck->dir, name);
	if (fl_ckpt_verify_round(ck, round, NULL, e) < 0)
		return -1;
	struct stat st;
	if (fstatat(ck->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fl_err_sys(e, errno, "cannot stat %s/%s", ck->dir, name);
	long arrays = en->arrays;
	if (fl_ckpt_link(ck, round, e) < 0 || fl_ckpt_meta_write(ck, round, arrays, &st.st_mtim, e) < 0)
		return -1;
	return 0;
}
