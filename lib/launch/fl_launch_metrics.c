/* fl_launch_metrics: fl-metrics beside Flower, under the same supervision. SuperLink with
 * FL_METRICS_ENABLED=YES: `fl-metrics serve` on FL_METRICS_PORT of the VM address, reading the
 * state database (and, natively, Flower's log). SuperNode with OneGate: `fl-metrics publish`
 * for OneFlow elasticity. A unit of its own (flower-metrics[-publish].service) started and
 * stopped with Flower's, or a process group beside the native Flower. Facts: design 04 §3 §5.3
 * §8.3, 07 §5; decisions 12 and 14. */
#include "fl_launch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *path_join(const char *a, const char *b)
{
	char *s = NULL;
	if (asprintf(&s, "%s/%s", a, b) < 0)
		abort();
	return s;
}

static void paths(const struct fl_launch_opts *o, struct fl_launch_plan *p)
{
	bool sl = o->role == FL_ROLE_SUPERLINK;
	snprintf(p->metrics_name, sizeof p->metrics_name, "%s",
	         sl ? "flower-metrics" : "flower-metrics-publish");
	char file[96];
	snprintf(file, sizeof file, "%s.service", p->metrics_name);
	p->metrics_unit_path = path_join(o->unit_dir, file);
	snprintf(file, sizeof file, "run/%s.pid", p->metrics_name);
	p->metrics_pid_path = path_join(o->flower_dir, file);
	snprintf(file, sizeof file, "logs/%s.log", p->metrics_name);
	p->metrics_log_path = path_join(o->flower_dir, file);
	snprintf(file, sizeof file, "config/%s.state", p->metrics_name);
	p->metrics_state_path = path_join(o->flower_dir, file);
}

/* SuperLink: serve. The exporter binds the VM address fl-launch publishes FL_ENDPOINT on (never
 * every interface); Docker: the state database alone (the container's json-file log is named
 * only once it runs; Flower 1.27+ keeps ServerApp output in the database's logs table); native:
 * Flower's log file too. --force: fl-launch has read FL_METRICS_ENABLED already. */
static void serve_argv(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                       struct fl_diags *d)
{
	const struct fl_conf *k = &c->conf;
	struct fl_argv *v = &p->metrics_argv;
	const char *addr = o->vm_addr;
	if (!addr) {
		addr = "127.0.0.1";
		fl_diags_add(d, FL_WARN,
		             "FL_METRICS_ENABLED=YES but the VM address is unknown: fl-metrics serves on "
		             "127.0.0.1 only; pass --addr IP to publish it on the VM address");
	}
	fl_argv_add(v, o->metrics_exe);
	fl_argv_add(v, "serve");
	fl_argv_add(v, "--port");
	fl_argv_addf(v, "%ld", (long)k->FL_METRICS_PORT);
	fl_argv_add(v, "--bind");
	fl_argv_add(v, addr);
	fl_argv_add(v, "--db");
	fl_argv_addf(v, "%s/%s", o->flower_dir, k->FL_DATABASE);
	if (o->runtime == FL_RUNTIME_PROCESS) {
		fl_argv_add(v, "--follow");
		fl_argv_add(v, p->log_path);
	}
	fl_argv_add(v, "--strategy");
	fl_argv_add(v, fl_ctx_value(c, FLV_FL_STRATEGY));
	fl_argv_add(v, "--force");
	bool v6 = strchr(addr, ':') != NULL;
	snprintf(p->metrics_endpoint, sizeof p->metrics_endpoint, "%s%s%s:%ld", v6 ? "[" : "", addr,
	         v6 ? "]" : "", (long)k->FL_METRICS_PORT);
}

/* SuperNode: publish. It watches the container (docker) or the native Flower's pid file and
 * log; the OneGate token it reads from the file the context names, never from argv or env. */
