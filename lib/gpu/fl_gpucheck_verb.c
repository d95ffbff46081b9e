/* fl_gpucheck_verb: fl-gpucheck's verbs once the options are known. detect is the boot check
 * (KEY=VALUE lines, --json, --events); vm and host are the spec's validation scripts. */
#include "fl_gpucheck_verb.h"

#include "fl_argv.h"
#include "fl_buf.h"
#include "fl_err.h"
#include "fl_gpu_detect.h"
#include "fl_log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* fl-gpucheck needs the configuration only for FL_LOG_FORMAT: a KVM host has no context at
 * all, so a file that is absent or unreadable is no failure. */
static void load_log_format(const struct fl_tool *t)
{
	char buf[4200];
	bool named;
	const char *path = fl_tool_config_path(t, 0, buf, sizeof buf, &named);
	if (!path || access(path, R_OK) != 0)
		return;
	struct fl_ctx c = {0};
	if (fl_tool_load(t, 0, &c) == 0)
		fl_ctx_free(&c);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_buf(const struct fl_buf *b)
{
	fputs(fl_buf_str(b), stdout);
	fflush(stdout);
}

static void env_pair(struct fl_buf *b, const char *key, const char *v)
{
	fl_buf_addf(b, "%s=", key);
	fl_buf_add_sq(b, v);
	fl_buf_addc(b, '\n');
}

static json_t *json_str_or_null(const char *s)
{
	return s && s[0] ? json_string(s) : json_null();
}

/* Per GPU facts for --json: NVML's when it answered, else the PCI functions'. */
static json_t *json_gpus(const struct fl_gpu_report *r)
{
	json_t *a = json_array();
	for (unsigned g = 0; g < r->nvml.ndev; g++) {
		const struct fl_nvml_dev *d = &r->nvml.dev[g];
		json_array_append_new(
		    a,
		    json_pack(
		        "{s:i, s:o, s:o, s:o, s:I, s:o, s:i, s:i, s:i, s:I, s:i, s:i, s:o}", "index", (int)g,
		        "name", json_str_or_null(d->name), "uuid", json_str_or_null(d->uuid), "bdf",
		        json_str_or_null(d->bdf), "memory_mb", (json_int_t)d->memory_mb, "compute_capability",
		        d->cc_major >= 0 ? json_sprintf("%d.%d", d->cc_major, d->cc_minor) : json_null(),
		        "mig_current", d->mig_current, "mig_instances", d->mig_instances, "ecc_current",
		        d->ecc_current, "ecc_uncorrected", (json_int_t)d->ecc_uncorrected, "remap_pending",
		        d->remap_pending, "remap_failure", d->remap_failure, "nvml_status",
		        d->status ? json_string(fl_nvml_code_name(d->status)) : json_null()));
	}
	for (size_t i = 0; r->nvml.ndev == 0 && i < r->sys.npci; i++) {
		const struct fl_gpu_pci *p = &r->sys.pci[i];
		if (!fl_gpu_pci_is_gpu(p))
			continue;
		json_array_append_new(a,
		                      json_pack("{s:s, s:o, s:o, s:o, s:i}", "bdf", p->bdf, "name",
		                                json_str_or_null(r->pci_name[i]), "pci_id",
		                                json_sprintf("%04x:%04x", p->vendor, p->device), "driver",
		                                json_str_or_null(p->driver), "iommu_group", p->iommu_group));
	}
	return a;
}

/* The keys every verb's --json has beyond design 04 §8.1's: verdict, message, fix, gpus,
 * docker_flags; gpu is the usable GPU or null. */
static void json_verdict(json_t *o, const struct fl_gpu_report *r, const struct fl_argv *flags)
{
	json_object_set_new(o, "gpu",
	                    r->usable ? json_pack("{s:s, s:I, s:s}", "name", r->name, "memory_mb",
	                                          (json_int_t)r->memory_mb, "driver_version", r->driver)
	                              : json_null());
	json_object_set_new(o, "verdict", json_string(fl_gpu_detect_verdict_name(r->verdict)));
	json_object_set_new(o, "message", json_string(r->message));
	json_object_set_new(o, "fix", json_str_or_null(r->fix));
	json_object_set_new(o, "gpus", json_gpus(r));
	json_t *f = json_array();
	for (size_t i = 0; i < flags->n; i++)
		json_array_append_new(f, json_string(flags->v[i]));
	json_object_set_new(o, "docker_flags", f);
}

static json_t *json_check(int id, const char *name, const char *status, const char *message, const char *fix)
{
	return json_pack("{s:i, s:s, s:s, s:s, s:o}", "id", id, "name", name, "status", status, "message",
	                 message, "fix", json_str_or_null(fix));
}

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	free(s);
}

