/* fl-launch: run a Flower SuperLink or SuperNode from the resolved configuration: docker +
 * systemd (the appliance default) or native processes; health, readiness publication. */
#include "fl_buf.h"
#include "fl_check.h"
#include "fl_cli.h"
#include "fl_launch_job.h"
#include "fl_log.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static int __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fl-launch: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n%s", usage_text);
	va_end(ap);
	return FL_EXIT_USAGE;
}

/* Say what d holds, then e's message: the exit code for rc (see fl_launch_job.h). */
static int say(const struct fl_launch_job *j, int rc, struct fl_diags *d, const struct fl_err *e)
{
	if (j->loaded && j->c.conf.FL_LOG_FORMAT == FL_LOG_FORMAT_JSON)
		fl_log_set_json(1);
	fl_diags_log(d);
	if (rc == FL_LAUNCH_USAGE)
		return usage_error("%s", e->msg);
	if (rc == 0)
		return FL_EXIT_OK;
	if (e->msg[0])
		fl_error("%s", e->msg);
	return e->code ? e->code : FL_EXIT_FAIL;
}

/* Open the job for mode, run fn on it (if any), say it all. */
static int run(const struct fl_launch_args *o, enum fl_launch_job_mode mode,
               int (*fn)(const struct fl_launch_job *, const struct fl_launch_args *, struct fl_diags *,
                         struct fl_err *))
{
	struct fl_launch_job j = {0};
	struct fl_diags d = FL_DIAGS_INIT;
	struct fl_err e = {0};
	int rc = say(&j, fl_launch_job_open(&j, o, mode, &d, &e), &d, &e);
	if (!rc && fn)
		rc = say(&j, fn(&j, o, &d, &e), &d, &e);
	fl_launch_job_free(&j);
	return rc;
}

/* --- verbs --- */

static int print_plan(const struct fl_launch_args *o, const char *what)
{
	struct fl_launch_job j = {0};
	struct fl_diags d = FL_DIAGS_INIT;
	struct fl_err e = {0};
	struct fl_buf out = FL_BUF_INIT;
	int rc = fl_launch_job_open(&j, o, FL_LAUNCH_JOB_PRINT, &d, &e);
	if (!rc)
		rc = fl_launch_verb_text(&j, what, &out, &e);
	fputs(fl_buf_str(&out), stdout);
	fl_buf_free(&out);
	rc = say(&j, rc, &d, &e);
	fl_launch_job_free(&j);
	return rc;
}

static int install_plan(const struct fl_launch_job *j, const struct fl_launch_args *o, struct fl_diags *d,
                        struct fl_err *e)
{
	(void)o, (void)d;
	bool changed;
	return fl_launch_install(&j->p, &j->lo, &changed, e);
}

static int stop_plan(const struct fl_launch_job *j, const struct fl_launch_args *o, struct fl_diags *d,
                     struct fl_err *e)
{
	(void)o, (void)d;
	return fl_launch_stop(&j->p, &j->lo, 45000, e);
}

static int health_check(const struct fl_launch_job *j, const struct fl_launch_args *o, struct fl_diags *d,
                        struct fl_err *e)
{
	(void)o;
	return fl_launch_verb_health(j, d, e);
}

static int install(const struct fl_launch_args *o)
{
	return run(o, FL_LAUNCH_JOB_INSTALL, install_plan);
}

static int start(const struct fl_launch_args *o)
{
	struct fl_launch_job j = {0};
	struct fl_diags d = FL_DIAGS_INIT;
	struct fl_err e = {0};
	int rc = fl_launch_job_open(&j, o, FL_LAUNCH_JOB_START, &d, &e);
	if (!rc)
		rc = fl_launch_verb_preflight(&j, &d, &e);
	/* Said before the start, which may say that it waits for a lock. */
	rc = say(&j, rc, &d, &e);
	if (!rc)
		rc = say(&j, fl_launch_verb_start(&j, o, &d, &e), &d, &e);
	fl_launch_job_free(&j);
	return rc;
}

