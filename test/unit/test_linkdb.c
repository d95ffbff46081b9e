/* test_linkdb: the SuperLink state database read only: real schemas and rows of Flower 1.25 and
 * 1.42 (test/fixtures/linkdb), SuperNodes online and gone, run states, round progress from the
 * ServerApp output with and without JSON events (never counted twice), missing tables and
 * columns, files that are not Flower's database, a writer holding the lock, and proof that
 * reading writes nothing. */
#include "fl_linkdb.h"
#include "unit.h"
#include "unit_fs.h"

#include <math.h>
#include <sqlite3.h>
#include <sys/stat.h>

#define NOW 1796324200.0 /* the fixtures' runs happened around this time */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct fl_buf b = FL_BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		fl_buf_add(&b, chunk, n);
	fclose(f);
	return b.data;
}

/* A database at name in the scratch directory: the fixture of version (NULL: none), then sql. */
static char *mkdb(const char *name, const char *version, const char *sql)
{
	char *path = path_of(name);
	unlink(path);
	sqlite3 *db;
	int ok = sqlite3_open(path, &db) == SQLITE_OK;
	if (version) {
		char fx[128];
		snprintf(fx, sizeof fx, "test/fixtures/linkdb/flower-%s.sql", version);
		char *text = slurp(fx);
		ok = ok && text && sqlite3_exec(db, text, NULL, NULL, NULL) == SQLITE_OK;
		free(text);
	}
	if (ok && sql && sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		DIAG("%s: %s", sql, sqlite3_errmsg(db));
		ok = 0;
	}
	sqlite3_close(db);
	CHECK(ok, "fixture %s (%s) built", name, version ? version : "no fixture");
	return path;
}

