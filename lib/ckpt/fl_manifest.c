/* fl_manifest: the checkpoint directory's record of committed rounds, and its lock. */
#include "fl_manifest.h"

#include "fl_buf.h"
#include "fl_fs.h"
#include "fl_log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_LEAD  "checkpoint_round_"
#define FILE_TRAIL ".npz"

void fl_manifest_free(struct fl_manifest *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].metrics);
	free(m->v);
	*m = (struct fl_manifest)FL_MANIFEST_INIT;
}

int fl_manifest_file(long round, char out[FL_MANIFEST_FILE_LEN])
{
	if (round < 1 || round > FL_MANIFEST_ROUND_MAX)
		return -1;
	snprintf(out, FL_MANIFEST_FILE_LEN, FILE_LEAD "%ld" FILE_TRAIL, round);
	return 0;
}

long fl_manifest_round_of(const char *name)
{
	size_t lead = strlen(FILE_LEAD), trail = strlen(FILE_TRAIL);
	size_t n = strlen(name);
	if (n <= lead + trail || strncmp(name, FILE_LEAD, lead) != 0 ||
	    strcmp(name + n - trail, FILE_TRAIL) != 0)
		return -1;
	const char *d = name + lead;
	size_t digits = n - lead - trail;
	if (digits > 9 || d[0] < '1' || d[0] > '9')
		return -1;
	long r = 0;
	for (size_t i = 0; i < digits; i++) {
		if (d[i] < '0' || d[i] > '9')
			return -1;
		r = r * 10 + (d[i] - '0');
	}
	return r;
}

int fl_manifest_time(time_t t, char out[FL_MANIFEST_TIME_LEN])
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_year < 70 || tm.tm_year > 8099)
		return -1;
	return strftime(out, FL_MANIFEST_TIME_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) ? 0 : -1;
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* YYYY-MM-DDTHH:MM:SS[.1-9 digits]Z, a real UTC date from 1970 on (leap second allowed). */
static bool rfc3339_utc(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t n = strnlen(s, FL_MANIFEST_TIME_LEN);
	if (n < 20 || n >= FL_MANIFEST_TIME_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[n - 1] != 'Z')
		return false;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo == 2 && d == 29 && !leap)
		return false;
	if (n == 20)
		return true;
	/* A fraction: '.', 1-9 digits, then the Z. */
	return s[19] == '.' && n >= 22 && n <= 30 && digits(s + 20, (int)(n - 21)) >= 0;
}

