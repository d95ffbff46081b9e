/* fl_mevent: one training event (design 04 §3.2) read from one log line: an FL JSON line, or
 * the same line inside a Docker json-file envelope ({"log":"<line>\n","stream":..,"time":..}).
 * The line is untrusted bytes: any key order, unknown keys, text lines, NUL bytes, invalid
 * UTF-8 and garbage are never an error, only "no event". */
#ifndef FL_MEVENT_H
#define FL_MEVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The 12 events of the taxonomy, in the spec's order. */
enum fl_mevent_type {
	FL_MEV_NONE = 0,
	FL_MEV_TRAINING_START,
	FL_MEV_ROUND_START,
	FL_MEV_ROUND_END,
	FL_MEV_TRAINING_END,
	FL_MEV_CLIENT_JOIN,
	FL_MEV_CLIENT_LEAVE,
	FL_MEV_CHECKPOINT_SAVED,
	FL_MEV_EVALUATION_RESULT,
	FL_MEV_CLIENT_FAILURE,
	FL_MEV_TRAINING_STALLED,
	FL_MEV_GPU_DETECTED,
	FL_MEV_GPU_UNAVAILABLE,
	FL_MEV_COUNT
};

/* Why a line gave no event (counted by the state as parse outcomes). */
enum fl_mevent_skip {
	FL_MEV_OK = 0,    /* an event */
	FL_MEV_NOT_JSON,  /* a text line (FL_LOG_FORMAT=text, Flower's own lines): not an error */
	FL_MEV_NO_EVENT,  /* JSON without "event" (an ordinary log line): not an error */
	FL_MEV_UNKNOWN,   /* an "event" outside the taxonomy */
	FL_MEV_MALFORMED, /* JSON that is broken, or an event whose data has wrong types */
	FL_MEV_TOO_LONG,  /* longer than FL_MEVENT_LINE_MAX (its tail was dropped by the reader) */
};

/* Lines longer than this are not events (the reader drops the rest of the line, memory stays
 * bounded). */
#define FL_MEVENT_LINE_MAX (64 * 1024)
#define FL_MEVENT_STR_MAX  64 /* strategy, node_id, error_type, reason, gpu_name: truncated */

/* Absent numbers are NAN (doubles) or -1 (counts); absent strings are "". */
struct fl_mevent {
	enum fl_mevent_type type;
	double ts;                        /* "timestamp" as Unix seconds, NAN when absent/invalid */
	char strategy[FL_MEVENT_STR_MAX]; /* training_start, round_start */
	long long round;                  /* round, total_rounds (training_end) */
	long long num_rounds;             /* training_start */
	long long min_clients;            /* training_start; required_clients (training_stalled) */
	long long selected;               /* round_start num_clients_selected */
	long long responded;              /* round_end num_clients_responded */
	long long connected;              /* training_stalled connected_clients */
	double loss, accuracy;            /* aggregated_*, final_*, evaluation loss/accuracy */
	double duration;                  /* round_duration_seconds, total_duration_seconds */
	double waiting;                   /* training_stalled waiting_since_seconds */
	long long size_bytes;             /* checkpoint_saved */
	long long num_examples;           /* evaluation_result */
	char node_id[FL_MEVENT_STR_MAX];  /* client_join/leave/failure (ids are strings or numbers) */
	char detail[FL_MEVENT_STR_MAX];   /* client_leave reason, client_failure error_type,
	                                     gpu_detected gpu_name, gpu_unavailable fallback_device */
	char role[16];                    /* "superlink" / "supernode" / "" */
};

/* Parse line[0..n) (no trailing newline needed; one is ignored). Returns FL_MEV_OK with *ev
 * filled, or why not (ev->type FL_MEV_NONE). Never allocates beyond the line's size, never
 * fails otherwise. */
enum fl_mevent_skip fl_mevent_parse(const char *line, size_t n, struct fl_mevent *ev);

/* "round_end" for FL_MEV_ROUND_END; NULL for FL_MEV_NONE or out of range. */
const char *fl_mevent_name(enum fl_mevent_type t);

/* FL_MEV_NONE when name is not one of the 12. */
enum fl_mevent_type fl_mevent_lookup(const char *name);

/* An empty event of type t (all numbers absent). */
void fl_mevent_init(struct fl_mevent *ev, enum fl_mevent_type t);

#endif
