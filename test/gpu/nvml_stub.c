/* nvml_stub: a test stand-in for libnvidia-ml.so.1, loaded by fl-gpucheck and fl-launch
 * through the same dlopen as the real one; what it answers comes from the key=value file
 * named by $FLKIT_NVML_STUB (test/gpu/README lists the keys). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* nvml.h's types and codes, written here: the stub must not need NVIDIA's header. */
typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef int nvmlEnableState_t;
typedef int nvmlMemoryErrorType_t;
typedef int nvmlEccCounterType_t;
typedef struct nvmlPciInfo_st {
	char busIdLegacy[16];
	unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
	char busId[32];
} nvmlPciInfo_t;
typedef struct nvmlMemory_st {
	unsigned long long total, free, used;
} nvmlMemory_t;

enum {
	OK = 0,
	UNINITIALIZED = 1,
	INVALID_ARGUMENT = 2,
	NOT_SUPPORTED = 3,
	NO_PERMISSION = 4,
	NOT_FOUND = 6,
	INSUFFICIENT_SIZE = 7,
	FUNCTION_NOT_FOUND = 13,
	GPU_IS_LOST = 15,
	UNKNOWN = 999,
};

#define MAX_GPUS 16
#define MAX_MIG  7
#define UNSUP    -1 /* a feature the GPU does not have: NOT_SUPPORTED */

struct nvmlDevice_st {
	unsigned index;
	int is_mig;
	char name[96], uuid[96], pci[32];
	unsigned long long memory_mb;
	int cc_major, cc_minor;
	int mig, mig_pending, mig_instances; /* UNSUP, 0, 1 */
	int ecc;
	unsigned long long ecc_uncorrected;
	int remap_pending, remap_failure;
	int lost, permission;
};

static struct {
	int initialized;
	char driver[80];
	int cuda;
	unsigned count;
	char missing[512]; /* ",name,name," */
	struct nvmlDevice_st gpu[MAX_GPUS];
	struct nvmlDevice_st mig[MAX_GPUS][MAX_MIG];
} st;

static void defaults(void)
{
	memset(&st, 0, sizeof st);
	snprintf(st.driver, sizeof st.driver, "550.54.15");
	st.cuda = 12040;
	st.count = 1;
	for (unsigned i = 0; i < MAX_GPUS; i++) {
		struct nvmlDevice_st *g = &st.gpu[i];
		g->index = i;
		snprintf(g->name, sizeof g->name, "NVIDIA H100 80GB HBM3");
		snprintf(g->uuid, sizeof g->uuid, "GPU-5a1c7e2b-0f3d-4c8e-9b6a-1d2e3f4a5b%02x", i);
		snprintf(g->pci, sizeof g->pci, "00000000:%02X:00.0", 0xE1 + i);
		g->memory_mb = 81559;
		g->cc_major = 9;
		g->cc_minor = 0;
		g->ecc = 1;
		g->permission = 1;
		for (unsigned k = 0; k < MAX_MIG; k++)
			st.mig[i][k].is_mig = 1;
	}
}

/* A whole decimal number in [lo, hi], or -1 (-1 is never a valid knob value here). */
static long num(const char *v, long lo, long hi)
{
	char *end;
	long x = strtol(v, &end, 10);
	if (!*v || *end || x < lo || x > hi)
		return -1;
	return x;
}

static int flag(const char *v, int unsup_ok)
{
	if (unsup_ok && strcmp(v, "unsupported") == 0)
		return UNSUP;
	long x = num(v, 0, 1);
	return x < 0 ? -2 : (int)x;
}

