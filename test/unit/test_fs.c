/* test_fs: atomic writes survive kills, directories get their mode, reads are bounded. */
#include "fl_buf.h"
#include "fl_err.h"
#include "fl_fs.h"
#include "unit.h"
#include "unit_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static bool file_is(const char *path, const void *data, size_t len)
{
	char *got;
	size_t n;
	if (fl_fs_read(path, len + 1, &got, &n, NULL) < 0)
		return false;
	bool ok = n == len && memcmp(got, data, len) == 0;
	free(got);
	return ok;
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void test_write_atomic(void)
{
	char *dir = path_of("w");
	mkdir(dir, 0755);
	char *f = path_of("w/config.env");
	struct fl_err e;
	CHECK(fl_fs_write_atomic(f, "A=1\n", 4, 0600, FL_OWNER_KEEP, (gid_t)-1, &e) == 0,
	      "write_atomic: new file");
	CHECK(file_is(f, "A=1\n", 4), "write_atomic: content");
	CHECK_INT(mode_of(f), 0600, "write_atomic: mode 0600");
	char *l = listing(dir);
	CHECK_STR(l, "config.env", "write_atomic: no temporary file left behind");
	free(l);

	struct stat before, after;
	stat(f, &before);
	mode_t old = umask(0077);
	CHECK(fl_fs_write_atomic(f, "B=22\n", 5, 0644, FL_OWNER_KEEP, (gid_t)-1, &e) == 0,
	      "write_atomic: replace");
	umask(old);
	stat(f, &after);
	CHECK(file_is(f, "B=22\n", 5), "write_atomic: replaced content");
	CHECK_INT(mode_of(f), 0644, "write_atomic: mode 0644 whatever the umask");
	CHECK(before.st_ino != after.st_ino, "write_atomic: the file was replaced by rename, not rewritten");
	CHECK(fl_fs_write_atomic(f, "", 0, 0600, FL_OWNER_KEEP, (gid_t)-1, &e) == 0 && file_is(f, "", 0),
	      "write_atomic: empty content");
	l = listing(dir);
	CHECK_STR(l, "config.env", "write_atomic: still one file");
	free(l);

	if (geteuid() == 0) {
		CHECK(fl_fs_write_atomic(f, "x", 1, 0640, 49999, 49999, &e) == 0,
		      "write_atomic: owner 49999:49999");
		struct stat st;
		CHECK(stat(f, &st) == 0 && st.st_uid == 49999 && st.st_gid == 49999,
		      "write_atomic: owner applied");
	} else {
		CHECK(fl_fs_write_atomic(f, "x", 1, 0640, 0, 0, &e) < 0 && strstr(e.msg, f),
		      "write_atomic: chown refused fails with the path");
		l = listing(dir);
		CHECK_STR(l, "config.env", "write_atomic: no temporary file left after a chown failure");
		free(l);
	}

	/* A rename onto a directory fails after the temp file exists: it must be removed. */
	char *sub = path_of("w/adir");
	mkdir(sub, 0755);
	CHECK(fl_fs_write_atomic(sub, "x", 1, 0600, FL_OWNER_KEEP, (gid_t)-1, &e) < 0 && strstr(e.msg, sub),
	      "write_atomic: onto a directory fails, naming the path");
	l = listing(dir);
	CHECK_STR(l, "adir config.env", "write_atomic: no temporary file left after a failed rename");
	free(l);
	rmdir(sub);
	free(sub);

	char *missing = path_of("nodir/x.env");
	CHECK(fl_fs_write_atomic(missing, "x", 1, 0600, FL_OWNER_KEEP, (gid_t)-1, &e) < 0 &&
	          strstr(e.msg, missing) && e.code == FL_EXIT_FAIL,
	      "write_atomic: a missing directory fails, naming the path");
	char *nodir = path_of("nodir");
	CHECK(access(nodir, F_OK) < 0 && errno == ENOENT, "write_atomic: a missing directory is not created");
	free(nodir);
	free(missing);

	/* A relative path writes beside it in the working directory. */
	char cwd[4096];
	if (getcwd(cwd, sizeof cwd) && chdir(dir) == 0) {
		CHECK(fl_fs_write_atomic("rel.env", "r", 1, 0600, FL_OWNER_KEEP, (gid_t)-1, &e) == 0 &&
		          file_is("rel.env", "r", 1),
		      "write_atomic: relative path");
		unlink("rel.env");
		CHECK(chdir(cwd) == 0, "back to the working directory");
	}
	unlink(f);
	rmdir(dir);
	free(f);
	free(dir);
}

static void test_mkdir_p(void)
{
	struct fl_err e;
	char *deep = path_of("m/a/b/c");
	CHECK(fl_fs_mkdir_p(deep, 0700, FL_OWNER_KEEP, (gid_t)-1, &e) == 0, "mkdir_p: nested creation");
	struct stat st;
	CHECK(stat(deep, &st) == 0 && S_ISDIR(st.st_mode), "mkdir_p: the last component is a directory");
	CHECK_INT(mode_of(deep), 0700, "mkdir_p: the last component gets the mode");
	char *mid = path_of("m/a/b");
	CHECK(stat(mid, &st) == 0 && S_ISDIR(st.st_mode), "mkdir_p: parents exist");
	CHECK(fl_fs_mkdir_p(deep, 0750, FL_OWNER_KEEP, (gid_t)-1, &e) == 0,
	      "mkdir_p: an existing directory is fine");
	CHECK_INT(mode_of(deep), 0750, "mkdir_p: the mode is applied to an existing directory too");
	char *slashes = path_of("m/a/b/c///");
	CHECK(fl_fs_mkdir_p(slashes, 0700, FL_OWNER_KEEP, (gid_t)-1, &e) == 0 && mode_of(deep) == 0700,
	      "mkdir_p: trailing slashes");
	free(slashes);
	if (geteuid() == 0) {
		CHECK(fl_fs_mkdir_p(deep, 0700, 49999, 49999, &e) == 0 && stat(deep, &st) == 0 &&
		          st.st_uid == 49999 && st.st_gid == 49999,
		      "mkdir_p: owner of the last component");
	}

	char *file = path_of("m/file");
	fl_fs_write_atomic(file, "x", 1, 0600, FL_OWNER_KEEP, (gid_t)-1, NULL);
	char *under = path_of("m/file/sub");
	CHECK(fl_fs_mkdir_p(under, 0700, FL_OWNER_KEEP, (gid_t)-1, &e) < 0 && strstr(e.msg, file),
	      "mkdir_p: a regular file in the way fails, naming it");
	DIAG("message: %s", e.msg);
	CHECK(fl_fs_mkdir_p(file, 0700, FL_OWNER_KEEP, (gid_t)-1, &e) < 0 && strstr(e.msg, file) &&
	          strstr(e.msg, "not a directory"),
	      "mkdir_p: a regular file as the last component fails");
	CHECK(fl_fs_mkdir_p("", 0700, FL_OWNER_KEEP, (gid_t)-1, &e) < 0, "mkdir_p: empty path fails");
	free(under);
	unlink(file);
	free(file);
	rmdir(deep);
	rmdir(mid);
	free(mid);
	char *a = path_of("m/a"), *m = path_of("m");
	rmdir(a);
	rmdir(m);
	free(a);
	free(m);
	free(deep);
}

/* A symlink in the last component is refused, and its target keeps its mode. */
static void test_mkdir_symlink(void)
{
	struct fl_err e = {0};
	char *target = path_of("symtarget"), *link = path_of("symlink");
	mkdir(target, 0755);
	CHECK(symlink(target, link) == 0, "mkdir_p: a symlink to a directory is set up");
	CHECK(fl_fs_mkdir_p(link, 0700, FL_OWNER_KEEP, (gid_t)-1, &e) < 0, "mkdir_p: a symlink is refused");
	CHECK(strstr(e.msg, "symlink") != NULL, "mkdir_p: the message says why");
	struct stat st;
	CHECK(stat(target, &st) == 0 && (st.st_mode & 07777) == 0755,
	      "mkdir_p: the symlink target is untouched");
	unlink(link);
	rmdir(target);
	free(target);
	free(link);
}

static void test_read(void)
{
	struct fl_err e;
	char *f = path_of("r.txt");
	char data[100];
	memset(data, 'r', sizeof data);
	fl_fs_write_atomic(f, data, sizeof data, 0600, FL_OWNER_KEEP, (gid_t)-1, NULL);
	char *out = NULL;
	size_t n = 0;
	CHECK(fl_fs_read(f, 100, &out, &n, &e) == 0 && n == 100 && out[100] == '\0' &&
	          memcmp(out, data, 100) == 0,
	      "read: a file of exactly the limit, NUL-terminated");
	free(out);
	out = NULL;
	CHECK(fl_fs_read(f, 99, &out, &n, &e) < 0 && !out && strstr(e.msg, f) && strstr(e.msg, "99"),
	      "read: one byte over the limit is refused, naming the path and limit");
	CHECK(fl_fs_read(f, 100, &out, NULL, &e) == 0, "read: len may be NULL");
	free(out);
	fl_fs_write_atomic(f, "", 0, 0600, FL_OWNER_KEEP, (gid_t)-1, NULL);
	CHECK(fl_fs_read(f, 10, &out, &n, &e) == 0 && n == 0 && out && out[0] == '\0',
	      "read: empty file is \"\"");
	free(out);
	unlink(f);

	CHECK(fl_fs_read(unit_root, 1 << 20, &out, &n, &e) < 0 && strstr(e.msg, unit_root) &&
	          strstr(e.msg, "regular"),
	      "read: a directory is refused");
	CHECK(fl_fs_read("/dev/null", 1 << 20, &out, &n, &e) < 0 && strstr(e.msg, "/dev/null"),
	      "read: a device is refused");
	CHECK(fl_fs_read(f, 10, &out, &n, &e) < 0 && strstr(e.msg, f) && strstr(e.msg, "No such file"),
	      "read: a missing file names the path and the reason");

	/* A FIFO with no writer must be refused, not waited on forever. */
	char *fifo = path_of("fifo");
	if (mkfifo(fifo, 0600) == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(3);
			char *o = NULL;
			size_t len;
			int r = fl_fs_read(fifo, 100, &o, &len, NULL);
			/* Free before _exit: valgrind checks the child for leaks too. */
			free(o);
			free(fifo);
			free(f);
			_exit(r < 0 ? 0 : 1);
		}
		int st = 0;
		waitpid(pid, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "read: a FIFO is refused without blocking");
		if (WIFSIGNALED(st))
			DIAG("the child was killed by signal %d: fl_fs_read blocked in open() on the FIFO",
			     WTERMSIG(st));
		unlink(fifo);
	}
	free(fifo);
	free(f);
}

