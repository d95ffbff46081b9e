/* fl_nvml: NVML through dlopen. (placeholder: helper nvml) */
#include "fl_nvml.h"

#include <stdio.h>
#include <string.h>

int fl_nvml_query(const struct fl_gpu_env *env, struct fl_nvml *n)
{
	(void)env;
	memset(n, 0, sizeof *n);
	n->status = FL_NVML_LOAD_FAILED;
	n->cuda_major = n->cuda_minor = -1;
	snprintf(n->error, sizeof n->error, "not built yet");
	return n->status;
}

const char *fl_nvml_code_name(int status)
{
	(void)status;
	return "NVML error";
}
