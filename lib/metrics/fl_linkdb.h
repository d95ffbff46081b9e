/* fl_linkdb: the SuperLink state database (`flower-superlink --database FILE`, SQLite) read
 * only, polled into struct fl_metrics: SuperNodes online and registered, client_join and
 * client_leave from the online set's changes, the latest run's status, and round progress from
 * the run's ServerApp output in the logs table (JSON events, else Flower's own text lines).
 * The schema is detected (tables, columns, alembic_version), never assumed: what a Flower
 * version does not store turns the metric that needs it off. Each poll is one short read
 * transaction: Flower's writes and WAL checkpoints are never blocked for longer. */
#ifndef FL_LINKDB_H
#define FL_LINKDB_H

#include "fl_err.h"
#include "fl_metrics.h"

#include <stdbool.h>
#include <stddef.h>

/* Rows of the logs table read per poll (the rest comes next poll). */
#define FL_LINKDB_LOG_ROWS 1000

struct fl_linkdb;

/* Open path read-only and detect its schema. -1 with e: not a file, not SQLite, not Flower's
 * state database (no node and run tables). */
int fl_linkdb_open(struct fl_linkdb **db, const char *path, struct fl_err *e);

/* What this database cannot give (e.g. "round progress (no logs table)"), "" when all: a line
 * for the caller to log once at INFO. */
const char *fl_linkdb_missing(const struct fl_linkdb *db);

/* The schema version: alembic_version's value, or "" (Flower <= 1.25 has none). */
const char *fl_linkdb_schema(const struct fl_linkdb *db);

/* One poll at wall clock now (Unix seconds) into m. Returns the number of rows read, or -1 with
 * e (busy beyond the timeout, the file gone or broken); the next poll starts over cleanly. */
long fl_linkdb_poll(struct fl_linkdb *db, struct fl_metrics *m, double now, struct fl_err *e);

/* One-shot use: poll again while the last poll stopped at FL_LINKDB_LOG_ROWS, so that all of the
 * run's output is read, then end what Flower's lines left pending. Returns the rows read, or -1
 * with e. */
long fl_linkdb_drain(struct fl_linkdb *db, struct fl_metrics *m, double now, struct fl_err *e);

void fl_linkdb_close(struct fl_linkdb *db);

#endif