/* One gpuN.field=value; 0, or -1 when it is not one. */
static int knob_gpu(const char *key, const char *v)
{
	char *end;
	long i = strtol(key + 3, &end, 10);
	if (end == key + 3 || *end != '.' || i < 0 || i >= MAX_GPUS)
		return -1;
	struct nvmlDevice_st *g = &st.gpu[i];
	const char *f = end + 1;
	long x;
	if (!strcmp(f, "name") || !strcmp(f, "uuid") || !strcmp(f, "pci")) {
		char *dst = !strcmp(f, "name") ? g->name : !strcmp(f, "uuid") ? g->uuid : g->pci;
		size_t n = !strcmp(f, "pci") ? sizeof g->pci : sizeof g->name;
		if (strlen(v) >= n)
			return -1;
		snprintf(dst, n, "%s", v);
	} else if (!strcmp(f, "memory_mb")) {
		if ((x = num(v, 0, 1L << 30)) < 0)
			return -1;
		g->memory_mb = (unsigned long long)x;
	} else if (!strcmp(f, "cc")) {
		int a, b, n = 0;
		if (sscanf(v, "%d.%d%n", &a, &b, &n) != 2 || v[n] || a < 0 || b < 0)
			return -1;
		g->cc_major = a;
		g->cc_minor = b;
	} else if (!strcmp(f, "mig") || !strcmp(f, "ecc")) {
		int *p = !strcmp(f, "mig") ? &g->mig : &g->ecc;
		if ((*p = flag(v, 1)) == -2)
			return -1;
	} else if (!strcmp(f, "mig_pending") || !strcmp(f, "remap_pending") || !strcmp(f, "remap_failure") ||
	           !strcmp(f, "lost") || !strcmp(f, "permission")) {
		int *p = !strcmp(f, "mig_pending")     ? &g->mig_pending
		         : !strcmp(f, "remap_pending") ? &g->remap_pending
		         : !strcmp(f, "remap_failure") ? &g->remap_failure
		         : !strcmp(f, "lost")          ? &g->lost
		                                       : &g->permission;
		if ((*p = flag(v, 0)) < 0)
			return -1;
	} else if (!strcmp(f, "mig_instances")) {
		if ((x = num(v, 0, MAX_MIG)) < 0)
			return -1;
		g->mig_instances = (int)x;
	} else if (!strcmp(f, "ecc_uncorrected")) {
		if ((x = num(v, 0, 1L << 40)) < 0)
			return -1;
		g->ecc_uncorrected = (unsigned long long)x;
	} else {
		return -1;
	}
	return 0;
}

/* One key=value; for init, *init gets the code (or -2 hang, -3 crash, -4 exit). */
static int knob(const char *key, const char *v, int *init)
{
	long x;
	if (!strcmp(key, "init")) {
		if (!strcmp(v, "hang"))
			*init = -2;
		else if (!strcmp(v, "crash"))
			*init = -3;
		else if (!strcmp(v, "exit"))
			*init = -4;
		else if ((x = num(v, 0, 999)) < 0)
			return -1;
		else
			*init = (int)x;
	} else if (!strcmp(key, "count")) {
		if ((x = num(v, 0, MAX_GPUS)) < 0)
			return -1;
		st.count = (unsigned)x;
	} else if (!strcmp(key, "driver")) {
		if (strlen(v) >= sizeof st.driver)
			return -1;
		snprintf(st.driver, sizeof st.driver, "%s", v);
	} else if (!strcmp(key, "cuda")) {
		if ((x = num(v, 0, 1000000)) < 0)
			return -1;
		st.cuda = (int)x;
	} else if (!strcmp(key, "missing")) {
		if (strlen(v) + 3 > sizeof st.missing)
			return -1;
		snprintf(st.missing, sizeof st.missing, ",%s,", v);
	} else if (!strncmp(key, "gpu", 3)) {
		return knob_gpu(key, v);
	} else {
		return -1;
	}
	return 0;
}

