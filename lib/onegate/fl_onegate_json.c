/* fl_onegate_json: OneGate answers read defensively (type drift, nulls, NIC object or array,
 * hostile input) and printed the way the Ruby onegate CLI prints them (design 06 §3, §7.5). */
#include "fl_onegate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const vm_states[] = {
    "INIT", "PENDING", "HOLD",     "ACTIVE",     "STOPPED", "SUSPENDED",
    "DONE", "FAILED",  "POWEROFF", "UNDEPLOYED", "CLONING", "CLONING_FAILURE",
};

static const char *const lcm_states[] = {
    "LCM_INIT",
    "PROLOG",
    "BOOT",
    "RUNNING",
    "MIGRATE",
    "SAVE_STOP",
    "SAVE_SUSPEND",
    "SAVE_MIGRATE",
    "PROLOG_MIGRATE",
    "PROLOG_RESUME",
    "EPILOG_STOP",
    "EPILOG",
    "SHUTDOWN",
    "CANCEL",
    "FAILURE",
    "CLEANUP_RESUBMIT",
    "UNKNOWN",
    "HOTPLUG",
    "SHUTDOWN_POWEROFF",
    "BOOT_UNKNOWN",
    "BOOT_POWEROFF",
    "BOOT_SUSPENDED",
    "BOOT_STOPPED",
    "CLEANUP_DELETE",
    "HOTPLUG_SNAPSHOT",
    "HOTPLUG_NIC",
    "HOTPLUG_SAVEAS",
    "HOTPLUG_SAVEAS_POWEROFF",
    "HOTPLUG_SAVEAS_SUSPENDED",
    "SHUTDOWN_UNDEPLOY",
    "EPILOG_UNDEPLOY",
    "PROLOG_UNDEPLOY",
    "BOOT_UNDEPLOY",
    "HOTPLUG_PROLOG_POWEROFF",
    "HOTPLUG_EPILOG_POWEROFF",
    "BOOT_MIGRATE",
    "BOOT_FAILURE",
    "BOOT_MIGRATE_FAILURE",
    "PROLOG_MIGRATE_FAILURE",
    "PROLOG_FAILURE",
    "EPILOG_FAILURE",
    "EPILOG_STOP_FAILURE",
    "EPILOG_UNDEPLOY_FAILURE",
    "PROLOG_MIGRATE_POWEROFF",
    "PROLOG_MIGRATE_POWEROFF_FAILURE",
    "PROLOG_MIGRATE_SUSPEND",
    "PROLOG_MIGRATE_SUSPEND_FAILURE",
    "BOOT_UNDEPLOY_FAILURE",
    "BOOT_STOPPED_FAILURE",
    "PROLOG_RESUME_FAILURE",
    "PROLOG_UNDEPLOY_FAILURE",
    "DISK_SNAPSHOT_POWEROFF",
    "DISK_SNAPSHOT_REVERT_POWEROFF",
    "DISK_SNAPSHOT_DELETE_POWEROFF",
    "DISK_SNAPSHOT_SUSPENDED",
    "DISK_SNAPSHOT_REVERT_SUSPENDED",
    "DISK_SNAPSHOT_DELETE_SUSPENDED",
    "DISK_SNAPSHOT",
    "DISK_SNAPSHOT_REVERT",
    "DISK_SNAPSHOT_DELETE",
    "PROLOG_MIGRATE_UNKNOWN",
    "PROLOG_MIGRATE_UNKNOWN_FAILURE",
    "DISK_RESIZE",
    "DISK_RESIZE_POWEROFF",
    "DISK_RESIZE_UNDEPLOYED",
    "HOTPLUG_NIC_POWEROFF",
    "HOTPLUG_RESIZE",
    "HOTPLUG_SAVEAS_UNDEPLOYED",
    "HOTPLUG_SAVEAS_STOPPED",
};

static const char *const service_states[] = {
    "PENDING",
    "DEPLOYING",
    "RUNNING",
    "UNDEPLOYING",
    "WARNING",
    "DONE",
    "FAILED_UNDEPLOYING",
    "FAILED_DEPLOYING",
    "SCALING",
    "FAILED_SCALING",
    "COOLDOWN",
    "DEPLOYING_NETS",
    "UNDEPLOYING_NETS",
    "FAILED_DEPLOYING_NETS",
    "FAILED_UNDEPLOYING_NETS",
    "HOLD",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *fl_onegate_vm_state_name(long state, long lcm_state)
{
	if (state == 3)
		return lcm_state >= 0 && (size_t)lcm_state < NELEM(lcm_states) ? lcm_states[lcm_state] : "";
	return state >= 0 && (size_t)state < NELEM(vm_states) ? vm_states[state] : "";
}

const char *fl_onegate_service_state_name(long state)
{
	return state >= 0 && (size_t)state < NELEM(service_states) ? service_states[state] : "";
}

/* An integer given as a JSON integer or a string of digits (06 Q12); -1 otherwise. */
static long as_long(const json_t *v)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		return i >= 0 && i <= 0x7fffffffffffLL ? (long)i : -1;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = strlen(s);
		if (n == 0 || n > 15 || strspn(s, "0123456789") != n)
			return -1;
		return strtol(s, NULL, 10);
	}
	return -1;
}