/* s for a message: at most 72 bytes, anything but printable ASCII as '?'. */
static const char *shown(const char *s, char buf[80])
{
	size_t i = 0;
	for (; i < 72 && s[i]; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s[i]) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

static bool sha256_hex(const char *s)
{
	size_t i = 0;
	for (; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[i] == '\0';
}

int fl_manifest_metric_name_ok(const char *name)
{
	size_t n = strnlen(name, FL_MANIFEST_METRIC_NAME_MAX + 1);
	if (n < 1 || n > FL_MANIFEST_METRIC_NAME_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return -1;
	return 0;
}

bool fl_manifest_metric(const struct fl_manifest_entry *en, const char *name, double *v)
{
	for (size_t i = 0; i < en->nmetrics; i++)
		if (strcmp(en->metrics[i].name, name) == 0) {
			*v = en->metrics[i].value;
			return true;
		}
	return false;
}

static int check_metrics(const struct fl_manifest_entry *en, struct fl_err *e)
{
	char b[80];
	if (en->nmetrics > FL_MANIFEST_METRICS_MAX)
		return fl_err_set(e, FL_EXIT_FAIL, "round %ld: %zu metrics are more than %d", en->round,
		                  en->nmetrics, FL_MANIFEST_METRICS_MAX);
	for (size_t i = 0; i < en->nmetrics; i++) {
		const struct fl_manifest_metric *mt = &en->metrics[i];
		if (!memchr(mt->name, '\0', sizeof mt->name) || fl_manifest_metric_name_ok(mt->name) < 0)
			return fl_err_set(
			    e, FL_EXIT_FAIL, "round %ld: metric name '%s' is not 1-%d of [A-Za-z0-9_.-]",
			    en->round, memchr(mt->name, '\0', sizeof mt->name) ? shown(mt->name, b) : "?",
			    FL_MANIFEST_METRIC_NAME_MAX);
		if (!isfinite(mt->value))
			return fl_err_set(e, FL_EXIT_FAIL, "round %ld: metric %s is not a finite number",
			                  en->round, mt->name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(en->metrics[j].name, mt->name) == 0)
				return fl_err_set(e, FL_EXIT_FAIL, "round %ld: metric %s is given twice",
				                  en->round, mt->name);
	}
	return 0;
}

int fl_manifest_check_entry(const struct fl_manifest_entry *en, struct fl_err *e)
{
	char b[80];
	if (en->round < 1 || en->round > FL_MANIFEST_ROUND_MAX)
		return fl_err_set(e, FL_EXIT_FAIL, "round %ld is out of range; rounds are 1-%ld", en->round,
		                  FL_MANIFEST_ROUND_MAX);
	if (en->size < FL_MANIFEST_SIZE_MIN || en->size > FL_MANIFEST_SIZE_MAX)
		return fl_err_set(e, FL_EXIT_FAIL, "round %ld: size %lld is out of range (%lld-%lld bytes)",
		                  en->round, en->size, FL_MANIFEST_SIZE_MIN, FL_MANIFEST_SIZE_MAX);
	if (en->arrays < 0 || en->arrays > FL_MANIFEST_ARRAYS_MAX)
		return fl_err_set(e, FL_EXIT_FAIL, "round %ld: arrays %ld is out of range (0-%ld)", en->round,
		                  en->arrays, FL_MANIFEST_ARRAYS_MAX);
	if (!memchr(en->sha256, '\0', sizeof en->sha256) || !sha256_hex(en->sha256))
		return fl_err_set(e, FL_EXIT_FAIL, "round %ld: sha256 '%s' is not 64 lowercase hex digits",
		                  en->round,
		                  memchr(en->sha256, '\0', sizeof en->sha256) ? shown(en->sha256, b) : "?");
	if (!memchr(en->time, '\0', sizeof en->time) || !rfc3339_utc(en->time))
		return fl_err_set(
		    e, FL_EXIT_FAIL, "round %ld: time '%s' is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SS[.frac]Z)",
		    en->round, memchr(en->time, '\0', sizeof en->time) ? shown(en->time, b) : "?");
	return check_metrics(en, e);
}

/* The integer member key of o within [lo, hi], into *out. */
static int get_int(json_t *o, const char *key, long long lo, long long hi, long long *out, size_t i,
                   struct fl_err *e)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return fl_err_set(e, FL_EXIT_FAIL, "rounds[%zu] has no \"%s\"", i, key);
	if (!json_is_integer(v))
		return fl_err_set(e, FL_EXIT_FAIL, "rounds[%zu].%s is not an integer", i, key);
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return fl_err_set(e, FL_EXIT_FAIL, "rounds[%zu].%s %lld is out of range (%lld-%lld)", i, key,
		                  (long long)x, lo, hi);
	*out = (long long)x;
	return 0;
}

/* The string member key of o, shorter than cap, without NUL bytes, into out. */
static int get_str(json_t *o, const char *key, char *out, size_t cap, size_t i, struct fl_err *e)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return fl_err_set(e, FL_EXIT_FAIL, "rounds[%zu] has no \"%s\"", i, key);
	if (!json_is_string(v))
		return fl_err_set(e, FL_EXIT_FAIL, "rounds[%zu].%s is not a string", i, key);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	char b[80];
	if (n >= cap || strlen(s) != n)
		return fl_err_set(e, FL_EXIT_FAIL, "rounds[%zu].%s '%s' is not a valid %s", i, key,
		                  shown(s, b), key);
	memcpy(out, s, n + 1);
	return 0;
}

/* Refuse any member of o not in keys (a NULL-terminated list). */
static int only_keys(json_t *o, const char *const *keys, const char *where, struct fl_err *e)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		const char *const *p = keys;
		while (*p && strcmp(*p, k) != 0)
			p++;
		char b[80];
		if (!*p)
			return fl_err_set(e, FL_EXIT_FAIL, "%s has an unknown key \"%s\"", where,
			                  shown(k, b));
	}
	return 0;
}

