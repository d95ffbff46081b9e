/* fl_fs: files that survive a crash: atomic replace, owned directories, bounded reads. */
#include "fl_fs.h"

#include "fl_buf.h"
#include "fl_log.h"
#include "fl_retry.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fsync_dir(const char *path)
{
	char *copy = fl_xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

int fl_fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
                       struct fl_err *e)
{
	struct fl_buf tmp = FL_BUF_INIT;
	char *copy = fl_xstrdup(path);
	/* basename() may modify its argument; keep the hidden temp name beside the target. */
	char *slash = strrchr(copy, '/');
	if (slash)
		fl_buf_addf(&tmp, "%.*s/.%s.XXXXXX", (int)(slash - copy), copy, slash + 1);
	else
		fl_buf_addf(&tmp, ".%s.XXXXXX", copy);
	free(copy);

	int fd = mkstemp(tmp.data);
	if (fd < 0) {
		fl_err_sys(e, errno, "cannot create a temporary file beside %s", path);
		fl_buf_free(&tmp);
		return -1;
	}
	const char *step = "write";
	if (write_all(fd, data, len) < 0)
		goto fail;
	step = "set mode of";
	if (fchmod(fd, mode) < 0)
		goto fail;
	step = "set owner of";
	if ((uid != FL_OWNER_KEEP || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)
		goto fail;
	step = "fsync";
	if (fsync(fd) < 0)
		goto fail;
	step = "close";
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	step = "rename into place";
	if (rename(tmp.data, path) < 0)
		goto fail;
	if (fsync_dir(path) < 0) {
		/* The file is in place; only durability of the directory entry is in doubt. */
		fl_err_sys(e, errno, "cannot fsync the directory of %s", path);
		fl_buf_free(&tmp);
		return -1;
	}
	fl_buf_free(&tmp);
	return 0;
fail:;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp.data);
	fl_buf_free(&tmp);
	return fl_err_sys(e, saved, "cannot %s %s", step, path);
}

int fl_fs_mkdir_p(const char *path, mode_t mode, uid_t uid, gid_t gid, struct fl_err *e)
{
	if (!*path)
		return fl_err_set(e, FL_EXIT_FAIL, "cannot create a directory with an empty path");
	char *p = fl_xstrdup(path);
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			int saved = errno;
			fl_err_sys(e, saved, "cannot create directory %s", p);
			free(p);
			return -1;
		}
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST) {
		fl_err_sys(e, errno, "cannot create directory %s", p);
		free(p);
		return -1;
	}
	/* Open without following a symlink: a root tool chowning a directory that a container
	 * can write into must not be redirected to another target. */
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			fl_err_set(e, FL_EXIT_FAIL,
			           "%s exists and is not a directory (or is a symlink); remove it or choose "
			           "another path",
			           p);
		else
			fl_err_sys(e, errno, "cannot open directory %s", p);
		free(p);
		return -1;
	}
	if (fchmod(fd, mode) < 0 ||
	    ((uid != FL_OWNER_KEEP || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0)) {
		fl_err_sys(e, errno, "cannot set mode/owner of %s", p);
		close(fd);
		free(p);
		return -1;
	}
	close(fd);
	free(p);
	return 0;
}

static const char *kind(mode_t m)
{
	return S_ISFIFO(m)   ? "a FIFO"
	       : S_ISDIR(m)  ? "a directory"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISSOCK(m) ? "a socket"
	                     : "another file type";
}

/* "OPT FILE" when an option named the file, else "FILE": every message names both. */
static void name(char *dst, size_t n, const char *opt, const char *path)
{
	if (opt)
		snprintf(dst, n, "%s %s", opt, path);
	else
		snprintf(dst, n, "%s", path);
}

