/* fl_discover: where the SuperLink is (static address or OneGate) on one of three retry
 * schedules, and a SuperNode's data partition from its place in the service. */
#include "fl_discover.h"

#include "fl_b64.h"
#include "fl_cert.h"
#include "fl_check.h"
#include "fl_hostport.h"
#include "fl_log.h"
#include "fl_validate.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NOT_IN_SERVICE "Empty or invalid SERVICE_ID"

void fl_discover_superlink_free(struct fl_superlink *sl)
{
	free(sl->ca_cert);
	memset(sl, 0, sizeof *sl);
}

int fl_discover_ctx_schedule(const struct fl_ctx *c, enum fl_discover_schedule *s, struct fl_err *e)
{
	*s = FL_DISCOVER_FAST;
	/* A tool that validated its configuration finds it valid; one that did not (fl-onegate)
	 * learns of a bad value in the registry's words rather than running on the default. */
	if (fl_validate_var(c, FLV_FL_EDGE_BACKOFF, e) < 0)
		return -1;
	if (!c->conf.set[FLV_FL_EDGE_BACKOFF])
		return 0; /* its default (exponential) is for edge nodes that set it */
	*s = c->conf.FL_EDGE_BACKOFF == FL_EDGE_BACKOFF_FIXED ? FL_DISCOVER_FIXED : FL_DISCOVER_EXPONENTIAL;
	return 0;
}

int fl_discover_ctx_edge_max(const struct fl_ctx *c, uint64_t *ms, struct fl_err *e)
{
	if (fl_validate_var(c, FLV_FL_EDGE_MAX_BACKOFF, e) < 0)
		return -1;
	*ms = (uint64_t)c->conf.FL_EDGE_MAX_BACKOFF;
	return 0;
}

