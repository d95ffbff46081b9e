/* test_gpu_detect: fl_gpu_detect_decide on hand-made facts, one case per verdict and note
 * (message and fix asserted), the order the failure modes are looked for in, the names of
 * the verdicts, and the spec's gpu_detected / gpu_unavailable event line. */
#include "fl_buf.h"
#include "fl_gpu_detect.h"
#include "unit.h"

#include <errno.h>
#include <jansson.h>

static struct fl_gpu_report r;

static void add_pci(const char *bdf, unsigned device, unsigned cls, const char *drv, const char *name)
{
	struct fl_gpu_pci *p = &r.sys.pci[r.sys.npci];
	snprintf(p->bdf, sizeof p->bdf, "%s", bdf);
	p->vendor = FL_GPU_VENDOR_NVIDIA;
	p->device = device;
	p->class_code = cls;
	snprintf(p->driver, sizeof p->driver, "%s", drv);
	p->iommu_group = -1;
	p->numa_node = -1;
	snprintf(r.pci_name[r.sys.npci], sizeof r.pci_name[0], "%s", name);
	r.sys.npci++;
	if ((cls >> 16) == 0x03)
		r.sys.ngpu++;
}

static void add_nvml_dev(const char *bdf, const char *name, long long mb)
{
	struct fl_nvml_dev *d = &r.nvml.dev[r.nvml.ndev++];
	r.nvml.count = r.nvml.ndev;
	snprintf(d->bdf, sizeof d->bdf, "%s", bdf);
	snprintf(d->name, sizeof d->name, "%s", name);
	snprintf(d->uuid, sizeof d->uuid, "GPU-%u", r.nvml.ndev);
	d->memory_mb = mb;
	d->cc_major = 9, d->cc_minor = 0;
	d->mig_current = d->mig_pending = 0;
	d->mig_instances = -1;
	d->ecc_current = 1;
	d->ecc_uncorrected = 0;
	d->remap_pending = d->remap_failure = 0;
}

/* A VM with nothing NVIDIA: NVML never asked. */
static void cpu_only(void)
{
	memset(&r, 0, sizeof r);
	r.smi.status = -1;
	r.nvml.status = FL_NVML_LOAD_FAILED;
	r.nvml.cuda_major = r.nvml.cuda_minor = -1;
}

/* One healthy H100 with its audio function, module 550.54.15 and a matching library. */
static void healthy(void)
{
	cpu_only();
	add_pci("0000:e1:00.0", 0x2330, 0x030200, "nvidia", "H100 SXM5 80GB");
	add_pci("0000:e1:00.1", 0x22a3, 0x040300, "snd_hda_intel", "");
	r.sys.module_nvidia = true;
	snprintf(r.sys.module_version, sizeof r.sys.module_version, "550.54.15");
	r.sys.dev_ctl = true;
	r.sys.dev_gpus = 1;
	r.nvml.status = FL_NVML_SUCCESS;
	snprintf(r.nvml.lib_version, sizeof r.nvml.lib_version, "550.54.15");
	snprintf(r.nvml.driver_version, sizeof r.nvml.driver_version, "550.54.15");
	r.nvml.cuda_major = 12, r.nvml.cuda_minor = 4;
	r.nvml.error[0] = '\0';
	add_nvml_dev("00000000:e1:00.0", "NVIDIA H100 80GB HBM3", 81559);
}

static void decide(void)
{
	fl_gpu_detect_decide(&r);
}

static void check_verdict(enum fl_gpu_verdict want, const char *what)
{
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), fl_gpu_detect_verdict_name(want), "%s: verdict",
	          what);
	CHECK(!r.usable, "%s: not usable", what);
	CHECK(r.present, "%s: a GPU is present", what);
	CHECK(r.count == 0 && r.name[0] == '\0', "%s: no usable GPU facts", what);
}

