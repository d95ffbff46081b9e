/* fl_onegate_verb: what fl-onegate's verbs do once the options are known. */
#include "fl_onegate_verb.h"

#include "fl_fs.h"
#include "fl_log.h"
#include "fl_output.h"
#include "fl_validate.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_DEADLINE 30000 /* ms, every verb but discover */

int fl_onegate_verb_identity(const struct fl_ctx *c, const char *endpoint, const char *vmid,
                             const struct fl_err *bad, bool needs_gate, struct fl_err *e)
{
	const char *ep = endpoint ? endpoint : c->id.endpoint, *id = vmid ? vmid : c->id.vmid;
	bool incomplete = !ep || !*ep || !id || !*id || !c->id.token || !*c->id.token;
	/* A context file that does not parse loses what it held: say so, rather than blame the
	 * VM template (CONTEXT TOKEN=YES) or the discovery mode for what is missing. */
	if (bad->msg[0] && incomplete && needs_gate)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "%s: the OneGate identity (ONEGATE_ENDPOINT, VMID, TOKENTXT) is incomplete "
		    "because this file does not parse; fix it (it is read as data, never sourced)",
		    bad->msg);
	return 0;
}

int fl_onegate_verb_vm_show(struct fl_onegate *g, const char *id, const struct fl_onegate_verb_opts *o,
                            struct fl_buf *out, struct fl_err *e)
{
	struct fl_onegate_vm vm;
	if (fl_onegate_vm_get(g, id, &vm, e) < 0)
		return -1;
	if (o->json)
		fl_onegate_render_json(vm.root, out);
	else
		fl_onegate_render_vm(&vm, o->tty, out);
	fl_onegate_vm_free(&vm);
	return 0;
}

int fl_onegate_verb_service_show(struct fl_onegate *g, const struct fl_onegate_verb_opts *o,
                                 struct fl_buf *out, struct fl_err *e)
{
	struct fl_onegate_service s;
	if (fl_onegate_service_get(g, o->extended, &s, e) < 0)
		return -1;
	if (o->json)
		fl_onegate_render_json(s.root, out);
	else
		fl_onegate_render_service(&s, o->extended, o->tty, out);
	fl_onegate_service_free(&s);
	return 0;
}

