/* fl_gpu_container: can a container use the GPU? daemon.json, CDI specs, docker flags, smoke test. */
#include "fl_gpu_container.h"

#include "fl_err.h"
#include "fl_fs.h"
#include "fl_proc.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* nvidia-ctk writes one spec per GPU class; with many MIG devices listed it outgrows the
 * 64 KiB of a sysfs file, so a spec gets a bound of its own. */
#define CDI_FILE_MAX  ((size_t)1024 * 1024)
#define CDI_DIR_FILES 256                 /* spec files looked at per directory */
#define SMOKE_OUT_MAX ((size_t)64 * 1024) /* docker run's output kept */
#define CDI_KIND      "nvidia.com/gpu"

/* snprintf that may cut: every message here fits a fixed field and a cut one still reads. */
static void __attribute__((format(printf, 3, 4))) say(char *dst, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, n, fmt, ap);
	va_end(ap);
}

/* Read path whole (regular file, at most max bytes): 1 read, 0 absent, -1 with err. */
static int read_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errn)
{
	struct stat st;
	if (stat(path, &st) < 0 && (errno == ENOENT || errno == ENOTDIR))
		return 0;
	struct fl_err e;
	fl_err_clear(&e);
	if (fl_fs_read(path, max, out, len, &e) < 0) {
		say(err, errn, "%s", e.msg);
		return -1;
	}
	return 1;
}

static void parse_runtimes(json_t *root, struct fl_gpu_container *c)
{
	/* Shapes other than Docker's (runtimes a string, nvidia an array) are "not configured":
	 * dockerd refuses them too, and the flags must never follow from a guess. */
	json_t *nv = json_object_get(json_object_get(root, "runtimes"), "nvidia");
	const char *path = json_string_value(json_object_get(nv, "path"));
	c->runtime_nvidia = json_is_object(nv) && path && path[0];
	const char *def = json_string_value(json_object_get(root, "default-runtime"));
	c->default_nvidia = def && strcmp(def, "nvidia") == 0;
	c->cdi_feature = json_is_true(json_object_get(json_object_get(root, "features"), "cdi"));
}

int fl_gpu_container_parse_daemon(const char *text, size_t n, struct fl_gpu_container *c)
{
	const char *file = c->daemon_path[0] ? c->daemon_path : "daemon.json";
	c->runtime_nvidia = c->default_nvidia = c->cdi_feature = false;
	size_t i = 0;
	while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
		i++;
	if (i == n) {
		/* dockerd starts with an empty daemon.json: its defaults, no NVIDIA runtime. */
		c->daemon_json = 1;
		return 0;
	}
	json_error_t je;
	json_t *root = json_loadb(text, n, 0, &je);
	if (!root) {
		c->daemon_json = -1;
		say(c->error, sizeof c->error, "%s: line %d column %d: %s; dockerd will not start with it",
		    file, je.line, je.column, je.text);
		return -1;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		c->daemon_json = -1;
		say(c->error, sizeof c->error,
		    "%s: not a JSON object; dockerd will not start with it: write {} or the settings", file);
		return -1;
	}
	parse_runtimes(root, c);
	json_decref(root);
	c->daemon_json = 1;
	return 0;
}

/* The value of a top-level YAML `kind:` line (at column 0) is nvidia.com/gpu, quoted or not. */
static int yaml_kind_line(const char *p, size_t n)
{
	if (n < 5 || memcmp(p, "kind", 4) != 0)
		return -1; /* not a kind line */
	size_t i = 4;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == n || p[i] != ':')
		return -1;
	i++;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	char q = i < n && (p[i] == '"' || p[i] == '\'') ? p[i++] : 0;
	size_t k = strlen(CDI_KIND);
	if (n - i < k || memcmp(p + i, CDI_KIND, k) != 0)
		return 0;
	i += k;
	if (q) {
		if (i == n || p[i] != q)
			return 0;
		i++;
	}
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
		i++;
	/* A comment after the value needs a blank before '#', which the loop above consumed. */
	return i == n || (p[i] == '#' && (p[i - 1] == ' ' || p[i - 1] == '\t')) ? 1 : 0;
}

