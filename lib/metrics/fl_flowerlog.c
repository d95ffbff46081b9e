/* fl_flowerlog: Flower's ServerApp text lines -> synthetic training events (see the header). */
#include "fl_flowerlog.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind {
	K_IGNORE = 0, /* empty, continuation lines, per-reply errors: they settle nothing */
	K_OTHER,      /* any other line: pending events are emitted first */
	K_START,      /* Starting <Name> strategy: */
	K_NROUNDS,    /* Number of rounds: N */
	K_LEGACY,     /* Starting Flower ServerApp, config: num_rounds=N */
	K_ROUND,      /* [ROUND n/N] or [ROUND n] */
	K_CONF_TRAIN, /* configure_train: Sampled k nodes / configure_fit: strategy sampled k */
	K_AGG_TRAIN,  /* aggregate_train / aggregate_fit: Received k results and f failures */
	K_AGG_EVAL,   /* aggregate_evaluate: ... */
	K_METRIC,     /* Aggregated MetricRecord: {...} */
	K_FIT_PROG,   /* legacy fit progress: (round, loss, {...}, elapsed) */
	K_END,        /* Strategy execution finished in Xs / Run finished N round(s) in Xs */
	K_WAITING,    /* Waiting for nodes to connect: k connected (minimum required: n). */
};

struct line {
	enum kind kind;
	char name[FL_MEVENT_STR_MAX];
	long long a, b; /* round/total, selected, results/failures */
	double x, y;    /* loss, accuracy, duration */
};

void fl_flowerlog_init(struct fl_flowerlog *p)
{
	memset(p, 0, sizeof *p);
	p->num_rounds = -1;
	p->round = 0;
	p->wait_since = NAN;
	p->selected = p->responded = -1;
	p->round_ts = p->train_loss = p->train_acc = NAN;
}

/* Copy line without ANSI escapes and NULs, at most cap-1 bytes; returns the length. */
static size_t strip_ansi(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	if (n > FL_FLOWERLOG_LINE_MAX)
		n = FL_FLOWERLOG_LINE_MAX;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		if (s[i] == 0x1b) {
			if (i + 1 < n && s[i + 1] == '[') {
				i += 2;
				while (i < n && (isdigit((unsigned char)s[i]) || s[i] == ';'))
					i++;
				/* i is at the final byte (or past the end). */
			}
			continue;
		}
		if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
			continue;
		out[o++] = s[i];
	}
	out[o] = '\0';
	return o;
}

/* The message after Flower's `LEVEL ...:` prefix, past tree-drawing and blanks. */
static const char *message(const char *s)
{
	static const char *const levels[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};
	for (size_t i = 0; i < sizeof levels / sizeof *levels; i++) {
		size_t l = strlen(levels[i]);
		if (strncmp(s, levels[i], l) == 0 && strspn(s + l, " :") > 0) {
			const char *c = strchr(s + l, ':');
			/* DEBUG lines carry a time with colons: the prefix ends at ":" + blanks after
			 * the last field, which is ",NNN:" there; take the first ':' followed by a blank
			 * or the end. */
			while (c && c[1] && c[1] != ' ' && c[1] != '\t')
				c = strchr(c + 1, ':');
			if (c)
				s = c + 1;
			break;
		}
	}
	for (;;) {
		if (*s == ' ' || *s == '\t' || *s == '>')
			s++;
		else if ((unsigned char)s[0] == 0xe2 && (unsigned char)s[1] == 0x94 && s[2])
			s += 3; /* U+2500..U+253F: ─ │ ├ └ */
		else
			return s;
	}
}

static bool num_ll(const char *s, long long *v, const char **end)
{
	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	char *e;
	long long x = strtoll(s, &e, 10);
	if (errno || x < 0)
		return false;
	*v = x;
	if (end)
		*end = e;
	return true;
}

/* The number after the first `'<...>KEY': ` in a record's text; NAN when none. */
static double record_value(const char *s, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = strstr(s, key); p; p = strstr(p + 1, key)) {
		if (strncmp(p + kl, "': ", 3) != 0)
			continue;
		const char *v = p + kl + 3;
		if (*v == '\'') /* pprint strings: '4.1000e-01' */
			v++;
		char *e;
		errno = 0;
		double d = strtod(v, &e);
		if (e != v && !errno && isfinite(d))
			return d;
	}
	return NAN;
}