static const char ctk_fix[] = "configure the NVIDIA Container Toolkit: nvidia-ctk runtime configure "
                              "--runtime=docker && systemctl restart docker (or nvidia-ctk cdi generate "
                              "--output=/etc/cdi/nvidia.yaml)";

int fl_gpucheck_verb_detect(struct fl_tool *t, const struct fl_gpucheck_verb *o)
{
	load_log_format(t);
	static struct fl_gpu_report r;
	fl_gpu_detect(&o->env, FL_GPU_WITH_CONTAINER, &r);
	struct fl_argv flags = {0};
	if (r.usable)
		fl_gpu_container_flags(&r.ctr, &flags);
	bool no_access = r.usable && flags.n == 0;
	bool broken = r.present && !r.usable;
	int rc = broken || (!r.present && o->require) ? FL_EXIT_FAIL : FL_EXIT_OK;
	const char *none_info =
	    "no NVIDIA GPU on this machine: training runs on CPU (not an error; --require "
	    "makes it one)";

	if (o->json) {
		json_t *j = json_object();
		json_t *checks = json_array();
		int errors = 0, warnings = 0;
		if (r.usable)
			json_array_append_new(checks, json_check(1, "gpu", "OK", r.message, NULL));
		else if (!r.present)
			json_array_append_new(checks, json_check(1, "gpu", o->require ? "ERROR" : "INFO",
			                                         o->require ? r.message : none_info, NULL)),
			    errors += o->require;
		else
			json_array_append_new(checks, json_check(1, "gpu", "ERROR", r.message, r.fix)),
			    errors++;
		if (r.usable)
			json_array_append_new(
			    checks, no_access ? json_check(2, "container_access", "WARNING",
			                                   "a usable GPU but no container access: neither "
			                                   "runtimes.nvidia in daemon.json nor a CDI spec",
			                                   ctk_fix)
			                      : json_check(2, "container_access", "OK",
			                                   r.ctr.access == FL_GPU_ACCESS_CDI
			                                       ? "CDI spec for nvidia.com/gpu"
			                                       : "nvidia runtime in daemon.json",
			                                   NULL)),
			    warnings += no_access;
		for (unsigned i = 0; i < r.nnotes; i++, warnings++)
			json_array_append_new(checks,
			                      json_check(3 + (int)i, "note", "WARNING", r.notes[i], NULL));
		json_object_set_new(j, "mode", json_string("detect"));
		json_object_set_new(j, "result", json_string(rc ? "FAIL" : "PASS"));
		json_object_set_new(j, "errors", json_integer(errors));
		json_object_set_new(j, "warnings", json_integer(warnings));
		json_object_set_new(j, "checks", checks);
		json_object_set_new(j, "available", json_boolean(r.usable));
		json_verdict(j, &r, &flags);
		print_json(j);
		json_decref(j);
		fl_argv_free(&flags);
		return rc;
	}

	struct fl_buf b = {0};
	fl_buf_addf(&b, "FL_GPU_AVAILABLE=%s\n", r.usable ? "YES" : "NO");
	if (o->env_out) {
		char num[32];
		env_pair(&b, "FL_GPU_NAME", r.name);
		snprintf(num, sizeof num, "%lld", r.usable ? r.memory_mb : 0);
		env_pair(&b, "FL_GPU_MEMORY_MB", r.usable ? num : "");
		env_pair(&b, "FL_GPU_DRIVER", r.driver);
		snprintf(num, sizeof num, "%u", r.count);
		env_pair(&b, "FL_GPU_COUNT", num);
		env_pair(&b, "FL_GPU_REASON", fl_gpu_detect_verdict_name(r.verdict));
		struct fl_buf f = {0};
		for (size_t i = 0; i < flags.n; i++)
			fl_buf_addf(&f, "%s%s", i ? " " : "", flags.v[i]);
		env_pair(&b, "FL_GPU_DOCKER_FLAGS", fl_buf_str(&f));
		fl_buf_free(&f);
	}
	if (o->events) {
		fl_gpu_detect_event(&r, now_ms(), &b);
		fl_buf_addc(&b, '\n');
	}
	print_buf(&b);
	fl_buf_free(&b);

	if (r.usable)
		fl_info("GPU available: %s", r.message);
	else if (!r.present && !o->require)
		fl_info("%s", none_info);
	else if (!r.present)
		fl_error("%s (--require)", r.message);
	else
		fl_error("%s", r.message);
	if (r.fix[0])
		fl_error("fix: %s", r.fix);
	if (no_access)
		fl_warn(
		    "a usable GPU but no container access (no runtimes.nvidia in daemon.json, no CDI spec): "
		    "containers would see no GPU; fix: %s",
		    ctk_fix);
	for (unsigned i = 0; i < r.nnotes; i++)
		fl_warn("%s", r.notes[i]);
	fl_argv_free(&flags);
	return rc;
}

