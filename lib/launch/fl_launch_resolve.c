/* fl_launch_resolve: fl-launch's command line and configuration into struct fl_launch_opts:
 * runtime, supervisor, paths, owner, addresses, TLS, executable and Flower version. */
#include "fl_fs.h"
#include "fl_launch_job.h"
#include "fl_net.h"
#include "fl_tool.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int usage(struct fl_err *e, const char *msg)
{
	fl_err_set(e, FL_EXIT_USAGE, "%s", msg);
	return FL_LAUNCH_USAGE;
}

int fl_launch_resolve_owner(const char *s, uid_t *uid, gid_t *gid, struct fl_err *e)
{
	if (fl_tool_owner(s, uid, gid) == 0)
		return 0;
	fl_err_set(e, FL_EXIT_USAGE, "--owner '%s' is not UID:GID (numbers, e.g. 49999:49999)", s);
	return FL_LAUNCH_USAGE;
}

int fl_launch_resolve_path(const char *path, struct fl_err *e)
{
	if (path[0] == '/' && strpbrk(path, " \t\n\r\"'\\$%;") == NULL)
		return 0;
	fl_err_set(e, FL_EXIT_USAGE, "'%s' must be an absolute path without blanks, quotes, $, %% or ;",
	           path);
	return FL_LAUNCH_USAGE;
}

int fl_launch_resolve_vm_addr(const char *addr, char *out, size_t n, struct fl_err *e)
{
	out[0] = '\0';
	if (addr) {
		if (fl_net_canonical(addr, out, n) == 0)
			return 0;
		fl_err_set(e, FL_EXIT_USAGE, "--addr '%s' is not an IP address", addr);
		return FL_LAUNCH_USAGE;
	}
	struct fl_addrs addrs = {0};
	char ifname[IF_NAMESIZE];
	const char *env = getenv("FLKIT_NET_ADDRS");
	if (env && *env) {
		if (fl_net_addrs_parse(&addrs, env, "FLKIT_NET_ADDRS", e) < 0) {
			fl_net_addrs_free(&addrs); /* what it took before the bad entry */
			return -1;
		}
	} else {
		/* No address found is no error: FL_ENDPOINT then says so where it is used. */
		struct fl_err ignored = {0};
		fl_net_vm_addrs(&addrs, ifname, &ignored);
	}
	if (addrs.n)
		snprintf(out, n, "%s", addrs.v[0]);
	fl_net_addrs_free(&addrs);
	return 0;
}

int fl_launch_resolve_discovery(const char *path, struct fl_onegate_tls *og, struct fl_err *e)
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

