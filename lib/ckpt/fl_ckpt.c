/* fl_ckpt: opening a checkpoint directory (lock, stale temp files), its creation, the container
 * path mapping and the spec's save trigger. */
#include "fl_ckpt.h"

#include "fl_fs.h"
#include "fl_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

void fl_ckpt_temp_name(char out[FL_CKPT_TEMP_LEN])
{
	unsigned char r[8];
	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
		/* Only uniqueness matters (O_EXCL refuses a clash); the clock serves then. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		memcpy(r, &ts.tv_nsec, sizeof r < sizeof ts.tv_nsec ? sizeof r : sizeof ts.tv_nsec);
	}
	snprintf(out, FL_CKPT_TEMP_LEN,
	         FL_CKPT_TEMP_PREFIX "%ld.%02x%02x%02x%02x%02x%02x%02x%02x" FL_CKPT_TEMP_SUFFIX,
	         (long)getpid(), r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

void fl_ckpt_owner(const struct fl_ckpt *ck, uid_t *uid, gid_t *gid)
{
	bool mine = ck->uid == geteuid() && ck->gid == getegid();
	*uid = mine ? FL_OWNER_KEEP : ck->uid;
	*gid = mine ? (gid_t)-1 : ck->gid;
}

/* The pid of a name .fl-ckpt.<pid>.<anything>.tmp (or .fl-ckpt.<pid>.tmp), or 0 when the name
 * is not one. */
static pid_t temp_pid(const char *name)
{
	size_t lead = strlen(FL_CKPT_TEMP_PREFIX), trail = strlen(FL_CKPT_TEMP_SUFFIX);
	size_t n = strlen(name);
	if (n < lead + trail + 2 || strncmp(name, FL_CKPT_TEMP_PREFIX, lead) != 0 ||
	    strcmp(name + n - trail, FL_CKPT_TEMP_SUFFIX) != 0)
		return 0;
	long pid = 0;
	const char *p = name + lead;
	for (; *p >= '0' && *p <= '9' && pid < 100000000; p++)
		pid = pid * 10 + (*p - '0');
	if (p == name + lead || *p != '.' || pid < 1 || pid >= 100000000 || p > name + n - trail)
		return 0;
	return (pid_t)pid;
}

/* A stale staging directory: the regular files and links directly inside, then itself; no
 * recursion and nothing followed. */
static void remove_stage(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)))
			unlinkat(fd, de->d_name, 0);
	}
	closedir(d);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		fl_warn("cannot remove the stale staging directory %s: %s; remove it by hand", name,
		        strerror(errno));
}

