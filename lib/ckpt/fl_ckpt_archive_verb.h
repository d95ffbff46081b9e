/* fl_ckpt_archive_verb: fl-ckpt's archive, unarchive and restore --from-archive on an open
 * checkpoint directory: the rounds to take, the stage directory, each round verified and
 * committed by fl_ckpt's protocol, the latest link. */
#ifndef FL_CKPT_ARCHIVE_VERB_H
#define FL_CKPT_ARCHIVE_VERB_H

#include "fl_ckpt.h"
#include "fl_err.h"

#include <stdbool.h>

/* The stage directory unarchive extracts into, inside the checkpoint directory (so that each
 * commit copies within one filesystem): ".fl-ckpt.<pid>.stage.tmp", mode 0700. */
#define FL_CKPT_STAGE_FMT ".fl-ckpt.%ld.stage.tmp"

/* `archive --out F [--round N|--all]`: round N (committed), every committed round (all), or
 * by default the latest link's round when committed, else the newest committed one. The
 * latest link and metadata go in when the link names an archived round. */
int fl_ckpt_archive_rounds(const struct fl_ckpt *ck, long round, bool all, const char *out, struct fl_err *e);

/* `unarchive F` (round 0) and `restore --from-archive F [--round N]` (restore true): extract F
 * into a fresh stage directory of ck (opened to mutate: locked), commit its rounds (only round
 * N when given, which the archive must hold) with fl_ckpt_commit_fd, each verified as it is
 * committed and checked against the archive's manifest SHA-256; then the latest link: for
 * unarchive the archive's latest when it has one; for restore round N, else the archive's
 * latest, else its newest round. The stage directory is removed whatever happens, and stale
 * ones (their process gone) first. *latest: the round the link now names (0: untouched). */
int fl_ckpt_unarchive(struct fl_ckpt *ck, const char *archive, long round, bool restore, long *latest,
                      struct fl_err *e);

#endif
