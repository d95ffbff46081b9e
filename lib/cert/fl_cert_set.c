/* fl_cert_set: the certificate sets on disk: the SuperLink's (generated: keep, re-issue or
 * create; operator-provided: check and install), the SuperNode's trusted CA, inspection. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED

#include "fl_cert.h"

#include "fl_buf.h"
#include "fl_check.h"
#include "fl_cert_io.h"
#include "fl_fileset.h"
#include "fl_fs.h"
#include "fl_log.h"
#include "fl_retry.h"
#include "fl_validate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define ONEGATE_MAX (1u << 20)

const char *fl_cert_action_name(enum fl_cert_action a)
{
	switch (a) {
	case FL_CERT_DISABLED: return "disabled";
	case FL_CERT_KEPT: return "kept";
	case FL_CERT_REISSUED: return "reissued";
	case FL_CERT_CREATED: return "created";
	case FL_CERT_INSTALLED: return "installed";
	}
	return "?";
}

/* Is b the directory a or below it? Both without trailing slashes. */
static bool below(const char *a, const char *b)
{
	size_t n = strlen(a);
	while (n > 1 && a[n - 1] == '/')
		n--;
	size_t m = strlen(b);
	while (m > 1 && b[m - 1] == '/')
		m--;
	return m >= n && strncmp(a, b, n) == 0 && (m == n || b[n] == '/' || (n == 1 && a[0] == '/'));
}

/* path with symlinks resolved as far as it exists; the missing rest appended as written. */
static int resolve_partial(const char *path, char out[PATH_MAX])
{
	char *copy = fl_xstrdup(path);
	size_t n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	if (realpath(copy, out)) {
		free(copy);
		return 0;
	}
	int rc = -1;
	char *slash = strrchr(copy, '/');
	if (errno == ENOENT && slash && slash[1]) {
		char parent[PATH_MAX];
		*slash = '\0';
		if (resolve_partial(slash == copy ? "/" : copy, parent) == 0) {
			struct fl_buf b = FL_BUF_INIT;
			fl_buf_addf(&b, "%s%s%s", parent, strcmp(parent, "/") == 0 ? "" : "/", slash + 1);
			if (b.len < PATH_MAX) {
				memcpy(out, b.data, b.len + 1);
				rc = 0;
			}
			fl_buf_free(&b);
		}
	} else if (errno == ENOENT && !slash) {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof cwd)) {
			struct fl_buf b = FL_BUF_INIT;
			fl_buf_addf(&b, "%s/%s", cwd, copy);
			if (b.len < PATH_MAX) {
				memcpy(out, b.data, b.len + 1);
				rc = 0;
			}
			fl_buf_free(&b);
		}
	}
	free(copy);
	return rc;
}

/* The CA key directory must not be (inside) the directory mounted into the container: as
 * written, and with symlinks resolved as far as the paths exist, both before anything is
 * created (a usage error has no side effects), and once more after creating them. */
static int check_layout(const struct fl_cert_layout *l, bool resolved, struct fl_err *e)
{
	char a[PATH_MAX], b[PATH_MAX];
	const char *da = l->dir, *db = l->ca_key_dir;
	if (resolved) {
		if (resolve_partial(l->dir, a) < 0 || resolve_partial(l->ca_key_dir, b) < 0)
			return fl_err_sys(e, errno, "cannot resolve %s or %s", l->dir, l->ca_key_dir);
		da = a;
		db = b;
	}
	if (below(da, db))
		return fl_err_set(
		    e, FL_EXIT_USAGE,
		    "the CA key directory %s is inside %s%s%s%s, which is mounted into the container; "
		    "choose a --ca-key-dir outside it (default " FL_CERT_CA_KEY_DIR ")",
		    l->ca_key_dir, l->dir, resolved ? " (resolved: " : "", resolved ? b : "",
		    resolved ? ")" : "");
	return 0;
}

/* Owners other than this user need root: say so (and name --owner) before touching anything. */
int fl_cert_owner_check(uid_t uid, struct fl_err *e)
{
	if (geteuid() == 0 || uid == FL_OWNER_KEEP || uid == geteuid())
		return 0;
	return fl_err_set(e, FL_EXIT_FAIL,
	                  "cannot give the certificate files to the container owner UID %u: changing an "
	                  "owner needs root. Run as root, or pass --owner %u:%u (your own UID:GID)",
	                  (unsigned)uid, (unsigned)geteuid(), (unsigned)getegid());
}

/* A CA key (or its directory) that another user owned, or could read or replace, may be
 * known to someone else: refuse it unless the operator accepts it (or --force replaces it). */
static int check_ca_key(const struct fl_cert_layout *l, const struct fl_cert_superlink_opts *o,
                        struct fl_diags *d, struct fl_err *e)
{
	char why[PATH_MAX + 160];
	char *key = fl_cert_io_join(l->ca_key_dir, "ca.key"), *legacy = fl_cert_io_join(l->dir, "ca.key");
	struct stat st;
	const char *bad = fl_cert_exposed(l->ca_key_dir, FL_OWNER_KEEP, 022, why, sizeof why);
	if (!bad)
		bad = fl_cert_exposed(key, FL_OWNER_KEEP, 077, why, sizeof why);
	if (!bad && lstat(key, &st) < 0 && lstat(legacy, &st) == 0) {
		/* The spec's layout: the key that would be moved out must not have been exposed. */
		bad = fl_cert_exposed(legacy, FL_OWNER_KEEP, 077, why, sizeof why);
		if (bad) {
			free(key);
			key = fl_xstrdup(legacy);
		}
	}
	int rc = 0;
	if (bad && o->force) {
		fl_diags_add(d, FL_WARN, "%s; --force replaces the CA key", bad);
	} else if (bad && o->accept_ca_key) {
		fl_diags_add(d, FL_WARN,
		             "%s; keeping the CA key because --accept-ca-key says no one else used it", bad);
	} else if (bad && lstat(key, &st) == 0) {
		rc = fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s, so the CA key %s may be known to someone else: treated as compromised. Run "
		    "fl-certgen superlink --force to make a new CA (SuperNodes then need the new "
		    "FL_CA_CERT), or, if no one else could have used it, repair it (chown root:root, chmod "
		    "0700 the directory and 0600 ca.key) or pass --accept-ca-key",
		    bad, key);
	} else if (bad) {
		rc = fl_err_set(e, FL_EXIT_FAIL,
		                "%s: a CA key written there could be read or replaced by someone else. "
		                "Repair it (chown root:root, chmod 0700) or choose another --ca-key-dir",
		                bad);
	}
	free(key);
	free(legacy);
	return rc;
}