/* vm and host: the spec's scripts. Each check is one result line (and a FIX: line after an
 * ERROR or WARNING that has one), printed after a "Checking ..." title when it starts a check;
 * all of it is kept until the end so that --json prints the same report. */
#define VCHECKS_MAX (FL_GPU_PCI_MAX + 24)

struct vcheck {
	int id;
	const char *name;  /* the JSON name */
	const char *title; /* "Checking ..." line; NULL: another result of the check before */
	const char *status;
	char message[640];
	char fix[512];
};

struct vreport {
	struct vcheck c[VCHECKS_MAX];
	int n, errors, warnings;
};

static __attribute__((format(printf, 6, 7))) void
vadd(struct vreport *v, int id, const char *name, const char *title, const char *status, const char *fmt, ...)
{
	if (v->n >= VCHECKS_MAX)
		return;
	struct vcheck *c = &v->c[v->n++];
	*c = (struct vcheck){.id = id, .name = name, .title = title, .status = status};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof c->message, fmt, ap);
	va_end(ap);
	v->errors += strcmp(status, "ERROR") == 0;
	v->warnings += strcmp(status, "WARNING") == 0;
}

/* The fix of the check added last. */
static void vfix(struct vreport *v, const char *fix)
{
	if (v->n > 0 && fix)
		snprintf(v->c[v->n - 1].fix, sizeof v->c[0].fix, "%s", fix);
}

/* "[YYYY-MM-DD HH:MM:SS] " as the spec's log() prints it. */
static void stamp(struct fl_buf *b)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(ts, sizeof ts, "[%Y-%m-%d %H:%M:%S] ", &tm);
	fl_buf_adds(b, ts);
}

static void vprint_text(const struct vreport *v, const char *summary)
{
	struct fl_buf b = FL_BUF_INIT;
	for (int i = 0; i < v->n; i++) {
		const struct vcheck *c = &v->c[i];
		if (c->title) {
			stamp(&b);
			fl_buf_addf(&b, "%s\n", c->title);
		}
		stamp(&b);
		fl_buf_addf(&b, "  %s: %s\n", c->status, c->message);
		if (c->fix[0]) {
			stamp(&b);
			fl_buf_addf(&b, "  FIX: %s\n", c->fix);
		}
	}
	fl_buf_addc(&b, '\n');
	stamp(&b);
	fl_buf_addf(&b, "%s\n", summary);
	print_buf(&b);
	fl_buf_free(&b);
}

