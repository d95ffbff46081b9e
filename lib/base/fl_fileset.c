/* fl_fileset: replace several files as one set (stage all, rename all, roll back on error). */
#include "fl_fileset.h"

#include "fl_buf.h"
#include "fl_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "dir/.base.suffix" beside path. */
static char *sibling(const char *path, const char *prefix, const char *suffix)
{
	struct fl_buf b = FL_BUF_INIT;
	const char *slash = strrchr(path, '/');
	if (slash)
		fl_buf_addf(&b, "%.*s/%s%s%s", (int)(slash - path), path, prefix, slash + 1, suffix);
	else
		fl_buf_addf(&b, "%s%s%s", prefix, path, suffix);
	return b.data;
}

static void fsync_parent(const char *path)
{
	char *copy = fl_xstrdup(path);
	char *slash = strrchr(copy, '/');
	if (slash)
		*(slash == copy ? slash + 1 : slash) = '\0';
	int fd = open(slash ? copy : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int fl_fileset_stage(struct fl_fileset *s, const char *path, const void *data, size_t len, mode_t mode,
                     uid_t uid, gid_t gid, struct fl_err *e)
{
	char *staged = sibling(path, ".", ".fl-new");
	if (fl_fs_write_atomic(staged, data, len, mode, uid, gid, e) < 0) {
		unlink(staged);
		free(staged);
		return -1;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->v = fl_xrealloc(s->v, s->cap * sizeof *s->v);
	}
	struct fl_fileset_entry *en = &s->v[s->n++];
	memset(en, 0, sizeof *en);
	en->path = fl_xstrdup(path);
	en->staged = staged;
	en->prev = sibling(path, ".", ".fl-prev");
	return 0;
}

static void rollback(struct fl_fileset *s)
{
	for (size_t i = s->n; i-- > 0;) {
		struct fl_fileset_entry *en = &s->v[i];
		if (en->committed) {
			if (en->had_prev)
				rename(en->prev, en->path);
			else
				unlink(en->path);
			en->committed = false;
			fsync_parent(en->path);
		} else if (en->had_prev) {
			unlink(en->prev);
		}
		en->had_prev = false;
	}
}

int fl_fileset_commit(struct fl_fileset *s, struct fl_err *e)
{
	for (size_t i = 0; i < s->n; i++) {
		struct fl_fileset_entry *en = &s->v[i];
		struct stat st;
		unlink(en->prev);
		if (lstat(en->path, &st) == 0) {
			/* Keep the old file reachable until the whole set is in place. */
			/* linkat without AT_SYMLINK_FOLLOW links a symlink itself, never its target. */
			bool plain = S_ISREG(st.st_mode) || S_ISLNK(st.st_mode);
			if (!plain || linkat(AT_FDCWD, en->path, AT_FDCWD, en->prev, 0) < 0) {
				int saved = plain ? errno : EISDIR;
				rollback(s);
				return fl_err_sys(
				    e, saved,
				    "cannot keep the previous %s while replacing it (it must be a "
				    "regular file)",
				    en->path);
			}
			en->had_prev = true;
		} else if (errno != ENOENT) {
			int saved = errno;
			rollback(s);
			return fl_err_sys(e, saved, "cannot inspect %s", en->path);
		}
		if (rename(en->staged, en->path) < 0) {
			int saved = errno;
			rollback(s);
			return fl_err_sys(e, saved, "cannot rename the new %s into place", en->path);
		}
		en->committed = true;
	}
	for (size_t i = 0; i < s->n; i++) {
		struct fl_fileset_entry *en = &s->v[i];
		if (en->had_prev)
			unlink(en->prev);
		fsync_parent(en->path);
	}
	return 0;
}

void fl_fileset_free(struct fl_fileset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct fl_fileset_entry *en = &s->v[i];
		if (!en->committed)
			unlink(en->staged);
		free(en->path);
		free(en->staged);
		free(en->prev);
	}
	free(s->v);
	memset(s, 0, sizeof *s);
}

void fl_fileset_clean(const char *path)
{
	/* The staged copies of a set, then what fl_fs_write_atomic leaves beside the file and
	 * beside its staged copy. Regular files only, never followed. */
	char *staged = sibling(path, ".", ".fl-new"), *prev = sibling(path, ".", ".fl-prev");
	struct stat st;
	if (lstat(prev, &st) == 0 && S_ISREG(st.st_mode))
		unlink(prev);
	if (lstat(staged, &st) == 0 && S_ISREG(st.st_mode))
		unlink(staged);
	fl_fs_clean_temps(path);
	fl_fs_clean_temps(staged);
	free(staged);
	free(prev);
}
