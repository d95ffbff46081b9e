/* fl_msource: the followed logs (and, through fl_linkdb, the state database) polled into one
 * state. */
#include "fl_msource.h"

#include "fl_buf.h"
#include "fl_follow.h"

#include <stdlib.h>

struct fl_msource {
	struct fl_follow **follow;
	size_t nfollow;
	const char *db;
};

/* What a follower's line callback needs. */
struct feed {
	struct fl_metrics *m;
	double now;
};

static void feed_line(void *arg, const char *line, size_t n, bool truncated)
{
	struct feed *fd = arg;
	if (truncated) {
		/* Cut by the reader: counted, never parsed. */
		fd->m->lines++;
		fd->m->skipped[FL_MEV_TOO_LONG]++;
		return;
	}
	fl_metrics_feed(fd->m, line, n, fd->now);
}

/* ---- The state database (the db part of fl_msource: fl_linkdb fills these two). ---- */

/* Open s->db read-only and check it is Flower's: 0, or -1 with e. */
static int open_db(struct fl_msource *s, struct fl_err *e)
{
	return fl_err_set(e, 1, "%s: state database support is not built in yet; leave out --db", s->db);
}

/* The state database's values into m (fl_metrics_set_connected, fl_metrics_set_status, events
 * derived from its rows): the number of rows read, or -1 with e. */
static long poll_db(struct fl_msource *s, struct fl_metrics *m, struct fl_err *e)
{
	(void)m;
	return fl_err_set(e, 1, "%s: state database support is not built in yet; leave out --db", s->db);
}

/* ---- The followed logs. ---- */

int fl_msource_open(struct fl_msource **out, const struct fl_msource_cfg *cfg, struct fl_err *e)
{
	struct fl_msource *s = fl_xcalloc(1, sizeof *s);
	s->follow = fl_xcalloc(cfg->nfollow ? cfg->nfollow : 1, sizeof *s->follow);
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
	struct feed fd = {m, now};
	long total = 0;
	bool failed = false;
	struct fl_err first = {0};
	for (size_t i = 0; i < s->nfollow; i++) {
		struct fl_err fe = {0};
		long n = fl_follow_poll(s->follow[i], feed_line, &fd, &fe);
		if (n < 0 && !failed) {
			failed = true;
			first = fe;
		}
		total += n > 0 ? n : 0;
	}
	if (s->db) {
		struct fl_err de = {0};
		long n = poll_db(s, m, &de);
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
	struct feed fd = {m, now};
	for (size_t i = 0; i < s->nfollow; i++)
		fl_follow_flush(s->follow[i], feed_line, &fd);
}

void fl_msource_close(struct fl_msource *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfollow; i++)
		fl_follow_close(s->follow[i]);
	free(s->follow);
	free(s);
}
