/* test_conf: the typed configuration: every registry default resolves to its field, each kind
 * parses its text (YES/NO, seconds -> ms, floats, host:port, enums in option order), a value
 * that does not parse keeps its default's value, and `set` tells given values from defaults;
 * the consumers (discovery's schedule, fl_validate_var) read the fields. */
#include "fl_conf.h"
#include "fl_ctx.h"
#include "fl_discover.h"
#include "fl_validate.h"
#include "unit.h"

static bool load(struct fl_ctx *c, char **envp)
{
	struct fl_err e;
	struct fl_ctx_opts o = {NULL, NULL, envp};
	if (fl_ctx_load(c, &o, &e) < 0) {
		DIAG("fl_ctx_load: %s", e.msg);
		return false;
	}
	return true;
}

static void test_defaults(void)
{
	struct fl_ctx c;
	char *env[] = {NULL};
	CHECK(load(&c, env), "empty environment loads");
	const struct fl_conf *k = &c.conf;
	CHECK_STR(k->FLOWER_VERSION, "1.25.0", "FLOWER_VERSION text");
	CHECK_INT(k->FL_NUM_ROUNDS, 3, "FL_NUM_ROUNDS default 3");
	CHECK_INT(k->FL_STRATEGY, FL_STRATEGY_FEDAVG, "FL_STRATEGY default FedAvg");
	CHECK_STR(k->FL_FLEET_API_ADDRESS.host, "0.0.0.0", "fleet host parsed");
	CHECK_INT(k->FL_FLEET_API_ADDRESS.port, 9092, "fleet port parsed");
	CHECK(k->FL_FLEET_API_ADDRESS.is_any, "0.0.0.0 is the bind-all address");
	CHECK_INT(k->FL_CONTROL_API_ADDRESS.port, 9093, "control port parsed");
	CHECK_INT(k->FL_GRPC_KEEPALIVE_TIME, 60000, "keepalive 60 s is 60000 ms");
	CHECK_INT(k->FL_GRPC_KEEPALIVE_TIMEOUT, 20000, "keepalive timeout 20 s is 20000 ms");
	CHECK_INT(k->FL_EDGE_MAX_BACKOFF, 300000, "edge max backoff 300 s in ms");
	CHECK(!k->FL_TLS_ENABLED && !k->FL_GPU_ENABLED && !k->FL_CHECKPOINT_ENABLED, "booleans default NO");
	CHECK(k->FL_TRIM_BETA > 0.19 && k->FL_TRIM_BETA < 0.21, "FL_TRIM_BETA 0.2");
	CHECK_INT(k->FL_SUPERLINK_ADDRESS.port, 0, "unset host:port is all zero");
	CHECK_STR(k->FL_SUPERLINK_ADDRESS.host, "", "unset host:port has no host");
	CHECK_INT(k->FL_LOG_FORMAT, FL_LOG_FORMAT_TEXT, "log format text");
	CHECK_INT(k->FL_LOG_LEVEL, FL_LOG_LEVEL_INFO, "log level INFO");
	CHECK_INT(k->ML_FRAMEWORK, FL_FRAMEWORK_PYTORCH, "framework pytorch");
	CHECK_INT(k->FL_EDGE_BACKOFF, FL_EDGE_BACKOFF_EXPONENTIAL, "backoff exponential");
	CHECK_INT(k->FL_USE_CASE, FL_USE_CASE_NONE, "use case none");
	CHECK_INT(k->FL_ISOLATION, FL_ISOLATION_SUBPROCESS, "isolation subprocess");
	unsigned set = 0;
	for (size_t i = 0; i < FLV_COUNT; i++)
		set += k->set[i];
	CHECK_INT(set, 0, "nothing is set in an empty environment");
	fl_ctx_free(&c);
}

