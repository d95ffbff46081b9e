/* fl_cert_io: file, PEM and text helpers shared by the fl_cert_* sources; not a public API. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED

#include "fl_cert_io.h"

#include "fl_buf.h"
#include "fl_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *fl_cert_io_join(const char *dir, const char *name)
{
	struct fl_buf b = FL_BUF_INIT;
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	fl_buf_addf(&b, "%.*s/%s", (int)n, dir, name);
	return b.data;
}

void fl_cert_io_wipe_free(char *p, size_t n)
{
	if (p) {
		OPENSSL_cleanse(p, n);
		free(p);
	}
}

/* A regular file, not through a symlink: 0, 1 when absent, -1 (e) otherwise. */
int fl_cert_io_read(const char *path, char **buf, size_t *len, struct fl_err *e)
{
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		if (errno == ELOOP)
			return fl_err_set(e, FL_EXIT_FAIL, "%s is a symbolic link; refusing to follow it",
			                  path);
		return fl_err_sys(e, errno, "cannot open %s", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fl_err_set(e, FL_EXIT_FAIL, "%s is not a regular file", path);
	}
	struct fl_buf b = FL_BUF_INIT;
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || b.len + (size_t)(n > 0 ? n : 0) > FL_CERT_MAX_FILE) {
			int saved = n < 0 ? errno : EFBIG;
			close(fd);
			OPENSSL_cleanse(chunk, sizeof chunk);
			if (b.data)
				OPENSSL_cleanse(b.data, b.len);
			fl_buf_free(&b);
			return fl_err_sys(e, saved, "cannot read %s (at most %zu bytes)", path,
			                  FL_CERT_MAX_FILE);
		}
		if (n == 0)
			break;
		fl_buf_add(&b, chunk, (size_t)n);
	}
	OPENSSL_cleanse(chunk, sizeof chunk);
	close(fd);
	if (!b.data)
		fl_buf_add(&b, "", 0);
	*buf = b.data;
	*len = b.len;
	return 0;
}

int fl_cert_io_chown_error(struct fl_err *e, int err, const char *path, uid_t uid, gid_t gid)
{
	if (err == EPERM && geteuid() != 0)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "cannot give %s to the container owner %u:%u: changing an owner needs root; "
		    "run as root, or pass --owner %u:%u (your own UID:GID)",
		    path, (unsigned)uid, (unsigned)gid, (unsigned)geteuid(), (unsigned)getegid());
	return fl_err_sys(e, err, "cannot set the owner of %s", path);
}

/* Owner and mode of a kept file, set through a descriptor (never through a symlink). */
int fl_cert_io_fix_mode(const char *path, mode_t mode, uid_t uid, gid_t gid, struct fl_err *e)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fl_err_sys(e, errno, "cannot open %s to set its owner and mode", path);
	int rc = 0;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		rc = fl_err_set(e, FL_EXIT_FAIL, "%s is not a regular file", path);
	else if (st.st_nlink > 1)
		rc = fl_err_set(e, FL_EXIT_FAIL,
		                "%s has %lu hard links: another name of it may be a file elsewhere whose "
		                "owner and mode would change; refusing to touch it. Remove the other links "
		                "(or this file) and run again",
		                path, (unsigned long)st.st_nlink);
	else if ((st.st_mode & 07777) != mode && fchmod(fd, mode) < 0)
		rc = fl_err_sys(e, errno, "cannot set the mode of %s", path);
	else if (uid != FL_OWNER_KEEP && (st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0)
		rc = fl_cert_io_chown_error(e, errno, path, uid, gid);
	close(fd);
	return rc;
}

