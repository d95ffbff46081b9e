/* fl_onegate: the OneGate client: requests with timeouts and retries, the Ruby CLI's wire
 * format, and bounded parsing of the /vm, /vms/<id> and /service answers (design 06). */
#ifndef FL_ONEGATE_H
#define FL_ONEGATE_H

#include "fl_buf.h"
#include "fl_ctx.h"
#include "fl_err.h"
#include "fl_retry.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_ONEGATE_MAX_BODY        (16u << 20) /* 06 Q13: cap our own reads */
#define FL_ONEGATE_MAX_VALUE       (1u << 20)  /* one published value */
#define FL_ONEGATE_CONNECT_TIMEOUT 5000        /* ms, 01 §9 */
#define FL_ONEGATE_TIMEOUT         10000       /* ms, one request */
#define FL_ONEGATE_ATTEMPTS        4           /* per request: 1 + 3 retries */

struct fl_onegate_request {
	const char *method;       /* GET, PUT, POST */
	const char *path;         /* absolute, with query: /vm, /service?extended=true */
	const char *content_type; /* NULL: none */
	const char *body;
	size_t body_len;
};

struct fl_onegate_response {
	long status;        /* HTTP status; 0 when no answer came (transport error) */
	struct fl_buf body; /* at most FL_ONEGATE_MAX_BODY */
	char error[256];    /* transport error text when status is 0 */
	bool permanent;     /* a transport error retrying cannot fix (bad URL, oversized body) */
};

/* Sends one request, no retries: fill rs (status, body or error). timeout_ms bounds it all.
 * The token and VMID headers are the transport's business; tests plug in canned answers. */
typedef void (*fl_onegate_send_fn)(void *ctx, const struct fl_onegate_request *rq, long timeout_ms,
                                   struct fl_onegate_response *rs);

struct fl_onegate_opts {
	const char *endpoint; /* ONEGATE_ENDPOINT: http(s)://host[:port][/ignored-path] */
	const char *vmid;     /* X-ONEGATE-VMID */
	const char *token;    /* X-ONEGATE-TOKEN; secret: never logged, printed or put in argv */
	long connect_timeout_ms, timeout_ms; /* 0: the defaults above */
	unsigned attempts;                   /* per request; 0: FL_ONEGATE_ATTEMPTS */
	uint64_t deadline_ms;                /* overall budget from open; 0: none */
	bool keep_path;                      /* honour a path prefix in the endpoint (Ruby drops it) */
	bool tls_verify;                     /* check https certificates (Ruby does not) */
	const struct fl_clock *clock;        /* NULL: the real one */
	fl_onegate_send_fn send;             /* NULL: libcurl */
	void *send_ctx;
};

struct fl_onegate {
	struct fl_onegate_opts o;
	char *base;           /* scheme://host:port[/prefix], safe to print */
	char *vmid;           /* decimal */
	char *token;          /* owned copy, wiped on close */
	void *curl;           /* CURL *, kept for connection reuse */
	void *headers;        /* struct curl_slist *, holds the token */
	uint64_t start_ms;    /* when opened */
	uint64_t deadline_at; /* absolute (clock ms); 0: none */
	unsigned attempts;    /* per request, current */
	unsigned requests;    /* sent so far, for logs and tests */
	long last_status;     /* of the last fl_onegate_request: HTTP status, 0 without an answer */
	uint32_t seed;        /* jitter */
};

/* Check the identity (endpoint URL, decimal VMID, token without control characters) and
 * prepare the client. FL_EXIT_UNAVAILABLE when something is missing: OneGate is not there. */
int fl_onegate_open(struct fl_onegate *g, const struct fl_onegate_opts *o, struct fl_err *e);
void fl_onegate_close(struct fl_onegate *g);

/* One request, retried with backoff and jitter on transport errors and 5xx until attempts or
 * the deadline run out. 0 on 2xx. Otherwise -1 with rs holding the last answer and e:
 * FL_EXIT_FAIL for a definite answer (4xx, 500, 501, ...: the server's text),
 * FL_EXIT_UNAVAILABLE when OneGate never answered usefully (transport errors, 502-504). */
int fl_onegate_request(struct fl_onegate *g, const struct fl_onegate_request *rq,
                       struct fl_onegate_response *rs, struct fl_err *e);
void fl_onegate_response_free(struct fl_onegate_response *rs);
/* The server's text, made safe for one log line: trimmed, at most 200 bytes. */
void fl_onegate_response_text(const struct fl_onegate_response *rs, char *out, size_t n);

/* Load the context for fl-onegate: path (NULL: the environment alone) with envp overlaid, and
 * the identity. When path does not parse, only its header lines are read (with a warning)
 * (fl_identity_read_header) unless explicit_path and it cannot be read at all. token_file,
 * when given, replaces the token (its first line); otherwise /run/one-context/token.txt is
 * read when no TOKENTXT.
 * bad (may be NULL) gets the parse error of a file read only for its header (else msg ""),
 * so that a missing identity is blamed on the file, not on the VM template. */
