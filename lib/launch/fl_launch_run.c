/* fl_launch_run: start, stop, watch and check a SuperLink or SuperNode: through systemd
 * (docker or native process) or as a native process group of its own (no supervisor). */
#include "fl_fs.h"
#include "fl_launch.h"
#include "fl_log.h"
#include "fl_logscan.h"
#include "fl_probe.h"
#include "fl_retry.h"
#include "fl_var.h"

#include <dirent.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMD_TIMEOUT_MS 30000L
#define OUT_MAX        ((size_t)64 * 1024)
#define STATE_MAX      ((size_t)256 * 1024)
#define PROBE_MS       3000L
#define SETTLE_MS      500

/* Run argv, output captured; 0 when it exited 0. The output is kept in out when given. */
static int run(char *const argv[], long timeout_ms, struct fl_buf *out, int *status, struct fl_err *e)
{
	struct fl_buf tmp = FL_BUF_INIT;
	struct fl_buf *b = out ? out : &tmp;
	int st = -1;
	int rc = fl_proc_capture(argv, NULL, timeout_ms, OUT_MAX, b, &st, e);
	if (status)
		*status = st;
	if (rc == 0 && st != 0) {
		/* The tool's last line says why; it is the tool's text, not ours. */
		const char *s = fl_buf_str(b);
		size_t n = strlen(s);
		while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
			n--;
		size_t start = n;
		while (start && s[start - 1] != '\n')
			start--;
		rc = fl_err_set(e, FL_EXIT_FAIL, "`%s %s` failed (exit %d)%s%.*s", argv[0],
		                argv[1] ? argv[1] : "", st, n > start ? ": " : "",
		                (int)(n - start > 300 ? 300 : n - start), s + start);
	}
	fl_buf_free(&tmp);
	return rc;
}

static int systemctl(const char *verb, const char *unit, int *status, struct fl_err *e)
{
	char *argv[] = {"systemctl", (char *)verb, (char *)unit, NULL};
	char *reload[] = {"systemctl", "daemon-reload", NULL};
	return run(unit ? argv : reload, CMD_TIMEOUT_MS * 4, NULL, status, e);
}

static bool uses_systemd(const struct fl_launch_opts *o)
{
	return o->runtime == FL_RUNTIME_DOCKER || o->supervisor == FL_SUPERVISOR_SYSTEMD;
}

static char *unit_name(const struct fl_launch_plan *p)
{
	char *s = NULL;
	if (asprintf(&s, "%s.service", p->name) < 0)
		abort();
	return s;
}

/* Replace path with data unless it already holds exactly that, as a regular file of ours
 * with one link and this mode. Anything else (a foreign owner, another mode, a symlink, a
 * hard link to a file elsewhere) is replaced: rename swaps the name, never the other file. */
static int put(const char *path, const char *data, size_t len, mode_t mode, bool *changed, struct fl_err *e)
{
	char *old = NULL;
	size_t oldlen = 0;
	*changed = true;
	struct stat st;
	bool exists = lstat(path, &st) == 0;
	bool sound = exists && S_ISREG(st.st_mode) && st.st_nlink == 1 && st.st_uid == geteuid() &&
	             st.st_gid == getegid() && (st.st_mode & 07777) == mode;
	if (sound && fl_fs_read(path, STATE_MAX, &old, &oldlen, NULL) == 0) {
		*changed = oldlen != len || memcmp(old, data, len) != 0;
		free(old);
	}
	if (!*changed)
		return 0;
	if (exists && !sound)
		fl_warn("%s was %s (owner %lu:%lu, mode %04o, %lu links): replaced by a file of %lu:%lu, "
		        "mode %04o",
		        path,
		        S_ISLNK(st.st_mode)   ? "a symlink"
		        : S_ISREG(st.st_mode) ? "a file"
		                              : "not a file",
		        (unsigned long)st.st_uid, (unsigned long)st.st_gid, (unsigned)(st.st_mode & 07777),
		        (unsigned long)st.st_nlink, (unsigned long)geteuid(), (unsigned long)getegid(),
		        (unsigned)mode);
	return fl_fs_write_atomic(path, data, len, mode, FL_OWNER_KEEP, (gid_t)-1, e);
}

/* A directory fl-launch writes root's files into, given by the operator: another user who
 * owns it, or may write into it, could swap config/ or a unit for their own. */
static int dir_trusted(const char *path, const char *option, struct fl_err *e)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return 0; /* made by fl_launch_install, ours */
	if (S_ISDIR(st.st_mode) && (st.st_uid == 0 || st.st_uid == geteuid()) && !(st.st_mode & 022))
		return 0;
	return fl_err_set(e, FL_EXIT_FAIL,
	                  "%s %s is %s (owner %lu:%lu, mode %04o): another user could replace the files "
	                  "fl-launch writes there; make it a directory of root's that only its owner "
	                  "can write (chown root:root, chmod go-w), or choose another %s",
	                  option, path, S_ISDIR(st.st_mode) ? "not safe" : "not a directory",
	                  (unsigned long)st.st_uid, (unsigned long)st.st_gid, (unsigned)(st.st_mode & 07777),
	                  option);
}

/* Directories first (config/ holds the lock); made as the plan says, idempotent. */
static int install_dirs(const struct fl_launch_plan *p, const struct fl_launch_opts *o, struct fl_err *e)
{
	if (dir_trusted(o->flower_dir, "--flower-dir", e) < 0 ||
	    (uses_systemd(o) && dir_trusted(o->unit_dir, "--unit-dir", e) < 0))
		return -1;
	for (size_t i = 0; i < p->dirs.n; i++) {
		/* "MODE OWNED PATH", made by fl_launch_plan. */
		char *end;
		unsigned long mode = strtoul(p->dirs.v[i], &end, 8);
		bool owned = end[0] == ' ' && end[1] == '1';
		if (end[0] != ' ' || !end[1] || end[2] != ' ')
			continue;
		/* Not the service's: ours (root's), also when it exists with another owner. */
		uid_t uid = owned ? o->uid : geteuid();
		gid_t gid = owned ? o->gid : getegid();
		if (fl_fs_mkdir_p(end + 3, (mode_t)mode, uid, gid, e) < 0)
			return -1;
	}
	return 0;
}

/* One fl-launch at a time changes a service: two boots (or a boot and an operator) racing
 * would both start Flower. Held on config/ from the files to the start or stop. */
#define LOCK_WAIT_MS 120000L

static int lock_service(const struct fl_launch_plan *p, struct fl_err *e)
{
	return fl_fs_lock_dir_wait(p->env_path, LOCK_WAIT_MS, "another fl-launch", e);
}

/* What a run killed mid-write left beside the files fl-launch writes (0600 temp files; the
 * env file's may hold what Flower reads). Only under lock_service. */
