/* fl_ckpt_archive: checkpoint rounds as one tar (plain, gzip or zstd) and back, with libarchive.
 *
 * An archive holds, in this order: the selected round files (checkpoint_round_<N>.npz,
 * ascending), checkpoint_latest.npz as a symlink to a bare round name and checkpoint_latest.json
 * (both only when the latest link names a selected round), and last checkpoint_manifest.json
 * restricted to the selected rounds. Entries are pax-restricted tar, owned 49999:49999 by
 * "flower":"flower" (the container's user, README decision 6), mode 0644 (the link 0777, as
 * symlinks are), with each file's mtime. The manifest comes last and is required on extract:
 * an archive cut at an entry boundary (which plain tar cannot tell from its end) lacks it and is
 * refused, and every round file must match its manifest entry (size, SHA-256). */
#ifndef FL_CKPT_ARCHIVE_H
#define FL_CKPT_ARCHIVE_H

#include "fl_err.h"

#include <stdbool.h>
#include <stddef.h>

#define FL_CKPT_ARCHIVE_OWNER "flower" /* uname and gname of every entry */
#define FL_CKPT_ARCHIVE_ID    49999    /* uid and gid of every entry */
/* Bounds on what extract accepts: a round file of at most 256 GiB, the JSON files at most
 * 16 MiB (FL_MANIFEST_BYTES_MAX), at most as many rounds as a manifest holds. */
#define FL_CKPT_ARCHIVE_FILE_MAX    (256LL << 30)
#define FL_CKPT_ARCHIVE_JSON_MAX    (16LL << 20)
#define FL_CKPT_ARCHIVE_ENTRIES_MAX 50003L
/* I/O block: files are streamed through one buffer of this size, never read whole. */
#define FL_CKPT_ARCHIVE_BLOCK (1 << 20)

enum fl_ckpt_archive_comp {
	FL_CKPT_ARCHIVE_TAR,  /* .tar */
	FL_CKPT_ARCHIVE_GZIP, /* .tar.gz, .tgz */
	FL_CKPT_ARCHIVE_ZSTD, /* .tar.zst */
};

/* The compression out_path's suffix asks for; -1 and e (FL_EXIT_USAGE, naming the suffixes)
 * for any other name. */
int fl_ckpt_archive_comp_of(const char *out_path, enum fl_ckpt_archive_comp *comp, struct fl_err *e);

/* Write the n rounds (each committed: its manifest entry's size must match the file) of the
 * checkpoint directory dirfd into out_path, compressed as its suffix says: a temp file beside
 * out_path (".fl-ckpt.<pid>.archive.tmp"), fsync, rename, fsync of its directory, so a kill
 * leaves the old out_path or the new one. with_latest: add the latest link and metadata JSON
 * when the link names one of the rounds. Files are opened under dirfd with O_NOFOLLOW, regular
 * files only, and streamed in FL_CKPT_ARCHIVE_BLOCK blocks. -1 and e otherwise. */
int fl_ckpt_archive_write(int dirfd, const long *rounds, size_t n, bool with_latest, const char *out_path,
                          struct fl_err *e);

/* What extract wrote into the stage directory. */
struct fl_ckpt_archive_list {
	long *rounds; /* checkpoint_round_<N>.npz written, ascending */
	size_t n;
	long latest; /* the round the archive's checkpoint_latest.npz names; 0: none */
	bool meta;   /* checkpoint_latest.json written */
	             /* checkpoint_manifest.json is always written (an archive without it is refused) */
};
void fl_ckpt_archive_list_free(struct fl_ckpt_archive_list *l);

/* Extract the archive at archive_path (tar, tar.gz or tar.zst, recognised by content) into the
 * empty directory stage_dirfd. Accepted: regular files named checkpoint_round_<N>.npz,
 * checkpoint_latest.json and checkpoint_manifest.json, and one symlink checkpoint_latest.npz to
 * a bare round name the archive holds (reported in out->latest, not created). Refused, naming
 * the entry and why: any other name, a path with '/' or "..", other symlinks, hard links,
 * devices, FIFOs, directories, duplicates, sizes over the bounds above, data that disagrees
 * with the declared size or with the manifest, a damaged or truncated archive. Files are created
 * under stage_dirfd only (O_EXCL|O_NOFOLLOW, 0600). On a refusal everything written is removed
 * and -1 returned with e (FL_EXIT_FAIL). */
int fl_ckpt_archive_extract(const char *archive_path, int stage_dirfd, struct fl_ckpt_archive_list *out,
                            struct fl_err *e);
/* The same from memory; name is what messages call the archive (the fuzz target's entry). */
int fl_ckpt_archive_extract_buf(const void *data, size_t len, const char *name, int stage_dirfd,
                                struct fl_ckpt_archive_list *out, struct fl_err *e);

#endif
