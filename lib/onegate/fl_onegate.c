/* fl_onegate: the OneGate client: requests with timeouts and retries, the Ruby CLI's wire
 * format (design 06 §3, §7.2), updates, publication checks and role scaling. */
#include "fl_onegate.h"

#include "fl_check.h"
#include "fl_log.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Attributes OneGate refuses to modify or delete (:restricted_attrs, 06 §2.4). */
static const char *const restricted_attrs[] = {"SCHED_REQUIREMENTS", "SERVICE_ID", "ROLE_NAME", NULL};

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s) && strlen(s) < 19;
}

/* --- transport: libcurl --- */

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	struct fl_onegate_response *rs = ud;
	size_t len = sz * n;
	if (len > FL_ONEGATE_MAX_BODY - rs->body.len) {
		snprintf(rs->error, sizeof rs->error, "answer larger than %u MiB", FL_ONEGATE_MAX_BODY >> 20);
		rs->permanent = true;
		return 0; /* aborts the transfer */
	}
	fl_buf_add(&rs->body, p, len);
	return len;
}

static void wipe_list(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static void curl_send(void *ctx, const struct fl_onegate_request *rq, long timeout_ms,
                      struct fl_onegate_response *rs)
{
	struct fl_onegate *g = ctx;
	CURL *c = g->curl;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct fl_buf url = FL_BUF_INIT, h = FL_BUF_INIT;
	struct curl_slist *hdr = NULL;

	curl_easy_reset(c); /* keeps the connection cache */
	fl_buf_adds(&url, g->base);
	fl_buf_adds(&url, rq->path);
	curl_easy_setopt(c, CURLOPT_URL, url.data);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* never carry the token elsewhere */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	long conn = g->o.connect_timeout_ms < timeout_ms ? g->o.connect_timeout_ms : timeout_ms;
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, conn > 0 ? conn : 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)FL_ONEGATE_MAX_BODY);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "flkit/" FLKIT_VERSION " (fl-onegate)");
	/* Like the Ruby client: only http_proxy, for http and https alike (06 §1.4). */
	const char *proxy = getenv("http_proxy");
	curl_easy_setopt(c, CURLOPT_PROXY, proxy ? proxy : "");
	const char *noproxy = getenv("no_proxy");
	if (noproxy)
		curl_easy_setopt(c, CURLOPT_NOPROXY, noproxy);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, g->o.tls_verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, g->o.tls_verify ? 2L : 0L);

	fl_buf_adds(&h, "X-ONEGATE-TOKEN: ");
	fl_buf_adds(&h, g->token);
	hdr = curl_slist_append(hdr, h.data);
	explicit_bzero(h.data, h.len);
	fl_buf_reset(&h);
	fl_buf_addf(&h, "X-ONEGATE-VMID: %s", g->vmid);
	hdr = curl_slist_append(hdr, h.data);
	hdr = curl_slist_append(hdr, "Accept: application/json");
	hdr = curl_slist_append(hdr, "Expect:");
	if (rq->content_type) {
		fl_buf_reset(&h);
		fl_buf_addf(&h, "Content-Type: %s", rq->content_type);
		hdr = curl_slist_append(hdr, h.data);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if (strcmp(rq->method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	}

	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
	} else {
		rs->status = 0;
		if (!rs->error[0])
			snprintf(rs->error, sizeof rs->error, "%s",
			         errbuf[0] ? errbuf : curl_easy_strerror(rc));
		if (rc == CURLE_FILESIZE_EXCEEDED) {
			snprintf(rs->error, sizeof rs->error, "answer larger than %u MiB",
			         FL_ONEGATE_MAX_BODY >> 20);
			rs->permanent = true;
		}
		if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
			rs->permanent = true;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	wipe_list(hdr);
	fl_buf_free(&h);
	fl_buf_free(&url);
}

/* --- the client --- */

/* scheme://host[:port] from the endpoint; the path only with keep_path (06 §1.4). */
static int make_base(struct fl_onegate *g, const char *endpoint, struct fl_err *e)
{
	static bool global;
	if (!global) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		global = true;
	}
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	int rc = -1;
	if (!u)
		abort();
	/* The endpoint may carry credentials: name the problem, not the value. */
	CURLUcode uc = curl_url_set(u, CURLUPART_URL, endpoint, 0);
	if (uc == CURLUE_BAD_PORT_NUMBER) {
		fl_err_set(e, FL_EXIT_FAIL,
		           "ONEGATE_ENDPOINT: the port is not a number 1-65535; expected e.g. "
		           "http://169.254.16.9:5030");
		goto out;
	}
	if (uc != CURLUE_OK || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		fl_err_set(e, FL_EXIT_FAIL,
		           "ONEGATE_ENDPOINT is not an http:// or https:// URL with a host; expected e.g. "
		           "http://169.254.16.9:5030");
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	long pv;
	if (port && (!fl_check_nonneg(port, &pv) || pv < 1 || pv > 65535)) {
		fl_err_set(e, FL_EXIT_FAIL,
		           "ONEGATE_ENDPOINT: the port is not a number 1-65535; expected e.g. "
		           "http://169.254.16.9:5030");
		goto out;
	}
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	struct fl_buf b = FL_BUF_INIT;
	fl_buf_addf(&b, "%s://%s", scheme, host);
	if (port)
		fl_buf_addf(&b, ":%s", port);
	if (g->o.keep_path && path) {
		size_t n = strlen(path);
		while (n > 0 && path[n - 1] == '/')
			n--;
		fl_buf_add(&b, path, n);
	}
	g->base = b.data;
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return rc;
}

int fl_onegate_open(struct fl_onegate *g, const struct fl_onegate_opts *o, struct fl_err *e)
{
	memset(g, 0, sizeof *g);
	g->o = *o;
	if (!g->o.connect_timeout_ms)
		g->o.connect_timeout_ms = FL_ONEGATE_CONNECT_TIMEOUT;
	if (!g->o.timeout_ms)
		g->o.timeout_ms = FL_ONEGATE_TIMEOUT;
	g->attempts = g->o.attempts ? g->o.attempts : FL_ONEGATE_ATTEMPTS;
	g->o.token = NULL; /* only the owned copy below */

	if (!o->endpoint || !*o->endpoint)
		return fl_err_set(
		    e, FL_EXIT_UNAVAILABLE,
		    "OneGate is not configured: no ONEGATE_ENDPOINT (one_env, the environment or "
		    "--endpoint); the VM template needs CONTEXT TOKEN=YES");
	if (!o->vmid || !*o->vmid)
		return fl_err_set(e, FL_EXIT_UNAVAILABLE,
		                  "OneGate is not configured: no VMID (one_env, the environment or --vmid)");
	if (!o->token || !*o->token)
		return fl_err_set(
		    e, FL_EXIT_UNAVAILABLE,
		    "OneGate is not configured: no token (TOKENTXT in one_env or the environment, "
		    "or the token file); the VM template needs CONTEXT TOKEN=YES");
	if (!all_digits(o->vmid))
		return fl_err_set(e, FL_EXIT_FAIL, "VMID '%.32s' is not a VM ID (decimal digits)", o->vmid);
	/* Trim like the Ruby client; a header cannot carry anything else. */
	const char *t = o->token;
	size_t n = strlen(t);
	while (n && (*t == ' ' || *t == '\t'))
		t++, n--;
	while (n && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\n' || t[n - 1] == '\r'))
		n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] == 0x7f)
			return fl_err_set(
			    e, FL_EXIT_FAIL,
			    "the OneGate token holds characters an HTTP header cannot carry; check "
			    "TOKENTXT or the token file");
	if (n == 0)
		return fl_err_set(e, FL_EXIT_UNAVAILABLE, "OneGate is not configured: the token is empty");
	if (make_base(g, o->endpoint, e) < 0)
		return -1;
	g->token = fl_xstrndup(t, n);
	g->vmid = fl_xstrdup(o->vmid);
	if (!g->o.send) {
		g->curl = curl_easy_init();
		if (!g->curl) {
			fl_onegate_close(g);
			return fl_err_set(e, FL_EXIT_FAIL, "cannot initialise libcurl");
		}
		g->o.send = curl_send;
		g->o.send_ctx = g;
	}
	g->start_ms = fl_clock_now_ms(g->o.clock);
	if (g->o.deadline_ms)
		g->deadline_at = g->start_ms + g->o.deadline_ms;
	/* Thousands of SuperNodes boot in the same second: jitter must differ between them. */
	g->seed = (uint32_t)(g->start_ms * 2654435761u) ^ (uint32_t)getpid() * 40503u ^
	          (uint32_t)strtoul(g->vmid, NULL, 10) * 2246822519u;
	if (!g->seed)
		g->seed = 1;
	return 0;
}