static void test_values(void)
{
	struct fl_ctx c;
	char *env[] = {"ONEAPP_FL_TLS_ENABLED=yes",
	               "FL_STRATEGY=FedTrimmedAvg",
	               "FL_GRPC_KEEPALIVE_TIME=7",
	               "FL_SUPERLINK_ADDRESS=[fd00::1]:9092",
	               "FL_CONTROL_API_ADDRESS=127.0.0.1:19093",
	               "FL_LOG_FORMAT=json",
	               "ML_FRAMEWORK=sklearn",
	               "FL_EDGE_BACKOFF=fixed",
	               "FL_USE_CASE=llm-fine-tuning",
	               "FL_ISOLATION=process",
	               "FL_LOG_LEVEL=ERROR",
	               "FL_GPU_MEMORY_FRACTION=0.5",
	               "FL_NUM_ROUNDS=12",
	               NULL};
	CHECK(load(&c, env), "environment loads");
	const struct fl_conf *k = &c.conf;
	CHECK(k->FL_TLS_ENABLED, "yes (any case) is true");
	CHECK(k->set[FLV_FL_TLS_ENABLED], "FL_TLS_ENABLED counts as set");
	CHECK(!k->set[FLV_FL_GPU_ENABLED], "FL_GPU_ENABLED does not");
	CHECK_INT(k->FL_STRATEGY, FL_STRATEGY_FEDTRIMMEDAVG, "strategy by option order");
	CHECK_INT(k->FL_GRPC_KEEPALIVE_TIME, 7000, "7 s is 7000 ms");
	CHECK_STR(k->FL_SUPERLINK_ADDRESS.host, "fd00::1", "IPv6 host without brackets");
	CHECK(k->FL_SUPERLINK_ADDRESS.is_ipv6, "IPv6 flagged");
	CHECK_INT(k->FL_SUPERLINK_ADDRESS.port, 9092, "IPv6 port");
	CHECK_INT(k->FL_CONTROL_API_ADDRESS.port, 19093, "control port");
	CHECK_INT(k->FL_LOG_FORMAT, FL_LOG_FORMAT_JSON, "json");
	CHECK_INT(k->ML_FRAMEWORK, FL_FRAMEWORK_SKLEARN, "sklearn");
	CHECK_INT(k->FL_EDGE_BACKOFF, FL_EDGE_BACKOFF_FIXED, "fixed");
	CHECK_INT(k->FL_USE_CASE, FL_USE_CASE_LLM_FINE_TUNING, "llm-fine-tuning");
	CHECK_INT(k->FL_ISOLATION, FL_ISOLATION_PROCESS, "process");
	CHECK_INT(k->FL_LOG_LEVEL, FL_LOG_LEVEL_ERROR, "ERROR");
	CHECK(k->FL_GPU_MEMORY_FRACTION > 0.49 && k->FL_GPU_MEMORY_FRACTION < 0.51, "0.5");
	CHECK_INT(k->FL_NUM_ROUNDS, 12, "12 rounds");
	CHECK_STR(fl_ctx_value(&c, FLV_FL_TLS_ENABLED), "YES", "the text is normalised");
	fl_ctx_free(&c);
}

