/* fl_ckpt_prune: retention: which round files go (the newest N, every K-th, the best by a
 * metric, the latest target and the highest round stay), and their removal, manifest first. */
#include "fl_ckpt.h"

#include "fl_fs.h"
#include "fl_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* The index of the best value among the rounds that have one, or n. */
static size_t best_index(const struct fl_ckpt_prune *p, const double *value, const bool *has, size_t n)
{
	bool lower = p->best == FL_CKPT_BEST_MIN ||
	             (p->best == FL_CKPT_BEST_AUTO &&
	              (ends_with(p->keep_best, "loss") || ends_with(p->keep_best, "error")));
	size_t best = n;
	for (size_t i = 0; i < n; i++) {
		if (!has[i])
			continue;
		/* Ties keep the newer round. */
		if (best == n || (lower ? value[i] <= value[best] : value[i] >= value[best]))
			best = i;
	}
	return best;
}

void fl_ckpt_prune_select(const struct fl_ckpt_prune *p, const long *r, const double *value, const bool *has,
                          size_t n, long latest, bool *remove)
{
	size_t best = p->keep_best ? best_index(p, value, has, n) : n;
	for (size_t i = 0; i < n; i++) {
		bool keep = p->keep <= 0 || i + (size_t)p->keep >= n;
		keep = keep || (p->keep_every > 0 && r[i] % p->keep_every == 0);
		keep = keep || i == best || r[i] == latest || i == n - 1;
		remove[i] = !keep;
	}
}

/* Drop the entries of the rounds that go, in one atomic manifest save. */
static int drop_entries(struct fl_ckpt *ck, const long *gone, size_t n, struct fl_err *e)
{
	bool changed = false;
	for (size_t i = 0; i < n; i++)
		changed = fl_manifest_remove(&ck->m, gone[i]) || changed;
	if (!changed)
		return 0;
	uid_t uid;
	gid_t gid;
	fl_ckpt_owner(ck, &uid, &gid);
	return fl_manifest_save(ck->dir, &ck->m, uid, gid, e);
}

static int remove_files(struct fl_ckpt *ck, const long *gone, size_t n, struct fl_err *e)
{
	for (size_t i = 0; i < n; i++) {
		char name[FL_MANIFEST_FILE_LEN];
		fl_manifest_file(gone[i], name);
		if (unlinkat(ck->dirfd, name, 0) < 0 && errno != ENOENT)
			return fl_err_sys(e, errno,
			                  "cannot remove %s/%s (its manifest entry is gone: the next prune "
			                  "removes it)",
			                  ck->dir, name);
	}
	if (n && fsync(ck->dirfd) < 0)
		return fl_err_sys(e, errno, "cannot fsync the directory %s", ck->dir);
	return 0;
}

int fl_ckpt_prune(struct fl_ckpt *ck, const struct fl_ckpt_prune *p, long **gone, size_t *ngone,
                  struct fl_err *e)
{
	*gone = NULL;
	*ngone = 0;
	struct fl_ckpt_round *v;
	size_t n;
	if (fl_ckpt_rounds(ck, &v, &n, e) < 0)
		return -1;
	long latest = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].latest)
			latest = v[i].round;
	long *r = calloc(n + 1, sizeof *r);
	double *value = calloc(n + 1, sizeof *value);
	bool *has = calloc(n + 1, sizeof *has), *rm = calloc(n + 1, sizeof *rm);
	if (!r || !value || !has || !rm)
		abort();
	for (size_t i = 0; i < n; i++) {
		r[i] = v[i].round;
		const struct fl_manifest_entry *en = fl_manifest_find(&ck->m, r[i]);
		has[i] = en && p->keep_best && fl_manifest_metric(en, p->keep_best, &value[i]);
	}
	fl_ckpt_prune_select(p, r, value, has, n, latest, rm);
	for (size_t i = 0; i < n; i++)
		if (rm[i])
			r[(*ngone)++] = r[i];
	*gone = r;
	free(value);
	free(has);
	free(rm);
	free(v);
	if (p->dry_run || !*ngone)
		return 0;
	if (drop_entries(ck, r, *ngone, e) < 0 || remove_files(ck, r, *ngone, e) < 0)
		return -1;
	return 0;
}
