/* test_launch_job: what fl-launch's command line becomes: --owner, paths, the VM address,
 * discovery, the configuration file found, and a job opened from the environment alone (role,
 * validation, typed TLS, executable, version, plan) with the verbs' reports on it. */
#include "fl_launch_job.h"
#include "fl_log.h"
#include "fl_proc.h"
#include "fl_var.h"
#include "unit.h"

#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char root[] = "/tmp/fl-launch-job-XXXXXX";

static void put_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

static void test_owner(void)
{
	uid_t u = 7;
	gid_t g = 7;
	struct fl_err e = {0};
	CHECK(fl_launch_resolve_owner("1000:1001", &u, &g, &e) == 0 && u == 1000 && g == 1001,
	      "owner: 1000:1001 is uid 1000, gid 1001");
	CHECK(fl_launch_resolve_owner("0:0", &u, &g, &e) == 0 && u == 0 && g == 0, "owner: 0:0 is root");
	static const char *const bad[] = {"-1:0",
	                                  "1:-1",
	                                  "+1:2",
	                                  " 1:2",
	                                  "1:",
	                                  ":1",
	                                  "1",
	                                  "a:b",
	                                  "1:2:3",
	                                  "2147483648:0",
	                                  "1:99999999999999999999",
	                                  ""};
	for (size_t i = 0; i < NELEM(bad); i++) {
		u = g = 7;
		memset(&e, 0, sizeof e);
		int rc = fl_launch_resolve_owner(bad[i], &u, &g, &e);
		CHECK(rc == FL_LAUNCH_USAGE && e.code == FL_EXIT_USAGE && u == 7 && g == 7 &&
		          strstr(e.msg, "is not UID:GID"),
		      "owner: '%s' is a usage error, nothing written", bad[i]);
	}
}

static void test_path(void)
{
	struct fl_err e = {0};
	CHECK(fl_launch_resolve_path("/opt/flower", &e) == 0, "path: /opt/flower is fine");
	static const char *const bad[] = {"opt/flower", "",          "/opt/flo wer",
	                                  "/opt/$HOME", "/opt/a;b",  "/opt/100%",
	                                  "/opt/\"q\"", "/opt/a\\b", "/opt/a\nb"};
	for (size_t i = 0; i < NELEM(bad); i++)
		CHECK(fl_launch_resolve_path(bad[i], &e) == FL_LAUNCH_USAGE && strstr(e.msg, "absolute path"),
		      "path: '%s' refused (relative, blank, quote, $, %% or ;)", bad[i]);
}

static void test_vm_addr(void)
{
	char out[64];
	struct fl_err e = {0};
	CHECK(fl_launch_resolve_vm_addr("10.0.0.5", out, sizeof out, &e) == 0 && strcmp(out, "10.0.0.5") == 0,
	      "vm address: --addr 10.0.0.5 as given");
	CHECK(fl_launch_resolve_vm_addr("2001:DB8::1", out, sizeof out, &e) == 0 &&
	          strcmp(out, "2001:db8::1") == 0,
	      "vm address: --addr IPv6 in canonical form");
	CHECK(fl_launch_resolve_vm_addr("host.example", out, sizeof out, &e) == FL_LAUNCH_USAGE &&
	          strstr(e.msg, "--addr 'host.example' is not an IP address"),
	      "vm address: a name for --addr is a usage error");
	setenv("FLKIT_NET_ADDRS", "192.0.2.7,192.0.2.8", 1);
	CHECK(fl_launch_resolve_vm_addr(NULL, out, sizeof out, &e) == 0 && strcmp(out, "192.0.2.7") == 0,
	      "vm address: the first of $FLKIT_NET_ADDRS");
	setenv("FLKIT_NET_ADDRS", "192.0.2.7,nope", 1);
	memset(&e, 0, sizeof e);
	CHECK(fl_launch_resolve_vm_addr(NULL, out, sizeof out, &e) == -1 && strstr(e.msg, "FLKIT_NET_ADDRS"),
	      "vm address: a bad $FLKIT_NET_ADDRS is an error naming it (not a usage error)");
	unsetenv("FLKIT_NET_ADDRS");
}

