/* fl_ckpt_archive_extract: a checkpoint archive (untrusted) into an empty stage directory.
 *
 * Why not archive_read_extract with ARCHIVE_EXTRACT_SECURE_*: it resolves paths against the
 * process's working directory (a chdir that the whole process shares), creates directories,
 * links and devices when asked by the entry, and its guards are a filter over everything it
 * can do. Here the only write is openat(stage_dirfd, name, O_CREAT|O_EXCL|O_NOFOLLOW) of a name
 * from an allow-list of bare names, fed by archive_read_data_block: nothing else can be made,
 * and nothing outside the stage directory can be reached, whatever the entry says. */
#include "fl_ckpt_archive.h"

#include "fl_buf.h"
#include "fl_fs.h"
#include "fl_manifest.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LATEST_LINK "checkpoint_latest.npz"
#define LATEST_META "checkpoint_latest.json"

/* One round file written: its round, size and SHA-256 (checked against the manifest at the end). */
struct got {
	long round;
	long long size;
	unsigned char sha[32];
};

struct in {
	struct archive *a;
	int stage;
	const char *name; /* the archive, for messages */
	struct fl_err *e;
	struct got *v; /* round files written, in archive order */
	size_t n, cap;
	bool manifest, meta;
	long latest;
	struct fl_buf mtext; /* the manifest's bytes */
	EVP_MD_CTX *md;
};

void fl_ckpt_archive_list_free(struct fl_ckpt_archive_list *l)
{
	free(l->rounds);
	memset(l, 0, sizeof *l);
}

static int refuse(struct in *in, const char *entry, const char *why)
{
	return fl_err_set(in->e, FL_EXIT_FAIL,
	                  "%s: entry '%.200s' refused: %s; only archives written by fl-ckpt archive are "
	                  "accepted",
	                  in->name, entry, why);
}

static int ar_fail(struct in *in, const char *entry)
{
	const char *s = archive_error_string(in->a);
	return fl_err_set(in->e, FL_EXIT_FAIL,
	                  "%s: %s%.200s%s: %s; the archive is damaged or truncated: copy it again", in->name,
	                  entry ? "entry '" : "", entry ? entry : "", entry ? "'" : "", s ? s : "read error");
}

/* Why the entry's name is not acceptable, or NULL. */
static const char *bad_name(const char *p)
{
	if (!p || !*p)
		return "no name";
	if (p[0] == '/')
		return "an absolute path";
	if (strstr(p, ".."))
		return "a path with '..'";
	if (strchr(p, '/'))
		return "a path with a directory; only bare checkpoint names";
	if (fl_manifest_round_of(p) > 0 || strcmp(p, FL_MANIFEST_NAME) == 0 || strcmp(p, LATEST_META) == 0 ||
	    strcmp(p, LATEST_LINK) == 0)
		return NULL;
	return "not a checkpoint file name (checkpoint_round_<N>.npz, checkpoint_latest.npz, "
	       "checkpoint_latest.json, checkpoint_manifest.json)";
}

/* Why the entry's type is not acceptable, or NULL. */
static const char *bad_type(struct archive_entry *en, const char *p)
{
	mode_t t = archive_entry_filetype(en);
	if (archive_entry_hardlink(en))
		return "a hard link";
	if (t == AE_IFLNK)
		return strcmp(p, LATEST_LINK) == 0 ? NULL : "a symlink other than checkpoint_latest.npz";
	if (strcmp(p, LATEST_LINK) == 0)
		return "checkpoint_latest.npz must be a symlink";
	switch (t) {
	case AE_IFREG: return NULL;
	case AE_IFDIR: return "a directory";
	case AE_IFCHR:
	case AE_IFBLK: return "a device";
	case AE_IFIFO: return "a FIFO";
	case AE_IFSOCK: return "a socket";
	default: return "not a regular file";
	}
}

static int take_link(struct in *in, struct archive_entry *en)
{
	const char *t = archive_entry_symlink(en);
	long r = t ? fl_manifest_round_of(t) : -1;
	if (in->latest)
		return refuse(in, LATEST_LINK, "it appears twice");
	if (r <= 0)
		return refuse(in, LATEST_LINK, "its target is not a bare checkpoint_round_<N>.npz name");
	in->latest = r;
	return 0;
}

