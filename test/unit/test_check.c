/* test_check: every validator of fl_check.h at its valid, boundary and invalid values. */
#include "fl_b64.h"
#include "fl_buf.h"
#include "fl_check.h"
#include "fl_flwrcfg.h"
#include "fl_var.h"
#include "unit.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct tcase {
	const char *in;
	bool ok;
};

static void run_bool(const char *what, bool (*fn)(const char *), const struct tcase *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		CHECK(fn(t[i].in) == t[i].ok, "%s: '%s' %s", what, t[i].in,
		      t[i].ok ? "accepted" : "rejected");
}

static void test_version(void)
{
	static const struct tcase t[] = {
	    {"1.25.0", true},          {"0.0.0", true},  {"1.42.10", true},   {"123456789.1.1", true},
	    {"1234567890.1.1", false}, {"1.25", false},  {"1.25.0.1", false}, {"v1.25.0", false},
	    {"1..0", false},           {"", false},      {"1.25.0 ", false},  {" 1.25.0", false},
	    {"1.25.0-rc1", false},     {"1.25.", false}, {".1.2", false},     {"a.b.c", false},
	    {"1.2.3\n", false},
	};
	run_bool("version", fl_check_version, t, NELEM(t));
}

static void test_ints(void)
{
	long v = -1;
	CHECK(fl_check_posint("1", &v) && v == 1, "posint: '1' is 1");
	CHECK(fl_check_posint("2147483647", &v) && v == 2147483647L, "posint: '2147483647' is the largest");
	CHECK(!fl_check_posint("2147483648", NULL), "posint: '2147483648' rejected");
	CHECK(!fl_check_posint("99999999999999999999999", NULL), "posint: overflowing long rejected");
	static const char *const bad[] = {"0",  "01", "007", "-1",  "+1",   "",
	                                  " 1", "1 ", "1.0", "1e3", "0x10", "١"};
	for (size_t i = 0; i < NELEM(bad); i++)
		CHECK(!fl_check_posint(bad[i], NULL), "posint: '%s' rejected", bad[i]);

	v = -1;
	CHECK(fl_check_nonneg("0", &v) && v == 0, "nonneg: '0' is 0");
	CHECK(fl_check_nonneg("00", &v) && v == 0, "nonneg: '00' is 0 (^[0-9]+$)");
	CHECK(fl_check_nonneg("2147483647", &v) && v == 2147483647L, "nonneg: '2147483647' accepted");
	CHECK(!fl_check_nonneg("2147483648", NULL), "nonneg: '2147483648' rejected");
	static const char *const bad2[] = {"-0", "-1", "+0", "", " 0", "0 ", "0.0", "x"};
	for (size_t i = 0; i < NELEM(bad2); i++)
		CHECK(!fl_check_nonneg(bad2[i], NULL), "nonneg: '%s' rejected", bad2[i]);
}

static void test_float(void)
{
	static const struct {
		const char *in;
		double v;
	} good[] = {{".5", 0.5}, {"5", 5},   {"00.1", 0.1},        {"0", 0},
	            {"0.0", 0},  {"1.0", 1}, {"123.456", 123.456}, {"0.0001", 0.0001}};
	for (size_t i = 0; i < NELEM(good); i++) {
		double d = -1;
		CHECK(fl_check_float(good[i].in, &d) && d == good[i].v, "float: '%s' is %g", good[i].in,
		      good[i].v);
	}
	static const char *const bad[] = {"1.",  "-1",  "+1",   "1e-3",  "1,5", " 1",
	                                  "0x1", "",    ".",    "1.2.3", "inf", "nan",
	                                  "1 ",  "..5", "1.5e", "1.5 ",  "-.5", "1._5"};
	for (size_t i = 0; i < NELEM(bad); i++)
		CHECK(!fl_check_float(bad[i], NULL), "float: '%s' rejected", bad[i]);
}

