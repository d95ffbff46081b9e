/* test_s3: the S3 client's pure parts: targets and URLs (hostile ones refused), key encoding,
 * the credentials file's rules, and the XML scanner on good, malformed and oversized replies. */
#include "fl_buf.h"
#include "fl_err.h"
#include "fl_s3.h"
#include "unit.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char root[] = "/tmp/fl-s3-XXXXXX";

static char *url_of(const char *s3, const char *endpoint, bool vhost, const char *name)
{
	struct fl_s3_target t;
	struct fl_err e = {0};
	if (fl_s3_target_parse(&t, s3, endpoint, NULL, vhost, &e) < 0)
		return NULL;
	struct fl_buf key = FL_BUF_INIT, url = FL_BUF_INIT;
	fl_s3_key(&t, name, &key);
	fl_s3_url(&t, key.data, NULL, &url);
	fl_buf_free(&key);
	fl_s3_target_free(&t);
	return url.data;
}

static void test_targets(void)
{
	static const struct {
		const char *s3, *endpoint;
		bool vhost;
		const char *want;
	} ok[] = {
	    {"s3://bkt", NULL, false, "https://s3.us-east-1.amazonaws.com/bkt/checkpoint_round_3.npz"},
	    {"s3://bkt/a/b/", "http://127.0.0.1:9000", false,
	     "http://127.0.0.1:9000/bkt/a/b/checkpoint_round_3.npz"},
	    {"s3://bkt/p", "https://minio.example:9000/", false,
	     "https://minio.example:9000/bkt/p/checkpoint_round_3.npz"},
	    {"s3://my-bkt/p", "https://s3.eu-west-1.amazonaws.com", true,
	     "https://my-bkt.s3.eu-west-1.amazonaws.com/p/checkpoint_round_3.npz"},
	    {"s3://bkt/with space/ü", "http://[::1]:9000", false,
	     "http://[::1]:9000/bkt/with%20space/%C3%BC/checkpoint_round_3.npz"},
	};
	for (size_t i = 0; i < NELEM(ok); i++) {
		char *u = url_of(ok[i].s3, ok[i].endpoint, ok[i].vhost, "checkpoint_round_3.npz");
		CHECK_STR(u, ok[i].want, "target: %s at %s%s", ok[i].s3,
		          ok[i].endpoint ? ok[i].endpoint : "(default)", ok[i].vhost ? " virtual-host" : "");
		free(u);
	}
	static const struct {
		const char *s3, *endpoint, *region, *says;
	} bad[] = {
	    {"http://bkt", NULL, NULL, "not an s3:// URL"},
	    {"s3://", NULL, NULL, "not a valid bucket name"},
	    {"s3://ab", NULL, NULL, "not a valid bucket name"},
	    {"s3://Bucket", NULL, NULL, "not a valid bucket name"},
	    {"s3://-bkt", NULL, NULL, "not a valid bucket name"},
	    {"s3://b..kt", NULL, NULL, "not a valid bucket name"},
	    {"s3://bkt/../etc", NULL, NULL, "'..' segment"},
	    {"s3://bkt/a//b", NULL, NULL, "empty"},
	    {"s3://bkt/./b", NULL, NULL, "'.' or"},
	    {"s3://bkt/a\nb", NULL, NULL, "control character"},
	    {"s3://bkt/a\\b", NULL, NULL, "backslash"},
	    {"s3://bkt", "ftp://host", NULL, "not http(s)://HOST[:PORT]"},
	    {"s3://bkt", "http://host/path", NULL, "not http(s)://HOST[:PORT]"},
	    {"s3://bkt", "http://host?q=1", NULL, "not http(s)://HOST[:PORT]"},
	    {"s3://bkt", "http://user:pw@host", NULL, "not http(s)://HOST[:PORT]"},
	    {"s3://bkt", "not a url", NULL, "not"},
	    {"s3://bkt", NULL, "US East", "not a region name"},
	    {"s3://bkt", NULL, "us-east-1/../x", "not a region name"},
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct fl_s3_target t;
		struct fl_err e = {0};
		int rc = fl_s3_target_parse(&t, bad[i].s3, bad[i].endpoint, bad[i].region, false, &e);
		CHECK(rc == -1 && e.code == FL_EXIT_USAGE && strstr(e.msg, bad[i].says),
		      "target: '%s' endpoint '%s' region '%s' is refused: %s", bad[i].s3,
		      bad[i].endpoint ? bad[i].endpoint : "", bad[i].region ? bad[i].region : "",
		      bad[i].says);
		if (rc == 0)
			fl_s3_target_free(&t);
	}
	char *longurl = malloc(FL_S3_URL_MAX + 20);
	memcpy(longurl, "s3://bkt/", 9);
	memset(longurl + 9, 'a', FL_S3_URL_MAX);
	longurl[FL_S3_URL_MAX + 9] = '\0';
	struct fl_s3_target t;
	struct fl_err e = {0};
	CHECK(fl_s3_target_parse(&t, longurl, NULL, NULL, false, &e) == -1,
	      "target: an oversized URL is refused");
	free(longurl);
	CHECK(fl_s3_target_parse(&t, "s3://b.kt", "https://h", NULL, true, &e) == -1 && strstr(e.msg, "dot"),
	      "target: a dotted bucket with virtual-host over https is refused (TLS name)");
}

