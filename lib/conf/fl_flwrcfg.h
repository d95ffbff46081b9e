/* fl_flwrcfg: values in Flower's config syntax (--run-config, --node-config): the one
 * conversion fl-context and fl-launch share, and the one typing table for node-config. */
#ifndef FL_FLWRCFG_H
#define FL_FLWRCFG_H

#include "fl_buf.h"
#include "fl_err.h"

#include <stdbool.h>

/* Flower parses `k=v` pairs with the regex (\S+?)=('[^']*'|"[^"]*"|\S+) and reads each pair
 * as the TOML line `k = v`; the value types it knows are these. */
enum fl_cfg_type { FL_CFG_STRING, FL_CFG_INT, FL_CFG_FLOAT, FL_CFG_BOOL };

const char *fl_flwrcfg_type_name(enum fl_cfg_type t);

/* The type a node-config value (no type of its own) gets; the first row that matches wins:
 *
 *   shape                                        type     Flower gets
 *   true / false, in any case                    bool     True, TRUE -> true
 *   [+-]digits, no leading zero, 64-bit          int      +5 -> 5, -0 -> 0
 *   [+-]digits with a leading zero               string   00012 -> "00012" (an id keeps its zeros)
 *   [+-][digits][.digits][e[+-]digits], with     float    .5 -> 0.5, 5. -> 5.0, -1.5, 1.5e3,
 *     a digit before the exponent and a point             1e-3, 00.5 -> 0.5
 *     or an exponent
 *   anything else                                string   cifar10, a,b, 1:2, /a%b@c, 1_000,
 *                                                         0x1f, inf, nan, yes, 1.2.3
 *
 * -1 (why says it) for what Flower cannot carry: an integer beyond 64 bits, a float beyond a
 * double's range, a string that no TOML string in a k=v pair can hold. */
int fl_flwrcfg_type_of(const char *v, enum fl_cfg_type *t, const char **why);

/* Append v, of type t (its text in that type's shape above, or the spec's float grammar),
 * as a TOML value Flower reads back exactly: strings quoted and escaped, numbers canonical
 * (.5 -> 0.5, 007 -> 7, 1 -> 1.0 as a float), booleans lower-case. -1 (why) as above. */
int fl_flwrcfg_value(struct fl_buf *out, const char *v, enum fl_cfg_type t, const char **why);

/* Append key=<value> (pairs joined by one space) or, toml, `key = <value>` and a newline. */
int fl_flwrcfg_pair(struct fl_buf *out, bool toml, const char *key, const char *v, enum fl_cfg_type t,
                    const char **why);

/* A space-separated list of key=value (FL_NODE_CONFIG) typed by the table above and appended
 * as one --node-config string (a trailing newline when nl) or as TOML lines. -1 with e
 * naming the key, the value and the fix. */
int fl_flwrcfg_node_config(const char *list, bool toml, bool nl, struct fl_buf *out, struct fl_err *e);

#endif