static void lock_waiting(const struct fl_fs_lock_wait *w, const char *who)
{
	fl_info("waiting up to %ld s for the lock %s, held by %s (another fl-certgen run, --lock-timeout)",
	        w->timeout_ms / 1000, w->path, who);
}

static void lock_gave_up(const struct fl_fs_lock_wait *w, const char *who, uint64_t waited_ms,
                         struct fl_err *e)
{
	(void)waited_ms;
	fl_err_set(e, FL_EXIT_TIMEOUT,
	           "the lock %s is still held by %s after %ld s; let that fl-certgen run finish (or stop "
	           "it) and run again, or wait longer with --lock-timeout",
	           w->path, who, w->timeout_ms / 1000);
}

/* Serialise runs (boot hook and a renewal timer) on a lock file in the root-only directory;
 * wait for another run at most timeout seconds, and say so. */
static int lock_dir(const char *dir, long timeout, struct fl_err *e)
{
	char *p = fl_cert_io_join(dir, ".fl-certgen.lock");
	int fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fl_err_sys(e, errno, "cannot open the lock file %s", p);
		free(p);
		return -1;
	}
	struct fl_fs_lock_wait w = {p, "another process", timeout * 1000, lock_waiting, lock_gave_up, NULL};
	int rc = fl_fs_lock_fd(fd, &w, e);
	free(p);
	if (rc < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int resolve_addrs(const struct fl_cert_superlink_opts *o, struct fl_addrs *a, struct fl_err *e)
{
	if (o->addrs && o->addrs->n) {
		for (size_t i = 0; i < o->addrs->n; i++)
			fl_net_addrs_add(a, o->addrs->v[i], NULL);
		return 0;
	}
	return fl_net_vm_addrs(a, NULL, e);
}

/* Why the generated set cannot stay as it is (auto_reason_text says it in words). */
enum auto_reason {
	AUTO_KEEP, /* nothing to change */
	AUTO_FORCE,
	AUTO_CA_ABSENT,
	AUTO_CA_UNUSABLE, /* ca.crt does not load: ca_why */
	AUTO_CA_COUNT,
	AUTO_CA_NOT_CA,
	AUTO_CA_KEY_UNUSABLE,
	AUTO_CA_KEY_MISMATCH,
	AUTO_CA_FUTURE, /* the clock is wrong, not the CA: refused, never replaced */
	AUTO_CA_EXPIRED,
	AUTO_SRV_ABSENT,
	AUTO_SRV_UNUSABLE, /* server.pem does not load: srv_why */
	AUTO_SRV_KEY_UNUSABLE,
	AUTO_SRV_KEY_MISMATCH,
	AUTO_SRV_UNVERIFIED, /* verify_why */
	AUTO_SRV_EXPIRING,   /* srv_days */
	AUTO_SRV_SAN,        /* san_missing */
	AUTO_SRV_EXPOSED,    /* exposed */
};

/* Everything the generated set consists of, as found on disk or made by this run. */
struct autoset {
	char *ca_crt, *ca_key, *legacy_key, *srv_pem, *srv_key;
	struct fl_addrs addrs;
	struct fl_sans want; /* the SAN the server certificate must have */
	/* On disk. */
	STACK_OF(X509) * cas, *srv;
	EVP_PKEY *cakey, *skey;
	char *ca_bytes;
	size_t ca_len;
	bool ca_key_legacy;
	enum fl_cert_load ca_found, srv_found;
	char ca_why[512], srv_why[512]; /* why ca.crt / server.pem did not load */
	char exposed_buf[PATH_MAX + 160];
	const char *exposed; /* how the server key may be known to someone else; NULL: it is not */
	/* The decision and what it found. */
	enum fl_cert_action action;
	enum auto_reason reason;
	char verify_why[128];
	long srv_days;
	char *san_missing;
	/* The set to write: found on disk or made by this run (new*). */
	X509 *ca, *leaf, *newca, *newsrv;
	EVP_PKEY *ca_pk, *leaf_pk, *newcakey, *newskey;
	char *pem_ca, *pem_cakey, *pem_srv, *pem_skey;
	size_t len_ca, len_cakey, len_srv, len_skey;
	bool ca_rewrite;
	struct fl_fileset fs;
	int lock;
};

static void autoset_free(struct autoset *s)
{
	fl_fileset_free(&s->fs);
	if (s->lock >= 0)
		close(s->lock);
	fl_cert_io_wipe_free(s->pem_cakey, s->len_cakey);
	fl_cert_io_wipe_free(s->pem_skey, s->len_skey);
	free(s->pem_ca);
	free(s->pem_srv);
	X509_free(s->newca);
	X509_free(s->newsrv);
	EVP_PKEY_free(s->newcakey);
	EVP_PKEY_free(s->newskey);
	free(s->ca_crt);
	free(s->ca_key);
	free(s->legacy_key);
	free(s->srv_pem);
	free(s->srv_key);
	sk_X509_pop_free(s->cas, X509_free);
	sk_X509_pop_free(s->srv, X509_free);
	EVP_PKEY_free(s->cakey);
	EVP_PKEY_free(s->skey);
	free(s->ca_bytes);
	free(s->san_missing);
	fl_cert_sans_free(&s->want);
	fl_net_addrs_free(&s->addrs);
}

/* The reason in words, for "created (...)" and "reissued ... because ...". */
static const char *auto_reason_text(const struct autoset *s, long renew_days, char *buf, size_t n)
{
	switch (s->reason) {
	case AUTO_KEEP: snprintf(buf, n, "nothing to change"); break;
	case AUTO_FORCE: snprintf(buf, n, "--force"); break;
	case AUTO_CA_ABSENT: snprintf(buf, n, "there is no CA yet"); break;
	case AUTO_CA_UNUSABLE: snprintf(buf, n, "%s", s->ca_why); break;
	case AUTO_CA_COUNT:
		snprintf(buf, n, "ca.crt holds %d certificates, a generated CA has one", sk_X509_num(s->cas));
		break;
	case AUTO_CA_NOT_CA: snprintf(buf, n, "ca.crt is not a self-signed CA certificate"); break;
	case AUTO_CA_KEY_UNUSABLE: snprintf(buf, n, "the CA key %s is missing or unusable", s->ca_key); break;
	case AUTO_CA_KEY_MISMATCH: snprintf(buf, n, "the CA key does not match ca.crt"); break;
	case AUTO_CA_FUTURE: snprintf(buf, n, "the CA is valid only from a later date"); break;
	case AUTO_CA_EXPIRED: snprintf(buf, n, "the CA has expired"); break;
	case AUTO_SRV_ABSENT: snprintf(buf, n, "server.pem is missing"); break;
	case AUTO_SRV_UNUSABLE: snprintf(buf, n, "%s", s->srv_why); break;
	case AUTO_SRV_KEY_UNUSABLE: snprintf(buf, n, "server.key is missing or unusable"); break;
	case AUTO_SRV_KEY_MISMATCH: snprintf(buf, n, "server.key does not match server.pem"); break;
	case AUTO_SRV_UNVERIFIED:
		snprintf(buf, n, "server.pem does not verify against ca.crt: %s", s->verify_why);
		break;
	case AUTO_SRV_EXPIRING:
		snprintf(buf, n, "the server certificate expires in %ld days (renewal window %ld days)",
		         s->srv_days, renew_days);
		break;
	case AUTO_SRV_SAN: snprintf(buf, n, "its SAN does not cover %s", s->san_missing); break;
	case AUTO_SRV_EXPOSED:
		snprintf(buf, n, "the server key may be known to someone else (%s)", s->exposed);
		break;
	}
	return buf;
}

/* Can the CA on disk stay? AUTO_KEEP when yes. AUTO_CA_FUTURE: the CA is from the future, so
 * the clock is wrong and the CA must not be thrown away. */
static enum auto_reason ca_problem(const struct autoset *s, time_t now)
{
	if (!s->cas)
		return s->ca_found == FL_CERT_ABSENT ? AUTO_CA_ABSENT : AUTO_CA_UNUSABLE;
	X509 *ca = sk_X509_value(s->cas, 0);
	if (sk_X509_num(s->cas) != 1)
		return AUTO_CA_COUNT;
	if (X509_check_ca(ca) != 1 || X509_check_issued(ca, ca) != X509_V_OK)
		return AUTO_CA_NOT_CA;
	if (!s->cakey)
		return AUTO_CA_KEY_UNUSABLE;
	if (!fl_cert_io_key_matches(ca, s->cakey))
		return AUTO_CA_KEY_MISMATCH;
	if (fl_cert_io_seconds_until(X509_get0_notBefore(ca), now) > 0)
		return AUTO_CA_FUTURE;
	/* A CA that still verifies stays, even close to its end: a new one breaks every SuperNode
	 * that trusts this one, so only --force (a decision) replaces it. */
	if (fl_cert_io_seconds_until(X509_get0_notAfter(ca), now) < 0)
		return AUTO_CA_EXPIRED;
	return AUTO_KEEP;
}

/* Can the server certificate stay? AUTO_KEEP when yes; the details go into s. */
static enum auto_reason server_problem(struct autoset *s, time_t now, long renew_days)
{
	if (!s->srv)
		return s->srv_found == FL_CERT_ABSENT ? AUTO_SRV_ABSENT : AUTO_SRV_UNUSABLE;
	X509 *leaf = sk_X509_value(s->srv, 0);
	if (!s->skey)
		return AUTO_SRV_KEY_UNUSABLE;
	if (!fl_cert_io_key_matches(leaf, s->skey))
		return AUTO_SRV_KEY_MISMATCH;
	if (fl_cert_verify(leaf, s->cas, NULL, now, s->verify_why, sizeof s->verify_why, NULL) < 0)
		return AUTO_SRV_UNVERIFIED;
	long long left = fl_cert_io_seconds_until(X509_get0_notAfter(leaf), now);
	/* A certificate that ends with its CA cannot get longer: reissuing it changes nothing. */
	bool ca_bound = left >= fl_cert_io_seconds_until(X509_get0_notAfter(sk_X509_value(s->cas, 0)), now);
	if (left < (long long)renew_days * 86400 && !ca_bound) {
		s->srv_days = fl_cert_io_days(left);
		return AUTO_SRV_EXPIRING;
	}
	struct fl_sans missing = FL_SANS_INIT;
	enum auto_reason r = AUTO_KEEP;
	fl_cert_san_missing(leaf, &s->want, &missing);
	if (missing.n) {
		s->san_missing = fl_cert_io_sans_join(&missing);
		r = AUTO_SRV_SAN;
	}
	fl_cert_sans_free(&missing);
	return r;
}

static void fill_published(struct fl_cert_published *p, enum fl_cert_action a, const char *ca_bytes,
                           size_t ca_len, X509 *ca)
{
	p->action = a;
	p->ca_b64 = fl_cert_io_b64(ca_bytes, ca_len);
	fl_cert_fingerprint(ca, p->fingerprint);
}

/* PEM encoding failed (out of memory, or OpenSSL says why). */
static int pem_error(struct fl_err *e)
{
	return fl_err_set(e, FL_EXIT_FAIL, "TLS certificate generation failed: cannot encode PEM: %s",
	                  ERR_reason_error_string(ERR_peek_last_error())
	                      ? ERR_reason_error_string(ERR_peek_last_error())
	                      : "out of memory");
}

/* Check: everything that can be refused is checked before anything is touched; then the
 * directories are made and locked against another run. */
static int auto_check(const struct fl_ctx *c, const struct fl_cert_superlink_opts *o, struct autoset *s,
                      struct fl_diags *d, struct fl_err *e)
{
	const struct fl_cert_layout *l = &o->layout;
	if (resolve_addrs(o, &s->addrs, e) < 0 ||
	    fl_cert_sans_build(&s->addrs, c->conf.FL_CERT_EXTRA_SAN, &s->want, e) < 0)
		return -1;
	s->ca_crt = fl_cert_io_join(l->dir, "ca.crt");
	s->srv_pem = fl_cert_io_join(l->dir, "server.pem");
	s->srv_key = fl_cert_io_join(l->dir, "server.key");
	s->ca_key = fl_cert_io_join(l->ca_key_dir, "ca.key");
	s->legacy_key = fl_cert_io_join(l->dir, "ca.key");
	const char *paths[] = {s->ca_crt, s->srv_pem, s->srv_key, s->ca_key, s->legacy_key};
	if (fl_cert_owner_check(l->uid, e) < 0 || check_layout(l, false, e) < 0 ||
	    check_layout(l, true, e) < 0 || check_ca_key(l, o, d, e) < 0)
		return -1;
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (fl_cert_io_check_links(paths[i], e) < 0)
			return -1;
	/* A server key that another user owned or could read, or in a directory others could
	 * write to, may be known: a new one (same CA) costs the SuperNodes nothing. */
	s->exposed = fl_cert_exposed(l->dir, l->uid, 022, s->exposed_buf, sizeof s->exposed_buf);
	if (!s->exposed)
		s->exposed = fl_cert_exposed(s->srv_key, l->uid, 077, s->exposed_buf, sizeof s->exposed_buf);
	if (fl_fs_mkdir_p(l->dir, 0700, l->uid, l->gid, e) < 0 ||
	    fl_fs_mkdir_p(l->ca_key_dir, 0700, geteuid(), getegid(), e) < 0 || check_layout(l, true, e) < 0)
		return -1;
	if ((s->lock = lock_dir(l->ca_key_dir, o->lock_timeout, e)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		fl_fileset_clean(paths[i]);
	return 0;
}

/* Load: the set as it is on disk (--force replaces it without looking). */
static void auto_load(struct autoset *s)
{
	char key_why[256];
	s->ca_found =
	    fl_cert_load_certs(s->ca_crt, &s->cas, &s->ca_bytes, &s->ca_len, s->ca_why, sizeof s->ca_why);
	if (fl_cert_load_key(s->ca_key, &s->cakey, key_why, sizeof key_why) == FL_CERT_ABSENT &&
	    fl_cert_load_key(s->legacy_key, &s->cakey, key_why, sizeof key_why) == FL_CERT_LOADED)
		s->ca_key_legacy = true; /* the spec's layout kept it in the mounted directory */
	s->srv_found = fl_cert_load_certs(s->srv_pem, &s->srv, NULL, NULL, s->srv_why, sizeof s->srv_why);
	if (s->srv)
		fl_cert_load_key(s->srv_key, &s->skey, key_why, sizeof key_why);
}

/* Decide: keep the set, reissue the server certificate from the same CA, or create it all. */
static int auto_decide(const struct fl_cert_superlink_opts *o, struct autoset *s, struct fl_diags *d,
                       struct fl_err *e)
{
	if (o->force) {
		s->action = FL_CERT_CREATED;
		s->reason = AUTO_FORCE;
	} else if ((s->reason = ca_problem(s, o->now)) == AUTO_CA_FUTURE) {
		char *nb = fl_cert_io_time(X509_get0_notBefore(sk_X509_value(s->cas, 0)));
		fl_err_set(e, FL_EXIT_FAIL,
		           "The CA in %s is valid only from %s, after the system clock's time: fix the "
		           "clock (NTP) and run again; --force replaces the CA, and SuperNodes that trust "
		           "it stop working",
		           s->ca_crt, nb);
		free(nb);
		return -1;
	} else if (s->reason != AUTO_KEEP) {
		s->action = FL_CERT_CREATED;
	} else {
		s->reason = server_problem(s, o->now, o->renew_days);
		if (s->reason == AUTO_KEEP && s->exposed)
			s->reason = AUTO_SRV_EXPOSED;
		s->action = s->reason != AUTO_KEEP ? FL_CERT_REISSUED : FL_CERT_KEPT;
	}
	X509 *ca = s->cas ? sk_X509_value(s->cas, 0) : NULL;
	long long ca_left = ca ? fl_cert_io_seconds_until(X509_get0_notAfter(ca), o->now) : 0;
	if (s->action != FL_CERT_CREATED && ca_left < (long long)o->renew_days * 86400) {
		char *until = fl_cert_io_time(X509_get0_notAfter(ca));
		fl_diags_add(d, FL_WARN,
		             "The CA in %s expires in %ld days (on %s); it is kept because SuperNodes trust "
		             "it. Plan the change: fl-certgen superlink --force makes a new CA, then give "
		             "every SuperNode the new FL_CA_CERT",
		             s->ca_crt, fl_cert_io_days(ca_left), until);
		free(until);
	}
	return 0;
}

/* Act: make what the decision needs (a new CA and its key, a new server certificate); the
 * rest of the set is what is on disk. */
static int auto_issue(const struct fl_cert_superlink_opts *o, struct autoset *s, struct fl_err *e)
{
	time_t nb = o->now - FL_CERT_BACKDATE;
	s->ca = s->cas ? sk_X509_value(s->cas, 0) : NULL;
	s->ca_pk = s->cakey;
	if (s->action == FL_CERT_CREATED) {
		if (!(s->newcakey = fl_cert_keygen(o->key_type, e)))
			return -1;
		struct fl_cert_req r = {
		    s->newcakey, NULL, NULL, "Flower CA", NULL, nb, o->now + (time_t)o->ca_days * 86400};
		if (!(s->newca = fl_cert_issue(&r, e)))
			return -1;
		s->ca = s->newca;
		s->ca_pk = s->newcakey;
	}
	s->leaf = s->srv ? sk_X509_value(s->srv, 0) : NULL;
	s->leaf_pk = s->skey;
	if (s->action != FL_CERT_KEPT) {
		if (!(s->newskey = fl_cert_keygen(o->key_type, e)))
			return -1;
		time_t na = o->now + (time_t)o->server_days * 86400;
		long long ca_end = fl_cert_io_seconds_until(X509_get0_notAfter(s->ca), o->now);
		if ((long long)(na - o->now) > ca_end)
			na = o->now + (time_t)ca_end; /* never outlive the CA */
		/* CN: the first IPv4 address, as the spec's `hostname -I | awk '{print $1}'`. */
		const char *cn = s->addrs.v[0];
		for (size_t i = 0; i < s->addrs.n && !strchr(cn, '.'); i++)
			cn = strchr(s->addrs.v[i], '.') ? s->addrs.v[i] : cn;
		struct fl_cert_req r = {s->newskey, s->ca, s->ca_pk, cn, &s->want, nb, na};
		if (!(s->newsrv = fl_cert_issue(&r, e)))
			return -1;
		s->leaf = s->newsrv;
		s->leaf_pk = s->newskey;
	}
	return 0;
}

/* Check the result: the set as it will be on disk must verify before a byte is written. */
static int auto_verify(const struct fl_cert_superlink_opts *o, const struct autoset *s, struct fl_diags *d,
                       struct fl_err *e)
{
	STACK_OF(X509) *trust = sk_X509_new_null();
	char vwhy[160] = "";
	struct fl_sans missing = FL_SANS_INIT;
	if (trust)
		sk_X509_push(trust, s->ca);
	bool ok = trust && fl_cert_verify(s->leaf, trust, NULL, o->now, vwhy, sizeof vwhy, NULL) == 0 &&
	          fl_cert_io_key_matches(s->leaf, s->leaf_pk) && fl_cert_io_key_matches(s->ca, s->ca_pk);
	sk_X509_free(trust);
	if (ok)
		fl_cert_san_missing(s->leaf, &s->want, &missing);
	if (!ok || missing.n) {
		fl_cert_sans_free(&missing);
		return fl_err_set(e, FL_EXIT_FAIL, "Certificate chain verification FAILED: %s",
		                  *vwhy ? vwhy
		                        : "a key does not match its certificate or the SAN is incomplete");
	}
	fl_diags_add(d, FL_INFO, "Certificate chain verified successfully");
	return 0;
}

/* One certificate in PEM, alone. */
static char *pem_one(X509 *x, size_t *len)
{
	STACK_OF(X509) *one = sk_X509_new_null();
	if (one)
		sk_X509_push(one, x);
	char *pem = one ? fl_cert_io_pem_certs(one, len) : NULL;
	sk_X509_free(one);
	return pem;
}

/* Stage: CA key first (outside the mount), then the public CA, the key, the certificate. */
static int auto_stage(const struct fl_cert_superlink_opts *o, struct autoset *s, struct fl_diags *d,
                      struct fl_err *e)
{
	const struct fl_cert_layout *l = &o->layout;
	if (s->action == FL_CERT_CREATED || s->ca_key_legacy) {
		if (!(s->pem_cakey = fl_cert_io_pem_key(s->ca_pk, &s->len_cakey)))
			return pem_error(e);
		if (fl_fileset_stage(&s->fs, s->ca_key, s->pem_cakey, s->len_cakey, 0600, FL_OWNER_KEEP,
		                     (gid_t)-1, e) < 0)
			return -1;
	}
	/* ca.crt is published as FL_CA_CERT: it holds the CA certificate in PEM and nothing else
	 * (text added beside it is dropped by rewriting it). */
	if (!(s->pem_ca = pem_one(s->ca, &s->len_ca)))
		return pem_error(e);
	s->ca_rewrite = s->action == FL_CERT_CREATED || s->ca_len != s->len_ca ||
	                memcmp(s->ca_bytes, s->pem_ca, s->len_ca) != 0;
	if (s->ca_rewrite && s->action != FL_CERT_CREATED)
		fl_diags_add(d, FL_WARN,
		             "%s held more than the CA certificate (text or blocks beside it); rewritten "
		             "with the certificate alone, which is what is published",
		             s->ca_crt);
	if (s->ca_rewrite &&
	    fl_fileset_stage(&s->fs, s->ca_crt, s->pem_ca, s->len_ca, 0644, l->uid, l->gid, e) < 0)
		return -1;
	if (s->action != FL_CERT_KEPT) {
		s->pem_srv = pem_one(s->leaf, &s->len_srv);
		if (!s->pem_srv || !(s->pem_skey = fl_cert_io_pem_key(s->leaf_pk, &s->len_skey)))
			return pem_error(e);
		if (fl_fileset_stage(&s->fs, s->srv_key, s->pem_skey, s->len_skey, 0600, l->uid, l->gid, e) <
		        0 ||
		    fl_fileset_stage(&s->fs, s->srv_pem, s->pem_srv, s->len_srv, 0644, l->uid, l->gid, e) < 0)
			return -1;
	}
	return 0;
}

/* Commit: the staged files in one step; a CA key left in the mounted directory goes; owners
 * and modes are re-applied on every run (design 02 §1.5). */
static int auto_commit(const struct fl_cert_superlink_opts *o, struct autoset *s, struct fl_diags *d,
                       struct fl_err *e)
{
	const struct fl_cert_layout *l = &o->layout;
	if (fl_fileset_commit(&s->fs, e) < 0)
		return -1;
	if (unlink(s->legacy_key) == 0) {
		if (s->ca_key_legacy)
			fl_diags_add(
			    d, FL_WARN,
			    "Moved the CA key out of %s (mounted into the container) to %s; it must stay "
			    "outside",
			    l->dir, s->ca_key);
		else
			fl_diags_add(
			    d, FL_WARN,
			    "Removed %s: a CA key must not sit in the directory mounted into the container "
			    "(the CA key is %s)",
			    s->legacy_key, s->ca_key);
	}
	if ((!s->ca_rewrite && fl_cert_io_fix_mode(s->ca_crt, 0644, l->uid, l->gid, e) < 0) ||
	    (s->action == FL_CERT_KEPT && (fl_cert_io_fix_mode(s->srv_pem, 0644, l->uid, l->gid, e) < 0 ||
	                                   fl_cert_io_fix_mode(s->srv_key, 0600, l->uid, l->gid, e) < 0)) ||
	    (s->action != FL_CERT_CREATED && !s->ca_key_legacy &&
	     fl_cert_io_fix_mode(s->ca_key, 0600, FL_OWNER_KEEP, (gid_t)-1, e) < 0))
		return -1;
	return 0;
}

/* What was done, for the log, and what is published. */
static void auto_report(const struct fl_cert_superlink_opts *o, const struct autoset *s,
                        struct fl_cert_published *p, struct fl_diags *d)
{
	fill_published(p, s->action, s->pem_ca, s->len_ca, s->ca);
	char *san = fl_cert_san_text(s->leaf), *until = fl_cert_io_time(X509_get0_notAfter(s->leaf));
	char *ca_until = fl_cert_io_time(X509_get0_notAfter(s->ca));
	char kd[64], why[512];
	fl_cert_key_desc(X509_get0_pubkey(s->leaf), kd, sizeof kd);
	auto_reason_text(s, o->renew_days, why, sizeof why);
	switch (s->action) {
	case FL_CERT_CREATED:
		fl_diags_add(d, FL_INFO,
		             "TLS certificates created (%s): new CA valid until %s, SHA-256 %s; server "
		             "certificate (%s) valid until %s for %s",
		             why, ca_until, p->fingerprint, kd, until, san);
		break;
	case FL_CERT_REISSUED:
		fl_diags_add(d, FL_INFO,
		             "TLS server certificate reissued from the existing CA (SHA-256 %s) because %s: "
		             "%s, valid until %s for %s",
		             p->fingerprint, why, kd, until, san);
		break;
	default:
		fl_diags_add(
		    d, FL_INFO,
		    "TLS certificates kept: CA SHA-256 %s valid until %s; server certificate valid until "
		    "%s for %s",
		    p->fingerprint, ca_until, until, san);
		break;
	}
	free(san);
	free(until);
	free(ca_until);
}

/* The generated set: check, load, decide, make, verify, stage, commit, report. */
static int superlink_auto(const struct fl_ctx *c, const struct fl_cert_superlink_opts *o,
                          struct fl_cert_published *p, struct fl_diags *d, struct fl_err *e)
{
	struct autoset s = {.lock = -1};
	int rc = -1;
	if (auto_check(c, o, &s, d, e) == 0) {
		if (!o->force)
			auto_load(&s);
		if (auto_decide(o, &s, d, e) == 0 && auto_issue(o, &s, e) == 0 &&
		    auto_verify(o, &s, d, e) == 0 && auto_stage(o, &s, d, e) == 0 &&
		    auto_commit(o, &s, d, e) == 0) {
			auto_report(o, &s, p, d);
			rc = 0;
		}
	}
	autoset_free(&s);
	ERR_clear_error();
	return rc;
}

/* Map a chain failure of the operator's set to the spec's message plus the reason. */
static int chain_error(int verr, const char *why, struct fl_err *e)
{
	switch (verr) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "Server certificate is not signed by the provided CA certificate (%s); give the CA "
		    "that issued FL_SSL_CERTFILE in FL_SSL_CA_CERTFILE",
		    why);
	case X509_V_ERR_INVALID_PURPOSE:
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "FL_SSL_CERTFILE is not a TLS server certificate (%s): its keyUsage or "
		                  "extendedKeyUsage must allow serverAuth",
		                  why);
	default:
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "Server certificate chain does not verify against FL_SSL_CA_CERTFILE: %s",
		                  why);
	}
}

