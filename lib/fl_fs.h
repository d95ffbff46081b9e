/* fl_fs: files that survive a crash: atomic replace, owned directories, bounded reads. */
#ifndef FL_FS_H
#define FL_FS_H

#include "fl_err.h"

#include <stddef.h>
#include <sys/types.h>

#define FL_OWNER_KEEP ((uid_t)-1)

/* Replace path with data: temp file in the same directory, fsync, rename, fsync dir.
 * A kill at any moment leaves the old content or the new one, never a mix. uid/gid
 * FL_OWNER_KEEP leave the owner as the creating user. */
int fl_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
                       struct fl_err *e);

/* mkdir -p; the last component gets mode and owner (also when it already exists). */
int fl_fs_mkdir_p(const char *path, mode_t mode, uid_t uid, gid_t gid, struct fl_err *e);

/* Read a whole regular file of at most max bytes; *out is NUL-terminated, caller frees. */
int fl_fs_read(const char *path, size_t max, char **out, size_t *len, struct fl_err *e);

#endif
