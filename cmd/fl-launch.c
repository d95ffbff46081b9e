/* fl-launch: run a Flower SuperLink or SuperNode from the resolved configuration: docker +
 * systemd (the appliance default) or native processes; health, readiness publication. */
#include "fl_buf.h"
#include "fl_cert.h"
#include "fl_check.h"
#include "fl_cli.h"
#include "fl_ctx.h"
#include "fl_flower.h"
#include "fl_fs.h"
#include "fl_launch.h"
#include "fl_log.h"
#include "fl_net.h"
#include "fl_onegate.h"
#include "fl_retry.h"
#include "fl_var.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static const char usage_text[] =
    "usage: fl-launch [options] start | stop | restart | status | show\n"
    "       fl-launch [options] argv | env | unit | proxy-conf | proxy-unit | install\n"
    "       fl-launch [options] health | wait-healthy | logs [-n N]\n"
    "       fl-launch [options] publish-ready | publish-error REASON\n"
    "       fl-launch [options] wait-docker | image\n";

static const char help_text[] =
    "\n"
    "Runs a Flower SuperLink or SuperNode as the resolved configuration says: `docker` (the\n"
    "appliance default: a docker argv in a systemd unit) or `process` (native flower-superlink /\n"
    "flower-supernode, under systemd or as a process group of its own).\n"
    "\n"
    "verbs:\n"
    "  start          install the env file and unit, then start; a re-run with the same\n"
    "                 configuration changes nothing, a changed one restarts and says why\n"
    "  stop, restart  stop (SIGTERM, 45 s grace) / stop then start\n"
    "  status         RUNNING=yes|no, PID=, SERVICE=, ... as KEY=VALUE (exit 0 running, 1 not);\n"
    "                 a SuperLink of Flower 1.40+ adds PROXY_RUNNING= (its Fleet proxy)\n"
    "  show           FL_ENDPOINT, FL_CONTROL_ADDRESS, FL_SUPERLINK_ADDRESS, FL_VERSION, FL_TLS\n"
    "  argv, env, unit   print the docker/native argv (one element per line), env file, unit\n"
    "  proxy-conf, proxy-unit  SuperLink, Flower 1.40+: the Fleet proxy's nginx configuration\n"
    "                 and systemd unit\n"
    "  install        write directories, env file and unit only\n"
    "  health         one readiness check (the READY_SCRIPT): exit 0 healthy, 1 not\n"
    "  wait-healthy   check every --interval until --timeout (SuperLink 2 s/120 s, SuperNode\n"
    "                 1 s/60 s); on failure the last log lines, and a SuperLink publishes\n"
    "                 FL_READY=NO FL_ERROR=health_check_timeout\n"
    "  publish-ready  check health, then publish readiness to OneGate in one request\n"
    "  publish-error  publish FL_READY=NO (SuperNode: FL_NODE_READY=NO) and FL_ERROR=REASON\n"
    "  logs           the last -n lines (default 20) of its output\n"
    "  wait-docker    wait for the Docker daemon (1 s / 60 s)\n"
    "  image          resolve FLOWER_VERSION against the pre-baked image (pull or fall back)\n"
    "\n"
    "options:\n"
    "  -c, --context FILE      configuration: a file `fl-context render` wrote, or a context\n"
    "                          (default $FLKIT_CONTEXT, /run/flkit/ROLE.conf, " FL_CTX_DEFAULT_PATH ")\n"
    "  -E, --env-only          read no file: the environment only\n"
    "  -r, --role ROLE         superlink or supernode (default: the rendered file's)\n"
    "      --runtime RT        docker (default) or process\n"
    "      --supervisor S      systemd or none (default: systemd for docker; for process,\n"
    "                          systemd when it runs, else none)\n"
    "      --flower-dir DIR    state/, certs/, data/, config/ ... (default /opt/flower)\n"
    "      --unit-dir DIR      where units go (default /etc/systemd/system)\n"
    "      --docker PATH       docker CLI (default /usr/bin/docker)\n"
    "      --nginx PATH        SuperLink, Flower 1.40+: nginx, the Fleet proxy (default\n"
    "                          /usr/sbin/nginx; see EXPOSURE in fl-launch(1))\n"
    "      --image REPO        image without tag (default flwr/superlink, flwr/supernode)\n"
    "      --flower-version V  Flower version to drive (default: docker FLOWER_VERSION,\n"
    "                          process: asked from the installed flwr)\n"
    "      --flower-bin PATH   process: flower-superlink/-supernode, or the directory holding\n"
    "                          it (default: found in PATH)\n"
    "      --addr IP           VM address for FL_ENDPOINT (default: the default-route interface's)\n"
    "      --discovery FILE    SuperNode: what `fl-onegate discover -o FILE` wrote\n"
    "      --gpu yes|no        SuperNode: a usable GPU was detected (default no)\n"
    "      --appio-port N      ServerAppIo (9091) / SuperNode ClientAppIo or Runtime port (9094)\n"
    "      --health-port N     SuperLink gRPC health server on 127.0.0.1 (9099; 0: none)\n"
    "      --owner UID:GID     owner of container-visible directories; the user a process runs\n"
    "                          as, under systemd or not (default 49999:49999)\n"
    "      --prebaked FILE     pre-baked version (default FLOWER_DIR/PREBAKED_VERSION)\n"
    "      --timeout S         wait-healthy, wait-docker limit\n"
    "      --interval S        wait-healthy, wait-docker period\n"
    "      --one-env FILE      OneGate identity: TOKENTXT, VMID, ONEGATE_ENDPOINT from the\n"
    "      --token-file FILE   environment, then one_env's header lines (default\n"
    "                          " FL_CTX_DEFAULT_PATH "), then the token file\n"
    "      --best-effort       publish-*: a OneGate failure is a warning, exit 0\n"
    "      --no-publish        wait-healthy: do not publish the failure\n"
    "  -n, --lines N           logs, diagnostics: lines of output shown (default 20)\n"
    "  -q, --quiet / -v, --verbose\n"
    "  -h, --help / -V, --version\n"
    "Options go before the verb; only the verb's own (-n, --timeout, --interval, --no-publish,\n"
    "--best-effort) may also follow it. An option of another verb is a usage error.\n"
    "\n"
    "exit status: 0 ok; 1 failure (invalid configuration, start failed, unhealthy); 2 usage;\n"
    "3 Docker or OneGate unavailable; 4 timed out. See fl-launch(1).\n";