static int metric_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fl_manifest_metric *)a)->name,
	              ((const struct fl_manifest_metric *)b)->name);
}

/* The optional "metrics" object of rounds[i]: name -> finite number. */
static int parse_metrics(json_t *o, size_t i, struct fl_manifest_entry *en, struct fl_err *e)
{
	json_t *ms = json_object_get(o, "metrics");
	if (!ms)
		return 0;
	if (!json_is_object(ms))
		return fl_err_set(e, FL_EXIT_FAIL, "rounds[%zu].metrics is not an object", i);
	size_t n = json_object_size(ms);
	if (n > FL_MANIFEST_METRICS_MAX)
		return fl_err_set(e, FL_EXIT_FAIL, "rounds[%zu].metrics has %zu metrics; at most %d", i, n,
		                  FL_MANIFEST_METRICS_MAX);
	if (n == 0)
		return 0;
	en->metrics = fl_xcalloc(n, sizeof *en->metrics);
	const char *k;
	json_t *v;
	char b[80];
	json_object_foreach(ms, k, v)
	{
		if (fl_manifest_metric_name_ok(k) < 0)
			return fl_err_set(e, FL_EXIT_FAIL,
			                  "rounds[%zu].metrics: name '%s' is not 1-%d of [A-Za-z0-9_.-]", i,
			                  shown(k, b), FL_MANIFEST_METRIC_NAME_MAX);
		if (!json_is_number(v))
			return fl_err_set(e, FL_EXIT_FAIL, "rounds[%zu].metrics.%s is not a number", i, k);
		struct fl_manifest_metric *mt = &en->metrics[en->nmetrics++];
		snprintf(mt->name, sizeof mt->name, "%s", k);
		mt->value = json_number_value(v);
	}
	qsort(en->metrics, en->nmetrics, sizeof *en->metrics, metric_cmp);
	return 0;
}

static int parse_entry(json_t *o, size_t i, struct fl_manifest_entry *en, struct fl_err *e)
{
	static const char *const keys[] = {"round",  "file", "size",    "sha256",
	                                   "arrays", "time", "metrics", NULL};
	char where[48], file[FL_MANIFEST_FILE_LEN], b[80];
	snprintf(where, sizeof where, "rounds[%zu]", i);
	if (!json_is_object(o))
		return fl_err_set(e, FL_EXIT_FAIL, "%s is not an object", where);
	long long round, size, arrays;
	if (only_keys(o, keys, where, e) < 0 ||
	    get_int(o, "round", 1, FL_MANIFEST_ROUND_MAX, &round, i, e) < 0 ||
	    get_str(o, "file", file, sizeof file, i, e) < 0 ||
	    get_int(o, "size", FL_MANIFEST_SIZE_MIN, FL_MANIFEST_SIZE_MAX, &size, i, e) < 0 ||
	    get_str(o, "sha256", en->sha256, sizeof en->sha256, i, e) < 0 ||
	    get_int(o, "arrays", 0, FL_MANIFEST_ARRAYS_MAX, &arrays, i, e) < 0 ||
	    get_str(o, "time", en->time, sizeof en->time, i, e) < 0 || parse_metrics(o, i, en, e) < 0)
		return -1;
	if (fl_manifest_round_of(file) != round)
		return fl_err_set(e, FL_EXIT_FAIL, "%s.file '%s' is not checkpoint_round_%lld.npz", where,
		                  shown(file, b), round);
	en->round = (long)round;
	en->size = size;
	en->arrays = (long)arrays;
	return fl_manifest_check_entry(en, e);
}

