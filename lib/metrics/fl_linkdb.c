/* fl_linkdb: the SuperLink state database, read only, polled into the metrics (see the
 * header). */
#include "fl_linkdb.h"
#include "fl_flowerlog.h"

#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BUSY_MS 1000

/* Columns this code reads, per table: a bit each. */
enum {
	C_NODE_ID = 1 << 0,
	C_NODE_STATUS = 1 << 1,
	C_NODE_ONLINE_UNTIL = 1 << 2,
	C_RUN_ID = 1 << 3,
	C_RUN_RUNNING_AT = 1 << 4,
	C_RUN_FINISHED_AT = 1 << 5,
	C_RUN_SUB_STATUS = 1 << 6,
	C_LOGS_RUN_ID = 1 << 7,
	C_LOGS_LOG = 1 << 8,
	C_LOGS_NODE_ID = 1 << 9,
	C_LOGS_TIMESTAMP = 1 << 10,
	C_RUN_TASK_ID = 1 << 11, /* 1.42+: the run's status and output are its primary task's */
	C_TASK_ID = 1 << 12,
	C_TASK_RUNNING_AT = 1 << 13,
	C_TASK_FINISHED_AT = 1 << 14,
	C_TASK_SUB_STATUS = 1 << 15,
	C_TLOGS_TASK_ID = 1 << 16,
	C_TLOGS_LOG = 1 << 17,
	C_TLOGS_TIMESTAMP = 1 << 18,
};

static const struct column {
	const char *table, *name;
	unsigned bit;
} columns[] = {
    {"node", "node_id", C_NODE_ID},
    {"node", "status", C_NODE_STATUS},
    {"node", "online_until", C_NODE_ONLINE_UNTIL},
    {"run", "run_id", C_RUN_ID},
    {"run", "running_at", C_RUN_RUNNING_AT},
    {"run", "finished_at", C_RUN_FINISHED_AT},
    {"run", "sub_status", C_RUN_SUB_STATUS},
    {"logs", "run_id", C_LOGS_RUN_ID},
    {"logs", "log", C_LOGS_LOG},
    {"logs", "node_id", C_LOGS_NODE_ID},
    {"logs", "timestamp", C_LOGS_TIMESTAMP},
    {"run", "primary_task_id", C_RUN_TASK_ID},
    {"task", "task_id", C_TASK_ID},
    {"task", "running_at", C_TASK_RUNNING_AT},
    {"task", "finished_at", C_TASK_FINISHED_AT},
    {"task", "sub_status", C_TASK_SUB_STATUS},
    {"task_logs", "task_id", C_TLOGS_TASK_ID},
    {"task_logs", "log", C_TLOGS_LOG},
    {"task_logs", "timestamp", C_TLOGS_TIMESTAMP},
};

struct fl_linkdb {
	sqlite3 *db;
	char path[1024];
	unsigned cols;
	char schema[64];
	char missing[256];
	int schema_version; /* PRAGMA schema_version at the last detect: a migration changes it */

	/* The online SuperNodes of the last poll, sorted. */
	long long online[FL_METRICS_NODES_MAX], next[FL_METRICS_NODES_MAX];
	size_t nonline;
	bool polled;

	/* The latest run and how far its logs were read. */
	bool have_run;
	long long run_id, log_key, log_rowid; /* log_key: run_id, or 1.42+'s primary task_id */
	enum fl_metrics_status run_status;
	bool json_seen; /* the run's logs carry JSON events: its text lines give none */
	bool more;      /* the last poll read FL_LINKDB_LOG_ROWS rows of output: there may be more */
	struct fl_flowerlog flog;
	struct fl_metrics *m; /* during a poll: where flowerlog's events go */
	double now;
};

static bool has(const struct fl_linkdb *d, unsigned bits)
{
	return (d->cols & bits) == bits;
}

/* "file:" URI of path: '?', '#' and '%' percent-encoded. */
static int uri_of(const char *path, char *out, size_t cap)
{
	size_t o = (size_t)snprintf(out, cap, "file:");
	for (const char *p = path; *p; p++) {
		if (o + 4 >= cap)
			return -1;
		if (*p == '?' || *p == '#' || *p == '%')
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", (unsigned char)*p);
		else
			out[o++] = *p;
	}
	if (o + 8 >= cap)
		return -1;
	snprintf(out + o, cap - o, "?mode=ro");
	return 0;
}

