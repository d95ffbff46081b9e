/* fl_cert_io: file, PEM and text helpers shared by the fl_cert_* sources; not a public API. */
#ifndef FL_CERT_IO_H
#define FL_CERT_IO_H

#include "fl_cert.h"

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* dir/name, without doubled slashes. */
char *fl_cert_io_join(const char *dir, const char *name);
/* Cleanse n bytes, then free (NULL is fine). */
void fl_cert_io_wipe_free(char *p, size_t n);
/* A regular file, never through a symlink, at most FL_CERT_MAX_FILE bytes: 0, 1 when it does
 * not exist, -1 with e otherwise. */
int fl_cert_io_read(const char *path, char **buf, size_t *len, struct fl_err *e);
/* Owner and mode of an existing file, through a descriptor opened without following links. */
int fl_cert_io_fix_mode(const char *path, mode_t mode, uid_t uid, gid_t gid, struct fl_err *e);
/* EPERM from a chown by a non-root user names --owner; other errors as they are. */
int fl_cert_io_chown_error(struct fl_err *e, int err, const char *path, uid_t uid, gid_t gid);
/* Refuse a file with more than one hard link (chowning it would change another name). */
int fl_cert_io_check_links(const char *path, struct fl_err *e);
/* "2035-01-01T00:00:00Z" */
char *fl_cert_io_time(const ASN1_TIME *t);
long long fl_cert_io_seconds_until(const ASN1_TIME *t, time_t now);
/* Whole days, towards minus infinity. */
long fl_cert_io_days(long long seconds);
/* "O = Flower FL, CN = Flower CA" (openssl's oneline form, control bytes escaped). */
char *fl_cert_io_name(const X509_NAME *n);
char *fl_cert_io_pem_certs(STACK_OF(X509) * certs, size_t *len);
/* PKCS#8, unencrypted; wipe the result with fl_cert_io_wipe_free. */
char *fl_cert_io_pem_key(EVP_PKEY *k, size_t *len);
/* base64 on one line (base64 -w0). */
char *fl_cert_io_b64(const char *data, size_t len);
bool fl_cert_io_key_matches(X509 *cert, EVP_PKEY *key);
/* "a, b, c" */
char *fl_cert_io_sans_join(const struct fl_sans *s);
/* Does path hold exactly these bytes? */
bool fl_cert_io_same(const char *path, const char *data, size_t len);

#endif