static int parse_rounds(json_t *a, struct fl_manifest *m, struct fl_err *e)
{
	if (!json_is_array(a))
		return fl_err_set(e, FL_EXIT_FAIL, "\"rounds\" is not an array");
	size_t n = json_array_size(a);
	if (n > (size_t)FL_MANIFEST_ENTRIES_MAX)
		return fl_err_set(e, FL_EXIT_FAIL, "%zu rounds are more than the %ld a manifest may hold", n,
		                  FL_MANIFEST_ENTRIES_MAX);
	m->v = n ? fl_xcalloc(n, sizeof *m->v) : NULL;
	m->cap = n;
	for (size_t i = 0; i < n; i++) {
		struct fl_manifest_entry *en = &m->v[i];
		m->n = i + 1; /* so that fl_manifest_free frees what parse_entry took */
		if (parse_entry(json_array_get(a, i), i, en, e) < 0)
			return -1;
		if (i && en->round == en[-1].round)
			return fl_err_set(e, FL_EXIT_FAIL, "round %ld is listed twice", en->round);
		if (i && en->round < en[-1].round)
			return fl_err_set(e, FL_EXIT_FAIL,
			                  "round %ld comes after round %ld; rounds must ascend", en->round,
			                  en[-1].round);
	}
	return 0;
}

static int parse_root(json_t *root, struct fl_manifest *m, struct fl_err *e)
{
	static const char *const keys[] = {"version", "rounds", NULL};
	if (!json_is_object(root))
		return fl_err_set(e, FL_EXIT_FAIL, "not a JSON object");
	if (only_keys(root, keys, "the manifest", e) < 0)
		return -1;
	json_t *v = json_object_get(root, "version");
	if (!json_is_integer(v))
		return fl_err_set(e, FL_EXIT_FAIL, "\"version\" is %s; expected the integer %d",
		                  v ? "not an integer" : "missing", FL_MANIFEST_VERSION);
	if (json_integer_value(v) != FL_MANIFEST_VERSION)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "version %lld is not supported (this fl-ckpt reads version %d); use the "
		                  "fl-ckpt that wrote it",
		                  (long long)json_integer_value(v), FL_MANIFEST_VERSION);
	json_t *a = json_object_get(root, "rounds");
	if (!a)
		return fl_err_set(e, FL_EXIT_FAIL, "\"rounds\" is missing");
	return parse_rounds(a, m, e);
}

int fl_manifest_parse(const char *text, size_t len, struct fl_manifest *m, struct fl_err *e)
{
	fl_manifest_free(m);
	if (len > (size_t)FL_MANIFEST_BYTES_MAX)
		return fl_err_set(e, FL_EXIT_FAIL, "%zu bytes are more than the %ld a manifest may have", len,
		                  FL_MANIFEST_BYTES_MAX);
	json_error_t je;
	/* Duplicate keys and NUL bytes in strings are refused by the parser itself. */
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		/* jansson quotes the input near the error: no raw control bytes in a message. */
		for (char *p = je.text; *p; p++)
			if (*p < 0x20 || *p >= 0x7f)
				*p = '?';
		return fl_err_set(e, FL_EXIT_FAIL, "not valid JSON: %s (line %d, column %d)", je.text,
		                  je.line, je.column);
	}
	int rc = parse_root(root, m, e);
	json_decref(root);
	if (rc < 0)
		fl_manifest_free(m);
	return rc;
}

static json_t *entry_json(const struct fl_manifest_entry *en)
{
	char file[FL_MANIFEST_FILE_LEN];
	fl_manifest_file(en->round, file);
	json_t *o = json_pack("{s:I, s:s, s:I, s:s, s:I, s:s}", "round", (json_int_t)en->round, "file", file,
	                      "size", (json_int_t)en->size, "sha256", en->sha256, "arrays",
	                      (json_int_t)en->arrays, "time", en->time);
	if (o && en->nmetrics) {
		json_t *ms = json_object();
		for (size_t i = 0; i < en->nmetrics; i++)
			json_object_set_new(ms, en->metrics[i].name, json_real(en->metrics[i].value));
		json_object_set_new(o, "metrics", ms);
	}
	return o;
}

