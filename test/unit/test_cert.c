/* test_cert: fl_net (default-route interface and its addresses from /proc text), fl_cert
 * (issuing, extensions, SANs, fingerprints, chain checks, hostile base64 PEM, OneGate lines)
 * and fl_fileset (a set replaced as one, rolled back on failure). */
#include "fl_buf.h"
#include "fl_cert.h"
#include "fl_cert_io.h"
#include "fl_check.h"
#include "fl_fileset.h"
#include "fl_fs.h"
#include "fl_net.h"
#include "unit.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char root[] = "/tmp/test_cert.XXXXXX";

/* /proc/net/route with docker0 and two default routes; eth1 has the lower metric. */
static const char route4[] =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
    "eth0\t00000000\t010200C0\t0003\t0\t0\t200\t00000000\t0\t0\t0\n"
    "eth1\t00000000\t010A0A0A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";

static const char route4_docker_default[] =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "docker0\t00000000\t010011AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "eth0\t00000000\t010200C0\t0003\t0\t0\t500\t00000000\t0\t0\t0\n";

static const char route4_down[] =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t010200C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n";

static const char route6[] =
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n"
    "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 00000100 00000001 00000000 00000001     ens3\n"
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "fd000000000000000000000000000001 00000400 00000002 00000000 00000003     ens3\n";

static const char if_inet6[] = "00000000000000000000000000000001 01 80 10 80       lo\n"
                               "fd000000000000000000000000000002 04 40 00 80     eth0\n"
                               "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n"
                               "20010db8000000000000000000000099 04 40 00 01     eth0\n"
                               "20010db8000000000000000000000098 04 40 00 20     eth0\n"
                               "20010db8000000000000000000000097 04 40 00 08     eth0\n"
                               "20010db8000000000000000000000042 04 40 00 00     eth0\n"
                               "20010db8000000000000000000000077 05 40 00 80  docker0\n"
                               "garbage line\n";

static void test_net(void)
{
	char ifn[IF_NAMESIZE] = "";
	CHECK(fl_net_default_iface(route4, NULL, ifn) == 0, "a default route is found");
	CHECK_STR(ifn, "eth1", "the lowest metric wins, docker0's network route is ignored");
	CHECK(fl_net_default_iface(route4_docker_default, NULL, ifn) == 0, "docker0 default skipped");
	CHECK_STR(ifn, "eth0", "a default route through docker0 is never chosen");
	CHECK(fl_net_default_iface(route4_down, NULL, ifn) < 0, "a route that is not up does not count");
	CHECK(fl_net_default_iface(route4_down, route6, ifn) == 0, "IPv6 default route used without IPv4");
	CHECK_STR(ifn, "ens3", "the IPv6 default interface, not lo's unreachable route");
	CHECK(fl_net_default_iface(NULL, NULL, ifn) < 0, "no tables: no default route");
	CHECK(fl_net_default_iface("garbage\n\n\t\t\n", "x y z\n", ifn) < 0, "garbage: no default route");

	struct fl_addrs a = FL_ADDRS_INIT;
	fl_net_inet6_addrs(if_inet6, "eth0", &a);
	CHECK_INT(a.n, 2, "two usable IPv6 addresses on eth0");
	if (a.n == 2) {
		CHECK_STR(a.v[0], "fd00::2", "ULA kept, canonical form");
		CHECK_STR(a.v[1], "2001:db8::42",
		          "global kept; link-local, temporary, deprecated, dadfailed skipped");
	}
	fl_net_addrs_free(&a);

	struct fl_err e = {0};
	CHECK(fl_net_addrs_parse(&a, "192.0.2.2, fd00:0:0::2,192.0.2.2 2001:DB8::1", "test", &e) == 0,
	      "list parses");
	CHECK_INT(a.n, 3, "duplicates are dropped");
	if (a.n == 3) {
		CHECK_STR(a.v[1], "fd00::2", "IPv6 canonicalised");
		CHECK_STR(a.v[2], "2001:db8::1", "IPv6 lower-cased");
	}
	CHECK(fl_net_addrs_parse(&a, "192.0.2.300", "FLKIT_NET_ADDRS", &e) < 0, "bad IPv4 refused");
	CHECK(strstr(e.msg, "FLKIT_NET_ADDRS: '192.0.2.300'") != NULL, "message names the source and value");
	CHECK(fl_net_addrs_parse(&a, "fe80::1%eth0", "x", &e) < 0, "zone ids refused");
	CHECK(fl_net_addrs_parse(&a, "[::1]", "x", &e) < 0, "brackets refused");
	char longv[200];
	memset(longv, '1', sizeof longv - 1);
	longv[sizeof longv - 1] = '\0';
	CHECK(fl_net_addrs_parse(&a, longv, "x", &e) < 0, "oversized token refused");
	fl_net_addrs_free(&a);
	for (int i = 0; i < FL_NET_MAX_ADDRS + 5; i++) {
		char ip[32];
		snprintf(ip, sizeof ip, "10.0.%d.%d", i / 200, i % 200 + 1);
		fl_net_addrs_add(&a, ip, NULL);
	}
	CHECK_INT(a.n, FL_NET_MAX_ADDRS, "the address list is bounded");
	fl_net_addrs_free(&a);

	/* This machine: whatever it reports must be canonical, non-loopback, not link-local. */
	if (fl_net_vm_addrs(&a, ifn, &e) == 0) {
		bool ok = a.n > 0;
		for (size_t i = 0; i < a.n; i++) {
			char c[64];
			ok = ok && fl_net_canonical(a.v[i], c, sizeof c) == 0 && strcmp(c, a.v[i]) == 0 &&
			     strncmp(a.v[i], "127.", 4) != 0 && strncmp(a.v[i], "fe80", 4) != 0 &&
			     strcmp(a.v[i], "::1") != 0;
		}
		CHECK(ok, "this VM's addresses (%s: %zu) are canonical and usable", ifn, a.n);
	} else {
		CHECK(strstr(e.msg, "Cannot detect VM IP for certificate SAN") != NULL,
		      "no route: the spec's message");
	}
	fl_net_addrs_free(&a);
}