void fl_onegate_close(struct fl_onegate *g)
{
	if (g->curl)
		curl_easy_cleanup(g->curl);
	if (g->token)
		explicit_bzero(g->token, strlen(g->token));
	free(g->token);
	free(g->vmid);
	free(g->base);
	memset(g, 0, sizeof *g);
}

void fl_onegate_response_free(struct fl_onegate_response *rs)
{
	fl_buf_free(&rs->body);
	memset(rs, 0, sizeof *rs);
}

void fl_onegate_response_text(const struct fl_onegate_response *rs, char *out, size_t n)
{
	if (!n)
		return;
	if (rs->status == 0) {
		snprintf(out, n, "%s", rs->error[0] ? rs->error : "no answer");
		return;
	}
	const char *s = fl_buf_str(&rs->body);
	size_t len = rs->body.len;
	while (len && strchr(" \t\r\n", *s))
		s++, len--;
	while (len && strchr(" \t\r\n", s[len - 1]))
		len--;
	if (len == 0) {
		snprintf(out, n, "(empty body)");
		return;
	}
	size_t max = n - 1 < 200 ? n - 1 : 200;
	size_t k = 0;
	for (size_t i = 0; i < len && k < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[k++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
	}
	out[k] = '\0';
	if (len > max && k >= 3)
		memcpy(out + k - 3, "...", 3);
}

enum outcome { OUT_NONE, OUT_DONE, OUT_TRANSPORT, OUT_5XX };

struct attempt_ctx {
	struct fl_onegate *g;
	const struct fl_onegate_request *rq;
	struct fl_onegate_response *rs;
	enum outcome last;
	unsigned sent;
};

static int attempt(void *vctx, unsigned n, struct fl_err *e)
{
	struct attempt_ctx *a = vctx;
	struct fl_onegate *g = a->g;
	long timeout = g->o.timeout_ms;
	if (g->deadline_at) {
		uint64_t now = fl_clock_now_ms(g->o.clock);
		if (now >= g->deadline_at) {
			if (a->last == OUT_NONE) {
				a->last = OUT_TRANSPORT;
				snprintf(a->rs->error, sizeof a->rs->error,
				         "deadline reached before the request");
			}
			return 1;
		}
		if ((uint64_t)timeout > g->deadline_at - now)
			timeout = (long)(g->deadline_at - now);
	}
	fl_buf_reset(&a->rs->body);
	a->rs->status = 0;
	a->rs->error[0] = '\0';
	a->rs->permanent = false;
	g->o.send(g->o.send_ctx, a->rq, timeout, a->rs);
	g->requests++;
	a->sent++;
	(void)e;
	if (a->rs->status == 0) {
		a->last = OUT_TRANSPORT;
		fl_debug("%s %s: attempt %u: %s", a->rq->method, a->rq->path, n, a->rs->error);
		return a->rs->permanent ? -1 : 1;
	}
	if (a->rs->status >= 500) {
		char text[208];
		fl_onegate_response_text(a->rs, text, sizeof text);
		a->last = OUT_5XX;
		fl_debug("%s %s: attempt %u: HTTP %ld: %s", a->rq->method, a->rq->path, n, a->rs->status,
		         text);
		return 1;
	}
	a->last = OUT_DONE;
	return 0;
}

int fl_onegate_request(struct fl_onegate *g, const struct fl_onegate_request *rq,
                       struct fl_onegate_response *rs, struct fl_err *e)
{
	struct attempt_ctx a = {g, rq, rs, OUT_NONE, 0};
	struct fl_backoff b = {
	    .initial_ms = 250,
	    .max_ms = 2000,
	    .factor = 2.0,
	    .jitter = 0.5,
	    .max_attempts = g->attempts,
	    .seed = g->seed,
	};
	if (g->deadline_at) {
		uint64_t now = fl_clock_now_ms(g->o.clock);
		b.deadline_ms = g->deadline_at > now ? g->deadline_at - now : 1;
	}
	fl_retry_run(&b, g->o.clock, attempt, &a, NULL);
	g->seed = b.seed ? b.seed : g->seed;
	char text[208];
	fl_onegate_response_text(rs, text, sizeof text);
	g->last_status = rs->status;
	if (a.last == OUT_DONE && rs->status >= 200 && rs->status < 300)
		return 0;
	if (a.last == OUT_DONE)
		return fl_err_set(e, FL_EXIT_FAIL, "OneGate answered %ld to %s %s: %s", rs->status,
		                  rq->method, rq->path, text);
	if (a.last == OUT_5XX) {
		int code = rs->status >= 502 && rs->status <= 504 ? FL_EXIT_UNAVAILABLE : FL_EXIT_FAIL;
		return fl_err_set(e, code, "OneGate at %s answered %ld to %s %s: %s (%u attempt%s)", g->base,
		                  rs->status, rq->method, rq->path, text, a.sent, a.sent == 1 ? "" : "s");
	}
	if (rs->permanent)
		return fl_err_set(e, FL_EXIT_FAIL, "%s %s at %s: %s", rq->method, rq->path, g->base, text);
	return fl_err_set(e, FL_EXIT_UNAVAILABLE, "OneGate unreachable at %s: %s %s: %s (%u attempt%s)",
	                  g->base, rq->method, rq->path, text, a.sent, a.sent == 1 ? "" : "s");
}

int fl_onegate_ctx_load(struct fl_ctx *c, const char *path, bool explicit_path, const char *token_file,
                        char **envp, struct fl_err *bad, struct fl_err *e)
{
	if (bad)
		fl_err_clear(bad);
	struct fl_ctx_opts co = {path, token_file ? NULL : FL_CTX_DEFAULT_TOKEN, envp};
	const char *header = NULL;
	if (fl_ctx_load(c, &co, e) < 0) {
		fl_ctx_free(c);
		if (!path || (explicit_path && access(path, R_OK) != 0))
			return -1;
		fl_warn("%s; using only its OneGate header lines and the environment", e->msg);
		if (bad)
			*bad = *e;
		co.path = NULL;
		if (fl_ctx_load(c, &co, e) < 0) {
			fl_ctx_free(c);
			return -1;
		}
		header = path;
	}
	if (!header && !token_file)
		return 0;
	/* Again with what fl_ctx_load does not know: the header lines of a file that does not
	 * parse, a token file that replaces any other token. */
	struct fl_identity_src ids = {.envp = envp,
	                              .file = header ? NULL : &c->file,
	                              .one_env = header,
	                              .token_file = token_file ? token_file : co.token_file,
	                              .token_file_first = token_file != NULL};
	fl_identity_free(&c->id);
	if (fl_identity_load(&c->id, &ids, e) < 0) {
		fl_ctx_free(c);
		return -1;
	}
	return 0;
}

void fl_onegate_warn_data(const char *data)
{
	struct fl_buf piece = FL_BUF_INIT;
	for (const char *p = data;; p++) {
		bool lit_nl = p[0] == '\\' && p[1] == 'n';
		if (*p == '\n' || *p == '\0' || lit_nl) {
			struct fl_err e = {0};
			if (piece.len && fl_onegate_check_pair(fl_buf_str(&piece), &e) < 0)
				fl_warn("%s", e.msg);
			fl_buf_reset(&piece);
			if (!*p)
				break;
			p += lit_nl;
			continue;
		}
		fl_buf_addc(&piece, *p);
	}
	fl_buf_free(&piece);
}

/* --- wire format --- */

void fl_onegate_form_escape(struct fl_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '*' ||
		    c == '-' || c == '.' || c == '_') {
			fl_buf_addc(b, (char)c);
		} else if (c == ' ') {
			fl_buf_addc(b, '+');
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			fl_buf_add(b, e, 3);
		}
	}
}

