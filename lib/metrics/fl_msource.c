/* fl_msource: the followed logs (and, through fl_linkdb, the state database) polled into one
 * state. */
#include "fl_msource.h"

#include "fl_buf.h"
#include "fl_flowerlog.h"
#include "fl_follow.h"
#include "fl_linkdb.h"
#include "fl_log.h"

#include <math.h>
#include <stdlib.h>

/* Flower's own text lines in a followed file (a SuperLink <= 1.26 prints the ServerApp's output
 * on its stderr) give events while the file has shown no JSON event: JSON events win. */
struct textlog {
	struct fl_flowerlog flog;
	bool json_seen;
};

struct fl_msource {
	struct fl_follow **follow;
	struct textlog *text; /* one per followed file */
	size_t nfollow;
	const char *db;
	struct fl_linkdb *linkdb;
};

/* What a follower's line callback needs. */
struct feed {
	struct fl_metrics *m;
	double now;
	struct textlog *text;
};

static void text_emit(void *arg, const struct fl_mevent *ev)
{
	struct feed *fd = arg;
	fl_metrics_apply(fd->m, ev, fd->now);
}

static void feed_line(void *arg, const char *line, size_t n, bool truncated)
{
	struct feed *fd = arg;
	if (truncated) {
		/* Cut by the reader: counted, never parsed. */
		fd->m->lines++;
		fd->m->skipped[FL_MEV_TOO_LONG]++;
		return;
	}
	enum fl_mevent_skip r = fl_metrics_feed(fd->m, line, n, fd->now);
	if (r != FL_MEV_NOT_JSON)
		fd->text->json_seen |= r == FL_MEV_OK;
	else if (!fd->text->json_seen)
		fl_flowerlog_feed(&fd->text->flog, line, n, NAN, text_emit, fd);
}

/* ---- The state database (the db part of fl_msource: fl_linkdb fills these two). ---- */

/* Open s->db read-only and check it is Flower's: 0, or -1 with e. Says once what this Flower
 * version's database cannot give. */
static int open_db(struct fl_msource *s, struct fl_err *e)
{
	if (fl_linkdb_open(&s->linkdb, s->db, e) < 0)
		return -1;
	const char *missing = fl_linkdb_missing(s->linkdb), *schema = fl_linkdb_schema(s->linkdb);
	fl_log(FL_DEBUG, "%s: SuperLink state database, schema %s", s->db,
	       *schema ? schema : "without alembic_version");
	if (*missing)
		fl_log(FL_INFO, "%s: this Flower version's state database cannot give: %s", s->db, missing);
	return 0;
}

/* The state database's values into m (fl_metrics_set_connected, fl_metrics_set_status, events
 * derived from its rows): the number of rows read, or -1 with e. */
static long poll_db(struct fl_msource *s, struct fl_metrics *m, double now, struct fl_err *e)
{
	return fl_linkdb_poll(s->linkdb, m, now, e);
}

/* ---- The followed logs. ---- */

int fl_msource_open(struct fl_msource **out, const struct fl_msource_cfg *cfg, struct fl_err *e)
{
	struct fl_msource *s = fl_xcalloc(1, sizeof *s);
	s->follow = fl_xcalloc(cfg->nfollow ? cfg->nfollow : 1, sizeof(struct fl_follow *));
	s->text = fl_xcalloc(cfg->nfollow ? cfg->nfollow : 1, sizeof(struct textlog));
	for (size_t i = 0; i < cfg->nfollow; i++)
		fl_flowerlog_init(&s->text[i].flog);
	s->db = cfg->db;
	if (s->db && open_db(s, e) < 0) {
		fl_msource_close(s);
		return -1;
	}
	for (size_t i = 0; i < cfg->nfollow; i++) {
		if (fl_follow_open(&s->follow[i], cfg->follow[i], cfg->from_end, e) < 0) {
			fl_msource_close(s);
			return -1;
		}
		s->nfollow++;
	}
	*out = s;
	return 0;
}

long fl_msource_poll(struct fl_msource *s, struct fl_metrics *m, double now, struct fl_err *e)
{
	struct feed fd = {m, now, NULL};
	long total = 0;
	bool failed = false;
	struct fl_err first = {0};
	for (size_t i = 0; i < s->nfollow; i++) {
		struct fl_err fe = {0};
		fd.text = &s->text[i];
		long n = fl_follow_poll(s->follow[i], feed_line, &fd, &fe);
		if (n < 0 && !failed) {
			failed = true;
			first = fe;
		}
		total += n > 0 ? n : 0;
	}
	if (s->db) {
		struct fl_err de = {0};
		long n = poll_db(s, m, now, &de);
		if (n < 0 && !failed) {
			failed = true;
			first = de;
		}
		total += n > 0 ? n : 0;
	}
	if (failed) {
		if (e)
			*e = first;
		return -1;
	}
	return total;
}

void fl_msource_flush(struct fl_msource *s, struct fl_metrics *m, double now)
{
	struct feed fd = {m, now, NULL};
	for (size_t i = 0; i < s->nfollow; i++) {
		fd.text = &s->text[i];
		fl_follow_flush(s->follow[i], feed_line, &fd);
		if (!s->text[i].json_seen)
			fl_flowerlog_flush(&s->text[i].flog, NAN, text_emit, &fd);
	}
	if (s->linkdb) {
		/* The rest of the run's output (a poll reads a bounded number of rows). */
		struct fl_err e = {0};
		if (fl_linkdb_drain(s->linkdb, m, now, &e) < 0)
			fl_log(FL_WARN, "%s", e.msg);
	}
}

void fl_msource_close(struct fl_msource *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfollow; i++)
		fl_follow_close(s->follow[i]);
	fl_linkdb_close(s->linkdb);
	free(s->follow);
	free(s->text);
	free(s);
}

long fl_msource_read_all(const struct fl_msource_cfg *cfg, struct fl_metrics *m, double now, struct fl_err *e)
{
	struct fl_msource *s;
	if (fl_msource_open(&s, cfg, e) < 0)
		return -1;
	long n = fl_msource_poll(s, m, now, e);
	fl_msource_flush(s, m, now);
	fl_msource_close(s);
	return n;
}