static void test_key_encode(void)
{
	struct fl_buf b = FL_BUF_INIT;
	fl_s3_key_encode("a b/c+d=e&f%g~h_i-j.k/\x01\xff", &b);
	CHECK_STR(b.data, "a%20b/c%2Bd%3De%26f%25g~h_i-j.k/%01%FF",
	          "key: reserved bytes are %%XX, '/' and unreserved ones stay");
	fl_buf_free(&b);
}

static char *write_file(const char *name, const char *text, mode_t mode)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", root, name) < 0)
		abort();
	unlink(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	chmod(p, mode);
	return p;
}

static const char good_creds[] = "# comment\n[other]\naws_access_key_id = AKIAOTHER\n"
                                 "aws_secret_access_key = othersecret\n\n[default]\n"
                                 "aws_access_key_id=AKIAEXAMPLE\r\naws_secret_access_key = s3cr3t/Key+\n"
                                 "region = eu-west-1\n";

static void test_cred_file(void)
{
	struct fl_s3_cred c;
	struct fl_err e = {0};
	char *p = write_file("creds", good_creds, 0600);
	CHECK(fl_s3_cred_file(&c, p, "default", &e) == 0 && strcmp(c.id, "AKIAEXAMPLE") == 0 &&
	          strcmp(c.secret, "s3cr3t/Key+") == 0 && c.token[0] == '\0',
	      "credentials: profile [default] of a 0600 file is read (CRLF, spaces around '=')");
	CHECK(fl_s3_cred_file(&c, p, "other", &e) == 0 && strcmp(c.id, "AKIAOTHER") == 0,
	      "credentials: AWS_PROFILE chooses another profile");
	fl_s3_cred_wipe(&c);
	CHECK(c.id[0] == 0 && c.secret[0] == 0, "credentials: wipe clears the secret");
	CHECK(fl_s3_cred_file(&c, p, "missing", &e) == -1 && strstr(e.msg, "no profile [missing]"),
	      "credentials: a missing profile is named");
	chmod(p, 0644);
	CHECK(fl_s3_cred_file(&c, p, "default", &e) == -1 && strstr(e.msg, "mode 0644") &&
	          strstr(e.msg, "chmod 600") && !strstr(e.msg, "s3cr3t"),
	      "credentials: a 0644 file is refused with chmod 600, the secret not shown");
	chmod(p, 0640);
	CHECK(fl_s3_cred_file(&c, p, "default", &e) == -1 && strstr(e.msg, "chmod 600"),
	      "credentials: a group-readable file is refused");
	chmod(p, 0400);
	CHECK(fl_s3_cred_file(&c, p, "default", &e) == 0, "credentials: 0400 is stricter than 0600: read");
	char *l = NULL;
	if (asprintf(&l, "%s/link", root) < 0)
		abort();
	unlink(l);
	if (symlink(p, l) < 0)
		abort();
	CHECK(fl_s3_cred_file(&c, l, "default", &e) == -1 && strstr(e.msg, "symlink"),
	      "credentials: a symlink is refused");
	unlink(l);
	if (geteuid() == 0) {
		if (chown(p, 12345, 12345) < 0)
			abort();
		CHECK(fl_s3_cred_file(&c, p, "default", &e) == -1 && strstr(e.msg, "owned by uid 12345"),
		      "credentials: a file of another owner is refused");
	} else {
		SKIP("needs root to chown", "credentials: a file of another owner is refused");
	}
	unlink(p);
	free(p);
	free(l);
	CHECK(fl_s3_cred_file(&c, "/nonexistent/creds", "default", &e) == -1 &&
	          strstr(e.msg, "cannot be opened"),
	      "credentials: a missing file is named");
	CHECK(fl_s3_cred_file(&c, root, "default", &e) == -1 && strstr(e.msg, "not a regular file"),
	      "credentials: a directory is refused");
}