void fl_onegate_form_body(struct fl_buf *b, const char *data, int type)
{
	fl_buf_adds(b, "data=");
	fl_onegate_form_escape(b, data, strlen(data));
	fl_buf_addf(b, "&type=%d", type);
}

static const char *char_name(unsigned char c)
{
	switch (c) {
	case ',': return "a comma";
	case '"': return "a double quote";
	case '\\': return "a backslash";
	case '[': return "'['";
	case ']': return "']'";
	case '\n': return "a newline";
	case '\r': return "a carriage return";
	case '\t': return "a tab";
	default: return "a control character";
	}
}

int fl_onegate_check_pair(const char *kv, struct fl_err *e)
{
	const char *eq = strchr(kv, '=');
	if (!eq || eq == kv)
		return fl_err_set(e, FL_EXIT_USAGE, "'%.64s' is not KEY=VALUE", kv);
	int kn = (int)(eq - kv);
	if (kn > 128)
		return fl_err_set(e, FL_EXIT_USAGE, "attribute name '%.32s...' is longer than 128 characters",
		                  kv);
	bool lower = false, bad = false;
	for (int i = 0; i < kn; i++) {
		char c = kv[i];
		if (c >= 'a' && c <= 'z')
			lower = true;
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9' && i > 0) || (c == '_' && i > 0)))
			bad = true;
	}
	if (bad)
		return fl_err_set(
		    e, FL_EXIT_USAGE,
		    "'%.*s' is not an attribute name: use A-Z, 0-9 and _, starting with a letter", kn, kv);
	if (lower)
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "'%.*s': OneGate upper-cases attribute names; write it in upper case", kn,
		                  kv);
	if (kn >= 3 && strncmp(kv, "XML", 3) == 0)
		return fl_err_set(
		    e, FL_EXIT_USAGE,
		    "'%.*s': OpenNebula renames attributes starting with XML to ONE_...; choose another "
		    "name",
		    kn, kv);
	for (int i = 0; restricted_attrs[i]; i++)
		if ((size_t)kn == strlen(restricted_attrs[i]) &&
		    strncmp(kv, restricted_attrs[i], (size_t)kn) == 0)
			return fl_err_set(e, FL_EXIT_USAGE,
			                  "%.*s is managed by OpenNebula; OneGate refuses to change it (403)",
			                  kn, kv);
	const unsigned char *v = (const unsigned char *)eq + 1;
	size_t vn = strlen((const char *)v);
	if (vn > FL_ONEGATE_MAX_VALUE)
		return fl_err_set(e, FL_EXIT_USAGE, "%.*s: the value is longer than %u KiB", kn, kv,
		                  FL_ONEGATE_MAX_VALUE >> 10);
	const char *problem = NULL;
	char buf[96];
	if (vn && (v[0] == ' ' || v[0] == '\t'))
		problem = "a leading blank, which OneGate would keep as part of the value";
	for (size_t i = 0; !problem && i < vn;) {
		unsigned char c = v[i];
		if (c == ',' || c == '"' || c == '\\' || c == '[' || c == ']' || c < 0x20 || c == 0x7f) {
			snprintf(buf, sizeof buf, "%s, which OneGate's template parser mangles",
			         char_name(c));
			problem = buf;
			break;
		}
		size_t l = fl_buf_utf8_seqlen(v + i);
		if (!l) {
			problem = "bytes that are not UTF-8";
			break;
		}
		i += l;
	}
	if (problem)
		return fl_err_set(
		    e, FL_EXIT_USAGE,
		    "%.*s: the value contains %s; publish it base64-encoded instead, e.g. %.*s=$(printf "
		    "'%%s' \"$VALUE\" | base64 -w0), and decode it where it is read",
		    kn, kv, problem, kn, kv);
	return 0;
}