static void test_discovery(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/discovered", root);
	put_file(path, "# fl-onegate discover\nFL_SUPERLINK_ADDRESS=10.0.0.9:9092\nFL_TLS=YES\n", 0644);
	struct fl_onegate_tls og = {0};
	struct fl_err e = {0};
	CHECK(fl_launch_resolve_discovery(path, &og, &e) == 0 && og.superlink &&
	          strcmp(og.superlink, "10.0.0.9:9092") == 0 && og.tls && strcmp(og.tls, "YES") == 0,
	      "discovery: FL_SUPERLINK_ADDRESS and FL_TLS read from the file");
	fl_cert_onegate_free(&og);
	snprintf(path, sizeof path, "%s/absent", root);
	memset(&og, 0, sizeof og);
	CHECK(fl_launch_resolve_discovery(path, &og, &e) == -1 && strstr(e.msg, "--discovery"),
	      "discovery: a missing file is an error naming --discovery");
	fl_cert_onegate_free(&og);
	snprintf(path, sizeof path, "%s/fifo", root);
	mkfifo(path, 0600);
	struct fl_launch_args a = {.discovery = path};
	CHECK(fl_launch_args_check_files(&a, &e) == -1 && strstr(e.msg, "--discovery"),
	      "check files: a FIFO for --discovery is refused before anything waits on it");
}

static void test_args(void)
{
	struct fl_launch_args a = {0};
	struct fl_err e = {0};
	CHECK(fl_launch_args_set(&a, "role", "supernode", &e) == 0 && a.role == FL_ROLE_SUPERNODE &&
	          fl_launch_args_set(&a, "runtime", "process", &e) == 0 && a.runtime == FL_RUNTIME_PROCESS &&
	          fl_launch_args_set(&a, "supervisor", "none", &e) == 0 && a.supervisor_set &&
	          a.supervisor == FL_SUPERVISOR_NONE && fl_launch_args_set(&a, "gpu", "YES", &e) == 0 &&
	          a.gpu == FL_LAUNCH_GPU_YES && fl_launch_args_set(&a, "health-port", "0", &e) == 0 &&
	          a.health_port_set && a.health_port == 0 &&
	          fl_launch_args_set(&a, "owner", "1:2", &e) == 0 && strcmp(a.owner, "1:2") == 0 &&
	          fl_launch_args_set(&a, "best-effort", NULL, &e) == 0 && a.best_effort,
	      "args: role, runtime, supervisor, gpu (any case), health port 0, owner, a flag");
	static const char *const bad[][3] = {
	    {"role", "hub", "--role 'hub': superlink or supernode"},
	    {"runtime", "podman", "--runtime 'podman': docker or process"},
	    {"supervisor", "sometimes", "--supervisor 'sometimes': systemd or none"},
	    {"gpu", "maybe", "--gpu 'maybe': auto, yes or no"},
	    {"appio-port", "0", "--appio-port '0': a port 1-65535"},
	    {"health-port", "70000", "--health-port '70000': a port 1-65535, or 0 for none"},
	    {"image", "flwr/superlink:1.25.0", "--image"},
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		memset(&e, 0, sizeof e);
		int rc = fl_launch_args_set(&a, bad[i][0], bad[i][1], &e);
		CHECK(rc == FL_LAUNCH_USAGE && e.code == FL_EXIT_USAGE && strstr(e.msg, bad[i][2]),
		      "args: --%s '%s' is a usage error saying what is wanted", bad[i][0], bad[i][1]);
	}
}

