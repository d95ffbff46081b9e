/* fl_s3_cred: S3 credentials from the AWS variables or a private credentials file. */
#include "fl_s3.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CRED_FILE_MAX 65536

void fl_s3_cred_wipe(struct fl_s3_cred *c)
{
	OPENSSL_cleanse(c, sizeof *c);
}

static int put(char *dst, size_t size, const char *v, size_t n, const char *what, const char *src,
               struct fl_err *e)
{
	if (n == 0 || n >= size)
		return fl_err_set(e, FL_EXIT_FAIL, "S3 credentials from %s: %s is %s (at most %zu bytes)",
		                  src, what, n == 0 ? "empty" : "too long", size - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
			return fl_err_set(
			    e, FL_EXIT_FAIL,
			    "S3 credentials from %s: %s holds a space or a byte outside printable "
			    "ASCII; copy the key again",
			    src, what);
	/* curl takes "ID:SECRET": an id with a colon would shift the secret. */
	if (strstr(what, "access_key_id") || strstr(what, "ACCESS_KEY_ID")) {
		if (memchr(v, ':', n))
			return fl_err_set(e, FL_EXIT_FAIL,
			                  "S3 credentials from %s: %s holds a ':'; copy the key "
			                  "id again",
			                  src, what);
	}
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

int fl_s3_cred_load(struct fl_s3_cred *c, struct fl_err *e)
{
	memset(c, 0, sizeof *c);
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *sec = getenv("AWS_SECRET_ACCESS_KEY");
	if (id && *id) {
		snprintf(c->source, sizeof c->source, "the environment");
		const char *tok = getenv("AWS_SESSION_TOKEN");
		if (!sec || !*sec)
			return fl_err_set(
			    e, FL_EXIT_FAIL,
			    "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both, or "
			    "neither to use the credentials file");
		if (put(c->id, sizeof c->id, id, strlen(id), "AWS_ACCESS_KEY_ID", c->source, e) < 0 ||
		    put(c->secret, sizeof c->secret, sec, strlen(sec), "AWS_SECRET_ACCESS_KEY", c->source,
		        e) < 0 ||
		    (tok && *tok &&
		     put(c->token, sizeof c->token, tok, strlen(tok), "AWS_SESSION_TOKEN", c->source, e) <
		         0)) {
			fl_s3_cred_wipe(c);
			return -1;
		}
		return 0;
	}
	const char *path = getenv("AWS_SHARED_CREDENTIALS_FILE"), *profile = getenv("AWS_PROFILE");
	char def[4096];
	if (!path || !*path) {
		const char *home = getenv("HOME");
		if (!home || !*home)
			return fl_err_set(
			    e, FL_EXIT_FAIL,
			    "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
			    "AWS_SHARED_CREDENTIALS_FILE (HOME is unset, so ~/.aws/credentials is unknown)");
		snprintf(def, sizeof def, "%s/.aws/credentials", home);
		path = def;
	}
	return fl_s3_cred_file(c, path, profile && *profile ? profile : "default", e);
}

static int check_file(int fd, const char *path, struct fl_err *e)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return fl_err_sys(e, errno, "S3 credentials file %s", path);
	if (!S_ISREG(st.st_mode))
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "S3 credentials file %s is not a regular file: point "
		                  "AWS_SHARED_CREDENTIALS_FILE at the file itself",
		                  path);
	if (st.st_uid != geteuid())
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "S3 credentials file %s is owned by uid %u, not by this user (uid %u): "
		                  "chown it to the user that runs fl-ckpt",
		                  path, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 077)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "S3 credentials file %s has mode %04o, readable by others: chmod 600 %s",
		                  path, (unsigned)(st.st_mode & 07777), path);
	if (st.st_size > CRED_FILE_MAX)
		return fl_err_set(e, FL_EXIT_FAIL, "S3 credentials file %s is larger than %d bytes", path,
		                  CRED_FILE_MAX);
	return 0;
}

