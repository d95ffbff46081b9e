/* fl_nvml: NVML through dlopen, asked in a forked child so that a hang or a crash in the
 * driver's library costs a timeout or a status, never the caller. */
#include "fl_nvml.h"

#include "fl_hex.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* nvml.h's types, as far as this file uses them (the layouts are NVIDIA's). */
typedef struct nvml_device *nvml_dev;
struct nvml_pci_info {
	char bus_id_legacy[16];
	unsigned domain, bus, device, pci_device_id, pci_subsystem_id;
	char bus_id[32]; /* "00000000:E1:00.0" */
};
struct nvml_memory {
	unsigned long long total, free, used;
};
#define NVML_MEMORY_ERROR_TYPE_UNCORRECTED 1
#define NVML_VOLATILE_ECC                  0

/* The entry points: the first six are required. */
struct nvml_fns {
	int (*init)(void);
	int (*shutdown)(void);
	const char *(*error_string)(int);
	int (*count)(unsigned *);
	int (*handle)(unsigned, nvml_dev *);
	int (*name)(nvml_dev, char *, unsigned);
	int (*driver_version)(char *, unsigned);
	int (*cuda_version)(int *);
	int (*uuid)(nvml_dev, char *, unsigned);
	int (*pci_info)(nvml_dev, struct nvml_pci_info *);
	int (*memory)(nvml_dev, struct nvml_memory *);
	int (*cc)(nvml_dev, int *, int *);
	int (*mig_mode)(nvml_dev, unsigned *, unsigned *);
	int (*mig_max)(nvml_dev, unsigned *);
	int (*mig_handle)(nvml_dev, unsigned, nvml_dev *);
	int (*ecc_mode)(nvml_dev, int *, int *);
	int (*ecc_total)(nvml_dev, int, int, unsigned long long *);
	int (*remapped_rows)(nvml_dev, unsigned *, unsigned *, unsigned *, unsigned *);
};

#define NVML_REQUIRED 6
static const struct {
	const char *name;
	size_t off;
} nvml_syms[] = {
    {"nvmlInit_v2", offsetof(struct nvml_fns, init)},
    {"nvmlShutdown", offsetof(struct nvml_fns, shutdown)},
    {"nvmlErrorString", offsetof(struct nvml_fns, error_string)},
    {"nvmlDeviceGetCount_v2", offsetof(struct nvml_fns, count)},
    {"nvmlDeviceGetHandleByIndex_v2", offsetof(struct nvml_fns, handle)},
    {"nvmlDeviceGetName", offsetof(struct nvml_fns, name)},
    {"nvmlSystemGetDriverVersion", offsetof(struct nvml_fns, driver_version)},
    {"nvmlSystemGetCudaDriverVersion_v2", offsetof(struct nvml_fns, cuda_version)},
    {"nvmlDeviceGetUUID", offsetof(struct nvml_fns, uuid)},
    {"nvmlDeviceGetPciInfo_v3", offsetof(struct nvml_fns, pci_info)},
    {"nvmlDeviceGetMemoryInfo", offsetof(struct nvml_fns, memory)},
    {"nvmlDeviceGetCudaComputeCapability", offsetof(struct nvml_fns, cc)},
    {"nvmlDeviceGetMigMode", offsetof(struct nvml_fns, mig_mode)},
    {"nvmlDeviceGetMaxMigDeviceCount", offsetof(struct nvml_fns, mig_max)},
    {"nvmlDeviceGetMigDeviceHandleByIndex", offsetof(struct nvml_fns, mig_handle)},
    {"nvmlDeviceGetEccMode", offsetof(struct nvml_fns, ecc_mode)},
    {"nvmlDeviceGetTotalEccErrors", offsetof(struct nvml_fns, ecc_total)},
    {"nvmlDeviceGetRemappedRows", offsetof(struct nvml_fns, remapped_rows)},
};

/* A string from the library, bounded and with control bytes made visible as '?': it ends up
 * in messages and JSON. */
static void copy_clean(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	dst[i] = '\0';
}

