/* fl_cert: TLS for Flower: the SuperLink's CA and server certificate (generated or
 * operator-provided), the SuperNode's trusted CA, inspection. OpenSSL 3 EVP/X509 only.
 * Facts: design 02 §1-3, §6; decisions: design README item 7. */
#ifndef FL_CERT_H
#define FL_CERT_H

#include "fl_buf.h"
#include "fl_ctx.h"
#include "fl_diags.h"
#include "fl_err.h"
#include "fl_net.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#define FL_CERT_DIR           "/opt/flower/certs"
#define FL_CERT_CA_KEY_DIR    "/opt/flower/ca"
#define FL_CERT_UID           49999
#define FL_CERT_GID           49999
#define FL_CERT_CA_DAYS       3650
#define FL_CERT_SERVER_DAYS   365
#define FL_CERT_RENEW_DAYS    30
#define FL_CERT_MAX_DAYS      36500
#define FL_CERT_BACKDATE      3600                 /* notBefore = now - 1 h: clocks of new VMs lag */
#define FL_CERT_MAX_B64       ((size_t)128 * 1024) /* a CA bundle in base64 is a few KiB */
#define FL_CERT_MAX_FILE      ((size_t)256 * 1024)
#define FL_CERT_MAX_CHAIN     16
#define FL_CERT_MAX_EXTRA_SAN 32
#define FL_CERT_FP_LEN        96 /* "AB:CD:...", 32 bytes */

enum fl_key_type { FL_KEY_P256, FL_KEY_RSA2048, FL_KEY_RSA3072, FL_KEY_RSA4096 };

/* p256 (also ec, ecdsa, ec:p256, prime256v1), rsa:2048, rsa:3072, rsa:4096 (also rsa). */
int fl_cert_key_type_parse(const char *s, enum fl_key_type *t);
const char *fl_cert_key_type_name(enum fl_key_type t);

/* A list of subjectAltName entries in OpenSSL's config syntax: "DNS:name", "IP:addr". */
struct fl_sans {
	char **v;
	size_t n, cap;
};

#define FL_SANS_INIT                                                                                         \
	{                                                                                                    \
		NULL, 0, 0                                                                                   \
	}

/* localhost, 127.0.0.1, ::1, every address of addrs, then each FL_CERT_EXTRA_SAN entry
 * (comma-separated, trimmed, IP:addr or DNS:name) in order, without duplicates. */
int fl_cert_sans_build(const struct fl_addrs *addrs, const char *extra, struct fl_sans *out,
                       struct fl_err *e);
/* Append entry unless present (names compared without case). */
void fl_cert_sans_add(struct fl_sans *s, const char *entry);
void fl_cert_sans_free(struct fl_sans *s);
/* The SAN of cert as "DNS:localhost, IP:127.0.0.1, ..."; caller frees. */
char *fl_cert_san_text(X509 *cert);
/* Entries of want that cert's SAN lacks (IPs compared as addresses, names without case). */
void fl_cert_san_missing(X509 *cert, const struct fl_sans *want, struct fl_sans *missing);

EVP_PKEY *fl_cert_keygen(enum fl_key_type t, struct fl_err *e);

struct fl_cert_req {
	EVP_PKEY *key;        /* the subject's key */
	X509 *issuer;         /* NULL: a self-signed CA */
	EVP_PKEY *issuer_key; /* NULL: self-signed */
	const char *cn;       /* O=Flower FL, CN=cn */
	const struct fl_sans *sans;
	time_t not_before, not_after;
};

/* A v3 certificate signed with SHA-256 and a random positive 128-bit serial. CA:
 * basicConstraints critical CA:TRUE, keyUsage critical keyCertSign+cRLSign. Server:
 * basicConstraints critical CA:FALSE, keyUsage critical digitalSignature (+keyEncipherment
 * for RSA), extendedKeyUsage serverAuth, subjectAltName. Both: SKI, AKI. */
X509 *fl_cert_issue(const struct fl_cert_req *r, struct fl_err *e);

/* SHA-256 of the DER certificate as upper-case hex pairs joined by colons (openssl's form). */
void fl_cert_fingerprint(X509 *cert, char out[FL_CERT_FP_LEN]);
/* 64 hex digits with or without colons between pairs, any case; -1 otherwise. */
int fl_cert_fingerprint_parse(const char *s, unsigned char out[32]);
/* "EC P-256", "RSA 4096", ... */
void fl_cert_key_desc(const EVP_PKEY *key, char *out, size_t outlen);

/* Verify leaf against the CA certificates at time now for the TLS server purpose; chain may
 * hold intermediates. 0, or -1 with the reason in why (verify error text). */
