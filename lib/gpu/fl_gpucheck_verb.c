/* fl_gpucheck_verb: fl-gpucheck's verbs once the options are known. detect is the boot check
 * (KEY=VALUE lines, --json, --events); vm and host are the spec's validation scripts. */
#include "fl_gpucheck_verb.h"

#include "fl_argv.h"
#include "fl_buf.h"
#include "fl_err.h"
#include "fl_gpu_detect.h"
#include "fl_log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
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
		                      json_pack("{s:s, s:o, s:s, s:o, s:i}", "bdf", p->bdf, "name",
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

int fl_gpucheck_verb_vm(struct fl_tool *t, const struct fl_gpucheck_verb *o)
{
	(void)t, (void)o;
	return FL_EXIT_FAIL;
}

int fl_gpucheck_verb_host(struct fl_tool *t, const struct fl_gpucheck_verb *o)
{
	(void)t, (void)o;
	return FL_EXIT_FAIL;
}
