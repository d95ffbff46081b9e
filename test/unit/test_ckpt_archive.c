/* test_ckpt_archive: checkpoint archives: round trips through every compression, what the writer
 * refuses, and hostile or damaged archives refused by the extractor with nothing written
 * outside the stage directory and the stage directory left empty. */
#include "fl_buf.h"
#include "fl_ckpt_archive.h"
#include "fl_err.h"
#include "fl_fs.h"
#include "fl_manifest.h"
#include "unit.h"
#include "unit_fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char ck[sizeof unit_root + 8], stage[sizeof unit_root + 8], in[sizeof unit_root + 8],
    outd[sizeof unit_root + 8];
static int stagefd;

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

static char *read_file(const char *path, size_t *len)
{
	struct fl_err e;
	char *s = NULL;
	if (fl_fs_read_opt(NULL, path, 1u << 30, &s, len, &e) < 0)
		return NULL;
	return s;
}

static void sha_hex(const void *d, size_t n, char out[65])
{
	unsigned char md[32];
	if (EVP_Digest(d, n, md, NULL, EVP_sha256(), NULL) != 1)
		abort();
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static char *file_sha(const char *dir, const char *name)
{
	char *p = unit_path(dir, name);
	size_t len;
	char *d = read_file(p, &len);
	free(p);
	if (!d)
		return fl_xstrdup("(absent)");
	char *h = fl_xcalloc(1, 65);
	sha_hex(d, len, h);
	free(d);
	return h;
}

/* Rounds 1-3 of pseudo-random bytes (round 3 over two I/O blocks), committed in the manifest,
 * the latest link at round 3 and its metadata; round 4 on disk but uncommitted. */
static void make_ckpt_dir(void)
{
	static const size_t sizes[] = {0, 5000, 70001, 2 * FL_CKPT_ARCHIVE_BLOCK + 17, 3000};
	struct fl_manifest m = FL_MANIFEST_INIT;
	unsigned x = 12345;
	for (long r = 1; r <= 4; r++) {
		char *d = malloc(sizes[r]);
		for (size_t i = 0; i < sizes[r]; i++)
			d[i] = (char)((x = x * 1103515245u + 12345u) >> 16);
		char name[FL_MANIFEST_FILE_LEN];
		fl_manifest_file(r, name);
		char *p = unit_path(ck, name);
		write_file(p, d, sizes[r]);
		struct fl_manifest_entry en = {.round = r, .size = (long long)sizes[r], .arrays = 2};
		sha_hex(d, sizes[r], en.sha256);
		snprintf(en.time, sizeof en.time, "2026-12-03T10:00:0%ldZ", r);
		struct fl_err e;
		if (r < 4 && fl_manifest_put(&m, &en, &e) < 0)
			abort();
		free(p);
		free(d);
	}
	struct fl_err e;
	if (fl_manifest_save(ck, &m, FL_OWNER_KEEP, FL_OWNER_KEEP, &e) < 0)
		abort();
	fl_manifest_free(&m);
	char *l = unit_path(ck, "checkpoint_latest.npz");
	if (symlink("checkpoint_round_3.npz", l) < 0)
		abort();
	free(l);
	char *j = unit_path(ck, "checkpoint_latest.json");
	const char meta[] = "{\n  \"round\": 3,\n  \"num_arrays\": 2\n}\n";
	write_file(j, meta, sizeof meta - 1);
	free(j);
}

static int ckfd(void)
{
	int fd = open(ck, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		abort();
	return fd;
}

static int archive_rounds(const long *rounds, size_t n, bool latest, const char *out, struct fl_err *e)
{
	int fd = ckfd();
	int rc = fl_ckpt_archive_write(fd, rounds, n, latest, out, e);
	close(fd);
	return rc;
}

static void test_round_trip(void)
{
	static const char *const names[] = {"a.tar", "a.tar.gz", "a.tgz", "a.tar.zst"};
	static const long all[] = {3, 1, 2};
	for (size_t i = 0; i < NELEM(names); i++) {
		char *out = unit_path(outd, names[i]);
		struct fl_err e = {0};
		CHECK_INT(archive_rounds(all, 3, true, out, &e), 0, "archive %s: written (%s)", names[i],
		          e.msg);
		char *ol = listing(outd);
		CHECK_STR(ol, names[i], "archive %s: no temp file left beside it", names[i]);
		free(ol);
		struct stat st;
		CHECK(stat(out, &st) == 0 && (st.st_mode & 07777) == 0644, "archive %s: mode 0644", names[i]);
		struct fl_ckpt_archive_list l;
		int rc = fl_ckpt_archive_extract(out, stagefd, &l, &e);
		CHECK_INT(rc, 0, "extract %s: accepted (%s)", names[i], e.msg);
		CHECK(rc == 0 && l.n == 3 && l.rounds[0] == 1 && l.rounds[1] == 2 && l.rounds[2] == 3,
		      "extract %s: rounds 1 2 3 reported", names[i]);
		CHECK_INT(l.latest, 3, "extract %s: the latest round is reported", names[i]);
		CHECK(l.meta, "extract %s: checkpoint_latest.json written", names[i]);
		for (long r = 1; r <= 3; r++) {
			char name[FL_MANIFEST_FILE_LEN];
			fl_manifest_file(r, name);
			char *a = file_sha(ck, name), *b = file_sha(stage, name);
			CHECK_STR(b, a, "extract %s: %s identical (sha256)", names[i], name);
			free(a);
			free(b);
		}
		char *a = file_sha(ck, "checkpoint_latest.json"),
		     *b = file_sha(stage, "checkpoint_latest.json");
		CHECK_STR(b, a, "extract %s: checkpoint_latest.json identical", names[i]);
		free(a);
		free(b);
		a = file_sha(ck, FL_MANIFEST_NAME);
		b = file_sha(stage, FL_MANIFEST_NAME);
		CHECK_STR(b, a, "extract %s: the manifest's entries kept (all rounds: the same bytes)",
		          names[i]);
		free(a);
		free(b);
		char *sl = listing(stage);
		CHECK_STR(sl,
		          "checkpoint_latest.json checkpoint_manifest.json checkpoint_round_1.npz "
		          "checkpoint_round_2.npz checkpoint_round_3.npz",
		          "extract %s: exactly these files, no link created", names[i]);
		free(sl);
		fl_ckpt_archive_list_free(&l);
		unit_empty(stage);
		unlink(out);
		free(out);
	}
}

static void test_subset(void)
{
	static const long two[] = {2, 1};
	char *out = unit_path(outd, "s.tar.gz");
	struct fl_err e = {0};
	CHECK_INT(archive_rounds(two, 2, true, out, &e), 0, "archive --round 1,2: written (%s)", e.msg);
	struct fl_ckpt_archive_list l;
	CHECK_INT(fl_ckpt_archive_extract(out, stagefd, &l, &e), 0, "extract a subset: accepted (%s)", e.msg);
	CHECK(l.n == 2 && l.latest == 0 && !l.meta,
	      "a subset without the latest round: no link, no metadata");
	struct fl_manifest m = FL_MANIFEST_INIT;
	CHECK_INT(fl_manifest_load(stage, &m, NULL, &e), 0, "the subset's manifest parses");
	CHECK(m.n == 2 && m.v[0].round == 1 && m.v[1].round == 2,
	      "the manifest holds only the selected rounds");
	fl_manifest_free(&m);
	fl_ckpt_archive_list_free(&l);
	unit_empty(stage);
	unlink(out);
	free(out);
}

static void test_write_refusals(void)
{
	struct fl_err e = {0};
	static const long r1[] = {1}, r4[] = {4}, r9[] = {9};
	char *bad = unit_path(outd, "a.zip");
	CHECK_INT(archive_rounds(r1, 1, true, bad, &e), -1, "archive: an unknown suffix is refused");
	CHECK(e.code == FL_EXIT_USAGE && strstr(e.msg, ".tar.zst") && strstr(e.msg, ".tar.gz"),
	      "archive: the usage error names the suffixes");
	free(bad);
	char *out = unit_path(outd, "w.tar");
	CHECK_INT(archive_rounds(r4, 1, true, out, &e), -1, "archive: an uncommitted round is refused");
	CHECK(e.code == FL_EXIT_FAIL && strstr(e.msg, "round 4") && strstr(e.msg, "not committed"),
	      "archive: the message names the uncommitted round");
	CHECK_INT(archive_rounds(r9, 1, true, out, &e), -1,
	          "archive: a round that does not exist is refused");
	CHECK_INT(archive_rounds(r1, 0, true, out, &e), -1, "archive: no round selected is a usage error");
	CHECK_INT(e.code, FL_EXIT_USAGE, "archive: no round selected: exit 2");
	/* round 2's file swapped for a symlink to round 1: never followed */
	char *r2 = unit_path(ck, "checkpoint_round_2.npz"), *r2s = unit_path(ck, "keep2");
	rename(r2, r2s);
	CHECK(symlink("checkpoint_round_1.npz", r2) == 0, "plant a symlink as round 2");
	static const long r2v[] = {2};
	CHECK_INT(archive_rounds(r2v, 1, true, out, &e), -1,
	          "archive: a round file that is a symlink is refused");
	CHECK(strstr(e.msg, "checkpoint_round_2.npz") != NULL, "archive: the message names the file (%s)",
	      e.msg);
	unlink(r2);
	/* a round file whose size disagrees with the manifest */
	write_file(r2, "short file, not the committed one", 33);
	CHECK_INT(archive_rounds(r2v, 1, true, out, &e), -1,
	          "archive: a file that differs from its manifest size");
	CHECK(strstr(e.msg, "manifest records") != NULL, "archive: the message says the manifest's size (%s)",
	      e.msg);
	rename(r2s, r2);
	free(r2);
	free(r2s);
	char *ol = listing(outd);
	CHECK_STR(ol, "", "archive: a refusal leaves no file, temp or final");
	free(ol);
	char *nodir = unit_path(outd, "no/such/x.tar");
	CHECK_INT(archive_rounds(r1, 1, true, nodir, &e), -1,
	          "archive: a missing output directory is refused");
	free(nodir);
	/* an existing archive is replaced whole */
	write_file(out, "old", 3);
	CHECK_INT(archive_rounds(r1, 1, false, out, &e), 0, "archive: an existing --out is replaced");
	struct stat st;
	CHECK(stat(out, &st) == 0 && st.st_size > 3, "archive: the replaced file holds the new archive");
	unlink(out);
	free(out);
}

/* A tar built by libarchive's writer for hostile cases; the output stops at cap bytes (so a
 * declared size need not be written out). */
struct ent {
	const char *name;
	mode_t type;
	long long size;
	const char *data;
	const char *link; /* symlink target */
	const char *hard; /* hard link target */
};

struct capbuf {
	struct fl_buf b;
	size_t cap;
};

static la_ssize_t cap_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	struct capbuf *c = ctx;
	if (c->b.len + len > c->cap) {
		fl_buf_add(&c->b, buf, c->cap - c->b.len);
		archive_set_error(a, ENOSPC, "cap");
		return -1;
	}
	fl_buf_add(&c->b, buf, len);
	return (la_ssize_t)len;
}

static struct fl_buf build(const struct ent *v, size_t n, size_t cap)
{
	struct capbuf c = {FL_BUF_INIT, cap};
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, 512);
	archive_write_open2(a, &c, NULL, cap_write, NULL, NULL);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *en = archive_entry_new();
		archive_entry_set_pathname(en, v[i].name);
		archive_entry_set_filetype(en, v[i].type);
		archive_entry_set_perm(en, 0644);
		archive_entry_set_size(en, v[i].size);
		if (v[i].link)
			archive_entry_set_symlink(en, v[i].link);
		if (v[i].hard)
			archive_entry_set_hardlink(en, v[i].hard);
		if (v[i].type == AE_IFCHR)
			archive_entry_set_rdev(en, makedev(1, 3));
		int r = archive_write_header(a, en);
		archive_entry_free(en);
		if (r != ARCHIVE_OK)
			break;
		if (v[i].data && archive_write_data(a, v[i].data, strlen(v[i].data)) < 0)
			break;
	}
	archive_write_close(a);
	archive_write_free(a);
	fl_buf_add(&c.b, "", 0);
	return c.b;
}

