/* test_manifest: the checkpoint manifest: round trips, every malformed or hostile text refused
 * with its reason, the bounds, atomic replacement under kills, and the directory lock. */
#include "fl_buf.h"
#include "fl_err.h"
#include "fl_fs.h"
#include "fl_manifest.h"
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char root[] = "/tmp/fl-manifest-XXXXXX";

static char *path_of(const char *rel)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", root, rel) < 0)
		abort();
	return p;
}

/* Names in dir, sorted, space-separated ("" when empty). */
static char *listing(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	struct fl_buf b = FL_BUF_INIT;
	fl_buf_add(&b, "", 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0)
			fl_buf_addf(&b, "%s%s", b.len ? " " : "", names[i]->d_name);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return b.data;
}

static void rm_all(const char *dir)
{
	char *l = listing(dir);
	for (char *t = strtok(l, " "); t; t = strtok(NULL, " ")) {
		char *p = NULL;
		if (asprintf(&p, "%s/%s", dir, t) < 0)
			abort();
		unlink(p);
		free(p);
	}
	free(l);
	rmdir(dir);
}

static const char HASH[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

static struct fl_manifest_entry entry(long round, long long size, long arrays)
{
	struct fl_manifest_entry en = {.round = round, .size = size, .arrays = arrays};
	memcpy(en.sha256, HASH, sizeof HASH);
	snprintf(en.time, sizeof en.time, "2026-01-02T03:04:%02ldZ", round % 60);
	return en;
}

static bool same_entry(const struct fl_manifest_entry *a, const struct fl_manifest_entry *b)
{
	return a->round == b->round && a->size == b->size && a->arrays == b->arrays &&
	       strcmp(a->sha256, b->sha256) == 0 && strcmp(a->time, b->time) == 0;
}

static bool same(const struct fl_manifest *a, const struct fl_manifest *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!same_entry(&a->v[i], &b->v[i]))
			return false;
	return true;
}

static void test_names(void)
{
	char f[FL_MANIFEST_FILE_LEN];
	CHECK(fl_manifest_file(12, f) == 0 && strcmp(f, "checkpoint_round_12.npz") == 0,
	      "names: round 12's file");
	CHECK(fl_manifest_file(FL_MANIFEST_ROUND_MAX, f) == 0 &&
	          strcmp(f, "checkpoint_round_999999999.npz") == 0,
	      "names: the highest round's name fits");
	CHECK(fl_manifest_file(0, f) < 0 && fl_manifest_file(-1, f) < 0 &&
	          fl_manifest_file(FL_MANIFEST_ROUND_MAX + 1, f) < 0,
	      "names: round 0, negative and too high have no file");
	static const struct {
		const char *name;
		long round;
	} t[] = {
	    {"checkpoint_round_1.npz", 1},
	    {"checkpoint_round_10.npz", 10},
	    {"checkpoint_round_999999999.npz", 999999999},
	    {"checkpoint_round_0.npz", -1},
	    {"checkpoint_round_01.npz", -1},
	    {"checkpoint_round_+1.npz", -1},
	    {"checkpoint_round_-1.npz", -1},
	    {"checkpoint_round_.npz", -1},
	    {"checkpoint_round_1000000000.npz", -1},
	    {"checkpoint_round_1.npz.tmp", -1},
	    {"checkpoint_round_1.NPZ", -1},
	    {"checkpoint_round_1 .npz", -1},
	    {"./checkpoint_round_1.npz", -1},
	    {"../checkpoint_round_1.npz", -1},
	    {"/tmp/checkpoint_round_1.npz", -1},
	    {"sub/checkpoint_round_1.npz", -1},
	    {"checkpoint_round_1/.npz", -1},
	    {"checkpoint_latest.npz", -1},
	    {"checkpoint_round_1a.npz", -1},
	    {"", -1},
	    {"checkpoint_round_1.pt", -1},
	};
	for (size_t i = 0; i < NELEM(t); i++)
		CHECK_INT(fl_manifest_round_of(t[i].name), t[i].round, "names: '%s' is round %ld", t[i].name,
		          t[i].round);
}

static void test_time(void)
{
	char t[FL_MANIFEST_TIME_LEN];
	CHECK(fl_manifest_time(0, t) == 0 && strcmp(t, "1970-01-01T00:00:00Z") == 0, "time: the epoch (%s)",
	      t);
	CHECK(fl_manifest_time(1767322245, t) == 0 && strcmp(t, "2026-01-02T02:50:45Z") == 0, "time: %s", t);
	struct fl_manifest_entry en = entry(1, 100, 1);
	CHECK(fl_manifest_time(time(NULL), en.time) == 0 && fl_manifest_check_entry(&en, NULL) == 0,
	      "time: what fl_manifest_time gives passes the entry check (%s)", en.time);
	static const char *const good[] = {"2026-01-02T03:04:05Z", "2024-02-29T00:00:00Z",
	                                   "2026-12-31T23:59:60Z", "2026-01-02T03:04:05.1Z",
	                                   "2026-01-02T03:04:05.123456789Z"};
	for (size_t i = 0; i < NELEM(good); i++) {
		snprintf(en.time, sizeof en.time, "%s", good[i]);
		CHECK(fl_manifest_check_entry(&en, NULL) == 0, "time: '%s' is accepted", good[i]);
	}
	static const char *const bad[] = {
	    "",
	    "2026-01-02T03:04:05",
	    "2026-01-02T03:04:05+00:00",
	    "2026-01-02 03:04:05Z",
	    "2026-01-02t03:04:05z",
	    "2026-13-02T03:04:05Z",
	    "2026-00-02T03:04:05Z",
	    "2026-02-29T03:04:05Z",
	    "2026-04-31T03:04:05Z",
	    "2026-01-00T03:04:05Z",
	    "2026-01-02T24:04:05Z",
	    "2026-01-02T03:60:05Z",
	    "2026-01-02T03:04:61Z",
	    "1969-12-31T23:59:59Z",
	    "2026-01-02T03:04:05.Z",
	    "2026-01-02T03:04:05.1234567890Z",
	    "2026-01-02T03:04:05.12a4Z",
	    "+2026-01-02T03:04:05Z",
	    "2026-1-02T03:04:05Z",
	    "2026-01-02T03:04:05ZZ",
	    "-026-01-02T03:04:05Z",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		snprintf(en.time, sizeof en.time, "%s", bad[i]);
		struct fl_err e = {0};
		CHECK(fl_manifest_check_entry(&en, &e) < 0 && strstr(e.msg, "is not RFC 3339 UTC"),
		      "time: '%s' is refused (%s)", bad[i], e.msg);
	}
}