static void test_enum(void)
{
	const char *o = "FedAvg,FedProx,FedAdam,Krum,Bulyan,FedTrimmedAvg";
	static const struct tcase t[] = {
	    {"FedAvg", true},   {"FedProx", true},  {"FedTrimmedAvg", true},   {"Bulyan", true},
	    {"FedAvgX", false}, {"XFedAvg", false}, {"FedAv", false},          {"edAvg", false},
	    {"fedavg", false},  {"", false},        {"FedAvg,FedProx", false}, {",", false},
	    {"FedAvg ", false}, {" FedAvg", false}, {"Krum,", false},          {"FedTrimmedAvgX", false},
	};
	for (size_t i = 0; i < NELEM(t); i++)
		CHECK(fl_check_enum(o, t[i].in) == t[i].ok, "enum: '%s' %s", t[i].in,
		      t[i].ok ? "accepted" : "rejected");
	CHECK(!fl_check_enum("a,,b", ""), "enum: empty value never matches an empty option");
	CHECK(fl_check_enum("only", "only") && !fl_check_enum("only", "onl"), "enum: single option");
}

static void test_hostport(void)
{
	static const struct {
		const char *in;
		unsigned port; /* 0: rejected */
	} t[] = {
	    {"0.0.0.0:9092", 9092},
	    {"127.0.0.1:1", 1},
	    {"localhost:65535", 65535},
	    {"flower.example.com:9093", 9093},
	    {"my_host:9092", 9092},
	    {"[::1]:9092", 9092},
	    {"[fe80::1]:1", 1},
	    {"[::ffff:10.0.0.1]:443", 443},
	    {"::1:9092", 0},
	    {"fe80::1:9092", 0},
	    {"[::1]", 0},
	    {"[::1]:", 0},
	    {"[::1]9092", 0},
	    {"[::1:9092", 0},
	    {"[zz::1]:1", 0},
	    {"[10.0.0.1]:1", 0},
	    {"999.1.1.1:9092", 0},
	    {"1.2.3:9092", 0},
	    {"1.2.3.4.5:9092", 0},
	    {"256.0.0.1:1", 0},
	    {"host:0", 0},
	    {"host:65536", 0},
	    {"host:", 0},
	    {"host", 0},
	    {":9092", 0},
	    {"host:-1", 0},
	    {"host:+1", 0},
	    {"host:1:2", 0},
	    {"host:99999999999", 0},
	    {"host:09092", 0},
	    {"127.0.0.1:09092", 0},
	    {"[::1]:09092", 0},
	    {"host.:1", 0},
	    {"foo.123:1", 0},
	    {"010.0.0.1:1", 0},
	    {"my host:1", 0},
	    {"host :1", 0},
	    {"-host:1", 0},
	    {"host-:1", 0},
	    {"a..b:1", 0},
	    {".a:1", 0},
	    {"a.-b:1", 0},
	    {"a-.b:1", 0},
	    {"h\xc3\xb6st:1", 0},
	    {"host/x:1", 0},
	    {"", 0},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		unsigned port = 0;
		bool ok = fl_check_hostport(t[i].in, &port);
		if (t[i].port)
			CHECK(ok && port == t[i].port, "hostport: '%s' accepted, port %u", t[i].in,
			      t[i].port);
		else
			CHECK(!ok, "hostport: '%s' rejected", t[i].in);
	}
	char host[300];
	memset(host, 'a', 63);
	strcpy(host + 63, ":1");
	CHECK(fl_check_hostport(host, NULL), "hostport: a label of 63 characters is accepted");
	memset(host, 'a', 64);
	strcpy(host + 64, ":1");
	CHECK(!fl_check_hostport(host, NULL), "hostport: a label of 64 characters is rejected");
	/* 4 labels of 63 + 3 dots = 255 > 253. */
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		if (i)
			host[n++] = '.';
		memset(host + n, 'b', 63);
		n += 63;
	}
	strcpy(host + n, ":1");
	CHECK(!fl_check_hostport(host, NULL), "hostport: a name longer than 253 characters is rejected");
	strcpy(host + 250, ":1"); /* 250 characters, labels of 63 */
	CHECK(fl_check_hostport(host, NULL), "hostport: a name of 250 characters is accepted");
}

