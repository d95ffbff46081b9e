/* test_proc: argv vectors and child processes, no shell strings, timeouts that reap. */
#include "fl_buf.h"
#include "fl_proc.h"
#include "unit.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int run(const char *const *argv, long timeout_ms, int *status, struct fl_err *e)
{
	fl_err_clear(e);
	*status = -1;
	return fl_proc_run((char *const *)argv, timeout_ms, status, e);
}

static void test_run(void)
{
	struct fl_err e;
	int st;
	const char *t[] = {"/bin/true", NULL};
	CHECK(run(t, -1, &st, &e) == 0 && st == 0, "proc: /bin/true exits 0");
	const char *f[] = {"/bin/false", NULL};
	CHECK(run(f, -1, &st, &e) == 0 && st == 1, "proc: /bin/false exits 1");
	const char *p[] = {"true", NULL};
	CHECK(run(p, 1000, &st, &e) == 0 && st == 0, "proc: a bare name is looked up in PATH");
	const char *x[] = {"/bin/sh", "-c", "exit 7", NULL};
	CHECK(run(x, 5000, &st, &e) == 0 && st == 7, "proc: exit status 7");
	const char *k[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
	CHECK(run(k, 5000, &st, &e) == 0 && st == 128 + SIGTERM, "proc: killed by SIGTERM is 128+15 (%d)",
	      st);
	const char *in[] = {"/bin/sh", "-c", "read x && exit 1; exit 0", NULL};
	CHECK(run(in, 5000, &st, &e) == 0 && st == 0, "proc: stdin is /dev/null");

	/* valgrind runs posix_spawn as fork+exec, so the exec failure shows as status 127 there. */
	const char *pre = getenv("LD_PRELOAD");
	bool valgrind = pre && strstr(pre, "vgpreload");
	const char *m[] = {"/nonexistent/fl-no-such-program", NULL};
	int r = run(m, 1000, &st, &e);
	CHECK((r < 0 && strstr(e.msg, "/nonexistent/fl-no-such-program") && e.code == FL_EXIT_FAIL) ||
	          (valgrind && r == 0 && st == 127),
	      "proc: a missing program is an error naming it (%s)", e.msg);
	const char *m2[] = {"fl-no-such-program-in-path", NULL};
	r = run(m2, 1000, &st, &e);
	CHECK((r < 0 && strstr(e.msg, "fl-no-such-program-in-path")) || (valgrind && r == 0 && st == 127),
	      "proc: a missing program in PATH is an error");

	/* Arguments reach the program verbatim: no shell in between. */
	const char *args[] = {"/bin/sh",
	                      "-c",
	                      "[ \"$1\" = '$(id) `x` ; *' ] && [ \"$2\" = '' ] && [ $# = 2 ]",
	                      "sh",
	                      "$(id) `x` ; *",
	                      "",
	                      NULL};
	CHECK(run(args, 5000, &st, &e) == 0 && st == 0, "proc: hostile arguments arrive verbatim");
}

/* A child that never ends on its own: when fl_proc_wait returns, its timeout did it. */
static void test_timeout(void)
{
	struct fl_err e;
	int st = -1;
	const char *argv[] = {"sleep", "3600", NULL};
	pid_t pid;
	CHECK(fl_proc_spawn((char *const *)argv, NULL, &pid, &e) == 0 && pid > 0, "proc: spawn sleep 3600");
	int r = fl_proc_wait(pid, 100, &st, &e);
	CHECK(r < 0 && e.code == FL_EXIT_TIMEOUT,
	      "proc: sleep 3600 with a 100 ms timeout returns FL_EXIT_TIMEOUT");
	errno = 0;
	CHECK(waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD, "proc: the timed-out child was reaped");
	CHECK(kill(pid, 0) < 0 && errno == ESRCH, "proc: the timed-out child is gone");
	CHECK(strstr(e.msg, "100 ms") != NULL, "proc: the message gives the timeout (%s)", e.msg);

	CHECK(run(argv, 100, &st, &e) < 0 && e.code == FL_EXIT_TIMEOUT,
	      "proc: fl_proc_run with a timeout kills a child that would run for an hour");
	errno = 0;
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "proc: no child left behind");

	const char *quick[] = {"/bin/sh", "-c", "exit 3", NULL};
	CHECK(run(quick, 2000, &st, &e) == 0 && st == 3, "proc: a child that ends before the timeout");

	/* Timeout 0: a running child is killed at once, one that has already ended is reported.
	 * waitid(WNOWAIT) waits for the end without reaping, so the order is certain. */
	CHECK(run(argv, 0, &st, &e) < 0 && e.code == FL_EXIT_TIMEOUT,
	      "proc: timeout 0 kills a child that is still running");
	const char *seven[] = {"/bin/sh", "-c", "exit 7", NULL};
	siginfo_t si;
	st = -1;
	bool ended = fl_proc_spawn((char *const *)seven, NULL, &pid, &e) == 0 &&
	             waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0;
	r = ended ? fl_proc_wait(pid, 0, &st, &e) : -1;
	CHECK(r == 0 && st == 7, "proc: timeout 0 reports the status of a child that has already ended (%d)",
	      st);
	errno = 0;
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "proc: timeout 0 leaves no child");
}

