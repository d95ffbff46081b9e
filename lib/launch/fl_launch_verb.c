/* fl_launch_verb: the work of fl-launch's verbs on an opened job: what they check, print and
 * publish, as text and diagnostics for cmd/ to say. */
#include "fl_cli.h"
#include "fl_launch_job.h"
#include "fl_onegate.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* e's message becomes d's last error line: what follows it (log lines) is said after it. */
static int fail_to(struct fl_diags *d, struct fl_err *e)
{
	fl_diags_add(d, FL_ERROR, "%s", e->msg);
	e->msg[0] = '\0';
	if (!e->code)
		e->code = FL_EXIT_FAIL;
	return -1;
}

int fl_launch_verb_print(const struct fl_launch_job *j, const struct fl_launch_args *a, struct fl_buf *out,
                         struct fl_diags *d, struct fl_err *e)
{
	(void)d;
	const char *what = a->verb;
	const struct fl_launch_plan *p = &j->p;
	bool proxy = strncmp(what, "proxy-", 6) == 0;
	if (proxy && !p->proxied)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "this plan has no Fleet proxy: only a SuperLink of Flower 1.40+ has one, unless "
		    "FL_CONTROL_API_EXPOSED=YES");
	bool metrics = strncmp(what, "metrics-", 8) == 0;
	if (metrics && !p->metrics)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "this plan runs no fl-metrics: a SuperLink runs `fl-metrics serve` when "
		                  "FL_METRICS_ENABLED=YES, a SuperNode `fl-metrics publish` when OneGate is "
		                  "configured (ONEGATE_ENDPOINT)");
	if (strcmp(what, "dcgm-unit") == 0) {
		if (!p->dcgm)
			return fl_err_set(
			    e, FL_EXIT_FAIL,
			    "this plan runs no DCGM Exporter: only a SuperNode under the docker "
			    "runtime with FL_DCGM_ENABLED=YES, FL_GPU_ENABLED=YES and a usable GPU "
			    "has one");
		fl_buf_adds(out, fl_buf_str(&p->dcgm_unit));
	} else if (strcmp(what, "metrics-argv") == 0)
		for (size_t i = 0; i < p->metrics_argv.n; i++)
			fl_buf_addf(out, "%s\n", p->metrics_argv.v[i]);
	else if (metrics)
		fl_buf_adds(out, fl_buf_str(&p->metrics_unit));
	else if (strcmp(what, "argv") == 0)
		for (size_t i = 0; i < p->argv.n; i++)
			fl_buf_addf(out, "%s\n", p->argv.v[i]);
	else if (proxy)
		fl_buf_adds(out,
		            fl_buf_str(strcmp(what, "proxy-conf") == 0 ? &p->proxy_conf : &p->proxy_unit));
	else
		fl_buf_adds(out, fl_buf_str(strcmp(what, "env") == 0 ? &p->env : &p->unit));
	return 0;
}

int fl_launch_verb_preflight(const struct fl_launch_job *j, const struct fl_launch_args *a,
                             struct fl_buf *out, struct fl_diags *d, struct fl_err *e)
{
	(void)a, (void)out;
	const struct fl_launch_opts *lo = &j->lo;
	/* The spec's gpu_detected / gpu_unavailable event (design 04 §3.2), one JSON line of its
	 * own on stderr: what the log collector reads beside Flower's own events. */
	if (j->gpu.event[0]) {
		fl_diags_log(d);
		fprintf(stderr, "%s\n", j->gpu.event);
		fflush(stderr);
	}
	char ver[32];
	fl_flower_version_format(&lo->version, ver, sizeof ver);
	fl_diags_add(d, FL_INFO, "Flower %s, era %s; %s runtime under %s", ver,
	             fl_flower_era_name(fl_flower_version_era(&lo->version)),
	             lo->runtime == FL_RUNTIME_DOCKER ? "docker" : "process",
	             lo->supervisor == FL_SUPERVISOR_SYSTEMD ? "systemd" : "no supervisor");
	bool sl = lo->role == FL_ROLE_SUPERLINK;
	char cert[4200];
	snprintf(cert, sizeof cert, "%s/certs/%s", j->flower_dir, sl ? "server.pem" : "ca.crt");
	if (lo->tls && access(cert, R_OK) != 0)
		return fl_err_set(e, FL_EXIT_FAIL, "TLS is on%s but %s is missing: run `fl-certgen %s` first",
		                  sl ? " (FL_TLS_ENABLED=YES)" : "", cert, sl ? "superlink" : "supernode");
	bool reached;
	if (fl_launch_trust_check(&j->p, lo, &reached, e) < 0) {
		fail_to(d, e);
		return fl_err_set(e, FL_EXIT_FAIL, "not starting %s: it could never connect", j->p.name);
	}
	if (!sl && lo->tls && !reached)
		fl_diags_add(d, FL_INFO, "SuperLink %s does not answer yet; Flower keeps trying once started",
		             j->p.a.superlink);
	return 0;
}