static void test_paths(void)
{
	static const struct tcase rel[] = {
	    {"state/state.db", true},
	    {"a", true},
	    {"a..b", true},
	    {"..a/b", true},
	    {"a/b..", true},
	    {"a/./b", true},
	    {"a/...", true},
	    {"../x", false},
	    {"a/../b", false},
	    {"a/..", false},
	    {"..", false},
	    {"/abs", false},
	    {"", false},
	    {"a b", false},
	    {"a\nb", false},
	    {"a;b", false},
	    {"$HOME/x", false},
	    {"a\\b", false},
	    {"~/x", false},
	};
	run_bool("relpath", fl_check_relpath, rel, NELEM(rel));
	static const struct tcase abs[] = {
	    {"/app/checkpoints", true}, {"/", true},          {"/app/..x", true},
	    {"/app/x..", true},         {"/a/b_c-d.e", true}, {"/app/../etc", false},
	    {"/app/..", false},         {"/..", false},       {"/../app", false},
	    {"relative", false},        {"", false},          {"/a b", false},
	    {"/a;rm", false},           {"/a'b", false},      {"/a=b", false},
	};
	run_bool("abspath", fl_check_abspath, abs, NELEM(abs));
	char longp[1100];
	longp[0] = '/';
	memset(longp + 1, 'x', 1022);
	longp[1023] = '\0';
	CHECK(fl_check_abspath(longp), "abspath: 1023 characters accepted");
	longp[1023] = 'x';
	longp[1024] = '\0';
	CHECK(!fl_check_abspath(longp), "abspath: 1024 characters rejected");
}

static void test_san_cuda_node(void)
{
	static const struct tcase san[] = {
	    {"IP:10.0.0.1", true},
	    {"IP:::1", true},
	    {"IP:fe80::1", true},
	    {"DNS:flower.example.com", true},
	    {"DNS:a", true},
	    {"DNS:a-b.c", true},
	    {"IP:999.1.1.1", false},
	    {"IP:", false},
	    {"DNS:", false},
	    {"DNS:foo_bar", false},
	    {"DNS:-a", false},
	    {"DNS:a-", false},
	    {"DNS:*.example.com", false},
	    {"dns:x", false},
	    {"ip:10.0.0.1", false},
	    {"URI:http://x", false},
	    {"IP: 10.0.0.1", false},
	    {"10.0.0.1", false},
	    {"DNS:a b", false},
	    {"", false},
	};
	run_bool("san entry", fl_check_san_entry, san, NELEM(san));

	static const struct tcase cuda[] = {
	    {"all", true},   {"0", true},     {"0,1", true},    {"0,1,2,3", true},
	    {"9999", true},  {"", false},     {"ALL", false},   {"0,", false},
	    {",0", false},   {"0,,1", false}, {"a", false},     {"0 1", false},
	    {"0, 1", false}, {"-1", false},   {"12345", false}, {"all,0", false},
	};
	run_bool("cuda devices", fl_check_cuda_devices, cuda, NELEM(cuda));

	static const struct {
		const char *in;
		size_t len; /* 0: strlen */
		int want;
	} node[] = {
	    {"partition-id=0", 0, 0},
	    {"a=b", 0, 0},
	    {"data_dir=/data/x.csv", 0, 0},
	    {"url=http://h:1/p", 0, 0},
	    {"x=a+b,c@d%e", 0, 0},
	    {"=b", 0, 1},
	    {"a=", 0, 1},
	    {"a", 0, 1},
	    {"", 0, 1},
	    {"a b=c", 0, 1},
	    {"k.x=1", 0, 1},
	    {"k=v;rm", 0, 2},
	    {"k=$(id)", 0, 2},
	    {"k=a=b", 0, 2},
	    {"k=a'b", 0, 2},
	    {"k=\"v\"", 0, 2},
	    {"a=b c=d", 3, 0},
	    {"a=\0b", 4, 2},
	    {"a\0=b", 4, 1},
	};
	for (size_t i = 0; i < NELEM(node); i++) {
		size_t len = node[i].len ? node[i].len : strlen(node[i].in);
		CHECK_INT(fl_check_node_pair(node[i].in, len), node[i].want,
		          "node pair: '%.*s' (%zu bytes) gives %d", (int)len, node[i].in, len, node[i].want);
	}
}