static void test_env(void)
{
	struct fl_err e;
	int st = -1;
	const char *argv[] = {"/bin/sh", "-c", "[ \"$FOO\" = 'b a r' ] && [ -z \"$HOME\" ]", NULL};
	char *envp[] = {"FOO=b a r", NULL};
	pid_t pid;
	CHECK(fl_proc_spawn((char *const *)argv, envp, &pid, &e) == 0 &&
	          fl_proc_wait(pid, 5000, &st, &e) == 0 && st == 0,
	      "proc: envp replaces the environment");
}

static const char *env_get(char **env, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; env[i]; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

static size_t env_count(char **env)
{
	size_t n = 0;
	while (env[n])
		n++;
	return n;
}

static void test_env_build(void)
{
	char *base[] = {"PATH=/opt/x/bin:/usr/bin",
	                "HOME=/root",
	                "LANG=C.UTF-8",
	                "LANGUAGE=en",
	                "LC_ALL=C",
	                "LC_MESSAGES=C",
	                "TZ=UTC",
	                "http_proxy=http://p:3128",
	                "HTTPS_PROXY=http://p:3128",
	                "no_proxy=localhost",
	                "FLWR_TELEMETRY_ENABLED=0",
	                "TOKENTXT=tok",
	                "ONEGATE_TOKEN=tok",
	                "VMID=7",
	                "ONEGATE_ENDPOINT=http://og:5030",
	                "FL_SSL_KEYFILE=LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t",
	                "ONEAPP_FL_SSL_KEYFILE=LS0t",
	                "AWS_SECRET_ACCESS_KEY=s",
	                "AWS_ACCESS_KEY_ID=i",
	                "S3_SECRET_KEY=s",
	                "FLKIT_TEST_4711=fake-secret",
	                "FL_LOG_LEVEL=DEBUG",
	                "CUDA_VISIBLE_DEVICES=0",
	                "DOCKER_HOST=tcp://elsewhere:2375",
	                "LD_PRELOAD=/tmp/evil.so",
	                "PYTHONPATH=/tmp/evil",
	                "FLWR_SECRET_TOKEN=x",
	                "=novalue",
	                "NOEQUALS",
	                NULL};
	char **env = fl_proc_env_build(base, NULL);
	static const char *const kept[] = {"PATH",
	                                   "HOME",
	                                   "LANG",
	                                   "LANGUAGE",
	                                   "LC_ALL",
	                                   "LC_MESSAGES",
	                                   "TZ",
	                                   "http_proxy",
	                                   "HTTPS_PROXY",
	                                   "no_proxy",
	                                   "FLWR_TELEMETRY_ENABLED"};
	bool ok = true;
	for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
		ok = ok && env_get(env, kept[i]);
	CHECK(ok && strcmp(env_get(env, "PATH"), "/opt/x/bin:/usr/bin") == 0,
	      "env: PATH, HOME, locale, TZ, proxies and FLWR_* pass");
	CHECK(env_count(env) == sizeof kept / sizeof kept[0], "env: nothing else passes (%zu variables)",
	      env_count(env));
	static const char *const dropped[] = {"TOKENTXT",
	                                      "ONEGATE_TOKEN",
	                                      "VMID",
	                                      "ONEGATE_ENDPOINT",
	                                      "FL_SSL_KEYFILE",
	                                      "ONEAPP_FL_SSL_KEYFILE",
	                                      "AWS_SECRET_ACCESS_KEY",
	                                      "S3_SECRET_KEY",
	                                      "FLKIT_TEST_4711",
	                                      "FL_LOG_LEVEL",
	                                      "CUDA_VISIBLE_DEVICES",
	                                      "DOCKER_HOST",
	                                      "LD_PRELOAD",
	                                      "PYTHONPATH",
	                                      "FLWR_SECRET_TOKEN"};
	ok = true;
	for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
		if (env_get(env, dropped[i])) {
			unit_show("passed", dropped[i], 64);
			ok = false;
		}
	CHECK(ok, "env: no OneGate identity, key, credential, unknown or loader variable");
	fl_proc_env_free(env);

	/* The env file's lines win; its secrets are dropped too; comments and junk skipped. */
	env =
	    fl_proc_env_build(base, "# comment\nPATH=/flower/bin:/usr/bin\nHOME=/opt/flower/flwr-supernode\n"
	                            "FLWR_LOG_LEVEL=INFO\nCUDA_VISIBLE_DEVICES=1\nFL_SSL_KEYFILE=x\n"
	                            "TOKENTXT=t\nno equals sign\n=x\n\nLAST=1");
	CHECK(strcmp(env_get(env, "PATH"), "/flower/bin:/usr/bin") == 0 &&
	          strcmp(env_get(env, "HOME"), "/opt/flower/flwr-supernode") == 0,
	      "env: the extra lines replace PATH and HOME");
	CHECK(env_get(env, "FLWR_LOG_LEVEL") && strcmp(env_get(env, "CUDA_VISIBLE_DEVICES"), "1") == 0 &&
	          env_get(env, "LAST"),
	      "env: the extra lines are added (the plan's CUDA_VISIBLE_DEVICES)");
	CHECK(!env_get(env, "FL_SSL_KEYFILE") && !env_get(env, "TOKENTXT"),
	      "env: no secret from the extra lines");
	size_t paths = 0;
	for (size_t i = 0; env[i]; i++)
		paths += strncmp(env[i], "PATH=", 5) == 0;
	CHECK(paths == 1 && env_count(env) == sizeof kept / sizeof kept[0] + 3,
	      "env: one entry per name (%zu variables)", env_count(env));
	fl_proc_env_free(env);

	char *empty[] = {NULL};
	env = fl_proc_env_build(empty, NULL);
	CHECK(env_count(env) == 1 && env_get(env, "PATH") && env_get(env, "PATH")[0] == '/',
	      "env: an empty environment still gets a PATH");
	fl_proc_env_free(env);

	CHECK(fl_proc_env_allowed("LC_TIME", 7) && !fl_proc_env_allowed("LC_", 3) &&
	          !fl_proc_env_allowed("PATHX", 5) && !fl_proc_env_allowed("PAT", 3),
	      "env: the allow-list matches whole names and prefixes");
	CHECK(fl_proc_env_secret("FL_SSL_KEYFILE", 14) && !fl_proc_env_secret("FL_SSL_CERTFILE", 15) &&
	          fl_proc_env_secret("AWS_SESSION_TOKEN", 17) && fl_proc_env_secret("GITHUB_TOKEN", 12) &&
	          fl_proc_env_secret("MY_API_KEY", 10) &&
	          !fl_proc_env_secret("FLOWER_GRPC_KEEPALIVE_TIME_MS", 29),
	      "env: secrets by registry flag, by name and by prefix");
}

/* NULL envp is the built environment in every spawning function, never ours. */
static void test_env_default(void)
{
	setenv("TOKENTXT", "tok", 1);
	setenv("FLKIT_TEST_UNKNOWN", "fake-secret", 1);
	setenv("FLWR_TELEMETRY_ENABLED", "0", 1);
	const char *check[] = {"/bin/sh", "-c",
	                       "[ -z \"${TOKENTXT+x}\" ] && [ -z \"${FLKIT_TEST_UNKNOWN+x}\" ] && "
	                       "[ \"$FLWR_TELEMETRY_ENABLED\" = 0 ] && [ -n \"$PATH\" ]",
	                       NULL};
	struct fl_err e;
	int st = -1;
	CHECK(fl_proc_run((char *const *)check, 5000, &st, &e) == 0 && st == 0, "env: fl_proc_run");
	pid_t pid;
	st = -1;
	CHECK(fl_proc_spawn((char *const *)check, NULL, &pid, &e) == 0 &&
	          fl_proc_wait(pid, 5000, &st, &e) == 0 && st == 0,
	      "env: fl_proc_spawn");
	struct fl_buf out = FL_BUF_INIT;
	st = -1;
	CHECK(fl_proc_capture((char *const *)check, NULL, 5000, 1024, &out, &st, &e) == 0 && st == 0,
	      "env: fl_proc_capture");
	fl_buf_free(&out);
	char dir[] = "/tmp/test_proc.XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "session: temp dir");
	char log[64], other[64];
	snprintf(log, sizeof log, "%s/out.log", dir);
	snprintf(other, sizeof other, "%s/other", dir);
	st = -1;
	CHECK(fl_proc_spawn_session((char *const *)check, NULL, dir, log, &pid, &e) == 0 &&
	          fl_proc_wait(pid, 5000, &st, &e) == 0 && st == 0,
	      "env: fl_proc_spawn_session");
	unsetenv("TOKENTXT");
	unsetenv("FLKIT_TEST_UNKNOWN");
	unsetenv("FLWR_TELEMETRY_ENABLED");

	/* The log is never written through a link. */
	FILE *f = fopen(other, "w");
	fputs("precious\n", f);
	fclose(f);
	unlink(log);
	CHECK(link(other, log) == 0, "session: hard link made");
	const char *echo[] = {"/bin/echo", "written", NULL};
	int r = fl_proc_spawn_session((char *const *)echo, NULL, dir, log, &pid, &e);
	CHECK(r < 0 && strstr(e.msg, log) && strstr(e.msg, "single link"),
	      "session: a log file with another hard link is refused (%s)", e.msg);
	unlink(log);
	CHECK(symlink(other, log) == 0, "session: symlink made");
	r = fl_proc_spawn_session((char *const *)echo, NULL, dir, log, &pid, &e);
	CHECK(r < 0 && strstr(e.msg, log) && strstr(e.msg, "symlink"),
	      "session: a symlinked log file is refused (%s)", e.msg);
	unlink(log);
	f = fopen(other, "r");
	char line[64] = "";
	CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "precious\n") == 0 &&
	          !fgets(line, sizeof line, f),
	      "session: the linked file is untouched");
	if (f)
		fclose(f);

	/* A missing program and a bad directory are errors of the call, not of a child. */
	const char *missing[] = {"fl-no-such-program-in-path", NULL};
	r = fl_proc_spawn_session((char *const *)missing, NULL, dir, log, &pid, &e);
	CHECK(r < 0 && strstr(e.msg, "fl-no-such-program-in-path"),
	      "session: a missing program is an error (%s)", e.msg);
	r = fl_proc_spawn_session((char *const *)echo, NULL, "/nonexistent/dir", log, &pid, &e);
	CHECK(r < 0 && strstr(e.msg, "/nonexistent/dir"), "session: a missing directory is an error (%s)",
	      e.msg);

	/* As another user: root drops to uid:gid, gid its only group; without root it is refused. */
	const char *id[] = {"/bin/sh", "-c", "echo \"$(id -u):$(id -g):$(id -G)\"", NULL};
	unlink(log);
	chmod(dir, 0755);
	if (geteuid() == 0) {
		st = -1;
		CHECK(fl_proc_spawn_session_as((char *const *)id, NULL, dir, log, 12345, 23456, &pid, &e) ==
		              0 &&
		          fl_proc_wait(pid, 5000, &st, &e) == 0 && st == 0,
		      "session as: runs as 12345:23456 (%s)", e.msg);
		f = fopen(log, "r");
		line[0] = '\0';
		CHECK(f && fgets(line, sizeof line, f) && strcmp(line, "12345:23456:23456\n") == 0,
		      "session as: uid, gid and groups of the child (%s)", line);
		if (f)
			fclose(f);
		CHECK(fl_proc_can_run_as(12345, 23456, &e) == 0, "session as: root may run as anyone");
	} else {
		r = fl_proc_spawn_session_as((char *const *)id, NULL, dir, log, geteuid() + 1, getegid(),
		                             &pid, &e);
		CHECK(r < 0 && e.code == FL_EXIT_FAIL && strstr(e.msg, "needs root"),
		      "session as: another user without root is refused (%s)", e.msg);
	}
	CHECK(fl_proc_can_run_as(geteuid(), getegid(), &e) == 0 &&
	          fl_proc_can_run_as(FL_PROC_SAME_USER, 0, &e) == 0,
	      "session as: oneself is always possible");
	unlink(log);
	unlink(other);
	rmdir(dir);
}