/* not yet valid / expired, with the date; 0 when valid at now. */
static int validity_error(X509 *x, const char *name, time_t now, struct fl_err *e)
{
	if (fl_cert_io_seconds_until(X509_get0_notBefore(x), now) > 0) {
		char *t = fl_cert_io_time(X509_get0_notBefore(x));
		fl_err_set(e, FL_EXIT_FAIL, "%s is not valid yet (valid from %s); check the system clock",
		           name, t);
		free(t);
		return -1;
	}
	if (fl_cert_io_seconds_until(X509_get0_notAfter(x), now) < 0) {
		char *t = fl_cert_io_time(X509_get0_notAfter(x));
		fl_err_set(e, FL_EXIT_FAIL, "%s has expired (on %s); renew it and update the variable", name,
		           t);
		free(t);
		return -1;
	}
	return 0;
}

/* The operator's set: decoded from the context, then the PEM to install and where. */
struct opset {
	struct fl_pem ca, crt, key;
	char *pem_ca, *pem_srv, *pem_key;
	size_t len_ca, len_srv, len_key;
	char *ca_crt, *srv_pem, *srv_key;
	struct fl_fileset fs;
};

static void opset_free(struct opset *s)
{
	fl_fileset_free(&s->fs);
	fl_cert_io_wipe_free(s->pem_key, s->len_key);
	free(s->pem_ca);
	free(s->pem_srv);
	free(s->ca_crt);
	free(s->srv_pem);
	free(s->srv_key);
	fl_cert_pem_free(&s->ca);
	fl_cert_pem_free(&s->crt);
	fl_cert_pem_free(&s->key);
}

