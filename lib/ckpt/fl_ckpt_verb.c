/* fl_ckpt_verb: what fl-ckpt's verbs do once the options are known. */
#include "fl_ckpt_verb.h"

#include "fl_fs.h"
#include "fl_log.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fl_ckpt_verb_metric(struct fl_ckpt_verb *o, const char *arg, struct fl_err *e)
{
	const char *eq = strchr(arg, '=');
	char name[FL_MANIFEST_METRIC_NAME_MAX + 2];
	size_t n = eq ? (size_t)(eq - arg) : 0;
	if (!eq || n == 0 || n > FL_MANIFEST_METRIC_NAME_MAX)
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "--metric '%s' is not NAME=VALUE (NAME: 1-%d of [A-Za-z0-9_.-])", arg,
		                  FL_MANIFEST_METRIC_NAME_MAX);
	memcpy(name, arg, n);
	name[n] = '\0';
	char *end;
	errno = 0;
	double v = strtod(eq + 1, &end);
	if (fl_manifest_metric_name_ok(name) < 0)
		return fl_err_set(e, FL_EXIT_USAGE, "--metric '%s': the name is not 1-%d of [A-Za-z0-9_.-]",
		                  arg, FL_MANIFEST_METRIC_NAME_MAX);
	if (end == eq + 1 || *end || errno || !isfinite(v))
		return fl_err_set(e, FL_EXIT_USAGE, "--metric '%s': the value is not a finite number", arg);
	for (size_t i = 0; i < o->nmetrics; i++)
		if (strcmp(o->metrics[i].name, name) == 0)
			return fl_err_set(e, FL_EXIT_USAGE, "--metric %s is given twice", name);
	if (o->nmetrics >= FL_MANIFEST_METRICS_MAX)
		return fl_err_set(e, FL_EXIT_USAGE, "more than %d --metric options", FL_MANIFEST_METRICS_MAX);
	memcpy(o->metrics[o->nmetrics].name, name, n + 1);
	o->metrics[o->nmetrics++].value = v;
	return 0;
}

static int open_dir(const struct fl_ckpt_verb *o, struct fl_ckpt *ck, bool mutate)
{
	struct fl_err e = {0};
	if (fl_ckpt_open(ck, o->dir, mutate, o->lock_timeout_ms, o->uid, o->gid, &e) < 0)
		return fl_log_err(&e);
	return 0;
}

int fl_ckpt_verb_init(const struct fl_ckpt_verb *o)
{
	struct fl_err e = {0};
	if (fl_ckpt_init_dir(o->dir, o->uid, o->gid, &e) < 0)
		return fl_log_err(&e);
	fl_info("checkpoint directory %s ready (owner %ld:%ld, mode 0755)", o->dir, (long)o->uid,
	        (long)o->gid);
	return 0;
}

/* The spec's resume loads sorted(data.files): string order, wrong from 11 arrays on. */
static void warn_order(const char *what, size_t narrays)
{
	if (narrays >= 11)
		fl_warn(
		    "%s holds %zu arrays: the spec's resume (sorted(data.files)) loads arr_10 before arr_2 "
		    "and gives the model its layers in the wrong order; resume with numeric order "
		    "(arr_0, arr_1, ..., as the demo app does)",
		    what, narrays);
}

static void time_text(time_t t, char out[32])
{
	if (fl_manifest_time(t, out) < 0)
		snprintf(out, 32, "-");
}

static void list_meta(const struct fl_ckpt *ck, long latest)
{
	struct fl_ckpt_meta meta;
	struct fl_err e = {0};
	int rc = fl_ckpt_meta_read(ck, &meta, &e);
	if (rc < 0)
		fl_warn("%s", e.msg);
	else if (rc == 0)
		fl_info("%s/%s: absent", ck->dir, FL_CKPT_META);
	else if (meta.round != latest)
		fl_warn(
		    "%s/%s says round %ld, the latest link round %ld: inconsistent (a save was interrupted); "
		    "fl-ckpt restore --round N makes them agree",
		    ck->dir, FL_CKPT_META, meta.round, latest);
	else
		fl_info("%s/%s: round %ld, %ld arrays, %s (consistent with the latest link)", ck->dir,
		        FL_CKPT_META, meta.round, meta.num_arrays, meta.timestamp);
}