/* Every enum value of the registry's options maps to its position, for every enum entry. */
static void test_enum_order(void)
{
	unsigned bad = 0, n = 0;
	for (size_t i = 0; i < fl_nvars; i++) {
		const struct fl_var *v = &fl_vars[i];
		if (v->check != FL_CK_ENUM)
			continue;
		const char *p = v->options;
		for (int pos = 0; *p; pos++) {
			size_t len = strcspn(p, ",");
			char kv[256];
			snprintf(kv, sizeof kv, "%s=%.*s", v->name, (int)len, p);
			char *env[] = {kv, NULL};
			struct fl_ctx c;
			if (load(&c, env)) {
				int got = -1; /* the enum field of entry i, read by name */
#define FL_VAR(name, ctype, ...)                                                                             \
	if (i == FLV_##name)                                                                                 \
		memcpy(&got, &c.conf.name, sizeof got);
#include "fl_vars.def"
#undef FL_VAR
				if (got != pos && ++bad)
					DIAG("%s: option %d read as %d", kv, pos, got);
				n++;
				fl_ctx_free(&c);
			}
			p += len;
			if (*p == ',')
				p++;
		}
	}
	CHECK(n >= 20 && bad == 0, "every enum option resolves to its position (%u options)", n);
}

static void test_bad_value(void)
{
	struct fl_ctx c;
	char *env[] = {"FL_NUM_ROUNDS=three", "FL_FLEET_API_ADDRESS=host:09092", "FL_STRATEGY=fedavg", NULL};
	CHECK(load(&c, env), "loads (validation judges the values)");
	CHECK_INT(c.conf.FL_NUM_ROUNDS, 3, "unparsable number keeps the default's value");
	CHECK_INT(c.conf.FL_FLEET_API_ADDRESS.port, 9092, "unparsable host:port keeps the default's");
	CHECK_INT(c.conf.FL_STRATEGY, FL_STRATEGY_FEDAVG, "wrong-case enum keeps the default's");
	CHECK(c.conf.set[FLV_FL_NUM_ROUNDS], "still marked set");
	struct fl_diags d = FL_DIAGS_INIT;
	CHECK(fl_validate_ctx(&c, FL_ROLE_SUPERLINK, &d) >= 3, "and validation reports all three");
	fl_diags_free(&d);
	fl_ctx_free(&c);
}

/* One variable by its rule, in the registry's words: what a tool that validates nothing else
 * (fl-onegate, fl-certgen) relies on before it reads a field. */
static void test_validate_var(void)
{
	struct fl_ctx c;
	struct fl_err e = {0};
	char *none[] = {NULL};
	if (load(&c, none)) {
		CHECK(fl_validate_var(&c, FLV_FL_EDGE_BACKOFF, &e) == 0,
		      "an unset variable (its default) passes");
		fl_ctx_free(&c);
	}
	char *good[] = {"FL_TLS_ENABLED=yes", "FL_EDGE_MAX_BACKOFF=60", NULL};
	if (load(&c, good)) {
		CHECK(fl_validate_var(&c, FLV_FL_TLS_ENABLED, &e) == 0 && c.conf.FL_TLS_ENABLED,
		      "FL_TLS_ENABLED=yes passes and reads as true");
		CHECK(fl_validate_var(&c, FLV_FL_EDGE_MAX_BACKOFF, &e) == 0, "FL_EDGE_MAX_BACKOFF=60 passes");
		fl_ctx_free(&c);
	}
	char *bad[] = {"FL_TLS_ENABLED=maybe", "FL_SSL_KEYFILE=c2VjcmV0", NULL};
	if (load(&c, bad)) {
		CHECK(fl_validate_var(&c, FLV_FL_TLS_ENABLED, &e) == -1 && e.code == FL_EXIT_FAIL,
		      "FL_TLS_ENABLED=maybe refused, exit 1");
		CHECK_STR(e.msg, "Invalid FL_TLS_ENABLED: 'maybe'. Must be YES or NO.",
		          "in the registry's words");
		CHECK(fl_validate_var(&c, FLV_FL_SSL_KEYFILE, &e) == -1 && !strstr(e.msg, "c2VjcmV0"),
		      "a bad secret is refused without echoing it");
		fl_ctx_free(&c);
	}
}

/* The multi-site range fl-onegate partition reads: each value by its rule, then the offset
 * needs the total and lies below it; hostile spellings are refused in the registry's words. */
static void test_partition_range(void)
{
	static const struct {
		const char *env[3];
		int rc;
		long offset, total;
		const char *msg; /* a part of the message */
	} vec[] = {
	    {{NULL}, 0, 0, 0, NULL},
	    {{"FL_NUM_PARTITIONS=4", NULL}, 0, 0, 4, NULL},
	    {{"FL_PARTITION_OFFSET=2", "FL_NUM_PARTITIONS=4", NULL}, 0, 2, 4, NULL},
	    {{"FL_PARTITION_OFFSET=", "FL_NUM_PARTITIONS=", NULL}, 0, 0, 0, NULL},
	    {{"FL_PARTITION_OFFSET=2", NULL}, -1, 0, 0, "set FL_NUM_PARTITIONS to the federation's total"},
	    {{"FL_PARTITION_OFFSET=4", "FL_NUM_PARTITIONS=4", NULL},
	     -1,
	     0,
	     0,
	     "must be less than FL_NUM_PARTITIONS=4"},
	    {{"FL_PARTITION_OFFSET=-1", NULL}, -1, 0, 0, "Invalid FL_PARTITION_OFFSET: '-1'"},
	    {{"FL_PARTITION_OFFSET=1e3", NULL}, -1, 0, 0, "Invalid FL_PARTITION_OFFSET: '1e3'"},
	    {{"FL_NUM_PARTITIONS=0x10", NULL}, -1, 0, 0, "Invalid FL_NUM_PARTITIONS: '0x10'"},
	    {{"FL_NUM_PARTITIONS=0", NULL}, -1, 0, 0, "Invalid FL_NUM_PARTITIONS: '0'"},
	    {{"FL_NUM_PARTITIONS=99999999999999999999", NULL}, -1, 0, 0, "Invalid FL_NUM_PARTITIONS"},
	    {{"FL_PARTITION_OFFSET= 1", NULL}, -1, 0, 0, "Invalid FL_PARTITION_OFFSET: ' 1'"},
	};
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		struct fl_ctx c;
		struct fl_err e = {0};
		long off = -1, total = -1;
		if (!load(&c, (char **)vec[i].env))
			continue;
		int rc = fl_validate_partition_range(&c, &off, &total, &e);
		const char *what = vec[i].env[0] ? vec[i].env[0] : "unset";
		if (vec[i].rc == 0)
			CHECK(rc == 0 && off == vec[i].offset && total == vec[i].total,
			      "range %s%s%s: offset %ld, total %ld", what, vec[i].env[1] ? " " : "",
			      vec[i].env[1] ? vec[i].env[1] : "", vec[i].offset, vec[i].total);
		else
			CHECK(rc == -1 && e.code == FL_EXIT_FAIL && strstr(e.msg, vec[i].msg),
			      "range %s%s%s refused: %s", what, vec[i].env[1] ? " " : "",
			      vec[i].env[1] ? vec[i].env[1] : "", e.msg);
		fl_ctx_free(&c);
	}
}

