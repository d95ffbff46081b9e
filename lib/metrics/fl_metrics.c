/* fl_metrics: the training state, changed only by events (design 04 §8.3 mapping) and by the
 * state database's absolute values. */
#include "fl_metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const double fl_metrics_buckets[FL_METRICS_NBUCKETS] = {1, 5, 10, 30, 60, 120, 300, 600};

void fl_metrics_init(struct fl_metrics *m, const char *strategy)
{
	memset(m, 0, sizeof *m);
	snprintf(m->strategy, sizeof m->strategy, "%s", strategy && *strategy ? strategy : "FedAvg");
	m->round_current = m->round_total = m->loss = m->accuracy = NAN;
	m->last_event_ts = NAN;
	m->clients_registered = m->min_clients = -1;
}

/* Node ids: FNV-1a, 0 kept for "empty slot". */
static uint64_t node_hash(const char *id)
{
	uint64_t h = 14695981039346656037ULL;
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h ? h : 1;
}

/* The slot of h (linear probing), or the empty slot where it would go. */
static unsigned node_slot(const struct fl_metrics *m, uint64_t h)
{
	unsigned i = (unsigned)(h % FL_METRICS_NODES_MAX);
	while (m->node[i] && m->node[i] != h)
		i = (i + 1) % FL_METRICS_NODES_MAX;
	return i;
}

static void node_join(struct fl_metrics *m, const char *id)
{
	uint64_t h = node_hash(id);
	unsigned i = node_slot(m, h);
	/* One slot stays empty so that a probe always ends. */
	if (m->node[i] || m->nnodes == FL_METRICS_NODES_MAX - 1)
		return;
	m->node[i] = h;
	m->nnodes++;
}

static void node_leave(struct fl_metrics *m, const char *id)
{
	unsigned i = node_slot(m, node_hash(id));
	if (!m->node[i])
		return;
	m->node[i] = 0;
	m->nnodes--;
	/* Backward-shift deletion: move up the entries whose probe passed the hole. */
	for (unsigned j = (i + 1) % FL_METRICS_NODES_MAX; m->node[j]; j = (j + 1) % FL_METRICS_NODES_MAX) {
		unsigned home = (unsigned)(m->node[j] % FL_METRICS_NODES_MAX);
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!between) {
			m->node[i] = m->node[j];
			m->node[j] = 0;
			i = j;
		}
	}
}

const struct fl_metrics_round *fl_metrics_history(const struct fl_metrics *m, unsigned i)
{
	return i < m->hist_len ? &m->history[(m->hist_head + i) % FL_METRICS_HISTORY] : NULL;
}

/* The history entry of round r: the existing one, else a new newest one (the oldest goes). */
static struct fl_metrics_round *round_entry(struct fl_metrics *m, long long r)
{
	for (unsigned i = m->hist_len; i-- > 0;) {
		struct fl_metrics_round *e = &m->history[(m->hist_head + i) % FL_METRICS_HISTORY];
		if (e->round == r)
			return e;
	}
	struct fl_metrics_round *e;
	if (m->hist_len < FL_METRICS_HISTORY)
		e = &m->history[(m->hist_head + m->hist_len++) % FL_METRICS_HISTORY];
	else {
		e = &m->history[m->hist_head];
		m->hist_head = (m->hist_head + 1) % FL_METRICS_HISTORY;
	}
	*e = (struct fl_metrics_round){r, NAN, NAN, NAN, -1, -1, 0, NAN};
	return e;
}

static void set_status(struct fl_metrics *m, enum fl_metrics_status st)
{
	if (!m->mark_failed && m->status_origin != FL_MOR_DB) {
		m->status = st;
		m->status_origin = FL_MOR_EVENTS;
	}
}

static void set_round(struct fl_metrics *m, long long r)
{
	m->round_current = (double)r;
	m->have_round_current = true;
}

static void training_start(struct fl_metrics *m, const struct fl_mevent *ev)
{
	/* A training_start begins a run: what described the last one goes (the counters and the
	 * histogram are cumulative and stay). */
	m->have_round_current = m->have_loss = m->have_accuracy = false;
	m->round_current = m->loss = m->accuracy = NAN;
	m->clients_selected = m->clients_responded = 0;
	m->stalled = false;
	m->hist_len = m->hist_head = 0;
	set_status(m, FL_MST_RUNNING);
	if (ev->num_rounds >= 0) {
		m->round_total = (double)ev->num_rounds;
		m->have_round_total = true;
	}
	if (ev->min_clients >= 0)
		m->min_clients = ev->min_clients;
}

