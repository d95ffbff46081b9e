/* fl_launch_publish: readiness as OneGate sees it (design 01 §5): the attributes a healthy
 * SuperLink or SuperNode publishes, in one PUT, and the stale FL_ERROR erased. */
#include "fl_cert_io.h"
#include "fl_fs.h"
#include "fl_launch.h"
#include "fl_log.h"
#include "fl_onegate.h"
#include "fl_retry.h"
#include "fl_var.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fl_launch_running_version(const struct fl_launch_plan *p, char *out, size_t n)
{
	char *text = NULL;
	size_t len;
	snprintf(out, n, "%s", p->version);
	if (fl_fs_read(p->state_path, (size_t)256 * 1024, &text, &len, NULL) < 0)
		return;
	const char *v = strstr(text, "\nversion ");
	if (v) {
		v += 9;
		size_t k = strcspn(v, "\n");
		snprintf(out, n, "%.*s", (int)(k < 31 ? k : 31), v);
	}
	free(text);
}

int fl_launch_ready_pairs(const struct fl_launch_plan *p, const struct fl_launch_opts *o, const char *vmid,
                          struct fl_argv *pairs, struct fl_err *e)
{
	char ver[32];
	fl_launch_running_version(p, ver, sizeof ver);
	if (o->role == FL_ROLE_SUPERNODE) {
		fl_argv_add(pairs, "FL_NODE_READY=YES");
		fl_argv_addf(pairs, "FL_NODE_ID=%s", vmid ? vmid : "");
		fl_argv_addf(pairs, "FL_VERSION=%s", ver);
		/* The GPU decision the SuperNode runs with (decision 15: the CPU fallback published). */
		struct fl_launch_gpu none = {.decided = true};
		fl_launch_gpu_pairs(o->gpu_decision ? o->gpu_decision : &none, pairs);
		return 0;
	}
	if (!p->a.endpoint[0])
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "cannot tell the VM's address for FL_ENDPOINT: pass --addr IP");
	fl_argv_add(pairs, "FL_READY=YES");
	fl_argv_addf(pairs, "FL_ENDPOINT=%s", p->a.endpoint);
	fl_argv_addf(pairs, "FL_VERSION=%s", ver);
	fl_argv_add(pairs, "FL_ROLE=superlink");
	fl_argv_addf(pairs, "FL_TLS=%s", o->tls ? "YES" : "NO");
	/* Where Prometheus scrapes fl-metrics (a file_sd generator reads it from OneGate). */
	if (p->metrics_endpoint[0])
		fl_argv_addf(pairs, "FL_METRICS_ENDPOINT=%s", p->metrics_endpoint);
	if (!o->tls)
		return 0;
	char ca[4200];
	snprintf(ca, sizeof ca, "%s/certs/ca.crt", o->flower_dir);
	char *pem = NULL;
	size_t len = 0;
	if (fl_fs_read(ca, (size_t)256 * 1024, &pem, &len, e) < 0)
		return -1;
	/* FL_CA_CERT is readable by every VM of the service: only the certificates, re-encoded,
	 * never whatever else the file holds (a key appended by mistake, comments). */
	char *certs = NULL, extra[160];
	size_t clen = 0;
	int rc = fl_cert_pem_reencode(ca, pem, len, &certs, &clen, extra, sizeof extra, e);
	fl_cert_io_wipe_free(pem, len);
	if (rc < 0)
		return -1;
	if (extra[0])
		fl_warn("%s holds more than certificates (%s): only its certificates are published as "
		        "FL_CA_CERT; remove the rest (the directory is mounted into the container), or "
		        "rerun fl-certgen superlink",
		        ca, extra);
	char *b64 = fl_cert_io_b64(certs, clen);
	free(certs);
	fl_argv_addf(pairs, "FL_CA_CERT=%s", b64);
	free(b64);
	return 0;
}

int fl_launch_publish(const struct fl_identity *id, const struct fl_argv *pairs, bool erase_error,
                      struct fl_err *e)
{
	struct fl_buf data = FL_BUF_INIT;
	if (fl_onegate_publish_data(pairs->v, pairs->n, &data, e) < 0) {
		fl_buf_free(&data);
		return -1;
	}
	struct fl_onegate_opts go = {0};
	go.endpoint = id->endpoint;
	go.vmid = id->vmid;
	go.token = id->token;
	go.deadline_ms = 60000;
	struct fl_onegate g;
	if (fl_onegate_open(&g, &go, e) < 0) {
		fl_buf_free(&data);
		return -1;
	}
	/* Erasing an absent attribute is an error in OneGate: look first. */
	bool had_error = false;
	if (erase_error) {
		struct fl_onegate_vm vm;
		if (fl_onegate_vm_get(&g, NULL, &vm, NULL) == 0) {
			had_error = fl_onegate_vm_attr(&vm, "FL_ERROR") != NULL;
			fl_onegate_vm_free(&vm);
		}
	}
	int rc = fl_onegate_update(&g, NULL, fl_buf_str(&data), 1, false, e);
	if (rc == 0 && had_error)
		rc = fl_onegate_update(&g, NULL, "FL_ERROR", 2, false, e);
	fl_onegate_close(&g);
	fl_buf_free(&data);
	return rc;
}

int fl_launch_wait_healthy(const struct fl_launch_plan *p, const struct fl_launch_opts *o, long timeout_ms,
                           long interval_ms, bool *final, struct fl_err *e)
{
	uint64_t t0 = fl_clock_now_ms(NULL);
	for (unsigned attempt = 1;; attempt++) {
		if (fl_launch_health(p, o, final, e) == 0) {
			fl_info("%s healthy after %.1f s (check %u)", p->name,
			        (double)(fl_clock_now_ms(NULL) - t0) / 1000, attempt);
			return 0;
		}
		fl_debug("check %u: %s", attempt, e->msg);
		if (*final)
			return -1;
		if (fl_clock_now_ms(NULL) - t0 + (uint64_t)interval_ms > (uint64_t)timeout_ms) {
			char why[sizeof e->msg];
			snprintf(why, sizeof why, "%s", e->msg);
			return fl_err_set(e, FL_EXIT_TIMEOUT, "%s; %s health check timed out after %lds", why,
			                  o->role == FL_ROLE_SUPERLINK ? "SuperLink" : "SuperNode",
			                  timeout_ms / 1000);
		}
		fl_clock_sleep_ms(NULL, (uint64_t)interval_ms);
	}
}

int fl_launch_find_exe(const char *bin, const char *name, char *out, size_t n, struct fl_err *e)
{
	struct stat st;
	out[0] = '\0';
	if (bin && stat(bin, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(out, n, "%s/%s", bin, name);
	} else if (bin) {
		snprintf(out, n, "%s", bin);
	} else {
		const char *path = getenv("PATH");
		for (const char *s = path ? path : ""; *s;) {
			size_t len = strcspn(s, ":");
			char cand[4096];
			snprintf(cand, sizeof cand, "%.*s/%s", (int)len, s, name);
			if (len && cand[0] == '/' && access(cand, X_OK) == 0) {
				snprintf(out, n, "%s", cand);
				break;
			}
			s += len + (s[len] == ':');
		}
		if (!out[0])
			return fl_err_set(
			    e, FL_EXIT_FAIL,
			    "%s not found in PATH: install Flower (pip install flwr) or pass --flower-bin",
			    name);
	}
	if (out[0] != '/' || access(out, X_OK) != 0)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s is not an executable given by an absolute path (--flower-bin)", out);
	return 0;
}
