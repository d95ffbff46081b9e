/* fl_validate: every rule of 01 §7, 03 §2.2/§3.3 and 04 §3.8, with the spec's messages, plus
 * the cross-variable rules; results are diagnostics, printing is the caller's. */
#include "fl_buf.h"
#include "fl_check.h"
#include "fl_ctx.h"
#include "fl_flower.h"
#include "fl_flwrcfg.h"
#include "fl_hostport.h"
#include "fl_list.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHOWN_VALUE_MAX 200

void fl_diags_add(struct fl_diags *d, enum fl_level l, const char *fmt, ...)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->v = fl_xrealloc(d->v, d->cap * sizeof *d->v);
	}
	va_list ap;
	va_start(ap, fmt);
	char *m = NULL;
	if (vasprintf(&m, fmt, ap) < 0)
		abort();
	va_end(ap);
	d->v[d->n].level = l;
	d->v[d->n].msg = m;
	d->n++;
	if (l >= FL_ERROR)
		d->errors++;
}

void fl_diags_free(struct fl_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	memset(d, 0, sizeof *d);
}

/* The var's message with {v} replaced by the value (shortened: messages stay one line). */
static void var_error(struct fl_diags *d, const struct fl_var *var, const char *value, size_t vlen)
{
	struct fl_buf b = FL_BUF_INIT;
	const char *m = var->message;
	const char *at = strstr(m, "{v}");
	if (!at) {
		fl_buf_adds(&b, m);
	} else {
		fl_buf_add(&b, m, (size_t)(at - m));
		if (vlen > SHOWN_VALUE_MAX) {
			fl_buf_add(&b, value, SHOWN_VALUE_MAX);
			fl_buf_addf(&b, "...(%zu bytes)", vlen);
		} else {
			fl_buf_add(&b, value, vlen);
		}
		fl_buf_adds(&b, at + 3);
	}
	fl_diags_add(d, FL_ERROR, "%s", fl_buf_str(&b));
	fl_buf_free(&b);
}

static const char *val(const struct fl_ctx *c, const char *name)
{
	return fl_ctx_get(c, name);
}

static bool is(const struct fl_ctx *c, const char *name, const char *want)
{
	return strcmp(val(c, name), want) == 0;
}

/* The value of name as a number, only when it passed its own rule: a bad value gets one
 * message, never a second one from a cross-check quoting a number the operator never wrote. */
static bool num(const struct fl_ctx *c, const char *name, long *out)
{
	const char *v = val(c, name);
	return fl_check_var_value(fl_var_find(name), v) && fl_check_nonneg(v, out);
}

static void check_san_list(struct fl_diags *d, const struct fl_var *var, const char *s)
{
	char *entry;
	for (const char *p = s; (entry = fl_list_next(&p)) != NULL; free(entry))
		if (!fl_check_san_entry(entry))
			var_error(d, var, entry, strlen(entry));
}

/* One node-config value as Flower will type it (fl_flwrcfg_type_of: the one table). */
static void node_value(struct fl_diags *d, const char *key, const char *value, long *pid, long *nparts)
{
	enum fl_cfg_type t;
	const char *why = NULL;
	if (fl_flwrcfg_type_of(value, &t, &why) < 0) {
		fl_diags_add(d, FL_ERROR,
		             "Invalid FL_NODE_CONFIG pair: '%s=%.200s'. Flower cannot represent it: %s.", key,
		             value, why);
		return;
	}
	long *slot = strcmp(key, "partition-id") == 0     ? pid
	             : strcmp(key, "num-partitions") == 0 ? nparts
	                                                  : NULL;
	/* What Flower reads must be the number checked here: 007 reaches it as a string. */
	long n = t == FL_CFG_INT ? strtol(value, NULL, 10) : -1;
	if (slot && (t != FL_CFG_INT || n < 0 || n > INT_MAX))
		fl_diags_add(d, FL_ERROR,
		             "Invalid FL_NODE_CONFIG: %s must be a non-negative integer without leading "
		             "zeros, got '%s' (Flower's type: %s); e.g. %s=0.",
		             key, value, fl_flwrcfg_type_name(t), key);
	else if (slot)
		*slot = n;
	if (t == FL_CFG_STRING && (strcasecmp(value, "yes") == 0 || strcasecmp(value, "no") == 0 ||
	                           strcasecmp(value, "on") == 0 || strcasecmp(value, "off") == 0))
		fl_diags_add(d, FL_WARN,
		             "FL_NODE_CONFIG: %s=%s reaches the ClientApp as the string \"%s\" (true in "
		             "Python, whatever it says); write %s=true or %s=false for a boolean.",
		             key, value, value, key, key);
}

