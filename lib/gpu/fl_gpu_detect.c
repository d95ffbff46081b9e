/* fl_gpu_detect: the verdict. (placeholder: helper verdict) */
#include "fl_gpu_detect.h"

#include "fl_buf.h"

#include <string.h>

void fl_gpu_detect(const struct fl_gpu_env *env, unsigned what, struct fl_gpu_report *r)
{
	memset(r, 0, sizeof *r);
	char msg[256];
	fl_gpu_sys_scan(env, &r->sys, msg, sizeof msg);
	fl_nvml_query(env, &r->nvml);
	r->smi.status = -1;
	if (what & FL_GPU_WITH_CONTAINER)
		fl_gpu_container_scan(env, &r->ctr);
	fl_gpu_detect_decide(r);
}

void fl_gpu_detect_decide(struct fl_gpu_report *r)
{
	r->verdict = FL_GPU_NONE;
	r->gpu = -1;
}

const char *fl_gpu_detect_verdict_name(enum fl_gpu_verdict v)
{
	return v == FL_GPU_USABLE ? "usable" : "none";
}

void fl_gpu_detect_event(const struct fl_gpu_report *r, long long now_ms, struct fl_buf *b)
{
	(void)r, (void)now_ms;
	fl_buf_adds(b, "");
}
