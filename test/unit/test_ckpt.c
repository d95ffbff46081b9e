/* test_ckpt: the checkpoint directory's pieces: the save trigger, the container path mapping,
 * the prune selection table, the commit protocol's outcome (a save of the link's own round too)
 * and the stale temp cleanup. */
#include "fl_buf.h"
#include "fl_ckpt.h"
#include "fl_err.h"
#include "fl_fs.h"
#include "unit.h"
#include "unit_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define FIXTURE  "test/fixtures/npz/good/"

static void test_should_save(void)
{
	static const struct {
		long round, interval, total;
		bool want;
	} t[] = {
	    {0, 5, 12, false},  {5, 5, 12, true}, {10, 5, 12, true}, {12, 5, 12, true},
	    {11, 5, 12, false}, {3, 5, 3, true},  {1, 1, 7, true},   {2, 5, 3, false},
	};
	for (size_t i = 0; i < NELEM(t); i++)
		CHECK(fl_ckpt_should_save(t[i].round, t[i].interval, t[i].total) == t[i].want,
		      "should_save(%ld,%ld,%ld) is %s", t[i].round, t[i].interval, t[i].total,
		      t[i].want ? "true" : "false");
}

static void test_host_path(void)
{
	static const struct {
		const char *in, *want; /* NULL: refused */
	} t[] = {
	    {"/app/checkpoints", "/opt/flower/checkpoints"},
	    {"/app/checkpoints/", "/opt/flower/checkpoints"},
	    {"/app/checkpoints/run1", "/opt/flower/checkpoints/run1"},
	    {"/app/checkpoints/a/b", "/opt/flower/checkpoints/a/b"},
	    {"/opt/flower/checkpoints", NULL},
	    {"/tmp/x", NULL},
	    {"/app/checkpointsx", NULL},
	    {"/app/checkpoints/../etc", NULL},
	    {"/app/checkpoints/./x", NULL},
	    {"/app/checkpoints//x", NULL},
	    {"app/checkpoints", NULL},
	    {"", NULL},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		char out[256] = "";
		struct fl_err e = {0};
		int rc = fl_ckpt_host_path(t[i].in, out, sizeof out, &e);
		if (t[i].want)
			CHECK_STR(rc == 0 ? out : e.msg, t[i].want, "container path '%s' maps", t[i].in);
		else
			CHECK(rc < 0 && strstr(e.msg, t[i].in) && e.code == FL_EXIT_USAGE,
			      "container path '%s' is refused, named", t[i].in);
	}
}

/* The rounds of r (n of them) that select removes, as "a b c". */
static char *selected(const struct fl_ckpt_prune *p, const long *r, const double *v, const bool *has,
                      size_t n, long latest)
{
	bool rm[32];
	fl_ckpt_prune_select(p, r, v, has, n, latest, rm);
	struct fl_buf b = FL_BUF_INIT;
	fl_buf_add(&b, "", 0);
	for (size_t i = 0; i < n; i++)
		if (rm[i])
			fl_buf_addf(&b, "%s%ld", b.len ? " " : "", r[i]);
	return b.data;
}

