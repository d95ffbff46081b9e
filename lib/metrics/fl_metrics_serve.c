/* fl-metrics serve: poll the sources into the state every --poll, publish a snapshot when
 * anything was read, and serve it on FL_METRICS_PORT of the VM address (fl_mhttp) until SIGTERM
 * or SIGINT. A source that fails is logged once per change of its error and retried; serving
 * goes on. */
#include "fl_check.h"
#include "fl_ctx.h"
#include "fl_err.h"
#include "fl_launch.h"
#include "fl_log.h"
#include "fl_metrics.h"
#include "fl_metrics_verb.h"
#include "fl_mhttp.h"
#include "fl_msource.h"
#include "fl_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define POLL_MS_DEFAULT 1000

/* One source and the error it last logged ("" when it works). */
struct source {
	const char *what; /* "the followed logs", "the state database FILE" */
	struct fl_msource *s;
	char err[sizeof(((struct fl_err *)0)->msg)];
};

struct serve {
	struct fl_metrics *m;
	struct source logs, db;
	const char *dbpath;
	char dbwhat[4200];
	bool from_end;
};

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A source's error, logged when it differs from the one before; "" clears (and says so). */
static void source_state(struct source *src, const char *msg)
{
	if (strcmp(src->err, msg) == 0)
		return;
	if (msg[0])
		fl_warn("%s (serving goes on; retrying every poll)", msg);
	else
		fl_info("%s: read again", src->what);
	snprintf(src->err, sizeof src->err, "%s", msg);
}

/* The database source is opened when its file is there: a SuperLink that has not created it
 * yet is no error. */
static void db_open(struct serve *sv)
{
	struct stat st;
	if (stat(sv->dbpath, &st) < 0) {
		char msg[sizeof sv->db.err];
		snprintf(msg, sizeof msg,
		         "%.900s: %s: is the SuperLink running? (pass --db FILE for another)", sv->dbwhat,
		         strerror(errno));
		source_state(&sv->db, msg);
		return;
	}
	struct fl_msource_cfg cfg = {.db = sv->dbpath};
	struct fl_err e = {0};
	if (fl_msource_open(&sv->db.s, &cfg, &e) < 0) {
		sv->db.s = NULL;
		source_state(&sv->db, e.msg);
	}
}

static long poll_one(struct source *src, struct fl_metrics *m)
{
	if (!src->s)
		return 0;
	struct fl_err e = {0};
	long n = fl_msource_poll(src->s, m, wall_now(), &e);
	source_state(src, n < 0 ? e.msg : "");
	return n < 0 ? 0 : n;
}

/* Lines and rows read from every source this time. */
static long poll_all(struct serve *sv)
{
	if (sv->dbpath && !sv->db.s)
		db_open(sv);
	return poll_one(&sv->logs, sv->m) + poll_one(&sv->db, sv->m);
}

/* The port from --port or FL_METRICS_PORT, checked as the registry checks it. */
static int serve_port(const struct fl_metrics_verb *o, const struct fl_ctx *c, unsigned *port)
{
	char given[32];
	const char *v = given;
	if (o->port)
		snprintf(given, sizeof given, "%ld", o->port);
	else
		v = fl_ctx_value(c, FLV_FL_METRICS_PORT);
	long l;
	if (!fl_check_var_value(fl_var_get(FLV_FL_METRICS_PORT), v) || !fl_check_nonneg(v, &l)) {
		fl_error("Invalid FL_METRICS_PORT: '%s'. Must be integer 1024-65535, not 9091-9093.", v);
		return FL_EXIT_FAIL;
	}
	*port = (unsigned)l;
	return 0;
}

/* --bind, else the VM address (FLKIT_NET_ADDRS first, as fl-launch reads it), else refuse:
 * never every interface unless asked. */
static int serve_bind(const struct fl_metrics_verb *o, char *out, size_t n)
{
	if (o->bind) {
		snprintf(out, n, "%s", o->bind);
		return 0;
	}
	struct fl_addrs addrs = FL_ADDRS_INIT;
	struct fl_err e = {0};
	const char *env = getenv("FLKIT_NET_ADDRS");
	int rc = env && *env ? fl_net_addrs_parse(&addrs, env, "FLKIT_NET_ADDRS", &e)
	                     : fl_net_vm_addrs(&addrs, NULL, &e);
	if (rc == 0 && addrs.n)
		snprintf(out, n, "%s", addrs.v[0]);
	fl_net_addrs_free(&addrs);
	if (rc == 0 && out[0])
		return 0;
	fl_error("no VM address to serve /metrics on (%s): pass --bind ADDR (0.0.0.0 or :: for every "
	         "interface)",
	         e.msg[0] ? e.msg : "none found");
	return FL_EXIT_FAIL;
}

