/* fl_context_verb: what fl-context's verbs do once the options are known: the verdict logged,
 * what to print into a buffer, failures as the exit status. */
#ifndef FL_CONTEXT_VERB_H
#define FL_CONTEXT_VERB_H

#include "fl_buf.h"
#include "fl_ctx.h"

#include <stdbool.h>

/* Validate c for role and log the diagnostics and the verdict; the error count. quiet_ok:
 * log only warnings and errors (verbs that emit a value; `validate` already told the rest). */
unsigned fl_context_verb_report(const struct fl_ctx *c, unsigned role, bool quiet_ok);

/* render: c valid for role written to output (NULL: FL_CTX_RENDERED_DIR/ROLE.conf, its
 * directory created), mode 0600, whole or not at all. 0 or FL_EXIT_FAIL, the failure logged. */
int fl_context_verb_render(const struct fl_ctx *c, unsigned role, const char *output);

/* node-config: FL_NODE_CONFIG, else the partition pid of npart (pid < 0: none), as text or
 * TOML into out. 0 or the exit status, the failure logged. */
int fl_context_verb_node_config(const struct fl_ctx *c, long pid, long npart, bool toml, struct fl_buf *out);

#endif
