/* fl_gpu_sys: sysfs and /proc under a root: NVIDIA PCI functions, modules, device nodes,
 * the host's IOMMU, udev and OpenNebula PCI filter, and pciutils' names for a device. */
#include "fl_gpu.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define GPU_UDEV_FILES_MAX 256 /* rules files looked at: a rules.d is a few dozen at most */
#define GPU_LINK_MAX       4096

/* Notes for the caller's msg: each appended after "; ", cut (never overflowing) when full. */
struct gpu_notes {
	char *msg;
	size_t n;
	int count;
};

static __attribute__((format(printf, 2, 3))) void gpu_note(struct gpu_notes *w, const char *fmt, ...)
{
	w->count++;
	if (!w->msg || !w->n)
		return;
	size_t used = strlen(w->msg);
	if (used + 1 >= w->n)
		return;
	if (used) {
		int k = snprintf(w->msg + used, w->n - used, "; ");
		used += k > 0 ? (size_t)k : 0;
		if (used + 1 >= w->n) {
			w->msg[w->n - 1] = '\0';
			return;
		}
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->msg + used, w->n - used, fmt, ap);
	va_end(ap);
}

int fl_gpu_path(const struct fl_gpu_env *env, const char *path, char *out, size_t n)
{
	const char *root = env && env->root && env->root[0] ? env->root : "";
	int k = snprintf(out, n, "%s%s", root, path);
	return k < 0 || (size_t)k >= n ? -1 : 0;
}

/* How gpu_read ended. */
enum { GPU_READ_OK = 0, GPU_READ_ABSENT = -1, GPU_READ_BAD = -2 };

/* The regular file at path read whole into buf (cap bytes, NUL added), its length in *len.
 * Never blocks: O_NONBLOCK and fstat refuse a FIFO or a device before any read. A file of
 * cap bytes or more is refused, not cut: a cut /proc file would read as different facts. */
static int gpu_read(const char *path, bool nofollow, char *buf, size_t cap, size_t *len, struct gpu_notes *w)
{
	*len = 0;
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return GPU_READ_ABSENT;
		gpu_note(w, "%s: cannot open: %s", path, strerror(errno));
		return GPU_READ_BAD;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		gpu_note(w, "%s: not a regular file: not read", path);
		close(fd);
		return GPU_READ_BAD;
	}
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			gpu_note(w, "%s: cannot read: %s", path, strerror(errno));
			close(fd);
			return GPU_READ_BAD;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == cap) {
			gpu_note(w, "%s: larger than %zu bytes: not read", path, cap - 1);
			close(fd);
			return GPU_READ_BAD;
		}
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return GPU_READ_OK;
}

/* The basename of the link at path into out: 0, -1 no link, -2 unreadable or too long. */
static int gpu_link_base(const char *path, char *out, size_t n)
{
	char t[GPU_LINK_MAX];
	ssize_t k = readlink(path, t, sizeof t);
	if (k < 0)
		return errno == ENOENT || errno == ENOTDIR ? -1 : -2;
	if ((size_t)k >= sizeof t)
		return -2;
	t[k] = '\0';
	while (k > 1 && t[k - 1] == '/')
		t[--k] = '\0';
	const char *b = strrchr(t, '/');
	b = b ? b + 1 : t;
	size_t bl = strlen(b);
	if (bl == 0 || bl >= n)
		return -2;
	memcpy(out, b, bl + 1);
	return 0;
}