static void test_fingerprint_and_types(void)
{
	unsigned char fp[32];
	const char *hex = "F781C80CFE6BEE9413C7555E5BB1574A3B2233CB6FD804A957A9403F173C3C89";
	const char *colon =
	    "f7:81:c8:0c:fe:6b:ee:94:13:c7:55:5e:5b:b1:57:4a:3b:22:33:cb:6f:d8:04:a9:57:a9:40:3f:17:3c:3c:89";
	CHECK(fl_cert_fingerprint_parse(hex, fp) == 0 && fp[0] == 0xf7 && fp[31] == 0x89,
	      "64 hex digits parse");
	CHECK(fl_cert_fingerprint_parse(colon, fp) == 0 && fp[1] == 0x81, "colon pairs parse, any case");
	CHECK(fl_check_sha256(hex) && fl_check_sha256(colon), "the registry check agrees");
	const char *bad[] = {
	    "",
	    "F781",
	    "G781C80CFE6BEE9413C7555E5BB1574A3B2233CB6FD804A957A9403F173C3C89",
	    "F7:81C80CFE6BEE9413C7555E5BB1574A3B2233CB6FD804A957A9403F173C3C89",
	    "f7-81-c8-0c-fe-6b-ee-94-13-c7-55-5e-5b-b1-57-4a-3b-22-33-cb-6f-d8-04-a9-57-a9-40-3f-17-3c-3c-89",
	    "F781C80CFE6BEE9413C7555E5BB1574A3B2233CB6FD804A957A9403F173C3C8900"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(fl_cert_fingerprint_parse(bad[i], fp) < 0 && !fl_check_sha256(bad[i]),
		      "fingerprint '%.20s' refused", bad[i]);
	enum fl_key_type t;
	CHECK(fl_cert_key_type_parse("p256", &t) == 0 && t == FL_KEY_P256, "p256");
	CHECK(fl_cert_key_type_parse("RSA:4096", &t) == 0 && t == FL_KEY_RSA4096, "RSA:4096 (any case)");
	CHECK(fl_cert_key_type_parse("rsa:3072", &t) == 0 && t == FL_KEY_RSA3072, "rsa:3072");
	CHECK(fl_cert_key_type_parse("rsa:1024", &t) < 0, "rsa:1024 is not offered");
	CHECK(fl_cert_key_type_parse("ed25519", &t) < 0, "ed25519 is not offered");
}

static void test_sans(void)
{
	struct fl_addrs a = FL_ADDRS_INIT;
	struct fl_sans s = FL_SANS_INIT;
	struct fl_err e = {0};
	fl_net_addrs_parse(&a, "192.0.2.10,fd00::2", "t", &e);
	CHECK(fl_cert_sans_build(&a, " IP:10.10.9.0 , DNS:flower.example.com,IP:192.0.2.10,IP:FD00:0::9", &s,
	                         &e) == 0,
	      "SAN list builds");
	struct fl_buf b = FL_BUF_INIT;
	for (size_t i = 0; i < s.n; i++)
		fl_buf_addf(&b, "%s%s", i ? "," : "", s.v[i]);
	CHECK_STR(fl_buf_str(&b),
	          "DNS:localhost,IP:127.0.0.1,IP:::1,IP:192.0.2.10,IP:fd00::2,IP:10.10.9.0,DNS:flower."
	          "example.com,IP:"
	          "fd00::9",
	          "spec order, VM addresses, extras trimmed and canonical, duplicates once");
	fl_buf_free(&b);
	fl_cert_sans_free(&s);
	const char *bad[] = {"IP:999.1.1.1", "DNS:",       "DNS:a_b.example", "IP:10.0.0.1,",
	                     "URI:http://x", "DNS:-x.com", "IP:1.2.3.4/24",   "dns:lower.example"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK(fl_cert_sans_build(&a, bad[i], &s, &e) < 0 &&
		          strstr(e.msg, "Invalid FL_CERT_EXTRA_SAN entry"),
		      "extra SAN '%s' refused with the spec's message", bad[i]);
		fl_cert_sans_free(&s);
	}
	struct fl_buf many = FL_BUF_INIT;
	for (int i = 0; i < FL_CERT_MAX_EXTRA_SAN + 1; i++)
		fl_buf_addf(&many, "%sDNS:h%d.example", i ? "," : "", i);
	CHECK(fl_cert_sans_build(&a, fl_buf_str(&many), &s, &e) < 0 && strstr(e.msg, "more than"),
	      "too many extra SAN entries refused");
	fl_buf_free(&many);
	fl_cert_sans_free(&s);
	fl_net_addrs_free(&a);
}

static int ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);
	return i < 0 ? -1 : X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static X509 *make_ca(EVP_PKEY **key, time_t now, long days)
{
	*key = fl_cert_keygen(FL_KEY_P256, NULL);
	struct fl_cert_req r = {*key, NULL, NULL, "Flower CA", NULL, now - 3600, now + days * 86400};
	return fl_cert_issue(&r, NULL);
}

