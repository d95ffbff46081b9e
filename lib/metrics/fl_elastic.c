/* fl_elastic: the publisher's decisions: the node's state from its output, what to PUT when,
 * and which failures to log. */
#include "fl_elastic.h"

#include "fl_logscan.h"

#include <stdio.h>
#include <string.h>

static const char *const names[FL_ELASTIC_NATTR] = {"FL_CLIENT_STATUS", "FL_TRAINING_ACTIVE",
                                                    "FL_ROUND_NUMBER"};

const char *fl_elastic_attr_name(enum fl_elastic_attr a)
{
	return a < FL_ELASTIC_NATTR ? names[a] : "";
}

static const char *find(const char *s, size_t n, const char *what)
{
	return memmem(s, n, what, strlen(what));
}

/* A decimal at p (before end), at most 9 digits: >= 0, or -1 when there is none. */
static long number(const char *p, const char *end)
{
	long v = 0;
	int k = 0;
	while (p < end && *p >= '0' && *p <= '9' && k < 9)
		v = v * 10 + (*p++ - '0'), k++;
	return k ? v : -1;
}

/* "[RUN <digits>, ROUND <digits>]": the round, or -1. */
static long round_of(const char *s, size_t n)
{
	const char *end = s + n, *p = find(s, n, "[RUN ");
	if (!p)
		return -1;
	p += 5;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	static const char sep[] = ", ROUND ";
	if ((size_t)(end - p) < sizeof sep - 1 || memcmp(p, sep, sizeof sep - 1) != 0)
		return -1;
	return number(p + sizeof sep - 1, end);
}

/* A message of these types occupies the node: a reply follows. */
static bool work_message(const char *s, size_t n)
{
	return find(s, n, "train message") || find(s, n, "evaluate message");
}

void fl_elastic_node_line(struct fl_elastic_node *n, const char *s, size_t len)
{
	long r;
	if (find(s, len, FL_LOGSCAN_START) || find(s, len, "SuperNode terminated")) {
		n->registered = false;
		n->in_flight = false;
		return;
	}
	if (fl_logscan_last(s, len) == FL_LOGSCAN_REGISTERED) {
		n->registered = true;
		return;
	}
	if ((r = round_of(s, len)) >= 0)
		n->round = r;
	if ((find(s, len, "Receiving: ") || find(s, len, "Received: ")) && work_message(s, len)) {
		n->in_flight = true;
		n->msg_round = n->round;
	} else if (find(s, len, "Sent successfully")) {
		if (n->in_flight && n->msg_round > n->last_round)
			n->last_round = n->msg_round;
		n->in_flight = false;
	} else if (find(s, len, "Failed to receive message") || find(s, len, "is not in `RUNNING` status")) {
		/* Pulling failed, or the run is over: nothing is being worked on. */
		n->in_flight = false;
	}
}

enum fl_elastic_status fl_elastic_node_status(const struct fl_elastic_node *n, bool running)
{
	if (!running || !n->registered)
		return FL_ELASTIC_DISCONNECTED;
	return n->in_flight ? FL_ELASTIC_TRAINING : FL_ELASTIC_IDLE;
}

void fl_elastic_init(struct fl_elastic *el, const struct fl_elastic_opts *o)
{
	memset(el, 0, sizeof *el);
	el->o = *o;
	if (el->o.burst == 0)
		el->o.burst = 1;
}

void fl_elastic_observe(struct fl_elastic *el, enum fl_elastic_status status, long last_round)
{
	el->value[FL_ELASTIC_STATUS] = status;
	el->value[FL_ELASTIC_ACTIVE] = status == FL_ELASTIC_TRAINING;
	el->known[FL_ELASTIC_STATUS] = el->known[FL_ELASTIC_ACTIVE] = true;
	if (last_round > 0) {
		el->value[FL_ELASTIC_ROUND] = last_round;
		el->known[FL_ELASTIC_ROUND] = true;
	}
}

static bool due(const struct fl_elastic *el, int a)
{
	return el->known[a] && (!el->sent_ok[a] || el->sent[a] != el->value[a] || el->refresh[a]);
}

int fl_elastic_next(struct fl_elastic *el, uint64_t now, long *value, uint64_t *wait_ms)
{
	if (!el->started) {
		el->started = true;
		el->next_refresh = now + el->o.interval_ms;
		el->tat = now;
	}
	if (now >= el->next_refresh) {
		for (int a = 0; a < FL_ELASTIC_NATTR; a++)
			el->refresh[a] = el->known[a];
		el->next_refresh = now + el->o.interval_ms;
	}
	*wait_ms = el->next_refresh - now;
	int a = 0;
	while (a < FL_ELASTIC_NATTR && !due(el, a))
		a++;
	if (a == FL_ELASTIC_NATTR)
		return -1;
	if (now < el->hold_until) {
		*wait_ms = el->hold_until - now;
		return -1;
	}
	/* GCRA: a request conforms when tat is at most (burst - 1) gaps ahead of now. */
	uint64_t limit = now + (uint64_t)(el->o.burst - 1) * el->o.gap_ms;
	if (el->tat > limit) {
		*wait_ms = el->tat - limit;
		return -1;
	}
	*value = el->value[a];
	*wait_ms = 0;
	return a;
}

void fl_elastic_sent(struct fl_elastic *el, int a, long value, enum fl_elastic_outcome out, uint64_t now)
{
	el->requests++;
	el->tat = (el->tat > now ? el->tat : now) + el->o.gap_ms;
	if (a < 0 || a >= FL_ELASTIC_NATTR)
		return;
	if (out == FL_ELASTIC_OK) {
		el->sent[a] = value;
		el->sent_ok[a] = true;
		el->refresh[a] = false;
		return;
	}
	el->hold_until = now + (out == FL_ELASTIC_DENIED ? el->o.interval_ms : el->o.retry_ms);
}

void fl_elastic_format(int a, long value, char *out, size_t n)
{
	snprintf(out, n, "%s=%ld", a >= 0 && a < FL_ELASTIC_NATTR ? names[a] : "", value);
}

enum fl_elastic_say fl_elastic_warn_fail(struct fl_elastic_warn *w, const char *reason, uint64_t now)
{
	if (!w->reason[0] || strncmp(w->reason, reason, sizeof w->reason - 1) != 0) {
		bool was_failing = w->reason[0] != '\0';
		snprintf(w->reason, sizeof w->reason, "%s", reason[0] ? reason : "?");
		if (!was_failing)
			w->since = now;
		w->last_log = now;
		w->repeats = 0;
		return FL_ELASTIC_NEW;
	}
	w->repeats++;
	if (now - w->last_log < w->every_ms)
		return FL_ELASTIC_QUIET;
	w->last_log = now;
	w->said = w->repeats;
	w->repeats = 0;
	return FL_ELASTIC_STILL;
}

enum fl_elastic_say fl_elastic_warn_ok(struct fl_elastic_warn *w)
{
	if (!w->reason[0])
		return FL_ELASTIC_QUIET;
	w->reason[0] = '\0';
	w->repeats = 0;
	return FL_ELASTIC_RECOVER;
}
