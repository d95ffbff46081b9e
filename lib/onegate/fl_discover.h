/* fl_discover: where the SuperLink is (static address or OneGate) on one of three retry
 * schedules, and a SuperNode's data partition from its place in the service (01 §3.1,
 * 02 §2.2 and §4.3, 04 §4.3, design decision 8). */
#ifndef FL_DISCOVER_H
#define FL_DISCOVER_H

#include "fl_buf.h"
#include "fl_ctx.h"
#include "fl_err.h"
#include "fl_onegate.h"

#include <stdbool.h>
#include <stdint.h>

enum fl_discover_schedule {
	FL_DISCOVER_FAST,        /* 0.5 s doubling to 2 s, jittered, 5 minute deadline (default) */
	FL_DISCOVER_FIXED,       /* the spec's 30 attempts 10 s apart */
	FL_DISCOVER_EXPONENTIAL, /* edge: 10 s doubling to FL_EDGE_MAX_BACKOFF, no limit */
};

#define FL_DISCOVER_FAST_INTERVAL 500
#define FL_DISCOVER_FAST_MAX      2000
#define FL_DISCOVER_FAST_DEADLINE 300000
#define FL_DISCOVER_FAST_JITTER   0.25
#define FL_DISCOVER_SERVICE_RATE  500 /* requests/s a whole service may send while waiting */
#define FL_DISCOVER_SPEC_INTERVAL 10000
#define FL_DISCOVER_SPEC_ATTEMPTS 30
#define FL_DISCOVER_EDGE_MAX      300000
#define FL_DISCOVER_REFRESH       30000 /* re-read /service at least this often */

struct fl_discover_opts {
	const char *static_address; /* FL_SUPERLINK_ADDRESS: non-empty means no OneGate at all */
	const char *role;           /* the SuperLink role; NULL: "superlink" */
	enum fl_discover_schedule schedule;
	uint64_t interval_ms;     /* first delay; 0: the schedule's */
	uint64_t max_interval_ms; /* cap of one delay; 0: the schedule's */
	unsigned attempts;        /* 0: 30 (fixed) or unlimited */
	uint64_t deadline_ms;     /* 0: 5 minutes (fast) or none */
	unsigned service_rate;    /* fast: request budget of the whole service; 0: 500/s */
	bool extended;            /* poll GET /service?extended=true instead of GET /vms/<id> */
	bool no_precheck;
};

struct fl_superlink {
	char endpoint[280]; /* host:port, checked */
	char tls[4];        /* "YES", "NO" or "" */
	char *ca_cert;      /* base64 PEM, checked; NULL when not published */
	char version[32];   /* X.Y.Z or "" */
	long vmid;          /* the SuperLink VM; -1 for a static address */
	unsigned attempts;
	bool is_static;
};

/* The decision order of 01 §3.1: static address, else OneGate (precheck, then polling until a
 * SuperLink VM has FL_READY=YES and a valid FL_ENDPOINT). Logs the spec's lines. 0 found;
 * -1 with e: FL_EXIT_UNAVAILABLE (no OneGate, or unreachable at the precheck), FL_EXIT_FAIL
 * (OneGate refused: token, not in a service), FL_EXIT_TIMEOUT (the schedule ran out). */
int fl_discover_superlink(const struct fl_onegate_opts *go, const struct fl_discover_opts *o,
                          struct fl_superlink *sl, struct fl_err *e);
void fl_discover_superlink_free(struct fl_superlink *sl);

/* The schedule the context asks for: FL_EDGE_BACKOFF when set (exponential or fixed), else
 * fast. -1 with FL_EXIT_FAIL and the registry's message for another value. */
int fl_discover_ctx_schedule(const struct fl_ctx *c, enum fl_discover_schedule *s, struct fl_err *e);
/* FL_EDGE_MAX_BACKOFF (seconds, default 300) in ms; -1 as above for a bad value. */
int fl_discover_ctx_edge_max(const struct fl_ctx *c, uint64_t *ms, struct fl_err *e);

/* Judge one SuperLink VM's USER_TEMPLATE: 1 ready and usable (sl filled), 0 not ready
 * (FL_READY is not YES), -1 ready but a value is unusable (why says which). */
int fl_discover_candidate(const json_t *user_template, struct fl_superlink *sl, char *why, size_t whylen);

/* FL_SUPERLINK_ADDRESS=, FL_TLS=, FL_CA_CERT=, FL_VERSION= lines (what fl-certgen
 * --onegate-file reads), or one JSON object. */
void fl_discover_superlink_render(const struct fl_superlink *sl, bool json, struct fl_buf *out);

/* GET /vm: 0 when OneGate answers 2xx; otherwise the precheck's two ERROR lines are logged
 * (as WARN when quiet_warn) and -1 returned with e. */
int fl_discover_precheck(struct fl_onegate *g, bool quiet_warn, struct fl_err *e);

struct fl_partition {
	long id, num;
};

/* A training site's share of the federation's partitions (04 §2.1): its ids start at offset,
 * out of total (0: the role's own count, one site). fl_validate_partition_range fills it. */
struct fl_partition_range {
	long offset, total;
};

/* vmid's position among the role's VM IDs sorted ascending, duplicates once (the same answer
 * whatever order OneFlow lists the nodes in), plus range's offset; num is range's total, else
 * the role's count (range NULL: offset 0, the count). -1 with FL_EXIT_FAIL when it is not there,
 * or when the id would reach the total (a site scaled past its range: never a colliding id). */
int fl_discover_partition_compute(const struct fl_onegate_service *s, const char *role, long vmid,
                                  const struct fl_partition_range *range, struct fl_partition *p,
                                  struct fl_err *e);
/* GET /service and compute. 1 (nothing computed, logged) when this VM is in no service. */
int fl_discover_partition(struct fl_onegate *g, const char *role, const struct fl_partition_range *range,
                          struct fl_partition *p, struct fl_err *e);

#endif
