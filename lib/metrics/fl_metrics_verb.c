/* fl-metrics parse: read event lines and the state database once, print the metrics. */
#include "fl_err.h"
#include "fl_log.h"
#include "fl_metrics.h"
#include "fl_metrics_verb.h"
#include "fl_msource.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* The default strategy label: --strategy, else FL_STRATEGY of the configuration when one loads
 * (a configuration is optional here, unless one was named), else FedAvg. buf holds the value. */
static int default_strategy(struct fl_tool *t, const struct fl_metrics_verb *o, char *buf, size_t size)
{
	buf[0] = 0;
	if (o->strategy) {
		snprintf(buf, size, "%s", o->strategy);
		return 0;
	}
	char path[4200];
	bool named;
	struct fl_ctx_opts co = {fl_tool_config_path(t, FL_ROLE_SUPERLINK, path, sizeof path, &named), NULL,
	                         fl_tool_env(t)};
	struct fl_ctx c = {0};
	struct fl_err e = {0};
	if (fl_ctx_load(&c, &co, &e) < 0) {
		fl_ctx_free(&c);
		if (!named)
			return 0;
		fl_error("%s", e.msg);
		return FL_EXIT_FAIL;
	}
	fl_tool_log_format(&c);
	snprintf(buf, size, "%s", fl_ctx_value(&c, FLV_FL_STRATEGY));
	fl_ctx_free(&c);
	return 0;
}

static int parse_format(struct fl_tool *t, enum fl_metrics_format *f)
{
	const char *s = t->format;
	if (!s || strcmp(s, "prom") == 0)
		*f = FL_METRICS_PROM;
	else if (strcmp(s, "openmetrics") == 0)
		*f = FL_METRICS_OPENMETRICS;
	else if (strcmp(s, "json") == 0)
		*f = FL_METRICS_JSON;
	else
		return fl_tool_usage_error(t, "parse: --format '%s' is not prom, openmetrics or json", s);
	return 0;
}

/* Every FILE must exist now (a follower would wait for it to appear). */
static int check_files(char **args, int nargs)
{
	struct stat st;
	for (int i = 0; i < nargs; i++)
		if (strcmp(args[i], "-") != 0 && stat(args[i], &st) < 0) {
			fl_error(
			    "%s: cannot read the log: %s; name an existing file, or - for standard input",
			    args[i], strerror(errno));
			return FL_EXIT_FAIL;
		}
	return 0;
}

int fl_metrics_verb_parse(struct fl_tool *t, const struct fl_metrics_verb *o, char **args, int nargs)
{
	enum fl_metrics_format f = FL_METRICS_PROM;
	char strategy[FL_MEVENT_STR_MAX];
	int rc = parse_format(t, &f);
	if (rc || (rc = check_files(args, nargs)) || (rc = default_strategy(t, o, strategy, sizeof strategy)))
		return rc;
	static const char *const stdin_only[] = {"-"};
	/* No FILE: standard input, unless --db is the only source. */
	struct fl_msource_cfg cfg = {nargs ? (const char *const *)args : stdin_only,
	                             nargs   ? (size_t)nargs
	                             : o->db ? 0
	                                     : 1,
	                             o->db, false};
	static struct fl_metrics m;
	fl_metrics_init(&m, strategy);
	if (o->mark_failed) {
		m.mark_failed = true;
		m.status = FL_MST_FAILED;
	}
	struct fl_msource *s;
	struct fl_err e = {0};
	if (fl_msource_open(&s, &cfg, &e) < 0)
		return fl_log_err(&e);
	double now = (double)time(NULL);
	long n = fl_msource_poll(s, &m, now, &e);
	fl_msource_flush(s, &m, now);
	fl_msource_close(s);
	if (n < 0)
		return fl_log_err(&e);
	struct fl_buf out = FL_BUF_INIT;
	fl_metrics_render(&m, f, &out);
	rc = fwrite(out.data, 1, out.len, stdout) == out.len && fflush(stdout) == 0 ? FL_EXIT_OK
	                                                                            : FL_EXIT_FAIL;
	if (rc)
		fl_error("standard output: cannot write the metrics: %s", strerror(errno));
	fl_buf_free(&out);
	return rc;
}
