/* fl-metrics parse: read event lines and the state database once, print the metrics. */
#include "fl_err.h"
#include "fl_log.h"
#include "fl_metrics.h"
#include "fl_metrics_conf.h"
#include "fl_metrics_verb.h"
#include "fl_msource.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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

int fl_metrics_verb_print(struct fl_buf *out)
{
	int rc = fwrite(out->data, 1, out->len, stdout) == out->len && fflush(stdout) == 0 ? FL_EXIT_OK
	                                                                                   : FL_EXIT_FAIL;
	if (rc)
		fl_error("standard output: cannot write the metrics: %s", strerror(errno));
	fl_buf_free(out);
	return rc;
}

int fl_metrics_verb_parse(struct fl_tool *t, const struct fl_metrics_verb *o, char **args, int nargs)
{
	enum fl_metrics_format f = FL_METRICS_PROM;
	struct fl_metrics_conf c = {0};
	int rc = parse_format(t, &f);
	if (rc || (rc = check_files(args, nargs)) || (rc = fl_metrics_conf_get(t, o, &c)))
		return rc;
	static const char *const stdin_only[] = {"-"};
	/* No FILE: standard input, unless --db is the only source. */
	struct fl_msource_cfg cfg = {nargs ? (const char *const *)args : stdin_only,
	                             nargs   ? (size_t)nargs
	                             : o->db ? 0
	                                     : 1,
	                             o->db, false};
	static struct fl_metrics m;
	fl_metrics_init(&m, c.strategy);
	if (o->mark_failed) {
		m.mark_failed = true;
		m.status = FL_MST_FAILED;
	}
	struct fl_err e = {0};
	if (fl_msource_read_all(&cfg, &m, (double)time(NULL), &e) < 0)
		return fl_log_err(&e);
	struct fl_buf out = FL_BUF_INIT;
	fl_metrics_render(&m, f, &out);
	return fl_metrics_verb_print(&out);
}