/* Drop the JSON event lines from every logs row (as an app that emits none). */
static void text_only(const char *path, const char *table)
{
	sqlite3 *db;
	sqlite3_stmt *sel, *upd;
	char sql[128];
	sqlite3_open(path, &db);
	snprintf(sql, sizeof sql, "SELECT rowid, log FROM %s", table);
	sqlite3_prepare_v2(db, sql, -1, &sel, NULL);
	snprintf(sql, sizeof sql, "UPDATE %s SET log = ?1 WHERE rowid = ?2", table);
	sqlite3_prepare_v2(db, sql, -1, &upd, NULL);
	while (sqlite3_step(sel) == SQLITE_ROW) {
		struct fl_buf b = FL_BUF_INIT;
		char *log = strdup((const char *)sqlite3_column_text(sel, 1)), *save = NULL;
		fl_buf_add(&b, "", 0);
		for (char *l = strtok_r(log, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			if (l[0] != '{')
				fl_buf_addf(&b, "%s\n", l);
		sqlite3_bind_text(upd, 1, b.data, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(upd, 2, sqlite3_column_int64(sel, 0));
		sqlite3_step(upd);
		sqlite3_reset(upd);
		free(log);
		fl_buf_free(&b);
	}
	sqlite3_finalize(sel);
	sqlite3_finalize(upd);
	sqlite3_close(db);
}

static struct fl_linkdb *open_ok(const char *path, const char *what)
{
	struct fl_linkdb *d = NULL;
	struct fl_err e = {0};
	CHECK(fl_linkdb_open(&d, path, &e) == 0, "%s: opens", what);
	if (!d)
		DIAG("%s", e.msg);
	return d;
}

static long poll_ok(struct fl_linkdb *d, struct fl_metrics *m, double now)
{
	struct fl_err e = {0};
	long n = fl_linkdb_poll(d, m, now, &e);
	if (n < 0)
		DIAG("poll: %s", e.msg);
	return n;
}

/* A finished run of the demo app (JSON events in its logs) read after the fact. */
static void finished_run(const char *version, const char *logs_table)
{
	char name[64];
	snprintf(name, sizeof name, "done-%s.db", version);
	char *path = mkdb(name, version, NULL);
	struct fl_linkdb *d = open_ok(path, version);
	struct fl_metrics m;
	fl_metrics_init(&m, NULL);
	if (d) {
		CHECK(poll_ok(d, &m, NOW) > 0, "%s: rows read", version);
		CHECK_STR(fl_linkdb_missing(d), "", "%s: every db metric derivable", version);
		CHECK_INT(m.status, FL_MST_COMPLETE, "%s: finished:completed run -> fl_training_status 2",
		          version);
		CHECK_INT(m.clients_connected, 0, "%s: SuperNodes unregistered at the end -> 0 connected",
		          version);
		CHECK_INT(m.clients_registered, 0, "%s: and 0 registered", version);
		CHECK_INT(m.round_current, 3, "%s: round 3 from the run's output", version);
		CHECK_INT(m.events[FL_MEV_ROUND_END], 3, "%s: JSON events win: 3 round_end, not 6", version);
		CHECK_INT(m.events[FL_MEV_TRAINING_START], 1, "%s: one training_start", version);
		long again = poll_ok(d, &m, NOW + 5);
		CHECK_INT(m.events[FL_MEV_ROUND_END], 3, "%s: a second poll reads no row twice", version);
		CHECK(again >= 0, "%s: second poll ok", version);
		fl_linkdb_close(d);
	}
	/* The same run from an app that emits no JSON event: Flower's own lines give the rounds. */
	text_only(path, logs_table);
	d = open_ok(path, version);
	fl_metrics_init(&m, NULL);
	if (d) {
		poll_ok(d, &m, NOW);
		CHECK_INT(m.events[FL_MEV_ROUND_END], 3, "%s text only: 3 round_end from Flower's lines",
		          version);
		CHECK_INT(m.events[FL_MEV_ROUND_START], 3, "%s text only: 3 round_start", version);
		CHECK_INT(m.round_current, 3, "%s text only: round 3", version);
		CHECK_INT(m.round_total, 3, "%s text only: of 3 (Number of rounds)", version);
		CHECK_INT(m.clients_selected, 2, "%s text only: 2 selected", version);
		CHECK_INT(m.clients_responded, 2, "%s text only: 2 responded", version);
		CHECK(fabs(m.loss - 0.5366766077855644) < 1e-12, "%s text only: loss of round 3", version);
		CHECK_INT(m.status, FL_MST_COMPLETE, "%s text only: the run row's status wins", version);
		fl_linkdb_close(d);
	}
	free(path);
}

static void nodes(void)
{
	char sql[512];
	snprintf(sql, sizeof sql,
	         "UPDATE node SET status = 'online', online_until = %f;"
	         "UPDATE run SET finished_at = '', sub_status = '';",
	         NOW + 60);
	char *path = mkdb("nodes.db", "1.25", sql);
	struct fl_linkdb *d = open_ok(path, "nodes");
	struct fl_metrics m;
	fl_metrics_init(&m, NULL);
	if (!d)
		return;
	poll_ok(d, &m, NOW);
	CHECK_INT(m.clients_connected, 2, "two SuperNodes online (status online, online_until ahead)");
	CHECK_INT(m.clients_registered, 2, "two registered");
	CHECK_INT(m.events[FL_MEV_CLIENT_JOIN], 2, "client_join for each (negative ids)");
	CHECK_INT(m.status, FL_MST_RUNNING, "running_at set, finished_at '' -> fl_training_status 1");
	poll_ok(d, &m, NOW + 1);
	CHECK_INT(m.events[FL_MEV_CLIENT_JOIN], 2, "the same online set: no new join");

	/* One SuperNode killed: its status stays 'online', online_until passes. */
	sqlite3 *w;
	sqlite3_open(path, &w);
	snprintf(sql, sizeof sql, "UPDATE node SET online_until = %f WHERE node_id = -7470751331951209598",
	         NOW - 1);
	sqlite3_exec(w, sql, NULL, NULL, NULL);
	poll_ok(d, &m, NOW + 2);
	CHECK_INT(m.clients_connected, 1, "online_until in the past: not online although status says so");
	CHECK_INT(m.events[FL_MEV_CLIENT_LEAVE], 1, "client_leave for it");
	CHECK_INT(m.clients_registered, 2, "still registered");

	/* A node id at the uint64 wrap (-1) joins; the run fails. */
	snprintf(sql, sizeof sql,
	         "INSERT INTO node (node_id, status, online_until) VALUES (-1, 'online', %f);"
	         "UPDATE run SET finished_at = '2026-12-03T18:57:00+00:00', sub_status = 'failed';",
	         NOW + 60);
	sqlite3_exec(w, sql, NULL, NULL, NULL);
	poll_ok(d, &m, NOW + 3);
	CHECK_INT(m.clients_connected, 2, "id -1 (2^64-1) counts");
	CHECK_INT(m.events[FL_MEV_CLIENT_JOIN], 3, "and joins");
	CHECK_INT(m.status, FL_MST_FAILED, "finished:failed -> fl_training_status 3");
	sqlite3_exec(w, "UPDATE run SET sub_status = 'stopped'", NULL, NULL, NULL);
	poll_ok(d, &m, NOW + 4);
	CHECK_INT(m.status, FL_MST_FAILED, "finished:stopped -> 3");
	sqlite3_exec(w, "DELETE FROM logs; DELETE FROM run", NULL, NULL, NULL);
	poll_ok(d, &m, NOW + 5);
	CHECK_INT(m.status, FL_MST_IDLE, "no run -> 0");
	sqlite3_close(w);
	fl_linkdb_close(d);
	free(path);
}

static void missing(void)
{
	char *path =
	    mkdb("nologs.db", "1.25", "DROP TABLE logs; UPDATE run SET finished_at = '', sub_status = ''");
	struct fl_linkdb *d = open_ok(path, "no logs table");
	struct fl_metrics m;
	fl_metrics_init(&m, NULL);
	if (d) {
		CHECK(strstr(fl_linkdb_missing(d), "no logs or task_logs table") != NULL,
		      "no logs table: said: %s", fl_linkdb_missing(d));
		poll_ok(d, &m, NOW);
		CHECK_INT(m.status, FL_MST_RUNNING, "no logs table: status from the run row");
		CHECK_INT(m.events[FL_MEV_TRAINING_START], 1,
		          "no logs table: training_start from the run row");
		CHECK_INT(m.events[FL_MEV_ROUND_START], 0, "no logs table: no round");
		fl_linkdb_close(d);
	}
	free(path);

	path = mkdb("bare.db", NULL,
	            "CREATE TABLE node(node_id INTEGER); CREATE TABLE run(run_id INTEGER);"
	            "INSERT INTO node VALUES (5); INSERT INTO run VALUES (7)");
	d = open_ok(path, "bare columns");
	fl_metrics_init(&m, NULL);
	if (d) {
		const char *s = fl_linkdb_missing(d);
		CHECK(strstr(s, "fl_clients_connected") && strstr(s, "fl_training_status"),
		      "bare: both said: %s", s);
		CHECK(poll_ok(d, &m, NOW) >= 0, "bare: polls");
		CHECK(m.connected_origin != FL_MOR_DB && m.status_origin != FL_MOR_DB,
		      "bare: no db value set");
		CHECK_STR(fl_linkdb_schema(d), "", "bare: no alembic_version");
		fl_linkdb_close(d);
	}
	free(path);

	path = mkdb("alembic.db", "1.42", NULL);
	d = open_ok(path, "1.42 schema");
	if (d)
		CHECK_STR(fl_linkdb_schema(d), "d9bd9d502cf9", "1.42: alembic_version read");
	fl_linkdb_close(d);
	free(path);
}

static void not_flower(void)
{
	struct fl_linkdb *d = NULL;
	struct fl_err e = {0};
	char *path = path_of("text.db");
	FILE *f = fopen(path, "w");
	fputs("this is not a database, it is a text file that is long enough to have a header..........\n",
	      f);
	fclose(f);
	CHECK(fl_linkdb_open(&d, path, &e) == -1 && !d, "a text file: refused");
	CHECK(strstr(e.msg, path) && strstr(e.msg, "not an SQLite database"),
	      "names the file and says so: %s", e.msg);
	free(path);

	path = mkdb("other.db", NULL, "CREATE TABLE t(x)");
	CHECK(fl_linkdb_open(&d, path, &e) == -1, "an SQLite file without node and run: refused");
	CHECK(strstr(e.msg, path) && strstr(e.msg, "not Flower's SuperLink state database"), "says so: %s",
	      e.msg);
	free(path);

	path = path_of("absent.db");
	CHECK(fl_linkdb_open(&d, path, &e) == -1 && strstr(e.msg, path), "a missing file: refused, named: %s",
	      e.msg);
	CHECK_INT(access(path, F_OK), -1, "and not created");
	free(path);
	CHECK(fl_linkdb_open(&d, unit_root, &e) == -1 && strstr(e.msg, "not a regular file"),
	      "a directory: %s", e.msg);
}

static void locked(void)
{
	char *path = mkdb("locked.db", "1.25", NULL);
	struct fl_linkdb *d = open_ok(path, "locked");
	struct fl_metrics m;
	struct fl_err e = {0};
	fl_metrics_init(&m, NULL);
	sqlite3 *w;
	sqlite3_open(path, &w);
	CHECK(sqlite3_exec(w, "BEGIN EXCLUSIVE; UPDATE run SET sub_status = 'failed'", NULL, NULL, NULL) ==
	          SQLITE_OK,
	      "a writer holds the exclusive lock (rollback journal)");
	if (d) {
		CHECK_INT(fl_linkdb_poll(d, &m, NOW, &e), -1, "poll while locked: -1 after the busy timeout");
		CHECK(strstr(e.msg, "locked") && e.code == FL_EXIT_UNAVAILABLE, "says locked: %s", e.msg);
		sqlite3_exec(w, "COMMIT", NULL, NULL, NULL);
		CHECK(poll_ok(d, &m, NOW) > 0, "the next poll after the writer's commit reads");
		CHECK_INT(m.status, FL_MST_FAILED, "and sees the committed row");
		/* The reader holds no lock between polls: a writer gets its exclusive lock at once. */
		sqlite3_busy_timeout(w, 0);
		CHECK(sqlite3_exec(w, "BEGIN EXCLUSIVE; COMMIT", NULL, NULL, NULL) == SQLITE_OK,
		      "between polls a writer is never blocked");
		fl_linkdb_close(d);
	}
	sqlite3_close(w);
	free(path);
}

static void read_only(void)
{
	char *path = mkdb("ro.db", "1.42", NULL);
	struct stat before, after;
	char *bytes = slurp(path), *dir = path_of("");
	stat(path, &before);
	char *list_before = listing(unit_root);
	struct fl_linkdb *d = open_ok(path, "read-only");
	struct fl_metrics m;
	fl_metrics_init(&m, NULL);
	for (int i = 0; d && i < 3; i++)
		poll_ok(d, &m, NOW + i);
	fl_linkdb_close(d);
	stat(path, &after);
	char *bytes2 = slurp(path), *list_after = listing(unit_root);
	CHECK(bytes && bytes2 && before.st_size == after.st_size &&
	          memcmp(bytes, bytes2, (size_t)before.st_size) == 0,
	      "the file's bytes are unchanged");
	CHECK(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
	          before.st_mtim.tv_nsec == after.st_mtim.tv_nsec,
	      "its mtime is unchanged");
	CHECK_STR(list_after, list_before, "no -journal, -wal or -shm left beside it");
	free(bytes), free(bytes2), free(list_before), free(list_after), free(dir), free(path);
}

/* A long run's output: a poll reads FL_LINKDB_LOG_ROWS rows, the next ones the rest; drain
 * reads all at once (parse). */
static void long_output(void)
{
	char sql[1024];
	snprintf(sql, sizeof sql,
	         "DELETE FROM logs;"
	         "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 2500) "
	         "INSERT INTO logs SELECT 1796324183 + i, -3730709671619866575, 0, "
	         "'INFO :      [ROUND ' || i || '/2500]' || char(10) || "
	         "'INFO :      configure_train: Sampled 2 nodes (out of 2)' || char(10) FROM r;");
	char *path = mkdb("long.db", "1.25", sql);
	struct fl_linkdb *d = open_ok(path, "long output");
	struct fl_metrics m;
	struct fl_err e = {0};
	fl_metrics_init(&m, NULL);
	if (d) {
		poll_ok(d, &m, NOW);
		CHECK_INT(m.events[FL_MEV_ROUND_START], FL_LINKDB_LOG_ROWS,
		          "one poll reads FL_LINKDB_LOG_ROWS rows");
		poll_ok(d, &m, NOW);
		CHECK_INT(m.events[FL_MEV_ROUND_START], 2 * FL_LINKDB_LOG_ROWS,
		          "the next poll the next ones");
		CHECK(fl_linkdb_drain(d, &m, NOW, &e) > 0, "drain reads the rest");
		CHECK_INT(m.events[FL_MEV_ROUND_START], 2500, "all 2500 rounds read once");
		CHECK_INT(fl_linkdb_drain(d, &m, NOW, &e), 0, "nothing left to drain");
		fl_linkdb_close(d);
	}
	free(path);
}

/* Opened while the SuperLink still migrates its schema (1.42's alembic moves running_at from
 * run to task): the columns are detected again once the schema changed. */
static void migrated(void)
{
	char *path = mkdb("migrated.db", "1.25", NULL);
	struct fl_linkdb *d = open_ok(path, "before the migration");
	struct fl_metrics m;
	fl_metrics_init(&m, NULL);
	sqlite3 *w;
	sqlite3_open(path, &w);
	CHECK(sqlite3_exec(w, "ALTER TABLE run DROP COLUMN running_at", NULL, NULL, NULL) == SQLITE_OK,
	      "the schema changes under the reader");
	sqlite3_close(w);
	if (d) {
		CHECK(poll_ok(d, &m, NOW) >= 0, "the next poll reads the new schema (no 'no such column')");
		fl_linkdb_close(d);
	}
	free(path);
}

int main(void)
{
	if (unit_fs_init("test_linkdb") != 0)
		return 1;
	finished_run("1.25", "logs");
	finished_run("1.42", "task_logs");
	nodes();
	missing();
	not_flower();
	locked();
	migrated();
	read_only();
	long_output();
	rm_all(unit_root);
	return unit_done();
}