/* Load: the three variables, base64 PEM. */
static int op_decode(const struct fl_ctx *c, struct opset *s, struct fl_diags *d, struct fl_err *e)
{
	if (c->conf.set[FLV_FL_CERT_EXTRA_SAN])
		fl_diags_add(d, FL_INFO,
		             "FL_CERT_EXTRA_SAN ignored -- using operator-provided certificates.");
	if (fl_cert_pem_decode("FL_SSL_CA_CERTFILE", c->conf.FL_SSL_CA_CERTFILE, FL_PEM_CERTS, &s->ca, e) < 0)
		return -1;
	fl_diags_add(d, FL_INFO, "CA certificate decoded from FL_SSL_CA_CERTFILE");
	if (fl_cert_pem_decode("FL_SSL_CERTFILE", c->conf.FL_SSL_CERTFILE, FL_PEM_CERTS, &s->crt, e) < 0)
		return -1;
	fl_diags_add(d, FL_INFO, "Server certificate decoded from FL_SSL_CERTFILE");
	if (fl_cert_pem_decode("FL_SSL_KEYFILE", c->conf.FL_SSL_KEYFILE, FL_PEM_KEY, &s->key, e) < 0)
		return -1;
	fl_diags_add(d, FL_INFO, "Server key decoded from FL_SSL_KEYFILE");
	return 0;
}