static const char *ut_str(const json_t *ut, const char *name)
{
	json_t *v = json_object_get(ut, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* FL_CA_CERT is trusted by every SuperNode: certificates only, nothing around them. */
static int ca_only_certs(const char *b64, char *why, size_t whylen)
{
	size_t n = 0;
	unsigned char *pem = fl_b64_decode(b64, &n);
	char what[128] = "it does not decode";
	int rc = pem ? fl_cert_pem_only_certs(pem, n, what, sizeof what) : -1;
	if (pem) {
		OPENSSL_cleanse(pem, n);
		free(pem);
	}
	if (rc < 0)
		snprintf(why, whylen,
		         "FL_CA_CERT holds more than certificates (%s): refusing it; the SuperLink must "
		         "publish its CA certificate(s) only (fl-launch publish-ready does)",
		         what);
	return rc;
}

int fl_discover_candidate(const json_t *ut, struct fl_superlink *sl, char *why, size_t whylen)
{
	why[0] = '\0';
	const char *ready = json_is_object(ut) ? ut_str(ut, "FL_READY") : NULL;
	if (!ready || strcmp(ready, "YES") != 0) {
		snprintf(why, whylen, "FL_READY is %s", ready ? "not YES" : "not published");
		return 0;
	}
	const char *ep = ut_str(ut, "FL_ENDPOINT");
	if (!ep || !*ep) {
		snprintf(why, whylen, "FL_READY=YES but FL_ENDPOINT is not published");
		return -1;
	}
	struct fl_hostport hp;
	struct fl_err pe = {0};
	if (strlen(ep) >= sizeof sl->endpoint || fl_hostport_parse(ep, &hp, &pe) < 0) {
		snprintf(why, whylen, "FL_ENDPOINT '%.80s' is not host:port (%s)", ep,
		         pe.msg[0] ? pe.msg : "too long");
		return -1;
	}
	const char *tls = ut_str(ut, "FL_TLS");
	const char *ca = ut_str(ut, "FL_CA_CERT");
	const char *ver = ut_str(ut, "FL_VERSION");
	if (tls && *tls && strcasecmp(tls, "YES") != 0 && strcasecmp(tls, "NO") != 0) {
		snprintf(why, whylen, "FL_TLS '%.16s' is not YES or NO", tls);
		return -1;
	}
	if (ca && *ca && (strlen(ca) > (64u << 10) || !fl_check_pem_b64(ca, false))) {
		snprintf(why, whylen, "FL_CA_CERT is not a base64-encoded PEM certificate");
		return -1;
	}
	if (ca && *ca && ca_only_certs(ca, why, whylen) < 0)
		return -1;
	snprintf(sl->endpoint, sizeof sl->endpoint, "%s", ep);
	snprintf(sl->tls, sizeof sl->tls, "%s",
	         tls && *tls ? (strcasecmp(tls, "YES") == 0 ? "YES" : "NO") : "");
	free(sl->ca_cert);
	sl->ca_cert = ca && *ca ? fl_xstrdup(ca) : NULL;
	/* A wrong version is worth a warning, not a refusal: the address is what matters. */
	snprintf(sl->version, sizeof sl->version, "%s", ver && fl_check_version(ver) ? ver : "");
	if (ver && *ver && !sl->version[0])
		snprintf(why, whylen, "FL_VERSION '%.16s' is not X.Y.Z; ignored", ver);
	return 1;
}

void fl_discover_superlink_render(const struct fl_superlink *sl, bool json, struct fl_buf *out)
{
	const char *ca = sl->ca_cert ? sl->ca_cert : "";
	if (json) {
		fl_buf_adds(out, "{\"FL_SUPERLINK_ADDRESS\":");
		fl_buf_add_dq(out, sl->endpoint);
		fl_buf_adds(out, ",\"FL_TLS\":");
		fl_buf_add_dq(out, sl->tls);
		fl_buf_adds(out, ",\"FL_CA_CERT\":");
		fl_buf_add_dq(out, ca);
		fl_buf_adds(out, ",\"FL_VERSION\":");
		fl_buf_add_dq(out, sl->version);
		fl_buf_adds(out, "}\n");
		return;
	}
	fl_buf_addf(out, "FL_SUPERLINK_ADDRESS=%s\nFL_TLS=%s\nFL_CA_CERT=%s\nFL_VERSION=%s\n", sl->endpoint,
	            sl->tls, ca, sl->version);
}

/* "000" like curl's %{http_code} when nothing answered. */
static void status_text(long status, char *out, size_t n)
{
	snprintf(out, n, status ? "%ld" : "000", status);
}

int fl_discover_precheck(struct fl_onegate *g, bool quiet_warn, struct fl_err *e)
{
	struct fl_onegate_request rq = {"GET", "/vm", NULL, NULL, 0};
	struct fl_onegate_response rs = {0};
	int rc = fl_onegate_request(g, &rq, &rs, e);
	if (rc == 0) {
		fl_info("OneGate connectivity verified");
	} else {
		char st[16];
		status_text(rs.status, st, sizeof st);
		enum fl_level l = quiet_warn ? FL_WARN : FL_ERROR;
		fl_log(l, "OneGate unreachable at %s (HTTP %s)", g->base, st);
		fl_log(l, "%s", e->msg);
		if (!quiet_warn)
			fl_log(
			    l,
			    "Dynamic discovery requires OneGate. Set FL_SUPERLINK_ADDRESS for static mode.");
	}
	fl_onegate_response_free(&rs);
	return rc;
}

/* "5 minutes", "30 seconds", "0.3 seconds". */
static void fmt_duration(uint64_t ms, char *out, size_t n)
{
	if (ms >= 60000 && ms % 60000 == 0)
		snprintf(out, n, "%llu minute%s", (unsigned long long)(ms / 60000), ms == 60000 ? "" : "s");
	else if (ms % 1000 == 0)
		snprintf(out, n, "%llu second%s", (unsigned long long)(ms / 1000), ms == 1000 ? "" : "s");
	else
		snprintf(out, n, "%g seconds", (double)ms / 1000.0);
}

struct disc {
	struct fl_onegate *g;
	const struct fl_discover_opts *o;
	struct fl_backoff *b;
	struct fl_superlink *sl;
	const char *role;
	long *ids;
	size_t nids;
	bool ids_known;
	uint64_t ids_at;
	uint64_t base_max; /* the cap before adapting to the service's size */
	uint64_t last_info;
	unsigned attempts; /* real attempts made */
	bool permanent;
	char warned[256]; /* the last unusable-value warning, so it is not repeated */
};

/* A OneGate refusal no retry can fix: the token, permissions, or no service at all. */
static bool refusal(const struct fl_onegate *g, const struct fl_err *e)
{
	return g->last_status == 401 || g->last_status == 403 ||
	       (g->last_status == 400 && strstr(e->msg, NOT_IN_SERVICE));
}

static int judge(struct disc *d, const json_t *ut, long vmid, unsigned attempt, char *reason, size_t rn)
{
	char why[200];
	int r = fl_discover_candidate(ut, d->sl, why, sizeof why);
	if (r == 1) {
		d->sl->vmid = vmid;
		d->sl->attempts = attempt;
		if (why[0])
			fl_warn("SuperLink VM %ld: %s", vmid, why);
		return 1;
	}
	snprintf(reason, rn, "VM %ld: %s", vmid, why);
	if (r < 0 && strcmp(d->warned, reason) != 0) {
		fl_warn("SuperLink VM %ld is not usable: %s; waiting for it to publish a valid value", vmid,
		        why);
		snprintf(d->warned, sizeof d->warned, "%s", reason);
	}
	return 0;
}

/* 1 retry, 0 found, -1 give up (e set). */
static int onegate_error(struct disc *d, unsigned attempt, struct fl_err *e)
{
	char st[40];
	status_text(d->g->last_status, st, sizeof st);
	if (d->g->last_status >= 200 && d->g->last_status < 300)
		snprintf(st, sizeof st, "%ld (invalid answer)",
		         d->g->last_status); /* the body did not parse */
	if (refusal(d->g, e)) {
		d->permanent = true;
		if (strstr(e->msg, NOT_IN_SERVICE)) {
			e->code = FL_EXIT_FAIL;
			fl_err_append(e,
			              ": this VM is not part of a OneFlow service; set FL_SUPERLINK_ADDRESS "
			              "for static mode");
		} else {
			e->code = FL_EXIT_FAIL;
		}
		return -1;
	}
	fl_warn("OneGate error on attempt %u: %s", attempt, st);
	fl_debug("%s", e->msg);
	return 1;
}

static void adapt_cap(struct disc *d, const struct fl_onegate_service *s)
{
	if (d->o->schedule != FL_DISCOVER_FAST)
		return;
	size_t total = 0;
	for (size_t i = 0; i < s->nroles; i++)
		total += s->roles[i].nnodes;
	unsigned rate = d->o->service_rate ? d->o->service_rate : FL_DISCOVER_SERVICE_RATE;
	/* Every node of the service may be polling: keep their sum under the budget. */
	uint64_t cap = (uint64_t)total * (d->nids ? d->nids : 1) * 1000u / rate;
	cap = cap > d->base_max ? cap : d->base_max;
	if (cap != d->b->max_ms)
		fl_debug("service has %zu VMs: polling at most every %llu ms", total,
		         (unsigned long long)cap);
	d->b->max_ms = cap;
}

/* 0 found, 1 not yet, 2 OneGate error (logged), -1 give up. */
static int read_service(struct disc *d, unsigned attempt, char *reason, size_t rn, struct fl_err *e)
{
	struct fl_onegate_service s;
	if (fl_onegate_service_get(d->g, d->o->extended, &s, e) < 0)
		return onegate_error(d, attempt, e) < 0 ? -1 : 2;
	d->ids_at = fl_clock_now_ms(d->g->o.clock);
	d->ids_known = true;
	d->nids = 0;
	const struct fl_onegate_role *r = fl_onegate_service_role(&s, d->role);
	if (r && r->nnodes) {
		d->ids = fl_xrealloc(d->ids, r->nnodes * sizeof *d->ids);
		for (size_t i = 0; i < r->nnodes; i++)
			if (r->nodes[i].vmid >= 0)
				d->ids[d->nids++] = r->nodes[i].vmid;
	}
	adapt_cap(d, &s);
	int found = 0;
	/* vm_info carries USER_TEMPLATE only when extended (or from old servers): use it then. */
	for (size_t i = 0; r && i < r->nnodes && !found; i++) {
		json_t *vm = r->nodes[i].vm_info ? json_object_get(r->nodes[i].vm_info, "VM") : NULL;
		json_t *ut = json_is_object(vm) ? json_object_get(vm, "USER_TEMPLATE") : NULL;
		if (json_is_object(ut))
			found = judge(d, ut, r->nodes[i].vmid, attempt, reason, rn);
	}
	if (!r)
		snprintf(reason, rn, "the service has no role '%s'", d->role);
	else if (!d->nids)
		snprintf(reason, rn, "role '%s' has no VM yet", d->role);
	fl_onegate_service_free(&s);
	return found ? 0 : 1;
}

static void not_ready(struct disc *d, unsigned attempt, const char *reason)
{
	fl_debug("attempt %u: %s", attempt, reason);
	uint64_t now = fl_clock_now_ms(d->g->o.clock);
	switch (d->o->schedule) {
	case FL_DISCOVER_FIXED: {
		unsigned max = d->b->max_attempts;
		fl_info("SuperLink not ready, waiting... (attempt %u/%u)", attempt, max);
		break;
	}
	case FL_DISCOVER_EXPONENTIAL: break; /* logged with the delay in attempt_fn */
	case FL_DISCOVER_FAST:
		/* Polls come every 2 s: one line per 10 s says enough. */
		if (attempt == 1 || now - d->last_info >= 10000) {
			fl_info("SuperLink not ready, waiting... (attempt %u)", attempt);
			d->last_info = now;
		}
		break;
	}
}

static int attempt_fn(void *ctx, unsigned attempt, struct fl_err *e)
{
	struct disc *d = ctx;
	struct fl_onegate *g = d->g;
	char reason[300] = "";
	if (g->deadline_at && fl_clock_now_ms(g->o.clock) >= g->deadline_at)
		return 1; /* fl_retry_run's last call at the deadline: nothing left to spend */
	d->attempts = attempt;
	int r = 1;
	uint64_t now = fl_clock_now_ms(g->o.clock);
	if (d->o->extended || !d->ids_known || now - d->ids_at >= FL_DISCOVER_REFRESH) {
		r = read_service(d, attempt, reason, sizeof reason, e);
		if (r <= 0)
			goto done;
		if (r == 2)
			goto next;
		if (!d->nids)
			goto waiting;
	}
	if (!d->o->extended) {
		for (size_t i = 0; i < d->nids; i++) {
			char id[24];
			struct fl_onegate_vm vm;
			snprintf(id, sizeof id, "%ld", d->ids[i]);
			if (fl_onegate_vm_get(g, id, &vm, e) < 0) {
				/* The VM may have left the service: read it again next time. */
				d->ids_known = false;
				r = onegate_error(d, attempt, e);
				if (r < 0)
					goto done;
				goto next;
			}
			int found = judge(d, vm.user_template, d->ids[i], attempt, reason, sizeof reason);
			fl_onegate_vm_free(&vm);
			if (found) {
				r = 0;
				goto done;
			}
		}
	}
waiting:
	not_ready(d, attempt, reason[0] ? reason : "no SuperLink VM");
next:
	r = 1;
	if (d->o->schedule == FL_DISCOVER_EXPONENTIAL) {
		/* The spec's formula: min(BASE * 2^(attempt-1), MAX), capped before shifting. */
		uint64_t delay = d->b->initial_ms;
		for (unsigned i = 1; i < attempt && delay < d->b->max_ms; i++)
			delay *= 2;
		if (delay > d->b->max_ms)
			delay = d->b->max_ms;
		fl_info("SuperLink not found, retrying in %gs (attempt %u, strategy=exponential)",
		        (double)delay / 1000.0, attempt);
	}
done:
	if (r == 0)
		fl_info("Discovered SuperLink at %s (attempt %u)", d->sl->endpoint, attempt);
	return r;
}

static int discover_static(const char *addr, struct fl_superlink *sl, struct fl_err *e)
{
	struct fl_hostport hp;
	struct fl_err pe = {0};
	if (strlen(addr) >= sizeof sl->endpoint || fl_hostport_parse(addr, &hp, &pe) < 0) {
		fl_err_set(e, FL_EXIT_FAIL,
		           "FL_SUPERLINK_ADDRESS '%.80s' is not host:port (IPv4, [IPv6] or a DNS name, port "
		           "1-65535): %s",
		           addr, pe.msg[0] ? pe.msg : "too long");
		fl_error("%s", e->msg);
		return -1;
	}
	snprintf(sl->endpoint, sizeof sl->endpoint, "%s", addr);
	sl->is_static = true;
	fl_info("Using static SuperLink address %s (FL_SUPERLINK_ADDRESS); OneGate discovery skipped", addr);
	return 0;
}

/* The retry schedule of o->schedule, o's values overriding the schedule's own. */
static void discover_backoff(const struct fl_discover_opts *o, uint64_t seed, struct fl_backoff *b)
{
	*b = (struct fl_backoff){.factor = 2.0, .seed = seed};
	switch (o->schedule) {
	case FL_DISCOVER_FIXED:
		b->initial_ms = b->max_ms = o->interval_ms ? o->interval_ms : FL_DISCOVER_SPEC_INTERVAL;
		b->factor = 1.0;
		b->max_attempts = o->attempts ? o->attempts : FL_DISCOVER_SPEC_ATTEMPTS;
		b->deadline_ms = o->deadline_ms;
		break;
	case FL_DISCOVER_EXPONENTIAL:
		b->initial_ms = o->interval_ms ? o->interval_ms : FL_DISCOVER_SPEC_INTERVAL;
		b->max_ms = o->max_interval_ms ? o->max_interval_ms : FL_DISCOVER_EDGE_MAX;
		b->max_attempts = o->attempts;
		b->deadline_ms = o->deadline_ms;
		break;
	case FL_DISCOVER_FAST:
		b->initial_ms = o->interval_ms ? o->interval_ms : FL_DISCOVER_FAST_INTERVAL;
		b->max_ms = o->max_interval_ms ? o->max_interval_ms : FL_DISCOVER_FAST_MAX;
		if (b->max_ms < b->initial_ms)
			b->max_ms = b->initial_ms;
		b->jitter = FL_DISCOVER_FAST_JITTER;
		b->max_attempts = o->attempts;
		b->deadline_ms = o->deadline_ms ? o->deadline_ms : FL_DISCOVER_FAST_DEADLINE;
		break;
	}
}

/* The schedule ran out: the spec's line, with the time it nominally lasts. */
static void discover_timeout(const struct fl_discover_opts *o, const struct fl_backoff *b, unsigned attempts,
                             uint64_t elapsed, struct fl_err *e)
{
	char dur[48];
	uint64_t nominal = elapsed;
	if (o->deadline_ms)
		nominal = o->deadline_ms;
	else if (o->schedule == FL_DISCOVER_FIXED)
		nominal = (uint64_t)b->max_attempts * b->initial_ms; /* 30 x 10 s: "5 minutes" */
	else if (o->schedule == FL_DISCOVER_FAST)
		nominal = FL_DISCOVER_FAST_DEADLINE;
	fmt_duration(nominal, dur, sizeof dur);
	fl_error("SuperLink discovery timed out after %u attempts (%s)", attempts, dur);
	fl_err_set(e, FL_EXIT_TIMEOUT, "SuperLink discovery timed out after %u attempts (%s)", attempts, dur);
}

int fl_discover_superlink(const struct fl_onegate_opts *go, const struct fl_discover_opts *o,
                          struct fl_superlink *sl, struct fl_err *e)
{
	memset(sl, 0, sizeof *sl);
	sl->vmid = -1;
	if (o->static_address && *o->static_address)
		return discover_static(o->static_address, sl, e);

	struct fl_onegate g;
	if (fl_onegate_open(&g, go, e) < 0) {
		if (e->code == FL_EXIT_UNAVAILABLE) {
			if (!go->endpoint || !*go->endpoint)
				fl_warn("ONEGATE_ENDPOINT not configured");
			fl_error("No SuperLink address provided and OneGate not available");
			fl_err_prefix(e, FL_EXIT_UNAVAILABLE,
			              "No SuperLink address provided and OneGate not available");
			fl_err_append(e, "; set FL_SUPERLINK_ADDRESS for static mode");
		} else {
			fl_error("%s", e->msg);
		}
		return -1;
	}

	struct fl_backoff b;
	discover_backoff(o, g.seed, &b);

	/* The edge loop must survive a OneGate that is not up yet (04 §4.3): no fatal precheck. */
	bool edge = o->schedule == FL_DISCOVER_EXPONENTIAL;
	int rc = 0;
	if (b.deadline_ms)
		g.deadline_at = fl_clock_now_ms(g.o.clock) + b.deadline_ms;
	if (edge)
		g.attempts = 1; /* the loop retries; a precheck must not eat its time */
	if (!o->no_precheck && fl_discover_precheck(&g, edge, e) < 0) {
		bool refused = g.last_status >= 400 && g.last_status < 500;
		if (!edge || refused) {
			fl_onegate_close(&g);
			return -1;
		}
	}

	struct disc d = {.g = &g,
	                 .o = o,
	                 .b = &b,
	                 .sl = sl,
	                 .role = o->role && *o->role ? o->role : "superlink",
	                 .base_max = b.max_ms};
	g.attempts = 1; /* the schedule is the retry loop */
	if (b.deadline_ms) {
		/* The precheck spent part of the budget; the loop gets what is left. */
		uint64_t now = fl_clock_now_ms(g.o.clock);
		b.deadline_ms = g.deadline_at > now ? g.deadline_at - now : 1;
	}
	uint64_t loop_start = fl_clock_now_ms(g.o.clock);
	rc = fl_retry_run(&b, g.o.clock, attempt_fn, &d, e);
	if (rc < 0 && d.permanent)
		fl_error("%s", e->msg);
	if (rc < 0 && !d.permanent)
		discover_timeout(o, &b, d.attempts, fl_clock_now_ms(g.o.clock) - loop_start, e);
	free(d.ids);
	fl_onegate_close(&g);
	if (rc < 0)
		fl_discover_superlink_free(sl);
	return rc;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

/* The site's range holds the id, or the failure names both variables, the id and the fix. */
static int partition_in_range(const struct fl_partition_range *r, long at, long count, struct fl_partition *p,
                              struct fl_err *e)
{
	long off = r ? r->offset : 0, total = r && r->total ? r->total : count;
	if (off > LONG_MAX - at || off + at >= total)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "partition-id %ld (FL_PARTITION_OFFSET=%ld + this VM's place %ld among %ld "
		    "SuperNodes) is not below FL_NUM_PARTITIONS=%ld: this site has more VMs than its "
		    "range; scale the role back to %ld VM(s), or raise FL_NUM_PARTITIONS and give "
		    "the sites disjoint ranges (each site's FL_PARTITION_OFFSET at least the previous "
		    "site's offset plus its max_vms)",
		    off + at, off, at, count, total, total - off);
	p->id = off + at;
	p->num = total;
	return 0;
}

int fl_discover_partition_compute(const struct fl_onegate_service *s, const char *role, long vmid,
                                  const struct fl_partition_range *range, struct fl_partition *p,
                                  struct fl_err *e)
{
	const struct fl_onegate_role *r = fl_onegate_service_role(s, role);
	if (!r || !r->nnodes)
		return fl_err_set(e, FL_EXIT_FAIL, "the service has no VM in role '%s'", role);
	long *ids = fl_xcalloc(r->nnodes, sizeof *ids);
	size_t n = 0;
	for (size_t i = 0; i < r->nnodes; i++)
		if (r->nodes[i].vmid >= 0)
			ids[n++] = r->nodes[i].vmid;
	qsort(ids, n, sizeof *ids, cmp_long);
	size_t uniq = 0;
	long at = -1;
	for (size_t i = 0; i < n; i++) {
		if (i && ids[i] == ids[i - 1])
			continue;
		if (ids[i] == vmid)
			at = (long)uniq;
		uniq++;
	}
	free(ids);
	if (at < 0)
		return fl_err_set(e, FL_EXIT_FAIL, "VM %ld is not in role '%s'", vmid, role);
	return partition_in_range(range, at, (long)uniq, p, e);
}

int fl_discover_partition(struct fl_onegate *g, const char *role, const struct fl_partition_range *range,
                          struct fl_partition *p, struct fl_err *e)
{
	struct fl_onegate_service s;
	if (fl_onegate_service_get(g, false, &s, e) < 0) {
		if (g->last_status == 400 && strstr(e->msg, NOT_IN_SERVICE)) {
			fl_info("Not part of a OneFlow service; FL_NODE_CONFIG must be set manually if data "
			        "partitioning is required.");
			return 1;
		}
		return -1;
	}
	/* The place first (the spec's warnings when there is none), then the site's range: a VM
	 * past it is a configuration error, not a partition left to the ClientApp. */
	int rc = fl_discover_partition_compute(&s, role, strtol(g->vmid, NULL, 10), NULL, p, e);
	fl_onegate_service_free(&s);
	if (rc < 0) {
		fl_warn("Could not determine partition-id from OneGate service response");
		fl_warn("FL_NODE_CONFIG left empty; ClientApp must handle partitioning internally");
		return rc;
	}
	return partition_in_range(range, p->id, p->num, p, e);
}