static int db_err(struct fl_linkdb *d, int rc, const char *what, struct fl_err *e)
{
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		return fl_err_set(
		    e, FL_EXIT_UNAVAILABLE,
		    "%s: the SuperLink state database stayed locked for over %d ms while %s (a writer "
		    "holds it); the next read tries again",
		    d->path, BUSY_MS, what);
	if (rc == SQLITE_NOTADB)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s is not an SQLite database; give --db the SuperLink's state database (the "
		    "file of flower-superlink --database, FL_DATABASE)",
		    d->path);
	return fl_err_set(e, FL_EXIT_FAIL, "%s: %s while %s: %s", d->path, sqlite3_errstr(rc), what,
	                  sqlite3_errmsg(d->db));
}

/* Which of the columns exist (and alembic_version's value). */
static int detect(struct fl_linkdb *d, struct fl_err *e)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
	    d->db,
	    "SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p "
	    "WHERE m.type = 'table' AND m.name IN ('node','run','logs','task','task_logs','alembic_version')",
	    -1, &st, NULL);
	bool alembic = false;
	d->cols = 0;
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0),
		           *c = (const char *)sqlite3_column_text(st, 1);
		alembic |= t && strcmp(t, "alembic_version") == 0;
		for (size_t i = 0; t && c && i < sizeof columns / sizeof *columns; i++)
			if (strcmp(t, columns[i].table) == 0 && strcmp(c, columns[i].name) == 0)
				d->cols |= columns[i].bit;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(d, rc, "reading the schema", e);
	if (!has(d, C_NODE_ID) || !has(d, C_RUN_ID))
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s is an SQLite database but not Flower's SuperLink state database (no node and run "
		    "tables); give --db the file of flower-superlink --database (FL_DATABASE)",
		    d->path);
	d->schema[0] = '\0';
	if (alembic && sqlite3_prepare_v2(d->db, "SELECT version_num FROM alembic_version LIMIT 1", -1, &st,
	                                  NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(d->schema, sizeof d->schema, "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	return 0;
}

enum source { SRC_NONE, SRC_RUN, SRC_TASK };

/* Where the run's status is: run's own columns (<= 1.41), its primary task's (1.42+). */
static enum source status_source(const struct fl_linkdb *d)
{
	if (has(d, C_RUN_RUNNING_AT | C_RUN_FINISHED_AT))
		return SRC_RUN;
	if (has(d, C_RUN_TASK_ID | C_TASK_ID | C_TASK_RUNNING_AT | C_TASK_FINISHED_AT))
		return SRC_TASK;
	return SRC_NONE;
}

/* Where the ServerApp's output is: logs by run_id (<= 1.41), task_logs by task_id (1.42+). */
static enum source logs_source(const struct fl_linkdb *d)
{
	if (has(d, C_LOGS_RUN_ID | C_LOGS_LOG))
		return SRC_RUN;
	if (has(d, C_RUN_TASK_ID | C_TLOGS_TASK_ID | C_TLOGS_LOG))
		return SRC_TASK;
	return SRC_NONE;
}

static void say_missing(struct fl_linkdb *d)
{
	size_t o = 0;
	d->missing[0] = '\0';
#define MISSING(cond, text)                                                                                  \
	if (cond)                                                                                            \
		o += (size_t)snprintf(d->missing + o, sizeof d->missing - o, "%s%s", o ? "; " : "", text);   \
	if (o >= sizeof d->missing)                                                                          \
		o = sizeof d->missing - 1;
	MISSING(!has(d, C_NODE_STATUS) && !has(d, C_NODE_ONLINE_UNTIL),
	        "fl_clients_connected (node has no status or online_until)")
	MISSING(status_source(d) == SRC_NONE,
	        "fl_training_status (neither run nor task has running_at and finished_at)")
	MISSING(logs_source(d) == SRC_NONE, "rounds, selected, responded, failures and loss (no logs or "
	                                    "task_logs table: no ServerApp output)")
#undef MISSING
}

/* PRAGMA schema_version, or -1. */
static int schema_version(struct fl_linkdb *d)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(d->db, "PRAGMA schema_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int fl_linkdb_open(struct fl_linkdb **out, const char *path, struct fl_err *e)
{
	struct stat sb;
	char uri[2200];
	*out = NULL;
	if (stat(path, &sb) != 0)
		return fl_err_sys(e, errno,
		                  "%s: cannot read the SuperLink state database; give --db the file of "
		                  "flower-superlink --database (FL_DATABASE)",
		                  path);
	if (!S_ISREG(sb.st_mode))
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s is not a regular file; give --db the SuperLink's state database file",
		                  path);
	if (uri_of(path, uri, sizeof uri) != 0)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s: path too long for the state database (at most 1000 bytes)", path);
	struct fl_linkdb *d = calloc(1, sizeof *d);
	if (!d)
		return fl_err_sys(e, errno, "%s: cannot allocate the database reader", path);
	snprintf(d->path, sizeof d->path, "%s", path);
	int rc =
	    sqlite3_open_v2(uri, &d->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(d->db, BUSY_MS);
		rc = sqlite3_exec(d->db, "PRAGMA query_only=1", NULL, NULL, NULL);
	}
	if (rc != SQLITE_OK || detect(d, e) != 0) {
		if (rc != SQLITE_OK)
			db_err(d, rc, "opening it", e);
		fl_linkdb_close(d);
		return -1;
	}
	say_missing(d);
	d->schema_version = schema_version(d);
	fl_flowerlog_init(&d->flog);
	*out = d;
	return 0;
}

const char *fl_linkdb_missing(const struct fl_linkdb *d)
{
	return d->missing;
}

const char *fl_linkdb_schema(const struct fl_linkdb *d)
{
	return d->schema;
}

void fl_linkdb_close(struct fl_linkdb *d)
{
	if (!d)
		return;
	sqlite3_close(d->db);
	free(d);
}

/* ---- one poll ---- */

static void node_event(struct fl_linkdb *d, enum fl_mevent_type t, long long id)
{
	struct fl_mevent ev;
	fl_mevent_init(&ev, t);
	/* Flower prints ids as unsigned 64-bit numbers; SQLite stores them signed. */
	snprintf(ev.node_id, sizeof ev.node_id, "%llu", (unsigned long long)id);
	if (t == FL_MEV_CLIENT_LEAVE)
		snprintf(ev.detail, sizeof ev.detail, "offline");
	snprintf(ev.role, sizeof ev.role, "superlink");
	fl_metrics_apply(d->m, &ev, d->now);
}

/* client_join for ids in next and not in online, client_leave for the reverse (both sorted). */
static void node_diff(struct fl_linkdb *d, const long long *next, size_t n)
{
	size_t i = 0, j = 0;
	while (i < d->nonline || j < n) {
		if (j >= n || (i < d->nonline && d->online[i] < next[j]))
			node_event(d, FL_MEV_CLIENT_LEAVE, d->online[i++]);
		else if (i >= d->nonline || next[j] < d->online[i])
			node_event(d, FL_MEV_CLIENT_JOIN, next[j++]);
		else
			i++, j++;
	}
	memcpy(d->online, next, n * sizeof *next);
	d->nonline = n;
}

/* The online set (status 'online' and online_until in the future, design 07 §5.5; what the
 * version has of the two) and the registered count. */
static long poll_nodes(struct fl_linkdb *d, struct fl_err *e)
{
	bool st_col = has(d, C_NODE_STATUS), until = has(d, C_NODE_ONLINE_UNTIL);
	if (!st_col && !until)
		return 0;
	const char *where = st_col && until ? "status = 'online' AND CAST(online_until AS REAL) > ?1"
	                    : st_col        ? "status = 'online' AND ?1 = ?1"
	                                    : "CAST(online_until AS REAL) > ?1";
	char sql[512];
	snprintf(sql, sizeof sql,
	         "SELECT node_id, (SELECT count(*) FROM node WHERE %s), (SELECT count(*) FROM node%s) FROM "
	         "(SELECT 1) LEFT JOIN (SELECT node_id FROM node WHERE %s ORDER BY node_id LIMIT %d)",
	         where, st_col ? " WHERE status <> 'unregistered'" : "", where, FL_METRICS_NODES_MAX);
	long long *next = d->next;
	size_t n = 0;
	long long online = 0, registered = -1;
	long rows = 0;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		sqlite3_bind_double(st, 1, d->now);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		online = sqlite3_column_int64(st, 1);
		registered = sqlite3_column_int64(st, 2);
		if (sqlite3_column_type(st, 0) != SQLITE_NULL && n < FL_METRICS_NODES_MAX)
			next[n++] = sqlite3_column_int64(st, 0);
		rows++;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(d, rc, "reading the node table", e);
	node_diff(d, next, n);
	fl_metrics_set_connected(d->m, online, registered);
	return rows;
}

static enum fl_metrics_status run_status(const char *running, const char *finished, const char *sub)
{
	if (*finished)
		return strcmp(sub, "completed") == 0 || !*sub ? FL_MST_COMPLETE : FL_MST_FAILED;
	return *running ? FL_MST_RUNNING : FL_MST_IDLE;
}

static void run_event(struct fl_linkdb *d, enum fl_mevent_type t)
{
	struct fl_mevent ev;
	fl_mevent_init(&ev, t);
	snprintf(ev.role, sizeof ev.role, "superlink");
	fl_metrics_apply(d->m, &ev, d->now);
}

/* A new latest run starts its logs from the beginning. */
static void new_run(struct fl_linkdb *d, long long run_id, long long log_key)
{
	d->have_run = true;
	d->run_id = run_id;
	d->log_key = log_key;
	d->log_rowid = 0;
	d->json_seen = false;
	d->run_status = FL_MST_IDLE;
	fl_flowerlog_init(&d->flog);
}

static void run_changed(struct fl_linkdb *d, enum fl_metrics_status now_st)
{
	/* Without ServerApp output the run row is all there is: its transitions are the events. */
	if (logs_source(d) == SRC_NONE && now_st != d->run_status) {
		if (now_st >= FL_MST_RUNNING && d->run_status < FL_MST_RUNNING)
			run_event(d, FL_MEV_TRAINING_START);
		if (now_st == FL_MST_COMPLETE)
			run_event(d, FL_MEV_TRAINING_END);
	}
	d->run_status = now_st;
}

/* The latest run: its id, where its output is, its status. */
static long poll_run(struct fl_linkdb *d, struct fl_err *e)
{
	enum source ss = status_source(d);
	bool task = ss == SRC_TASK || (ss == SRC_NONE && logs_source(d) == SRC_TASK);
	char sql[512];
	snprintf(sql, sizeof sql,
	         "SELECT r.run_id, %s, %s, %s, %s FROM run r %s ORDER BY r.rowid DESC LIMIT 1",
	         task ? "r.primary_task_id" : "r.run_id",
	         ss == SRC_RUN    ? "COALESCE(r.running_at, '')"
	         : ss == SRC_TASK ? "COALESCE(t.running_at, '')"
	                          : "''",
	         ss == SRC_RUN    ? "COALESCE(r.finished_at, '')"
	         : ss == SRC_TASK ? "COALESCE(t.finished_at, '')"
	                          : "''",
	         ss == SRC_RUN && has(d, C_RUN_SUB_STATUS)     ? "COALESCE(r.sub_status, '')"
	         : ss == SRC_TASK && has(d, C_TASK_SUB_STATUS) ? "COALESCE(t.sub_status, '')"
	                                                       : "''",
	         ss == SRC_TASK ? "LEFT JOIN task t ON t.task_id = r.primary_task_id" : "");
	sqlite3_stmt *st;
	long rows = 0;
	int rc = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		long long id = sqlite3_column_int64(st, 0), key = sqlite3_column_int64(st, 1);
		const char *running = (const char *)sqlite3_column_text(st, 2);
		const char *finished = (const char *)sqlite3_column_text(st, 3);
		const char *sub = (const char *)sqlite3_column_text(st, 4);
		if (!d->have_run || id != d->run_id)
			new_run(d, id, key);
		d->log_key = key;
		run_changed(d, run_status(running ? running : "", finished ? finished : "", sub ? sub : ""));
		rows = 1;
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(d, rc, "reading the run table", e);
	if (rows == 0) /* no run (any more): nothing to follow */
		d->have_run = false;
	return rows;
}

static void flog_emit(void *ctx, const struct fl_mevent *ev)
{
	struct fl_linkdb *d = ctx;
	fl_metrics_apply(d->m, ev, d->now);
}

/* One logs row: several lines. JSON events go through the event parser; Flower's own lines
 * give events only while the run's logs carry no JSON event (no double counting). */
static void feed_row(struct fl_linkdb *d, const char *s, size_t n, double ts)
{
	while (n > 0) {
		const char *nl = memchr(s, '\n', n);
		size_t len = nl ? (size_t)(nl - s) : n;
		enum fl_mevent_skip r = fl_metrics_feed(d->m, s, len, d->now);
		d->json_seen |= r == FL_MEV_OK;
		if (r == FL_MEV_NOT_JSON && !d->json_seen)
			fl_flowerlog_feed(&d->flog, s, len, ts, flog_emit, d);
		s += len + (nl != NULL);
		n -= len + (nl != NULL);
	}
}

/* Whether any of the run's output rows holds a line that is a JSON event (read before the rows
 * are, so that Flower's lines written before the app's first event give nothing either). */
static int logs_have_json(struct fl_linkdb *d, const char *table, const char *key)
{
	char sql[256];
	snprintf(sql, sizeof sql,
	         "SELECT 1 FROM %s WHERE %s = ?1 AND (log LIKE '{%%' OR instr(log, char(10) || '{') > 0) AND "
	         "instr(log, '\"event\":') > 0 LIMIT 1",
	         table, key);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, d->log_key);
		rc = sqlite3_step(st);
		d->json_seen = rc == SQLITE_ROW;
		rc = rc == SQLITE_ROW ? SQLITE_OK : rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(st);
	return rc;
}

/* The run's ServerApp output rows after the last one read. */
static long poll_logs(struct fl_linkdb *d, struct fl_err *e)
{
	enum source ls = logs_source(d);
	d->more = false;
	if (ls == SRC_NONE || !d->have_run)
		return 0;
	const char *table = ls == SRC_RUN ? "logs" : "task_logs", *key = ls == SRC_RUN ? "run_id" : "task_id";
	bool ts = ls == SRC_RUN ? has(d, C_LOGS_TIMESTAMP) : has(d, C_TLOGS_TIMESTAMP);
	int rc = d->json_seen ? SQLITE_OK : logs_have_json(d, table, key);
	char sql[512];
	snprintf(sql, sizeof sql,
	         "SELECT rowid, %s, log FROM %s WHERE %s = ?1 AND rowid > ?2%s ORDER BY rowid LIMIT %d",
	         ts ? "timestamp" : "NULL", table, key,
	         ls == SRC_RUN && has(d, C_LOGS_NODE_ID) ? " AND node_id = 0" : "", FL_LINKDB_LOG_ROWS);
	sqlite3_stmt *st = NULL;
	long rows = 0;
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(d->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, d->log_key);
		sqlite3_bind_int64(st, 2, d->log_rowid);
	}
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		d->log_rowid = sqlite3_column_int64(st, 0);
		double t = sqlite3_column_type(st, 1) == SQLITE_NULL ? NAN : sqlite3_column_double(st, 1);
		const char *log = (const char *)sqlite3_column_text(st, 2);
		if (log)
			feed_row(d, log, (size_t)sqlite3_column_bytes(st, 2), t);
		rows++;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(d, rc, "reading the ServerApp output", e);
	d->more = rows == FL_LINKDB_LOG_ROWS;
	return rows;
}