static char *snapshot(void)
{
	char *a = listing(unit_root), *b = listing(ck), *s = NULL;
	if (asprintf(&s, "%s | %s", a, b) < 0)
		abort();
	free(a);
	free(b);
	return s;
}

/* Extract bytes (as a file in in/) and expect a refusal whose message holds want. */
static void refused(const char *what, const void *data, size_t len, const char *want)
{
	char *before = snapshot();
	char *p = unit_path(in, "h.tar");
	write_file(p, data, len);
	struct fl_err e = {0};
	struct fl_ckpt_archive_list l;
	int rc = fl_ckpt_archive_extract(p, stagefd, &l, &e);
	CHECK(rc == -1 && e.code == FL_EXIT_FAIL, "unarchive: %s is refused (exit 1)", what);
	if (want && !CHECK(strstr(e.msg, want) != NULL, "unarchive: %s: the message says '%s'", what, want))
		unit_show("message", e.msg, 400);
	char *sl = listing(stage);
	CHECK_STR(sl, "", "unarchive: %s: the stage directory is left empty", what);
	free(sl);
	unlink(p);
	free(p);
	char *after = snapshot();
	CHECK_STR(after, before, "unarchive: %s: nothing written outside the stage directory", what);
	free(before);
	free(after);
	if (rc == 0)
		fl_ckpt_archive_list_free(&l);
}