static void test_argv(void)
{
	struct fl_argv a = FL_ARGV_INIT;
	char buf[16] = "first";
	fl_argv_add(&a, buf);
	strcpy(buf, "changed");
	fl_argv_addf(&a, "--rounds=%d", 5);
	CHECK(a.n == 2 && strcmp(a.v[0], "first") == 0 && strcmp(a.v[1], "--rounds=5") == 0 && a.v[2] == NULL,
	      "argv: strings are copied, the vector is NULL-terminated");
	bool ok = true;
	for (int i = 0; i < 100; i++) {
		fl_argv_addf(&a, "a%d", i);
		ok = ok && a.v[a.n] == NULL && a.n < a.cap;
	}
	CHECK(ok && a.n == 102 && strcmp(a.v[101], "a99") == 0, "argv: grows and stays NULL-terminated");
	fl_argv_free(&a);
	CHECK(a.v == NULL && a.n == 0 && a.cap == 0, "argv: free resets");

	fl_argv_add(&a, "/bin/sh");
	fl_argv_add(&a, "-c");
	fl_argv_add(&a, "exit $#");
	fl_argv_add(&a, "sh");
	fl_argv_add(&a, "one");
	fl_argv_add(&a, "");
	struct fl_err e;
	int st = -1;
	CHECK(fl_proc_run(a.v, 5000, &st, &e) == 0 && st == 2, "argv: runs, empty arguments kept");
	fl_argv_free(&a);
}

