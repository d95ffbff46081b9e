/* fl_onegate_verb: what fl-onegate's verbs do once the options are known. */
#include "fl_onegate_verb.h"

#include "fl_log.h"
#include "fl_output.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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
	int r = fl_discover_partition(g, o->role_name ? o->role_name : "supernode", &p, e);
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