static void check_node_config(struct fl_diags *d, const struct fl_var *var, const char *s)
{
	struct fl_buf keys = FL_BUF_INIT;
	long pid = -1, nparts = -1;
	for (const char *p = s;;) {
		p += strspn(p, " \t\n\r");
		if (!*p)
			break;
		size_t n = strcspn(p, " \t\n\r");
		int r = fl_check_node_pair(p, n);
		if (r == 1) {
			var_error(d, var, p, n);
		} else if (r == 2) {
			fl_diags_add(d, FL_ERROR,
			             "Invalid FL_NODE_CONFIG pair: '%.*s'. Values may contain only letters, "
			             "digits and . _ / : + , @ %% -.",
			             (int)(n > SHOWN_VALUE_MAX ? SHOWN_VALUE_MAX : n), p);
		} else {
			size_t klen = (size_t)((const char *)memchr(p, '=', n) - p);
			char *key = fl_xstrndup(p, klen);
			char *value = fl_xstrndup(p + klen + 1, n - klen - 1);
			/* Keys are compared as " key " inside a space-separated list. */
			struct fl_buf probe = FL_BUF_INIT;
			fl_buf_addf(&probe, " %s ", key);
			if (keys.data && strstr(keys.data, probe.data))
				fl_diags_add(d, FL_ERROR,
				             "Invalid FL_NODE_CONFIG: key '%s' appears more than once.", key);
			else
				fl_buf_addf(&keys, " %s ", key);
			fl_buf_free(&probe);
			node_value(d, key, value, &pid, &nparts);
			free(key);
			free(value);
		}
		p += n;
	}
	if (pid >= 0 && nparts >= 0 && pid >= nparts)
		fl_diags_add(d, FL_ERROR,
		             "Invalid FL_NODE_CONFIG: partition-id=%ld must be less than num-partitions=%ld.",
		             pid, nparts);
	if (nparts == 0)
		fl_diags_add(d, FL_ERROR, "Invalid FL_NODE_CONFIG: num-partitions must be at least 1.");
	fl_buf_free(&keys);
}

/* X.Y.Z, then fl-launch's own rule (fl_flower_version_supported) and its words. */
static void check_version(struct fl_diags *d, const struct fl_var *var, const char *s)
{
	struct fl_version v;
	struct fl_err e = {0};
	if (fl_flower_version_parse(s, &v) < 0)
		var_error(d, var, s, strlen(s));
	else if (fl_flower_version_supported(&v, &e) < 0)
		fl_diags_add(d, FL_ERROR, "Invalid %s: '%s'. %s.", var->name, s, e.msg);
}

/* Port of a host:port value, 0 when it does not parse. */
static unsigned port_of(const char *hp)
{
	unsigned p = 0;
	return fl_check_hostport(hp, &p) ? p : 0;
}

/* The registry's message for a bad value; for host:port, what the grammar found wrong too. */
static void value_error(struct fl_diags *d, const struct fl_var *var, const char *s)
{
	var_error(d, var, s, strlen(s));
	struct fl_hostport hp;
	struct fl_err e = {0};
	if ((var->check == FL_CK_HOSTPORT || var->check == FL_CK_LISTEN) && fl_hostport_parse(s, &hp, &e) < 0)
		fl_diags_add(d, FL_INFO, "%s: %s.", var->name, e.msg);
}

