/* fl-launch: run a Flower SuperLink or SuperNode from the resolved configuration: docker +
 * systemd (the appliance default) or native processes; health, readiness publication. */
#include "fl_buf.h"
#include "fl_launch_job.h"
#include "fl_log.h"
#include "fl_tool.h"

#include <limits.h>
#include <stdio.h>

static const char usage_text[] =
    "usage: fl-launch [options] start | stop | restart | status | show\n"
    "       fl-launch [options] argv | env | unit | proxy-conf | proxy-unit | install\n"
    "       fl-launch [options] metrics-argv | metrics-unit | dcgm-unit\n"
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
    "                 a SuperLink of Flower 1.40+ adds PROXY_RUNNING= (its Fleet proxy), a\n"
    "                 SuperNode GPU_AVAILABLE= (as started) and DCGM_RUNNING= (its exporter)\n"
    "  show           FL_ENDPOINT, FL_CONTROL_ADDRESS, FL_SUPERLINK_ADDRESS, FL_VERSION, FL_TLS\n"
    "  argv, env, unit   print the docker/native argv (one element per line), env file, unit\n"
    "  proxy-conf, proxy-unit  SuperLink, Flower 1.40+: the Fleet proxy's nginx configuration\n"
    "                 and systemd unit\n"
    "  metrics-argv, metrics-unit  fl-metrics beside Flower (SuperLink: serve when\n"
    "                 FL_METRICS_ENABLED=YES; SuperNode: publish when OneGate is configured)\n"
    "  dcgm-unit      SuperNode: the DCGM exporter's unit (FL_DCGM_ENABLED=YES, a usable GPU)\n"
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
    "\n";

static const char help_end[] =
    "Options go before the verb; only the verb's own (-n, --timeout, --interval, --no-publish,\n"
    "--best-effort) may also follow it. An option of another verb is a usage error.\n"
    "\n"
    "exit status: 0 ok; 1 failure (invalid configuration, start failed, unhealthy); 2 usage;\n"
    "3 Docker or OneGate unavailable; 4 timed out. See fl-launch(1).\n";

static struct fl_tool tool;
static struct fl_launch_args args = {.lines = 20};

/* Say what d holds, then e's message: the exit status for rc (see fl_launch_job.h). */
static int say(int rc, struct fl_diags *d, const struct fl_err *e)
{
	fl_diags_log(d);
	if (rc == FL_LAUNCH_USAGE) {
		fl_tool_usage_error(&tool, "%s", e->msg);
		return FL_EXIT_USAGE;
	}
	if (rc == 0)
		return FL_EXIT_OK;
	if (e->msg[0])
		fl_error("%s", e->msg);
	return e->code ? e->code : FL_EXIT_FAIL;
}

/* The verb's job: the configuration by the one rule, opened as the verb needs, then its steps;
 * what they print goes to stdout, what they say to stderr. */
static int job(const char *verb)
{
	const struct fl_launch_verb *v = fl_launch_verb_find(verb);
	struct fl_launch_job j = {0};
	struct fl_diags d = FL_DIAGS_INIT;
	struct fl_err e = {0};
	args.verb = verb;
	if (fl_tool_load(&tool, args.role, &j.c))
		return FL_EXIT_FAIL;
	j.loaded = true;
	int rc = say(fl_launch_job_open(&j, &args, v->mode, &d, &e), &d, &e);
	for (int i = 0; !rc && i < 2 && v->step[i]; i++) {
		struct fl_buf out = FL_BUF_INIT;
		int r = v->step[i](&j, &args, &out, &d, &e);
		fputs(fl_buf_str(&out), stdout);
		fl_buf_free(&out);
		rc = say(r, &d, &e);
	}
	fl_launch_job_free(&j);
	return rc;
}

/* --- verbs --- */

static int verb(struct fl_tool *t, char **words, int n)
{
	(void)words, (void)n;
	return job(t->args[0]);
}

static int restart(struct fl_tool *t, char **words, int n)
{
	(void)t, (void)words, (void)n;
	int rc = job("stop");
	return rc ? rc : job("start");
}

static int publish_error(struct fl_tool *t, char **words, int n)
{
	(void)n;
	struct fl_err e = {0};
	if (fl_launch_verb_reason_check(words[0], &e) < 0) {
		fl_tool_usage_error(t, "%s", e.msg);
		return FL_EXIT_USAGE;
	}
	args.reason = words[0];
	return job("publish-error");
}