/* The entry's data into fd, hashed (and kept, for the manifest); exactly size bytes, no holes. */
static int copy_data(struct in *in, const char *p, int fd, long long size, struct fl_buf *keep)
{
	long long done = 0;
	for (;;) {
		const void *buf;
		size_t len;
		la_int64_t off;
		int r = archive_read_data_block(in->a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK)
			return ar_fail(in, p);
		if (off != done)
			return refuse(in, p, "a sparse entry");
		if ((long long)len > size - done)
			return refuse(in, p, "more data than its declared size");
		if (keep)
			fl_buf_add(keep, buf, len);
		if (EVP_DigestUpdate(in->md, buf, len) != 1)
			abort();
		for (size_t w = 0; w < len;) {
			ssize_t k = write(fd, (const char *)buf + w, len - w);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return fl_err_sys(in->e, errno, "%s: writing '%s' into the stage directory",
				                  in->name, p);
			w += (size_t)k;
		}
		done += (long long)len;
	}
	if (done != size)
		return refuse(in, p, "less data than its declared size");
	return 0;
}

static void note_round(struct in *in, long round, long long size)
{
	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 16;
		in->v = fl_xrealloc(in->v, in->cap * sizeof *in->v);
	}
	struct got *g = &in->v[in->n++];
	g->round = round;
	g->size = size;
}