static bool systemd_running(void)
{
	struct stat st;
	return stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

static int resolve_runtime(const struct fl_launch_args *a, struct fl_launch_opts *lo, struct fl_err *e)
{
	lo->runtime = a->runtime;
	if (a->supervisor_set)
		lo->supervisor = a->supervisor;
	else
		lo->supervisor = lo->runtime == FL_RUNTIME_DOCKER || systemd_running() ? FL_SUPERVISOR_SYSTEMD
		                                                                       : FL_SUPERVISOR_NONE;
	if (lo->runtime == FL_RUNTIME_DOCKER && lo->supervisor == FL_SUPERVISOR_NONE)
		return usage(
		    e, "the docker runtime runs under systemd; --supervisor none is for --runtime process");
	return 0;
}

/* Paths, ports and owner: what the command line says, else the defaults. */
static int resolve_local(const struct fl_launch_args *a, struct fl_launch_job *j, struct fl_err *e)
{
	struct fl_launch_opts *lo = &j->lo;
	snprintf(j->flower_dir, sizeof j->flower_dir, "%s",
	         a->flower_dir ? a->flower_dir : FL_LAUNCH_FLOWER_DIR);
	size_t n = strlen(j->flower_dir);
	while (n > 1 && j->flower_dir[n - 1] == '/')
		j->flower_dir[--n] = '\0';
	const char *paths[] = {j->flower_dir, a->unit_dir, a->docker, a->nginx};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (paths[i] && fl_launch_resolve_path(paths[i], e) < 0)
			return FL_LAUNCH_USAGE;
	if (lo->runtime == FL_RUNTIME_DOCKER && fl_launch_check_dir(j->flower_dir, e) < 0)
		return FL_LAUNCH_USAGE;
	lo->flower_dir = j->flower_dir;
	lo->unit_dir = a->unit_dir ? a->unit_dir : FL_LAUNCH_UNIT_DIR;
	lo->docker = a->docker ? a->docker : FL_LAUNCH_DOCKER;
	lo->nginx = a->nginx ? a->nginx : FL_LAUNCH_NGINX;
	lo->image = a->image;
	lo->appio_port = a->appio_port;
	lo->health_port = lo->role != FL_ROLE_SUPERLINK ? 0
	                  : a->health_port_set          ? a->health_port
	                                                : FL_LAUNCH_HEALTH_PORT;
	if (a->gpu_root && a->gpu_root[0] != '/')
		return usage(e,
		             "--gpu-root: an absolute directory (a machine's tree: sys/, proc/, dev/, etc/)");
	lo->uid = FL_LAUNCH_UID;
	lo->gid = FL_LAUNCH_GID;
	if (a->owner && fl_launch_resolve_owner(a->owner, &lo->uid, &lo->gid, e) < 0)
		return FL_LAUNCH_USAGE;
	if (a->prebaked)
		snprintf(j->prebaked, sizeof j->prebaked, "%s", a->prebaked);
	else
		snprintf(j->prebaked, sizeof j->prebaked, "%s/PREBAKED_VERSION", j->flower_dir);
	return 0;
}

/* SuperLink: TLS as configured and the address FL_ENDPOINT publishes; SuperNode: the
 * discovered SuperLink and the TLS decision (02 §2.3). */
static int resolve_network(const struct fl_launch_args *a, struct fl_launch_job *j, struct fl_err *e)
{
	struct fl_launch_opts *lo = &j->lo;
	if (lo->role == FL_ROLE_SUPERLINK) {
		lo->tls = j->c.conf.FL_TLS_ENABLED;
		int rc = fl_launch_resolve_vm_addr(a->addr, j->vm_addr, sizeof j->vm_addr, e);
		if (rc < 0)
			return rc;
		lo->vm_addr = j->vm_addr[0] ? j->vm_addr : NULL;
		return 0;
	}
	if (a->discovery && fl_launch_resolve_discovery(a->discovery, &j->og, e) < 0)
		return -1;
	lo->superlink = j->og.superlink;
	lo->tls = fl_cert_supernode_tls(&j->c, a->discovery ? &j->og : NULL);
	return 0;
}

static int resolve_version(const struct fl_launch_args *a, struct fl_launch_job *j, struct fl_err *e)
{
	const char *v = a->flower_version;
	if (!v && j->lo.runtime == FL_RUNTIME_DOCKER)
		v = fl_ctx_value(&j->c, FLV_FLOWER_VERSION);
	if (!v)
		return fl_flower_detect(j->exe, 30000, &j->lo.version, e);
	if (fl_flower_version_parse(v, &j->lo.version) == 0)
		return 0;
	fl_err_set(e, FL_EXIT_USAGE, "'%s' is not a Flower version X.Y.Z", v);
	return FL_LAUNCH_USAGE;
}

/* fl-metrics: --metrics-bin, else the one installed beside fl-launch itself (flkit installs its
 * tools together); none: metrics stay off with a warning from the plan. OneGate: the
 * identity's endpoint is known (the environment, the context file or --one-env). */
static int resolve_metrics(const struct fl_launch_args *a, struct fl_launch_job *j, struct fl_err *e)
{
	struct fl_launch_opts *lo = &j->lo;
	lo->onegate = a->one_env || fl_kvlist_get(&j->c.env, "ONEGATE_ENDPOINT") ||
	              fl_kvlist_get(&j->c.file, "ONEGATE_ENDPOINT");
	if (a->metrics_bin) {
		if (fl_launch_resolve_path(a->metrics_bin, e) < 0)
			return FL_LAUNCH_USAGE;
		snprintf(j->metrics_exe, sizeof j->metrics_exe, "%s", a->metrics_bin);
		lo->metrics_exe = j->metrics_exe;
		return 0;
	}
	char self[4000];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return 0;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	snprintf(j->metrics_exe, sizeof j->metrics_exe, "%s/fl-metrics", self);
	if (access(j->metrics_exe, X_OK) == 0 && fl_launch_resolve_path(j->metrics_exe, NULL) == 0)
		lo->metrics_exe = j->metrics_exe;
	return 0;
}

/* One piece of what Python runs from the hook directory: a directory, or a regular file (never a
 * link, FIFO or device), owned by root or by fl-launch's user and writable by nobody else (a
 * directory with the sticky bit may be, as /tmp: no other user can move what is in it). 0:
 * trusted; -1: why names the path and the reason. */
static int pyhook_piece(const char *path, bool dir, bool sticky_ok, char *why, size_t n)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		snprintf(why, n, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
		snprintf(why, n, "%s is not a %s", path, dir ? "directory" : "regular file");
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, n, "%s is owned by UID %u, neither root nor fl-launch's user", path,
		         (unsigned)st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(sticky_ok && (st.st_mode & S_ISVTX))) {
		snprintf(why, n, "%s is writable by group or others", path);
		return -1;
	}
	return 0;
}