/* The last lines of its output as an error line. waiting: say how many, or that there are none. */
static void log_tail(const struct fl_launch_job *j, long lines, bool waiting, struct fl_diags *d)
{
	struct fl_buf tail = FL_BUF_INIT;
	fl_launch_log_tail(&j->p, &j->lo, (unsigned)lines, &tail);
	if (tail.len && waiting)
		fl_diags_add(d, FL_ERROR, "last %ld lines of %s:\n%s", lines, j->p.name, fl_buf_str(&tail));
	else if (tail.len)
		fl_diags_add(d, FL_ERROR, "last lines of %s:\n%s", j->p.name, fl_buf_str(&tail));
	else if (waiting)
		fl_diags_add(d, FL_ERROR, "%s has written no output yet", j->p.name);
	fl_buf_free(&tail);
}

int fl_launch_verb_start(const struct fl_launch_job *j, const struct fl_launch_args *a, struct fl_buf *out,
                         struct fl_diags *d, struct fl_err *e)
{
	(void)out;
	enum fl_launch_action act;
	struct fl_buf why = FL_BUF_INIT;
	int rc = fl_launch_start(&j->p, &j->lo, &act, &why, e);
	if (rc < 0) {
		fail_to(d, e);
		log_tail(j, a->lines, false, d);
	} else if (act == FL_LAUNCH_UNCHANGED) {
		fl_diags_add(d, FL_INFO, "%s already runs this configuration: left alone (not restarted)",
		             j->p.name);
	} else if (act == FL_LAUNCH_RESTARTED) {
		fl_diags_add(d, FL_WARN, "configuration changed (%s): restarted %s", fl_buf_str(&why),
		             j->p.name);
	} else {
		fl_diags_add(d, FL_INFO, "started %s", j->p.name);
	}
	fl_buf_free(&why);
	return rc;
}

/* 1 running (with its Fleet proxy, if planned), 0 not, -1 with e (out keeps what was known). */
static int status(const struct fl_launch_job *j, struct fl_buf *out, struct fl_err *e)
{
	const struct fl_launch_plan *p = &j->p;
	bool docker = j->lo.runtime == FL_RUNTIME_DOCKER;
	pid_t pid = 0;
	int r = fl_launch_running(p, &j->lo, &pid, e);
	if (r < 0)
		return -1;
	fl_buf_addf(out, "SERVICE=%s\nRUNNING=%s\n", p->name, r ? "yes" : "no");
	if (pid)
		fl_buf_addf(out, "PID=%ld\n", (long)pid);
	fl_buf_addf(out, "RUNTIME=%s\nSUPERVISOR=%s\nLOG=%s\n", docker ? "docker" : "process",
	            j->lo.supervisor == FL_SUPERVISOR_SYSTEMD ? "systemd" : "none",
	            docker ? "docker logs" : p->log_path);
	/* fl-metrics is said, never part of "running": Flower runs without it. */
	if (p->metrics) {
		pid_t mpid = 0;
		struct fl_err me = {0};
		int mr = fl_launch_metrics_running(p, &j->lo, &mpid, &me);
		fl_buf_addf(out, "METRICS=%s\nMETRICS_RUNNING=%s\n", p->metrics_name,
		            mr > 0    ? "yes"
		            : mr == 0 ? "no"
		                      : "unknown");
		if (mpid)
			fl_buf_addf(out, "METRICS_PID=%ld\n", (long)mpid);
	}
	/* A SuperNode: the GPU decision the last start recorded (read, never detected here) and
	 * the DCGM exporter, said like fl-metrics. */
	struct fl_launch_gpu g;
	if (p->gpu_path && fl_launch_gpu_recorded(p->gpu_path, &g) == 0)
		fl_buf_addf(out, "GPU_AVAILABLE=%s\nGPU_REASON=%s\n", g.usable ? "YES" : "NO", g.reason);
	if (p->dcgm_unit_path && access(p->dcgm_unit_path, F_OK) == 0) {
		struct fl_err de = {0};
		int dr = fl_launch_dcgm_running(p, &j->lo, &de);
		fl_buf_addf(out, "DCGM=%s\nDCGM_RUNNING=%s\n", FL_LAUNCH_DCGM_NAME,
		            dr > 0    ? "yes"
		            : dr == 0 ? "no"
		                      : "unknown");
	}
	if (!p->proxied)
		return r;
	/* Era C: the Fleet proxy is part of the service; not running is not running. */
	pid_t ppid = 0;
	int pr = fl_launch_proxy_running(p, &j->lo, &ppid, e);
	if (pr < 0)
		return -1;
	fl_buf_addf(out, "PROXY=%s\nPROXY_RUNNING=%s\n", p->proxy_name, pr ? "yes" : "no");
	if (ppid)
		fl_buf_addf(out, "PROXY_PID=%ld\n", (long)ppid);
	fl_buf_addf(out, "PROXY_ADDRESS=%s\n", p->a.proxy);
	return r && pr;
}