/* A decimal in [0, INT_MAX] made of s only: 0, or -1. */
static int gpu_parse_uint(const char *s, size_t n, int *out)
{
	if (n == 0 || n > 10)
		return -1;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

int fl_gpu_parse_hex(const char *text, size_t n, unsigned *out)
{
	if (n && text[n - 1] == '\n')
		n--;
	if (n >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
		text += 2, n -= 2;
	if (n == 0)
		return -1;
	unsigned long long v = 0;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		v = v * 16 + d;
		if (v > 0xffffffffULL)
			return -1;
	}
	*out = (unsigned)v;
	return 0;
}

void fl_gpu_parse_modules(const char *text, size_t n, struct fl_gpu_sys *s)
{
	static const struct {
		const char *name;
		size_t off;
	} want[] = {
	    {"nvidia ", offsetof(struct fl_gpu_sys, module_nvidia)},
	    {"vfio_pci ", offsetof(struct fl_gpu_sys, module_vfio_pci)},
	    {"nouveau ", offsetof(struct fl_gpu_sys, module_nouveau)},
	};
	size_t i = 0;
	while (i < n) {
		const char *line = text + i;
		const char *nl = memchr(line, '\n', n - i);
		size_t len = nl ? (size_t)(nl - line) : n - i;
		for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
			size_t wl = strlen(want[k].name);
			if (len >= wl && memcmp(line, want[k].name, wl) == 0)
				*(bool *)((char *)s + want[k].off) = true;
		}
		i += len + 1;
	}
}

/* A version: [0-9]+(\.[0-9]+)+, all of t. */
static bool gpu_is_version(const char *t, size_t n)
{
	bool digit = false;
	int dots = 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i] >= '0' && t[i] <= '9')
			digit = true;
		else if (t[i] == '.' && digit)
			digit = false, dots++;
		else
			return false;
	}
	return digit && dots > 0;
}

int fl_gpu_parse_nvrm_version(const char *text, size_t n, char *out, size_t outn)
{
	static const char tag[] = "NVRM version:", km[] = "Kernel Module";
	if (outn)
		out[0] = '\0';
	size_t i = 0;
	while (i < n) {
		const char *line = text + i;
		const char *nl = memchr(line, '\n', n - i);
		size_t len = nl ? (size_t)(nl - line) : n - i;
		i += len + 1;
		if (len < sizeof tag - 1 || memcmp(line, tag, sizeof tag - 1) != 0)
			continue;
		const char *k = memmem(line, len, km, sizeof km - 1);
		if (!k)
			return -1;
		const char *p = k + sizeof km - 1, *end = line + len;
		/* The open module puts "for x86_64" before the version: the first token that is one. */
		while (p < end) {
			while (p < end && (*p == ' ' || *p == '\t'))
				p++;
			const char *t = p;
			while (p < end && *p != ' ' && *p != '\t')
				p++;
			size_t tl = (size_t)(p - t);
			if (tl && gpu_is_version(t, tl)) {
				if (tl >= outn)
					return -1;
				memcpy(out, t, tl);
				out[tl] = '\0';
				return 0;
			}
		}
		return -1;
	}
	return -1;
}

bool fl_gpu_parse_cmdline(const char *text, size_t n)
{
	/* The kernel reads its parameters in order: a later intel_iommu=off undoes an earlier on. */
	static const char *const keys[] = {"intel_iommu=", "amd_iommu=", "iommu="};
	bool on[3] = {false, false, false};
	size_t i = 0;
	while (i < n) {
		while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n'))
			i++;
		const char *t = text + i;
		while (i < n && text[i] != ' ' && text[i] != '\t' && text[i] != '\n')
			i++;
		size_t tl = (size_t)(text + i - t);
		for (size_t k = 0; k < 3; k++) {
			size_t kl = strlen(keys[k]);
			if (tl < kl || memcmp(t, keys[k], kl) != 0)
				continue;
			/* intel_iommu=on,sm_on: options separated by commas. */
			on[k] = false;
			for (const char *v = t + kl, *end = t + tl; v < end;) {
				const char *c = memchr(v, ',', (size_t)(end - v));
				size_t vl = c ? (size_t)(c - v) : (size_t)(end - v);
				if (vl == 2 && memcmp(v, "on", 2) == 0)
					on[k] = true;
				v += vl + 1;
			}
		}
	}
	return on[0] || on[1] || on[2];
}