static void test_round_trip(void)
{
	struct fl_manifest m = FL_MANIFEST_INIT, back = FL_MANIFEST_INIT;
	struct fl_err e = {0};
	char *empty = fl_manifest_format(&m);
	CHECK_STR(empty, "{\n  \"version\": 1,\n  \"rounds\": []\n}\n", "format: the empty manifest");
	CHECK(fl_manifest_parse(empty, strlen(empty), &back, &e) == 0 && back.n == 0,
	      "parse: the empty manifest (%s)", e.msg);
	free(empty);
	const long rounds[] = {12, 5, 10, 1, 999999999};
	for (size_t i = 0; i < NELEM(rounds); i++) {
		struct fl_manifest_entry en = entry(rounds[i], 1000 + rounds[i], (long)i);
		CHECK(fl_manifest_put(&m, &en, &e) == 0, "put: round %ld (%s)", rounds[i], e.msg);
	}
	CHECK(m.n == 5 && m.v[0].round == 1 && m.v[1].round == 5 && m.v[2].round == 10 &&
	          m.v[3].round == 12 && m.v[4].round == 999999999,
	      "put: entries are kept sorted by round");
	char *text = fl_manifest_format(&m);
	CHECK(fl_manifest_parse(text, strlen(text), &back, &e) == 0 && same(&m, &back),
	      "round trip: parse(format(m)) is m (%s)", e.msg);
	char *again = fl_manifest_format(&back);
	CHECK_STR(again, text, "round trip: format is stable, byte for byte");
	free(again);
	const char *want_first =
	    "{\n  \"version\": 1,\n  \"rounds\": [\n    {\n      \"round\": 1,\n"
	    "      \"file\": \"checkpoint_round_1.npz\",\n      \"size\": 1001,\n"
	    "      \"sha256\": \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\n"
	    "      \"arrays\": 3,\n      \"time\": \"2026-01-02T03:04:01Z\"\n    },\n";
	CHECK(strncmp(text, want_first, strlen(want_first)) == 0,
	      "format: keys in a fixed order, 2-space indent");
	CHECK(text[strlen(text) - 1] == '\n', "format: ends with a newline");
	free(text);
	fl_manifest_free(&back);
	fl_manifest_free(&m);
}

static void test_edit(void)
{
	struct fl_manifest m = FL_MANIFEST_INIT;
	struct fl_err e = {0};
	CHECK(fl_manifest_newest(&m) == NULL && fl_manifest_find(&m, 1) == NULL,
	      "edit: empty: no newest, no find");
	CHECK(!fl_manifest_remove(&m, 1), "edit: removing from an empty manifest: false");
	for (long r = 5; r <= 40; r += 5) {
		struct fl_manifest_entry en = entry(r, 100, 3);
		fl_manifest_put(&m, &en, &e);
	}
	CHECK(fl_manifest_newest(&m) && fl_manifest_newest(&m)->round == 40, "edit: newest is round 40");
	const struct fl_manifest_entry *f = fl_manifest_find(&m, 15);
	CHECK(f && f->round == 15, "edit: find round 15");
	CHECK(fl_manifest_find(&m, 16) == NULL && fl_manifest_find(&m, 0) == NULL &&
	          fl_manifest_find(&m, 41) == NULL,
	      "edit: find of an absent round: NULL");
	struct fl_manifest_entry re = entry(15, 777, 11);
	CHECK(fl_manifest_put(&m, &re, &e) == 0 && m.n == 8 && fl_manifest_find(&m, 15)->size == 777 &&
	          fl_manifest_find(&m, 15)->arrays == 11,
	      "edit: put of an existing round replaces its entry");
	CHECK(fl_manifest_remove(&m, 40) && m.n == 7 && fl_manifest_newest(&m)->round == 35,
	      "edit: removing the newest makes the next one newest");
	CHECK(fl_manifest_remove(&m, 5) && !fl_manifest_remove(&m, 5) && m.n == 6 && m.v[0].round == 10,
	      "edit: remove the first, once");
	CHECK(fl_manifest_remove(&m, 20) && fl_manifest_find(&m, 20) == NULL &&
	          fl_manifest_find(&m, 25) != NULL,
	      "edit: remove from the middle");
	struct fl_manifest_entry bad = entry(0, 100, 1);
	CHECK(fl_manifest_put(&m, &bad, &e) < 0 && strstr(e.msg, "round 0 is out of range") && m.n == 5,
	      "edit: put refuses round 0 (%s)", e.msg);
	bad = entry(3, 100, 1);
	bad.sha256[0] = 'A';
	CHECK(fl_manifest_put(&m, &bad, &e) < 0 && strstr(e.msg, "64 lowercase hex"), "edit: put refuses %s",
	      e.msg);
	bad = entry(3, 21, 1);
	CHECK(fl_manifest_put(&m, &bad, &e) < 0 && strstr(e.msg, "size 21 is out of range"), "edit: %s",
	      e.msg);
	bad = entry(3, 100, -1);
	CHECK(fl_manifest_put(&m, &bad, &e) < 0 && strstr(e.msg, "arrays -1"), "edit: %s", e.msg);
	memset(bad.sha256, 'a', sizeof bad.sha256);
	bad.arrays = 1;
	CHECK(fl_manifest_put(&m, &bad, &e) < 0 && strstr(e.msg, "sha256 '?'"),
	      "edit: an unterminated sha256 is refused without reading past it");
	fl_manifest_free(&m);
}