/* "Received k results and f failures" (case-insensitive R) after a colon. */
static bool results_failures(const char *s, struct line *l)
{
	const char *r = strstr(s, "eceived ");
	if (!r)
		return false;
	const char *e;
	if (!num_ll(r + 8, &l->a, &e) || strncmp(e, " results and ", 13) != 0)
		return false;
	return num_ll(e + 13, &l->b, NULL);
}

static void classify_round(const char *m, struct line *l)
{
	const char *e;
	if (!num_ll(m + 7, &l->a, &e) || l->a > 1000000000LL)
		return;
	l->b = -1;
	if (*e == '/' && !num_ll(e + 1, &l->b, &e))
		return;
	if (*e++ != ']')
		return;
	while (*e == ' ' || *e == '\t')
		e++;
	if (!*e) /* the whole message: not a prefix of something else */
		l->kind = K_ROUND;
}

static void classify_start(const char *m, struct line *l)
{
	const char *name = m + 9, *e = strstr(name, " strategy:");
	if (e && e > name && (size_t)(e - name) < sizeof l->name) {
		for (const char *c = name; c < e; c++)
			if (!isalnum((unsigned char)*c) && *c != '_')
				return;
		memcpy(l->name, name, (size_t)(e - name));
		l->name[e - name] = '\0';
		l->kind = K_START;
	} else if (strncmp(name, "Flower ServerApp, config: num_rounds=", 37) == 0 &&
	           num_ll(name + 37, &l->a, NULL)) {
		l->kind = K_LEGACY;
	}
}

static void classify_end(const char *m, struct line *l)
{
	char *e;
	if (strncmp(m, "Strategy execution finished in", 30) == 0) {
		l->a = -1;
		l->x = strtod(m + 30, &e);
		if (e == m + 30)
			l->x = NAN;
		l->kind = K_END;
	} else if (strncmp(m, "Run finished ", 13) == 0 && num_ll(m + 13, &l->a, NULL)) {
		const char *in = strstr(m, " in ");
		l->x = in ? strtod(in + 4, &e) : NAN;
		if (in && e == in + 4)
			l->x = NAN;
		l->kind = K_END;
	}
	if (l->kind == K_END && !(isfinite(l->x) && l->x >= 0))
		l->x = NAN;
}

static void classify(const char *m, struct line *l)
{
	memset(l, 0, sizeof *l);
	l->x = l->y = NAN;
	l->kind = *m ? K_OTHER : K_IGNORE;
	const char *c;
	if (strncmp(m, "[ROUND ", 7) == 0) {
		classify_round(m, l);
	} else if (strncmp(m, "Starting ", 9) == 0) {
		classify_start(m, l);
	} else if (strncmp(m, "Number of rounds: ", 18) == 0) {
		if (num_ll(m + 18, &l->a, NULL))
			l->kind = K_NROUNDS;
	} else if (strncmp(m, "configure_train: Sampled ", 25) == 0 ||
	           strncmp(m, "configure_fit: strategy sampled ", 32) == 0) {
		c = strstr(m, "ampled ");
		if (num_ll(c + 7, &l->a, NULL))
			l->kind = K_CONF_TRAIN;
	} else if (strncmp(m, "aggregate_train:", 16) == 0 || strncmp(m, "aggregate_fit:", 14) == 0) {
		if (results_failures(m, l))
			l->kind = K_AGG_TRAIN;
	} else if (strncmp(m, "aggregate_evaluate:", 19) == 0) {
		if (results_failures(m, l))
			l->kind = K_AGG_EVAL;
	} else if (strncmp(m, "Aggregated MetricRecord: ", 25) == 0) {
		l->kind = K_METRIC;
		(void)snprintf(l->name, sizeof l->name, "%s", m + 25);
		l->x = record_value(m, "loss");
		l->y = record_value(m, "accuracy");
		if (isnan(l->y))
			l->y = record_value(m, "acc");
	} else if (strncmp(m, "fit progress: (", 15) == 0) {
		char *e;
		if (num_ll(m + 15, &l->a, &c) && strncmp(c, ", ", 2) == 0) {
			l->x = strtod(c + 2, &e);
			if (e != c + 2 && isfinite(l->x))
				l->kind = K_FIT_PROG;
		}
	} else if (strncmp(m, "Waiting for nodes to connect: ", 30) == 0) {
		c = strstr(m, "minimum required: ");
		if (num_ll(m + 30, &l->a, NULL) && c && num_ll(c + 18, &l->b, NULL))
			l->kind = K_WAITING;
		else
			l->kind = K_IGNORE;
	} else if (strstr(m, "Received error in reply from node")) {
		l->kind = K_IGNORE;
	} else {
		classify_end(m, l);
	}
}