int fl_launch_verb_status(const struct fl_launch_job *j, const struct fl_launch_args *a, struct fl_buf *out,
                          struct fl_diags *d, struct fl_err *e)
{
	(void)a, (void)d;
	int r = status(j, out, e);
	/* Not running: exit 1, nothing more to say. */
	return r > 0 ? 0 : r < 0 ? -1 : fl_err_set(e, FL_EXIT_FAIL, "%s", "");
}

int fl_launch_verb_show(const struct fl_launch_job *j, const struct fl_launch_args *a, struct fl_buf *out,
                        struct fl_diags *d, struct fl_err *e)
{
	(void)a, (void)d, (void)e;
	const struct fl_launch_addrs *ad = &j->p.a;
	char ver[32];
	fl_launch_running_version(&j->p, ver, sizeof ver);
	if (j->lo.role == FL_ROLE_SUPERLINK) {
		fl_buf_addf(out, "FL_ENDPOINT=%s\nFL_FLEET_ADDRESS=%s\nFL_CONTROL_ADDRESS=%s\n", ad->endpoint,
		            ad->fleet_probe, ad->control);
		if (ad->health[0])
			fl_buf_addf(out, "FL_HEALTH_ADDRESS=%s\n", ad->health);
		if (j->p.metrics_endpoint[0])
			fl_buf_addf(out, "FL_METRICS_ENDPOINT=%s\n", j->p.metrics_endpoint);
	} else {
		fl_buf_addf(out, "FL_SUPERLINK_ADDRESS=%s\n", ad->superlink);
	}
	fl_buf_addf(out, "FL_TLS=%s\nFL_VERSION=%s\n", j->lo.tls ? "YES" : "NO", ver);
	return 0;
}

int fl_launch_verb_logs(const struct fl_launch_job *j, const struct fl_launch_args *a, struct fl_buf *out,
                        struct fl_diags *d, struct fl_err *e)
{
	(void)d, (void)e;
	fl_launch_log_tail(&j->p, &j->lo, (unsigned)a->lines, out);
	return 0;
}

int fl_launch_verb_install(const struct fl_launch_job *j, const struct fl_launch_args *a, struct fl_buf *out,
                           struct fl_diags *d, struct fl_err *e)
{
	(void)a, (void)out, (void)d;
	bool changed;
	return fl_launch_install(&j->p, &j->lo, &changed, e);
}

int fl_launch_verb_stop(const struct fl_launch_job *j, const struct fl_launch_args *a, struct fl_buf *out,
                        struct fl_diags *d, struct fl_err *e)
{
	(void)a, (void)out, (void)d;
	return fl_launch_stop(&j->p, &j->lo, 45000, e);
}