int fl_cert_verify(X509 *leaf, STACK_OF(X509) * cas, STACK_OF(X509) * chain, time_t now, char *why,
                   size_t whylen, int *verr);

/* Decoded base64 PEM from an untrusted value. */
struct fl_pem {
	STACK_OF(X509) * certs; /* FL_PEM_CERTS: at least one, at most FL_CERT_MAX_CHAIN */
	EVP_PKEY *key;          /* FL_PEM_KEY: exactly one, unencrypted */
};

enum fl_pem_kind { FL_PEM_CERTS, FL_PEM_KEY };

/* Decode what variable `name` holds (base64 of a PEM file) and parse it. Messages say what
 * is wrong and how to fix it and never quote a key. Rejects empty, oversized, raw PEM,
 * invalid base64, binary, truncated or wrong-type PEM, encrypted keys, keys that fail the
 * consistency check (`openssl rsa -check`, for EC too). */
int fl_cert_pem_decode(const char *name, const char *b64, enum fl_pem_kind kind, struct fl_pem *out,
                       struct fl_err *e);
/* Same for PEM text already decoded: files fl-certgen wrote, so no consistency check. */
int fl_cert_pem_parse(const char *name, const unsigned char *pem, size_t len, enum fl_pem_kind kind,
                      struct fl_pem *out, struct fl_err *e);
void fl_cert_pem_free(struct fl_pem *p);

/* Does this PEM text hold certificates and nothing else (blank lines aside)? 0, or -1 with
 * the first offending line in why (never its content: it may be a key). */
int fl_cert_pem_only_certs(const unsigned char *pem, size_t len, char *why, size_t whylen);
/* The certificates of a PEM file, re-encoded (what may be published of it); extra gets why
 * the file held more than certificates ("" when it did not). */
int fl_cert_pem_reencode(const char *name, const void *pem, size_t len, char **out, size_t *outlen,
                         char *extra, size_t extralen, struct fl_err *e);

/* What loading a PEM file found. */
enum fl_cert_load {
	FL_CERT_UNUSABLE = -1, /* the reason in why */
	FL_CERT_LOADED = 0,
	FL_CERT_ABSENT = 1, /* why is empty */
};
/* PEM files (fl_cert_load.c). bytes may be NULL; else it gets the file content. */
enum fl_cert_load fl_cert_load_certs(const char *path, STACK_OF(X509) * *out, char **bytes, size_t *blen,
                                     char *why, size_t whylen);
enum fl_cert_load fl_cert_load_key(const char *path, EVP_PKEY **out, char *why, size_t whylen);

/* Where the SuperLink's files go. */
struct fl_cert_layout {
	const char *dir;        /* mounted into the container: ca.crt, server.pem, server.key */
	const char *ca_key_dir; /* ca.key: root only, outside dir */
	uid_t uid;              /* owner of the container-visible files */
	gid_t gid;
};

enum fl_cert_action { FL_CERT_DISABLED, FL_CERT_KEPT, FL_CERT_REISSUED, FL_CERT_CREATED, FL_CERT_INSTALLED };
const char *fl_cert_action_name(enum fl_cert_action a);

struct fl_cert_superlink_opts {
	struct fl_cert_layout layout;
	enum fl_key_type key_type; /* for keys generated by this run */
	long ca_days, server_days, renew_days;
	bool force;
	time_t now;
	const struct fl_addrs *addrs; /* the VM's addresses; NULL or empty: detect them */
	bool accept_ca_key;           /* keep a CA key another user owned or could read (warned) */
	long lock_timeout;            /* seconds to wait for another run's lock; 0: do not wait */
};

#define FL_CERT_LOCK_TIMEOUT 60

/* May a root tool trust (and chown or chmod) this existing file or directory? NULL when
 * yes, else why not in buf: not owned by the running user or owner (uid, FL_OWNER_KEEP for
 * none), group/world-writable (bad_bits 022) or also readable (077), a hard link (a file with
 * more than one link may be another file elsewhere), a symlink. */
/* A non-root run cannot give files to another owner: an error naming --owner, before
 * anything is touched; 0 when root, or uid is this user or FL_OWNER_KEEP. */
int fl_cert_owner_check(uid_t uid, struct fl_err *e);
const char *fl_cert_exposed(const char *path, uid_t owner, mode_t bad_bits, char *buf, size_t n);

/* What the publication step needs (never a key). */
struct fl_cert_published {
	enum fl_cert_action action;
	char *ca_b64; /* FL_CA_CERT: base64 of ca.crt, one line; NULL when TLS is off */
	char fingerprint[FL_CERT_FP_LEN];
	char *tls_enabled; /* FL_TLS_ENABLED value that decided (for the log) */
};

