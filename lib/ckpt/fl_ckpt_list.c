/* fl_ckpt_list: what the checkpoint directory holds: its round files, the latest link, the
 * metadata JSON, and the verification of one round against its manifest entry. */
#include "fl_ckpt.h"

#include "fl_fs.h"
#include "fl_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int round_cmp(const void *a, const void *b)
{
	long x = ((const struct fl_ckpt_round *)a)->round, y = ((const struct fl_ckpt_round *)b)->round;
	return (x > y) - (x < y);
}

/* The latest link's round, or 0 when it is not a link to a round's name (no message). */
static long link_round(const struct fl_ckpt *ck)
{
	char t[FL_MANIFEST_FILE_LEN + 1];
	ssize_t n = readlinkat(ck->dirfd, FL_CKPT_LATEST, t, sizeof t - 1);
	if (n <= 0 || n >= (ssize_t)sizeof t - 1)
		return 0;
	t[n] = '\0';
	long r = fl_manifest_round_of(t);
	return r > 0 ? r : 0;
}

static void add_round(const struct fl_ckpt *ck, const char *name, long r, long latest,
                      struct fl_ckpt_round **v, size_t *n, size_t *cap)
{
	struct stat st;
	if (fstatat(ck->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = realloc(*v, *cap * sizeof **v);
		if (!*v)
			abort();
	}
	const struct fl_manifest_entry *en = fl_manifest_find(&ck->m, r);
	struct fl_ckpt_round *x = &(*v)[(*n)++];
	*x = (struct fl_ckpt_round){.round = r,
	                            .size = st.st_size,
	                            .mtime = st.st_mtime,
	                            .arrays = -1,
	                            .committed = en != NULL,
	                            .latest = r == latest,
	                            .valid = -1};
	fl_manifest_file(r, x->file);
	if (en)
		x->arrays = en->arrays;
	if (!S_ISREG(st.st_mode))
		x->valid = 0; /* never opened: a FIFO there would block a reader */
}

int fl_ckpt_rounds(const struct fl_ckpt *ck, struct fl_ckpt_round **out, size_t *n, struct fl_err *e)
{
	*out = NULL;
	*n = 0;
	DIR *d = fl_fs_opendir_at(ck->dirfd, NULL);
	if (!d)
		return fl_err_sys(e, errno, "cannot list %s", ck->dir);
	long latest = link_round(ck);
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		long r = fl_manifest_round_of(de->d_name);
		if (r > 0)
			add_round(ck, de->d_name, r, latest, out, n, &cap);
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof **out, round_cmp);
	return 0;
}

int fl_ckpt_latest(const struct fl_ckpt *ck, long *round, struct fl_err *e)
{
	char t[256];
	ssize_t n = readlinkat(ck->dirfd, FL_CKPT_LATEST, t, sizeof t - 1);
	if (n < 0 && errno == ENOENT)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s/%s does not exist: no checkpoint yet (the ServerApp starts fresh); "
		                  "fl-ckpt latest --fallback picks the newest committed round that verifies",
		                  ck->dir, FL_CKPT_LATEST);
	if (n < 0 && errno == EINVAL)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s/%s is not a symbolic link (the spec's ServerApp cannot replace it); "
		                  "remove it and run fl-ckpt restore --round N",
		                  ck->dir, FL_CKPT_LATEST);
	if (n < 0)
		return fl_err_sys(e, errno, "cannot read the link %s/%s", ck->dir, FL_CKPT_LATEST);
	t[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (t[i] < 0x20 || t[i] >= 0x7f)
			t[i] = '?';
	long r = (size_t)n < sizeof t - 1 ? fl_manifest_round_of(t) : -1;
	if (r < 0)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s/%s points to '%s', not to a round file of the directory "
		    "(checkpoint_round_N.npz, no '/'); repoint it with fl-ckpt restore --round N",
		    ck->dir, FL_CKPT_LATEST, t);
	struct stat st;
	if (fstatat(ck->dirfd, t, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s/%s is dangling (%s is gone); fl-ckpt latest --fallback picks the newest "
		    "committed round that verifies",
		    ck->dir, FL_CKPT_LATEST, t);
	if (!S_ISREG(st.st_mode))
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s/%s points to %s, which is not a regular file; remove it", ck->dir,
		                  FL_CKPT_LATEST, t);
	*round = r;
	return 0;
}

int fl_ckpt_latest_verified(const struct fl_ckpt *ck, long *round, struct fl_err *e)
{
	for (size_t i = ck->m.n; i-- > 0;) {
		struct fl_err ve = {0};
		if (fl_ckpt_verify_round(ck, ck->m.v[i].round, NULL, &ve) == 0) {
			*round = ck->m.v[i].round;
			return 0;
		}
		fl_warn("skipping round %ld: %s", ck->m.v[i].round, ve.msg);
	}
	return fl_err_set(
	    e, FL_EXIT_FAIL, "%s has no committed round that verifies%s; the ServerApp would start fresh",
	    ck->dir, ck->m.n ? "" : " (no manifest entries: commit round files with fl-ckpt save)");
}

