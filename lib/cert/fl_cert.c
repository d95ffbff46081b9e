/* fl_cert: the certificate primitives: keys, issuing, SANs, fingerprints, chain checks and
 * the parsing of untrusted base64 PEM values. OpenSSL 3 EVP/X509 APIs, nothing deprecated. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED

#include "fl_cert.h"

#include "fl_b64.h"
#include "fl_buf.h"
#include "fl_cert_io.h"
#include "fl_check.h"
#include "fl_list.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	enum fl_key_type type;
} key_types[] = {
    {"p256", FL_KEY_P256},        {"ec", FL_KEY_P256},          {"ecdsa", FL_KEY_P256},
    {"ec:p256", FL_KEY_P256},     {"ec:p-256", FL_KEY_P256},    {"prime256v1", FL_KEY_P256},
    {"rsa", FL_KEY_RSA4096},      {"rsa:2048", FL_KEY_RSA2048}, {"rsa:3072", FL_KEY_RSA3072},
    {"rsa:4096", FL_KEY_RSA4096}, {"rsa2048", FL_KEY_RSA2048},  {"rsa3072", FL_KEY_RSA3072},
    {"rsa4096", FL_KEY_RSA4096},  {"p-256", FL_KEY_P256},       {"ecdsa:p256", FL_KEY_P256},
};

int fl_cert_key_type_parse(const char *s, enum fl_key_type *t)
{
	for (size_t i = 0; i < sizeof key_types / sizeof key_types[0]; i++)
		if (strcasecmp(s, key_types[i].name) == 0) {
			*t = key_types[i].type;
			return 0;
		}
	return -1;
}

const char *fl_cert_key_type_name(enum fl_key_type t)
{
	switch (t) {
	case FL_KEY_P256: return "EC P-256";
	case FL_KEY_RSA2048: return "RSA 2048";
	case FL_KEY_RSA3072: return "RSA 3072";
	case FL_KEY_RSA4096: return "RSA 4096";
	}
	return "?";
}

/* The first OpenSSL error as text (for messages that concern no secret). */
static const char *ssl_reason(void)
{
	unsigned long code = ERR_peek_last_error();
	const char *r = code ? ERR_reason_error_string(code) : NULL;
	return r ? r : "unknown OpenSSL error";
}

EVP_PKEY *fl_cert_keygen(enum fl_key_type t, struct fl_err *e)
{
	EVP_PKEY *k;
	switch (t) {
	case FL_KEY_RSA2048: k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048); break;
	case FL_KEY_RSA3072: k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072); break;
	case FL_KEY_RSA4096: k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096); break;
	default: k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"); break;
	}
	if (!k)
		fl_err_set(e, FL_EXIT_FAIL, "TLS certificate generation failed: cannot generate a %s key: %s",
		           fl_cert_key_type_name(t), ssl_reason());
	ERR_clear_error();
	return k;
}

void fl_cert_sans_free(struct fl_sans *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

static bool sans_has(const struct fl_sans *s, const char *entry)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcasecmp(s->v[i], entry) == 0)
			return true;
	return false;
}

void fl_cert_sans_add(struct fl_sans *s, const char *entry)
{
	if (sans_has(s, entry))
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = fl_xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = fl_xstrdup(entry);
}