/* Step 7a. FL_TLS_ENABLED != YES: nothing. FL_SSL_CA_CERTFILE set: install the operator's
 * set after every check. Otherwise keep, re-issue or create the generated set. Notes and
 * warnings go to d; a failure leaves the previous files as they were. */
int fl_cert_superlink(const struct fl_ctx *c, const struct fl_cert_superlink_opts *o,
                      struct fl_cert_published *p, struct fl_diags *d, struct fl_err *e);
void fl_cert_published_free(struct fl_cert_published *p);
/* FL_TLS, FL_CA_CERT, FL_CA_FINGERPRINT as KEY=VALUE lines (fmt 0 or 1) or JSON (2). */
void fl_cert_published_render(const struct fl_cert_published *p, int fmt, struct fl_buf *out);

/* OneGate's view of the SuperLink (until fl-onegate is wired in: lines FL_TLS=..., FL_CA_CERT=...). */
struct fl_onegate_tls {
	bool present; /* OneGate answered; the values may still be missing */
	char *tls;    /* FL_TLS as published, NULL when absent */
	char *ca_cert;
	char *superlink; /* FL_SUPERLINK_ADDRESS (a discovery result), NULL when absent */
	char *version;   /* FL_VERSION */
};

/* KEY=VALUE lines; blank lines and # comments skipped, other keys ignored. Refuses NUL
 * bytes, lines without '=', a key given twice and oversized input. */
int fl_cert_onegate_parse(const char *buf, size_t len, struct fl_onegate_tls *og, struct fl_err *e);
/* The same from a file, "-" for standard input; at most 1 MiB is read. */
int fl_cert_onegate_load(const char *path, struct fl_onegate_tls *og, struct fl_err *e);
void fl_cert_onegate_free(struct fl_onegate_tls *og);

struct fl_cert_supernode_opts {
	const char *dir; /* ca.crt goes here */
	uid_t uid;
	gid_t gid;
	time_t now;
	const struct fl_onegate_tls *og; /* NULL: no OneGate */
};

struct fl_cert_trust {
	bool tls;
	enum fl_cert_action action; /* FL_CERT_KEPT (same file already there) or FL_CERT_INSTALLED */
	const char *source;         /* "context" or "onegate" */
	char *path;
	char fingerprint[FL_CERT_FP_LEN];
};

/* The 4-case TLS decision of design 02 §2.3 alone: explicit FL_TLS_ENABLED wins, then the
 * SuperLink's FL_TLS (not in static mode), then insecure. */
bool fl_cert_supernode_tls(const struct fl_ctx *c, const struct fl_onegate_tls *og);

/* The 4-case TLS decision of design 02 §2.3 (plus static mode), then Step 7b: the chosen
 * CA is validated (a CA certificate; FL_CA_FINGERPRINT pins it) and installed. */
int fl_cert_supernode(const struct fl_ctx *c, const struct fl_cert_supernode_opts *o, struct fl_cert_trust *t,
                      struct fl_diags *d, struct fl_err *e);
void fl_cert_trust_free(struct fl_cert_trust *t);
/* FL_TLS, FL_CA_PATH, FL_CA_SOURCE, FL_CA_FINGERPRINT as KEY=VALUE lines (0, 1) or JSON (2). */
void fl_cert_trust_render(const struct fl_cert_trust *t, int fmt, struct fl_buf *out);

/* Inspection (show / check). */
struct fl_cert_info {
	bool present, parsed;
	int ncerts;
	char *path, *subject, *issuer, *serial, *san, *not_before, *not_after, *key_type, *problem;
	long days_left;
	long long seconds_left;
	bool is_ca;
	char fingerprint[FL_CERT_FP_LEN];
};

enum fl_cert_status { FL_CERT_OK, FL_CERT_SOON, FL_CERT_INVALID };

struct fl_cert_report {
	struct fl_cert_info ca, server;
	bool key_present, key_match;
	char *key_type;
	char *chain;       /* "ok" or the reason it does not verify; NULL when not checked */
	char *san_missing; /* VM addresses the server SAN lacks, NULL when covered */
	enum fl_cert_status status;
	long warn_days;
};

/* dir: ca.crt (+ server.pem, server.key when present). file: that one certificate only. */
int fl_cert_inspect(const char *dir, const char *file, const struct fl_addrs *addrs, time_t now,
                    long warn_days, struct fl_cert_report *r, struct fl_diags *d, struct fl_err *e);
/* fmt: 0 text, 1 env (shell-quoted KEY='value'), 2 json. */
void fl_cert_report_render(const struct fl_cert_report *r, int fmt, struct fl_buf *out);
void fl_cert_report_free(struct fl_cert_report *r);

#endif