static void test_cred_malformed(void)
{
	static const struct {
		const char *text, *says;
	} bad[] = {
	    {"[default\naws_access_key_id=A\n", "without ']'"},
	    {"[default]\naws_access_key_id\n", "not 'key = value'"},
	    {"[default]\naws_access_key_id=A\n", "lacks"},
	    {"[default]\naws_access_key_id=A B\naws_secret_access_key=x\n", "space"},
	    {"[default]\naws_access_key_id=\naws_secret_access_key=x\n", "empty"},
	    {"[default]\naws_access_key_id=A\naws_secret_access_key=\x1b[31m\n", "printable"},
	    {"", "no profile"},
	    {"[default]\naws_access_key_id=AKIA:X\naws_secret_access_key=x\n", "':'"},
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct fl_s3_cred c;
		struct fl_err e = {0};
		char *p = write_file("creds", bad[i].text, 0600);
		CHECK(fl_s3_cred_file(&c, p, "default", &e) == -1 && strstr(e.msg, bad[i].says) &&
		          c.secret[0] == 0,
		      "credentials: malformed file %zu is refused: %s", i, bad[i].says);
		unlink(p);
		free(p);
	}
	char *big = malloc(70000);
	memset(big, '#', 69999);
	big[69999] = '\0';
	struct fl_s3_cred c;
	struct fl_err e = {0};
	char *p = write_file("creds", big, 0600);
	CHECK(fl_s3_cred_file(&c, p, "default", &e) == -1 && strstr(e.msg, "larger than"),
	      "credentials: an oversized file is refused");
	unlink(p);
	free(p);
	free(big);
}

static void test_cred_env(void)
{
	struct fl_s3_cred c;
	struct fl_err e = {0};
	setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
	setenv("AWS_SESSION_TOKEN", "tok", 1);
	CHECK(fl_s3_cred_load(&c, &e) == 0 && strcmp(c.id, "AKIAENV") == 0 && strcmp(c.token, "tok") == 0,
	      "credentials: the AWS variables come first, the session token with them");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	CHECK(fl_s3_cred_load(&c, &e) == -1 && strstr(e.msg, "AWS_SECRET_ACCESS_KEY is not"),
	      "credentials: a key id without its secret is an error");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SESSION_TOKEN");
	char *p = write_file("creds", good_creds, 0600);
	setenv("AWS_SHARED_CREDENTIALS_FILE", p, 1);
	setenv("AWS_PROFILE", "other", 1);
	CHECK(fl_s3_cred_load(&c, &e) == 0 && strcmp(c.id, "AKIAOTHER") == 0,
	      "credentials: else AWS_SHARED_CREDENTIALS_FILE, profile AWS_PROFILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_PROFILE");
	fl_s3_cred_wipe(&c);
	unlink(p);
	free(p);
}