bool fl_gpu_pci_is_gpu(const struct fl_gpu_pci *p)
{
	return (p->class_code >> 16) == 0x03;
}

bool fl_gpu_pci_is_audio(const struct fl_gpu_pci *p)
{
	return (p->class_code >> 8) == 0x0403;
}

/* A scan's working state: the environment, one read buffer, the notes. */
struct gpu_scan {
	const struct fl_gpu_env *env;
	char *buf; /* FL_GPU_FILE_MAX + 1 */
	size_t len;
	struct gpu_notes w;
	int failed; /* something that should be readable was not */
};

/* Read ROOT+rel (printf-formed) into sc->buf: GPU_READ_*. */
static __attribute__((format(printf, 3, 4))) int gpu_read_at(struct gpu_scan *sc, bool nofollow,
                                                             const char *fmt, ...)
{
	char rel[PATH_MAX], path[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof rel || fl_gpu_path(sc->env, rel, path, sizeof path) < 0) {
		gpu_note(&sc->w, "%.64s...: path too long", rel);
		return GPU_READ_BAD;
	}
	return gpu_read(path, nofollow, sc->buf, FL_GPU_FILE_MAX + 1, &sc->len, &sc->w);
}

/* An attribute's value as a message may show it: its first 16 bytes without the newline, in
 * place; "(binary)" when it holds a control byte. */
static const char *gpu_shown(char *buf, size_t len)
{
	if (len && buf[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] >= 0x7f)
			return "(binary)";
	buf[len < 16 ? len : 16] = '\0';
	return buf;
}

/* A hex attribute of the function: 0, or -1 (noted) when it is absent, unreadable or garbage. */
static int gpu_pci_hex(struct gpu_scan *sc, const char *bdf, const char *attr, unsigned *out)
{
	int r = gpu_read_at(sc, true, "/sys/bus/pci/devices/%s/%s", bdf, attr);
	if (r == GPU_READ_ABSENT)
		gpu_note(&sc->w, "%s: no %s attribute: function skipped", bdf, attr);
	if (r != GPU_READ_OK)
		return -1;
	if (fl_gpu_parse_hex(sc->buf, sc->len, out) < 0) {
		gpu_note(&sc->w, "%s: %s is not a hex number ('%s'): function skipped", bdf, attr,
		         gpu_shown(sc->buf, sc->len));
		return -1;
	}
	return 0;
}

/* A module name as the kernel writes it: a driver link naming anything else is not trusted. */
static bool gpu_is_driver_name(const char *s)
{
	return s[0] &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == strlen(s);
}

/* The driver, IOMMU group and NUMA node of an NVIDIA function: 0, or -1 to skip it. */
static int gpu_pci_links(struct gpu_scan *sc, struct fl_gpu_pci *p)
{
	char rel[128], path[PATH_MAX], base[256];
	snprintf(rel, sizeof rel, "/sys/bus/pci/devices/%s/driver", p->bdf);
	if (fl_gpu_path(sc->env, rel, path, sizeof path) < 0)
		return -1;
	int r = gpu_link_base(path, base, sizeof base);
	if (r == -2 || (r == 0 && (strlen(base) >= sizeof p->driver || !gpu_is_driver_name(base)))) {
		gpu_note(&sc->w, "%s: the driver link is not a driver's name: function skipped", p->bdf);
		return -1;
	}
	if (r == 0)
		memcpy(p->driver, base, strlen(base) + 1);

	p->iommu_group = -1;
	snprintf(rel, sizeof rel, "/sys/bus/pci/devices/%s/iommu_group", p->bdf);
	if (fl_gpu_path(sc->env, rel, path, sizeof path) < 0)
		return -1;
	r = gpu_link_base(path, base, sizeof base);
	if (r == -2 || (r == 0 && gpu_parse_uint(base, strlen(base), &p->iommu_group) < 0)) {
		p->iommu_group = -1;
		gpu_note(&sc->w, "%s: the iommu_group link does not name a group: group unknown", p->bdf);
	}

	p->numa_node = -1;
	r = gpu_read_at(sc, true, "/sys/bus/pci/devices/%s/numa_node", p->bdf);
	if (r == GPU_READ_OK) {
		size_t n = sc->len && sc->buf[sc->len - 1] == '\n' ? sc->len - 1 : sc->len;
		if (!(n == 2 && memcmp(sc->buf, "-1", 2) == 0) &&
		    gpu_parse_uint(sc->buf, n, &p->numa_node) < 0) {
			p->numa_node = -1;
			gpu_note(&sc->w, "%s: numa_node is not a number: node unknown", p->bdf);
		}
	}
	return 0;
}

