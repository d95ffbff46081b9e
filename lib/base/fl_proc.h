/* fl_proc: child processes without a shell, started from an argv (fl_argv.h). */
#ifndef FL_PROC_H
#define FL_PROC_H

#include "fl_argv.h"
#include "fl_buf.h"
#include "fl_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The environment of every child a tool starts (design decision 12): never inherited as a
 * whole. From base (NULL: this process's environment) only the allow-listed variables pass;
 * then the KEY=VALUE lines of extra (NULL: none; blank and '#' lines skipped) are added,
 * replacing a passed variable of the same name. A secret never passes, from either source.
 * PATH is always set (the usual system directories when neither source has it).
 * NULL-terminated; free with fl_proc_env_free. */
char **fl_proc_env_build(char *const base[], const char *extra);
void fl_proc_env_free(char **env);
/* The allow-list: PATH, HOME, LANG, LANGUAGE, LC_*, TZ, http_proxy, https_proxy, no_proxy
 * and their upper-case forms, and FLWR_* (what Flower reads). name is len bytes. */
bool fl_proc_env_allowed(const char *name, size_t len);
/* Secrets, kept from every child: the OneGate identity (TOKENTXT, ONEGATE_TOKEN, VMID,
 * ONEGATE_ENDPOINT), cloud credentials (AWS_*, S3_*), variables the registry marks secret
 * (and their ONEAPP_ form), and any name holding TOKEN, SECRET, PASSWORD, PASSWD or
 * CREDENTIAL or ending in _KEY. */
bool fl_proc_env_secret(const char *name, size_t len);

/* Start argv[0] (looked up in PATH) with stdin from /dev/null. envp NULL = fl_proc_env_build
 * (NULL, NULL), in every fl_proc_* function: a child never gets this process's environment. */
int fl_proc_spawn(char *const argv[], char *const envp[], pid_t *pid, struct fl_err *e);

/* Wait for pid at most timeout_ms (<0: forever). Returns 0 and the exit status (or 128+signal),
 * or -1 with FL_EXIT_TIMEOUT after killing the child with SIGKILL. */
int fl_proc_wait(pid_t pid, long timeout_ms, int *status, struct fl_err *e);

/* spawn + wait. */
int fl_proc_run(char *const argv[], long timeout_ms, int *status, struct fl_err *e);
/* spawn + wait, stdout and stderr together into out (at most max bytes kept; the rest is
 * read and dropped so the child never blocks). */
int fl_proc_capture(char *const argv[], char *const envp[], long timeout_ms, size_t max, struct fl_buf *out,
                    int *status, struct fl_err *e);
/* Start argv[0] in a session of its own (so one signal to -pid reaches its children), in
 * directory cwd (NULL: unchanged), stdout and stderr appended to log_path (created 0640; a
 * symlink, a file with another hard link or not a regular file is refused), stdin from
 * /dev/null. The caller does not wait: the child outlives it. */
int fl_proc_spawn_session(char *const argv[], char *const envp[], const char *cwd, const char *log_path,
                          pid_t *pid, struct fl_err *e);

#define FL_PROC_SAME_USER ((uid_t)-1)
/* The same, run as uid:gid with gid as its only group (FL_PROC_SAME_USER: as this process).
 * The identity changes in the child, before cwd and exec: setgroups, setgid, setuid. */
int fl_proc_spawn_session_as(char *const argv[], char *const envp[], const char *cwd, const char *log_path,
                             uid_t uid, gid_t gid, pid_t *pid, struct fl_err *e);
/* 0 when this process can start a child as uid:gid (root, or it is that user and group
 * already); else -1 with FL_EXIT_FAIL. */
int fl_proc_can_run_as(uid_t uid, gid_t gid, struct fl_err *e);

#endif
