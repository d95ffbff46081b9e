/* fl_gpucheck_verb: fl-gpucheck's verbs. (placeholder: helper verdict) */
#include "fl_gpucheck_verb.h"

#include "fl_err.h"

int fl_gpucheck_verb_vm(struct fl_tool *t, const struct fl_gpucheck_verb *o)
{
	(void)t, (void)o;
	return FL_EXIT_FAIL;
}

int fl_gpucheck_verb_host(struct fl_tool *t, const struct fl_gpucheck_verb *o)
{
	(void)t, (void)o;
	return FL_EXIT_FAIL;
}

int fl_gpucheck_verb_detect(struct fl_tool *t, const struct fl_gpucheck_verb *o)
{
	(void)t, (void)o;
	return FL_EXIT_FAIL;
}