static void test_usable(void)
{
	healthy();
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "usable", "usable: verdict");
	CHECK(r.usable && r.present, "usable: usable and present");
	CHECK_STR(r.name, "NVIDIA H100 80GB HBM3", "usable: the name is NVML's");
	CHECK_INT(r.memory_mb, 81559, "usable: memory in MiB");
	CHECK_STR(r.driver, "550.54.15", "usable: driver version");
	CHECK_INT(r.count, 1, "usable: one GPU (the audio function does not count)");
	CHECK_INT(r.gpu, 0, "usable: about GPU 0");
	CHECK_STR(r.fix, "", "usable: no fix");
	CHECK_INT(r.nnotes, 0, "usable: no notes");
	CHECK_STR(r.message, "1 GPU(s): NVIDIA H100 80GB HBM3 (81559 MiB), driver 550.54.15",
	          "usable: message");
}

static void test_none(void)
{
	cpu_only();
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "none", "none: verdict");
	CHECK(!r.present && !r.usable, "none: neither present nor usable");
	CHECK_STR(r.message, "no NVIDIA GPU on the PCI bus", "none: message");
	CHECK_STR(r.fix, "", "none: no fix (not a failure)");
	CHECK_INT(r.gpu, -1, "none: about no GPU");

	/* The audio function alone is no GPU. */
	cpu_only();
	add_pci("0000:e1:00.1", 0x22a3, 0x040300, "snd_hda_intel", "");
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "none", "none: an audio function alone is no GPU");

	/* The module loaded, NVML answering with zero GPUs, no PCI: none. */
	cpu_only();
	r.sys.module_nvidia = true;
	r.nvml.status = FL_NVML_SUCCESS;
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "none",
	          "none: module loaded, NVML counts 0, no PCI");
}

static void test_nvml_without_pci(void)
{
	/* A container without /sys/bus/pci: NVML is the witness. */
	healthy();
	r.sys.npci = r.sys.ngpu = 0;
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "usable", "no PCI, NVML sees the GPU: usable");

	healthy();
	r.sys.npci = r.sys.ngpu = 0;
	r.nvml.status = FL_NVML_ERROR_LIB_RM_VERSION_MISMATCH;
	r.nvml.ndev = r.nvml.count = 0;
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "mismatch",
	          "no PCI, module loaded, NVML 18: mismatch");
	CHECK(r.present, "no PCI, NVML 18: a GPU is present");
}

static void test_vfio(void)
{
	healthy();
	r.sys.pci[0].driver[0] = '\0';
	snprintf(r.sys.pci[0].driver, sizeof r.sys.pci[0].driver, "vfio-pci");
	r.sys.module_nvidia = false;
	r.sys.module_version[0] = '\0';
	r.nvml.status = FL_NVML_LOAD_FAILED;
	r.nvml.ndev = r.nvml.count = 0;
	decide();
	check_verdict(FL_GPU_VFIO, "vfio");
	CHECK_STR(
	    r.message,
	    "0000:e1:00.0 (H100 SXM5 80GB) is bound to vfio-pci: that is the KVM host's setting; in this VM "
	    "the nvidia driver must own it",
	    "vfio: message");
	CHECK_STR(r.fix,
	          "driverctl unset-override 0000:e1:00.0 (or remove the vfio-pci ids= option), install the "
	          "NVIDIA driver and reboot",
	          "vfio: fix");

	/* Found from sysfs even when NVML fails for another reason. */
	r.nvml.status = FL_NVML_ERROR_LIB_RM_VERSION_MISMATCH;
	r.sys.module_nvidia = true;
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "vfio", "vfio: comes before NVML's verdicts");

	/* Without a name from pci.ids the ids are shown. */
	r.pci_name[0][0] = '\0';
	decide();
	CHECK(strncmp(r.message, "0000:e1:00.0 (NVIDIA device 10de:2330) is bound", 39) == 0,
	      "vfio: without pci.ids the message shows vendor:device");
}