/* Read the knob file; 0, or -1 after saying on stderr what is wrong with it. */
static int knobs_load(int *init)
{
	defaults();
	*init = OK;
	const char *path = getenv("FLKIT_NVML_STUB");
	if (!path || !*path)
		return 0;
	FILE *fp = fopen(path, "r");
	if (!fp) {
		fprintf(stderr, "nvml_stub: cannot open FLKIT_NVML_STUB=%s\n", path);
		return -1;
	}
	char line[512];
	int lineno = 0, rc = 0;
	while (rc == 0 && fgets(line, sizeof line, fp)) {
		lineno++;
		size_t n = strlen(line);
		if (n && line[n - 1] != '\n' && !feof(fp)) {
			fprintf(stderr, "nvml_stub: %s:%d: line too long\n", path, lineno);
			rc = -1;
			break;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == ' ' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		char *eq = strchr(line, '=');
		if (!eq) {
			fprintf(stderr, "nvml_stub: %s:%d: not key=value: %s\n", path, lineno, line);
			rc = -1;
			break;
		}
		*eq = '\0';
		if (knob(line, eq + 1, init) != 0) {
			fprintf(stderr, "nvml_stub: %s:%d: bad knob %s=%s\n", path, lineno, line, eq + 1);
			rc = -1;
		}
	}
	fclose(fp);
	return rc;
}

/* missing=NAME makes NAME answer FUNCTION_NOT_FOUND (dlsym still finds it: symbol absence is
 * tested with a library that lacks the symbols, libm for instance). */
static int gone(const char *fn)
{
	char needle[80];
	snprintf(needle, sizeof needle, ",%s,", fn);
	return strstr(st.missing, needle) != NULL;
}

#define ENTER()                                                                                              \
	do {                                                                                                 \
		if (gone(__func__))                                                                          \
			return FUNCTION_NOT_FOUND;                                                           \
		if (!st.initialized)                                                                         \
			return UNINITIALIZED;                                                                \
	} while (0)

/* The device behind a handle, or NULL. */
static struct nvmlDevice_st *gpu_of(nvmlDevice_t d)
{
	if (d >= &st.gpu[0] && d < &st.gpu[MAX_GPUS] && d->index < st.count)
		return d;
	return NULL;
}

static nvmlReturn_t gpu_health(const struct nvmlDevice_st *g)
{
	if (g->lost)
		return GPU_IS_LOST;
	if (!g->permission)
		return NO_PERMISSION;
	return OK;
}

static nvmlReturn_t put_str(char *dst, unsigned len, const char *src)
{
	if (!dst)
		return INVALID_ARGUMENT;
	if (strlen(src) + 1 > len)
		return INSUFFICIENT_SIZE;
	memcpy(dst, src, strlen(src) + 1);
	return OK;
}

/* The entry points, with nvml.h's prototypes. */
nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlShutdown(void);
const char *nvmlErrorString(nvmlReturn_t result);
nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length);
nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device);
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length);
nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length);
nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci);
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory);
nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor);
nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode);
nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count);
nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index,
                                                 nvmlDevice_t *migDevice);
nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, nvmlEnableState_t *current,
                                  nvmlEnableState_t *pending);
nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, nvmlMemoryErrorType_t errorType,
                                         nvmlEccCounterType_t counterType, unsigned long long *eccCounts);
nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t device, unsigned int *corrRows, unsigned int *uncRows,
                                       unsigned int *isPending, unsigned int *failureOccurred);

nvmlReturn_t nvmlInit_v2(void)
{
	int init;
	if (knobs_load(&init) != 0)
		return UNKNOWN;
	if (gone(__func__))
		return FUNCTION_NOT_FOUND;
	if (init == -2)
		for (;;)
			pause();
	if (init == -3)
		abort();
	if (init == -4)
		_exit(0);
	if (init != OK)
		return init;
	st.initialized = 1;
	return OK;
}

nvmlReturn_t nvmlShutdown(void)
{
	ENTER();
	st.initialized = 0;
	return OK;
}

/* NVIDIA's strings for the codes tools show. */
const char *nvmlErrorString(nvmlReturn_t result)
{
	switch (result) {
	case 0: return "Success";
	case 1: return "Uninitialized";
	case 2: return "Invalid Argument";
	case 3: return "Not Supported";
	case 4: return "Insufficient Permissions";
	case 6: return "Not Found";
	case 7: return "Insufficient Size";
	case 9: return "Driver Not Loaded";
	case 10: return "Timeout";
	case 12: return "NVML Shared Library Not Found";
	case 13: return "Function Not Found";
	case 14: return "Corrupted infoROM";
	case 15: return "GPU is lost";
	case 16: return "GPU requires restart";
	case 17: return "The operating system has blocked the request.";
	case 18: return "Driver/library version mismatch";
	default: return "Unknown Error";
	}
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length)
{
	ENTER();
	return put_str(version, length, st.driver);
}

nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion)
{
	ENTER();
	if (!cudaDriverVersion)
		return INVALID_ARGUMENT;
	*cudaDriverVersion = st.cuda;
	return OK;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
	ENTER();
	if (!deviceCount)
		return INVALID_ARGUMENT;
	*deviceCount = st.count;
	return OK;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
	ENTER();
	if (!device || index >= st.count)
		return INVALID_ARGUMENT;
	nvmlReturn_t rc = gpu_health(&st.gpu[index]);
	if (rc == OK)
		*device = &st.gpu[index];
	return rc;
}

/* The GPU behind a handle and its health, for the per-device entry points. */
#define DEVICE(g, d)                                                                                         \
	ENTER();                                                                                             \
	struct nvmlDevice_st *g = gpu_of(d);                                                                 \
	if (!g)                                                                                              \
		return INVALID_ARGUMENT;                                                                     \
	if (gpu_health(g) != OK)                                                                             \
	return gpu_health(g)

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
	DEVICE(g, device);
	return put_str(name, length, g->name);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
	DEVICE(g, device);
	return put_str(uuid, length, g->uuid);
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
	DEVICE(g, device);
	if (!pci)
		return INVALID_ARGUMENT;
	memset(pci, 0, sizeof *pci);
	unsigned dom = 0, bus = 0, dev = 0;
	sscanf(g->pci, "%x:%x:%x", &dom, &bus, &dev);
	pci->domain = dom;
	pci->bus = bus;
	pci->device = dev;
	pci->pciDeviceId = 0x233010de;
	snprintf(pci->busId, sizeof pci->busId, "%s", g->pci);
	snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%s", g->pci + (strlen(g->pci) > 15 ? 4 : 0));
	return OK;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
	DEVICE(g, device);
	if (!memory)
		return INVALID_ARGUMENT;
	memory->total = g->memory_mb * 1024 * 1024;
	memory->used = memory->total / 100;
	memory->free = memory->total - memory->used;
	return OK;
}

nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor)
{
	DEVICE(g, device);
	if (!major || !minor)
		return INVALID_ARGUMENT;
	*major = g->cc_major;
	*minor = g->cc_minor;
	return OK;
}

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int *currentMode, unsigned int *pendingMode)
{
	DEVICE(g, device);
	if (!currentMode || !pendingMode)
		return INVALID_ARGUMENT;
	if (g->mig == UNSUP)
		return NOT_SUPPORTED;
	*currentMode = (unsigned)g->mig;
	*pendingMode = (unsigned)(g->mig_pending ? 1 : g->mig);
	return OK;
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count)
{
	DEVICE(g, device);
	if (!count)
		return INVALID_ARGUMENT;
	if (g->mig == UNSUP)
		return NOT_SUPPORTED;
	*count = MAX_MIG;
	return OK;
}

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index,
                                                 nvmlDevice_t *migDevice)
{
	DEVICE(g, device);
	if (!migDevice || index >= MAX_MIG)
		return INVALID_ARGUMENT;
	if (g->mig != 1 || (int)index >= g->mig_instances)
		return NOT_FOUND;
	*migDevice = &st.mig[g->index][index];
	return OK;
}

nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, nvmlEnableState_t *current, nvmlEnableState_t *pending)
{
	DEVICE(g, device);
	if (!current || !pending)
		return INVALID_ARGUMENT;
	if (g->ecc == UNSUP)
		return NOT_SUPPORTED;
	*current = *pending = g->ecc;
	return OK;
}

nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, nvmlMemoryErrorType_t errorType,
                                         nvmlEccCounterType_t counterType, unsigned long long *eccCounts)
{
	DEVICE(g, device);
	if (!eccCounts || errorType < 0 || errorType > 1 || counterType < 0 || counterType > 1)
		return INVALID_ARGUMENT;
	if (g->ecc != 1)
		return NOT_SUPPORTED;
	*eccCounts = errorType == 1 ? g->ecc_uncorrected : 0;
	return OK;
}

nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t device, unsigned int *corrRows, unsigned int *uncRows,
                                       unsigned int *isPending, unsigned int *failureOccurred)
{
	DEVICE(g, device);
	if (!corrRows || !uncRows || !isPending || !failureOccurred)
		return INVALID_ARGUMENT;
	*corrRows = 0;
	*uncRows = g->remap_failure ? 1 : 0;
	*isPending = (unsigned)g->remap_pending;
	*failureOccurred = (unsigned)g->remap_failure;
	return OK;
}