/* Keep p among the FL_GPU_PCI_MAX lowest addresses, in order: more is truncated. */
static void gpu_pci_insert(struct fl_gpu_sys *s, const struct fl_gpu_pci *p)
{
	size_t at = s->npci;
	while (at > 0 && strcmp(s->pci[at - 1].bdf, p->bdf) > 0)
		at--;
	if (s->npci == FL_GPU_PCI_MAX) {
		s->truncated = true;
		if (at == FL_GPU_PCI_MAX)
			return;
		s->npci--;
	}
	memmove(&s->pci[at + 1], &s->pci[at], (s->npci - at) * sizeof s->pci[0]);
	s->pci[at] = *p;
	s->npci++;
}

/* Read one entry of /sys/bus/pci/devices into p: 1 an NVIDIA function, 0 another, -1 skipped. */
static int gpu_pci_read(struct gpu_scan *sc, const char *name, struct fl_gpu_pci *p)
{
	memset(p, 0, sizeof *p);
	if (strlen(name) >= sizeof p->bdf) {
		gpu_note(&sc->w, "%.32s...: not a PCI address: skipped", name);
		return -1;
	}
	memcpy(p->bdf, name, strlen(name) + 1);
	if (gpu_pci_hex(sc, name, "vendor", &p->vendor) < 0)
		return -1;
	if (p->vendor != FL_GPU_VENDOR_NVIDIA)
		return 0;
	if (gpu_pci_hex(sc, name, "device", &p->device) < 0 ||
	    gpu_pci_hex(sc, name, "class", &p->class_code) < 0)
		return -1;
	p->class_code &= 0xffffff;
	if (gpu_pci_links(sc, p) < 0)
		return -1;
	return 1;
}

static void gpu_scan_pci(struct gpu_scan *sc, struct fl_gpu_sys *s)
{
	char path[PATH_MAX];
	if (fl_gpu_path(sc->env, "/sys/bus/pci/devices", path, sizeof path) < 0) {
		gpu_note(&sc->w, "the root is too long a path");
		sc->failed = 1;
		return;
	}
	DIR *d = opendir(path);
	if (!d) {
		if (errno != ENOENT) {
			gpu_note(&sc->w, "%s: cannot list: %s", path, strerror(errno));
			sc->failed = 1;
		}
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct fl_gpu_pci p;
		if (gpu_pci_read(sc, de->d_name, &p) == 1)
			gpu_pci_insert(s, &p);
	}
	closedir(d);
	for (size_t i = 0; i < s->npci; i++)
		s->ngpu += fl_gpu_pci_is_gpu(&s->pci[i]);
	if (s->truncated)
		gpu_note(&sc->w, "more than %d NVIDIA PCI functions: the first %d by address kept",
		         FL_GPU_PCI_MAX, FL_GPU_PCI_MAX);
}