static void test_nouveau(void)
{
	healthy();
	snprintf(r.sys.pci[0].driver, sizeof r.sys.pci[0].driver, "nouveau");
	r.sys.module_nvidia = false;
	r.sys.module_nouveau = true;
	r.sys.module_version[0] = '\0';
	r.nvml.status = FL_NVML_LOAD_FAILED;
	r.nvml.ndev = r.nvml.count = 0;
	decide();
	check_verdict(FL_GPU_NOUVEAU, "nouveau");
	CHECK_STR(
	    r.message,
	    "0000:e1:00.0 (H100 SXM5 80GB) is bound to nouveau (the open-source driver): CUDA needs the "
	    "nvidia driver",
	    "nouveau: message");
	CHECK_STR(r.fix,
	          "blacklist nouveau (echo 'blacklist nouveau' > /etc/modprobe.d/blacklist-nouveau.conf; "
	          "update-initramfs -u), install the NVIDIA driver, reboot",
	          "nouveau: fix");
}

static void test_module_missing(void)
{
	healthy();
	r.sys.pci[0].driver[0] = '\0';
	r.sys.module_nvidia = false;
	r.sys.module_version[0] = '\0';
	r.sys.dev_ctl = false;
	r.sys.dev_gpus = 0;
	r.nvml.status = FL_NVML_LOAD_FAILED;
	r.nvml.ndev = r.nvml.count = 0;
	decide();
	check_verdict(FL_GPU_MODULE_MISSING, "module missing");
	CHECK_STR(r.message, "the nvidia kernel module is not loaded: 0000:e1:00.0 (H100 SXM5 80GB)",
	          "module missing: message");
	CHECK_STR(
	    r.fix,
	    "install the driver (apt install nvidia-driver) and reboot, or modprobe nvidia; dmesg | grep "
	    "-i nvrm shows why it did not load",
	    "module missing: fix");

	/* NVML's library absent too: still the module, not NVML_MISSING. */
	snprintf(r.nvml.error, sizeof r.nvml.error, "libnvidia-ml.so.1: cannot open shared object file");
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "module_missing",
	          "module missing: never called nvml_missing");
	/* NVML saying "driver not loaded" is the same fact. */
	r.nvml.status = FL_NVML_ERROR_DRIVER_NOT_LOADED;
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "module_missing", "module missing: NVML 9 agrees");
}

static void test_no_driver(void)
{
	healthy();
	r.sys.pci[0].driver[0] = '\0';
	r.nvml.status = FL_NVML_SUCCESS;
	r.nvml.ndev = r.nvml.count = 0;
	decide();
	check_verdict(FL_GPU_NO_DRIVER, "no driver");
	CHECK_STR(r.message,
	          "0000:e1:00.0 (H100 SXM5 80GB) is bound to no driver although nvidia 550.54.15 is loaded",
	          "no driver: message");
	CHECK_STR(r.fix, "dmesg | grep -i nvrm (this driver may not support the GPU, or probing failed)",
	          "no driver: fix");

	/* Bound to something else (pci-stub). */
	snprintf(r.sys.pci[0].driver, sizeof r.sys.pci[0].driver, "pci-stub");
	decide();
	check_verdict(FL_GPU_NO_DRIVER, "pci-stub");
	CHECK_STR(r.message, "0000:e1:00.0 (H100 SXM5 80GB) is bound to pci-stub, not to nvidia",
	          "pci-stub: message");
	CHECK(strstr(r.fix, "/sys/bus/pci/drivers/pci-stub/unbind") != NULL, "pci-stub: fix unbinds it");
}

static void test_no_device_nodes(void)
{
	healthy();
	r.sys.dev_ctl = false;
	r.sys.dev_gpus = 0;
	decide();
	check_verdict(FL_GPU_NO_DEVICE_NODES, "no device nodes");
	CHECK_STR(
	    r.message,
	    "the nvidia module is loaded but /dev/nvidiactl is missing on 0000:e1:00.0 (H100 SXM5 80GB) (0 "
	    "/dev/nvidiaN node(s))",
	    "no device nodes: message");
	CHECK_STR(r.fix, "nvidia-modprobe -u -c=0 (or run nvidia-smi once as root); check udev",
	          "no device nodes: fix");

	r.sys.dev_ctl = true;
	decide();
	check_verdict(FL_GPU_NO_DEVICE_NODES, "no /dev/nvidia0");
	CHECK(strstr(r.message, "the /dev/nvidiaN nodes are missing") != NULL, "no /dev/nvidia0: message");
}

