/* fl_ctx: the resolved configuration: context file + environment overlay + ONEAPP_ aliases
 * + defaults, each value with its source; validation into a list of diagnostics. */
#include "fl_ctx.h"

#include "fl_buf.h"
#include "fl_check.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Attributes the appliances publish to OneGate: they may sit in an environment, never warn. */
static const char *const runtime_names[] = {
    "FL_READY",
    "FL_ENDPOINT",
    "FL_VERSION",
    "FL_ROLE",
    "FL_ERROR",
    "FL_TLS",
    "FL_CA_CERT",
    "FL_NODE_READY",
    "FL_NODE_ID",
    "FL_GPU_AVAILABLE",
    "FL_GPU_NAME",
    "FL_GPU_MEMORY_MB",
    "FL_GPU_DRIVER",
    "FL_CLIENT_STATUS",
    "FL_TRAINING_ACTIVE",
    "FL_ROUND_NUMBER",
    NULL,
};

static const char *const prefixes[] = {"FL_", "FLOWER_", "ML_", NULL};

const char *fl_ctx_src_name(enum fl_src s)
{
	switch (s) {
	case FL_SRC_FILE: return "context";
	case FL_SRC_ENV: return "environment";
	default: return "default";
	}
}

static const char *strip_oneapp(const char *name)
{
	return strncmp(name, "ONEAPP_", 7) == 0 ? name + 7 : name;
}

