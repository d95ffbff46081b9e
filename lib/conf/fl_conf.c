/* fl_conf: the typed configuration, each field parsed from its resolved setting by the kind its
 * registry entry names. */
#include "fl_conf.h"

#include "fl_check.h"

#include <stddef.h>
#include <string.h>

enum kind { K_BOOL, K_INT, K_MS, K_FLOAT, K_STR, K_HOSTPORT, K_ENUM };

#define K_OF_BOOL       K_BOOL
#define K_OF_INT        K_INT
#define K_OF_MS         K_MS
#define K_OF_FLOAT      K_FLOAT
#define K_OF_STR        K_STR
#define K_OF_LIST       K_STR
#define K_OF_HOSTPORT   K_HOSTPORT
#define K_OF_STRATEGY   K_ENUM
#define K_OF_ISOLATION  K_ENUM
#define K_OF_LOG_LEVEL  K_ENUM
#define K_OF_LOG_FORMAT K_ENUM
#define K_OF_FRAMEWORK  K_ENUM
#define K_OF_USE_CASE   K_ENUM
#define K_OF_BACKOFF    K_ENUM

static const struct field {
	size_t off;
	enum kind kind;
} fields[] = {
#define FL_VAR(name, ctype, ...) {offsetof(struct fl_conf, name), K_OF_##ctype},
#include "fl_vars.def"
#undef FL_VAR
};

_Static_assert(sizeof fields / sizeof fields[0] == FLV_COUNT, "one field per variable id");
_Static_assert(sizeof(enum fl_strategy) == sizeof(int), "enum fields are stored as int");

/* Position of s in the comma-separated options, or -1. */
static int option_index(const char *options, const char *s)
{
	size_t n = strlen(s);
	int i = 0;
	for (const char *p = options; *p; i++) {
		size_t len = strcspn(p, ",");
		if (len == n && n > 0 && memcmp(p, s, n) == 0)
			return i;
		p += len;
		if (*p == ',')
			p++;
	}
	return -1;
}

/* Parse s into the field at slot; false when it does not parse. */
static bool parse(const struct fl_var *v, enum kind kind, const char *s, void *slot)
{
	long n;
	double f;
	switch (kind) {
	case K_BOOL:
		if (strcmp(s, "YES") != 0 && strcmp(s, "NO") != 0)
			return false;
		*(bool *)slot = strcmp(s, "YES") == 0;
		return true;
	case K_INT:
		if (!fl_check_nonneg(s, &n))
			return false;
		*(long *)slot = n;
		return true;
	case K_MS:
		if (!fl_check_nonneg(s, &n))
			return false;
		*(int64_t *)slot = (int64_t)n * 1000;
		return true;
	case K_FLOAT:
		if (!fl_check_float(s, &f))
			return false;
		*(double *)slot = f;
		return true;
	case K_STR: *(const char **)slot = s; return true;
	case K_HOSTPORT:
		memset(slot, 0, sizeof(struct fl_hostport));
		return !*s || fl_hostport_parse(s, slot, NULL) == 0;
	case K_ENUM: {
		int i = option_index(v->options, s);
		if (i < 0)
			return false;
		*(int *)slot = i;
		return true;
	}
	}
	return false;
}

void fl_conf_resolve(struct fl_conf *k, const struct fl_setting *set)
{
	memset(k, 0, sizeof *k);
	for (size_t i = 0; i < FLV_COUNT; i++) {
		const struct fl_var *v = &fl_vars[i];
		void *slot = (char *)k + fields[i].off;
		k->set[i] = set[i].src != FL_SRC_DEFAULT;
		if (!parse(v, fields[i].kind, set[i].value, slot))
			parse(v, fields[i].kind, v->def, slot); /* defaults parse: test_conf */
	}
}