int fl_onegate_ctx_load(struct fl_ctx *c, const char *path, bool explicit_path, const char *token_file,
                        char **envp, struct fl_err *bad, struct fl_err *e);

/* The Ruby CLI passes --data through as given: log a warning for each K=V line (newline or a
 * literal \n between them) that OneGate's template parser would mangle. */
void fl_onegate_warn_data(const char *data);

/* --- the Ruby CLI's wire format (06 §3, §7.2) --- */

/* URI.encode_www_form_component: keep *-._0-9A-Za-z, space as +, the rest %XX upper case. */
void fl_onegate_form_escape(struct fl_buf *b, const char *s, size_t n);
/* data=<escaped>&type=<1|2>: the body of vm update. */
void fl_onegate_form_body(struct fl_buf *b, const char *data, int type);

/* One K=V for publish: key [A-Z][A-Z0-9_]* and not restricted; the value free of what
 * escape_attr and the template parser mangle (, " \ [ ] control characters, leading blank),
 * valid UTF-8, at most FL_ONEGATE_MAX_VALUE. -1 with FL_EXIT_USAGE and a message that names
 * the key, the problem and suggests base64. */
int fl_onegate_check_pair(const char *kv, struct fl_err *e);
/* Check every pair (no key twice) and join them with newlines: the data of one publish.
 * An empty value is sent as K="" (escape_attr would store a lone quote for K=). */
int fl_onegate_publish_data(char *const *pairs, size_t n, struct fl_buf *data, struct fl_err *e);

/* --- verbs --- */

/* PUT /vm (id NULL) or /vms/<id>: type 1 merges K=V lines, type 2 erases one name. raw sends
 * the data itself as the body (servers before 5.10, 06 Q14). */
int fl_onegate_update(struct fl_onegate *g, const char *id, const char *data, int type, bool raw,
                      struct fl_err *e);
/* PUT /service/role/<role> {"cardinality":"N"}. */
int fl_onegate_scale(struct fl_onegate *g, const char *role, const char *cardinality, struct fl_err *e);

/* --- answers --- */

struct fl_onegate_vm {
	json_t *root;          /* the whole answer, owned */
	json_t *vm;            /* root.VM (borrowed) */
	char id[24];           /* "" when absent or not an integer */
	const char *name;      /* "" when absent */
	long state, lcm_state; /* -1 when absent */
	json_t *user_template; /* object or NULL (borrowed) */
};

/* GET /vm (id NULL) or /vms/<id>, parsed. */
int fl_onegate_vm_get(struct fl_onegate *g, const char *id, struct fl_onegate_vm *vm, struct fl_err *e);
/* Parse a VM answer: {"VM":{...}} with tolerance for type drift (06 Q12). FL_EXIT_FAIL when
 * it is not JSON or has no VM object. */
int fl_onegate_vm_parse(const char *buf, size_t len, struct fl_onegate_vm *vm, struct fl_err *e);
/* Adopt root (a reference is taken): the VM of {"VM":{...}}, e.g. an extended vm_info. */
int fl_onegate_vm_from_json(json_t *root, struct fl_onegate_vm *vm, struct fl_err *e);
void fl_onegate_vm_free(struct fl_onegate_vm *vm);
/* USER_TEMPLATE attribute name when it is a string, else NULL. */
const char *fl_onegate_vm_attr(const struct fl_onegate_vm *vm, const char *name);

struct fl_onegate_node {
	long vmid;       /* deploy_id, else vm_info.VM.ID; -1 when neither is an integer */
	json_t *vm_info; /* the node's vm_info ({"VM":...}) or NULL (borrowed) */
};

struct fl_onegate_role {
	const char *name;
	long cardinality, state; /* -1 when absent */
	struct fl_onegate_node *nodes;
	size_t nnodes;
};

struct fl_onegate_service {
	json_t *root;
	char id[24];
	const char *name;
	long state;
	struct fl_onegate_role *roles;
	size_t nroles;
};

int fl_onegate_service_get(struct fl_onegate *g, bool extended, struct fl_onegate_service *s,
                           struct fl_err *e);
int fl_onegate_service_parse(const char *buf, size_t len, struct fl_onegate_service *s, struct fl_err *e);
void fl_onegate_service_free(struct fl_onegate_service *s);
const struct fl_onegate_role *fl_onegate_service_role(const struct fl_onegate_service *s, const char *name);

/* --- output (the onegate CLI's non-TTY forms, 06 §3 and §7.5; tty adds its escapes) --- */

void fl_onegate_render_vm(const struct fl_onegate_vm *vm, bool tty, struct fl_buf *out);
void fl_onegate_render_service(const struct fl_onegate_service *s, bool extended, bool tty,
                               struct fl_buf *out);
/* JSON.pretty_generate: two-space indent, key order kept, then a newline. */
void fl_onegate_render_json(const json_t *root, struct fl_buf *out);
/* Names of VM, LCM and service states; "" when out of range. */
const char *fl_onegate_vm_state_name(long state, long lcm_state);
const char *fl_onegate_service_state_name(long state);

#endif