static int stop(const struct fl_launch_args *o)
{
	return run(o, FL_LAUNCH_JOB_STOP, stop_plan);
}

static int restart(const struct fl_launch_args *o)
{
	int rc = stop(o);
	return rc ? rc : start(o);
}

/* status, show, logs: a report on stdout. */
static int report(const struct fl_launch_args *o, const char *what)
{
	struct fl_launch_job j = {0};
	struct fl_diags d = FL_DIAGS_INIT;
	struct fl_err e = {0};
	struct fl_buf out = FL_BUF_INIT;
	int rc = fl_launch_job_open(&j, o, FL_LAUNCH_JOB_CHECK, &d, &e);
	bool running = true;
	if (!rc && strcmp(what, "status") == 0) {
		int r = fl_launch_verb_status(&j, &out, &e);
		rc = r < 0 ? -1 : 0;
		running = r > 0;
	} else if (!rc && strcmp(what, "show") == 0) {
		fl_launch_verb_show(&j, &out);
	} else if (!rc) {
		fl_launch_log_tail(&j.p, &j.lo, (unsigned)o->lines, &out);
	}
	fputs(fl_buf_str(&out), stdout);
	fl_buf_free(&out);
	rc = say(&j, rc, &d, &e);
	fl_launch_job_free(&j);
	return rc ? rc : running ? FL_EXIT_OK : FL_EXIT_FAIL;
}

static int health(const struct fl_launch_args *o)
{
	return run(o, FL_LAUNCH_JOB_CHECK, health_check);
}

static int wait_healthy(const struct fl_launch_args *o)
{
	return run(o, FL_LAUNCH_JOB_CHECK, fl_launch_verb_wait_healthy);
}

static int publish_ready(const struct fl_launch_args *o)
{
	return run(o, FL_LAUNCH_JOB_CHECK, fl_launch_verb_publish_ready);
}

static int publish_error(const struct fl_launch_args *o, const char *reason)
{
	struct fl_launch_job j = {0};
	struct fl_diags d = FL_DIAGS_INIT;
	struct fl_err e = {0};
	int rc = fl_launch_verb_reason_check(reason, &e);
	if (!rc)
		rc = fl_launch_job_open(&j, o, FL_LAUNCH_JOB_CHECK, &d, &e);
	if (!rc)
		rc = fl_launch_verb_publish_error(&j, o, reason, &d, &e);
	rc = say(&j, rc, &d, &e);
	fl_launch_job_free(&j);
	return rc;
}

static int wait_docker(const struct fl_launch_args *o)
{
	struct fl_err e = {0};
	long t = o->timeout_s > 0 ? o->timeout_s : 60, i = o->interval_s > 0 ? o->interval_s : 1;
	if (fl_launch_wait_docker(o->docker ? o->docker : FL_LAUNCH_DOCKER, t * 1000, i * 1000, &e) < 0)
		return fl_err_log(&e);
	return FL_EXIT_OK;
}

static int image(const struct fl_launch_args *o)
{
	struct fl_launch_job j = {0};
	struct fl_diags d = FL_DIAGS_INIT;
	struct fl_err e = {0};
	struct fl_version v;
	int rc = fl_launch_job_open(&j, o, FL_LAUNCH_JOB_IMAGE, &d, &e);
	if (!rc)
		rc = fl_launch_verb_image(&j, o, &v, &d, &e);
	rc = say(&j, rc, &d, &e);
	if (!rc) {
		char ver[32];
		fl_version_format(&v, ver, sizeof ver);
		printf("%s\n", ver);
	}
	fl_launch_job_free(&j);
	return rc;
}