static void test_no_permission(void)
{
	const char *fix = "run as root or add the user to the group owning /dev/nvidia*";
	healthy();
	r.sys.dev_errno = EACCES;
	decide();
	check_verdict(FL_GPU_NO_PERMISSION, "EACCES");
	CHECK_STR(r.message,
	          "/dev/nvidiactl cannot be opened by this user: Permission denied on 0000:e1:00.0 (H100 "
	          "SXM5 80GB)",
	          "EACCES: message");
	CHECK_STR(r.fix, fix, "EACCES: fix");

	healthy();
	r.nvml.status = FL_NVML_ERROR_NO_PERMISSION;
	snprintf(r.nvml.error, sizeof r.nvml.error, "Insufficient Permissions");
	r.nvml.ndev = r.nvml.count = 0;
	decide();
	check_verdict(FL_GPU_NO_PERMISSION, "NVML 4");
	CHECK_STR(r.message,
	          "NVML refuses this user: Insufficient Permissions (NVML_ERROR_NO_PERMISSION) on "
	          "0000:e1:00.0 (H100 "
	          "SXM5 80GB)",
	          "NVML 4: message");
	CHECK_STR(r.fix, fix, "NVML 4: fix");

	healthy();
	r.nvml.dev[0].status = FL_NVML_ERROR_NO_PERMISSION;
	decide();
	check_verdict(FL_GPU_NO_PERMISSION, "NVML 4 on a device");
	CHECK_INT(r.gpu, 0, "NVML 4 on a device: about GPU 0");
}

static void test_nvml_missing(void)
{
	healthy();
	r.nvml.status = FL_NVML_LOAD_FAILED;
	snprintf(r.nvml.error, sizeof r.nvml.error, "libnvidia-ml.so.1: cannot open shared object file");
	r.nvml.lib_version[0] = '\0';
	r.nvml.ndev = r.nvml.count = 0;
	decide();
	check_verdict(FL_GPU_NVML_MISSING, "NVML missing");
	CHECK_STR(
	    r.message,
	    "the nvidia kernel module 550.54.15 is loaded but NVML (libnvidia-ml.so.1) cannot be loaded: "
	    "libnvidia-ml.so.1: cannot open shared object file",
	    "NVML missing: message");
	CHECK_STR(
	    r.fix,
	    "install the user-space driver matching the kernel module 550.54.15 (libnvidia-ml.so.1, Debian: "
	    "libnvidia-ml1 / nvidia-smi; Ubuntu: libnvidia-compute-550)",
	    "NVML missing: fix");

	r.nvml.status = FL_NVML_SYMBOL_MISSING;
	decide();
	check_verdict(FL_GPU_NVML_MISSING, "NVML without an entry point");
	CHECK(strstr(r.message, "lacks an entry point") != NULL, "NVML without an entry point: message");
}

static void test_mismatch(void)
{
	const char *fix =
	    "reboot to load the upgraded kernel module (an unattended upgrade replaced the library "
	    "under the running module), or reinstall driver 550.54.15 user-space packages";
	healthy();
	r.nvml.status = FL_NVML_ERROR_LIB_RM_VERSION_MISMATCH;
	snprintf(r.nvml.lib_version, sizeof r.nvml.lib_version, "550.90.07");
	r.nvml.ndev = r.nvml.count = 0;
	decide();
	check_verdict(FL_GPU_MISMATCH, "mismatch (NVML 18)");
	CHECK_STR(
	    r.message,
	    "Failed to initialize NVML: Driver/library version mismatch on 0000:e1:00.0 (H100 SXM5 80GB): "
	    "NVIDIA driver/library version mismatch: kernel module 550.54.15, libnvidia-ml 550.90.07",
	    "mismatch: message");
	CHECK_STR(r.fix, fix, "mismatch: fix");

	/* The versions alone tell, even when NVML initialised. */
	healthy();
	snprintf(r.nvml.lib_version, sizeof r.nvml.lib_version, "550.90.07");
	decide();
	check_verdict(FL_GPU_MISMATCH, "mismatch (versions)");
	CHECK_STR(r.fix, fix, "mismatch (versions): fix");

	/* One version unknown: no mismatch from versions. */
	healthy();
	r.nvml.lib_version[0] = '\0';
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "usable", "library version unknown: no mismatch");
}

