/* test_tool: the front end every tool shares: common options, options of other verbs, verbs
 * of one and two words, declined options, and the one rule for finding the configuration. */
#include "fl_tool.h"
#include "unit.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum { OPT_EXTRA = FL_TOOL_OWN };

static const struct fl_tool_opt opts[] = {
    {"role", 1, 'r', "show|vm show", NULL, NULL},
    {"format", 1, 'f', "show", NULL, NULL},
    {"extra", 0, OPT_EXTRA, "vm show", NULL, NULL},
    {"all", 0, 'a', NULL, NULL, NULL},
};

static const char *last_role;
static int ran; /* which verb ran: 1 show, 2 vm show, 3 get */
static int got_args;

static int on_option(struct fl_tool *t, int ch, const char *arg)
{
	if (ch == 'r') {
		if (strcmp(arg, "bad") == 0) {
			fl_tool_usage_error(t, "unknown role '%s'", arg);
			return FL_EXIT_USAGE;
		}
		last_role = arg;
	}
	return 0;
}

static int v_show(struct fl_tool *t, char **a, int n)
{
	(void)t, (void)a;
	ran = 1;
	got_args = n;
	return 0;
}

static int v_vm_show(struct fl_tool *t, char **a, int n)
{
	(void)t, (void)a;
	ran = 2;
	got_args = n;
	return 0;
}

static int v_get(struct fl_tool *t, char **a, int n)
{
	(void)t;
	ran = 3;
	got_args = n;
	return strcmp(a[0], "X") == 0 ? 0 : 1;
}

static const struct fl_tool_verb verbs[] = {
    {"show", 0, 0, NULL, v_show},
    {"vm show", 0, 1, NULL, v_vm_show},
    {"get", 1, 1, "get takes exactly one NAME", v_get},
};

static struct fl_tool tool(void)
{
	return (struct fl_tool){
	    .name = "fl-test",
	    .usage = "usage: fl-test [options] show | vm show [ID] | get NAME\n",
	    .help = "help\n",
	    .opts = opts,
	    .nopts = NELEM(opts),
	    .verbs = verbs,
	    .nverbs = NELEM(verbs),
	    .option = on_option,
	};
}

/* Parse and dispatch argv (NULL-terminated) with stderr and stdout to /dev/null. */
static int run_tool(struct fl_tool *t, const char **argv)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	fflush(stdout);
	fflush(stderr);
	int out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY);
	dup2(null, 1);
	dup2(null, 2);
	ran = 0;
	int rc = fl_tool_parse(t, argc, (char **)argv);
	if (rc == FL_TOOL_GO)
		rc = fl_tool_dispatch(t);
	fflush(stdout);
	fflush(stderr);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(null);
	return rc;
}

static void test_common(void)
{
	struct fl_tool t = tool();
	const char *a1[] = {"fl-test", "--no-env", "-q", "show", "--format", "json", NULL};
	CHECK_INT(run_tool(&t, a1), 0, "common options before and after the verb");
	CHECK(ran == 1 && t.no_env && t.format && strcmp(t.format, "json") == 0,
	      "  seen: --no-env, --format json");
	const char *a2[] = {"fl-test", "-E", "-c", "/dev/null", "show", NULL};
	CHECK_INT(run_tool(&t, a2), FL_EXIT_USAGE, "--context with --env-only: usage error");
	struct fl_tool t2 = tool();
	const char *a3[] = {"fl-test", "-E", "--no-env", "show", NULL};
	CHECK_INT(run_tool(&t2, a3), FL_EXIT_USAGE, "--env-only with --no-env: usage error");
	struct fl_tool t3 = tool();
	const char *a4[] = {"fl-test", "-h", "show", NULL};
	CHECK_INT(run_tool(&t3, a4), 0, "-h: exit 0");
	CHECK(ran == 0, "  -h runs no verb");
	const char *a5[] = {"fl-test", "-V", NULL};
	CHECK_INT(run_tool(&t3, a5), 0, "-V: exit 0");
	const char *a6[] = {"fl-test", "--bogus", "show", NULL};
	CHECK_INT(run_tool(&t3, a6), FL_EXIT_USAGE, "an unknown option: usage error");
	const char *a7[] = {"fl-test", NULL};
	CHECK_INT(run_tool(&t3, a7), FL_EXIT_USAGE, "no verb: usage error");
	const char *a8[] = {"fl-test", "-c", "/dev/null", "show", NULL};
	CHECK_INT(run_tool(&t3, a8), FL_EXIT_FAIL, "a device as --context is refused, not read");
	fl_tool_free(&t);
	fl_tool_free(&t2);
	fl_tool_free(&t3);
}

