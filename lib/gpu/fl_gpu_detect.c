/* fl_gpu_detect: the verdict. What sysfs, the module, the device nodes and NVML say, combined
 * into one answer with the cause named and the fix; the spec's gpu_detected/gpu_unavailable
 * event line. */
#include "fl_gpu_detect.h"

#include "fl_buf.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The pci.ids name is long ("NVIDIA Corporation GH100 [H100 SXM5 80GB]"): messages want what
 * is in the brackets, as nvidia-smi users know it. */
static void short_pci_name(const char *full, char *out, size_t n)
{
	const char *l = strchr(full, '['), *r = l ? strchr(l, ']') : NULL;
	const char *s = l && r && r > l + 1 ? l + 1 : full;
	size_t len = s == full ? strlen(full) : (size_t)(r - s);
	if (len >= n)
		len = n - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

void fl_gpu_report_names(const struct fl_gpu_env *env, struct fl_gpu_report *r)
{
	for (size_t i = 0; i < r->sys.npci; i++) {
		char full[160];
		if (fl_gpu_pci_name(env, r->sys.pci[i].vendor, r->sys.pci[i].device, full, sizeof full) == 0)
			short_pci_name(full, r->pci_name[i], sizeof r->pci_name[i]);
	}
}

void fl_gpu_detect(const struct fl_gpu_env *env, unsigned what, struct fl_gpu_report *r)
{
	memset(r, 0, sizeof *r);
	r->smi.status = -1;
	fl_gpu_sys_scan(env, &r->sys, NULL, 0);
	fl_gpu_report_names(env, r);
	/* NVML on a CPU-only VM is pointless; when PCI shows nothing but the module is loaded (a
	 * container without /sys/bus/pci), NVML is the only witness. */
	bool module = r->sys.module_nvidia || r->sys.module_version[0];
	if (r->sys.ngpu > 0 || module) {
		bool nodes = r->sys.dev_ctl && r->sys.dev_gpus > 0;
		fl_nvml_query(env, &r->nvml);
		/* nvmlInit as root creates missing /dev nodes through nvidia-modprobe: look again
		 * rather than fail a GPU that now works. */
		if (!nodes && r->nvml.status == FL_NVML_SUCCESS) {
			struct fl_gpu_sys again;
			fl_gpu_sys_scan(env, &again, NULL, 0);
			r->sys.dev_ctl = again.dev_ctl;
			r->sys.dev_gpus = again.dev_gpus;
			r->sys.dev_errno = again.dev_errno;
		}
	} else {
		r->nvml.status = FL_NVML_LOAD_FAILED;
		snprintf(r->nvml.error, sizeof r->nvml.error,
		         "not asked: no NVIDIA GPU and no nvidia module");
		r->nvml.cuda_major = r->nvml.cuda_minor = -1;
	}
	if (what & FL_GPU_WITH_CONTAINER)
		fl_gpu_container_scan(env, &r->ctr);
	if (what & FL_GPU_WITH_SMI)
		fl_gpu_smi_query(env, &r->smi);
	fl_gpu_detect_decide(r);
}

static const char *const verdict_names[FL_GPU_VERDICT_COUNT] = {
    [FL_GPU_USABLE] = "usable",
    [FL_GPU_NONE] = "none",
    [FL_GPU_VFIO] = "vfio",
    [FL_GPU_NOUVEAU] = "nouveau",
    [FL_GPU_MODULE_MISSING] = "module_missing",
    [FL_GPU_NO_DRIVER] = "no_driver",
    [FL_GPU_NO_DEVICE_NODES] = "no_device_nodes",
    [FL_GPU_NO_PERMISSION] = "no_permission",
    [FL_GPU_NVML_MISSING] = "nvml_missing",
    [FL_GPU_MISMATCH] = "mismatch",
    [FL_GPU_LOST] = "gpu_lost",
    [FL_GPU_MIG_NO_INSTANCES] = "mig_no_instances",
    [FL_GPU_ECC] = "ecc",
    [FL_GPU_NVML_ERROR] = "nvml_error",
};

const char *fl_gpu_detect_verdict_name(enum fl_gpu_verdict v)
{
	return (unsigned)v < FL_GPU_VERDICT_COUNT ? verdict_names[v] : "unknown";
}

static void set_msg(struct fl_gpu_report *r, enum fl_gpu_verdict v, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_msg(struct fl_gpu_report *r, enum fl_gpu_verdict v, const char *fix, const char *fmt, ...)
{
	r->verdict = v;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
	snprintf(r->fix, sizeof r->fix, "%s", fix);
}

static void add_note(struct fl_gpu_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_note(struct fl_gpu_report *r, const char *fmt, ...)
{
	if (r->nnotes >= FL_GPU_NOTES_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->notes[r->nnotes++], sizeof r->notes[0], fmt, ap);
	va_end(ap);
}

/* NVML writes "00000000:E1:00.0", sysfs "0000:e1:00.0": the same address when domain, bus,
 * device and function agree as numbers. */
static bool bdf_parse(const char *s, unsigned long v[4])
{
	char *end;
	for (int i = 0; i < 4; i++) {
		errno = 0;
		v[i] = strtoul(s, &end, 16);
		if (end == s || errno)
			return false;
		if (i < 3 && *end != (i < 2 ? ':' : '.'))
			return false;
		s = end + 1;
	}
	return *end == '\0';
}

static bool bdf_same(const char *a, const char *b)
{
	unsigned long x[4], y[4];
	return bdf_parse(a, x) && bdf_parse(b, y) && memcmp(x, y, sizeof x) == 0;
}

/* The NVML index of the PCI function, -1 when NVML does not know it. */
static int nvml_index(const struct fl_gpu_report *r, const char *bdf)
{
	for (unsigned i = 0; i < r->nvml.ndev; i++)
		if (bdf_same(r->nvml.dev[i].bdf, bdf))
			return (int)i;
	return -1;
}

void fl_gpu_report_pci_label(const struct fl_gpu_report *r, size_t i, char *out, size_t n)
{
	const struct fl_gpu_pci *p = &r->sys.pci[i];
	int g = nvml_index(r, p->bdf);
	if (r->pci_name[i][0])
		snprintf(out, n, "%s (%s)", p->bdf, r->pci_name[i]);
	else if (g >= 0 && r->nvml.dev[g].name[0])
		snprintf(out, n, "%s (%s)", p->bdf, r->nvml.dev[g].name);
	else
		snprintf(out, n, "%s (NVIDIA device %04x:%04x)", p->bdf, p->vendor, p->device);
}

/* "GPU 1 (0000:e1:00.0, NVIDIA H100 80GB HBM3)" */
static void nvml_label(const struct fl_gpu_report *r, int g, char *out, size_t n)
{
	const struct fl_nvml_dev *d = &r->nvml.dev[g];
	if (d->bdf[0] && d->name[0])
		snprintf(out, n, "GPU %d (%s, %s)", g, d->bdf, d->name);
	else if (d->bdf[0] || d->name[0])
		snprintf(out, n, "GPU %d (%s)", g, d->bdf[0] ? d->bdf : d->name);
	else
		snprintf(out, n, "GPU %d", g);
}

/* The first display function (the audio function beside a GPU never counts) whose bound
 * driver is drv ("" none), -1 when there is none; other: any driver but nvidia, vfio-pci,
 * nouveau and none. */
static int pci_with_driver(const struct fl_gpu_report *r, const char *drv, bool other)
{
	for (size_t i = 0; i < r->sys.npci; i++) {
		const struct fl_gpu_pci *p = &r->sys.pci[i];
		if (!fl_gpu_pci_is_gpu(p))
			continue;
		if (other ? p->driver[0] && strcmp(p->driver, "nvidia") != 0 &&
		                strcmp(p->driver, "vfio-pci") != 0 && strcmp(p->driver, "nouveau") != 0
		          : strcmp(p->driver, drv) == 0)
			return (int)i;
	}
	return -1;
}

static unsigned pci_gpus(const struct fl_gpu_report *r, const char *drv)
{
	unsigned c = 0;
	for (size_t i = 0; i < r->sys.npci; i++)
		if (fl_gpu_pci_is_gpu(&r->sys.pci[i]) && (!drv || strcmp(r->sys.pci[i].driver, drv) == 0))
			c++;
	return c;
}

/* Where lost GPU g is: NVML's address, else (a lost GPU answers nothing) the g-th display
 * function bound to nvidia, since NVML numbers GPUs in PCI bus order; else "address unknown". */
static const char *lost_where(const struct fl_gpu_report *r, unsigned g)
{
	if (r->nvml.dev[g].bdf[0])
		return r->nvml.dev[g].bdf;
	unsigned k = 0;
	for (size_t i = 0; i < r->sys.npci; i++) {
		const struct fl_gpu_pci *p = &r->sys.pci[i];
		if (fl_gpu_pci_is_gpu(p) && strcmp(p->driver, "nvidia") == 0 && k++ == g)
			return p->bdf;
	}
	return "address unknown";
}

/* The device an init-time NVML failure is about: the first GPU bound to nvidia, else "". */
static void first_nvidia_label(const struct fl_gpu_report *r, char *out, size_t n)
{
	int i = pci_with_driver(r, "nvidia", false);
	if (i < 0)
		i = pci_with_driver(r, "", true);
	if (i >= 0) {
		char l[128];
		fl_gpu_report_pci_label(r, (size_t)i, l, sizeof l);
		snprintf(out, n, " on %s", l);
	} else {
		out[0] = '\0';
	}
}

static const char *nvml_err(const struct fl_gpu_report *r)
{
	return r->nvml.error[0] ? r->nvml.error : fl_nvml_code_name(r->nvml.status);
}

/* The NVML verdicts of the library and its init (permission, missing, mismatch, lost, another
 * error); false when NVML answered. */
static bool decide_nvml_init(struct fl_gpu_report *r)
{
	struct fl_nvml *n = &r->nvml;
	char on[160], l[160];
	first_nvidia_label(r, on, sizeof on);

	if (n->status == FL_NVML_ERROR_NO_PERMISSION) {
		set_msg(r, FL_GPU_NO_PERMISSION,
		        "run as root or add the user to the group owning /dev/nvidia*",
		        "NVML refuses this user: %s (NVML_ERROR_NO_PERMISSION)%s", nvml_err(r), on);
		return true;
	}
	for (unsigned g = 0; g < n->ndev; g++)
		if (n->dev[g].status == FL_NVML_ERROR_NO_PERMISSION) {
			r->gpu = (int)g;
			nvml_label(r, (int)g, l, sizeof l);
			set_msg(r, FL_GPU_NO_PERMISSION,
			        "run as root or add the user to the group owning /dev/nvidia*",
			        "%s: NVML refuses this user (NVML_ERROR_NO_PERMISSION)", l);
			return true;
		}
	if (n->status == FL_NVML_LOAD_FAILED || n->status == FL_NVML_SYMBOL_MISSING) {
		const char *ver = r->sys.module_version[0] ? r->sys.module_version : "(version unknown)";
		char major[16];
		snprintf(major, sizeof major, "%.*s", (int)strcspn(ver, "."), ver);
		char fix[512];
		snprintf(fix, sizeof fix,
		         "install the user-space driver matching the kernel module %s (libnvidia-ml.so.1, "
		         "Debian: libnvidia-ml1 / nvidia-smi; Ubuntu: libnvidia-compute-%s)",
		         ver, r->sys.module_version[0] ? major : "<major>");
		set_msg(r, FL_GPU_NVML_MISSING, fix,
		        "the nvidia kernel module %s is loaded but NVML (libnvidia-ml.so.1) %s: %s",
		        r->sys.module_version[0] ? r->sys.module_version : "",
		        n->status == FL_NVML_LOAD_FAILED ? "cannot be loaded" : "lacks an entry point",
		        nvml_err(r));
		return true;
	}
	bool known = r->sys.module_version[0] && n->lib_version[0];
	if (n->status == FL_NVML_ERROR_LIB_RM_VERSION_MISMATCH ||
	    (known && strcmp(r->sys.module_version, n->lib_version) != 0)) {
		const char *kv = r->sys.module_version[0] ? r->sys.module_version : "unknown";
		const char *lv = n->lib_version[0] ? n->lib_version : "unknown";
		char fix[512];
		snprintf(
		    fix, sizeof fix,
		    "reboot to load the upgraded kernel module (an unattended upgrade replaced the library "
		    "under the running module), or reinstall driver %s user-space packages",
		    r->sys.module_version[0] ? kv : "<kernel module version>");
		set_msg(r, FL_GPU_MISMATCH, fix,
		        "Failed to initialize NVML: Driver/library version mismatch%s: NVIDIA driver/library "
		        "version mismatch: kernel module %s, libnvidia-ml %s",
		        on, kv, lv);
		return true;
	}
	const char *lost_fix =
	    "reboot the VM; if it recurs, check the host (dmesg Xid 79, PCIe, power, cooling)";
	if (n->status == FL_NVML_ERROR_GPU_IS_LOST) {
		set_msg(r, FL_GPU_LOST, lost_fix, "a GPU%s has fallen off the bus (NVML: GPU is lost)", on);
		return true;
	}
	for (unsigned g = 0; g < n->ndev; g++)
		if (n->dev[g].status == FL_NVML_ERROR_GPU_IS_LOST) {
			r->gpu = (int)g;
			set_msg(r, FL_GPU_LOST, lost_fix,
			        "GPU %u (%s) has fallen off the bus (NVML: GPU is lost)", g,
			        lost_where(r, g));
			return true;
		}
	if (n->status != FL_NVML_SUCCESS) {
		const char *why = "";
		if (n->status == FL_NVML_ERROR_OPERATING_SYSTEM)
			why = " (blocked by the OS: cgroups/device access)";
		else if (n->status == FL_NVML_TIMEOUT)
			why = " (NVML did not answer in time)";
		else if (n->status == FL_NVML_CRASHED)
			why = " (NVML crashed the process that asked it)";
		char fix[512];
		snprintf(fix, sizeof fix,
		         n->status == FL_NVML_ERROR_OPERATING_SYSTEM
		             ? "allow this process the /dev/nvidia* devices (cgroup device rules, container "
		               "--gpus "
		               "or CDI); dmesg | grep -i nvrm"
		             : "dmesg | grep -i nvrm shows the driver's side; run nvidia-smi as root to see "
		               "the same error; a reboot clears a wedged driver");
		set_msg(r, FL_GPU_NVML_ERROR, fix, "NVML failed%s: %s (%s)%s", on, nvml_err(r),
		        fl_nvml_code_name(n->status), why);
		return true;
	}
	return false;
}

/* NVML answered: each GPU's health (MIG without instances, ECC, another error), then whether
 * it saw any GPU at all. */
static bool decide_nvml_gpus(struct fl_gpu_report *r)
{
	const struct fl_nvml *n = &r->nvml;
	char l[160];
	for (unsigned g = 0; g < n->ndev; g++) {
		const struct fl_nvml_dev *d = &n->dev[g];
		if (d->mig_current == 1 && d->mig_instances == 0) {
			r->gpu = (int)g;
			nvml_label(r, (int)g, l, sizeof l);
			char fix[512];
			snprintf(fix, sizeof fix,
			         "create instances (nvidia-smi mig -cgi <profile> -C) or disable MIG "
			         "(nvidia-smi -i "
			         "%u -mig 0, then reset the GPU)",
			         g);
			set_msg(r, FL_GPU_MIG_NO_INSTANCES, fix,
			        "%s has MIG enabled and no GPU instance: no CUDA work can run on it", l);
			return true;
		}
	}
	for (unsigned g = 0; g < n->ndev; g++) {
		const struct fl_nvml_dev *d = &n->dev[g];
		if (d->remap_failure == 1 || d->ecc_uncorrected > 0) {
			r->gpu = (int)g;
			nvml_label(r, (int)g, l, sizeof l);
			char fix[512];
			snprintf(fix, sizeof fix,
			         "drain the node, reset the GPU (nvidia-smi -r -i %u) or reboot; a row-remap "
			         "failure "
			         "means the GPU needs service (RMA)",
			         g);
			if (d->remap_failure == 1)
				set_msg(r, FL_GPU_ECC, fix,
				        "%s: row remapping failed (memory rows with uncorrectable errors "
				        "could not "
				        "be remapped; %lld uncorrectable ECC error(s))",
				        l, d->ecc_uncorrected > 0 ? d->ecc_uncorrected : 0);
			else
				set_msg(r, FL_GPU_ECC, fix,
				        "%s: %lld uncorrectable ECC error(s) since the driver loaded", l,
				        d->ecc_uncorrected);
			return true;
		}
	}
	for (unsigned g = 0; g < n->ndev; g++) {
		const struct fl_nvml_dev *d = &n->dev[g];
		if (d->status != FL_NVML_SUCCESS && d->status != FL_NVML_ERROR_NOT_SUPPORTED) {
			r->gpu = (int)g;
			nvml_label(r, (int)g, l, sizeof l);
			set_msg(r, FL_GPU_NVML_ERROR,
			        "dmesg | grep -i nvrm shows the driver's side; nvidia-smi -q -i N shows the "
			        "GPU's "
			        "state; a GPU reset (nvidia-smi -r) or a reboot clears most",
			        "%s: NVML error %s", l, fl_nvml_code_name(d->status));
			return true;
		}
	}
	if (n->count == 0) {
		set_msg(r, FL_GPU_NVML_ERROR,
		        "check NVIDIA_VISIBLE_DEVICES / CUDA_VISIBLE_DEVICES and the cgroup's device access; "
		        "dmesg | grep -i nvrm",
		        "NVML sees no GPU although %u GPU(s) on the PCI bus are bound to nvidia",
		        pci_gpus(r, "nvidia"));
		return true;
	}
	return false;
}

/* The published facts: the first GPU's, when the verdict is usable. */
static void set_usable(struct fl_gpu_report *r)
{
	const struct fl_nvml *n = &r->nvml;
	r->usable = r->verdict == FL_GPU_USABLE;
	if (r->usable) {
		r->gpu = 0;
		snprintf(r->name, sizeof r->name, "%s", n->dev[0].name);
		r->memory_mb = n->dev[0].memory_mb;
		snprintf(r->driver, sizeof r->driver, "%s", n->driver_version);
		r->count = n->count;
		snprintf(r->message, sizeof r->message, "%u GPU(s): %s (%lld MiB), driver %s", r->count,
		         r->name, r->memory_mb, r->driver);
	}
}

/* Notes: worth a WARNING, never a different verdict. */
static void add_notes(struct fl_gpu_report *r)
{
	const struct fl_nvml *n = &r->nvml;
	int nvs = n->status;
	char l[160];
	unsigned bound = pci_gpus(r, "nvidia");
	if (nvs == FL_NVML_SUCCESS && n->count < bound)
		add_note(r, "NVML sees %u GPU(s) but %u on the PCI bus are bound to nvidia", n->count, bound);
	if (r->sys.truncated)
		add_note(r, "more than %d NVIDIA PCI functions: only the first were looked at",
		         FL_GPU_PCI_MAX);
	for (unsigned g = 0; nvs == FL_NVML_SUCCESS && g < n->ndev; g++) {
		nvml_label(r, (int)g, l, sizeof l);
		if (n->dev[g].remap_pending == 1)
			add_note(r, "%s: a row remap is pending (reset the GPU or reboot when it is idle)",
			         l);
		if (n->dev[g].mig_pending >= 0 && n->dev[g].mig_current >= 0 &&
		    n->dev[g].mig_pending != n->dev[g].mig_current)
			add_note(r, "%s: MIG mode changes to %s at the next GPU reset", l,
			         n->dev[g].mig_pending ? "enabled" : "disabled");
	}
	if (r->smi.status == 1 && nvs == FL_NVML_SUCCESS) {
		if (r->smi.rc > 0)
			add_note(r, "nvidia-smi failed (exit %d: %s) although NVML works", r->smi.rc,
			         r->smi.output);
		else
			add_note(r, "nvidia-smi failed (%s) although NVML works", r->smi.output);
	}
	if (r->smi.status == 0 && nvs == FL_NVML_SUCCESS && n->ndev > 0) {
		const struct fl_nvml_dev *d = &n->dev[0];
		if (strcmp(r->smi.name, d->name) != 0)
			add_note(r, "nvidia-smi names GPU 0 '%s', NVML '%s'", r->smi.name, d->name);
		if (r->smi.memory_mb != d->memory_mb)
			add_note(r, "nvidia-smi says GPU 0 has %lld MiB, NVML %lld MiB", r->smi.memory_mb,
			         d->memory_mb);
		if (strcmp(r->smi.driver, n->driver_version) != 0)
			add_note(r, "nvidia-smi says driver %s, NVML %s", r->smi.driver, n->driver_version);
		if (r->smi.count != n->count)
			add_note(r, "nvidia-smi lists %u GPU(s), NVML %u", r->smi.count, n->count);
	}
}

void fl_gpu_detect_decide(struct fl_gpu_report *r)
{
	r->verdict = FL_GPU_NONE;
	r->present = r->usable = false;
	r->gpu = -1;
	r->message[0] = r->fix[0] = '\0';
	r->nnotes = 0;
	r->name[0] = r->driver[0] = '\0';
	r->memory_mb = 0;
	r->count = 0;

	char l[160], fix[512];
	unsigned ngpu = pci_gpus(r, NULL);
	bool module = r->sys.module_nvidia || r->sys.module_version[0] || pci_gpus(r, "nvidia") > 0;
	int nvs = r->nvml.status;
	/* Without PCI (a container without /sys/bus/pci), only a loaded module and NVML's own
	 * answer tell a GPU is there. */
	bool nvml_saw = nvs == FL_NVML_SUCCESS
	                    ? r->nvml.count > 0
	                    : module && nvs != FL_NVML_LOAD_FAILED && nvs != FL_NVML_SYMBOL_MISSING &&
	                          nvs != FL_NVML_ERROR_DRIVER_NOT_LOADED;
	r->present = ngpu > 0 || nvml_saw;
	if (!r->present) {
		snprintf(r->message, sizeof r->message, "no NVIDIA GPU on the PCI bus");
		return;
	}

	int i;
	if (ngpu > 0 && (i = pci_with_driver(r, "vfio-pci", false)) >= 0) {
		fl_gpu_report_pci_label(r, (size_t)i, l, sizeof l);
		snprintf(
		    fix, sizeof fix,
		    "driverctl unset-override %s (or remove the vfio-pci ids= option), install the NVIDIA "
		    "driver and reboot",
		    r->sys.pci[i].bdf);
		set_msg(
		    r, FL_GPU_VFIO, fix,
		    "%s is bound to vfio-pci: that is the KVM host's setting; in this VM the nvidia driver "
		    "must own it",
		    l);
	} else if (ngpu > 0 && (i = pci_with_driver(r, "nouveau", false)) >= 0) {
		fl_gpu_report_pci_label(r, (size_t)i, l, sizeof l);
		set_msg(
		    r, FL_GPU_NOUVEAU,
		    "blacklist nouveau (echo 'blacklist nouveau' > /etc/modprobe.d/blacklist-nouveau.conf; "
		    "update-initramfs -u), install the NVIDIA driver, reboot",
		    "%s is bound to nouveau (the open-source driver): CUDA needs the nvidia driver", l);
	} else if (!module) {
		i = pci_with_driver(r, "", false);
		if (i < 0)
			i = pci_with_driver(r, "", true);
		if (i >= 0)
			fl_gpu_report_pci_label(r, (size_t)i, l, sizeof l);
		set_msg(
		    r, FL_GPU_MODULE_MISSING,
		    "install the driver (apt install nvidia-driver) and reboot, or modprobe nvidia; dmesg | "
		    "grep -i nvrm shows why it did not load",
		    "the nvidia kernel module is not loaded%s%s", i >= 0 ? ": " : "", i >= 0 ? l : "");
	} else if (ngpu > 0 && (i = pci_with_driver(r, "", false)) >= 0) {
		fl_gpu_report_pci_label(r, (size_t)i, l, sizeof l);
		set_msg(r, FL_GPU_NO_DRIVER,
		        "dmesg | grep -i nvrm (this driver may not support the GPU, or probing failed)",
		        "%s is bound to no driver although nvidia%s%s is loaded", l,
		        r->sys.module_version[0] ? " " : "", r->sys.module_version);
	} else if (ngpu > 0 && (i = pci_with_driver(r, "", true)) >= 0) {
		fl_gpu_report_pci_label(r, (size_t)i, l, sizeof l);
		snprintf(fix, sizeof fix,
		         "driverctl unset-override %s (or echo %s > /sys/bus/pci/drivers/%s/unbind), then "
		         "modprobe -r nvidia && modprobe nvidia or reboot",
		         r->sys.pci[i].bdf, r->sys.pci[i].bdf, r->sys.pci[i].driver);
		set_msg(r, FL_GPU_NO_DRIVER, fix, "%s is bound to %s, not to nvidia", l,
		        r->sys.pci[i].driver);
	} else if (ngpu > 0 && (!r->sys.dev_ctl || r->sys.dev_gpus <= 0)) {
		char on[160];
		first_nvidia_label(r, on, sizeof on);
		set_msg(r, FL_GPU_NO_DEVICE_NODES,
		        "nvidia-modprobe -u -c=0 (or run nvidia-smi once as root); check udev",
		        "the nvidia module is loaded but %s missing%s (%d /dev/nvidiaN node(s))",
		        r->sys.dev_ctl ? "the /dev/nvidiaN nodes are" : "/dev/nvidiactl is", on,
		        r->sys.dev_gpus);
	} else if (r->sys.dev_errno == EACCES || r->sys.dev_errno == EPERM) {
		char on[160];
		first_nvidia_label(r, on, sizeof on);
		set_msg(r, FL_GPU_NO_PERMISSION,
		        "run as root or add the user to the group owning /dev/nvidia*",
		        "/dev/nvidiactl cannot be opened by this user: %s%s", strerror(r->sys.dev_errno), on);
	} else if (!decide_nvml_init(r) && !decide_nvml_gpus(r)) {
		r->verdict = FL_GPU_USABLE;
	}

	add_notes(r);
	set_usable(r);
}

/* Python's repr() of a str, as Flower's "<event>: <dict>" message shows it: single quotes
 * unless the text has one and no double quote. */
static void py_repr(struct fl_buf *b, const char *s)
{
	char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
	fl_buf_addc(b, q);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\\' || *p == (unsigned char)q)
			fl_buf_addf(b, "\\%c", *p);
		else if (*p == '\n')
			fl_buf_adds(b, "\\n");
		else if (*p == '\r')
			fl_buf_adds(b, "\\r");
		else if (*p == '\t')
			fl_buf_adds(b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			fl_buf_addf(b, "\\x%02x", *p);
		else
			fl_buf_addc(b, (char)*p);
	}
	fl_buf_addc(b, q);
}

/* The event line: gpu_detected with r's GPU when r is given, else gpu_unavailable with reason. */
static void event_line(const struct fl_gpu_report *r, const char *reason, long long now_ms, struct fl_buf *b)
{
	time_t sec = (time_t)(now_ms / 1000);
	struct tm tm;
	char ts[40];
	gmtime_r(&sec, &tm);
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	char stamp[48];
	snprintf(stamp, sizeof stamp, "%s.%03lldZ", ts, now_ms % 1000);

	const char *event = r ? "gpu_detected" : "gpu_unavailable";
	struct fl_buf m = {0};
	fl_buf_addf(&m, "%s: {", event);
	json_t *data;
	if (r) {
		data = json_pack("{s:s, s:I, s:s}", "gpu_name", r->name, "gpu_memory_mb",
		                 (json_int_t)r->memory_mb, "driver_version", r->driver);
		fl_buf_adds(&m, "'gpu_name': ");
		py_repr(&m, r->name);
		fl_buf_addf(&m, ", 'gpu_memory_mb': %lld, 'driver_version': ", r->memory_mb);
		py_repr(&m, r->driver);
	} else {
		data = json_pack("{s:s, s:s}", "fallback_device", "cpu", "reason", reason);
		fl_buf_adds(&m, "'fallback_device': 'cpu', 'reason': ");
		py_repr(&m, reason);
	}
	fl_buf_addc(&m, '}');
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s}", "timestamp", stamp, "level",
	                      r ? "INFO" : "WARNING", "logger", "flwr", "role", "supernode", "event", event,
	                      "data", data, "message", fl_buf_str(&m), "source", "fl-gpucheck:0");
	fl_buf_free(&m);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (s)
		fl_buf_adds(b, s);
	free(s);
}

void fl_gpu_detect_event(const struct fl_gpu_report *r, long long now_ms, struct fl_buf *b)
{
	event_line(r->usable ? r : NULL, fl_gpu_detect_verdict_name(r->verdict), now_ms, b);
}

void fl_gpu_unavailable_event(const char *reason, long long now_ms, struct fl_buf *b)
{
	event_line(NULL, reason, now_ms, b);
}