int fl_cert_sans_build(const struct fl_addrs *addrs, const char *extra, struct fl_sans *out, struct fl_err *e)
{
	char buf[INET6_ADDRSTRLEN + 8];
	fl_cert_sans_add(out, "DNS:localhost");
	fl_cert_sans_add(out, "IP:127.0.0.1");
	fl_cert_sans_add(out, "IP:::1");
	for (size_t i = 0; addrs && i < addrs->n; i++) {
		snprintf(buf, sizeof buf, "IP:%s", addrs->v[i]);
		fl_cert_sans_add(out, buf);
	}
	if (!extra || !*extra)
		return 0;
	size_t count = 0;
	char *entry;
	for (const char *p = extra; (entry = fl_list_next(&p)) != NULL;) {
		if (!fl_check_san_entry(entry)) {
			fl_err_set(e, FL_EXIT_FAIL,
			           "Invalid FL_CERT_EXTRA_SAN entry: '%.100s'. Expected format: IP:<addr> or "
			           "DNS:<name>.",
			           entry);
			free(entry);
			return -1;
		}
		if (++count > FL_CERT_MAX_EXTRA_SAN) {
			free(entry);
			return fl_err_set(
			    e, FL_EXIT_FAIL,
			    "FL_CERT_EXTRA_SAN has more than %d entries; list only the names and "
			    "addresses SuperNodes use",
			    FL_CERT_MAX_EXTRA_SAN);
		}
		if (entry[0] == 'I') {
			char c[INET6_ADDRSTRLEN];
			fl_net_canonical(entry + 3, c, sizeof c);
			snprintf(buf, sizeof buf, "IP:%s", c);
			fl_cert_sans_add(out, buf);
		} else {
			fl_cert_sans_add(out, entry);
		}
		free(entry);
	}
	return 0;
}

/* Append an IA5 name, escaping anything that is not printable ASCII. */
static void add_ia5(struct fl_buf *b, const ASN1_STRING *s)
{
	const unsigned char *p = ASN1_STRING_get0_data(s);
	int n = ASN1_STRING_length(s);
	for (int i = 0; i < n && i < 512; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			fl_buf_addc(b, (char)p[i]);
		else
			fl_buf_addf(b, "\\x%02x", p[i]);
	}
}

/* One GENERAL_NAME as "DNS:x" / "IP:x"; false for other kinds. */
static bool general_name_text(const GENERAL_NAME *g, struct fl_buf *b)
{
	int type;
	void *v = GENERAL_NAME_get0_value(g, &type);
	if (type == GEN_DNS) {
		fl_buf_adds(b, "DNS:");
		add_ia5(b, v);
		return true;
	}
	if (type == GEN_IPADD) {
		const ASN1_OCTET_STRING *o = v;
		char text[INET6_ADDRSTRLEN];
		int len = ASN1_STRING_length(o);
		if ((len == 4 && inet_ntop(AF_INET, ASN1_STRING_get0_data(o), text, sizeof text)) ||
		    (len == 16 && inet_ntop(AF_INET6, ASN1_STRING_get0_data(o), text, sizeof text))) {
			fl_buf_addf(b, "IP:%s", text);
			return true;
		}
		fl_buf_adds(b, "IP:<malformed>");
		return true;
	}
	return false;
}

char *fl_cert_san_text(X509 *cert)
{
	struct fl_buf b = FL_BUF_INIT;
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		size_t before = b.len;
		if (b.len)
			fl_buf_adds(&b, ", ");
		if (!general_name_text(sk_GENERAL_NAME_value(gens, i), &b) && b.data) {
			b.len = before;
			b.data[b.len] = '\0';
		}
	}
	GENERAL_NAMES_free(gens);
	if (!b.data)
		fl_buf_adds(&b, "");
	return b.data;
}