static void test_b64(void)
{
	static const struct {
		const char *in;
		const char *out; /* NULL: rejected */
	} t[] = {
	    {"aGVsbG8=", "hello"},
	    {"aGVs\nbG8=", "hello"},
	    {" aGVsbG8=\r\n", "hello"},
	    {"aGVs bG8=", "hello"},
	    {"aGVsbG8gd29ybGQ=", "hello world"},
	    {"", ""},
	    {"YQ==", "a"},
	    {"aGVsbG8*", NULL},
	    {"!!!!", NULL},
	    {"aGVsbG8=-", NULL},
	    {"aGVs_bG8", NULL},
	    {"aGVs\x01"
	     "bG8=",
	     NULL},
	    {"a", NULL},
	    {"aGVsbG8=aGVsbG8=", NULL},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		size_t n = 12345;
		unsigned char *d = fl_b64_decode(t[i].in, &n);
		if (t[i].out)
			CHECK(d && n == strlen(t[i].out) && memcmp(d, t[i].out, n) == 0, "b64: '%s' decodes",
			      t[i].in);
		else
			CHECK(!d, "b64: '%s' rejected", t[i].in);
		free(d);
	}
	/* All 256 byte values survive an encode/decode round trip. */
	unsigned char raw[256], enc[400];
	for (int i = 0; i < 256; i++)
		raw[i] = (unsigned char)i;
	EVP_EncodeBlock(enc, raw, 256);
	size_t n = 0;
	unsigned char *d = fl_b64_decode((char *)enc, &n);
	CHECK(d && n == 256 && memcmp(d, raw, 256) == 0, "b64: 256 byte values round-trip");
	free(d);
}

/* A fresh EC P-256 key and a self-signed certificate, as base64 of their PEM text. */
struct pem_pair {
	char *cert_b64, *key_b64, *enc_key_b64, *cert_b64_wrapped;
};

static char *b64_of(const char *data, size_t n)
{
	char *out = fl_xcalloc(1, 4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)n);
	return out;
}

static char *bio_b64(BIO *bio)
{
	char *p;
	long n = BIO_get_mem_data(bio, &p);
	return b64_of(p, (size_t)n);
}

static bool make_pem_pair(struct pem_pair *pp)
{
	memset(pp, 0, sizeof *pp);
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	if (!key || !x)
		return false;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"flkit-test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	bool ok = X509_sign(x, key, EVP_sha256()) > 0;

	BIO *b = BIO_new(BIO_s_mem());
	ok = ok && PEM_write_bio_X509(b, x);
	if (ok) {
		pp->cert_b64 = bio_b64(b);
		/* The same, wrapped at 64 columns as `base64` prints it. */
		struct fl_buf w = FL_BUF_INIT;
		for (const char *p = pp->cert_b64; *p; p += strlen(p) > 64 ? 64 : strlen(p)) {
			fl_buf_add(&w, p, strlen(p) > 64 ? 64 : strlen(p));
			fl_buf_addc(&w, '\n');
		}
		pp->cert_b64_wrapped = w.data;
	}
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	ok = ok && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
	if (ok)
		pp->key_b64 = bio_b64(b);
	BIO_free(b);
	b = BIO_new(BIO_s_mem());
	ok = ok && PEM_write_bio_PrivateKey(b, key, EVP_aes_256_cbc(), (const unsigned char *)"pass", 4, NULL,
	                                    NULL);
	if (ok)
		pp->enc_key_b64 = bio_b64(b);
	BIO_free(b);
	X509_free(x);
	EVP_PKEY_free(key);
	return ok;
}