static void test_reason(void)
{
	struct fl_err e = {0};
	CHECK(fl_launch_verb_reason_check("docker_start_failed", &e) == 0, "reason: docker_start_failed");
	static const char *const bad[] = {
	    "", "Docker", "a-b", "a b", "x2345678901234567890123456789012345678901234567890123456789012345"};
	for (size_t i = 0; i < NELEM(bad); i++)
		CHECK(fl_launch_verb_reason_check(bad[i], &e) == FL_LAUNCH_USAGE && strstr(e.msg, "REASON"),
		      "reason: '%s' is a usage error", bad[i]);
}

/* The job for a, its configuration from the environment alone. */
static int open_loaded(struct fl_launch_job *j, const struct fl_launch_args *a, enum fl_launch_job_mode m,
                       struct fl_diags *d, struct fl_err *e)
{
	memset(j, 0, sizeof *j);
	struct fl_ctx_opts co = {NULL, NULL, environ};
	if (fl_ctx_load(&j->c, &co, e) < 0)
		return -3;
	j->loaded = true;
	return fl_launch_job_open(j, a, m, d, e);
}

/* A job from the environment alone (-E), role r, native runtime without supervisor. */
static int open_env(struct fl_launch_job *j, struct fl_launch_args *a, unsigned r, enum fl_launch_job_mode m,
                    struct fl_diags *d, struct fl_err *e)
{
	static char bin[256], dir[256];
	snprintf(bin, sizeof bin, "%s/bin", root);
	snprintf(dir, sizeof dir, "%s/flower", root);
	a->envp = environ;
	a->role = r;
	a->runtime = FL_RUNTIME_PROCESS;
	a->supervisor_set = true;
	a->supervisor = FL_SUPERVISOR_NONE;
	a->flower_bin = bin;
	a->flower_dir = dir;
	a->flower_version = "1.25.0";
	a->addr = "10.0.0.5";
	return open_loaded(j, a, m, d, e);
}

static bool diag_has(const struct fl_diags *d, enum fl_level l, const char *sub)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].level == l && strstr(d->v[i].msg, sub))
			return true;
	return false;
}