static int wait_docker(struct fl_tool *t, char **words, int n)
{
	(void)t, (void)words, (void)n;
	struct fl_err e = {0};
	long s = args.timeout_s > 0 ? args.timeout_s : 60, i = args.interval_s > 0 ? args.interval_s : 1;
	if (fl_launch_wait_docker(args.docker ? args.docker : FL_LAUNCH_DOCKER, s * 1000, i * 1000, &e) < 0)
		return fl_log_err(&e);
	return FL_EXIT_OK;
}

static const struct fl_tool_verb verbs[] = {
    {"start", 0, 0, NULL, verb},
    {"stop", 0, 0, NULL, verb},
    {"restart", 0, 0, NULL, restart},
    {"status", 0, 0, NULL, verb},
    {"show", 0, 0, NULL, verb},
    {"argv", 0, 0, NULL, verb},
    {"env", 0, 0, NULL, verb},
    {"unit", 0, 0, NULL, verb},
    {"proxy-conf", 0, 0, NULL, verb},
    {"proxy-unit", 0, 0, NULL, verb},
    {"metrics-argv", 0, 0, NULL, verb},
    {"metrics-unit", 0, 0, NULL, verb},
    {"dcgm-unit", 0, 0, NULL, verb},
    {"install", 0, 0, NULL, verb},
    {"health", 0, 0, NULL, verb},
    {"wait-healthy", 0, 0, NULL, verb},
    {"logs", 0, 0, NULL, verb},
    {"publish-ready", 0, 0, NULL, verb},
    {"publish-error", 1, 1, "publish-error needs exactly one REASON (e.g. docker_start_failed)",
     publish_error},
    {"wait-docker", 0, 0, NULL, wait_docker},
    {"image", 0, 0, NULL, verb},
};

/* --- options --- */

/* Long-only options: codes from FL_TOOL_OWN. */
#define OWN(n) (FL_TOOL_OWN + (n))
enum { OPT_TIMEOUT = OWN(18), OPT_INTERVAL = OWN(19) };

/* The options of some verbs may also follow the verb; the others go before it. -c and --no-env
 * are the front end's, listed for what -h says of them here. */
