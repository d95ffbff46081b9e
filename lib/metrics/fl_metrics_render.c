/* fl_metrics_render: the state as the Prometheus text format 0.0.4, OpenMetrics 1.0.0 or one
 * JSON object (design 04 §8.3 "Exposition", README decision 14). */
#include "fl_metrics.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const skip_names[FL_MEV_TOO_LONG + 1] = {
    NULL, "not_json", "no_event", "unknown_event", "malformed", "too_long",
};
static const char *const status_names[] = {"idle", "running", "complete", "failed"};
static const char *const le_text[FL_METRICS_NBUCKETS] = {"1.0",  "5.0",   "10.0",  "30.0",
                                                         "60.0", "120.0", "300.0", "600.0"};

#define EXTRA "flkit extra (not in the spec): "

/* The shortest text that reads back as the same double; NaN, +Inf, -Inf. */
static void add_double(struct fl_buf *b, double v)
{
	if (isnan(v)) {
		fl_buf_adds(b, "NaN");
		return;
	}
	if (isinf(v)) {
		fl_buf_adds(b, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	char s[40];
	for (int p = 15; p <= 17; p++) {
		snprintf(s, sizeof s, "%.*g", p, v);
		if (strtod(s, NULL) == v)
			break;
	}
	fl_buf_adds(b, s);
}

/* A label value: backslash, double quote and newline escaped. */
static void add_label(struct fl_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fl_buf_adds(b, "\\\\");
		else if (*s == '"')
			fl_buf_adds(b, "\\\"");
		else if (*s == '\n')
			fl_buf_adds(b, "\\n");
		else
			fl_buf_addc(b, *s);
	}
}

struct out {
	struct fl_buf *b;
	bool om; /* OpenMetrics */
	const char *strategy;
};

/* HELP and TYPE. A counter's family is name without _total in OpenMetrics, name with it in
 * the text format (prometheus_client's forms). */
static void family(const struct out *o, const char *name, const char *type, const char *help)
{
	size_t n = strlen(name);
	if (o->om && strcmp(type, "counter") == 0 && n > 6 && strcmp(name + n - 6, "_total") == 0)
		n -= 6;
	fl_buf_addf(o->b, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)n, name, help, (int)n, name, type);
}

static void sample(const struct out *o, const char *name, bool strategy, double v)
{
	fl_buf_adds(o->b, name);
	if (strategy) {
		fl_buf_adds(o->b, "{strategy=\"");
		add_label(o->b, o->strategy);
		fl_buf_adds(o->b, "\"}");
	}
	fl_buf_addc(o->b, ' ');
	add_double(o->b, v);
	fl_buf_addc(o->b, '\n');
}

static void counter(const struct out *o, const char *name, const char *help, uint64_t v)
{
	family(o, name, "counter", help);
	fl_buf_addf(o->b, "%s %" PRIu64 "\n", name, v);
}

static void gauge(const struct out *o, const char *name, const char *help, bool labeled, bool have, double v)
{
	family(o, name, "gauge", help);
	if (have)
		sample(o, name, labeled, v);
}

static void histogram(const struct out *o, const struct fl_metrics *m)
{
	family(o, "fl_round_duration_seconds", "histogram", "Duration of training rounds");
	if (!m->have_hist)
		return;
	uint64_t cum = 0;
	for (int i = 0; i <= FL_METRICS_NBUCKETS; i++) {
		cum = i < FL_METRICS_NBUCKETS ? cum + m->bucket[i] : m->hist_count;
		fl_buf_adds(o->b, "fl_round_duration_seconds_bucket{strategy=\"");
		add_label(o->b, o->strategy);
		fl_buf_addf(o->b, "\",le=\"%s\"} %" PRIu64 "\n",
		            i < FL_METRICS_NBUCKETS ? le_text[i] : "+Inf", cum);
	}
	fl_buf_adds(o->b, "fl_round_duration_seconds_count{strategy=\"");
	add_label(o->b, o->strategy);
	fl_buf_addf(o->b, "\"} %" PRIu64 "\n", m->hist_count);
	sample(o, "fl_round_duration_seconds_sum", true, m->hist_sum);
}

static void extras(const struct out *o, const struct fl_metrics *m)
{
	family(o, "fl_metrics_events_total", "counter", EXTRA "events read, by event");
	for (int t = FL_MEV_TRAINING_START; t < FL_MEV_COUNT; t++)
		fl_buf_addf(o->b, "fl_metrics_events_total{event=\"%s\"} %" PRIu64 "\n",
		            fl_mevent_name((enum fl_mevent_type)t), m->events[t]);
	family(o, "fl_metrics_lines_skipped_total", "counter", EXTRA "lines that gave no event, by reason");
	for (int r = FL_MEV_NOT_JSON; r <= FL_MEV_TOO_LONG; r++)
		fl_buf_addf(o->b, "fl_metrics_lines_skipped_total{reason=\"%s\"} %" PRIu64 "\n",
		            skip_names[r], m->skipped[r]);
	counter(o, "fl_metrics_lines_total", EXTRA "log lines read", m->lines);
	counter(o, "fl_metrics_events_duplicate_total",
	        EXTRA "events read a second time through another source", m->duplicates);
	gauge(o, "fl_metrics_last_event_timestamp_seconds", EXTRA "when the last event happened (Unix time)",
	      false, !isnan(m->last_event_ts), m->last_event_ts);
	gauge(o, "fl_clients_registered", EXTRA "SuperNodes registered in the state database", false,
	      m->clients_registered >= 0, (double)m->clients_registered);
	gauge(o, "fl_clients_min", EXTRA "clients a round needs (min_clients)", false, m->min_clients >= 0,
	      (double)m->min_clients);
	gauge(o, "fl_training_stalled", EXTRA "1 while the current round is stalled (training_stalled)",
	      false, true, m->stalled);
}