static void test_lost(void)
{
	const char *fix = "reboot the VM; if it recurs, check the host (dmesg Xid 79, PCIe, power, cooling)";
	healthy();
	add_pci("0000:e2:00.0", 0x2330, 0x030200, "nvidia", "H100 SXM5 80GB");
	add_nvml_dev("00000000:e2:00.0", "NVIDIA H100 80GB HBM3", 81559);
	r.sys.dev_gpus = 2;
	r.nvml.dev[1].status = FL_NVML_ERROR_GPU_IS_LOST;
	decide();
	check_verdict(FL_GPU_LOST, "lost (device)");
	CHECK_STR(r.message, "GPU 1 (00000000:e2:00.0) has fallen off the bus (NVML: GPU is lost)",
	          "lost: message names the broken GPU");
	CHECK_STR(r.fix, fix, "lost: fix");
	CHECK_INT(r.gpu, 1, "lost: about GPU 1, not the healthy GPU 0");

	healthy();
	r.nvml.status = FL_NVML_ERROR_GPU_IS_LOST;
	r.nvml.ndev = r.nvml.count = 0;
	decide();
	check_verdict(FL_GPU_LOST, "lost (init)");
	CHECK_STR(r.message,
	          "a GPU on 0000:e1:00.0 (H100 SXM5 80GB) has fallen off the bus (NVML: GPU is lost)",
	          "lost (init): message");
}

static void test_mig(void)
{
	healthy();
	r.nvml.dev[0].mig_current = r.nvml.dev[0].mig_pending = 1;
	r.nvml.dev[0].mig_instances = 0;
	decide();
	check_verdict(FL_GPU_MIG_NO_INSTANCES, "MIG without instances");
	CHECK_STR(
	    r.message,
	    "GPU 0 (00000000:e1:00.0, NVIDIA H100 80GB HBM3) has MIG enabled and no GPU instance: no CUDA "
	    "work can run on it",
	    "MIG: message");
	CHECK_STR(
	    r.fix,
	    "create instances (nvidia-smi mig -cgi <profile> -C) or disable MIG (nvidia-smi -i 0 -mig 0, "
	    "then reset the GPU)",
	    "MIG: fix");

	r.nvml.dev[0].mig_instances = 2;
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "usable", "MIG with instances: usable");
}

static void test_ecc(void)
{
	const char *fix =
	    "drain the node, reset the GPU (nvidia-smi -r -i 0) or reboot; a row-remap failure means "
	    "the GPU needs service (RMA)";
	healthy();
	r.nvml.dev[0].ecc_uncorrected = 3;
	decide();
	check_verdict(FL_GPU_ECC, "ECC uncorrected");
	CHECK_STR(
	    r.message,
	    "GPU 0 (00000000:e1:00.0, NVIDIA H100 80GB HBM3): 3 uncorrectable ECC error(s) since the driver "
	    "loaded",
	    "ECC: message");
	CHECK_STR(r.fix, fix, "ECC: fix");

	healthy();
	r.nvml.dev[0].remap_failure = 1;
	decide();
	check_verdict(FL_GPU_ECC, "remap failure");
	CHECK(strstr(r.message, "row remapping failed") != NULL, "remap failure: message");
	CHECK_STR(r.fix, fix, "remap failure: fix");

	/* A pending remap is a note. */
	healthy();
	r.nvml.dev[0].remap_pending = 1;
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "usable", "remap pending: still usable");
	CHECK_INT(r.nnotes, 1, "remap pending: one note");
	CHECK_STR(r.notes[0],
	          "GPU 0 (00000000:e1:00.0, NVIDIA H100 80GB HBM3): a row remap is pending (reset the GPU or "
	          "reboot when it is idle)",
	          "remap pending: note");

	/* Unknown (-1) counts are no errors. */
	healthy();
	r.nvml.dev[0].ecc_uncorrected = -1;
	r.nvml.dev[0].remap_failure = -1;
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "usable", "ECC not supported: usable");
}

