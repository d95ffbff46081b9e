/* fl_mevent: one log line to one training event, with jansson; the line is untrusted. */
#include "fl_mevent.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Counts above this are not counts (a corrupted or hostile line): the event is malformed. */
#define COUNT_MAX 1e9
#define BYTES_MAX 9007199254740992.0 /* 2^53: sizes and example counts */

static const char *const names[FL_MEV_COUNT] = {
    NULL,
    "training_start",
    "round_start",
    "round_end",
    "training_end",
    "client_join",
    "client_leave",
    "checkpoint_saved",
    "evaluation_result",
    "client_failure",
    "training_stalled",
    "gpu_detected",
    "gpu_unavailable",
};

const char *fl_mevent_name(enum fl_mevent_type t)
{
	return t > FL_MEV_NONE && t < FL_MEV_COUNT ? names[t] : NULL;
}

enum fl_mevent_type fl_mevent_lookup(const char *name)
{
	for (int t = FL_MEV_TRAINING_START; name && t < FL_MEV_COUNT; t++)
		if (strcmp(names[t], name) == 0)
			return (enum fl_mevent_type)t;
	return FL_MEV_NONE;
}

void fl_mevent_init(struct fl_mevent *ev, enum fl_mevent_type t)
{
	memset(ev, 0, sizeof *ev);
	ev->type = t;
	ev->ts = ev->loss = ev->accuracy = ev->duration = ev->waiting = NAN;
	ev->round = ev->num_rounds = ev->min_clients = ev->selected = ev->responded = ev->connected = -1;
	ev->size_bytes = ev->num_examples = -1;
}