char *fl_manifest_format(const struct fl_manifest *m)
{
	json_t *rounds = json_array();
	for (size_t i = 0; i < m->n; i++)
		json_array_append_new(rounds, entry_json(&m->v[i]));
	json_t *root = json_pack("{s:i, s:o}", "version", FL_MANIFEST_VERSION, "rounds", rounds);
	char *s = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (!s)
		abort(); /* only allocation fails here, as fl_x* would */
	size_t n = strlen(s);
	char *out = fl_xrealloc(NULL, n + 2);
	memcpy(out, s, n);
	out[n] = '\n';
	out[n + 1] = '\0';
	free(s);
	return out;
}

/* The index of round's entry, or where it would go (*hit false). */
static size_t slot(const struct fl_manifest *m, long round, bool *hit)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].round < round)
			lo = mid + 1;
		else
			hi = mid;
	}
	*hit = lo < m->n && m->v[lo].round == round;
	return lo;
}

/* en with its own copy of the metrics, sorted. */
static struct fl_manifest_entry entry_copy(const struct fl_manifest_entry *en)
{
	struct fl_manifest_entry c = *en;
	c.metrics = NULL;
	if (en->nmetrics) {
		c.metrics = fl_xcalloc(en->nmetrics, sizeof *c.metrics);
		memcpy(c.metrics, en->metrics, en->nmetrics * sizeof *c.metrics);
		qsort(c.metrics, c.nmetrics, sizeof *c.metrics, metric_cmp);
	}
	return c;
}

int fl_manifest_put(struct fl_manifest *m, const struct fl_manifest_entry *en, struct fl_err *e)
{
	if (fl_manifest_check_entry(en, e) < 0)
		return -1;
	bool hit;
	size_t i = slot(m, en->round, &hit);
	if (hit) {
		free(m->v[i].metrics);
		m->v[i] = entry_copy(en);
		return 0;
	}
	if (m->n >= (size_t)FL_MANIFEST_ENTRIES_MAX)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "the manifest holds %ld rounds already; prune old rounds (fl-ckpt prune) first",
		    FL_MANIFEST_ENTRIES_MAX);
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->v = fl_xrealloc(m->v, m->cap * sizeof *m->v);
	}
	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof *m->v);
	m->v[i] = entry_copy(en);
	m->n++;
	return 0;
}

bool fl_manifest_remove(struct fl_manifest *m, long round)
{
	bool hit;
	size_t i = slot(m, round, &hit);
	if (!hit)
		return false;
	free(m->v[i].metrics);
	memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof *m->v);
	m->n--;
	return true;
}

const struct fl_manifest_entry *fl_manifest_find(const struct fl_manifest *m, long round)
{
	bool hit;
	size_t i = slot(m, round, &hit);
	return hit ? &m->v[i] : NULL;
}

const struct fl_manifest_entry *fl_manifest_newest(const struct fl_manifest *m)
{
	return m->n ? &m->v[m->n - 1] : NULL;
}

static char *join(const char *dir, const char *name)
{
	struct fl_buf b = FL_BUF_INIT;
	fl_buf_addf(&b, "%s/%s", dir, name);
	return b.data;
}

/* The whole of fd, at most max bytes. */
static int read_fd(int fd, const char *path, size_t max, struct fl_buf *b, struct fl_err *e)
{
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return fl_err_sys(e, errno, "cannot read %s", path);
		if (n == 0)
			return 0;
		if (b->len + (size_t)n > max)
			return fl_err_set(e, FL_EXIT_FAIL,
			                  "%s is larger than %zu bytes; it is not a manifest fl-ckpt wrote",
			                  path, max);
		fl_buf_add(b, chunk, (size_t)n);
	}
}