int fl_fs_open_regular(const char *opt, const char *path, int flags, struct fl_err *e)
{
	char what[4200];
	name(what, sizeof what, opt, path);
	/* O_NONBLOCK: opening a FIFO must not hang before the type check below refuses it. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags);
	if (fd < 0) {
		if (errno == ELOOP && (flags & O_NOFOLLOW))
			return fl_err_set(e, FL_EXIT_FAIL, "%s: is a symbolic link; give the file itself",
			                  what);
		return fl_err_sys(e, errno, "cannot read %s", what);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int saved = errno;
		close(fd);
		return fl_err_sys(e, saved, "cannot stat %s", what);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return fl_err_set(e, FL_EXIT_FAIL, "%s is not a regular file (%s); give a regular file", what,
		                  kind(st.st_mode));
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int fl_fs_check_regular(const char *opt, const char *path, struct fl_err *e)
{
	struct stat st;
	if (!path || strcmp(path, "-") == 0 || (stat(path, &st) < 0 && errno == ENOENT))
		return 0;
	int fd = fl_fs_open_regular(opt, path, 0, e);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int fl_fs_read_opt(const char *opt, const char *path, size_t max, char **out, size_t *len, struct fl_err *e)
{
	int fd = fl_fs_open_regular(opt, path, 0, e);
	if (fd < 0)
		return -1;
	char what[4200];
	name(what, sizeof what, opt, path);
	struct fl_buf b = FL_BUF_INIT;
	char chunk[65536];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			close(fd);
			fl_buf_free(&b);
			return fl_err_sys(e, saved, "cannot read %s", what);
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			close(fd);
			if (b.data)
				explicit_bzero(b.data, b.len);
			fl_buf_free(&b);
			return fl_err_set(e, FL_EXIT_FAIL, "%s is larger than %zu bytes; refusing to read it",
			                  what, max);
		}
		fl_buf_add(&b, chunk, (size_t)n);
	}
	explicit_bzero(chunk, sizeof chunk);
	close(fd);
	if (!b.data)
		fl_buf_add(&b, "", 0);
	*out = b.data;
	if (len)
		*len = b.len;
	return 0;
}

int fl_fs_read(const char *path, size_t max, char **out, size_t *len, struct fl_err *e)
{
	return fl_fs_read_opt(NULL, path, max, out, len, e);
}

int fl_fs_lock_dir(const char *path, struct fl_err *e)
{
	return fl_fs_lock_dir_wait(path, FL_FS_LOCK_WAIT_MS, "another run", e);
}

/* The process holding a flock on fd's file, from /proc/locks; 0 when unknown. */
static long lock_holder(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return 0;
	FILE *f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	char line[256];
	long pid = 0;
	/* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters ("1: -> FLOCK") are skipped. */
	while (!pid && fgets(line, sizeof line, f)) {
		char *save = NULL, *tok[6], *end;
		int n = 0;
		for (char *t = strtok_r(line, " \t\n", &save); t && n < 6; t = strtok_r(NULL, " \t\n", &save))
			tok[n++] = t;
		if (n < 6 || strcmp(tok[1], "FLOCK") != 0)
			continue;
		long p = strtol(tok[4], &end, 10);
		if (*end || p <= 0)
			continue;
		unsigned long maj = strtoul(tok[5], &end, 16);
		if (*end != ':')
			continue;
		unsigned long min = strtoul(end + 1, &end, 16);
		if (*end != ':')
			continue;
		unsigned long ino = strtoul(end + 1, &end, 10);
		if (!*end && ino == (unsigned long)st.st_ino && maj == major(st.st_dev) &&
		    min == minor(st.st_dev))
			pid = p;
	}
	fclose(f);
	return pid;
}

int fl_fs_lock_fd(int fd, const struct fl_fs_lock_wait *w, struct fl_err *e)
{
	/* Never a silent wait, never an endless one: say who we wait for, give up at the bound. */
	uint64_t t0 = fl_clock_now_ms(NULL);
	bool said = false;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		if (err == EINTR)
			continue;
		if (err != EWOULDBLOCK)
			return fl_err_sys(e, err, "cannot lock %s", w->path);
		char who[48];
		long pid = lock_holder(fd);
		if (pid > 0)
			snprintf(who, sizeof who, "process %ld", pid);
		else
			snprintf(who, sizeof who, "%s", w->holder);
		uint64_t waited = fl_clock_now_ms(NULL) - t0;
		if (waited >= (uint64_t)(w->timeout_ms > 0 ? w->timeout_ms : 0)) {
			w->gave_up(w, who, waited, e);
			e->code = FL_EXIT_TIMEOUT;
			return -1;
		}
		if (!said)
			w->waiting(w, who);
		said = true;
		fl_clock_sleep_ms(NULL, 50);
	}
	return 0;
}

static void dir_waiting(const struct fl_fs_lock_wait *w, const char *who)
{
	(void)who;
	fl_info("waiting for %s to release the lock on %s (at most %ld s)", w->holder, w->path,
	        w->timeout_ms / 1000);
}

static void dir_gave_up(const struct fl_fs_lock_wait *w, const char *who, uint64_t waited_ms,
                        struct fl_err *e)
{
	char pid[64] = "";
	if (strcmp(who, w->holder) != 0)
		snprintf(pid, sizeof pid, "%s; ", who);
	fl_err_set(e, FL_EXIT_TIMEOUT,
	           "%s held the lock on %s for %.0f s: gave up waiting; check for a hung run "
	           "(%sfuser -v %s) and try again",
	           w->holder, w->path, (double)waited_ms / 1000, pid, w->path);
}

int fl_fs_lock_dir_wait(const char *path, long timeout_ms, const char *holder, struct fl_err *e)
{
	char *copy = fl_xstrdup(path);
	char *slash = strrchr(copy, '/');
	if (slash)
		*(slash == copy ? slash + 1 : slash) = '\0';
	const char *dir = slash ? copy : ".";
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fl_err_sys(e, errno, "cannot open the directory of %s", path);
		free(copy);
		return -1;
	}
	struct fl_fs_lock_wait w = {dir, holder, timeout_ms, dir_waiting, dir_gave_up, NULL};
	int rc = fl_fs_lock_fd(fd, &w, e);
	free(copy);
	if (rc < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* name is lead followed by the six characters mkstemp puts in place of XXXXXX. */
static bool temp_name(const char *name, const char *lead)
{
	size_t n = strlen(lead);
	return strncmp(name, lead, n) == 0 && strlen(name + n) == 6 && !strchr(name + n, '.');
}

void fl_fs_clean_temps(const char *path)
{
	char *dir = fl_xstrdup(path);
	char *slash = strrchr(dir, '/');
	const char *base = slash ? slash + 1 : path;
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	struct fl_buf lead = FL_BUF_INIT;
	fl_buf_addf(&lead, ".%s.", base);
	DIR *dh = opendir(slash ? dir : ".");
	if (dh) {
		struct dirent *de;
		while ((de = readdir(dh)) != NULL) {
			struct stat st;
			/* Regular files only, never followed: a symlink of that name is not ours. */
			if (temp_name(de->d_name, lead.data) &&
			    fstatat(dirfd(dh), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode))
				unlinkat(dirfd(dh), de->d_name, 0);
		}
		closedir(dh);
	}
	fl_buf_free(&lead);
	free(dir);
}

DIR *fl_fs_opendir_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name ? name : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d && fd >= 0) {
		int err = errno;
		close(fd);
		errno = err;
	}
	return d;
}
