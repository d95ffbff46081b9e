/* fl_var: the one registry of context variables; validation, defaults, help, man page and
 * USER_INPUTS are all generated from it (the entries themselves: fl_vars.def). */
#include "fl_var.h"

#include <string.h>

#define SL   FL_ROLE_SUPERLINK
#define SN   FL_ROLE_SUPERNODE
#define BOTH (SL | SN)

/* Each entry of fl_vars.def, the one registry, as a row; the id and typed field are made from
 * the same entry in fl_var.h and fl_conf.h. */
const struct fl_var fl_vars[] = {
#define FL_VAR(name, ctype, ...) {#name, __VA_ARGS__},
#include "fl_vars.def"
#undef FL_VAR
};

_Static_assert(sizeof fl_vars / sizeof fl_vars[0] == FLV_COUNT, "one row per variable id");

const size_t fl_nvars = sizeof fl_vars / sizeof fl_vars[0];

const struct fl_var *fl_var_find(const char *name)
{
	for (size_t i = 0; i < fl_nvars; i++)
		if (strcmp(fl_vars[i].name, name) == 0)
			return &fl_vars[i];
	return NULL;
}

size_t fl_var_index(const struct fl_var *v)
{
	return (size_t)(v - fl_vars);
}

const struct fl_var *fl_var_get(enum fl_var_id id)
{
	return &fl_vars[id];
}

const char *fl_var_role_name(unsigned role)
{
	switch (role) {
	case FL_ROLE_SUPERLINK: return "superlink";
	case FL_ROLE_SUPERNODE: return "supernode";
	case FL_ROLE_SERVICE: return "service";
	default: return "?";
	}
}

unsigned fl_var_role_parse(const char *s)
{
	if (strcmp(s, "superlink") == 0)
		return FL_ROLE_SUPERLINK;
	if (strcmp(s, "supernode") == 0)
		return FL_ROLE_SUPERNODE;
	if (strcmp(s, "service") == 0)
		return FL_ROLE_SERVICE;
	return 0;
}