bool fl_gpu_container_parse_cdi(const char *text, size_t n)
{
	size_t i = 0;
	if (n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	size_t j = i;
	while (j < n && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r'))
		j++;
	if (j < n && text[j] == '{') {
		json_t *root = json_loadb(text + i, n - i, 0, NULL);
		const char *kind = json_string_value(json_object_get(root, "kind"));
		bool yes = kind && strcmp(kind, CDI_KIND) == 0;
		json_decref(root);
		return yes;
	}
	/* YAML without a YAML library: the first top-level `kind:` decides. */
	while (i < n) {
		const char *nl = memchr(text + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (text + i)) : n - i;
		int r = yaml_kind_line(text + i, len);
		if (r >= 0)
			return r == 1;
		i += len + 1;
	}
	return false;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool cdi_name(const char *name)
{
	size_t n = strlen(name);
	if (name[0] == '.')
		return false;
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(name + n - 4, ".yml") == 0) || (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

/* The first spec for nvidia.com/gpu in ROOT/dir (sorted names) into c->cdi_spec; what could
 * not be read into skipped (the first one). */
static void scan_cdi_dir(const struct fl_gpu_env *env, const char *dir, struct fl_gpu_container *c,
                         char *skipped, size_t sn)
{
	char base[512];
	if (fl_gpu_path(env, dir, base, sizeof base) < 0)
		return;
	DIR *d = opendir(base);
	if (!d)
		return;
	char *names[CDI_DIR_FILES] = {0};
	size_t nn = 0;
	struct dirent *de;
	while ((de = readdir(d)) && nn < CDI_DIR_FILES)
		if (cdi_name(de->d_name))
			names[nn++] = fl_xstrdup(de->d_name);
	closedir(d);
	qsort(names, nn, sizeof names[0], name_cmp);
	for (size_t i = 0; i < nn; i++) {
		char path[1024], *text = NULL, err[256];
		size_t len = 0;
		int k = snprintf(path, sizeof path, "%s/%s", base, names[i]);
		if (!c->cdi_spec[0] && k > 0 && (size_t)k < sizeof c->cdi_spec) {
			int r = read_file(path, CDI_FILE_MAX, &text, &len, err, sizeof err);
			if (r < 0 && !skipped[0])
				say(skipped, sn, "CDI spec skipped: %s", err);
			if (r > 0 && fl_gpu_container_parse_cdi(text, len))
				say(c->cdi_spec, sizeof c->cdi_spec, "%s", path);
			free(text);
		}
		free(names[i]);
	}
}

static void decide(struct fl_gpu_container *c, const char *skipped)
{
	/* A daemon.json dockerd refuses means no container at all, whatever it names. */
	c->access = FL_GPU_ACCESS_NONE;
	if (c->daemon_json >= 0 && c->runtime_nvidia)
		c->access = FL_GPU_ACCESS_RUNTIME;
	else if (c->daemon_json >= 0 && c->cdi_spec[0] && c->cdi_feature)
		c->access = FL_GPU_ACCESS_CDI;
	if (c->access != FL_GPU_ACCESS_NONE || c->error[0])
		return;
	if (c->cdi_spec[0])
		say(c->error, sizeof c->error,
		    "%s declares nvidia.com/gpu but Docker's CDI feature is off: add "
		    "\"features\": {\"cdi\": true} to %s and restart docker",
		    c->cdi_spec, c->daemon_path);
	else if (c->default_nvidia)
		say(c->error, sizeof c->error,
		    "%s: default-runtime is nvidia but runtimes.nvidia has no path: run "
		    "nvidia-ctk runtime configure --runtime=docker",
		    c->daemon_path);
	else if (skipped[0])
		say(c->error, sizeof c->error, "%s", skipped);
}

void fl_gpu_container_scan(const struct fl_gpu_env *env, struct fl_gpu_container *c)
{
	memset(c, 0, sizeof *c);
	if (env && env->daemon_json)
		say(c->daemon_path, sizeof c->daemon_path, "%s", env->daemon_json);
	else if (fl_gpu_path(env, "/etc/docker/daemon.json", c->daemon_path, sizeof c->daemon_path) < 0)
		c->daemon_path[0] = '\0';
	char *text = NULL;
	size_t len = 0;
	int r = c->daemon_path[0] ? read_file(c->daemon_path, (size_t)FL_GPU_FILE_MAX, &text, &len, c->error,
	                                      sizeof c->error)
	                          : 0;
	if (r < 0)
		c->daemon_json = -1;
	else if (r > 0)
		fl_gpu_container_parse_daemon(text, len, c);
	free(text);
	char skipped[256] = "";
	scan_cdi_dir(env, "/etc/cdi", c, skipped, sizeof skipped);
	scan_cdi_dir(env, "/var/run/cdi", c, skipped, sizeof skipped);
	decide(c, skipped);
}

void fl_gpu_container_flags(const struct fl_gpu_container *c, struct fl_argv *v)
{
	if (c->access == FL_GPU_ACCESS_RUNTIME) {
		fl_argv_add(v, "--gpus");
		fl_argv_add(v, "all");
	} else if (c->access == FL_GPU_ACCESS_CDI) {
		fl_argv_add(v, "--device");
		fl_argv_add(v, "nvidia.com/gpu=all");
	}
}

/* The last non-empty lines of out (at most two), control bytes as '?', joined with " | ". */
static void tail_lines(const char *out, char *dst, size_t n)
{
	const char *end = out + strlen(out), *lines[2] = {NULL, NULL};
	size_t lens[2] = {0, 0};
	int got = 0;
	while (end > out && got < 2) {
		while (end > out && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
			end--;
		const char *s = end;
		while (s > out && s[-1] != '\n')
			s--;
		if (s == end)
			break;
		lines[got] = s;
		lens[got++] = (size_t)(end - s);
		end = s;
	}
	size_t k = 0;
	dst[0] = '\0';
	for (int i = got - 1; i >= 0 && n > 0; i--) {
		if (i != got - 1 && k + 3 < n)
			k += (size_t)snprintf(dst + k, n - k, " | ");
		for (size_t j = 0; j < lens[i] && k + 1 < n; j++) {
			unsigned char ch = (unsigned char)lines[i][j];
			dst[k++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
		}
		dst[k < n ? k : n - 1] = '\0';
	}
}

/* Why docker run failed, from its output: the code (1 or 3) and the fix. */
static int smoke_failure(const char *out, const char **why, const char **fix)
{
	if (strstr(out, "Cannot connect to the Docker daemon")) {
		*why = "the Docker daemon does not answer";
		*fix = "start it: systemctl start docker";
		return FL_EXIT_UNAVAILABLE;
	}
	if (strstr(out, "could not select device driver")) {
		*why = "Docker has no NVIDIA runtime";
		*fix = "nvidia-ctk runtime configure --runtime=docker && systemctl restart docker";
		return FL_EXIT_FAIL;
	}
	if (strstr(out, "Failed to initialize NVML: Unknown Error")) {
		*why = "the container lost its GPU devices";
		*fix = "recreate the container (a runc device-cgroup problem after systemctl daemon-reload)";
		return FL_EXIT_FAIL;
	}
	if (strstr(out, "unresolvable CDI devices")) {
		*why = "Docker cannot resolve the CDI device";
		*fix = "nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml";
		return FL_EXIT_FAIL;
	}
	*why = "the GPU container failed";
	*fix = NULL;
	return FL_EXIT_FAIL;
}

/* nvidia-smi -L in the container listed a GPU ("GPU 0: NVIDIA A100 (UUID: ...)"). */
static bool lists_gpu(const char *out)
{
	for (const char *p = out; p; p = strchr(p, '\n')) {
		p += *p == '\n';
		if (strncmp(p, "GPU ", 4) == 0)
			return true;
	}
	return false;
}

int fl_gpu_container_smoke(const struct fl_gpu_env *env, const struct fl_gpu_container *c, int *code,
                           char *msg, size_t n)
{
	const char *docker = env && env->docker ? env->docker : "/usr/bin/docker";
	const char *image = env && env->image ? env->image : FL_GPU_SMOKE_IMAGE;
	long timeout = env && env->timeout_ms > 0 ? env->timeout_ms : 60000;
	msg[0] = '\0';
	*code = FL_EXIT_OK;
	if (c->access == FL_GPU_ACCESS_NONE) {
		*code = FL_EXIT_FAIL;
		say(msg, n,
		    "no NVIDIA runtime or CDI spec for Docker: run nvidia-ctk runtime configure "
		    "--runtime=docker && systemctl restart docker");
		return -1;
	}
	if (access(docker, X_OK) < 0) {
		*code = FL_EXIT_UNAVAILABLE;
		say(msg, n, "docker: %s: %s; install Docker or skip the container test", docker,
		    strerror(errno));
		return -1;
	}
	struct fl_argv v = FL_ARGV_INIT;
	fl_argv_add(&v, docker);
	fl_argv_add(&v, "run");
	fl_argv_add(&v, "--rm");
	fl_gpu_container_flags(c, &v);
	fl_argv_add(&v, image);
	fl_argv_add(&v, "nvidia-smi");
	fl_argv_add(&v, "-L");
	char **envp = fl_proc_env_build(NULL, NULL);
	struct fl_buf out = FL_BUF_INIT;
	struct fl_err e;
	fl_err_clear(&e);
	int status = -1;
	int r = fl_proc_capture(v.v, envp, timeout, SMOKE_OUT_MAX, &out, &status, &e);
	fl_proc_env_free(envp);
	fl_argv_free(&v);
	char tail[200];
	tail_lines(fl_buf_str(&out), tail, sizeof tail);
	if (r < 0) {
		*code = e.code == FL_EXIT_TIMEOUT ? FL_EXIT_TIMEOUT : FL_EXIT_UNAVAILABLE;
		if (*code == FL_EXIT_TIMEOUT)
			say(msg, n,
			    "docker run %s nvidia-smi -L did not finish within %ld ms, killed it (%s); pull "
			    "the "
			    "image first (docker pull %s) or give a longer timeout",
			    image, timeout, tail[0] ? tail : "no output", image);
		else
			say(msg, n, "docker run %s nvidia-smi -L: %s", image, e.msg);
	} else if (status != 0) {
		const char *why, *fix;
		*code = smoke_failure(fl_buf_str(&out), &why, &fix);
		say(msg, n, "docker run %s nvidia-smi -L exited %d: %s (%s)%s%s", image, status, why,
		    tail[0] ? tail : "no output", fix ? "; fix: " : "", fix ? fix : "");
	} else if (!lists_gpu(fl_buf_str(&out))) {
		*code = FL_EXIT_FAIL;
		say(msg, n, "docker run %s nvidia-smi -L listed no GPU (%s)", image,
		    tail[0] ? tail : "no output");
	} else {
		say(msg, n, "%s", tail);
	}
	fl_buf_free(&out);
	return *code == FL_EXIT_OK ? 0 : -1;
}
