/* fl_launch_gpu: a SuperNode's GPU decision from fl-gpucheck's verdict (fl_gpu_detect, in-process,
 * no subprocess): GPU flags only with a usable GPU, the CPU fallback's cause and fix, the spec's
 * gpu_detected / gpu_unavailable event, and the record publish-ready reads. Facts: design 04
 * §1.5 §1.6 §3.2 §8.2; decisions 9, 12 and 15. */
#include "fl_fs.h"
#include "fl_gpu_detect.h"
#include "fl_launch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECORD_MAX ((size_t)4096)

static const char ctk_fix[] = "nvidia-ctk runtime configure --runtime=docker && systemctl restart docker "
                              "(or nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml)";

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The spec's gpu_unavailable event with a reason the verdict has no name for (a usable GPU no
 * container can reach). */
static void event_reason(const char *reason, struct fl_launch_gpu *g)
{
	struct fl_buf b = FL_BUF_INIT;
	fl_gpu_unavailable_event(reason, now_ms(), &b);
	snprintf(g->event, sizeof g->event, "%s", fl_buf_str(&b));
	fl_buf_free(&b);
}

/* --gpu auto with FL_GPU_ENABLED=YES: fl-gpucheck's verdict. */
static void detect(const struct fl_launch_opts *o, const char *root, struct fl_launch_gpu *g,
                   struct fl_diags *d)
{
	bool docker = o->runtime == FL_RUNTIME_DOCKER;
	struct fl_gpu_env env = {.root = root, .nvidia_smi = "", .docker = o->docker};
	/* Large (NVML's answer for FL_GPU_MAX GPUs): not on the stack. */
	struct fl_gpu_report *r = fl_xcalloc(1, sizeof *r);
	fl_gpu_detect(&env, docker ? FL_GPU_WITH_CONTAINER : 0, r);
	g->detected = true;
	snprintf(g->reason, sizeof g->reason, "%s", fl_gpu_detect_verdict_name(r->verdict));
	for (unsigned i = 0; i < r->nnotes && i < FL_GPU_NOTES_MAX; i++)
		fl_diags_add(d, FL_WARN, "%s", r->notes[i]);
	if (!r->usable) {
		if (r->present)
			snprintf(g->why, sizeof g->why, "the GPU is not usable: %s", r->message);
		else
			snprintf(g->why, sizeof g->why, "no usable GPU was detected (%s)", r->message);
		snprintf(g->fix, sizeof g->fix, "%s", r->fix);
		struct fl_buf b = FL_BUF_INIT;
		fl_gpu_detect_event(r, now_ms(), &b);
		snprintf(g->event, sizeof g->event, "%s", fl_buf_str(&b));
		fl_buf_free(&b);
		free(r);
		return;
	}
	snprintf(g->name, sizeof g->name, "%s", r->name);
	g->memory_mb = r->memory_mb;
	snprintf(g->driver, sizeof g->driver, "%s", r->driver);
	g->count = r->count;
	if (docker && r->ctr.access == FL_GPU_ACCESS_NONE) {
		/* `--gpus all` would make docker run fail: no runtime to hand the GPU in. */
		snprintf(g->reason, sizeof g->reason, "no_container_access");
		const struct fl_gpu_container *c = &r->ctr;
		const char *dj = c->daemon_path[0] ? c->daemon_path : "daemon.json";
		char daemon[1200];
		if (c->daemon_json == 0)
			snprintf(daemon, sizeof daemon, "there is no %s", dj);
		else if (c->daemon_json < 0)
			snprintf(daemon, sizeof daemon, "%s cannot be used (%s)", dj, c->error);
		else
			snprintf(daemon, sizeof daemon, "%s has no runtimes.nvidia", dj);
		snprintf(
		    g->why, sizeof g->why,
		    "the NVIDIA Container Toolkit is not configured for Docker (%s is usable, but %s and "
		    "no CDI spec for nvidia.com/gpu is in use%s%s)",
		    r->name[0] ? r->name : "the GPU", daemon, c->daemon_json >= 0 && c->error[0] ? ": " : "",
		    c->daemon_json >= 0 ? c->error : "");
		snprintf(g->fix, sizeof g->fix, "%s", ctk_fix);
		event_reason("no_container_access", g);
		free(r);
		return;
	}
	g->usable = true;
	g->cdi = docker && r->ctr.access == FL_GPU_ACCESS_CDI;
	fl_diags_add(d, FL_INFO, "GPU available: %s%s", r->message,
	             !docker  ? ""
	             : g->cdi ? " (CDI: --device nvidia.com/gpu=all)"
	                      : " (nvidia runtime: --gpus all)");
	struct fl_buf b = FL_BUF_INIT;
	fl_gpu_detect_event(r, now_ms(), &b);
	snprintf(g->event, sizeof g->event, "%s", fl_buf_str(&b));
	fl_buf_free(&b);
	free(r);
}