static size_t trim(const char **s, size_t n)
{
	while (n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		n--;
	}
	while (n > 0 && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t' || (*s)[n - 1] == '\r'))
		n--;
	return n;
}

/* One "key = value" line of the chosen profile. */
static int take(struct fl_s3_cred *c, const char *line, size_t n, int lineno, struct fl_err *e)
{
	const char *eq = memchr(line, '=', n);
	if (!eq)
		return fl_err_set(e, FL_EXIT_FAIL, "S3 credentials file %s line %d: not 'key = value'",
		                  c->source, lineno);
	const char *k = line, *v = eq + 1;
	size_t kn = trim(&k, (size_t)(eq - line)), vn = trim(&v, n - (size_t)(eq - line) - 1);
	if (kn == 17 && memcmp(k, "aws_access_key_id", 17) == 0)
		return put(c->id, sizeof c->id, v, vn, "aws_access_key_id", c->source, e);
	if (kn == 21 && memcmp(k, "aws_secret_access_key", 21) == 0)
		return put(c->secret, sizeof c->secret, v, vn, "aws_secret_access_key", c->source, e);
	if (kn == 17 && memcmp(k, "aws_session_token", 17) == 0)
		return put(c->token, sizeof c->token, v, vn, "aws_session_token", c->source, e);
	return 0; /* region, output and the rest are the AWS CLI's */
}

static int parse(struct fl_s3_cred *c, const char *text, size_t len, const char *profile, struct fl_err *e)
{
	bool in = false, seen = false;
	int lineno = 0;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i), *line = text + i;
		size_t n = nl ? (size_t)(nl - line) : len - i;
		i += n + 1;
		lineno++;
		n = trim(&line, n);
		if (n == 0 || line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[') {
			if (line[n - 1] != ']')
				return fl_err_set(e, FL_EXIT_FAIL,
				                  "S3 credentials file %s line %d: a section "
				                  "header without ']'",
				                  c->source, lineno);
			const char *name = line + 1;
			size_t nn = trim(&name, n - 2);
			in = nn == strlen(profile) && memcmp(name, profile, nn) == 0;
			seen = seen || in;
		} else if (in && take(c, line, n, lineno, e) < 0) {
			return -1;
		}
	}
	if (!seen)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "S3 credentials file %s has no profile [%s]: add it, or set AWS_PROFILE to one "
		    "it has",
		    c->source, profile);
	if (!c->id[0] || !c->secret[0])
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "S3 credentials file %s: profile [%s] lacks aws_access_key_id or "
		                  "aws_secret_access_key",
		                  c->source, profile);
	return 0;
}

int fl_s3_cred_file(struct fl_s3_cred *c, const char *path, const char *profile, struct fl_err *e)
{
	memset(c, 0, sizeof *c);
	snprintf(c->source, sizeof c->source, "%s", path);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ELOOP)
			return fl_err_set(e, FL_EXIT_FAIL,
			                  "S3 credentials file %s is a symlink: point "
			                  "AWS_SHARED_CREDENTIALS_FILE at the file itself",
			                  path);
		return fl_err_sys(e, errno,
		                  "S3 credentials file %s cannot be opened (set AWS_ACCESS_KEY_ID "
		                  "and AWS_SECRET_ACCESS_KEY, or write the file, mode 600)",
		                  path);
	}
	char *buf = NULL;
	int rc = check_file(fd, path, e);
	if (rc == 0) {
		buf = malloc(CRED_FILE_MAX + 1);
		if (!buf)
			abort();
		ssize_t n = read(fd, buf, CRED_FILE_MAX + 1);
		if (n < 0)
			rc = fl_err_sys(e, errno, "S3 credentials file %s", path);
		else if (n > CRED_FILE_MAX)
			rc = fl_err_set(e, FL_EXIT_FAIL, "S3 credentials file %s is larger than %d bytes",
			                path, CRED_FILE_MAX);
		else
			rc = parse(c, buf, (size_t)n, profile, e);
		OPENSSL_cleanse(buf, CRED_FILE_MAX + 1);
		free(buf);
	}
	close(fd);
	if (rc < 0) {
		char src[sizeof c->source];
		memcpy(src, c->source, sizeof src);
		fl_s3_cred_wipe(c);
		memcpy(c->source, src, sizeof src);
	}
	return rc;
}
