/* fl-gpucheck: know the GPU before training. vm and host are the spec's two validation
 * scripts; detect is the boot check whose verdict fl-launch also uses (through libfl). */
#include "fl_gpucheck_verb.h"
#include "fl_tool.h"

#include <stddef.h>
#include <stdint.h>

static const char usage_text[] =
    "usage: fl-gpucheck [options] vm [--json] [--no-docker] [--image IMAGE] [--events] [--strict]\n"
    "       fl-gpucheck [options] host [--json]\n"
    "       fl-gpucheck [options] detect [--env] [--json] [--events] [--require]\n";

static const char help_text[] =
    "\n"
    "vm       inside the SuperNode VM: nvidia module, GPU (NVML), the container toolkit,\n"
    "         a container that sees the GPU, the driver version (the spec's validate-gpu.sh)\n"
    "host     on the KVM host: IOMMU, vfio-pci, GPUs bound to vfio-pci, udev rule,\n"
    "         OpenNebula's PCI filter (the spec's validate-host-gpu.sh)\n"
    "detect   the boot check: FL_GPU_AVAILABLE=YES|NO, and on a broken GPU its cause and fix\n"
    "\n";

static const char help_end[] =
    "\n"
    "exit status: 0 ok (detect: a usable GPU, or none on a machine that may train on CPU),\n"
    "             1 a check failed or a GPU is present but broken (detect --require: or\n"
    "             absent), 2 usage error.\n";

enum {
	OPT_JSON = FL_TOOL_OWN,
	OPT_NO_DOCKER,
	OPT_IMAGE,
	OPT_EVENTS,
	OPT_ENV,
	OPT_REQUIRE,
	OPT_STRICT,
	OPT_ROOT,
	OPT_NVML,
	OPT_SMI,
	OPT_DOCKER,
	OPT_DAEMON_JSON,
	OPT_TIMEOUT,
};

static int vm(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	return fl_gpucheck_verb_vm(t, t->data);
}

static int host(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	return fl_gpucheck_verb_host(t, t->data);
}

static int detect(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	return fl_gpucheck_verb_detect(t, t->data);
}

static int option(struct fl_tool *t, int ch, const char *arg)
{
	struct fl_gpucheck_verb *o = t->data;
	uint64_t ms;
	switch (ch) {
	case OPT_JSON: o->json = true; break;
	case OPT_NO_DOCKER: o->no_docker = true; break;
	case OPT_IMAGE: o->env.image = arg; break;
	case OPT_EVENTS: o->events = true; break;
	case OPT_ENV: o->env_out = true; break;
	case OPT_REQUIRE: o->require = true; break;
	case OPT_STRICT: o->strict = true; break;
	case OPT_ROOT: o->env.root = arg; break;
	case OPT_NVML: o->env.nvml = arg; break;
	case OPT_SMI: o->env.nvidia_smi = arg; break;
	case OPT_DOCKER: o->env.docker = arg; break;
	case OPT_DAEMON_JSON: o->env.daemon_json = arg; break;
	case OPT_TIMEOUT:
		if (fl_tool_seconds(t, "--timeout", arg, &ms))
			return FL_EXIT_USAGE;
		if (ms == 0)
			return fl_tool_usage_error(t, "--timeout must be more than 0 seconds");
		o->env.timeout_ms = (long)ms;
		break;
	}
	return 0;
}

static const struct fl_tool_opt opts[] = {
    {"json", 0, OPT_JSON, NULL, NULL, "the report as one JSON object"},
    {"no-docker", 0, OPT_NO_DOCKER, "vm", NULL, "vm: skip the container smoke test (reported as INFO)"},
    {"image", 1, OPT_IMAGE, "vm", "IMAGE",
     "vm: the smoke test's image (default nvidia/cuda:12.0.0-base-ubuntu22.04)"},
    {"events", 0, OPT_EVENTS, "vm|detect", NULL,
     "also the spec's gpu_detected or gpu_unavailable JSON event line"},
    {"env", 0, OPT_ENV, "detect", NULL,
     "detect: FL_GPU_NAME, FL_GPU_MEMORY_MB, FL_GPU_DRIVER, FL_GPU_COUNT,\nFL_GPU_REASON and "
     "FL_GPU_DOCKER_FLAGS too"},
    {"require", 0, OPT_REQUIRE, "detect", NULL, "detect: no GPU is a failure (exit 1)"},
    {"strict", 0, OPT_STRICT, "vm", NULL, "vm: the [extra] checks count as errors"},
    {"root", 1, OPT_ROOT, NULL, "DIR",
     "read /sys, /proc, /dev and /etc under DIR (fixture trees; default /)"},
    {"nvml", 1, OPT_NVML, NULL, "LIB", "the NVML library to load (default libnvidia-ml.so.1)"},
    {"nvidia-smi", 1, OPT_SMI, NULL, "PATH",
     "the nvidia-smi of the cross-check (default from PATH; \"\" none)"},
    {"docker", 1, OPT_DOCKER, "vm|detect", "PATH", "the docker CLI (default /usr/bin/docker)"},
    {"daemon-json", 1, OPT_DAEMON_JSON, "vm|detect", "FILE",
     "Docker's daemon configuration (default /etc/docker/daemon.json)"},
    {"timeout", 1, OPT_TIMEOUT, NULL, "SECONDS", "for each command run: nvidia-smi, docker (60)"},
};

static const struct fl_tool_verb verbs[] = {
    {"vm", 0, 0, NULL, vm},
    {"host", 0, 0, NULL, host},
    {"detect", 0, 0, NULL, detect},
};

int main(int argc, char **argv)
{
	static struct fl_gpucheck_verb o;
	static struct fl_tool t = {
	    .name = "fl-gpucheck",
	    .usage = usage_text,
	    .help = help_text,
	    .help_end = help_end,
	    FL_TOOL_TABLES(opts, verbs),
	    .flags = FL_TOOL_RENDERED | FL_TOOL_ENV_FALLBACK,
	    .declines = FL_TOOL_C_FORMAT,
	    .decline_why = "fl-gpucheck takes --json",
	    .option = option,
	    .data = &o,
	};
	return fl_tool_main(&t, argc, argv);
}
