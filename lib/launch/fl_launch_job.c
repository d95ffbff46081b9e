/* fl_launch_job: the job one fl-launch verb works on: the loaded configuration checked for the
 * role, options resolved, plan made, as much as the verb needs. */
#include "fl_launch_job.h"
#include "fl_log.h"
#include "fl_validate.h"

#include <stdio.h>
#include <string.h>

static bool diags_said(const struct fl_diags *d, const struct fl_diag *g)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].level == g->level && strcmp(d->v[i].msg, g->msg) == 0)
			return true;
	return false;
}

/* Add the diagnostics of src of at least min to d, each once (validation and the plan may say
 * the same thing: keepalive on Flower 1.40+); free src. */
static void diags_keep(struct fl_diags *d, struct fl_diags *src, enum fl_level min)
{
	for (size_t i = 0; i < src->n; i++)
		if (src->v[i].level >= min && !diags_said(d, &src->v[i]))
			fl_diags_add(d, src->v[i].level, "%s", src->v[i].msg);
	fl_diags_free(src);
}

int fl_launch_job_check(struct fl_launch_job *j, const struct fl_launch_args *a, enum fl_level min,
                        struct fl_diags *d, struct fl_err *e)
{
	j->lo.role = a->role ? a->role : j->c.rendered_role;
	if (j->lo.role != FL_ROLE_SUPERLINK && j->lo.role != FL_ROLE_SUPERNODE) {
		fl_err_set(e, FL_EXIT_USAGE, "a role is needed: --role superlink or --role supernode");
		return FL_LAUNCH_USAGE;
	}
	struct fl_diags v = FL_DIAGS_INIT;
	unsigned errors = fl_validate_ctx(&j->c, j->lo.role, &v);
	diags_keep(d, &v, min);
	if (!errors)
		return 0;
	fl_diags_add(d, FL_FATAL, "%u configuration error(s). Aborting boot.", errors);
	return fl_err_set(e, FL_EXIT_FAIL, "%s", "");
}

/* Docker: wait for the daemon and settle the image version before planning. */
static int docker_version(struct fl_launch_job *j, const struct fl_launch_args *a, struct fl_diags *d,
                          struct fl_err *e)
{
	if (fl_launch_wait_docker(j->lo.docker, 60000, 1000, e) < 0)
		return -1;
	if (a->flower_version)
		return 0;
	return fl_launch_image(j->lo.docker, fl_launch_job_repo(j, a),
	                       fl_ctx_value(&j->c, FLV_FLOWER_VERSION), j->prebaked, 600000, &j->lo.version,
	                       d, e);
}

/* A version for a plan that only needs names, paths and addresses. */
static void version_fallback(struct fl_launch_job *j, enum fl_launch_job_mode mode)
{
	struct fl_version *v = &j->lo.version;
	if (mode == FL_LAUNCH_JOB_STOP && !v->major)
		fl_flower_version_parse(FL_FLOWER_OLDEST, v);
	if (mode == FL_LAUNCH_JOB_CHECK && !v->major && !v->minor &&
	    (j->lo.runtime == FL_RUNTIME_PROCESS ||
	     fl_flower_version_parse(fl_ctx_value(&j->c, FLV_FLOWER_VERSION), v) < 0))
		fl_flower_version_parse(FL_FLOWER_OLDEST, v);
}

/* A SuperNode's GPU decision, made only by the verbs whose plan depends on it: print, install,
 * start; publish-ready reads what start recorded (and decides when there is no record). The
 * others (status, health, stop, logs) plan without it: no GPU flag, no NVML. */
static void gpu(struct fl_launch_job *j, const struct fl_launch_args *a, enum fl_launch_job_mode mode,
                struct fl_diags *d)
{
	bool plan =
	    mode == FL_LAUNCH_JOB_PRINT || mode == FL_LAUNCH_JOB_INSTALL || mode == FL_LAUNCH_JOB_START;
	bool publish = a->verb && strcmp(a->verb, "publish-ready") == 0;
	if (j->lo.role != FL_ROLE_SUPERNODE || !(plan || publish))
		return;
	if (publish) {
		char path[4200];
		snprintf(path, sizeof path, "%s/config/flower-supernode.gpu", j->flower_dir);
		if (fl_launch_gpu_recorded(path, &j->gpu) == 0) {
			j->lo.gpu_decision = &j->gpu;
			return;
		}
	}
	fl_launch_gpu_decide(&j->c, &j->lo, a->gpu, a->gpu_root, &j->gpu, d);
	j->lo.gpu = j->gpu.usable;
	j->lo.gpu_decision = &j->gpu;
}

int fl_launch_job_open(struct fl_launch_job *j, const struct fl_launch_args *a, enum fl_launch_job_mode mode,
                       struct fl_diags *d, struct fl_err *e)
{
	bool check = mode == FL_LAUNCH_JOB_CHECK;
	int rc = fl_launch_job_check(j, a, check ? FL_ERROR : FL_WARN, d, e);
	if (rc)
		return rc;
	/* A native Flower tells its version cheaply (dist-info); addresses depend on it. */
	bool asked = a->flower_version || a->runtime == FL_RUNTIME_PROCESS;
	bool need = mode == FL_LAUNCH_JOB_PRINT || mode == FL_LAUNCH_JOB_INSTALL ||
	            ((mode == FL_LAUNCH_JOB_START || check) && asked);
	rc = fl_launch_resolve(a, j, need, e);
	if (rc || mode == FL_LAUNCH_JOB_IMAGE)
		return rc;
	if (mode == FL_LAUNCH_JOB_START && j->lo.runtime == FL_RUNTIME_DOCKER &&
	    docker_version(j, a, d, e) < 0)
		return -1;
	version_fallback(j, mode);
	struct fl_diags pd = FL_DIAGS_INIT;
	gpu(j, a, mode, &pd);
	enum fl_level min = mode == FL_LAUNCH_JOB_INSTALL || mode == FL_LAUNCH_JOB_START ? FL_DEBUG
	                    : mode == FL_LAUNCH_JOB_PRINT                                ? FL_WARN
	                                                                                 : FL_ERROR;
	rc = fl_launch_plan(&j->c, &j->lo, &j->p, &pd, e);
	if (rc == 0) {
		fl_launch_metrics_plan(&j->c, &j->lo, &j->p, &pd);
		fl_launch_dcgm_plan(&j->c, &j->lo, &j->p, &pd);
	}
	diags_keep(d, &pd, min);
	if (rc < 0)
		return -1;
	j->planned = true;
	return 0;
}

void fl_launch_job_free(struct fl_launch_job *j)
{
	if (j->planned)
		fl_launch_plan_free(&j->p);
	if (j->loaded)
		fl_ctx_free(&j->c);
	fl_cert_onegate_free(&j->og);
	j->planned = j->loaded = false;
}

const char *fl_launch_job_repo(const struct fl_launch_job *j, const struct fl_launch_args *a)
{
	return a->image ? a->image : j->lo.role == FL_ROLE_SUPERLINK ? "flwr/superlink" : "flwr/supernode";
}