static void clean_temps(const struct fl_launch_plan *p, const struct fl_launch_opts *o)
{
	const char *paths[] = {p->env_path,
	                       p->state_path,
	                       p->pid_path,
	                       p->proxied ? p->proxy_conf_path : NULL,
	                       p->proxied ? p->proxy_pid_path : NULL,
	                       uses_systemd(o) ? p->unit_path : NULL,
	                       uses_systemd(o) && p->proxied ? p->proxy_unit_path : NULL,
	                       p->metrics ? p->metrics_state_path : NULL,
	                       uses_systemd(o) && p->metrics ? p->metrics_unit_path : NULL,
	                       p->gpu_path,
	                       p->dcgm_unit_path};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (paths[i])
			fl_fs_clean_temps(paths[i]);
}

static int install_files(const struct fl_launch_plan *p, const struct fl_launch_opts *o, bool *unit_changed,
                         bool *metrics_changed, struct fl_err *e)
{
	*unit_changed = *metrics_changed = false;
	clean_temps(p, o);
	bool changed;
	if (put(p->env_path, fl_buf_str(&p->env), p->env.len, 0600, &changed, e) < 0)
		return -1;
	if (changed)
		fl_info("wrote %s", p->env_path);
	if (p->proxied) {
		/* Readable by the proxy's user, never writable by it. */
		if (put(p->proxy_conf_path, fl_buf_str(&p->proxy_conf), p->proxy_conf.len, 0644, &changed,
		        e) < 0)
			return -1;
		if (changed)
			fl_info("wrote %s", p->proxy_conf_path);
	}
	if (!uses_systemd(o))
		return 0;
	if (fl_fs_mkdir_p(o->unit_dir, 0755, geteuid(), getegid(), e) < 0)
		return -1;
	if (put(p->unit_path, fl_buf_str(&p->unit), p->unit.len, 0644, unit_changed, e) < 0)
		return -1;
	if (*unit_changed)
		fl_info("wrote %s", p->unit_path);
	changed = false;
	if (p->proxied) {
		if (put(p->proxy_unit_path, fl_buf_str(&p->proxy_unit), p->proxy_unit.len, 0644, &changed,
		        e) < 0)
			return -1;
		if (changed)
			fl_info("wrote %s", p->proxy_unit_path);
	}
	if (p->metrics) {
		if (put(p->metrics_unit_path, fl_buf_str(&p->metrics_unit), p->metrics_unit.len, 0644,
		        metrics_changed, e) < 0)
			return -1;
		if (*metrics_changed)
			fl_info("wrote %s", p->metrics_unit_path);
	}
	if (*unit_changed || changed || *metrics_changed) {
		*unit_changed = true;
		if (systemctl("daemon-reload", NULL, NULL, e) < 0)
			return -1;
	}
	return 0;
}

int fl_launch_install(const struct fl_launch_plan *p, const struct fl_launch_opts *o, bool *unit_changed,
                      struct fl_err *e)
{
	*unit_changed = false;
	if (install_dirs(p, o, e) < 0)
		return -1;
	int lock = lock_service(p, e);
	if (lock < 0)
		return -1;
	bool metrics_changed;
	int rc = install_files(p, o, unit_changed, &metrics_changed, e);
	*unit_changed = *unit_changed || metrics_changed;
	close(lock);
	return rc;
}

/* --- native process group without a supervisor: pid file "PID STARTTIME" --- */

/* 1 when systemd says the unit is active, 0 when not, -1 when systemctl cannot be run. */
static int unit_active(const char *unit, struct fl_err *e)
{
	int st = -1;
	struct fl_err ie = {0};
	char *argv[] = {"systemctl", "is-active", "--quiet", (char *)unit, NULL};
	int rc = run(argv, CMD_TIMEOUT_MS, NULL, &st, &ie);
	if (rc < 0 && st < 0) {
		*e = ie;
		return -1;
	}
	return st == 0;
}

/* What /proc/PID/stat says after the command name (which may hold blanks and ')'): the
 * state (field 3), the process group (5) and the start time (22, which tells a recycled
 * PID from the process a pid file names). -1 when the process is gone. */
struct proc_stat {
	char state;
	long pgrp;
	unsigned long long start;
};