static void test_open(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/bin", root);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/bin/flower-supernode", root);
	put_file(path, "#!/bin/sh\nexit 0\n", 0755);
	snprintf(path, sizeof path, "%s/bin/flower-superlink", root);
	put_file(path, "#!/bin/sh\nexit 0\n", 0755);

	struct fl_launch_job j;
	struct fl_launch_args a = {0};
	struct fl_diags d = FL_DIAGS_INIT;
	struct fl_err e = {0};
	setenv("FL_SUPERLINK_ADDRESS", "10.0.0.7:9092", 1);
	int rc = open_env(&j, &a, FL_ROLE_SUPERNODE, FL_LAUNCH_JOB_PRINT, &d, &e);
	if (rc)
		DIAG("open: %s", e.msg);
	CHECK(rc == 0 && j.planned && j.lo.exe && strstr(j.lo.exe, "/bin/flower-supernode") &&
	          j.lo.version.major == 1 && j.lo.version.minor == 25 && j.lo.uid == FL_LAUNCH_UID,
	      "open: SuperNode, process runtime: executable found, version from --flower-version, planned");
	struct fl_buf out = FL_BUF_INIT;
	a.verb = "show";
	fl_launch_verb_show(&j, &a, &out, &d, &e);
	CHECK(strstr(fl_buf_str(&out), "FL_SUPERLINK_ADDRESS=10.0.0.7:9092\n") &&
	          strstr(fl_buf_str(&out), "FL_TLS=NO\n"),
	      "show: the SuperLink address and FL_TLS=NO");
	fl_buf_free(&out);
	a.verb = "proxy-conf";
	CHECK(fl_launch_verb_print(&j, &a, &out, &d, &e) == -1 && strstr(e.msg, "no Fleet proxy"),
	      "proxy-conf: a SuperNode plan has no Fleet proxy");
	fl_buf_free(&out);
	a.verb = "argv";
	CHECK(fl_launch_verb_print(&j, &a, &out, &d, &e) == 0 && strstr(fl_buf_str(&out), "--superlink\n"),
	      "argv: one element per line, --superlink among them");
	fl_buf_free(&out);
	fl_launch_job_free(&j);
	fl_diags_free(&d);

	setenv("FL_TLS_ENABLED", "yes", 1);
	a = (struct fl_launch_args){.owner = "1000:1000"};
	rc = open_env(&j, &a, FL_ROLE_SUPERLINK, FL_LAUNCH_JOB_STOP, &d, &e);
	CHECK(rc == 0 && j.lo.tls && j.lo.vm_addr && strcmp(j.lo.vm_addr, "10.0.0.5") == 0 &&
	          j.lo.uid == 1000,
	      "open: SuperLink with FL_TLS_ENABLED=yes has TLS (any case), --addr and --owner applied");
	fl_launch_job_free(&j);
	fl_diags_free(&d);
	unsetenv("FL_TLS_ENABLED");

	a = (struct fl_launch_args){0};
	rc = open_env(&j, &a, 0, FL_LAUNCH_JOB_STOP, &d, &e);
	CHECK(rc == FL_LAUNCH_USAGE && strstr(e.msg, "a role is needed"), "open: no role is a usage error");
	fl_launch_job_free(&j);
	fl_diags_free(&d);

	a = (struct fl_launch_args){.owner = "root"};
	rc = open_env(&j, &a, FL_ROLE_SUPERNODE, FL_LAUNCH_JOB_STOP, &d, &e);
	CHECK(rc == FL_LAUNCH_USAGE && strstr(e.msg, "--owner 'root'"),
	      "open: a bad --owner is a usage error");
	fl_launch_job_free(&j);
	fl_diags_free(&d);

	setenv("FL_TLS_ENABLED", "maybe", 1);
	a = (struct fl_launch_args){0};
	memset(&e, 0, sizeof e);
	rc = open_env(&j, &a, FL_ROLE_SUPERLINK, FL_LAUNCH_JOB_CHECK, &d, &e);
	CHECK(rc == -1 && e.code == FL_EXIT_FAIL && e.msg[0] == '\0' && d.n &&
	          d.v[d.n - 1].level == FL_FATAL && strstr(d.v[d.n - 1].msg, "1 configuration error(s)") &&
	          diag_has(&d, FL_ERROR, "FL_TLS_ENABLED"),
	      "open: an invalid configuration is refused, its errors and the count said in d");
	fl_launch_job_free(&j);
	fl_diags_free(&d);
	unsetenv("FL_TLS_ENABLED");

	a = (struct fl_launch_args){0};
	open_env(&j, &a, FL_ROLE_SUPERNODE, FL_LAUNCH_JOB_PRINT, &d, &e);
	fl_launch_job_free(&j);
	fl_diags_free(&d);
	a.runtime = FL_RUNTIME_DOCKER;
	rc = open_loaded(&j, &a, FL_LAUNCH_JOB_PRINT, &d, &e);
	CHECK(rc == FL_LAUNCH_USAGE && strstr(e.msg, "--supervisor none is for --runtime process"),
	      "open: docker without systemd is a usage error");
	fl_launch_job_free(&j);
	fl_diags_free(&d);
	unsetenv("FL_SUPERLINK_ADDRESS");
}

int main(void)
{
	fl_log_init("test_launch_job");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	/* Only what each test sets: nothing from the caller's environment. */
	unsetenv("FLKIT_CONTEXT");
	unsetenv("FLKIT_NET_ADDRS");
	test_owner();
	test_path();
	test_vm_addr();
	test_discovery();
	test_args();
	test_reason();
	test_open();
	char *rm[] = {"rm", "-rf", root, NULL};
	int st;
	fl_proc_run(rm, 10000, &st, NULL);
	return unit_done();
}
