/* fl_cert_load: PEM files of certificates or a key, loaded for checking (a missing or
 * unusable file is an answer, not an error). */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED

#include "fl_cert.h"

#include "fl_cert_io.h"

#include <stdio.h>
#include <stdlib.h>

/* The file at path, or why not (fl_cert_io_read's 1 and -1 as the enum). */
static enum fl_cert_load load_file(const char *path, char **buf, size_t *len, char *why, size_t whylen)
{
	struct fl_err e = {0};
	int r = fl_cert_io_read(path, buf, len, &e);
	snprintf(why, whylen, "%s", r < 0 ? e.msg : "");
	return r > 0 ? FL_CERT_ABSENT : r < 0 ? FL_CERT_UNUSABLE : FL_CERT_LOADED;
}

/* A file of PEM certificates / one key. */
enum fl_cert_load fl_cert_load_certs(const char *path, STACK_OF(X509) * *out, char **bytes, size_t *blen,
                                     char *why, size_t whylen)
{
	char *buf;
	size_t len;
	*out = NULL;
	enum fl_cert_load r = load_file(path, &buf, &len, why, whylen);
	if (r != FL_CERT_LOADED)
		return r;
	struct fl_err e = {0};
	struct fl_pem pem;
	if (fl_cert_pem_parse(path, (unsigned char *)buf, len, FL_PEM_CERTS, &pem, &e) < 0) {
		snprintf(why, whylen, "%s", e.msg);
		free(buf);
		return FL_CERT_UNUSABLE;
	}
	*out = pem.certs;
	if (bytes) {
		*bytes = buf;
		*blen = len;
	} else {
		free(buf);
	}
	return FL_CERT_LOADED;
}

enum fl_cert_load fl_cert_load_key(const char *path, EVP_PKEY **out, char *why, size_t whylen)
{
	char *buf;
	size_t len;
	*out = NULL;
	enum fl_cert_load r = load_file(path, &buf, &len, why, whylen);
	if (r != FL_CERT_LOADED)
		return r;
	struct fl_err e = {0};
	struct fl_pem pem;
	int pr = fl_cert_pem_parse(path, (unsigned char *)buf, len, FL_PEM_KEY, &pem, &e);
	fl_cert_io_wipe_free(buf, len);
	if (pr < 0) {
		snprintf(why, whylen, "%s", e.msg);
		return FL_CERT_UNUSABLE;
	}
	*out = pem.key;
	return FL_CERT_LOADED;
}
