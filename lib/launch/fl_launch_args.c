/* fl_launch_args: fl-launch's own options, checked for form as they are given (enums, ports,
 * the image name) into struct fl_launch_args; what needs the configuration waits for
 * fl_launch_resolve. Counts and seconds (--lines, --timeout, --interval) are the front end's
 * (fl_tool_number), like every tool's. */
#include "fl_check.h"
#include "fl_fs.h"
#include "fl_launch_job.h"

#include <string.h>
#include <strings.h>

#define USAGE(...) (fl_err_set(e, FL_EXIT_USAGE, __VA_ARGS__), FL_LAUNCH_USAGE)

/* A port 1-65535 (zero_ok: or 0). */
static bool port(const char *s, unsigned *out, bool zero_ok)
{
	long v;
	if (!fl_check_nonneg(s, &v) || v > 65535 || (!zero_ok && v == 0))
		return false;
	*out = (unsigned)v;
	return true;
}

/* One of two words: 0 for the first, 1 for the second, -1 for neither. */
static int pick(const char *arg, const char *w0, const char *w1)
{
	return strcmp(arg, w0) == 0 ? 0 : strcmp(arg, w1) == 0 ? 1 : -1;
}

/* The options that take a word from a fixed set, or a port. */
static int set_checked(struct fl_launch_args *a, const char *name, const char *arg, struct fl_err *e)
{
	int k;
	if (strcmp(name, "role") == 0) {
		a->role = fl_var_role_parse(arg);
		if (a->role != FL_ROLE_SUPERLINK && a->role != FL_ROLE_SUPERNODE)
			return USAGE("--%s '%s': superlink or supernode", name, arg);
	} else if (strcmp(name, "runtime") == 0) {
		if ((k = pick(arg, "docker", "process")) < 0)
			return USAGE("--%s '%s': docker or process", name, arg);
		a->runtime = k ? FL_RUNTIME_PROCESS : FL_RUNTIME_DOCKER;
	} else if (strcmp(name, "supervisor") == 0) {
		if ((k = pick(arg, "systemd", "none")) < 0)
			return USAGE("--%s '%s': systemd or none", name, arg);
		a->supervisor = k ? FL_SUPERVISOR_NONE : FL_SUPERVISOR_SYSTEMD;
		a->supervisor_set = true;
	} else if (strcmp(name, "gpu") == 0) {
		if (strcasecmp(arg, "auto") == 0)
			a->gpu = FL_LAUNCH_GPU_AUTO;
		else if (strcasecmp(arg, "yes") == 0)
			a->gpu = FL_LAUNCH_GPU_YES;
		else if (strcasecmp(arg, "no") == 0)
			a->gpu = FL_LAUNCH_GPU_NO;
		else
			return USAGE("--%s '%s': auto, yes or no", name, arg);
	} else if (strcmp(name, "appio-port") == 0) {
		if (!port(arg, &a->appio_port, false))
			return USAGE("--%s '%s': a port 1-65535", name, arg);
	} else if (strcmp(name, "health-port") == 0) {
		if (!port(arg, &a->health_port, true))
			return USAGE("--%s '%s': a port 1-65535, or 0 for none", name, arg);
		a->health_port_set = true;
	} else if (strcmp(name, "image") == 0) {
		if (fl_launch_check_image(arg, e) < 0)
			return FL_LAUNCH_USAGE;
		a->image = arg;
	} else {
		return 1;
	}
	return 0;
}

int fl_launch_args_set(struct fl_launch_args *a, const char *name, const char *arg, struct fl_err *e)
{
	int rc = set_checked(a, name, arg, e);
	if (rc <= 0)
		return rc;
	/* Paths and values checked once the configuration is known (fl_launch_resolve). */
	const struct {
		const char *name;
		const char **field;
	} text[] = {
	    {"flower-dir", &a->flower_dir},   {"unit-dir", &a->unit_dir},
	    {"docker", &a->docker},           {"nginx", &a->nginx},
	    {"prebaked", &a->prebaked},       {"flower-version", &a->flower_version},
	    {"flower-bin", &a->flower_bin},   {"addr", &a->addr},
	    {"discovery", &a->discovery},     {"owner", &a->owner},
	    {"one-env", &a->one_env},         {"token-file", &a->token_file},
	    {"metrics-bin", &a->metrics_bin}, {"gpu-root", &a->gpu_root},
	};
	for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
		if (strcmp(name, text[i].name) == 0) {
			*text[i].field = arg;
			return 0;
		}
	if (strcmp(name, "best-effort") == 0)
		a->best_effort = true;
	else if (strcmp(name, "no-publish") == 0)
		a->no_publish = true;
	else
		return fl_err_set(e, FL_EXIT_USAGE, "--%s is not an option of fl-launch", name);
	return 0;
}

int fl_launch_args_check_files(const struct fl_launch_args *a, struct fl_err *e)
{
	const char *files[][2] = {{"--discovery", a->discovery},
	                          {"--prebaked", a->prebaked},
	                          {"--one-env", a->one_env},
	                          {"--token-file", a->token_file}};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		if (fl_fs_check_regular(files[i][0], files[i][1], e) < 0)
			return -1;
	return 0;
}
