/* fl-metrics serve: not built yet (issue 12 work in progress). */
#include "fl_err.h"
#include "fl_log.h"
#include "fl_metrics_verb.h"

int fl_metrics_verb_serve(struct fl_tool *t, const struct fl_metrics_verb *o)
{
	(void)t, (void)o;
	fl_log(FL_ERROR, "serve is not built yet");
	return FL_EXIT_FAIL;
}