struct opts {
	const char *context, *runtime, *supervisor, *flower_dir, *unit_dir, *docker, *nginx, *image;
	const char *flower_version, *flower_bin, *addr, *discovery, *gpu, *owner, *prebaked;
	const char *one_env, *token_file;
	unsigned role, appio_port, health_port;
	bool health_port_set, best_effort, no_publish, env_only;
	long timeout_s, interval_s, lines;
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "fl-launch: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n%s", usage_text);
	return FL_EXIT_USAGE;
}

/* Everything one verb needs: configuration, options resolved, plan. */
struct job {
	struct fl_ctx c;
	struct fl_launch_opts lo;
	struct fl_launch_plan p;
	struct fl_onegate_tls og;
	char exe[4096], vm_addr[64], flower_dir[4096], prebaked[4200];
	bool loaded, planned;
};

static void job_free(struct job *j)
{
	if (j->planned)
		fl_launch_plan_free(&j->p);
	if (j->loaded)
		fl_ctx_free(&j->c);
	fl_cert_onegate_free(&j->og);
}

/* Checks that run often (health, status) need not repeat the configuration's warnings. */
static bool quiet_checks;

static int load(const struct opts *o, struct job *j)
{
	struct fl_ctx_opts co = {NULL, FL_CTX_DEFAULT_TOKEN, environ};
	char def[64];
	co.path = o->context ? o->context : getenv("FLKIT_CONTEXT");
	/* What `fl-context render` wrote: for the role given, or the only one there is. */
	if (!co.path || !*co.path) {
		int found = 0;
		for (unsigned r = FL_ROLE_SUPERLINK; r <= FL_ROLE_SUPERNODE; r++) {
			char cand[64];
			snprintf(cand, sizeof cand, "/run/flkit/%s.conf", fl_var_role_name(r));
			if ((!o->role || o->role == r) && access(cand, R_OK) == 0) {
				snprintf(def, sizeof def, "%s", cand);
				found++;
			}
		}
		if (found == 1)
			co.path = def;
	}
	if (!co.path || !*co.path)
		co.path = FL_CTX_DEFAULT_PATH;
	if (o->env_only)
		co.path = NULL;
	struct fl_err e = {0};
	if (fl_ctx_load(&j->c, &co, &e) < 0) {
		fl_error("%s", e.msg);
		if (!o->context)
			fl_error(
			    "no usable configuration; pass --context FILE (what `fl-context render` wrote)");
		fl_ctx_free(&j->c);
		return FL_EXIT_FAIL;
	}
	j->loaded = true;
	if (strcmp(fl_ctx_get(&j->c, "FL_LOG_FORMAT"), "json") == 0)
		fl_log_set_json(1);
	j->lo.role = o->role ? o->role : j->c.rendered_role;
	if (j->lo.role != FL_ROLE_SUPERLINK && j->lo.role != FL_ROLE_SUPERNODE)
		return usage_error("a role is needed: --role superlink or --role supernode%s", "");
	/* The same rules fl-context applies: nothing runs on a configuration it would refuse. */
	struct fl_diags d = FL_DIAGS_INIT;
	unsigned errors = fl_ctx_validate(&j->c, j->lo.role, &d);
	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].level >= (quiet_checks ? FL_ERROR : FL_WARN))
			fl_log(d.v[i].level, "%s", d.v[i].msg);
	fl_diags_free(&d);
	if (errors) {
		fl_fatal("%u configuration error(s). Aborting boot.", errors);
		return FL_EXIT_FAIL;
	}
	return 0;
}