static void test_issue(void)
{
	time_t now = time(NULL);
	struct fl_err e = {0};
	EVP_PKEY *cakey, *other_key;
	X509 *ca = make_ca(&cakey, now, 3650), *other = make_ca(&other_key, now, 3650);
	CHECK(ca && other, "CA certificates issue");
	if (!ca || !other)
		return;
	CHECK(X509_check_ca(ca) == 1, "CA:TRUE");
	CHECK_INT(ext_critical(ca, NID_basic_constraints), 1, "CA basicConstraints critical");
	CHECK_INT(ext_critical(ca, NID_key_usage), 1, "CA keyUsage critical");
	CHECK((X509_get_key_usage(ca) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) ==
	              (KU_KEY_CERT_SIGN | KU_CRL_SIGN) &&
	          (X509_get_key_usage(ca) & KU_DIGITAL_SIGNATURE) == 0,
	      "CA keyUsage is keyCertSign, cRLSign only");
	CHECK_INT(ext_critical(ca, NID_ext_key_usage), -1, "CA has no extendedKeyUsage");
	CHECK_INT(ext_critical(ca, NID_subject_alt_name), -1, "CA has no SAN");
	CHECK(X509_check_issued(ca, ca) == X509_V_OK, "CA is self-issued");

	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(ca), NULL);
	CHECK(bn && BN_num_bits(bn) == 128 && !BN_is_negative(bn), "serial is positive and exactly 128 bits");
	BN_free(bn);
	CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca), X509_get0_serialNumber(other)) != 0,
	      "serials differ");

	struct fl_addrs a = FL_ADDRS_INIT;
	struct fl_sans s = FL_SANS_INIT;
	fl_net_addrs_parse(&a, "192.0.2.10", "t", &e);
	fl_cert_sans_build(&a, "DNS:flower.example.com", &s, &e);
	EVP_PKEY *k = fl_cert_keygen(FL_KEY_RSA2048, &e);
	struct fl_cert_req r = {k, ca, cakey, "192.0.2.10", &s, now - 3600, now + 365L * 86400};
	X509 *leaf = fl_cert_issue(&r, &e);
	CHECK(leaf != NULL, "server certificate issues");
	if (leaf) {
		CHECK(X509_check_ca(leaf) == 0, "leaf CA:FALSE");
		CHECK_INT(ext_critical(leaf, NID_basic_constraints), 1, "leaf basicConstraints critical");
		CHECK_INT(X509_get_key_usage(leaf), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT,
		          "RSA leaf: digitalSignature + keyEncipherment");
		CHECK_INT(X509_get_extended_key_usage(leaf), XKU_SSL_SERVER, "leaf EKU serverAuth only");
		CHECK_INT(X509_get_ext_count(leaf), 6, "leaf has exactly bC, KU, EKU, SAN, SKI, AKI");
		CHECK_INT(X509_get_signature_nid(leaf), NID_ecdsa_with_SHA256,
		          "signed by the EC CA with SHA-256");
		const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(leaf),
		                        *ski = X509_get0_subject_key_id(ca);
		CHECK(aki && ski && ASN1_OCTET_STRING_cmp(aki, ski) == 0, "leaf AKI = CA SKI");
		char *san = fl_cert_san_text(leaf);
		CHECK_STR(san, "DNS:localhost, IP:127.0.0.1, IP:::1, IP:192.0.2.10, DNS:flower.example.com",
		          "SAN text");
		free(san);

		STACK_OF(X509) *cas = sk_X509_new_null(), *wrong = sk_X509_new_null();
		sk_X509_push(cas, ca);
		sk_X509_push(wrong, other);
		char why[160];
		int verr;
		CHECK(fl_cert_verify(leaf, cas, NULL, now, why, sizeof why, &verr) == 0,
		      "chain verifies (sslserver)");
		CHECK(fl_cert_verify(leaf, wrong, NULL, now, why, sizeof why, &verr) < 0 &&
		          verr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
		      "another CA: unable to get issuer (%s)", why);
		CHECK(fl_cert_verify(leaf, cas, NULL, now + 400L * 86400, why, sizeof why, &verr) < 0 &&
		          verr == X509_V_ERR_CERT_HAS_EXPIRED,
		      "a year later: expired");
		CHECK(fl_cert_verify(leaf, cas, NULL, now - 86400, why, sizeof why, &verr) < 0 &&
		          verr == X509_V_ERR_CERT_NOT_YET_VALID,
		      "before issue: not yet valid");
		sk_X509_free(cas);
		sk_X509_free(wrong);

		struct fl_sans want = FL_SANS_INIT, missing = FL_SANS_INIT;
		fl_cert_sans_add(&want, "IP:192.0.2.10");
		fl_cert_sans_add(&want, "IP:0:0:0:0:0:0:0:1");
		fl_cert_sans_add(&want, "DNS:FLOWER.example.COM");
		fl_cert_sans_add(&want, "IP:192.0.2.11");
		fl_cert_sans_add(&want, "DNS:other.example");
		fl_cert_san_missing(leaf, &want, &missing);
		CHECK(missing.n == 2 && strcmp(missing.v[0], "IP:192.0.2.11") == 0 &&
		          strcmp(missing.v[1], "DNS:other.example") == 0,
		      "SAN coverage: IPs as addresses, names without case");
		fl_cert_sans_free(&want);
		fl_cert_sans_free(&missing);

		char fp[FL_CERT_FP_LEN], kd[32];
		fl_cert_fingerprint(leaf, fp);
		CHECK(strlen(fp) == 95 && fl_check_sha256(fp), "fingerprint in openssl's form");
		fl_cert_key_desc(k, kd, sizeof kd);
		CHECK_STR(kd, "RSA 2048", "key description RSA");
		fl_cert_key_desc(cakey, kd, sizeof kd);
		CHECK_STR(kd, "EC P-256", "key description EC");
	}
	X509_free(leaf);
	EVP_PKEY_free(k);
	fl_cert_sans_free(&s);
	fl_net_addrs_free(&a);
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(other_key);
}

