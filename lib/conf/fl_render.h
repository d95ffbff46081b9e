/* fl_render: the resolved configuration written out: for people, for shells, for JSON
 * consumers, for Flower (run-config, node-config) and for OpenNebula (USER_INPUTS). */
#ifndef FL_RENDER_H
#define FL_RENDER_H

#include "fl_buf.h"
#include "fl_ctx.h"

#include <stdbool.h>

enum fl_format {
	FL_FMT_TEXT,
	FL_FMT_ENV,
	FL_FMT_SHELL,
	FL_FMT_JSON,
	FL_FMT_TOML,
	FL_FMT_MAN,
	FL_FMT_BLOCK,  /* user-inputs: a VM template's USER_INPUTS = [ ... ] */
	FL_FMT_PARAMS, /* user-inputs: one-apps ONE_SERVICE_PARAMS, 4 lines per input */
};

/* -1 when unknown. */
int fl_render_format_parse(const char *s);

/* Variables of role (0 = all); secrets redacted unless show_secrets. */
void fl_render_show(const struct fl_ctx *c, unsigned role, enum fl_format f, bool show_secrets,
                    struct fl_buf *out);
/* The file `fl-context render` writes and later tools load (shell-quoted, with secrets). */
void fl_render_file(const struct fl_ctx *c, unsigned role, struct fl_buf *out);
/* Flower --run-config: k=v pairs (FL_FMT_TEXT) or a TOML file (FL_FMT_TOML). */
void fl_render_run_config(const struct fl_ctx *c, enum fl_format f, struct fl_buf *out);
/* Flower --node-config from an FL_NODE_CONFIG value that validated (fl_flwrcfg_node_config);
 * -1 and nothing appended for a value validation refuses. */
int fl_render_node_config(const char *value, enum fl_format f, struct fl_buf *out);
/* Whether v is set once at OneFlow service level: the variables both roles read. */
bool fl_render_service_level(const struct fl_var *v);
/* Whether user-inputs offers v. role FL_ROLE_SERVICE: the service level. FL_ROLE_SUPERLINK or
 * FL_ROLE_SUPERNODE: every variable the role reads (a standalone VM), or with in_service the
 * role of a OneFlow service: no service-level variable, no FL_SUPERLINK_ADDRESS. */
bool fl_render_user_input_offered(const struct fl_var *v, unsigned role, bool in_service);
/* The USER_INPUTS specs "O|type|label|options|default" (text64: "O|text64|label") of the inputs
 * offered, in registry order, named ONEAPP_<NAME> with oneapp, as f: FL_FMT_BLOCK (the VM
 * template block), FL_FMT_PARAMS (NAME, configure, label, spec: a line each) or FL_FMT_JSON
 * (one object NAME: spec). */
void fl_render_user_inputs(unsigned role, bool in_service, bool oneapp, enum fl_format f, struct fl_buf *out);
/* fl-context(5) (FL_FMT_MAN) or a plain-text table (FL_FMT_TEXT). */
void fl_render_reference(enum fl_format f, struct fl_buf *out);

#endif
