/* fl_fileset: replace several files as one set: every new file is staged first, then all
 * are renamed into place; a failure rolls the already renamed ones back. */
#ifndef FL_FILESET_H
#define FL_FILESET_H

#include "fl_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct fl_fileset_entry {
	char *path;   /* target */
	char *staged; /* .NAME.fl-new beside it, fully written and synced */
	char *prev;   /* .NAME.fl-prev: a hard link to the old file during the commit */
	bool had_prev, committed;
};

struct fl_fileset {
	struct fl_fileset_entry *v;
	size_t n, cap;
};

#define FL_FILESET_INIT                                                                                      \
	{                                                                                                    \
		NULL, 0, 0                                                                                   \
	}

/* Write data to the staging name of path (atomically, with mode and owner). The target is
 * not touched. On failure nothing of this file is left behind. */
int fl_fileset_stage(struct fl_fileset *s, const char *path, const void *data, size_t len, mode_t mode,
                     uid_t uid, gid_t gid, struct fl_err *e);

/* Rename every staged file over its target, in staging order. When one step fails, the
 * targets already replaced get their old content back (or are removed when they did not
 * exist), so the previous set stays intact. A crash between two renames leaves a mixed set
 * that fl-certgen detects and repairs on its next run. */
int fl_fileset_commit(struct fl_fileset *s, struct fl_err *e);

/* Remove staged files that were not committed; free everything. */
void fl_fileset_free(struct fl_fileset *s);

/* Remove leftovers of an interrupted run beside path: .NAME.fl-new, .NAME.fl-prev and the
 * temporaries of fl_fs_write_atomic (.NAME.XXXXXX, ..NAME.fl-new.XXXXXX). */
void fl_fileset_clean(const char *path);

#endif
