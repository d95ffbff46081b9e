/* fl_ckpt_archive_verb: fl-ckpt's archive, unarchive and restore --from-archive: the rounds to
 * take, the stage directory, each round verified and committed by fl_ckpt's protocol, the latest
 * link; failures logged, what to print into a buffer, the exit status as a value. */
#ifndef FL_CKPT_ARCHIVE_VERB_H
#define FL_CKPT_ARCHIVE_VERB_H

#include "fl_buf.h"
#include "fl_ckpt.h"
#include "fl_ckpt_verb.h"
#include "fl_err.h"

#include <stdbool.h>

/* The stage directory unarchive extracts into, inside the checkpoint directory (each commit
 * then copies within one filesystem): ".fl-ckpt.<pid>.stage.tmp", mode 0700, a temp name that
 * fl_ckpt_clean_temps removes when its process is gone. */
#define FL_CKPT_STAGE_FMT ".fl-ckpt.%ld.stage.tmp"

/* Round N (committed), every committed round (all), or by default the latest link's round when
 * committed, else the newest committed one, into the archive out. */
int fl_ckpt_archive_rounds(const struct fl_ckpt *ck, long round, bool all, const char *out, struct fl_err *e);

/* Extract archive into a fresh stage directory of ck (opened to mutate: locked), commit its
 * rounds (only round when not 0; the archive must hold it) with their manifest metrics through
 * fl_ckpt_commit, each verified as it is committed and checked against the archive's manifest
 * SHA-256, then point the latest link: at round when given, else at the archive's latest, else
 * (restore) at its newest round. The stage directory is removed whatever happens. The rounds
 * committed into *done (caller frees), *latest the round the link now names (0: untouched). */
int fl_ckpt_unarchive(struct fl_ckpt *ck, const char *archive, long round, bool restore, long **done,
                      size_t *ndone, long *latest, struct fl_err *e);

/* The verbs: `archive --out F [--round N|--all]`, `unarchive F` (restore false) and
 * `restore --from-archive F [--round N]` (restore true), with fl-ckpt's options o. Each
 * returns the exit status, its failure logged; what it prints goes to out. */
int fl_ckpt_verb_archive(const struct fl_ckpt_verb *o, const char *file, struct fl_buf *out);
int fl_ckpt_verb_unarchive(const struct fl_ckpt_verb *o, const char *file, bool restore, struct fl_buf *out);

#endif