/* The text of one valid entry with one field's value replaced (field NULL: none; value NULL:
 * the field left out). */
static char *doc(const char *field, const char *value)
{
	static const char *const keys[] = {"round", "file", "size", "sha256", "arrays", "time"};
	static const char *const vals[] = {
	    "7",    "\"checkpoint_round_7.npz\"",
	    "4096", "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"",
	    "3",    "\"2026-01-02T03:04:05Z\""};
	struct fl_buf b = FL_BUF_INIT;
	fl_buf_adds(&b, "{\"version\":1,\"rounds\":[{");
	bool first = true;
	for (size_t i = 0; i < NELEM(keys); i++) {
		bool hit = field && strcmp(field, keys[i]) == 0;
		if (hit && !value)
			continue;
		fl_buf_addf(&b, "%s\"%s\":%s", first ? "" : ",", keys[i], hit ? value : vals[i]);
		first = false;
	}
	fl_buf_adds(&b, "}]}");
	return b.data;
}

static void refused(const char *text, size_t len, const char *want, const char *what)
{
	struct fl_manifest m = FL_MANIFEST_INIT;
	struct fl_err e = {0};
	int r = fl_manifest_parse(text, len, &m, &e);
	CHECK(r < 0 && e.code == FL_EXIT_FAIL && strstr(e.msg, want) && m.n == 0 && m.v == NULL,
	      "refused: %s: %s", what, e.msg);
	if (r == 0 || !strstr(e.msg, want))
		unit_show("want", want, 200);
	fl_manifest_free(&m);
}

static void test_fields(void)
{
	char *ok = doc(NULL, NULL);
	struct fl_manifest m = FL_MANIFEST_INIT;
	struct fl_err e = {0};
	CHECK(fl_manifest_parse(ok, strlen(ok), &m, &e) == 0 && m.n == 1 && m.v[0].round == 7 &&
	          m.v[0].size == 4096 && m.v[0].arrays == 3,
	      "fields: the base document parses (%s)", e.msg);
	fl_manifest_free(&m);
	free(ok);
	static const struct {
		const char *field, *value, *want;
	} t[] = {
	    {"round", "\"7\"", "round is not an integer"},
	    {"round", "7.0", "round is not an integer"},
	    {"round", "true", "round is not an integer"},
	    {"round", "null", "round is not an integer"},
	    {"round", "[7]", "round is not an integer"},
	    {"round", "0", "round 0 is out of range"},
	    {"round", "-7", "round -7 is out of range"},
	    {"round", "1000000000", "out of range"},
	    {"round", "99999999999999999999999", "not valid JSON"},
	    {"round", "8", "is not checkpoint_round_8.npz"},
	    {"file", "\"checkpoint_round_07.npz\"", "is not checkpoint_round_7.npz"},
	    {"file", "\"../checkpoint_round_7.npz\"", "is not checkpoint_round_7.npz"},
	    {"file", "\"/etc/checkpoint_round_7.npz\"", "is not checkpoint_round_7.npz"},
	    {"file", "\"/var/lib/flower/checkpoint_round_7.npz\"", "is not a valid file"},
	    {"file", "\"sub/checkpoint_round_7.npz\"", "is not checkpoint_round_7.npz"},
	    {"file", "\"checkpoint_round_7.npz\\u0000x\"", "not valid JSON"},
	    {"file", "\"checkpoint_latest.npz\"", "is not checkpoint_round_7.npz"},
	    {"file", "\"checkpoint_round_7.npz/\"", "is not checkpoint_round_7.npz"},
	    {"file", "\"checkpoint\\u005fround_7.npz\\n\"", "is not checkpoint_round_7.npz"},
	    {"file", "7", "file is not a string"},
	    {"file", "null", "file is not a string"},
	    {"file", "\"\"", "is not checkpoint_round_7.npz"},
	    {"size", "-1", "size -1 is out of range"},
	    {"size", "0", "size 0 is out of range"},
	    {"size", "21", "size 21 is out of range"},
	    {"size", "9007199254740992", "out of range"},
	    {"size", "4096.5", "size is not an integer"},
	    {"size", "1e3", "size is not an integer"},
	    {"size", "\"4096\"", "size is not an integer"},
	    {"sha256", "\"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\"",
	     "64 lowercase hex"},
	    {"sha256", "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0\"",
	     "64 lowercase hex"},
	    {"sha256", "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a088\"",
	     "is not a valid sha256"},
	    {"sha256", "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g\"",
	     "64 lowercase hex"},
	    {"sha256", "\"\"", "64 lowercase hex"},
	    {"sha256", "[]", "sha256 is not a string"},
	    {"arrays", "-1", "arrays -1 is out of range"},
	    {"arrays", "1000001", "out of range"},
	    {"arrays", "false", "arrays is not an integer"},
	    {"time", "\"2026-01-02T03:04:05+00:00\"", "is not RFC 3339 UTC"},
	    {"time", "\"yesterday\"", "is not RFC 3339 UTC"},
	    {"time", "\"\\u001b[31m2026-01-02T03:04:05Z\"", "time '?[31m2026"},
	    {"time", "\"2026-01-02T03:04:05.1234567890123456789012345Z\"", "is not a valid time"},
	    {"time", "1767322245", "time is not a string"},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		char *d = doc(t[i].field, t[i].value);
		char what[160];
		snprintf(what, sizeof what, "%s %s", t[i].field, t[i].value);
		refused(d, strlen(d), t[i].want, what);
		free(d);
	}
}