struct out {
	fl_flowerlog_emit_fn emit;
	void *ctx;
	int n;
};

static void emit(struct out *o, const struct fl_mevent *ev)
{
	if (o->emit)
		o->emit(o->ctx, ev);
	o->n++;
}

static void ev_init(struct fl_mevent *ev, enum fl_mevent_type t, const struct fl_flowerlog *p, double ts)
{
	fl_mevent_init(ev, t);
	ev->ts = ts;
	(void)snprintf(ev->strategy, sizeof ev->strategy, "%s", p->strategy);
	snprintf(ev->role, sizeof ev->role, "superlink");
}

static void do_training_start(struct fl_flowerlog *p, double ts, struct out *o)
{
	struct fl_mevent ev;
	ev_init(&ev, FL_MEV_TRAINING_START, p, ts);
	ev.num_rounds = p->num_rounds;
	p->pending_start = false;
	p->started = true;
	p->ended = false;
	emit(o, &ev);
}

static void do_round_start(struct fl_flowerlog *p, long long selected, double ts, struct out *o)
{
	struct fl_mevent ev;
	ev_init(&ev, FL_MEV_ROUND_START, p, ts);
	ev.round = p->round;
	ev.selected = selected;
	p->pending_round = false;
	p->round_open = true;
	p->round_ts = ts;
	p->phase = 0;
	p->responded = -1;
	p->train_loss = p->train_acc = NAN;
	emit(o, &ev);
}

static void do_round_end(struct fl_flowerlog *p, double loss, double acc, double ts, struct out *o)
{
	struct fl_mevent ev;
	ev_init(&ev, FL_MEV_ROUND_END, p, ts);
	ev.round = p->round;
	ev.responded = p->responded;
	ev.loss = isnan(loss) ? p->train_loss : loss;
	ev.accuracy = isnan(acc) ? p->train_acc : acc;
	if (isfinite(ts) && isfinite(p->round_ts) && ts >= p->round_ts)
		ev.duration = ts - p->round_ts;
	p->round_open = false;
	p->phase = 0;
	emit(o, &ev);
}

static void do_failures(struct fl_flowerlog *p, long long f, double ts, struct out *o)
{
	if (f > FL_FLOWERLOG_FAIL_MAX)
		f = FL_FLOWERLOG_FAIL_MAX;
	for (long long i = 0; i < f; i++) {
		struct fl_mevent ev;
		ev_init(&ev, FL_MEV_CLIENT_FAILURE, p, ts);
		(void)snprintf(ev.node_id, sizeof ev.node_id, "flower-log-%llu", ++p->failseq);
		(void)snprintf(ev.detail, sizeof ev.detail, "reply_error");
		emit(o, &ev);
	}
}

/* What a line that is not the awaited one settles: the pending training_start, round_start
 * and round_end are emitted first. */
static void settle(struct fl_flowerlog *p, const struct line *l, double ts, struct out *o)
{
	if (p->pending_start && l->kind != K_NROUNDS)
		do_training_start(p, ts, o);
	if (p->pending_round && l->kind != K_CONF_TRAIN)
		do_round_start(p, -1, ts, o);
	if (p->round_open && p->phase == 2 && l->kind != K_METRIC)
		do_round_end(p, NAN, NAN, ts, o);
	if (p->round_open &&
	    (l->kind == K_ROUND || l->kind == K_END || l->kind == K_START || l->kind == K_LEGACY))
		do_round_end(p, NAN, NAN, ts, o);
}

static void on_end(struct fl_flowerlog *p, const struct line *l, double ts, struct out *o)
{
	struct fl_mevent ev;
	ev_init(&ev, FL_MEV_TRAINING_END, p, ts);
	ev.round = l->a >= 0 ? l->a : p->round;
	ev.duration = l->x;
	p->ended = true;
	emit(o, &ev);
}