static void refused_ents(const char *what, const struct ent *v, size_t n, size_t cap, const char *want)
{
	struct fl_buf b = build(v, n, cap);
	refused(what, b.data, b.len, want);
	fl_buf_free(&b);
}

#define R1 "checkpoint_round_1.npz"
#define R2 "checkpoint_round_2.npz"

static void test_hostile(void)
{
	const mode_t F = AE_IFREG;
	struct ent ok = {R1, F, 5, "hello", NULL, NULL};
	struct {
		const char *what;
		struct ent e;
		const char *want;
	} one[] = {
	    {"'../x'", {"../x", F, 1, "x", NULL, NULL}, "'..'"},
	    {"'/etc/passwd'", {"/etc/passwd", F, 1, "x", NULL, NULL}, "absolute path"},
	    {"a path with a directory", {"sub/" R1, F, 1, "x", NULL, NULL}, "directory"},
	    {"another name", {"evil.sh", F, 1, "x", NULL, NULL}, "not a checkpoint file name"},
	    {"a symlink to /etc/shadow",
	     {"checkpoint_latest.npz", AE_IFLNK, 0, NULL, "/etc/shadow", NULL},
	     "not a bare checkpoint_round"},
	    {"a symlink to ../checkpoint_round_1.npz",
	     {"checkpoint_latest.npz", AE_IFLNK, 0, NULL, "../" R1, NULL},
	     "not a bare checkpoint_round"},
	    {"a round file that is a symlink", {R2, AE_IFLNK, 0, NULL, R1, NULL}, "a symlink other than"},
	    {"a hard link", {R2, F, 0, NULL, NULL, R1}, "hard link"},
	    {"a hard link to /etc/passwd", {R2, F, 0, NULL, NULL, "/etc/passwd"}, "hard link"},
	    {"a character device", {R2, AE_IFCHR, 0, NULL, NULL, NULL}, "device"},
	    {"a FIFO", {R2, AE_IFIFO, 0, NULL, NULL, NULL}, "FIFO"},
	    {"a directory", {"checkpoint_round_2.npz", AE_IFDIR, 0, NULL, NULL, NULL}, "directory"},
	    {"checkpoint_latest.npz as a regular file",
	     {"checkpoint_latest.npz", F, 1, "x", NULL, NULL},
	     "must be a symlink"},
	};
	for (size_t i = 0; i < NELEM(one); i++) {
		struct ent v[] = {ok, one[i].e};
		refused_ents(one[i].what, v, 2, 1 << 20, one[i].want);
	}
	struct ent dup[] = {ok, ok};
	refused_ents("a duplicate entry", dup, 2, 1 << 20, "appears twice");
	struct ent two_links[] = {ok,
	                          {"checkpoint_latest.npz", AE_IFLNK, 0, NULL, R1, NULL},
	                          {"checkpoint_latest.npz", AE_IFLNK, 0, NULL, R1, NULL}};
	refused_ents("two latest links", two_links, 3, 1 << 20, "appears twice");
	struct ent huge[] = {ok, {R2, F, 1LL << 50, NULL, NULL, NULL}};
	refused_ents("a round file declaring 1 PiB", huge, 2, 65536, "declared size");
	struct ent hugej[] = {ok, {"checkpoint_latest.json", F, 17LL << 20, NULL, NULL, NULL}};
	refused_ents("a JSON declaring 17 MiB", hugej, 2, 65536, "declared size");
	struct ent cut[] = {ok, {R2, F, 100000, "only a few bytes", NULL, NULL}};
	refused_ents("a declared size the data does not fill", cut, 2, 20000, R2);
	refused_ents("an archive without a manifest", &ok, 1, 1 << 20, "absent");
	struct ent after[] = {{FL_MANIFEST_NAME, F, 2, "{}", NULL, NULL}, ok};
	refused_ents("an entry after the manifest", after, 2, 1 << 20, "must be last");
	struct ent empty_m[] = {ok, {FL_MANIFEST_NAME, F, 2, "{}", NULL, NULL}};
	refused_ents("a malformed manifest", empty_m, 2, 1 << 20, FL_MANIFEST_NAME);
	refused("an empty file", "", 0, NULL);
	char garbage[4096];
	unsigned x = 7;
	for (size_t i = 0; i < sizeof garbage; i++)
		garbage[i] = (char)((x = x * 1103515245u + 12345u) >> 16);
	refused("garbage bytes", garbage, sizeof garbage, NULL);
	memset(garbage, 0, sizeof garbage);
	refused("only zero blocks (an empty tar)", garbage, sizeof garbage, "absent");
}