void fl_cert_san_missing(X509 *cert, const struct fl_sans *want, struct fl_sans *missing)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (size_t w = 0; w < want->n; w++) {
		const char *entry = want->v[w];
		bool is_ip = strncmp(entry, "IP:", 3) == 0;
		unsigned char bin[16];
		int blen = 0;
		if (is_ip) {
			if (inet_pton(AF_INET, entry + 3, bin) == 1)
				blen = 4;
			else if (inet_pton(AF_INET6, entry + 3, bin) == 1)
				blen = 16;
		}
		bool found = false;
		for (int i = 0; gens && !found && i < sk_GENERAL_NAME_num(gens); i++) {
			int type;
			const ASN1_STRING *v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, i), &type);
			const unsigned char *d = ASN1_STRING_get0_data(v);
			int len = ASN1_STRING_length(v);
			if (is_ip && type == GEN_IPADD)
				found = blen && len == blen && memcmp(d, bin, (size_t)blen) == 0;
			else if (!is_ip && type == GEN_DNS)
				found = (size_t)len == strlen(entry + 4) &&
				        strncasecmp((const char *)d, entry + 4, (size_t)len) == 0;
		}
		if (!found)
			fl_cert_sans_add(missing, entry);
	}
	GENERAL_NAMES_free(gens);
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	if (!ext)
		return -1;
	int ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static int add_san(X509 *x, const struct fl_sans *sans)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	if (!gens)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sans->n; i++) {
		const char *s = sans->v[i];
		GENERAL_NAME *g = GENERAL_NAME_new();
		if (!g) {
			rc = -1;
			break;
		}
		if (strncmp(s, "IP:", 3) == 0) {
			ASN1_OCTET_STRING *o = a2i_IPADDRESS(s + 3);
			if (o)
				GENERAL_NAME_set0_value(g, GEN_IPADD, o);
			else
				rc = -1;
		} else if (strncmp(s, "DNS:", 4) == 0) {
			ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
			if (ia5 && ASN1_STRING_set(ia5, s + 4, (int)strlen(s + 4)))
				GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
			else {
				ASN1_IA5STRING_free(ia5);
				rc = -1;
			}
		} else {
			rc = -1;
		}
		if (rc == 0 && !sk_GENERAL_NAME_push(gens, g))
			rc = -1;
		if (rc < 0)
			GENERAL_NAME_free(g);
	}
	if (rc == 0 && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
		rc = -1;
	GENERAL_NAMES_free(gens);
	return rc;
}

static int set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int rc = -1;
	/* Exactly 128 bits, top bit set: always positive, always 16 bytes of entropy-bearing DER. */
	if (bn && BN_rand(bn, 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		rc = 0;
	BN_free(bn);
	return rc;
}

X509 *fl_cert_issue(const struct fl_cert_req *r, struct fl_err *e)
{
	bool ca = r->issuer == NULL;
	X509 *x = X509_new();
	const char *step = "allocate";
	if (!x)
		goto fail;
	step = "set the version, serial or validity of";
	if (!X509_set_version(x, X509_VERSION_3) || set_serial(x) < 0 ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), r->not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), r->not_after) || !X509_set_pubkey(x, r->key))
		goto fail;
	step = "name";
	X509_NAME *name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Flower FL", -1, -1,
	                                0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)r->cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, ca ? name : X509_get_subject_name(r->issuer)))
		goto fail;

	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, ca ? x : r->issuer, x, NULL, NULL, 0);
	step = "add the extensions to";
	bool rsa = EVP_PKEY_get_base_id(r->key) == EVP_PKEY_RSA;
	if (ca) {
		if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
		    add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") < 0)
			goto fail;
	} else {
		if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
		    add_ext(x, &ctx, NID_key_usage,
		            rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature") <
		        0 ||
		    add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") < 0 ||
		    (r->sans && add_san(x, r->sans) < 0))
			goto fail;
	}
	if (add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") < 0)
		goto fail;
	step = "sign";
	if (X509_sign(x, ca ? r->key : r->issuer_key, EVP_sha256()) <= 0)
		goto fail;
	ERR_clear_error();
	return x;
fail:
	fl_err_set(e, FL_EXIT_FAIL, "TLS certificate generation failed: cannot %s the %s certificate: %s",
	           step, ca ? "CA" : "server", ssl_reason());
	ERR_clear_error();
	X509_free(x);
	return NULL;
}

