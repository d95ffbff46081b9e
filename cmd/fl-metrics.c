/* fl-metrics: training metrics from Flower's logs and state database, for Prometheus (serve),
 * a person at a terminal (show), scripts (parse) and OneFlow elasticity (publish). */
#include "fl_ctx.h"
#include "fl_metrics_verb.h"
#include "fl_tool.h"

#include <stddef.h>

static const char usage_text[] =
    "usage: fl-metrics [options] parse [--format prom|openmetrics|json] [--db FILE] [FILE|-]...\n"
    "       fl-metrics [options] serve [--port N] [--bind ADDR] [--follow FILE]... [--db FILE]\n"
    "                                  [--force] [--mark-failed]\n"
    "       fl-metrics [options] show [--follow FILE]... [--db FILE] [--format text|json]\n"
    "       fl-metrics [options] publish [--onegate] [--interval SECONDS] [--once]\n"
    "                                    [--log FILE] [--container NAME | --pidfile FILE]\n";

static const char help_text[] =
    "\n"
    "parse    read event lines (FL JSON or Docker json-file) and the state database once;\n"
    "         print the metrics (Prometheus text by default)\n"
    "serve    follow the sources and serve GET /metrics on FL_METRICS_PORT of the VM address\n"
    "show     the training as a person reads it: round x of y, clients, status, loss and\n"
    "         accuracy per round\n"
    "publish  (SuperNode) publish FL_CLIENT_STATUS, FL_TRAINING_ACTIVE and FL_ROUND_NUMBER to\n"
    "         OneGate for OneFlow elasticity, on change and periodically\n"
    "\n";

static const char help_end[] =
    "\n"
    "exit status: 0 ok, 1 failure (bad input, port taken), 2 usage error, 3 OneGate\n"
    "             unreachable (publish --once).\n";

enum {
	OPT_FOLLOW = FL_TOOL_OWN,
	OPT_DB,
	OPT_STRATEGY,
	OPT_MARK_FAILED,
	OPT_FROM_END,
	OPT_PORT,
	OPT_BIND,
	OPT_FORCE,
	OPT_POLL,
	OPT_INTERVAL,
	OPT_ONCE,
	OPT_ONEGATE,
	OPT_LOG,
	OPT_CONTAINER,
	OPT_PIDFILE,
};

static int parse(struct fl_tool *t, char **args, int n)
{
	return fl_metrics_verb_parse(t, t->data, args, n);
}

static int serve(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	return fl_metrics_verb_serve(t, t->data);
}

static int show(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	return fl_metrics_verb_show(t, t->data);
}

static int publish(struct fl_tool *t, char **args, int n)
{
	(void)args, (void)n;
	return fl_metrics_verb_publish(t, t->data);
}

static int option(struct fl_tool *t, int ch, const char *arg)
{
	struct fl_metrics_verb *o = t->data;
	uint64_t ms;
	switch (ch) {
	case OPT_FOLLOW:
		if (o->nfollow == FL_METRICS_FOLLOW_MAX)
			return fl_tool_usage_error(t, "--follow: at most %d files", FL_METRICS_FOLLOW_MAX);
		o->follow[o->nfollow++] = arg;
		break;
	case OPT_DB: o->db = arg; break;
	case OPT_STRATEGY: o->strategy = arg; break;
	case OPT_MARK_FAILED: o->mark_failed = true; break;
	case OPT_FROM_END: o->from_end = true; break;
	case OPT_PORT: return fl_tool_number(t, "--port", arg, 1, 65535, NULL, &o->port);
	case OPT_BIND: o->bind = arg; break;
	case OPT_FORCE: o->force = true; break;
	case OPT_POLL:
	case OPT_INTERVAL:
		if (fl_tool_seconds(t, ch == OPT_POLL ? "--poll" : "--interval", arg, &ms))
			return FL_EXIT_USAGE;
		if (ms == 0)
			return fl_tool_usage_error(t, "%s must be more than 0 seconds",
			                           ch == OPT_POLL ? "--poll" : "--interval");
		*(ch == OPT_POLL ? &o->poll_ms : &o->interval_ms) = (long)ms;
		break;
	case OPT_ONCE: o->once = true; break;
	case OPT_ONEGATE: break; /* the spec's flag: OneGate is the only target */
	case OPT_LOG: o->log = arg; break;
	case OPT_CONTAINER: o->container = arg; break;
	case OPT_PIDFILE: o->pidfile = arg; break;
	}
	return 0;
}

