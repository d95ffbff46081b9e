/* fl_ctx: the resolved configuration: context file + environment overlay + ONEAPP_ aliases
 * + defaults, each value with its source; validation into a list of diagnostics. */
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

enum fl_src { FL_SRC_DEFAULT, FL_SRC_FILE, FL_SRC_ENV };

struct fl_setting {
	const char *value; /* never NULL; "" when unset without default */
	enum fl_src src;
	const char *from; /* name the value was read under (e.g. ONEAPP_FL_NUM_ROUNDS) */
};

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
/* The resolved text of id ("" when unset without default), and whether it was given. */
const char *fl_ctx_value(const struct fl_ctx *c, enum fl_var_id id);
const char *fl_ctx_get(const struct fl_ctx *c, const char *name);
bool fl_ctx_is_set(const struct fl_ctx *c, const char *name);
const char *fl_src_name(enum fl_src s);

struct fl_diag {
	enum fl_level level;
	char *msg;
};

struct fl_diags {
	struct fl_diag *v;
	size_t n, cap;
	unsigned errors;
};

#define FL_DIAGS_INIT                                                                                        \
	{                                                                                                    \
		NULL, 0, 0, 0                                                                                \
	}

void fl_diags_add(struct fl_diags *d, enum fl_level l, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fl_diags_free(struct fl_diags *d);
/* Log every diagnostic at its level, then free them. */
void fl_diags_log(struct fl_diags *d);

/* Every rule for role: type checks of set variables, then the cross-variable rules. Returns
 * the number of errors (also d->errors). */
unsigned fl_ctx_validate(const struct fl_ctx *c, unsigned role, struct fl_diags *d);

/* Operator TLS material is all-or-none (decision 7): an error for each missing piece when
 * any of FL_SSL_CA_CERTFILE, FL_SSL_CERTFILE, FL_SSL_KEYFILE is set. Returns the errors added. */
unsigned fl_ctx_check_operator_tls(const struct fl_ctx *c, struct fl_diags *d);

#endif