static void gpu_scan_modules(struct gpu_scan *sc, struct fl_gpu_sys *s)
{
	int r = gpu_read_at(sc, true, "/proc/modules");
	if (r == GPU_READ_OK)
		fl_gpu_parse_modules(sc->buf, sc->len, s);
	else if (r == GPU_READ_BAD)
		sc->failed = 1;
	/* A module may be built in (no /proc/modules line) yet running: its version file says so. */
	r = gpu_read_at(sc, true, "/proc/driver/nvidia/version");
	if (r == GPU_READ_OK &&
	    fl_gpu_parse_nvrm_version(sc->buf, sc->len, s->module_version, sizeof s->module_version) < 0)
		gpu_note(&sc->w,
		         "/proc/driver/nvidia/version: no 'NVRM version: ... Kernel Module N.N' line");
}

/* /dev/nvidia followed by digits only (not nvidiactl, nvidia-uvm, nvidia-modeset). */
static bool gpu_is_dev_gpu(const char *name)
{
	if (strncmp(name, "nvidia", 6) != 0)
		return false;
	size_t n = strlen(name + 6);
	return n > 0 && strspn(name + 6, "0123456789") == n;
}

static void gpu_scan_dev(struct gpu_scan *sc, struct fl_gpu_sys *s)
{
	char path[PATH_MAX];
	struct stat st;
	if (fl_gpu_path(sc->env, "/dev/nvidiactl", path, sizeof path) == 0 && stat(path, &st) == 0) {
		s->dev_ctl = true;
		if (faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) < 0)
			s->dev_errno = errno;
	}
	if (fl_gpu_path(sc->env, "/dev", path, sizeof path) < 0)
		return;
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (gpu_is_dev_gpu(de->d_name) && s->dev_gpus < INT_MAX)
			s->dev_gpus++;
	closedir(d);
}

/* Entries of a directory (not . and ..); -1 when it cannot be listed. */
static int gpu_count_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && n < INT_MAX)
			n++;
	closedir(d);
	return n;
}

/* A rules file of /etc/udev/rules.d gives the vfio devices to a group. */
static bool gpu_scan_udev(struct gpu_scan *sc)
{
	char path[PATH_MAX];
	if (fl_gpu_path(sc->env, "/etc/udev/rules.d", path, sizeof path) < 0)
		return false;
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool found = false;
	int seen = 0;
	struct dirent *de;
	while (!found && seen < GPU_UDEV_FILES_MAX && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		seen++;
		/* A rules file may be a link (to /dev/null to mask one): follow it, read only a file. */
		if (gpu_read_at(sc, false, "/etc/udev/rules.d/%s", de->d_name) == GPU_READ_OK)
			found = memmem(sc->buf, sc->len, "SUBSYSTEM==\"vfio\"", 17) != NULL;
	}
	closedir(d);
	return found;
}

/* OpenNebula's PCI filter names NVIDIA's vendor id outside a comment (the shipped file has
 * '10de:*' in a commented example). 1, 0, or -1 when there is no file. */
static int gpu_scan_pci_filter(struct gpu_scan *sc)
{
	int r = gpu_read_at(sc, false, "/var/lib/one/remotes/etc/im/kvm-probes.d/pci.conf");
	if (r != GPU_READ_OK)
		return r == GPU_READ_ABSENT ? -1 : 0;
	bool comment = false;
	for (size_t i = 0; i + 4 <= sc->len; i++) {
		char c = sc->buf[i];
		if (c == '\n')
			comment = false;
		else if (c == '#')
			comment = true;
		else if (!comment && strncasecmp(sc->buf + i, "10de", 4) == 0)
			return 1;
	}
	return 0;
}

static void gpu_scan_host(struct gpu_scan *sc, struct fl_gpu_sys *s)
{
	if (gpu_read_at(sc, true, "/proc/cmdline") == GPU_READ_OK)
		s->iommu_cmdline = fl_gpu_parse_cmdline(sc->buf, sc->len);
	char path[PATH_MAX];
	s->iommu_groups = -1;
	if (fl_gpu_path(sc->env, "/sys/kernel/iommu_groups", path, sizeof path) == 0)
		s->iommu_groups = gpu_count_dir(path);
	s->vfio_udev = gpu_scan_udev(sc);
	s->pci_filter = gpu_scan_pci_filter(sc);
}

