/* fl_ckpt_archive: write checkpoint rounds as one pax-restricted tar (plain, gzip or zstd). */
#include "fl_ckpt_archive.h"

#include "fl_buf.h"
#include "fl_manifest.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LATEST_LINK "checkpoint_latest.npz"
#define LATEST_META "checkpoint_latest.json"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && strcmp(s + n - k, suffix) == 0;
}

int fl_ckpt_archive_comp_of(const char *out_path, enum fl_ckpt_archive_comp *comp, struct fl_err *e)
{
	if (ends_with(out_path, ".tar.zst"))
		*comp = FL_CKPT_ARCHIVE_ZSTD;
	else if (ends_with(out_path, ".tar.gz") || ends_with(out_path, ".tgz"))
		*comp = FL_CKPT_ARCHIVE_GZIP;
	else if (ends_with(out_path, ".tar"))
		*comp = FL_CKPT_ARCHIVE_TAR;
	else
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "--out '%s': unknown archive type; name it F.tar.zst (zstd), F.tar.gz or "
		                  "F.tgz (gzip) or F.tar (none)",
		                  out_path);
	const char *base = strrchr(out_path, '/');
	base = base ? base + 1 : out_path;
	if (base[0] == '.' && (base[1] == 0 || (base[1] == '.' && base[2] == 0)))
		return fl_err_set(e, FL_EXIT_USAGE, "--out '%s': name a file, not a directory", out_path);
	return 0;
}

/* One output archive in progress. */
struct out {
	struct archive *a;
	int dirfd; /* the checkpoint directory */
	char *buf; /* FL_CKPT_ARCHIVE_BLOCK bytes */
	struct fl_err *e;
	const char *path; /* out_path, for messages */
};

static int ar_fail(struct out *o, const char *what)
{
	return fl_err_set(o->e, FL_EXIT_FAIL,
	                  "%s: %s: %s; check free space and that the directory is writable", o->path, what,
	                  archive_error_string(o->a) ? archive_error_string(o->a) : "failed");
}

