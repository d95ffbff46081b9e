/* fl_nvml: NVML loaded at run time with dlopen("libnvidia-ml.so.1") (no build-time CUDA or
 * NVML), asked for the driver and each GPU's name, UUID, memory, compute capability, MIG and
 * ECC health. Facts: design 08 §3 (the entry points, error codes). */
#ifndef FL_NVML_H
#define FL_NVML_H

#include "fl_gpu.h"

#include <stdbool.h>

#define FL_NVML_LIB "libnvidia-ml.so.1"

/* nvmlReturn_t values this code tells apart (nvml.h), and two of its own. */
enum {
	FL_NVML_SUCCESS = 0,
	FL_NVML_ERROR_UNINITIALIZED = 1,
	FL_NVML_ERROR_INVALID_ARGUMENT = 2,
	FL_NVML_ERROR_NOT_SUPPORTED = 3,
	FL_NVML_ERROR_NO_PERMISSION = 4,
	FL_NVML_ERROR_NOT_FOUND = 6,
	FL_NVML_ERROR_INSUFFICIENT_SIZE = 7,
	FL_NVML_ERROR_DRIVER_NOT_LOADED = 9,
	FL_NVML_ERROR_TIMEOUT = 10,
	FL_NVML_ERROR_LIBRARY_NOT_FOUND = 12,
	FL_NVML_ERROR_FUNCTION_NOT_FOUND = 13,
	FL_NVML_ERROR_CORRUPTED_INFOROM = 14,
	FL_NVML_ERROR_GPU_IS_LOST = 15,
	FL_NVML_ERROR_RESET_REQUIRED = 16,
	FL_NVML_ERROR_OPERATING_SYSTEM = 17,
	FL_NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
	FL_NVML_ERROR_UNKNOWN = 999,
	FL_NVML_LOAD_FAILED = -1,    /* dlopen failed: the library is not installed */
	FL_NVML_SYMBOL_MISSING = -2, /* a required entry point is absent: not NVML, or far too old */
	FL_NVML_TIMEOUT = -3,        /* the query did not answer within env->timeout_ms: killed */
	FL_NVML_CRASHED = -4,        /* the query's child died (signal) or ended without an answer */
};

/* One GPU as NVML sees it. Numbers NVML does not support stay -1. */
struct fl_nvml_dev {
	/* The first NVML error asking about this GPU, 0 none: its handle or name failed, or a
	 * later question answered GPU_IS_LOST, RESET_REQUIRED or CORRUPTED_INFOROM (health, not
	 * a feature the GPU lacks). */
	int status;
	char name[96], uuid[96];
	char bdf[32];                     /* from nvmlDeviceGetPciInfo, lower case, "" unknown */
	long long memory_mb;              /* total, MiB */
	int cc_major, cc_minor;           /* compute capability */
	int mig_current, mig_pending;     /* 1 enabled, 0 disabled, -1 not supported */
	int mig_instances;                /* MIG devices when MIG is on; 0 MIG off; -1 unknown */
	int ecc_current;                  /* 1 on, 0 off, -1 not supported */
	long long ecc_uncorrected;        /* volatile (since the driver loaded), -1 unknown */
	int remap_pending, remap_failure; /* row remapping, -1 not supported */
};

struct fl_nvml {
	int status;                 /* of dlopen + nvmlInit_v2 (+ the count): FL_NVML_* */
	char error[160];            /* nvmlErrorString(status), or dlerror() */
	char lib_path[256];         /* the file the loader picked, resolved; "" when not loaded */
	char lib_version[32];       /* from its name libnvidia-ml.so.550.54.15; "" unknown */
	char driver_version[80];    /* nvmlSystemGetDriverVersion */
	int cuda_major, cuda_minor; /* nvmlSystemGetCudaDriverVersion_v2; -1 unknown */
	unsigned count;             /* nvmlDeviceGetCount_v2 */
	unsigned ndev;              /* of them in dev (at most FL_GPU_MAX) */
	struct fl_nvml_dev dev[FL_GPU_MAX];
};

/* Load env->nvml (NULL: FL_NVML_LIB), init, ask about every GPU, shut down, unload. Always
 * fills n; returns n->status (0 ok). Never prints. The work runs in a forked child (a wedged
 * GPU can hang nvmlInit for minutes, a broken library can crash): after env->timeout_ms (0:
 * 60000) it is killed (FL_NVML_TIMEOUT); killed by a signal or ending without a whole answer
 * is FL_NVML_CRASHED. The caller must not ignore SIGCHLD. */
int fl_nvml_query(const struct fl_gpu_env *env, struct fl_nvml *n);

/* "NVML_ERROR_LIB_RM_VERSION_MISMATCH" for 18 ... (every code of the enum, the negative ones
 * as "FL_NVML_TIMEOUT" ...); "NVML error N" for others (a per-thread buffer). */
const char *fl_nvml_code_name(int status);

#endif