static void round_end(struct fl_metrics *m, const struct fl_mevent *ev, double now)
{
	struct fl_metrics_round *e = round_entry(m, ev->round);
	set_round(m, ev->round);
	m->stalled = false;
	if (ev->responded >= 0)
		m->clients_responded = (double)(e->responded = ev->responded);
	if (!isnan(ev->loss)) {
		m->loss = e->loss = ev->loss;
		m->have_loss = true;
	}
	if (!isnan(ev->accuracy)) {
		m->accuracy = e->accuracy = ev->accuracy;
		m->have_accuracy = true;
	}
	if (!isnan(ev->duration)) {
		e->duration = ev->duration;
		unsigned b = 0;
		while (b < FL_METRICS_NBUCKETS && ev->duration > fl_metrics_buckets[b])
			b++;
		if (b < FL_METRICS_NBUCKETS)
			m->bucket[b]++;
		m->hist_sum += ev->duration;
		m->hist_count++;
		m->have_hist = true;
	}
	e->end_ts = isnan(ev->ts) ? now : ev->ts;
}

static void training_end(struct fl_metrics *m, const struct fl_mevent *ev)
{
	set_status(m, FL_MST_COMPLETE);
	if (!isnan(ev->loss)) {
		m->loss = ev->loss;
		m->have_loss = true;
	}
	if (!isnan(ev->accuracy)) {
		m->accuracy = ev->accuracy;
		m->have_accuracy = true;
	}
	if (ev->round >= 0)
		set_round(m, ev->round);
	m->stalled = false;
}

static void evaluation(struct fl_metrics *m, const struct fl_mevent *ev)
{
	if (ev->round < 0)
		return;
	struct fl_metrics_round *e = round_entry(m, ev->round);
	if (isnan(e->loss))
		e->loss = ev->loss;
	if (isnan(e->accuracy))
		e->accuracy = ev->accuracy;
}

static void clients(struct fl_metrics *m, const struct fl_mevent *ev)
{
	/* An event without a node id cannot be told from another: it changes nothing. */
	if (!ev->node_id[0])
		return;
	if (ev->type == FL_MEV_CLIENT_JOIN)
		node_join(m, ev->node_id);
	else
		node_leave(m, ev->node_id);
	if (m->connected_origin != FL_MOR_DB) {
		m->clients_connected = m->nnodes;
		m->connected_origin = FL_MOR_EVENTS;
	}
}

void fl_metrics_apply(struct fl_metrics *m, const struct fl_mevent *ev, double now)
{
	if (ev->type <= FL_MEV_NONE || ev->type >= FL_MEV_COUNT)
		return;
	m->events[ev->type]++;
	m->last_event_ts = isnan(ev->ts) ? now : ev->ts;
	if (ev->strategy[0])
		snprintf(m->strategy, sizeof m->strategy, "%s", ev->strategy);
	switch (ev->type) {
	case FL_MEV_TRAINING_START: training_start(m, ev); break;
	case FL_MEV_ROUND_START:
		if (!m->have_round_current || m->round_current != (double)ev->round)
			m->stalled = false;
		set_round(m, ev->round);
		if (ev->selected >= 0)
			m->clients_selected = (double)(round_entry(m, ev->round)->selected = ev->selected);
		break;
	case FL_MEV_ROUND_END: round_end(m, ev, now); break;
	case FL_MEV_TRAINING_END: training_end(m, ev); break;
	case FL_MEV_CLIENT_JOIN:
	case FL_MEV_CLIENT_LEAVE: clients(m, ev); break;
	case FL_MEV_CLIENT_FAILURE:
		m->clients_failed++;
		if (ev->round >= 0)
			round_entry(m, ev->round)->failed++;
		break;
	case FL_MEV_CHECKPOINT_SAVED: m->checkpoints_saved++; break;
	case FL_MEV_EVALUATION_RESULT: evaluation(m, ev); break;
	case FL_MEV_TRAINING_STALLED:
		m->stalled = true;
		if (ev->min_clients >= 0)
			m->min_clients = ev->min_clients;
		break;
	default: break; /* gpu_*: counted only */
	}
}