void fl_cert_fingerprint(X509 *cert, char out[FL_CERT_FP_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	out[0] = '\0';
	if (!X509_digest(cert, EVP_sha256(), md, &n) || n != 32)
		return;
	for (size_t i = 0; i < n; i++)
		snprintf(out + 3 * i, FL_CERT_FP_LEN - 3 * i, i + 1 < n ? "%02X:" : "%02X", md[i]);
}

int fl_cert_fingerprint_parse(const char *s, unsigned char out[32])
{
	size_t len = strlen(s);
	bool colons = len == 95;
	if (len != 64 && !colons)
		return -1;
	for (size_t i = 0, k = 0; i < 32; i++) {
		char hex[3] = {s[k], s[k + 1], '\0'};
		if (!isxdigit((unsigned char)hex[0]) || !isxdigit((unsigned char)hex[1]))
			return -1;
		out[i] = (unsigned char)strtoul(hex, NULL, 16);
		k += 2;
		if (colons && i < 31) {
			if (s[k] != ':')
				return -1;
			k++;
		}
	}
	return 0;
}

void fl_cert_key_desc(const EVP_PKEY *key, char *out, size_t outlen)
{
	int id = EVP_PKEY_get_base_id(key);
	if (id == EVP_PKEY_RSA) {
		snprintf(out, outlen, "RSA %d", EVP_PKEY_get_bits(key));
	} else if (id == EVP_PKEY_EC) {
		char group[64] = "";
		const char *nist = NULL;
		if (EVP_PKEY_get_group_name(key, group, sizeof group, NULL))
			nist = EC_curve_nid2nist(OBJ_txt2nid(group));
		snprintf(out, outlen, "EC %s", nist ? nist : *group ? group : "unknown curve");
	} else {
		const char *sn = OBJ_nid2sn(id);
		snprintf(out, outlen, "%s", sn && id != NID_undef ? sn : "unknown");
	}
}

int fl_cert_verify(X509 *leaf, STACK_OF(X509) * cas, STACK_OF(X509) * chain, time_t now, char *why,
                   size_t whylen, int *verr)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = 0, err = X509_V_ERR_UNSPECIFIED;
	if (st && ctx) {
		for (int i = 0; i < sk_X509_num(cas); i++)
			X509_STORE_add_cert(st, sk_X509_value(cas, i));
		if (X509_STORE_CTX_init(ctx, st, leaf, chain)) {
			X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
			X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
			ok = X509_verify_cert(ctx) == 1;
			err = X509_STORE_CTX_get_error(ctx);
		}
	}
	if (!ok && why)
		snprintf(why, whylen, "%s", X509_verify_cert_error_string(err));
	if (verr)
		*verr = ok ? X509_V_OK : err;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	ERR_clear_error();
	return ok ? 0 : -1;
}

/* Never prompt for a passphrase: an encrypted key is refused. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

void fl_cert_pem_free(struct fl_pem *p)
{
	sk_X509_pop_free(p->certs, X509_free);
	EVP_PKEY_free(p->key);
	memset(p, 0, sizeof *p);
}

static bool has(const unsigned char *p, size_t n, const char *needle)
{
	return memmem(p, n, needle, strlen(needle)) != NULL;
}

/* Number of "-----BEGIN ..." lines that mention what. */
static size_t count_begin(const unsigned char *p, size_t n, const char *what)
{
	static const char begin[] = "-----BEGIN ";
	size_t c = 0;
	for (const unsigned char *q = p;
	     (q = memmem(q, n - (size_t)(q - p), begin, sizeof begin - 1)) != NULL;) {
		q += sizeof begin - 1;
		size_t rest = n - (size_t)(q - p);
		const unsigned char *eol = memchr(q, '\n', rest);
		size_t line = eol ? (size_t)(eol - q) : rest;
		if (memmem(q, line, what, strlen(what)))
			c++;
	}
	return c;
}

/* RSA of 2048 bits or more, EC on a curve every TLS stack (gRPC's BoringSSL too) offers. */
static int key_acceptable(const char *name, EVP_PKEY *k, struct fl_err *e)
{
	char desc[64];
	fl_cert_key_desc(k, desc, sizeof desc);
	int id = EVP_PKEY_get_base_id(k);
	if (id == EVP_PKEY_RSA) {
		if (EVP_PKEY_get_bits(k) < 2048)
			return fl_err_set(
			    e, FL_EXIT_FAIL,
			    "%s holds an %s key; RSA keys need 2048 bits or more (TLS libraries refuse "
			    "shorter ones)",
			    name, desc);
	} else if (id == EVP_PKEY_EC) {
		if (strcmp(desc, "EC P-256") != 0 && strcmp(desc, "EC P-384") != 0 &&
		    strcmp(desc, "EC P-521") != 0)
			return fl_err_set(e, FL_EXIT_FAIL,
			                  "%s holds an %s key; EC keys must use P-256, P-384 or P-521", name,
			                  desc);
	} else {
		return fl_err_set(e, FL_EXIT_FAIL, "%s holds an %s key; use an RSA or EC (ECDSA) key", name,
		                  desc);
	}
	return 0;
}