static void check_strategy(const struct fl_ctx *c, struct fl_diags *d)
{
	const char *strategy = val(c, "FL_STRATEGY");
	if (!fl_check_var_value(fl_var_find("FL_STRATEGY"), strategy))
		return; /* already an error; notes about "the strategy in use" would mislead */
	static const struct {
		const char *var, *applies, *label;
	} params[] = {
	    {"FL_PROXIMAL_MU", "FedProx", "FedProx"},
	    {"FL_SERVER_LR", "FedAdam", "FedAdam"},
	    {"FL_CLIENT_LR", "FedAdam", "FedAdam"},
	    {"FL_NUM_MALICIOUS", "Krum,Bulyan", "Krum or Bulyan"},
	    {"FL_TRIM_BETA", "FedTrimmedAvg", "FedTrimmedAvg"},
	};
	for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
		if (fl_ctx_is_set(c, params[i].var) && !fl_check_enum(params[i].applies, strategy))
			fl_diags_add(d, FL_INFO,
			             "%s is set but FL_STRATEGY is '%s' (not %s). Parameter will be ignored.",
			             params[i].var, strategy, params[i].label);

	if (strcmp(strategy, "FedProx") == 0) {
		fl_diags_add(
		    d, FL_INFO,
		    "FedProx selected. Pre-built FABs support the proximal term. Custom ClientApps must "
		    "implement the proximal loss term manually: L += (mu/2) * ||w - w_global||^2.");
		double mu;
		if (fl_check_float(val(c, "FL_PROXIMAL_MU"), &mu) && mu == 0.0)
			fl_diags_add(d, FL_WARN,
			             "FL_PROXIMAL_MU=0.0 makes FedProx identical to FedAvg. Consider using "
			             "FedAvg directly.");
	}
	long n, f;
	bool krum = strcmp(strategy, "Krum") == 0, bulyan = strcmp(strategy, "Bulyan") == 0;
	if ((krum || bulyan) && num(c, "FL_MIN_AVAILABLE_CLIENTS", &n) && num(c, "FL_NUM_MALICIOUS", &f) &&
	    f > 0) {
		long k = krum ? 2 : 4;
		long need = k * f + 3;
		if (n < need)
			fl_diags_add(d, FL_ERROR,
			             "%s requires n >= %ld*f+3 clients. FL_MIN_AVAILABLE_CLIENTS=%ld but "
			             "FL_NUM_MALICIOUS=%ld requires n >= %ld.",
			             strategy, k, n, f, need);
	}
	long fit, avail;
	if (num(c, "FL_MIN_FIT_CLIENTS", &fit) && num(c, "FL_MIN_AVAILABLE_CLIENTS", &avail) && fit > avail)
		fl_diags_add(d, FL_WARN,
		             "FL_MIN_FIT_CLIENTS (%ld) is greater than FL_MIN_AVAILABLE_CLIENTS (%ld); "
		             "rounds may wait for clients that are not required to connect. Set "
		             "FL_MIN_FIT_CLIENTS <= FL_MIN_AVAILABLE_CLIENTS.",
		             fit, avail);
}

unsigned fl_ctx_check_operator_tls(const struct fl_ctx *c, struct fl_diags *d)
{
	bool ca = fl_ctx_is_set(c, "FL_SSL_CA_CERTFILE"), crt = fl_ctx_is_set(c, "FL_SSL_CERTFILE"),
	     key = fl_ctx_is_set(c, "FL_SSL_KEYFILE");
	unsigned before = d->errors;
	if ((crt || key) && !ca)
		fl_diags_add(
		    d, FL_ERROR,
		    "FL_SSL_CA_CERTFILE is required when FL_SSL_CERTFILE or FL_SSL_KEYFILE is provided.");
	if (ca && !crt)
		fl_diags_add(d, FL_ERROR, "FL_SSL_CERTFILE is required when FL_SSL_CA_CERTFILE is provided.");
	if (ca && !key)
		fl_diags_add(d, FL_ERROR, "FL_SSL_KEYFILE is required when FL_SSL_CA_CERTFILE is provided.");
	return d->errors - before;
}