int fl_launch_verb_health(const struct fl_launch_job *j, const struct fl_launch_args *a, struct fl_buf *out,
                          struct fl_diags *d, struct fl_err *e)
{
	(void)a, (void)out;
	bool final;
	if (fl_launch_health(&j->p, &j->lo, &final, e) < 0)
		return -1;
	fl_diags_add(d, FL_INFO, "%s healthy", j->p.name);
	return 0;
}

int fl_launch_verb_image(const struct fl_launch_job *j, const struct fl_launch_args *a, struct fl_buf *out,
                         struct fl_diags *d, struct fl_err *e)
{
	struct fl_version v;
	if (fl_launch_image(j->lo.docker, fl_launch_job_repo(j, a), fl_ctx_value(&j->c, FLV_FLOWER_VERSION),
	                    j->prebaked, 600000, &v, d, e) < 0)
		return -1;
	char ver[32];
	fl_flower_version_format(&v, ver, sizeof ver);
	fl_buf_addf(out, "%s\n", ver);
	return 0;
}

/* --- OneGate --- */

int fl_launch_verb_reason_check(const char *reason, struct fl_err *e)
{
	size_t n = strlen(reason);
	if (n && n <= 64 && strspn(reason, "abcdefghijklmnopqrstuvwxyz0123456789_") == n)
		return 0;
	fl_err_set(e, FL_EXIT_USAGE,
	           "publish-error: REASON '%s' must be 1-64 of a-z, 0-9 and _ (e.g. docker_start_failed)",
	           reason);
	return FL_LAUNCH_USAGE;
}

/* The identity the options name: --one-env, --token-file, the environment. */
static int identity(const struct fl_launch_args *a, struct fl_identity *id, struct fl_err *e)
{
	struct fl_identity_src s = {.envp = a->envp,
	                            .one_env = a->one_env ? a->one_env : FL_CTX_DEFAULT_PATH,
	                            .token_file = a->token_file ? a->token_file : FL_CTX_DEFAULT_TOKEN,
	                            .complete = true};
	return fl_identity_load(id, &s, e);
}

/* Publish with the identity identity() loaded (id_rc its result, e its error). Best effort or
 * not, a failed publication says what SuperNodes must do without it. */
static int publish(const struct fl_identity *id, int id_rc, const struct fl_argv *pairs, bool erase_error,
                   bool best_effort, struct fl_diags *d, struct fl_err *e)
{
	if (id_rc == 0 && fl_launch_publish(id, pairs, erase_error, e) == 0) {
		struct fl_buf keys = FL_BUF_INIT;
		for (size_t i = 0; i < pairs->n; i++)
			fl_buf_addf(&keys, "%s%.*s", i ? " " : "", (int)strcspn(pairs->v[i], "="),
			            pairs->v[i]);
		fl_diags_add(d, FL_INFO, "Published %s to OneGate", fl_buf_str(&keys));
		fl_buf_free(&keys);
		return 0;
	}
	fl_diags_add(d, best_effort ? FL_WARN : FL_ERROR, "%s", e->msg);
	bool sl = false;
	for (size_t i = 0; i < pairs->n; i++)
		sl |= strncmp(pairs->v[i], "FL_ENDPOINT=", 12) == 0;
	fl_diags_add(d, FL_WARN, "%s",
	             sl ? "OneGate publication failed. SuperNodes must use static FL_SUPERLINK_ADDRESS."
	                : "OneGate publication failed.");
	if (best_effort)
		return 0;
	e->msg[0] = '\0';
	if (!e->code)
		e->code = FL_EXIT_FAIL;
	return -1;
}

static int publish_error(const struct fl_launch_job *j, const struct fl_launch_args *a, const char *reason,
                         bool best_effort, struct fl_diags *d, struct fl_err *e)
{
	struct fl_argv pairs = FL_ARGV_INIT;
	fl_argv_add(&pairs, j->lo.role == FL_ROLE_SUPERLINK ? "FL_READY=NO" : "FL_NODE_READY=NO");
	fl_argv_addf(&pairs, "FL_ERROR=%s", reason);
	struct fl_identity id = {0};
	int id_rc = identity(a, &id, e);
	int rc = publish(&id, id_rc, &pairs, false, best_effort, d, e);
	fl_identity_free(&id);
	fl_argv_free(&pairs);
	return rc;
}

