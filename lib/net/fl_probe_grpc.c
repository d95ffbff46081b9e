/* fl_probe_grpc: the gRPC health check (grpc.health.v1 over plaintext HTTP/2) and the parser
 * of its untrusted answer. */
#include "fl_buf.h"
#include "fl_hex.h"
#include "fl_probe-internal.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>

int fl_probe_health_parse(const unsigned char *body, size_t len, int *status, struct fl_err *e)
{
	*status = FL_HEALTH_UNKNOWN;
	if (len < 5)
		return fl_err_set(e, FL_EXIT_FAIL, "truncated gRPC frame: %zu of its 5 header bytes", len);
	if (body[0] == 1)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "the gRPC message is compressed (flag 1) though none was asked for");
	if (body[0] != 0)
		return fl_err_set(e, FL_EXIT_FAIL, "invalid gRPC compressed flag %u", body[0]);
	uint32_t mlen = (uint32_t)body[1] << 24 | (uint32_t)body[2] << 16 | (uint32_t)body[3] << 8 | body[4];
	if (mlen > len - 5)
		return fl_err_set(e, FL_EXIT_FAIL, "gRPC message length %u exceeds the %zu bytes received",
		                  mlen, len - 5);
	if (mlen < len - 5)
		return fl_err_set(e, FL_EXIT_FAIL, "%zu unexpected bytes after the gRPC message",
		                  len - 5 - mlen);

	const unsigned char *p = body + 5, *end = p + mlen;
	int st = FL_HEALTH_UNKNOWN;
	while (p < end) {
		uint64_t v[2] = {0, 0}; /* key, then a varint value or a length */
		unsigned wt = 0, field = 0;
		for (int k = 0; k < 2; k++) {
			if (k == 1 && wt != 0 && wt != 2)
				break;
			int i = 0;
			for (;; i++) {
				if (p >= end)
					return fl_err_set(e, FL_EXIT_FAIL,
					                  "truncated protobuf varint at byte %zu",
					                  (size_t)(p - body));
				unsigned char b = *p++;
				if (i == 9 && b > 1)
					return fl_err_set(e, FL_EXIT_FAIL,
					                  "overlong protobuf varint at byte %zu",
					                  (size_t)(p - body - 1));
				v[k] |= (uint64_t)(b & 0x7f) << (7 * i);
				if (!(b & 0x80))
					break;
			}
			if (k == 0) {
				if (v[0] > UINT32_MAX || v[0] >> 3 == 0)
					return fl_err_set(e, FL_EXIT_FAIL, "invalid protobuf field key %llu",
					                  (unsigned long long)v[0]);
				wt = (unsigned)(v[0] & 7);
				field = (unsigned)(v[0] >> 3);
			}
		}
		if (field == 1 && wt != 0)
			return fl_err_set(e, FL_EXIT_FAIL, "the status field has wire type %u, not a varint",
			                  wt);
		size_t skip = 0;
		switch (wt) {
		case 0:
			if (field == 1) /* an int32 enum; protobuf keeps the low 32 bits */
				st = (int)(int32_t)(uint32_t)v[1];
			break;
		case 1: skip = 8; break;
		case 2:
			if (v[1] > (uint64_t)(end - p))
				return fl_err_set(e, FL_EXIT_FAIL,
				                  "protobuf field %u of %llu bytes exceeds the message",
				                  field, (unsigned long long)v[1]);
			skip = (size_t)v[1];
			break;
		case 5: skip = 4; break;
		default:
			return fl_err_set(e, FL_EXIT_FAIL, "unsupported protobuf wire type %u (field %u)", wt,
			                  field);
		}
		if (skip > (size_t)(end - p))
			return fl_err_set(e, FL_EXIT_FAIL, "truncated protobuf field %u", field);
		p += skip;
	}
	*status = st;
	return 0;
}

static const char *health_name(int st)
{
	switch (st) {
	case FL_HEALTH_UNKNOWN: return "UNKNOWN";
	case FL_HEALTH_SERVING: return "SERVING";
	case FL_HEALTH_NOT_SERVING: return "NOT_SERVING";
	case FL_HEALTH_SERVICE_UNKNOWN: return "SERVICE_UNKNOWN";
	default: return "undefined";
	}
}

static const char *grpc_code_name(int code)
{
	static const char *const names[] = {
	    "OK",        "CANCELLED",       "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
	    "NOT_FOUND", "ALREADY_EXISTS",  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	    "ABORTED",   "OUT_OF_RANGE",    "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
	    "DATA_LOSS", "UNAUTHENTICATED",
	};
	return code >= 0 && (size_t)code < sizeof names / sizeof names[0] ? names[code] : "undefined";
}