long fl_linkdb_poll(struct fl_linkdb *d, struct fl_metrics *m, double now, struct fl_err *e)
{
	d->m = m;
	d->now = now;
	/* One read transaction: a consistent view, released before returning. */
	int rc = sqlite3_exec(d->db, "BEGIN", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_err(d, rc, "starting a read", e);
	/* The SuperLink migrates its schema after creating it (1.42: alembic): opened in between,
	 * the columns are detected again once the schema changed. */
	int sv = schema_version(d);
	if (sv >= 0 && sv != d->schema_version) {
		if (detect(d, e) != 0) {
			d->schema_version = -1; /* detected again next poll */
			sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
		say_missing(d);
		d->schema_version = sv;
	}
	long a = poll_nodes(d, e), b = a < 0 ? -1 : poll_run(d, e), c = b < 0 ? -1 : poll_logs(d, e);
	if (c < 0) {
		sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	sqlite3_exec(d->db, "COMMIT", NULL, NULL, NULL);
	if (status_source(d) != SRC_NONE)
		fl_metrics_set_status(m, d->have_run ? d->run_status : FL_MST_IDLE);
	return a + b + c;
}

long fl_linkdb_drain(struct fl_linkdb *d, struct fl_metrics *m, double now, struct fl_err *e)
{
	long total = 0;
	while (d->more) {
		long n = fl_linkdb_poll(d, m, now, e);
		if (n < 0)
			return -1;
		total += n;
	}
	d->m = m;
	d->now = now;
	if (d->have_run && !d->json_seen)
		fl_flowerlog_flush(&d->flog, NAN, flog_emit, d);
	return total;
}