/* FNV-1a steps: a number's 8 bytes, a string and its end. */
static uint64_t mix(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		h = (h ^ (v & 0xff)) * 1099511628211ULL;
	return h;
}

static uint64_t mix_real(uint64_t h, double d)
{
	uint64_t v;
	memcpy(&v, &d, sizeof v);
	return mix(h, v);
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

/* What makes an event this event: its type, time and data (0 stays "empty slot"). */
static uint64_t event_hash(const struct fl_mevent *ev)
{
	const long long ints[] = {ev->type,      ev->round,     ev->num_rounds, ev->min_clients, ev->selected,
	                          ev->responded, ev->connected, ev->size_bytes, ev->num_examples};
	const double reals[] = {ev->ts, ev->loss, ev->accuracy, ev->duration, ev->waiting};
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
		h = mix(h, (uint64_t)ints[i]);
	for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
		h = mix_real(h, reals[i]);
	h = mix_str(mix_str(mix_str(h, ev->strategy), ev->node_id), ev->detail);
	return h ? h : 1;
}

/* Seen among the last FL_METRICS_SEEN timestamped events (remembered if not). Events without
 * a time cannot be told apart from a repeat and always count. */
static bool duplicate(struct fl_metrics *m, const struct fl_mevent *ev)
{
	if (isnan(ev->ts))
		return false;
	uint64_t h = event_hash(ev);
	for (unsigned i = 0; i < FL_METRICS_SEEN; i++)
		if (m->seen[i] == h)
			return true;
	m->seen[m->seen_head] = h;
	m->seen_head = (m->seen_head + 1) % FL_METRICS_SEEN;
	return false;
}

enum fl_mevent_skip fl_metrics_feed(struct fl_metrics *m, const char *line, size_t n, double now)
{
	struct fl_mevent ev = {0};
	enum fl_mevent_skip r = fl_mevent_parse(line, n, &ev);
	m->lines++;
	if (r != FL_MEV_OK)
		m->skipped[r]++;
	else if (duplicate(m, &ev))
		m->duplicates++;
	else
		fl_metrics_apply(m, &ev, now);
	return r;
}

void fl_metrics_set_connected(struct fl_metrics *m, long long online, long long registered)
{
	m->clients_connected = online < 0 ? 0 : (double)online;
	m->connected_origin = FL_MOR_DB;
	m->clients_registered = registered;
}

void fl_metrics_set_status(struct fl_metrics *m, enum fl_metrics_status st)
{
	m->status_origin = FL_MOR_DB;
	if (!m->mark_failed)
		m->status = st;
}

const char *fl_metrics_content_type(enum fl_metrics_format f)
{
	switch (f) {
	case FL_METRICS_OPENMETRICS: return "application/openmetrics-text; version=1.0.0; charset=utf-8";
	case FL_METRICS_JSON: return "application/json";
	default: return "text/plain; version=0.0.4; charset=utf-8";
	}
}

/* One media range of an Accept header, [p, end): does it ask for OpenMetrics with q > 0? */
static bool wants_openmetrics(const char *p, const char *end)
{
	static const char om[] = "application/openmetrics-text";
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	size_t n = sizeof om - 1;
	if ((size_t)(end - p) < n || strncasecmp(p, om, n) != 0)
		return false;
	p += n;
	if (p < end && *p != ';' && *p != ' ' && *p != '\t')
		return false;
	double q = 1;
	for (const char *s = p; s < end; s++) {
		if (*s != ';')
			continue;
		const char *v = s + 1;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if (end - v >= 2 && (v[0] == 'q' || v[0] == 'Q') && v[1] == '=') {
			char num[16] = "";
			size_t k = 0;
			for (v += 2; v < end && k < sizeof num - 1 && *v != ';' && *v != ' '; v++)
				num[k++] = *v;
			char *e;
			q = strtod(num, &e);
			if (e == num || *e)
				q = 0;
		}
	}
	return q > 0;
}

enum fl_metrics_format fl_metrics_negotiate(const char *accept)
{
	for (const char *p = accept; p && *p;) {
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		if (wants_openmetrics(p, end))
			return FL_METRICS_OPENMETRICS;
		p = *end ? end + 1 : end;
	}
	return FL_METRICS_PROM;
}
