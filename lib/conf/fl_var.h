/* fl_var: the one registry of context variables; validation, defaults, help, man page and
 * USER_INPUTS are all generated from it. */
#ifndef FL_VAR_H
#define FL_VAR_H

#include <stddef.h>

enum fl_role {
	FL_ROLE_SUPERLINK = 1,
	FL_ROLE_SUPERNODE = 2,
	FL_ROLE_SERVICE = 4, /* OneFlow service level: the variables both roles read (fl_render.h) */
};

/* What a value must look like; the message says it in words. */
enum fl_check {
	FL_CK_VERSION,  /* X.Y.Z */
	FL_CK_POSINT,   /* ^[1-9][0-9]*$, at most 2147483647 */
	FL_CK_NONNEG,   /* ^[0-9]+$, at most 2147483647 */
	FL_CK_FLOAT,    /* ^[0-9]*\.?[0-9]+$ within [min, max] (see flags) */
	FL_CK_ENUM,     /* one of options, exact */
	FL_CK_YESNO,    /* YES or NO, exact */
	FL_CK_YESNO_CI, /* YES or NO, any case (normalised to upper case) */
	FL_CK_HOSTPORT, /* host:port or [v6]:port, port 1-65535 */
	FL_CK_LISTEN,   /* IPv4:port or [v6]:port: a listen address docker can publish */
	FL_CK_RELPATH,  /* relative path without .. */
	FL_CK_ABSPATH,  /* absolute path without .. */
	FL_CK_SAN_LIST, /* IP:addr,DNS:name,... */
	FL_CK_METRICS_PORT,
	FL_CK_NODE_CONFIG, /* key=value tokens from an allow-list */
	FL_CK_CUDA_DEVICES,
	FL_CK_PEM_CERT, /* base64 of a PEM certificate */
	FL_CK_PEM_KEY,  /* base64 of a PEM private key */
	FL_CK_SHA256,   /* 64 hex digits, colons between pairs allowed */
	FL_CK_S3_URL,   /* s3://bucket[/prefix], bucket by S3's naming rules */
	FL_CK_HTTP_URL, /* http(s)://host[:port][/] */
	FL_CK_REGION,   /* ^[a-z0-9-]+$ */
};

enum {
	FL_VF_MIN_OPEN = 1, /* float: value must be > min (else >= min) */
	FL_VF_MAX_OPEN = 2, /* float: value must be < max (else <= max) */
	FL_VF_SECRET = 4,   /* never echoed in messages, redacted by `show` */
};

struct fl_var {
	const char *name;
	unsigned roles;      /* FL_ROLE_* where it takes effect */
	const char *type;    /* USER_INPUT type: text, text64, number, number-float, list, boolean */
	const char *label;   /* USER_INPUT description */
	const char *options; /* USER_INPUT options: list values, or "" */
	const char *def;     /* default; "" = none */
	enum fl_check check;
	double min, max;     /* FL_CK_FLOAT bounds */
	unsigned flags;      /* FL_VF_* */
	const char *message; /* error text; {v} stands for the offending value */
	const char *alias;   /* another accepted name (besides ONEAPP_<name>), or NULL */
	const char *doc;     /* one paragraph for the man page */
};

/* One id per registry entry, FLV_<NAME>, in registry order: a name that is not in the registry
 * does not compile. */
enum fl_var_id {
#define FL_VAR(name, ...) FLV_##name,
#include "fl_vars.def"
#undef FL_VAR
	FLV_COUNT
};

extern const struct fl_var fl_vars[];
extern const size_t fl_nvars;

const struct fl_var *fl_var_find(const char *name);
/* The entry of id. */
const struct fl_var *fl_var_get(enum fl_var_id id);
/* Index of v in fl_vars. */
size_t fl_var_index(const struct fl_var *v);
const char *fl_var_role_name(unsigned role);
/* "superlink" -> FL_ROLE_SUPERLINK etc.; 0 when unknown. */
unsigned fl_var_role_parse(const char *s);

#endif