static json_t *vjson(const struct vreport *v, const char *mode, bool pass)
{
	json_t *j = json_object();
	json_t *checks = json_array();
	for (int i = 0; i < v->n; i++)
		json_array_append_new(checks, json_check(v->c[i].id, v->c[i].name, v->c[i].status,
		                                         v->c[i].message, v->c[i].fix));
	json_object_set_new(j, "mode", json_string(mode));
	json_object_set_new(j, "result", json_string(pass ? "PASS" : "FAIL"));
	json_object_set_new(j, "errors", json_integer(v->errors));
	json_object_set_new(j, "warnings", json_integer(v->warnings));
	json_object_set_new(j, "checks", checks);
	return j;
}

/* The first NVIDIA display function, or -1. */
static int first_gpu(const struct fl_gpu_report *r)
{
	for (size_t i = 0; i < r->sys.npci; i++)
		if (fl_gpu_pci_is_gpu(&r->sys.pci[i]))
			return (int)i;
	return -1;
}

static const char vm_module_fix[] =
    "install the driver (apt install nvidia-driver) and reboot, or modprobe nvidia";

static void vm_gpu(struct vreport *v, const struct fl_gpu_report *r)
{
	vadd(v, 1, "nvidia_module", "Checking NVIDIA kernel module...", r->sys.module_nvidia ? "OK" : "ERROR",
	     "%s", r->sys.module_nvidia ? "nvidia module loaded" : "nvidia module not loaded");
	if (!r->sys.module_nvidia)
		vfix(v, vm_module_fix);
	if (r->usable) {
		vadd(v, 2, "gpu", "Checking GPU (NVML)...", "OK", "GPU detected - %s (%lld MiB)", r->name,
		     r->memory_mb);
	} else {
		vadd(v, 2, "gpu", "Checking GPU (NVML)...", "ERROR", "%s", r->message);
		vfix(v, r->fix[0] ? r->fix
		                  : "check the PCI device in the VM template (PCI = [ SHORT_ADDRESS = ... ], "
		                    "UEFI, q35) and lspci | grep -i nvidia inside the VM");
	}
}

static void vm_toolkit(struct vreport *v, const struct fl_gpu_container *c)
{
	const char *title = "Checking NVIDIA Container Toolkit...";
	if (c->access == FL_GPU_ACCESS_RUNTIME)
		vadd(v, 3, "container_toolkit", title, "OK", "Docker configured for NVIDIA runtime");
	else if (c->access == FL_GPU_ACCESS_CDI)
		vadd(v, 3, "container_toolkit", title, "OK", "Docker configured for a CDI specification (%s)",
		     c->cdi_spec);
	else {
		char why[700];
		if (c->error[0])
			snprintf(why, sizeof why, "%s", c->error);
		else
			snprintf(why, sizeof why, "%s %s, no CDI specification for nvidia.com/gpu",
			         c->daemon_json == 0 ? "no" : "no runtimes.nvidia in", c->daemon_path);
		vadd(v, 3, "container_toolkit", title, "ERROR",
		     "Docker not configured for NVIDIA runtime (%s)", why);
		vfix(v, ctk_fix);
	}
}

