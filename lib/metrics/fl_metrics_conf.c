/* fl_metrics_conf: the strategy label and the state database from the configuration. */
#include "fl_metrics_conf.h"

#include "fl_ctx.h"
#include "fl_log.h"

#include <stdbool.h>
#include <stdio.h>

int fl_metrics_conf_get(struct fl_tool *t, const struct fl_metrics_verb *o, struct fl_metrics_conf *c)
{
	snprintf(c->strategy, sizeof c->strategy, "%s", o->strategy ? o->strategy : "FedAvg");
	snprintf(c->db, sizeof c->db, "%s", o->db ? o->db : "");
	bool need_db = !o->db && !o->nfollow;
	if (o->strategy && !need_db)
		return 0;
	char path[4200];
	bool named;
	struct fl_ctx_opts co = {fl_tool_config_path(t, FL_ROLE_SUPERLINK, path, sizeof path, &named), NULL,
	                         fl_tool_env(t)};
	struct fl_ctx x = {0};
	struct fl_err e = {0};
	if (fl_ctx_load(&x, &co, &e) < 0) {
		fl_ctx_free(&x);
		if (named) {
			fl_error("%s", e.msg);
			return FL_EXIT_FAIL;
		}
		/* No configuration: the defaults (FL_DATABASE state/state.db). */
		if (need_db)
			snprintf(c->db, sizeof c->db, "%s/state/state.db", FL_LAUNCH_FLOWER_DIR);
		return 0;
	}
	fl_tool_log_format(&x);
	if (!o->strategy)
		snprintf(c->strategy, sizeof c->strategy, "%s", fl_ctx_value(&x, FLV_FL_STRATEGY));
	if (need_db)
		snprintf(c->db, sizeof c->db, "%s/%s", FL_LAUNCH_FLOWER_DIR,
		         fl_ctx_value(&x, FLV_FL_DATABASE));
	fl_ctx_free(&x);
	return 0;
}
