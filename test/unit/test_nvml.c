/* test_nvml: fl_nvml_query against the stub libnvidia-ml.so.1 (test/gpu/nvml_stub.c), loaded
 * through the same dlopen as a real one, its answers set by a knob file. */
#include "fl_nvml.h"
#include "unit.h"
#include "unit_fs.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char stub[PATH_MAX]; /* the stub's absolute path */

/* $FLKIT_BUILD/test/nvml/..., else beside this binary (build/test/test_nvml). */
static int stub_find(void)
{
	const char *b = getenv("FLKIT_BUILD");
	if (b && *b) {
		snprintf(stub, sizeof stub, "%s/test/nvml/libnvidia-ml.so.1", b);
	} else {
		char self[PATH_MAX - 64];
		ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
		if (k <= 0)
			return -1;
		self[k] = '\0';
		char *slash = strrchr(self, '/');
		if (!slash)
			return -1;
		*slash = '\0';
		snprintf(stub, sizeof stub, "%s/nvml/libnvidia-ml.so.1", self);
	}
	char real[PATH_MAX];
	if (!realpath(stub, real))
		return -1;
	snprintf(stub, sizeof stub, "%s", real);
	return 0;
}

/* Query the stub with these knob lines ("" none: the default healthy GPU). */
static int query_with(const char *knobs, const char *lib, long timeout_ms, struct fl_nvml *n)
{
	char *path = path_of("knobs");
	FILE *fp = fopen(path, "w");
	if (!fp || fputs(knobs, fp) < 0 || fclose(fp) != 0)
		abort();
	setenv("FLKIT_NVML_STUB", path, 1);
	free(path);
	struct fl_gpu_env env = {.nvml = lib ? lib : stub, .timeout_ms = timeout_ms};
	return fl_nvml_query(&env, n);
}

static int query(const char *knobs, struct fl_nvml *n)
{
	return query_with(knobs, NULL, 0, n);
}

static void test_default(void)
{
	struct fl_nvml n;
	unsetenv("FLKIT_NVML_STUB");
	struct fl_gpu_env env = {.nvml = stub};
	CHECK_INT(fl_nvml_query(&env, &n), 0, "default: no knob file is one healthy GPU");
	CHECK_STR(n.error, "", "default: no error");
	CHECK_STR(n.lib_path, stub, "default: lib_path is the file loaded");
	CHECK_STR(n.lib_version, "", "default: a .so.1 name carries no version");
	CHECK_STR(n.driver_version, "550.54.15", "default: driver version");
	CHECK(n.cuda_major == 12 && n.cuda_minor == 4, "default: CUDA 12040 is 12.4 (%d.%d)", n.cuda_major,
	      n.cuda_minor);
	CHECK_INT(n.count, 1, "default: one GPU");
	CHECK_INT(n.ndev, 1, "default: one GPU asked about");
	const struct fl_nvml_dev *d = &n.dev[0];
	CHECK_INT(d->status, 0, "default: the GPU answers");
	CHECK_STR(d->name, "NVIDIA H100 80GB HBM3", "default: name");
	CHECK(strncmp(d->uuid, "GPU-", 4) == 0 && strlen(d->uuid) == 40, "default: a GPU- UUID (%s)",
	      d->uuid);
	CHECK_STR(d->bdf, "0000:e1:00.0", "default: NVML's 00000000:E1:00.0 as sysfs writes it");
	CHECK_INT(d->memory_mb, 81559, "default: memory in MiB");
	CHECK(d->cc_major == 9 && d->cc_minor == 0, "default: compute capability 9.0");
	CHECK(d->mig_current == 0 && d->mig_pending == 0 && d->mig_instances == 0, "default: MIG off");
	CHECK_INT(d->ecc_current, 1, "default: ECC on");
	CHECK_INT(d->ecc_uncorrected, 0, "default: no uncorrected ECC errors");
	CHECK(d->remap_pending == 0 && d->remap_failure == 0, "default: no row remap");
	CHECK_INT(n.dev[1].status, 0, "default: nothing past ndev");
}