static int digits(const char *s, int n)
{
	int v = 0;
	while (n-- > 0)
		v = v * 10 + (*s++ - '0');
	return v;
}

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" as Unix seconds; NAN otherwise. */
static double parse_ts(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	for (size_t i = 0; i < sizeof shape - 1; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return NAN;
	const char *p = s + sizeof shape - 1;
	double frac = 0, scale = 0.1;
	if (*p == '.') {
		if (!(p[1] >= '0' && p[1] <= '9'))
			return NAN;
		p++;
		for (int k = 0; *p >= '0' && *p <= '9'; p++, k++)
			if (k < 9) {
				frac += (*p - '0') * scale;
				scale /= 10;
			}
	}
	if (p[0] != 'Z' || p[1])
		return NAN;
	struct tm tm = {0};
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return NAN;
	return (double)timegm(&tm) + frac;
}

/* s truncated to size-1 bytes, not inside a UTF-8 sequence. */
static void copy_str(char *dst, size_t size, const char *s, size_t n)
{
	if (n > size - 1) {
		n = size - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = 0;
}

static void get_str(const json_t *data, const char *key, char *dst, size_t size)
{
	const json_t *v = json_object_get(data, key);
	if (json_is_string(v))
		copy_str(dst, size, json_string_value(v), json_string_length(v));
}

/* A count field: 0 absent or null or not a number (ignored), 1 set, -1 malformed (out of range
 * or not integral). */
static int get_count(const json_t *data, const char *key, double max, long long *out)
{
	const json_t *v = json_object_get(data, key);
	if (!json_is_number(v))
		return 0;
	double d = json_number_value(v);
	if (!(d >= 0 && d <= max) || d != floor(d))
		return -1;
	*out = (long long)d;
	return 1;
}

static void get_real(const json_t *data, const char *key, double *out)
{
	const json_t *v = json_object_get(data, key);
	if (json_is_number(v) && isfinite(json_number_value(v)))
		*out = json_number_value(v);
}

static void get_node(const json_t *data, struct fl_mevent *ev)
{
	const json_t *v = json_object_get(data, "node_id");
	if (json_is_string(v))
		copy_str(ev->node_id, sizeof ev->node_id, json_string_value(v), json_string_length(v));
	else if (json_is_number(v)) {
		/* Flower's ids are uint64: jansson reads them as doubles here (integers past 2^63
		 * would not parse), so one id always gives the same text. */
		double d = json_number_value(v);
		if (d == floor(d) && fabs(d) < 1e20)
			snprintf(ev->node_id, sizeof ev->node_id, "%.0f", d);
	}
}

/* The strategy is a label value: printable ASCII only, else "invalid". */
static void get_strategy(const json_t *data, struct fl_mevent *ev)
{
	get_str(data, "strategy", ev->strategy, sizeof ev->strategy);
	for (const unsigned char *p = (const unsigned char *)ev->strategy; *p; p++)
		if (*p < 0x20 || *p > 0x7e) {
			snprintf(ev->strategy, sizeof ev->strategy, "invalid");
			break;
		}
}

/* The data fields of ev->type; -1 when the event is malformed. */
static int get_data(const json_t *d, struct fl_mevent *ev)
{
	int bad = 0, r = 0;
	/* round: required for the round events, optional (but checked) for the others. */
	if (ev->type != FL_MEV_TRAINING_START && ev->type != FL_MEV_TRAINING_END)
		r = get_count(d, "round", COUNT_MAX, &ev->round);
	if (r < 0 || ((ev->type == FL_MEV_ROUND_START || ev->type == FL_MEV_ROUND_END) && r == 0))
		return -1;
	switch (ev->type) {
	case FL_MEV_TRAINING_START:
		get_strategy(d, ev);
		bad |= get_count(d, "num_rounds", COUNT_MAX, &ev->num_rounds);
		bad |= get_count(d, "min_clients", COUNT_MAX, &ev->min_clients);
		break;
	case FL_MEV_ROUND_START:
		get_strategy(d, ev);
		bad |= get_count(d, "num_clients_selected", COUNT_MAX, &ev->selected);
		break;
	case FL_MEV_ROUND_END:
		bad |= get_count(d, "num_clients_responded", COUNT_MAX, &ev->responded);
		get_real(d, "aggregated_loss", &ev->loss);
		get_real(d, "aggregated_accuracy", &ev->accuracy);
		get_real(d, "round_duration_seconds", &ev->duration);
		break;
	case FL_MEV_TRAINING_END:
		bad |= get_count(d, "total_rounds", COUNT_MAX, &ev->round);
		get_real(d, "final_loss", &ev->loss);
		get_real(d, "final_accuracy", &ev->accuracy);
		get_real(d, "total_duration_seconds", &ev->duration);
		break;
	case FL_MEV_CLIENT_JOIN: get_node(d, ev); break;
	case FL_MEV_CLIENT_LEAVE:
		get_node(d, ev);
		get_str(d, "reason", ev->detail, sizeof ev->detail);
		break;
	case FL_MEV_CHECKPOINT_SAVED: bad |= get_count(d, "size_bytes", BYTES_MAX, &ev->size_bytes); break;
	case FL_MEV_EVALUATION_RESULT:
		get_real(d, "loss", &ev->loss);
		get_real(d, "accuracy", &ev->accuracy);
		bad |= get_count(d, "num_examples", BYTES_MAX, &ev->num_examples);
		break;
	case FL_MEV_CLIENT_FAILURE:
		get_node(d, ev);
		get_str(d, "error_type", ev->detail, sizeof ev->detail);
		break;
	case FL_MEV_TRAINING_STALLED:
		get_real(d, "waiting_since_seconds", &ev->waiting);
		bad |= get_count(d, "connected_clients", COUNT_MAX, &ev->connected);
		bad |= get_count(d, "required_clients", COUNT_MAX, &ev->min_clients);
		break;
	case FL_MEV_GPU_DETECTED: get_str(d, "gpu_name", ev->detail, sizeof ev->detail); break;
	case FL_MEV_GPU_UNAVAILABLE: get_str(d, "fallback_device", ev->detail, sizeof ev->detail); break;
	default: break;
	}
	/* get_count's -1 has every bit set: one malformed count makes bad negative. */
	return bad < 0 ? -1 : 0;
}

static enum fl_mevent_skip from_object(const json_t *o, struct fl_mevent *ev)
{
	const json_t *name = json_object_get(o, "event");
	if (!name || json_is_null(name))
		return FL_MEV_NO_EVENT;
	if (!json_is_string(name))
		return FL_MEV_MALFORMED;
	enum fl_mevent_type t = fl_mevent_lookup(json_string_value(name));
	if (t == FL_MEV_NONE || strlen(json_string_value(name)) != json_string_length(name))
		return FL_MEV_UNKNOWN;
	fl_mevent_init(ev, t);
	const json_t *data = json_object_get(o, "data");
	if (data && !json_is_object(data) && !json_is_null(data))
		return FL_MEV_MALFORMED;
	if (get_data(data, ev) < 0) /* json_object_get of NULL or null is NULL: all absent */
		return FL_MEV_MALFORMED;
	const json_t *ts = json_object_get(o, "timestamp");
	if (json_is_string(ts))
		ev->ts = parse_ts(json_string_value(ts));
	const json_t *role = json_object_get(o, "role");
	if (json_is_string(role) && (strcmp(json_string_value(role), "superlink") == 0 ||
	                             strcmp(json_string_value(role), "supernode") == 0))
		snprintf(ev->role, sizeof ev->role, "%s", json_string_value(role));
	return FL_MEV_OK;
}

/* A JSON object from line[0..n), or why not. */
static enum fl_mevent_skip load(const char *line, size_t n, json_t **out)
{
	size_t i = 0;
	while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
		i++;
	if (i == n || line[i] != '{')
		return FL_MEV_NOT_JSON;
	json_error_t err;
	/* Integers as doubles: Flower's uint64 node ids overflow jansson's integers. \u0000 is
	 * allowed: a Docker envelope's log then holds the line's NUL bytes as they were, and the
	 * inner parse treats them as the bare line's parse does. */
	json_t *o = json_loadb(line, n, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &err);
	if (!o)
		return FL_MEV_MALFORMED;
	if (!json_is_object(o)) {
		json_decref(o);
		return FL_MEV_MALFORMED;
	}
	*out = o;
	return FL_MEV_OK;
}

enum fl_mevent_skip fl_mevent_parse(const char *line, size_t n, struct fl_mevent *ev)
{
	fl_mevent_init(ev, FL_MEV_NONE);
	if (n > 0 && line[n - 1] == '\n')
		n--;
	if (n > (size_t)FL_MEVENT_LINE_MAX)
		return FL_MEV_TOO_LONG;
	json_t *o = NULL;
	enum fl_mevent_skip r = load(line, n, &o);
	if (r != FL_MEV_OK)
		return r;
	const json_t *log = json_object_get(o, "log");
	json_t *inner = NULL;
	if (json_is_string(log) && !json_object_get(o, "event")) {
		/* A Docker json-file envelope: the FL line is its "log", with one newline. */
		const char *s = json_string_value(log);
		size_t len = json_string_length(log);
		if (len > 0 && s[len - 1] == '\n')
			len--;
		r = load(s, len, &inner);
		if (r == FL_MEV_OK)
			r = from_object(inner, ev);
		json_decref(inner);
		/* A line without its own timestamp: when Docker read it. */
		const json_t *dtime = json_object_get(o, "time");
		if (r == FL_MEV_OK && isnan(ev->ts) && json_is_string(dtime))
			ev->ts = parse_ts(json_string_value(dtime));
	} else
		r = from_object(o, ev);
	json_decref(o);
	if (r != FL_MEV_OK)
		fl_mevent_init(ev, FL_MEV_NONE);
	return r;
}