/* Check: every CA a CA and valid now; the key matches; the chain verifies. */
static int op_check(const struct fl_cert_superlink_opts *o, const struct opset *s, struct fl_diags *d,
                    struct fl_err *e)
{
	for (int i = 0; i < sk_X509_num(s->ca.certs); i++) {
		X509 *x = sk_X509_value(s->ca.certs, i);
		if (X509_check_ca(x) != 1) {
			char *subj = fl_cert_io_name(X509_get_subject_name(x));
			fl_err_set(
			    e, FL_EXIT_FAIL,
			    "FL_SSL_CA_CERTFILE does not contain a valid CA certificate: certificate #%d "
			    "(%s) "
			    "has no basicConstraints CA:TRUE; give the CA that signed the server certificate",
			    i + 1, subj);
			free(subj);
			return -1;
		}
		if (validity_error(x, "FL_SSL_CA_CERTFILE", o->now, e) < 0)
			return -1;
	}
	X509 *leaf = sk_X509_value(s->crt.certs, 0);
	if (!fl_cert_io_key_matches(leaf, s->key.key))
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "FL_SSL_KEYFILE does not match FL_SSL_CERTFILE: the private key belongs to another "
		    "certificate; give the key the server certificate was issued for");
	if (validity_error(leaf, "FL_SSL_CERTFILE", o->now, e) < 0)
		return -1;
	STACK_OF(X509) *chain = sk_X509_new_null();
	for (int i = 1; chain && i < sk_X509_num(s->crt.certs); i++)
		sk_X509_push(chain, sk_X509_value(s->crt.certs, i));
	char why[160];
	int verr;
	int v = fl_cert_verify(leaf, s->ca.certs, chain, o->now, why, sizeof why, &verr);
	sk_X509_free(chain);
	if (v < 0)
		return chain_error(verr, why, e);
	long long left = fl_cert_io_seconds_until(X509_get0_notAfter(leaf), o->now);
	if (left < (long long)o->renew_days * 86400)
		fl_diags_add(d, FL_WARN,
		             "FL_SSL_CERTFILE expires in %ld days; renew it and update FL_SSL_CERTFILE",
		             fl_cert_io_days(left));
	return 0;
}

