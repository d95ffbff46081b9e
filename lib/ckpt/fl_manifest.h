/* fl_manifest: the checkpoint directory's record of committed rounds, and its lock. */
#ifndef FL_MANIFEST_H
#define FL_MANIFEST_H

#include "fl_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* In the checkpoint directory: the manifest (replaced atomically, never edited in place) and
 * the file every mutating command flocks (design 03 §7.3). */
#define FL_MANIFEST_NAME      "checkpoint_manifest.json"
#define FL_MANIFEST_LOCK_NAME ".fl-ckpt.lock"
#define FL_MANIFEST_VERSION   1

/* Bounds on what is read: a manifest is untrusted input (the directory is the container's).
 * FL_MANIFEST_ENTRIES_MAX entries with every field at its longest format to about 14 MB, so
 * whatever fl_manifest_save writes fl_manifest_load reads back. */
#define FL_MANIFEST_BYTES_MAX   (16L * 1024 * 1024)
#define FL_MANIFEST_ENTRIES_MAX 50000L
#define FL_MANIFEST_ROUND_MAX   999999999L
/* The smallest ZIP is its 22-byte end record; the largest size any JSON reader holds exactly. */
#define FL_MANIFEST_SIZE_MIN   22LL
#define FL_MANIFEST_SIZE_MAX   9007199254740991LL
#define FL_MANIFEST_ARRAYS_MAX 1000000L
/* "checkpoint_round_999999999.npz" and "2026-01-02T03:04:05.123456789Z", with their NULs. */
#define FL_MANIFEST_FILE_LEN 32
#define FL_MANIFEST_TIME_LEN 32

/* A round's optional metrics (prune --keep-best): at most FL_MANIFEST_METRICS_MAX, names of
 * 1-64 bytes of [A-Za-z0-9_.-], finite values. */
#define FL_MANIFEST_METRICS_MAX     32
#define FL_MANIFEST_METRIC_NAME_MAX 64
struct fl_manifest_metric {
	char name[FL_MANIFEST_METRIC_NAME_MAX + 1];
	double value;
};

/* One committed round: checkpoint_round_<round>.npz of size bytes, whose SHA-256 is sha256,
 * holding arrays arrays, committed at time. */
struct fl_manifest_entry {
	long round;                      /* 1 .. FL_MANIFEST_ROUND_MAX */
	long long size;                  /* FL_MANIFEST_SIZE_MIN .. FL_MANIFEST_SIZE_MAX */
	long arrays;                     /* 0 .. FL_MANIFEST_ARRAYS_MAX */
	char sha256[65];                 /* 64 lowercase hex digits */
	char time[FL_MANIFEST_TIME_LEN]; /* RFC 3339 UTC: YYYY-MM-DDTHH:MM:SS[.fraction]Z */
	/* Sorted by name, no name twice. In a manifest the entry owns them (fl_manifest_put copies
	 * the caller's); NULL and 0 when the round has none. */
	struct fl_manifest_metric *metrics;
	size_t nmetrics;
};

/* The entries, sorted by round, no round twice. */
struct fl_manifest {
	struct fl_manifest_entry *v;
	size_t n, cap;
};

#define FL_MANIFEST_INIT                                                                                     \
	{                                                                                                    \
		NULL, 0, 0                                                                                   \
	}

void fl_manifest_free(struct fl_manifest *m);

/* The round file's name, "checkpoint_round_<round>.npz"; -1 when round is out of range. */
int fl_manifest_file(long round, char out[FL_MANIFEST_FILE_LEN]);
/* The round a file name stands for: exactly checkpoint_round_<N>.npz, N without sign or
 * leading zero, 1 .. FL_MANIFEST_ROUND_MAX; -1 for any other name (paths included). */
long fl_manifest_round_of(const char *name);
/* t as RFC 3339 UTC with seconds ("2026-01-02T03:04:05Z"); -1 when t cannot be shown. */
int fl_manifest_time(time_t t, char out[FL_MANIFEST_TIME_LEN]);

/* 0 when every field of en is in range and well formed, else -1 and e says which field. */
int fl_manifest_check_entry(const struct fl_manifest_entry *en, struct fl_err *e);
/* 0 when name is a metric name (1-64 bytes of [A-Za-z0-9_.-]). */
int fl_manifest_metric_name_ok(const char *name);
/* The value of metric name in en into *v: true when en has it. */
bool fl_manifest_metric(const struct fl_manifest_entry *en, const char *name, double *v);

/* Parse the manifest text (len bytes, not necessarily NUL-terminated) into m, replacing what m
 * held. Strict: version 1 only, exactly the known keys, every field type-checked and bounded,
 * rounds ascending without duplicates, file names that match their round, at most
 * FL_MANIFEST_BYTES_MAX bytes and FL_MANIFEST_ENTRIES_MAX entries. -1 and e (FL_EXIT_FAIL)
 * otherwise, m left empty. */
int fl_manifest_parse(const char *text, size_t len, struct fl_manifest *m, struct fl_err *e);
/* The manifest as JSON (2-space indent, keys in a fixed order, rounds ascending, a final
 * newline): the same manifest always gives the same bytes. Caller frees. */
char *fl_manifest_format(const struct fl_manifest *m);

/* Add en (a copy, its metrics sorted), or replace the entry of its round; -1 when en is invalid
 * or the manifest is full. */
int fl_manifest_put(struct fl_manifest *m, const struct fl_manifest_entry *en, struct fl_err *e);
/* Remove the entry of round, freeing its metrics (copy them first to keep them); false when
 * there was none. */
bool fl_manifest_remove(struct fl_manifest *m, long round);
/* The entry of round, or NULL. */
const struct fl_manifest_entry *fl_manifest_find(const struct fl_manifest *m, long round);
/* The entry of the highest round, or NULL when the manifest is empty. */
const struct fl_manifest_entry *fl_manifest_newest(const struct fl_manifest *m);

/* Read dir's manifest into m: an absent file is an empty manifest (*found false when found is
 * not NULL); a symlink, a non-regular file or a malformed one is an error naming the file. */
int fl_manifest_load(const char *dir, struct fl_manifest *m, bool *found, struct fl_err *e);
/* Replace dir's manifest with m: a temp file beside it, fsync, rename, fsync of dir, so a kill
 * at any moment leaves the old manifest or the new one. Mode 0644; uid/gid as fl_fs_write_atomic
 * (FL_OWNER_KEEP: the caller's). A manifest longer than FL_MANIFEST_BYTES_MAX is refused (it
 * could not be read back). Only under fl_manifest_lock. */
int fl_manifest_save(const char *dir, const struct fl_manifest *m, uid_t uid, gid_t gid, struct fl_err *e);
/* Remove the temp files a killed fl_manifest_save left in dir; only under fl_manifest_lock. */
void fl_manifest_clean_temps(const char *dir);

/* Take the exclusive flock on dir/FL_MANIFEST_LOCK_NAME (created 0644 if absent; a symlink or
 * non-regular file there is refused), waiting at most timeout_ms for another fl-ckpt, saying
 * once that it waits. The descriptor holds the lock until closed; -1 and e (FL_EXIT_TIMEOUT
 * at the bound) otherwise. */
int fl_manifest_lock(const char *dir, long timeout_ms, struct fl_err *e);

#endif