/* The base document with "metrics": text added to its entry. */
static char *with_metrics(const char *text)
{
	char *d = doc(NULL, NULL);
	struct fl_buf b = FL_BUF_INIT;
	fl_buf_addf(&b, "%.*s,\"metrics\":%s}]}", (int)(strlen(d) - 3), d, text);
	free(d);
	return b.data;
}

static void test_metrics(void)
{
	char *d = with_metrics("{\"val_loss\":0.25,\"accuracy\":1,\"a.b-c_D9\":-3e-5}");
	struct fl_manifest m = FL_MANIFEST_INIT;
	struct fl_err e = {0};
	double v = 0;
	CHECK(fl_manifest_parse(d, strlen(d), &m, &e) == 0 && m.n == 1 && m.v[0].nmetrics == 3,
	      "metrics: an entry with 3 metrics parses (%s)", e.msg);
	CHECK(m.n == 1 && strcmp(m.v[0].metrics[0].name, "a.b-c_D9") == 0 &&
	          fl_manifest_metric(&m.v[0], "accuracy", &v) && v == 1.0,
	      "metrics: sorted by name, integers read as numbers");
	char *f1 = fl_manifest_format(&m);
	struct fl_manifest m2 = FL_MANIFEST_INIT;
	CHECK(fl_manifest_parse(f1, strlen(f1), &m2, &e) == 0, "metrics: the formatted manifest parses back");
	char *f2 = fl_manifest_format(&m2);
	CHECK_STR(f2, f1, "metrics: format is stable over a round trip");
	CHECK(strstr(f1, "\"metrics\": {\n") != NULL, "metrics: formatted as an object");
	/* put copies: the caller's array may go away. */
	struct fl_manifest_metric mine[2] = {{"z", 2}, {"b", 1}};
	struct fl_manifest_entry en = m.v[0];
	en.round = 9;
	en.metrics = mine;
	en.nmetrics = 2;
	CHECK(fl_manifest_put(&m2, &en, &e) == 0, "metrics: put takes an entry with metrics");
	memset(mine, 0, sizeof mine);
	const struct fl_manifest_entry *got = fl_manifest_find(&m2, 9);
	CHECK(got && got->nmetrics == 2 && strcmp(got->metrics[0].name, "b") == 0 &&
	          got->metrics[1].value == 2,
	      "metrics: put keeps its own sorted copy");
	struct fl_manifest_metric other[1] = {{"c", 3}};
	en.metrics = other;
	en.nmetrics = 1;
	CHECK(fl_manifest_put(&m2, &en, &e) == 0 && fl_manifest_find(&m2, 9)->nmetrics == 1,
	      "metrics: replacing an entry replaces (and frees) the old metrics");
	en.nmetrics = 2;
	struct fl_manifest_metric dup[2] = {{"x", 1}, {"x", 2}};
	en.metrics = dup;
	CHECK(fl_manifest_put(&m2, &en, &e) < 0 && strstr(e.msg, "given twice"),
	      "metrics: a name twice is refused");
	struct fl_manifest_metric bad[1] = {{"a b", 1}};
	en.metrics = bad;
	en.nmetrics = 1;
	CHECK(fl_manifest_put(&m2, &en, &e) < 0 && strstr(e.msg, "metric name"),
	      "metrics: a bad name is refused");
	struct fl_manifest_metric inf[1] = {{"loss", 1.0 / 0.0}};
	en.metrics = inf;
	CHECK(fl_manifest_put(&m2, &en, &e) < 0 && strstr(e.msg, "finite"), "metrics: infinity is refused");
	free(f1);
	free(f2);
	fl_manifest_free(&m);
	fl_manifest_free(&m2);
	free(d);
	static const struct {
		const char *text, *want;
	} t[] = {
	    {"[]", "metrics is not an object"},
	    {"1", "metrics is not an object"},
	    {"{\"loss\":\"0.1\"}", "metrics.loss is not a number"},
	    {"{\"loss\":true}", "metrics.loss is not a number"},
	    {"{\"loss\":null}", "metrics.loss is not a number"},
	    {"{\"loss\":{}}", "metrics.loss is not a number"},
	    {"{\"\":1}", "name '' is not"},
	    {"{\"a b\":1}", "name 'a b' is not"},
	    {"{\"../x\":1}", "name '../x' is not"},
	    {"{\"\\u001b[2J\":1}", "name '?[2J' is not"},
	    {"{\"loss\":1,\"loss\":2}", "not valid JSON"},
	    {"{\"loss\":NaN}", "not valid JSON"},
	    {"{\"loss\":1e999}", "not valid JSON"},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		d = with_metrics(t[i].text);
		refused(d, strlen(d), t[i].want, t[i].text);
		free(d);
	}
	/* 65-byte name, 33 metrics. */
	struct fl_buf b = FL_BUF_INIT;
	fl_buf_addf(&b, "{\"%065d\":1}", 0);
	d = with_metrics(b.data);
	refused(d, strlen(d), "is not 1-64", "a 65-byte metric name");
	free(d);
	fl_buf_free(&b);
	fl_buf_adds(&b, "{");
	for (int i = 0; i < 33; i++)
		fl_buf_addf(&b, "%s\"m%d\":%d", i ? "," : "", i, i);
	fl_buf_adds(&b, "}");
	d = with_metrics(b.data);
	refused(d, strlen(d), "33 metrics; at most 32", "33 metrics");
	free(d);
	fl_buf_free(&b);
}