static bool systemd_running(void)
{
	struct stat st;
	return stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

/* What `fl-onegate discover -o FILE` wrote: a regular file (a FIFO would block), 1 MiB at
 * most; "-" is standard input. */
static int discovery_load(const char *path, struct fl_onegate_tls *og, struct fl_err *e)
{
	if (strcmp(path, "-") == 0)
		return fl_cert_onegate_load(path, og, e);
	char *buf;
	size_t len;
	if (fl_fs_read_opt("--discovery", path, (size_t)1 << 20, &buf, &len, e) < 0)
		return -1;
	int rc = fl_cert_onegate_parse(buf, len, og, e);
	free(buf);
	return rc;
}

/* Resolve options into j->lo. need_version: the verb builds argv/unit/env. */
static int resolve(const struct opts *o, struct job *j, bool need_version)
{
	struct fl_launch_opts *lo = &j->lo;
	struct fl_err e = {0};
	lo->runtime =
	    o->runtime && strcmp(o->runtime, "process") == 0 ? FL_RUNTIME_PROCESS : FL_RUNTIME_DOCKER;
	if (o->supervisor)
		lo->supervisor =
		    strcmp(o->supervisor, "none") == 0 ? FL_SUPERVISOR_NONE : FL_SUPERVISOR_SYSTEMD;
	else
		lo->supervisor = lo->runtime == FL_RUNTIME_DOCKER || systemd_running() ? FL_SUPERVISOR_SYSTEMD
		                                                                       : FL_SUPERVISOR_NONE;
	if (lo->runtime == FL_RUNTIME_DOCKER && lo->supervisor == FL_SUPERVISOR_NONE)
		return usage_error(
		    "the docker runtime runs under systemd; --supervisor none is for --runtime process%s",
		    "");
	/* Paths end up in unit files and argv: absolute, no blanks or control characters. */
	const char *fd = o->flower_dir ? o->flower_dir : FL_LAUNCH_FLOWER_DIR;
	snprintf(j->flower_dir, sizeof j->flower_dir, "%s", fd);
	size_t n = strlen(j->flower_dir);
	while (n > 1 && j->flower_dir[n - 1] == '/')
		j->flower_dir[--n] = '\0';
	const char *paths[] = {j->flower_dir, o->unit_dir, o->docker, o->nginx};
	for (int i = 0; i < 4; i++)
		if (paths[i] && (paths[i][0] != '/' || strpbrk(paths[i], " \t\n\r\"'\\$%;") != NULL))
			return usage_error("'%s' must be an absolute path without blanks, quotes, $, %% or ;",
			                   paths[i]);
	if (lo->runtime == FL_RUNTIME_DOCKER && fl_launch_check_dir(j->flower_dir, &e) < 0)
		return usage_error("%s", e.msg);
	lo->flower_dir = j->flower_dir;
	lo->unit_dir = o->unit_dir ? o->unit_dir : FL_LAUNCH_UNIT_DIR;
	lo->docker = o->docker ? o->docker : FL_LAUNCH_DOCKER;
	lo->nginx = o->nginx ? o->nginx : FL_LAUNCH_NGINX;
	lo->image = o->image;
	lo->appio_port = o->appio_port;
	lo->health_port =
	    lo->role == FL_ROLE_SUPERLINK ? (o->health_port_set ? o->health_port : FL_LAUNCH_HEALTH_PORT) : 0;
	lo->gpu = o->gpu && strcasecmp(o->gpu, "yes") == 0;
	lo->uid = FL_LAUNCH_UID;
	lo->gid = FL_LAUNCH_GID;
	if (o->owner) {
		/* Digits only, below 2^31: "-1" would mean "leave the owner alone" to chown and a
		 * value past 32 bits would wrap to root. */
		const char *colon = strchr(o->owner, ':');
		char uid_s[16] = "", gid_s[16] = "";
		long u = -1, g = -1;
		if (colon && (size_t)(colon - o->owner) < sizeof uid_s && strlen(colon + 1) < sizeof gid_s) {
			memcpy(uid_s, o->owner, (size_t)(colon - o->owner));
			snprintf(gid_s, sizeof gid_s, "%s", colon + 1);
		}
		if (!fl_check_nonneg(uid_s, &u) || !fl_check_nonneg(gid_s, &g))
			return usage_error("--owner '%s' is not UID:GID (numbers, e.g. 49999:49999)",
			                   o->owner);
		lo->uid = (uid_t)u;
		lo->gid = (gid_t)g;
	}
	if (o->prebaked)
		snprintf(j->prebaked, sizeof j->prebaked, "%s", o->prebaked);
	else
		snprintf(j->prebaked, sizeof j->prebaked, "%s/PREBAKED_VERSION", j->flower_dir);

	if (lo->role == FL_ROLE_SUPERLINK) {
		lo->tls = strcasecmp(fl_ctx_get(&j->c, "FL_TLS_ENABLED"), "YES") == 0;
		if (o->addr) {
			if (fl_net_canonical(o->addr, j->vm_addr, sizeof j->vm_addr) < 0)
				return usage_error("--addr '%s' is not an IP address", o->addr);
		} else {
			/* As fl-certgen: $FLKIT_NET_ADDRS, else the default-route interface. */
			struct fl_addrs addrs = {0};
			char ifname[IF_NAMESIZE];
			const char *env = getenv("FLKIT_NET_ADDRS");
			if (env && *env) {
				if (fl_net_addrs_parse(&addrs, env, "FLKIT_NET_ADDRS", &e) < 0)
					return fl_log_err(&e);
			} else {
				fl_net_vm_addrs(&addrs, ifname, &e);
			}
			if (addrs.n)
				snprintf(j->vm_addr, sizeof j->vm_addr, "%s", addrs.v[0]);
			fl_net_addrs_free(&addrs);
		}
		lo->vm_addr = j->vm_addr[0] ? j->vm_addr : NULL;
	} else {
		if (o->discovery && discovery_load(o->discovery, &j->og, &e) < 0)
			return fl_log_err(&e);
		lo->superlink = j->og.superlink;
		lo->tls = fl_cert_supernode_tls(&j->c, o->discovery ? &j->og : NULL);
	}

	const char *exe_name = lo->role == FL_ROLE_SUPERLINK ? "flower-superlink" : "flower-supernode";
	if (lo->runtime == FL_RUNTIME_PROCESS) {
		if (fl_launch_find_exe(o->flower_bin, exe_name, j->exe, sizeof j->exe, &e) < 0)
			return fl_log_err(&e);
		lo->exe = j->exe;
	}
	if (!need_version)
		return 0;
	const char *v = o->flower_version;
	if (!v && lo->runtime == FL_RUNTIME_DOCKER)
		v = fl_ctx_get(&j->c, "FLOWER_VERSION");
	if (v) {
		if (fl_flower_version_parse(v, &lo->version) < 0)
			return usage_error("'%s' is not a Flower version X.Y.Z", v);
	} else if (fl_flower_detect(j->exe, 30000, &lo->version, &e) < 0) {
		return fl_log_err(&e);
	}
	return 0;
}

/* quiet 0: every note; 1: warnings and errors; 2: errors only (checks run often). */
static int plan(struct job *j, int quiet)
{
	struct fl_diags d = FL_DIAGS_INIT;
	struct fl_err e = {0};
	int rc = fl_launch_plan(&j->c, &j->lo, &j->p, &d, &e);
	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].level >= (quiet == 0 ? FL_DEBUG : quiet == 1 ? FL_WARN : FL_ERROR))
			fl_log(d.v[i].level, "%s", d.v[i].msg);
	fl_diags_free(&d);
	if (rc < 0)
		return fl_log_err(&e);
	j->planned = true;
	return 0;
}

