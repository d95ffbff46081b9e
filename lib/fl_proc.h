/* fl_proc: argv vectors and child processes without a shell. */
#ifndef FL_PROC_H
#define FL_PROC_H

#include "fl_buf.h"
#include "fl_err.h"

#include <stddef.h>
#include <sys/types.h>

struct fl_argv {
	char **v; /* NULL-terminated */
	size_t n;
	size_t cap;
};

#define FL_ARGV_INIT                                                                                         \
	{                                                                                                    \
		NULL, 0, 0                                                                                   \
	}

void fl_argv_add(struct fl_argv *a, const char *s);
void fl_argv_addf(struct fl_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fl_argv_free(struct fl_argv *a);

/* Start argv[0] (looked up in PATH) with stdin from /dev/null. envp NULL = inherit. */
int fl_proc_spawn(char *const argv[], char *const envp[], pid_t *pid, struct fl_err *e);

/* Wait for pid at most timeout_ms (<0: forever). Returns 0 and the exit status (or 128+signal),
 * or -1 with FL_EXIT_TIMEOUT after killing the child with SIGKILL. */
int fl_proc_wait(pid_t pid, long timeout_ms, int *status, struct fl_err *e);

/* spawn + wait. */
int fl_proc_run(char *const argv[], long timeout_ms, int *status, struct fl_err *e);
/* spawn + wait, stdout and stderr together into out (at most max bytes kept; the rest is
 * read and dropped so the child never blocks). envp NULL = inherit. */
int fl_proc_capture(char *const argv[], char *const envp[], long timeout_ms, size_t max, struct fl_buf *out,
                    int *status, struct fl_err *e);
/* Start argv[0] in a session of its own (so one signal to -pid reaches its children), in
 * directory cwd (NULL: unchanged), stdout and stderr appended to log_path (created 0640),
 * stdin from /dev/null. The caller does not wait: the child outlives it. */
int fl_proc_spawn_session(char *const argv[], char *const envp[], const char *cwd, const char *log_path,
                          pid_t *pid, struct fl_err *e);

#endif