static void apply(struct fl_flowerlog *p, const struct line *l, double ts, struct out *o)
{
	switch (l->kind) {
	case K_START:
		(void)snprintf(p->strategy, sizeof p->strategy, "%s", l->name);
		p->num_rounds = -1;
		p->pending_start = true;
		break;
	case K_NROUNDS:
		if (p->pending_start) {
			p->num_rounds = l->a;
			do_training_start(p, ts, o);
		}
		break;
	case K_LEGACY:
		p->num_rounds = l->a;
		do_training_start(p, ts, o);
		break;
	case K_ROUND:
		p->round = l->a;
		if (l->b >= 0 && p->num_rounds < 0)
			p->num_rounds = l->b;
		/* Read from the middle (the strategy's banner missed): `[ROUND n/N]` still says N. */
		if (!p->started && l->b >= 0)
			do_training_start(p, ts, o);
		p->pending_round = true;
		break;
	case K_CONF_TRAIN:
		if (p->pending_round)
			do_round_start(p, l->a, ts, o);
		break;
	case K_AGG_TRAIN:
		p->responded = l->a;
		p->phase = 1;
		do_failures(p, l->b, ts, o);
		break;
	case K_AGG_EVAL:
		if (p->round_open)
			p->phase = 2;
		break;
	case K_METRIC:
		if (p->round_open && p->phase == 2) {
			do_round_end(p, l->x, l->y, ts, o);
		} else if (p->round_open && p->phase == 1) {
			p->train_loss = l->x;
			p->train_acc = l->y;
		}
		break;
	case K_FIT_PROG:
		if (p->round_open && l->a == p->round)
			p->train_loss = l->x;
		break;
	case K_END: on_end(p, l, ts, o); break;
	default: break;
	}
}

/* The strategy waits for SuperNodes (fewer connected than its minimum): once the wait has
 * lasted FL_FLOWERLOG_STALL_S seconds (by the lines' times, or one line a second), a
 * training_stalled event with the counts; another wait can report again. */
static void waiting(struct fl_flowerlog *p, const struct line *l, double ts, struct out *o)
{
	if (p->wait_lines++ == 0 || (isnan(p->wait_since) && !isnan(ts)))
		p->wait_since = ts;
	double waited = isnan(ts) || isnan(p->wait_since) ? (double)p->wait_lines : ts - p->wait_since;
	if (p->wait_reported || (waited < FL_FLOWERLOG_STALL_S && p->wait_lines < FL_FLOWERLOG_STALL_S))
		return;
	p->wait_reported = true;
	struct fl_mevent ev;
	ev_init(&ev, FL_MEV_TRAINING_STALLED, p, ts);
	ev.round = p->round;
	ev.waiting = waited;
	ev.connected = l->a;
	ev.min_clients = l->b;
	emit(o, &ev);
}

int fl_flowerlog_feed(struct fl_flowerlog *p, const char *line, size_t n, double ts, fl_flowerlog_emit_fn fn,
                      void *ctx)
{
	char buf[FL_FLOWERLOG_LINE_MAX + 1] = {0}; /* zeroed: the analyzer cannot follow strip_ansi */
	struct out o = {fn, ctx, 0};
	struct line l;
	if (!line)
		return 0;
	strip_ansi(line, n, buf, sizeof buf);
	classify(message(buf), &l);
	if (l.kind == K_IGNORE)
		return 0;
	if (l.kind == K_WAITING) {
		waiting(p, &l, ts, &o);
		return o.n;
	}
	p->wait_since = NAN;
	p->wait_lines = 0;
	p->wait_reported = false;
	settle(p, &l, ts, &o);
	apply(p, &l, ts, &o);
	return o.n;
}

int fl_flowerlog_flush(struct fl_flowerlog *p, double ts, fl_flowerlog_emit_fn fn, void *ctx)
{
	struct out o = {fn, ctx, 0};
	if (p->pending_start)
		do_training_start(p, ts, &o);
	if (p->pending_round)
		do_round_start(p, -1, ts, &o);
	if (p->round_open && p->phase == 2)
		do_round_end(p, NAN, NAN, ts, &o);
	return o.n;
}
