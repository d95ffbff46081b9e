/* fl_cert_verb: what fl-certgen's verbs do once the options are known: the library call, its
 * diagnostics logged, what to print into a buffer, the exit status as a value. */
#ifndef FL_CERT_VERB_H
#define FL_CERT_VERB_H

#include "fl_buf.h"
#include "fl_cert.h"
#include "fl_ctx.h"
#include "fl_net.h"

#include <stdbool.h>

/* The SAN addresses: ips (--ip), else $FLKIT_NET_ADDRS, else none (the library detects
 * them). -1 with e when $FLKIT_NET_ADDRS is malformed. */
int fl_cert_verb_addrs(const struct fl_addrs *ips, struct fl_addrs *a, struct fl_err *e);

/* --renew-days below both lifetimes (at or above one it would renew on every run: a new
 * server certificate, or with the CA's, a new CA breaking every SuperNode). -1 with e. */
int fl_cert_verb_days_check(const struct fl_cert_superlink_opts *so, struct fl_err *e);

/* What OneGate published: file (FL_TLS=/FL_CA_CERT= lines, "-" for stdin), else the values
 * tls and ca (either may be NULL). -1 with e when the file cannot be read. */
int fl_cert_verb_onegate(const char *file, const char *tls, const char *ca, struct fl_onegate_tls *og,
                         struct fl_err *e);

/* A context file that carries the operator's private key (FL_SSL_KEYFILE) is a key file too:
 * warn when others could read it. */
void fl_cert_verb_warn_exposed(const struct fl_ctx *c);

/* superlink and supernode: fmt 1 env, 2 json (fl_cert_*_render). 0 or the exit status, the
 * failure logged. */
int fl_cert_verb_superlink(const struct fl_ctx *c, const struct fl_cert_superlink_opts *so, int fmt,
                           struct fl_buf *out);
int fl_cert_verb_supernode(const struct fl_ctx *c, const struct fl_cert_supernode_opts *so, int fmt,
                           struct fl_buf *out);

/* show and check of dir (or file alone): the report into out (check: only with fmt > 0);
 * check turns it into the status: 0 ok, 1 invalid, 4 expires within warn_days. */
struct fl_cert_verb_inspect {
	const char *dir, *file;
	struct fl_addrs *addrs; /* for the SAN check; none: filled with the VM's (not for a file alone) */
	time_t now;
	long warn_days;
	int fmt; /* -1 default: text */
	bool check;
};
int fl_cert_verb_inspect(const struct fl_cert_verb_inspect *o, struct fl_buf *out);

#endif
