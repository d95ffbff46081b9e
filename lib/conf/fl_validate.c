/* fl_validate: every rule of 01 §7, 03 §2.2/§3.3 and 04 §3.8, with the spec's messages, plus
 * the cross-variable rules; results are diagnostics, printing is the caller's. A value is checked
 * as text by its registry rule; a cross-variable rule reads the typed field (fl_conf.h) of a
 * value that passed its own rule, so a bad value gets one message, never a second one from a
 * cross-check quoting a number the operator never wrote. */
#include "fl_validate.h"

#include "fl_buf.h"
#include "fl_check.h"
#include "fl_list.h"
#include "fl_flower.h"
#include "fl_flwrcfg.h"
#include "fl_hostport.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHOWN_VALUE_MAX 200

/* The var's message with {v} replaced by the value (shortened: messages stay one line). */
static void var_message(struct fl_buf *b, const struct fl_var *var, const char *value, size_t vlen)
{
	const char *m = var->message;
	const char *at = strstr(m, "{v}");
	if (!at) {
		fl_buf_adds(b, m);
		return;
	}
	fl_buf_add(b, m, (size_t)(at - m));
	if (vlen > SHOWN_VALUE_MAX) {
		fl_buf_add(b, value, SHOWN_VALUE_MAX);
		fl_buf_addf(b, "...(%zu bytes)", vlen);
	} else {
		fl_buf_add(b, value, vlen);
	}
	fl_buf_adds(b, at + 3);
}

static void var_error(struct fl_diags *d, const struct fl_var *var, const char *value, size_t vlen)
{
	struct fl_buf b = FL_BUF_INIT;
	var_message(&b, var, value, vlen);
	fl_diags_add(d, FL_ERROR, "%s", fl_buf_str(&b));
	fl_buf_free(&b);
}

/* The value of id passed its own rule (a default always does): its typed field holds it. */
static bool ok(const struct fl_ctx *c, enum fl_var_id id)
{
	return fl_check_var_value(fl_var_get(id), fl_ctx_value(c, id));
}

