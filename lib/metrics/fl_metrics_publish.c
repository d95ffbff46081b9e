/* fl-metrics publish: the SuperNode's elasticity attributes to OneGate (design 04 §5.3, §8.3).
 * The state comes from the SuperNode's own output (followed) and whether its container or
 * process runs; fl_elastic decides what to PUT when; each PUT carries one attribute through
 * libfl's OneGate client. A OneGate outage is a warning: the daemon never exits for it. */
#include "fl_ctx.h"
#include "fl_elastic.h"
#include "fl_err.h"
#include "fl_follow.h"
#include "fl_fs.h"
#include "fl_log.h"
#include "fl_metrics_verb.h"
#include "fl_onegate.h"
#include "fl_proc.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_CONTAINER "flower-supernode"
#define DEFAULT_INTERVAL  30000   /* ms */
#define MIN_INTERVAL      5000    /* ms */
#define MAX_INTERVAL      3600000 /* ms */
#define DEFAULT_POLL      1000    /* ms */
#define GAP_MS            1000    /* at most one request per second, sustained */
#define BURST             3       /* the three attributes back to back */
#define SUMMARY_MS        300000  /* "still failing" at most every 5 minutes */
#define DOCKER_TIMEOUT    10000   /* ms, one docker inspect */
#define ONCE_DEADLINE     30000   /* ms, --once: all its requests */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct pub {
	struct fl_tool *t;
	const struct fl_metrics_verb *o;
	struct fl_ctx c;
	bool loaded;
	struct fl_onegate g;
	bool open;
	char token_where[4200]; /* where the token came from, for a 401/403 */
	const char *container;  /* docker mode, or NULL */
	char log_path[4096];    /* the log followed now ("" none) */
	struct fl_follow *fw;
	struct fl_elastic_node node;
	bool running;
	bool docker_warned;
	struct fl_elastic el;
	struct fl_elastic_warn warn;
};

/* --- the state source --- */

static void on_line(void *arg, const char *line, size_t n, bool truncated)
{
	struct pub *p = arg;
	(void)truncated;
	/* A Docker json-file envelope: the line Flower printed is its "log" string. */
	if (n > 0 && line[0] == '{') {
		json_t *j = json_loadb(line, n, JSON_DISABLE_EOF_CHECK, NULL);
		json_t *log = j ? json_object_get(j, "log") : NULL;
		if (json_is_string(log)) {
			const char *s = json_string_value(log);
			size_t k = json_string_length(log);
			while (k > 0 && (s[k - 1] == '\n' || s[k - 1] == '\r'))
				k--;
			fl_elastic_node_line(&p->node, s, k);
			json_decref(j);
			return;
		}
		json_decref(j);
	}
	fl_elastic_node_line(&p->node, line, n);
}

/* Follow path from its start (a new path: a new container, a new story). */
static void follow(struct pub *p, const char *path)
{
	bool same = strcmp(p->log_path, path) == 0;
	if (p->fw && same)
		return;
	if (p->fw)
		fl_follow_close(p->fw);
	p->fw = NULL;
	memset(&p->node, 0, sizeof p->node);
	snprintf(p->log_path, sizeof p->log_path, "%s", path);
	struct fl_err e = {0};
	if (fl_follow_open(&p->fw, path, false, &e) < 0) {
		p->fw = NULL;
		if (same) /* said already: tried again at each poll */
			return;
		fl_warn("cannot follow the SuperNode's output: %s; the node counts as DISCONNECTED until "
		        "it can be read",
		        e.msg);
	}
}

/* docker inspect: running, and the json-file log's path. */
static void docker_state(struct pub *p)
{
	char *argv[] = {
	    "docker", "inspect", "--format", "{{.State.Running}} {{.LogPath}}", (char *)p->container, NULL};
	struct fl_buf out = FL_BUF_INIT;
	int st = -1;
	struct fl_err e = {0};
	int rc = fl_proc_capture(argv, NULL, DOCKER_TIMEOUT, 8192, &out, &st, &e);
	const char *s = fl_buf_str(&out);
	p->running = rc == 0 && st == 0 && strncmp(s, "true ", 5) == 0;
	if (rc < 0 && !p->docker_warned) {
		fl_warn("cannot ask docker about container %s: %s; it counts as not running", p->container,
		        e.msg);
		p->docker_warned = true;
	}
	if (rc == 0 && st == 0 && !p->o->log) {
		const char *sp = strchr(s, ' ');
		size_t n = sp ? strcspn(sp + 1, "\r\n") : 0;
		if (n > 0 && n < sizeof p->log_path && sp[1] == '/') {
			char path[4096];
			memcpy(path, sp + 1, n);
			path[n] = '\0';
			follow(p, path);
		}
	}
	fl_buf_free(&out);
}