static int setup(const struct opts *o, struct job *j, bool need_version, int quiet)
{
	int rc = load(o, j);
	if (!rc)
		rc = resolve(o, j, need_version);
	if (!rc)
		rc = plan(j, quiet);
	return rc;
}

/* --- verbs --- */

static int print_plan(const struct opts *o, const char *what)
{
	struct job j = {0};
	int rc = setup(o, &j, true, 1);
	bool proxy = strncmp(what, "proxy-", 6) == 0;
	if (!rc && proxy && !j.p.proxied) {
		fl_error("this plan has no Fleet proxy: only a SuperLink of Flower 1.40+ has one, unless "
		         "FL_CONTROL_API_EXPOSED=YES");
		rc = FL_EXIT_FAIL;
	} else if (!rc) {
		if (strcmp(what, "argv") == 0)
			for (size_t i = 0; i < j.p.argv.n; i++)
				printf("%s\n", j.p.argv.v[i]);
		else if (proxy)
			fputs(fl_buf_str(strcmp(what, "proxy-conf") == 0 ? &j.p.proxy_conf : &j.p.proxy_unit),
			      stdout);
		else
			fputs(fl_buf_str(strcmp(what, "env") == 0 ? &j.p.env : &j.p.unit), stdout);
	}
	job_free(&j);
	return rc;
}

static int install(const struct opts *o)
{
	struct job j = {0};
	int rc = setup(o, &j, true, 0);
	bool changed;
	struct fl_err e = {0};
	if (!rc && fl_launch_install(&j.p, &j.lo, &changed, &e) < 0)
		rc = fl_log_err(&e);
	job_free(&j);
	return rc;
}

/* Docker: wait for the daemon and settle the image version before planning. */
static int docker_version(const struct opts *o, struct job *j)
{
	struct fl_err e = {0};
	if (fl_launch_wait_docker(j->lo.docker, 60000, 1000, &e) < 0)
		return fl_log_err(&e);
	if (o->flower_version)
		return 0;
	struct fl_diags d = FL_DIAGS_INIT;
	const char *repo = o->image                          ? o->image
	                   : j->lo.role == FL_ROLE_SUPERLINK ? "flwr/superlink"
	                                                     : "flwr/supernode";
	int rc = fl_launch_image(j->lo.docker, repo, fl_ctx_get(&j->c, "FLOWER_VERSION"), j->prebaked, 600000,
	                         &j->lo.version, &d, &e);
	fl_diags_log(&d);
	return rc < 0 ? fl_log_err(&e) : 0;
}

static int start(const struct opts *o)
{
	struct job j = {0};
	int rc = load(o, &j);
	if (!rc)
		rc = resolve(o, &j, (o->runtime && strcmp(o->runtime, "process") == 0) || o->flower_version);
	if (!rc && j.lo.runtime == FL_RUNTIME_DOCKER)
		rc = docker_version(o, &j);
	if (!rc)
		rc = plan(&j, 0);
	if (rc) {
		job_free(&j);
		return rc;
	}
	char ver[32];
	fl_flower_version_format(&j.lo.version, ver, sizeof ver);
	fl_info("Flower %s, era %s; %s runtime under %s", ver,
	        fl_flower_era_name(fl_flower_version_era(&j.lo.version)),
	        j.lo.runtime == FL_RUNTIME_DOCKER ? "docker" : "process",
	        j.lo.supervisor == FL_SUPERVISOR_SYSTEMD ? "systemd" : "no supervisor");
	if (j.lo.role == FL_ROLE_SUPERLINK && j.lo.tls) {
		char ca[4200];
		snprintf(ca, sizeof ca, "%s/certs/server.pem", j.flower_dir);
		if (access(ca, R_OK) != 0) {
			fl_error("TLS is on (FL_TLS_ENABLED=YES) but %s is missing: run `fl-certgen "
			         "superlink` first",
			         ca);
			job_free(&j);
			return FL_EXIT_FAIL;
		}
	}
	if (j.lo.role == FL_ROLE_SUPERNODE && j.lo.tls) {
		char ca[4200];
		snprintf(ca, sizeof ca, "%s/certs/ca.crt", j.flower_dir);
		if (access(ca, R_OK) != 0) {
			fl_error("TLS is on but %s is missing: run `fl-certgen supernode` first", ca);
			job_free(&j);
			return FL_EXIT_FAIL;
		}
	}
	struct fl_err e = {0};
	bool reached;
	if (fl_launch_trust_check(&j.p, &j.lo, &reached, &e) < 0) {
		fl_error("%s", e.msg);
		fl_error("not starting %s: it could never connect", j.p.name);
		job_free(&j);
		return FL_EXIT_FAIL;
	}
	if (j.lo.role == FL_ROLE_SUPERNODE && j.lo.tls && !reached)
		fl_info("SuperLink %s does not answer yet; Flower keeps trying once started",
		        j.p.a.superlink);
	enum fl_launch_action act;
	struct fl_buf why = FL_BUF_INIT;
	if (fl_launch_start(&j.p, &j.lo, &act, &why, &e) < 0) {
		rc = fl_log_err(&e);
		struct fl_buf tail = FL_BUF_INIT;
		fl_launch_log_tail(&j.p, &j.lo, (unsigned)o->lines, &tail);
		if (tail.len)
			fl_error("last lines of %s:\n%s", j.p.name, fl_buf_str(&tail));
		fl_buf_free(&tail);
	} else if (act == FL_LAUNCH_UNCHANGED) {
		fl_info("%s already runs this configuration: left alone (not restarted)", j.p.name);
	} else if (act == FL_LAUNCH_RESTARTED) {
		fl_warn("configuration changed (%s): restarted %s", fl_buf_str(&why), j.p.name);
	} else {
		fl_info("started %s", j.p.name);
	}
	fl_buf_free(&why);
	job_free(&j);
	return rc;
}