static void list_out(const struct fl_ckpt_round *v, size_t n, bool json, struct fl_buf *out)
{
	json_t *a = json_array();
	if (!json)
		fl_buf_addf(out, "round\tsize\tarrays\tmtime\tstate\tvalid\n");
	for (size_t i = 0; i < n; i++) {
		char t[32];
		time_text(v[i].mtime, t);
		if (json) {
			json_array_append_new(a, json_pack("{s:I, s:s, s:I, s:I, s:s, s:b, s:b, s:b}",
			                                   "round", (json_int_t)v[i].round, "file", v[i].file,
			                                   "size", (json_int_t)v[i].size, "num_arrays",
			                                   (json_int_t)v[i].arrays, "mtime", t, "committed",
			                                   v[i].committed, "latest", v[i].latest, "valid",
			                                   v[i].valid == 1));
			continue;
		}
		char arrays[24];
		snprintf(arrays, sizeof arrays, v[i].arrays < 0 ? "-" : "%ld", v[i].arrays);
		fl_buf_addf(out, "%ld\t%lld\t%s\t%s\t%s%s\t%s\n", v[i].round, v[i].size, arrays, t,
		            v[i].committed ? "committed" : "uncommitted", v[i].latest ? ",latest" : "",
		            v[i].valid == 1 ? "ok" : "INVALID");
	}
	if (json) {
		char *s = json_dumps(a, JSON_COMPACT);
		fl_buf_addf(out, "%s\n", s ? s : "[]");
		free(s);
	}
	json_decref(a);
}

int fl_ckpt_verb_list(const struct fl_ckpt_verb *o, struct fl_buf *out)
{
	struct fl_ckpt ck;
	int rc = open_dir(o, &ck, false);
	if (rc)
		return rc;
	struct fl_ckpt_round *v;
	size_t n;
	struct fl_err e = {0};
	if (fl_ckpt_rounds(&ck, &v, &n, &e) < 0) {
		fl_ckpt_close(&ck);
		return fl_log_err(&e);
	}
	long latest = 0;
	for (size_t i = 0; i < n; i++) {
		struct fl_npz_info info;
		struct fl_err ve = {0};
		if (v[i].valid != 0)
			v[i].valid = fl_ckpt_verify_round(&ck, v[i].round, &info, &ve) == 0;
		if (v[i].valid == 1 && v[i].arrays < 0)
			v[i].arrays = (long)info.narrays;
		if (v[i].valid != 1)
			fl_warn("%s", ve.msg[0] ? ve.msg : "a round file is not a regular file");
		if (!v[i].committed)
			fl_info("%s/%s is uncommitted (no manifest entry): never latest --fallback; commit "
			        "it with "
			        "fl-ckpt save --round %ld --from %s/%s",
			        ck.dir, v[i].file, v[i].round, ck.dir, v[i].file);
		if (v[i].latest)
			latest = v[i].round;
	}
	list_out(v, n, o->json, out);
	list_meta(&ck, latest);
	free(v);
	fl_ckpt_close(&ck);
	return 0;
}

/* --fallback: the link's round when it is committed and verifies, else the newest that does. */
static int fallback(const struct fl_ckpt *ck, long *round, struct fl_err *e)
{
	struct fl_err le = {0};
	if (fl_ckpt_latest(ck, round, &le) == 0) {
		if (!fl_manifest_find(&ck->m, *round))
			fl_warn(
			    "the latest link points to round %ld, which is uncommitted (no manifest entry)",
			    *round);
		else if (fl_ckpt_verify_round(ck, *round, NULL, &le) == 0)
			return 0;
		else
			fl_warn("%s", le.msg);
	} else {
		fl_warn("%s", le.msg);
	}
	if (fl_ckpt_latest_verified(ck, round, e) < 0)
		return -1;
	fl_warn("falling back to round %ld, the newest committed round that verifies", *round);
	return 0;
}

int fl_ckpt_verb_latest(const struct fl_ckpt_verb *o, struct fl_buf *out)
{
	struct fl_ckpt ck;
	int rc = open_dir(o, &ck, false);
	if (rc)
		return rc;
	struct fl_err e = {0};
	long round = 0;
	if ((o->fallback ? fallback(&ck, &round, &e) : fl_ckpt_latest(&ck, &round, &e)) < 0)
		rc = fl_log_err(&e);
	else {
		char name[FL_MANIFEST_FILE_LEN];
		fl_manifest_file(round, name);
		fl_buf_addf(out, "%ld\t%s/%s\n", round, ck.dir, name);
	}
	fl_ckpt_close(&ck);
	return rc;
}

static int verify_file(const char *file, struct fl_buf *out)
{
	struct fl_err e = {0};
	int fd = fl_fs_open_regular(NULL, file, 0, &e);
	struct fl_npz_info info;
	if (fd < 0)
		return fl_log_err(&e);
	int rc = fl_npz_verify_fd(fd, 0, &info, &e);
	close(fd);
	if (rc < 0) {
		fl_error("%s: %s", file, e.msg);
		return FL_EXIT_FAIL;
	}
	warn_order(file, info.narrays);
	fl_buf_addf(out, "%s\tok\t%zu arrays\n", file, info.narrays);
	return 0;
}