/* Every file of the directory (and of its __pycache__) is one Python may import ahead of its
 * own library, PYTHONPATH coming first; the directories above it could swap it. */
static int pyhook_trusted(const char *dir, int depth, char *why, size_t n)
{
	if (pyhook_piece(dir, true, false, why, n) < 0)
		return -1;
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(why, n, "%s: %s", dir, strerror(errno));
		return -1;
	}
	int rc = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(d));) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char *path = NULL;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			abort();
		if (depth == 0 && !strcmp(de->d_name, "__pycache__"))
			rc = pyhook_trusted(path, 1, why, n);
		else
			rc = pyhook_piece(path, false, false, why, n);
		free(path);
	}
	closedir(d);
	if (rc < 0 || depth > 0)
		return rc;
	char up[4096];
	snprintf(up, sizeof up, "%s", dir);
	for (char *slash; (slash = strrchr(up, '/')) != NULL;) {
		slash[slash == up] = '\0';
		if (pyhook_piece(up, true, true, why, n) < 0)
			return -1;
		if (slash == up)
			break;
	}
	return 0;
}

/* flkit's Python keepalive hook, found from fl-launch's own place as fl-metrics is: installed,
 * BINDIR/../share/flkit/python; in the source tree, build/bin/../../share/python. A directory
 * that does not hold sitecustomize.py, or whose path a unit or docker -v cannot carry, is none
 * (the plan warns where the hook would have been used); one that another user could change is
 * refused, and the warning says why. */
static void resolve_pyhook(struct fl_launch_job *j)
{
	static const char *const rel[] = {"../share/flkit/python", "../../share/python"};
	char self[4000];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return;
	*slash = '\0';
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		char want[4100], file[4200], why[sizeof j->pyhook_why];
		struct stat st;
		snprintf(want, sizeof want, "%s/%s", self, rel[i]);
		if (!realpath(want, j->pyhook))
			continue;
		snprintf(file, sizeof file, "%s/sitecustomize.py", j->pyhook);
		if (lstat(file, &st) < 0 || fl_launch_resolve_path(j->pyhook, NULL) < 0 ||
		    fl_launch_check_dir(j->pyhook, NULL) < 0)
			continue;
		if (pyhook_trusted(j->pyhook, 0, why, sizeof why) == 0) {
			j->lo.pyhook = j->pyhook;
			j->lo.pyhook_refused = NULL;
			return;
		}
		if (!j->lo.pyhook_refused) {
			snprintf(j->pyhook_why, sizeof j->pyhook_why, "%s", why);
			j->lo.pyhook_refused = j->pyhook_why;
		}
	}
}

int fl_launch_resolve(const struct fl_launch_args *a, struct fl_launch_job *j, bool need_version,
                      struct fl_err *e)
{
	int rc = resolve_runtime(a, &j->lo, e);
	if (!rc)
		rc = resolve_local(a, j, e);
	if (!rc)
		rc = resolve_network(a, j, e);
	if (!rc)
		rc = resolve_metrics(a, j, e);
	if (rc)
		return rc;
	resolve_pyhook(j);
	if (j->lo.runtime == FL_RUNTIME_PROCESS) {
		const char *name = j->lo.role == FL_ROLE_SUPERLINK ? "flower-superlink" : "flower-supernode";
		if (fl_launch_find_exe(a->flower_bin, name, j->exe, sizeof j->exe, e) < 0)
			return -1;
		j->lo.exe = j->exe;
	}
	return need_version ? resolve_version(a, j, e) : 0;
}