static int check_options(struct fl_tool *t)
{
	const struct fl_metrics_verb *o = t->data;
	if (o->container && o->pidfile)
		return fl_tool_usage_error(t, "--container and --pidfile exclude each other");
	return FL_TOOL_GO;
}

static const struct fl_tool_opt opts[] = {
    {"context", 1, 'c', NULL, "FILE",
     "context or rendered file for FL_METRICS_* (default $FLKIT_CONTEXT,\n"
     "else the rendered file, else " FL_CTX_DEFAULT_PATH ", else the environment)"},
    {"format", 1, 'f', "parse|show", "FMT", "parse: prom, openmetrics or json; show: text or json"},
    {"follow", 1, OPT_FOLLOW, "serve|show", "FILE",
     "a log of JSON event lines or a Docker json-file log (repeatable)"},
    {"db", 1, OPT_DB, "parse|serve|show", "FILE", "the SuperLink state database (read-only)"},
    {"strategy", 1, OPT_STRATEGY, "parse|serve|show", "NAME",
     "the strategy label until an event names one (default FL_STRATEGY)"},
    {"mark-failed", 0, OPT_MARK_FAILED, "parse|serve|show", NULL, "fl_training_status 3 (failed)"},
    {"from-end", 0, OPT_FROM_END, "serve", NULL, "serve: start at the end of the followed files"},
    {"port", 1, OPT_PORT, "serve", "N", "serve: the port (default FL_METRICS_PORT, 9101)"},
    {"bind", 1, OPT_BIND, "serve", "ADDR",
     "serve: the address to listen on (default the VM address;\n0.0.0.0 or :: for every interface)"},
    {"force", 0, OPT_FORCE, "serve", NULL, "serve: even when FL_METRICS_ENABLED is not YES"},
    {"poll", 1, OPT_POLL, "serve|publish", "SECONDS", "how often the sources are read (1)"},
    {"interval", 1, OPT_INTERVAL, "publish", "SECONDS", "publish: the periodic refresh (30)"},
    {"once", 0, OPT_ONCE, "publish", NULL, "publish: publish the current values once and exit"},
    {"onegate", 0, OPT_ONEGATE, "publish", NULL, "publish: to OneGate (the only target)"},
    {"log", 1, OPT_LOG, "publish", "FILE", "publish: the SuperNode's output to read round progress from"},
    {"container", 1, OPT_CONTAINER, "publish", "NAME",
     "publish: the SuperNode container (default flower-supernode)"},
    {"pidfile", 1, OPT_PIDFILE, "publish", "FILE", "publish: the native SuperNode's pid file"},
};

static const struct fl_tool_verb verbs[] = {
    {"parse", 0, -1, NULL, parse},
    {"serve", 0, 0, NULL, serve},
    {"show", 0, 0, NULL, show},
    {"publish", 0, 0, NULL, publish},
};

int main(int argc, char **argv)
{
	static struct fl_metrics_verb o;
	static struct fl_tool t = {
	    .name = "fl-metrics",
	    .usage = usage_text,
	    .help = help_text,
	    .help_end = help_end,
	    FL_TOOL_TABLES(opts, verbs),
	    .flags = FL_TOOL_RENDERED | FL_TOOL_ENV_FALLBACK,
	    .option = option,
	    .check = check_options,
	    .data = &o,
	};
	return fl_tool_main(&t, argc, argv);
}
