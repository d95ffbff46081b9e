/* fl_flower: which Flower is installed and what its command line accepts (design 07 §0). */
#ifndef FL_FLOWER_H
#define FL_FLOWER_H

#include "fl_err.h"

#include <stdbool.h>
#include <stddef.h>

struct fl_version {
	unsigned major, minor, patch;
};

/* The three command-line eras of design 07 §0, boundaries as the wheels' argparse code has
 * them. A: 1.21-1.34, three gRPC APIs (--fleet-api-address, --control-api-address,
 * --serverappio-api-address / SuperNode --clientappio-api-address). B: 1.35-1.39, an HTTP
 * server (--host/--port) for the Runtime API (the *appio-api-address flags are refused),
 * from 1.37 also the Control API (gRPC Control off); Fleet still gRPC. C: 1.40+, the HTTP
 * server serves Fleet too (--fleet-api-address only warns). */
enum fl_era { FL_ERA_A, FL_ERA_B, FL_ERA_C };

#define FL_FLOWER_OLDEST "1.25.0" /* the spec's version: the oldest this toolkit drives */

/* The one rule for the Flower version to run, for fl-context validate (FLOWER_VERSION) and
 * fl-launch (FLOWER_VERSION, --flower-version, the installed Flower) alike: not older than
 * FL_FLOWER_OLDEST. 0 ok; -1 with the message in e. */
int fl_flower_version_supported(const struct fl_version *v, struct fl_err *e);

/* "X.Y.Z" (what fl_check_version accepts); -1 otherwise. */
int fl_flower_version_parse(const char *s, struct fl_version *v);
/* <0, 0, >0 like strcmp. */
int fl_flower_version_cmp(const struct fl_version *a, const struct fl_version *b);
/* v >= major.minor */
bool fl_flower_version_at_least(const struct fl_version *v, unsigned major, unsigned minor);
enum fl_era fl_flower_version_era(const struct fl_version *v);
const char *fl_flower_era_name(enum fl_era era);
void fl_flower_version_format(const struct fl_version *v, char *out, size_t outlen);

/* The version in what `flwr --version` or `flower-superlink --version` print
 * ("Flower version: 1.25.0", possibly after other lines); -1 when there is none. */
int fl_flower_version_scan(const char *text, struct fl_version *v);

/* Ask the installed Flower: `<dir of exe>/flwr --version`, then `exe --version` (1.28+).
 * exe is the flower-superlink or flower-supernode path. Bounded to timeout_ms each. */
int fl_flower_detect(const char *exe, long timeout_ms, struct fl_version *v, struct fl_err *e);

#endif