static void check_superlink(const struct fl_ctx *c, struct fl_diags *d)
{
	check_strategy(c, d);

	if (!is(c, "FL_CHECKPOINT_ENABLED", "YES")) {
		const char *cp[] = {"FL_CHECKPOINT_INTERVAL", "FL_CHECKPOINT_PATH"};
		for (int i = 0; i < 2; i++)
			if (fl_ctx_is_set(c, cp[i]))
				fl_diags_add(d, FL_INFO, "%s ignored -- FL_CHECKPOINT_ENABLED is not YES",
				             cp[i]);
	} else {
		const char *path = val(c, "FL_CHECKPOINT_PATH");
		if (fl_check_abspath(path) && strncmp(path, "/app/", 5) != 0)
			fl_diags_add(d, FL_WARN,
			             "FL_CHECKPOINT_PATH '%s' is not under /app; it is a container path (the "
			             "host directory is /opt/flower/checkpoints). Use e.g. /app/checkpoints.",
			             path);
	}

	bool metrics = is(c, "FL_METRICS_ENABLED", "YES");
	if (!metrics && fl_ctx_is_set(c, "FL_METRICS_PORT") && !is(c, "FL_METRICS_PORT", "9101"))
		fl_diags_add(d, FL_INFO, "FL_METRICS_PORT ignored -- FL_METRICS_ENABLED is not YES");
	unsigned fleet = port_of(val(c, "FL_FLEET_API_ADDRESS"));
	unsigned control = port_of(val(c, "FL_CONTROL_API_ADDRESS"));
	if (fleet && fleet == control)
		fl_diags_add(d, FL_ERROR,
		             "FL_FLEET_API_ADDRESS and FL_CONTROL_API_ADDRESS both use port %u; give each "
		             "API its own port.",
		             fleet);
	long mport;
	if (metrics && num(c, "FL_METRICS_PORT", &mport)) {
		if ((unsigned)mport == fleet)
			fl_diags_add(d, FL_ERROR,
			             "FL_METRICS_PORT %ld is also the Fleet API port (FL_FLEET_API_ADDRESS); "
			             "choose another port.",
			             mport);
		else if ((unsigned)mport == control)
			fl_diags_add(d, FL_ERROR,
			             "FL_METRICS_PORT %ld is also the Control API port "
			             "(FL_CONTROL_API_ADDRESS); choose another port.",
			             mport);
	}

	/* TLS material: operator mode is all-or-none (decision 7). */
	bool tls = is(c, "FL_TLS_ENABLED", "YES");
	bool ca = fl_ctx_is_set(c, "FL_SSL_CA_CERTFILE"), crt = fl_ctx_is_set(c, "FL_SSL_CERTFILE"),
	     key = fl_ctx_is_set(c, "FL_SSL_KEYFILE");
	if (tls) {
		fl_ctx_check_operator_tls(c, d);
	} else if (ca || crt || key) {
		fl_diags_add(
		    d, FL_INFO,
		    "FL_SSL_CA_CERTFILE/FL_SSL_CERTFILE/FL_SSL_KEYFILE ignored -- FL_TLS_ENABLED is not YES");
	}
	if (fl_ctx_is_set(c, "FL_CERT_EXTRA_SAN")) {
		if (!tls)
			fl_diags_add(d, FL_INFO, "FL_CERT_EXTRA_SAN ignored -- FL_TLS_ENABLED is not YES");
		else if (crt)
			fl_diags_add(d, FL_INFO,
			             "FL_CERT_EXTRA_SAN ignored -- using operator-provided certificates.");
	}
}

static void check_supernode(const struct fl_ctx *c, struct fl_diags *d)
{
	const char *uc = val(c, "FL_USE_CASE"), *fw = val(c, "ML_FRAMEWORK");
	static const struct {
		const char *use_case, *frameworks, *needs;
	} matrix[] = {
	    {"image-classification", "pytorch,tensorflow", "'pytorch' or 'tensorflow'"},
	    {"anomaly-detection", "sklearn", "'sklearn'"},
	    {"llm-fine-tuning", "pytorch", "'pytorch'"},
	};
	if (fl_check_enum(fl_var_find("ML_FRAMEWORK")->options, fw)) {
		for (size_t i = 0; i < sizeof matrix / sizeof matrix[0]; i++) {
			if (strcmp(uc, matrix[i].use_case) != 0)
				continue;
			if (!fl_check_enum(matrix[i].frameworks, fw))
				fl_diags_add(d, FL_ERROR,
				             "FL_USE_CASE '%s' requires ML_FRAMEWORK %s, but ML_FRAMEWORK is "
				             "set to '%s'",
				             uc, matrix[i].needs, fw);
			else
				fl_diags_add(d, FL_INFO, "Use case '%s' is compatible with framework '%s'",
				             uc, fw);
		}
	}
	bool gpu = is(c, "FL_GPU_ENABLED", "YES");
	if (strcmp(uc, "llm-fine-tuning") == 0 && !gpu)
		fl_diags_add(d, FL_WARN,
		             "FL_USE_CASE 'llm-fine-tuning' without FL_GPU_ENABLED=YES trains on the CPU and "
		             "will be very slow; set FL_GPU_ENABLED=YES on a GPU VM.");
	if (!gpu) {
		if (fl_ctx_is_set(c, "FL_CUDA_VISIBLE_DEVICES") && !is(c, "FL_CUDA_VISIBLE_DEVICES", "all"))
			fl_diags_add(d, FL_INFO,
			             "FL_CUDA_VISIBLE_DEVICES ignored -- FL_GPU_ENABLED is not YES");
		if (fl_ctx_is_set(c, "FL_GPU_MEMORY_FRACTION"))
			fl_diags_add(d, FL_INFO,
			             "FL_GPU_MEMORY_FRACTION ignored -- FL_GPU_ENABLED is not YES");
		if (is(c, "FL_DCGM_ENABLED", "YES"))
			fl_diags_add(
			    d, FL_WARN,
			    "FL_DCGM_ENABLED=YES but FL_GPU_ENABLED is not YES. DCGM will not start.");
	} else if (fl_ctx_is_set(c, "FL_GPU_MEMORY_FRACTION") && strcmp(fw, "pytorch") != 0) {
		fl_diags_add(d, FL_INFO,
		             "FL_GPU_MEMORY_FRACTION ignored -- applies only to ML_FRAMEWORK=pytorch");
	}
	if (fl_ctx_is_set(c, "FL_EDGE_MAX_BACKOFF") && is(c, "FL_EDGE_BACKOFF", "fixed"))
		fl_diags_add(d, FL_INFO, "FL_EDGE_MAX_BACKOFF ignored -- FL_EDGE_BACKOFF is fixed");
}