/* A SAN that does not cover the VM's addresses is a warning: SuperNodes may use a name. */
static void op_check_san(const struct fl_cert_superlink_opts *o, X509 *leaf, struct fl_diags *d)
{
	struct fl_addrs addrs = FL_ADDRS_INIT;
	struct fl_err ne = {0};
	if (resolve_addrs(o, &addrs, &ne) < 0) {
		fl_diags_add(d, FL_WARN, "cannot check the server certificate SAN against the VM address: %s",
		             ne.msg);
		fl_net_addrs_free(&addrs);
		return;
	}
	struct fl_sans want = FL_SANS_INIT, missing = FL_SANS_INIT;
	char buf[INET6_ADDRSTRLEN + 4];
	for (size_t i = 0; i < addrs.n; i++) {
		snprintf(buf, sizeof buf, "IP:%s", addrs.v[i]);
		fl_cert_sans_add(&want, buf);
	}
	fl_cert_san_missing(leaf, &want, &missing);
	if (missing.n) {
		char *m = fl_cert_io_sans_join(&missing), *san = fl_cert_san_text(leaf);
		fl_diags_add(d, FL_WARN,
		             "Server certificate SAN (%s) does not cover the VM address %s; SuperNodes must "
		             "connect with a name or address the SAN lists",
		             *san ? san : "empty", m);
		free(m);
		free(san);
	}
	fl_cert_sans_free(&want);
	fl_cert_sans_free(&missing);
	fl_net_addrs_free(&addrs);
}

