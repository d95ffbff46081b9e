/* fl_gpu_smi: nvidia-smi as a cross-check: run its CSV query and parse what it prints. */
#include "fl_gpu_container.h"

#include "fl_err.h"
#include "fl_proc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SMI_OUT_MAX ((size_t)64 * 1024)
#define SMI_MEM_MAX 100000000LL /* MiB: 95 TiB, far above any GPU; more is not a number it prints */

static const char *trim(const char *s, const char *e, const char **end)
{
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		e--;
	*end = e;
	return s;
}

static const char *last_comma(const char *s, const char *e)
{
	while (e > s && e[-1] != ',')
		e--;
	return e > s ? e - 1 : NULL;
}

/* One line "NAME, N MiB, VERSION" (split from the right: a name may hold a comma, the other
 * two never do). 0 with the fields in s, or -1. */
static int parse_line(const char *p, const char *e, struct fl_gpu_smi *s)
{
	const char *c2 = last_comma(p, e);
	const char *c1 = c2 ? last_comma(p, c2) : NULL;
	if (!c1)
		return -1;
	const char *ne, *me, *de;
	const char *name = trim(p, c1, &ne), *mem = trim(c1 + 1, c2, &me), *drv = trim(c2 + 1, e, &de);
	size_t nl = (size_t)(ne - name), dl = (size_t)(de - drv);
	if (nl == 0 || nl >= sizeof s->name || dl == 0 || dl >= sizeof s->driver)
		return -1;
	for (const char *q = name; q < ne; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return -1;
	if (drv[0] == '.')
		return -1;
	for (const char *q = drv; q < de; q++)
		if ((*q < '0' || *q > '9') && *q != '.')
			return -1;
	long long mb = 0;
	const char *q = mem;
	for (; q < me && *q >= '0' && *q <= '9'; q++) {
		mb = mb * 10 + (*q - '0');
		if (mb > SMI_MEM_MAX)
			return -1;
	}
	if (q == mem || me - q != 4 || memcmp(q, " MiB", 4) != 0)
		return -1;
	memcpy(s->name, name, nl);
	s->name[nl] = '\0';
	memcpy(s->driver, drv, dl);
	s->driver[dl] = '\0';
	s->memory_mb = mb;
	return 0;
}

int fl_gpu_smi_parse(const char *text, size_t n, struct fl_gpu_smi *s)
{
	struct fl_gpu_smi first, other;
	memset(&first, 0, sizeof first);
	unsigned count = 0;
	for (size_t i = 0; i < n;) {
		const char *p = text + i, *nl = memchr(p, '\n', n - i);
		const char *e = nl ? nl : text + n;
		i = (size_t)(e - text) + 1;
		const char *te;
		const char *t = trim(p, e, &te);
		if (t == te)
			continue;
		/* Every line is one GPU: one that does not read as one makes the whole answer suspect. */
		if (parse_line(p, e, count ? &other : &first) < 0 || memchr(p, '\0', (size_t)(e - p)))
			goto bad;
		count++;
	}
	if (count == 0)
		goto bad;
	memcpy(s->name, first.name, sizeof s->name);
	memcpy(s->driver, first.driver, sizeof s->driver);
	s->memory_mb = first.memory_mb;
	s->count = count;
	return 0;
bad:
	s->name[0] = s->driver[0] = '\0';
	s->memory_mb = 0;
	s->count = 0;
	return -1;
}

/* nvidia-smi in PATH into out; -1 when none is executable. */
static int find_in_path(char *out, size_t n)
{
	const char *path = getenv("PATH");
	if (!path || !path[0])
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		int k = snprintf(out, n, "%.*s/nvidia-smi", (int)len, path);
		if (len > 0 && k > 0 && (size_t)k < n && access(out, X_OK) == 0)
			return 0;
		path += len + (path[len] == ':');
	}
	return -1;
}

/* The first non-empty line of out, control bytes as '?'. */
static void first_line(const char *out, char *dst, size_t n)
{
	out += strspn(out, " \t\r\n");
	size_t k = 0;
	for (; out[k] && out[k] != '\n' && out[k] != '\r' && k + 1 < n; k++)
		dst[k] = (unsigned char)out[k] < 0x20 || out[k] == 0x7f ? '?' : out[k];
	while (k > 0 && dst[k - 1] == ' ')
		k--;
	dst[k] = '\0';
}

void fl_gpu_smi_query(const struct fl_gpu_env *env, struct fl_gpu_smi *s)
{
	memset(s, 0, sizeof *s);
	s->status = -1;
	char smi[1024];
	if (env && env->nvidia_smi) {
		if (!env->nvidia_smi[0] || access(env->nvidia_smi, X_OK) < 0)
			return;
		snprintf(smi, sizeof smi, "%s", env->nvidia_smi);
	} else if (find_in_path(smi, sizeof smi) < 0) {
		return;
	}
	long timeout = env && env->timeout_ms > 0 ? env->timeout_ms : 60000;
	char *argv[] = {smi, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader", NULL};
	char **envp = fl_proc_env_build(NULL, NULL);
	struct fl_buf out = FL_BUF_INIT;
	struct fl_err e;
	fl_err_clear(&e);
	int r = fl_proc_capture(argv, envp, timeout, SMI_OUT_MAX, &out, &s->rc, &e);
	fl_proc_env_free(envp);
	s->status = 1;
	if (r < 0) {
		s->rc = -1;
		if (e.code == FL_EXIT_TIMEOUT)
			snprintf(s->output, sizeof s->output, "did not answer within %ld ms; killed it",
			         timeout);
		else
			memcpy(s->output, e.msg, sizeof s->output - 1); /* cut: it names the program first */
	} else if (s->rc != 0 || fl_gpu_smi_parse(out.data ? out.data : "", out.len, s) < 0) {
		first_line(fl_buf_str(&out), s->output, sizeof s->output);
		if (!s->output[0])
			snprintf(s->output, sizeof s->output, "no output");
	} else {
		s->status = 0;
	}
	fl_buf_free(&out);
}