static char *b64(const char *data, size_t n)
{
	unsigned char *out = malloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock(out, (const unsigned char *)data, (int)n);
	return (char *)out;
}

static char *pem_cert(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	char *p;
	long n = BIO_get_mem_data(b, &p);
	char *out = fl_xstrndup(p, (size_t)n);
	BIO_free(b);
	return out;
}

static char *pem_key(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	char *p;
	long n = BIO_get_mem_data(b, &p);
	char *out = fl_xstrndup(p, (size_t)n);
	BIO_free(b);
	return out;
}

/* Expect decode to fail with a message holding want. */
static void refused(const char *value, enum fl_pem_kind kind, const char *want, const char *what)
{
	struct fl_pem p;
	struct fl_err e = {0};
	int r = fl_cert_pem_decode("FL_SSL_X", value, kind, &p, &e);
	if (!CHECK(r < 0 && strstr(e.msg, want), "%s: refused with '%s'", what, want))
		unit_show("message", e.msg, 300);
	if (r == 0)
		fl_cert_pem_free(&p);
}

static void test_pem_decode(void)
{
	time_t now = time(NULL);
	EVP_PKEY *cakey;
	X509 *ca = make_ca(&cakey, now, 10);
	char *cert = pem_cert(ca), *key = pem_key(cakey);
	char *cert64 = b64(cert, strlen(cert)), *key64 = b64(key, strlen(key));
	struct fl_pem p;
	struct fl_err e = {0};
	CHECK(fl_cert_pem_decode("FL_SSL_CA_CERTFILE", cert64, FL_PEM_CERTS, &p, &e) == 0 &&
	          sk_X509_num(p.certs) == 1,
	      "a base64 PEM certificate decodes");
	fl_cert_pem_free(&p);
	CHECK(fl_cert_pem_decode("FL_SSL_KEYFILE", key64, FL_PEM_KEY, &p, &e) == 0 && p.key,
	      "a base64 PEM key decodes");
	fl_cert_pem_free(&p);

	/* Line-wrapped base64 (base64 without -w0) is accepted, as GNU base64 -d does. */
	struct fl_buf wrapped = FL_BUF_INIT;
	for (size_t i = 0; i < strlen(cert64); i += 76)
		fl_buf_addf(&wrapped, "%.76s\r\n", cert64 + i);
	CHECK(fl_cert_pem_decode("X", fl_buf_str(&wrapped), FL_PEM_CERTS, &p, &e) == 0,
	      "wrapped base64 decodes");
	fl_cert_pem_free(&p);
	fl_buf_free(&wrapped);

	refused("", FL_PEM_CERTS, "is empty", "empty");
	refused(" \n\t", FL_PEM_CERTS, "is empty", "blank");
	refused(cert, FL_PEM_CERTS, "raw PEM text", "raw PEM");
	refused("!!!!", FL_PEM_CERTS, "byte 1 ('!') is not in the base64 alphabet", "bad alphabet");
	refused("QUJD\x01QUJD", FL_PEM_CERTS, "byte 5 is not in the base64 alphabet",
	        "control byte, not echoed");
	refused("QUJD$QUJD", FL_PEM_KEY, "byte 5 is not in the base64 alphabet",
	        "key: the byte is not echoed");
	refused("QQ==QUJD", FL_PEM_CERTS, "'=' padding appears before the end", "padding in the middle");
	char *cut = fl_xstrndup(cert64, strlen(cert64) - 3);
	refused(cut, FL_PEM_CERTS, "not a multiple of 4", "truncated base64");
	free(cut);
	char *half = b64(cert, strlen(cert) / 2);
	refused(half, FL_PEM_CERTS, "certificate #1 is truncated or corrupt", "truncated PEM");
	free(half);
	char *hello = b64("hello world\n", 12);
	refused(hello, FL_PEM_CERTS, "text without a PEM block", "plain text");
	free(hello);
	unsigned char *der = NULL;
	int dlen = i2d_X509(ca, &der);
	char *der64 = b64((const char *)der, (size_t)dlen);
	refused(der64, FL_PEM_CERTS, "binary data", "DER instead of PEM");
	free(der64);
	OPENSSL_free(der);
	refused(key64, FL_PEM_CERTS, "holds a private key", "a key where a certificate belongs");
	refused(cert64, FL_PEM_KEY, "it holds a certificate, not a private key",
	        "a certificate where a key belongs");
	struct fl_buf two = FL_BUF_INIT;
	fl_buf_adds(&two, key);
	fl_buf_adds(&two, key);
	char *two64 = b64(two.data, two.len);
	refused(two64, FL_PEM_KEY, "holds 2 private keys", "two keys");
	free(two64);
	fl_buf_free(&two);
	const char enc[] =
	    "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
	char *enc64 = b64(enc, sizeof enc - 1);
	refused(enc64, FL_PEM_KEY, "encrypted", "encrypted key");
	free(enc64);
	const char csr[] = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n";
	char *csr64 = b64(csr, sizeof csr - 1);
	refused(csr64, FL_PEM_CERTS, "certificate request", "a CSR");
	free(csr64);
	const char junk[] = "-----BEGIN CERTIFICATE-----\nAAAAAAAAAAAA\n-----END CERTIFICATE-----\n";
	char *junk64 = b64(junk, sizeof junk - 1);
	refused(junk64, FL_PEM_CERTS, "truncated or corrupt", "garbage DER inside PEM armour");
	free(junk64);
	/* A corrupt second certificate in a bundle is not silently dropped. */
	struct fl_buf bundle = FL_BUF_INIT;
	fl_buf_adds(&bundle, cert);
	fl_buf_adds(&bundle, junk);
	char *bundle64 = b64(bundle.data, bundle.len);
	refused(bundle64, FL_PEM_CERTS, "certificate #2 is truncated or corrupt",
	        "corrupt second certificate");
	free(bundle64);
	fl_buf_reset(&bundle);
	for (int i = 0; i <= FL_CERT_MAX_CHAIN; i++)
		fl_buf_adds(&bundle, cert);
	bundle64 = b64(bundle.data, bundle.len);
	refused(bundle64, FL_PEM_CERTS, "more than 16 certificates", "oversized bundle");
	free(bundle64);
	fl_buf_free(&bundle);
	char *big = malloc(FL_CERT_MAX_B64 + 2);
	memset(big, 'A', FL_CERT_MAX_B64 + 1);
	big[FL_CERT_MAX_B64 + 1] = '\0';
	refused(big, FL_PEM_CERTS, "more than the 131072", "oversized value");
	free(big);

	/* Keys TLS stacks refuse. */
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *bad[] = {small, k1, ed};
	const char *want[] = {"2048 bits or more", "P-256, P-384 or P-521", "use an RSA or EC"};
	for (int i = 0; i < 3; i++) {
		if (!bad[i]) {
			SKIP("key type unavailable", "weak key %d", i);
			continue;
		}
		char *kp = pem_key(bad[i]), *k64 = b64(kp, strlen(kp));
		refused(k64, FL_PEM_KEY, want[i], want[i]);
		free(kp);
		free(k64);
		EVP_PKEY_free(bad[i]);
	}
	/* An EC key whose public point is another key's: parses, fails the consistency check. */
	EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
	         *b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	unsigned char pub[128];
	size_t publen = 0;
	BIGNUM *priv = NULL;
	EVP_PKEY *mixed = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	if (a && b && bld &&
	    EVP_PKEY_get_octet_string_param(a, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &publen) &&
	    EVP_PKEY_get_bn_param(b, OSSL_PKEY_PARAM_PRIV_KEY, &priv) &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, publen) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)) {
		OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
		EVP_PKEY_CTX *fc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		if (fc && EVP_PKEY_fromdata_init(fc) == 1)
			EVP_PKEY_fromdata(fc, &mixed, EVP_PKEY_KEYPAIR, params);
		EVP_PKEY_CTX_free(fc);
		OSSL_PARAM_free(params);
	}
	if (mixed) {
		char *mp = pem_key(mixed), *m64 = b64(mp, strlen(mp));
		refused(m64, FL_PEM_KEY, "fails its consistency check", "an inconsistent EC key");
		struct fl_pem raw;
		CHECK(fl_cert_pem_parse("server.key", (unsigned char *)mp, strlen(mp), FL_PEM_KEY, &raw,
		                        &e) == 0,
		      "files fl-certgen wrote are only parsed (no costly check)");
		fl_cert_pem_free(&raw);
		free(mp);
		free(m64);
	} else {
		SKIP("cannot build a mixed EC key", "an inconsistent EC key");
		SKIP("cannot build a mixed EC key", "files are only parsed");
	}
	EVP_PKEY_free(mixed);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	BN_free(priv);
	OSSL_PARAM_BLD_free(bld);

	free(cert);
	free(key);
	free(cert64);
	free(key64);
	X509_free(ca);
	EVP_PKEY_free(cakey);
}

