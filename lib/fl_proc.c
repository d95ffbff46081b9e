/* fl_proc: argv vectors and child processes without a shell. */
#include "fl_proc.h"

#include "fl_buf.h"
#include "fl_retry.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

int fl_proc_capture(char *const argv[], char *const envp[], long timeout_ms, size_t max, struct fl_buf *out,
                    int *status, struct fl_err *e)
{
	int fd[2];
	if (pipe2(fd, O_CLOEXEC) < 0)
		return fl_err_sys(e, errno, "cannot run %s: pipe", argv[0]);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fd[1], 2);
	pid_t pid;
	int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	if (r != 0) {
		close(fd[0]);
		return fl_err_sys(e, r, "cannot run %s", argv[0]);
	}
	/* Read until EOF or the deadline; a child that outlives the deadline is killed by
	 * fl_proc_wait below. */
	uint64_t start = fl_clock_now_ms(NULL);
	fcntl(fd[0], F_SETFL, O_NONBLOCK);
	char chunk[4096];
	for (;;) {
		ssize_t n = read(fd[0], chunk, sizeof chunk);
		if (n > 0) {
			if (out->len < max)
				fl_buf_add(out, chunk,
				           (size_t)n < max - out->len ? (size_t)n : max - out->len);
			continue;
		}
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
		uint64_t spent = fl_clock_now_ms(NULL) - start;
		if (timeout_ms >= 0 && spent >= (uint64_t)timeout_ms)
			break;
		struct pollfd p = {fd[0], POLLIN, 0};
		long wait = timeout_ms < 0 ? 1000 : timeout_ms - (long)spent;
		poll(&p, 1, (int)(wait > 1000 ? 1000 : wait));
	}
	close(fd[0]);
	long left = timeout_ms < 0 ? -1 : timeout_ms - (long)(fl_clock_now_ms(NULL) - start);
	return fl_proc_wait(pid, timeout_ms < 0 ? -1 : (left > 100 ? left : 100), status, e);
}

int fl_proc_spawn_session(char *const argv[], char *const envp[], const char *cwd, const char *log_path,
                          pid_t *pid, struct fl_err *e)
{
	int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (log < 0)
		return fl_err_sys(e, errno, "cannot open log file %s", log_path);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	sigset_t none, def;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, log, 1);
	posix_spawn_file_actions_adddup2(&fa, log, 2);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	int r = posix_spawnp(pid, argv[0], &fa, &at, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(log);
	if (r != 0)
		return fl_err_sys(e, r, "cannot run %s", argv[0]);
	return 0;
}
