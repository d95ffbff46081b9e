/* fl_gpu_detect: the verdict. sysfs, the module, the device nodes, NVML and (when asked) the
 * container side combined into one answer: a usable GPU, none (train on CPU), or a GPU that
 * is there but broken, with the cause named and the fix line. fl-gpucheck prints it and
 * fl-launch decides from it (decision 15). */
#ifndef FL_GPU_DETECT_H
#define FL_GPU_DETECT_H

#include "fl_gpu.h"
#include "fl_gpu_container.h"
#include "fl_nvml.h"

#include <stdbool.h>

/* Each failure mode of issue 13, in the order they are looked for. */
enum fl_gpu_verdict {
	FL_GPU_USABLE,           /* at least one GPU, every one NVML sees is healthy */
	FL_GPU_NONE,             /* no NVIDIA GPU on the PCI bus (and NVML sees none) */
	FL_GPU_VFIO,             /* bound to vfio-pci: right on a KVM host, wrong in the VM */
	FL_GPU_NOUVEAU,          /* bound to nouveau */
	FL_GPU_MODULE_MISSING,   /* the nvidia kernel module is not loaded */
	FL_GPU_NO_DRIVER,        /* module loaded, the GPU bound to no driver */
	FL_GPU_NO_DEVICE_NODES,  /* module loaded, no /dev/nvidiactl or /dev/nvidiaN */
	FL_GPU_NO_PERMISSION,    /* /dev/nvidia* or NVML refuses this user */
	FL_GPU_NVML_MISSING,     /* libnvidia-ml.so.1 cannot be loaded */
	FL_GPU_MISMATCH,         /* kernel module and user-space library versions differ */
	FL_GPU_LOST,             /* NVML: GPU is lost (fell off the bus, Xid 79) */
	FL_GPU_MIG_NO_INSTANCES, /* MIG enabled, no GPU instance to run on */
	FL_GPU_ECC,              /* row remapping failed, or uncorrectable ECC errors */
	FL_GPU_NVML_ERROR,       /* another NVML error (OS, reset required, unknown) */
	FL_GPU_VERDICT_COUNT
};

/* What detection may also look at (fl_gpu_detect's what). */
enum {
	FL_GPU_WITH_CONTAINER = 1u << 0, /* daemon.json and CDI: the docker flags */
	FL_GPU_WITH_SMI = 1u << 1,       /* nvidia-smi as a cross-check, when installed */
};

#define FL_GPU_NOTES_MAX 8

struct fl_gpu_report {
	struct fl_gpu_sys sys;
	struct fl_nvml nvml;
	struct fl_gpu_container ctr; /* FL_GPU_WITH_CONTAINER */
	struct fl_gpu_smi smi;       /* FL_GPU_WITH_SMI; status -1 when not run */
	/* Each sys.pci entry's short name from pci.ids ("H100 SXM5 80GB"); "" unknown. Filled by
	 * fl_gpu_detect (decide reads files never): messages name the device with it. */
	char pci_name[FL_GPU_PCI_MAX][64];
	enum fl_gpu_verdict verdict;
	bool present;      /* an NVIDIA GPU is there (PCI or NVML), working or not */
	bool usable;       /* verdict == FL_GPU_USABLE */
	int gpu;           /* the GPU the verdict is about (index in nvml.dev, else -1) */
	char message[512]; /* one sentence: what is wrong, with the device and the values */
	char fix[512];     /* what to do; "" for USABLE and NONE */
	/* Things worth a WARNING that do not change the verdict (ECC on with corrected errors,
	 * a pending row remap, nvidia-smi disagreeing, NVML seeing fewer GPUs than PCI). */
	char notes[FL_GPU_NOTES_MAX][256];
	unsigned nnotes;
	/* The facts published and printed: the first usable GPU's (usable only). */
	char name[96];
	long long memory_mb;
	char driver[80];
	unsigned count; /* usable GPUs */
};

/* Look (sysfs, /proc, /dev, NVML; plus what `what` asks) and decide. Always fills r; never
 * prints. */
void fl_gpu_detect(const struct fl_gpu_env *env, unsigned what, struct fl_gpu_report *r);

/* The verdict from what was read (r->sys, r->nvml, r->smi filled): sets verdict, present,
 * usable, gpu, message, fix, notes, name, memory_mb, driver, count. Pure: the unit tests
 * drive it with hand-made facts. */
void fl_gpu_detect_decide(struct fl_gpu_report *r);

/* r->pci_name[] from pci.ids for r->sys's functions (fl_gpu_detect does it; host mode, which
 * reads sysfs only, too). */
void fl_gpu_report_names(const struct fl_gpu_env *env, struct fl_gpu_report *r);

/* "0000:e1:00.0 (H100 SXM5 80GB)": PCI function i as messages name it (the pci.ids name, else
 * NVML's, else the PCI ID). */
void fl_gpu_report_pci_label(const struct fl_gpu_report *r, size_t i, char *out, size_t n);

/* "usable", "none", "vfio", "nouveau", "module_missing", "no_driver", "no_device_nodes",
 * "no_permission", "nvml_missing", "mismatch", "gpu_lost", "mig_no_instances", "ecc",
 * "nvml_error": the JSON "verdict" and FL_GPU_REASON. */
const char *fl_gpu_detect_verdict_name(enum fl_gpu_verdict v);

/* The spec's event line (design 04 §3.2), without newline, into b: gpu_detected {gpu_name,
 * gpu_memory_mb, driver_version} when usable, else gpu_unavailable {fallback_device:"cpu",
 * reason} at WARNING; role supernode, logger flwr; now: the timestamp. */
struct fl_buf;
void fl_gpu_detect_event(const struct fl_gpu_report *r, long long now_ms, struct fl_buf *b);
/* The gpu_unavailable line with a reason no verdict names (fl-launch's no_container_access). */
void fl_gpu_unavailable_event(const char *reason, long long now_ms, struct fl_buf *b);

#endif