/* The first entry of dir other than keep that starts with prefix, NULL when none (caller frees). */
static char *other_entry(const char *dir, const char *keep, const char *prefix)
{
	char *l = listing(dir), *found = NULL;
	for (char *t = strtok(l, " "); t && !found; t = strtok(NULL, " "))
		if (strcmp(t, keep) != 0 && strncmp(t, prefix, strlen(prefix)) == 0)
			found = strdup(t);
	free(l);
	return found;
}

struct write_job {
	const char *path, *data;
	size_t n;
};

static void write_new(void *ctx)
{
	const struct write_job *j = ctx;
	fl_fs_write_atomic(j->path, j->data, j->n, 0600, FL_OWNER_KEEP, (gid_t)-1, NULL);
}

/* Kill a writer of new (n bytes) over path exactly when `at` bytes of its temp file are
 * written (at < n); check that the kill landed there, that path still holds old (or is
 * still absent when old is NULL), then clean the temp file as the next writer would. */
static void kill_mid_write(const char *dir, const char *path, const char *old, size_t oldn, const char *new,
                           size_t n, size_t at)
{
	struct write_job job = {path, new, n};
	bool froze = false;
	pid_t pid = unit_freeze_at(at, write_new, &job, &froze);
	/* The child is frozen inside the write: look before and after the kill. */
	const char *base = strrchr(path, '/') + 1;
	char prefix[64];
	snprintf(prefix, sizeof prefix, ".%s.", base);
	char *tmp = other_entry(dir, base, prefix);
	char *tpath = NULL;
	struct stat st = {0};
	if (tmp && asprintf(&tpath, "%s/%s", dir, tmp) < 0)
		abort();
	bool partial = froze && tpath && stat(tpath, &st) == 0 && (size_t)st.st_size == at;
	CHECK(unit_kill(pid) && partial,
	      "crash safety: the writer is killed with %zu of %zu bytes in its temp file (%s)", at, n,
	      tmp ? tmp : "no temp file");
	char *data = NULL;
	size_t dn = 0;
	bool head = tpath && fl_fs_read(tpath, n, &data, &dn, NULL) == 0;
	CHECK(head && dn == at && memcmp(data, new, at) == 0,
	      "crash safety: the temp file holds the new content's first %zu bytes", at);
	if (head)
		free(data);
	if (old)
		CHECK(file_is(path, old, oldn), "crash safety: killed mid-write, the old content is intact");
	else
		CHECK(access(path, F_OK) < 0 && errno == ENOENT,
		      "crash safety: killed mid-write of a new file, no file at the target");
	fl_fs_clean_temps(path);
	char *left = other_entry(dir, base, prefix);
	CHECK(left == NULL, "crash safety: fl_fs_clean_temps removes the killed writer's temp file");
	free(left);
	free(tpath);
	free(tmp);
}