static void nvml_init_result(struct fl_nvml *n)
{
	memset(n, 0, sizeof *n);
	n->cuda_major = n->cuda_minor = -1;
}

static void dev_init(struct fl_nvml_dev *d)
{
	memset(d, 0, sizeof *d);
	d->memory_mb = -1;
	d->cc_major = d->cc_minor = -1;
	d->mig_current = d->mig_pending = d->mig_instances = -1;
	d->ecc_current = -1;
	d->ecc_uncorrected = -1;
	d->remap_pending = d->remap_failure = -1;
}

/* An optional question's answer that says the GPU is unwell (not merely that it lacks the
 * feature) becomes the device's status, unless an earlier one did. */
static bool dev_ok(struct fl_nvml_dev *d, int rc)
{
	if (rc == FL_NVML_SUCCESS)
		return true;
	if (d->status == FL_NVML_SUCCESS &&
	    (rc == FL_NVML_ERROR_GPU_IS_LOST || rc == FL_NVML_ERROR_RESET_REQUIRED ||
	     rc == FL_NVML_ERROR_CORRUPTED_INFOROM))
		d->status = rc;
	return false;
}

/* One hex field of at most max digits ending at stop; the value, or -1. */
static long hexfield(const char **p, int max, char stop)
{
	long v = 0;
	int k = 0;
	for (; **p && **p != stop; (*p)++, k++) {
		int h = fl_hex_digit(**p);
		if (h < 0 || k == max)
			return -1;
		v = v * 16 + h;
	}
	if (k == 0 || **p != stop)
		return -1;
	if (stop)
		(*p)++;
	return v;
}

/* NVML's "00000000:E1:00.0" as sysfs writes it, "0000:e1:00.0"; "" when it is not one. */
static void bdf_normalise(const char *bus_id, char *out, size_t n)
{
	const char *p = bus_id;
	long dom = hexfield(&p, 8, ':'), bus = hexfield(&p, 2, ':'), dev = hexfield(&p, 2, '.');
	long fn = hexfield(&p, 1, '\0');
	out[0] = '\0';
	if (dom < 0 || bus < 0 || dev < 0 || dev > 0x1f || fn < 0 || fn > 7)
		return;
	snprintf(out, n, "%04lx:%02lx:%02lx.%lx", dom, bus, dev, fn);
}

static void ask_mig(const struct nvml_fns *f, nvml_dev h, struct fl_nvml_dev *d)
{
	unsigned cur, pending;
	if (!f->mig_mode || !dev_ok(d, f->mig_mode(h, &cur, &pending)))
		return;
	d->mig_current = cur ? 1 : 0;
	d->mig_pending = pending ? 1 : 0;
	if (!d->mig_current) {
		d->mig_instances = 0;
		return;
	}
	unsigned max;
	if (!f->mig_max || !f->mig_handle || !dev_ok(d, f->mig_max(h, &max)))
		return;
	int k = 0;
	for (unsigned i = 0; i < max && i < 64; i++) {
		nvml_dev m;
		/* An empty slot answers NOT_FOUND: counted out, not an error. */
		if (dev_ok(d, f->mig_handle(h, i, &m)))
			k++;
	}
	d->mig_instances = k;
}

static void ask_health(const struct nvml_fns *f, nvml_dev h, struct fl_nvml_dev *d)
{
	int cur, pending;
	if (f->ecc_mode && dev_ok(d, f->ecc_mode(h, &cur, &pending)))
		d->ecc_current = cur ? 1 : 0;
	unsigned long long unc;
	if (f->ecc_total &&
	    dev_ok(d, f->ecc_total(h, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &unc)))
		d->ecc_uncorrected = unc > LLONG_MAX ? LLONG_MAX : (long long)unc;
	unsigned corr, uncr, rpending, failure;
	if (f->remapped_rows && dev_ok(d, f->remapped_rows(h, &corr, &uncr, &rpending, &failure))) {
		d->remap_pending = rpending ? 1 : 0;
		d->remap_failure = failure ? 1 : 0;
	}
}

