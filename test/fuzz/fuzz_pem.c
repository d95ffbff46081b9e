/* fuzz_pem: libFuzzer target for fl-certgen's untrusted input path: base64 PEM values from the
 * context (FL_SSL_*) and OneGate (FL_CA_CERT), raw PEM files, OneGate KEY=VALUE lines. Every
 * input parses into sane objects or fails with a message, never crashes or leaks. */
#include "fuzz.h"
#include "fl_buf.h"
#include "fl_cert.h"

#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whatever parsed is used the way show, check and superlink use it. */
static void exercise(struct fl_pem *p)
{
	if (p->certs) {
		int n = sk_X509_num(p->certs);
		REQUIRE(n >= 1 && n <= FL_CERT_MAX_CHAIN);
		struct fl_sans want = FL_SANS_INIT, missing = FL_SANS_INIT;
		fl_cert_sans_add(&want, "DNS:localhost");
		fl_cert_sans_add(&want, "IP:192.0.2.10");
		fl_cert_sans_add(&want, "IP:fd00::2");
		for (int i = 0; i < n; i++) {
			X509 *x = sk_X509_value(p->certs, i);
			char fp[FL_CERT_FP_LEN], kd[64];
			fl_cert_fingerprint(x, fp);
			REQUIRE(strlen(fp) == 95);
			char *san = fl_cert_san_text(x);
			REQUIRE(san && !strchr(san, '\n'));
			free(san);
			EVP_PKEY *pk = X509_get0_pubkey(x);
			if (pk)
				fl_cert_key_desc(pk, kd, sizeof kd);
			fl_cert_san_missing(x, &want, &missing);
			REQUIRE(missing.n <= want.n);
			fl_cert_sans_free(&missing);
			(void)X509_check_ca(x);
		}
		char why[160];
		int verr;
		fl_cert_verify(sk_X509_value(p->certs, 0), p->certs, NULL, 1700000000, why, sizeof why,
		               &verr);
		fl_cert_sans_free(&want);
	}
	if (p->key) {
		char kd[64];
		fl_cert_key_desc(p->key, kd, sizeof kd);
		REQUIRE(strncmp(kd, "RSA ", 4) == 0 || strncmp(kd, "EC P-", 5) == 0);
	}
}

static void decode(const char *value, enum fl_pem_kind kind)
{
	struct fl_pem p;
	struct fl_err e;
	fl_err_clear(&e);
	int r = fl_cert_pem_decode(kind == FL_PEM_KEY ? "FL_SSL_KEYFILE" : "FL_SSL_CA_CERTFILE", value, kind,
	                           &p, &e);
	if (r < 0) {
		REQUIRE(r == -1 && e.code == FL_EXIT_FAIL && e.msg[0] && !p.certs && !p.key);
		return;
	}
	REQUIRE(kind == FL_PEM_KEY ? p.key && !p.certs : p.certs && !p.key);
	exercise(&p);
	fl_cert_pem_free(&p);
}

static void parse(const uint8_t *d, size_t n, enum fl_pem_kind kind)
{
	struct fl_pem p;
	struct fl_err e;
	fl_err_clear(&e);
	if (fl_cert_pem_parse("fuzz.pem", d, n, kind, &p, &e) < 0) {
		REQUIRE(e.msg[0] && !p.certs && !p.key);
		return;
	}
	exercise(&p);
	fl_cert_pem_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned mode = data[0] % 5;
	const uint8_t *d = data + 1;
	size_t n = size - 1;
	char *s = fl_xstrndup((const char *)d, n); /* a context value ends at the first NUL */
	switch (mode) {
	case 0: decode(s, FL_PEM_CERTS); break;
	case 1: decode(s, FL_PEM_KEY); break;
	case 2: {
		parse(d, n, FL_PEM_CERTS);
		parse(d, n, FL_PEM_KEY);
		/* What publish-ready publishes of a ca.crt passes what discover accepts. */
		char why[128], extra[160], *out = NULL;
		size_t olen = 0;
		struct fl_err e;
		fl_err_clear(&e);
		(void)fl_cert_pem_only_certs(d, n, why, sizeof why);
		if (fl_cert_pem_reencode("fuzz.pem", d, n, &out, &olen, extra, sizeof extra, &e) == 0) {
			REQUIRE(out && olen > 0);
			REQUIRE(fl_cert_pem_only_certs((const unsigned char *)out, olen, why, sizeof why) ==
			        0);
			free(out);
		} else {
			REQUIRE(!out && e.msg[0]);
		}
		break;
	}
	case 3: {
		struct fl_onegate_tls og;
		struct fl_err e;
		fl_err_clear(&e);
		if (fl_cert_onegate_parse((const char *)d, n, &og, &e) == 0) {
			REQUIRE(og.present);
			if (og.ca_cert)
				decode(og.ca_cert, FL_PEM_CERTS);
		} else {
			REQUIRE(e.msg[0] && !og.tls && !og.ca_cert);
		}
		fl_cert_onegate_free(&og);
		break;
	}
	default: {
		/* Raw bytes as the base64 value a careful operator would send: the whole path. */
		if (n <= FL_CERT_MAX_B64 / 2) {
			unsigned char *b = malloc(4 * ((n + 2) / 3) + 1);
			EVP_EncodeBlock(b, d, (int)n);
			decode((const char *)b, FL_PEM_CERTS);
			decode((const char *)b, FL_PEM_KEY);
			free(b);
		}
		break;
	}
	}
	free(s);
	return 0;
}