static void test_prune_select(void)
{
	static const long r4[] = {5, 10, 15, 20};
	static const long r8[] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const double loss[] = {0.9, 0.2, 0.5, 0.4, 0.3, 0.35, 0.6, 0.7};
	static const double acc[] = {0.1, 0.8, 0.5, 0.6, 0.7, 0.65, 0.4, 0.3};
	static const bool has[8] = {true, true, true, true, true, true, true, true}, none[8] = {false};
	static const double zero[8] = {0};
	static const struct {
		struct fl_ckpt_prune p;
		const long *r;
		size_t n;
		const double *v;
		const bool *has;
		long latest;
		const char *want;
	} t[] = {
	    /* design 03 §7.3 tests 11 and 12 */
	    {{.keep = 2}, r4, 4, NULL, NULL, 15, "5 10"},
	    {{.keep = 2}, r4, 4, NULL, NULL, 5, "10"},
	    {{.keep = 1}, r4, 4, NULL, NULL, 0, "5 10 15"},
	    {{.keep = 9}, r4, 4, NULL, NULL, 0, ""},
	    {{.keep = 0}, r4, 4, NULL, NULL, 0, ""},
	    {{.keep = 1, .keep_every = 10}, r4, 4, NULL, NULL, 20, "5 15"},
	    {{.keep = 2, .keep_every = 3}, r8, 8, NULL, NULL, 8, "1 2 4 5"},
	    /* loss: lower is better (round 2); accuracy: higher (round 2 too) */
	    {{.keep = 1, .keep_best = "val_loss"}, r8, 8, loss, has, 8, "1 3 4 5 6 7"},
	    {{.keep = 1, .keep_best = "accuracy"}, r8, 8, acc, has, 8, "1 3 4 5 6 7"},
	    {{.keep = 1, .keep_best = "accuracy", .best = FL_CKPT_BEST_MIN},
	     r8,
	     8,
	     acc,
	     has,
	     8,
	     "2 3 4 5 6 7"},
	    {{.keep = 1, .keep_best = "val_error"}, r8, 8, loss, has, 8, "1 3 4 5 6 7"},
	    {{.keep = 1, .keep_best = "loss"}, r8, 8, zero, none, 8, "1 2 3 4 5 6 7"},
	    /* the latest target and the highest round are never removed */
	    {{.keep = 1}, r8, 8, NULL, NULL, 3, "1 2 4 5 6 7"},
	    {{.keep = 1}, r8, 1, NULL, NULL, 0, ""},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		double v[8] = {0};
		bool h[8] = {false};
		if (t[i].v)
			memcpy(v, t[i].v, sizeof(double) * t[i].n);
		if (t[i].has)
			memcpy(h, t[i].has, sizeof(bool) * t[i].n);
		char *got = selected(&t[i].p, t[i].r, v, h, t[i].n, t[i].latest);
		CHECK_STR(got, t[i].want, "prune select case %zu (keep %ld, every %ld, best %s, latest %ld)",
		          i, t[i].p.keep, t[i].p.keep_every, t[i].p.keep_best ? t[i].p.keep_best : "-",
		          t[i].latest);
		free(got);
	}
}

static void test_commit(void)
{
	struct fl_ckpt ck;
	struct fl_err e = {0};
	CHECK(fl_ckpt_open(&ck, unit_root, true, 1000, geteuid(), getegid(), &e) == 0, "open %s: %s",
	      unit_root, e.msg);
	int fd = open(FIXTURE "three.npz", O_RDONLY);
	CHECK(fd >= 0 && fl_ckpt_commit_fd(&ck, 4, fd, true, &e) == 0, "commit round 4: %s", e.msg);
	close(fd);
	long r = 0;
	CHECK(fl_ckpt_latest(&ck, &r, &e) == 0 && r == 4, "latest is round 4");
	const struct fl_manifest_entry *en = fl_manifest_find(&ck.m, 4);
	CHECK(en && en->arrays == 3 && en->size == 815, "the manifest entry has 3 arrays, 815 bytes");
	CHECK_STR(en ? en->sha256 : "", "90f00eb5ca719fa505bee815058c7fcee1b9b649cda34462e60fab84c20134b7",
	          "the manifest records the SHA-256 computed while copying");
	struct fl_manifest_metric m[] = {{"val_loss", 0.25}, {"accuracy", 0.9}};
	struct fl_ckpt_commit c = {false, m, 2};
	fd = open(FIXTURE "one.npz", O_RDONLY);
	CHECK(fd >= 0 && fl_ckpt_commit(&ck, 6, fd, &c, NULL, &e) == 0, "commit round 6 with metrics: %s",
	      e.msg);
	close(fd);
	double v = 0;
	en = fl_manifest_find(&ck.m, 6);
	CHECK(en && fl_manifest_metric(en, "val_loss", &v) && v == 0.25, "round 6 records val_loss 0.25");
	CHECK(fl_ckpt_latest(&ck, &r, &e) == 0 && r == 4, "without make_latest the link stays at 4");
	/* An invalid source: no file, no temp, no entry. */
	fd = open("test/fixtures/npz/bad/object.npz", O_RDONLY);
	CHECK(fd >= 0 && fl_ckpt_commit_fd(&ck, 7, fd, true, &e) < 0 && strstr(e.msg, "nothing was changed"),
	      "an object array is refused: %s", e.msg);
	close(fd);
	char *l = listing(unit_root);
	CHECK_STR(l,
	          ".fl-ckpt.lock checkpoint_latest.json checkpoint_latest.npz checkpoint_manifest.json "
	          "checkpoint_round_4.npz checkpoint_round_6.npz",
	          "the directory holds the committed files only");
	free(l);
	CHECK(fl_ckpt_set_latest(&ck, 6, &e) == 0 && fl_ckpt_latest(&ck, &r, &e) == 0 && r == 6,
	      "set_latest moves the link to 6");
	CHECK(fl_ckpt_verify_round(&ck, 6, NULL, &e) == 0, "round 6 verifies: %s", e.msg);
	fl_ckpt_close(&ck);
	/* The manifest read back keeps the metrics. */
	CHECK(fl_ckpt_open(&ck, unit_root, false, 0, geteuid(), getegid(), &e) == 0, "reopen: %s", e.msg);
	en = fl_manifest_find(&ck.m, 6);
	CHECK(en && en->nmetrics == 2 && strcmp(en->metrics[0].name, "accuracy") == 0,
	      "metrics survive a save and a load, sorted by name");
	long *gone;
	size_t n;
	struct fl_ckpt_prune p = {.keep = 1};
	CHECK(fl_ckpt_prune(&ck, &p, &gone, &n, &e) == 0 && n == 1 && gone[0] == 4,
	      "prune --keep 1 removes 4");
	free(gone);
	CHECK(fl_manifest_find(&ck.m, 4) == NULL, "its entry is gone");
	fl_ckpt_close(&ck);
}