static int stop(const struct opts *o)
{
	struct job j = {0};
	/* Stopping needs no version: the plan is only used for names and paths. */
	int rc = load(o, &j);
	if (!rc)
		rc = resolve(o, &j, false);
	if (!rc) {
		if (!j.lo.version.major)
			fl_flower_version_parse(FL_FLOWER_OLDEST, &j.lo.version);
		rc = plan(&j, 2);
	}
	struct fl_err e = {0};
	if (!rc && fl_launch_stop(&j.p, &j.lo, 45000, &e) < 0)
		rc = fl_log_err(&e);
	job_free(&j);
	return rc;
}

/* A plan good enough for names, paths and addresses, without asking Flower its version. */
static int setup_light(const struct opts *o, struct job *j)
{
	quiet_checks = true;
	int rc = load(o, j);
	/* A native Flower tells its version cheaply (dist-info); addresses depend on it. */
	if (!rc)
		rc = resolve(o, j,
		             o->flower_version != NULL || (o->runtime && strcmp(o->runtime, "process") == 0));
	if (!rc) {
		if (!j->lo.version.major && !j->lo.version.minor) {
			const char *v = fl_ctx_get(&j->c, "FLOWER_VERSION");
			if (j->lo.runtime == FL_RUNTIME_PROCESS ||
			    fl_flower_version_parse(v, &j->lo.version) < 0)
				fl_flower_version_parse(FL_FLOWER_OLDEST, &j->lo.version);
		}
		rc = plan(j, 2);
	}
	return rc;
}

static int status(const struct opts *o)
{
	struct job j = {0};
	int rc = setup_light(o, &j);
	if (rc) {
		job_free(&j);
		return rc;
	}
	pid_t pid = 0;
	struct fl_err e = {0};
	int r = fl_launch_running(&j.p, &j.lo, &pid, &e);
	if (r < 0) {
		rc = fl_log_err(&e);
	} else {
		printf("SERVICE=%s\nRUNNING=%s\n", j.p.name, r ? "yes" : "no");
		if (pid)
			printf("PID=%ld\n", (long)pid);
		printf("RUNTIME=%s\nSUPERVISOR=%s\n",
		       j.lo.runtime == FL_RUNTIME_DOCKER ? "docker" : "process",
		       j.lo.supervisor == FL_SUPERVISOR_SYSTEMD ? "systemd" : "none");
		printf("LOG=%s\n", j.lo.runtime == FL_RUNTIME_DOCKER ? "docker logs" : j.p.log_path);
		rc = r ? FL_EXIT_OK : FL_EXIT_FAIL;
		/* Era C: the Fleet proxy is part of the service; not running is not running. */
		pid_t ppid = 0;
		int pr = j.p.proxied ? fl_launch_proxy_running(&j.p, &j.lo, &ppid, &e) : 0;
		if (pr < 0) {
			rc = fl_log_err(&e);
		} else if (j.p.proxied) {
			printf("PROXY=%s\nPROXY_RUNNING=%s\n", j.p.proxy_name, pr ? "yes" : "no");
			if (ppid)
				printf("PROXY_PID=%ld\n", (long)ppid);
			printf("PROXY_ADDRESS=%s\n", j.p.a.proxy);
			if (!pr)
				rc = FL_EXIT_FAIL;
		}
	}
	job_free(&j);
	return rc;
}

static int show(const struct opts *o)
{
	struct job j = {0};
	int rc = setup_light(o, &j);
	if (!rc) {
		char ver[32];
		fl_launch_running_version(&j.p, ver, sizeof ver);
		if (j.lo.role == FL_ROLE_SUPERLINK) {
			printf("FL_ENDPOINT=%s\nFL_FLEET_ADDRESS=%s\nFL_CONTROL_ADDRESS=%s\n", j.p.a.endpoint,
			       j.p.a.fleet_probe, j.p.a.control);
			if (j.p.a.health[0])
				printf("FL_HEALTH_ADDRESS=%s\n", j.p.a.health);
		} else {
			printf("FL_SUPERLINK_ADDRESS=%s\n", j.p.a.superlink);
		}
		printf("FL_TLS=%s\nFL_VERSION=%s\n", j.lo.tls ? "YES" : "NO", ver);
	}
	job_free(&j);
	return rc;
}

static int logs(const struct opts *o)
{
	struct job j = {0};
	int rc = setup_light(o, &j);
	if (!rc) {
		struct fl_buf b = FL_BUF_INIT;
		fl_launch_log_tail(&j.p, &j.lo, (unsigned)o->lines, &b);
		fputs(fl_buf_str(&b), stdout);
		fl_buf_free(&b);
	}
	job_free(&j);
	return rc;
}

/* --- OneGate --- */

static int identity(const struct opts *o, struct fl_identity *id, struct fl_err *e)
{
	struct fl_identity_src s = {.envp = environ,
	                            .one_env = o->one_env ? o->one_env : FL_CTX_DEFAULT_PATH,
	                            .token_file = o->token_file ? o->token_file : FL_CTX_DEFAULT_TOKEN,
	                            .complete = true};
	return fl_identity_load(id, &s, e);
}

/* Publish with the identity identity() loaded (id_rc its result, e its error). Best effort
 * or not, a failed publication says what SuperNodes must do without it. */