static void test_nvml_error(void)
{
	healthy();
	r.nvml.status = FL_NVML_ERROR_OPERATING_SYSTEM;
	snprintf(r.nvml.error, sizeof r.nvml.error, "The operating system has blocked the request.");
	r.nvml.ndev = r.nvml.count = 0;
	decide();
	check_verdict(FL_GPU_NVML_ERROR, "NVML 17");
	CHECK(strstr(r.message, "The operating system has blocked the request.") != NULL,
	      "NVML 17: nvmlErrorString in the message");
	CHECK(strstr(r.message, "blocked by the OS: cgroups/device access") != NULL,
	      "NVML 17: the cause named");
	CHECK(strstr(r.fix, "cgroup") != NULL, "NVML 17: fix names cgroups");

	r.nvml.status = -3;
	snprintf(r.nvml.error, sizeof r.nvml.error, "NVML did not answer within 10 s");
	decide();
	check_verdict(FL_GPU_NVML_ERROR, "NVML timeout");
	CHECK(strstr(r.message, "did not answer in time") != NULL, "NVML timeout: message");

	r.nvml.status = -4;
	decide();
	check_verdict(FL_GPU_NVML_ERROR, "NVML crashed");
	CHECK(strstr(r.message, "crashed") != NULL, "NVML crashed: message");

	healthy();
	r.nvml.dev[0].status = FL_NVML_ERROR_RESET_REQUIRED;
	decide();
	check_verdict(FL_GPU_NVML_ERROR, "NVML 16 on a device");
	CHECK(r.fix[0] != '\0', "NVML 16: a fix");

	healthy();
	r.nvml.ndev = r.nvml.count = 0;
	decide();
	check_verdict(FL_GPU_NVML_ERROR, "NVML sees none of PCI's GPUs");
	CHECK_STR(r.message, "NVML sees no GPU although 1 GPU(s) on the PCI bus are bound to nvidia",
	          "NVML sees none: message");
}

static void test_order(void)
{
	/* vfio on one GPU, the module missing: vfio first (enum order). */
	healthy();
	add_pci("0000:e2:00.0", 0x2330, 0x030200, "vfio-pci", "H100 SXM5 80GB");
	r.sys.pci[0].driver[0] = '\0';
	r.sys.module_nvidia = false;
	r.sys.module_version[0] = '\0';
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "vfio", "order: vfio before module missing");
	CHECK(strncmp(r.message, "0000:e2:00.0", 12) == 0, "order: the message is about the vfio GPU");

	/* No device nodes and NVML mismatch: nodes first. */
	healthy();
	r.sys.dev_ctl = false;
	r.nvml.status = FL_NVML_ERROR_LIB_RM_VERSION_MISMATCH;
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "no_device_nodes",
	          "order: device nodes before NVML");

	/* Two GPUs, one healthy, one ECC-broken: broken. */
	healthy();
	add_pci("0000:e2:00.0", 0x2330, 0x030200, "nvidia", "H100 SXM5 80GB");
	add_nvml_dev("00000000:e2:00.0", "NVIDIA H100 80GB HBM3", 81559);
	r.sys.dev_gpus = 2;
	r.nvml.dev[1].ecc_uncorrected = 1;
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "ecc",
	          "two GPUs, one broken: the verdict is the broken one");
	CHECK_INT(r.gpu, 1, "two GPUs, one broken: about GPU 1");
	CHECK(strstr(r.fix, "nvidia-smi -r -i 1") != NULL, "two GPUs, one broken: the fix names GPU 1");
}

static void test_two_gpus(void)
{
	healthy();
	add_pci("0000:e2:00.0", 0x2330, 0x030200, "nvidia", "H100 SXM5 80GB");
	add_nvml_dev("00000000:e2:00.0", "NVIDIA H100 80GB HBM3", 81559);
	r.sys.dev_gpus = 2;
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "usable", "two GPUs: usable");
	CHECK_INT(r.count, 2, "two GPUs: count 2");
	CHECK_INT(r.nnotes, 0, "two GPUs: no notes");
}