static void test_pem(void)
{
	struct pem_pair pp;
	if (!CHECK(make_pem_pair(&pp), "generate an EC P-256 key and certificate with OpenSSL"))
		return;
	CHECK(fl_check_pem_b64(pp.cert_b64, false), "pem: base64 certificate accepted as a certificate");
	CHECK(fl_check_pem_b64(pp.cert_b64_wrapped, false), "pem: base64 wrapped at 64 columns accepted");
	CHECK(fl_check_pem_b64(pp.key_b64, true), "pem: base64 private key accepted as a key");
	CHECK(!fl_check_pem_b64(pp.cert_b64, true), "pem: a certificate is not a private key");
	CHECK(!fl_check_pem_b64(pp.key_b64, false), "pem: a private key is not a certificate");
	CHECK(!fl_check_pem_b64(pp.enc_key_b64, true), "pem: an encrypted key is refused without a prompt");

	static const char *const garbage[] = {"", "Zm9v", "not base64!",
	                                      "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="};
	for (size_t i = 0; i < NELEM(garbage); i++) {
		CHECK(!fl_check_pem_b64(garbage[i], false), "pem: garbage '%s' is not a certificate",
		      garbage[i]);
		CHECK(!fl_check_pem_b64(garbage[i], true), "pem: garbage '%s' is not a key", garbage[i]);
	}
	/* A truncated certificate: the first half of its base64. */
	size_t n = strlen(pp.cert_b64) / 2;
	n -= n % 4;
	char *half = fl_xstrndup(pp.cert_b64, n);
	CHECK(!fl_check_pem_b64(half, false), "pem: half a certificate is refused");
	free(half);
	/* Raw PEM text (not base64) is refused. */
	size_t dn = 0;
	unsigned char *pem = fl_b64_decode(pp.cert_b64, &dn);
	char *pemz = fl_xstrndup((char *)pem, dn);
	CHECK(!fl_check_pem_b64(pemz, false), "pem: PEM text that is not base64-encoded is refused");
	free(pem);
	free(pemz);

	struct fl_var cert = *fl_var_find("FL_SSL_CERTFILE"), key = *fl_var_find("FL_SSL_KEYFILE");
	CHECK(fl_check_var_value(&cert, pp.cert_b64) && fl_check_var_value(&key, pp.key_b64),
	      "FL_SSL_CERTFILE / FL_SSL_KEYFILE accept the generated pair");
	free(pp.cert_b64);
	free(pp.cert_b64_wrapped);
	free(pp.key_b64);
	free(pp.enc_key_b64);
}

static void test_listen_image(void)
{
	static const char *const listen_ok[] = {"0.0.0.0:9092", "10.0.0.5:1", "[::]:9092", "[fd00::5]:65535"};
	static const char *const listen_bad[] = {"host.name:9092", "localhost:9092", "0.0.0.0:0",
	                                         "::1:9092",       "999.1.1.1:9092", "[host]:9092"};
	for (size_t i = 0; i < NELEM(listen_ok); i++)
		CHECK(fl_check_listen(listen_ok[i], NULL), "listen: '%s' accepted", listen_ok[i]);
	for (size_t i = 0; i < NELEM(listen_bad); i++)
		CHECK(!fl_check_listen(listen_bad[i], NULL), "listen: '%s' refused", listen_bad[i]);
	static const char *const image_ok[] = {
	    "flwr/superlink",         "superlink",        "registry.example.com:5000/flwr/superlink",
	    "localhost/a/b",          "my_org/a__b/c--d", "Registry.Example.com/flwr/x.y",
	    "10.0.0.1:5000/a/b/c/d/e"};
	static const char *const image_bad[] = {"",
	                                        "--privileged",
	                                        "-v",
	                                        "Flwr/superlink",
	                                        "flwr/SuperLink",
	                                        "flwr/a:1.0",
	                                        "flwr/a@sha256:00",
	                                        "flwr//a",
	                                        "flwr/a/",
	                                        "/flwr/a",
	                                        "flwr/a-",
	                                        "flwr/_a",
	                                        "flwr/a___b",
	                                        "flwr/a..b",
	                                        "host:0/flwr/a",
	                                        "host:x/a",
	                                        "-host.com/a",
	                                        "a b",
	                                        "host..com/a",
	                                        ".host.com/a",
	                                        "localhost:99999/a"};
	for (size_t i = 0; i < NELEM(image_ok); i++)
		CHECK(fl_check_image_repo(image_ok[i]), "image: '%s' accepted", image_ok[i]);
	for (size_t i = 0; i < NELEM(image_bad); i++)
		CHECK(!fl_check_image_repo(image_bad[i]), "image: '%s' refused", image_bad[i]);
	char long_name[300];
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	CHECK(!fl_check_image_repo(long_name), "image: a name over 255 characters refused");
}