static const struct fl_tool_opt opts[] = {
    {"context", 1, 'c', NULL, "FILE",
     "configuration: a file `fl-context render` wrote, or a context\n"
     "(default $FLKIT_CONTEXT, /run/flkit/ROLE.conf,\n" FL_CTX_DEFAULT_PATH "; flkit(7) CONFIGURATION)"},
    {"no-env", 0, FL_TOOL_NO_ENV, NULL, NULL,
     "ignore the process environment (configuration,\nOneGate identity)"},
    {"role", 1, 'r', NULL, "ROLE", "superlink or supernode (default: the rendered file's)"},
    {"runtime", 1, OWN(0), NULL, "RT", "docker (default) or process"},
    {"supervisor", 1, OWN(1), NULL, "S",
     "systemd or none (default: systemd for docker; for\n"
     "process, systemd when it runs, else none)"},
    {"flower-dir", 1, OWN(2), NULL, "DIR", "state/, certs/, data/, config/ ... (default\n/opt/flower)"},
    {"unit-dir", 1, OWN(3), NULL, "DIR", "where units go (default /etc/systemd/system)"},
    {"docker", 1, OWN(4), NULL, "PATH", "docker CLI (default " FL_LAUNCH_DOCKER ")"},
    {"nginx", 1, OWN(5), NULL, "PATH",
     "SuperLink, Flower 1.40+: nginx, the Fleet proxy (default\n"
     "/usr/sbin/nginx; see EXPOSURE in fl-launch(1))"},
    {"image", 1, OWN(6), NULL, "REPO", "image without tag (default flwr/superlink,\nflwr/supernode)"},
    {"flower-version", 1, OWN(7), NULL, "V",
     "Flower version to drive (default: docker\n"
     "FLOWER_VERSION, process: asked from the installed flwr)"},
    {"flower-bin", 1, OWN(8), NULL, "PATH",
     "process: flower-superlink/-supernode, or the directory\n"
     "holding it (default: found in PATH)"},
    {"addr", 1, OWN(9), NULL, "IP", "VM address for FL_ENDPOINT (default: the default-route\ninterface's)"},
    {"discovery", 1, OWN(10), NULL, "FILE", "SuperNode: what `fl-onegate discover -o FILE` wrote"},
    {"gpu", 1, OWN(11), NULL, "MODE",
     "SuperNode with FL_GPU_ENABLED=YES: auto (default: fl-gpucheck's\n"
     "verdict), yes (trust the GPU) or no (CPU)"},
    {"gpu-root", 1, OWN(23), NULL, "DIR",
     "GPU detection reads DIR/sys, /proc, /dev, /etc (tests,\ntroubleshooting; default /)"},
    {"appio-port", 1, OWN(12), NULL, "N",
     "ServerAppIo (9091) / SuperNode ClientAppIo or Runtime\nport (9094)"},
    {"health-port", 1, OWN(13), NULL, "N", "SuperLink gRPC health server on 127.0.0.1 (9099;\n0: none)"},
    {"owner", 1, OWN(14), NULL, "UID:GID",
     "owner of container-visible directories; the user a process\n"
     "runs as, under systemd or not (default 49999:49999)"},
    {"prebaked", 1, OWN(15), NULL, "FILE", "pre-baked version (default\nFLOWER_DIR/PREBAKED_VERSION)"},
    {"one-env", 1, OWN(16), NULL, "FILE",
     "OneGate identity: TOKENTXT, VMID, ONEGATE_ENDPOINT from the\n"
     "environment, then FILE's header lines (default\n" FL_CTX_DEFAULT_PATH ")"},
    {"token-file", 1, OWN(17), NULL, "FILE",
     "the OneGate token when TOKENTXT is unset (default\n" FL_CTX_DEFAULT_TOKEN ")"},
    {"lines", 1, 'n', "logs|wait-healthy|start|restart", "N",
     "logs, diagnostics: lines of output shown (1-10000,\ndefault 20)"},
    {"timeout", 1, OPT_TIMEOUT, "wait-healthy|wait-docker", "S",
     "wait-healthy, wait-docker: the limit in seconds"},
    {"interval", 1, OPT_INTERVAL, "wait-healthy|wait-docker", "S",
     "wait-healthy, wait-docker: the period in seconds"},
    {"no-publish", 0, OWN(20), "wait-healthy", NULL, "wait-healthy: do not publish the failure"},
    {"best-effort", 0, OWN(21), "publish-ready|publish-error", NULL,
     "publish-*: a OneGate failure is a warning, exit 0"},
    {"metrics-bin", 1, OWN(22), NULL, "PATH",
     "fl-metrics, run beside Flower (default: the one installed\nbeside fl-launch)"},
};

static int option(struct fl_tool *t, int ch, const char *arg)
{
	struct fl_launch_args *a = t->data;
	switch (ch) {
	case 'c':
	case FL_TOOL_NO_ENV: return 0; /* the front end's */
	case 'n': return fl_tool_number(t, "--lines", arg, 1, 10000, "lines", &a->lines);
	case OPT_TIMEOUT: return fl_tool_number(t, "--timeout", arg, 1, INT_MAX, "seconds", &a->timeout_s);
	case OPT_INTERVAL: return fl_tool_number(t, "--interval", arg, 1, INT_MAX, "seconds", &a->interval_s);
	}
	struct fl_err e = {0};
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (opts[i].ch == ch && fl_launch_args_set(a, opts[i].name, arg, &e) < 0)
			return fl_tool_usage_error(t, "%s", e.msg);
	return 0;
}

static int check_options(struct fl_tool *t)
{
	struct fl_err e = {0};
	args.envp = fl_tool_env(t);
	/* Files named by an option: a FIFO or device is refused here, never waited on. */
	return fl_launch_args_check_files(&args, &e) < 0 ? fl_log_err(&e) : FL_TOOL_GO;
}

int main(int argc, char **argv)
{
	tool = (struct fl_tool){
	    .name = "fl-launch",
	    .usage = usage_text,
	    .help = help_text,
	    .help_end = help_end,
	    FL_TOOL_TABLES(opts, verbs),
	    .flags = FL_TOOL_RENDERED | FL_TOOL_OPTIONS_FIRST,
	    .declines = FL_TOOL_C_FORMAT,
	    .decline_why = "its reports are KEY=VALUE lines and its other output the files themselves",
	    .token_file = FL_CTX_DEFAULT_TOKEN,
	    .option = option,
	    .check = check_options,
	    .data = &args,
	};
	return fl_tool_main(&tool, argc, argv);
}