static int parse_key(const char *name, const unsigned char *pem, size_t len, bool check, struct fl_pem *out,
                     struct fl_err *e)
{
	const char *bad = "does not contain a valid PEM private key";
	if (has(pem, len, "ENCRYPTED"))
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s %s: the key is encrypted; flkit needs it unencrypted (openssl pkey -in "
		                  "key.pem -out plain.pem) and protects it with the file mode",
		                  name, bad);
	size_t keys = count_begin(pem, len, "PRIVATE KEY");
	if (keys == 0 && has(pem, len, "-----BEGIN CERTIFICATE"))
		return fl_err_set(e, FL_EXIT_FAIL, "%s %s: it holds a certificate, not a private key", name,
		                  bad);
	if (keys > 1)
		return fl_err_set(e, FL_EXIT_FAIL, "%s %s: it holds %zu private keys; give exactly one", name,
		                  bad, keys);
	if (len > INT_MAX)
		return fl_err_set(e, FL_EXIT_FAIL, "%s %s", name, bad);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *k = bio ? PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL) : NULL;
	BIO_free(bio);
	ERR_clear_error();
	if (!k)
		return fl_err_set(e, FL_EXIT_FAIL, "%s %s%s", name, bad,
		                  keys ? ": the key block is truncated or corrupt"
		                       : ": no -----BEGIN PRIVATE KEY----- block");
	if (key_acceptable(name, k, e) < 0) {
		EVP_PKEY_free(k);
		return -1;
	}
	/* The consistency test `openssl rsa -check` does, for EC keys too. */
	/* Only for untrusted keys: on RSA-4096 it costs a third of a second (prime tests). */
	EVP_PKEY_CTX *pc = check ? EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL) : NULL;
	int ok = !check || (pc && EVP_PKEY_check(pc) == 1);
	EVP_PKEY_CTX_free(pc);
	ERR_clear_error();
	if (!ok) {
		EVP_PKEY_free(k);
		return fl_err_set(e, FL_EXIT_FAIL, "%s %s: the key fails its consistency check (corrupt key)",
		                  name, bad);
	}
	out->key = k;
	return 0;
}

static int parse_certs(const char *name, const unsigned char *pem, size_t len, struct fl_pem *out,
                       struct fl_err *e)
{
	const char *bad = "does not contain a valid PEM certificate";
	if (has(pem, len, "PRIVATE KEY"))
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s holds a private key; it must hold certificates only. Never put a key in a "
		    "certificate variable: the CA certificate is published",
		    name);
	if (!has(pem, len, "-----BEGIN CERTIFICATE-----") &&
	    !has(pem, len, "-----BEGIN X509 CERTIFICATE-----"))
		return fl_err_set(e, FL_EXIT_FAIL, "%s %s: %s", name, bad,
		                  has(pem, len, "CERTIFICATE REQUEST")
		                      ? "it is a certificate request (CSR), not a "
		                        "certificate"
		                      : "no -----BEGIN CERTIFICATE----- block");
	if (len > INT_MAX)
		return fl_err_set(e, FL_EXIT_FAIL, "%s %s", name, bad);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	STACK_OF(X509) *certs = sk_X509_new_null();
	int rc = 0;
	if (!bio || !certs) {
		rc = fl_err_set(e, FL_EXIT_FAIL, "%s: out of memory", name);
		goto out;
	}
	for (;;) {
		ERR_clear_error();
		X509 *x = PEM_read_bio_X509(bio, NULL, no_password, NULL);
		if (!x) {
			unsigned long err = ERR_peek_last_error();
			bool end =
			    ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
			if (!end || sk_X509_num(certs) == 0)
				rc = fl_err_set(e, FL_EXIT_FAIL,
				                "%s %s: certificate #%d is truncated or corrupt", name, bad,
				                sk_X509_num(certs) + 1);
			break;
		}
		if (sk_X509_num(certs) >= FL_CERT_MAX_CHAIN || !sk_X509_push(certs, x)) {
			X509_free(x);
			rc = fl_err_set(e, FL_EXIT_FAIL,
			                "%s holds more than %d certificates; give the chain only", name,
			                FL_CERT_MAX_CHAIN);
			break;
		}
	}
