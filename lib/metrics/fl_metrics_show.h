/* fl_metrics_show: the text `fl-metrics show` prints, and its formatting helpers. */
#ifndef FL_METRICS_SHOW_H
#define FL_METRICS_SHOW_H

#include "fl_buf.h"
#include "fl_metrics.h"

#include <stdbool.h>

#define FL_METRICS_SHOW_ROUNDS 20 /* rounds shown, the most recent */
#define FL_METRICS_SHOW_WIDTH  20 /* chart cells for 1.0 */

/* UTF-8 output: the first set of LC_ALL, LC_CTYPE, LANG names UTF-8 (any case, utf8 too). */
bool fl_metrics_show_utf8(const char *lc_all, const char *lc_ctype, const char *lang);
/* A bar of frac (0..1, clamped; NAN or <= 0: nothing) of width cells: Unicode blocks in
 * eighths of a cell, or '#' rounded to whole cells. */
void fl_metrics_show_bar(struct fl_buf *b, double frac, unsigned width, bool utf8);
/* "42 s", "5 min", "3 h 7 min", "4 days". */
void fl_metrics_show_ago(struct fl_buf *b, double secs);
/* The whole text of m at wall clock now. */
void fl_metrics_show_text(const struct fl_metrics *m, double now, bool utf8, struct fl_buf *b);

#endif