static void test_onegate(void)
{
	struct fl_onegate_tls og;
	struct fl_err e = {0};
	const char ok[] = "# from fl-onegate\r\nFL_SUPERLINK_ADDRESS=192.0.2.10:9092\r\nFL_TLS=YES\n\n  "
	                  "FL_CA_CERT=\"QUJD\"\n"
	                  "FL_VERSION=1.25.0";
	CHECK(fl_cert_onegate_parse(ok, sizeof ok - 1, &og, &e) == 0, "OneGate lines parse");
	CHECK_STR(og.tls, "YES", "FL_TLS read, CR stripped");
	CHECK_STR(og.ca_cert, "QUJD", "FL_CA_CERT read, quotes stripped");
	fl_cert_onegate_free(&og);
	CHECK(fl_cert_onegate_parse("FL_TLS=\nFL_CA_CERT=\n", 20, &og, &e) == 0 && og.present && og.tls &&
	          !*og.tls && og.ca_cert && !*og.ca_cert,
	      "empty values are present but empty");
	fl_cert_onegate_free(&og);
	CHECK(fl_cert_onegate_parse("", 0, &og, &e) == 0 && og.present && !og.tls,
	      "no lines: OneGate without values");
	fl_cert_onegate_free(&og);
	struct {
		const char *in;
		size_t n;
		const char *want;
	} bad[] = {
	    {"FL_TLS=YES\nFL_TLS=NO\n", 21, "gives FL_TLS twice (line 2)"},
	    {"FL_TLS=YES\0FL_CA_CERT=x", 23, "NUL byte"},
	    {"FL_TLS YES\n", 11, "line 1 is not ATTRIBUTE=VALUE"},
	    {"fl_tls=YES\n", 11, "line 1 is not ATTRIBUTE=VALUE"},
	    {"=YES\n", 5, "line 1 is not ATTRIBUTE=VALUE"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = fl_cert_onegate_parse(bad[i].in, bad[i].n, &og, &e);
		CHECK(r < 0 && strstr(e.msg, bad[i].want), "hostile OneGate data %zu: %s", i, bad[i].want);
		fl_cert_onegate_free(&og);
	}
	size_t n = (1u << 20) + 1;
	char *huge = malloc(n);
	memset(huge, 'A', n);
	CHECK(fl_cert_onegate_parse(huge, n, &og, &e) < 0 && strstr(e.msg, "more than"),
	      "oversized OneGate data");
	fl_cert_onegate_free(&og);
	free(huge);
}

static char *path(const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", root, name) < 0)
		abort();
	return p;
}

static char *slurp(const char *name)
{
	char *p = path(name), *buf = NULL;
	size_t len;
	if (fl_fs_read(p, 1 << 20, &buf, &len, NULL) < 0)
		buf = NULL;
	free(p);
	return buf;
}

static char *listing(void)
{
	struct fl_buf b = FL_BUF_INIT;
	DIR *d = opendir(root);
	struct dirent *de;
	char *names[32];
	size_t n = 0;
	while (d && (de = readdir(d)) && n < 32)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			names[n++] = fl_xstrdup(de->d_name);
	if (d)
		closedir(d);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0) {
				char *t = names[i];
				names[i] = names[j];
				names[j] = t;
			}
	for (size_t i = 0; i < n; i++) {
		fl_buf_addf(&b, "%s%s", i ? " " : "", names[i]);
		free(names[i]);
	}
	if (!b.data)
		fl_buf_adds(&b, "");
	return b.data;
}