static int commit_file_of(struct fl_ckpt *ck, long round, const char *file, bool make_latest,
                          struct fl_err *e)
{
	int fd = open(file, O_RDONLY);
	if (fd < 0)
		return fl_err_sys(e, errno, "cannot open %s", file);
	int rc = fl_ckpt_commit_fd(ck, round, fd, make_latest, e);
	close(fd);
	return rc;
}

/* A save of the link's own round: the link steps aside while the round is uncommitted and comes
 * back with the new metadata, make_latest or not; the crash windows are in fl-ckpt-crash.bats. */
static void test_commit_latest_round(void)
{
	struct fl_ckpt ck;
	struct fl_err e = {0};
	struct fl_ckpt_meta meta = {0};
	long r = 0;
	unit_empty(unit_root);
	CHECK(fl_ckpt_open(&ck, unit_root, true, 1000, geteuid(), getegid(), &e) == 0, "open: %s", e.msg);
	CHECK(commit_file_of(&ck, 1, FIXTURE "one.npz", true, &e) == 0 &&
	          commit_file_of(&ck, 2, FIXTURE "one.npz", true, &e) == 0,
	      "commit rounds 1 and 2: %s", e.msg);
	CHECK(commit_file_of(&ck, 2, FIXTURE "three.npz", false, &e) == 0, "recommit round 2: %s", e.msg);
	CHECK(fl_ckpt_latest(&ck, &r, &e) == 0 && r == 2, "latest: the link is back at round 2 (%ld)", r);
	CHECK(fl_ckpt_meta_read(&ck, &meta, &e) == 1 && meta.round == 2 && meta.num_arrays == 3,
	      "latest: the JSON names round 2 with its new 3 arrays (%ld, %ld)", meta.round, meta.num_arrays);
	CHECK(fl_ckpt_verify_round(&ck, 2, NULL, &e) == 0, "round 2 verifies, metadata check too: %s", e.msg);
	CHECK(fl_ckpt_verify_round(&ck, 1, NULL, &e) == 0, "round 1 is untouched: %s", e.msg);
	CHECK(commit_file_of(&ck, 1, FIXTURE "three.npz", false, &e) == 0 &&
	          fl_ckpt_latest(&ck, &r, &e) == 0 && r == 2,
	      "a round the link does not name: the link stays at 2 (%ld)", r);
	fl_ckpt_close(&ck);
	/* The only committed round: the link and the JSON go meanwhile, and come back. */
	unit_empty(unit_root);
	CHECK(fl_ckpt_open(&ck, unit_root, true, 1000, geteuid(), getegid(), &e) == 0, "open: %s", e.msg);
	CHECK(commit_file_of(&ck, 5, FIXTURE "one.npz", true, &e) == 0 &&
	          commit_file_of(&ck, 5, FIXTURE "three.npz", false, &e) == 0,
	      "commit round 5 twice: %s", e.msg);
	CHECK(fl_ckpt_latest(&ck, &r, &e) == 0 && r == 5, "latest: the only round's link is back (%ld)", r);
	CHECK(fl_ckpt_meta_read(&ck, &meta, &e) == 1 && meta.round == 5 && meta.num_arrays == 3,
	      "latest: the JSON is back, 3 arrays (%ld)", meta.num_arrays);
	char *l = listing(unit_root);
	CHECK_STR(l,
	          ".fl-ckpt.lock checkpoint_latest.json checkpoint_latest.npz checkpoint_manifest.json "
	          "checkpoint_round_5.npz",
	          "no temp file is left");
	free(l);
	fl_ckpt_close(&ck);
}

