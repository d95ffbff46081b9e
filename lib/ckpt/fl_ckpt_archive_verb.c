/* fl_ckpt_archive_verb: archive and unarchive on an open checkpoint directory. */
#include "fl_ckpt_archive_verb.h"

#include "fl_buf.h"
#include "fl_ckpt_archive.h"
#include "fl_log.h"
#include "fl_manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fl_ckpt_archive_rounds(const struct fl_ckpt *ck, long round, bool all, const char *out, struct fl_err *e)
{
	const struct fl_manifest *m = &ck->m;
	if (m->n == 0)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s: no committed round to archive; commit one with fl-ckpt save", ck->dir);
	long one = round;
	if (all) {
		long *v = fl_xcalloc(m->n, sizeof *v);
		for (size_t i = 0; i < m->n; i++)
			v[i] = m->v[i].round;
		int rc = fl_ckpt_archive_write(ck->dirfd, v, m->n, true, out, e);
		free(v);
		return rc;
	}
	if (one == 0) {
		struct fl_err ignored;
		if (fl_ckpt_latest(ck, &one, &ignored) < 0 || !fl_manifest_find(m, one))
			one = fl_manifest_newest(m)->round;
	}
	return fl_ckpt_archive_write(ck->dirfd, &one, 1, true, out, e);
}

/* A stage directory whose process is gone: its files, then itself. */
static void remove_stage(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	for (struct dirent *de; (de = readdir(d));)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	(void)unlinkat(parent, name, AT_REMOVEDIR);
}

static void clean_stale_stages(int parent)
{
	int fd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	for (struct dirent *de; (de = readdir(d));) {
		if (strncmp(de->d_name, FL_CKPT_TEMP_PREFIX, strlen(FL_CKPT_TEMP_PREFIX)) != 0)
			continue;
		long pid = strtol(de->d_name + strlen(FL_CKPT_TEMP_PREFIX), NULL, 10);
		char want[64];
		snprintf(want, sizeof want, FL_CKPT_STAGE_FMT, pid);
		if (pid > 0 && strcmp(want, de->d_name) == 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
			fl_info("removing the stage directory %s of process %ld, which is gone", de->d_name,
			        pid);
			remove_stage(parent, de->d_name);
		}
	}
	closedir(d);
}

/* The archive's manifest entry of round, from the stage directory. */
static int staged_entry(int stagefd, long round, struct fl_manifest_entry *out, struct fl_err *e)
{
	int fd = openat(stagefd, FL_MANIFEST_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct fl_buf b = FL_BUF_INIT;
	char tmp[65536];
	ssize_t got;
	while (fd >= 0 && (got = read(fd, tmp, sizeof tmp)) > 0 && b.len <= (size_t)FL_MANIFEST_BYTES_MAX)
		fl_buf_add(&b, tmp, (size_t)got);
	if (fd >= 0)
		close(fd);
	struct fl_manifest m = FL_MANIFEST_INIT;
	int rc = fl_manifest_parse(b.data ? b.data : "", b.len, &m, e);
	const struct fl_manifest_entry *en = rc == 0 ? fl_manifest_find(&m, round) : NULL;
	if (en)
		*out = *en;
	else if (rc == 0)
		rc = fl_err_set(e, FL_EXIT_FAIL, "round %ld: not in the archive's manifest", round);
	fl_manifest_free(&m);
	fl_buf_free(&b);
	return rc;
}

/* Commit the staged round file of round, verified, and check the result against the archive. */
static int commit_staged(struct fl_ckpt *ck, int stagefd, const char *archive, long round, struct fl_err *e)
{
	char name[FL_MANIFEST_FILE_LEN];
	struct fl_manifest_entry want = {0};
	fl_manifest_file(round, name);
	if (staged_entry(stagefd, round, &want, e) < 0)
		return -1;
	int fd = openat(stagefd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fl_err_sys(e, errno, "%s: %s: cannot open the staged file", archive, name);
	int rc = fl_ckpt_commit_fd(ck, round, fd, false, e);
	close(fd);
	if (rc < 0) {
		char msg[sizeof e->msg];
		snprintf(msg, sizeof msg, "%s", e->msg);
		return fl_err_set(e, FL_EXIT_FAIL, "%s: %s does not verify: %s", archive, name, msg);
	}
	const struct fl_manifest_entry *got = fl_manifest_find(&ck->m, round);
	if (!got || strcmp(got->sha256, want.sha256) != 0 || got->size != want.size)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s: %s: the committed copy differs from the archive's manifest; unarchive again",
		    archive, name);
	fl_info("%s: committed round %ld (%lld bytes, sha256 %.12s...)", archive, round, want.size,
	        want.sha256);
	return 0;
}

static bool holds(const struct fl_ckpt_archive_list *l, long round)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->rounds[i] == round)
			return true;
	return false;
}

/* Which rounds to commit and which becomes latest. */
static int commit_all(struct fl_ckpt *ck, int stagefd, const char *archive,
                      const struct fl_ckpt_archive_list *l, long round, bool restore, long *latest,
                      struct fl_err *e)
{
	if (round && !holds(l, round))
		return fl_err_set(e, FL_EXIT_FAIL, "%s: holds no round %ld; it holds rounds %ld to %ld",
		                  archive, round, l->rounds[0], l->rounds[l->n - 1]);
	for (size_t i = 0; i < l->n; i++)
		if ((!round || l->rounds[i] == round) &&
		    commit_staged(ck, stagefd, archive, l->rounds[i], e) < 0)
			return -1;
	long to = round ? round : l->latest;
	if (restore && !to)
		to = l->rounds[l->n - 1];
	if (to && fl_ckpt_set_latest(ck, to, e) < 0)
		return -1;
	*latest = to;
	return 0;
}

int fl_ckpt_unarchive(struct fl_ckpt *ck, const char *archive, long round, bool restore, long *latest,
                      struct fl_err *e)
{
	*latest = 0;
	clean_stale_stages(ck->dirfd);
	char stage[64];
	snprintf(stage, sizeof stage, FL_CKPT_STAGE_FMT, (long)getpid());
	remove_stage(ck->dirfd, stage);
	if (mkdirat(ck->dirfd, stage, 0700) < 0)
		return fl_err_sys(e, errno, "%s: cannot create the stage directory %s", ck->dir, stage);
	int stagefd = openat(ck->dirfd, stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (stagefd < 0) {
		(void)unlinkat(ck->dirfd, stage, AT_REMOVEDIR);
		return fl_err_sys(e, errno, "%s: cannot open the stage directory %s", ck->dir, stage);
	}
	struct fl_ckpt_archive_list l;
	int rc = fl_ckpt_archive_extract(archive, stagefd, &l, e);
	if (rc == 0) {
		rc = commit_all(ck, stagefd, archive, &l, round, restore, latest, e);
		fl_ckpt_archive_list_free(&l);
	}
	close(stagefd);
	remove_stage(ck->dirfd, stage);
	return rc;
}