int fl_manifest_load(const char *dir, struct fl_manifest *m, bool *found, struct fl_err *e)
{
	fl_manifest_free(m);
	if (found)
		*found = false;
	char *path = join(dir, FL_MANIFEST_NAME);
	struct stat st;
	if (lstat(path, &st) < 0 && errno == ENOENT) {
		free(path);
		return 0;
	}
	/* Never followed: the directory is writable by the container. */
	int fd = fl_fs_open_regular(NULL, path, O_NOFOLLOW, e);
	struct fl_buf b = FL_BUF_INIT;
	int rc = fd < 0 ? -1 : read_fd(fd, path, (size_t)FL_MANIFEST_BYTES_MAX, &b, e);
	if (fd >= 0)
		close(fd);
	if (rc == 0 && fl_manifest_parse(b.data ? b.data : "", b.len, m, e) < 0) {
		char msg[sizeof e->msg];
		snprintf(msg, sizeof msg, "%s", e->msg);
		fl_err_set(e, FL_EXIT_FAIL,
		           "%s: %s; restore it from an archive or remove it (fl-ckpt then treats "
		           "every round as uncommitted)",
		           path, msg);
		rc = -1;
	}
	if (rc == 0 && found)
		*found = true;
	fl_buf_free(&b);
	free(path);
	return rc;
}

int fl_manifest_save(const char *dir, const struct fl_manifest *m, uid_t uid, gid_t gid, struct fl_err *e)
{
	char *path = join(dir, FL_MANIFEST_NAME);
	char *text = fl_manifest_format(m);
	size_t len = strlen(text);
	int rc = len > (size_t)FL_MANIFEST_BYTES_MAX
	             ? fl_err_set(e, FL_EXIT_FAIL,
	                          "%s would be %zu bytes, more than the %ld it may have; prune old rounds "
	                          "(fl-ckpt prune) first",
	                          path, len, FL_MANIFEST_BYTES_MAX)
	             : fl_fs_write_atomic(path, text, len, 0644, uid, gid, e);
	free(text);
	free(path);
	return rc;
}

void fl_manifest_clean_temps(const char *dir)
{
	char *path = join(dir, FL_MANIFEST_NAME);
	fl_fs_clean_temps(path);
	free(path);
}

static void lock_waiting(const struct fl_fs_lock_wait *w, const char *who)
{
	fl_info("waiting for %s to release %s (at most %ld s)", who, w->path, w->timeout_ms / 1000);
}

static void lock_gave_up(const struct fl_fs_lock_wait *w, const char *who, uint64_t waited_ms,
                         struct fl_err *e)
{
	fl_err_set(e, FL_EXIT_TIMEOUT,
	           "%s held %s for %.0f s: gave up waiting; check for a hung fl-ckpt (fuser -v %s) and try "
	           "again",
	           who, w->path, (double)waited_ms / 1000, w->path);
}

int fl_manifest_lock(const char *dir, long timeout_ms, struct fl_err *e)
{
	char *path = join(dir, FL_MANIFEST_LOCK_NAME);
	/* O_NOFOLLOW and O_NONBLOCK: a symlink or FIFO planted under the name is refused, not used. */
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0644);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int err = errno;
		if (fd >= 0 || err == ELOOP)
			fl_err_set(e, FL_EXIT_FAIL, "%s is not a regular file; remove it and try again",
			           path);
		else
			fl_err_sys(e, err, "cannot open the lock file %s", path);
		if (fd >= 0)
			close(fd);
		free(path);
		return -1;
	}
	struct fl_fs_lock_wait w = {path, "another fl-ckpt", timeout_ms, lock_waiting, lock_gave_up, NULL};
	int rc = fl_fs_lock_fd(fd, &w, e);
	free(path);
	if (rc < 0) {
		close(fd);
		return -1;
	}
	return fd;
}