int fl_onegate_verb_attr_check(const char *attr, struct fl_err *e)
{
	size_t n = strlen(attr);
	if (n == 0 || n > 128 ||
	    strspn(attr, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return fl_err_set(e, FL_EXIT_USAGE, "get: '%.64s' is not an attribute name", attr);
	return 0;
}

int fl_onegate_verb_get(struct fl_onegate *g, const char *attr, struct fl_buf *out, struct fl_err *e)
{
	char name[129];
	if (fl_onegate_verb_attr_check(attr, e) < 0)
		return -1;
	for (size_t i = 0; i <= strlen(attr); i++)
		name[i] = (char)toupper((unsigned char)attr[i]);
	struct fl_onegate_vm vm;
	if (fl_onegate_vm_get(g, NULL, &vm, e) < 0)
		return -1;
	json_t *v = vm.user_template ? json_object_get(vm.user_template, name) : NULL;
	int r = 0;
	if (!v) {
		r = fl_err_set(e, FL_EXIT_FAIL, "%s is not set in this VM's USER_TEMPLATE", name);
	} else if (json_is_string(v)) {
		fl_buf_addf(out, "%s\n", json_string_value(v));
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		fl_buf_addf(out, "%s\n", s ? s : "");
		free(s);
	}
	fl_onegate_vm_free(&vm);
	return r;
}

int fl_onegate_verb_publish(struct fl_onegate *g, const char *data, char **pairs, size_t n,
                            const struct fl_onegate_verb_opts *o, struct fl_err *e)
{
	if (fl_onegate_update(g, NULL, data, 1, o->raw, e) < 0) {
		bool superlink = false;
		for (size_t i = 0; i < n; i++)
			superlink |= strncmp(pairs[i], "FL_ENDPOINT=", 12) == 0;
		fl_log_err(e); /* before the warning it calls for */
		if (superlink)
			fl_warn(
			    "OneGate publication failed. SuperNodes must use static FL_SUPERLINK_ADDRESS.");
		else if (o->best_effort)
			fl_warn("OneGate publication failed; continuing without it.");
		if (o->best_effort)
			fl_err_clear(e);
		return o->best_effort ? 0 : -1;
	}
	struct fl_buf keys = FL_BUF_INIT;
	for (size_t i = 0; i < n; i++)
		fl_buf_addf(&keys, "%s%.*s", i ? " " : "", (int)(strchr(pairs[i], '=') - pairs[i]), pairs[i]);
	fl_info("Published %s to OneGate", fl_buf_str(&keys));
	fl_buf_free(&keys);
	return 0;
}

int fl_onegate_verb_partition(struct fl_onegate *g, const struct fl_onegate_verb_opts *o, struct fl_buf *out,
                              struct fl_err *e)
{
	struct fl_partition p;
	int r = fl_discover_partition(g, o->role_name ? o->role_name : "supernode", &o->range, &p, e);
	if (r != 0)
		return r;
	fl_info("Auto-computed FL_NODE_CONFIG: partition-id=%ld num-partitions=%ld", p.id, p.num);
	if (o->json)
		fl_buf_addf(out, "{\"partition-id\":%ld,\"num-partitions\":%ld}\n", p.id, p.num);
	else
		fl_buf_addf(out, "partition-id=%ld num-partitions=%ld\n", p.id, p.num);
	return 0;
}

/* The failure in e, logged; -1. */
static int logged(struct fl_err *e)
{
	fl_log_err(e);
	return -1;
}

int fl_onegate_verb_discover(const struct fl_ctx *c, const struct fl_onegate_opts *go,
                             struct fl_discover_opts *d, int schedule, bool json, const char *output,
                             struct fl_buf *out, struct fl_err *e)
{
	d->static_address = fl_ctx_value(c, FLV_FL_SUPERLINK_ADDRESS);
	if (schedule >= 0)
		d->schedule = (enum fl_discover_schedule)schedule;
	else if (fl_discover_ctx_schedule(c, &d->schedule, e) < 0)
		return logged(e);
	if (d->schedule == FL_DISCOVER_EXPONENTIAL && !d->max_interval_ms &&
	    fl_discover_ctx_edge_max(c, &d->max_interval_ms, e) < 0)
		return logged(e);
	struct fl_onegate_opts gate = *go;
	gate.deadline_ms = 0; /* the schedule's deadline bounds every request */
	struct fl_superlink sl;
	if (fl_discover_superlink(&gate, d, &sl, e) < 0) {
		if (!e->code)
			e->code = FL_EXIT_FAIL;
		return -1; /* logged by the discovery */
	}
	struct fl_buf b = FL_BUF_INIT;
	fl_discover_superlink_render(&sl, json, output ? &b : out);
	int r = 0;
	/* As fl-context render: what a killed run left beside the file goes first. */
	if (output && fl_output_write(output, b.data, b.len, 0644, false, e) < 0)
		r = logged(e);
	fl_buf_free(&b);
	fl_discover_superlink_free(&sl);
	return r;
}

/* The exit status of a library call that returned r with e: 0, or e's code when r < 0. */
static int status(int r, const struct fl_err *e)
{
	return r < 0 ? (e->code ? e->code : FL_EXIT_FAIL) : FL_EXIT_OK;
}

static void gate_opts(const struct fl_onegate_cli *o, const struct fl_ctx *c, struct fl_onegate_opts *go)
{
	memset(go, 0, sizeof *go);
	go->endpoint = o->endpoint ? o->endpoint : c->id.endpoint;
	go->vmid = o->vmid ? o->vmid : c->id.vmid;
	go->token = c->id.token;
	go->connect_timeout_ms = (long)o->connect_ms;
	go->timeout_ms = (long)o->timeout_ms;
	go->attempts = o->retries >= 0 ? (unsigned)o->retries + 1 : 0;
	go->deadline_ms = o->deadline_set ? o->deadline_ms : DEFAULT_DEADLINE;
	go->keep_path = o->keep_path;
	go->tls_verify = o->tls_verify;
}

/* One verb on an open OneGate; what it prints is in out. */
static int act(struct fl_onegate_cli *o, struct fl_onegate *g, enum fl_onegate_verb v, char **args, size_t n,
               struct fl_buf *out)
{
	struct fl_err e = {0};
	const char *id = n ? args[0] : NULL;
	int r = 0;
	switch (v) {
	case FL_OG_VM_SHOW: r = fl_onegate_verb_vm_show(g, id, &o->v, out, &e); break;
	case FL_OG_VM_UPDATE:
		r = fl_onegate_update(g, id, fl_buf_str(&o->data), o->type, o->v.raw, &e);
		break;
	case FL_OG_SERVICE_SHOW: r = fl_onegate_verb_service_show(g, &o->v, out, &e); break;
	case FL_OG_SERVICE_SCALE: r = fl_onegate_scale(g, o->role, o->cardinality, &e); break;
	case FL_OG_PUBLISH:
		return status(fl_onegate_verb_publish(g, fl_buf_str(&o->pub), args, n, &o->v, &e), &e);
	case FL_OG_GET: r = fl_onegate_verb_get(g, args[0], out, &e); break;
	case FL_OG_PARTITION:
		if ((r = fl_onegate_verb_partition(g, &o->v, out, &e)) > 0)
			return FL_EXIT_OK; /* in no service */
		break;
	case FL_OG_PRECHECK: return status(fl_discover_precheck(g, false, &e), &e);
	case FL_OG_DISCOVER: break; /* by its schedule, not on one open OneGate */
	}
	return r < 0 ? fl_log_err(&e) : FL_EXIT_OK;
}

static int discover(struct fl_onegate_cli *o, const struct fl_ctx *c, struct fl_buf *out)
{
	struct fl_onegate_opts go;
	struct fl_err e = {0};
	gate_opts(o, c, &go);
	o->d.deadline_ms = o->deadline_set ? o->deadline_ms : 0;
	o->d.extended = o->v.extended;
	return status(fl_onegate_verb_discover(c, &go, &o->d, o->schedule, o->v.json, o->output, out, &e),
	              &e);
}

/* A static FL_NODE_CONFIG is the partition: the multi-site range, if given, is noted as unused. */
static void partition_range_ignored(const struct fl_ctx *c)
{
	struct fl_diags d = FL_DIAGS_INIT;
	fl_validate_partition_ignored(c, &d);
	fl_diags_log(&d);
}

int fl_onegate_verb_run(struct fl_onegate_cli *o, const struct fl_ctx *c, enum fl_onegate_verb verb,
                        char **args, size_t n, struct fl_buf *out)
{
	struct fl_onegate_opts go;
	struct fl_onegate g;
	struct fl_err e = {0};
	const char *nc = fl_ctx_value(c, FLV_FL_NODE_CONFIG);
	if (verb == FL_OG_DISCOVER)
		return discover(o, c, out);
	if (verb == FL_OG_PARTITION && *nc) {
		fl_info("FL_NODE_CONFIG provided by user: %s (skipping auto-computation)", nc);
		partition_range_ignored(c);
		fl_buf_addf(out, "%s\n", nc);
		return FL_EXIT_OK;
	}
	/* A bad range is the context's error: said before OneGate is asked anything. */
	if (verb == FL_OG_PARTITION &&
	    fl_validate_partition_range(c, &o->v.range.offset, &o->v.range.total, &e) < 0)
		return fl_log_err(&e);
	gate_opts(o, c, &go);
	if (fl_onegate_open(&g, &go, &e) < 0) {
		int rc = fl_log_err(&e);
		if (verb != FL_OG_PUBLISH || !o->v.best_effort)
			return rc;
		fl_warn("OneGate publication failed; continuing without it.");
		return FL_EXIT_OK;
	}
	o->v.tty = isatty(STDOUT_FILENO);
	int rc = act(o, &g, verb, args, n, out);
	fl_onegate_close(&g);
	return rc;
}

enum fl_var_id fl_onegate_verb_unless(enum fl_onegate_verb verb)
{
	/* A static SuperLink address needs no discovery; a given partition no computing. */
	return verb == FL_OG_DISCOVER    ? FLV_FL_SUPERLINK_ADDRESS
	       : verb == FL_OG_PARTITION ? FLV_FL_NODE_CONFIG
	                                 : FLV_COUNT;
}

void fl_onegate_verb_data(struct fl_onegate_cli *o, bool erase, const char *arg)
{
	/* Several --data are one request, lines joined; the Ruby CLI keeps the last. */
	if (erase || o->type != 1)
		fl_buf_reset(&o->data);
	else
		fl_buf_addc(&o->data, '\n');
	fl_buf_adds(&o->data, arg);
	o->type = erase ? 2 : 1;
}

int fl_onegate_verb_vm_check(const struct fl_onegate_cli *o, const char *id, bool update, struct fl_err *e)
{
	const char *data = fl_buf_str(&o->data);
	if (id && (!*id || strspn(id, "0123456789") != strlen(id) || strlen(id) > 18))
		return fl_err_set(e, FL_EXIT_USAGE, "'%s' is not a VM ID", id);
	if (update && !o->type)
		return fl_err_set(e, FL_EXIT_USAGE,
		                  "You have to provide the data as a param (--data, --erase)");
	if (update && o->type == 2 && (!*data || strpbrk(data, "\n=")))
		return fl_err_set(e, FL_EXIT_USAGE, "--erase takes one attribute name, not '%.64s'", data);
	return 0;
}

int fl_onegate_verb_cli_check(const struct fl_onegate_cli *o, struct fl_err *e)
{
	if (fl_fs_check_regular("--token-file", o->token_file, e) < 0)
		return -1;
	if (o->d.max_interval_ms && o->d.max_interval_ms < o->d.interval_ms)
		return fl_err_set(e, FL_EXIT_USAGE, "--max-interval must not be below --interval");
	return 0;
}
