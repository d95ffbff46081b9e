/* test_mhttp: the /metrics server on loopback: routes, methods, HEAD, content negotiation, the
 * port in use, the address bound, the timeout of a half-sent request, the connection limit and
 * whole snapshots under concurrent scrapes and publishes. */
#include "fl_mhttp.h"
#include "unit.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

struct reply {
	long status;
	char body[65536];
	size_t len;
	char type[128], allow[64];
	long length; /* Content-Length, -1 when absent */
};

static size_t on_body(char *p, size_t size, size_t n, void *cls)
{
	struct reply *r = cls;
	size_t k = size * n;
	if (r->len + k < sizeof r->body) {
		memcpy(r->body + r->len, p, k);
		r->len += k;
	}
	return k;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t outn)
{
	size_t nl = strlen(name);
	if (n <= nl || strncasecmp(line, name, nl) != 0)
		return;
	const char *v = line + nl;
	size_t vn = n - nl;
	while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n'))
		vn--;
	if (vn >= outn)
		vn = outn - 1;
	memcpy(out, v, vn);
	out[vn] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *cls)
{
	struct reply *r = cls;
	size_t k = size * n;
	char len[32] = "";
	header_value(p, k, "Content-Type: ", r->type, sizeof r->type);
	header_value(p, k, "Allow: ", r->allow, sizeof r->allow);
	header_value(p, k, "Content-Length: ", len, sizeof len);
	if (len[0])
		r->length = atol(len);
	return k;
}

/* One request: method, path, an Accept header or NULL. 0, or -1 when curl failed. */
static int request(unsigned port, const char *method, const char *path, const char *accept, struct reply *r)
{
	memset(r, 0, sizeof *r);
	r->length = -1;
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
	CURL *c = curl_easy_init();
	struct curl_slist *hs = NULL;
	char acc[256];
	if (accept) {
		snprintf(acc, sizeof acc, "Accept: %s", accept);
		hs = curl_slist_append(hs, acc);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(hs);
	curl_easy_cleanup(c);
	r->body[r->len] = '\0';
	return rc == CURLE_OK ? 0 : -1;
}

static const char prom[] = "# HELP fl_round_current Current round.\n# TYPE fl_round_current gauge\n"
                           "fl_round_current 3\n";
static const char om[] = "# HELP fl_round_current Current round.\n# TYPE fl_round_current gauge\n"
                         "fl_round_current 3\n# EOF\n";

static struct fl_mhttp *start(struct fl_mhttp_cfg cfg)
{
	struct fl_mhttp *h = NULL;
	struct fl_err e = {0};
	if (fl_mhttp_start(&cfg, &h, &e) < 0)
		DIAG("start: %s", e.msg);
	return h;
}

static void test_routes(void)
{
	struct fl_mhttp *h = start((struct fl_mhttp_cfg){.addr = "127.0.0.1"});
	if (!CHECK(h != NULL, "start: 127.0.0.1, any port"))
		return;
	unsigned port = fl_mhttp_port(h);
	CHECK(port > 0, "start: the port chosen is known (%u)", port);
	struct reply r;
	CHECK(request(port, "GET", "/metrics", NULL, &r) == 0 && r.status == 503,
	      "GET /metrics before the first snapshot: 503 (%ld)", r.status);

	fl_mhttp_publish_bodies(h, prom, sizeof prom - 1, om, sizeof om - 1);
	CHECK(request(port, "GET", "/metrics", NULL, &r) == 0 && r.status == 200, "GET /metrics: 200");
	CHECK_STR(r.body, prom, "GET /metrics: the text body");
	CHECK_STR(r.type, "text/plain; version=0.0.4; charset=utf-8", "GET /metrics: the text content type");
	request(port, "GET", "/metrics?x=1", NULL, &r);
	CHECK(r.status == 200 && strcmp(r.body, prom) == 0, "GET /metrics?x=1: a query string is ignored");
	request(port, "GET", "/metrics", "application/openmetrics-text; version=1.0.0,text/plain;q=0.5", &r);
	CHECK(r.status == 200 && strcmp(r.body, om) == 0,
	      "Accept: application/openmetrics-text: the OpenMetrics body");
	CHECK(strncmp(r.type, "application/openmetrics-text", 28) == 0, "OpenMetrics content type (%s)",
	      r.type);
	request(port, "HEAD", "/metrics", NULL, &r);
	CHECK(r.status == 200 && r.len == 0, "HEAD /metrics: 200 and no body");
	CHECK_INT(r.length, (long)(sizeof prom - 1), "HEAD /metrics: Content-Length of the GET body");
	request(port, "GET", "/", NULL, &r);
	CHECK(r.status == 200 && strstr(r.body, "href=\"/metrics\"") && strncmp(r.type, "text/html", 9) == 0,
	      "GET /: 200, an HTML page linking /metrics");
	request(port, "HEAD", "/", NULL, &r);
	CHECK(r.status == 200 && r.len == 0, "HEAD /: 200, no body");
	request(port, "GET", "/foo", NULL, &r);
	CHECK(r.status == 404 && strstr(r.body, "/metrics"), "GET /foo: 404 naming the paths there are");
	request(port, "GET", "/metrics/", NULL, &r);
	CHECK(r.status == 404, "GET /metrics/: 404");
	request(port, "POST", "/metrics", NULL, &r);
	CHECK(r.status == 405 && strcmp(r.allow, "GET, HEAD") == 0,
	      "POST /metrics: 405, Allow: GET, HEAD (%s)", r.allow);
	request(port, "DELETE", "/foo", NULL, &r);
	CHECK(r.status == 405 && strcmp(r.allow, "GET, HEAD") == 0, "DELETE /foo: 405 (the method first)");
	request(port, "OPTIONS", "/metrics", NULL, &r);
	CHECK(r.status == 405, "OPTIONS /metrics: 405");

	/* The port is held: a second server there fails with the errno's words. */
	struct fl_mhttp *h2 = NULL;
	struct fl_err e = {0};
	struct fl_mhttp_cfg cfg = {.addr = "127.0.0.1", .port = port};
	CHECK(fl_mhttp_start(&cfg, &h2, &e) < 0 && h2 == NULL && strstr(e.msg, "Address already in use") &&
	          strstr(e.msg, "FL_METRICS_PORT") && e.code == FL_EXIT_FAIL,
	      "a second server on the port: Address already in use, change FL_METRICS_PORT");
	DIAG("%s", e.msg);

	/* Only the address bound: 127.0.0.2 (also lo) is refused. */
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.2:%u/metrics", port);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	CHECK(rc == CURLE_COULDNT_CONNECT, "bound to 127.0.0.1 only: 127.0.0.2 is refused (%s)",
	      curl_easy_strerror(rc));
	fl_mhttp_stop(h);
}

