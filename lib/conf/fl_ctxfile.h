/* fl_ctxfile: one_env and context.sh read as data, never executed. */
#ifndef FL_CTXFILE_H
#define FL_CTXFILE_H

#include "fl_err.h"
#include "fl_kvlist.h"

#include <stddef.h>

#define FL_CTXFILE_MAX_BYTES   (8u << 20) /* certificates and START_SCRIPTs fit easily */
#define FL_CTXFILE_MAX_NAME    128
#define FL_CTXFILE_MAX_ENTRIES 16384

/* Parse a context file held in buf. Accepted entries, one per line start:
 *   export NAME="raw value"   one_env: no escapes; may span lines; ends at a `"` that closes
 *                             a line followed by EOF or the next `export NAME=`
 *   NAME='value'              context.sh: `'\''` is a quote; may span lines
 *   NAME=bare                 to the end of the line
 * Blank lines and # comments between entries are skipped. `what` names the input in
 * errors, which never quote file content (it may hold secrets). */
int fl_ctxfile_parse(const char *buf, size_t len, const char *what, struct fl_kvlist *out, struct fl_err *e);
int fl_ctxfile_load(const char *path, struct fl_kvlist *out, struct fl_err *e);

#endif
