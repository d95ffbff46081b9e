/* fl_ckpt_archive_verb: archive and unarchive on a checkpoint directory. */
#include "fl_ckpt_archive_verb.h"

#include "fl_buf.h"
#include "fl_ckpt_archive.h"
#include "fl_log.h"
#include "fl_manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
	if (all) {
		long *v = fl_xcalloc(m->n, sizeof *v);
		for (size_t i = 0; i < m->n; i++)
			v[i] = m->v[i].round;
		int rc = fl_ckpt_archive_write(ck->dirfd, v, m->n, true, out, e);
		free(v);
		return rc;
	}
	long one = round;
	if (one == 0) {
		struct fl_err ignored;
		if (fl_ckpt_latest(ck, &one, &ignored) < 0 || !fl_manifest_find(m, one))
			one = fl_manifest_newest(m)->round;
	}
	return fl_ckpt_archive_write(ck->dirfd, &one, 1, true, out, e);
}

/* The archive's manifest, as extract checked it, from the stage directory. */
static int staged_manifest(int stagefd, const char *archive, struct fl_manifest *m, struct fl_err *e)
{
	int fd = openat(stagefd, FL_MANIFEST_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fl_err_sys(e, errno, "%s: %s: cannot open the staged manifest", archive,
		                  FL_MANIFEST_NAME);
	struct fl_buf b = FL_BUF_INIT;
	char tmp[65536];
	ssize_t got;
	while ((got = read(fd, tmp, sizeof tmp)) > 0 && b.len <= (size_t)FL_MANIFEST_BYTES_MAX)
		fl_buf_add(&b, tmp, (size_t)got);
	close(fd);
	int rc = fl_manifest_parse(b.data ? b.data : "", b.len, m, e);
	fl_buf_free(&b);
	return rc;
}

/* Commit the staged file of the archive's entry en, verified, and check the copy against it. */
static int commit_staged(struct fl_ckpt *ck, int stagefd, const char *archive,
                         const struct fl_manifest_entry *en, struct fl_err *e)
{
	char name[FL_MANIFEST_FILE_LEN];
	fl_manifest_file(en->round, name);
	int fd = openat(stagefd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fl_err_sys(e, errno, "%s: %s: cannot open the staged file", archive, name);
	struct fl_ckpt_commit c = {false, en->metrics, en->nmetrics};
	int rc = fl_ckpt_commit(ck, en->round, fd, &c, NULL, e);
	close(fd);
	if (rc < 0)
		return fl_err_prefix(e, FL_EXIT_FAIL, "%s: %s from the archive is not committed", archive,
		                     name);
	const struct fl_manifest_entry *got = fl_manifest_find(&ck->m, en->round);
	if (!got || strcmp(got->sha256, en->sha256) != 0 || got->size != en->size)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s: %s: the committed copy differs from the archive's manifest; unarchive again",
		    archive, name);
	fl_info("%s: committed round %ld (%lld bytes, sha256 %s)", archive, en->round, en->size, en->sha256);
	return 0;
}

struct done {
	long *v;
	size_t n;
};

/* Which rounds to commit, then which becomes latest. */
static int commit_all(struct fl_ckpt *ck, int stagefd, const char *archive,
                      const struct fl_ckpt_archive_list *l, long round, bool restore, struct done *d,
                      long *latest, struct fl_err *e)
{
	struct fl_manifest am = FL_MANIFEST_INIT;
	int rc = staged_manifest(stagefd, archive, &am, e);
	if (rc == 0 && round && !fl_manifest_find(&am, round))
		rc = fl_err_set(e, FL_EXIT_FAIL, "%s: holds no round %ld; it holds rounds %ld to %ld",
		                archive, round, l->rounds[0], l->rounds[l->n - 1]);
	d->v = fl_xcalloc(am.n ? am.n : 1, sizeof *d->v);
	for (size_t i = 0; rc == 0 && i < am.n; i++) {
		if (round && am.v[i].round != round)
			continue;
		rc = commit_staged(ck, stagefd, archive, &am.v[i], e);
		if (rc == 0)
			d->v[d->n++] = am.v[i].round;
	}
	long to = round ? round : l->latest;
	if (restore && !to)
		to = l->rounds[l->n - 1];
	if (rc == 0 && to && fl_ckpt_set_latest(ck, to, e) < 0)
		rc = -1;
	if (rc == 0)
		*latest = to;
	fl_manifest_free(&am);
	return rc;
}

int fl_ckpt_unarchive(struct fl_ckpt *ck, const char *archive, long round, bool restore, long **done,
                      size_t *ndone, long *latest, struct fl_err *e)
{
	*latest = 0;
	*done = NULL;
	*ndone = 0;
	char stage[64];
	snprintf(stage, sizeof stage, FL_CKPT_STAGE_FMT, (long)getpid());
	fl_ckpt_remove_stage(ck->dirfd, stage);
	if (mkdirat(ck->dirfd, stage, 0700) < 0)
		return fl_err_sys(e, errno, "%s: cannot create the stage directory %s", ck->dir, stage);
	int stagefd = openat(ck->dirfd, stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (stagefd < 0) {
		(void)unlinkat(ck->dirfd, stage, AT_REMOVEDIR);
		return fl_err_sys(e, errno, "%s: cannot open the stage directory %s", ck->dir, stage);
	}
	struct fl_ckpt_archive_list l;
	struct done d = {NULL, 0};
	int rc = fl_ckpt_archive_extract(archive, stagefd, &l, e);
	if (rc == 0) {
		rc = commit_all(ck, stagefd, archive, &l, round, restore, &d, latest, e);
		fl_ckpt_archive_list_free(&l);
	}
	close(stagefd);
	fl_ckpt_remove_stage(ck->dirfd, stage);
	*done = d.v;
	*ndone = d.n;
	return rc;
}

int fl_ckpt_verb_archive(const struct fl_ckpt_verb *o, const char *file, struct fl_buf *out)
{
	struct fl_err e = {0};
	struct fl_ckpt ck;
	if (fl_ckpt_open(&ck, o->dir, false, o->lock_timeout_ms, o->uid, o->gid, &e) < 0)
		return fl_log_err(&e);
	int rc = 0;
	if (fl_ckpt_archive_rounds(&ck, o->round, o->all, file, &e) < 0)
		rc = fl_log_err(&e);
	else {
		fl_info("archived %s into %s", o->all ? "every committed round" : "one round", file);
		fl_buf_addf(out, "%s\n", file);
	}
	fl_ckpt_close(&ck);
	return rc;
}

int fl_ckpt_verb_unarchive(const struct fl_ckpt_verb *o, const char *file, bool restore, struct fl_buf *out)
{
	struct fl_err e = {0};
	struct fl_ckpt ck;
	if (fl_ckpt_open(&ck, o->dir, true, o->lock_timeout_ms, o->uid, o->gid, &e) < 0)
		return fl_log_err(&e);
	long *done, latest;
	size_t n;
	int rc = 0;
	if (fl_ckpt_unarchive(&ck, file, o->round, restore, &done, &n, &latest, &e) < 0)
		rc = fl_log_err(&e);
	for (size_t i = 0; i < n; i++) {
		char name[FL_MANIFEST_FILE_LEN];
		fl_manifest_file(done[i], name);
		fl_buf_addf(out, "%ld\t%s/%s\n", done[i], ck.dir, name);
	}
	if (rc == 0 && latest)
		fl_info("the latest link points to round %ld", latest);
	if (rc == 0 && restore)
		fl_warn("the ServerApp resumes from round %ld but counts rounds from 1 again: lower "
		        "FL_NUM_ROUNDS to the rounds still to train",
		        latest);
	free(done);
	fl_ckpt_close(&ck);
	return rc;
}
