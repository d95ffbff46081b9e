/* fl_gpu: where fl-gpucheck looks and what the machine's PCI bus, kernel module and device
 * nodes say about NVIDIA GPUs (sysfs and /proc, read as data under a root that tests move to a
 * fixture tree). NVML is fl_nvml.h, Docker's side fl_gpu_container.h, the verdict
 * fl_gpu_detect.h. Facts: design 04 §1 §8.1, 08 §3. */
#ifndef FL_GPU_H
#define FL_GPU_H

#include <stdbool.h>
#include <stddef.h>

#define FL_GPU_VENDOR_NVIDIA 0x10de
#define FL_GPU_PCI_MAX       32          /* NVIDIA PCI functions looked at (GPUs and their audio) */
#define FL_GPU_MAX           16          /* GPUs NVML is asked about */
#define FL_GPU_FILE_MAX      (64 * 1024) /* a sysfs/proc file read whole: bigger is refused */

/* Where to look and what to run. Every path is under root (NULL or "": "/"), so a test points
 * root at a fixture tree; the executables are absolute paths (NULL: the default). */
struct fl_gpu_env {
	const char *root;        /* prefix of /sys, /proc, /dev, /etc, /run, /var/run, /var/lib/one */
	const char *nvml;        /* what dlopen loads; NULL: "libnvidia-ml.so.1" by the loader's search */
	const char *nvidia_smi;  /* NULL: nvidia-smi from PATH; "": no cross-check */
	const char *docker;      /* NULL: /usr/bin/docker */
	const char *daemon_json; /* NULL: ROOT/etc/docker/daemon.json */
	const char *image;       /* the container smoke test's image; NULL: FL_GPU_SMOKE_IMAGE */
	long timeout_ms;         /* each child (nvidia-smi, docker run); 0: 60000 */
};

/* One NVIDIA PCI function (sysfs /sys/bus/pci/devices/<bdf>). */
struct fl_gpu_pci {
	char bdf[16];            /* 0000:e1:00.0 */
	unsigned vendor, device; /* 0x10de, 0x2330 */
	unsigned class_code;     /* 24-bit: 0x030200 3D controller, 0x030000 VGA, 0x0403xx audio */
	char driver[32];         /* basename of the driver link; "" none bound */
	int iommu_group;         /* -1 none */
	int numa_node;           /* -1 unknown */
};

/* What sysfs and /proc say. */
struct fl_gpu_sys {
	struct fl_gpu_pci pci[FL_GPU_PCI_MAX]; /* NVIDIA functions, in bus order */
	size_t npci;
	size_t ngpu;             /* of them display class (0x03xxxx) */
	bool truncated;          /* more than FL_GPU_PCI_MAX functions */
	bool module_nvidia;      /* a line starting "nvidia " in /proc/modules */
	bool module_vfio_pci;    /* vfio_pci */
	bool module_nouveau;     /* nouveau */
	char module_version[32]; /* /proc/driver/nvidia/version "Kernel Module  550.54.15"; "" */
	int dev_gpus;            /* /dev/nvidia[0-9]+ nodes */
	bool dev_ctl;            /* /dev/nvidiactl exists */
	int dev_errno;           /* open(/dev/nvidiactl, O_RDWR) failed with it (EACCES); 0 ok */
	/* host mode */
	bool iommu_cmdline; /* intel_iommu=on, amd_iommu=on or iommu=on in /proc/cmdline */
	int iommu_groups;   /* entries of /sys/kernel/iommu_groups; -1 no directory */
	bool vfio_udev;     /* SUBSYSTEM=="vfio" in a file of /etc/udev/rules.d */
	int pci_filter;     /* 1 OpenNebula's pci.conf names 10de, 0 it does not, -1 no file */
};

/* The absolute path of path under env->root, into out. 0, or -1 when it does not fit. */
int fl_gpu_path(const struct fl_gpu_env *env, const char *path, char *out, size_t n);

/* Read sysfs and /proc under env->root into s (zeroed first). A missing file is a fact (no GPU,
 * no module), never an error. -1 when something could not be read as it should (a FIFO, a file
 * over FL_GPU_FILE_MAX, garbage in an attribute: that PCI function is skipped, more than
 * FL_GPU_PCI_MAX functions), each said in msg ("; " between); s is filled as far as it could
 * be either way. msg may be NULL. */
int fl_gpu_sys_scan(const struct fl_gpu_env *env, struct fl_gpu_sys *s, char *msg, size_t n);

/* The parsers behind it, on bytes (fuzzed; text need not end in NUL). */
/* /proc/modules: sets module_nvidia, module_vfio_pci, module_nouveau. */
void fl_gpu_parse_modules(const char *text, size_t n, struct fl_gpu_sys *s);
/* /proc/driver/nvidia/version: the kernel module's version ("550.54.15") into out; -1 none. */
int fl_gpu_parse_nvrm_version(const char *text, size_t n, char *out, size_t outn);
/* A sysfs hex attribute ("0x10de\n"): 0, or -1 when it is not one hex number below 2^32. */
int fl_gpu_parse_hex(const char *text, size_t n, unsigned *out);
/* /proc/cmdline: true when it turns the IOMMU on. */
bool fl_gpu_parse_cmdline(const char *text, size_t n);

/* The device's name from pciutils' database (ROOT/usr/share/misc/pci.ids, else
 * ROOT/usr/share/hwdata/pci.ids) as lspci shows it: "NVIDIA Corporation GH100 [H100 SXM5 80GB]".
 * 0; or -1 without the file or the entry, out then "NVIDIA device 10de:2330". */
int fl_gpu_pci_name(const struct fl_gpu_env *env, unsigned vendor, unsigned device, char *out, size_t n);

/* Class helpers. */
bool fl_gpu_pci_is_gpu(const struct fl_gpu_pci *p);   /* display class 0x03xxxx */
bool fl_gpu_pci_is_audio(const struct fl_gpu_pci *p); /* 0x0403xx */

#endif
