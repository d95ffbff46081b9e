/* test_launch: Flower versions and eras, systemd ExecStart quoting, and fl_launch_plan's argv,
 * env file, unit and state record for configurations built in memory (no file, no process). */
#include "fl_buf.h"
#include "fl_ctx.h"
#include "fl_flower.h"
#include "fl_fs.h"
#include "fl_launch.h"
#include "fl_var.h"
#include "unit.h"

#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* --- versions --- */

static void test_version(void)
{
	static const struct {
		const char *s;
		unsigned major, minor, patch;
		enum fl_era era;
	} ok[] = {
	    /* Era B starts at 1.35 (lib/fl_flower.h: the wheels' argparse code refuses the
	     * *appio-api-address flags from 1.35 on), not at 1.36 as design 07 §0 reported. */
	    {"1.25.0", 1, 25, 0, FL_ERA_A}, {"1.34.9", 1, 34, 9, FL_ERA_A}, {"1.35.0", 1, 35, 0, FL_ERA_B},
	    {"1.35.9", 1, 35, 9, FL_ERA_B}, {"1.36.0", 1, 36, 0, FL_ERA_B}, {"1.39.2", 1, 39, 2, FL_ERA_B},
	    {"1.40.0", 1, 40, 0, FL_ERA_C}, {"1.41.0", 1, 41, 0, FL_ERA_C}, {"2.0.0", 2, 0, 0, FL_ERA_C},
	};
	for (size_t i = 0; i < NELEM(ok); i++) {
		struct fl_version v = {9, 9, 9};
		int rc = fl_flower_version_parse(ok[i].s, &v);
		CHECK(rc == 0 && v.major == ok[i].major && v.minor == ok[i].minor && v.patch == ok[i].patch,
		      "fl_flower_version_parse: %s is %u.%u.%u", ok[i].s, ok[i].major, ok[i].minor,
		      ok[i].patch);
		CHECK_INT(fl_flower_version_era(&v), ok[i].era, "fl_flower_version_era: %s is era %c",
		          ok[i].s, "ABC"[ok[i].era]);
		char out[32];
		fl_flower_version_format(&v, out, sizeof out);
		CHECK_STR(out, ok[i].s, "fl_flower_version_format: %s round-trips", ok[i].s);
	}
	static const char *const bad[] = {"1.2",  "1.2.3.4", "v1.2.3", "",     "1.2.",
	                                  ".1.2", "1..2",    "1.2.3 ", "1.2.x"};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct fl_version v = {7, 7, 7};
		CHECK(fl_flower_version_parse(bad[i], &v) == -1 && v.major == 7 && v.minor == 7 &&
		          v.patch == 7,
		      "fl_flower_version_parse: '%s' refused, nothing written", bad[i]);
	}
	struct fl_version v;
	CHECK(fl_flower_version_parse(NULL, &v) == -1, "fl_flower_version_parse: NULL refused");

	struct fl_version a, b;
	fl_flower_version_parse("1.25.0", &a);
	fl_flower_version_parse("1.25.0", &b);
	CHECK(fl_flower_version_cmp(&a, &b) == 0, "fl_flower_version_cmp: 1.25.0 == 1.25.0");
	static const char *const order[] = {"0.99.99", "1.9.0",  "1.25.0",  "1.25.1",
	                                    "1.35.9",  "1.36.0", "1.100.0", "2.0.0"};
	for (size_t i = 0; i + 1 < NELEM(order); i++) {
		fl_flower_version_parse(order[i], &a);
		fl_flower_version_parse(order[i + 1], &b);
		CHECK(fl_flower_version_cmp(&a, &b) < 0 && fl_flower_version_cmp(&b, &a) > 0,
		      "fl_flower_version_cmp: %s < %s (numeric, not text)", order[i], order[i + 1]);
	}
	fl_flower_version_parse("1.36.0", &a);
	CHECK(fl_flower_version_at_least(&a, 1, 36) && fl_flower_version_at_least(&a, 1, 32) &&
	          !fl_flower_version_at_least(&a, 1, 37) && !fl_flower_version_at_least(&a, 2, 0),
	      "fl_flower_version_at_least: 1.36.0 >= 1.36 and 1.32, not 1.37 or 2.0");
	fl_flower_version_parse("2.0.0", &a);
	CHECK(fl_flower_version_at_least(&a, 1, 40) && fl_flower_version_at_least(&a, 2, 0) &&
	          !fl_flower_version_at_least(&a, 2, 1),
	      "fl_flower_version_at_least: 2.0.0 >= 1.40 (a higher major wins over the minor)");
	CHECK(strstr(fl_flower_era_name(FL_ERA_A), "1.25") && strstr(fl_flower_era_name(FL_ERA_B), "1.35") &&
	          strstr(fl_flower_era_name(FL_ERA_C), "1.40"),
	      "fl_flower_era_name: each era names its first version");
}

static void test_version_scan(void)
{
	struct fl_version v = {0, 0, 0};
	CHECK(fl_flower_version_scan("Flower version: 1.25.0\n", &v) == 0 && v.major == 1 && v.minor == 25 &&
	          v.patch == 0,
	      "fl_flower_version_scan: 'Flower version: 1.25.0'");
	v = (struct fl_version){0, 0, 0};
	CHECK(fl_flower_version_scan("INFO :      Starting\nsome banner\nFlower version: 1.41.0\n", &v) ==
	              0 &&
	          v.minor == 41,
	      "fl_flower_version_scan: the version after other lines");
	CHECK(fl_flower_version_scan("Flower version: 1.38.2", &v) == 0 && v.minor == 38 && v.patch == 2,
	      "fl_flower_version_scan: no trailing newline");
	static const char *const bad[] = {
	    "",
	    "flower 1.25.0\n",
	    "Flower version:\n",
	    "Flower version: \n",
	    "Flower version: garbage\n",
	    "Flower version: 1.25\n",
	    "Flower version: 1.25.0.1\n",
	    "Flower version: 123456789012345678901234567890123.1.1\n",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		CHECK(fl_flower_version_scan(bad[i], &v) == -1, "fl_flower_version_scan: refuses \"%.40s\"",
		      bad[i]);
}

/* --- the installed Flower's version --- */

static char root[] = "/tmp/fl-launch-XXXXXX";

static void put_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void mkdirs(const char *path)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	mkdir(buf, 0755);
}

static void test_detect(void)
{
	char bin[128], exe[256], di[512], path[512];
	struct fl_version v;
	struct fl_err e = {0};
	/* A pip install: the dist-info directory answers without running Python. */
	snprintf(bin, sizeof bin, "%s/venv/bin", root);
	snprintf(exe, sizeof exe, "%s/flower-superlink", bin);
	mkdirs(bin);
	put_file(exe, "#!/bin/sh\nexit 1\n", 0755);
	snprintf(di, sizeof di, "%s/venv/lib/python3.11/site-packages/flwr-1.41.0.dist-info", root);
	mkdirs(di);
	v = (struct fl_version){0, 0, 0};
	CHECK(fl_flower_detect(exe, 5000, &v, &e) == 0 && v.major == 1 && v.minor == 41 && v.patch == 0,
	      "fl_flower_detect: flwr-1.41.0.dist-info next to bin/ gives 1.41.0");
	/* Two installs side by side: ambiguous, so flwr --version is asked. */
	snprintf(di, sizeof di, "%s/venv/lib/python3.11/site-packages/flwr-1.25.0.dist-info", root);
	mkdirs(di);
	snprintf(path, sizeof path, "%s/flwr", bin);
	put_file(path, "#!/bin/sh\necho 'Loading...'\necho 'Flower version: 1.38.2'\n", 0755);
	v = (struct fl_version){0, 0, 0};
	CHECK(fl_flower_detect(exe, 5000, &v, &e) == 0 && v.minor == 38 && v.patch == 2,
	      "fl_flower_detect: two dist-info dirs are ambiguous; `flwr --version` decides");
	/* Neither answers: an error that says to pass --flower-version. */
	put_file(path, "#!/bin/sh\necho 'no idea'\n", 0755);
	CHECK(fl_flower_detect(exe, 5000, &v, &e) == -1 && strstr(e.msg, "--flower-version"),
	      "fl_flower_detect: no answer is an error naming --flower-version");
	/* The exe itself (1.28+ has --version) when flwr says nothing. */
	put_file(exe, "#!/bin/sh\n[ \"$1\" = --version ] && echo 'Flower version: 1.30.1'\n", 0755);
	v = (struct fl_version){0, 0, 0};
	CHECK(fl_flower_detect(exe, 5000, &v, &e) == 0 && v.minor == 30 && v.patch == 1,
	      "fl_flower_detect: `flower-superlink --version` as the last resort");
}

/* --- ExecStart quoting --- */