static void put_meta(const char *text)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", unit_root, FL_CKPT_META) < 0)
		abort();
	unlink(p);
	if (text) {
		FILE *f = fopen(p, "w");
		fputs(text, f);
		fclose(f);
	}
	free(p);
}

/* checkpoint_latest.json is the container's to write: every malformed shape is refused. */
static void test_meta(void)
{
	struct fl_ckpt ck;
	struct fl_err e = {0};
	struct fl_ckpt_meta meta;
	CHECK(fl_ckpt_open(&ck, unit_root, false, 0, geteuid(), getegid(), &e) == 0, "open: %s", e.msg);
	put_meta(NULL);
	CHECK_INT(fl_ckpt_meta_read(&ck, &meta, &e), 0, "meta: absent is 0");
	put_meta("{\n  \"round\": 12,\n  \"timestamp\": \"2025-01-01T12:00:00.123456+00:00\",\n  "
	         "\"num_arrays\": 3\n}");
	CHECK(fl_ckpt_meta_read(&ck, &meta, &e) == 1 && meta.round == 12 && meta.num_arrays == 3 &&
	          strcmp(meta.timestamp, "2025-01-01T12:00:00.123456+00:00") == 0,
	      "meta: the spec saver's JSON reads");
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"round\": 12}",
	    "{\"round\": \"12\", \"timestamp\": \"t\", \"num_arrays\": 3}",
	    "{\"round\": -1, \"timestamp\": \"t\", \"num_arrays\": 3}",
	    "{\"round\": 1, \"timestamp\": 5, \"num_arrays\": 3}",
	    "{\"round\": 1, \"timestamp\": \"t\", \"num_arrays\": 1e3}",
	    "{\"round\": 1, \"round\": 2, \"timestamp\": \"t\", \"num_arrays\": 3}",
	    "{\"round\": 1, \"timestamp\": \"t\", \"num_arrays\": 3",
	    "{\"round\": 1, \"timestamp\": "
	    "\"0123456789012345678901234567890123456789012345678901234567890123456789\", "
	    "\"num_arrays\": 3}",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		put_meta(bad[i]);
		CHECK(fl_ckpt_meta_read(&ck, &meta, &e) < 0 && strstr(e.msg, FL_CKPT_META),
		      "meta: malformed case %zu refused, naming the file", i);
	}
	char *big = calloc(1, 5000);
	memset(big, ' ', 4999);
	big[0] = '{';
	big[4998] = '}';
	put_meta(big);
	free(big);
	CHECK(fl_ckpt_meta_read(&ck, &meta, &e) < 0, "meta: over 4 KiB is refused");
	put_meta(NULL);
	char *p = NULL;
	if (asprintf(&p, "%s/%s", unit_root, FL_CKPT_META) < 0)
		abort();
	CHECK(mkfifo(p, 0600) == 0 && fl_ckpt_meta_read(&ck, &meta, &e) < 0,
	      "meta: a FIFO is refused, not waited on");
	unlink(p);
	CHECK(symlink("/etc/passwd", p) == 0 && fl_ckpt_meta_read(&ck, &meta, &e) < 0,
	      "meta: a symlink is not followed");
	unlink(p);
	free(p);
	fl_ckpt_close(&ck);
}

int main(void)
{
	if (unit_fs_init("fl-ckpt") < 0)
		return 1;
	test_should_save();
	test_host_path();
	test_prune_select();
	test_commit();
	test_commit_latest_round();
	test_meta();
	rm_all(unit_root);
	return unit_done();
}