/* Each verb: run, or run_word (the verb's name, or publish-error's REASON). */
static const struct verb {
	const char *name;
	int (*run)(const struct fl_launch_args *o);
	int (*run_word)(const struct fl_launch_args *o, const char *word);
} verbs[] = {
    {"start", start, NULL},
    {"stop", stop, NULL},
    {"restart", restart, NULL},
    {"status", NULL, report},
    {"show", NULL, report},
    {"argv", NULL, print_plan},
    {"env", NULL, print_plan},
    {"unit", NULL, print_plan},
    {"proxy-conf", NULL, print_plan},
    {"proxy-unit", NULL, print_plan},
    {"install", install, NULL},
    {"health", health, NULL},
    {"wait-healthy", wait_healthy, NULL},
    {"logs", NULL, report},
    {"publish-ready", publish_ready, NULL},
    {"publish-error", NULL, publish_error},
    {"wait-docker", wait_docker, NULL},
    {"image", image, NULL},
};

static const struct verb *verb_find(const char *name)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(name, verbs[i].name) == 0)
			return &verbs[i];
	return NULL;
}

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
#define NVO (sizeof verb_opts / sizeof verb_opts[0])

static bool port_arg(const char *s, unsigned *out, bool zero_ok)
{
	long v;
	if (!fl_check_nonneg(s, &v) || v > 65535 || (!zero_ok && v == 0))
		return false;
	*out = (unsigned)v;
	return true;
}

/* One option into o: -1 to go on, else the exit code. */
static int option(struct fl_launch_args *o, int ch, const char *arg)
{
	struct fl_err e = {0};
	switch (ch) {
	case 'c': o->context = arg; break;
	case 'E': o->env_only = true; break;
	case 'r':
		o->role = fl_role_parse(arg);
		if (o->role != FL_ROLE_SUPERLINK && o->role != FL_ROLE_SUPERNODE)
			return usage_error("--role '%s': superlink or supernode", arg);
		break;
	case OPT_RUNTIME:
		if (strcmp(arg, "docker") != 0 && strcmp(arg, "process") != 0)
			return usage_error("--runtime '%s': docker or process", arg);
		o->runtime = strcmp(arg, "process") == 0 ? FL_RUNTIME_PROCESS : FL_RUNTIME_DOCKER;
		break;
	case OPT_SUPERVISOR:
		if (strcmp(arg, "systemd") != 0 && strcmp(arg, "none") != 0)
			return usage_error("--supervisor '%s': systemd or none", arg);
		o->supervisor = strcmp(arg, "none") == 0 ? FL_SUPERVISOR_NONE : FL_SUPERVISOR_SYSTEMD;
		o->supervisor_set = true;
		break;
	case OPT_FLOWER_DIR: o->flower_dir = arg; break;
	case OPT_UNIT_DIR: o->unit_dir = arg; break;
	case OPT_DOCKER: o->docker = arg; break;
	case OPT_NGINX: o->nginx = arg; break;
	case OPT_IMAGE:
		if (fl_launch_check_image(arg, &e) < 0)
			return usage_error("%s", e.msg);
		o->image = arg;
		break;
	case OPT_FLOWER_VERSION: o->flower_version = arg; break;
	case OPT_FLOWER_BIN: o->flower_bin = arg; break;
	case OPT_ADDR: o->addr = arg; break;
	case OPT_DISCOVERY: o->discovery = arg; break;
	case OPT_GPU:
		if (strcasecmp(arg, "yes") != 0 && strcasecmp(arg, "no") != 0)
			return usage_error("--gpu '%s': yes or no", arg);
		o->gpu = strcasecmp(arg, "yes") == 0;
		break;
	case OPT_APPIO:
		if (!port_arg(arg, &o->appio_port, false))
			return usage_error("--appio-port '%s': a port 1-65535", arg);
		break;
	case OPT_HEALTH:
		if (!port_arg(arg, &o->health_port, true))
			return usage_error("--health-port '%s': a port 1-65535, or 0 for none", arg);
		o->health_port_set = true;
		break;
	case OPT_OWNER: o->owner = arg; break;
	case OPT_PREBAKED: o->prebaked = arg; break;
	case OPT_TIMEOUT:
		if (!fl_check_posint(arg, &o->timeout_s))
			return usage_error("--timeout '%s': seconds, a positive integer", arg);
		break;
	case OPT_INTERVAL:
		if (!fl_check_posint(arg, &o->interval_s))
			return usage_error("--interval '%s': seconds, a positive integer", arg);
		break;
	case OPT_ONE_ENV: o->one_env = arg; break;
	case OPT_TOKEN_FILE: o->token_file = arg; break;
	case OPT_BEST_EFFORT: o->best_effort = true; break;
	case OPT_NO_PUBLISH: o->no_publish = true; break;
	case 'n':
		if (!fl_check_posint(arg, &o->lines) || o->lines > 10000)
			return usage_error("--lines '%s': 1-10000", arg);
		break;
	case 'q': fl_log_set_threshold(FL_WARN); break;
	case 'v': fl_log_set_threshold(FL_DEBUG); break;
	case 'h': printf("%s%s", usage_text, help_text); return FL_EXIT_OK;
	case 'V': printf("fl-launch %s\n", FLKIT_VERSION); return FL_EXIT_OK;
	default: fprintf(stderr, "%s", usage_text); return FL_EXIT_USAGE;
	}
	return -1;
}