static void publish_argv(const struct fl_launch_opts *o, struct fl_launch_plan *p)
{
	struct fl_argv *v = &p->metrics_argv;
	fl_argv_add(v, o->metrics_exe);
	fl_argv_add(v, "publish");
	if (o->runtime == FL_RUNTIME_DOCKER) {
		fl_argv_add(v, "--container");
		fl_argv_add(v, p->name);
		return;
	}
	/* Under systemd the native SuperNode has no pid file: its log says enough. */
	if (o->supervisor == FL_SUPERVISOR_NONE) {
		fl_argv_add(v, "--pidfile");
		fl_argv_add(v, p->pid_path);
	}
	fl_argv_add(v, "--log");
	fl_argv_add(v, p->log_path);
}

static void exec_start(struct fl_buf *b, const struct fl_argv *v)
{
	fl_buf_adds(b, "ExecStart=");
	for (size_t i = 0; i < v->n; i++) {
		if (i)
			fl_buf_addc(b, ' ');
		fl_launch_unit_quote(b, v->v[i]);
	}
	fl_buf_addc(b, '\n');
}

/* Started with Flower (WantedBy= its unit), stopped and restarted with it (PartOf=), but not
 * stopped when Flower crashes: BindsTo= would take the exporter down with every Flower crash
 * that Restart= repairs, and Prometheus would see a missing target instead of
 * fl_training_status. No start limit: started right after Flower, it may find no state
 * database yet, and retrying every RestartSec= costs nothing. */
static void unit(const struct fl_launch_opts *o, struct fl_launch_plan *p)
{
	struct fl_buf *b = &p->metrics_unit;
	bool sl = o->role == FL_ROLE_SUPERLINK;
	fl_launch_unit_header(b, p->metrics_name);
	fl_buf_addf(b,
	            "[Unit]\nDescription=%s\nDocumentation=man:fl-metrics(1) man:fl-launch(1)\n"
	            "After=%s.service\nPartOf=%s.service\nStartLimitIntervalSec=0\n\n"
	            "[Service]\nType=simple\n",
	            sl ? "Flower training metrics for Prometheus (fl-metrics serve)"
	               : "Flower SuperNode status for OneFlow elasticity (fl-metrics publish)",
	            p->name, p->name);
	/* serve: as Flower's owner, who owns the state database (and its -wal/-shm files, which
	 * SQLite needs to read it); publish: as root, for the docker socket and the OneGate token
	 * file (root's, 0600). */
	if (sl)
		fl_buf_addf(b, "User=%lu\nGroup=%lu\n", (unsigned long)o->uid, (unsigned long)o->gid);
	exec_start(b, &p->metrics_argv);
	/* ProtectSystem=full, not strict: SQLite maps the database's -shm file even read-only. */
	fl_buf_adds(b, "NoNewPrivileges=yes\nPrivateTmp=yes\nPrivateDevices=yes\nProtectSystem=full\n"
	               "ProtectHome=yes\nProtectKernelTunables=yes\nProtectKernelModules=yes\n"
	               "ProtectControlGroups=yes\nRestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX\n"
	               "RestrictNamespaces=yes\nLockPersonality=yes\n");
	if (sl)
		fl_buf_adds(b, "CapabilityBoundingSet=\n");
	fl_buf_addf(b,
	            "Restart=on-failure\nRestartSec=5\nTimeoutStopSec=15\n\n[Install]\nWantedBy=%s.service\n",
	            p->name);
}

void fl_launch_metrics_plan(const struct fl_ctx *c, const struct fl_launch_opts *o, struct fl_launch_plan *p,
                            struct fl_diags *d)
{
	paths(o, p);
	bool sl = o->role == FL_ROLE_SUPERLINK;
	bool want = sl ? c->conf.FL_METRICS_ENABLED : o->onegate;
	if (!want)
		return;
	if (!o->metrics_exe) {
		if (sl)
			fl_diags_add(
			    d, FL_WARN,
			    "FL_METRICS_ENABLED=YES but fl-metrics is not installed beside fl-launch: "
			    "no /metrics; install flkit whole or pass --metrics-bin PATH");
		return;
	}
	p->metrics = true;
	if (sl)
		serve_argv(c, o, p, d);
	else
		publish_argv(o, p);
	unit(o, p);
}