static int verify_one(const struct fl_ckpt *ck, long round, struct fl_buf *out)
{
	struct fl_npz_info info;
	struct fl_err e = {0};
	char name[FL_MANIFEST_FILE_LEN];
	if (fl_ckpt_verify_round(ck, round, &info, &e) < 0)
		return fl_log_err(&e);
	fl_manifest_file(round, name);
	warn_order(name, info.narrays);
	fl_buf_addf(out, "%s/%s\tok\t%zu arrays%s\n", ck->dir, name, info.narrays,
	            fl_manifest_find(&ck->m, round) ? "" : "\tuncommitted");
	return 0;
}

static int verify_all(const struct fl_ckpt *ck, struct fl_buf *out)
{
	struct fl_ckpt_round *v;
	size_t n, bad = 0;
	struct fl_err e = {0};
	if (fl_ckpt_rounds(ck, &v, &n, &e) < 0)
		return fl_log_err(&e);
	for (size_t i = 0; i < n; i++)
		bad += verify_one(ck, v[i].round, out) != 0;
	free(v);
	if (!n)
		fl_info("%s holds no round files", ck->dir);
	if (bad)
		fl_error("%zu of %zu round files of %s failed verification", bad, n, ck->dir);
	return bad ? FL_EXIT_FAIL : 0;
}

int fl_ckpt_verb_verify(const struct fl_ckpt_verb *o, const char *file, struct fl_buf *out)
{
	if (file)
		return verify_file(file, out);
	struct fl_ckpt ck;
	int rc = open_dir(o, &ck, false);
	if (rc)
		return rc;
	struct fl_err e = {0};
	long round = o->round;
	if (o->all)
		rc = verify_all(&ck, out);
	else if (!round && fl_ckpt_latest(&ck, &round, &e) < 0)
		rc = fl_log_err(&e);
	else
		rc = verify_one(&ck, round, out);
	fl_ckpt_close(&ck);
	return rc;
}

int fl_ckpt_verb_save(const struct fl_ckpt_verb *o, struct fl_buf *out)
{
	struct fl_err e = {0};
	int src = fl_fs_open_regular("--from", o->from, 0, &e);
	if (src < 0)
		return fl_log_err(&e);
	struct fl_ckpt ck;
	int rc = open_dir(o, &ck, true);
	if (rc) {
		close(src);
		return rc;
	}
	struct fl_ckpt_commit c = {!o->no_latest, o->metrics, o->nmetrics};
	struct fl_npz_info info;
	if (fl_ckpt_commit(&ck, o->round, src, &c, &info, &e) < 0)
		rc = fl_log_err(&e);
	else {
		char name[FL_MANIFEST_FILE_LEN];
		fl_manifest_file(o->round, name);
		const struct fl_manifest_entry *en = fl_manifest_find(&ck.m, o->round);
		fl_info("committed round %ld: %s/%s (%zu arrays, %lld bytes, sha256 %s)%s", o->round, ck.dir,
		        name, info.narrays, en->size, en->sha256,
		        o->no_latest ? "" : "; the latest link points to it");
		warn_order(name, info.narrays);
		fl_buf_addf(out, "%ld\t%s/%s\n", o->round, ck.dir, name);
	}
	close(src);
	fl_ckpt_close(&ck);
	return rc;
}

int fl_ckpt_verb_restore(const struct fl_ckpt_verb *o, struct fl_buf *out)
{
	struct fl_ckpt ck;
	int rc = open_dir(o, &ck, true);
	if (rc)
		return rc;
	struct fl_err e = {0};
	if (fl_ckpt_set_latest(&ck, o->round, &e) < 0)
		rc = fl_log_err(&e);
	else {
		char name[FL_MANIFEST_FILE_LEN];
		fl_manifest_file(o->round, name);
		fl_buf_addf(out, "%ld\t%s/%s\n", o->round, ck.dir, name);
		fl_warn(
		    "the ServerApp resumes from round %ld but counts rounds from 1 again "
		    "(FL_RESUME_ROUND is not implemented): lower FL_NUM_ROUNDS to the rounds still to train",
		    o->round);
	}
	fl_ckpt_close(&ck);
	return rc;
}

int fl_ckpt_verb_prune(const struct fl_ckpt_verb *o, struct fl_buf *out)
{
	struct fl_ckpt ck;
	int rc = open_dir(o, &ck, true);
	if (rc)
		return rc;
	struct fl_err e = {0};
	long *gone;
	size_t n;
	if (fl_ckpt_prune(&ck, &o->prune, &gone, &n, &e) < 0)
		rc = fl_log_err(&e);
	for (size_t i = 0; i < n && !rc; i++) {
		char name[FL_MANIFEST_FILE_LEN];
		fl_manifest_file(gone[i], name);
		fl_buf_addf(out, "%ld\t%s/%s\n", gone[i], ck.dir, name);
	}
	if (!rc)
		fl_info("%s %zu round file(s) of %s", o->prune.dry_run ? "would remove" : "removed", n,
		        ck.dir);
	free(gone);
	fl_ckpt_close(&ck);
	return rc;
}