static void test_quote(void)
{
	static const struct {
		const char *in, *want, *why;
	} vec[] = {
	    {"plain", "plain", "a plain word as is"},
	    {"--superlink", "--superlink", "an option as is"},
	    {"10.0.0.7:9092", "10.0.0.7:9092", "host:port as is"},
	    {"[fd00::7]:9092", "[fd00::7]:9092", "[v6]:port as is"},
	    {"a$b", "a$$b", "$ -> $$"},
	    {"$HOME", "$$HOME", "a leading $ -> $$"},
	    {"50%", "50%%", "% -> %%"},
	    {"%n%i", "%%n%%i", "every specifier doubled"},
	    {"a b", "\"a b\"", "a blank: quoted"},
	    {"a\tb", "\"a\\tb\"", "a tab: quoted, as a C escape"},
	    {"partition-id=0 num-partitions=4", "\"partition-id=0 num-partitions=4\"",
	     "node-config: one quoted word"},
	    {"say \"hi\"", "\"say \\\"hi\\\"\"", "double quotes escaped inside quotes"},
	    {"it's", "\"it's\"", "a single quote: quoted"},
	    {"back\\slash", "\"back\\\\slash\"", "a backslash doubled inside quotes"},
	    {"a;b", "\"a;b\"", "a semicolon: quoted"},
	    {"", "\"\"", "empty -> \"\""},
	    {"$ %", "\"$$ %%\"", "blank, $ and % together"},
	};
	for (size_t i = 0; i < NELEM(vec); i++) {
		struct fl_buf b = FL_BUF_INIT;
		fl_launch_unit_quote(&b, vec[i].in);
		CHECK_STR(fl_buf_str(&b), vec[i].want, "fl_launch_unit_quote: %s", vec[i].why);
		fl_buf_free(&b);
	}
	/* A control character never reaches the unit file raw: ExecStart= would end there. */
	struct fl_buf b = FL_BUF_INIT;
	fl_launch_unit_quote(&b, "a\nb\x01");
	CHECK_STR(fl_buf_str(&b), "\"a\\nb\\x01\"",
	          "fl_launch_unit_quote: newline and control bytes as C escapes");
	fl_buf_free(&b);
}

/* --- plans --- */

static struct fl_ctx ctx;
static struct fl_launch_plan plan;
static struct fl_diags diags;
static struct fl_err err;
static bool expect_fail; /* the next plan is meant to be refused: no diagnostic line */

static bool ctx_load(char **envp)
{
	struct fl_ctx_opts o = {NULL, NULL, envp};
	struct fl_err e = {0};
	if (fl_ctx_load(&ctx, &o, &e) < 0) {
		DIAG("fl_ctx_load: %s", e.msg);
		return false;
	}
	return true;
}

static void opts_default(struct fl_launch_opts *o, unsigned role, const char *version)
{
	memset(o, 0, sizeof *o);
	o->role = role;
	o->runtime = FL_RUNTIME_DOCKER;
	o->supervisor = FL_SUPERVISOR_SYSTEMD;
	o->flower_dir = "/opt/flower";
	o->unit_dir = "/etc/systemd/system";
	o->docker = "/usr/bin/docker";
	fl_flower_version_parse(version, &o->version);
	o->vm_addr = "10.0.0.5";
	o->uid = 49999;
	o->gid = 49999;
	o->health_port = role == FL_ROLE_SUPERLINK ? FL_LAUNCH_HEALTH_PORT : 0;
	o->pyhook = "/usr/share/flkit/python";
}

static void done(void)
{
	fl_launch_plan_free(&plan);
	fl_diags_free(&diags);
	fl_ctx_free(&ctx);
	memset(&err, 0, sizeof err);
}

/* Plan for envp (NULL-terminated FL_*=value strings) with o; 0 or -1 like fl_launch_plan. */
static int plan_env(char **envp, const struct fl_launch_opts *o)
{
	memset(&diags, 0, sizeof diags);
	memset(&err, 0, sizeof err);
	memset(&plan, 0, sizeof plan);
	if (!ctx_load(envp))
		return -2;
	int rc = fl_launch_plan(&ctx, o, &plan, &diags, &err);
	if (rc < 0 && !expect_fail)
		DIAG("fl_launch_plan: %s", err.msg);
	expect_fail = false;
	return rc;
}

/* Index of a in argv, -1 when absent. */
static long argv_find(const struct fl_argv *v, const char *a)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], a) == 0)
			return (long)i;
	return -1;
}

/* argv holds option immediately followed by value. */
static bool argv_pair(const struct fl_argv *v, const char *opt, const char *value)
{
	for (size_t i = 0; i + 1 < v->n; i++)
		if (strcmp(v->v[i], opt) == 0 && strcmp(v->v[i + 1], value) == 0)
			return true;
	return false;
}

static void argv_show(const struct fl_argv *v)
{
	struct fl_buf b = FL_BUF_INIT;
	for (size_t i = 0; i < v->n; i++)
		fl_buf_addf(&b, "%s%s", i ? " " : "", v->v[i]);
	unit_show("argv", fl_buf_str(&b), 2000);
	fl_buf_free(&b);
}

static bool diag_has(enum fl_level l, const char *sub)
{
	for (size_t i = 0; i < diags.n; i++)
		if (diags.v[i].level == l && strstr(diags.v[i].msg, sub))
			return true;
	return false;
}