static void test_verbs(void)
{
	struct fl_tool t = tool();
	const char *a1[] = {"fl-test", "vm", "show", "12", "--extra", "-a", NULL};
	CHECK_INT(run_tool(&t, a1), 0, "a two-word verb with its argument and options");
	CHECK(ran == 2 && got_args == 1, "  vm show ran with 1 argument");
	const char *a2[] = {"fl-test", "get", "X", "--extra", NULL};
	CHECK_INT(run_tool(&t, a2), FL_EXIT_USAGE, "an option of another verb: usage error");
	CHECK(ran == 0, "  and the verb did not run");
	const char *a3[] = {"fl-test", "get", NULL};
	CHECK_INT(run_tool(&t, a3), FL_EXIT_USAGE, "too few arguments: usage error");
	const char *a4[] = {"fl-test", "show", "x", NULL};
	CHECK_INT(run_tool(&t, a4), FL_EXIT_USAGE, "an unexpected argument: usage error");
	const char *a5[] = {"fl-test", "vm", "dance", NULL};
	CHECK_INT(run_tool(&t, a5), FL_EXIT_USAGE, "an unknown second word: usage error");
	const char *a6[] = {"fl-test", "nope", NULL};
	CHECK_INT(run_tool(&t, a6), FL_EXIT_USAGE, "an unknown verb: usage error");
	const char *a7[] = {"fl-test", "get", "Y", NULL};
	CHECK_INT(run_tool(&t, a7), 1, "the verb's exit status is the tool's");
	const char *a8[] = {"fl-test", "-r", "bad", "show", NULL};
	CHECK_INT(run_tool(&t, a8), FL_EXIT_USAGE, "the tool's option callback refuses a value");
	const char *a9[] = {"fl-test", "-r", "superlink", "show", NULL};
	CHECK_INT(run_tool(&t, a9), 0, "the tool's option callback takes a value");
	CHECK_STR(last_role, "superlink", "  and saw it");
	fl_tool_free(&t);
}

static void test_declined_and_first(void)
{
	struct fl_tool t = tool();
	t.declines = FL_TOOL_C_FORMAT;
	t.decline_why = "it prints KEY=VALUE only";
	const char *a1[] = {"fl-test", "show", "--format", "json", NULL};
	CHECK_INT(run_tool(&t, a1), FL_EXIT_USAGE, "a declined common option: usage error");
	const char *a2[] = {"fl-test", "show", NULL};
	CHECK_INT(run_tool(&t, a2), 0, "  the tool runs without it");
	struct fl_tool f = tool();
	f.flags = FL_TOOL_OPTIONS_FIRST;
	const char *a3[] = {"fl-test", "show", "-a", NULL};
	CHECK_INT(run_tool(&f, a3), FL_EXIT_USAGE, "options first: a verb-less option after the verb");
	const char *a4[] = {"fl-test", "-a", "show", "-r", "x", NULL};
	CHECK_INT(run_tool(&f, a4), 0, "options first: the verb's own may follow it");
	fl_tool_free(&t);
	fl_tool_free(&f);
}

static void touch(const char *dir, const char *name)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0)
		close(fd);
}