int fl_launch_verb_publish_error(const struct fl_launch_job *j, const struct fl_launch_args *a,
                                 struct fl_buf *out, struct fl_diags *d, struct fl_err *e)
{
	(void)out;
	return publish_error(j, a, a->reason, a->best_effort, d, e);
}

int fl_launch_verb_publish_ready(const struct fl_launch_job *j, const struct fl_launch_args *a,
                                 struct fl_buf *out, struct fl_diags *d, struct fl_err *e)
{
	(void)out;
	bool final;
	if (fl_launch_health(&j->p, &j->lo, &final, e) < 0) {
		/* Never YES after a failed check. */
		fl_diags_add(d, FL_ERROR, "%s: not publishing readiness", e->msg);
		e->msg[0] = '\0';
		e->code = FL_EXIT_FAIL;
		return -1;
	}
	/* One identity: the SuperNode's FL_NODE_ID and the request's headers. */
	struct fl_identity id = {0};
	struct fl_err ie = {0};
	int id_rc = identity(a, &id, &ie);
	struct fl_argv pairs = FL_ARGV_INIT;
	int rc = fl_launch_ready_pairs(&j->p, &j->lo, id.vmid, &pairs, e);
	/* Both roles erase a stale FL_ERROR: READY=YES beside an old error would contradict it. */
	if (rc == 0 && publish(&id, id_rc, &pairs, true, a->best_effort, d, &ie) < 0) {
		*e = ie;
		rc = -1;
	}
	fl_identity_free(&id);
	fl_argv_free(&pairs);
	return rc;
}

int fl_launch_verb_wait_healthy(const struct fl_launch_job *j, const struct fl_launch_args *a,
                                struct fl_buf *out, struct fl_diags *d, struct fl_err *e)
{
	(void)out;
	bool sl = j->lo.role == FL_ROLE_SUPERLINK;
	long timeout_s = a->timeout_s > 0 ? a->timeout_s : sl ? 120 : 60;
	long interval_s = a->interval_s > 0 ? a->interval_s : sl ? 2 : 1;
	bool final = false;
	if (fl_launch_wait_healthy(&j->p, &j->lo, timeout_s * 1000, interval_s * 1000, &final, e) == 0)
		return 0;
	fail_to(d, e);
	log_tail(j, a->lines, true, d);
	if (sl && !a->no_publish) {
		struct fl_err pe = {0};
		publish_error(j, a, final ? "health_check_failed" : "health_check_timeout", true, d, &pe);
	}
	e->code = final ? FL_EXIT_FAIL : FL_EXIT_TIMEOUT;
	return -1;
}

static const struct fl_launch_verb verbs[] = {
    {"argv|env|unit|proxy-conf|proxy-unit|metrics-argv|metrics-unit|dcgm-unit",
     FL_LAUNCH_JOB_PRINT,
     {fl_launch_verb_print, NULL}},
    {"install", FL_LAUNCH_JOB_INSTALL, {fl_launch_verb_install, NULL}},
    {"start", FL_LAUNCH_JOB_START, {fl_launch_verb_preflight, fl_launch_verb_start}},
    {"stop", FL_LAUNCH_JOB_STOP, {fl_launch_verb_stop, NULL}},
    {"status", FL_LAUNCH_JOB_CHECK, {fl_launch_verb_status, NULL}},
    {"show", FL_LAUNCH_JOB_CHECK, {fl_launch_verb_show, NULL}},
    {"logs", FL_LAUNCH_JOB_CHECK, {fl_launch_verb_logs, NULL}},
    {"health", FL_LAUNCH_JOB_CHECK, {fl_launch_verb_health, NULL}},
    {"wait-healthy", FL_LAUNCH_JOB_CHECK, {fl_launch_verb_wait_healthy, NULL}},
    {"publish-ready", FL_LAUNCH_JOB_CHECK, {fl_launch_verb_publish_ready, NULL}},
    {"publish-error", FL_LAUNCH_JOB_CHECK, {fl_launch_verb_publish_error, NULL}},
    {"image", FL_LAUNCH_JOB_IMAGE, {fl_launch_verb_image, NULL}},
};

const struct fl_launch_verb *fl_launch_verb_find(const char *verb)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (fl_cli_verb_in(verbs[i].verbs, verb))
			return &verbs[i];
	return NULL;
}