static void test_fileset(void)
{
	char *a = path("a"), *b = path("b"), *c = path("c");
	struct fl_err e = {0};
	fl_fs_write_atomic(a, "old-a", 5, 0644, FL_OWNER_KEEP, (gid_t)-1, &e);
	fl_fs_write_atomic(b, "old-b", 5, 0600, FL_OWNER_KEEP, (gid_t)-1, &e);
	struct fl_fileset s = FL_FILESET_INIT;
	CHECK(fl_fileset_stage(&s, a, "new-a", 5, 0644, FL_OWNER_KEEP, (gid_t)-1, &e) == 0 &&
	          fl_fileset_stage(&s, b, "new-b", 5, 0600, FL_OWNER_KEEP, (gid_t)-1, &e) == 0 &&
	          fl_fileset_stage(&s, c, "new-c", 5, 0640, FL_OWNER_KEEP, (gid_t)-1, &e) == 0,
	      "three files staged");
	char *ra = slurp("a");
	CHECK_STR(ra, "old-a", "staging leaves the target alone");
	free(ra);
	CHECK(fl_fileset_commit(&s, &e) == 0, "commit");
	fl_fileset_free(&s);
	char *rb = slurp("b"), *rc = slurp("c"), *l = listing();
	CHECK_STR(rb, "new-b", "b replaced");
	CHECK_STR(rc, "new-c", "c created");
	CHECK_STR(l, "a b c", "no staging or backup file remains");
	struct stat st;
	CHECK(stat(c, &st) == 0 && (st.st_mode & 07777) == 0640, "mode applied");
	free(rb);
	free(rc);
	free(l);

	/* c becomes a directory: the commit fails at c and a, b get their content back. */
	unlink(c);
	mkdir(c, 0700);
	CHECK(fl_fileset_stage(&s, a, "xxx-a", 5, 0644, FL_OWNER_KEEP, (gid_t)-1, &e) == 0 &&
	          fl_fileset_stage(&s, b, "xxx-b", 5, 0600, FL_OWNER_KEEP, (gid_t)-1, &e) == 0 &&
	          fl_fileset_stage(&s, c, "xxx-c", 5, 0644, FL_OWNER_KEEP, (gid_t)-1, &e) == 0,
	      "staged over a directory");
	CHECK(fl_fileset_commit(&s, &e) < 0 && strstr(e.msg, c), "commit fails naming %s", c);
	fl_fileset_free(&s);
	ra = slurp("a");
	rb = slurp("b");
	l = listing();
	CHECK_STR(ra, "new-a", "a rolled back");
	CHECK_STR(rb, "new-b", "b rolled back");
	CHECK_STR(l, "a b c", "rollback leaves no staging or backup file");
	free(ra);
	free(rb);
	free(l);
	rmdir(c);

	/* A staged file that is never committed disappears with the set. */
	CHECK(fl_fileset_stage(&s, c, "zzz", 3, 0644, FL_OWNER_KEEP, (gid_t)-1, &e) == 0, "stage only");
	fl_fileset_free(&s);
	l = listing();
	CHECK_STR(l, "a b", "an aborted stage leaves nothing");
	free(l);

	/* Leftovers of a killed run are removed; look-alikes are not. */
	const char *junk[] = {".a.fl-new",         ".a.fl-prev", ".a.Xy12Zq",
	                      "..a.fl-new.Ab3dEf", ".a.keepme1", ".ab.fl-new"};
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
		char *p = path(junk[i]);
		fl_fs_write_atomic(p, "j", 1, 0600, FL_OWNER_KEEP, (gid_t)-1, &e);
		free(p);
	}
	fl_fileset_clean(a);
	l = listing();
	CHECK_STR(l, ".a.keepme1 .ab.fl-new a b", "only a's leftovers are removed");
	free(l);
	const char *rest[] = {".a.keepme1", ".ab.fl-new", "a", "b"};
	for (size_t i = 0; i < 4; i++) {
		char *p = path(rest[i]);
		unlink(p);
		free(p);
	}
	free(a);
	free(b);
	free(c);
}