static void vm_docker(struct vreport *v, const struct fl_gpucheck_verb *o, const struct fl_gpu_report *r)
{
	const char *title = "Checking Docker GPU access...";
	const char *image = o->env.image ? o->env.image : FL_GPU_SMOKE_IMAGE;
	if (o->no_docker) {
		vadd(v, 4, "docker_access", title, "INFO",
		     "Docker GPU access not tested (--no-docker; not a check of the spec)");
		return;
	}
	if (!r->usable) {
		vadd(v, 4, "docker_access", title, "ERROR",
		     "Docker GPU access failed: not tried, no usable GPU (check 2): a container "
		     "started with --gpus all would not be created");
		return;
	}
	if (r->ctr.access == FL_GPU_ACCESS_NONE) {
		vadd(v, 4, "docker_access", title, "ERROR",
		     "Docker GPU access failed: not tried, neither an NVIDIA runtime nor a CDI "
		     "specification (check 3)");
		return;
	}
	char msg[600], fix[400];
	int code;
	if (fl_gpu_container_smoke(&o->env, &r->ctr, &code, msg, sizeof msg) == 0) {
		vadd(v, 4, "docker_access", title, "OK", "Docker containers can access GPU");
		return;
	}
	vadd(v, 4, "docker_access", title, "ERROR", "Docker GPU access failed: %s", msg);
	if (code == FL_EXIT_UNAVAILABLE)
		snprintf(fix, sizeof fix,
		         "install Docker or start it (systemctl start docker), or skip this check with "
		         "--no-docker");
	else if (code == FL_EXIT_TIMEOUT)
		snprintf(fix, sizeof fix,
		         "pull the image first (docker pull %s) or name a local one with --image", image);
	else
		snprintf(fix, sizeof fix,
		         "restart Docker and re-run nvidia-ctk runtime configure --runtime=docker "
		         "&& systemctl restart docker");
	vfix(v, fix);
}

static void vm_driver(struct vreport *v, const struct fl_gpu_report *r)
{
	const char *d = r->nvml.status == FL_NVML_SUCCESS && r->nvml.driver_version[0]
	                    ? r->nvml.driver_version
	                : r->sys.module_version[0] ? r->sys.module_version
	                : r->smi.status == 0       ? r->smi.driver
	                                           : NULL;
	if (d)
		vadd(v, 5, "driver_version", "Checking CUDA version...", "INFO", "Driver version: %s", d);
	else
		vadd(v, 5, "driver_version", "Checking CUDA version...", "INFO",
		     "Driver version: unknown (NVML not available)");
}

/* The [extra] checks: WARNING, or ERROR with --strict. */
static void vm_extra(struct vreport *v, const struct fl_gpucheck_verb *o, const struct fl_gpu_report *r)
{
	const char *bad = o->strict ? "ERROR" : "WARNING";
	int g = first_gpu(r);
	char l[160] = "";
	if (g >= 0)
		fl_gpu_report_pci_label(r, (size_t)g, l, sizeof l);
	if (g >= 0)
		vadd(v, 6, "pci_gpu", "[extra] Checking NVIDIA GPU on the PCI bus...", "OK",
		     "[extra] %s on the PCI bus", l);
	else
		vadd(v, 6, "pci_gpu", "[extra] Checking NVIDIA GPU on the PCI bus...", bad,
		     "[extra] no NVIDIA display function (vendor 0x10de, class 0x03xxxx) on the PCI bus");
	if (g >= 0 && strcmp(r->sys.pci[g].driver, "nvidia") == 0)
		vadd(v, 7, "pci_driver", "[extra] Checking the GPU's driver...", "OK",
		     "[extra] %s bound to nvidia", l);
	else if (g >= 0)
		vadd(v, 7, "pci_driver", "[extra] Checking the GPU's driver...", bad,
		     "[extra] %s bound to %s", l,
		     r->sys.pci[g].driver[0] ? r->sys.pci[g].driver : "no driver");
	bool nodes = r->sys.dev_ctl && r->sys.dev_gpus > 0;
	vadd(v, 8, "device_nodes", "[extra] Checking /dev/nvidia*...", nodes ? "OK" : bad,
	     "[extra] /dev/nvidiactl %s, %d /dev/nvidiaN node(s)", r->sys.dev_ctl ? "present" : "missing",
	     r->sys.dev_gpus);
	if (r->smi.status == 0)
		vadd(v, 9, "nvidia_smi", "[extra] Checking nvidia-smi...", "OK",
		     "[extra] nvidia-smi: %s, %lld MiB, driver %s", r->smi.name, r->smi.memory_mb,
		     r->smi.driver);
	else if (r->smi.status == 1 && r->smi.rc > 0)
		vadd(v, 9, "nvidia_smi", "[extra] Checking nvidia-smi...", bad,
		     "[extra] nvidia-smi failed (exit %d): %s", r->smi.rc, r->smi.output);
	else if (r->smi.status == 1)
		vadd(v, 9, "nvidia_smi", "[extra] Checking nvidia-smi...", bad,
		     "[extra] nvidia-smi failed: %s", r->smi.output);
	/* The notes, but nvidia-smi's failure: check 9 said it. */
	bool titled = false;
	for (unsigned i = 0; i < r->nnotes; i++) {
		if (strncmp(r->notes[i], "nvidia-smi failed", 17) == 0)
			continue;
		vadd(v, 10, "note", titled ? NULL : "[extra] Checking what else NVML says...", bad,
		     "[extra] %s", r->notes[i]);
		titled = true;
	}
}

