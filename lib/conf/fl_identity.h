/* fl_identity: the OneGate identity (token, VMID, endpoint) and the one rule for finding it. */
#ifndef FL_IDENTITY_H
#define FL_IDENTITY_H

#include "fl_kvlist.h"
#include "fl_err.h"

#include <stdbool.h>
#include <stddef.h>

/* Each field is NULL when not found, never "". The token is secret: never log or print it. */
struct fl_identity {
	char *token;
	char *vmid;
	char *endpoint;
};

/* Where the identity may be, in order of precedence: a field comes from the first source
 * that has it non-empty. Every member may be NULL/false. */
struct fl_identity_src {
	char **envp;                  /* TOKENTXT (else ONEGATE_TOKEN), VMID, ONEGATE_ENDPOINT */
	const struct fl_kvlist *file; /* a parsed context file: its last assignment of each */
	const char *one_env;          /* a context file read only for its header lines */
	const char *token_file;       /* its first line is the token when none was found */
	bool token_file_first;        /* the token file replaces any other token; unreadable fails */
	bool complete;                /* fail unless endpoint, VMID and token were all found */
};

/* Fill the NULL fields of id from s. -1 (e filled, id keeps what was found) when a
 * token_file_first cannot be read (FL_EXIT_FAIL) or, with s->complete, when a field is still
 * missing (FL_EXIT_UNAVAILABLE, naming it and where it was looked for). */
int fl_identity_load(struct fl_identity *id, const struct fl_identity_src *s, struct fl_err *e);

/* The header of one_env: loc-16-gen-env writes TOKENTXT, VMID and ONEGATE_ENDPOINT first,
 * one `export NAME="value"` line each with a shell-safe value (06 §5.4). Only those lines
 * are read, so that a file the full parser refuses still yields the identity: at most three,
 * up to the first line that is not one of them; a value with a `"` inside is not taken.
 * Fills the NULL fields of id. */
void fl_identity_read_header(struct fl_identity *id, const char *buf, size_t len);

/* Wipe the token and free every field. */
void fl_identity_free(struct fl_identity *id);

#endif