static void test_flower_values(void)
{
	static const struct {
		const char *in;
		enum fl_cfg_type t;
		const char *out; /* NULL: refused */
	} t[] = {
	    {"05", FL_CFG_INT, "5"},
	    {"-0", FL_CFG_INT, "0"},
	    {"+7", FL_CFG_INT, "7"},
	    {"9223372036854775808", FL_CFG_INT, NULL},
	    {".5", FL_CFG_FLOAT, "0.5"},
	    {"1", FL_CFG_FLOAT, "1.0"},
	    {"00.10", FL_CFG_FLOAT, "0.10"},
	    {"007", FL_CFG_FLOAT, "7.0"},
	    {"-5.", FL_CFG_FLOAT, "-5.0"},
	    {"1E+3", FL_CFG_FLOAT, "1.0e3"},
	    {"1e400", FL_CFG_FLOAT, NULL},
	    {"YES", FL_CFG_BOOL, "true"},
	    {"False", FL_CFG_BOOL, "false"},
	    {"maybe", FL_CFG_BOOL, NULL},
	    {"cifar10", FL_CFG_STRING, "\"cifar10\""},
	    {"", FL_CFG_STRING, "\"\""},
	    {"a\\b", FL_CFG_STRING, "\"a\\\\b\""},
	    {"a\nb\x01", FL_CFG_STRING, "\"a\\nb\\u0001\""},
	    {"say \"hi\"", FL_CFG_STRING, "'say \"hi\"'"},
	    {"it's \"x\"", FL_CFG_STRING, NULL},
	    {"\"\n", FL_CFG_STRING, NULL},
	    {"\xff", FL_CFG_STRING, NULL},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		struct fl_buf b = FL_BUF_INIT;
		const char *why = NULL;
		int rc = fl_flwrcfg_value(&b, t[i].in, t[i].t, &why);
		if (t[i].out)
			CHECK_STR(rc == 0 ? fl_buf_str(&b) : why, t[i].out, "flower value: '%s' as %s",
			          t[i].in, fl_flwrcfg_type_name(t[i].t));
		else
			CHECK(rc < 0 && why && b.len == 0, "flower value: '%s' as %s is refused", t[i].in,
			      fl_flwrcfg_type_name(t[i].t));
		fl_buf_free(&b);
	}
}

