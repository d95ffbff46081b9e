/* fl_proc: argv vectors and child processes without a shell. */
#include "fl_proc.h"

#include "fl_buf.h"
#include "fl_retry.h"
#include "fl_var.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static bool name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(name, want, len) == 0;
}

static bool name_starts(const char *name, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len > n && memcmp(name, prefix, n) == 0;
}

static bool name_holds(const char *name, size_t len, const char *word)
{
	size_t n = strlen(word);
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(name + i, word, n) == 0)
			return true;
	return false;
}

bool fl_proc_env_allowed(const char *name, size_t len)
{
	/* What any program needs to behave as the operator's shell would (locale, time zone, the
	 * proxy to reach the network), and what Flower itself reads. GPU variables are not
	 * passed on: the launch plan sets them from FL_CUDA_VISIBLE_DEVICES. DOCKER_* neither:
	 * the unit's `docker run` does not see them, so every docker call talks to one daemon. */
	static const char *const exact[] = {"PATH",       "HOME",        "LANG",        "LANGUAGE",
	                                    "TZ",         "http_proxy",  "https_proxy", "no_proxy",
	                                    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"};
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (name_is(name, len, exact[i]))
			return true;
	return name_starts(name, len, "LC_") || name_starts(name, len, "FLWR_");
}

bool fl_proc_env_secret(const char *name, size_t len)
{
	static const char *const exact[] = {"TOKENTXT", "ONEGATE_TOKEN", "VMID", "ONEGATE_ENDPOINT"};
	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (name_is(name, len, exact[i]))
			return true;
	if (name_starts(name, len, "AWS_") || name_starts(name, len, "S3_"))
		return true;
	static const char *const words[] = {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (name_holds(name, len, words[i]))
			return true;
	if (len >= 4 && memcmp(name + len - 4, "_KEY", 4) == 0)
		return true;
	char buf[128];
	size_t skip = name_starts(name, len, "ONEAPP_") ? 7 : 0;
	if (len - skip >= sizeof buf)
		return false;
	memcpy(buf, name + skip, len - skip);
	buf[len - skip] = '\0';
	const struct fl_var *v = fl_var_find(buf);
	return v && (v->flags & FL_VF_SECRET);
}

/* Put "NAME=value" (len bytes) into v, replacing an entry of the same name. */
static void env_put(char ***v, size_t *n, size_t *cap, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	size_t klen = (size_t)(eq - s);
	for (size_t i = 0; i < *n; i++)
		if (strncmp((*v)[i], s, klen + 1) == 0) {
			free((*v)[i]);
			(*v)[i] = fl_xstrndup(s, len);
			return;
		}
	if (*n + 2 > *cap) {
		*cap = *cap ? *cap * 2 : 32;
		*v = fl_xrealloc(*v, *cap * sizeof **v);
	}
	(*v)[(*n)++] = fl_xstrndup(s, len);
	(*v)[*n] = NULL;
}

char **fl_proc_env_build(char *const base[], const char *extra)
{
	char **v = NULL;
	size_t n = 0, cap = 0;
	if (!base)
		base = environ;
	for (size_t i = 0; base && base[i]; i++) {
		const char *eq = strchr(base[i], '=');
		size_t klen = eq ? (size_t)(eq - base[i]) : 0;
		if (klen && fl_proc_env_allowed(base[i], klen) && !fl_proc_env_secret(base[i], klen))
			env_put(&v, &n, &cap, base[i], strlen(base[i]));
	}
	for (const char *s = extra ? extra : ""; *s;) {
		size_t len = strcspn(s, "\n");
		const char *eq = memchr(s, '=', len);
		if (*s != '#' && eq && eq != s && !fl_proc_env_secret(s, (size_t)(eq - s)))
			env_put(&v, &n, &cap, s, len);
		s += len + (s[len] == '\n');
	}
	bool path = false;
	for (size_t i = 0; i < n; i++)
		path = path || strncmp(v[i], "PATH=", 5) == 0;
	if (!path)
		env_put(&v, &n, &cap, "PATH=" DEFAULT_PATH, strlen("PATH=" DEFAULT_PATH));
	return v;
}

void fl_proc_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

int fl_proc_spawn(char *const argv[], char *const envp[], pid_t *pid, struct fl_err *e)
{
	char **built = envp ? NULL : fl_proc_env_build(NULL, NULL);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	int r = posix_spawnp(pid, argv[0], &fa, NULL, argv, envp ? envp : built);
	posix_spawn_file_actions_destroy(&fa);
	fl_proc_env_free(built);
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
	char **built = envp ? NULL : fl_proc_env_build(NULL, NULL);
	int r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp ? envp : built);
	posix_spawn_file_actions_destroy(&fa);
	fl_proc_env_free(built);
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

int fl_proc_can_run_as(uid_t uid, gid_t gid, struct fl_err *e)
{
	if (uid == FL_PROC_SAME_USER || (uid == geteuid() && gid == getegid()) || geteuid() == 0)
		return 0;
	return fl_err_set(
	    e, FL_EXIT_FAIL, "cannot run a process as %lu:%lu: that needs root, and this runs as %lu:%lu",
	    (unsigned long)uid, (unsigned long)gid, (unsigned long)geteuid(), (unsigned long)getegid());
}

/* argv[0] as execve wants it: a name without '/' is looked up in the child's PATH. */
static char *exe_path(const char *name, char *const envp[])
{
	if (strchr(name, '/'))
		return fl_xstrdup(name);
	const char *path = DEFAULT_PATH;
	for (size_t i = 0; envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			path = envp[i] + 5;
	for (const char *s = path; *s;) {
		size_t len = strcspn(s, ":");
		char *cand = NULL;
		if (asprintf(&cand, "%.*s/%s", (int)len, len ? s : ".", name) < 0)
			abort();
		struct stat st;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
			return cand;
		free(cand);
		s += len + (s[len] == ':');
	}
	return NULL;
}

/* What the child of fl_proc_spawn_session_as reports through the pipe when it fails. */
enum step { STEP_SETSID = 1, STEP_STDIN, STEP_OUTPUT, STEP_GROUPS, STEP_GID, STEP_UID, STEP_CWD, STEP_EXEC };

static const char *step_name(int step)
{
	switch (step) {
	case STEP_SETSID: return "setsid";
	case STEP_STDIN: return "open /dev/null";
	case STEP_OUTPUT: return "redirect its output";
	case STEP_GROUPS: return "setgroups";
	case STEP_GID: return "setgid";
	case STEP_UID: return "setuid";
	default: return "exec";
	}
}

struct child {
	char *const *argv;
	char *const *envp;
	const char *exe, *cwd;
	int log, report;
	bool change;
	uid_t uid;
	gid_t gid;
};

/* Every descriptor above stderr closes at exec: a daemon keeps nothing of its caller's (a
 * pipe one-contextd reads the hooks' output from would never reach end of file while Flower
 * held it). close_range where the kernel has it (5.11), else fcntl on each. */
static void fds_cloexec(void)
{
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	struct rlimit rl;
	rlim_t n = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 65536;
	for (rlim_t fd = 3; fd < n; fd++)
		(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
}

/* Between fork and exec: async-signal-safe calls only, everything prepared before fork. */
static __attribute__((noreturn)) void child_run(const struct child *c)
{
	int fail[2] = {0, 0};
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	static const int sigs[] = {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD};
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &dfl, NULL);
	int in = -1;
	if (setsid() < 0)
		fail[0] = STEP_SETSID;
	else if ((in = open("/dev/null", O_RDONLY)) < 0 || dup2(in, 0) < 0)
		fail[0] = STEP_STDIN;
	else if (dup2(c->log, 1) < 0 || dup2(c->log, 2) < 0)
		fail[0] = STEP_OUTPUT;
	else if (c->change && setgroups(1, &c->gid) < 0)
		fail[0] = STEP_GROUPS;
	else if (c->change && setgid(c->gid) < 0)
		fail[0] = STEP_GID;
	else if (c->change && setuid(c->uid) < 0)
		fail[0] = STEP_UID;
	else if (c->cwd && chdir(c->cwd) < 0)
		fail[0] = STEP_CWD;
	if (!fail[0]) {
		fds_cloexec();
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(c->exe, c->argv, c->envp);
		fail[0] = STEP_EXEC;
	}
	fail[1] = errno;
	ssize_t w = write(c->report, fail, sizeof fail);
	(void)w;
	_exit(127);
}

static int open_log(const char *log_path, struct fl_err *e)
{
	int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640);
	if (log < 0) {
		if (errno == ELOOP)
			return fl_err_set(e, FL_EXIT_FAIL,
			                  "log file %s is a symlink: remove it (output is never written "
			                  "through a link)",
			                  log_path);
		return fl_err_sys(e, errno, "cannot open log file %s", log_path);
	}
	struct stat st;
	if (fstat(log, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(log);
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "log file %s is not a regular file with a single link: remove it "
		                  "(output is never written through a link)",
		                  log_path);
	}
	fcntl(log, F_SETFL, O_WRONLY | O_APPEND);
	return log;
}

int fl_proc_spawn_session(char *const argv[], char *const envp[], const char *cwd, const char *log_path,
                          pid_t *pid, struct fl_err *e)
{
	return fl_proc_spawn_session_as(argv, envp, cwd, log_path, FL_PROC_SAME_USER, (gid_t)-1, pid, e);
}

int fl_proc_spawn_session_as(char *const argv[], char *const envp[], const char *cwd, const char *log_path,
                             uid_t uid, gid_t gid, pid_t *pid, struct fl_err *e)
{
	if (fl_proc_can_run_as(uid, gid, e) < 0)
		return -1;
	int log = open_log(log_path, e);
	if (log < 0)
		return -1;
	char **built = envp ? NULL : fl_proc_env_build(NULL, NULL);
	struct child c = {argv, envp ? envp : built, NULL, cwd, log, -1, false, uid, gid};
	c.change = uid != FL_PROC_SAME_USER && (uid != geteuid() || gid != getegid());
	char *exe = exe_path(argv[0], c.envp);
	int rc = 0;
	int report[2] = {-1, -1};
	if (!exe) {
		rc = fl_err_sys(e, ENOENT, "cannot run %s", argv[0]);
	} else if (pipe2(report, O_CLOEXEC) < 0) {
		rc = fl_err_sys(e, errno, "cannot run %s: pipe", argv[0]);
	} else {
		c.exe = exe;
		c.report = report[1];
		*pid = fork();
		if (*pid == 0)
			child_run(&c);
		if (*pid < 0)
			rc = fl_err_sys(e, errno, "cannot run %s: fork", argv[0]);
		close(report[1]);
	}
	if (rc == 0) {
		/* EOF: exec succeeded (the pipe closed on exec); two ints: where it failed. */
		int fail[2];
		ssize_t n;
		while ((n = read(report[0], fail, sizeof fail)) < 0 && errno == EINTR)
			;
		if (n == (ssize_t)sizeof fail) {
			char as[64] = "";
			if (c.change)
				snprintf(as, sizeof as, " as %lu:%lu", (unsigned long)uid,
				         (unsigned long)gid);
			int st;
			while (waitpid(*pid, &st, 0) < 0 && errno == EINTR)
				;
			if (fail[0] == STEP_EXEC)
				rc = fl_err_sys(e, fail[1], "cannot run %s%s", argv[0], as);
			else if (fail[0] == STEP_CWD)
				rc = fl_err_sys(e, fail[1], "cannot run %s%s: cannot change to directory %s",
				                argv[0], as, cwd);
			else
				rc = fl_err_sys(e, fail[1], "cannot run %s%s: %s", argv[0], as,
				                step_name(fail[0]));
		}
	}
	if (report[0] >= 0)
		close(report[0]);
	free(exe);
	fl_proc_env_free(built);
	close(log);
	return rc;
}
