/* fl_probe: is a Flower endpoint up? TCP connect, TLS handshake verified against a CA, gRPC
 * health check (grpc.health.v1, what --health-server-address serves), each bounded by a timeout. */
#ifndef FL_PROBE_H
#define FL_PROBE_H

#include "fl_err.h"
#include "fl_hostport.h"

#include <stddef.h>
#include <time.h>

#define FL_PROBE_MAX_TIMEOUT 3600000L /* ms: a probe that may take an hour is a caller bug */
#define FL_PROBE_MAX_BODY    4096     /* bytes of a health answer: SERVING is 7 */

/* Why a probe failed, so callers can tell "not up yet" from "wrong CA". */
enum fl_probe_fail {
	FL_PROBE_OK,          /* no failure */
	FL_PROBE_SETUP,       /* the probe could not start: bad timeout, unreadable CA file */
	FL_PROBE_UNREACHABLE, /* no such host, refused, no route: not listening (yet) or wrong address */
	FL_PROBE_TIMEOUT,     /* nothing answered in time: firewall, blackhole, overloaded or wrong port */
	FL_PROBE_HANDSHAKE,   /* connected, but no TLS came of it: a plaintext port, a closed connection */
	FL_PROBE_VERIFY,      /* the server certificate does not verify against the CA: wrong CA */
	FL_PROBE_HOSTNAME,    /* it verifies but does not cover the dialed host: SAN lacks the address */
	FL_PROBE_PROTOCOL,    /* it answered, but not as a gRPC health server: wrong port, TLS port, error */
	FL_PROBE_NOT_SERVING, /* the health service answered NOT_SERVING, UNKNOWN or SERVICE_UNKNOWN */
};

/* grpc.health.v1.HealthCheckResponse.ServingStatus values. */
enum {
	FL_HEALTH_UNKNOWN = 0,
	FL_HEALTH_SERVING = 1,
	FL_HEALTH_NOT_SERVING = 2,
	FL_HEALTH_SERVICE_UNKNOWN = 3,
};

/* What a successful TLS handshake showed. */
struct fl_probe_tls_info {
	char version[16]; /* "TLSv1.3" */
	char peer[256];   /* the leaf's subject CN, else its first SAN entry, else "" */
	char alpn[32];    /* the negotiated ALPN protocol ("h2"), "" when none */
	time_t not_after; /* the leaf's expiry, 0 when unreadable */
};

/* Every probe dials hp (fl_hostport.h), the bind-all 0.0.0.0 and :: on the loopback (127.0.0.1,
 * ::1): probing a listen address checks the server on this host. */

/* The lower-case name of why ("unreachable", "not-serving", ...) for logs and JSON. */
const char *fl_probe_fail_name(enum fl_probe_fail why);

/* TCP connect within timeout_ms (1..FL_PROBE_MAX_TIMEOUT) trying every address hp resolves to.
 * Name resolution uses the system resolver and its own timeouts. Returns 0 when a connection
 * was accepted (it is closed again); -1 with FL_EXIT_FAIL, the reason in e ("connection
 * refused", "timed out after 2000 ms", "no such host") and in *why (may be NULL). In every
 * probe a timeout outside that range is FL_EXIT_USAGE with why SETUP. */
int fl_probe_tcp(const struct fl_hostport *hp, long timeout_ms, enum fl_probe_fail *why, struct fl_err *e);

/* Connect and complete a TLS handshake (TLS 1.2 or later, ALPN h2 and http/1.1, SNI for a name)
 * within timeout_ms, verifying the server certificate against the CA certificates in the PEM
 * file ca_path and that it covers hp->host (name or IP address), then close. Returns 0 with
 * info filled (may be NULL); -1 with FL_EXIT_FAIL, a message naming the address and what to
 * check, and *why (may be NULL): UNREACHABLE, TIMEOUT, HANDSHAKE, VERIFY (with OpenSSL's
 * verify error text), HOSTNAME, or SETUP when ca_path is unusable (FL_EXIT_USAGE when it is NULL or ""). */
int fl_probe_tls(const struct fl_hostport *hp, const char *ca_path, long timeout_ms,
                 struct fl_probe_tls_info *info, enum fl_probe_fail *why, struct fl_err *e);

/* grpc.health.v1.Health/Check for the server as a whole (service "") over plaintext HTTP/2
 * (prior knowledge), within timeout_ms. Returns 0 when the answer is SERVING with gRPC status
 * 0; -1 with FL_EXIT_FAIL, a message and *why (may be NULL): UNREACHABLE, TIMEOUT, PROTOCOL
 * (an HTTP or gRPC error, a malformed or oversized answer) or NOT_SERVING. */
int fl_probe_grpc_health(const struct fl_hostport *hp, long timeout_ms, enum fl_probe_fail *why,
                         struct fl_err *e);

/* Parse an untrusted HealthCheckResponse body: one uncompressed gRPC frame (flag byte, 4-byte
 * big-endian length, message) holding protobuf field 1 (status, varint); other fields are
 * skipped, the last status wins, an empty message is UNKNOWN. Returns 0 with *status set (any
 * int32; see FL_HEALTH_*), or -1 with FL_EXIT_FAIL and what is wrong: truncated, compressed,
 * length mismatch, an overlong varint, a bad wire type, trailing bytes. */
int fl_probe_health_parse(const unsigned char *body, size_t len, int *status, struct fl_err *e);

#endif
