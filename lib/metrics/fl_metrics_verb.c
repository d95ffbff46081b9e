/* fl-metrics parse: not built yet (issue 12 work in progress). */
#include "fl_err.h"
#include "fl_log.h"
#include "fl_metrics_verb.h"

int fl_metrics_verb_parse(struct fl_tool *t, const struct fl_metrics_verb *o, char **args, int nargs)
{
	(void)t, (void)o, (void)args, (void)nargs;
	fl_log(FL_ERROR, "parse is not built yet");
	return FL_EXIT_FAIL;
}