/* What the server sent: the body (bounded) and the headers and trailers that matter. */
struct grpc_rx {
	unsigned char body[FL_PROBE_MAX_BODY];
	size_t len;
	bool oversize;
	int grpc_status; /* -1: none seen, -2: not a number */
	char grpc_message[200];
	char content_type[64];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct grpc_rx *rx = ud;
	size_t len = size * n;
	if (len > sizeof rx->body - rx->len) {
		rx->oversize = true;
		return 0; /* abort the transfer */
	}
	memcpy(rx->body + rx->len, p, len);
	rx->len += len;
	return len;
}

/* Copy a header value, percent-decoded (grpc-message is), control characters as '?'. */
static void header_value(const char *v, size_t n, char *out, size_t outlen)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < outlen; i++) {
		unsigned char c = (unsigned char)v[i];
		int hi = i + 2 < n ? fl_hex_digit(v[i + 1]) : -1, lo = hi >= 0 ? fl_hex_digit(v[i + 2]) : -1;
		if (c == '%' && hi >= 0 && lo >= 0) {
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[o] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct grpc_rx *rx = ud;
	size_t len = size * n, nl = 0;
	while (nl < len && p[nl] != ':')
		nl++;
	if (nl == len)
		return len; /* the status line or the blank line */
	const char *v = p + nl + 1;
	size_t vl = len - nl - 1;
	while (vl && (*v == ' ' || *v == '\t'))
		v++, vl--;
	while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
		vl--;
	if (nl == 11 && strncasecmp(p, "grpc-status", nl) == 0) {
		int code = 0;
		bool ok = vl >= 1 && vl <= 3;
		for (size_t i = 0; ok && i < vl; i++) {
			ok = v[i] >= '0' && v[i] <= '9';
			code = code * 10 + (v[i] - '0');
		}
		rx->grpc_status = ok ? code : -2;
	} else if (nl == 12 && strncasecmp(p, "grpc-message", nl) == 0) {
		header_value(v, vl, rx->grpc_message, sizeof rx->grpc_message);
	} else if (nl == 12 && strncasecmp(p, "content-type", nl) == 0) {
		header_value(v, vl, rx->content_type, sizeof rx->content_type);
	}
	return len;
}

static int grpc_transfer_failed(CURL *c, CURLcode rc, const char *errbuf, const struct grpc_rx *rx,
                                const char *addr, long timeout_ms, enum fl_probe_fail *why, struct fl_err *e)
{
	const char *hint =
	    "is the health server enabled (--health-server-address) and listening on this port?";
	long os_errno = 0;
	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
	switch (rc) {
	case CURLE_WRITE_ERROR:
		if (!rx->oversize)
			break;
		fl_err_set(
		    e, FL_EXIT_FAIL,
		    "gRPC health check of %s: the answer is larger than %d bytes; is this the health port "
		    "(--health-server-address)?",
		    addr, FL_PROBE_MAX_BODY);
		return fail(why, FL_PROBE_PROTOCOL);
	case CURLE_COULDNT_RESOLVE_HOST:
		fl_err_set(e, FL_EXIT_FAIL,
		           "cannot resolve %s: no such host; check the name or dial an IP address", addr);
		return fail(why, FL_PROBE_UNREACHABLE);
	case CURLE_COULDNT_CONNECT:
		fl_err_set(e, FL_EXIT_FAIL, "gRPC health check of %s: cannot connect: %s; %s", addr,
		           os_errno ? errno_text((int)os_errno) : errbuf, hint);
		return fail(why, FL_PROBE_UNREACHABLE);
	case CURLE_OPERATION_TIMEDOUT: {
		curl_off_t connected = 0;
		curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
		if (connected > 0)
			fl_err_set(e, FL_EXIT_FAIL,
			           "gRPC health check of %s: no answer within %ld ms; is this the plaintext "
			           "health port (--health-server-address), not a TLS one?",
			           addr, timeout_ms);
		else
			fl_err_set(e, FL_EXIT_FAIL,
			           "gRPC health check of %s: cannot connect: timed out after %ld ms; %s",
			           addr, timeout_ms,
			           "check the address and the firewalls or security groups in between");
		return fail(why, FL_PROBE_TIMEOUT);
	}
	default: break;
	}
	const char *what = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	if (rc == CURLE_GOT_NOTHING)
		what = "the server closed the connection without an HTTP/2 answer";
	fl_err_set(e, FL_EXIT_FAIL,
	           "gRPC health check of %s failed: %s; is this the plaintext health port "
	           "(--health-server-address)? TLS and API ports do not answer it",
	           addr, what);
	return fail(why, FL_PROBE_PROTOCOL);
}

/* Judge a completed exchange: HTTP 200, gRPC content, grpc-status 0, a SERVING message. */
static int grpc_judge(long http, const struct grpc_rx *rx, const char *addr, enum fl_probe_fail *why,
                      struct fl_err *e)
{
	if (http != 200 || strncmp(rx->content_type, "application/grpc", 16) != 0) {
		char what[96];
		if (http != 200)
			snprintf(what, sizeof what, "HTTP status %ld", http);
		else
			snprintf(what, sizeof what, "content-type '%s'", rx->content_type);
		fl_err_set(e, FL_EXIT_FAIL,
		           "gRPC health check of %s: %s: not a gRPC answer; is this the health port "
		           "(--health-server-address)?",
		           addr, what);
		return fail(why, FL_PROBE_PROTOCOL);
	}
	if (rx->grpc_status != 0) {
		if (rx->grpc_status < 0)
			fl_err_set(e, FL_EXIT_FAIL, "gRPC health check of %s: the answer has %s grpc-status",
			           addr, rx->grpc_status == -1 ? "no" : "an invalid");
		else
			fl_err_set(e, FL_EXIT_FAIL, "gRPC health check of %s: gRPC status %d (%s): %s%s",
			           addr, rx->grpc_status, grpc_code_name(rx->grpc_status),
			           rx->grpc_message[0] ? rx->grpc_message : "no message",
			           rx->grpc_status == 12
			               ? "; this gRPC server has no health service: dial the port of "
			                 "--health-server-address, not an API port"
			               : "");
		return fail(why, FL_PROBE_PROTOCOL);
	}
	int st;
	struct fl_err pe;
	if (fl_probe_health_parse(rx->body, rx->len, &st, &pe) < 0) {
		fl_err_set(e, FL_EXIT_FAIL, "gRPC health check of %s: malformed answer: %s", addr, pe.msg);
		return fail(why, FL_PROBE_PROTOCOL);
	}
	if (st != FL_HEALTH_SERVING) {
		fl_err_set(
		    e, FL_EXIT_FAIL,
		    "gRPC health check of %s: not serving (status %d %s); the server is up but not ready",
		    addr, st, health_name(st));
		return fail(why, FL_PROBE_NOT_SERVING);
	}
	return 0;
}

int fl_probe_grpc_health(const struct fl_hostport *hp, long timeout_ms, enum fl_probe_fail *why,
                         struct fl_err *e)
{
	struct fl_hostport t = probe_target(hp);
	hp = &t;
	enum fl_probe_fail w;
	if (!why)
		why = &w;
	*why = FL_PROBE_OK;
	if (check_timeout(timeout_ms, why, e) < 0)
		return -1;
	static bool global;
	if (!global) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		global = true;
	}
	char addr[FL_HOSTPORT_LEN], url[FL_HOSTPORT_LEN + 64], deadline[32];
	fl_hostport_format(hp, addr, sizeof addr);
	snprintf(url, sizeof url, "http://%s/grpc.health.v1.Health/Check", addr);
	snprintf(deadline, sizeof deadline, "grpc-timeout: %ldm", timeout_ms);
	CURL *c = curl_easy_init();
	struct grpc_rx *rx = fl_xcalloc(1, sizeof *rx); /* 4 KiB: off the stack */
	struct curl_slist *hdr = NULL;
	const char *const lines[] = {"Content-Type: application/grpc", "TE: trailers", deadline,
	                             "Accept:", "Expect:"};
	bool oom = !c;
	for (size_t i = 0; !oom && i < sizeof lines / sizeof lines[0]; i++) {
		struct curl_slist *l = curl_slist_append(hdr, lines[i]);
		oom = !l;
		hdr = l ? l : hdr;
	}
	if (oom) {
		curl_slist_free_all(hdr);
		free(rx);
		curl_easy_cleanup(c);
		fl_err_set(e, FL_EXIT_FAIL, "cannot set up the gRPC health check of %s: out of memory", addr);
		return fail(why, FL_PROBE_SETUP);
	}
	rx->grpc_status = -1;
	/* An empty HealthCheckRequest (service ""): flag 0, length 0. */
	static const char request[5] = {0, 0, 0, 0, 0};
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never through http_proxy: it is a local probe */
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, request);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)sizeof request);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "flkit/" FLKIT_VERSION " (health probe)");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, rx);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, rx);
	CURLcode rc = curl_easy_perform(c);
	int r;
	if (rc != CURLE_OK) {
		r = grpc_transfer_failed(c, rc, errbuf, rx, addr, timeout_ms, why, e);
	} else {
		long http = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &http);
		r = grpc_judge(http, rx, addr, why, e);
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	free(rx);
	return r;
}