/* A regular file entry: bounds, then its bytes into a new file of the stage directory. */
static int take_file(struct in *in, struct archive_entry *en, const char *p)
{
	long round = fl_manifest_round_of(p);
	bool is_manifest = strcmp(p, FL_MANIFEST_NAME) == 0;
	long long max = round > 0 ? FL_CKPT_ARCHIVE_FILE_MAX : FL_CKPT_ARCHIVE_JSON_MAX;
	if (!archive_entry_size_is_set(en))
		return refuse(in, p, "no declared size");
	long long size = archive_entry_size(en);
	if (size < 0 || size > max) {
		char why[96];
		snprintf(why, sizeof why, "declared size %lld outside 0-%lld bytes", size, max);
		return refuse(in, p, why);
	}
	int fd = openat(in->stage, p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST
		           ? refuse(in, p, "it appears twice")
		           : fl_err_sys(in->e, errno, "%s: cannot create '%s' in the stage directory",
		                        in->name, p);
	/* Noted before the data so that a failure removes it too. */
	if (round > 0)
		note_round(in, round, size);
	in->manifest |= is_manifest;
	in->meta |= strcmp(p, LATEST_META) == 0;
	if (EVP_DigestInit_ex(in->md, EVP_sha256(), NULL) != 1)
		abort();
	int rc = copy_data(in, p, fd, size, is_manifest ? &in->mtext : NULL);
	if (rc == 0 && round > 0 && EVP_DigestFinal_ex(in->md, in->v[in->n - 1].sha, NULL) != 1)
		abort();
	if (close(fd) < 0 && rc == 0)
		rc = fl_err_sys(in->e, errno, "%s: writing '%s' into the stage directory", in->name, p);
	return rc;
}

static int take_entry(struct in *in, struct archive_entry *en)
{
	const char *p = archive_entry_pathname(en);
	const char *why = bad_name(p);
	if (!why)
		why = bad_type(en, p);
	if (why)
		return refuse(in, p ? p : "", why);
	if (in->manifest)
		return refuse(in, p, "it comes after checkpoint_manifest.json, which must be last");
	if (archive_entry_filetype(en) == AE_IFLNK)
		return take_link(in, en);
	return take_file(in, en, p);
}

static bool hex_is(const char *hex, const unsigned char sha[32])
{
	char h[65];
	for (int i = 0; i < 32; i++)
		snprintf(h + (size_t)2 * i, 3, "%02x", sha[i]);
	return strcmp(hex, h) == 0;
}

/* The manifest names exactly the round files written, with their sizes and hashes. */
static int check_manifest(struct in *in)
{
	if (!in->manifest)
		return refuse(in, FL_MANIFEST_NAME,
		              "absent (it ends every archive fl-ckpt writes: this one is "
		              "truncated or not fl-ckpt's)");
	if (in->n == 0)
		return refuse(in, FL_MANIFEST_NAME, "the archive holds no checkpoint_round_<N>.npz");
	struct fl_manifest m = FL_MANIFEST_INIT;
	struct fl_err pe;
	int rc = 0;
	if (fl_manifest_parse(in->mtext.data ? in->mtext.data : "", in->mtext.len, &m, &pe) < 0)
		rc = refuse(in, FL_MANIFEST_NAME, pe.msg);
	else if (m.n != in->n)
		rc = refuse(in, FL_MANIFEST_NAME, "its rounds are not the archive's round files");
	for (size_t i = 0; rc == 0 && i < in->n; i++) {
		const struct got *g = &in->v[i];
		const struct fl_manifest_entry *en = fl_manifest_find(&m, g->round);
		char name[FL_MANIFEST_FILE_LEN];
		fl_manifest_file(g->round, name);
		if (!en)
			rc = refuse(in, name, "no entry in checkpoint_manifest.json");
		else if (en->size != g->size || !hex_is(en->sha256, g->sha))
			rc = refuse(in, name,
			            "its size or SHA-256 differs from checkpoint_manifest.json (damaged)");
	}
	if (rc == 0 && in->latest && !fl_manifest_find(&m, in->latest))
		rc = refuse(in, LATEST_LINK, "it names a round the archive does not hold");
	fl_manifest_free(&m);
	return rc;
}

static int read_all(struct in *in)
{
	for (long count = 0;; count++) {
		struct archive_entry *en;
		int r = archive_read_next_header(in->a, &en);
		if (r == ARCHIVE_EOF)
			return check_manifest(in);
		if (r != ARCHIVE_OK)
			return ar_fail(in, NULL);
		if (count >= FL_CKPT_ARCHIVE_ENTRIES_MAX)
			return refuse(in, archive_entry_pathname(en) ? archive_entry_pathname(en) : "",
			              "more entries than any checkpoint archive holds");
		if (take_entry(in, en) < 0)
			return -1;
	}
}

static void remove_written(struct in *in)
{
	for (size_t i = 0; i < in->n; i++) {
		char name[FL_MANIFEST_FILE_LEN];
		if (fl_manifest_file(in->v[i].round, name) == 0)
			(void)unlinkat(in->stage, name, 0);
	}
	if (in->manifest)
		(void)unlinkat(in->stage, FL_MANIFEST_NAME, 0);
	if (in->meta)
		(void)unlinkat(in->stage, LATEST_META, 0);
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

static bool stage_empty(int stage)
{
	DIR *d = fl_fs_opendir_at(stage, NULL);
	if (!d)
		return false;
	bool empty = true;
	for (struct dirent *de; empty && (de = readdir(d));)
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/* Read the opened archive in; on success out lists what was written. */
static int run(struct in *in, struct fl_ckpt_archive_list *out)
{
	int rc = stage_empty(in->stage)
	             ? read_all(in)
	             : fl_err_set(in->e, FL_EXIT_FAIL,
	                          "%s: the stage directory is not empty; remove what is in it", in->name);
	if (rc < 0)
		remove_written(in);
	else {
		out->n = in->n;
		out->rounds = fl_xcalloc(in->n ? in->n : 1, sizeof *out->rounds);
		for (size_t i = 0; i < in->n; i++)
			out->rounds[i] = in->v[i].round;
		qsort(out->rounds, out->n, sizeof *out->rounds, cmp_long);
		out->latest = in->latest;
		out->meta = in->meta;
	}
	return rc;
}

/* Tar only (never zip, cpio or raw: less code that reads hostile bytes), plain, gzip or zstd. */
static struct archive *reader(void)
{
	struct archive *a = archive_read_new();
	if (!a)
		abort();
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	return a;
}

static int extract(struct in *in, int open_rc, struct fl_ckpt_archive_list *out)
{
	memset(out, 0, sizeof *out);
	in->md = EVP_MD_CTX_new();
	if (!in->md)
		abort();
	int rc = open_rc == ARCHIVE_OK ? run(in, out) : ar_fail(in, NULL);
	EVP_MD_CTX_free(in->md);
	archive_read_free(in->a);
	free(in->v);
	fl_buf_free(&in->mtext);
	return rc;
}

int fl_ckpt_archive_extract(const char *archive_path, int stage_dirfd, struct fl_ckpt_archive_list *out,
                            struct fl_err *e)
{
	int fd = open(archive_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return fl_err_sys(e, errno, "%s: cannot open the archive", archive_path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fcntl(fd, F_SETFL, 0) < 0) {
		close(fd);
		return fl_err_set(e, FL_EXIT_FAIL, "%s: not a regular file; name an archive file",
		                  archive_path);
	}
	struct in in = {.a = reader(), .stage = stage_dirfd, .name = archive_path, .e = e};
	int rc = extract(&in, archive_read_open_fd(in.a, fd, FL_CKPT_ARCHIVE_BLOCK), out);
	close(fd);
	return rc;
}

int fl_ckpt_archive_extract_buf(const void *data, size_t len, const char *name, int stage_dirfd,
                                struct fl_ckpt_archive_list *out, struct fl_err *e)
{
	struct in in = {.a = reader(), .stage = stage_dirfd, .name = name, .e = e};
	return extract(&in, archive_read_open_memory(in.a, data, len), out);
}