static void test_two(void)
{
	struct fl_nvml n;
	CHECK_INT(query("count=2\ngpu1.name=NVIDIA A100-SXM4-40GB\ngpu1.memory_mb=40960\ngpu1.cc=8.0\n"
	                "gpu1.pci=00000000:3B:00.0\ndriver=535.161.08\ncuda=12020\n",
	                &n),
	          0, "two: ok");
	CHECK(n.count == 2 && n.ndev == 2, "two: count 2 (%u)", n.count);
	CHECK_STR(n.driver_version, "535.161.08", "two: driver from the knob");
	CHECK(n.cuda_major == 12 && n.cuda_minor == 2, "two: CUDA 12.2");
	CHECK_STR(n.dev[0].name, "NVIDIA H100 80GB HBM3", "two: gpu0 default name");
	CHECK_STR(n.dev[1].name, "NVIDIA A100-SXM4-40GB", "two: gpu1 name");
	CHECK_INT(n.dev[1].memory_mb, 40960, "two: gpu1 memory");
	CHECK(n.dev[1].cc_major == 8 && n.dev[1].cc_minor == 0, "two: gpu1 cc 8.0");
	CHECK_STR(n.dev[1].bdf, "0000:3b:00.0", "two: gpu1 bdf");
	CHECK(strcmp(n.dev[0].uuid, n.dev[1].uuid) != 0, "two: distinct UUIDs");
}

static void test_init_codes(void)
{
	static const struct {
		int code;
		const char *name, *error;
	} t[] = {
	    {18, "NVML_ERROR_LIB_RM_VERSION_MISMATCH", "Driver/library version mismatch"},
	    {9, "NVML_ERROR_DRIVER_NOT_LOADED", "Driver Not Loaded"},
	    {4, "NVML_ERROR_NO_PERMISSION", "Insufficient Permissions"},
	    {17, "NVML_ERROR_OPERATING_SYSTEM", "The operating system has blocked the request."},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct fl_nvml n;
		char knobs[32];
		snprintf(knobs, sizeof knobs, "init=%d\n", t[i].code);
		CHECK_INT(query(knobs, &n), t[i].code, "init %d: the status is the code", t[i].code);
		CHECK_STR(fl_nvml_code_name(n.status), t[i].name, "init %d: its name", t[i].code);
		CHECK_STR(n.error, t[i].error, "init %d: nvmlErrorString's text", t[i].code);
		CHECK(n.count == 0 && n.ndev == 0 && n.driver_version[0] == '\0',
		      "init %d: nothing else asked", t[i].code);
		CHECK_STR(n.lib_path, stub, "init %d: the library was loaded", t[i].code);
	}
}

static void test_lost(void)
{
	struct fl_nvml n;
	CHECK_INT(query("count=2\ngpu1.lost=1\n", &n), 0, "lost: the query itself succeeds");
	CHECK_INT(n.ndev, 2, "lost: both GPUs listed");
	CHECK_INT(n.dev[0].status, 0, "lost: gpu0 healthy");
	CHECK_STR(n.dev[0].name, "NVIDIA H100 80GB HBM3", "lost: gpu0 named");
	CHECK_INT(n.dev[1].status, FL_NVML_ERROR_GPU_IS_LOST, "lost: gpu1 GPU_IS_LOST");
	CHECK(n.dev[1].name[0] == '\0' && n.dev[1].memory_mb == -1 && n.dev[1].mig_current == -1,
	      "lost: gpu1 has no facts");

	CHECK_INT(query("gpu0.permission=0\n", &n), 0, "permission: the query succeeds");
	CHECK_INT(n.dev[0].status, FL_NVML_ERROR_NO_PERMISSION, "permission: gpu0 NO_PERMISSION");
}