static void test_decimal(void)
{
	static const struct {
		const char *a, *b;
		int want;
	} t[] = {
	    {"0.5", "0.5", 0},
	    {"00.50", ".5", 0},
	    {"1", "1.0", 0},
	    {"0", ".0", 0},
	    {"0.4999999999999999999999", "0.5", -1},
	    {"0.50000000000000000001", "0.5", 1},
	    {"10", "9.99", 1},
	    {"2", "10", -1},
	    {"1.00000000000000000001", "1", 1},
	    {"007", "7", 0},
	    {".1", "0.09", 1},
	    {"123.456", "123.4561", -1},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		CHECK_INT(fl_check_decimal_cmp(t[i].a, t[i].b), t[i].want, "decimal_cmp: %s vs %s is %d",
		          t[i].a, t[i].b, t[i].want);
		CHECK_INT(fl_check_decimal_cmp(t[i].b, t[i].a), -t[i].want, "decimal_cmp: %s vs %s is %d",
		          t[i].b, t[i].a, -t[i].want);
	}
	static const struct tcase sha[] = {
	    {"0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef", true},
	    {"01:23:45:67:89:ab:cd:ef:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:"
	     "ef",
	     true},
	    {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", false},
	    {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", false},
	    {"01:23:45:67:89:ab:cd:ef:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:e:"
	     "f",
	     false},
	    {"", false},
	};
	run_bool("sha256", fl_check_sha256, sha, NELEM(sha));
}

static void test_registry_rules(void)
{
	for (size_t i = 0; i < fl_nvars; i++) {
		const struct fl_var *v = &fl_vars[i];
		if (*v->def)
			CHECK(fl_check_var_value(v, v->def), "%s: default '%s' passes its own rule", v->name,
			      v->def);
		if (v->check == FL_CK_ENUM) {
			/* Every option passes; near misses fail. */
			char opts[256];
			snprintf(opts, sizeof opts, "%s", v->options);
			bool all = true, none = true;
			for (char *tok = strtok(opts, ","); tok; tok = strtok(NULL, ",")) {
				char x[300];
				all = all && fl_check_var_value(v, tok);
				snprintf(x, sizeof x, "%sX", tok);
				none = none && !fl_check_var_value(v, x);
				snprintf(x, sizeof x, " %s", tok);
				none = none && !fl_check_var_value(v, x);
			}
			CHECK(all && none, "%s: every option passes, prefix/suffix traps fail", v->name);
		}
	}
	static const struct {
		const char *var, *value;
		bool ok;
	} t[] = {
	    {"FL_TRIM_BETA", "0.25", true},
	    {"FL_TRIM_BETA", "0.5", false},
	    {"FL_TRIM_BETA", "0", false},
	    {"FL_TRIM_BETA", "0.0", false},
	    {"FL_TRIM_BETA", "0.4999", true},
	    {"FL_TRIM_BETA", "0.4999999999999999999999", true},
	    {"FL_TRIM_BETA", "0.50000000000000000001", false},
	    {"FL_TRIM_BETA", "0.00000000000000000001", true},
	    {"FL_GPU_MEMORY_FRACTION", "1.00000000000000000001", false},
	    {"FL_GPU_MEMORY_FRACTION", "1.000", true},
	    {"FL_GPU_MEMORY_FRACTION", "1.0", true},
	    {"FL_GPU_MEMORY_FRACTION", "1", true},
	    {"FL_GPU_MEMORY_FRACTION", "0", true},
	    {"FL_GPU_MEMORY_FRACTION", "1.01", false},
	    {"FL_SERVER_LR", "0", false},
	    {"FL_SERVER_LR", "0.0001", true},
	    {"FL_CLIENT_LR", ".0", false},
	    {"FL_PROXIMAL_MU", "0", true},
	    {"FL_PROXIMAL_MU", "1000", true},
	    {"FL_PROXIMAL_MU", "-1", false},
	    {"FL_METRICS_PORT", "1023", false},
	    {"FL_METRICS_PORT", "1024", true},
	    {"FL_METRICS_PORT", "65535", true},
	    {"FL_METRICS_PORT", "65536", false},
	    {"FL_METRICS_PORT", "9090", true},
	    {"FL_METRICS_PORT", "9091", false},
	    {"FL_METRICS_PORT", "9092", false},
	    {"FL_METRICS_PORT", "9093", false},
	    {"FL_METRICS_PORT", "9094", true},
	    {"FL_METRICS_PORT", "", false},
	    {"FL_GPU_ENABLED", "yes", true},
	    {"FL_GPU_ENABLED", "No", true},
	    {"FL_GPU_ENABLED", "y", false},
	    {"FL_TLS_ENABLED", "yEs", true},
	    {"FL_CHECKPOINT_ENABLED", "yes", false},
	    {"FL_CHECKPOINT_ENABLED", "YES", true},
	    {"FL_CHECKPOINT_ENABLED", "true", false},
	    {"FL_NODE_CONFIG", "partition-id=0", true},
	    {"FL_NODE_CONFIG", "a", false},
	    {"FL_CERT_EXTRA_SAN", "DNS:x.y", true},
	    {"FL_CERT_EXTRA_SAN", "x.y", false},
	    {"FL_NUM_ROUNDS", "2147483647", true},
	    {"FL_NUM_ROUNDS", "2147483648", false},
	    {"FL_MAX_RETRIES", "0", true},
	    {"FL_STRATEGY", "FedAvgX", false},
	    {"FLOWER_VERSION", "1.42.0", true},
	    {"FLOWER_VERSION", "latest", false},
	    {"FL_SUPERLINK_ADDRESS", "[::1]:9092", true},
	    {"FL_SUPERLINK_ADDRESS", "::1:9092", false},
	    {"FL_CUDA_VISIBLE_DEVICES", "0,1", true},
	    {"FL_SSL_CA_CERTFILE", "Zm9v", false},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		const struct fl_var *v = fl_var_find(t[i].var);
		if (!CHECK(v != NULL, "registry has %s", t[i].var))
			continue;
		CHECK(fl_check_var_value(v, t[i].value) == t[i].ok, "%s: '%s' %s", t[i].var, t[i].value,
		      t[i].ok ? "accepted" : "rejected");
	}
}

int main(void)
{
	test_version();
	test_ints();
	test_float();
	test_enum();
	test_hostport();
	test_paths();
	test_san_cuda_node();
	test_b64();
	test_pem();
	test_flower_values();
	test_listen_image();
	test_decimal();
	test_registry_rules();
	return unit_done();
}