static int proc_stat_read(const char *pid, struct proc_stat *ps)
{
	char path[300], buf[1024];
	snprintf(path, sizeof path, "/proc/%s/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	const char *s = strrchr(buf, ')');
	if (!s || s[1] != ' ' || !s[2] || s[3] != ' ')
		return -1;
	ps->state = s[2];
	char *end;
	strtol(s + 4, &end, 10); /* ppid */
	ps->pgrp = strtol(end, NULL, 10);
	const char *f = s + 2; /* field 3 */
	for (int field = 3; field < 22 && f; field++) {
		f = strchr(f, ' ');
		if (f)
			f++;
	}
	ps->start = f ? strtoull(f, NULL, 10) : 0;
	return 0;
}

static int proc_stat_pid(pid_t pid, struct proc_stat *ps)
{
	char s[24];
	snprintf(s, sizeof s, "%ld", (long)pid);
	return proc_stat_read(s, ps);
}

static bool exited(const struct proc_stat *ps)
{
	return ps->state == 'Z' || ps->state == 'X';
}

static int pidfile_read(const char *pid_path, pid_t *pid)
{
	char *text = NULL;
	size_t len;
	if (fl_fs_read(pid_path, 128, &text, &len, NULL) < 0)
		return 0;
	char *end;
	long v = strtol(text, &end, 10);
	bool ok = end != text && *end == ' ' && v > 1;
	unsigned long long st = ok ? strtoull(end + 1, &end, 10) : 0;
	free(text);
	struct proc_stat ps;
	if (!ok || kill((pid_t)v, 0) < 0 || proc_stat_pid((pid_t)v, &ps) < 0 || ps.start != st || exited(&ps))
		return 0;
	*pid = (pid_t)v;
	return 1;
}

int fl_launch_running(const struct fl_launch_plan *p, const struct fl_launch_opts *o, pid_t *pid,
                      struct fl_err *e)
{
	if (pid)
		*pid = 0;
	if (!uses_systemd(o)) {
		pid_t x = 0;
		int r = pidfile_read(p->pid_path, &x);
		if (pid)
			*pid = x;
		return r;
	}
	if (o->runtime == FL_RUNTIME_DOCKER) {
		char *argv[] = {(char *)o->docker,    "inspect",       "--format",
		                "{{.State.Running}}", (char *)p->name, NULL};
		struct fl_buf out = FL_BUF_INIT;
		int st;
		struct fl_err ie = {0};
		int rc = run(argv, CMD_TIMEOUT_MS, &out, &st, &ie);
		int r = rc == 0 && strncmp(fl_buf_str(&out), "true", 4) == 0;
		if (rc < 0 && st < 0) {
			*e = ie;
			r = -1;
		}
		fl_buf_free(&out);
		return r;
	}
	char *u = unit_name(p);
	int r = unit_active(u, e);
	free(u);
	return r;
}

/* What a process started without a supervisor is: Flower, or its Fleet proxy. */
struct proc_job {
	const char *name;
	char *const *argv;
	const char *log_path, *pid_path;
	char **env; /* NULL: the built environment fl_proc gives a child by default */
};

static struct proc_job flower_job(const struct fl_launch_plan *p)
{
	struct proc_job j = {p->name, p->argv.v, p->log_path, p->pid_path, NULL};
	return j;
}

static struct proc_job proxy_job(const struct fl_launch_plan *p)
{
	struct proc_job j = {p->proxy_name, p->proxy_argv.v, p->proxy_log_path, p->proxy_pid_path, NULL};
	return j;
}

static int spawn_job(const struct proc_job *j, const struct fl_launch_opts *o, struct fl_err *e)
{
	/* One log per run: the previous one stays as .1 for the post-mortem. */
	char old[4200];
	snprintf(old, sizeof old, "%s.1", j->log_path);
	if (rename(j->log_path, old) < 0 && errno != ENOENT)
		return fl_err_sys(e, errno, "cannot rotate %s", j->log_path);
	pid_t pid;
	/* As --owner, like the unit's User= and Group=. */
	if (fl_proc_spawn_session_as(j->argv, j->env, o->flower_dir, j->log_path, o->uid, o->gid, &pid, e) <
	    0)
		return -1;
	/* The start time appears in /proc once the child exists. */
	unsigned long long st = 0;
	struct proc_stat ps;
	for (int i = 0; i < 100 && (proc_stat_pid(pid, &ps) < 0 || !(st = ps.start)); i++)
		usleep(1000);
	char line[64];
	int n = snprintf(line, sizeof line, "%ld %llu\n", (long)pid, st);
	if (fl_fs_write_atomic(j->pid_path, line, (size_t)n, 0644, FL_OWNER_KEEP, (gid_t)-1, e) < 0) {
		kill(-pid, SIGKILL);
		return -1;
	}
	fl_info("%s: pid %ld in a session of its own, output in %s", j->name, (long)pid, j->log_path);
	return 0;
}

static int spawn(const struct fl_launch_plan *p, const struct fl_launch_opts *o, struct fl_err *e)
{
	/* The allow-listed part of ours, then the env file (design decision 12). */
	struct proc_job j = flower_job(p);
	j.env = fl_proc_env_build(NULL, fl_buf_str(&p->env));
	int rc = spawn_job(&j, o, e);
	fl_proc_env_free(j.env);
	return rc;
}

/* A process of group pgid that is not a zombie: where PID 1 does not reap orphans, kill(-pgid, 0)
 * succeeds long after everything has exited. */
static bool group_alive(pid_t pgid)
{
	if (kill(-pgid, 0) < 0)
		return false;
	DIR *d = opendir("/proc");
	if (!d)
		return true;
	bool alive = false;
	struct dirent *de;
	while (!alive && (de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		struct proc_stat ps;
		if (proc_stat_read(de->d_name, &ps) == 0 && ps.pgrp == (long)pgid && !exited(&ps))
			alive = true;
	}
	closedir(d);
	return alive;
}

static int stop_group(const struct proc_job *p, long grace_ms, struct fl_err *e)
{
	pid_t pid;
	if (!pidfile_read(p->pid_path, &pid)) {
		unlink(p->pid_path);
		return 0;
	}
	kill(-pid, SIGTERM);
	uint64_t t0 = fl_clock_now_ms(NULL);
	while (fl_clock_now_ms(NULL) - t0 < (uint64_t)grace_ms) {
		if (!group_alive(pid))
			break;
		usleep(50000);
	}
	if (group_alive(pid)) {
		fl_warn("%s (pid %ld) did not stop within %ld s: killing it", p->name, (long)pid,
		        grace_ms / 1000);
		kill(-pid, SIGKILL);
		for (int i = 0; i < 100 && group_alive(pid); i++)
			usleep(20000);
	}
	if (unlink(p->pid_path) < 0 && errno != ENOENT)
		return fl_err_sys(e, errno, "cannot remove %s", p->pid_path);
	fl_info("stopped %s (pid %ld)", p->name, (long)pid);
	return 0;
}

/* --- the era C Fleet proxy --- */

static char *proxy_unit_name(const struct fl_launch_plan *p)
{
	char *s = NULL;
	if (asprintf(&s, "%s.service", p->proxy_name) < 0)
		abort();
	return s;
}

int fl_launch_proxy_running(const struct fl_launch_plan *p, const struct fl_launch_opts *o, pid_t *pid,
                            struct fl_err *e)
{
	if (pid)
		*pid = 0;
	if (o->role != FL_ROLE_SUPERLINK)
		return 0;
	if (!uses_systemd(o)) {
		pid_t x = 0;
		int r = pidfile_read(p->proxy_pid_path, &x);
		if (pid)
			*pid = x;
		return r;
	}
	if (!p->proxied && access(p->proxy_unit_path, F_OK) != 0)
		return 0;
	char *u = proxy_unit_name(p);
	int r = unit_active(u, e);
	free(u);
	return r;
}

/* Stop the proxy if one runs (any era: a plan without one stops what an era-C start left). */
static int proxy_stop(const struct fl_launch_plan *p, const struct fl_launch_opts *o, long grace_ms,
                      struct fl_err *e)
{
	if (o->role != FL_ROLE_SUPERLINK)
		return 0;
	if (!uses_systemd(o)) {
		struct proc_job j = proxy_job(p);
		return stop_group(&j, grace_ms, e);
	}
	if (access(p->proxy_unit_path, F_OK) != 0)
		return 0;
	char *u = proxy_unit_name(p);
	int rc = systemctl("stop", u, NULL, e);
	free(u);
	return rc;
}

/* No proxy in this plan (era A/B, or FL_CONTROL_API_EXPOSED=YES): one left by an earlier
 * start would hold the Fleet port and come back at boot; stop it, disable and remove it. */
static int proxy_remove(const struct fl_launch_plan *p, const struct fl_launch_opts *o, struct fl_err *e)
{
	if (proxy_stop(p, o, 15000, e) < 0)
		return -1;
	if (!uses_systemd(o) || access(p->proxy_unit_path, F_OK) != 0)
		return 0;
	char *u = proxy_unit_name(p);
	struct fl_err ee = {0};
	if (systemctl("disable", u, NULL, &ee) < 0)
		fl_warn("%s", ee.msg);
	free(u);
	if (unlink(p->proxy_unit_path) < 0 && errno != ENOENT)
		return fl_err_sys(e, errno, "cannot remove %s", p->proxy_unit_path);
	fl_info("removed %s: this plan has no Fleet proxy", p->proxy_unit_path);
	return systemctl("daemon-reload", NULL, NULL, e);
}

/* The proxy verifies Flower's certificate on loopback by the name localhost (nginx matches DNS
 * names only): fl-certgen's certificates carry it, an operator's may not. */
static int proxy_cert_check(const struct fl_launch_plan *p, const struct fl_launch_opts *o, struct fl_err *e)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/certs/server.pem", o->flower_dir);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0; /* said by the caller's own check of server.pem */
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	int ok = x && X509_check_host(x, "localhost", 0, 0, NULL) == 1;
	X509_free(x);
	if (!ok)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s does not name localhost (DNS:localhost): the Fleet proxy %s verifies "
		                  "Flower's certificate on loopback by that name; add DNS:localhost to the "
		                  "operator certificate (FL_SSL_CERTFILE) or let fl-certgen make one",
		                  path, p->proxy_name);
	return 0;
}