static bool relevant_name(const char *name)
{
	const char *n = strip_oneapp(name);
	for (int i = 0; prefixes[i]; i++)
		if (strncmp(n, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* The registry entry name refers to (itself, ONEAPP_ form, or alias), or NULL. */
static const struct fl_var *var_for_name(const char *name)
{
	const char *n = strip_oneapp(name);
	const struct fl_var *v = fl_var_find(n);
	if (v)
		return v;
	for (size_t i = 0; i < fl_nvars; i++)
		if (fl_vars[i].alias && strcmp(fl_vars[i].alias, n) == 0)
			return &fl_vars[i];
	return NULL;
}

static bool is_runtime_name(const char *name)
{
	const char *n = strip_oneapp(name);
	for (int i = 0; runtime_names[i]; i++)
		if (strcmp(runtime_names[i], n) == 0)
			return true;
	return false;
}

/* Index of the last assignment of name in l, or -1. */
static long find_last(const struct fl_kvlist *l, const char *name)
{
	for (size_t k = l->n; k-- > 0;)
		if (strcmp(l->v[k].name, name) == 0)
			return (long)k;
	return -1;
}

/* First non-empty value among v's spellings in l; the ONEAPP_ form wins over the plain one,
 * the registry name over its alias. *from gets the spelling used. */
static const char *lookup(const struct fl_kvlist *l, const struct fl_var *v, const char **from)
{
	const char *names[2] = {v->name, v->alias};
	for (int i = 0; i < 2; i++) {
		if (!names[i])
			continue;
		char oneapp[FL_CTXFILE_MAX_NAME + 8];
		snprintf(oneapp, sizeof oneapp, "ONEAPP_%s", names[i]);
		const char *cand[2] = {oneapp, names[i]};
		for (int k = 0; k < 2; k++) {
			long at = find_last(l, cand[k]);
			if (at >= 0 && l->v[at].value[0]) {
				*from = l->v[at].name;
				return l->v[at].value;
			}
		}
	}
	return NULL;
}

static void note_unknown(struct fl_ctx *c, const struct fl_kvlist *l, const char *where)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *n = l->v[i].name;
		if (!relevant_name(n) || var_for_name(n) || is_runtime_name(n) ||
		    find_last(&c->unknown, n) >= 0)
			continue;
		fl_kvlist_add(&c->unknown, n, strlen(n), where, strlen(where), l->v[i].line);
	}
}

int fl_ctx_load(struct fl_ctx *c, const struct fl_ctx_opts *o, struct fl_err *e)
{
	memset(c, 0, sizeof *c);
	c->set = fl_xcalloc(fl_nvars, sizeof *c->set);
	c->owned = fl_xcalloc(fl_nvars, sizeof *c->owned);
	if (o->path) {
		c->path = fl_xstrdup(o->path);
		if (fl_ctxfile_load(o->path, &c->file, e) < 0)
			return -1;
		const char *role = fl_kvlist_get(&c->file, "FLKIT_ROLE");
		if (role) {
			c->rendered_role = fl_var_role_parse(role);
			if (!c->rendered_role)
				return fl_err_set(
				    e, FL_EXIT_FAIL,
				    "%s: FLKIT_ROLE is not superlink or supernode; re-run fl-context render",
				    o->path);
		}
	}
	for (char **p = o->envp; p && *p; p++) {
		const char *eq = strchr(*p, '=');
		if (!eq || eq == *p || (size_t)(eq - *p) > FL_CTXFILE_MAX_NAME)
			continue;
		char name[FL_CTXFILE_MAX_NAME + 1];
		memcpy(name, *p, (size_t)(eq - *p));
		name[eq - *p] = '\0';
		if (relevant_name(name) || strcmp(name, "TOKENTXT") == 0 ||
		    strcmp(name, "ONEGATE_TOKEN") == 0 || strcmp(name, "VMID") == 0 ||
		    strcmp(name, "ONEGATE_ENDPOINT") == 0)
			fl_kvlist_add(&c->env, name, strlen(name), eq + 1, strlen(eq + 1), 0);
	}

	/* A rendered file lists which values were set explicitly; the rest were defaults. */
	const char *explicit = c->rendered_role ? fl_kvlist_get(&c->file, "FLKIT_EXPLICIT") : NULL;
	for (size_t i = 0; i < fl_nvars; i++) {
		const struct fl_var *v = &fl_vars[i];
		struct fl_setting *s = &c->set[i];
		const char *from;
		const char *val;
		if ((val = lookup(&c->env, v, &from))) {
			s->src = FL_SRC_ENV;
		} else if ((val = lookup(&c->file, v, &from))) {
			s->src = FL_SRC_FILE;
			if (c->rendered_role) {
				size_t n = strlen(v->name);
				const char *hit = explicit;
				bool found = false;
				while (hit && (hit = strstr(hit, v->name))) {
					if ((hit == explicit || hit[-1] == ' ') &&
					    (hit[n] == ' ' || hit[n] == '\0'))
						found = true;
					hit += n;
				}
				/* Only the default itself is a default: a value the file lists as
				 * one but that differs (an edited or damaged file) is validated. */
				if (!found && strcmp(val, v->def) == 0)
					s->src = FL_SRC_DEFAULT;
			}
		} else {
			val = v->def;
			from = v->name;
			s->src = FL_SRC_DEFAULT;
		}
		s->from = from;
		if (v->check == FL_CK_YESNO_CI &&
		    (strcasecmp(val, "YES") == 0 || strcasecmp(val, "NO") == 0)) {
			c->owned[i] = fl_xstrdup(val);
			for (char *q = c->owned[i]; *q; q++)
				*q = (char)toupper((unsigned char)*q);
			val = c->owned[i];
		}
		s->value = val;
	}
	if (!c->rendered_role)
		note_unknown(c, &c->file, "context file");
	note_unknown(c, &c->env, "environment");
	fl_conf_resolve(&c->conf, c->set);
	struct fl_identity_src ids = {.envp = o->envp, .file = &c->file, .token_file = o->token_file};
	(void)fl_identity_load(&c->id, &ids, NULL);
	return 0;
}

void fl_ctx_free(struct fl_ctx *c)
{
	if (c->owned)
		for (size_t i = 0; i < fl_nvars; i++)
			free(c->owned[i]);
	free(c->owned);
	free(c->set);
	free(c->path);
	/* The file and environment may hold secrets (keys, token): wipe before freeing. */
	struct fl_kvlist *lists[2] = {&c->file, &c->env};
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			explicit_bzero(lists[l]->v[i].value, strlen(lists[l]->v[i].value));
	fl_kvlist_free(&c->file);
	fl_kvlist_free(&c->env);
	fl_kvlist_free(&c->unknown);
	fl_identity_free(&c->id);
	memset(c, 0, sizeof *c);
}

const struct fl_setting *fl_ctx_setting(const struct fl_ctx *c, const char *name)
{
	const struct fl_var *v = fl_var_find(name);
	return v ? &c->set[fl_var_index(v)] : NULL;
}

const char *fl_ctx_value(const struct fl_ctx *c, enum fl_var_id id)
{
	return c->set[id].value;
}