/* Only certificate blocks pass; the first offending line is named, never quoted. */
static void test_only_certs(void)
{
	struct fl_err e = {0};
	EVP_PKEY *k = fl_cert_keygen(FL_KEY_P256, &e);
	struct fl_cert_req r = {k, NULL, NULL, "Unit CA", NULL, time(NULL) - 60, time(NULL) + 86400};
	X509 *ca = fl_cert_issue(&r, &e);
	STACK_OF(X509) *one = sk_X509_new_null();
	sk_X509_push(one, ca);
	size_t clen = 0, klen = 0;
	char *cert = fl_cert_io_pem_certs(one, &clen), *key = fl_cert_io_pem_key(k, &klen);
	char why[128];
	struct fl_buf b = FL_BUF_INIT;
	fl_buf_addf(&b, "\n%s\n%s", cert, cert);
	CHECK(fl_cert_pem_only_certs((unsigned char *)b.data, b.len, why, sizeof why) == 0,
	      "two certificates and blank lines pass");
	fl_buf_free(&b);
	fl_buf_addf(&b, "%s%s", cert, key);
	CHECK(fl_cert_pem_only_certs((unsigned char *)b.data, b.len, why, sizeof why) < 0 &&
	          strstr(why, "starts a private key block") && !strstr(why, "MII"),
	      "a key after the certificate is named as a key: %s", why);
	char extra[160], *out = NULL;
	size_t olen = 0;
	CHECK(fl_cert_pem_reencode("ca.crt", b.data, b.len, &out, &olen, extra, sizeof extra, &e) == 0 &&
	          olen == clen && memcmp(out, cert, clen) == 0 && *extra,
	      "re-encoding keeps the certificate alone and says there was more");
	free(out);
	fl_cert_io_wipe_free(b.data, b.len);
	b = (struct fl_buf)FL_BUF_INIT;
	fl_buf_addf(&b, "# comment\n%s", cert);
	CHECK(fl_cert_pem_only_certs((unsigned char *)b.data, b.len, why, sizeof why) < 0 &&
	          strcmp(why, "line 1 is text outside a certificate block") == 0,
	      "a comment before: %s", why);
	fl_buf_free(&b);
	fl_buf_addf(&b, "%.*s", (int)(clen - 26), cert);
	CHECK(fl_cert_pem_only_certs((unsigned char *)b.data, b.len, why, sizeof why) < 0 &&
	          strstr(why, "has no -----END CERTIFICATE----- line"),
	      "a truncated block: %s", why);
	fl_buf_free(&b);
	CHECK(fl_cert_pem_only_certs((const unsigned char *)"\n \n", 3, why, sizeof why) < 0 &&
	          strcmp(why, "it holds no certificate") == 0,
	      "blank text holds no certificate");
	CHECK(fl_cert_pem_reencode("x", key, klen, &out, &olen, extra, sizeof extra, &e) < 0 && !out,
	      "a key alone has nothing to publish");
	free(cert);
	fl_cert_io_wipe_free(key, klen);
	sk_X509_free(one);
	X509_free(ca);
	EVP_PKEY_free(k);
}

/* Files a root tool must not trust or change in place. */
static void test_exposed(void)
{
	char *f = path("k"), *g = path("k2"), *dir = path("d");
	struct fl_err e = {0};
	char why[512];
	fl_fs_write_atomic(f, "x", 1, 0600, FL_OWNER_KEEP, (gid_t)-1, &e);
	CHECK(fl_cert_exposed(f, FL_OWNER_KEEP, 077, why, sizeof why) == NULL, "0600, ours: fine");
	chmod(f, 0640);
	CHECK(fl_cert_exposed(f, FL_OWNER_KEEP, 077, why, sizeof why) && strstr(why, "its group can read it"),
	      "0640: %s", why);
	chmod(f, 0604);
	CHECK(fl_cert_exposed(f, FL_OWNER_KEEP, 077, why, sizeof why) &&
	          strstr(why, "every user can read it"),
	      "0604: %s", why);
	chmod(f, 0600);
	CHECK(fl_cert_exposed(g, FL_OWNER_KEEP, 077, why, sizeof why) == NULL, "absent: nothing to trust");
	mkdir(dir, 0777);
	chmod(dir, 0777);
	CHECK(fl_cert_exposed(dir, FL_OWNER_KEEP, 022, why, sizeof why) &&
	          strstr(why, "every user can write to it"),
	      "a 0777 directory: %s", why);
	if (geteuid() == 0 && chown(f, 12345, 12345) == 0) {
		CHECK(fl_cert_exposed(f, FL_OWNER_KEEP, 077, why, sizeof why) &&
		          strstr(why, "is owned by UID 12345 (mode 0600), not by UID 0"),
		      "foreign owner: %s", why);
		CHECK(fl_cert_exposed(f, 12345, 077, why, sizeof why) == NULL, "the --owner is fine");
		CHECK(chown(f, 0, 0) == 0, "the owner is restored");
	}
	CHECK(fl_cert_io_check_links(f, &e) == 0, "one link is fine");
	CHECK(link(f, g) == 0 && fl_cert_io_check_links(f, &e) < 0 && strstr(e.msg, "has 2 hard links"),
	      "two links refused: %s", e.msg);
	CHECK(fl_cert_io_fix_mode(g, 0644, FL_OWNER_KEEP, (gid_t)-1, &e) < 0, "fix_mode refuses a hard link");
	struct stat st;
	CHECK(stat(f, &st) == 0 && (st.st_mode & 07777) == 0600, "the other name keeps its mode");
	unlink(g);
	unlink(f);
	rmdir(dir);
	free(f);
	free(g);
	free(dir);
}