static const char err_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
    "<Message>The request signature we calculated does not match &amp; &lt;x&gt; "
    "&#65;&#x42;</Message><RequestId>1</RequestId></Error>";

static void test_xml_error(void)
{
	char out[700];
	CHECK(fl_s3_xml_error(err_xml, strlen(err_xml), out, sizeof out) == 0 &&
	          strcmp(
	              out,
	              "SignatureDoesNotMatch: The request signature we calculated does not match & <x> AB") ==
	              0,
	      "xml: an error body gives 'Code: Message', entities decoded");
	static const char *bad[] = {
	    "<Error><Code>A<b/></Code></Error>",       /* not a text element */
	    "<Error><Code>&bogus;</Code></Error>",     /* unknown entity */
	    "<Error><Code>&#0;</Code></Error>",        /* NUL */
	    "<Error><Code>&#xD800;</Code></Error>",    /* surrogate */
	    "<Error><Code>&#99999999;</Code></Error>", /* out of range */
	    "<Error><Code>AccessDenied</Error>",       /* unclosed */
	    "<!DOCTYPE x [<!ENTITY a 'b'>]><Error><Code>&a;</Code></Error>",
	    "<Error><!-- <Code>Hidden</Code> --></Error>",
	    "",
	};
	for (size_t i = 0; i < NELEM(bad); i++)
		CHECK(fl_s3_xml_error(bad[i], strlen(bad[i]), out, sizeof out) == -1,
		      "xml: malformed error body %zu "
		      "refused",
		      i);
	static const char nul[] = "<Error><Code>A\0B</Code></Error>";
	CHECK(fl_s3_xml_error(nul, sizeof nul - 1, out, sizeof out) == -1, "xml: a NUL byte is refused");
	static const char ctl[] = "<Error><Code>A</Code><Message>x\x1b[2Jy</Message></Error>";
	CHECK(fl_s3_xml_error(ctl, strlen(ctl), out, sizeof out) == 0 && !strchr(out, '\x1b'),
	      "xml: control bytes of the store's message never reach the terminal");
	char small[8];
	CHECK(fl_s3_xml_text(err_xml, strlen(err_xml), "Code", small, sizeof small) == -1,
	      "xml: a text longer than the buffer is refused, not cut");
	size_t n = FL_S3_XML_MAX + 1;
	char *big = malloc(n);
	memset(big, ' ', n);
	memcpy(big, "<Error><Code>X</Code></Error>", 29);
	CHECK(fl_s3_xml_error(big, n, out, sizeof out) == -1, "xml: a body over %d bytes is refused",
	      FL_S3_XML_MAX);
	free(big);
}

struct parts {
	int n, num[8];
	char etag[8][40];
	long long size[8];
};

static int on_part(void *ctx, int number, const char *etag, long long size)
{
	struct parts *p = ctx;
	if (p->n >= 8)
		return -1;
	p->num[p->n] = number;
	snprintf(p->etag[p->n], sizeof p->etag[0], "%s", etag);
	p->size[p->n++] = size;
	return 0;
}