static void test_superlink_addr(void)
{
	struct fl_launch_opts o;
	static const struct {
		const char *ctx_addr, *discovered, *want, *why;
	} vec[] = {
	    {"10.0.0.7:9092", NULL, "10.0.0.7:9092", "a static host:port as is (never :9092:9092)"},
	    {"10.10.9.0:9092", NULL, "10.10.9.0:9092", "design 04 §8.2 test 10"},
	    {"superlink.example.com:9443", NULL, "superlink.example.com:9443",
	     "a name with its own port kept"},
	    {"[fd00::7]:9093", NULL, "[fd00::7]:9093", "a static [v6]:port as is"},
	    {NULL, "10.0.0.7:9095", "10.0.0.7:9095", "a discovered host:port keeps its port"},
	    {NULL, "10.0.0.7", "10.0.0.7:9092", "a bare discovered host gets :9092"},
	    {NULL, "superlink.example.com", "superlink.example.com:9092",
	     "a bare discovered name gets :9092"},
	    {NULL, "[fd00::7]", "[fd00::7]:9092", "a bracketed v6 host gets :9092"},
	    {NULL, "fd00::7", "[fd00::7]:9092", "a bare v6 host is bracketed, then :9092"},
	    {NULL, "[fd00::7]:9092", "[fd00::7]:9092", "a discovered [v6]:port as is"},
	    {"10.0.0.8:9092", "10.0.0.9:9092", "10.0.0.8:9092", "FL_SUPERLINK_ADDRESS wins over discovery"},
	};
	for (size_t i = 0; i < NELEM(vec); i++) {
		char kv[300];
		snprintf(kv, sizeof kv, "FL_SUPERLINK_ADDRESS=%s", vec[i].ctx_addr ? vec[i].ctx_addr : "");
		char *envp[] = {kv, NULL};
		opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
		o.superlink = vec[i].discovered;
		int rc = plan_env(envp, &o);
		CHECK(rc == 0 && argv_pair(&plan.argv, "--superlink", vec[i].want) &&
		          strcmp(plan.a.superlink, vec[i].want) == 0,
		      "--superlink %s: %s", vec[i].want, vec[i].why);
		if (rc == 0 && !argv_pair(&plan.argv, "--superlink", vec[i].want))
			argv_show(&plan.argv);
		done();
	}
	/* No address at all: the fl-onegate discover hint. */
	char *none[] = {NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	expect_fail = true;
	CHECK(plan_env(none, &o) == -1 && err.code == FL_EXIT_FAIL && strstr(err.msg, "fl-onegate discover"),
	      "SuperNode without an address: exit 1 naming `fl-onegate discover`");
	done();
	/* A discovery file is untrusted: a malformed address is refused, not passed on. */
	static const char *const junk[] = {"10.0.0.7:0", "10.0.0.7:99999", "10.0.0.7:abc",
	                                   "a b:9092",   "[fd00::7",       "-x:9092"};
	for (size_t i = 0; i < NELEM(junk); i++) {
		opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
		o.superlink = junk[i];
		expect_fail = true;
		CHECK(plan_env(none, &o) == -1 && err.code == FL_EXIT_FAIL, "a discovered '%s' is refused",
		      junk[i]);
		done();
	}
}

static void test_supernode_flags(void)
{
	struct fl_launch_opts o;
	char *base[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	if (plan_env(base, &o) == 0) {
		CHECK(argv_find(&plan.argv, "--max-retries") < 0 &&
		          argv_find(&plan.argv, "--max-wait-time") < 0,
		      "FL_MAX_RETRIES/FL_MAX_WAIT_TIME 0 (default): both flags omitted (decision 9)");
		CHECK(argv_find(&plan.argv, "--node-config") < 0, "empty FL_NODE_CONFIG: no --node-config");
		CHECK(argv_find(&plan.argv, "--gpus") < 0 && argv_find(&plan.argv, "-e") < 0,
		      "FL_GPU_ENABLED=NO: no GPU flags");
		CHECK(argv_find(&plan.argv, "--insecure") > argv_find(&plan.argv, "flwr/supernode:1.25.0") &&
		          argv_find(&plan.argv, "flwr/supernode:1.25.0") > 0,
		      "--insecure follows the image flwr/supernode:1.25.0");
		CHECK(argv_pair(&plan.argv, "-v", "/opt/flower/data:/app/data:ro") &&
		          argv_pair(&plan.argv, "--env-file", "/opt/flower/config/supernode.env") &&
		          argv_pair(&plan.argv, "--name", "flower-supernode") &&
		          argv_find(&plan.argv, "-p") < 0,
		      "SuperNode: data volume, env file, name, no published port");
		CHECK(argv_find(&plan.argv, "--restart") < 0 && argv_find(&plan.argv, "-d") < 0 &&
		          argv_find(&plan.argv, "--rm") == 2,
		      "systemd form: --rm, no -d, no docker --restart policy");
		CHECK(strcmp(plan.argv.v[0], "/usr/bin/docker") == 0 && strcmp(plan.argv.v[1], "run") == 0,
		      "argv starts with the docker path and run");
		CHECK_STR(plan.image, "flwr/supernode:1.25.0", "image is flwr/supernode:TAG");
		CHECK(strstr(fl_buf_str(&plan.env), "\nFLWR_LOG_LEVEL=INFO\n") &&
		          strstr(fl_buf_str(&plan.env), "\nFLOWER_GRPC_KEEPALIVE_TIME_MS=60000\n") &&
		          strstr(fl_buf_str(&plan.env), "\nFLOWER_GRPC_KEEPALIVE_TIMEOUT_MS=20000\n"),
		      "env file: log level and keepalive in ms (design 04 §8.2 test 6)");
		CHECK(diag_has(FL_INFO, "gRPC keepalive: time=60s (60000ms), timeout=20s (20000ms)"),
		      "keepalive logged as the spec says");
	}
	done();

	char *retries[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_MAX_RETRIES=5", "FL_MAX_WAIT_TIME=30",
	                   NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	CHECK(plan_env(retries, &o) == 0 && argv_pair(&plan.argv, "--max-retries", "5") &&
	          argv_pair(&plan.argv, "--max-wait-time", "30"),
	      "FL_MAX_RETRIES=5 FL_MAX_WAIT_TIME=30: --max-retries 5 --max-wait-time 30");
	done();
	char *zero[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_MAX_RETRIES=0", "FL_MAX_WAIT_TIME=30",
	                NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	CHECK(plan_env(zero, &o) == 0 && argv_find(&plan.argv, "--max-retries") < 0 &&
	          argv_pair(&plan.argv, "--max-wait-time", "30"),
	      "FL_MAX_RETRIES=0 given explicitly: --max-retries omitted, --max-wait-time kept");
	done();

	char *nc[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_NODE_CONFIG=partition-id=0 num-partitions=4",
	              NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	CHECK(plan_env(nc, &o) == 0 &&
	          argv_pair(&plan.argv, "--node-config", "partition-id=0 num-partitions=4"),
	      "FL_NODE_CONFIG is one argv element (design 04 §8.2 test 11)");
	CHECK(
	    strstr(fl_buf_str(&plan.unit), " \\\n    --node-config \"partition-id=0 num-partitions=4\" \\\n"),
	    "the unit quotes the node config as one word");
	done();

	/* TLS: the CA file mounted read-only, --root-certificates instead of --insecure. */
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	o.tls = true;
	CHECK(plan_env(base, &o) == 0 && argv_pair(&plan.argv, "--root-certificates", "/app/ca.crt") &&
	          argv_pair(&plan.argv, "-v", "/opt/flower/certs/ca.crt:/app/ca.crt:ro") &&
	          argv_find(&plan.argv, "--insecure") < 0,
	      "SuperNode TLS: --root-certificates /app/ca.crt and the CA mount, no --insecure");
	done();
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	o.tls = true;
	o.runtime = FL_RUNTIME_PROCESS;
	o.exe = "/venv/bin/flower-supernode";
	CHECK(plan_env(base, &o) == 0 &&
	          argv_pair(&plan.argv, "--root-certificates", "/opt/flower/certs/ca.crt") &&
	          strcmp(plan.argv.v[0], "/venv/bin/flower-supernode") == 0,
	      "process runtime: the native command with the host CA path");
	done();

	/* Keepalive below 30 s: GOAWAY warning (design 04 §8.2 test 8). */
	char *ka[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_GRPC_KEEPALIVE_TIME=5",
	              "FL_GRPC_KEEPALIVE_TIMEOUT=2", NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	CHECK(plan_env(ka, &o) == 0 && diag_has(FL_WARN, "below 30 s") &&
	          strstr(fl_buf_str(&plan.env), "\nFLOWER_GRPC_KEEPALIVE_TIME_MS=5000\n"),
	      "keepalive 5/2: warned (GOAWAY), 5000 ms in the env file");
	done();
}

static void test_gpu(void)
{
	struct fl_launch_opts o;
	char *gpu01[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_GPU_ENABLED=yes",
	                 "FL_CUDA_VISIBLE_DEVICES=0,1", NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	o.gpu = true;
	if (CHECK(plan_env(gpu01, &o) == 0, "GPU yes (lower case) + detected + CUDA 0,1: planned")) {
		long g = argv_find(&plan.argv, "--gpus");
		CHECK(g > 0 && (size_t)g + 3 < plan.argv.n && strcmp(plan.argv.v[g + 1], "all") == 0 &&
		          strcmp(plan.argv.v[g + 2], "-e") == 0 &&
		          strcmp(plan.argv.v[g + 3], "CUDA_VISIBLE_DEVICES=0,1") == 0,
		      "--gpus all -e CUDA_VISIBLE_DEVICES=0,1 (design 04 §8.2 test 2)");
		CHECK(g < argv_find(&plan.argv, plan.image),
		      "GPU flags are docker options, before the image");
		CHECK(strstr(fl_buf_str(&plan.env), "\nFL_GPU_MEMORY_FRACTION=0.8\n") != NULL,
		      "env file: FL_GPU_MEMORY_FRACTION");
		CHECK(!strstr(fl_buf_str(&plan.env), "TF_FORCE_GPU_ALLOW_GROWTH"),
		      "pytorch: no TF_FORCE_GPU_ALLOW_GROWTH");
		CHECK(!diag_has(FL_WARN, "no usable GPU"), "no CPU-fallback warning");
	}
	done();

	char *all[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_GPU_ENABLED=YES",
	               "FL_CUDA_VISIBLE_DEVICES=all", "ML_FRAMEWORK=tensorflow", NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	o.gpu = true;
	if (CHECK(plan_env(all, &o) == 0, "GPU YES + detected + CUDA all: planned")) {
		CHECK(argv_pair(&plan.argv, "--gpus", "all") && argv_find(&plan.argv, "-e") < 0,
		      "CUDA all: --gpus all and no -e CUDA_VISIBLE_DEVICES (design 04 §8.2 test 3)");
		CHECK(strstr(fl_buf_str(&plan.env), "\nTF_FORCE_GPU_ALLOW_GROWTH=true\n") != NULL,
		      "tensorflow: TF_FORCE_GPU_ALLOW_GROWTH=true in the env file");
		CHECK(!strstr(fl_buf_str(&plan.env), "CUDA_VISIBLE_DEVICES"),
		      "CUDA all: no CUDA_VISIBLE_DEVICES anywhere");
	}
	done();

	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	o.gpu = false;
	if (CHECK(plan_env(gpu01, &o) == 0, "GPU yes but not detected: planned (CPU fallback)")) {
		CHECK(argv_find(&plan.argv, "--gpus") < 0 && argv_find(&plan.argv, "-e") < 0,
		      "not detected: no --gpus, no -e (design 04 §8.2 test 4)");
		CHECK(diag_has(FL_WARN, "no usable GPU was detected"), "not detected: a WARN diagnostic");
		CHECK(!strstr(fl_buf_str(&plan.env), "FL_GPU_MEMORY_FRACTION"),
		      "not detected: no GPU lines in the env file");
	}
	done();

	char *off[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_GPU_ENABLED=NO",
	               "FL_CUDA_VISIBLE_DEVICES=0,1", NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	o.gpu = true;
	CHECK(plan_env(off, &o) == 0 && argv_find(&plan.argv, "--gpus") < 0 &&
	          argv_find(&plan.argv, "-e") < 0 && !diag_has(FL_WARN, "GPU"),
	      "GPU=NO with a GPU present: no GPU flags, no warning (design 04 §8.2 test 1)");
	done();

	/* Native process: CUDA_VISIBLE_DEVICES goes to the env file (no docker -e). */
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	o.gpu = true;
	o.runtime = FL_RUNTIME_PROCESS;
	o.exe = "/venv/bin/flower-supernode";
	CHECK(plan_env(gpu01, &o) == 0 && strstr(fl_buf_str(&plan.env), "\nCUDA_VISIBLE_DEVICES=0,1\n") &&
	          argv_find(&plan.argv, "--gpus") < 0,
	      "process runtime: CUDA_VISIBLE_DEVICES=0,1 in the env file");
	done();
}

/* --- the GPU decision, its record and the DCGM exporter --- */

#define GPUFIX "test/fixtures/gpu/"

/* Decide for envp on the machine tree as mode says (plan_env's context left loaded). */
static void decide(char **envp, struct fl_launch_opts *o, enum fl_launch_gpu_mode mode, const char *tree,
                   struct fl_launch_gpu *g)
{
	memset(&diags, 0, sizeof diags);
	if (!ctx_load(envp))
		return;
	fl_launch_gpu_decide(&ctx, o, mode, tree, g, &diags);
	fl_ctx_free(&ctx);
}

static void test_gpu_decide(void)
{
	struct fl_launch_opts o;
	struct fl_launch_gpu g;
	char *on[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_GPU_ENABLED=YES", NULL};
	char *off[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_GPU_ENABLED=NO", NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");

	decide(off, &o, FL_LAUNCH_GPU_AUTO, GPUFIX "h100", &g);
	CHECK(g.decided && !g.enabled && !g.detected && !g.usable && strcmp(g.reason, "disabled") == 0 &&
	          !g.event[0],
	      "FL_GPU_ENABLED=NO: no detection, not usable, reason disabled, no event");
	fl_diags_free(&diags);
	decide(off, &o, FL_LAUNCH_GPU_YES, GPUFIX "h100", &g);
	CHECK(!g.usable, "FL_GPU_ENABLED=NO wins over --gpu yes");
	fl_diags_free(&diags);

	decide(on, &o, FL_LAUNCH_GPU_AUTO, GPUFIX "none", &g);
	CHECK(g.detected && !g.usable && strcmp(g.reason, "none") == 0 &&
	          strncmp(g.why, "no usable GPU was detected (", 28) == 0 && !g.fix[0],
	      "none: detected, not usable, reason none, why says so, no fix (%s)", g.why);
	CHECK(strstr(g.event, "\"event\":\"gpu_unavailable\"") && strstr(g.event, "\"reason\":\"none\""),
	      "none: the gpu_unavailable event with reason none");
	fl_diags_free(&diags);

	decide(on, &o, FL_LAUNCH_GPU_AUTO, GPUFIX "vfio", &g);
	CHECK(!g.usable && strcmp(g.reason, "vfio") == 0 &&
	          strncmp(g.why, "the GPU is not usable: ", 23) == 0 && strstr(g.fix, "driverctl"),
	      "vfio in the VM: not usable, the cause and the driverctl fix (%s; %s)", g.why, g.fix);
	fl_diags_free(&diags);

	decide(on, &o, FL_LAUNCH_GPU_AUTO, GPUFIX "nouveau", &g);
	CHECK(!g.usable && strcmp(g.reason, "nouveau") == 0 && g.fix[0], "nouveau: not usable, a fix");
	fl_diags_free(&diags);

	decide(on, &o, FL_LAUNCH_GPU_NO, GPUFIX "h100", &g);
	CHECK(g.enabled && !g.detected && !g.usable && strcmp(g.reason, "operator") == 0 &&
	          strcmp(g.why, "--gpu no") == 0,
	      "--gpu no: CPU, no detection, the operator's word");
	fl_diags_free(&diags);

	decide(on, &o, FL_LAUNCH_GPU_YES, GPUFIX "h100", &g);
	CHECK(g.usable && !g.detected && !g.cdi && strcmp(g.reason, "operator") == 0,
	      "--gpu yes: usable without detection, the nvidia runtime: --gpus all");
	fl_diags_free(&diags);

	o.role = FL_ROLE_SUPERLINK;
	decide(on, &o, FL_LAUNCH_GPU_AUTO, GPUFIX "h100", &g);
	CHECK(!g.decided && !g.usable, "a SuperLink has no GPU decision");
	fl_diags_free(&diags);
}

/* What the plan makes of a decision: the CDI device, the fallback's cause and fix. */
static void test_gpu_plan(void)
{
	struct fl_launch_opts o;
	struct fl_launch_gpu g = {.decided = true, .enabled = true, .usable = true, .cdi = true};
	char *cuda0[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_GPU_ENABLED=YES",
	                 "FL_CUDA_VISIBLE_DEVICES=0", NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	o.gpu = true;
	o.gpu_decision = &g;
	if (CHECK(plan_env(cuda0, &o) == 0, "CDI: planned")) {
		CHECK(argv_pair(&plan.argv, "--device", "nvidia.com/gpu=all") &&
		          argv_find(&plan.argv, "--gpus") < 0 &&
		          argv_pair(&plan.argv, "-e", "CUDA_VISIBLE_DEVICES=0"),
		      "CDI: --device nvidia.com/gpu=all instead of --gpus all, CUDA_VISIBLE_DEVICES=0");
		CHECK(argv_find(&plan.argv, "--device") < argv_find(&plan.argv, plan.image),
		      "CDI: the device is a docker option, before the image");
	}
	done();

	struct fl_launch_gpu bad = {.decided = true, .enabled = true};
	snprintf(bad.why, sizeof bad.why, "the GPU is not usable: NVIDIA driver/library version mismatch");
	snprintf(bad.fix, sizeof bad.fix, "reboot");
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	o.gpu_decision = &bad;
	if (CHECK(plan_env(cuda0, &o) == 0, "broken GPU: planned (CPU fallback)")) {
		CHECK(argv_find(&plan.argv, "--gpus") < 0 && argv_find(&plan.argv, "--device") < 0 &&
		          !strstr(fl_buf_str(&plan.env), "FL_GPU_MEMORY_FRACTION"),
		      "broken GPU: no GPU flag, no memory variable");
		CHECK(diag_has(FL_WARN,
		               "FL_GPU_ENABLED=YES but the GPU is not usable: NVIDIA driver/library version "
		               "mismatch: starting on CPU without --gpus; fix: reboot"),
		      "broken GPU: the WARNING names the cause and the fix");
	}
	done();
	/* The hash follows the GPU: a GPU that broke (or came back) restarts Flower. */
	char h1[65], h2[65];
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	o.gpu = true;
	plan_env(cuda0, &o);
	memcpy(h1, plan.hash, sizeof h1);
	done();
	o.gpu = false;
	plan_env(cuda0, &o);
	memcpy(h2, plan.hash, sizeof h2);
	done();
	CHECK(strcmp(h1, h2) != 0, "the plan's hash differs with and without the GPU");
}

static void test_gpu_record(void)
{
	struct fl_launch_gpu g = {.decided = true,
	                          .enabled = true,
	                          .detected = true,
	                          .usable = true,
	                          .reason = "usable",
	                          .name = "NVIDIA H100\n80GB",
	                          .memory_mb = 81559,
	                          .driver = "550.54.15"};
	struct fl_buf b = FL_BUF_INIT;
	fl_launch_gpu_render(&g, &b);
	CHECK_STR(fl_buf_str(&b),
	          "FL_GPU_AVAILABLE=YES\nFL_GPU_REASON=usable\nFL_GPU_NAME=NVIDIA H100?80GB\n"
	          "FL_GPU_MEMORY_MB=81559\nFL_GPU_DRIVER=550.54.15\n",
	          "render: one line per value, a control character in the name replaced");
	fl_buf_free(&b);
	char path[256];
	snprintf(path, sizeof path, "%s/flower-supernode.gpu", root);
	struct fl_err e = {0};
	struct fl_launch_gpu r;
	CHECK(fl_launch_gpu_record(path, &g, &e) == 0 && fl_launch_gpu_recorded(path, &r) == 0 && r.decided &&
	          r.usable && strcmp(r.name, "NVIDIA H100?80GB") == 0 && r.memory_mb == 81559 &&
	          strcmp(r.driver, "550.54.15") == 0 && strcmp(r.reason, "usable") == 0 && !r.cdi,
	      "record, then read back: the same decision");
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the record is 0600");
	struct fl_argv pairs = FL_ARGV_INIT;
	fl_launch_gpu_pairs(&r, &pairs);
	CHECK(pairs.n == 4 && strcmp(pairs.v[0], "FL_GPU_AVAILABLE=YES") == 0 &&
	          strcmp(pairs.v[1], "FL_GPU_NAME=NVIDIA H100?80GB") == 0 &&
	          strcmp(pairs.v[2], "FL_GPU_MEMORY_MB=81559") == 0 &&
	          strcmp(pairs.v[3], "FL_GPU_DRIVER=550.54.15") == 0,
	      "pairs: available, name, memory, driver");
	fl_argv_free(&pairs);
	struct fl_launch_gpu op = {.decided = true, .usable = true, .reason = "operator"};
	fl_launch_gpu_pairs(&op, &pairs);
	CHECK(pairs.n == 1 && strcmp(pairs.v[0], "FL_GPU_AVAILABLE=YES") == 0,
	      "pairs: --gpu yes knows no name: FL_GPU_AVAILABLE=YES alone");
	fl_argv_free(&pairs);
	struct fl_launch_gpu no = {.decided = true, .name = "stale"};
	fl_launch_gpu_pairs(&no, &pairs);
	CHECK(pairs.n == 1 && strcmp(pairs.v[0], "FL_GPU_AVAILABLE=NO") == 0, "pairs: NO alone");
	fl_argv_free(&pairs);

	static const char *const hostile[] = {
	    "",                                           /* empty */
	    "FL_GPU_REASON=usable\n",                     /* no FL_GPU_AVAILABLE */
	    "FL_GPU_AVAILABLE=MAYBE\n",                   /* not YES or NO */
	    "FL_GPU_AVAILABLE=YES\nPATH=/evil\n",         /* a foreign key */
	    "FL_GPU_AVAILABLE=YES\nFL_GPU_NAME=a\x01b\n", /* a control character */
	    "FL_GPU_AVAILABLE=YES\nFL_GPU_MEMORY_MB=12x\n",
	    "FL_GPU_AVAILABLE=YES\nFL_GPU_MEMORY_MB=99999999999999999999\n",
	    "FL_GPU_AVAILABLE=YES\nno equals sign\n",
	};
	for (size_t i = 0; i < NELEM(hostile); i++) {
		fl_fs_write_atomic(path, hostile[i], strlen(hostile[i]), 0600, FL_OWNER_KEEP, (gid_t)-1, &e);
		memset(&r, 0x55, sizeof r);
		CHECK(fl_launch_gpu_recorded(path, &r) == -1 && !r.decided && !r.usable && !r.name[0],
		      "recorded: hostile record %zu refused, nothing kept", i);
	}
	/* Over 4 KiB: refused before parsing. */
	struct fl_buf big = FL_BUF_INIT;
	fl_buf_adds(&big, "FL_GPU_AVAILABLE=YES\n");
	while (big.len <= 4096)
		fl_buf_adds(&big, "FL_GPU_REASON=usable\n");
	fl_fs_write_atomic(path, fl_buf_str(&big), big.len, 0600, FL_OWNER_KEEP, (gid_t)-1, &e);
	fl_buf_free(&big);
	CHECK(fl_launch_gpu_recorded(path, &r) == -1, "recorded: over 4 KiB refused");
	/* A truncated record (no final newline) still reads. */
	const char *cut = "FL_GPU_AVAILABLE=NO\nFL_GPU_REASON=mismatch";
	fl_fs_write_atomic(path, cut, strlen(cut), 0600, FL_OWNER_KEEP, (gid_t)-1, &e);
	CHECK(fl_launch_gpu_recorded(path, &r) == 0 && !r.usable && strcmp(r.reason, "mismatch") == 0,
	      "recorded: the last line without a newline reads");
	/* A FIFO is not waited on. */
	unlink(path);
	CHECK(mkfifo(path, 0600) == 0 && fl_launch_gpu_recorded(path, &r) == -1,
	      "recorded: a FIFO is refused");
	unlink(path);
	CHECK(fl_launch_gpu_recorded(path, &r) == -1 && fl_launch_gpu_recorded(NULL, &r) == -1,
	      "recorded: none is -1");
}

static void test_dcgm(void)
{
	struct fl_launch_opts o;
	struct fl_launch_gpu g = {.decided = true, .enabled = true, .usable = true};
	char *dcgm[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_GPU_ENABLED=YES", "FL_DCGM_ENABLED=YES",
	                NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	o.gpu = true;
	o.gpu_decision = &g;
	if (CHECK(plan_env(dcgm, &o) == 0, "DCGM: planned")) {
		char hash[65];
		memcpy(hash, plan.hash, sizeof hash);
		fl_launch_dcgm_plan(&ctx, &o, &plan, &diags);
		const char *u = fl_buf_str(&plan.dcgm_unit);
		CHECK(plan.dcgm && plan.dcgm_unit_path &&
		          strstr(plan.dcgm_unit_path, "/dcgm-exporter.service"),
		      "DCGM: planned, its unit beside Flower's");
		CHECK(strstr(u, "\nAfter=docker.service flower-supernode.service\nRequires=docker.service\n"
		                "PartOf=flower-supernode.service\n") != NULL,
		      "DCGM unit: after docker and the SuperNode, part of the SuperNode");
		CHECK(
		    strstr(u, "\nExecStartPre=-/usr/bin/docker rm -f dcgm-exporter\n") &&
		        strstr(
		            u,
		            "\nExecStart=/usr/bin/docker run --name dcgm-exporter --rm --gpus all --cap-add "
		            "SYS_ADMIN -p 9400:9400 " FL_LAUNCH_DCGM_IMAGE "\n") &&
		        strstr(u, "\nExecStop=/usr/bin/docker stop dcgm-exporter\n") &&
		        strstr(u, "\nRestart=on-failure\nRestartSec=10\n") &&
		        strstr(u, "\nWantedBy=multi-user.target\n") && !strstr(u, " -d "),
		    "DCGM unit: design 04 §3.4's Exec lines (no -d), restart, install");
		CHECK(strcmp(hash, plan.hash) == 0, "DCGM: not part of Flower's hash");
	}
	done();
	static const struct {
		const char *gpu, *dcgm;
		bool usable;
		enum fl_runtime rt;
		enum fl_level level;
		const char *msg;
	} no[] = {
	    {"YES", "NO", true, FL_RUNTIME_DOCKER, FL_INFO,
	     "FL_DCGM_ENABLED is not YES, skipping DCGM Exporter"},
	    {"NO", "YES", true, FL_RUNTIME_DOCKER, FL_INFO,
	     "FL_GPU_ENABLED is not YES, DCGM Exporter not applicable"},
	    {"YES", "YES", false, FL_RUNTIME_DOCKER, FL_WARN,
	     "GPU not available, DCGM Exporter will not start"},
	    {"YES", "YES", true, FL_RUNTIME_PROCESS, FL_INFO,
	     "DCGM Exporter runs as a container: not with --runtime "
	     "process"},
	};
	for (size_t i = 0; i < NELEM(no); i++) {
		char gpu[32], dc[32];
		snprintf(gpu, sizeof gpu, "FL_GPU_ENABLED=%s", no[i].gpu);
		snprintf(dc, sizeof dc, "FL_DCGM_ENABLED=%s", no[i].dcgm);
		char *env[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", gpu, dc, NULL};
		opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
		o.gpu = no[i].usable;
		o.runtime = no[i].rt;
		o.exe = "/venv/bin/flower-supernode";
		if (plan_env(env, &o) == 0) {
			fl_launch_dcgm_plan(&ctx, &o, &plan, &diags);
			CHECK(!plan.dcgm && !plan.dcgm_unit.len && diag_has(no[i].level, no[i].msg) &&
			          (no[i].rt == FL_RUNTIME_DOCKER) == (plan.dcgm_unit_path != NULL),
			      "DCGM not planned: %s", no[i].msg);
		}
		done();
	}
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	char *sl[] = {"FL_DCGM_ENABLED=YES", NULL};
	if (plan_env(sl, &o) == 0) {
		fl_launch_dcgm_plan(&ctx, &o, &plan, &diags);
		CHECK(!plan.dcgm && !plan.dcgm_unit_path, "DCGM: never on a SuperLink");
	}
	done();
}

static void test_superlink_flags(void)
{
	struct fl_launch_opts o;
	char *none[] = {NULL};
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	if (CHECK(plan_env(none, &o) == 0, "SuperLink 1.25.0 defaults: planned")) {
		CHECK(argv_pair(&plan.argv, "--fleet-api-address", "0.0.0.0:9092") &&
		          argv_pair(&plan.argv, "--control-api-address", "0.0.0.0:9093") &&
		          argv_pair(&plan.argv, "--serverappio-api-address", "127.0.0.1:9091"),
		      "era A: --fleet-api-address, --control-api-address, --serverappio-api-address");
		CHECK(argv_find(&plan.argv, "--host") < 0 && argv_find(&plan.argv, "--port") < 0,
		      "era A: no --host/--port");
		CHECK(argv_find(&plan.argv, "--disable-runtime-dependency-installation") < 0,
		      "1.25: no --disable-runtime-dependency-installation (1.32+)");
		CHECK(argv_pair(&plan.argv, "-p", "10.0.0.5:9092:9092") &&
		          argv_pair(&plan.argv, "-p", "127.0.0.1:9093:9093") &&
		          argv_pair(&plan.argv, "-p", "127.0.0.1:9099:9099"),
		      "Fleet published on the VM address, Control and health on loopback only");
		CHECK(argv_pair(&plan.argv, "--database", "state/state.db") &&
		          argv_pair(&plan.argv, "-v", "/opt/flower/state:/app/state") &&
		          argv_pair(&plan.argv, "--health-server-address", "0.0.0.0:9099"),
		      "database, state volume, health server");
		CHECK(argv_find(&plan.argv, "--insecure") > 0, "TLS off: --insecure");
		CHECK_STR(plan.a.endpoint, "10.0.0.5:9092", "FL_ENDPOINT: the VM address and the Fleet port");
		CHECK_STR(plan.a.fleet_probe, "127.0.0.1:9092",
		          "a bind-all Fleet address is probed on loopback");
		CHECK_STR(plan.a.control, "127.0.0.1:9093", "the Control API on loopback");
		CHECK_STR(plan.a.health, "127.0.0.1:9099", "the health server on loopback");
	}
	done();

	opts_default(&o, FL_ROLE_SUPERLINK, "1.32.0");
	CHECK(plan_env(none, &o) == 0 &&
	          argv_find(&plan.argv, "--disable-runtime-dependency-installation") > 0 &&
	          argv_find(&plan.argv, "--serverappio-api-address") > 0,
	      "1.32.0 (era A): adds --disable-runtime-dependency-installation");
	done();

	opts_default(&o, FL_ROLE_SUPERLINK, "1.38.0");
	if (CHECK(plan_env(none, &o) == 0, "SuperLink 1.38.0: planned")) {
		CHECK(argv_pair(&plan.argv, "--host", "0.0.0.0") && argv_pair(&plan.argv, "--port", "9093") &&
		          argv_pair(&plan.argv, "--fleet-api-address", "0.0.0.0:9092"),
		      "era B: --host/--port for the Control API, Fleet still --fleet-api-address");
		CHECK(argv_find(&plan.argv, "--control-api-address") < 0 &&
		          argv_find(&plan.argv, "--serverappio-api-address") < 0,
		      "era B: no --control-api-address, no --serverappio-api-address");
		CHECK(argv_pair(&plan.argv, "-p", "127.0.0.1:9093:9093"),
		      "era B: Control published on loopback 9093");
	}
	done();

	/* Era C (issue 9 item 0): Flower on loopback only, nginx passes the Fleet routes. */
	opts_default(&o, FL_ROLE_SUPERLINK, "1.41.0");
	if (CHECK(plan_env(none, &o) == 0, "SuperLink 1.41.0: planned")) {
		CHECK(argv_pair(&plan.argv, "--host", "0.0.0.0") && argv_pair(&plan.argv, "--port", "9093") &&
		          argv_find(&plan.argv, "--fleet-api-address") < 0 &&
		          argv_find(&plan.argv, "--control-api-address") < 0,
		      "era C: one server on --host/--port = the Control port");
		CHECK(argv_pair(&plan.argv, "-p", "127.0.0.1:9093:9093") &&
		          argv_find(&plan.argv, "10.0.0.5:9092:9092") < 0,
		      "era C: Flower published on loopback only, not on the VM address");
		CHECK(plan.proxied && strcmp(plan.a.proxy, "10.0.0.5:9092") == 0 &&
		          strcmp(plan.a.fleet_probe, "10.0.0.5:9092") == 0 &&
		          strcmp(plan.a.control, "127.0.0.1:9093") == 0,
		      "era C: the proxy listens on the VM address, Flower on 127.0.0.1:9093");
		const char *conf = fl_buf_str(&plan.proxy_conf);
		CHECK(strstr(conf, "listen 10.0.0.5:9092;") && strstr(conf, "server 127.0.0.1:9093;") &&
		          strstr(conf, "location = /v1/fleet/pull-messages {") &&
		          strstr(conf, "proxy_pass http://flower/v1/fleet/pull-messages;") &&
		          strstr(conf, "location / {\n\t\t\treturn 403;") && !strstr(conf, "/v1/control") &&
		          !strstr(conf, "/v1/runtime") && !strstr(conf, "0.0.0.0"),
		      "era C: the proxy passes Fleet routes only, 403 for the rest, never binds all");
		CHECK(plan.proxy_argv.n == 7 && strcmp(plan.proxy_argv.v[0], FL_LAUNCH_NGINX) == 0 &&
		          strstr(fl_buf_str(&plan.proxy_unit), "PartOf=flower-superlink.service"),
		      "era C: nginx argv and a unit bound to the SuperLink's");
		CHECK(!diag_has(FL_WARN, "FL_CONTROL_API_EXPOSED"),
		      "era C with the proxy: no exposure warning");
	}
	done();
	opts_default(&o, FL_ROLE_SUPERLINK, "1.41.0");
	char *exposed[] = {"FL_CONTROL_API_EXPOSED=YES", NULL};
	if (CHECK(plan_env(exposed, &o) == 0, "SuperLink 1.41.0, FL_CONTROL_API_EXPOSED=YES: planned")) {
		CHECK(argv_pair(&plan.argv, "--host", "0.0.0.0") && argv_pair(&plan.argv, "--port", "9092") &&
		          argv_pair(&plan.argv, "-p", "10.0.0.5:9092:9092") &&
		          argv_pair(&plan.argv, "-p", "127.0.0.1:9093:9092") && !plan.proxied &&
		          !plan.proxy_conf.len,
		      "era C exposed: one server on the Fleet port, published, no proxy");
		CHECK(diag_has(FL_WARN, "FL_CONTROL_API_EXPOSED=YES") &&
		          diag_has(FL_WARN, "can run code on every SuperNode"),
		      "era C exposed: warned, naming the variable and the risk");
	}
	done();
	opts_default(&o, FL_ROLE_SUPERLINK, "1.41.0");
	o.runtime = FL_RUNTIME_PROCESS;
	o.exe = "/venv/bin/flower-superlink";
	CHECK(plan_env(none, &o) == 0 && strcmp(plan.a.control, "127.0.0.1:9093") == 0 &&
	          argv_pair(&plan.argv, "--host", "127.0.0.1") && argv_pair(&plan.argv, "--port", "9093") &&
	          argv_pair(&plan.argv, "--database", "/opt/flower/state/state.db") &&
	          argv_pair(&plan.argv, "--health-server-address", "127.0.0.1:9099"),
	      "era C process: Flower on 127.0.0.1 at the Control port, host paths, loopback health");
	done();
	opts_default(&o, FL_ROLE_SUPERLINK, "1.41.0");
	o.runtime = FL_RUNTIME_PROCESS;
	o.exe = "/venv/bin/flower-superlink";
	CHECK(plan_env(exposed, &o) == 0 && strcmp(plan.a.control, "127.0.0.1:9092") == 0,
	      "era C process, exposed: Control reached on the Fleet port");
	done();
	/* Eras A and B have no proxy. */
	static const char *const older[] = {"1.25.0", "1.38.0"};
	for (int i = 0; i < 2; i++) {
		opts_default(&o, FL_ROLE_SUPERLINK, older[i]);
		CHECK(plan_env(none, &o) == 0 && !plan.proxied && !plan.a.proxy[0] && !plan.proxy_argv.n,
		      "%s: no proxy", older[i]);
		done();
	}

	/* Flower older than the spec's: refused; unknown: usage. */
	opts_default(&o, FL_ROLE_SUPERLINK, "1.24.9");
	expect_fail = true;
	CHECK(plan_env(none, &o) == -1 && err.code == FL_EXIT_FAIL && strstr(err.msg, "1.25.0"),
	      "Flower 1.24.9 is refused, naming 1.25.0");
	done();
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	o.version = (struct fl_version){0, 0, 0};
	expect_fail = true;
	CHECK(plan_env(none, &o) == -1 && err.code == FL_EXIT_USAGE, "no Flower version: usage error");
	done();
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	o.role = 0;
	expect_fail = true;
	CHECK(plan_env(none, &o) == -1 && err.code == FL_EXIT_USAGE, "no role: usage error");
	done();
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	o.runtime = FL_RUNTIME_PROCESS;
	o.exe = "flower-superlink";
	expect_fail = true;
	CHECK(plan_env(none, &o) == -1 && err.code == FL_EXIT_USAGE,
	      "process runtime with a relative exe: usage error");
	done();

	/* TLS and checkpoints. */
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	o.tls = true;
	CHECK(plan_env(none, &o) == 0 &&
	          argv_pair(&plan.argv, "--ssl-ca-certfile", "/app/certificates/ca.crt") &&
	          argv_pair(&plan.argv, "--ssl-certfile", "/app/certificates/server.pem") &&
	          argv_pair(&plan.argv, "--ssl-keyfile", "/app/certificates/server.key") &&
	          argv_pair(&plan.argv, "-v", "/opt/flower/certs:/app/certificates:ro") &&
	          argv_find(&plan.argv, "--insecure") < 0,
	      "SuperLink TLS: the three --ssl-* flags and the read-only certs mount");
	done();
	char *ckpt[] = {"FL_CHECKPOINT_ENABLED=YES", "FL_CHECKPOINT_PATH=/app/ckpt", NULL};
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	CHECK(plan_env(ckpt, &o) == 0 && argv_pair(&plan.argv, "-v", "/opt/flower/checkpoints:/app/ckpt") &&
	          argv_find(&plan.dirs, "0755 1 /opt/flower/checkpoints") >= 0,
	      "checkpoints: the host directory mounted at FL_CHECKPOINT_PATH, created owned");
	done();
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	CHECK(plan_env(none, &o) == 0 && !strstr(fl_buf_str(&plan.unit), "checkpoints") &&
	          argv_find(&plan.dirs, "0755 1 /opt/flower/checkpoints") < 0,
	      "checkpoints off: no mount, no directory");
	done();

	/* Addresses. */
	char *v6any[] = {"FL_FLEET_API_ADDRESS=[::]:9092", NULL};
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	o.vm_addr = "fd00::5";
	CHECK(plan_env(v6any, &o) == 0 && strcmp(plan.a.endpoint, "[fd00::5]:9092") == 0 &&
	          strcmp(plan.a.fleet_probe, "[::1]:9092") == 0 &&
	          argv_pair(&plan.argv, "-p", "[fd00::5]:9092:9092"),
	      "[::]:9092: endpoint [vm v6]:9092, probed on [::1], published on the VM address");
	done();
	char *v6host[] = {"FL_FLEET_API_ADDRESS=[fd00::5]:9092", NULL};
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	CHECK(plan_env(v6host, &o) == 0 && strcmp(plan.a.endpoint, "[fd00::5]:9092") == 0 &&
	          argv_pair(&plan.argv, "-p", "[fd00::5]:9092:9092") &&
	          argv_pair(&plan.argv, "--fleet-api-address", "0.0.0.0:9092"),
	      "[fd00::5]:9092: published on that address only, the container binds all");
	done();
	char *host[] = {"FL_FLEET_API_ADDRESS=10.0.0.9:9095", NULL};
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	CHECK(plan_env(host, &o) == 0 && strcmp(plan.a.endpoint, "10.0.0.9:9095") == 0 &&
	          argv_pair(&plan.argv, "-p", "10.0.0.9:9095:9095") &&
	          strcmp(plan.a.fleet_probe, "10.0.0.9:9095") == 0,
	      "a specific Fleet host and port: endpoint, -p and probe follow it (not :9092)");
	done();
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	o.vm_addr = NULL;
	CHECK(plan_env(none, &o) == 0 && plan.a.endpoint[0] == '\0',
	      "bind-all Fleet and no VM address: no endpoint claimed");
	done();
	char *clash[] = {"FL_CONTROL_API_ADDRESS=0.0.0.0:9092", NULL};
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	expect_fail = true;
	CHECK(plan_env(clash, &o) == -1 && err.code == FL_EXIT_FAIL && strstr(err.msg, "9092"),
	      "Fleet and Control on one port: refused");
	done();
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	o.health_port = 9091;
	expect_fail = true;
	CHECK(plan_env(none, &o) == -1 && strstr(err.msg, "port clash"),
	      "health port on the ServerAppIo port: refused");
	done();
	char *ctl[] = {"FL_CONTROL_API_ADDRESS=10.0.0.5:9093", NULL};
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	CHECK(plan_env(ctl, &o) == 0 && diag_has(FL_WARN, "Control API accepts code to run") &&
	          argv_pair(&plan.argv, "-p", "127.0.0.1:9093:9093"),
	      "a non-loopback Control host: warned, still published on loopback only");
	done();
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	o.health_port = 0;
	CHECK(plan_env(none, &o) == 0 && argv_find(&plan.argv, "--health-server-address") < 0 &&
	          !argv_pair(&plan.argv, "-p", "127.0.0.1:9099:9099") && plan.a.health[0] == '\0',
	      "health port 0: no health server, nothing published");
	done();
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	o.image = "registry.example.com/flwr/superlink";
	CHECK(plan_env(none, &o) == 0 &&
	          strcmp(plan.image, "registry.example.com/flwr/superlink:1.25.0") == 0,
	      "image repository override keeps the version tag");
	done();
}

static void test_unit_file(void)
{
	struct fl_launch_opts o;
	char *none[] = {NULL};
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	if (plan_env(none, &o) == 0) {
		const char *u = fl_buf_str(&plan.unit);
		CHECK(strstr(u, "\nRequires=docker.service\n") && strstr(u, "\nRestart=always\n") &&
		          strstr(u, "\nRestartSec=10\n") && strstr(u, "\nTimeoutStartSec=120\n") &&
		          strstr(u, "\nStartLimitBurst=5\n") && strstr(u, "\nStartLimitIntervalSec=60\n"),
		      "unit: Requires docker, Restart=always, RestartSec=10, TimeoutStartSec=120, start "
		      "limits");
		CHECK(strstr(u, "\nExecStartPre=-/usr/bin/docker rm -f flower-superlink\n") &&
		          strstr(u, "\nExecStop=/usr/bin/docker stop -t 30 flower-superlink\n"),
		      "unit: pre-rm of a stale container, stop with 30 s grace");
		CHECK(strstr(u, "\nExecStart=/usr/bin/docker run \\\n    --rm \\\n") != NULL,
		      "unit: ExecStart one option per continuation line");
		CHECK_STR(plan.unit_path, "/etc/systemd/system/flower-superlink.service", "unit path");
		CHECK_STR(plan.env_path, "/opt/flower/config/superlink.env", "env path");
		CHECK_STR(plan.state_path, "/opt/flower/config/flower-superlink.state", "state path");
		CHECK_STR(plan.name, "flower-superlink", "service name");
	}
	done();
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	o.runtime = FL_RUNTIME_PROCESS;
	o.exe = "/venv/bin/flower-superlink";
	o.uid = 1000;
	o.gid = 1001;
	if (plan_env(none, &o) == 0) {
		const char *u = fl_buf_str(&plan.unit);
		CHECK(strstr(u, "\nUser=1000\nGroup=1001\n") &&
		          strstr(u, "\nEnvironmentFile=/opt/flower/config/superlink.env\n") &&
		          !strstr(u, "docker"),
		      "process unit: User/Group, EnvironmentFile, nothing about docker");
		CHECK(strstr(fl_buf_str(&plan.env), "\nPATH=/venv/bin:") != NULL,
		      "process env file: the Flower bin directory first in PATH");
		CHECK_STR(plan.pid_path, "/opt/flower/run/flower-superlink.pid", "pid path");
		CHECK_STR(plan.log_path, "/opt/flower/logs/flower-superlink.log", "log path");
	}
	done();
}

/* --- state record: hash and diff --- */

static char *render_state(void)
{
	struct fl_buf b = FL_BUF_INIT;
	fl_launch_state_render(&plan, &b);
	char *s = fl_xstrdup(fl_buf_str(&b));
	fl_buf_free(&b);
	return s;
}

/* Plan envp, then return its hash (copied) and, when state is given, its state text. */
static bool plan_hash(char **envp, const struct fl_launch_opts *o, char hash[65], char **state)
{
	bool ok = plan_env(envp, o) == 0;
	if (ok) {
		memcpy(hash, plan.hash, 65);
		if (state)
			*state = render_state();
	}
	done();
	return ok;
}

/* The diff of the state old against the plan of envp/o. */
static char *diff_with(const char *old, char **envp, const struct fl_launch_opts *o)
{
	char *s = NULL;
	if (plan_env(envp, o) == 0) {
		struct fl_buf b = FL_BUF_INIT;
		fl_launch_state_diff(old, &plan, &b);
		s = fl_xstrdup(fl_buf_str(&b));
		fl_buf_free(&b);
	}
	done();
	return s ? s : fl_xstrdup("(no plan)");
}

static void test_state(void)
{
	struct fl_launch_opts o;
	char h1[65] = "", h2[65] = "", h3[65] = "";
	char *s1 = NULL;
	char *a[] = {"FL_SUPERLINK_ADDRESS=10.0.0.5:9092", NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	plan_hash(a, &o, h1, &s1);
	plan_hash(a, &o, h2, NULL);
	CHECK(strlen(h1) == 64 && strspn(h1, "0123456789abcdef") == 64, "hash: 64 lower-case hex digits");
	CHECK_STR(h2, h1, "hash: stable for the same configuration");

	/* The record: hash first, the version, argv one element a line, env lines. */
	char parsed[65] = "";
	CHECK(s1 && fl_launch_state_hash(s1, parsed) == 0 && strcmp(parsed, h1) == 0,
	      "state_render/state_hash: the record carries the plan's hash");
	CHECK(s1 && strstr(s1, "\nversion 1.25.0\n") &&
	          strstr(s1, "\nargv --superlink\nargv 10.0.0.5:9092\n") &&
	          strstr(s1, "\nenv FLWR_LOG_LEVEL=INFO\n") && !strstr(s1, "env #"),
	      "state_render: version, argv elements, env lines without the comment");
	CHECK(fl_launch_state_hash("", parsed) == -1 && fl_launch_state_hash("hash xyz\n", parsed) == -1 &&
	          fl_launch_state_hash("version 1.25.0\nhash 0000\n", parsed) == -1 &&
	          fl_launch_state_hash(
	              "hash 0123456789abcdef0123456789abcdef0123456789abcdef0123456789ABCDEF\n", parsed) ==
	              -1,
	      "state_hash: a record without a leading 64-hex hash is refused");

	/* Every kind of change moves the hash. */
	static const char *const changes[][2] = {
	    {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", NULL},                 /* argv */
	    {"FL_LOG_LEVEL=DEBUG", "FL_SUPERLINK_ADDRESS=10.0.0.5:9092"}, /* env file only */
	    {"FL_MAX_RETRIES=3", "FL_SUPERLINK_ADDRESS=10.0.0.5:9092"},   /* added option */
	    {"FL_GRPC_KEEPALIVE_TIME=90", "FL_SUPERLINK_ADDRESS=10.0.0.5:9092"},
	};
	for (size_t i = 0; i < NELEM(changes); i++) {
		char *e[] = {(char *)changes[i][0], (char *)changes[i][1], NULL};
		h3[0] = '\0';
		plan_hash(e, &o, h3, NULL);
		CHECK(h3[0] && strcmp(h3, h1) != 0, "hash changes with %s", changes[i][0]);
	}
	struct fl_launch_opts o2 = o;
	o2.docker = "/usr/local/bin/docker";
	plan_hash(a, &o2, h3, NULL);
	CHECK(strcmp(h3, h1) != 0, "hash changes with the docker path");
	o2 = o;
	o2.version.patch = 1;
	plan_hash(a, &o2, h3, NULL);
	CHECK(strcmp(h3, h1) != 0, "hash changes with the Flower version (image tag)");
	o2 = o;
	o2.tls = true;
	plan_hash(a, &o2, h3, NULL);
	CHECK(strcmp(h3, h1) != 0, "hash changes with TLS");
	o2 = o;
	o2.unit_dir = "/run/systemd/system";
	plan_hash(a, &o2, h3, NULL);
	CHECK_STR(h3, h1, "hash: the unit's location is not part of it (same unit text)");

	/* The "restarting because" text. */
	char *d;
	char *b[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", NULL};
	d = diff_with(s1, b, &o);
	CHECK_STR(d, "--superlink 10.0.0.5:9092 -> 10.0.0.7:9092",
	          "diff: a changed --superlink is 'old -> new'");
	free(d);
	char *lvl[] = {"FL_SUPERLINK_ADDRESS=10.0.0.5:9092", "FL_LOG_LEVEL=DEBUG", NULL};
	d = diff_with(s1, lvl, &o);
	CHECK_STR(d, "FLWR_LOG_LEVEL=INFO -> DEBUG", "diff: an env change is 'NAME=old -> new'");
	free(d);
	char *more[] = {"FL_SUPERLINK_ADDRESS=10.0.0.5:9092", "FL_MAX_RETRIES=3", NULL};
	d = diff_with(s1, more, &o);
	CHECK_STR(d, "added --max-retries 3", "diff: an added option is 'added OPT VALUE'");
	free(d);
	char *s_more = NULL;
	plan_hash(more, &o, h3, &s_more);
	d = diff_with(s_more ? s_more : "", a, &o);
	CHECK_STR(d, "removed --max-retries 3", "diff: a dropped option is 'removed OPT VALUE'");
	free(d);
	free(s_more);
	char *two[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_LOG_LEVEL=DEBUG", NULL};
	d = diff_with(s1, two, &o);
	CHECK(strstr(d, "--superlink 10.0.0.5:9092 -> 10.0.0.7:9092") &&
	          strstr(d, "FLWR_LOG_LEVEL=INFO -> DEBUG") && strstr(d, "; "),
	      "diff: two changes joined with '; '");
	if (!strstr(d, "; "))
		unit_show("diff", d, 400);
	free(d);
	d = diff_with(s1, a, &o);
	CHECK_STR(d, "unit file", "diff: identical argv and env: only the unit can have changed");
	free(d);
	o2 = o;
	o2.gpu = true;
	char *gpu[] = {"FL_SUPERLINK_ADDRESS=10.0.0.5:9092", "FL_GPU_ENABLED=YES",
	               "FL_CUDA_VISIBLE_DEVICES=0", NULL};
	d = diff_with(s1, gpu, &o2);
	CHECK(strstr(d, "added --gpus all") && strstr(d, "added -e CUDA_VISIBLE_DEVICES=0") &&
	          strstr(d, "added FL_GPU_MEMORY_FRACTION=0.8"),
	      "diff: GPU passthrough shows its flags and env line as added");
	if (!strstr(d, "added --gpus all"))
		unit_show("diff", d, 400);
	free(d);
	free(s1);

	/* Two -p options change at once: the Fleet port moves and the health port goes. */
	struct fl_launch_opts sl;
	char *none[] = {NULL};
	char *moved[] = {"FL_FLEET_API_ADDRESS=0.0.0.0:9095", NULL};
	char *s_sl = NULL;
	opts_default(&sl, FL_ROLE_SUPERLINK, "1.25.0");
	plan_hash(none, &sl, h3, &s_sl);
	sl.health_port = 0;
	d = diff_with(s_sl ? s_sl : "", moved, &sl);
	CHECK(strstr(d, "-p 10.0.0.5:9092:9092 -> 10.0.0.5:9095:9095") &&
	          strstr(d, "--fleet-api-address 0.0.0.0:9092 -> 0.0.0.0:9095") &&
	          strstr(d, "removed --health-server-address 0.0.0.0:9099"),
	      "diff: a moved Fleet port and a dropped health server");
	/* One new "-p" replaces one old one; the other dropped "-p" is a removal. */
	CHECK(strstr(d, "removed -p 127.0.0.1:9099:9099") != NULL && !strstr(d, "-p 127.0.0.1:9099:9099 ->"),
	      "diff: a dropped -p is 'removed', not a second replacement");
	if (!strstr(d, "removed -p 127.0.0.1:9099:9099"))
		unit_show("diff", d, 600);
	free(d);
	free(s_sl);
}

/* The plan reads the typed configuration: keepalive seconds reach the env file as ms and the log
 * as both; FL_MAX_WAIT_TIME (ms in the field) reaches Flower as seconds; a value no validation
 * let through is refused in the registry's words, never replaced by its default. */
static void test_typed(void)
{
	struct fl_launch_opts o;
	char *ka[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_GRPC_KEEPALIVE_TIME=45",
	              "FL_GRPC_KEEPALIVE_TIMEOUT=15", "FL_MAX_WAIT_TIME=90", NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	if (CHECK(plan_env(ka, &o) == 0, "keepalive 45/15, max wait 90: planned")) {
		CHECK(strstr(fl_buf_str(&plan.env), "\nFLOWER_GRPC_KEEPALIVE_TIME_MS=45000\n") &&
		          strstr(fl_buf_str(&plan.env), "\nFLOWER_GRPC_KEEPALIVE_TIMEOUT_MS=15000\n"),
		      "env file: 45 s and 15 s as 45000 and 15000 ms");
		CHECK(diag_has(FL_INFO, "gRPC keepalive: time=45s (45000ms), timeout=15s (15000ms)"),
		      "logged in seconds and ms");
		CHECK(!diag_has(FL_WARN, "below 30 s"), "45 s: no GOAWAY warning");
		CHECK(argv_pair(&plan.argv, "--max-wait-time", "90"), "--max-wait-time 90 (seconds, not ms)");
	}
	done();
	char *edge[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", "FL_GRPC_KEEPALIVE_TIME=29", NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	CHECK(plan_env(edge, &o) == 0 && diag_has(FL_WARN, "FL_GRPC_KEEPALIVE_TIME=29 is below 30 s"),
	      "keepalive 29 s: the GOAWAY warning names 29 (seconds)");
	done();

	char *name[] = {"FL_FLEET_API_ADDRESS=superlink.example.com:9092", NULL};
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	expect_fail = true;
	CHECK(plan_env(name, &o) == -1 && err.code == FL_EXIT_FAIL &&
	          strstr(err.msg, "Invalid FL_FLEET_API_ADDRESS: 'superlink.example.com:9092'."),
	      "a Fleet address that is a name: refused in the registry's words");
	done();
	char *badport[] = {"FL_FLEET_API_ADDRESS=0.0.0.0:09095", NULL};
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	expect_fail = true;
	CHECK(plan_env(badport, &o) == -1 && strstr(err.msg, "'0.0.0.0:09095'"),
	      "a Fleet port with a leading zero: refused, not planned on the default 9092");
	done();
	char *bare[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7", NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.25.0");
	expect_fail = true;
	CHECK(plan_env(bare, &o) == -1 && strstr(err.msg, "Invalid FL_SUPERLINK_ADDRESS: '10.0.0.7'."),
	      "FL_SUPERLINK_ADDRESS without a port: refused (validation's rule), not completed");
	done();

	char *proc[] = {"FL_ISOLATION=process", "FL_DATABASE=db/state.db", NULL};
	opts_default(&o, FL_ROLE_SUPERLINK, "1.25.0");
	if (CHECK(plan_env(proc, &o) == 0, "FL_ISOLATION=process, FL_DATABASE outside state/: planned")) {
		CHECK(argv_pair(&plan.argv, "--isolation", "process") &&
		          argv_pair(&plan.argv, "--database", "db/state.db"),
		      "--isolation process --database db/state.db");
		CHECK(diag_has(FL_WARN, "FL_ISOLATION=process: the SuperLink runs no ServerApp itself") &&
		          diag_has(FL_WARN, "FL_DATABASE=db/state.db is outside state/"),
		      "both warned");
	}
	done();
}

/* Keepalive reaches Flower 1.25-1.39 through the Python hook on PYTHONPATH (docker: mounted
 * read-only); 1.40+ gets neither, and a note or, when set explicitly, a warning. */
static void test_keepalive(void)
{
	struct fl_launch_opts o;
	char *sn[] = {"FL_SUPERLINK_ADDRESS=10.0.0.7:9092", NULL};
	opts_default(&o, FL_ROLE_SUPERNODE, "1.38.0");
	if (plan_env(sn, &o) == 0) {
		CHECK(argv_pair(&plan.argv, "-v", "/usr/share/flkit/python:" FL_LAUNCH_PYHOOK_MOUNT ":ro"),
		      "keepalive: era B docker mounts the hook read-only");
		CHECK(argv_find(&plan.argv, "-v") < argv_find(&plan.argv, plan.image),
		      "keepalive: the mount is a docker option, before the image");
		CHECK(strstr(fl_buf_str(&plan.env), "\nPYTHONPATH=" FL_LAUNCH_PYHOOK_MOUNT "\n") != NULL,
		      "keepalive: era B docker env names the mount");
		CHECK(diag_has(FL_INFO, "gRPC keepalive: time=60s (60000ms), timeout=20s (20000ms)"),
		      "keepalive: era B says the values");
	}
	done();
	o.runtime = FL_RUNTIME_PROCESS;
	o.exe = "/opt/flwr/bin/flower-supernode";
	if (plan_env(sn, &o) == 0) {
		CHECK(strstr(fl_buf_str(&plan.env), "\nPYTHONPATH=/usr/share/flkit/python\n") != NULL,
		      "keepalive: process env names the hook's directory");
		CHECK(argv_find(&plan.argv, "-v") < 0, "keepalive: process argv has no mount");
	}
	done();
	o.pyhook = NULL;
	if (plan_env(sn, &o) == 0) {
		CHECK(!strstr(fl_buf_str(&plan.env), "PYTHONPATH"), "keepalive: no hook, no PYTHONPATH");
		CHECK(diag_has(FL_WARN, "Python hook"), "keepalive: no hook is warned about");
	}
	done();
	opts_default(&o, FL_ROLE_SUPERLINK, "1.41.0");
	if (plan_env(sn, &o) == 0) {
		CHECK(!strstr(fl_buf_str(&plan.env), "PYTHONPATH"), "keepalive: era C env has no PYTHONPATH");
		CHECK(
		    !strstr(fl_buf_str(&plan.env), "PYTHONPATH") && argv_find(&plan.argv, "-v") >= 0 &&
		        !argv_pair(&plan.argv, "-v", "/usr/share/flkit/python:" FL_LAUNCH_PYHOOK_MOUNT ":ro"),
		    "keepalive: era C docker mounts no hook");
		CHECK(diag_has(FL_INFO,
		               "gRPC keepalive: not applied, Flower 1.41.0 reaches the Fleet API over HTTP"),
		      "keepalive: era C defaults are a note");
		CHECK(!diag_has(FL_WARN, "no effect"), "keepalive: era C defaults are no warning");
	}
	done();
	char *set[] = {"FL_GRPC_KEEPALIVE_TIMEOUT=15", NULL};
	if (plan_env(set, &o) == 0)
		CHECK(diag_has(FL_WARN,
		               "FL_GRPC_KEEPALIVE_TIMEOUT=15 has no effect with Flower 1.41.0: from 1.40 the "
		               "SuperNode reaches the Fleet API over HTTP"),
		      "keepalive: era C, set explicitly: a warning");
	done();
}

int main(void)
{
	fl_log_init("test_launch");
	test_version();
	test_version_scan();
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_detect();
	test_quote();
	test_superlink_addr();
	test_supernode_flags();
	test_gpu();
	test_gpu_decide();
	test_gpu_plan();
	test_gpu_record();
	test_dcgm();
	test_superlink_flags();
	test_unit_file();
	test_state();
	test_typed();
	test_keepalive();
	char *rm[] = {"rm", "-rf", root, NULL};
	int st;
	fl_proc_run(rm, 10000, &st, NULL);
	return unit_done();
}
