/* fl_gpu_container: daemon.json, CDI specs, docker flags, smoke test. (placeholder: helper container) */
#include "fl_gpu_container.h"

#include <string.h>

void fl_gpu_container_scan(const struct fl_gpu_env *env, struct fl_gpu_container *c)
{
	(void)env;
	memset(c, 0, sizeof *c);
}

int fl_gpu_container_parse_daemon(const char *text, size_t n, struct fl_gpu_container *c)
{
	(void)text, (void)n, (void)c;
	return -1;
}

bool fl_gpu_container_parse_cdi(const char *text, size_t n)
{
	(void)text, (void)n;
	return false;
}

void fl_gpu_container_flags(const struct fl_gpu_container *c, struct fl_argv *v)
{
	(void)c, (void)v;
}

int fl_gpu_container_smoke(const struct fl_gpu_env *env, const struct fl_gpu_container *c, int *code,
                           char *msg, size_t n)
{
	(void)env, (void)c, (void)msg, (void)n;
	*code = 1;
	return -1;
}