int fl_gpucheck_verb_vm(struct fl_tool *t, const struct fl_gpucheck_verb *o)
{
	load_log_format(t);
	static struct fl_gpu_report r;
	static struct vreport v;
	memset(&v, 0, sizeof v);
	fl_gpu_detect(&o->env, FL_GPU_WITH_CONTAINER | FL_GPU_WITH_SMI, &r);
	vm_gpu(&v, &r);
	vm_toolkit(&v, &r.ctr);
	vm_docker(&v, o, &r);
	vm_driver(&v, &r);
	vm_extra(&v, o, &r);
	int rc = v.errors ? FL_EXIT_FAIL : FL_EXIT_OK;
	if (o->json) {
		struct fl_argv flags = {0};
		if (r.usable)
			fl_gpu_container_flags(&r.ctr, &flags);
		json_t *j = vjson(&v, "vm", rc == 0);
		json_verdict(j, &r, &flags);
		print_json(j);
		json_decref(j);
		fl_argv_free(&flags);
		return rc;
	}
	char summary[96];
	if (v.errors)
		snprintf(summary, sizeof summary, "GPU validation FAILED: %d error(s) detected", v.errors);
	else
		snprintf(summary, sizeof summary, "GPU validation PASSED: All checks successful");
	vprint_text(&v, summary);
	if (o->events) {
		struct fl_buf b = FL_BUF_INIT;
		fl_gpu_detect_event(&r, now_ms(), &b);
		fl_buf_addc(&b, '\n');
		print_buf(&b);
		fl_buf_free(&b);
	}
	return rc;
}

static void host_iommu(struct vreport *v, const struct fl_gpu_sys *s)
{
	if (s->iommu_cmdline)
		vadd(v, 1, "iommu_cmdline", "Checking IOMMU in kernel parameters...", "OK",
		     "IOMMU enabled in kernel parameters");
	else {
		vadd(v, 1, "iommu_cmdline", "Checking IOMMU in kernel parameters...", "ERROR",
		     "IOMMU not enabled in kernel parameters");
		vfix(v, "add intel_iommu=on iommu=pt (Intel) or amd_iommu=on iommu=pt (AMD) to "
		        "GRUB_CMDLINE_LINUX_DEFAULT in /etc/default/grub, then update-grub and reboot");
	}
	if (s->iommu_groups > 0)
		vadd(v, 2, "iommu_groups", "Checking IOMMU groups...", "OK", "%d IOMMU groups found",
		     s->iommu_groups);
	else {
		vadd(v, 2, "iommu_groups", "Checking IOMMU groups...", "ERROR", "No IOMMU groups found");
		vfix(v, "enable Intel VT-d or AMD IOMMU (AMD-Vi) in the BIOS");
	}
	if (s->module_vfio_pci)
		vadd(v, 3, "vfio_module", "Checking vfio-pci module...", "OK", "vfio-pci module loaded");
	else {
		vadd(v, 3, "vfio_module", "Checking vfio-pci module...", "WARNING",
		     "vfio-pci module not loaded");
		vfix(v, "echo 'vfio-pci' > /etc/modules-load.d/vfio-pci.conf && modprobe vfio-pci");
	}
}

