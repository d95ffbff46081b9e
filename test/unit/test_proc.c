/* test_proc: argv vectors and child processes, no shell strings, timeouts that reap. */
#include "fl_buf.h"
#include "fl_proc.h"
#include "fl_retry.h"
#include "unit.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdbool.h>
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

static void test_timeout(void)
{
	struct fl_err e;
	int st = -1;
	const char *argv[] = {"sleep", "5", NULL};
	pid_t pid;
	CHECK(fl_proc_spawn((char *const *)argv, NULL, &pid, &e) == 0 && pid > 0, "proc: spawn sleep 5");
	uint64_t t0 = fl_clock_now_ms(NULL);
	int r = fl_proc_wait(pid, 100, &st, &e);
	uint64_t dt = fl_clock_now_ms(NULL) - t0;
	CHECK(r < 0 && e.code == FL_EXIT_TIMEOUT, "proc: sleep 5 with a 100 ms timeout is FL_EXIT_TIMEOUT");
	CHECK(dt >= 100 && dt < 1500, "proc: the timeout returns quickly (%llu ms)", (unsigned long long)dt);
	errno = 0;
	CHECK(waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD, "proc: the timed-out child was reaped");
	CHECK(kill(pid, 0) < 0 && errno == ESRCH, "proc: the timed-out child is gone");
	CHECK(strstr(e.msg, "100 ms") != NULL, "proc: the message gives the timeout (%s)", e.msg);

	const char *sl[] = {"sleep", "5", NULL};
	t0 = fl_clock_now_ms(NULL);
	CHECK(run(sl, 100, &st, &e) < 0 && e.code == FL_EXIT_TIMEOUT && fl_clock_now_ms(NULL) - t0 < 1500,
	      "proc: fl_proc_run with a timeout");
	errno = 0;
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "proc: no child left behind");

	const char *quick[] = {"/bin/sh", "-c", "exit 3", NULL};
	CHECK(run(quick, 2000, &st, &e) == 0 && st == 3, "proc: a child that ends before the timeout");
	const char *z[] = {"/bin/true", NULL};
	CHECK(run(z, 0, &st, &e) == 0 || e.code == FL_EXIT_TIMEOUT, "proc: timeout 0 returns");
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
	test_argv();
	test_sq_roundtrip();
	return unit_done();
}