/* What can be told before anything is stopped or started. Not `nginx -t`: it binds the
 * listening address, which a running proxy (or an exposed Flower) holds. */
static int proxy_check(const struct fl_launch_plan *p, const struct fl_launch_opts *o, struct fl_err *e)
{
	const char *nginx = p->proxy_argv.v[0];
	if (access(nginx, X_OK) != 0)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "the Fleet proxy needs nginx, not found at %s: install Debian's nginx-light "
		    "(apt-get install nginx-light) or pass --nginx PATH",
		    nginx);
	return o->tls ? proxy_cert_check(p, o, e) : 0;
}

/* nginx refuses a configuration or an address at once: a proxy gone within SETTLE_MS of
 * its start failed, and its log says why ("[emerg] bind() to ... failed"). */
static int proxy_settled(const struct proc_job *j, struct fl_err *e)
{
	pid_t pid;
	for (int i = 0; i < SETTLE_MS / 50; i++) {
		usleep(50000);
		if (pidfile_read(j->pid_path, &pid))
			continue;
		char *text = NULL;
		size_t len = 0;
		fl_fs_read(j->log_path, (size_t)64 * 1024, &text, &len, NULL);
		const char *why = text ? strstr(text, "[emerg]") : NULL;
		fl_err_set(e, FL_EXIT_FAIL, "the Fleet proxy %s exited at once: %.*s (%s)", j->name,
		           why ? (int)strcspn(why, "\n") : 0, why ? why : "", j->log_path);
		free(text);
		unlink(j->pid_path);
		return -1;
	}
	return 0;
}

/* Start the proxy, or restart it when the plan changed; a running proxy of an unchanged plan
 * is left alone. With systemd a SuperLink restart has restarted it already (PartOf=). */
static int proxy_up(const struct fl_launch_plan *p, const struct fl_launch_opts *o, enum fl_launch_action act,
                    bool changed, struct fl_err *e)
{
	if (!uses_systemd(o)) {
		struct proc_job j = proxy_job(p);
		pid_t pid;
		if (pidfile_read(j.pid_path, &pid)) {
			if (!changed)
				return 0;
			if (stop_group(&j, 15000, e) < 0)
				return -1;
		}
		/* nginx keeps only TZ for its workers; its master gets nothing it does not need. */
		static char *env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
		j.env = env;
		if (spawn_job(&j, o, e) < 0)
			return -1;
		return proxy_settled(&j, e);
	}
	char *u = proxy_unit_name(p);
	struct fl_err ee = {0};
	if (systemctl("enable", u, NULL, &ee) < 0)
		fl_warn("%s (the proxy will not start at boot by itself)", ee.msg);
	/* A restarted SuperLink has restarted its proxy (PartOf=); else a changed plan restarts
	 * it and an unchanged one only starts it when it is down. */
	int rc = systemctl(changed && act != FL_LAUNCH_RESTARTED ? "restart" : "start", u, NULL, e);
	free(u);
	return rc;
}

/* --- fl-metrics beside Flower (fl_launch_metrics.c plans it) --- */

static char *metrics_unit_name(const struct fl_launch_plan *p)
{
	char *s = NULL;
	if (asprintf(&s, "%s.service", p->metrics_name) < 0)
		abort();
	return s;
}

static struct proc_job metrics_job(const struct fl_launch_plan *p)
{
	struct proc_job j = {p->metrics_name, p->metrics_argv.v, p->metrics_log_path, p->metrics_pid_path,
	                     NULL};
	return j;
}

int fl_launch_metrics_running(const struct fl_launch_plan *p, const struct fl_launch_opts *o, pid_t *pid,
                              struct fl_err *e)
{
	if (pid)
		*pid = 0;
	if (!uses_systemd(o)) {
		pid_t x = 0;
		int r = pidfile_read(p->metrics_pid_path, &x);
		if (pid)
			*pid = x;
		return r;
	}
	if (!p->metrics && access(p->metrics_unit_path, F_OK) != 0)
		return 0;
	char *u = metrics_unit_name(p);
	int r = unit_active(u, e);
	free(u);
	return r;
}

/* Stop fl-metrics if it runs (also one an earlier start left when this plan has none). */
static int metrics_stop(const struct fl_launch_plan *p, const struct fl_launch_opts *o, long grace_ms,
                        struct fl_err *e)
{
	if (!uses_systemd(o)) {
		struct proc_job j = metrics_job(p);
		return stop_group(&j, grace_ms, e);
	}
	if (access(p->metrics_unit_path, F_OK) != 0)
		return 0;
	char *u = metrics_unit_name(p);
	int rc = systemctl("stop", u, NULL, e);
	free(u);
	return rc;
}

/* Metrics off now (FL_METRICS_ENABLED=NO, no OneGate): what an earlier start left would
 * hold the port and come back at boot; stop it, disable and remove its unit. */
static int metrics_remove(const struct fl_launch_plan *p, const struct fl_launch_opts *o, struct fl_err *e)
{
	if (metrics_stop(p, o, 15000, e) < 0)
		return -1;
	unlink(p->metrics_state_path);
	if (!uses_systemd(o) || access(p->metrics_unit_path, F_OK) != 0)
		return 0;
	char *u = metrics_unit_name(p);
	struct fl_err ee = {0};
	if (systemctl("disable", u, NULL, &ee) < 0)
		fl_warn("%s", ee.msg);
	free(u);
	if (unlink(p->metrics_unit_path) < 0 && errno != ENOENT)
		return fl_err_sys(e, errno, "cannot remove %s", p->metrics_unit_path);
	fl_info("removed %s: this plan runs no fl-metrics", p->metrics_unit_path);
	return systemctl("daemon-reload", NULL, NULL, e);
}

/* Without a supervisor: did the argv change since fl-metrics was started? (recorded in its
 * state file, one element per line) */
static bool metrics_argv_changed(const struct fl_launch_plan *p, struct fl_buf *now)
{
	for (size_t i = 0; i < p->metrics_argv.n; i++)
		fl_buf_addf(now, "%s\n", p->metrics_argv.v[i]);
	char *old = NULL;
	size_t len = 0;
	bool changed = fl_fs_read(p->metrics_state_path, STATE_MAX, &old, &len, NULL) < 0 ||
	               len != now->len || memcmp(old, fl_buf_str(now), len) != 0;
	free(old);
	return changed;
}