/* Check the files: the set is encoded, the paths are safe to write, the directory exists. */
static int op_prepare(const struct fl_cert_superlink_opts *o, struct opset *s, struct fl_diags *d,
                      struct fl_err *e)
{
	const struct fl_cert_layout *l = &o->layout;
	s->pem_ca = fl_cert_io_pem_certs(s->ca.certs, &s->len_ca);
	s->pem_srv = fl_cert_io_pem_certs(s->crt.certs, &s->len_srv);
	s->pem_key = fl_cert_io_pem_key(s->key.key, &s->len_key);
	if (!s->pem_ca || !s->pem_srv || !s->pem_key)
		return fl_err_set(e, FL_EXIT_FAIL, "TLS setup failed: cannot encode PEM");
	s->ca_crt = fl_cert_io_join(l->dir, "ca.crt");
	s->srv_pem = fl_cert_io_join(l->dir, "server.pem");
	s->srv_key = fl_cert_io_join(l->dir, "server.key");
	if (fl_cert_owner_check(l->uid, e) < 0 || fl_cert_io_check_links(s->ca_crt, e) < 0 ||
	    fl_cert_io_check_links(s->srv_pem, e) < 0 || fl_cert_io_check_links(s->srv_key, e) < 0)
		return -1;
	char xbuf[PATH_MAX + 160];
	const char *exposed = fl_cert_exposed(l->dir, l->uid, 022, xbuf, sizeof xbuf);
	if (!exposed)
		exposed = fl_cert_exposed(s->srv_key, l->uid, 077, xbuf, sizeof xbuf);
	if (exposed)
		fl_diags_add(d, FL_WARN,
		             "%s, so the operator's server key may be known to someone else; it is "
		             "rewritten with mode 0600, but replace it (a new FL_SSL_KEYFILE and "
		             "FL_SSL_CERTFILE) if others could have read it",
		             exposed);
	if (fl_fs_mkdir_p(l->dir, 0700, l->uid, l->gid, e) < 0)
		return -1;
	fl_fileset_clean(s->ca_crt);
	fl_fileset_clean(s->srv_pem);
	fl_fileset_clean(s->srv_key);
	return 0;
}