/* Check 4: each NVIDIA display function (never the audio function, the spec's grep -v Audio). */
static void host_binding(struct vreport *v, const struct fl_gpu_report *r)
{
	const char *title = "Checking NVIDIA GPU driver binding...";
	bool any = false;
	for (size_t i = 0; i < r->sys.npci; i++) {
		const struct fl_gpu_pci *p = &r->sys.pci[i];
		if (!fl_gpu_pci_is_gpu(p))
			continue;
		char l[160], fix[128];
		fl_gpu_report_pci_label(r, i, l, sizeof l);
		snprintf(fix, sizeof fix, "driverctl set-override %s vfio-pci", p->bdf);
		if (strcmp(p->driver, "vfio-pci") == 0)
			vadd(v, 4, "gpu_binding", any ? NULL : title, "OK", "%s bound to vfio-pci", l);
		else if (!p->driver[0])
			vadd(v, 4, "gpu_binding", any ? NULL : title, "WARNING", "%s no driver bound", l),
			    vfix(v, fix);
		else
			vadd(v, 4, "gpu_binding", any ? NULL : title, "ERROR",
			     "%s bound to %s (should be vfio-pci)", l, p->driver),
			    vfix(v, fix);
		any = true;
	}
	if (!any)
		vadd(v, 4, "gpu_binding", title, "WARNING", "No NVIDIA GPUs found");
}

static void host_one(struct vreport *v, const struct fl_gpu_sys *s)
{
	if (s->vfio_udev)
		vadd(v, 5, "vfio_udev", "Checking VFIO udev rules...", "OK", "VFIO udev rules configured");
	else {
		vadd(v, 5, "vfio_udev", "Checking VFIO udev rules...", "WARNING",
		     "VFIO udev rules not found");
		vfix(v, "echo 'SUBSYSTEM==\"vfio\", GROUP=\"kvm\", MODE=\"0666\"' > "
		        "/etc/udev/rules.d/99-vfio.rules && udevadm control --reload && udevadm trigger");
	}
	if (s->pci_filter == 1)
		vadd(v, 6, "pci_filter", "Checking OpenNebula PCI filter...", "OK",
		     "NVIDIA filter configured in pci.conf");
	else {
		vadd(v, 6, "pci_filter", "Checking OpenNebula PCI filter...", "WARNING",
		     "NVIDIA vendor filter not in pci.conf%s",
		     s->pci_filter < 0 ? " (/var/lib/one/remotes/etc/im/kvm-probes.d/pci.conf not found)"
		                       : "");
		vfix(v, "add :filter: \"10de:*\" to /var/lib/one/remotes/etc/im/kvm-probes.d/pci.conf, then "
		        "onehost sync -f");
	}
}

int fl_gpucheck_verb_host(struct fl_tool *t, const struct fl_gpucheck_verb *o)
{
	load_log_format(t);
	static struct fl_gpu_report r;
	static struct vreport v;
	memset(&v, 0, sizeof v);
	memset(&r, 0, sizeof r);
	char msg[512] = "";
	if (fl_gpu_sys_scan(&o->env, &r.sys, msg, sizeof msg) < 0)
		fl_warn("%s", msg);
	fl_gpu_report_names(&o->env, &r);
	host_iommu(&v, &r.sys);
	host_binding(&v, &r);
	host_one(&v, &r.sys);
	int rc = v.errors ? FL_EXIT_FAIL : FL_EXIT_OK;
	if (o->json) {
		json_t *j = vjson(&v, "host", rc == 0);
		json_object_set_new(j, "gpu", json_null());
		json_object_set_new(j, "gpus", json_gpus(&r));
		print_json(j);
		json_decref(j);
		return rc;
	}
	char summary[128];
	if (v.errors)
		snprintf(summary, sizeof summary,
		         "Host GPU passthrough validation FAILED: %d error(s), %d warning(s)", v.errors,
		         v.warnings);
	else if (v.warnings)
		snprintf(summary, sizeof summary,
		         "Host GPU passthrough validation PASSED with WARNINGS: %d warning(s)", v.warnings);
	else
		snprintf(summary, sizeof summary,
		         "Host GPU passthrough validation PASSED: All checks successful");
	vprint_text(&v, summary);
	return rc;
}