static int metrics_spawn(const struct fl_launch_plan *p, const struct fl_launch_opts *o, struct fl_err *e)
{
	struct fl_buf now = FL_BUF_INIT;
	bool changed = metrics_argv_changed(p, &now);
	struct proc_job j = metrics_job(p);
	pid_t pid;
	int rc = 0;
	if (pidfile_read(j.pid_path, &pid) && changed)
		rc = stop_group(&j, 15000, e);
	else if (pidfile_read(j.pid_path, &pid))
		goto out; /* runs this argv: left alone */
	/* The built environment (decision 12): nothing of ours, no secret. */
	if (rc == 0)
		rc = spawn_job(&j, o, e);
	if (rc == 0)
		rc = fl_fs_write_atomic(p->metrics_state_path, fl_buf_str(&now), now.len, 0600, FL_OWNER_KEEP,
		                        (gid_t)-1, e);
out:
	fl_buf_free(&now);
	return rc;
}

/* Start fl-metrics beside Flower (a restarted Flower has restarted it already: PartOf=), or
 * restart it when its own unit changed. A failure is a warning: training never waits for its
 * exporter. */
static void metrics_up(const struct fl_launch_plan *p, const struct fl_launch_opts *o,
                       enum fl_launch_action act, bool changed)
{
	if (!p->metrics)
		return;
	struct fl_err e = {0};
	int rc;
	if (!uses_systemd(o)) {
		rc = metrics_spawn(p, o, &e);
	} else {
		char *u = metrics_unit_name(p);
		struct fl_err ee = {0};
		if (systemctl("enable", u, NULL, &ee) < 0)
			fl_warn("%s (%s will not start at boot by itself)", ee.msg, p->metrics_name);
		rc = systemctl(changed && act != FL_LAUNCH_RESTARTED ? "restart" : "start", u, NULL, &e);
		free(u);
	}
	if (rc < 0)
		fl_warn("%s did not start: %s; Flower runs without it (see %s%s)", p->metrics_name, e.msg,
		        uses_systemd(o) ? "journalctl -u " : "",
		        uses_systemd(o) ? p->metrics_name : p->metrics_log_path);
}

static bool image_present(const char *docker, const char *ref);

/* --- the DCGM exporter beside a GPU SuperNode (fl_launch_dcgm.c plans it) --- */

#define DCGM_UNIT    FL_LAUNCH_DCGM_NAME ".service"
#define DCGM_PULL_MS 600000L

static bool dcgm_installed(const struct fl_launch_plan *p)
{
	return p->dcgm_unit_path && access(p->dcgm_unit_path, F_OK) == 0;
}

int fl_launch_dcgm_running(const struct fl_launch_plan *p, const struct fl_launch_opts *o, struct fl_err *e)
{
	if (!uses_systemd(o) || (!p->dcgm && !dcgm_installed(p)))
		return 0;
	return unit_active(DCGM_UNIT, e);
}

/* Stopped with the SuperNode (PartOf= does it under systemd; said here for a stop that finds
 * the SuperNode's unit gone). */
static int dcgm_stop(const struct fl_launch_plan *p, const struct fl_launch_opts *o, struct fl_err *e)
{
	if (!uses_systemd(o) || !dcgm_installed(p))
		return 0;
	return systemctl("stop", DCGM_UNIT, NULL, e);
}

/* DCGM off now (FL_DCGM_ENABLED=NO, no usable GPU, GPU off): the exporter an earlier start left
 * would hold the GPU and come back at boot (WantedBy=multi-user.target); stop it, disable and
 * remove its unit. A failure is a warning: it never stops Flower's start. */
static void dcgm_remove(const struct fl_launch_plan *p, const struct fl_launch_opts *o)
{
	if (!uses_systemd(o) || !dcgm_installed(p))
		return;
	struct fl_err e = {0};
	if (systemctl("stop", DCGM_UNIT, NULL, &e) < 0 || systemctl("disable", DCGM_UNIT, NULL, &e) < 0)
		fl_warn("%s", e.msg);
	if (unlink(p->dcgm_unit_path) < 0 && errno != ENOENT) {
		fl_warn("cannot remove %s: %s", p->dcgm_unit_path, strerror(errno));
		return;
	}
	fl_info("removed %s: this plan runs no DCGM Exporter", p->dcgm_unit_path);
	e = (struct fl_err){0};
	if (systemctl("daemon-reload", NULL, NULL, &e) < 0)
		fl_warn("%s", e.msg);
}

/* Pull (the image is not pre-baked: 200-300 MB), write the unit when it changed, enable and start
 * it. After Flower: training never waits for its GPU metrics, and every failure is a warning
 * (design 04 §3.4: degraded, never a failed boot). */
static void dcgm_up(const struct fl_launch_plan *p, const struct fl_launch_opts *o, enum fl_launch_action act)
{
	if (!p->dcgm) {
		dcgm_remove(p, o);
		return;
	}
	struct fl_err e = {0};
	if (!image_present(o->docker, p->dcgm_image)) {
		fl_info("Pulling %s...", p->dcgm_image);
		char *argv[] = {(char *)o->docker, "pull", p->dcgm_image, NULL};
		if (run(argv, DCGM_PULL_MS, NULL, NULL, &e) < 0) {
			fl_warn("DCGM Exporter image pull failed. GPU metrics unavailable.");
			fl_info("%s", e.msg);
			return;
		}
	}
	bool changed = false;
	if (fl_fs_mkdir_p(o->unit_dir, 0755, geteuid(), getegid(), &e) < 0 ||
	    put(p->dcgm_unit_path, fl_buf_str(&p->dcgm_unit), p->dcgm_unit.len, 0644, &changed, &e) < 0) {
		fl_warn("DCGM Exporter not started: %s", e.msg);
		return;
	}
	if (changed) {
		fl_info("wrote %s", p->dcgm_unit_path);
		if (systemctl("daemon-reload", NULL, NULL, &e) < 0) {
			fl_warn("DCGM Exporter not started: %s", e.msg);
			return;
		}
	}
	/* A changed unit, on a SuperNode that was left alone, is restarted; a restarted SuperNode
	 * has restarted it already (PartOf=). */
	char unit[] = DCGM_UNIT;
	char *en[] = {"systemctl", "enable", "--now", unit, NULL};
	int rc = run(en, CMD_TIMEOUT_MS * 4, NULL, NULL, &e);
	if (rc == 0 && changed && act == FL_LAUNCH_UNCHANGED)
		rc = systemctl("restart", DCGM_UNIT, NULL, &e);
	if (rc < 0) {
		fl_warn("DCGM Exporter did not start: %s; GPU metrics unavailable (see journalctl -u %s)",
		        e.msg, FL_LAUNCH_DCGM_NAME);
		return;
	}
	fl_info("DCGM Exporter started on port %u", FL_LAUNCH_DCGM_PORT);
}