/* The pid file names a live flower-supernode (not a reused pid). */
static bool pid_running(const char *pidfile)
{
	char *text = NULL, path[64];
	size_t len = 0;
	if (fl_fs_read(pidfile, 64, &text, &len, NULL) < 0)
		return false;
	char *end;
	long pid = strtol(text, &end, 10);
	bool ok = end != text && pid > 1 && pid < 1L << 30 && (*end == '\0' || *end == '\n');
	free(text);
	if (!ok || (kill((pid_t)pid, 0) < 0 && errno != EPERM))
		return false;
	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	if (fl_fs_read(path, 65536, &text, &len, NULL) < 0)
		return false;
	/* flower-supernode is a script: argv[0] is the interpreter, argv[1] the script. */
	ok = false;
	size_t off = 0;
	for (int i = 0; i < 3 && off < len; i++) {
		const char *arg = text + off, *base = strrchr(arg, '/');
		ok = ok || strcmp(base ? base + 1 : arg, "flower-supernode") == 0;
		off += strlen(arg) + 1;
	}
	free(text);
	return ok;
}

static void observe(struct pub *p)
{
	if (p->container)
		docker_state(p);
	else if (p->o->pidfile)
		p->running = pid_running(p->o->pidfile);
	else
		p->running = true; /* --log alone: the output tells */
	if (!p->fw && p->o->log)
		follow(p, p->o->log); /* it could not be opened: again */
	if (p->fw) {
		struct fl_err e = {0};
		if (fl_follow_poll(p->fw, on_line, p, &e) < 0)
			fl_debug("reading %s: %s", p->log_path, e.msg);
	}
	bool readable = p->fw != NULL;
	fl_elastic_observe(&p->el, fl_elastic_node_status(&p->node, p->running && readable),
	                   p->node.last_round);
}

/* --- OneGate --- */

static void token_where(struct pub *p)
{
	const char *path = p->c.path;
	if (!p->t->no_env && (getenv("TOKENTXT") || getenv("ONEGATE_TOKEN")))
		snprintf(p->token_where, sizeof p->token_where, "TOKENTXT in the environment");
	else if (path && fl_kvlist_get(&p->c.file, "TOKENTXT"))
		snprintf(p->token_where, sizeof p->token_where, "TOKENTXT in %s", path);
	else
		snprintf(p->token_where, sizeof p->token_where, "the token file %s", FL_CTX_DEFAULT_TOKEN);
}

/* (Re)load the configuration and open the client. The token may have been replaced. */
static int connect_gate(struct pub *p, struct fl_err *e)
{
	if (p->open)
		fl_onegate_close(&p->g);
	p->open = false;
	if (p->loaded)
		fl_ctx_free(&p->c);
	p->loaded = false;
	if (fl_tool_load(p->t, 0, &p->c) != 0)
		return fl_err_set(e, FL_EXIT_FAIL, "the configuration cannot be read (see above)");
	p->loaded = true;
	token_where(p);
	struct fl_onegate_opts go = {0};
	go.endpoint = p->c.id.endpoint;
	go.vmid = p->c.id.vmid;
	go.token = p->c.id.token;
	if (p->o->once) {
		go.deadline_ms = ONCE_DEADLINE;
	} else {
		go.attempts = 1; /* the daemon retries at its next tick */
	}
	if (fl_onegate_open(&p->g, &go, e) < 0)
		return -1;
	p->open = true;
	return 0;
}

static bool denied(const struct pub *p)
{
	return p->g.last_status == 401 || p->g.last_status == 403;
}

/* One PUT of attribute a; 0, or -1 with e (the reason, safe to log). */
static int put(struct pub *p, int a, long value, char *kv, size_t n, struct fl_err *e)
{
	fl_elastic_format(a, value, kv, n);
	if (!p->open && connect_gate(p, e) < 0)
		return -1;
	int rc = fl_onegate_update(&p->g, NULL, kv, 1, false, e);
	if (rc < 0 && denied(p))
		fl_err_append(
		    e,
		    "; OneGate refused the token from %s for VM %s: check that it is this VM's token "
		    "(the VM template's CONTEXT needs TOKEN=YES) and that VMID is right",
		    p->token_where, p->g.vmid);
	return rc;
}

static void report_failure(struct pub *p, const char *kv, const struct fl_err *e, uint64_t now)
{
	switch (fl_elastic_warn_fail(&p->warn, e->msg, now)) {
	case FL_ELASTIC_NEW:
		fl_warn("Failed to publish %s to OneGate: %s; training goes on, retrying %s", kv, e->msg,
		        denied(p) ? "at each refresh interval" : "at the next poll");
		break;
	case FL_ELASTIC_STILL:
		fl_warn("publishing to OneGate still failing since %llu s (%u more failures): %s",
		        (unsigned long long)((now - p->warn.since) / 1000), p->warn.said, e->msg);
		break;
	default: break;
	}
}