static void ask_device(const struct nvml_fns *f, unsigned i, struct fl_nvml_dev *d)
{
	dev_init(d);
	nvml_dev h;
	char buf[96];
	int rc = f->handle(i, &h);
	if (rc == FL_NVML_SUCCESS) {
		memset(buf, 0, sizeof buf);
		rc = f->name(h, buf, sizeof buf);
		copy_clean(d->name, sizeof d->name, buf);
	}
	if (rc != FL_NVML_SUCCESS) {
		d->status = rc;
		return;
	}
	memset(buf, 0, sizeof buf);
	if (f->uuid && dev_ok(d, f->uuid(h, buf, sizeof buf)))
		copy_clean(d->uuid, sizeof d->uuid, buf);
	struct nvml_pci_info pci;
	memset(&pci, 0, sizeof pci);
	if (f->pci_info && dev_ok(d, f->pci_info(h, &pci))) {
		pci.bus_id[sizeof pci.bus_id - 1] = '\0';
		bdf_normalise(pci.bus_id, d->bdf, sizeof d->bdf);
	}
	struct nvml_memory mem;
	if (f->memory && dev_ok(d, f->memory(h, &mem)))
		d->memory_mb = (long long)(mem.total / (1024ULL * 1024));
	int major, minor;
	if (f->cc && dev_ok(d, f->cc(h, &major, &minor))) {
		d->cc_major = major;
		d->cc_minor = minor;
	}
	ask_mig(f, h, d);
	ask_health(f, h, d);
}

/* The file the loader picked and the version its name carries
 * (libnvidia-ml.so.550.54.15 -> 550.54.15; the bare soname .so.1 carries none). */
static void lib_identify(void *lib, struct fl_nvml *n)
{
	struct link_map *lm = NULL;
	if (dlinfo(lib, RTLD_DI_LINKMAP, &lm) != 0 || !lm || !lm->l_name || !lm->l_name[0])
		return;
	char real[PATH_MAX];
	copy_clean(n->lib_path, sizeof n->lib_path, realpath(lm->l_name, real) ? real : lm->l_name);
	const char *base = strrchr(n->lib_path, '/');
	base = base ? base + 1 : n->lib_path;
	const char *so = strstr(base, ".so.");
	if (!so)
		return;
	const char *v = so + 4;
	if (!strchr(v, '.') || strspn(v, "0123456789.") != strlen(v))
		return;
	if (strlen(v) < sizeof n->lib_version)
		memcpy(n->lib_version, v, strlen(v) + 1);
}

static void set_error(struct fl_nvml *n, const struct nvml_fns *f, int rc)
{
	n->status = rc;
	const char *s = f->error_string ? f->error_string(rc) : NULL;
	copy_clean(n->error, sizeof n->error, s && s[0] ? s : fl_nvml_code_name(rc));
}

static void query_loaded(void *lib, struct fl_nvml *n)
{
	struct nvml_fns f;
	memset(&f, 0, sizeof f);
	for (size_t i = 0; i < sizeof nvml_syms / sizeof nvml_syms[0]; i++) {
		void *sym = dlsym(lib, nvml_syms[i].name);
		if (!sym && i < NVML_REQUIRED) {
			n->status = FL_NVML_SYMBOL_MISSING;
			snprintf(n->error, sizeof n->error, "%.100s has no %s: not NVML, or too old",
			         n->lib_path[0] ? n->lib_path : "the library", nvml_syms[i].name);
			return;
		}
		/* POSIX: a function pointer and a void * have the same representation. */
		memcpy((char *)&f + nvml_syms[i].off, &sym, sizeof sym);
	}
	int rc = f.init();
	if (rc != FL_NVML_SUCCESS) {
		set_error(n, &f, rc);
		return;
	}
	char ver[80] = "";
	if (f.driver_version && f.driver_version(ver, sizeof ver) == FL_NVML_SUCCESS) {
		ver[sizeof ver - 1] = '\0';
		copy_clean(n->driver_version, sizeof n->driver_version, ver);
	}
	int cuda;
	if (f.cuda_version && f.cuda_version(&cuda) == FL_NVML_SUCCESS && cuda > 0) {
		n->cuda_major = cuda / 1000;
		n->cuda_minor = (cuda % 1000) / 10;
	}
	unsigned count;
	rc = f.count(&count);
	if (rc != FL_NVML_SUCCESS) {
		set_error(n, &f, rc);
	} else {
		n->count = count;
		n->ndev = count < FL_GPU_MAX ? count : FL_GPU_MAX;
		for (unsigned i = 0; i < n->ndev; i++)
			ask_device(&f, i, &n->dev[i]);
	}
	f.shutdown();
}