static void test_structure(void)
{
	const char *e1 = "{\"round\":1,\"file\":\"checkpoint_round_1.npz\",\"size\":100,\"sha256\":"
	                 "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\"arrays\":1,"
	                 "\"time\":\"2026-01-02T03:04:05Z\"}";
	const char *e2 = "{\"round\":2,\"file\":\"checkpoint_round_2.npz\",\"size\":100,\"sha256\":"
	                 "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\"arrays\":1,"
	                 "\"time\":\"2026-01-02T03:04:05Z\"}";
	struct fl_buf b = FL_BUF_INIT;
	static const struct {
		const char *fmt, *want;
	} t[] = {
	    {"", "not valid JSON"},
	    {"{", "not valid JSON"},
	    {"null", "not valid JSON"},
	    {"[]", "not a JSON object"},
	    {"{}", "\"version\" is missing"},
	    {"{\"version\":1}", "\"rounds\" is missing"},
	    {"{\"rounds\":[]}", "\"version\" is missing"},
	    {"{\"version\":2,\"rounds\":[]}", "version 2 is not supported"},
	    {"{\"version\":0,\"rounds\":[]}", "version 0 is not supported"},
	    {"{\"version\":\"1\",\"rounds\":[]}", "\"version\" is not an integer"},
	    {"{\"version\":1.0,\"rounds\":[]}", "\"version\" is not an integer"},
	    {"{\"version\":1,\"rounds\":{}}", "\"rounds\" is not an array"},
	    {"{\"version\":1,\"rounds\":null}", "\"rounds\" is not an array"},
	    {"{\"version\":1,\"rounds\":[],\"extra\":1}", "unknown key \"extra\""},
	    {"{\"version\":1,\"version\":1,\"rounds\":[]}", "duplicate object key"},
	    {"{\"version\":1,\"rounds\":[]} x", "not valid JSON"},
	    {"{\"version\":1,\"rounds\":[]}{}", "not valid JSON"},
	    {"{\"version\":1,\"rounds\":[1]}", "rounds[0] is not an object"},
	    {"{\"version\":1,\"rounds\":[[]]}", "rounds[0] is not an object"},
	    {"{\"version\":1,\"rounds\":[{}]}", "rounds[0] has no \"round\""},
	    {"11", "round 1 is listed twice"},
	    {"21", "round 1 comes after round 2"},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		fl_buf_reset(&b);
		fl_buf_add(&b, "", 0);
		/* "11", "21": the rounds of two entries e1 and e2. */
		if (t[i].fmt[0] == '1' || t[i].fmt[0] == '2')
			fl_buf_addf(&b, "{\"version\":1,\"rounds\":[%s,%s]}", t[i].fmt[0] == '2' ? e2 : e1,
			            t[i].fmt[1] == '2' ? e2 : e1);
		else
			fl_buf_adds(&b, t[i].fmt);
		refused(b.data, b.len, t[i].want, b.data);
	}
	/* One missing key in turn, one unknown key, one key twice. */
	static const char *const keys[] = {"round", "file", "size", "sha256", "arrays", "time"};
	for (size_t k = 0; k < NELEM(keys); k++) {
		char *d = doc(keys[k], NULL);
		char want[40];
		snprintf(want, sizeof want, "has no \"%s\"", keys[k]);
		refused(d, strlen(d), want, want);
		free(d);
	}
	char *d = doc("time", "\"2026-01-02T03:04:05Z\",\"path\":\"/etc/passwd\"");
	refused(d, strlen(d), "rounds[0] has an unknown key \"path\"", "an unknown entry key");
	free(d);
	d = doc("time", "\"2026-01-02T03:04:05Z\",\"round\":7");
	refused(d, strlen(d), "duplicate object key", "a key twice");
	free(d);
	fl_buf_free(&b);
}

static void test_hostile(void)
{
	char *d = doc(NULL, NULL);
	size_t n = strlen(d);
	size_t parsed = 0;
	for (size_t cut = 0; cut < n; cut++) {
		struct fl_manifest m = FL_MANIFEST_INIT;
		if (fl_manifest_parse(d, cut, &m, NULL) == 0)
			parsed++;
		fl_manifest_free(&m);
	}
	CHECK_INT(parsed, 0, "truncated: every proper prefix of a valid manifest (%zu lengths) is refused",
	          n);
	/* NUL bytes: raw in the text, and where a string ends. */
	char *nul = fl_xstrdup(d);
	nul[n / 2] = '\0';
	refused(nul, n, "not valid JSON", "a raw NUL byte in the middle");
	char *tail = fl_xcalloc(1, n + 2);
	memcpy(tail, d, n + 1);
	refused(tail, n + 1, "not valid JSON", "a NUL byte after the document");
	free(tail);
	free(nul);
	free(d);
	/* Deep nesting: the parser's own depth bound, no stack overflow. */
	size_t depth = 200000;
	char *deep = fl_xcalloc(1, depth * 2 + 1);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	refused(deep, depth * 2, "not valid JSON", "200000 nested arrays");
	const char *head = "{\"version\":1,\"rounds\":";
	/* No NUL: the nesting goes on after it. */
	memcpy(deep, head, strlen(head)); /* NOLINT(bugprone-not-null-terminated-result) */
	refused(deep, depth * 2, "not valid JSON", "nested arrays as rounds");
	free(deep);
	refused("\xff\xfe{}", 4, "not valid JSON", "invalid UTF-8");
	const char *badkey = "{\"version\":1,\"rounds\":[],\"\xc3\x28\":1}";
	refused(badkey, strlen(badkey), "not valid JSON", "an invalid UTF-8 key");
	d = doc("round", "7,\"\\u001b]0;owned\\u0007\":1");
	refused(d, strlen(d), "unknown key \"?]0;owned?\"", "control characters are not echoed");
	free(d);
}