static void test_notes(void)
{
	/* NVML sees fewer GPUs than PCI has bound to nvidia. */
	healthy();
	add_pci("0000:e2:00.0", 0x2330, 0x030200, "nvidia", "H100 SXM5 80GB");
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "usable", "fewer in NVML: still usable");
	CHECK_INT(r.nnotes, 1, "fewer in NVML: one note");
	CHECK_STR(r.notes[0], "NVML sees 1 GPU(s) but 2 on the PCI bus are bound to nvidia",
	          "fewer in NVML: note");

	/* nvidia-smi disagreeing. */
	healthy();
	r.smi.status = 0;
	r.smi.count = 1;
	snprintf(r.smi.name, sizeof r.smi.name, "NVIDIA H100 PCIe");
	r.smi.memory_mb = 81559;
	snprintf(r.smi.driver, sizeof r.smi.driver, "550.54.15");
	decide();
	CHECK_STR(fl_gpu_detect_verdict_name(r.verdict), "usable", "nvidia-smi disagrees: still usable");
	CHECK_INT(r.nnotes, 1, "nvidia-smi disagrees on the name: one note");
	CHECK_STR(r.notes[0], "nvidia-smi names GPU 0 'NVIDIA H100 PCIe', NVML 'NVIDIA H100 80GB HBM3'",
	          "nvidia-smi disagrees: note");
	r.smi.memory_mb = 40000;
	snprintf(r.smi.driver, sizeof r.smi.driver, "550.90.07");
	decide();
	CHECK_INT(r.nnotes, 3, "nvidia-smi disagrees on name, memory and driver: three notes");

	/* nvidia-smi agreeing: no note. */
	healthy();
	r.smi.status = 0;
	r.smi.count = 1;
	snprintf(r.smi.name, sizeof r.smi.name, "NVIDIA H100 80GB HBM3");
	r.smi.memory_mb = 81559;
	snprintf(r.smi.driver, sizeof r.smi.driver, "550.54.15");
	decide();
	CHECK_INT(r.nnotes, 0, "nvidia-smi agrees: no note");

	/* nvidia-smi failing while NVML works. */
	r.smi.status = 1;
	r.smi.rc = 9;
	snprintf(r.smi.output, sizeof r.smi.output, "NVIDIA-SMI has failed");
	decide();
	CHECK_INT(r.nnotes, 1, "nvidia-smi fails: a note");
	CHECK(strstr(r.notes[0], "exit 9") != NULL, "nvidia-smi fails: the note has its status");

	/* A re-decide starts fresh. */
	healthy();
	decide();
	decide();
	CHECK_INT(r.nnotes, 0, "deciding twice adds no notes");
}

static void test_names(void)
{
	static const char *const want[] = {"usable",
	                                   "none",
	                                   "vfio",
	                                   "nouveau",
	                                   "module_missing",
	                                   "no_driver",
	                                   "no_device_nodes",
	                                   "no_permission",
	                                   "nvml_missing",
	                                   "mismatch",
	                                   "gpu_lost",
	                                   "mig_no_instances",
	                                   "ecc",
	                                   "nvml_error"};
	CHECK_INT(sizeof want / sizeof want[0], FL_GPU_VERDICT_COUNT, "names: one per verdict");
	for (int v = 0; v < FL_GPU_VERDICT_COUNT; v++)
		CHECK_STR(fl_gpu_detect_verdict_name((enum fl_gpu_verdict)v), want[v], "names: verdict %d",
		          v);
	CHECK_STR(fl_gpu_detect_verdict_name(FL_GPU_VERDICT_COUNT), "unknown", "names: out of range");
}

