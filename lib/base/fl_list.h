/* fl_list: comma-separated lists, one entry at a time. */
#ifndef FL_LIST_H
#define FL_LIST_H

/* The next entry of a comma-separated list at *p, blanks trimmed (an empty entry is ""),
 * or NULL after the last one. Caller frees. Usage:
 *   for (const char *p = list; (entry = fl_list_next(&p)) != NULL; free(entry)) ... */
char *fl_list_next(const char **p);

#endif