int fl_validate_var(const struct fl_ctx *c, enum fl_var_id id, struct fl_err *e)
{
	if (!c->conf.set[id] || ok(c, id))
		return 0;
	struct fl_buf b = FL_BUF_INIT;
	const char *v = fl_ctx_value(c, id);
	var_message(&b, fl_var_get(id), v, strlen(v));
	fl_err_set(e, FL_EXIT_FAIL, "%s", fl_buf_str(&b));
	fl_buf_free(&b);
	return -1;
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

/* The registry's message for a bad value; for host:port, what the grammar found wrong too. */
static void value_error(struct fl_diags *d, const struct fl_var *var, const char *s)
{
	var_error(d, var, s, strlen(s));
	struct fl_hostport hp;
	struct fl_err e = {0};
	if ((var->check == FL_CK_HOSTPORT || var->check == FL_CK_LISTEN) && fl_hostport_parse(s, &hp, &e) < 0)
		fl_diags_add(d, FL_INFO, "%s: %s.", var->name, e.msg);
}

#define STRATEGY_BIT(s) (1u << FL_STRATEGY_##s)

static void check_strategy_params(const struct fl_ctx *c, struct fl_diags *d)
{
	static const struct {
		enum fl_var_id var;
		unsigned applies; /* STRATEGY_BIT()s */
		const char *label;
	} params[] = {
	    {FLV_FL_PROXIMAL_MU, STRATEGY_BIT(FEDPROX), "FedProx"},
	    {FLV_FL_SERVER_LR, STRATEGY_BIT(FEDADAM), "FedAdam"},
	    {FLV_FL_CLIENT_LR, STRATEGY_BIT(FEDADAM), "FedAdam"},
	    {FLV_FL_NUM_MALICIOUS, STRATEGY_BIT(KRUM) | STRATEGY_BIT(BULYAN), "Krum or Bulyan"},
	    {FLV_FL_TRIM_BETA, STRATEGY_BIT(FEDTRIMMEDAVG), "FedTrimmedAvg"},
	};
	unsigned in_use = 1u << c->conf.FL_STRATEGY;
	for (size_t i = 0; i < sizeof params / sizeof params[0]; i++)
		if (c->conf.set[params[i].var] && !(params[i].applies & in_use))
			fl_diags_add(d, FL_INFO,
			             "%s is set but FL_STRATEGY is '%s' (not %s). Parameter will be ignored.",
			             fl_var_get(params[i].var)->name, fl_ctx_value(c, FLV_FL_STRATEGY),
			             params[i].label);
}

static void check_strategy(const struct fl_ctx *c, struct fl_diags *d)
{
	if (!ok(c, FLV_FL_STRATEGY))
		return; /* already an error; notes about "the strategy in use" would mislead */
	const struct fl_conf *k = &c->conf;
	check_strategy_params(c, d);
	if (k->FL_STRATEGY == FL_STRATEGY_FEDPROX) {
		fl_diags_add(
		    d, FL_INFO,
		    "FedProx selected. Pre-built FABs support the proximal term. Custom ClientApps must "
		    "implement the proximal loss term manually: L += (mu/2) * ||w - w_global||^2.");
		if (ok(c, FLV_FL_PROXIMAL_MU) && k->FL_PROXIMAL_MU == 0.0)
			fl_diags_add(d, FL_WARN,
			             "FL_PROXIMAL_MU=0.0 makes FedProx identical to FedAvg. Consider using "
			             "FedAvg directly.");
	}
	bool krum = k->FL_STRATEGY == FL_STRATEGY_KRUM, bulyan = k->FL_STRATEGY == FL_STRATEGY_BULYAN;
	if ((krum || bulyan) && ok(c, FLV_FL_MIN_AVAILABLE_CLIENTS) && ok(c, FLV_FL_NUM_MALICIOUS) &&
	    k->FL_NUM_MALICIOUS > 0) {
		long n = k->FL_MIN_AVAILABLE_CLIENTS, f = k->FL_NUM_MALICIOUS;
		long m = krum ? 2 : 4;
		long need = m * f + 3;
		if (n < need)
			fl_diags_add(d, FL_ERROR,
			             "%s requires n >= %ld*f+3 clients. FL_MIN_AVAILABLE_CLIENTS=%ld but "
			             "FL_NUM_MALICIOUS=%ld requires n >= %ld.",
			             fl_ctx_value(c, FLV_FL_STRATEGY), m, n, f, need);
	}
	if (ok(c, FLV_FL_MIN_FIT_CLIENTS) && ok(c, FLV_FL_MIN_AVAILABLE_CLIENTS) &&
	    k->FL_MIN_FIT_CLIENTS > k->FL_MIN_AVAILABLE_CLIENTS)
		fl_diags_add(d, FL_WARN,
		             "FL_MIN_FIT_CLIENTS (%ld) is greater than FL_MIN_AVAILABLE_CLIENTS (%ld); "
		             "rounds may wait for clients that are not required to connect. Set "
		             "FL_MIN_FIT_CLIENTS <= FL_MIN_AVAILABLE_CLIENTS.",
		             k->FL_MIN_FIT_CLIENTS, k->FL_MIN_AVAILABLE_CLIENTS);
}

unsigned fl_validate_operator_tls(const struct fl_ctx *c, struct fl_diags *d)
{
	const bool *set = c->conf.set;
	bool ca = set[FLV_FL_SSL_CA_CERTFILE], crt = set[FLV_FL_SSL_CERTFILE], key = set[FLV_FL_SSL_KEYFILE];
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

/* Checked only when FL_CHECKPOINT_ENABLED=YES. */
static const enum fl_var_id ckpt_vars[] = {
    FLV_FL_CHECKPOINT_INTERVAL, FLV_FL_CHECKPOINT_PATH,        FLV_FL_CHECKPOINT_KEEP,
    FLV_FL_CHECKPOINT_S3_URL,   FLV_FL_CHECKPOINT_S3_ENDPOINT, FLV_FL_CHECKPOINT_S3_REGION,
};

static bool ckpt_var(size_t i)
{
	for (size_t k = 0; k < sizeof ckpt_vars / sizeof ckpt_vars[0]; k++)
		if (ckpt_vars[k] == i)
			return true;
	return false;
}

static void check_checkpoints(const struct fl_ctx *c, struct fl_diags *d)
{
	if (!c->conf.FL_CHECKPOINT_ENABLED) {
		for (size_t i = 0; i < sizeof ckpt_vars / sizeof ckpt_vars[0]; i++)
			if (c->conf.set[ckpt_vars[i]])
				fl_diags_add(d, FL_INFO, "%s ignored -- FL_CHECKPOINT_ENABLED is not YES",
				             fl_var_get(ckpt_vars[i])->name);
		return;
	}
	const char *path = c->conf.FL_CHECKPOINT_PATH;
	if (fl_check_abspath(path) && strncmp(path, "/app/", 5) != 0)
		fl_diags_add(d, FL_WARN,
		             "FL_CHECKPOINT_PATH '%s' is not under /app; it is a container path (the "
		             "host directory is /opt/flower/checkpoints). Use e.g. /app/checkpoints.",
		             path);
}

/* The Fleet, Control and metrics ports are distinct. */
static void check_ports(const struct fl_ctx *c, struct fl_diags *d)
{
	const struct fl_conf *k = &c->conf;
	bool metrics = k->FL_METRICS_ENABLED;
	/* Its default written out is not worth a note. */
	if (!metrics && k->set[FLV_FL_METRICS_PORT] &&
	    strcmp(fl_ctx_value(c, FLV_FL_METRICS_PORT), fl_var_get(FLV_FL_METRICS_PORT)->def) != 0)
		fl_diags_add(d, FL_INFO, "FL_METRICS_PORT ignored -- FL_METRICS_ENABLED is not YES");
	unsigned fleet = ok(c, FLV_FL_FLEET_API_ADDRESS) ? k->FL_FLEET_API_ADDRESS.port : 0;
	unsigned control = ok(c, FLV_FL_CONTROL_API_ADDRESS) ? k->FL_CONTROL_API_ADDRESS.port : 0;
	if (fleet && fleet == control)
		fl_diags_add(d, FL_ERROR,
		             "FL_FLEET_API_ADDRESS and FL_CONTROL_API_ADDRESS both use port %u; give each "
		             "API its own port.",
		             fleet);
	if (!metrics || !ok(c, FLV_FL_METRICS_PORT))
		return;
	long mport = k->FL_METRICS_PORT;
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

static void check_superlink(const struct fl_ctx *c, struct fl_diags *d)
{
	check_strategy(c, d);
	check_checkpoints(c, d);
	check_ports(c, d);

	/* TLS material: operator mode is all-or-none (decision 7). */
	const struct fl_conf *k = &c->conf;
	bool tls = k->FL_TLS_ENABLED;
	bool ca = k->set[FLV_FL_SSL_CA_CERTFILE], crt = k->set[FLV_FL_SSL_CERTFILE],
	     key = k->set[FLV_FL_SSL_KEYFILE];
	if (tls) {
		fl_validate_operator_tls(c, d);
	} else if (ca || crt || key) {
		fl_diags_add(
		    d, FL_INFO,
		    "FL_SSL_CA_CERTFILE/FL_SSL_CERTFILE/FL_SSL_KEYFILE ignored -- FL_TLS_ENABLED is not YES");
	}
	if (k->set[FLV_FL_CERT_EXTRA_SAN]) {
		if (!tls)
			fl_diags_add(d, FL_INFO, "FL_CERT_EXTRA_SAN ignored -- FL_TLS_ENABLED is not YES");
		else if (crt)
			fl_diags_add(d, FL_INFO,
			             "FL_CERT_EXTRA_SAN ignored -- using operator-provided certificates.");
	}
}

#define FRAMEWORK_BIT(f) (1u << FL_FRAMEWORK_##f)

/* The use case's framework (03 §2.2): checked only once ML_FRAMEWORK itself is valid. */
static void check_use_case(const struct fl_ctx *c, struct fl_diags *d)
{
	static const struct {
		enum fl_use_case use_case;
		unsigned frameworks; /* FRAMEWORK_BIT()s */
		const char *needs;
	} matrix[] = {
	    {FL_USE_CASE_IMAGE_CLASSIFICATION, FRAMEWORK_BIT(PYTORCH) | FRAMEWORK_BIT(TENSORFLOW),
	     "'pytorch' or 'tensorflow'"},
	    {FL_USE_CASE_ANOMALY_DETECTION, FRAMEWORK_BIT(SKLEARN), "'sklearn'"},
	    {FL_USE_CASE_LLM_FINE_TUNING, FRAMEWORK_BIT(PYTORCH), "'pytorch'"},
	};
	if (!ok(c, FLV_ML_FRAMEWORK) || !ok(c, FLV_FL_USE_CASE))
		return;
	const char *uc = fl_ctx_value(c, FLV_FL_USE_CASE), *fw = fl_ctx_value(c, FLV_ML_FRAMEWORK);
	for (size_t i = 0; i < sizeof matrix / sizeof matrix[0]; i++) {
		if (c->conf.FL_USE_CASE != matrix[i].use_case)
			continue;
		if (!(matrix[i].frameworks & (1u << c->conf.ML_FRAMEWORK)))
			fl_diags_add(d, FL_ERROR,
			             "FL_USE_CASE '%s' requires ML_FRAMEWORK %s, but ML_FRAMEWORK is set to "
			             "'%s'",
			             uc, matrix[i].needs, fw);
		else
			fl_diags_add(d, FL_INFO, "Use case '%s' is compatible with framework '%s'", uc, fw);
	}
}

/* The multi-site range (04 §2.1): a site's partition-ids start at FL_PARTITION_OFFSET inside
 * the federation's FL_NUM_PARTITIONS, so an offset needs the total and must lie below it. */
static int partition_range_rule(const struct fl_conf *k, struct fl_err *e)
{
	long off = k->FL_PARTITION_OFFSET, num = k->FL_NUM_PARTITIONS;
	bool total = k->set[FLV_FL_NUM_PARTITIONS];
	if (off > 0 && !total)
		return fl_err_set(e, FL_EXIT_FAIL,
		                  "FL_PARTITION_OFFSET=%ld needs FL_NUM_PARTITIONS: set FL_NUM_PARTITIONS to "
		                  "the federation's total number of SuperNodes (every site the same value).",
		                  off);
	if (total && off >= num)
		return fl_err_set(
		    e, FL_EXIT_FAIL,
		    "FL_PARTITION_OFFSET=%ld must be less than FL_NUM_PARTITIONS=%ld: this site's "
		    "partition-ids start at the offset; set FL_NUM_PARTITIONS to the federation's "
		    "total number of SuperNodes, above every site's offset.",
		    off, num);
	return 0;
}

int fl_validate_partition_range(const struct fl_ctx *c, long *offset, long *total, struct fl_err *e)
{
	if (fl_validate_var(c, FLV_FL_PARTITION_OFFSET, e) < 0 ||
	    fl_validate_var(c, FLV_FL_NUM_PARTITIONS, e) < 0 || partition_range_rule(&c->conf, e) < 0)
		return -1;
	*offset = c->conf.FL_PARTITION_OFFSET;
	*total = c->conf.set[FLV_FL_NUM_PARTITIONS] ? c->conf.FL_NUM_PARTITIONS : 0;
	return 0;
}

/* A static FL_NODE_CONFIG is the partition: the range variables are noted as ignored. */
static bool static_partition(const struct fl_ctx *c)
{
	return c->conf.set[FLV_FL_NODE_CONFIG];
}

void fl_validate_partition_ignored(const struct fl_ctx *c, struct fl_diags *d)
{
	static const enum fl_var_id range[] = {FLV_FL_PARTITION_OFFSET, FLV_FL_NUM_PARTITIONS};
	for (size_t i = 0; i < sizeof range / sizeof range[0]; i++)
		if (c->conf.set[range[i]])
			fl_diags_add(d, FL_INFO, "%s ignored -- FL_NODE_CONFIG is set (a static partition)",
			             fl_var_get(range[i])->name);
}

static void check_partition_range(const struct fl_ctx *c, struct fl_diags *d)
{
	struct fl_err e = {0};
	if (static_partition(c)) {
		fl_validate_partition_ignored(c, d);
		return;
	}
	/* Unset FL_NUM_PARTITIONS has no default to pass its rule: unset is fine here. */
	bool usable = ok(c, FLV_FL_PARTITION_OFFSET) &&
	              (!c->conf.set[FLV_FL_NUM_PARTITIONS] || ok(c, FLV_FL_NUM_PARTITIONS));
	if (usable && partition_range_rule(&c->conf, &e) < 0)
		fl_diags_add(d, FL_ERROR, "%s", e.msg);
}

static void check_supernode(const struct fl_ctx *c, struct fl_diags *d)
{
	check_partition_range(c, d);
	const struct fl_conf *k = &c->conf;
	check_use_case(c, d);
	bool gpu = k->FL_GPU_ENABLED;
	if (k->FL_USE_CASE == FL_USE_CASE_LLM_FINE_TUNING && !gpu)
		fl_diags_add(d, FL_WARN,
		             "FL_USE_CASE 'llm-fine-tuning' without FL_GPU_ENABLED=YES trains on the CPU and "
		             "will be very slow; set FL_GPU_ENABLED=YES on a GPU VM.");
	bool pytorch = ok(c, FLV_ML_FRAMEWORK) && k->ML_FRAMEWORK == FL_FRAMEWORK_PYTORCH;
	if (!gpu) {
		if (k->set[FLV_FL_CUDA_VISIBLE_DEVICES] && strcmp(k->FL_CUDA_VISIBLE_DEVICES, "all") != 0)
			fl_diags_add(d, FL_INFO,
			             "FL_CUDA_VISIBLE_DEVICES ignored -- FL_GPU_ENABLED is not YES");
		if (k->set[FLV_FL_GPU_MEMORY_FRACTION])
			fl_diags_add(d, FL_INFO,
			             "FL_GPU_MEMORY_FRACTION ignored -- FL_GPU_ENABLED is not YES");
		if (k->FL_DCGM_ENABLED)
			fl_diags_add(
			    d, FL_WARN,
			    "FL_DCGM_ENABLED=YES but FL_GPU_ENABLED is not YES. DCGM will not start.");
	} else if (k->set[FLV_FL_GPU_MEMORY_FRACTION] && !pytorch) {
		fl_diags_add(d, FL_INFO,
		             "FL_GPU_MEMORY_FRACTION ignored -- applies only to ML_FRAMEWORK=pytorch");
	}
	if (k->set[FLV_FL_EDGE_MAX_BACKOFF] && k->FL_EDGE_BACKOFF == FL_EDGE_BACKOFF_FIXED)
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

/* Each given value by its registry rule. */
static void check_values(const struct fl_ctx *c, unsigned role, struct fl_diags *d)
{
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
		if (!c->conf.FL_CHECKPOINT_ENABLED && ckpt_var(i))
			continue;
		if ((i == FLV_FL_PARTITION_OFFSET || i == FLV_FL_NUM_PARTITIONS) && static_partition(c))
			continue; /* ignored, noted by check_partition_range */
		if (var->check == FL_CK_SAN_LIST)
			check_san_list(d, var, s->value);
		else if (var->check == FL_CK_VERSION)
			check_version(d, var, s->value);
		else if (var->check == FL_CK_NODE_CONFIG)
			check_node_config(d, var, s->value);
		else if (!fl_check_var_value(var, s->value))
			value_error(d, var, s->value);
	}
}

/* Keepalive, on the values in force (a default counts too: TIMEOUT=70 alone is wrong). */
static void check_keepalive(const struct fl_ctx *c, struct fl_diags *d)
{
	if (!ok(c, FLV_FL_GRPC_KEEPALIVE_TIME) || c->conf.FL_GRPC_KEEPALIVE_TIME <= 0)
		return;
	long kt = (long)(c->conf.FL_GRPC_KEEPALIVE_TIME / 1000);
	long kto = (long)(c->conf.FL_GRPC_KEEPALIVE_TIMEOUT / 1000);
	if (kt < 10)
		fl_diags_add(d, FL_WARN,
		             "FL_GRPC_KEEPALIVE_TIME=%ld is aggressive and may cause excessive network "
		             "traffic",
		             kt);
	if (ok(c, FLV_FL_GRPC_KEEPALIVE_TIMEOUT) && kto > 0 && kto >= kt)
		fl_diags_add(
		    d, FL_ERROR,
		    "FL_GRPC_KEEPALIVE_TIMEOUT (%ld) must be less than FL_GRPC_KEEPALIVE_TIME (%ld).", kto,
		    kt);
}

bool fl_validate_keepalive_http(const struct fl_ctx *c, const struct fl_version *v, struct fl_buf *out)
{
	bool t = c->set[FLV_FL_GRPC_KEEPALIVE_TIME].src != FL_SRC_DEFAULT;
	bool to = c->set[FLV_FL_GRPC_KEEPALIVE_TIMEOUT].src != FL_SRC_DEFAULT;
	if (fl_flower_version_era(v) != FL_ERA_C || (!t && !to))
		return false;
	char ver[32];
	fl_flower_version_format(v, ver, sizeof ver);
	if (t)
		fl_buf_addf(out, "FL_GRPC_KEEPALIVE_TIME=%.20s", fl_ctx_value(c, FLV_FL_GRPC_KEEPALIVE_TIME));
	if (t && to)
		fl_buf_adds(out, " and ");
	if (to)
		fl_buf_addf(out, "FL_GRPC_KEEPALIVE_TIMEOUT=%.20s",
		            fl_ctx_value(c, FLV_FL_GRPC_KEEPALIVE_TIMEOUT));
	fl_buf_addf(out,
	            " %s no effect with Flower %s: from 1.40 the SuperNode reaches the Fleet API over "
	            "HTTP, not gRPC, and opens a new connection after 5 s idle, so no idle connection is "
	            "left for a firewall to time out",
	            t && to ? "have" : "has", ver);
	return true;
}

/* Flower 1.40+ named by FLOWER_VERSION: keepalive set explicitly is said to do nothing there. */
static void check_keepalive_http(const struct fl_ctx *c, struct fl_diags *d)
{
	struct fl_version v;
	if (!ok(c, FLV_FLOWER_VERSION) ||
	    fl_flower_version_parse(fl_ctx_value(c, FLV_FLOWER_VERSION), &v) < 0)
		return;
	struct fl_buf b = FL_BUF_INIT;
	if (fl_validate_keepalive_http(c, &v, &b))
		fl_diags_add(d, FL_WARN, "%s", fl_buf_str(&b));
	fl_buf_free(&b);
}

/* A handful of unknown names is a typo worth a hint; thousands are noise (and cost). */
static void check_unknown(const struct fl_ctx *c, struct fl_diags *d)
{
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
}

unsigned fl_validate_ctx(const struct fl_ctx *c, unsigned role, struct fl_diags *d)
{
	unsigned before = d->errors;
	check_values(c, role, d);
	check_keepalive(c, d);
	check_keepalive_http(c, d);
	if (role == FL_ROLE_SUPERLINK)
		check_superlink(c, d);
	else if (role == FL_ROLE_SUPERNODE)
		check_supernode(c, d);
	check_unknown(c, d);
	return d->errors - before;
}