out:
	ERR_clear_error();
	BIO_free(bio);
	if (rc < 0)
		sk_X509_pop_free(certs, X509_free);
	else
		out->certs = certs;
	return rc;
}

static int pem_parse(const char *name, const unsigned char *pem, size_t len, enum fl_pem_kind kind,
                     bool check, struct fl_pem *out, struct fl_err *e)
{
	memset(out, 0, sizeof *out);
	const char *what = kind == FL_PEM_KEY ? "private key" : "certificate";
	if (len == 0)
		return fl_err_set(e, FL_EXIT_FAIL, "%s is empty; it must hold a PEM %s", name, what);
	if (memchr(pem, '\0', len) || !has(pem, len, "-----BEGIN "))
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s does not contain a valid PEM %s: it is %s, not PEM text (-----BEGIN ...); "
		    "convert DER with openssl x509 -inform der (or pkey -inform der) first",
		    name, what,
		    memchr(pem, '\0', len) || pem[0] == 0x30 ? "binary data" : "text without a PEM block");
	return kind == FL_PEM_KEY ? parse_key(name, pem, len, check, out, e)
	                          : parse_certs(name, pem, len, out, e);
}

int fl_cert_pem_parse(const char *name, const unsigned char *pem, size_t len, enum fl_pem_kind kind,
                      struct fl_pem *out, struct fl_err *e)
{
	return pem_parse(name, pem, len, kind, false, out, e);
}

/* Why s is not valid base64 (fl_b64_decode refused it). Key values are not quoted. */
static void b64_problem(const char *s, bool secret, char *why, size_t whylen)
{
	size_t data = 0, pad = 0;
	for (size_t i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		bool alpha = isalnum(c) || c == '+' || c == '/';
		if (!alpha) {
			if (secret || c < 0x21 || c > 0x7e)
				snprintf(why, whylen, "byte %zu is not in the base64 alphabet", i + 1);
			else
				snprintf(why, whylen, "byte %zu ('%c') is not in the base64 alphabet", i + 1,
				         c);
			return;
		}
		if (pad) {
			snprintf(why, whylen, "'=' padding appears before the end (byte %zu)", i + 1);
			return;
		}
		data++;
	}
	if ((data + pad) % 4 != 0 || pad > 2)
		snprintf(why, whylen,
		         "%zu base64 characters is not a multiple of 4: the value is truncated or lacks its "
		         "'=' padding",
		         data + pad);
	else
		snprintf(why, whylen, "it does not decode");
}

int fl_cert_pem_decode(const char *name, const char *b64, enum fl_pem_kind kind, struct fl_pem *out,
                       struct fl_err *e)
{
	memset(out, 0, sizeof *out);
	const char *what = kind == FL_PEM_KEY ? "private key" : "certificate";
	size_t n = strlen(b64);
	if (strspn(b64, " \t\r\n") == n)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s is empty; it must hold the base64-encoded PEM %s (base64 -w0 FILE)",
		                  name, what);
	if (n > FL_CERT_MAX_B64)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s does not contain a valid base64-encoded PEM %s: it is %zu bytes, more than the "
		    "%zu a PEM %s needs; check that it holds base64 -w0 of the PEM file",
		    name, what, n, FL_CERT_MAX_B64, what);
	if (strstr(b64, "-----BEGIN") || strstr(b64, "-----END"))
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "%s does not contain a valid base64-encoded PEM %s: it holds raw PEM text "
		                  "(-----BEGIN ...); encode the file first: base64 -w0 FILE",
		                  name, what);
	size_t len = 0;
	unsigned char *pem = fl_b64_decode(b64, &len);
	if (!pem) {
		char why[160];
		b64_problem(b64, kind == FL_PEM_KEY, why, sizeof why);
		return fl_err_set(e, FL_EXIT_FAIL, "%s does not contain a valid base64-encoded PEM %s: %s",
		                  name, what, why);
	}
	int rc = pem_parse(name, pem, len, kind, true, out, e);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