static void test_kill_mid_write(void)
{
	const size_t na = 300 * 1024, nb = 450 * 1024;
	char *a = malloc(na), *b = malloc(nb);
	for (size_t i = 0; i < na; i++)
		a[i] = (char)('A' + i % 7);
	for (size_t i = 0; i < nb; i++)
		b[i] = (char)('a' + i % 11);
	char *dir = path_of("midwrite");
	mkdir(dir, 0755);
	char *f = path_of("midwrite/state");
	kill_mid_write(dir, f, NULL, 0, a, na, 4096);
	fl_fs_write_atomic(f, a, na, 0600, FL_OWNER_KEEP, (gid_t)-1, NULL);
	const size_t at[] = {1, 64 * 1024, nb - 1};
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
		kill_mid_write(dir, f, a, na, b, nb, at[i]);
	CHECK(fl_fs_write_atomic(f, b, nb, 0600, FL_OWNER_KEEP, (gid_t)-1, NULL) == 0 && file_is(f, b, nb),
	      "crash safety: the next writer replaces the file as usual");
	unlink(f);
	rmdir(dir);
	free(f);
	free(dir);
	free(a);
	free(b);
}

/* A child rewrites the file with two alternating contents until it is killed at a random
 * moment; the file must always hold one of them, whole. Where those kills land is chance:
 * test_kill_mid_write proves the points that matter. */