static void test_addresses(void)
{
	struct fl_mhttp *h = NULL;
	struct fl_err e = {0};
	struct fl_mhttp_cfg cfg = {.addr = "localhost"};
	CHECK(fl_mhttp_start(&cfg, &h, &e) < 0 && strstr(e.msg, "'localhost': not an IP address"),
	      "a host name is refused: %s", e.msg);
	cfg.addr = "192.0.2.1";
	CHECK(fl_mhttp_start(&cfg, &h, &e) < 0 &&
	          strstr(e.msg, "192.0.2.1:0: Cannot assign requested address") && strstr(e.msg, "--bind"),
	      "an address of another machine: %s", e.msg);
	cfg.addr = "::1";
	h = start(cfg);
	if (!h) {
		SKIP("no IPv6 loopback here", "IPv6: [::1] serves /metrics");
		return;
	}
	fl_mhttp_publish_bodies(h, prom, sizeof prom - 1, om, sizeof om - 1);
	char url[64];
	snprintf(url, sizeof url, "http://[::1]:%u/metrics", fl_mhttp_port(h));
	struct reply r = {0};
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	CHECK(rc == CURLE_OK && strcmp(r.body, prom) == 0, "IPv6: [::1] serves /metrics");
	fl_mhttp_stop(h);
}