/* The command line: options into a, the verb and its arguments into words, the options given
 * into seen (getopt codes, in order). */
struct cmdline {
	struct fl_launch_args a;
	char **words;
	int nwords;
	int *seen;
	size_t nseen;
};

/* -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct cmdline *cl)
{
	/* "-": the other words come back in order (as 1), whatever POSIXLY_CORRECT says, so an
	 * option is known to come before or after the verb: after it, only the verb's own. */
	int ch;
	for (int at = optind; (ch = getopt_long(argc, argv, "-c:Er:n:qvhV", longopts, NULL)) != -1;
	     at = optind) {
		if (ch == 1) {
			cl->words[cl->nwords++] = optarg;
			continue;
		}
		if (cl->nwords && ch != '?' && ch != ':' && !fl_cli_find(verb_opts, NVO, ch))
			return usage_error("options go before the verb: '%s' follows it", argv[at]);
		cl->seen[cl->nseen++] = ch;
		int rc = option(&cl->a, ch, optarg);
		if (rc >= 0)
			return rc;
	}
	struct fl_err e = {0};
	if (fl_launch_job_check_files(&cl->a, &e) < 0)
		return fl_err_log(&e);
	while (optind < argc) /* after "--" */
		cl->words[cl->nwords++] = argv[optind++];
	return -1;
}

static int dispatch(const struct cmdline *cl)
{
	if (cl->nwords < 1)
		return usage_error("a verb is needed");
	const char *name = cl->words[0];
	const struct verb *v = verb_find(name);
	const struct fl_cli_verbopt *f = fl_cli_foreign(verb_opts, NVO, cl->seen, cl->nseen, name);
	if (f && v) {
		fl_cli_foreign_print("fl-launch", f, name, usage_text);
		return FL_EXIT_USAGE;
	}
	if (strcmp(name, "publish-error") == 0) {
		if (cl->nwords != 2)
			return usage_error(
			    "publish-error needs exactly one REASON (e.g. docker_start_failed)");
		return publish_error(&cl->a, cl->words[1]);
	}
	if (cl->nwords != 1)
		return usage_error("unexpected argument '%s'", cl->words[1]);
	if (!v)
		return usage_error("unknown verb '%s'", name);
	return v->run ? v->run(&cl->a) : v->run_word(&cl->a, name);
}

int main(int argc, char **argv)
{
	fl_log_init("fl-launch");
	/* Static: still reachable when main returns early. */
	static struct cmdline cl;
	cl.a.lines = 20;
	cl.words = fl_xcalloc((size_t)argc + 1, sizeof *cl.words);
	cl.seen = fl_xcalloc((size_t)argc + 1, sizeof *cl.seen);
	int rc = parse(argc, argv, &cl);
	return rc >= 0 ? rc : dispatch(&cl);
}