static void test_crash_safety(void)
{
	const size_t na = 300 * 1024, nb = 450 * 1024;
	char *a = malloc(na), *b = malloc(nb);
	for (size_t i = 0; i < na; i++)
		a[i] = (char)('A' + i % 7);
	for (size_t i = 0; i < nb; i++)
		b[i] = (char)('a' + i % 11);
	char *dir = path_of("crash");
	mkdir(dir, 0755);
	char *f = path_of("crash/state");
	fl_fs_write_atomic(f, a, na, 0600, FL_OWNER_KEEP, (gid_t)-1, NULL);
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	int iterations = 12, torn = 0, missing = 0, seen_a = 0, seen_b = 0;
	for (int it = 0; it < iterations; it++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			for (unsigned k = 0;; k++) {
				if (k % 2
				        ? fl_fs_write_atomic(f, a, na, 0600, FL_OWNER_KEEP, (gid_t)-1, NULL)
				        : fl_fs_write_atomic(f, b, nb, 0600, FL_OWNER_KEEP, (gid_t)-1, NULL))
					_exit(2);
			}
		}
		struct timespec ts = {0, (long)(1 + rand() % 40) * 1000000L};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int st;
		waitpid(pid, &st, 0);
		char *got;
		size_t n;
		if (fl_fs_read(f, nb + 1, &got, &n, NULL) < 0) {
			missing++;
			continue;
		}
		if (n == na && memcmp(got, a, na) == 0)
			seen_a++;
		else if (n == nb && memcmp(got, b, nb) == 0)
			seen_b++;
		else
			torn++;
		free(got);
	}
	DIAG("crash safety: %d kills, old/new content A %d, B %d", iterations, seen_a, seen_b);
	CHECK(missing == 0, "crash safety: the file always exists after a SIGKILL");
	CHECK(torn == 0, "crash safety: the file is always exactly one of the two contents");
	/* Temp files of killed writers may remain; they are hidden and never the target. */
	char *l = listing(dir);
	for (char *t = strtok(l, " "); t; t = strtok(NULL, " ")) {
		if (strcmp(t, "state") != 0) {
			char *p = NULL;
			if (asprintf(&p, "%s/%s", dir, t) >= 0)
				unlink(p);
			free(p);
		}
	}
	free(l);
	unlink(f);
	rmdir(dir);
	free(f);
	free(dir);
	free(a);
	free(b);
}