/* A raw connection to port on 127.0.0.1, or -1. */
static int dial(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Until the server closes fd (read gives 0 or an error): true; false after 20 s (a guard). */
static bool closed_by_server(int fd)
{
	char b[256];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	for (;;) {
		if (poll(&p, 1, 20000) <= 0)
			return false;
		ssize_t n = read(fd, b, sizeof b);
		if (n <= 0)
			return true;
	}
}

static void test_timeout_and_limit(void)
{
	struct fl_mhttp *h =
	    start((struct fl_mhttp_cfg){.addr = "127.0.0.1", .timeout_s = 1, .conn_limit = 4});
	if (!CHECK(h != NULL, "start: timeout 1 s, 4 connections"))
		return;
	unsigned port = fl_mhttp_port(h);
	fl_mhttp_publish_bodies(h, prom, sizeof prom - 1, om, sizeof om - 1);
	int fd = dial(port);
	static const char half[] = "GET /metrics HTTP/1.1\r\nHost: x";
	CHECK(fd >= 0 && write(fd, half, sizeof half - 1) == (ssize_t)(sizeof half - 1),
	      "a slow client sends half a request");
	CHECK(closed_by_server(fd), "the slow client is dropped after the timeout");
	close(fd);

	/* 4 idle connections fill the limit; more wait (not refused) and are served once the
	 * idle ones time out. */
	int idle[4], extra[16];
	for (int i = 0; i < 4; i++)
		idle[i] = dial(port);
	for (int i = 0; i < 16; i++)
		extra[i] = dial(port);
	struct reply r;
	CHECK(request(port, "GET", "/metrics", NULL, &r) == 0 && r.status == 200 && strcmp(r.body, prom) == 0,
	      "beyond the connection limit: a scrape waits, then is served");
	for (int i = 0; i < 4; i++)
		close(idle[i]);
	for (int i = 0; i < 16; i++)
		close(extra[i]);
	CHECK(request(port, "GET", "/metrics", NULL, &r) == 0 && r.status == 200,
	      "after the flood: serves again");
	fl_mhttp_stop(h);
}

/* Concurrent scrapes while bodies are swapped: every body is one whole snapshot. */
static atomic_bool stop_scrapes;
static atomic_int torn, scraped;
static unsigned scrape_port;

static bool whole(const char *b, size_t n)
{
	/* A snapshot is "v<k> " repeated k*50 times, ending in "\n# EOF\n" or "\n". */
	unsigned k;
	if (sscanf(b, "v%u ", &k) != 1)
		return false;
	char unit[16];
	int ul = snprintf(unit, sizeof unit, "v%u ", k);
	size_t body = (size_t)ul * k * 50;
	if (n != body + 1 || b[body] != '\n')
		return false;
	for (size_t i = 0; i < body; i += (size_t)ul)
		if (memcmp(b + i, unit, (size_t)ul) != 0)
			return false;
	return true;
}

static void snapshot_body(struct fl_buf *b, unsigned k)
{
	fl_buf_reset(b);
	for (unsigned i = 0; i < k * 50; i++)
		fl_buf_addf(b, "v%u ", k);
	fl_buf_addc(b, '\n');
}

static void *scraper(void *arg)
{
	(void)arg;
	struct reply *r = malloc(sizeof *r);
	while (!atomic_load(&stop_scrapes)) {
		if (request(scrape_port, "GET", "/metrics", NULL, r) < 0 || r->status != 200 ||
		    !whole(r->body, r->len))
			atomic_fetch_add(&torn, 1);
		atomic_fetch_add(&scraped, 1);
	}
	free(r);
	return NULL;
}

static void test_snapshots(void)
{
	struct fl_mhttp *h = start((struct fl_mhttp_cfg){.addr = "127.0.0.1"});
	if (!CHECK(h != NULL, "start for the snapshot test"))
		return;
	scrape_port = fl_mhttp_port(h);
	struct fl_buf b = FL_BUF_INIT;
	snapshot_body(&b, 1);
	fl_mhttp_publish_bodies(h, b.data, b.len, b.data, b.len);
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, scraper, NULL);
	for (unsigned v = 1; v <= 2000 || atomic_load(&scraped) < 400; v++) {
		snapshot_body(&b, 1 + v % 100);
		fl_mhttp_publish_bodies(h, b.data, b.len, b.data, b.len);
	}
	atomic_store(&stop_scrapes, true);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	CHECK(atomic_load(&torn) == 0,
	      "%d scrapes while 2000 snapshots are published: every body whole (%d not)",
	      atomic_load(&scraped), atomic_load(&torn));
	fl_buf_free(&b);
	fl_mhttp_stop(h);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_routes();
	test_addresses();
	test_timeout_and_limit();
	test_snapshots();
	curl_global_cleanup();
	return unit_done();
}