static int publish(const struct opts *o, const struct fl_identity *id, int id_rc, struct fl_err *e,
                   struct fl_argv *pairs, bool erase_error)
{
	int rc = id_rc < 0 ? -1 : fl_launch_publish(id, pairs, erase_error, e);
	if (rc == 0) {
		struct fl_buf keys = FL_BUF_INIT;
		for (size_t i = 0; i < pairs->n; i++)
			fl_buf_addf(&keys, "%s%.*s", i ? " " : "", (int)strcspn(pairs->v[i], "="),
			            pairs->v[i]);
		fl_info("Published %s to OneGate", fl_buf_str(&keys));
		fl_buf_free(&keys);
		return FL_EXIT_OK;
	}
	fl_log(o->best_effort ? FL_WARN : FL_ERROR, "%s", e->msg);
	bool sl = false;
	for (size_t i = 0; i < pairs->n; i++)
		sl |= strncmp(pairs->v[i], "FL_ENDPOINT=", 12) == 0;
	fl_warn(sl ? "OneGate publication failed. SuperNodes must use static FL_SUPERLINK_ADDRESS."
	           : "OneGate publication failed.");
	return o->best_effort ? FL_EXIT_OK : e->code ? e->code : FL_EXIT_FAIL;
}

static int publish_error_pairs(const struct opts *o, const struct job *j, const char *reason)
{
	struct fl_argv pairs = FL_ARGV_INIT;
	fl_argv_add(&pairs, j->lo.role == FL_ROLE_SUPERLINK ? "FL_READY=NO" : "FL_NODE_READY=NO");
	fl_argv_addf(&pairs, "FL_ERROR=%s", reason);
	struct fl_identity id = {0};
	struct fl_err e = {0};
	int id_rc = identity(o, &id, &e);
	int rc = publish(o, &id, id_rc, &e, &pairs, false);
	fl_identity_free(&id);
	fl_argv_free(&pairs);
	return rc;
}