static int stop_locked(const struct fl_launch_plan *p, const struct fl_launch_opts *o, long grace_ms,
                       struct fl_err *e)
{
	int rc;
	if (dcgm_stop(p, o, e) < 0 || metrics_stop(p, o, grace_ms, e) < 0 ||
	    proxy_stop(p, o, grace_ms, e) < 0)
		return -1;
	if (!uses_systemd(o)) {
		struct proc_job j = flower_job(p);
		rc = stop_group(&j, grace_ms, e);
	} else {
		char *u = unit_name(p);
		rc = systemctl("stop", u, NULL, e);
		free(u);
	}
	if (rc == 0)
		unlink(p->state_path);
	return rc;
}

int fl_launch_stop(const struct fl_launch_plan *p, const struct fl_launch_opts *o, long grace_ms,
                   struct fl_err *e)
{
	/* Never installed here: nothing of ours to race with, stop what the name says. */
	struct stat st;
	if (stat(p->env_path, &st) < 0 && errno == ENOENT)
		return stop_locked(p, o, grace_ms, e);
	int lock = lock_service(p, e);
	if (lock < 0)
		return -1;
	int rc = stop_locked(p, o, grace_ms, e);
	close(lock);
	return rc;
}

/* The plan's state, and a SuperNode's GPU decision beside it (publish-ready reads it). */
static int record(const struct fl_launch_plan *p, const struct fl_launch_opts *o, struct fl_err *e)
{
	struct fl_buf b = FL_BUF_INIT;
	fl_launch_state_render(p, &b);
	int rc = fl_fs_write_atomic(p->state_path, fl_buf_str(&b), b.len, 0600, FL_OWNER_KEEP, (gid_t)-1, e);
	fl_buf_free(&b);
	if (rc == 0 && p->gpu_path && o->gpu_decision && o->gpu_decision->decided)
		rc = fl_launch_gpu_record(p->gpu_path, o->gpu_decision, e);
	return rc;
}

static int start_locked(const struct fl_launch_plan *p, const struct fl_launch_opts *o,
                        enum fl_launch_action *act, struct fl_buf *why, struct fl_err *e)
{
	bool unit_changed, metrics_changed;
	if (install_files(p, o, &unit_changed, &metrics_changed, e) < 0)
		return -1;
	if (!p->metrics && metrics_remove(p, o, e) < 0)
		return -1;
	if (p->proxied && proxy_check(p, o, e) < 0)
		return -1;
	int running = fl_launch_running(p, o, NULL, e);
	if (running < 0)
		return -1;
	char *old = NULL;
	size_t oldlen;
	char oldhash[65] = "";
	if (fl_fs_read(p->state_path, STATE_MAX, &old, &oldlen, NULL) == 0)
		fl_launch_state_hash(old, oldhash);
	/* The proxy follows the plan, not Flower: a crashed Flower started again leaves it. */
	bool changed = strcmp(oldhash, p->hash) != 0;
	if (running && !changed) {
		free(old);
		*act = FL_LAUNCH_UNCHANGED;
		if (p->proxied && proxy_up(p, o, *act, false, e) < 0)
			return -1;
		/* The decision made now is what runs: the same argv, the same GPU. */
		if (p->gpu_path && o->gpu_decision && o->gpu_decision->decided &&
		    fl_launch_gpu_record(p->gpu_path, o->gpu_decision, e) < 0)
			return -1;
		metrics_up(p, o, *act, metrics_changed);
		dcgm_up(p, o, *act);
		return 0;
	}
	if (running) {
		if (old)
			fl_launch_state_diff(old, p, why);
		else
			fl_buf_adds(why, "no record of the running configuration");
	}
	free(old);
	*act = running ? FL_LAUNCH_RESTARTED : FL_LAUNCH_STARTED;
	/* Recorded first: a crash between here and the start leaves a record that matches what
	 * systemd will start anyway. */
	if (record(p, o, e) < 0)
		return -1;
	if (o->role == FL_ROLE_SUPERLINK && !p->proxied && proxy_remove(p, o, e) < 0)
		return -1;
	int rc;
	if (!uses_systemd(o)) {
		struct proc_job fj = flower_job(p);
		if (running && stop_group(&fj, 45000, e) < 0)
			return -1;
		rc = spawn(p, o, e);
	} else {
		char *u = unit_name(p);
		struct fl_err ee = {0};
		if (systemctl("enable", u, NULL, &ee) < 0)
			fl_warn("%s (the service will not start at boot by itself)", ee.msg);
		rc = systemctl(running ? "restart" : "start", u, NULL, e);
		free(u);
	}
	if (rc < 0) {
		unlink(p->state_path);
		return rc;
	}
	/* After Flower: a restarted Flower has let go of the Fleet port the proxy now takes. */
	if (p->proxied && proxy_up(p, o, *act, changed, e) < 0)
		return -1;
	metrics_up(p, o, *act, metrics_changed);
	dcgm_up(p, o, *act);
	return 0;
}

int fl_launch_start(const struct fl_launch_plan *p, const struct fl_launch_opts *o,
                    enum fl_launch_action *act, struct fl_buf *why, struct fl_err *e)
{
	/* Checked before anything is touched: without a supervisor Flower runs as --owner. */
	if (!uses_systemd(o) && fl_proc_can_run_as(o->uid, o->gid, NULL) < 0)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "--owner %lu:%lu: running Flower as that user needs root, and fl-launch "
		                  "runs as %lu:%lu; run it as root, or pass --owner %lu:%lu",
		                  (unsigned long)o->uid, (unsigned long)o->gid, (unsigned long)geteuid(),
		                  (unsigned long)getegid(), (unsigned long)geteuid(),
		                  (unsigned long)getegid());
	if (install_dirs(p, o, e) < 0)
		return -1;
	int lock = lock_service(p, e);
	if (lock < 0)
		return -1;
	int rc = start_locked(p, o, act, why, e);
	close(lock);
	return rc;
}

/* --- logs: untrusted bytes (user code writes there too), see fl_logscan --- */

/* The last `max` bytes of the service's output (docker: of its last `lines` lines); *cut:
 * docker's capture is cut short, the end may be missing. */