static void clean_own_temps(const struct fl_ckpt *ck)
{
	int fd = dup(ck->dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t pid = temp_pid(de->d_name);
		struct stat st;
		if (!pid || kill(pid, 0) == 0 || errno != ESRCH ||
		    fstatat(ck->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			remove_stage(ck->dirfd, de->d_name);
		else if (unlinkat(ck->dirfd, de->d_name, 0) == 0)
			fl_info("removed %s/%s, left by process %ld (no longer running)", ck->dir, de->d_name,
			        (long)pid);
	}
	closedir(d);
}

void fl_ckpt_clean_temps(const struct fl_ckpt *ck)
{
	clean_own_temps(ck);
	fl_manifest_clean_temps(ck->dir);
	size_t n = strlen(ck->dir) + sizeof FL_CKPT_META + 2;
	char *meta = malloc(n);
	if (meta) {
		snprintf(meta, n, "%s/%s", ck->dir, FL_CKPT_META);
		fl_fs_clean_temps(meta);
		free(meta);
	}
}

int fl_ckpt_open(struct fl_ckpt *ck, const char *dir, bool mutate, long lock_timeout_ms, uid_t uid, gid_t gid,
                 struct fl_err *e)
{
	*ck = (struct fl_ckpt){.dirfd = -1, .lockfd = -1, .uid = uid, .gid = gid, .m = FL_MANIFEST_INIT};
	ck->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ck->dirfd < 0) {
		int err = errno;
		if (err == ELOOP || err == ENOTDIR)
			return fl_err_set(
			    e, FL_EXIT_FAIL,
			    "%s is not a directory (or is a symbolic link); give the checkpoint "
			    "directory itself (--dir)",
			    dir);
		return fl_err_sys(e, err, "cannot open the checkpoint directory %s%s", dir,
		                  err == ENOENT ? " (create it with fl-ckpt init)" : "");
	}
	ck->dir = strdup(dir);
	if (!ck->dir)
		abort();
	if (mutate) {
		ck->lockfd = fl_manifest_lock(dir, lock_timeout_ms, e);
		if (ck->lockfd < 0) {
			fl_ckpt_close(ck);
			return -1;
		}
		/* The container's saver takes the same lock: the lock file is its owner's too. */
		uid_t u;
		gid_t g;
		fl_ckpt_owner(ck, &u, &g);
		if (u != FL_OWNER_KEEP && fchown(ck->lockfd, u, g) < 0)
			fl_warn("cannot give %s/%s to %ld:%ld: %s", dir, FL_MANIFEST_LOCK_NAME, (long)u,
			        (long)g, strerror(errno));
		fl_ckpt_clean_temps(ck);
	}
	if (fl_manifest_load(dir, &ck->m, NULL, e) < 0) {
		fl_ckpt_close(ck);
		return -1;
	}
	return 0;
}

void fl_ckpt_close(struct fl_ckpt *ck)
{
	if (ck->dirfd >= 0)
		close(ck->dirfd);
	if (ck->lockfd >= 0)
		close(ck->lockfd);
	free(ck->dir);
	fl_manifest_free(&ck->m);
	ck->dir = NULL;
	ck->dirfd = ck->lockfd = -1;
}

int fl_ckpt_init_dir(const char *dir, uid_t uid, gid_t gid, struct fl_err *e)
{
	return fl_fs_mkdir_p(dir, 0755, uid, gid, e);
}

/* Each component of s (after the leading '/') is a name: not empty, not "." or "..". */
static bool plain_path(const char *s)
{
	if (s[0] != '/')
		return false;
	for (const char *p = s + 1; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += n;
		if (*p == '/' && *++p == '\0')
			return false;
	}
	return true;
}

int fl_ckpt_host_path(const char *container_path, char *out, size_t size, struct fl_err *e)
{
	size_t base = strlen(FL_CKPT_CONTAINER_DIR), n = strlen(container_path);
	while (n > 1 && container_path[n - 1] == '/')
		n--;
	char *p = strndup(container_path, n);
	if (!p)
		abort();
	int rc = 0;
	if (strncmp(p, FL_CKPT_HOST_DIR, strlen(FL_CKPT_HOST_DIR)) == 0 &&
	    (p[strlen(FL_CKPT_HOST_DIR)] == '\0' || p[strlen(FL_CKPT_HOST_DIR)] == '/'))
		rc = fl_err_set(e, FL_EXIT_USAGE,
		                "--container-path '%s' is the host directory; give the container path "
		                "(" FL_CKPT_CONTAINER_DIR "[/SUB], FL_CHECKPOINT_PATH) or use --dir",
		                container_path);
	else if (strncmp(p, FL_CKPT_CONTAINER_DIR, base) != 0 || (p[base] != '\0' && p[base] != '/') ||
	         !plain_path(p))
		rc = fl_err_set(e, FL_EXIT_USAGE,
		                "--container-path '%s' is not under " FL_CKPT_CONTAINER_DIR
		                " (the only container path mounted from the host, so nothing else "
		                "persists); set FL_CHECKPOINT_PATH to " FL_CKPT_CONTAINER_DIR "[/SUB]",
		                container_path);
	else if ((size_t)snprintf(out, size, "%s%s", FL_CKPT_HOST_DIR, p + base) >= size)
		rc = fl_err_set(e, FL_EXIT_USAGE, "--container-path '%s' is too long", container_path);
	free(p);
	return rc;
}

bool fl_ckpt_should_save(long round, long interval, long total)
{
	if (round <= 0)
		return false;
	return round == total || (interval > 0 && round % interval == 0);
}