static void test_bounds(void)
{
	/* A manifest of 10^6 entries: refused on its length, before any of it is parsed. */
	struct fl_buf b = FL_BUF_INIT;
	fl_buf_adds(&b, "{\"version\":1,\"rounds\":[");
	long r = 1;
	for (; r <= 1000000 && b.len <= (size_t)FL_MANIFEST_BYTES_MAX; r++) {
		fl_buf_adds(&b, r > 1 ? "," : "");
		fl_buf_addf(
		    &b,
		    "{\"round\":%ld,\"file\":\"checkpoint_round_%ld.npz\",\"size\":100,\"sha256\":\"%s\","
		    "\"arrays\":1,\"time\":\"2026-01-02T03:04:05Z\"}",
		    r, r, HASH);
	}
	DIAG("bounds: %ld of 10^6 entries make %zu bytes", r - 1, b.len);
	refused(b.data, b.len, "bytes are more than the 16777216", "10^6 entries (the first 16 MiB of them)");
	/* FL_MANIFEST_ENTRIES_MAX + 1 small entries fit the byte bound and are refused by count. */
	fl_buf_reset(&b);
	fl_buf_adds(&b, "{\"version\":1,\"rounds\":[");
	for (long i = 0; i <= FL_MANIFEST_ENTRIES_MAX; i++)
		fl_buf_adds(&b, i ? ",0" : "0");
	fl_buf_adds(&b, "]}");
	refused(b.data, b.len, "50001 rounds are more than the 50000", "one entry more than the bound");
	fl_buf_free(&b);
	struct fl_manifest m = FL_MANIFEST_INIT;
	struct fl_err e = {0};
	int rc = 0;
	/* Full, and every field as long as it may be: the longest manifest fits the byte bound. */
	long first = FL_MANIFEST_ROUND_MAX - FL_MANIFEST_ENTRIES_MAX;
	for (long i = 1; i <= FL_MANIFEST_ENTRIES_MAX && rc == 0; i++) {
		struct fl_manifest_entry en = entry(first + i, FL_MANIFEST_SIZE_MAX, FL_MANIFEST_ARRAYS_MAX);
		snprintf(en.time, sizeof en.time, "2026-01-02T03:04:05.123456789Z");
		rc = fl_manifest_put(&m, &en, &e);
	}
	CHECK(rc == 0 && m.n == (size_t)FL_MANIFEST_ENTRIES_MAX,
	      "bounds: put fills the manifest to the bound");
	struct fl_manifest_entry en = entry(first, 100, 1);
	CHECK(fl_manifest_put(&m, &en, &e) < 0 && strstr(e.msg, "prune old rounds"), "bounds: one more: %s",
	      e.msg);
	en = entry(first + 5, 200, 1);
	CHECK(fl_manifest_put(&m, &en, &e) == 0, "bounds: a full manifest still replaces an entry");
	char *text = fl_manifest_format(&m);
	CHECK(strlen(text) <= (size_t)FL_MANIFEST_BYTES_MAX,
	      "bounds: a full manifest formats within the byte "
	      "bound (%zu bytes)",
	      strlen(text));
	struct fl_manifest back = FL_MANIFEST_INIT;
	CHECK(fl_manifest_parse(text, strlen(text), &back, &e) == 0 && same(&m, &back),
	      "bounds: and parses back (%s)", e.msg);
	free(text);
	fl_manifest_free(&back);
	fl_manifest_free(&m);
}

static void test_load_save(void)
{
	char *dir = path_of("ls");
	mkdir(dir, 0755);
	struct fl_manifest m = FL_MANIFEST_INIT, back = FL_MANIFEST_INIT;
	struct fl_err e = {0};
	bool found = true;
	CHECK(fl_manifest_load(dir, &back, &found, &e) == 0 && !found && back.n == 0,
	      "load: no manifest is an empty one (%s)", e.msg);
	for (long r = 3; r <= 9; r += 3) {
		struct fl_manifest_entry en = entry(r, 5000, 2);
		fl_manifest_put(&m, &en, &e);
	}
	CHECK(fl_manifest_save(dir, &m, FL_OWNER_KEEP, (gid_t)-1, &e) == 0, "save: written (%s)", e.msg);
	CHECK(fl_manifest_load(dir, &back, &found, &e) == 0 && found && same(&m, &back),
	      "load: what save wrote");
	char *l = listing(dir);
	CHECK_STR(l, "checkpoint_manifest.json", "save: one file, no temp file left");
	free(l);
	char *path = path_of("ls/" FL_MANIFEST_NAME);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644, "save: mode 0644");
	/* Damaged: the message names the file and what to do. */
	fl_fs_write_atomic(path, "{\"version\":1,\"rounds\":[", 23, 0644, FL_OWNER_KEEP, (gid_t)-1, NULL);
	CHECK(fl_manifest_load(dir, &back, &found, &e) < 0 && back.n == 0 && strstr(e.msg, path) &&
	          strstr(e.msg, "not valid JSON") && strstr(e.msg, "restore it"),
	      "load: a truncated manifest is refused: %s", e.msg);
	/* Planted by the container: a symlink to a file outside, a FIFO, a directory. */
	unlink(path);
	CHECK(symlink("/etc/passwd", path) == 0, "load: a symlink is planted");
	CHECK(fl_manifest_load(dir, &back, &found, &e) < 0 && strstr(e.msg, "symbolic link"),
	      "load: a symlinked manifest is not followed: %s", e.msg);
	CHECK(fl_manifest_save(dir, &m, FL_OWNER_KEEP, (gid_t)-1, &e) == 0 && lstat(path, &st) == 0 &&
	          S_ISREG(st.st_mode),
	      "save: replaces the symlink itself, never writes through it");
	unlink(path);
	mkfifo(path, 0644);
	CHECK(fl_manifest_load(dir, &back, &found, &e) < 0 && strstr(e.msg, "a FIFO"), "load: a FIFO: %s",
	      e.msg);
	unlink(path);
	mkdir(path, 0755);
	CHECK(fl_manifest_load(dir, &back, &found, &e) < 0 && strstr(e.msg, "a directory"), "load: %s",
	      e.msg);
	rmdir(path);
	/* Larger than the bound: refused while reading. */
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0 && ftruncate(fd, FL_MANIFEST_BYTES_MAX + 1) == 0, "load: a sparse 16 MiB + 1 file");
	close(fd);
	CHECK(fl_manifest_load(dir, &back, &found, &e) < 0 && strstr(e.msg, "larger than 16777216"),
	      "load: too large: %s", e.msg);
	unlink(path);
	free(path);
	fl_manifest_free(&back);
	fl_manifest_free(&m);
	rm_all(dir);
	free(dir);
}