static void output(const struct fl_launch_plan *p, const struct fl_launch_opts *o, size_t max, unsigned lines,
                   struct fl_buf *raw, bool *cut)
{
	*cut = false;
	if (o->runtime == FL_RUNTIME_DOCKER) {
		char tail[16];
		snprintf(tail, sizeof tail, "%u", lines);
		char *argv[] = {(char *)o->docker, "logs", "--tail", tail, (char *)p->name, NULL};
		run(argv, CMD_TIMEOUT_MS, raw, NULL, NULL);
		/* The capture keeps the first OUT_MAX bytes: the end may be missing. */
		*cut = raw->len >= OUT_MAX;
		return;
	}
	int fd = open(p->log_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t from = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
		char buf[65536];
		ssize_t n;
		/* At most max bytes, also when the file grows while it is read. */
		while (raw->len < max &&
		       (n = pread(fd, buf, max - raw->len < sizeof buf ? max - raw->len : sizeof buf, from)) >
		           0) {
			fl_buf_add(raw, buf, (size_t)n);
			from += n;
		}
	}
	close(fd);
}

void fl_launch_log_tail(const struct fl_launch_plan *p, const struct fl_launch_opts *o, unsigned max_lines,
                        struct fl_buf *out)
{
	struct fl_buf raw = FL_BUF_INIT;
	bool cut;
	/* Docker: ask for the lines wanted, so that the capture holds the last ones. */
	output(p, o, 65536, max_lines ? max_lines : 1, &raw, &cut);
	fl_logscan_tail(raw.data ? raw.data : "", raw.len, max_lines, out);
	fl_buf_free(&raw);
}

/* When docker started the container, as `docker logs --since` takes it (RFC 3339); false
 * when docker does not say (then the caller cannot restrict the output to this run). */
static bool docker_started_at(const struct fl_launch_plan *p, const struct fl_launch_opts *o, char *ts,
                              size_t n)
{
	char *argv[] = {(char *)o->docker,      "inspect",       "--format",
	                "{{.State.StartedAt}}", (char *)p->name, NULL};
	struct fl_buf out = FL_BUF_INIT;
	bool ok = run(argv, CMD_TIMEOUT_MS, &out, NULL, NULL) == 0;
	size_t len = strcspn(fl_buf_str(&out), "\n");
	/* 2026-12-03T07:00:00.123456789Z: digits first, then only digits and T : . - + Z. */
	ok = ok && len >= 20 && len < n && out.data[0] >= '0' && out.data[0] <= '9' &&
	     strspn(out.data, "0123456789T:.-+Z") == len && strncmp(out.data, "0001-", 5) != 0;
	if (ok) {
		memcpy(ts, out.data, len);
		ts[len] = '\0';
	}
	fl_buf_free(&out);
	return ok;
}

/* Registered since the last start (fl_logscan says what is trusted). The log file is read
 * backwards in bounded chunks. Docker: the output since the container started (its first
 * 64 KiB, where Flower registers), else the capture of its last lines, where a capture cut
 * short cannot tell (not registered: health never says yes on a guess). */
static bool registered(const struct fl_launch_plan *p, const struct fl_launch_opts *o)
{
	if (o->runtime != FL_RUNTIME_DOCKER) {
		int fd = open(p->log_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0)
			return false;
		bool ok = fl_logscan_registered_fd(fd);
		close(fd);
		return ok;
	}
	struct fl_buf raw = FL_BUF_INIT;
	bool cut = false, ok;
	char since[64];
	if (docker_started_at(p, o, since, sizeof since)) {
		char *argv[] = {(char *)o->docker, "logs", "--since", since, (char *)p->name, NULL};
		run(argv, CMD_TIMEOUT_MS, &raw, NULL, NULL);
		ok = fl_logscan_last(raw.data ? raw.data : "", raw.len) == FL_LOGSCAN_REGISTERED;
	} else {
		output(p, o, OUT_MAX, 5000, &raw, &cut);
		ok = !cut && fl_logscan_last(raw.data ? raw.data : "", raw.len) == FL_LOGSCAN_REGISTERED;
	}
	if (cut)
		fl_debug("%s: its output is larger than %zu bytes; registration cannot be told", p->name,
		         OUT_MAX);
	fl_buf_free(&raw);
	return ok;
}

/* --- docker --- */

int fl_launch_wait_docker(const char *docker, long timeout_ms, long interval_ms, struct fl_err *e)
{
	uint64_t t0 = fl_clock_now_ms(NULL);
	char *argv[] = {(char *)docker, "info", "--format", "{{.ServerVersion}}", NULL};
	struct fl_err last = {0};
	for (unsigned attempt = 1;; attempt++) {
		long left = timeout_ms - (long)(fl_clock_now_ms(NULL) - t0);
		struct fl_buf out = FL_BUF_INIT;
		int rc = run(argv, left > 10000 ? 10000 : left > 0 ? left : 1, &out, NULL, &last);
		if (rc == 0) {
			fl_info("Docker daemon ready (server %.*s, attempt %u)",
			        (int)strcspn(fl_buf_str(&out), "\n"), fl_buf_str(&out), attempt);
			fl_buf_free(&out);
			return 0;
		}
		fl_buf_free(&out);
		if ((long)(fl_clock_now_ms(NULL) - t0) + interval_ms > timeout_ms)
			break;
		fl_clock_sleep_ms(NULL, (uint64_t)interval_ms);
	}
	return fl_err_set(
	    e, FL_EXIT_UNAVAILABLE,
	    "Docker daemon not available. Waited %ld s (%s). Check `systemctl status docker` and "
	    "`journalctl -u docker`.",
	    timeout_ms / 1000, last.msg[0] ? last.msg : "no answer");
}

static bool image_present(const char *docker, const char *ref)
{
	char *argv[] = {(char *)docker, "image", "inspect", "--format", "{{.Id}}", (char *)ref, NULL};
	return run(argv, CMD_TIMEOUT_MS, NULL, NULL, NULL) == 0;
}

int fl_launch_image(const char *docker, const char *repo, const char *requested, const char *prebaked_file,
                    long pull_timeout_ms, struct fl_version *effective, struct fl_diags *d, struct fl_err *e)
{
	char prebaked[32] = "";
	char *text = NULL;
	size_t len;
	if (prebaked_file && fl_fs_read(prebaked_file, 256, &text, &len, NULL) == 0) {
		size_t n = strcspn(text, " \t\r\n");
		struct fl_version pv;
		if (n < sizeof prebaked) {
			memcpy(prebaked, text, n);
			prebaked[n] = '\0';
		}
		if (fl_flower_version_parse(prebaked, &pv) < 0) {
			fl_diags_add(d, FL_WARN, "%s does not hold a version X.Y.Z: ignored", prebaked_file);
			prebaked[0] = '\0';
		}
	}
	free(text);
	if (fl_flower_version_parse(requested, effective) < 0)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "Invalid FLOWER_VERSION: '%.64s'. Expected format: X.Y.Z (e.g., 1.25.0)",
		                  requested);
	char ref[512];
	snprintf(ref, sizeof ref, "%s:%s", repo, requested);
	if (*prebaked && strcmp(prebaked, requested) == 0) {
		fl_diags_add(d, FL_INFO, "Using pre-baked version %s", prebaked);
		return 0;
	}
	if (*prebaked)
		fl_diags_add(d, FL_INFO, "Requested version %s differs from pre-baked %s", requested,
		             prebaked);
	if (image_present(docker, ref)) {
		fl_diags_add(d, FL_INFO, "Image %s is present", ref);
		return 0;
	}
	fl_diags_add(d, FL_INFO, "Pulling %s...", ref);
	char *argv[] = {(char *)docker, "pull", ref, NULL};
	struct fl_err pe = {0};
	if (run(argv, pull_timeout_ms, NULL, NULL, &pe) == 0) {
		fl_diags_add(d, FL_INFO, "Successfully pulled version %s", requested);
		return 0;
	}
	if (!*prebaked)
		return fl_err_set(
		    e, FL_EXIT_UNAVAILABLE,
		    "cannot pull %s and there is no pre-baked image to fall back to (%s): check the "
		    "network and registry access, or set FLOWER_VERSION to an image present locally",
		    ref, pe.msg);
	fl_diags_add(d, FL_WARN, "Failed to pull version %s -- falling back to pre-baked %s (%s)", requested,
	             prebaked, pe.msg);
	fl_flower_version_parse(prebaked, effective);
	return 0;
}