int fl_onegate_publish_data(char *const *pairs, size_t n, struct fl_buf *data, struct fl_err *e)
{
	if (n == 0)
		return fl_err_set(e, FL_EXIT_USAGE, "nothing to publish: give KEY=VALUE arguments");
	for (size_t i = 0; i < n; i++) {
		if (fl_onegate_check_pair(pairs[i], e) < 0)
			return -1;
		size_t kn = (size_t)(strchr(pairs[i], '=') - pairs[i]);
		for (size_t j = 0; j < i; j++)
			if (strncmp(pairs[j], pairs[i], kn + 1) == 0)
				return fl_err_set(e, FL_EXIT_USAGE,
				                  "%.*s is given twice; OneGate would store both as a list",
				                  (int)kn, pairs[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			fl_buf_addc(data, '\n');
		fl_buf_adds(data, pairs[i]);
		if (strchr(pairs[i], '=')[1] == '\0')
			fl_buf_adds(data, "\"\""); /* K= would store a lone quote (06 Q1) */
	}
	return 0;
}

/* --- verbs --- */

int fl_onegate_update(struct fl_onegate *g, const char *id, const char *data, int type, bool raw,
                      struct fl_err *e)
{
	char path[64];
	if (id && !all_digits(id))
		return fl_err_set(e, FL_EXIT_USAGE, "'%.32s' is not a VM ID", id);
	snprintf(path, sizeof path, "%s%s%s", id ? "/vms/" : "/vm", id ? id : "",
	         raw && type != 1 ? "?type=2" : "");
	struct fl_buf body = FL_BUF_INIT;
	if (raw)
		fl_buf_adds(&body, data);
	else
		fl_onegate_form_body(&body, data, type);
	struct fl_onegate_request rq = {"PUT", path, raw ? "text/plain" : "application/x-www-form-urlencoded",
	                                fl_buf_str(&body), body.len};
	struct fl_onegate_response rs = {0};
	int rc = fl_onegate_request(g, &rq, &rs, e);
	fl_onegate_response_free(&rs);
	fl_buf_free(&body);
	return rc;
}

int fl_onegate_scale(struct fl_onegate *g, const char *role, const char *cardinality, struct fl_err *e)
{
	long n;
	if (!role || !*role || strlen(role) > 128)
		return fl_err_set(e, FL_EXIT_USAGE, "service scale needs --role NAME");
	if (!cardinality || !fl_check_nonneg(cardinality, &n))
		return fl_err_set(e, FL_EXIT_USAGE, "--cardinality needs a non-negative integer, not '%.32s'",
		                  cardinality ? cardinality : "");
	struct fl_buf path = FL_BUF_INIT, body = FL_BUF_INIT;
	fl_buf_adds(&path, "/service/role/");
	/* A path segment: the form escape, but a space is %20 there. */
	for (const char *p = role; *p; p++) {
		if (*p == ' ')
			fl_buf_adds(&path, "%20");
		else
			fl_onegate_form_escape(&path, p, 1);
	}
	/* A string, for byte parity with the Ruby CLI (06 §8.1). */
	fl_buf_addf(&body, "{\"cardinality\":\"%ld\"}", n);
	struct fl_onegate_request rq = {"PUT", path.data, "application/json", body.data, body.len};
	struct fl_onegate_response rs = {0};
	int rc = fl_onegate_request(g, &rq, &rs, e);
	fl_onegate_response_free(&rs);
	fl_buf_free(&path);
	fl_buf_free(&body);
	return rc;
}

int fl_onegate_vm_get(struct fl_onegate *g, const char *id, struct fl_onegate_vm *vm, struct fl_err *e)
{
	char path[48];
	memset(vm, 0, sizeof *vm);
	if (id && !all_digits(id))
		return fl_err_set(e, FL_EXIT_USAGE, "'%.32s' is not a VM ID", id);
	snprintf(path, sizeof path, "%s%s", id ? "/vms/" : "/vm", id ? id : "");
	struct fl_onegate_request rq = {"GET", path, NULL, NULL, 0};
	struct fl_onegate_response rs = {0};
	int rc = fl_onegate_request(g, &rq, &rs, e);
	if (rc == 0 && fl_onegate_vm_parse(fl_buf_str(&rs.body), rs.body.len, vm, e) < 0)
		rc = fl_err_prefix(e, FL_EXIT_FAIL, "GET %s", path);
	fl_onegate_response_free(&rs);
	return rc;
}

int fl_onegate_service_get(struct fl_onegate *g, bool extended, struct fl_onegate_service *s,
                           struct fl_err *e)
{
	const char *path = extended ? "/service?extended=true" : "/service";
	memset(s, 0, sizeof *s);
	struct fl_onegate_request rq = {"GET", path, NULL, NULL, 0};
	struct fl_onegate_response rs = {0};
	int rc = fl_onegate_request(g, &rq, &rs, e);
	if (rc == 0 && fl_onegate_service_parse(fl_buf_str(&rs.body), rs.body.len, s, e) < 0)
		rc = fl_err_prefix(e, FL_EXIT_FAIL, "GET %s", path);
	fl_onegate_response_free(&rs);
	return rc;
}