static int open_sources(struct serve *sv, const struct fl_metrics_verb *o, const struct fl_ctx *c)
{
	sv->logs.what = "the followed logs";
	if (o->nfollow) {
		struct fl_msource_cfg cfg = {
		    .follow = o->follow, .nfollow = o->nfollow, .from_end = o->from_end};
		struct fl_err e = {0};
		if (fl_msource_open(&sv->logs.s, &cfg, &e) < 0)
			return fl_log_err(&e);
	}
	static char dflt[4200];
	if (o->db)
		sv->dbpath = o->db;
	else if (!o->nfollow) {
		/* No source named: the SuperLink's state database where fl-launch puts it. */
		if (snprintf(dflt, sizeof dflt, "%s/%s", FL_LAUNCH_FLOWER_DIR, c->conf.FL_DATABASE) >=
		    (int)sizeof dflt)
			return fl_log_err(
			    &(struct fl_err){FL_EXIT_FAIL, "FL_DATABASE: the path is too long"});
		sv->dbpath = dflt;
	}
	if (sv->dbpath) {
		if (snprintf(sv->dbwhat, sizeof sv->dbwhat, "the state database %s", sv->dbpath) >=
		    (int)sizeof sv->dbwhat)
			return fl_log_err(&(struct fl_err){FL_EXIT_FAIL, "--db: the path is too long"});
		sv->db.what = sv->dbwhat;
	}
	return 0;
}

/* Serve until SIGTERM or SIGINT (blocked, taken with sigtimedwait: the poll's sleep). */
static int serve_loop(struct serve *sv, struct fl_mhttp *h, const sigset_t *sigs, long poll_ms)
{
	fl_mhttp_publish(h, sv->m);
	for (;;) {
		struct timespec ts = {poll_ms / 1000, (poll_ms % 1000) * 1000000L};
		int sig = sigtimedwait(sigs, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			fl_info("%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
			return FL_EXIT_OK;
		}
		if (sig == SIGHUP)
			fl_debug("SIGHUP: nothing to reload (the sources are reopened as they rotate)");
		if (poll_all(sv) > 0)
			fl_mhttp_publish(h, sv->m);
	}
}

static int run(struct serve *sv, const struct fl_metrics_verb *o, const struct fl_ctx *c)
{
	unsigned port;
	char addr[INET6_ADDRSTRLEN + 8] = "";
	int rc = serve_port(o, c, &port);
	if (rc || (rc = serve_bind(o, addr, sizeof addr)) || (rc = open_sources(sv, o, c)))
		return rc;
	fl_metrics_init(sv->m, o->strategy ? o->strategy : fl_ctx_value(c, FLV_FL_STRATEGY));
	if (o->mark_failed) {
		sv->m->mark_failed = true;
		sv->m->status = FL_MST_FAILED;
	}
	/* Blocked before the server's thread starts, so that it inherits the mask. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	struct fl_mhttp *h;
	struct fl_err e = {0};
	struct fl_mhttp_cfg cfg = {.addr = addr, .port = port};
	if (fl_mhttp_start(&cfg, &h, &e) < 0)
		return fl_log_err(&e);
	poll_all(sv);
	fl_info("serving http://%s%s%s:%u/metrics%s%s", strchr(addr, ':') ? "[" : "", addr,
	        strchr(addr, ':') ? "]" : "", fl_mhttp_port(h), sv->dbpath ? " from " : "",
	        sv->dbpath ? sv->dbwhat : "");
	rc = serve_loop(sv, h, &sigs, o->poll_ms > 0 ? o->poll_ms : POLL_MS_DEFAULT);
	fl_mhttp_stop(h);
	return rc;
}

int fl_metrics_verb_serve(struct fl_tool *t, const struct fl_metrics_verb *o)
{
	struct fl_ctx c = {0};
	if (fl_tool_load(t, FL_ROLE_SUPERLINK, &c))
		return FL_EXIT_FAIL;
	if (!c.conf.FL_METRICS_ENABLED && !o->force) {
		fl_info("FL_METRICS_ENABLED is not YES: not serving /metrics (use --force)");
		fl_ctx_free(&c);
		return FL_EXIT_OK;
	}
	struct serve sv = {.m = fl_xcalloc(1, sizeof *sv.m)};
	int rc = run(&sv, o, &c);
	if (sv.logs.s)
		fl_msource_close(sv.logs.s);
	if (sv.db.s)
		fl_msource_close(sv.db.s);
	free(sv.m);
	fl_ctx_free(&c);
	return rc;
}
