/* fl_gpucheck_verb: what fl-gpucheck's verbs do once the options are known: vm (the spec's
 * validate-gpu.sh), host (validate-host-gpu.sh) and detect (the boot check); text with the
 * spec's lines, --json per design 04 §8.1, --env, --events. Each returns the exit status. */
#ifndef FL_GPUCHECK_VERB_H
#define FL_GPUCHECK_VERB_H

#include "fl_gpu.h"
#include "fl_tool.h"

#include <stdbool.h>

struct fl_gpucheck_verb {
	struct fl_gpu_env env; /* --root, --nvml, --nvidia-smi, --docker, --daemon-json, --image, --timeout */
	bool json;             /* --json */
	bool no_docker;        /* --no-docker (vm): skip the container smoke test */
	bool events;           /* --events: the spec's gpu_detected / gpu_unavailable line */
	bool env_out;          /* --env (detect): FL_GPU_NAME=... too */
	bool require;          /* --require (detect): no GPU is a failure */
	bool strict;           /* --strict (vm): [extra] checks count as errors */
};

int fl_gpucheck_verb_vm(struct fl_tool *t, const struct fl_gpucheck_verb *o);
int fl_gpucheck_verb_host(struct fl_tool *t, const struct fl_gpucheck_verb *o);
int fl_gpucheck_verb_detect(struct fl_tool *t, const struct fl_gpucheck_verb *o);

#endif