/* Discovery's schedule and cap come from the typed FL_EDGE_BACKOFF and FL_EDGE_MAX_BACKOFF. */
static void test_discover_schedule(void)
{
	static const struct {
		const char *env;
		enum fl_discover_schedule want;
	} vec[] = {
	    {NULL, FL_DISCOVER_FAST},
	    {"FL_EDGE_BACKOFF=fixed", FL_DISCOVER_FIXED},
	    {"FL_EDGE_BACKOFF=exponential", FL_DISCOVER_EXPONENTIAL},
	};
	static const char *const names[] = {"fast", "fixed", "exponential"};
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		struct fl_ctx c;
		char *env[] = {(char *)vec[i].env, NULL};
		struct fl_err e = {0};
		enum fl_discover_schedule s = (enum fl_discover_schedule) - 1;
		if (load(&c, env)) {
			CHECK(fl_discover_ctx_schedule(&c, &s, &e) == 0 && s == vec[i].want,
			      "%s: schedule %s", vec[i].env ? vec[i].env : "FL_EDGE_BACKOFF unset",
			      names[vec[i].want]);
			fl_ctx_free(&c);
		}
	}
	struct fl_ctx c;
	struct fl_err e = {0};
	enum fl_discover_schedule s;
	char *side[] = {"FL_EDGE_BACKOFF=sideways", NULL};
	if (load(&c, side)) {
		CHECK(
		    fl_discover_ctx_schedule(&c, &s, &e) == -1 && e.code == FL_EXIT_FAIL &&
		        strcmp(e.msg, "Invalid FL_EDGE_BACKOFF: 'sideways'. Must be exponential or fixed.") ==
		            0,
		    "FL_EDGE_BACKOFF=sideways: refused with the registry's message, not run on the default");
		fl_ctx_free(&c);
	}
	uint64_t ms = 0;
	char *none[] = {NULL};
	if (load(&c, none)) {
		CHECK(fl_discover_ctx_edge_max(&c, &ms, &e) == 0 && ms == 300000,
		      "edge cap: default 300 s is 300000 ms");
		fl_ctx_free(&c);
	}
	char *sixty[] = {"FL_EDGE_MAX_BACKOFF=60", NULL};
	if (load(&c, sixty)) {
		CHECK(fl_discover_ctx_edge_max(&c, &ms, &e) == 0 && ms == 60000,
		      "edge cap: 60 s is 60000 ms");
		fl_ctx_free(&c);
	}
	char *zero[] = {"FL_EDGE_MAX_BACKOFF=0", NULL};
	if (load(&c, zero)) {
		CHECK(fl_discover_ctx_edge_max(&c, &ms, &e) == -1 &&
		          strcmp(e.msg, "Invalid FL_EDGE_MAX_BACKOFF: '0'. Must be a positive integer.") == 0,
		      "edge cap 0: refused with the registry's message");
		fl_ctx_free(&c);
	}
}

int main(void)
{
	test_defaults();
	test_values();
	test_enum_order();
	test_bad_value();
	test_validate_var();
	test_partition_range();
	test_discover_schedule();
	return unit_done();
}