/* fl_cert_load_certs / _key say loaded, absent or unusable (with the reason) as an enum. */
static void test_load(void)
{
	EVP_PKEY *key = NULL;
	time_t now = time(NULL);
	X509 *ca = make_ca(&key, now, 30);
	STACK_OF(X509) *one = sk_X509_new_null();
	sk_X509_push(one, ca);
	size_t clen = 0, klen = 0;
	char *cpem = fl_cert_io_pem_certs(one, &clen), *kpem = fl_cert_io_pem_key(key, &klen);
	char *crt = path("l.crt"), *k = path("l.key"), *bad = path("l.bad"), *none = path("l.none"),
	     *lnk = path("l.lnk");
	struct fl_err e = {0};
	fl_fs_write_atomic(crt, cpem, clen, 0644, FL_OWNER_KEEP, (gid_t)-1, &e);
	fl_fs_write_atomic(k, kpem, klen, 0600, FL_OWNER_KEEP, (gid_t)-1, &e);
	fl_fs_write_atomic(bad, "garbage\n", 8, 0644, FL_OWNER_KEEP, (gid_t)-1, &e);
	CHECK(symlink(crt, lnk) == 0, "a symlink to the certificate");
	STACK_OF(X509) *certs = NULL;
	EVP_PKEY *got = NULL;
	char *bytes = NULL, why[512];
	size_t blen = 0;

	CHECK_INT(fl_cert_load_certs(none, &certs, NULL, NULL, why, sizeof why), FL_CERT_ABSENT,
	          "an absent certificate file");
	CHECK(!certs && why[0] == '\0', "absent: nothing loaded, no reason");
	CHECK_INT(fl_cert_load_certs(bad, &certs, NULL, NULL, why, sizeof why), FL_CERT_UNUSABLE,
	          "a file without PEM");
	CHECK(!certs && strstr(why, "l.bad does not contain a valid PEM certificate"), "the reason: %s", why);
	CHECK_INT(fl_cert_load_certs(k, &certs, NULL, NULL, why, sizeof why), FL_CERT_UNUSABLE,
	          "a key where certificates belong");
	CHECK_INT(fl_cert_load_certs(lnk, &certs, NULL, NULL, why, sizeof why), FL_CERT_UNUSABLE,
	          "a symlink is not followed");
	CHECK(strstr(why, "is a symbolic link"), "the reason: %s", why);
	CHECK_INT(fl_cert_load_certs(crt, &certs, &bytes, &blen, why, sizeof why), FL_CERT_LOADED,
	          "the certificate loads");
	CHECK(certs && sk_X509_num(certs) == 1 && X509_cmp(sk_X509_value(certs, 0), ca) == 0,
	      "the same certificate");
	CHECK(bytes && blen == clen && memcmp(bytes, cpem, clen) == 0, "with the file's bytes");
	CHECK_INT(fl_cert_load_key(none, &got, why, sizeof why), FL_CERT_ABSENT, "an absent key file");
	CHECK_INT(fl_cert_load_key(crt, &got, why, sizeof why), FL_CERT_UNUSABLE,
	          "a certificate where a key belongs");
	CHECK(!got && strstr(why, "l.crt"), "the reason names the file: %s", why);
	CHECK_INT(fl_cert_load_key(k, &got, why, sizeof why), FL_CERT_LOADED, "the key loads");
	CHECK(got && fl_cert_io_key_matches(ca, got), "the same key");

	EVP_PKEY_free(got);
	sk_X509_pop_free(certs, X509_free);
	free(bytes);
	for (char **f = (char *[]){crt, k, bad, none, lnk, NULL}; *f; f++) {
		unlink(*f);
		free(*f);
	}
	fl_cert_io_wipe_free(kpem, klen);
	free(cpem);
	sk_X509_pop_free(one, X509_free);
	EVP_PKEY_free(key);
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	test_net();
	test_fingerprint_and_types();
	test_sans();
	test_issue();
	test_pem_decode();
	test_onegate();
	test_fileset();
	test_only_certs();
	test_exposed();
	test_load();
	char *l = listing();
	CHECK_STR(l, "", "the test directory is left empty");
	free(l);
	rmdir(root);
	return unit_done();
}