/* The kill point: the file size limit stops the temp file's write after `at` bytes; SIGXFSZ
 * then runs this handler inside write(), before fsync and rename. It tells the parent (one
 * byte on the pipe) and waits there to be killed. */
static int crash_pipe = -1;

static void frozen_mid_write(int sig)
{
	(void)sig;
	char c = 'w';
	if (write(crash_pipe, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

/* Kill a saver of next over dir's manifest (old) when `at` bytes of its temp file are
 * written; the manifest is still old, and fl_manifest_clean_temps removes the temp file. */
static void kill_mid_save(const char *dir, const struct fl_manifest *old, const struct fl_manifest *next,
                          size_t at)
{
	int p[2];
	if (pipe(p) < 0)
		abort();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		crash_pipe = p[1];
		struct rlimit core = {0, 0}, fsize = {at, RLIM_INFINITY};
		setrlimit(RLIMIT_CORE, &core);
		signal(SIGXFSZ, frozen_mid_write);
		if (setrlimit(RLIMIT_FSIZE, &fsize) < 0)
			_exit(4);
		fl_manifest_save(dir, next, FL_OWNER_KEEP, (gid_t)-1, NULL);
		_exit(5);
	}
	close(p[1]);
	char c = 0;
	ssize_t got = read(p[0], &c, 1);
	close(p[0]);
	char *l = listing(dir);
	bool temp = strstr(l, "." FL_MANIFEST_NAME ".") != NULL;
	free(l);
	kill(pid, SIGKILL);
	int ws = 0;
	waitpid(pid, &ws, 0);
	CHECK(got == 1 && temp && WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL,
	      "crash: the saver is killed with %zu bytes in its temp file", at);
	struct fl_manifest now = FL_MANIFEST_INIT;
	struct fl_err e = {0};
	bool found = false;
	CHECK(fl_manifest_load(dir, &now, &found, &e) == 0 && found == (old != NULL) &&
	          (old ? same(&now, old) : now.n == 0),
	      "crash: killed mid-save, the manifest is the old one (%s)", e.msg);
	fl_manifest_free(&now);
	fl_manifest_clean_temps(dir);
	l = listing(dir);
	CHECK(!strstr(l, "." FL_MANIFEST_NAME "."),
	      "crash: fl_manifest_clean_temps removes the temp file (%s)", l);
	free(l);
}

static void test_kill_mid_save(void)
{
	char *dir = path_of("mid");
	mkdir(dir, 0755);
	struct fl_manifest a = FL_MANIFEST_INIT, b = FL_MANIFEST_INIT;
	for (long r = 1; r <= 50; r++) {
		struct fl_manifest_entry en = entry(r, 1000, 1);
		fl_manifest_put(&a, &en, NULL);
		en = entry(r * 2, 2000, 4);
		fl_manifest_put(&b, &en, NULL);
	}
	char *tb = fl_manifest_format(&b);
	size_t nb = strlen(tb);
	free(tb);
	kill_mid_save(dir, NULL, &a, 100);
	fl_manifest_save(dir, &a, FL_OWNER_KEEP, (gid_t)-1, NULL);
	const size_t at[] = {1, 4096, nb / 2, nb - 1};
	for (size_t i = 0; i < NELEM(at); i++)
		kill_mid_save(dir, &a, &b, at[i]);
	fl_manifest_free(&a);
	fl_manifest_free(&b);
	rm_all(dir);
	free(dir);
}

/* A child saves two manifests in turn until killed at a random moment; afterwards the manifest
 * always loads as one of them. Where those kills land is chance: test_kill_mid_save proves the
 * points that matter. */
static void test_crash_loop(void)
{
	char *dir = path_of("loop");
	mkdir(dir, 0755);
	struct fl_manifest a = FL_MANIFEST_INIT, b = FL_MANIFEST_INIT;
	for (long r = 1; r <= 2000; r++) {
		struct fl_manifest_entry en = entry(r, 1000, 1);
		fl_manifest_put(&a, &en, NULL);
		if (r <= 1500) {
			en = entry(r * 3, 3000, 7);
			fl_manifest_put(&b, &en, NULL);
		}
	}
	fl_manifest_save(dir, &a, FL_OWNER_KEEP, (gid_t)-1, NULL);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	int iterations = 30, bad = 0, seen_a = 0, seen_b = 0;
	for (int it = 0; it < iterations; it++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			for (unsigned k = 0;; k++)
				if (fl_manifest_save(dir, k % 2 ? &a : &b, FL_OWNER_KEEP, (gid_t)-1, NULL) <
				    0)
					_exit(2);
		}
		struct timespec ts = {0, (long)(1 + rand() % 20) * 1000000L};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		struct fl_manifest now = FL_MANIFEST_INIT;
		bool found = false;
		bool whole = fl_manifest_load(dir, &now, &found, NULL) == 0 && found;
		if (whole && same(&now, &a))
			seen_a++;
		else if (whole && same(&now, &b))
			seen_b++;
		else
			bad++;
		fl_manifest_free(&now);
		fl_manifest_clean_temps(dir);
	}
	DIAG("crash: %d kills mid-save loop, manifest A %d, B %d", iterations, seen_a, seen_b);
	CHECK(bad == 0, "crash: after every kill the manifest loads, whole, as the old or the new one");
	char *l = listing(dir);
	CHECK_STR(l, FL_MANIFEST_NAME, "crash: the next writer's clean-up leaves only the manifest");
	free(l);
	fl_manifest_free(&a);
	fl_manifest_free(&b);
	rm_all(dir);
	free(dir);
}

static void test_lock(void)
{
	char *dir = path_of("lk");
	mkdir(dir, 0755);
	struct fl_err e = {0};
	int held = fl_manifest_lock(dir, 0, &e);
	CHECK(held >= 0, "lock: a free directory is locked (%s)", e.msg);
	char *lockf = path_of("lk/" FL_MANIFEST_LOCK_NAME);
	struct stat st;
	CHECK(lstat(lockf, &st) == 0 && S_ISREG(st.st_mode), "lock: the lock file is " FL_MANIFEST_LOCK_NAME);
	CHECK_INT(fl_manifest_lock(dir, 0, &e), -1, "lock: held, and no time to wait: -1");
	CHECK_INT(e.code, FL_EXIT_TIMEOUT, "lock: exit code 4 (timed out)");
	char pid[48];
	snprintf(pid, sizeof pid, "process %ld held ", (long)getpid());
	CHECK(strstr(e.msg, pid) && strstr(e.msg, lockf) && strstr(e.msg, "fuser -v"),
	      "lock: the message names the holder and the file: %s", e.msg);
	/* The order: a second process waits until the first lets go, and then sees its work. */
	char *mark = path_of("lk/mark");
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		close(held); /* the parent's lock is shared with an inherited descriptor */
		int fd = fl_manifest_lock(dir, 600000, NULL);
		int status = fd < 0 ? 2 : access(mark, F_OK) == 0 ? 0 : 3;
		free(mark); /* the child's copies: leak checkers look at every process */
		free(lockf);
		free(dir);
		_exit(status);
	}
	/* Until the child waits on the lock (it shows in /proc/locks as a blocked FLOCK, or it is
	 * polling): give it every chance to run; it must not get through while the lock is held. */
	for (int i = 0; i < 50; i++)
		sched_yield();
	int ws = 0;
	CHECK(waitpid(child, &ws, WNOHANG) == 0,
	      "lock: the second process is still waiting while it is held");
	int fd = open(mark, O_WRONLY | O_CREAT, 0644);
	close(fd);
	close(held);
	waitpid(child, &ws, 0);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
	      "lock: the second process gets the lock only after the first wrote its mark (exit %d)",
	      WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
	unlink(mark);
	free(mark);
	/* Planted: a symlink or a FIFO under the lock's name is refused, never followed. */
	unlink(lockf);
	CHECK(symlink("/etc/passwd", lockf) == 0, "lock: a symlink is planted as the lock file");
	CHECK(fl_manifest_lock(dir, 0, &e) < 0 && e.code == FL_EXIT_FAIL &&
	          strstr(e.msg, "not a regular file"),
	      "lock: a symlinked lock file is refused: %s", e.msg);
	unlink(lockf);
	mkfifo(lockf, 0644);
	CHECK(fl_manifest_lock(dir, 0, &e) < 0 && strstr(e.msg, "not a regular file"), "lock: a FIFO: %s",
	      e.msg);
	unlink(lockf);
	CHECK(fl_manifest_lock("/nonexistent-flkit", 0, &e) < 0 && strstr(e.msg, "cannot open the lock file"),
	      "lock: a missing directory: %s", e.msg);
	free(lockf);
	rm_all(dir);
	free(dir);
}

