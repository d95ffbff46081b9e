/* fl-metrics show: the training as a person at a terminal reads it, from the same sources as
 * serve, read once: status and round, clients, checkpoints, a stalled warning, loss and
 * accuracy per round with a small text chart, and the time since the last event. */
#include "fl_err.h"
#include "fl_log.h"
#include "fl_metrics.h"
#include "fl_metrics_conf.h"
#include "fl_metrics_show.h"
#include "fl_metrics_verb.h"
#include "fl_msource.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

bool fl_metrics_show_utf8(const char *lc_all, const char *lc_ctype, const char *lang)
{
	const char *v = lc_all && *lc_all ? lc_all : lc_ctype && *lc_ctype ? lc_ctype : lang;
	if (!v)
		return false;
	for (const char *s = v; *s; s++)
		if (strncasecmp(s, "utf-8", 5) == 0 || strncasecmp(s, "utf8", 4) == 0)
			return true;
	return false;
}

void fl_metrics_show_bar(struct fl_buf *b, double frac, unsigned width, bool utf8)
{
	if (!(frac > 0)) /* also NAN */
		return;
	if (frac > 1)
		frac = 1;
	/* Eighths of a cell: U+2588 full block, U+258F..U+2589 one to seven eighths. */
	static const char *const part[8] = {"",       "\u258f", "\u258e", "\u258d",
	                                    "\u258c", "\u258b", "\u258a", "\u2589"};
	unsigned eighths = (unsigned)(frac * width * 8 + 0.5);
	if (!utf8) {
		unsigned n = (eighths + 4) / 8;
		for (unsigned i = 0; i < n; i++)
			fl_buf_addc(b, '#');
		return;
	}
	for (unsigned i = 0; i < eighths / 8; i++)
		fl_buf_adds(b, "\u2588");
	fl_buf_adds(b, part[eighths % 8]);
}

void fl_metrics_show_ago(struct fl_buf *b, double secs)
{
	if (secs < 0)
		secs = 0;
	long long s = (long long)secs;
	if (s < 120)
		fl_buf_addf(b, "%lld s", s);
	else if (s < 7200)
		fl_buf_addf(b, "%lld min", s / 60);
	else if (s < 172800)
		fl_buf_addf(b, "%lld h %lld min", s / 3600, s % 3600 / 60);
	else
		fl_buf_addf(b, "%lld days", s / 86400);
}

static const char *status_name(enum fl_metrics_status s)
{
	switch (s) {
	case FL_MST_RUNNING: return "running";
	case FL_MST_COMPLETE: return "complete";
	case FL_MST_FAILED: return "failed";
	case FL_MST_IDLE: break;
	}
	return "not started";
}

static void value(struct fl_buf *b, double v)
{
	if (isnan(v))
		fl_buf_addf(b, "  %-8s", "-");
	else
		fl_buf_addf(b, "  %-8.4f", v);
}

static void header(const struct fl_metrics *m, struct fl_buf *b)
{
	fl_buf_addf(b, "Training: %s", status_name(m->status));
	if (m->have_round_current) {
		fl_buf_addf(b, ", round %lld", (long long)m->round_current);
		if (m->have_round_total)
			fl_buf_addf(b, " of %lld", (long long)m->round_total);
	}
	fl_buf_addf(b, " (%s)\n", m->strategy);
	fl_buf_addf(b, "Clients: %lld connected, %lld selected, %lld responded, %llu failed",
	            (long long)m->clients_connected, (long long)m->clients_selected,
	            (long long)m->clients_responded, (unsigned long long)m->clients_failed);
	if (m->clients_registered >= 0 && m->min_clients >= 0)
		fl_buf_addf(b, " (registered %lld, min %lld)", m->clients_registered, m->min_clients);
	else if (m->clients_registered >= 0)
		fl_buf_addf(b, " (registered %lld)", m->clients_registered);
	else if (m->min_clients >= 0)
		fl_buf_addf(b, " (min %lld)", m->min_clients);
	fl_buf_addf(b, "\nCheckpoints saved: %llu\n", (unsigned long long)m->checkpoints_saved);
	if (m->stalled)
		fl_buf_addf(b,
		            "Warning: training stalled in round %lld: no progress reported; check that "
		            "the SuperNodes are connected and the ServerApp's log\n",
		            (long long)m->round_current);
}

/* The rounds: the chart is the accuracy, or, for a round without one, its loss against the
 * largest loss shown. */