/* Levenshtein distance, capped; for "did you mean" hints. */
static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	unsigned row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned prev = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cur = row[j];
			unsigned sub = prev + (a[i - 1] != b[j - 1]);
			unsigned del = row[j] + 1, ins = row[j - 1] + 1;
			row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
			prev = cur;
		}
	}
	return row[lb];
}

unsigned fl_ctx_validate(const struct fl_ctx *c, unsigned role, struct fl_diags *d)
{
	unsigned before = d->errors;
	bool ckpt = is(c, "FL_CHECKPOINT_ENABLED", "YES");
	for (size_t i = 0; i < fl_nvars; i++) {
		const struct fl_var *var = &fl_vars[i];
		const struct fl_setting *s = &c->set[i];
		if (s->src == FL_SRC_DEFAULT)
			continue; /* defaults always pass; unset is never validated */
		if (!(var->roles & role)) {
			fl_diags_add(d, FL_INFO, "%s applies to the %s role; ignored on %s.", var->name,
			             fl_var_role_name(var->roles & (FL_ROLE_SUPERLINK | FL_ROLE_SUPERNODE)),
			             fl_var_role_name(role));
			continue;
		}
		if (!ckpt && (strcmp(var->name, "FL_CHECKPOINT_INTERVAL") == 0 ||
		              strcmp(var->name, "FL_CHECKPOINT_PATH") == 0))
			continue;
		if (var->check == FL_CK_SAN_LIST)
			check_san_list(d, var, s->value);
		else if (var->check == FL_CK_VERSION)
			check_version(d, var, s->value);
		else if (var->check == FL_CK_NODE_CONFIG)
			check_node_config(d, var, s->value);
		else if (!fl_check_var_value(var, s->value))
			value_error(d, var, s->value);
	}

	/* Keepalive, on the values in force (a default counts too: TIMEOUT=70 alone is wrong). */
	long kt, kto;
	if (num(c, "FL_GRPC_KEEPALIVE_TIME", &kt) && kt > 0) {
		if (kt < 10)
			fl_diags_add(d, FL_WARN,
			             "FL_GRPC_KEEPALIVE_TIME=%ld is aggressive and may cause excessive "
			             "network traffic",
			             kt);
		if (num(c, "FL_GRPC_KEEPALIVE_TIMEOUT", &kto) && kto > 0 && kto >= kt)
			fl_diags_add(
			    d, FL_ERROR,
			    "FL_GRPC_KEEPALIVE_TIMEOUT (%ld) must be less than FL_GRPC_KEEPALIVE_TIME (%ld).",
			    kto, kt);
	}
	if (role == FL_ROLE_SUPERLINK)
		check_superlink(c, d);
	else if (role == FL_ROLE_SUPERNODE)
		check_supernode(c, d);

	/* A handful of names is a typo worth a hint; thousands are noise (and cost). */
	enum { UNKNOWN_SHOWN = 20 };
	if (c->unknown.n > UNKNOWN_SHOWN)
		fl_diags_add(d, FL_WARN,
		             "%zu unknown FL_/FLOWER_/ML_ variables ignored; the first %d follow.",
		             c->unknown.n, UNKNOWN_SHOWN);
	for (size_t i = 0; i < c->unknown.n && i < UNKNOWN_SHOWN; i++) {
		const char *name = c->unknown.v[i].name;
		const char *bare = strncmp(name, "ONEAPP_", 7) == 0 ? name + 7 : name;
		const struct fl_var *best = NULL;
		unsigned bd = 3;
		for (size_t k = 0; k < fl_nvars; k++) {
			unsigned dist = edit_distance(bare, fl_vars[k].name);
			if (dist < bd) {
				bd = dist;
				best = &fl_vars[k];
			}
		}
		if (best)
			fl_diags_add(d, FL_WARN, "Unknown variable %s in the %s ignored; did you mean %s?",
			             name, c->unknown.v[i].value, best->name);
		else
			fl_diags_add(d, FL_WARN, "Unknown variable %s in the %s ignored.", name,
			             c->unknown.v[i].value);
	}
	return d->errors - before;
}