/* fl_buf_add_sq output read back by a real shell gives the original bytes. */
static void test_sq_roundtrip(void)
{
	static const char *const vals[] = {
	    "plain",
	    "",
	    "it's a 'test'",
	    "'",
	    "''",
	    "\\'",
	    "$HOME `id` \\n \\",
	    "line1\nline2\n",
	    "a\"b",
	    "\xc3\xb1\x61nd\xc3\xba \xe2\x9c\x93",
	    "*?[a]",
	    "-n",
	    "tab\there",
	    "\x01\x7f\xff",
	};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		struct fl_buf script = FL_BUF_INIT;
		fl_buf_adds(&script, "x=");
		fl_buf_add_sq(&script, vals[i]);
		fl_buf_adds(&script, "; [ \"$x\" = \"$1\" ]");
		const char *argv[] = {"/bin/sh", "-c", script.data, "sh", vals[i], NULL};
		struct fl_err e;
		int st = -1;
		CHECK(fl_proc_run((char *const *)argv, 5000, &st, &e) == 0 && st == 0,
		      "sq: value %zu round-trips through sh", i);
		fl_buf_free(&script);
	}
}

int main(void)
{
	test_run();
	test_timeout();
	test_env();
	test_env_build();
	test_env_default();
	test_argv();
	test_sq_roundtrip();
	return unit_done();
}