static struct archive_entry *entry_of(const char *name, const struct stat *st, mode_t type, mode_t perm)
{
	struct archive_entry *en = archive_entry_new();
	archive_entry_set_pathname(en, name);
	archive_entry_set_filetype(en, type);
	archive_entry_set_perm(en, perm);
	archive_entry_set_uid(en, FL_CKPT_ARCHIVE_ID);
	archive_entry_set_gid(en, FL_CKPT_ARCHIVE_ID);
	archive_entry_set_uname(en, FL_CKPT_ARCHIVE_OWNER);
	archive_entry_set_gname(en, FL_CKPT_ARCHIVE_OWNER);
	archive_entry_set_mtime(en, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	return en;
}

/* A regular file of the checkpoint directory, never through a symlink, never waited on. */
static int open_regular(struct out *o, const char *name, struct stat *st)
{
	int fd = openat(o->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fl_err_sys(o->e, errno, "%s: cannot open it for the archive (a symlink is refused)",
		                  name);
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return fl_err_set(o->e, FL_EXIT_FAIL,
		                  "%s: not a regular file; only regular files are archived", name);
	}
	return fd;
}

/* Stream the round file name of size want (the manifest's) into the archive, block by block. */
static int add_round(struct out *o, long round, long long want)
{
	char name[FL_MANIFEST_FILE_LEN];
	struct stat st = {0};
	if (fl_manifest_file(round, name) < 0)
		return fl_err_set(o->e, FL_EXIT_USAGE, "round %ld: out of range (1-%ld)", round,
		                  FL_MANIFEST_ROUND_MAX);
	int fd = open_regular(o, name, &st);
	if (fd < 0)
		return -1;
	if ((long long)st.st_size != want) {
		close(fd);
		return fl_err_set(
		    o->e, FL_EXIT_FAIL,
		    "%s: %lld bytes, but the manifest records %lld; run fl-ckpt verify and commit "
		    "the round again (fl-ckpt save)",
		    name, (long long)st.st_size, want);
	}
	struct archive_entry *en = entry_of(name, &st, AE_IFREG, 0644);
	archive_entry_set_size(en, st.st_size);
	int rc = archive_write_header(o->a, en) == ARCHIVE_OK ? 0 : ar_fail(o, name);
	archive_entry_free(en);
	long long left = st.st_size;
	while (rc == 0 && left > 0) {
		size_t want_now = left < FL_CKPT_ARCHIVE_BLOCK ? (size_t)left : FL_CKPT_ARCHIVE_BLOCK;
		ssize_t got = read(fd, o->buf, want_now);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			rc = got < 0 ? fl_err_sys(o->e, errno, "%s: read", name)
			             : fl_err_set(o->e, FL_EXIT_FAIL,
			                          "%s: shrank while it was archived; archive again", name);
		else if (archive_write_data(o->a, o->buf, (size_t)got) != got)
			rc = ar_fail(o, name);
		else
			left -= got;
	}
	close(fd);
	return rc;
}

/* A file of the directory (at most max bytes) into memory; *found false when it is absent. */
static int read_small(struct out *o, const char *name, struct fl_buf *b, struct stat *st, bool *found)
{
	*found = false;
	if (fstatat(o->dirfd, name, st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
		return 0;
	int fd = open_regular(o, name, st);
	if (fd < 0)
		return -1;
	int rc = 0;
	if (st->st_size > FL_CKPT_ARCHIVE_JSON_MAX)
		rc = fl_err_set(o->e, FL_EXIT_FAIL, "%s: %lld bytes, over the %lld-byte bound of a JSON file",
		                name, (long long)st->st_size, (long long)FL_CKPT_ARCHIVE_JSON_MAX);
	while (rc == 0) {
		char tmp[65536];
		ssize_t got = read(fd, tmp, sizeof tmp);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			rc = fl_err_sys(o->e, errno, "%s: read", name);
		if (got <= 0)
			break;
		if (b->len + (size_t)got > (size_t)FL_CKPT_ARCHIVE_JSON_MAX)
			rc = fl_err_set(o->e, FL_EXIT_FAIL, "%s: grew past %lld bytes while read", name,
			                (long long)FL_CKPT_ARCHIVE_JSON_MAX);
		else
			fl_buf_add(b, tmp, (size_t)got);
	}
	close(fd);
	*found = rc == 0;
	return rc;
}

static int add_bytes(struct out *o, const char *name, const struct stat *st, const char *data, size_t len)
{
	struct archive_entry *en = entry_of(name, st, AE_IFREG, 0644);
	archive_entry_set_size(en, (la_int64_t)len);
	int rc = archive_write_header(o->a, en) == ARCHIVE_OK ? 0 : ar_fail(o, name);
	archive_entry_free(en);
	if (rc == 0 && len && archive_write_data(o->a, data, len) != (la_ssize_t)len)
		rc = ar_fail(o, name);
	return rc;
}

/* The round the latest link names (a bare round name), or 0: none or not one. */
static long latest_round(int dirfd, struct stat *st)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(dirfd, LATEST_LINK, target, sizeof target - 1);
	if (n <= 0 || fstatat(dirfd, LATEST_LINK, st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	target[n] = 0;
	long r = fl_manifest_round_of(target);
	return r > 0 ? r : 0;
}

static bool selected(const long *rounds, size_t n, long r)
{
	for (size_t i = 0; i < n; i++)
		if (rounds[i] == r)
			return true;
	return false;
}

/* The link and the metadata JSON, when the link names a selected round. */
static int add_latest(struct out *o, const long *rounds, size_t n)
{
	struct stat st = {0};
	long r = latest_round(o->dirfd, &st);
	if (!r || !selected(rounds, n, r))
		return 0;
	char target[FL_MANIFEST_FILE_LEN];
	fl_manifest_file(r, target);
	struct archive_entry *en = entry_of(LATEST_LINK, &st, AE_IFLNK, 0777);
	archive_entry_set_symlink(en, target);
	int rc = archive_write_header(o->a, en) == ARCHIVE_OK ? 0 : ar_fail(o, LATEST_LINK);
	archive_entry_free(en);
	struct fl_buf b = FL_BUF_INIT;
	bool found;
	if (rc == 0 && read_small(o, LATEST_META, &b, &st, &found) < 0)
		rc = -1;
	if (rc == 0 && found)
		rc = add_bytes(o, LATEST_META, &st, b.data ? b.data : "", b.len);
	fl_buf_free(&b);
	return rc;
}

/* The directory's manifest, restricted to the rounds, whose entries must all exist. */
static int load_selected(struct out *o, const long *rounds, size_t n, struct fl_manifest *sel,
                         struct stat *st)
{
	struct fl_buf b = FL_BUF_INIT;
	struct fl_manifest all = FL_MANIFEST_INIT;
	bool found;
	int rc = read_small(o, FL_MANIFEST_NAME, &b, st, &found);
	if (rc == 0 && !found)
		rc = fl_err_set(o->e, FL_EXIT_FAIL,
		                "%s: absent, so no round is committed; commit rounds with fl-ckpt save first",
		                FL_MANIFEST_NAME);
	if (rc == 0 && fl_manifest_parse(b.data ? b.data : "", b.len, &all, o->e) < 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct fl_manifest_entry *en = fl_manifest_find(&all, rounds[i]);
		if (!en)
			rc =
			    fl_err_set(o->e, FL_EXIT_FAIL,
			               "round %ld: not committed (no manifest entry); fl-ckpt list shows the "
			               "committed rounds",
			               rounds[i]);
		else if (fl_manifest_put(sel, en, o->e) < 0)
			rc = -1;
	}
	fl_manifest_free(&all);
	fl_buf_free(&b);
	return rc;
}

static int set_filter(struct out *o, enum fl_ckpt_archive_comp comp)
{
	int r = ARCHIVE_OK;
	if (comp == FL_CKPT_ARCHIVE_GZIP)
		r = archive_write_add_filter_gzip(o->a);
	else if (comp == FL_CKPT_ARCHIVE_ZSTD) {
		r = archive_write_add_filter_zstd(o->a);
		/* zstd's own default level; workers on every CPU (libarchive ignores the option
		 * where libzstd has no thread support, so its answer is not checked). */
		if (r == ARCHIVE_OK)
			r = archive_write_set_filter_option(o->a, "zstd", "compression-level", "3");
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		char threads[24];
		snprintf(threads, sizeof threads, "%ld", cpus > 1 ? cpus : 1);
		(void)archive_write_set_filter_option(o->a, "zstd", "threads", threads);
	}
	if (r != ARCHIVE_OK)
		return ar_fail(o, "compression");
	if (archive_write_set_format_pax_restricted(o->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(o->a, FL_CKPT_ARCHIVE_BLOCK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(o->a, 1) != ARCHIVE_OK)
		return ar_fail(o, "tar format");
	return 0;
}

/* Every entry, manifest last. */
static int write_entries(struct out *o, const long *rounds, size_t n, bool with_latest)
{
	struct fl_manifest sel = FL_MANIFEST_INIT;
	struct stat mst;
	int rc = load_selected(o, rounds, n, &sel, &mst);
	for (size_t i = 0; rc == 0 && i < sel.n; i++)
		rc = add_round(o, sel.v[i].round, sel.v[i].size);
	if (rc == 0 && with_latest)
		rc = add_latest(o, rounds, n);
	if (rc == 0) {
		char *text = fl_manifest_format(&sel);
		rc = add_bytes(o, FL_MANIFEST_NAME, &mst, text, strlen(text));
		free(text);
	}
	fl_manifest_free(&sel);
	return rc;
}

/* out_path's directory (opened) and base name. */
static int open_out_dir(const char *out_path, const char **base, struct fl_err *e)
{
	const char *slash = strrchr(out_path, '/');
	char *dir = slash ? fl_xstrndup(out_path, slash == out_path ? 1 : (size_t)(slash - out_path))
	                  : fl_xstrdup(".");
	*base = slash ? slash + 1 : out_path;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fl_err_sys(e, errno, "--out '%s': cannot open its directory '%s'; create it first", out_path,
		           dir);
	free(dir);
	return fd;
}

/* Close the archive, make the temp file durable and rename it over base. */
static int commit_out(struct out *o, int outdir, int fd, const char *tmp, const char *base)
{
	if (archive_write_close(o->a) != ARCHIVE_OK)
		return ar_fail(o, "finishing the archive");
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0)
		return fl_err_sys(o->e, errno, "%s: cannot make the archive durable", o->path);
	if (renameat(outdir, tmp, outdir, base) < 0)
		return fl_err_sys(o->e, errno, "%s: cannot rename the finished archive into place", o->path);
	if (fsync(outdir) < 0)
		return fl_err_sys(o->e, errno, "%s: cannot sync its directory", o->path);
	return 0;
}

int fl_ckpt_archive_write(int dirfd, const long *rounds, size_t n, bool with_latest, const char *out_path,
                          struct fl_err *e)
{
	enum fl_ckpt_archive_comp comp = FL_CKPT_ARCHIVE_TAR;
	if (fl_ckpt_archive_comp_of(out_path, &comp, e) < 0)
		return -1;
	if (n == 0)
		return fl_err_set(e, FL_EXIT_USAGE, "no round selected: name one with --round N, or --all");
	const char *base;
	int outdir = open_out_dir(out_path, &base, e);
	if (outdir < 0)
		return -1;
	char tmp[64];
	snprintf(tmp, sizeof tmp, ".fl-ckpt.%ld.archive.tmp", (long)getpid());
	(void)unlinkat(outdir, tmp, 0);
	int fd = openat(outdir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		close(outdir);
		return fl_err_sys(e, errno, "--out '%s': cannot create a temp file beside it", out_path);
	}
	struct out o = {archive_write_new(), dirfd, malloc(FL_CKPT_ARCHIVE_BLOCK), e, out_path};
	if (!o.a || !o.buf)
		abort();
	int rc = set_filter(&o, comp);
	if (rc == 0 && archive_write_open_fd(o.a, fd) != ARCHIVE_OK)
		rc = ar_fail(&o, "open");
	if (rc == 0)
		rc = write_entries(&o, rounds, n, with_latest);
	if (rc == 0)
		rc = commit_out(&o, outdir, fd, tmp, base);
	archive_write_free(o.a);
	if (rc < 0)
		(void)unlinkat(outdir, tmp, 0);
	free(o.buf);
	close(fd);
	close(outdir);
	return rc;
}
