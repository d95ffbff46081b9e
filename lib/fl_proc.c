/* fl_proc: argv vectors and child processes without a shell. */
#include "fl_proc.h"

#include "fl_buf.h"
#include "fl_retry.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

void fl_argv_add(struct fl_argv *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->v = fl_xrealloc(a->v, a->cap * sizeof *a->v);
	}
	a->v[a->n++] = fl_xstrdup(s);
	a->v[a->n] = NULL;
}

void fl_argv_addf(struct fl_argv *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	fl_argv_add(a, s);
	free(s);
}

void fl_argv_free(struct fl_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

int fl_proc_spawn(char *const argv[], char *const envp[], pid_t *pid, struct fl_err *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	int r = posix_spawnp(pid, argv[0], &fa, NULL, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return fl_err_sys(e, r, "cannot run %s", argv[0]);
	return 0;
}

int fl_proc_wait(pid_t pid, long timeout_ms, int *status, struct fl_err *e)
{
	uint64_t start = fl_clock_now_ms(NULL);
	long delay = 1;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, timeout_ms < 0 ? 0 : WNOHANG);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return fl_err_sys(e, errno, "cannot wait for process %ld", (long)pid);
		}
		if (r == pid) {
			*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			return 0;
		}
		if (fl_clock_now_ms(NULL) - start >= (uint64_t)timeout_ms) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			return fl_err_set(e, FL_EXIT_TIMEOUT,
			                  "process %ld did not finish within %ld ms; killed it", (long)pid,
			                  timeout_ms);
		}
		/* Poll with a short growing sleep: no SIGCHLD handler is imposed on the caller. */
		struct timespec ts = {0, delay * 1000000L};
		nanosleep(&ts, NULL);
		if (delay < 50)
			delay *= 2;
	}
}

int fl_proc_run(char *const argv[], long timeout_ms, int *status, struct fl_err *e)
{
	pid_t pid;
	if (fl_proc_spawn(argv, NULL, &pid, e) < 0)
		return -1;
	return fl_proc_wait(pid, timeout_ms, status, e);
}