/* Real archives, damaged: truncated at several lengths, a data byte flipped, a link to a round
 * the archive does not hold, a stage directory that is not empty. */
static void test_damaged(void)
{
	static const char *const names[] = {"d.tar", "d.tar.gz", "d.tar.zst"};
	static const long all[] = {1, 2, 3};
	for (size_t k = 0; k < NELEM(names); k++) {
		char *out = unit_path(outd, names[k]);
		struct fl_err e;
		if (archive_rounds(all, 3, true, out, &e) < 0)
			abort();
		size_t len;
		char *d = read_file(out, &len);
		/* a plain tar may lose its end-of-archive blocks without losing data */
		size_t end = k == 0 ? len - 1024 : len;
		size_t cuts[] = {1, 100, 511, 512, 513, 1024, 10000, len / 3, len / 2, end - 600, end - 1};
		for (size_t i = 0; i < NELEM(cuts); i++) {
			char what[96];
			snprintf(what, sizeof what, "%s cut at %zu of %zu bytes", names[k], cuts[i], len);
			refused(what, d, cuts[i], NULL);
		}
		free(d);
		unlink(out);
		free(out);
	}
	char *out = unit_path(outd, "f.tar");
	struct fl_err e;
	if (archive_rounds(all, 3, true, out, &e) < 0)
		abort();
	size_t len;
	char *d = read_file(out, &len);
	/* round 2's data starts after round 1's header block and data, and its own header */
	size_t at = 512 + (5000 + 511) / 512 * 512 + 512 + 1000;
	d[at] ^= 0x01;
	refused("a flipped data byte in a plain tar", d, len, "SHA-256 differs");
	free(d);
	unlink(out);
	free(out);
	struct ent nohold[] = {{R1, AE_IFREG, 5, "hello", NULL, NULL},
	                       {"checkpoint_latest.npz", AE_IFLNK, 0, NULL, R2, NULL}};
	refused_ents("a link to a round the archive lacks", nohold, 2, 1 << 20, FL_MANIFEST_NAME);
	/* a stage directory that is not empty: refused, its file kept */
	char *x = unit_path(stage, "already");
	write_file(x, "x", 1);
	static const long r1[] = {1};
	out = unit_path(outd, "n.tar");
	archive_rounds(r1, 1, false, out, &e);
	struct fl_ckpt_archive_list l;
	CHECK_INT(fl_ckpt_archive_extract(out, stagefd, &l, &e), -1,
	          "unarchive: a stage directory not empty");
	char *sl = listing(stage);
	CHECK_STR(sl, "already", "unarchive: what the stage directory held is kept");
	free(sl);
	unlink(x);
	free(x);
	unlink(out);
	free(out);
	CHECK_INT(fl_ckpt_archive_extract(ck, stagefd, &l, &e), -1,
	          "unarchive: a directory is not an archive");
}

int main(void)
{
	if (unit_fs_init("fl-ckpt-archive") < 0)
		return 1;
	snprintf(ck, sizeof ck, "%s/ck", unit_root);
	snprintf(stage, sizeof stage, "%s/stage", unit_root);
	snprintf(in, sizeof in, "%s/in", unit_root);
	snprintf(outd, sizeof outd, "%s/out", unit_root);
	if (mkdir(ck, 0755) < 0 || mkdir(stage, 0700) < 0 || mkdir(in, 0755) < 0 || mkdir(outd, 0755) < 0)
		return 1;
	stagefd = open(stage, O_RDONLY | O_DIRECTORY);
	make_ckpt_dir();
	test_round_trip();
	test_subset();
	test_write_refusals();
	test_hostile();
	test_damaged();
	close(stagefd);
	unit_empty(ck);
	rmdir(ck);
	rmdir(stage);
	rmdir(in);
	rmdir(outd);
	char *l = listing(unit_root);
	CHECK_STR(l, "", "the test directory is left empty");
	free(l);
	rmdir(unit_root);
	return unit_done();
}
