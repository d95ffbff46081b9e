/* fl_ctx: the resolved configuration: context file + environment overlay + ONEAPP_ aliases
 * + defaults, each value with its source, and the typed fields (fl_conf.h) parsed from them.
 * Validation is fl_validate.h's. */
#ifndef FL_CTX_H
#define FL_CTX_H

#include "fl_conf.h"
#include "fl_ctxfile.h"
#include "fl_err.h"
#include "fl_identity.h"
#include "fl_log.h"
#include "fl_var.h"

#include <stdbool.h>

#define FL_CTX_DEFAULT_PATH  "/run/one-context/one_env"
#define FL_CTX_DEFAULT_TOKEN "/run/one-context/token.txt"
/* Where `fl-context render` writes ROLE.conf, and the tools that run from it look. */
#define FL_CTX_RENDERED_DIR "/run/flkit"

struct fl_ctx {
	char *path;               /* context file read, or NULL */
	struct fl_kvlist file;    /* its assignments */
	struct fl_kvlist env;     /* the relevant part of the environment */
	struct fl_setting *set;   /* one per fl_vars entry */
	struct fl_conf conf;      /* the same values, typed: what the tools read */
	char **owned;             /* normalised values owned by the ctx */
	struct fl_kvlist unknown; /* name -> "context file" / "environment" */
	struct fl_identity id;    /* from the environment, the file, then token_file */
	unsigned rendered_role;   /* set when path is a file written by fl_ctx_render */
};

struct fl_ctx_opts {
	const char *path;       /* context or rendered file; NULL = none */
	const char *token_file; /* read when no TOKENTXT; NULL = none */
	char **envp;            /* environment overlay; NULL = none */
};

int fl_ctx_load(struct fl_ctx *c, const struct fl_ctx_opts *o, struct fl_err *e);

void fl_ctx_free(struct fl_ctx *c);
/* The setting of a variable named at run time (fl-context get NAME), or NULL when the registry
 * has no such name. Code that knows the variable reads c->conf.NAME, or fl_ctx_value(c, FLV_NAME)
 * for the text as resolved. */
const struct fl_setting *fl_ctx_setting(const struct fl_ctx *c, const char *name);
/* The resolved text of id ("" when unset without default). */
const char *fl_ctx_value(const struct fl_ctx *c, enum fl_var_id id);
const char *fl_ctx_src_name(enum fl_src s);

#endif
