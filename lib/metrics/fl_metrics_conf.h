/* fl_metrics_conf: what fl-metrics' reading verbs (show, serve) take from the configuration
 * when the command line leaves it out: the strategy label and the SuperLink state database. */
#ifndef FL_METRICS_CONF_H
#define FL_METRICS_CONF_H

#include "fl_launch.h"
#include "fl_metrics_verb.h"

#include <stddef.h>

struct fl_metrics_conf {
	char strategy[64]; /* --strategy, else FL_STRATEGY, else FedAvg */
	char db[4200];     /* --db, else FLOWER_DIR/FL_DATABASE when no source was named, else "" */
};

/* Fill c. A configuration is optional (the defaults apply) unless one was named (-c): then a
 * configuration that does not load is an error. 0, or the exit status with the error logged. */
int fl_metrics_conf_get(struct fl_tool *t, const struct fl_metrics_verb *o, struct fl_metrics_conf *c);

#endif