/* The child's whole work, in-process: load, ask, unload. */
static void query_direct(const struct fl_gpu_env *env, struct fl_nvml *n)
{
	nvml_init_result(n);
	const char *name = env && env->nvml && env->nvml[0] ? env->nvml : FL_NVML_LIB;
	void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		n->status = FL_NVML_LOAD_FAILED;
		const char *e = dlerror();
		copy_clean(n->error, sizeof n->error, e ? e : "dlopen failed");
		return;
	}
	lib_identify(lib, n);
	query_loaded(lib, n);
	dlclose(lib);
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static void child_run(const struct fl_gpu_env *env, int wfd)
{
	/* A hung child dies with its parent; a crashing one leaves no core file behind. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	struct rlimit no_core = {0, 0};
	setrlimit(RLIMIT_CORE, &no_core);
	struct fl_nvml n;
	query_direct(env, &n);
	_exit(write_all(wfd, &n, sizeof n) == 0 ? 0 : 1);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read the child's answer until EOF or the deadline: bytes read, or -1 on timeout. */
static ssize_t read_answer(int fd, struct fl_nvml *n, long long deadline)
{
	char *p = (char *)n;
	size_t got = 0;
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return -1;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int r = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return (ssize_t)got;
		if (r == 0)
			return -1;
		char extra;
		ssize_t k = got < sizeof *n ? read(fd, p + got, sizeof *n - got) : read(fd, &extra, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return (ssize_t)got;
		/* More than one answer is no answer. */
		got = got + (size_t)k > sizeof *n ? sizeof *n + 1 : got + (size_t)k;
	}
}

/* Kill and reap; a child stuck in the kernel (D state) may not go at once: give it a bounded
 * while, then leave it to be reaped later rather than hang the caller. */
static void child_kill(pid_t pid)
{
	kill(pid, SIGKILL);
	for (int i = 0; i < 200; i++) {
		pid_t w = waitpid(pid, NULL, WNOHANG);
		if (w == pid || (w < 0 && errno != EINTR))
			return;
		struct timespec ts = {0, 10L * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int child_wait(pid_t pid)
{
	int st;
	pid_t w;
	do
		w = waitpid(pid, &st, 0);
	while (w < 0 && errno == EINTR);
	return w == pid ? st : -1;
}

/* The answer must be whole and its strings must end inside their arrays. */
static void answer_seal(struct fl_nvml *n)
{
	n->error[sizeof n->error - 1] = '\0';
	n->lib_path[sizeof n->lib_path - 1] = '\0';
	n->lib_version[sizeof n->lib_version - 1] = '\0';
	n->driver_version[sizeof n->driver_version - 1] = '\0';
	if (n->ndev > FL_GPU_MAX)
		n->ndev = FL_GPU_MAX;
	for (unsigned i = 0; i < FL_GPU_MAX; i++) {
		struct fl_nvml_dev *d = &n->dev[i];
		d->name[sizeof d->name - 1] = d->uuid[sizeof d->uuid - 1] = d->bdf[sizeof d->bdf - 1] = '\0';
	}
}

int fl_nvml_query(const struct fl_gpu_env *env, struct fl_nvml *n)
{
	nvml_init_result(n);
	long timeout_ms = env && env->timeout_ms > 0 ? env->timeout_ms : 60000;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0) {
		n->status = FL_NVML_CRASHED;
		snprintf(n->error, sizeof n->error, "cannot ask NVML: pipe: %s", strerror(errno));
		return n->status;
	}
	long long deadline = now_ms() + timeout_ms;
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		close(fds[0]);
		close(fds[1]);
		n->status = FL_NVML_CRASHED;
		snprintf(n->error, sizeof n->error, "cannot ask NVML: fork: %s", strerror(err));
		return n->status;
	}
	if (pid == 0) {
		close(fds[0]);
		child_run(env, fds[1]);
	}
	close(fds[1]);
	struct fl_nvml answer;
	ssize_t got = read_answer(fds[0], &answer, deadline);
	close(fds[0]);
	if (got < 0) {
		child_kill(pid);
		nvml_init_result(n);
		n->status = FL_NVML_TIMEOUT;
		snprintf(n->error, sizeof n->error, "NVML did not answer within %ld s",
		         (timeout_ms + 999) / 1000);
		return n->status;
	}
	int st = child_wait(pid);
	if (st != -1 && WIFSIGNALED(st)) {
		n->status = FL_NVML_CRASHED;
		snprintf(n->error, sizeof n->error, "NVML crashed (signal %d)", WTERMSIG(st));
		return n->status;
	}
	if ((size_t)got != sizeof answer || st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		n->status = FL_NVML_CRASHED;
		snprintf(n->error, sizeof n->error,
		         "NVML query ended without an answer (%zd of %zu bytes, exit status %d)", got,
		         sizeof answer, st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return n->status;
	}
	answer_seal(&answer);
	*n = answer;
	return n->status;
}

const char *fl_nvml_code_name(int status)
{
	switch (status) {
	case FL_NVML_SUCCESS: return "NVML_SUCCESS";
	case FL_NVML_ERROR_UNINITIALIZED: return "NVML_ERROR_UNINITIALIZED";
	case FL_NVML_ERROR_INVALID_ARGUMENT: return "NVML_ERROR_INVALID_ARGUMENT";
	case FL_NVML_ERROR_NOT_SUPPORTED: return "NVML_ERROR_NOT_SUPPORTED";
	case FL_NVML_ERROR_NO_PERMISSION: return "NVML_ERROR_NO_PERMISSION";
	case FL_NVML_ERROR_NOT_FOUND: return "NVML_ERROR_NOT_FOUND";
	case FL_NVML_ERROR_INSUFFICIENT_SIZE: return "NVML_ERROR_INSUFFICIENT_SIZE";
	case FL_NVML_ERROR_DRIVER_NOT_LOADED: return "NVML_ERROR_DRIVER_NOT_LOADED";
	case FL_NVML_ERROR_TIMEOUT: return "NVML_ERROR_TIMEOUT";
	case FL_NVML_ERROR_LIBRARY_NOT_FOUND: return "NVML_ERROR_LIBRARY_NOT_FOUND";
	case FL_NVML_ERROR_FUNCTION_NOT_FOUND: return "NVML_ERROR_FUNCTION_NOT_FOUND";
	case FL_NVML_ERROR_CORRUPTED_INFOROM: return "NVML_ERROR_CORRUPTED_INFOROM";
	case FL_NVML_ERROR_GPU_IS_LOST: return "NVML_ERROR_GPU_IS_LOST";
	case FL_NVML_ERROR_RESET_REQUIRED: return "NVML_ERROR_RESET_REQUIRED";
	case FL_NVML_ERROR_OPERATING_SYSTEM: return "NVML_ERROR_OPERATING_SYSTEM";
	case FL_NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "NVML_ERROR_LIB_RM_VERSION_MISMATCH";
	case FL_NVML_ERROR_UNKNOWN: return "NVML_ERROR_UNKNOWN";
	case FL_NVML_LOAD_FAILED: return "FL_NVML_LOAD_FAILED";
	case FL_NVML_SYMBOL_MISSING: return "FL_NVML_SYMBOL_MISSING";
	case FL_NVML_TIMEOUT: return "FL_NVML_TIMEOUT";
	case FL_NVML_CRASHED: return "FL_NVML_CRASHED";
	}
	static _Thread_local char other[32];
	snprintf(other, sizeof other, "NVML error %d", status);
	return other;
}
