/* fl_conf: the typed configuration. One field per registry entry (fl_vars.def), named like the
 * variable and typed by the entry's CTYPE: what the tools read instead of strings. fl_ctx_load
 * fills it from the resolved settings; read it once fl_validate_ctx found no error for the
 * role (a value that does not parse holds its default's value, and validation reports it). */
#ifndef FL_CONF_H
#define FL_CONF_H

#include "fl_hostport.h"
#include "fl_var.h"

#include <stdbool.h>
#include <stdint.h>

/* The enums, their values in the order of the entry's options. */
enum fl_strategy {
	FL_STRATEGY_FEDAVG,
	FL_STRATEGY_FEDPROX,
	FL_STRATEGY_FEDADAM,
	FL_STRATEGY_KRUM,
	FL_STRATEGY_BULYAN,
	FL_STRATEGY_FEDTRIMMEDAVG,
};
enum fl_isolation { FL_ISOLATION_SUBPROCESS, FL_ISOLATION_PROCESS };
enum fl_log_level { FL_LOG_LEVEL_DEBUG, FL_LOG_LEVEL_INFO, FL_LOG_LEVEL_WARNING, FL_LOG_LEVEL_ERROR };
enum fl_log_format { FL_LOG_FORMAT_TEXT, FL_LOG_FORMAT_JSON };
enum fl_framework { FL_FRAMEWORK_PYTORCH, FL_FRAMEWORK_TENSORFLOW, FL_FRAMEWORK_SKLEARN };
enum fl_use_case {
	FL_USE_CASE_NONE,
	FL_USE_CASE_IMAGE_CLASSIFICATION,
	FL_USE_CASE_ANOMALY_DETECTION,
	FL_USE_CASE_LLM_FINE_TUNING,
};
enum fl_edge_backoff { FL_EDGE_BACKOFF_EXPONENTIAL, FL_EDGE_BACKOFF_FIXED };

/* CTYPE -> C type of the field. */
#define FL_CT_BOOL       bool
#define FL_CT_INT        long
#define FL_CT_MS         int64_t /* the value is seconds; the field milliseconds */
#define FL_CT_FLOAT      double
#define FL_CT_STR        const char *       /* the resolved text; lives as long as the fl_ctx */
#define FL_CT_LIST       const char *       /* comma-separated, as written (fl_list_next walks it) */
#define FL_CT_HOSTPORT   struct fl_hostport /* all zero (port 0) when unset */
#define FL_CT_STRATEGY   enum fl_strategy
#define FL_CT_ISOLATION  enum fl_isolation
#define FL_CT_LOG_LEVEL  enum fl_log_level
#define FL_CT_LOG_FORMAT enum fl_log_format
#define FL_CT_FRAMEWORK  enum fl_framework
#define FL_CT_USE_CASE   enum fl_use_case
#define FL_CT_BACKOFF    enum fl_edge_backoff

struct fl_conf {
#define FL_VAR(name, ctype, ...) FL_CT_##ctype name;
#include "fl_vars.def"
#undef FL_VAR
	bool set[FLV_COUNT]; /* given in the context or environment (not the default) */
};

/* Where a resolved value came from. */
enum fl_src { FL_SRC_DEFAULT, FL_SRC_FILE, FL_SRC_ENV };

/* One variable as resolved (fl_ctx_load): its text and where it came from. */
struct fl_setting {
	const char *value; /* never NULL; "" when unset without default */
	enum fl_src src;
	const char *from; /* name the value was read under (e.g. ONEAPP_FL_NUM_ROUNDS) */
};

/* Fill k from the settings (one per registry entry, registry order). */
void fl_conf_resolve(struct fl_conf *k, const struct fl_setting *set);

#endif