/* A held directory lock: the waiter gives up with FL_EXIT_TIMEOUT at its bound (0 ms: at
 * once, no sleep), and takes the lock once it is free. */
static void test_lock_dir_wait(void)
{
	char *dir = path_of("lk"), *file = path_of("lk/f");
	mkdir(dir, 0755);
	struct fl_err e = {0};
	int held = fl_fs_lock_dir(file, &e);
	CHECK(held >= 0, "lock_dir: a free directory is locked (%s)", e.msg);
	/* flock locks belong to the open file description: a second open conflicts. */
	int again = fl_fs_lock_dir_wait(file, 0, "the test", &e);
	CHECK_INT(again, -1, "lock_dir_wait: a held lock and no time to wait: -1");
	CHECK_INT(e.code, FL_EXIT_TIMEOUT, "lock_dir_wait: exit code 4 (timed out)");
	CHECK(strstr(e.msg, "the test held the lock on ") != NULL,
	      "lock_dir_wait: the message names the holder");
	char pid[64];
	snprintf(pid, sizeof pid, "(process %ld; fuser -v ", (long)getpid());
	CHECK(strstr(e.msg, pid) != NULL, "lock_dir_wait: and the process /proc/locks names: %s", e.msg);
	close(held);
	e = (struct fl_err){0};
	again = fl_fs_lock_dir_wait(file, 0, "the test", &e);
	CHECK(again >= 0, "lock_dir_wait: released, it is taken at once (%s)", e.msg);
	if (again >= 0)
		close(again);
	e = (struct fl_err){0};
	CHECK_INT(fl_fs_lock_dir_wait("/nonexistent-flkit/x", 0, "the test", &e), -1,
	          "lock_dir_wait: a missing directory is an error");
	rmdir(dir);
	free(dir);
	free(file);
}

/* fl_fs_opendir_at: a directory under a descriptor, never through a symlink, with an offset of
 * its own. */
static void test_opendir_at(void)
{
	char *dir = path_of("od"), *link = path_of("od-link"), *file = path_of("od/f");
	mkdir(dir, 0755);
	fl_fs_write_atomic(file, "x", 1, 0600, FL_OWNER_KEEP, (gid_t)-1, NULL);
	symlink("od", link);
	int top = open(unit_root, O_RDONLY | O_DIRECTORY);
	DIR *d = fl_fs_opendir_at(top, "od");
	int seen = 0;
	for (struct dirent *de; d && (de = readdir(d));)
		seen += strcmp(de->d_name, "f") == 0;
	CHECK(d && seen == 1, "opendir_at: reads the directory under the descriptor");
	if (d)
		closedir(d);
	errno = 0;
	CHECK(fl_fs_opendir_at(top, "od-link") == NULL && errno == ENOTDIR,
	      "opendir_at: a symlink to a directory is refused");
	errno = 0;
	CHECK(fl_fs_opendir_at(top, "od/f") == NULL && errno == ENOTDIR, "opendir_at: a file is refused");
	int odfd = openat(top, "od", O_RDONLY | O_DIRECTORY);
	DIR *a = fl_fs_opendir_at(odfd, NULL), *b = fl_fs_opendir_at(odfd, NULL);
	int na = 0, nb = 0;
	while (a && readdir(a))
		na++;
	while (b && readdir(b))
		nb++;
	CHECK(na == 3 && nb == 3,
	      "opendir_at: NULL opens the descriptor's own directory, each with its own "
	      "offset (%d, %d entries)",
	      na, nb);
	if (a)
		closedir(a);
	if (b)
		closedir(b);
	close(odfd);
	close(top);
	unlink(file);
	unlink(link);
	rmdir(dir);
	free(dir);
	free(link);
	free(file);
}

int main(void)
{
	if (unit_fs_init("fl-fs") < 0)
		return 1;
	test_write_atomic();
	test_mkdir_p();
	test_mkdir_symlink();
	test_read();
	test_kill_mid_write();
	test_crash_safety();
	test_lock_dir_wait();
	test_opendir_at();
	char *l = listing(unit_root);
	CHECK_STR(l, "", "the test directory is left empty");
	free(l);
	rmdir(unit_root);
	return unit_done();
}