static void exposition(const struct out *o, const struct fl_metrics *m)
{
	gauge(o, "fl_round_current", "Current training round number", true, m->have_round_current,
	      m->round_current);
	gauge(o, "fl_round_total", "Total configured training rounds", true, m->have_round_total,
	      m->round_total);
	histogram(o, m);
	gauge(o, "fl_aggregated_loss", "Aggregated loss after latest round", true, m->have_loss, m->loss);
	gauge(o, "fl_aggregated_accuracy", "Aggregated accuracy after latest round", true, m->have_accuracy,
	      m->accuracy);
	gauge(o, "fl_clients_connected", "Number of connected SuperNodes", false, true, m->clients_connected);
	gauge(o, "fl_clients_selected", "Clients selected for current round", false, true,
	      m->clients_selected);
	gauge(o, "fl_clients_responded", "Clients that responded in current round", false, true,
	      m->clients_responded);
	counter(o, "fl_clients_failed_total", "Total client failures", m->clients_failed);
	counter(o, "fl_checkpoint_saved_total", "Total checkpoints saved", m->checkpoints_saved);
	gauge(o, "fl_training_status", "Training status: 0=idle, 1=running, 2=complete, 3=failed", false,
	      true, m->status);
	extras(o, m);
	if (o->om)
		fl_buf_adds(o->b, "# EOF\n");
}

/* A number, or null for NaN/infinite (JSON has neither). */
static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jcount(long long v)
{
	return v >= 0 ? json_integer(v) : json_null();
}

static json_t *json_history(const struct fl_metrics *m)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < m->hist_len; i++) {
		const struct fl_metrics_round *r = fl_metrics_history(m, i);
		json_array_append_new(
		    a, json_pack("{sI so so so so so sI so}", "round", (json_int_t)r->round, "loss",
		                 jnum(r->loss), "accuracy", jnum(r->accuracy), "duration", jnum(r->duration),
		                 "selected", jcount(r->selected), "responded", jcount(r->responded), "failed",
		                 (json_int_t)r->failed, "end_timestamp", jnum(r->end_ts)));
	}
	return a;
}

static json_t *json_counts(const struct fl_metrics *m)
{
	json_t *ev = json_object(), *sk = json_object(), *buckets = json_array();
	for (int t = FL_MEV_TRAINING_START; t < FL_MEV_COUNT; t++)
		json_object_set_new(ev, fl_mevent_name((enum fl_mevent_type)t),
		                    json_integer((json_int_t)m->events[t]));
	for (int r = FL_MEV_NOT_JSON; r <= FL_MEV_TOO_LONG; r++)
		json_object_set_new(sk, skip_names[r], json_integer((json_int_t)m->skipped[r]));
	uint64_t cum = 0;
	for (int i = 0; i < FL_METRICS_NBUCKETS; i++) {
		cum += m->bucket[i];
		json_array_append_new(
		    buckets, json_pack("{sf sI}", "le", fl_metrics_buckets[i], "count", (json_int_t)cum));
	}
	return json_pack("{so so s{so so sI}}", "events", ev, "skipped", sk, "round_duration", "buckets",
	                 buckets, "sum", jnum(m->hist_sum), "count", (json_int_t)m->hist_count);
}

static void render_json(const struct fl_metrics *m, struct fl_buf *out)
{
	json_t *o = json_pack(
	    "{ss ss si so so so so sf sf sf sI sI so so sb sI so}", "strategy", m->strategy, "status",
	    status_names[m->status & 3], "status_code", (int)m->status, "round_current",
	    m->have_round_current ? jnum(m->round_current) : json_null(), "round_total",
	    m->have_round_total ? jnum(m->round_total) : json_null(), "loss",
	    m->have_loss ? jnum(m->loss) : json_null(), "accuracy",
	    m->have_accuracy ? jnum(m->accuracy) : json_null(), "clients_connected", m->clients_connected,
	    "clients_selected", m->clients_selected, "clients_responded", m->clients_responded,
	    "clients_failed", (json_int_t)m->clients_failed, "checkpoints_saved",
	    (json_int_t)m->checkpoints_saved, "clients_registered", jcount(m->clients_registered),
	    "min_clients", jcount(m->min_clients), "stalled", m->stalled, "lines", (json_int_t)m->lines,
	    "last_event_timestamp", jnum(m->last_event_ts));
	json_t *counts = json_counts(m);
	json_object_update(o, counts);
	json_decref(counts);
	json_object_set_new(o, "history", json_history(m));
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		abort(); /* jansson fails only when it cannot allocate */
	fl_buf_adds(out, s);
	fl_buf_addc(out, '\n');
	free(s);
}

void fl_metrics_render(const struct fl_metrics *m, enum fl_metrics_format f, struct fl_buf *out)
{
	if (f == FL_METRICS_JSON) {
		render_json(m, out);
		return;
	}
	struct out o = {out, f == FL_METRICS_OPENMETRICS, m->strategy};
	exposition(&o, m);
}