static void rounds(const struct fl_metrics *m, bool utf8, struct fl_buf *b)
{
	if (!m->hist_len) {
		fl_buf_adds(b, "No round has ended yet.\n");
		return;
	}
	unsigned first = m->hist_len > FL_METRICS_SHOW_ROUNDS ? m->hist_len - FL_METRICS_SHOW_ROUNDS : 0;
	if (first)
		fl_buf_addf(b, "(%u earlier round%s not shown)\n", first, first == 1 ? "" : "s");
	double maxloss = 0;
	for (unsigned i = first; i < m->hist_len; i++) {
		double l = fl_metrics_history(m, i)->loss;
		if (!isnan(l) && l > maxloss)
			maxloss = l;
	}
	fl_buf_adds(b, "Round  Loss      Accuracy\n");
	for (unsigned i = first; i < m->hist_len; i++) {
		const struct fl_metrics_round *r = fl_metrics_history(m, i);
		fl_buf_addf(b, "%5lld", r->round);
		value(b, r->loss);
		value(b, r->accuracy);
		fl_buf_adds(b, "  ");
		size_t before = b->len;
		if (!isnan(r->accuracy))
			fl_metrics_show_bar(b, r->accuracy, FL_METRICS_SHOW_WIDTH, utf8);
		else if (!isnan(r->loss) && maxloss > 0)
			fl_metrics_show_bar(b, r->loss / maxloss, FL_METRICS_SHOW_WIDTH, utf8);
		/* No trailing blanks. */
		if (b->len == before) {
			while (b->len && b->data[b->len - 1] == ' ')
				b->len--;
			b->data[b->len] = '\0';
		}
		fl_buf_addc(b, '\n');
	}
}

void fl_metrics_show_text(const struct fl_metrics *m, double now, bool utf8, struct fl_buf *b)
{
	header(m, b);
	rounds(m, utf8, b);
	if (isnan(m->last_event_ts)) {
		fl_buf_adds(b, "No event yet.\n");
		return;
	}
	fl_buf_adds(b, "Last event: ");
	fl_metrics_show_ago(b, now - m->last_event_ts);
	fl_buf_adds(b, " ago\n");
}

/* The sources that can be read now: each one that cannot is said; none is exit 1. */
static int readable(const struct fl_metrics_verb *o, const struct fl_metrics_conf *c,
                    struct fl_msource_cfg *cfg, const char **files)
{
	size_t n = 0;
	for (size_t i = 0; i < o->nfollow; i++) {
		if (access(o->follow[i], R_OK) == 0)
			files[n++] = o->follow[i];
		else
			fl_warn("%s: cannot read the log: %s", o->follow[i], strerror(errno));
	}
	const char *db = c->db[0] ? c->db : NULL;
	if (db && access(db, R_OK) != 0) {
		fl_warn("%s: cannot read the state database: %s", db, strerror(errno));
		db = NULL;
	}
	if (!n && !db) {
		fl_error("no source could be read (%s%s%s%s): name a log with --follow FILE or the state "
		         "database with --db FILE",
		         o->nfollow ? o->follow[0] : "", o->nfollow > 1 ? ", ..." : "",
		         o->nfollow && c->db[0] ? ", " : "", c->db);
		return FL_EXIT_FAIL;
	}
	cfg->follow = files;
	cfg->nfollow = n;
	cfg->db = db;
	cfg->from_end = false;
	return 0;
}

int fl_metrics_verb_show(struct fl_tool *t, const struct fl_metrics_verb *o)
{
	bool json = t->format && strcmp(t->format, "json") == 0;
	if (t->format && !json && strcmp(t->format, "text") != 0)
		return fl_tool_usage_error(t, "show: --format '%s' is not text or json", t->format);
	struct fl_metrics_conf c = {0};
	int rc = fl_metrics_conf_get(t, o, &c);
	if (rc)
		return rc;
	const char *files[FL_METRICS_FOLLOW_MAX];
	struct fl_msource_cfg cfg;
	if ((rc = readable(o, &c, &cfg, files)))
		return rc;
	static struct fl_metrics m;
	fl_metrics_init(&m, c.strategy);
	struct fl_err e = {0};
	double now = (double)time(NULL);
	if (fl_msource_read_all(&cfg, &m, now, &e) < 0)
		return fl_log_err(&e);
	struct fl_buf out = FL_BUF_INIT;
	if (json)
		fl_metrics_render(&m, FL_METRICS_JSON, &out);
	else
		fl_metrics_show_text(
		    &m, now, fl_metrics_show_utf8(getenv("LC_ALL"), getenv("LC_CTYPE"), getenv("LANG")),
		    &out);
	return fl_metrics_verb_print(&out);
}
