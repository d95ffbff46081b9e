/* fl_launch_dcgm: NVIDIA's DCGM exporter beside a SuperNode with a usable GPU (GPU metrics for
 * Prometheus on port 9400): when it applies, and its systemd unit, bound to the SuperNode's.
 * fl_launch_run.c pulls its image and starts it. Facts: design 04 §3.4 §3.8 §8.2. */
#include "fl_launch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void exec_line(struct fl_buf *b, const char *key, bool dash, const char *const *argv)
{
	fl_buf_addf(b, "%s=%s", key, dash ? "-" : "");
	for (size_t i = 0; argv[i]; i++) {
		if (i)
			fl_buf_addc(b, ' ');
		fl_launch_unit_quote(b, argv[i]);
	}
	fl_buf_addc(b, '\n');
}

/* Design 04 §3.4's unit. `docker run` without -d, so systemd supervises the container itself:
 * --rm leaves no stopped container behind (the next start would collide with its name), and
 * ExecStartPre= removes one a crash or an older layout left. No --restart: systemd restarts it
 * (Restart=on-failure), and Docker's own restart would race it. PartOf= the SuperNode: stopped
 * and restarted with it; WantedBy=multi-user.target: started at boot even before fl-launch runs
 * (as the spec has it). */
static void unit(const struct fl_launch_opts *o, struct fl_launch_plan *p)
{
	struct fl_buf *b = &p->dcgm_unit;
	bool cdi = o->gpu_decision && o->gpu_decision->cdi;
	fl_launch_unit_header(b, FL_LAUNCH_DCGM_NAME);
	fl_buf_addf(b,
	            "[Unit]\nDescription=NVIDIA DCGM Exporter for GPU Metrics\n"
	            "Documentation=man:fl-launch(1)\n"
	            "After=docker.service %s.service\nRequires=docker.service\nPartOf=%s.service\n\n"
	            "[Service]\nType=simple\n",
	            p->name, p->name);
	const char *rm[] = {o->docker, "rm", "-f", FL_LAUNCH_DCGM_NAME, NULL};
	exec_line(b, "ExecStartPre", true, rm);
	char port[32];
	snprintf(port, sizeof port, "%d:%d", FL_LAUNCH_DCGM_PORT, FL_LAUNCH_DCGM_PORT);
	const char *run[] = {o->docker,
	                     "run",
	                     "--name",
	                     FL_LAUNCH_DCGM_NAME,
	                     "--rm",
	                     cdi ? "--device" : "--gpus",
	                     cdi ? "nvidia.com/gpu=all" : "all",
	                     "--cap-add",
	                     "SYS_ADMIN",
	                     "-p",
	                     port,
	                     p->dcgm_image,
	                     NULL};
	exec_line(b, "ExecStart", false, run);
	const char *stop[] = {o->docker, "stop", FL_LAUNCH_DCGM_NAME, NULL};
	exec_line(b, "ExecStop", false, stop);
	fl_buf_adds(b, "Restart=on-failure\nRestartSec=10\n\n[Install]\nWantedBy=multi-user.target\n");
}

void fl_launch_dcgm_plan(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                         struct fl_diags *d)
{
	if (o->role != FL_ROLE_SUPERNODE)
		return;
	const struct fl_conf *k = &c->conf;
	if (o->runtime == FL_RUNTIME_DOCKER) {
		char *s = NULL;
		if (asprintf(&s, "%s/%s.service", o->unit_dir, FL_LAUNCH_DCGM_NAME) < 0)
			abort();
		p->dcgm_unit_path = s;
	}
	/* The spec's boot step, its messages as they are. */
	if (!k->FL_DCGM_ENABLED) {
		fl_diags_add(d, FL_INFO, "FL_DCGM_ENABLED is not YES, skipping DCGM Exporter");
		return;
	}
	if (!k->FL_GPU_ENABLED) {
		fl_diags_add(d, FL_INFO, "FL_GPU_ENABLED is not YES, DCGM Exporter not applicable");
		return;
	}
	if (!o->gpu) {
		fl_diags_add(d, FL_WARN, "GPU not available, DCGM Exporter will not start");
		return;
	}
	if (o->runtime != FL_RUNTIME_DOCKER) {
		fl_diags_add(
		    d, FL_INFO,
		    "DCGM Exporter runs as a container: not with --runtime process (no GPU metrics on "
		    "port %u; run the docker runtime, or NVIDIA's dcgm-exporter by hand)",
		    FL_LAUNCH_DCGM_PORT);
		return;
	}
	p->dcgm = true;
	p->dcgm_image = fl_xstrdup(FL_LAUNCH_DCGM_IMAGE);
	unit(o, p);
}