/* One line of p from *pos, without its line end, with blanks trimmed on both sides. */
static const unsigned char *next_line(const unsigned char *p, size_t n, size_t *pos, size_t *len)
{
	const unsigned char *line = p + *pos;
	const unsigned char *nl = memchr(line, '\n', n - *pos);
	size_t k = nl ? (size_t)(nl - line) : n - *pos;
	*pos += k + (nl ? 1 : 0);
	while (k && isspace(line[k - 1]))
		k--;
	while (k && isspace(line[0])) {
		line++;
		k--;
	}
	*len = k;
	return line;
}

static bool line_is(const unsigned char *line, size_t len, const char *s)
{
	return len == strlen(s) && memcmp(line, s, len) == 0;
}

int fl_cert_pem_only_certs(const unsigned char *pem, size_t len, char *why, size_t whylen)
{
	bool in = false;
	unsigned lineno = 0, certs = 0;
	for (size_t pos = 0; pos < len;) {
		size_t k;
		const unsigned char *line = next_line(pem, len, &pos, &k);
		lineno++;
		if (!in) {
			if (k == 0)
				continue;
			if (line_is(line, k, "-----BEGIN CERTIFICATE-----")) {
				in = true;
				continue;
			}
			if (k > 11 && memcmp(line, "-----BEGIN ", 11) == 0)
				snprintf(why, whylen, "line %u starts a %s block, not a certificate", lineno,
				         memmem(line, k, "PRIVATE KEY", 11) ? "private key"
				                                            : "non-certificate");
			else
				snprintf(why, whylen, "line %u is text outside a certificate block", lineno);
			return -1;
		}
		if (line_is(line, k, "-----END CERTIFICATE-----")) {
			in = false;
			certs++;
			continue;
		}
		for (size_t i = 0; i < k; i++) {
			if (!isalnum(line[i]) && line[i] != '+' && line[i] != '/' && line[i] != '=') {
				snprintf(why, whylen, "line %u, inside certificate %u, is not base64", lineno,
				         certs + 1);
				return -1;
			}
		}
	}
	if (in) {
		snprintf(why, whylen, "certificate %u has no -----END CERTIFICATE----- line", certs + 1);
		return -1;
	}
	if (!certs) {
		snprintf(why, whylen, "it holds no certificate");
		return -1;
	}
	return 0;
}

int fl_cert_pem_reencode(const char *name, const void *pem, size_t len, char **out, size_t *outlen,
                         char *extra, size_t extralen, struct fl_err *e)
{
	*out = NULL;
	*outlen = 0;
	extra[0] = '\0';
	if (len > INT_MAX)
		return fl_err_set(e, FL_EXIT_FAIL, "%s is too large to be a certificate file", name);
	if (fl_cert_pem_only_certs(pem, len, extra, extralen) == 0)
		extra[0] = '\0';
	/* PEM_read_bio_X509 passes over blocks of other types (a key) and text between blocks. */
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509 *x;
	while (bio && certs && sk_X509_num(certs) < FL_CERT_MAX_CHAIN &&
	       (x = PEM_read_bio_X509(bio, NULL, no_password, NULL)) != NULL)
		if (!sk_X509_push(certs, x))
			X509_free(x);
	BIO_free(bio);
	ERR_clear_error();
	int rc = 0;
	if (!certs || sk_X509_num(certs) == 0)
		rc = fl_err_set(e, FL_EXIT_FAIL,
		                "%s holds no readable PEM certificate; run fl-certgen superlink to "
		                "rewrite it",
		                name);
	else if (!(*out = fl_cert_io_pem_certs(certs, outlen)))
		rc = fl_err_set(e, FL_EXIT_FAIL, "%s: cannot encode its certificates as PEM", name);
	sk_X509_pop_free(certs, X509_free);
	return rc;
}
