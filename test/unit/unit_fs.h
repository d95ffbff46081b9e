/* unit_fs.h: for the unit tests that write files: a scratch directory, what a directory holds,
 * and a writer frozen at an exact byte of its write, to be killed there. */
#ifndef UNIT_FS_H
#define UNIT_FS_H

#include "fl_buf.h"

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static char unit_root[64]; /* the scratch directory of unit_fs_init */

/* Make the scratch directory /tmp/<name>-XXXXXX; 0, or -1 when it cannot be made. */
static inline int unit_fs_init(const char *name)
{
	snprintf(unit_root, sizeof unit_root, "/tmp/%s-XXXXXX", name);
	return mkdtemp(unit_root) ? 0 : -1;
}

/* dir/rel (caller frees). */
static inline char *unit_path(const char *dir, const char *rel)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", dir, rel) < 0)
		abort();
	return p;
}

/* rel under the scratch directory (caller frees). */
static inline char *path_of(const char *rel)
{
	return unit_path(unit_root, rel);
}

/* Names in dir, sorted, space-separated ("" when empty; caller frees). */
static inline char *listing(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	struct fl_buf b = FL_BUF_INIT;
	fl_buf_add(&b, "", 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0)
			fl_buf_addf(&b, "%s%s", b.len ? " " : "", names[i]->d_name);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return b.data;
}

/* Remove the files in dir (not below); dir stays. */
static inline void unit_empty(const char *dir)
{
	char *l = listing(dir);
	for (char *t = strtok(l, " "); t; t = strtok(NULL, " ")) {
		char *p = unit_path(dir, t);
		unlink(p);
		free(p);
	}
	free(l);
}

/* Remove the files in dir (not below), then dir. */
static inline void rm_all(const char *dir)
{
	unit_empty(dir);
	rmdir(dir);
}

/* The freeze point: the file size limit stops the child's write after `at` bytes; SIGXFSZ then
 * runs this handler inside write(), before any fsync or rename. It tells the parent (one byte
 * on the pipe) and waits there to be killed. */
static int unit_crash_pipe = -1;

static inline void unit_frozen_mid_write(int sig)
{
	(void)sig;
	char c = 'w';
	if (write(unit_crash_pipe, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

/* Run fn(ctx) in a child whose writes to files stop at `at` bytes (RLIMIT_FSIZE), where it
 * freezes. Returns the child's pid; *froze says whether it reached the point (false: fn ended
 * first). The caller looks at the files, then unit_kill(pid). */
static inline pid_t unit_freeze_at(size_t at, void (*fn)(void *), void *ctx, bool *froze)
{
	int p[2];
	if (pipe(p) < 0)
		abort();
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		close(p[0]);
		unit_crash_pipe = p[1];
		struct rlimit core = {0, 0}, fsize = {at, RLIM_INFINITY};
		setrlimit(RLIMIT_CORE, &core);
		signal(SIGXFSZ, unit_frozen_mid_write);
		if (setrlimit(RLIMIT_FSIZE, &fsize) < 0)
			_exit(4);
		fn(ctx);
		_exit(5);
	}
	close(p[1]);
	char c = 0;
	*froze = read(p[0], &c, 1) == 1; /* EOF when the child ended without reaching the point */
	close(p[0]);
	return pid;
}

/* SIGKILL pid and reap it; true when it died of that signal. */
static inline bool unit_kill(pid_t pid)
{
	kill(pid, SIGKILL);
	int ws = 0;
	waitpid(pid, &ws, 0);
	return WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL;
}

#endif