/* A round file opened for reading: a regular file, never through a link, never blocking. */
static int open_round(const struct fl_ckpt *ck, const char *name, struct stat *st, struct fl_err *e)
{
	int fd = openat(ck->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ELOOP)
			return fl_err_set(e, FL_EXIT_FAIL,
			                  "%s/%s is a symbolic link, not a round file; remove it", ck->dir,
			                  name);
		return fl_err_sys(e, errno, "cannot open %s/%s", ck->dir, name);
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return fl_err_set(e, FL_EXIT_FAIL, "%s/%s is not a regular file; remove it", ck->dir, name);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static void hex(const unsigned char md[32], char out[65])
{
	for (size_t i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The manifest's and the metadata's word on what verified structurally. */
static int check_records(const struct fl_ckpt *ck, const char *name, const struct fl_manifest_entry *en,
                         const struct fl_npz_info *info, struct fl_err *e)
{
	if (en && (long long)info->file_bytes != en->size)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s/%s: size check: %llu bytes, the manifest records %lld; the file changed "
		    "after its commit: use another round (fl-ckpt latest --fallback)",
		    ck->dir, name, (unsigned long long)info->file_bytes, en->size);
	if (en && (long)info->narrays != en->arrays)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s/%s: array count check: %zu arrays, the manifest records %ld", ck->dir,
		                  name, info->narrays, en->arrays);
	char got[65];
	hex(info->sha256, got);
	if (en && strcmp(got, en->sha256) != 0)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s/%s: SHA-256 check: the file hashes to %s, the manifest records %s; the "
		    "file changed after its commit: use another round (fl-ckpt latest --fallback) "
		    "or restore it from a copy",
		    ck->dir, name, got, en->sha256);
	struct fl_ckpt_meta meta = {0};
	struct fl_err me = {0};
	if (fl_ckpt_meta_read(ck, &meta, &me) == 1 && meta.round == fl_manifest_round_of(name) &&
	    meta.num_arrays != (long)info->narrays)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s/%s: metadata check: %s says num_arrays %ld, the file holds %zu arrays",
		                  ck->dir, name, FL_CKPT_META, meta.num_arrays, info->narrays);
	return 0;
}

int fl_ckpt_verify_round(const struct fl_ckpt *ck, long round, struct fl_npz_info *info, struct fl_err *e)
{
	char name[FL_MANIFEST_FILE_LEN];
	if (fl_manifest_file(round, name) < 0)
		return fl_err_set(e, FL_EXIT_USAGE, "round %ld is out of range; rounds are 1-%ld", round,
		                  FL_MANIFEST_ROUND_MAX);
	struct stat st;
	int fd = open_round(ck, name, &st, e);
	if (fd < 0)
		return -1;
	const struct fl_manifest_entry *en = fl_manifest_find(&ck->m, round);
	struct fl_npz_info local;
	if (!info)
		info = &local;
	int rc = fl_npz_verify_fd(fd, FL_NPZ_SHA256, info, e);
	close(fd);
	if (rc < 0)
		return fl_err_prefix(e, FL_EXIT_FAIL, "%s/%s", ck->dir, name);
	return check_records(ck, name, en, info, e);
}

static int meta_fields(json_t *o, struct fl_ckpt_meta *meta)
{
	json_t *r = json_object_get(o, "round"), *t = json_object_get(o, "timestamp"),
	       *k = json_object_get(o, "num_arrays");
	if (!json_is_integer(r) || !json_is_string(t) || !json_is_integer(k) || json_integer_value(r) < 0 ||
	    json_integer_value(r) > FL_MANIFEST_ROUND_MAX || json_integer_value(k) < 0 ||
	    json_integer_value(k) > FL_MANIFEST_ARRAYS_MAX || json_string_length(t) >= sizeof meta->timestamp)
		return -1;
	meta->round = (long)json_integer_value(r);
	meta->num_arrays = (long)json_integer_value(k);
	snprintf(meta->timestamp, sizeof meta->timestamp, "%s", json_string_value(t));
	return 0;
}

int fl_ckpt_meta_read(const struct fl_ckpt *ck, struct fl_ckpt_meta *meta, struct fl_err *e)
{
	struct stat st;
	int fd = openat(ck->dirfd, FL_CKPT_META, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return fl_err_set(e, FL_EXIT_FAIL, "%s/%s is not a regular file; remove it", ck->dir,
		                  FL_CKPT_META);
	}
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	json_error_t je;
	json_t *o =
	    n > 0 && n < (ssize_t)sizeof buf ? json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, &je) : NULL;
	int rc = o && json_is_object(o) ? meta_fields(o, meta) : -1;
	json_decref(o);
	if (rc < 0)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s/%s is not the spec's metadata ({\"round\", \"timestamp\", \"num_arrays\"}, "
		    "under 4 KiB); fl-ckpt restore --round N rewrites it",
		    ck->dir, FL_CKPT_META);
	return 1;
}
