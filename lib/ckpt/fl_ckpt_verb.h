/* fl_ckpt_verb: what fl-ckpt's verbs do once the options are known: the library calls, their
 * failures logged, what to print into a buffer, the exit status as a value. */
#ifndef FL_CKPT_VERB_H
#define FL_CKPT_VERB_H

#include "fl_buf.h"
#include "fl_ckpt.h"

#include <stdbool.h>
#include <sys/types.h>

/* The options of every verb. */
struct fl_ckpt_verb {
	const char *dir; /* host path (--dir, or --container-path mapped) */
	uid_t uid;       /* --owner */
	gid_t gid;
	long lock_timeout_ms;
	bool json;
	long round;       /* --round N; 0: not given */
	const char *from; /* save --from */
	bool no_latest;   /* save --no-latest */
	bool fallback;    /* latest --fallback */
	bool all;         /* verify --all */
	struct fl_ckpt_prune prune;
	struct fl_manifest_metric metrics[FL_MANIFEST_METRICS_MAX]; /* save --metric NAME=VALUE */
	size_t nmetrics;
};

/* --metric NAME=VALUE into o->metrics; -1 with e (a usage error) when malformed or too many. */
int fl_ckpt_verb_metric(struct fl_ckpt_verb *o, const char *arg, struct fl_err *e);

/* Each returns the exit status, its failure logged; what it prints goes to out. */
int fl_ckpt_verb_init(const struct fl_ckpt_verb *o);
int fl_ckpt_verb_list(const struct fl_ckpt_verb *o, struct fl_buf *out);
int fl_ckpt_verb_latest(const struct fl_ckpt_verb *o, struct fl_buf *out);
/* file: a file to check alone (NULL: o->round, o->all, or the latest link's round). */
int fl_ckpt_verb_verify(const struct fl_ckpt_verb *o, const char *file, struct fl_buf *out);
int fl_ckpt_verb_save(const struct fl_ckpt_verb *o, struct fl_buf *out);
int fl_ckpt_verb_restore(const struct fl_ckpt_verb *o, struct fl_buf *out);
int fl_ckpt_verb_prune(const struct fl_ckpt_verb *o, struct fl_buf *out);

#endif