static void test_mig(void)
{
	struct fl_nvml n;
	CHECK_INT(query("gpu0.mig=1\n", &n), 0, "mig on, 0 instances: ok");
	CHECK(n.dev[0].mig_current == 1 && n.dev[0].mig_instances == 0, "mig on, 0 instances (%d, %d)",
	      n.dev[0].mig_current, n.dev[0].mig_instances);
	CHECK_INT(n.dev[0].status, 0, "mig: empty slots are not an error");
	CHECK_INT(query("gpu0.mig=1\ngpu0.mig_instances=2\n", &n), 0, "mig on, 2 instances: ok");
	CHECK(n.dev[0].mig_current == 1 && n.dev[0].mig_instances == 2, "mig on, 2 instances (%d)",
	      n.dev[0].mig_instances);
	CHECK_INT(query("gpu0.mig_pending=1\n", &n), 0, "mig pending: ok");
	CHECK(n.dev[0].mig_current == 0 && n.dev[0].mig_pending == 1, "mig pending: off now, on next");
	CHECK_INT(query("gpu0.mig=unsupported\n", &n), 0, "mig unsupported: ok");
	CHECK(n.dev[0].mig_current == -1 && n.dev[0].mig_pending == -1 && n.dev[0].mig_instances == -1,
	      "mig unsupported: -1");
	CHECK_INT(n.dev[0].status, 0, "mig unsupported: not an error");
}

static void test_health(void)
{
	struct fl_nvml n;
	CHECK_INT(query("gpu0.ecc_uncorrected=3\n", &n), 0, "ecc errors: ok");
	CHECK_INT(n.dev[0].ecc_uncorrected, 3, "ecc errors: 3 uncorrected");
	CHECK_INT(query("gpu0.ecc=unsupported\n", &n), 0, "ecc unsupported: ok");
	CHECK(n.dev[0].ecc_current == -1 && n.dev[0].ecc_uncorrected == -1, "ecc unsupported: -1");
	CHECK_INT(query("gpu0.ecc=0\n", &n), 0, "ecc off: ok");
	CHECK(n.dev[0].ecc_current == 0 && n.dev[0].ecc_uncorrected == -1, "ecc off: 0, no count");
	CHECK_INT(query("gpu0.remap_failure=1\n", &n), 0, "remap failure: ok");
	CHECK(n.dev[0].remap_failure == 1 && n.dev[0].remap_pending == 0, "remap failure: 1");
	CHECK_INT(query("gpu0.remap_pending=1\n", &n), 0, "remap pending: ok");
	CHECK(n.dev[0].remap_pending == 1 && n.dev[0].remap_failure == 0, "remap pending: 1");
}

static void test_optional_missing(void)
{
	struct fl_nvml n;
	CHECK_INT(query("missing=nvmlDeviceGetRemappedRows,nvmlSystemGetCudaDriverVersion_v2,"
	                "nvmlDeviceGetMigMode\n",
	                &n),
	          0, "optional missing: ok");
	CHECK(n.dev[0].remap_pending == -1 && n.dev[0].remap_failure == -1, "optional missing: remap -1");
	CHECK(n.cuda_major == -1 && n.cuda_minor == -1, "optional missing: CUDA -1");
	CHECK(n.dev[0].mig_current == -1 && n.dev[0].mig_instances == -1, "optional missing: MIG -1");
	CHECK_STR(n.dev[0].name, "NVIDIA H100 80GB HBM3", "optional missing: the rest answered");
	CHECK_INT(query("missing=nvmlDeviceGetCount_v2\n", &n), FL_NVML_ERROR_FUNCTION_NOT_FOUND,
	          "required answers FUNCTION_NOT_FOUND: the status");
}

static void test_not_nvml(void)
{
	struct fl_nvml n;
	CHECK_INT(query_with("", "libm.so.6", 0, &n), FL_NVML_SYMBOL_MISSING, "libm: SYMBOL_MISSING");
	CHECK(strstr(n.error, "nvmlInit_v2") != NULL, "libm: the error names nvmlInit_v2 (%s)", n.error);
	CHECK(strstr(n.lib_path, "libm") != NULL, "libm: lib_path resolved (%s)", n.lib_path);
	CHECK_STR(n.lib_version, "", "libm: no NVML version");
	CHECK_STR(fl_nvml_code_name(n.status), "FL_NVML_SYMBOL_MISSING", "libm: code name");

	char *gone = path_of("no/such/libnvidia-ml.so.1");
	CHECK_INT(query_with("", gone, 0, &n), FL_NVML_LOAD_FAILED, "no file: LOAD_FAILED");
	CHECK(strstr(n.error, "no/such/libnvidia-ml.so.1") != NULL, "no file: dlerror names it (%s)",
	      n.error);
	CHECK_STR(n.lib_path, "", "no file: no lib_path");
	free(gone);
}

