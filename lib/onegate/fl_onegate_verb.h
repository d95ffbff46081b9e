/* fl_onegate_verb: what fl-onegate's verbs do once the options are known: what to print goes
 * into a buffer, failures come back as values (e->code is the exit status). */
#ifndef FL_ONEGATE_VERB_H
#define FL_ONEGATE_VERB_H

#include "fl_buf.h"
#include "fl_ctx.h"
#include "fl_discover.h"
#include "fl_err.h"
#include "fl_onegate.h"

#include <stdbool.h>

struct fl_onegate_verb_opts {
	bool json, extended, raw, best_effort;
	bool tty;                        /* stdout is a terminal: the Ruby client pads for it */
	const char *role_name;           /* partition: the SuperNode role (NULL: supernode) */
	struct fl_partition_range range; /* partition: the site's range (from the context) */
};

/* What fl-onegate's options say, for the verbs that open OneGate. */
struct fl_onegate_cli {
	const char *endpoint, *vmid, *token_file, *output, *role, *cardinality;
	bool keep_path, tls_verify, deadline_set;
	int schedule; /* enum fl_discover_schedule, or -1: from the context */
	uint64_t timeout_ms, connect_ms, deadline_ms;
	long retries;            /* -1: the library's */
	int type;                /* vm update: 0 none, 1 --data, 2 --erase */
	struct fl_buf data, pub; /* vm update's body; publish's */
	struct fl_onegate_verb_opts v;
	struct fl_discover_opts d;
};

/* The verbs fl_onegate_verb_run runs. */
enum fl_onegate_verb {
	FL_OG_VM_SHOW,
	FL_OG_VM_UPDATE,
	FL_OG_SERVICE_SHOW,
	FL_OG_SERVICE_SCALE,
	FL_OG_PUBLISH,
	FL_OG_GET,
	FL_OG_PARTITION,
	FL_OG_PRECHECK,
	FL_OG_DISCOVER,
};

/* Open OneGate with c's identity (o's --endpoint and --vmid first) and o's limits, run verb
 * with its words args, what it prints into out. The exit status, the failure logged; a OneGate
 * that cannot be opened is a warning for publish --best-effort. partition prints a set
 * FL_NODE_CONFIG without OneGate; discover goes by its schedule (o->output: into that file). */
int fl_onegate_verb_run(struct fl_onegate_cli *o, const struct fl_ctx *c, enum fl_onegate_verb verb,
                        char **args, size_t n, struct fl_buf *out);

/* The context variable that, set, spares verb OneGate (FLV_COUNT: none does). */
enum fl_var_id fl_onegate_verb_unless(enum fl_onegate_verb verb);

/* --data (erase false: a line added to the body) or --erase (the body is the name alone). */
void fl_onegate_verb_data(struct fl_onegate_cli *o, bool erase, const char *arg);

/* The usage checks of vm show and vm update: id (NULL: this VM) is a VM ID; vm update has
 * --data or one --erase name. -1 with FL_EXIT_USAGE and the message. */
int fl_onegate_verb_vm_check(const struct fl_onegate_cli *o, const char *id, bool update, struct fl_err *e);

/* What the options say together: --token-file a regular file (never waited on), --max-interval
 * not below --interval. -1 with e (FL_EXIT_USAGE for a usage error). */
int fl_onegate_verb_cli_check(const struct fl_onegate_cli *o, struct fl_err *e);

/* The context's OneGate identity is usable, or the verb needs no OneGate (needs_gate false).
 * bad: why the context file did not parse (empty when it did); endpoint and vmid: the options
 * that override the context's. -1 with e naming the file when the identity is incomplete
 * because it did not parse. */
int fl_onegate_verb_identity(const struct fl_ctx *c, const char *endpoint, const char *vmid,
                             const struct fl_err *bad, bool needs_gate, struct fl_err *e);

/* vm show [ID], service show: the text or JSON into out. */
int fl_onegate_verb_vm_show(struct fl_onegate *g, const char *id, const struct fl_onegate_verb_opts *o,
                            struct fl_buf *out, struct fl_err *e);
int fl_onegate_verb_service_show(struct fl_onegate *g, const struct fl_onegate_verb_opts *o,
                                 struct fl_buf *out, struct fl_err *e);

/* attr is an attribute name (1-128 of [A-Za-z0-9_]); -1 with FL_EXIT_USAGE when not. */
int fl_onegate_verb_attr_check(const char *attr, struct fl_err *e);
/* get ATTR: this VM's USER_TEMPLATE value of ATTR (upper-cased) as a line into out. */
int fl_onegate_verb_get(struct fl_onegate *g, const char *attr, struct fl_buf *out, struct fl_err *e);

/* publish K=V...: data (fl_onegate_publish_data's) in one request; logs what was published, or
 * the failure and the warning it calls for (-1 with e, logged). With best_effort a failure
 * returns 0. */
int fl_onegate_verb_publish(struct fl_onegate *g, const char *data, char **pairs, size_t n,
                            const struct fl_onegate_verb_opts *o, struct fl_err *e);

/* partition: "partition-id=N num-partitions=M" (or JSON) into out; 1 when the VM is in no
 * service (nothing to print). */
int fl_onegate_verb_partition(struct fl_onegate *g, const struct fl_onegate_verb_opts *o, struct fl_buf *out,
                              struct fl_err *e);

/* discover: d completed from the context (schedule < 0: FL_EDGE_BACKOFF's; FL_SUPERLINK_ADDRESS;
 * FL_EDGE_MAX_BACKOFF), then the SuperLink's lines into out, or with output into that file
 * written whole. The schedule's deadline replaces go's. -1 with e, already logged. */
int fl_onegate_verb_discover(const struct fl_ctx *c, const struct fl_onegate_opts *go,
                             struct fl_discover_opts *d, int schedule, bool json, const char *output,
                             struct fl_buf *out, struct fl_err *e);

#endif
