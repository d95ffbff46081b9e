/* test_gpu_container: Docker's side of the GPU (daemon.json, CDI specs in test/fixtures/gpu-ctr,
 * the docker flags, the smoke test through test/gpu/fake-docker) and nvidia-smi's CSV through
 * test/gpu/fake-nvidia-smi. */
#include "fl_argv.h"
#include "fl_gpu_container.h"
#include "unit.h"
#include "unit_fs.h"

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FX "test/fixtures/gpu-ctr/"

static char cwd[PATH_MAX];

static void scan_root(const char *root, struct fl_gpu_container *c)
{
	struct fl_gpu_env env = {0};
	env.root = root;
	fl_gpu_container_scan(&env, c);
}

static void scan_daemon(const char *path, struct fl_gpu_container *c)
{
	struct fl_gpu_env env = {0};
	env.root = FX "none";
	env.daemon_json = path;
	fl_gpu_container_scan(&env, c);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

/* A daemon.json of text in the scratch directory, scanned. */
static void scan_text(const char *text, struct fl_gpu_container *c)
{
	char *p = path_of("daemon.json");
	write_file(p, text);
	scan_daemon(p, c);
	unlink(p);
	free(p);
}

static void test_daemon(void)
{
	struct fl_gpu_container c;
	scan_root(FX "runtime", &c);
	CHECK(c.daemon_json == 1 && c.runtime_nvidia && !c.default_nvidia && !c.cdi_feature,
	      "daemon.json: runtimes.nvidia with a path is the NVIDIA runtime");
	CHECK_INT(c.access, FL_GPU_ACCESS_RUNTIME, "daemon.json: the runtime gives --gpus all access");
	CHECK_STR(c.daemon_path, FX "runtime/etc/docker/daemon.json", "daemon.json: found under the root");
	CHECK_STR(c.error, "", "daemon.json: no error with the runtime");

	scan_root(FX "default-runtime", &c);
	CHECK(c.runtime_nvidia && c.default_nvidia && c.access == FL_GPU_ACCESS_RUNTIME,
	      "daemon.json: default-runtime nvidia is seen");

	scan_root(FX "none", &c);
	CHECK(c.daemon_json == 0 && c.access == FL_GPU_ACCESS_NONE && !c.error[0] && !c.cdi_spec[0],
	      "daemon.json: absent is Docker's defaults, no access and no error (%s)", c.error);

	scan_text("", &c);
	CHECK(c.daemon_json == 1 && !c.runtime_nvidia && c.access == FL_GPU_ACCESS_NONE && !c.error[0],
	      "daemon.json: an empty file is Docker's defaults (%s)", c.error);
	scan_text("{}\n", &c);
	CHECK(c.daemon_json == 1 && c.access == FL_GPU_ACCESS_NONE, "daemon.json: {} configures nothing");

	scan_root(FX "malformed", &c);
	CHECK(c.daemon_json == -1 && c.access == FL_GPU_ACCESS_NONE, "daemon.json: malformed is an error");
	CHECK(strncmp(c.error, FX "malformed/etc/docker/daemon.json: line 5 column ", 47) == 0 &&
	          strstr(c.error, "dockerd will not start"),
	      "daemon.json: malformed names the file, line and column (%s)", c.error);

	scan_text("{\"runtimes\": \"nvidia\"}", &c);
	CHECK(c.daemon_json == 1 && !c.runtime_nvidia && c.access == FL_GPU_ACCESS_NONE,
	      "daemon.json: runtimes as a string is not configured");
	scan_text("{\"runtimes\": {\"nvidia\": [\"nvidia-container-runtime\"]}}", &c);
	CHECK(!c.runtime_nvidia && c.access == FL_GPU_ACCESS_NONE,
	      "daemon.json: nvidia as an array is not configured");
	scan_text("{\"runtimes\": {\"nvidia\": {\"path\": 7}}}", &c);
	CHECK(!c.runtime_nvidia, "daemon.json: a path that is not a string is not configured");
	scan_text("{\"runtimes\": {\"nvidia\": {\"path\": \"\"}}}", &c);
	CHECK(!c.runtime_nvidia, "daemon.json: an empty path is not configured");
	scan_text("{\"default-runtime\": \"nvidia\"}", &c);
	CHECK(c.default_nvidia && !c.runtime_nvidia && c.access == FL_GPU_ACCESS_NONE &&
	          strstr(c.error, "nvidia-ctk runtime configure --runtime=docker"),
	      "daemon.json: default-runtime nvidia without runtimes.nvidia says how to configure (%s)",
	      c.error);
	scan_text("{\"features\": {\"cdi\": \"true\"}}", &c);
	CHECK(!c.cdi_feature, "daemon.json: features.cdi as the string \"true\" is not the feature");
	scan_text("[1, 2]", &c);
	CHECK(c.daemon_json == -1 && strstr(c.error, "not a JSON object"),
	      "daemon.json: an array is an error (%s)", c.error);
	scan_text("{\"runtimes\": {\"nvidia\": {\"path\": \"x\"}}} trailing", &c);
	CHECK(c.daemon_json == -1 && strstr(c.error, "line 1 column"),
	      "daemon.json: trailing garbage is an error (%s)", c.error);

	/* 2 MB: refused by size, never parsed. */
	char *big = malloc(2 * 1024 * 1024 + 1);
	memset(big, ' ', 2 * 1024 * 1024);
	big[0] = '{';
	big[2 * 1024 * 1024 - 1] = '}';
	big[2 * 1024 * 1024] = '\0';
	scan_text(big, &c);
	free(big);
	CHECK(c.daemon_json == -1 && strstr(c.error, "larger than") && c.access == FL_GPU_ACCESS_NONE,
	      "daemon.json: a 2 MB file is refused (%s)", c.error);

	/* A FIFO with no writer would block a plain open for ever. */
	char *fifo = path_of("fifo.json");
	if (mkfifo(fifo, 0600) == 0) {
		scan_daemon(fifo, &c);
		CHECK(c.daemon_json == -1 && strstr(c.error, "not a regular file"),
		      "daemon.json: a FIFO is refused without hanging (%s)", c.error);
		unlink(fifo);
	} else {
		SKIP("mkfifo failed", "daemon.json: a FIFO is refused without hanging");
	}
	free(fifo);
	char *dir = path_of("dir.json");
	mkdir(dir, 0700);
	scan_daemon(dir, &c);
	CHECK(c.daemon_json == -1 && strstr(c.error, "not a regular file"),
	      "daemon.json: a directory is refused");
	rmdir(dir);
	free(dir);
}

static void test_parse_daemon(void)
{
	struct fl_gpu_container c;
	memset(&c, 0, sizeof c);
	const char ok[] = "{\"features\":{\"cdi\":true},\"runtimes\":{\"nvidia\":{\"path\":\"/usr/bin/"
	                  "nvidia-container-runtime\"}}}";
	CHECK(fl_gpu_container_parse_daemon(ok, sizeof ok - 1, &c) == 0 && c.runtime_nvidia && c.cdi_feature,
	      "parse_daemon: runtime and CDI feature from bytes");
	memset(&c, 0, sizeof c);
	CHECK(fl_gpu_container_parse_daemon("{\"a\":", 5, &c) == -1 && c.daemon_json == -1 &&
	          strncmp(c.error, "daemon.json: line 1 column ", 27) == 0,
	      "parse_daemon: truncated JSON is an error with its position (%s)", c.error);
	memset(&c, 0, sizeof c);
	/* Not NUL-terminated: the parser must stop at n. */
	CHECK(fl_gpu_container_parse_daemon("{}XXXX", 2, &c) == 0 && c.daemon_json == 1,
	      "parse_daemon: reads only n bytes");
}

static void test_cdi(void)
{
	struct fl_gpu_container c;
	scan_root(FX "cdi-etc", &c);
	CHECK_STR(c.cdi_spec, FX "cdi-etc/etc/cdi/nvidia.yaml", "cdi: a YAML spec in /etc/cdi is found");
	CHECK(c.cdi_feature && c.access == FL_GPU_ACCESS_CDI && !c.error[0],
	      "cdi: a spec and the CDI feature give CDI access (%s)", c.error);

	scan_root(FX "cdi-run", &c);
	CHECK_STR(c.cdi_spec, FX "cdi-run/var/run/cdi/nvidia.json",
	          "cdi: a JSON spec in /var/run/cdi is found");
	CHECK_INT(c.access, FL_GPU_ACCESS_CDI, "cdi: /var/run/cdi gives CDI access");

	scan_root(FX "cdi-quoted", &c);
	CHECK(c.cdi_spec[0] && c.access == FL_GPU_ACCESS_CDI, "cdi: a quoted kind in a .yml spec counts");

	scan_root(FX "cdi-other", &c);
	CHECK(!c.cdi_spec[0] && c.access == FL_GPU_ACCESS_NONE,
	      "cdi: another vendor's kind is not a GPU spec");

	scan_root(FX "cdi-nofeature", &c);
	CHECK(c.cdi_spec[0] && !c.cdi_feature && c.access == FL_GPU_ACCESS_NONE,
	      "cdi: a spec without Docker's CDI feature is no access");
	CHECK(strstr(c.error, "\"features\": {\"cdi\": true}") && strstr(c.error, "daemon.json"),
	      "cdi: without the feature the error says what to add to daemon.json (%s)", c.error);

	const char *yes[] = {
	    "kind: nvidia.com/gpu\n",
	    "cdiVersion: 0.5.0\nkind: 'nvidia.com/gpu'\n",
	    "kind:\tnvidia.com/gpu   # generated\r\n",
	    "\xef\xbb\xbfkind: nvidia.com/gpu",
	    "{\"kind\": \"nvidia.com/gpu\", \"cdiVersion\": \"0.5.0\"}",
	};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		CHECK(fl_gpu_container_parse_cdi(yes[i], strlen(yes[i])),
		      "cdi: declares the GPU kind: case %zu", i);
	const char *no[] = {
	    "",
	    "  kind: nvidia.com/gpu\n",                /* not top-level */
	    "devices:\n- kind: nvidia.com/gpu\n",      /* nested */
	    "kind: nvidia.com/gpux\n",                 /* longer value */
	    "kind: \"nvidia.com/gpu\n",                /* unbalanced quote */
	    "kind: amd.com/gpu\nkind: nvidia.com/gpu", /* the first kind decides */
	    "kinder: nvidia.com/gpu\n",
	    "kind: nvidia.com/gpu#x\n",
	    "{\"kind\": \"nvidia.com/gpu\"", /* truncated JSON */
	    "{\"devices\": {\"kind\": \"nvidia.com/gpu\"}}",
	    "kind: nvidia.com/",
	};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		CHECK(!fl_gpu_container_parse_cdi(no[i], strlen(no[i])), "cdi: does not declare it: case %zu",
		      i);
	CHECK(!fl_gpu_container_parse_cdi("kind: nvidia.com/gpu", 16), "cdi: reads only n bytes");
}

static char *flags_of(enum fl_gpu_access a)
{
	struct fl_gpu_container c;
	memset(&c, 0, sizeof c);
	c.access = a;
	struct fl_argv v = FL_ARGV_INIT;
	fl_argv_add(&v, "run");
	fl_gpu_container_flags(&c, &v);
	struct fl_buf b = FL_BUF_INIT;
	for (size_t i = 0; i < v.n; i++)
		fl_buf_addf(&b, "%s%s", i ? " " : "", v.v[i]);
	fl_argv_free(&v);
	return b.data;
}

static void test_flags(void)
{
	char *s = flags_of(FL_GPU_ACCESS_RUNTIME);
	CHECK_STR(s, "run --gpus all", "flags: the runtime is --gpus all");
	free(s);
	s = flags_of(FL_GPU_ACCESS_CDI);
	CHECK_STR(s, "run --device nvidia.com/gpu=all", "flags: CDI is --device nvidia.com/gpu=all");
	free(s);
	s = flags_of(FL_GPU_ACCESS_NONE);
	CHECK_STR(s, "run", "flags: none adds nothing");
	free(s);
}

/* A fake (test/gpu/NAME) linked into the scratch directory as link, with its knobs file. */
static char *fake(const char *name, const char *link, const char *knobs)
{
	char target[PATH_MAX + 64];
	snprintf(target, sizeof target, "%s/test/gpu/%s", cwd, name);
	char *p = path_of(link);
	unlink(p);
	if (symlink(target, p) < 0)
		abort();
	char *env = NULL;
	if (asprintf(&env, "%s.env", p) < 0)
		abort();
	write_file(env, knobs);
	free(env);
	return p;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return fl_xstrdup("");
	struct fl_buf b = FL_BUF_INIT;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fl_buf_add(&b, buf, n);
	fclose(f);
	fl_buf_add(&b, "", 0);
	return b.data;
}

static int smoke(const char *knobs, enum fl_gpu_access a, int *code, char *msg, size_t n)
{
	char *docker = fake("fake-docker", "docker", knobs);
	struct fl_gpu_env env = {0};
	env.docker = docker;
	env.image = "nvidia/cuda:test";
	env.timeout_ms = 30000;
	struct fl_gpu_container c;
	memset(&c, 0, sizeof c);
	c.access = a;
	int r = fl_gpu_container_smoke(&env, &c, code, msg, n);
	free(docker);
	return r;
}

static void test_smoke(void)
{
	char msg[512], knobs[PATH_MAX + 64];
	int code = -1;
	char *log = path_of("docker.log");
	snprintf(knobs, sizeof knobs, "FAKE_DOCKER_LOG='%s'\n", log);
	CHECK(smoke(knobs, FL_GPU_ACCESS_RUNTIME, &code, msg, sizeof msg) == 0 && code == 0,
	      "smoke: a container that lists the GPU passes (%s)", msg);
	char *argv = slurp(log);
	char *want = NULL, *exe = path_of("docker");
	if (asprintf(&want, "%s\nrun\n--rm\n--gpus\nall\nnvidia/cuda:test\nnvidia-smi\n-L\n", exe) < 0)
		abort();
	free(exe);
	CHECK_STR(argv, want, "smoke: docker run --rm --gpus all IMAGE nvidia-smi -L");
	free(argv);
	free(want);
	unlink(log);
	CHECK(smoke(knobs, FL_GPU_ACCESS_CDI, &code, msg, sizeof msg) == 0, "smoke: with CDI passes");
	argv = slurp(log);
	CHECK(strstr(argv, "\nrun\n--rm\n--device\nnvidia.com/gpu=all\nnvidia/cuda:test\n") != NULL,
	      "smoke: with CDI the flags are --device nvidia.com/gpu=all");
	free(argv);
	unlink(log);

	CHECK(smoke(knobs, FL_GPU_ACCESS_NONE, &code, msg, sizeof msg) == -1 && code == 1 &&
	          strstr(msg, "no NVIDIA runtime or CDI spec"),
	      "smoke: no access is a failure without running docker (%s)", msg);
	CHECK(access(log, F_OK) < 0, "smoke: no access never starts docker");
	free(log);

	CHECK(smoke("FAKE_DOCKER_RC=125\nFAKE_DOCKER_OUTPUT='docker: Error response from daemon: could not "
	            "select device driver \"\" with capabilities: [[gpu]].'\n",
	            FL_GPU_ACCESS_RUNTIME, &code, msg, sizeof msg) == -1 &&
	          code == 1,
	      "smoke: no device driver is a failure");
	CHECK(strstr(msg, "exited 125") &&
	          strstr(msg, "could not select device driver \"\" with capabilities: [[gpu]]") &&
	          strstr(msg, "nvidia-ctk runtime configure --runtime=docker && systemctl restart docker"),
	      "smoke: no device driver shows docker's line and the nvidia-ctk fix (%s)", msg);

	CHECK(
	    smoke("FAKE_DOCKER_RC=255\nFAKE_DOCKER_OUTPUT='Failed to initialize NVML: Unknown Error'\n",
	          FL_GPU_ACCESS_RUNTIME, &code, msg, sizeof msg) == -1 &&
	        code == 1 && strstr(msg, "Failed to initialize NVML: Unknown Error") &&
	        strstr(msg,
	               "recreate the container (a runc device-cgroup problem after systemctl daemon-reload)"),
	    "smoke: NVML Unknown Error says to recreate the container (%s)", msg);

	CHECK(smoke("FAKE_DOCKER_RC=1\nFAKE_DOCKER_OUTPUT='Cannot connect to the Docker daemon at "
	            "unix:///var/run/docker.sock. Is the docker daemon running?'\n",
	            FL_GPU_ACCESS_RUNTIME, &code, msg, sizeof msg) == -1 &&
	          code == 3 && strstr(msg, "Cannot connect to the Docker daemon"),
	      "smoke: a daemon that does not answer is code 3 (%s)", msg);

	CHECK(smoke("FAKE_DOCKER_RC=125\nFAKE_DOCKER_OUTPUT='Unable to find image locally\nfirst\nsecond\n"
	            "docker: manifest unknown'\n",
	            FL_GPU_ACCESS_RUNTIME, &code, msg, sizeof msg) == -1 &&
	          code == 1 && strstr(msg, "second | docker: manifest unknown") && !strstr(msg, "first"),
	      "smoke: another failure shows the output's last two lines (%s)", msg);

	CHECK(smoke("FAKE_DOCKER_OUTPUT='No devices were found'\n", FL_GPU_ACCESS_RUNTIME, &code, msg,
	            sizeof msg) == -1 &&
	          code == 1 && strstr(msg, "listed no GPU"),
	      "smoke: exit 0 without a GPU line is a failure (%s)", msg);

	/* The sleep is far longer than the bound; the assertion is on the code, not on time. */
	char *docker = fake("fake-docker", "docker", "FAKE_DOCKER_SLEEP=120\n");
	struct fl_gpu_env env = {0};
	env.docker = docker;
	env.timeout_ms = 300;
	struct fl_gpu_container c;
	memset(&c, 0, sizeof c);
	c.access = FL_GPU_ACCESS_RUNTIME;
	CHECK(fl_gpu_container_smoke(&env, &c, &code, msg, sizeof msg) == -1 && code == 4 &&
	          strstr(msg, "within 300 ms") && strstr(msg, "docker pull"),
	      "smoke: a docker that hangs is a timeout, code 4 (%s)", msg);
	free(docker);

	env.docker = "/nonexistent/docker";
	CHECK(fl_gpu_container_smoke(&env, &c, &code, msg, sizeof msg) == -1 && code == 3 &&
	          strstr(msg, "/nonexistent/docker"),
	      "smoke: docker missing is code 3 naming it (%s)", msg);
	char *plain = path_of("not-executable");
	write_file(plain, "#!/bin/sh\n");
	chmod(plain, 0644);
	env.docker = plain;
	CHECK(fl_gpu_container_smoke(&env, &c, &code, msg, sizeof msg) == -1 && code == 3,
	      "smoke: docker not executable is code 3");
	free(plain);
}

static void test_smi_parse(void)
{
	struct fl_gpu_smi s;
	memset(&s, 0, sizeof s);
	const char a100[] = "NVIDIA A100-SXM4-40GB, 40960 MiB, 550.54.15\n";
	CHECK(fl_gpu_smi_parse(a100, sizeof a100 - 1, &s) == 0 && s.count == 1, "smi: one A100 parses");
	CHECK_STR(s.name, "NVIDIA A100-SXM4-40GB", "smi: the name");
	CHECK_INT(s.memory_mb, 40960, "smi: the memory in MiB");
	CHECK_STR(s.driver, "550.54.15", "smi: the driver version");

	const char two[] =
	    "NVIDIA H100 80GB HBM3, 81559 MiB, 550.90.07\r\nNVIDIA H100 80GB HBM3, 81559 MiB, 550.90.07\r\n";
	CHECK(fl_gpu_smi_parse(two, sizeof two - 1, &s) == 0 && s.count == 2 && s.memory_mb == 81559 &&
	          strcmp(s.driver, "550.90.07") == 0,
	      "smi: two lines are two GPUs, CRLF too");
	const char comma[] = "Quadro RTX 8000, rev 2, 48601 MiB, 535.183.01";
	CHECK(fl_gpu_smi_parse(comma, sizeof comma - 1, &s) == 0 &&
	          strcmp(s.name, "Quadro RTX 8000, rev 2") == 0,
	      "smi: a comma in the name is split from the right (%s)", s.name);

	const char *bad[] = {
	    "",
	    "\n\n",
	    "NVIDIA A100-SXM4-40GB, 40960 MiB",
	    "NVIDIA A100-SXM4-40GB, 40960 MiB, ",
	    ", 40960 MiB, 550.54.15",
	    "NVIDIA A100, [N/A], 550.54.15",
	    "NVIDIA A100, 40960 GiB, 550.54.15",
	    "NVIDIA A100, 99999999999999999999 MiB, 550.54.15",
	    "NVIDIA A100, 40960 MiB, 550.54.15\nNVIDIA A1",
	    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that "
	    "the "
	    "latest NVIDIA driver is installed and running.",
	    "Failed to initialize NVML: Driver/library version mismatch",
	    "NVIDIA A100, 40960 MiB, 550.54.15; rm -rf /",
	    "NVIDIA\x1b[31m A100, 40960 MiB, 550.54.15",
	    "NVIDIA A100, 40960 MiB, .550",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		s.count = 7;
		CHECK(fl_gpu_smi_parse(bad[i], strlen(bad[i]), &s) == -1 && s.count == 0 && !s.name[0],
		      "smi: not the CSV is -1 and nothing kept: case %zu", i);
	}
	char longname[300];
	memset(longname, 'A', sizeof longname);
	memcpy(longname + 200, ", 1 MiB, 1.0", 12);
	CHECK(fl_gpu_smi_parse(longname, 212, &s) == -1, "smi: a name longer than the field is refused");
	CHECK(fl_gpu_smi_parse(a100, 20, &s) == -1, "smi: a truncated line is refused");
	const char nul[] = "NVIDIA A100, 40960 MiB, 550.54.15\nNV\0DIA A100, 40960 MiB, 550.54.15";
	CHECK(fl_gpu_smi_parse(nul, sizeof nul - 1, &s) == -1, "smi: a NUL byte is refused");
}

static void smi_with(const char *knobs, struct fl_gpu_smi *s)
{
	char *p = fake("fake-nvidia-smi", "nvidia-smi", knobs);
	struct fl_gpu_env env = {0};
	env.nvidia_smi = p;
	env.timeout_ms = 30000;
	fl_gpu_smi_query(&env, s);
	free(p);
}

static void test_smi_query(void)
{
	struct fl_gpu_smi s;
	smi_with("", &s);
	CHECK(s.status == 0 && s.rc == 0 && s.count == 1 && strcmp(s.name, "NVIDIA A100-SXM4-40GB") == 0 &&
	          s.memory_mb == 40960 && strcmp(s.driver, "550.54.15") == 0,
	      "smi: the fake's A100 is read (status %d, %s)", s.status, s.output);

	smi_with(
	    "FAKE_SMI_RC=9\nFAKE_SMI_OUTPUT=\"NVIDIA-SMI has failed because it couldn't communicate with the "
	    "NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\"\n",
	    &s);
	CHECK(s.status == 1 && s.rc == 9 &&
	          strncmp(s.output, "NVIDIA-SMI has failed because it couldn't", 41) == 0,
	      "smi: rc 9 is a failure with its first line (%s)", s.output);

	smi_with(
	    "FAKE_SMI_RC=18\nFAKE_SMI_OUTPUT='Failed to initialize NVML: Driver/library version mismatch\n"
	    "NVML library version: 550.127'\n",
	    &s);
	CHECK(s.status == 1 && s.rc == 18 &&
	          strcmp(s.output, "Failed to initialize NVML: Driver/library version mismatch") == 0,
	      "smi: the mismatch is its first line (%s)", s.output);

	smi_with("FAKE_SMI_RC=6\nFAKE_SMI_OUTPUT='No devices were found'\n", &s);
	CHECK(s.status == 1 && s.rc == 6 && strcmp(s.output, "No devices were found") == 0,
	      "smi: no devices is a failure (%s)", s.output);

	smi_with("FAKE_SMI_OUTPUT='\x01garbage\xff'\n", &s);
	CHECK(s.status == 1 && s.rc == 0 && s.count == 0 && strstr(s.output, "garbage") &&
	          !strchr(s.output, '\x01'),
	      "smi: garbage with rc 0 is a failure, control bytes masked (%s)", s.output);

	char *p = fake("fake-nvidia-smi", "nvidia-smi", "exec sleep 120\n");
	struct fl_gpu_env hung = {0};
	hung.nvidia_smi = p;
	hung.timeout_ms = 300;
	fl_gpu_smi_query(&hung, &s);
	CHECK(s.status == 1 && s.rc == -1 && strstr(s.output, "did not answer within 300 ms"),
	      "smi: a hung nvidia-smi is a failure after the timeout (%s)", s.output);
	free(p);

	smi_with("FAKE_SMI_OUTPUT=''\n", &s);
	CHECK(s.status == 1 && s.count == 0, "smi: empty output is a failure (%s)", s.output);

	struct fl_gpu_env env = {0};
	env.nvidia_smi = "";
	fl_gpu_smi_query(&env, &s);
	CHECK(s.status == -1, "smi: \"\" is no cross-check");
	env.nvidia_smi = "/nonexistent/nvidia-smi";
	fl_gpu_smi_query(&env, &s);
	CHECK(s.status == -1, "smi: a missing program is not installed");

	/* NULL: looked up in PATH. */
	char *dir = path_of("bin");
	mkdir(dir, 0700);
	char *link = path_of("bin/nvidia-smi"), target[PATH_MAX + 64];
	snprintf(target, sizeof target, "%s/test/gpu/fake-nvidia-smi", cwd);
	if (symlink(target, link) < 0)
		abort();
	char *old = getenv("PATH") ? fl_xstrdup(getenv("PATH")) : NULL;
	setenv("PATH", dir, 1);
	env.nvidia_smi = NULL;
	fl_gpu_smi_query(&env, &s);
	CHECK(s.status == 0 && s.count == 1, "smi: found in PATH when not named (status %d)", s.status);
	setenv("PATH", "/nonexistent", 1);
	fl_gpu_smi_query(&env, &s);
	CHECK(s.status == -1, "smi: absent from PATH is not installed");
	if (old)
		setenv("PATH", old, 1);
	free(old);
	unlink(link);
	rmdir(dir);
	free(link);
	free(dir);
}

int main(void)
{
	if (!getcwd(cwd, sizeof cwd) || unit_fs_init("fl-gpu-ctr") < 0)
		return 1;
	test_daemon();
	test_parse_daemon();
	test_cdi();
	test_flags();
	test_smoke();
	test_smi_parse();
	test_smi_query();
	rm_all(unit_root);
	return unit_done();
}