static void test_config_rule(void)
{
	char dir[] = "/tmp/test_tool.XXXXXX";
	if (!mkdtemp(dir)) {
		SKIP("mkdtemp failed", "the configuration rule");
		return;
	}
	char one[600], buf[4200];
	snprintf(one, sizeof one, "%s/one_env", dir);
	bool named;
	unsetenv("FLKIT_CONTEXT");
	struct fl_tool t = tool();
	t.rendered_dir = dir;
	t.one_env = one;
	CHECK_STR(fl_tool_config_path(&t, 0, buf, sizeof buf, &named), one,
	          "nothing there: one_env, to fail on (the tool needs a file)");
	t.flags = FL_TOOL_ENV_FALLBACK;
	CHECK(fl_tool_config_path(&t, 0, buf, sizeof buf, &named) == NULL,
	      "nothing there, env fallback: the environment alone");
	touch(dir, "one_env");
	CHECK_STR(fl_tool_config_path(&t, 0, buf, sizeof buf, &named), one, "one_env when present");
	t.flags = FL_TOOL_RENDERED;
	touch(dir, "supernode.conf");
	char sn[600];
	snprintf(sn, sizeof sn, "%s/supernode.conf", dir);
	CHECK_STR(fl_tool_config_path(&t, FL_ROLE_SUPERNODE, buf, sizeof buf, &named), sn,
	          "the rendered file of the role first");
	CHECK_STR(fl_tool_config_path(&t, 0, buf, sizeof buf, &named), sn, "no role: the only rendered file");
	CHECK_STR(fl_tool_config_path(&t, FL_ROLE_SUPERLINK, buf, sizeof buf, &named), one,
	          "another role's rendered file is not read");
	touch(dir, "superlink.conf");
	CHECK_STR(fl_tool_config_path(&t, 0, buf, sizeof buf, &named), one,
	          "no role and two rendered files: one_env");
	t.flags = 0;
	CHECK_STR(fl_tool_config_path(&t, FL_ROLE_SUPERNODE, buf, sizeof buf, &named), one,
	          "a tool that writes the rendered files never reads them");
	setenv("FLKIT_CONTEXT", "/x/named", 1);
	CHECK(strcmp(fl_tool_config_path(&t, 0, buf, sizeof buf, &named), "/x/named") == 0 && named,
	      "$FLKIT_CONTEXT names the file");
	t.context = "/y/given";
	CHECK(strcmp(fl_tool_config_path(&t, 0, buf, sizeof buf, &named), "/y/given") == 0 && named,
	      "-c wins over $FLKIT_CONTEXT");
	t.context = NULL;
	t.env_only = true;
	CHECK(fl_tool_config_path(&t, 0, buf, sizeof buf, &named) == NULL && !named, "-E: no file at all");
	unsetenv("FLKIT_CONTEXT");
	const char *names[] = {"one_env", "supernode.conf", "superlink.conf"};
	for (size_t i = 0; i < NELEM(names); i++) {
		char p[600];
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void test_load(void)
{
	char dir[] = "/tmp/test_tool.XXXXXX";
	if (!mkdtemp(dir)) {
		SKIP("mkdtemp failed", "load");
		return;
	}
	char one[600];
	snprintf(one, sizeof one, "%s/one_env", dir);
	FILE *f = fopen(one, "w");
	if (f) {
		fputs("export FL_NUM_ROUNDS=\"7\"\n", f);
		fclose(f);
	}
	unsetenv("FLKIT_CONTEXT");
	setenv("FL_NUM_ROUNDS", "9", 1);
	struct fl_tool t = tool();
	t.one_env = one;
	struct fl_ctx c;
	CHECK_INT(fl_tool_load(&t, 0, &c), 0, "load: one_env");
	CHECK_INT(c.conf.FL_NUM_ROUNDS, 9, "  the environment overlays the file");
	fl_ctx_free(&c);
	t.no_env = true;
	CHECK_INT(fl_tool_load(&t, 0, &c), 0, "load: --no-env");
	CHECK_INT(c.conf.FL_NUM_ROUNDS, 7, "  the file alone");
	fl_ctx_free(&c);
	unsetenv("FL_NUM_ROUNDS");
	unlink(one);
	rmdir(dir);
}

static void test_help_options(void)
{
	static const struct fl_tool_opt o[] = {
	    {"context", 1, 'c', NULL, "FILE", "the context\nsecond line"},
	    {"role", 1, 'r', "show", "ROLE", "the role"},
	    {"hidden", 0, OPT_EXTRA, NULL, NULL, NULL},
	    {"format", 1, 'f', "show", "FMT", "text or json"},
	    {"long-only-option", 0, OPT_EXTRA + 1, NULL, NULL, "a long one"},
	};
	struct fl_tool t = {.name = "fl-test", .opts = o, .nopts = NELEM(o), .declines = FL_TOOL_C_NO_ENV};
	struct fl_buf b = FL_BUF_INIT;
	fl_tool_help_options(&t, &b);
	CHECK_STR(fl_buf_str(&b),
	          "options:\n"
	          "  -c, --context FILE      the context\n"
	          "                          second line\n"
	          "  -E, --env-only          read no file: the environment only\n"
	          "  -r, --role ROLE         the role\n"
	          "  -f, --format FMT        text or json\n"
	          "      --long-only-option  a long one\n"
	          "  -q, --quiet             log warnings and errors only\n"
	          "  -v, --verbose           log debug lines too\n"
	          "  -h, --help              this text\n"
	          "  -V, --version           the tool and its version\n"
	          "Options may come before or after the verb; an option of another verb is a usage error.\n",
	          "help: the tool's lines, common ones generic or replaced, declined and hidden left out");
	fl_buf_reset(&b);
	t.opts = o + 1;
	t.nopts = 1;
	t.declines = FL_TOOL_C_FORMAT;
	t.flags = FL_TOOL_OPTIONS_FIRST;
	fl_tool_help_options(&t, &b);
	CHECK(strstr(fl_buf_str(&b), "  -c, --context FILE  the configuration file") &&
	          strstr(fl_buf_str(&b), "      --no-env        ignore") &&
	          !strstr(fl_buf_str(&b), "--format") && !strstr(fl_buf_str(&b), "Options may come"),
	      "help: generic -c, a declined --format left out, no 'after the verb' when options come first");
	fl_buf_free(&b);
}

static void test_numbers(void)
{
	struct fl_tool t = {.name = "fl-test", .usage = "usage: fl-test\n"};
	uint64_t ms = 0;
	long v = -1;
	fflush(stderr);
	int err = dup(2), null = open("/dev/null", O_WRONLY);
	dup2(null, 2);
	CHECK(fl_tool_seconds(&t, "--timeout", "2.5", &ms) == 0 && ms == 2500, "seconds: 2.5 is 2500 ms");
	CHECK(fl_tool_seconds(&t, "--timeout", "0", &ms) == 0 && ms == 0, "seconds: 0");
	CHECK_INT(fl_tool_seconds(&t, "--timeout", "x", &ms), FL_EXIT_USAGE, "seconds: 'x' refused");
	CHECK_INT(fl_tool_seconds(&t, "--timeout", "-1", &ms), FL_EXIT_USAGE, "seconds: negative refused");
	CHECK_INT(fl_tool_seconds(&t, "--timeout", "inf", &ms), FL_EXIT_USAGE, "seconds: inf refused");
	CHECK_INT(fl_tool_seconds(&t, "--timeout", "", &ms), FL_EXIT_USAGE, "seconds: empty refused");
	CHECK(fl_tool_number(&t, "--days", "7", 1, 10, "days", &v) == 0 && v == 7, "number: 7 in 1-10");
	CHECK_INT(fl_tool_number(&t, "--days", "0", 1, 10, "days", &v), FL_EXIT_USAGE, "number: below min");
	CHECK_INT(fl_tool_number(&t, "--days", "11", 1, 10, "days", &v), FL_EXIT_USAGE, "number: above max");
	CHECK_INT(fl_tool_number(&t, "--n", "-1", 0, 10, NULL, &v), FL_EXIT_USAGE, "number: negative");
	CHECK_INT(fl_tool_number(&t, "--n", "1x", 0, 10, NULL, &v), FL_EXIT_USAGE, "number: trailing text");
	CHECK_INT(v, 7, "  a refused value leaves *v alone");
	static const char *const fmts[] = {"text", "env", "json", NULL};
	int k = -1;
	CHECK(fl_tool_keyword(&t, "format", "json", fmts, &k) == 0 && k == 2, "keyword: json is the third");
	CHECK_INT(fl_tool_keyword(&t, "format", "yaml", fmts, &k), FL_EXIT_USAGE, "keyword: yaml refused");
	time_t now = 0;
	setenv("FLKIT_NOW", "1000", 1);
	CHECK(fl_tool_now(&t, true, &now) == 0 && now == 1000, "now: FLKIT_NOW in a test build");
	CHECK(fl_tool_now(&t, false, &now) == 0 && now > 1000, "now: FLKIT_NOW ignored in an installed one");
	setenv("FLKIT_NOW", "yesterday", 1);
	CHECK_INT(fl_tool_now(&t, true, &now), FL_EXIT_USAGE, "now: a FLKIT_NOW that is not a number");
	unsetenv("FLKIT_NOW");
	fflush(stderr);
	dup2(err, 2);
	close(err);
	close(null);
}

/* --owner UID:GID: digits only and below 2^31, the one rule of every tool that takes it. */
static void test_owner(void)
{
	uid_t u = 7;
	gid_t g = 7;
	CHECK(fl_tool_owner("1000:1001", &u, &g) == 0 && u == 1000 && g == 1001,
	      "owner: 1000:1001 is uid 1000, gid 1001");
	CHECK(fl_tool_owner("0:0", &u, &g) == 0 && u == 0 && g == 0, "owner: 0:0 is root");
	CHECK(fl_tool_owner("2147483647:2147483647", &u, &g) == 0 && u == 2147483647 && g == 2147483647,
	      "owner: 2^31-1 is the largest");
	static const char *const bad[] = {
	    "-1:0",
	    "1:-1",
	    " 1:2",
	    "1: 2",
	    "+1:2",
	    "1:+2",
	    "1:",
	    ":1",
	    "1",
	    "a:b",
	    "1:2:3",
	    "2147483648:0",
	    "0:2147483648",
	    "4294967295:0",
	    "4294967296:0",
	    "1:99999999999999999999",
	    "",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		u = g = 7;
		CHECK(fl_tool_owner(bad[i], &u, &g) == -1 && u == 7 && g == 7,
		      "owner: '%s' is refused, nothing written", bad[i]);
	}
}

int main(void)
{
	test_common();
	test_verbs();
	test_declined_and_first();
	test_config_rule();
	test_load();
	test_help_options();
	test_numbers();
	test_owner();
	return unit_done();
}
