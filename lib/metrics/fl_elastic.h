/* fl_elastic: the decisions of the OneGate elasticity publisher (design 04 §5.3, §8.3), with
 * no OneGate and no clock of its own: what a SuperNode's output says about the node, and which
 * attribute to PUT when (the initial state, changes, the periodic refresh, a bounded rate,
 * holding off after a failure), and which failures to log. The caller passes the time. */
#ifndef FL_ELASTIC_H
#define FL_ELASTIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* FL_CLIENT_STATUS: averaged over a role by OneFlow, so DISCONNECTED is the lowest value. */
enum fl_elastic_status {
	FL_ELASTIC_DISCONNECTED = 0, /* not running, or not registered since its last start */
	FL_ELASTIC_IDLE = 1,         /* registered, no message in flight */
	FL_ELASTIC_TRAINING = 2,     /* a train or evaluate message received, its reply not sent */
};

/* The attributes, in the order they are published. */
enum fl_elastic_attr {
	FL_ELASTIC_STATUS, /* FL_CLIENT_STATUS 0/1/2 */
	FL_ELASTIC_ACTIVE, /* FL_TRAINING_ACTIVE 1/0 */
	FL_ELASTIC_ROUND,  /* FL_ROUND_NUMBER: the last round this node sent a reply in */
	FL_ELASTIC_NATTR,
};

const char *fl_elastic_attr_name(enum fl_elastic_attr a);

/* What the SuperNode's output said so far (design 07 §5.4), one line at a time. */
struct fl_elastic_node {
	bool registered; /* "SuperNode ID: <digit>" since the last "Starting Flower SuperNode" */
	bool in_flight;  /* "Receiving:"/"Received:" train or evaluate, no "Sent successfully" yet */
	long round;      /* of the last "[RUN r, ROUND n]" line; 0: none yet */
	long msg_round;  /* the round of the message in flight */
	long last_round; /* the last round a reply was sent in; 0: none */
};

/* Apply one line of output (Flower's text, colours and all; not a Docker envelope: unwrap it
 * first). Lines that say nothing known are ignored; bytes are data (no NUL needed). */
void fl_elastic_node_line(struct fl_elastic_node *n, const char *line, size_t len);

/* The status of a node whose container or process is (running) or is not running. */
enum fl_elastic_status fl_elastic_node_status(const struct fl_elastic_node *n, bool running);

struct fl_elastic_opts {
	uint64_t interval_ms; /* the periodic refresh of every known attribute */
	uint64_t gap_ms;      /* sustained rate: at most one request per gap_ms */
	unsigned burst;       /* requests allowed back to back before the gap applies (>= 1) */
	uint64_t retry_ms;    /* after a failure, nothing is sent for this long */
};

struct fl_elastic {
	struct fl_elastic_opts o;
	long value[FL_ELASTIC_NATTR]; /* the current value */
	bool known[FL_ELASTIC_NATTR]; /* a value to publish (the round: once one is known) */
	long sent[FL_ELASTIC_NATTR];  /* the value OneGate last accepted */
	bool sent_ok[FL_ELASTIC_NATTR];
	bool refresh[FL_ELASTIC_NATTR]; /* due for the periodic refresh */
	bool started;
	uint64_t next_refresh; /* when the next refresh starts */
	uint64_t hold_until;   /* no request before (after a failure) */
	uint64_t tat;          /* the rate bound (GCRA): the theoretical arrival time */
	unsigned requests;     /* sent so far */
};

void fl_elastic_init(struct fl_elastic *el, const struct fl_elastic_opts *o);

/* The node's state now: the three values (the round only when one is known). */
void fl_elastic_observe(struct fl_elastic *el, enum fl_elastic_status status, long last_round);

/* The attribute to PUT now (its current value in *value), or -1 when none may go now; then
 * *wait_ms is how long until one may be due (a change may come sooner). Values are read when
 * they are sent, so a value that flapped while the rate held it back goes once, as it ends. */
int fl_elastic_next(struct fl_elastic *el, uint64_t now, long *value, uint64_t *wait_ms);

enum fl_elastic_outcome {
	FL_ELASTIC_OK,     /* OneGate took it */
	FL_ELASTIC_FAILED, /* retry after retry_ms */
	FL_ELASTIC_DENIED, /* 401/403: the token may be replaced; retry after interval_ms */
};

/* The PUT of attribute a with value went out at now and ended so. */
void fl_elastic_sent(struct fl_elastic *el, int a, long value, enum fl_elastic_outcome out, uint64_t now);

/* "FL_CLIENT_STATUS=2": the data of one PUT. */
void fl_elastic_format(int a, long value, char *out, size_t n);

/* Which failures to log: each distinct reason once, then a summary at most every every_ms. */
struct fl_elastic_warn {
	char reason[256];  /* the last reason logged in full; "" when not failing */
	uint64_t since;    /* when that failure started */
	uint64_t last_log; /* when a line was last logged */
	unsigned repeats;  /* failures since the last line */
	unsigned said;     /* FL_ELASTIC_STILL: the failures that line stands for */
	uint64_t every_ms;
};

enum fl_elastic_say {
	FL_ELASTIC_QUIET,   /* logged already: say nothing */
	FL_ELASTIC_NEW,     /* a new reason: log it in full */
	FL_ELASTIC_STILL,   /* the same reason, every_ms later: log "still failing" (repeats) */
	FL_ELASTIC_RECOVER, /* (fl_elastic_warn_ok) the first success after failures */
};

enum fl_elastic_say fl_elastic_warn_fail(struct fl_elastic_warn *w, const char *reason, uint64_t now);
enum fl_elastic_say fl_elastic_warn_ok(struct fl_elastic_warn *w);

#endif