/* Decide and commit: install the set unless those bytes are there (then re-apply owners and
 * modes); a CA key left in the mounted directory goes. */
static int op_install(const struct fl_cert_superlink_opts *o, struct opset *s, enum fl_cert_action *action,
                      struct fl_diags *d, struct fl_err *e)
{
	const struct fl_cert_layout *l = &o->layout;
	*action = FL_CERT_KEPT;
	if (!fl_cert_io_same(s->ca_crt, s->pem_ca, s->len_ca) ||
	    !fl_cert_io_same(s->srv_pem, s->pem_srv, s->len_srv) ||
	    !fl_cert_io_same(s->srv_key, s->pem_key, s->len_key)) {
		*action = FL_CERT_INSTALLED;
		if (fl_fileset_stage(&s->fs, s->ca_crt, s->pem_ca, s->len_ca, 0644, l->uid, l->gid, e) < 0 ||
		    fl_fileset_stage(&s->fs, s->srv_key, s->pem_key, s->len_key, 0600, l->uid, l->gid, e) <
		        0 ||
		    fl_fileset_stage(&s->fs, s->srv_pem, s->pem_srv, s->len_srv, 0644, l->uid, l->gid, e) <
		        0 ||
		    fl_fileset_commit(&s->fs, e) < 0)
			return -1;
	} else if (fl_cert_io_fix_mode(s->ca_crt, 0644, l->uid, l->gid, e) < 0 ||
	           fl_cert_io_fix_mode(s->srv_pem, 0644, l->uid, l->gid, e) < 0 ||
	           fl_cert_io_fix_mode(s->srv_key, 0600, l->uid, l->gid, e) < 0) {
		return -1;
	}
	char *legacy = fl_cert_io_join(l->dir, "ca.key");
	if (unlink(legacy) == 0)
		fl_diags_add(d, FL_WARN,
		             "Removed %s: a CA key must not sit in the directory mounted into the container",
		             legacy);
	free(legacy);
	return 0;
}

/* The operator's set: decode, check (the SAN only warns), prepare the files, install, report. */
static int superlink_operator(const struct fl_ctx *c, const struct fl_cert_superlink_opts *o,
                              struct fl_cert_published *p, struct fl_diags *d, struct fl_err *e)
{
	struct opset s = {0};
	enum fl_cert_action action;
	int rc = -1;
	if (op_decode(c, &s, d, e) == 0 && op_check(o, &s, d, e) == 0) {
		X509 *leaf = sk_X509_value(s.crt.certs, 0);
		op_check_san(o, leaf, d);
		fl_diags_add(d, FL_INFO, "Operator-provided certificates decoded and validated");
		if (op_prepare(o, &s, d, e) == 0 && op_install(o, &s, &action, d, e) == 0) {
			fill_published(p, action, s.pem_ca, s.len_ca, sk_X509_value(s.ca.certs, 0));
			char *until = fl_cert_io_time(X509_get0_notAfter(leaf)),
			     *subj = fl_cert_io_name(X509_get_subject_name(leaf));
			fl_diags_add(d, FL_INFO,
			             "Operator-provided certificates %s in %s: server %s valid until %s, CA "
			             "SHA-256 %s",
			             action == FL_CERT_KEPT ? "already installed" : "installed",
			             o->layout.dir, subj, until, p->fingerprint);
			free(until);
			free(subj);
			rc = 0;
		}
	}
	opset_free(&s);
	ERR_clear_error();
	return rc;
}

int fl_cert_superlink(const struct fl_ctx *c, const struct fl_cert_superlink_opts *o,
                      struct fl_cert_published *p, struct fl_diags *d, struct fl_err *e)
{
	memset(p, 0, sizeof *p);
	/* fl-certgen may run on a configuration no tool validated: a bad value is refused here. */
	const char *tls = fl_ctx_value(c, FLV_FL_TLS_ENABLED);
	p->tls_enabled = fl_xstrdup(tls);
	if (fl_validate_var(c, FLV_FL_TLS_ENABLED, e) < 0)
		return -1;
	const bool *set = c->conf.set;
	bool ca = set[FLV_FL_SSL_CA_CERTFILE], crt = set[FLV_FL_SSL_CERTFILE], key = set[FLV_FL_SSL_KEYFILE];
	if (!c->conf.FL_TLS_ENABLED) {
		p->action = FL_CERT_DISABLED;
		fl_diags_add(d, FL_INFO, "TLS disabled (FL_TLS_ENABLED=%s). Using --insecure mode.", tls);
		if (ca || crt || key)
			fl_diags_add(d, FL_INFO,
			             "FL_SSL_CA_CERTFILE/FL_SSL_CERTFILE/FL_SSL_KEYFILE ignored -- "
			             "FL_TLS_ENABLED is not YES");
		return 0;
	}
	if (ca || crt || key) {
		fl_validate_operator_tls(c, d);
		if (!ca || !crt || !key)
			return fl_err_set(
			    e, FL_EXIT_FAIL,
			    "Operator-provided certificates are all-or-none: set FL_SSL_CA_CERTFILE, "
			    "FL_SSL_CERTFILE and FL_SSL_KEYFILE, or none of them for generated ones");
		return superlink_operator(c, o, p, d, e);
	}
	return superlink_auto(c, o, p, d, e);
}

void fl_cert_published_free(struct fl_cert_published *p)
{
	free(p->ca_b64);
	free(p->tls_enabled);
	memset(p, 0, sizeof *p);
}