static const char *as_str(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "";
}

static json_t *load(const char *buf, size_t len, struct fl_err *e)
{
	if (len > FL_ONEGATE_MAX_BODY) {
		fl_err_set(e, FL_EXIT_FAIL, "OneGate's answer is larger than %u MiB",
		           FL_ONEGATE_MAX_BODY >> 20);
		return NULL;
	}
	json_error_t je;
	json_t *root = json_loadb(buf, len, 0, &je);
	if (!root) {
		fl_err_set(e, FL_EXIT_FAIL, "OneGate's answer is not valid JSON: %s (line %d, column %d)",
		           je.text, je.line, je.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		fl_err_set(e, FL_EXIT_FAIL, "OneGate's answer is not a JSON object");
		return NULL;
	}
	return root;
}

int fl_onegate_vm_from_json(json_t *root, struct fl_onegate_vm *vm, struct fl_err *e)
{
	memset(vm, 0, sizeof *vm);
	json_t *v = json_is_object(root) ? json_object_get(root, "VM") : NULL;
	if (!json_is_object(v))
		return fl_err_set(e, FL_EXIT_FAIL, "OneGate's answer has no VM object");
	vm->root = json_incref(root);
	vm->vm = v;
	long id = as_long(json_object_get(v, "ID"));
	if (id >= 0)
		snprintf(vm->id, sizeof vm->id, "%ld", id);
	vm->name = as_str(json_object_get(v, "NAME"));
	vm->state = as_long(json_object_get(v, "STATE"));
	vm->lcm_state = as_long(json_object_get(v, "LCM_STATE"));
	json_t *ut = json_object_get(v, "USER_TEMPLATE");
	vm->user_template = json_is_object(ut) ? ut : NULL;
	return 0;
}

int fl_onegate_vm_parse(const char *buf, size_t len, struct fl_onegate_vm *vm, struct fl_err *e)
{
	memset(vm, 0, sizeof *vm);
	json_t *root = load(buf, len, e);
	if (!root)
		return -1;
	int rc = fl_onegate_vm_from_json(root, vm, e);
	json_decref(root);
	return rc;
}

void fl_onegate_vm_free(struct fl_onegate_vm *vm)
{
	json_decref(vm->root);
	memset(vm, 0, sizeof *vm);
}

const char *fl_onegate_vm_attr(const struct fl_onegate_vm *vm, const char *name)
{
	if (!vm->user_template)
		return NULL;
	json_t *v = json_object_get(vm->user_template, name);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int fl_onegate_service_parse(const char *buf, size_t len, struct fl_onegate_service *s, struct fl_err *e)
{
	memset(s, 0, sizeof *s);
	json_t *root = load(buf, len, e);
	if (!root)
		return -1;
	json_t *svc = json_object_get(root, "SERVICE");
	if (!json_is_object(svc)) {
		json_decref(root);
		return fl_err_set(e, FL_EXIT_FAIL, "OneGate's answer has no SERVICE object");
	}
	s->root = root;
	long id = as_long(json_object_get(svc, "id"));
	if (id >= 0)
		snprintf(s->id, sizeof s->id, "%ld", id);
	s->name = as_str(json_object_get(svc, "name"));
	s->state = as_long(json_object_get(svc, "state"));
	json_t *roles = json_object_get(svc, "roles");
	if (!json_is_array(roles) || json_array_size(roles) == 0)
		return 0;
	s->roles = fl_xcalloc(json_array_size(roles), sizeof *s->roles);
	for (size_t i = 0; i < json_array_size(roles); i++) {
		json_t *r = json_array_get(roles, i);
		if (!json_is_object(r))
			continue;
		struct fl_onegate_role *role = &s->roles[s->nroles++];
		role->name = as_str(json_object_get(r, "name"));
		role->cardinality = as_long(json_object_get(r, "cardinality"));
		role->state = as_long(json_object_get(r, "state"));
		json_t *nodes = json_object_get(r, "nodes");
		if (!json_is_array(nodes) || json_array_size(nodes) == 0)
			continue;
		role->nodes = fl_xcalloc(json_array_size(nodes), sizeof *role->nodes);
		for (size_t k = 0; k < json_array_size(nodes); k++) {
			json_t *nd = json_array_get(nodes, k);
			if (!json_is_object(nd))
				continue;
			struct fl_onegate_node *node = &role->nodes[role->nnodes++];
			json_t *info = json_object_get(nd, "vm_info");
			node->vm_info = json_is_object(info) ? info : NULL;
			node->vmid = as_long(json_object_get(nd, "deploy_id"));
			if (node->vmid < 0 && node->vm_info)
				node->vmid =
				    as_long(json_object_get(json_object_get(node->vm_info, "VM"), "ID"));
		}
	}
	return 0;
}

void fl_onegate_service_free(struct fl_onegate_service *s)
{
	for (size_t i = 0; i < s->nroles; i++)
		free(s->roles[i].nodes);
	free(s->roles);
	json_decref(s->root);
	memset(s, 0, sizeof *s);
}

const struct fl_onegate_role *fl_onegate_service_role(const struct fl_onegate_service *s, const char *name)
{
	for (size_t i = 0; i < s->nroles; i++)
		if (strcmp(s->roles[i].name, name) == 0)
			return &s->roles[i];
	return NULL;
}

/* --- output --- */

/* Ruby's "%-Ns" pads by characters, not bytes; control characters never reach the terminal. */
static void add_padded(struct fl_buf *b, const char *s, size_t width)
{
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t l = fl_buf_utf8_seqlen(p);
		/* C1 controls (U+0080-U+009F: U+009B is CSI on many terminals) too. */
		if (l == 0 || *p < 0x20 || *p == 0x7f || (l == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
			fl_buf_addc(b, '?');
			p += l ? l : 1;
		} else {
			fl_buf_add(b, p, l);
			p += l;
		}
		chars++;
	}
	for (; chars < width; chars++)
		fl_buf_addc(b, ' ');
}

static void header(struct fl_buf *b, const char *s, bool tty, bool underline)
{
	if (tty) {
		fl_buf_adds(b, underline ? "\033[1m\033[4m" : "\033[1m");
		add_padded(b, s, 80);
		fl_buf_adds(b, "\033[0m\n");
	} else {
		add_padded(b, s, 0);
		fl_buf_addc(b, '\n');
	}
}

static void key_value(struct fl_buf *b, const char *k, const char *v)
{
	add_padded(b, k, 20);
	fl_buf_adds(b, ": ");
	add_padded(b, v, 20);
	fl_buf_addc(b, '\n');
}

/* The text of a JSON scalar as Ruby's to_s would give it. */
static void scalar_text(const json_t *v, char *out, size_t n)
{
	if (json_is_string(v))
		snprintf(out, n, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, n, "%lld", (long long)json_integer_value(v));
	else
		snprintf(out, n, "%s", "");
}

void fl_onegate_render_vm(const struct fl_onegate_vm *vm, bool tty, struct fl_buf *out)
{
	char id[64], hd[80];
	scalar_text(json_object_get(vm->vm, "ID"), id, sizeof id);
	snprintf(hd, sizeof hd, "VM %s", id);
	header(out, hd, tty, true);
	key_value(out, "NAME", vm->name ? vm->name : "");
}

/* One node of service show: ID and NAME, with extended also STATE and one IP per NIC. */
static void render_node(const struct fl_onegate_node *node, bool extended, bool tty, struct fl_buf *out)
{
	json_t *v = node->vm_info ? json_object_get(node->vm_info, "VM") : NULL;
	char id[64], hd[80];
	if (json_is_object(v))
		scalar_text(json_object_get(v, "ID"), id, sizeof id);
	else
		snprintf(id, sizeof id, "%ld", node->vmid);
	snprintf(hd, sizeof hd, "VM %s", id);
	header(out, hd, tty, true);
	if (!json_is_object(v))
		return;
	key_value(out, "NAME", as_str(json_object_get(v, "NAME")));
	if (!extended)
		return;
	key_value(out, "STATE",
	          fl_onegate_vm_state_name(as_long(json_object_get(v, "STATE")),
	                                   as_long(json_object_get(v, "LCM_STATE"))));
	json_t *nics = json_object_get(json_object_get(v, "TEMPLATE"), "NIC");
	if (json_is_object(nics)) {
		key_value(out, "IP", as_str(json_object_get(nics, "IP")));
	} else if (json_is_array(nics)) {
		for (size_t i = 0; i < json_array_size(nics); i++)
			key_value(out, "IP", as_str(json_object_get(json_array_get(nics, i), "IP")));
	}
}

void fl_onegate_render_service(const struct fl_onegate_service *s, bool extended, bool tty,
                               struct fl_buf *out)
{
	char id[64], hd[160];
	json_t *svc = json_object_get(s->root, "SERVICE");
	scalar_text(json_object_get(svc, "id"), id, sizeof id);
	snprintf(hd, sizeof hd, "SERVICE %s", id);
	header(out, hd, tty, true);
	key_value(out, "NAME", s->name ? s->name : "");
	key_value(out, "STATE", fl_onegate_service_state_name(s->state));
	fl_buf_addc(out, '\n');
	for (size_t i = 0; i < s->nroles; i++) {
		const struct fl_onegate_role *r = &s->roles[i];
		snprintf(hd, sizeof hd, "ROLE %.150s", r->name);
		header(out, hd, tty, false);
		for (size_t k = 0; k < r->nnodes; k++)
			render_node(&r->nodes[k], extended, tty, out);
		fl_buf_addc(out, '\n');
	}
}

void fl_onegate_render_json(const json_t *root, struct fl_buf *out)
{
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!s)
		abort();
	fl_buf_adds(out, s);
	fl_buf_addc(out, '\n');
	free(s);
}