/* Two processes each add 200 rounds, read-modify-write under the lock: none is lost. */
static void test_lock_serialises(void)
{
	char *dir = path_of("ser");
	mkdir(dir, 0755);
	const long per = 200;
	pid_t kids[2];
	fflush(stdout);
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			for (long i = 0; i < per; i++) {
				int fd = fl_manifest_lock(dir, 600000, NULL);
				struct fl_manifest m = FL_MANIFEST_INIT;
				struct fl_manifest_entry en = entry(1 + k + 2 * i, 100, 1);
				if (fd < 0 || fl_manifest_load(dir, &m, NULL, NULL) < 0 ||
				    fl_manifest_put(&m, &en, NULL) < 0)
					_exit(2);
				sched_yield();
				if (fl_manifest_save(dir, &m, FL_OWNER_KEEP, (gid_t)-1, NULL) < 0)
					_exit(3);
				fl_manifest_free(&m);
				close(fd);
			}
			_exit(0);
		}
	}
	int ok = 0;
	for (int k = 0; k < 2; k++) {
		int ws;
		waitpid(kids[k], &ws, 0);
		ok += WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
	}
	struct fl_manifest m = FL_MANIFEST_INIT;
	int loaded = fl_manifest_load(dir, &m, NULL, NULL);
	CHECK(ok == 2 && loaded == 0 && m.n == (size_t)(2 * per) && fl_manifest_newest(&m)->round == 2 * per,
	      "lock: two processes' %ld read-modify-write saves each: all %ld rounds are there (%zu)", per,
	      2 * per, m.n);
	fl_manifest_free(&m);
	rm_all(dir);
	free(dir);
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	test_names();
	test_time();
	test_round_trip();
	test_edit();
	test_fields();
	test_metrics();
	test_structure();
	test_hostile();
	test_bounds();
	test_load_save();
	test_kill_mid_save();
	test_crash_loop();
	test_lock();
	test_lock_serialises();
	char *l = listing(root);
	CHECK_STR(l, "", "the test directory is left empty");
	free(l);
	rmdir(root);
	return unit_done();
}