static int publish_error(const struct opts *o, const char *reason)
{
	size_t n = strlen(reason);
	if (!n || n > 64 || strspn(reason, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return usage_error("publish-error: REASON '%s' must be 1-64 of a-z, 0-9 and _ (e.g. "
		                   "docker_start_failed)",
		                   reason);
	struct job j = {0};
	int rc = setup_light(o, &j);
	if (!rc)
		rc = publish_error_pairs(o, &j, reason);
	job_free(&j);
	return rc;
}

static int publish_ready(const struct opts *o)
{
	struct job j = {0};
	int rc = setup_light(o, &j);
	if (rc) {
		job_free(&j);
		return rc;
	}
	bool final;
	struct fl_err e = {0};
	if (fl_launch_health(&j.p, &j.lo, &final, &e) < 0) {
		/* Never YES after a failed check. */
		fl_error("%s: not publishing readiness", e.msg);
		job_free(&j);
		return FL_EXIT_FAIL;
	}
	/* One identity: the SuperNode's FL_NODE_ID and the request's headers. */
	struct fl_identity id = {0};
	struct fl_err ie = {0};
	int id_rc = identity(o, &id, &ie);
	struct fl_argv pairs = FL_ARGV_INIT;
	if (fl_launch_ready_pairs(&j.p, &j.lo, id.vmid, &pairs, &e) < 0)
		rc = fl_log_err(&e);
	else
		rc = publish(o, &id, id_rc, &ie, &pairs, j.lo.role == FL_ROLE_SUPERLINK);
	fl_identity_free(&id);
	fl_argv_free(&pairs);
	job_free(&j);
	return rc;
}

static int health(const struct opts *o)
{
	struct job j = {0};
	int rc = setup_light(o, &j);
	if (!rc) {
		bool final;
		struct fl_err e = {0};
		if (fl_launch_health(&j.p, &j.lo, &final, &e) < 0) {
			fl_error("%s", e.msg);
			rc = FL_EXIT_FAIL;
		} else {
			fl_info("%s healthy", j.p.name);
		}
	}
	job_free(&j);
	return rc;
}

static int wait_healthy(const struct opts *o)
{
	struct job j = {0};
	int rc = setup_light(o, &j);
	if (rc) {
		job_free(&j);
		return rc;
	}
	bool sl = j.lo.role == FL_ROLE_SUPERLINK;
	long timeout_s = o->timeout_s > 0 ? o->timeout_s : sl ? 120 : 60;
	long interval_s = o->interval_s > 0 ? o->interval_s : sl ? 2 : 1;
	struct fl_err e = {0};
	bool final = false;
	if (fl_launch_wait_healthy(&j.p, &j.lo, timeout_s * 1000, interval_s * 1000, &final, &e) == 0) {
		job_free(&j);
		return FL_EXIT_OK;
	}
	fl_error("%s", e.msg);
	struct fl_buf tail = FL_BUF_INIT;
	fl_launch_log_tail(&j.p, &j.lo, (unsigned)o->lines, &tail);
	if (tail.len)
		fl_error("last %ld lines of %s:\n%s", o->lines, j.p.name, fl_buf_str(&tail));
	else
		fl_error("%s has written no output yet", j.p.name);
	fl_buf_free(&tail);
	if (sl && !o->no_publish) {
		struct opts q = *o;
		q.best_effort = true;
		publish_error_pairs(&q, &j, final ? "health_check_failed" : "health_check_timeout");
	}
	job_free(&j);
	return final ? FL_EXIT_FAIL : FL_EXIT_TIMEOUT;
}

static int wait_docker(const struct opts *o)
{
	struct fl_err e = {0};
	long t = o->timeout_s > 0 ? o->timeout_s : 60, i = o->interval_s > 0 ? o->interval_s : 1;
	if (fl_launch_wait_docker(o->docker ? o->docker : FL_LAUNCH_DOCKER, t * 1000, i * 1000, &e) < 0)
		return fl_log_err(&e);
	return FL_EXIT_OK;
}

static int image(const struct opts *o)
{
	struct job j = {0};
	int rc = load(o, &j);
	if (!rc)
		rc = resolve(o, &j, false);
	if (!rc) {
		struct fl_diags d = FL_DIAGS_INIT;
		struct fl_err e = {0};
		const char *repo = o->image                         ? o->image
		                   : j.lo.role == FL_ROLE_SUPERLINK ? "flwr/superlink"
		                                                    : "flwr/supernode";
		struct fl_version v;
		int r = fl_launch_image(j.lo.docker, repo, fl_ctx_get(&j.c, "FLOWER_VERSION"), j.prebaked,
		                        600000, &v, &d, &e);
		fl_diags_log(&d);
		if (r < 0) {
			rc = fl_log_err(&e);
		} else {
			char ver[32];
			fl_flower_version_format(&v, ver, sizeof ver);
			printf("%s\n", ver);
		}
	}
	job_free(&j);
	return rc;
}

static int restart(const struct opts *o)
{
	int rc = stop(o);
	return rc ? rc : start(o);
}

static bool known_verb(const char *verb)
{
	static const char *const verbs[] = {
	    "start", "stop",        "restart",       "status",        "show",         "argv",
	    "env",   "unit",        "install",       "health",        "wait-healthy", "logs",
	    "image", "wait-docker", "publish-ready", "publish-error", "proxy-conf",   "proxy-unit"};
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(verb, verbs[i]) == 0)
			return true;
	return false;
}

static bool port_arg(const char *s, unsigned *out, bool zero_ok)
{
	long v;
	if (!fl_check_nonneg(s, &v) || v > 65535 || (!zero_ok && v == 0))
		return false;
	*out = (unsigned)v;
	return true;
}

int main(int argc, char **argv)
{
	enum {
		OPT_RUNTIME = 256,
		OPT_SUPERVISOR,
		OPT_FLOWER_DIR,
		OPT_UNIT_DIR,
		OPT_DOCKER,
		OPT_NGINX,
		OPT_IMAGE,
		OPT_FLOWER_VERSION,
		OPT_FLOWER_BIN,
		OPT_ADDR,
		OPT_DISCOVERY,
		OPT_GPU,
		OPT_APPIO,
		OPT_HEALTH,
		OPT_OWNER,
		OPT_PREBAKED,
		OPT_TIMEOUT,
		OPT_INTERVAL,
		OPT_ONE_ENV,
		OPT_TOKEN_FILE,
		OPT_BEST_EFFORT,
		OPT_NO_PUBLISH,
	};
	static const struct option longopts[] = {
	    {"context", required_argument, NULL, 'c'},
	    {"env-only", no_argument, NULL, 'E'},
	    {"role", required_argument, NULL, 'r'},
	    {"runtime", required_argument, NULL, OPT_RUNTIME},
	    {"supervisor", required_argument, NULL, OPT_SUPERVISOR},
	    {"flower-dir", required_argument, NULL, OPT_FLOWER_DIR},
	    {"unit-dir", required_argument, NULL, OPT_UNIT_DIR},
	    {"docker", required_argument, NULL, OPT_DOCKER},
	    {"nginx", required_argument, NULL, OPT_NGINX},
	    {"image", required_argument, NULL, OPT_IMAGE},
	    {"flower-version", required_argument, NULL, OPT_FLOWER_VERSION},
	    {"flower-bin", required_argument, NULL, OPT_FLOWER_BIN},
	    {"addr", required_argument, NULL, OPT_ADDR},
	    {"discovery", required_argument, NULL, OPT_DISCOVERY},
	    {"gpu", required_argument, NULL, OPT_GPU},
	    {"appio-port", required_argument, NULL, OPT_APPIO},
	    {"health-port", required_argument, NULL, OPT_HEALTH},
	    {"owner", required_argument, NULL, OPT_OWNER},
	    {"prebaked", required_argument, NULL, OPT_PREBAKED},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"interval", required_argument, NULL, OPT_INTERVAL},
	    {"one-env", required_argument, NULL, OPT_ONE_ENV},
	    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
	    {"best-effort", no_argument, NULL, OPT_BEST_EFFORT},
	    {"no-publish", no_argument, NULL, OPT_NO_PUBLISH},
	    {"lines", required_argument, NULL, 'n'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	/* The options only some verbs take (the others apply to every verb, before it). */
	static const struct fl_cli_verbopt verb_opts[] = {
	    {'n', "--lines", "logs|wait-healthy|start|restart"},
	    {OPT_TIMEOUT, "--timeout", "wait-healthy|wait-docker"},
	    {OPT_INTERVAL, "--interval", "wait-healthy|wait-docker"},
	    {OPT_NO_PUBLISH, "--no-publish", "wait-healthy"},
	    {OPT_BEST_EFFORT, "--best-effort", "publish-ready|publish-error"},
	};
	const size_t nvo = sizeof verb_opts / sizeof verb_opts[0];
	fl_log_init("fl-launch");
	struct opts o = {0};
	o.lines = 20;
	/* "-": the other words come back in order (as 1), whatever POSIXLY_CORRECT says, so an
	 * option is known to come before or after the verb: after it, only the verb's own. Static:
	 * still reachable when main returns early. */
	static char **pos;
	static int *seen;
	pos = fl_xcalloc((size_t)argc + 1, sizeof *pos);
	seen = fl_xcalloc((size_t)argc + 1, sizeof *seen);
	int npos = 0;
	size_t nseen = 0;
	int ch;
	for (int at = optind; (ch = getopt_long(argc, argv, "-c:Er:n:qvhV", longopts, NULL)) != -1;
	     at = optind) {
		if (ch == 1) {
			pos[npos++] = optarg;
			continue;
		}
		if (npos && ch != '?' && ch != ':' && !fl_cli_find(verb_opts, nvo, ch))
			return usage_error("options go before the verb: '%s' follows it", argv[at]);
		seen[nseen++] = ch;
		switch (ch) {
		case 'c': o.context = optarg; break;
		case 'E': o.env_only = true; break;
		case 'r':
			o.role = fl_var_role_parse(optarg);
			if (o.role != FL_ROLE_SUPERLINK && o.role != FL_ROLE_SUPERNODE)
				return usage_error("--role '%s': superlink or supernode", optarg);
			break;
		case OPT_RUNTIME:
			if (strcmp(optarg, "docker") != 0 && strcmp(optarg, "process") != 0)
				return usage_error("--runtime '%s': docker or process", optarg);
			o.runtime = optarg;
			break;
		case OPT_SUPERVISOR:
			if (strcmp(optarg, "systemd") != 0 && strcmp(optarg, "none") != 0)
				return usage_error("--supervisor '%s': systemd or none", optarg);
			o.supervisor = optarg;
			break;
		case OPT_FLOWER_DIR: o.flower_dir = optarg; break;
		case OPT_UNIT_DIR: o.unit_dir = optarg; break;
		case OPT_DOCKER: o.docker = optarg; break;
		case OPT_NGINX: o.nginx = optarg; break;
		case OPT_IMAGE: {
			struct fl_err ie = {0};
			if (fl_launch_check_image(optarg, &ie) < 0)
				return usage_error("%s", ie.msg);
			o.image = optarg;
			break;
		}
		case OPT_FLOWER_VERSION: o.flower_version = optarg; break;
		case OPT_FLOWER_BIN: o.flower_bin = optarg; break;
		case OPT_ADDR: o.addr = optarg; break;
		case OPT_DISCOVERY: o.discovery = optarg; break;
		case OPT_GPU:
			if (strcasecmp(optarg, "yes") != 0 && strcasecmp(optarg, "no") != 0)
				return usage_error("--gpu '%s': yes or no", optarg);
			o.gpu = optarg;
			break;
		case OPT_APPIO:
			if (!port_arg(optarg, &o.appio_port, false))
				return usage_error("--appio-port '%s': a port 1-65535", optarg);
			break;
		case OPT_HEALTH:
			if (!port_arg(optarg, &o.health_port, true))
				return usage_error("--health-port '%s': a port 1-65535, or 0 for none",
				                   optarg);
			o.health_port_set = true;
			break;
		case OPT_OWNER: o.owner = optarg; break;
		case OPT_PREBAKED: o.prebaked = optarg; break;
		case OPT_TIMEOUT:
			if (!fl_check_posint(optarg, &o.timeout_s))
				return usage_error("--timeout '%s': seconds, a positive integer", optarg);
			break;
		case OPT_INTERVAL:
			if (!fl_check_posint(optarg, &o.interval_s))
				return usage_error("--interval '%s': seconds, a positive integer", optarg);
			break;
		case OPT_ONE_ENV: o.one_env = optarg; break;
		case OPT_TOKEN_FILE: o.token_file = optarg; break;
		case OPT_BEST_EFFORT: o.best_effort = true; break;
		case OPT_NO_PUBLISH: o.no_publish = true; break;
		case 'n':
			if (!fl_check_posint(optarg, &o.lines) || o.lines > 10000)
				return usage_error("--lines '%s': 1-10000", optarg);
			break;
		case 'q': fl_log_set_threshold(FL_WARN); break;
		case 'v': fl_log_set_threshold(FL_DEBUG); break;
		case 'h': printf("%s%s", usage_text, help_text); return FL_EXIT_OK;
		case 'V': printf("fl-launch %s\n", FLKIT_VERSION); return FL_EXIT_OK;
		default: fprintf(stderr, "%s", usage_text); return FL_EXIT_USAGE;
		}
	}
	/* Files named by an option: a FIFO or device is refused here, never waited on. */
	const char *file_opts[][2] = {{"--context", o.context},
	                              {"--discovery", o.discovery},
	                              {"--prebaked", o.prebaked},
	                              {"--one-env", o.one_env},
	                              {"--token-file", o.token_file}};
	for (size_t i = 0; i < sizeof file_opts / sizeof file_opts[0]; i++) {
		struct fl_err fe = {0};
		if (fl_fs_check_regular(file_opts[i][0], file_opts[i][1], &fe) < 0)
			return fl_log_err(&fe);
	}
	while (optind < argc) /* after "--" */
		pos[npos++] = argv[optind++];
	argc = npos;
	argv = pos;
	if (argc < 1)
		return usage_error("a verb is needed%s", "");
	const char *verb = argv[0];
	const struct fl_cli_verbopt *f = fl_cli_foreign(verb_opts, nvo, seen, nseen, verb);
	if (f && known_verb(verb)) {
		fl_cli_foreign_print("fl-launch", f, verb, usage_text);
		return FL_EXIT_USAGE;
	}
	if (strcmp(verb, "publish-error") == 0) {
		if (argc != 2)
			return usage_error(
			    "publish-error needs exactly one REASON (e.g. docker_start_failed)%s", "");
		return publish_error(&o, argv[1]);
	}
	if (argc != 1)
		return usage_error("unexpected argument '%s'", argv[1]);
	if (strcmp(verb, "argv") == 0 || strcmp(verb, "env") == 0 || strcmp(verb, "unit") == 0 ||
	    strcmp(verb, "proxy-conf") == 0 || strcmp(verb, "proxy-unit") == 0)
		return print_plan(&o, verb);
	if (strcmp(verb, "install") == 0)
		return install(&o);
	if (strcmp(verb, "start") == 0)
		return start(&o);
	if (strcmp(verb, "stop") == 0)
		return stop(&o);
	if (strcmp(verb, "restart") == 0)
		return restart(&o);
	if (strcmp(verb, "status") == 0)
		return status(&o);
	if (strcmp(verb, "show") == 0)
		return show(&o);
	if (strcmp(verb, "logs") == 0)
		return logs(&o);
	if (strcmp(verb, "health") == 0)
		return health(&o);
	if (strcmp(verb, "wait-healthy") == 0)
		return wait_healthy(&o);
	if (strcmp(verb, "publish-ready") == 0)
		return publish_ready(&o);
	if (strcmp(verb, "wait-docker") == 0)
		return wait_docker(&o);
	if (strcmp(verb, "image") == 0)
		return image(&o);
	return usage_error("unknown verb '%s'", verb);
}