int fl_gpu_sys_scan(const struct fl_gpu_env *env, struct fl_gpu_sys *s, char *msg, size_t n)
{
	memset(s, 0, sizeof *s);
	s->iommu_groups = -1;
	s->pci_filter = -1;
	if (msg && n)
		msg[0] = '\0';
	struct gpu_scan sc = {.env = env, .w = {msg, n, 0}};
	sc.buf = malloc(FL_GPU_FILE_MAX + 1);
	if (!sc.buf) {
		gpu_note(&sc.w, "out of memory");
		return -1;
	}
	gpu_scan_pci(&sc, s);
	gpu_scan_modules(&sc, s);
	gpu_scan_dev(&sc, s);
	gpu_scan_host(&sc, s);
	free(sc.buf);
	return sc.failed || sc.w.count ? -1 : 0;
}

/* pci.ids: a line's 4 hex digits then two spaces; 0 with the name's start, -1 otherwise. */
static int gpu_ids_entry(const char *line, unsigned *id, const char **name)
{
	for (int i = 0; i < 4; i++)
		if (!line[i] || !strchr("0123456789abcdefABCDEF", line[i]))
			return -1;
	if (line[4] != ' ' || line[5] != ' ')
		return -1;
	if (fl_gpu_parse_hex(line, 4, id) < 0)
		return -1;
	*name = line + 6;
	return 0;
}

/* Copy a name from pci.ids without its newline, control bytes as '?'. */
static void gpu_ids_name(char *out, size_t n, const char *s)
{
	size_t i = 0;
	for (; s[i] && s[i] != '\n' && i + 1 < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[i] = '\0';
}

/* Open pci.ids under the root, pciutils' place first, then hwdata's; NULL when neither. */
static FILE *gpu_ids_open(const struct fl_gpu_env *env)
{
	static const char *const where[] = {"/usr/share/misc/pci.ids", "/usr/share/hwdata/pci.ids"};
	for (size_t i = 0; i < 2; i++) {
		char path[PATH_MAX];
		if (fl_gpu_path(env, where[i], path, sizeof path) < 0)
			continue;
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct stat st;
		FILE *f = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fdopen(fd, "r") : NULL;
		if (f)
			return f;
		close(fd);
	}
	return NULL;
}

int fl_gpu_pci_name(const struct fl_gpu_env *env, unsigned vendor, unsigned device, char *out, size_t n)
{
	char vname[128] = "", dname[128] = "";
	FILE *f = gpu_ids_open(env);
	if (f) {
		char line[256];
		bool in_vendor = false, whole = true;
		while (!dname[0] && fgets(line, sizeof line, f)) {
			/* A line longer than the buffer is no entry: its rest is read and dropped. */
			bool starts = whole;
			whole = strchr(line, '\n') != NULL || feof(f);
			if (!starts || !whole)
				continue;
			unsigned id;
			const char *name;
			if (line[0] == '#' || line[0] == '\n')
				continue;
			if (line[0] != '\t') {
				if (in_vendor)
					break;
				if (gpu_ids_entry(line, &id, &name) == 0 && id == vendor) {
					in_vendor = true;
					gpu_ids_name(vname, sizeof vname, name);
				}
			} else if (in_vendor && line[1] != '\t' && gpu_ids_entry(line + 1, &id, &name) == 0 &&
			           id == device) {
				gpu_ids_name(dname, sizeof dname, name);
			}
		}
		fclose(f);
	}
	if (vname[0] && dname[0]) {
		snprintf(out, n, "%s %s", vname, dname);
		return 0;
	}
	snprintf(out, n, "%s device %04x:%04x", vendor == FL_GPU_VENDOR_NVIDIA ? "NVIDIA" : "PCI", vendor,
	         device);
	return -1;
}
