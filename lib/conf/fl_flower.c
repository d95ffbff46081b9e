/* fl_flower: which Flower is installed and what its command line accepts (design 07 §0). */
#include "fl_flower.h"

#include "fl_buf.h"
#include "fl_check.h"
#include "fl_proc.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fl_flower_version_parse(const char *s, struct fl_version *v)
{
	if (!s || !fl_check_version(s))
		return -1;
	unsigned long p[3];
	char *end;
	for (int i = 0; i < 3; i++) {
		p[i] = strtoul(s, &end, 10);
		s = end + 1;
	}
	v->major = (unsigned)p[0];
	v->minor = (unsigned)p[1];
	v->patch = (unsigned)p[2];
	return 0;
}

int fl_flower_version_supported(const struct fl_version *v, struct fl_err *e)
{
	struct fl_version oldest = {0};
	fl_flower_version_parse(FL_FLOWER_OLDEST, &oldest);
	if (fl_flower_version_cmp(v, &oldest) >= 0)
		return 0;
	return fl_err_set(e, FL_EXIT_FAIL,
	                  "Flower %u.%u.%u is older than %s, the oldest version flkit drives; set "
	                  "FLOWER_VERSION (or --flower-version) to %s or newer",
	                  v->major, v->minor, v->patch, FL_FLOWER_OLDEST, FL_FLOWER_OLDEST);
}

int fl_flower_version_cmp(const struct fl_version *a, const struct fl_version *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	return 0;
}

bool fl_flower_version_at_least(const struct fl_version *v, unsigned major, unsigned minor)
{
	return v->major > major || (v->major == major && v->minor >= minor);
}

enum fl_era fl_flower_version_era(const struct fl_version *v)
{
	if (fl_flower_version_at_least(v, 1, 40))
		return FL_ERA_C;
	if (fl_flower_version_at_least(v, 1, 35))
		return FL_ERA_B;
	return FL_ERA_A;
}

const char *fl_flower_era_name(enum fl_era era)
{
	switch (era) {
	case FL_ERA_A: return "A (1.25-1.34: gRPC Fleet, Control and ServerAppIo APIs)";
	case FL_ERA_B: return "B (1.35-1.39: HTTP Runtime API (+ Control from 1.37), gRPC Fleet API)";
	case FL_ERA_C: return "C (1.40+: one HTTP server for Fleet, Control and Runtime APIs)";
	}
	return "?";
}

void fl_flower_version_format(const struct fl_version *v, char *out, size_t outlen)
{
	snprintf(out, outlen, "%u.%u.%u", v->major, v->minor, v->patch);
}

int fl_flower_version_scan(const char *text, struct fl_version *v)
{
	static const char tag[] = "Flower version: ";
	const char *p = strstr(text, tag);
	if (!p)
		return -1;
	p += sizeof tag - 1;
	char word[32];
	size_t n = strspn(p, "0123456789.");
	if (n == 0 || n >= sizeof word)
		return -1;
	memcpy(word, p, n);
	word[n] = '\0';
	return fl_flower_version_parse(word, v);
}

static int ask(char *const argv[], long timeout_ms, struct fl_version *v)
{
	struct fl_buf out = FL_BUF_INIT;
	int status = -1;
	int rc = fl_proc_capture(argv, NULL, timeout_ms, 16384, &out, &status, NULL);
	if (rc == 0 && status == 0)
		rc = fl_flower_version_scan(fl_buf_str(&out), v);
	else
		rc = -1;
	fl_buf_free(&out);
	return rc;
}

/* A pip install leaves flwr-X.Y.Z.dist-info next to the package: reading its name costs
 * microseconds, asking the Python CLI costs seconds. Only an unambiguous match counts. */
static int dist_info(const char *exe, struct fl_version *v)
{
	const char *slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	char pat[4200];
	snprintf(pat, sizeof pat, "%.*s/../lib/python3*/site-packages/flwr-*.dist-info", (int)(slash - exe),
	         exe);
	glob_t g;
	int rc = -1;
	if (glob(pat, GLOB_NOSORT, NULL, &g) == 0 && g.gl_pathc == 1) {
		const char *name = strrchr(g.gl_pathv[0], '/') + 1 + 5; /* after "flwr-" */
		char word[32];
		size_t n = strcspn(name, "d");
		if (n > 1 && n < sizeof word && name[n - 1] == '.') {
			memcpy(word, name, n - 1);
			word[n - 1] = '\0';
			rc = fl_flower_version_parse(word, v);
		}
	}
	globfree(&g);
	return rc;
}

int fl_flower_detect(const char *exe, long timeout_ms, struct fl_version *v, struct fl_err *e)
{
	if (dist_info(exe, v) == 0)
		return 0;
	/* flwr sits next to flower-superlink in every install (venv bin/, image PATH). */
	char flwr[4096];
	const char *slash = strrchr(exe, '/');
	if (slash)
		snprintf(flwr, sizeof flwr, "%.*sflwr", (int)(slash - exe + 1), exe);
	else
		snprintf(flwr, sizeof flwr, "flwr");
	char *a1[] = {flwr, "--version", NULL};
	if (ask(a1, timeout_ms, v) == 0)
		return 0;
	char *a2[] = {(char *)exe, "--version", NULL};
	if (ask(a2, timeout_ms, v) == 0)
		return 0;
	return fl_err_set(e, FL_EXIT_FAIL,
	                  "cannot tell which Flower version %s is: neither `%s --version` nor `%s --version` "
	                  "printed 'Flower version: X.Y.Z'; pass --flower-version",
	                  exe, flwr, exe);
}
