/* fl_fs: files that survive a crash: atomic replace, owned directories, bounded reads. */
#ifndef FL_FS_H
#define FL_FS_H

#include "fl_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <sys/types.h>

#define FL_OWNER_KEEP ((uid_t)-1)

/* Replace path with data: temp file in the same directory, fsync, rename, fsync dir.
 * A kill at any moment leaves the old content or the new one, never a mix. uid/gid
 * FL_OWNER_KEEP leave the owner as the creating user. */
int fl_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
                       struct fl_err *e);

/* mkdir -p; the last component gets mode and owner (also when it already exists). */
int fl_fs_mkdir_p(const char *path, mode_t mode, uid_t uid, gid_t gid, struct fl_err *e);

/* Every file a user names is opened through these: a FIFO, device, socket or directory is
 * refused at once (never waited on: opened O_NONBLOCK, checked with fstat), with a message
 * naming the option (opt, e.g. "--discovery"; NULL: none) and the file. */

/* A read-only descriptor of the regular file path (flags: more open flags, e.g. O_NOFOLLOW),
 * blocking again once checked; -1 and e filled otherwise. */
int fl_fs_open_regular(const char *opt, const char *path, int flags, struct fl_err *e);

/* For a file an option names, before anything is done: 0 when it is a regular file, "-" or
 * absent (what is absent is the reader's to judge), -1 otherwise. */
int fl_fs_check_regular(const char *opt, const char *path, struct fl_err *e);

/* Read a whole regular file of at most max bytes; *out is NUL-terminated, caller frees. */
int fl_fs_read_opt(const char *opt, const char *path, size_t max, char **out, size_t *len, struct fl_err *e);
int fl_fs_read(const char *path, size_t max, char **out, size_t *len, struct fl_err *e);

/* Lock the directory of path against other writers of files there that use it too (flock,
 * released when the returned descriptor is closed); -1 and e filled when it cannot. */
int fl_fs_lock_dir(const char *path, struct fl_err *e);
/* The same, saying once (INFO) that it waits for holder ("another fl-launch"), and giving up
 * after timeout_ms with FL_EXIT_TIMEOUT. fl_fs_lock_dir waits FL_FS_LOCK_WAIT_MS. */
#define FL_FS_LOCK_WAIT_MS 60000L
int fl_fs_lock_dir_wait(const char *path, long timeout_ms, const char *holder, struct fl_err *e);

/* A bounded wait for a lock that another run holds; the caller words what is said. */
struct fl_fs_lock_wait {
	const char *path;   /* the locked file or directory, for messages */
	const char *holder; /* who holds it when /proc/locks does not say ("another run") */
	long timeout_ms;    /* at most this long; 0: not at all */
	/* Once, when the lock is held and there is time to wait; who is "process 1234" (from
	 * /proc/locks) or holder. */
	void (*waiting)(const struct fl_fs_lock_wait *w, const char *who);
	/* At the bound: fill e (its code becomes FL_EXIT_TIMEOUT). */
	void (*gave_up)(const struct fl_fs_lock_wait *w, const char *who, uint64_t waited_ms,
	                struct fl_err *e);
	const void *ctx; /* for the caller's messages */
};
/* Take an exclusive flock on fd, waiting as w says: 0, or -1 and e filled (FL_EXIT_TIMEOUT at
 * the bound). fl_fs_lock_dir_wait is this on a directory, with fl_fs's messages. */
int fl_fs_lock_fd(int fd, const struct fl_fs_lock_wait *w, struct fl_err *e);

/* Remove what fl_fs_write_atomic leaves beside path when killed between creating its temp
 * file and the rename: regular files named ".BASE.XXXXXX" (they may hold secrets, 0600).
 * Only under fl_fs_lock_dir, so that no other writer's temp file is taken. */
void fl_fs_clean_temps(const char *path);

/* The directory name (NULL: dirfd's own) under dirfd, opened for reading without following a
 * symlink, with a descriptor of its own (an offset apart from dirfd's); NULL and errno when it
 * cannot be. closedir() closes it. */
DIR *fl_fs_opendir_at(int dirfd, const char *name);

#endif
