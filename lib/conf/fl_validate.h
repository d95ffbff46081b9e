/* fl_validate: the registry's rules (01 §7, 03 §2.2/§3.3, 04 §3.8) and the cross-variable rules
 * applied to a loaded configuration, with the spec's messages; results are diagnostics (or an
 * error), printing is the caller's. It reads the configuration (fl_ctx.h); fl_ctx never calls
 * it. */
#ifndef FL_VALIDATE_H
#define FL_VALIDATE_H

#include "fl_buf.h"
#include "fl_ctx.h"
#include "fl_diags.h"
#include "fl_err.h"
#include "fl_flower.h"
#include "fl_var.h"

#include <stdbool.h>

/* Every rule for role: type checks of set variables, then the cross-variable rules. Returns
 * the number of errors (also added to d->errors). */
unsigned fl_validate_ctx(const struct fl_ctx *c, unsigned role, struct fl_diags *d);

/* Operator TLS material is all-or-none (decision 7): an error for each missing piece when
 * any of FL_SSL_CA_CERTFILE, FL_SSL_CERTFILE, FL_SSL_KEYFILE is set. Returns the errors added. */
unsigned fl_validate_operator_tls(const struct fl_ctx *c, struct fl_diags *d);

/* One variable by its registry rule, for a tool that reads a few fields without validating
 * the whole configuration: 0 when it is unset (its default) or its value passes; else -1 with
 * FL_EXIT_FAIL and the registry's message, the value quoted as validation quotes it. */
int fl_validate_var(const struct fl_ctx *c, enum fl_var_id id, struct fl_err *e);

/* The multi-site partition range for fl-onegate partition: FL_PARTITION_OFFSET (default 0) and
 * FL_NUM_PARTITIONS (total 0 when unset: the role's count), each by its registry rule, then
 * the offset needs the total and lies below it. -1 with FL_EXIT_FAIL and the message. */
int fl_validate_partition_range(const struct fl_ctx *c, long *offset, long *total, struct fl_err *e);
/* With a static FL_NODE_CONFIG, an INFO line in d for each range variable set: it is ignored. */
void fl_validate_partition_ignored(const struct fl_ctx *c, struct fl_diags *d);

/* Flower v (1.40+, era C) reaches the Fleet API over HTTP, where gRPC keepalive cannot act: when
 * the operator set FL_GRPC_KEEPALIVE_TIME or _TIMEOUT (a default is not asking for anything),
 * the warning that says so goes into out and the answer is true. fl-context validate asks it for
 * FLOWER_VERSION, fl-launch for the Flower it runs. */
bool fl_validate_keepalive_http(const struct fl_ctx *c, const struct fl_version *v, struct fl_buf *out);

#endif