/* --- health --- */

static char *ca_path(const struct fl_launch_opts *o)
{
	char *s = NULL;
	if (asprintf(&s, "%s/certs/ca.crt", o->flower_dir) < 0)
		abort();
	return s;
}

/* The Fleet proxy runs and Flower answers on its loopback port (the proxy's own address is
 * probed by the caller, as the Fleet address). */
static int health_proxy(const struct fl_launch_plan *p, const struct fl_launch_opts *o, bool *final,
                        struct fl_err *e)
{
	int r = fl_launch_proxy_running(p, o, NULL, e);
	if (r < 0)
		return -1;
	if (!r) {
		*final = !uses_systemd(o);
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "the Fleet proxy %s is not running: SuperNodes cannot reach the SuperLink on "
		    "%s; `fl-launch start` starts it again (its output: %s)",
		    p->proxy_name, p->a.proxy,
		    uses_systemd(o) ? "journalctl -u flower-superlink-proxy" : p->proxy_log_path);
	}
	struct fl_hostport hp;
	if (fl_hostport_parse(p->a.control, &hp, e) < 0)
		return -1;
	struct fl_err pe = {0};
	int rc;
	if (o->tls) {
		char *ca = ca_path(o);
		struct fl_probe_tls_info info;
		enum fl_probe_fail why = FL_PROBE_UNREACHABLE;
		rc = fl_probe_tls(&hp, ca, PROBE_MS, &info, &why, &pe);
		free(ca);
		/* The proxy verifies the name localhost, not 127.0.0.1: a name mismatch here is
		 * not a failure (the proxy would report its own). */
		if (rc < 0 && why == FL_PROBE_HOSTNAME)
			rc = 0;
	} else {
		rc = fl_probe_tcp(&hp, PROBE_MS, NULL, &pe);
	}
	if (rc < 0)
		return fl_err_set(e, FL_EXIT_FAIL, "Flower behind the Fleet proxy (%s): %s", p->a.control,
		                  pe.msg);
	return 0;
}

static int health_superlink(const struct fl_launch_plan *p, const struct fl_launch_opts *o, bool *final,
                            struct fl_err *e)
{
	if (p->proxied && health_proxy(p, o, final, e) < 0)
		return -1;
	struct fl_hostport hp;
	if (fl_hostport_parse(p->a.fleet_probe, &hp, e) < 0)
		return -1;
	if (o->tls) {
		char *ca = ca_path(o);
		struct fl_probe_tls_info info;
		enum fl_probe_fail why = FL_PROBE_UNREACHABLE;
		int rc = fl_probe_tls(&hp, ca, PROBE_MS, &info, &why, e);
		free(ca);
		/* A chain that verifies but names other hosts is a serving SuperLink: operator
		 * certificates may name only what SuperNodes dial. Said, not fatal. */
		if (rc < 0 && why == FL_PROBE_HOSTNAME) {
			fl_warn("%s", e->msg);
			rc = 0;
		}
		if (rc < 0) {
			*final = why == FL_PROBE_VERIFY;
			return -1;
		}
	} else if (fl_probe_tcp(&hp, PROBE_MS, NULL, e) < 0) {
		return -1;
	}
	if (p->a.health[0]) {
		struct fl_hostport h;
		if (fl_hostport_parse(p->a.health, &h, e) < 0 ||
		    fl_probe_grpc_health(&h, PROBE_MS, NULL, e) < 0)
			return -1;
	}
	return 0;
}

int fl_launch_trust_check(const struct fl_launch_plan *p, const struct fl_launch_opts *o, bool *reached,
                          struct fl_err *e)
{
	*reached = false;
	if (o->role != FL_ROLE_SUPERNODE || !o->tls)
		return 0;
	struct fl_hostport hp;
	if (fl_hostport_parse(p->a.superlink, &hp, e) < 0)
		return -1;
	char *ca = ca_path(o);
	struct fl_probe_tls_info info;
	enum fl_probe_fail why = FL_PROBE_UNREACHABLE;
	struct fl_err te = {0};
	int rc = fl_probe_tls(&hp, ca, PROBE_MS, &info, &why, &te);
	free(ca);
	*reached = rc == 0 || why == FL_PROBE_VERIFY || why == FL_PROBE_HOSTNAME || why == FL_PROBE_HANDSHAKE;
	/* The one failure Flower never retries: a SuperLink certificate the CA rejects. */
	if (rc < 0 && (why == FL_PROBE_VERIFY || why == FL_PROBE_HOSTNAME))
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s. This SuperNode cannot connect with the CA it was given: check "
		    "FL_SSL_CA_CERTFILE / FL_CA_FINGERPRINT in its context, or the FL_CA_CERT the "
		    "SuperLink published",
		    te.msg);
	return 0;
}

static int health_supernode(const struct fl_launch_plan *p, const struct fl_launch_opts *o, bool *final,
                            struct fl_err *e)
{
	bool reached;
	if (fl_launch_trust_check(p, o, &reached, e) < 0) {
		*final = true;
		return -1;
	}
	if (!registered(p, o))
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s runs but has not registered with the SuperLink at %s yet", p->name,
		                  p->a.superlink);
	return 0;
}

int fl_launch_health(const struct fl_launch_plan *p, const struct fl_launch_opts *o, bool *final,
                     struct fl_err *e)
{
	*final = false;
	int running = fl_launch_running(p, o, NULL, e);
	if (running < 0)
		return -1;
	if (!running) {
		/* Without a supervisor nobody brings it back; with systemd it may be restarting. */
		*final = !uses_systemd(o);
		return fl_err_set(e, FL_EXIT_FAIL, "%s is not running", p->name);
	}
	return o->role == FL_ROLE_SUPERLINK ? health_superlink(p, o, final, e)
	                                    : health_supernode(p, o, final, e);
}