static void test_event(void)
{
	/* 2026-02-09T14:30:05.123Z */
	long long now = 1770647405123LL;
	struct fl_buf b = {0};
	healthy();
	decide();
	fl_gpu_detect_event(&r, now, &b);
	CHECK_STR(
	    fl_buf_str(&b),
	    "{\"timestamp\":\"2026-02-09T14:30:05.123Z\",\"level\":\"INFO\",\"logger\":\"flwr\",\"role\":"
	    "\"supernode\",\"event\":\"gpu_detected\",\"data\":{\"gpu_name\":\"NVIDIA H100 80GB HBM3\","
	    "\"gpu_memory_mb\":81559,\"driver_version\":\"550.54.15\"},\"message\":\"gpu_detected: "
	    "{'gpu_name': 'NVIDIA H100 80GB HBM3', 'gpu_memory_mb': 81559, 'driver_version': "
	    "'550.54.15'}\",\"source\":\"fl-gpucheck:0\"}",
	    "event: gpu_detected line");

	fl_buf_reset(&b);
	cpu_only();
	decide();
	fl_gpu_detect_event(&r, now, &b);
	json_error_t e;
	json_t *o = json_loads(fl_buf_str(&b), 0, &e);
	CHECK(o != NULL, "event: gpu_unavailable is JSON");
	CHECK_STR(json_string_value(json_object_get(o, "event")), "gpu_unavailable",
	          "event: gpu_unavailable");
	CHECK_STR(json_string_value(json_object_get(o, "level")), "WARNING",
	          "event: gpu_unavailable is a WARNING");
	json_t *d = json_object_get(o, "data");
	CHECK_STR(json_string_value(json_object_get(d, "fallback_device")), "cpu",
	          "event: fallback_device cpu");
	CHECK_STR(json_string_value(json_object_get(d, "reason")), "none", "event: reason is the verdict");
	CHECK_STR(json_string_value(json_object_get(o, "message")),
	          "gpu_unavailable: {'fallback_device': 'cpu', 'reason': 'none'}",
	          "event: the message is the dict repr");
	CHECK(strchr(fl_buf_str(&b), '\n') == NULL, "event: one line");
	json_decref(o);

	/* A hostile name stays one line and Python's repr. */
	fl_buf_reset(&b);
	healthy();
	snprintf(r.nvml.dev[0].name, sizeof r.nvml.dev[0].name, "it's a \"GPU\"\n\\");
	decide();
	fl_gpu_detect_event(&r, now, &b);
	o = json_loads(fl_buf_str(&b), 0, &e);
	CHECK(o != NULL && strchr(fl_buf_str(&b), '\n') == NULL, "event: a hostile name keeps one JSON line");
	CHECK_STR(
	    json_string_value(json_object_get(o, "message")),
	    "gpu_detected: {'gpu_name': 'it\\'s a \"GPU\"\\n\\\\', 'gpu_memory_mb': 81559, 'driver_version': "
	    "'550.54.15'}",
	    "event: the name as Python's repr");
	json_decref(o);

	/* A reason no verdict names (fl-launch's no_container_access): the same line, that reason. */
	fl_buf_reset(&b);
	fl_gpu_unavailable_event("no_container_access", now, &b);
	o = json_loads(fl_buf_str(&b), 0, &e);
	CHECK(o != NULL && strchr(fl_buf_str(&b), '\n') == NULL, "event: an own reason is one JSON line");
	CHECK_STR(json_string_value(json_object_get(o, "level")), "WARNING",
	          "event: an own reason is a WARNING");
	CHECK_STR(json_string_value(json_object_get(json_object_get(o, "data"), "reason")),
	          "no_container_access", "event: the own reason in data");
	CHECK_STR(json_string_value(json_object_get(o, "message")),
	          "gpu_unavailable: {'fallback_device': 'cpu', 'reason': 'no_container_access'}",
	          "event: the own reason in the message");
	json_decref(o);
	fl_buf_free(&b);
}

int main(void)
{
	test_usable();
	test_none();
	test_nvml_without_pci();
	test_vfio();
	test_nouveau();
	test_module_missing();
	test_no_driver();
	test_no_device_nodes();
	test_no_permission();
	test_nvml_missing();
	test_mismatch();
	test_lost();
	test_mig();
	test_ecc();
	test_nvml_error();
	test_order();
	test_two_gpus();
	test_notes();
	test_names();
	test_event();
	return unit_done();
}