char *fl_cert_io_time(const ASN1_TIME *t)
{
	struct tm tm;
	char buf[32];
	if (!ASN1_TIME_to_tm(t, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return fl_xstrdup("?");
	return fl_xstrdup(buf);
}

long long fl_cert_io_seconds_until(const ASN1_TIME *t, time_t now)
{
	struct tm tm;
	if (!ASN1_TIME_to_tm(t, &tm))
		return 0;
	return (long long)timegm(&tm) - (long long)now;
}

long fl_cert_io_days(long long seconds)
{
	/* Whole days, rounded towards minus infinity: an expired certificate shows -1, not 0. */
	return (long)(seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400));
}

char *fl_cert_io_name(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	if (b && X509_NAME_print_ex(b, n, 0, XN_FLAG_ONELINE) >= 0) {
		char *p;
		long len = BIO_get_mem_data(b, &p);
		out = fl_xstrndup(p, len > 0 ? (size_t)len : 0);
	}
	BIO_free(b);
	return out ? out : fl_xstrdup("?");
}

char *fl_cert_io_pem_certs(STACK_OF(X509) * certs, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	bool ok = b != NULL;
	for (int i = 0; ok && i < sk_X509_num(certs); i++)
		ok = PEM_write_bio_X509(b, sk_X509_value(certs, i)) == 1;
	if (ok) {
		char *p;
		long n = BIO_get_mem_data(b, &p);
		out = fl_xstrndup(p, (size_t)n);
		*len = (size_t)n;
	}
	BIO_free(b);
	return out;
}

/* PKCS#8, unencrypted; the memory BIO is wiped when freed. */
char *fl_cert_io_pem_key(EVP_PKEY *k, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;
	if (b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1) {
		char *p;
		long n = BIO_get_mem_data(b, &p);
		out = fl_xstrndup(p, (size_t)n);
		*len = (size_t)n;
	}
	BIO_free(b);
	return out;
}

char *fl_cert_io_b64(const char *data, size_t len)
{
	if (len > INT_MAX / 2)
		return NULL;
	unsigned char *out = fl_xrealloc(NULL, 4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock(out, (const unsigned char *)data, (int)len);
	return (char *)out;
}

bool fl_cert_io_key_matches(X509 *cert, EVP_PKEY *key)
{
	bool ok = cert && key && EVP_PKEY_eq(X509_get0_pubkey(cert), key) == 1;
	ERR_clear_error();
	return ok;
}

char *fl_cert_io_sans_join(const struct fl_sans *s)
{
	struct fl_buf b = FL_BUF_INIT;
	for (size_t i = 0; i < s->n; i++)
		fl_buf_addf(&b, "%s%s", i ? ", " : "", s->v[i]);
	if (!b.data)
		fl_buf_adds(&b, "");
	return b.data;
}

/* Are the bytes of path exactly data? */
bool fl_cert_io_same(const char *path, const char *data, size_t len)
{
	char *buf;
	size_t n;
	if (fl_cert_io_read(path, &buf, &n, NULL) != 0 || !buf)
		return false;
	bool same = n == len && memcmp(buf, data, n) == 0;
	fl_cert_io_wipe_free(buf, n);
	return same;
}

const char *fl_cert_exposed(const char *path, uid_t owner, mode_t bad_bits, char *buf, size_t n)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return NULL; /* absent: nothing to trust yet */
	unsigned mode = (unsigned)(st.st_mode & 07777);
	if (S_ISLNK(st.st_mode))
		snprintf(buf, n, "%s is a symbolic link", path);
	else if (st.st_uid != geteuid() && (owner == FL_OWNER_KEEP || st.st_uid != owner))
		snprintf(buf, n, "%s is owned by UID %u (mode %04o), not by UID %u%s", path,
		         (unsigned)st.st_uid, mode, (unsigned)geteuid(),
		         owner == FL_OWNER_KEEP ? "" : " or the --owner");
	else if (st.st_mode & bad_bits)
		snprintf(buf, n, "%s has mode %04o (owner UID %u): %s can %s it", path, mode,
		         (unsigned)st.st_uid, (st.st_mode & 007 & bad_bits) ? "every user" : "its group",
		         (bad_bits & 044) && (st.st_mode & 044 & bad_bits) ? "read" : "write to");
	else
		return NULL;
	return buf;
}

int fl_cert_io_check_links(const char *path, struct fl_err *e)
{
	struct stat st;
	if (lstat(path, &st) < 0 || S_ISDIR(st.st_mode) || st.st_nlink <= 1)
		return 0;
	return fl_err_set(e, FL_EXIT_FAIL,
	                  "%s has %lu hard links: another name of it may be a file elsewhere whose owner "
	                  "and mode would change; refusing to touch it. Remove the other links (or "
	                  "this file) and run again",
	                  path, (unsigned long)st.st_nlink);
}
