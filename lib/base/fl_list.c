/* fl_list: comma-separated lists, one entry at a time. */
#include "fl_list.h"

#include "fl_buf.h"

#include <string.h>

char *fl_list_next(const char **p)
{
	if (!*p)
		return NULL;
	const char *a = *p;
	const char *comma = strchr(a, ',');
	const char *b = comma ? comma : a + strlen(a);
	*p = comma ? comma + 1 : NULL;
	while (a < b && (*a == ' ' || *a == '\t'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
		b--;
	return fl_xstrndup(a, (size_t)(b - a));
}