void fl_launch_gpu_decide(const struct fl_ctx *c, const struct fl_launch_opts *o,
                          enum fl_launch_gpu_mode mode, const char *root, struct fl_launch_gpu *g,
                          struct fl_diags *d)
{
	memset(g, 0, sizeof *g);
	if (o->role != FL_ROLE_SUPERNODE)
		return;
	g->decided = true;
	g->enabled = c->conf.FL_GPU_ENABLED;
	if (!g->enabled) {
		snprintf(g->reason, sizeof g->reason, "disabled");
		return;
	}
	if (mode == FL_LAUNCH_GPU_NO) {
		snprintf(g->reason, sizeof g->reason, "operator");
		snprintf(g->why, sizeof g->why, "--gpu no");
		return;
	}
	if (mode == FL_LAUNCH_GPU_AUTO) {
		detect(o, root, g, d);
		return;
	}
	/* --gpu yes: the operator vouches for the GPU; the container side still picks the flag. */
	snprintf(g->reason, sizeof g->reason, "operator");
	g->usable = true;
	if (o->runtime == FL_RUNTIME_DOCKER) {
		struct fl_gpu_env env = {.root = root};
		struct fl_gpu_container ctr;
		fl_gpu_container_scan(&env, &ctr);
		g->cdi = ctr.access == FL_GPU_ACCESS_CDI;
	}
}

/* A value recorded on one line: printable, no '\n' (NVML's name is the driver's text). */
static void value(struct fl_buf *b, const char *key, const char *v)
{
	fl_buf_addf(b, "%s=", key);
	for (const unsigned char *u = (const unsigned char *)v; *u; u++)
		fl_buf_addc(b, *u < 0x20 || *u == 0x7f ? '?' : (char)*u);
	fl_buf_addc(b, '\n');
}

void fl_launch_gpu_render(const struct fl_launch_gpu *g, struct fl_buf *out)
{
	fl_buf_addf(out, "FL_GPU_AVAILABLE=%s\n", g->usable ? "YES" : "NO");
	value(out, "FL_GPU_REASON", g->reason);
	if (g->usable && g->name[0]) {
		value(out, "FL_GPU_NAME", g->name);
		fl_buf_addf(out, "FL_GPU_MEMORY_MB=%lld\n", g->memory_mb);
		value(out, "FL_GPU_DRIVER", g->driver);
	}
	if (g->cdi)
		fl_buf_adds(out, "FL_GPU_CDI=YES\n");
}

int fl_launch_gpu_record(const char *path, const struct fl_launch_gpu *g, struct fl_err *e)
{
	struct fl_buf b = FL_BUF_INIT;
	fl_launch_gpu_render(g, &b);
	int rc = fl_fs_write_atomic(path, fl_buf_str(&b), b.len, 0600, FL_OWNER_KEEP, (gid_t)-1, e);
	fl_buf_free(&b);
	return rc;
}

/* One line of the record into g: 0, or -1 when it is not one of ours. */
static int record_line(const char *line, size_t n, struct fl_launch_gpu *g)
{
	const char *eq = memchr(line, '=', n);
	if (!eq)
		return -1;
	size_t k = (size_t)(eq - line), vn = n - k - 1;
	const char *v = eq + 1;
	for (size_t i = 0; i < vn; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return -1;
#define KEY(s) (k == sizeof(s) - 1 && memcmp(line, s, k) == 0)
#define IS(s)  (vn == sizeof(s) - 1 && memcmp(v, s, vn) == 0)
	if (KEY("FL_GPU_AVAILABLE") && (IS("YES") || IS("NO")))
		g->usable = IS("YES");
	else if (KEY("FL_GPU_CDI") && IS("YES"))
		g->cdi = true;
	else if (KEY("FL_GPU_REASON") && vn < sizeof g->reason)
		snprintf(g->reason, sizeof g->reason, "%.*s", (int)vn, v);
	else if (KEY("FL_GPU_NAME") && vn < sizeof g->name)
		snprintf(g->name, sizeof g->name, "%.*s", (int)vn, v);
	else if (KEY("FL_GPU_DRIVER") && vn < sizeof g->driver)
		snprintf(g->driver, sizeof g->driver, "%.*s", (int)vn, v);
	else if (KEY("FL_GPU_MEMORY_MB") && vn && vn < 16 && strspn(v, "0123456789") >= vn)
		g->memory_mb = strtoll(v, NULL, 10);
	else
		return -1;
#undef KEY
#undef IS
	return 0;
}

int fl_launch_gpu_recorded(const char *path, struct fl_launch_gpu *g)
{
	memset(g, 0, sizeof *g);
	char *text = NULL;
	size_t len = 0;
	if (!path || fl_fs_read(path, RECORD_MAX, &text, &len, NULL) < 0)
		return -1;
	int rc = 0;
	bool available = false;
	for (size_t i = 0; i < len && rc == 0;) {
		size_t n = strcspn(text + i, "\n");
		if (i + n > len)
			n = len - i;
		if (n && record_line(text + i, n, g) < 0)
			rc = -1;
		available |= n > 17 && memcmp(text + i, "FL_GPU_AVAILABLE=", 17) == 0;
		i += n + 1;
	}
	free(text);
	if (rc < 0 || !available) {
		memset(g, 0, sizeof *g);
		return -1;
	}
	g->decided = true;
	return 0;
}

void fl_launch_gpu_pairs(const struct fl_launch_gpu *g, struct fl_argv *pairs)
{
	fl_argv_addf(pairs, "FL_GPU_AVAILABLE=%s", g->usable ? "YES" : "NO");
	if (!g->usable || !g->name[0])
		return;
	fl_argv_addf(pairs, "FL_GPU_NAME=%s", g->name);
	fl_argv_addf(pairs, "FL_GPU_MEMORY_MB=%lld", g->memory_mb);
	fl_argv_addf(pairs, "FL_GPU_DRIVER=%s", g->driver);
}
