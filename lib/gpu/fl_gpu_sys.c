/* fl_gpu_sys: sysfs and /proc under a root: NVIDIA PCI functions, modules, device nodes,
 * the host's IOMMU, udev and OpenNebula PCI filter. (placeholder: helper sysfs) */
#include "fl_gpu.h"

#include <stdio.h>
#include <string.h>

int fl_gpu_path(const struct fl_gpu_env *env, const char *path, char *out, size_t n)
{
	const char *root = env && env->root && env->root[0] ? env->root : "";
	int k = snprintf(out, n, "%s%s", root, path);
	return k < 0 || (size_t)k >= n ? -1 : 0;
}

int fl_gpu_sys_scan(const struct fl_gpu_env *env, struct fl_gpu_sys *s, char *msg, size_t n)
{
	(void)env, (void)msg, (void)n;
	memset(s, 0, sizeof *s);
	s->iommu_groups = -1;
	s->pci_filter = -1;
	return 0;
}

void fl_gpu_parse_modules(const char *text, size_t n, struct fl_gpu_sys *s)
{
	(void)text, (void)n, (void)s;
}

int fl_gpu_parse_nvrm_version(const char *text, size_t n, char *out, size_t outn)
{
	(void)text, (void)n, (void)out, (void)outn;
	return -1;
}

int fl_gpu_parse_hex(const char *text, size_t n, unsigned *out)
{
	(void)text, (void)n, (void)out;
	return -1;
}

bool fl_gpu_parse_cmdline(const char *text, size_t n)
{
	(void)text, (void)n;
	return false;
}

bool fl_gpu_pci_is_gpu(const struct fl_gpu_pci *p)
{
	return (p->class_code >> 16) == 0x03;
}

bool fl_gpu_pci_is_audio(const struct fl_gpu_pci *p)
{
	return (p->class_code >> 8) == 0x0403;
}