static void test_hang_crash(void)
{
	struct fl_nvml n;
	CHECK_INT(query_with("init=hang\n", NULL, 1000, &n), FL_NVML_TIMEOUT, "hang: TIMEOUT");
	CHECK_STR(n.error, "NVML did not answer within 1 s", "hang: the message");
	CHECK(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD, "hang: the child was killed and reaped");
	CHECK_INT(query("init=exit\n", &n), FL_NVML_CRASHED, "exit without an answer: CRASHED");
	CHECK(strstr(n.error, "without an answer (0 of ") != NULL, "exit without an answer: says so (%s)",
	      n.error);
	CHECK_INT(query("init=crash\n", &n), FL_NVML_CRASHED, "crash: CRASHED");
	char want[64];
	snprintf(want, sizeof want, "NVML crashed (signal %d)", SIGABRT);
	CHECK_STR(n.error, want, "crash: the message names the signal");
	CHECK_STR(fl_nvml_code_name(FL_NVML_TIMEOUT), "FL_NVML_TIMEOUT", "code name: timeout");
	CHECK_STR(fl_nvml_code_name(FL_NVML_CRASHED), "FL_NVML_CRASHED", "code name: crashed");
	CHECK_STR(fl_nvml_code_name(42), "NVML error 42", "code name: an unknown code");
}

static void test_bad_knobs(void)
{
	static const char *bad[] = {"gpu0.mig=2\n",   "nonsense\n",     "count=99\n",
	                            "gpu99.name=x\n", "gpu0.cc=nine\n", "colour=blue\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct fl_nvml n;
		CHECK_INT(query(bad[i], &n), FL_NVML_ERROR_UNKNOWN, "bad knob file %zu: init UNKNOWN", i);
	}
}

static void test_lib_version(void)
{
	char *dir = path_of("drv");
	char *real = path_of("drv/libnvidia-ml.so.550.90.07");
	char *link = path_of("drv/libnvidia-ml.so.1");
	if (mkdir(dir, 0700) != 0 || symlink("libnvidia-ml.so.550.90.07", link) != 0)
		abort();
	/* A copy, not a link to the build's stub: realpath must land on the versioned name. */
	FILE *in = fopen(stub, "rb"), *out = fopen(real, "wb");
	char buf[8192];
	size_t k;
	while (in && out && (k = fread(buf, 1, sizeof buf, in)) > 0)
		fwrite(buf, 1, k, out);
	if (!in || !out || fclose(out) != 0)
		abort();
	fclose(in);
	struct fl_nvml n;
	CHECK_INT(query_with("", link, 0, &n), 0, "lib version: ok through the .so.1 link");
	char want[PATH_MAX];
	CHECK(realpath(real, want) != NULL, "lib version: the copy resolves");
	CHECK_STR(n.lib_path, want, "lib version: lib_path is the versioned file");
	CHECK_STR(n.lib_version, "550.90.07", "lib version: from the file name");
	rm_all(dir);
	free(dir);
	free(real);
	free(link);
}

int main(void)
{
	if (stub_find() != 0 || unit_fs_init("test_nvml") != 0) {
		printf("Bail out! the stub build/test/nvml/libnvidia-ml.so.1 is not built (make all)\n");
		return 1;
	}
	test_default();
	test_two();
	test_init_codes();
	test_lost();
	test_mig();
	test_health();
	test_optional_missing();
	test_not_nvml();
	test_hang_crash();
	test_bad_knobs();
	test_lib_version();
	rm_all(unit_root);
	return unit_done();
}