static void test_xml_parts(void)
{
	static const char ok[] =
	    "<ListPartsResult><Bucket>b</Bucket><PartNumberMarker>0</PartNumberMarker><IsTruncated>true</"
	    "IsTruncated>"
	    "<Part><PartNumber>1</PartNumber><ETag>&quot;aaaa&quot;</ETag><Size>5242880</Size></Part>"
	    "<Part><PartNumber>3</PartNumber><ETag>\"bbbb\"</ETag><Size>12</Size></Part></ListPartsResult>";
	struct parts p = {0};
	bool more = false;
	CHECK(fl_s3_xml_parts(ok, strlen(ok), on_part, &p, &more) == 0 && p.n == 2 && p.num[0] == 1 &&
	          p.num[1] == 3 && strcmp(p.etag[0], "aaaa") == 0 && strcmp(p.etag[1], "bbbb") == 0 &&
	          p.size[0] == 5242880 && p.size[1] == 12 && more,
	      "xml: ListParts gives numbers, unquoted ETags, sizes and IsTruncated");
	static const char moto[] = "<ListPartsResponse><IsTruncated>false</IsTruncated></ListPartsResponse>";
	memset(&p, 0, sizeof p);
	CHECK(fl_s3_xml_parts(moto, strlen(moto), on_part, &p, &more) == 0 && p.n == 0 && !more,
	      "xml: moto's ListPartsResponse with no parts");
	static const char *bad[] = {
	    "<Other><Part><PartNumber>1</PartNumber><ETag>a</ETag><Size>1</Size></Part></Other>",
	    "<ListPartsResult><Part><PartNumber>0</PartNumber><ETag>a</ETag><Size>1</Size></Part></"
	    "ListPartsResult>",
	    "<ListPartsResult><Part><PartNumber>10001</PartNumber><ETag>a</ETag><Size>1</Size></Part></"
	    "ListPartsResult>",
	    "<ListPartsResult><Part><PartNumber>-1</PartNumber><ETag>a</ETag><Size>1</Size></Part></"
	    "ListPartsResult>",
	    "<ListPartsResult><Part><PartNumber>2</PartNumber><ETag>a</ETag><Size>1</Size></Part>"
	    "<Part><PartNumber>2</PartNumber><ETag>a</ETag><Size>1</Size></Part></ListPartsResult>",
	    "<ListPartsResult><Part><PartNumber>1</PartNumber><Size>1</Size></Part></ListPartsResult>",
	    "<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>a</ETag><Size>99999999999999999999</"
	    "Size></Part>"
	    "</ListPartsResult>",
	    "<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>a</ETag><Size>1x</Size></Part></"
	    "ListPartsResult>",
	    "<ListPartsResult><Part><PartNumber>1</PartNumber><ETag>a</ETag><Size>1</Size></ListPartsResult>",
	};
	for (size_t i = 0; i < NELEM(bad); i++) {
		memset(&p, 0, sizeof p);
		CHECK(fl_s3_xml_parts(bad[i], strlen(bad[i]), on_part, &p, &more) == -1,
		      "xml: malformed ListParts %zu refused", i);
	}
	static const char complete[] =
	    "<CompleteMultipartUploadResult><Location>x</Location><Bucket>b</Bucket>"
	    "<Key>k</Key><ETag>\"abc-3\"</ETag></CompleteMultipartUploadResult>";
	char etag[40];
	CHECK(fl_s3_xml_text(complete, strlen(complete), "ETag", etag, sizeof etag) == 0 &&
	          strcmp(etag, "\"abc-3\"") == 0,
	      "xml: CompleteMultipartUploadResult's ETag");
	static const char init[] = "<InitiateMultipartUploadResult><UploadId>a/b+c=</UploadId>"
	                           "</InitiateMultipartUploadResult>";
	CHECK(fl_s3_xml_text(init, strlen(init), "UploadId", etag, sizeof etag) == 0 &&
	          strcmp(etag, "a/b+c=") == 0,
	      "xml: InitiateMultipartUploadResult's UploadId");
}

int main(void)
{
	if (!mkdtemp(root))
		return 1;
	test_targets();
	test_key_encode();
	test_cred_file();
	test_cred_malformed();
	test_cred_env();
	test_xml_error();
	test_xml_parts();
	rmdir(root);
	return unit_done();
}