static void publish_due(struct pub *p)
{
	long value;
	uint64_t wait;
	int a;
	uint64_t now = fl_clock_now_ms(NULL);
	while (!stop && (a = fl_elastic_next(&p->el, now, &value, &wait)) >= 0) {
		char kv[64];
		struct fl_err e = {0};
		bool changed = !p->el.sent_ok[a] || p->el.sent[a] != value;
		int rc = put(p, a, value, kv, sizeof kv, &e);
		now = fl_clock_now_ms(NULL);
		if (rc < 0) {
			bool auth = p->open && denied(p);
			report_failure(p, kv, &e, now);
			fl_elastic_sent(&p->el, a, value, auth ? FL_ELASTIC_DENIED : FL_ELASTIC_FAILED, now);
			if (auth) { /* the token is read again before the next try */
				fl_onegate_close(&p->g);
				p->open = false;
			}
			return;
		}
		fl_elastic_sent(&p->el, a, value, FL_ELASTIC_OK, now);
		if (fl_elastic_warn_ok(&p->warn) == FL_ELASTIC_RECOVER)
			fl_info("OneGate takes updates again: published %s", kv);
		else
			fl_log(changed ? FL_INFO : FL_DEBUG, "published %s", kv);
	}
}

/* Sleep ms, or less when a signal comes. */
static void nap(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	if (!stop)
		nanosleep(&ts, NULL);
}

/* --once: the current values, each in its own PUT, with the client's retries. */
static int publish_once(struct pub *p)
{
	observe(p);
	for (int a = 0; a < FL_ELASTIC_NATTR; a++) {
		if (!p->el.known[a])
			continue;
		char kv[64];
		struct fl_err e = {0};
		if (put(p, a, p->el.value[a], kv, sizeof kv, &e) < 0) {
			fl_error("Failed to publish %s to OneGate: %s", kv, e.msg);
			return e.code == FL_EXIT_UNAVAILABLE ? FL_EXIT_UNAVAILABLE : FL_EXIT_FAIL;
		}
		fl_info("published %s", kv);
	}
	return FL_EXIT_OK;
}

static void run_daemon(struct pub *p, uint64_t poll_ms)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: the nap ends at once */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop) {
		observe(p);
		publish_due(p);
		long v;
		uint64_t wait = poll_ms;
		if (fl_elastic_next(&p->el, fl_clock_now_ms(NULL), &v, &wait) >= 0 || wait > poll_ms)
			wait = poll_ms;
		nap(wait ? wait : 1);
	}
	fl_info("stopping: %u request(s) sent", p->el.requests);
}

static int check_role(struct pub *p)
{
	if (p->c.rendered_role != FL_ROLE_SUPERLINK)
		return 0;
	fl_error(
	    "publish runs on SuperNodes only: %s is the SuperLink's configuration (FLKIT_ROLE=superlink), "
	    "and OneFlow elasticity must never act on the SuperLink, a singleton; run "
	    "fl-metrics publish on the SuperNode VMs",
	    p->c.path ? p->c.path : "the configuration");
	return FL_EXIT_FAIL;
}

int fl_metrics_verb_publish(struct fl_tool *t, const struct fl_metrics_verb *o)
{
	long interval = o->interval_ms ? o->interval_ms : DEFAULT_INTERVAL;
	if (interval < MIN_INTERVAL || interval > MAX_INTERVAL)
		return fl_tool_usage_error(
		    t, "--interval must be 5 to 3600 seconds (30 to 60 recommended), not %ld.%03ld",
		    interval / 1000, interval % 1000);
	static struct pub p;
	memset(&p, 0, sizeof p);
	p.t = t;
	p.o = o;
	if (!t->token_file)
		t->token_file = FL_CTX_DEFAULT_TOKEN;
	struct fl_err e = {0};
	int rc = connect_gate(&p, &e);
	if (p.loaded && check_role(&p) != 0)
		rc = FL_EXIT_FAIL;
	else if (rc < 0)
		rc = fl_log_err(&e);
	if (rc != 0) {
		if (p.open)
			fl_onegate_close(&p.g);
		if (p.loaded)
			fl_ctx_free(&p.c);
		return rc == -1 ? FL_EXIT_FAIL : rc;
	}
	if (!o->pidfile && (o->container || !o->log))
		p.container = o->container ? o->container : DEFAULT_CONTAINER;
	if (o->log)
		follow(&p, o->log);
	uint64_t poll_ms = o->poll_ms ? (uint64_t)o->poll_ms : DEFAULT_POLL;
	struct fl_elastic_opts eo = {(uint64_t)interval, GAP_MS, BURST, poll_ms};
	fl_elastic_init(&p.el, &eo);
	p.warn.every_ms = SUMMARY_MS;
	if (o->once) {
		rc = publish_once(&p);
	} else {
		fl_info("publishing FL_CLIENT_STATUS, FL_TRAINING_ACTIVE and FL_ROUND_NUMBER to OneGate %s "
		        "for VM %s: "
		        "on change and every %ld s; the SuperNode is %s%s%s",
		        p.g.base, p.g.vmid, interval / 1000,
		        p.container  ? "container "
		        : o->pidfile ? "pid file "
		                     : "log ",
		        p.container  ? p.container
		        : o->pidfile ? o->pidfile
		                     : o->log,
		        o->log && p.container ? ", output from --log" : "");
		run_daemon(&p, poll_ms);
		rc = FL_EXIT_OK;
	}
	if (p.fw)
		fl_follow_close(p.fw);
	if (p.open)
		fl_onegate_close(&p.g);
	if (p.loaded)
		fl_ctx_free(&p.c);
	return rc;
}
