/* test_gpu_sys: fl_gpu_sys_scan on every fixture tree of test/fixtures/gpu and on hostile trees
 * built at run time (a FIFO, oversized and garbage attributes, long and dangling links, more
 * functions than kept), the parsers of /proc/modules, the NVRM version and the kernel command
 * line, and pci.ids names. */
#include "fl_gpu.h"
#include "unit.h"
#include "unit_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIX "test/fixtures/gpu/"

static struct fl_gpu_sys s;
static char msg[1024];

static int scan_root(const char *root)
{
	struct fl_gpu_env env = {.root = root};
	return fl_gpu_sys_scan(&env, &s, msg, sizeof msg);
}

/* --- the fixture trees --- */

static void test_none(void)
{
	CHECK_INT(scan_root(FIX "none"), 0, "none: scans clean");
	CHECK_STR(msg, "", "none: nothing to say");
	CHECK_INT(s.npci, 0, "none: the Intel VGA function is not kept");
	CHECK_INT(s.ngpu, 0, "none: no GPU");
	CHECK(!s.module_nvidia && !s.module_vfio_pci && !s.module_nouveau, "none: no module of interest");
	CHECK_STR(s.module_version, "", "none: no module version");
	CHECK(!s.dev_ctl && s.dev_gpus == 0, "none: no device nodes");
	CHECK(!s.iommu_cmdline && s.iommu_groups == -1, "none: no IOMMU");
	CHECK(!s.vfio_udev && s.pci_filter == -1, "none: no udev rule, no OpenNebula filter");
}

static void test_h100(void)
{
	CHECK_INT(scan_root(FIX "h100"), 0, "h100: scans clean");
	CHECK_STR(msg, "", "h100: nothing to say");
	CHECK_INT(s.npci, 1, "h100: one NVIDIA function");
	CHECK_INT(s.ngpu, 1, "h100: one GPU");
	CHECK(!s.truncated, "h100: not truncated");
	struct fl_gpu_pci *p = &s.pci[0];
	CHECK_STR(p->bdf, "0000:e1:00.0", "h100: its address");
	CHECK_INT(p->vendor, 0x10de, "h100: vendor");
	CHECK_INT(p->device, 0x2330, "h100: device");
	CHECK_INT(p->class_code, 0x030200, "h100: 3D controller");
	CHECK(fl_gpu_pci_is_gpu(p) && !fl_gpu_pci_is_audio(p), "h100: a GPU, not audio");
	CHECK_STR(p->driver, "nvidia", "h100: bound to nvidia");
	CHECK_INT(p->iommu_group, 12, "h100: iommu group 12");
	CHECK_INT(p->numa_node, 0, "h100: numa node 0");
	CHECK(s.module_nvidia, "h100: nvidia loaded");
	CHECK(!s.module_vfio_pci && !s.module_nouveau, "h100: no vfio_pci, no nouveau");
	CHECK_STR(s.module_version, "550.54.15", "h100: module version");
	CHECK(s.dev_ctl, "h100: /dev/nvidiactl");
	CHECK_INT(s.dev_gpus, 1, "h100: /dev/nvidia0 counted, nvidia-uvm and nvidiactl not");
	CHECK_INT(s.dev_errno, 0, "h100: nvidiactl is readable and writable");
	CHECK(!s.iommu_cmdline, "h100: a guest's cmdline turns no IOMMU on");
	CHECK_INT(s.iommu_groups, 1, "h100: one iommu group");
}

static void test_two_gpus(void)
{
	CHECK_INT(scan_root(FIX "two-gpus"), 0, "two-gpus: scans clean");
	CHECK_INT(s.npci, 2, "two-gpus: two functions");
	CHECK_INT(s.ngpu, 2, "two-gpus: two GPUs");
	CHECK_STR(s.pci[0].bdf, "0000:41:00.0", "two-gpus: first by address");
	CHECK_STR(s.pci[1].bdf, "0000:c1:00.0", "two-gpus: second by address");
	CHECK_INT(s.pci[0].device, 0x20b0, "two-gpus: A100");
	CHECK_INT(s.pci[1].device, 0x20b0, "two-gpus: A100 too");
	CHECK_INT(s.pci[0].iommu_group, 20, "two-gpus: group 20");
	CHECK_INT(s.pci[1].iommu_group, 21, "two-gpus: group 21");
	CHECK_INT(s.pci[0].numa_node, 0, "two-gpus: numa 0");
	CHECK_INT(s.pci[1].numa_node, 1, "two-gpus: numa 1");
	CHECK_STR(s.pci[0].driver, "nvidia", "two-gpus: first on nvidia");
	CHECK_STR(s.pci[1].driver, "nvidia", "two-gpus: second on nvidia");
	CHECK_INT(s.dev_gpus, 2, "two-gpus: /dev/nvidia0 and 1");
	CHECK(s.module_nvidia && s.dev_ctl, "two-gpus: module and nvidiactl");
}

static void test_vfio(void)
{
	CHECK_INT(scan_root(FIX "vfio"), 0, "vfio: scans clean");
	CHECK_STR(msg, "", "vfio: nothing to say");
	CHECK_INT(s.npci, 2, "vfio: GPU and its audio function");
	CHECK_INT(s.ngpu, 1, "vfio: one GPU");
	CHECK_STR(s.pci[0].bdf, "0000:e1:00.0", "vfio: the GPU first");
	CHECK_STR(s.pci[1].bdf, "0000:e1:00.1", "vfio: then its audio");
	CHECK(fl_gpu_pci_is_audio(&s.pci[1]) && !fl_gpu_pci_is_gpu(&s.pci[1]), "vfio: .1 is audio");
	CHECK_STR(s.pci[0].driver, "vfio-pci", "vfio: GPU on vfio-pci");
	CHECK_STR(s.pci[1].driver, "vfio-pci", "vfio: audio on vfio-pci");
	CHECK(s.pci[0].iommu_group == 12 && s.pci[1].iommu_group == 12, "vfio: one group, 12");
	CHECK(s.module_vfio_pci && !s.module_nvidia && !s.module_nouveau, "vfio: vfio_pci only");
	CHECK_STR(s.module_version, "", "vfio: no nvidia version");
	CHECK(!s.dev_ctl && s.dev_gpus == 0, "vfio: no nvidia nodes");
	CHECK(s.iommu_cmdline, "vfio: intel_iommu=on");
	CHECK_INT(s.iommu_groups, 13, "vfio: groups 0..12");
	CHECK(s.vfio_udev, "vfio: udev rule for vfio");
	CHECK_INT(s.pci_filter, 1, "vfio: pci.conf filters 10de");
}

static void test_nouveau(void)
{
	CHECK_INT(scan_root(FIX "nouveau"), 0, "nouveau: scans clean");
	CHECK_INT(s.ngpu, 1, "nouveau: one GPU");
	CHECK_STR(s.pci[0].driver, "nouveau", "nouveau: bound to nouveau");
	CHECK(s.module_nouveau && !s.module_nvidia, "nouveau: nouveau loaded, nvidia not");
}

static void test_audio(void)
{
	CHECK_INT(scan_root(FIX "audio"), 0, "audio: scans clean");
	CHECK_INT(s.npci, 2, "audio: two functions");
	CHECK_INT(s.ngpu, 1, "audio: one GPU");
	CHECK_STR(s.pci[0].driver, "nvidia", "audio: GPU on nvidia");
	CHECK_STR(s.pci[1].driver, "snd_hda_intel", "audio: audio on snd_hda_intel");
	CHECK_INT(s.pci[1].class_code, 0x040300, "audio: class 0x040300");
	CHECK_INT(s.dev_gpus, 1, "audio: one /dev/nvidiaN");
}

static void test_no_devnodes(void)
{
	CHECK_INT(scan_root(FIX "no-devnodes"), 0, "no-devnodes: scans clean");
	CHECK(s.module_nvidia && s.ngpu == 1, "no-devnodes: module and GPU");
	CHECK_STR(s.pci[0].driver, "nvidia", "no-devnodes: bound to nvidia");
	CHECK(!s.dev_ctl && s.dev_gpus == 0, "no-devnodes: no nodes");
}

static void test_no_driver(void)
{
	CHECK_INT(scan_root(FIX "no-driver"), 0, "no-driver: scans clean");
	CHECK(s.module_nvidia && s.ngpu == 1, "no-driver: module and GPU");
	CHECK_STR(s.pci[0].driver, "", "no-driver: bound to nothing");
	CHECK_INT(s.dev_gpus, 0, "no-driver: no /dev/nvidiaN");
}

static void test_no_module(void)
{
	CHECK_INT(scan_root(FIX "no-module"), 0, "no-module: scans clean");
	CHECK(!s.module_nvidia && s.ngpu == 1, "no-module: GPU, no module");
	CHECK_STR(s.pci[0].driver, "", "no-module: bound to nothing");
	CHECK_STR(s.module_version, "", "no-module: no version");
}

static void test_hosts(void)
{
	CHECK_INT(scan_root(FIX "host-noiommu"), 0, "host-noiommu: scans clean");
	CHECK(!s.iommu_cmdline, "host-noiommu: no iommu on the cmdline");
	CHECK_INT(s.iommu_groups, -1, "host-noiommu: no iommu_groups directory");
	CHECK_INT(s.pci[0].iommu_group, -1, "host-noiommu: the GPU has no group");
	CHECK_STR(s.pci[0].driver, "", "host-noiommu: GPU unbound");

	CHECK_INT(scan_root(FIX "host-warn"), 0, "host-warn: scans clean");
	CHECK(s.iommu_cmdline && s.iommu_groups == 13, "host-warn: IOMMU on, 13 groups");
	CHECK_STR(s.pci[0].driver, "vfio-pci", "host-warn: GPU on vfio-pci");
	CHECK(!s.module_vfio_pci, "host-warn: vfio_pci not in /proc/modules");
	CHECK(!s.vfio_udev, "host-warn: no udev rule");
	CHECK_INT(s.pci_filter, 1, "host-warn: pci.conf filters 10de");

	CHECK_INT(scan_root(FIX "host-nouveau"), 0, "host-nouveau: scans clean");
	CHECK(s.iommu_cmdline && s.iommu_groups == 13 && s.module_vfio_pci, "host-nouveau: IOMMU and vfio");
	CHECK_STR(s.pci[0].driver, "nouveau", "host-nouveau: GPU on nouveau");
	CHECK(s.module_nouveau && s.vfio_udev, "host-nouveau: nouveau loaded, udev rule there");
}

static void test_no_root(void)
{
	CHECK_INT(scan_root(FIX "does-not-exist"), 0, "a root with nothing is no GPU, not an error");
	CHECK(s.npci == 0 && !s.module_nvidia && s.iommu_groups == -1 && s.pci_filter == -1,
	      "a root with nothing: every fact absent");
}

/* --- hostile trees, built in the scratch directory --- */

static char root[256];

static void mkdirs(const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	for (char *q = p + strlen(root) + 1; *q; q++)
		if (*q == '/') {
			*q = '\0';
			mkdir(p, 0755);
			*q = '/';
		}
	mkdir(p, 0755);
}

static void put(const char *rel, const void *data, size_t n)
{
	char p[PATH_MAX], d[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	snprintf(d, sizeof d, "%s", rel);
	char *slash = strrchr(d, '/');
	if (slash) {
		*slash = '\0';
		mkdirs(d);
	}
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		abort();
	close(fd);
}

static void puts_(const char *rel, const char *text)
{
	put(rel, text, strlen(text));
}

static void link_(const char *rel, const char *target)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	unlink(p);
	if (symlink(target, p) < 0)
		abort();
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(p);
}

/* A fresh root holding one NVIDIA function at bdf (vendor, device, class as given). */
static void fresh(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	mkdir(root, 0755);
	mkdirs("sys/bus/pci/devices");
}

static void function(const char *bdf, const char *vendor, const char *device, const char *class_)
{
	char rel[256];
	snprintf(rel, sizeof rel, "sys/bus/pci/devices/%s/vendor", bdf);
	puts_(rel, vendor);
	snprintf(rel, sizeof rel, "sys/bus/pci/devices/%s/device", bdf);
	puts_(rel, device);
	snprintf(rel, sizeof rel, "sys/bus/pci/devices/%s/class", bdf);
	puts_(rel, class_);
}

static void test_fifo_vendor(void)
{
	fresh();
	function("0000:01:00.0", "0x10de\n", "0x2330\n", "0x030200\n");
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/sys/bus/pci/devices/0000:01:00.0/vendor", root);
	unlink(p);
	CHECK(mkfifo(p, 0644) == 0, "a FIFO as vendor: made");
	function("0000:02:00.0", "0x10de\n", "0x2330\n", "0x030200\n");
	/* A hang here is the failure: the FIFO has no writer. */
	CHECK_INT(scan_root(root), -1, "a FIFO as vendor: the scan says so");
	CHECK_INT(s.npci, 1, "a FIFO as vendor: that function skipped, the other kept");
	CHECK_STR(s.pci[0].bdf, "0000:02:00.0", "a FIFO as vendor: the good one kept");
	CHECK(strstr(msg, "0000:01:00.0/vendor: not a regular file") != NULL,
	      "a FIFO as vendor: msg names it");
}

static void test_oversized(void)
{
	fresh();
	size_t n = FL_GPU_FILE_MAX + 10;
	char *big = malloc(n);
	memset(big, '0', n);
	big[0] = '0', big[1] = 'x';
	function("0000:01:00.0", "0x10de\n", "0x2330\n", "0x030200\n");
	put("sys/bus/pci/devices/0000:01:00.0/device", big, n);
	CHECK_INT(scan_root(root), -1, "an oversized device attribute: the scan says so");
	CHECK_INT(s.npci, 0, "an oversized device attribute: function skipped");
	CHECK(strstr(msg, "larger than 65536 bytes") != NULL, "an oversized attribute: msg says so");
	/* Exactly the limit is still read. */
	fresh();
	function("0000:01:00.0", "0x10de\n", "0x2330\n", "0x030200\n");
	memset(big, 'z', FL_GPU_FILE_MAX);
	put("sys/bus/pci/devices/0000:01:00.0/device", big, FL_GPU_FILE_MAX);
	scan_root(root);
	CHECK(strstr(msg, "larger than") == NULL, "a file of exactly FL_GPU_FILE_MAX bytes is read");
	CHECK(strstr(msg, "device is not a hex number") != NULL, "and then found not to be a number");
	free(big);

	fresh();
	function("0000:01:00.0", "0x10de\n", "0x2330\n", "0x030200\n");
	big = malloc(FL_GPU_FILE_MAX * 2);
	memset(big, 'x', FL_GPU_FILE_MAX * 2);
	put("proc/modules", big, FL_GPU_FILE_MAX * 2);
	free(big);
	CHECK_INT(scan_root(root), -1, "an oversized /proc/modules: the scan says so");
	CHECK(!s.module_nvidia && s.npci == 1, "an oversized /proc/modules: no module, the GPU still seen");
	CHECK(strstr(msg, "proc/modules: larger than") != NULL, "an oversized /proc/modules: msg says so");
}

static void test_garbage(void)
{
	fresh();
	function("0000:01:00.0", "0x10de\n", "0xzz30\n", "0x030200\n");
	function("0000:02:00.0", "0x10de", "0x2330", "0x030200"); /* no newline: fine */
	function("0000:03:00.0", "0x10de\n", "0x123456789\n", "0x030200\n");
	function("0000:04:00.0", "\n", "0x2330\n", "0x030200\n");
	function("0000:05:00.0", "0x10de\n", "0x2330\n", "0x03\0200\n");
	function("0000:06:00.0", "0x10de\n", "0x2330\n", "0x\n");
	function("0000:07:00.0", "0x10de\n", "0x2330\n", " 0x030200\n");
	CHECK_INT(scan_root(root), -1, "garbage hex: the scan says so");
	CHECK_INT(s.npci, 1, "garbage hex: only the good function kept");
	CHECK_STR(s.pci[0].bdf, "0000:02:00.0", "\"0x10de\" without newline reads");
	CHECK_INT(s.pci[0].device, 0x2330, "without newline: device");
	CHECK(strstr(msg, "0000:01:00.0: device is not a hex number ('0xzz30')") != NULL,
	      "garbage hex: msg names the function, attribute and value");
	CHECK(strstr(msg, "0000:03:00.0: device is not a hex number") != NULL,
	      "a hex number over 2^32 is garbage");
	CHECK(strstr(msg, "0000:04:00.0: vendor is not a hex number") != NULL, "an empty vendor is garbage");
	CHECK(strstr(msg, "0000:06:00.0: class is not a hex number") != NULL, "a bare 0x is garbage");
	CHECK(strstr(msg, "0000:07:00.0: class is not a hex number") != NULL, "leading space is garbage");
	DIAG("msg: %s", msg);

	fresh();
	function("0000:01:00.0", "0x10de\n", "0x2330\n", "0x030200\n");
	puts_("sys/bus/pci/devices/0000:01:00.0/numa_node", "one\n");
	CHECK_INT(scan_root(root), -1, "a garbage numa_node is said");
	CHECK(s.npci == 1 && s.pci[0].numa_node == -1, "a garbage numa_node: function kept, node unknown");
	puts_("sys/bus/pci/devices/0000:01:00.0/numa_node", "-1\n");
	CHECK_INT(scan_root(root), 0, "numa_node -1 is clean");
	CHECK_INT(s.pci[0].numa_node, -1, "numa_node -1 read");
	puts_("sys/bus/pci/devices/0000:01:00.0/numa_node", "3");
	scan_root(root);
	CHECK_INT(s.pci[0].numa_node, 3, "numa_node 3 without newline read");

	fresh();
	function("0000:01:00.0", "0x8086\n", "garbage\n", "garbage\n");
	CHECK_INT(scan_root(root), 0, "another vendor's garbage device is never read");
	CHECK_INT(s.npci, 0, "another vendor: not kept");
	CHECK(scan_root(root) == 0 && msg[0] == '\0', "another vendor: nothing to say");

	fresh();
	mkdirs("sys/bus/pci/devices/0000:01:00.0");
	CHECK_INT(scan_root(root), -1, "a function without attributes is said");
	CHECK(strstr(msg, "0000:01:00.0: no vendor attribute") != NULL, "a function without vendor: msg");
	CHECK_INT(s.npci, 0, "a function without vendor: skipped");
}

static void test_links(void)
{
	char longname[301];
	memset(longname, 'a', 300);
	longname[300] = '\0';
	char target[400];
	snprintf(target, sizeof target, "../../../bus/pci/drivers/%s", longname);

	fresh();
	function("0000:01:00.0", "0x10de\n", "0x2330\n", "0x030200\n");
	link_("sys/bus/pci/devices/0000:01:00.0/driver", target);
	function("0000:02:00.0", "0x10de\n", "0x2330\n", "0x030200\n");
	link_("sys/bus/pci/devices/0000:02:00.0/driver", "../../../bus/pci/drivers/nv\nidia");
	function("0000:03:00.0", "0x10de\n", "0x2330\n", "0x030200\n");
	link_("sys/bus/pci/devices/0000:03:00.0/driver", "../../../bus/pci/drivers/nvidia/");
	CHECK_INT(scan_root(root), -1, "a 300-char driver link: said");
	CHECK_INT(s.npci, 1, "a 300-char and a control-byte driver name: both skipped");
	CHECK_STR(s.pci[0].driver, "nvidia", "a trailing slash on the driver link still names nvidia");
	CHECK(strstr(msg, "0000:01:00.0: the driver link is not a driver's name") != NULL,
	      "a 300-char driver link: msg names the function");
	CHECK(strstr(msg, "0000:02:00.0: the driver link is not a driver's name") != NULL,
	      "a newline in the driver's name: msg names the function");

	fresh();
	function("0000:01:00.0", "0x10de\n", "0x2330\n", "0x030200\n");
	link_("sys/bus/pci/devices/0000:01:00.0/iommu_group", "../../../kernel/iommu_groups/7");
	CHECK_INT(scan_root(root), 0, "a dangling iommu_group link: still the kernel's word, clean");
	CHECK_INT(s.pci[0].iommu_group, 7, "a dangling iommu_group link: group from the link's name");
	link_("sys/bus/pci/devices/0000:01:00.0/iommu_group", "../../../kernel/iommu_groups/seven");
	CHECK_INT(scan_root(root), -1, "an iommu_group link not naming a number: said");
	CHECK(s.npci == 1 && s.pci[0].iommu_group == -1, "an iommu_group link not a number: group -1, kept");
	link_("sys/bus/pci/devices/0000:01:00.0/iommu_group", "../../../kernel/iommu_groups/99999999999");
	scan_root(root);
	CHECK_INT(s.pci[0].iommu_group, -1, "an iommu_group over INT_MAX: -1");

	/* A function directory reached through a link, as the kernel makes them. */
	fresh();
	mkdirs("sys/devices/pci0000:00");
	puts_("sys/devices/pci0000:00/0000:09:00.0/vendor", "0x10de\n");
	puts_("sys/devices/pci0000:00/0000:09:00.0/device", "0x20b0\n");
	puts_("sys/devices/pci0000:00/0000:09:00.0/class", "0x030200\n");
	link_("sys/bus/pci/devices/0000:09:00.0", "../../../devices/pci0000:00/0000:09:00.0");
	link_("sys/bus/pci/devices/0000:0a:00.0", "../../../devices/pci0000:00/gone");
	CHECK_INT(scan_root(root), -1, "a dangling device link: said");
	CHECK_INT(s.npci, 1, "a linked function read, a dangling one skipped");
	CHECK_INT(s.pci[0].device, 0x20b0, "through a link: device");

	/* A vendor attribute that is a link is not followed (O_NOFOLLOW). */
	fresh();
	function("0000:01:00.0", "0x10de\n", "0x2330\n", "0x030200\n");
	puts_("elsewhere", "0x10de\n");
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/elsewhere", root);
	link_("sys/bus/pci/devices/0000:01:00.0/vendor", p);
	CHECK_INT(scan_root(root), -1, "a vendor attribute that is a link: said");
	CHECK_INT(s.npci, 0, "a vendor attribute that is a link: not followed, skipped");
}

static void test_many(void)
{
	fresh();
	/* 40 functions, made in reverse order: the 32 lowest addresses must be the ones kept. */
	for (int i = 39; i >= 0; i--) {
		char bdf[16];
		snprintf(bdf, sizeof bdf, "0000:%02x:00.0", i + 1);
		function(bdf, "0x10de\n", "0x20b0\n", i % 2 ? "0x040300\n" : "0x030200\n");
	}
	CHECK_INT(scan_root(root), -1, "40 NVIDIA functions: said");
	CHECK_INT(s.npci, FL_GPU_PCI_MAX, "40 NVIDIA functions: FL_GPU_PCI_MAX kept");
	CHECK(s.truncated, "40 NVIDIA functions: truncated");
	CHECK_STR(s.pci[0].bdf, "0000:01:00.0", "40 functions: the lowest first");
	CHECK_STR(s.pci[FL_GPU_PCI_MAX - 1].bdf, "0000:20:00.0", "40 functions: the 32nd lowest last");
	int sorted = 1;
	for (size_t i = 1; i < s.npci; i++)
		sorted &= strcmp(s.pci[i - 1].bdf, s.pci[i].bdf) < 0;
	CHECK(sorted, "40 functions: in bus order");
	CHECK_INT(s.ngpu, 16, "40 functions: 16 of the kept are display class");
	CHECK(strstr(msg, "more than 32 NVIDIA PCI functions") != NULL, "40 functions: msg says so");
}

static void test_unreadable_modules(void)
{
	fresh();
	function("0000:01:00.0", "0x10de\n", "0x2330\n", "0x030200\n");
	mkdirs("proc");
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/proc/modules", root);
	CHECK(mkfifo(p, 0644) == 0, "a FIFO as /proc/modules: made");
	CHECK_INT(scan_root(root), -1, "a FIFO as /proc/modules: said");
	CHECK(strstr(msg, "proc/modules: not a regular file") != NULL, "a FIFO as /proc/modules: msg");
	CHECK(!s.module_nvidia && s.npci == 1, "a FIFO as /proc/modules: no module, GPU still seen");
	unlink(p);
	mkdirs("proc/modules");
	CHECK_INT(scan_root(root), -1, "a directory as /proc/modules: said");
	rmdir(p);
	puts_("proc/modules", "nvidia 1 0 - Live 0x0\n");
	/* Root reads every file: as root, the scan runs in a child that dropped to another user. */
	chmod(p, 0);
	if (geteuid() == 0) {
		chmod(root, 0755);
		pid_t pid = fork();
		if (pid == 0) {
			if (setgid(49999) != 0 || setuid(49999) != 0)
				_exit(3);
			_exit(scan_root(root) == -1 && strstr(msg, "proc/modules: cannot open") ? 0 : 1);
		}
		int st = -1;
		bool waited = pid > 0 && waitpid(pid, &st, 0) == pid;
		CHECK(waited && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "an unreadable /proc/modules: said, with the path (as uid 49999; status %d)", st);
	} else {
		CHECK_INT(scan_root(root), -1, "an unreadable /proc/modules: said");
		CHECK(strstr(msg, "proc/modules: cannot open") != NULL, "an unreadable /proc/modules: msg");
	}
	chmod(p, 0644);
	CHECK_INT(scan_root(root), 0, "a readable /proc/modules: clean");
	CHECK(s.module_nvidia, "a readable /proc/modules: nvidia");

	/* A device node that is a FIFO is counted by its name, never opened. */
	mkdirs("dev");
	snprintf(p, sizeof p, "%s/dev/nvidiactl", root);
	CHECK(mkfifo(p, 0666) == 0, "a FIFO as /dev/nvidiactl: made");
	puts_("dev/nvidia0", "");
	puts_("dev/nvidia12", "");
	puts_("dev/nvidia-uvm", "");
	puts_("dev/nvidia0x", "");
	CHECK_INT(scan_root(root), 0, "device nodes: clean");
	CHECK(s.dev_ctl && s.dev_gpus == 2, "nvidia0 and nvidia12 counted, nvidia-uvm and nvidia0x not");
}

static void test_msg_bounds(void)
{
	fresh();
	for (int i = 0; i < 40; i++) {
		char bdf[16];
		snprintf(bdf, sizeof bdf, "0000:%02x:00.0", i + 1);
		function(bdf, "0x10de\n", "junk\n", "0x030200\n");
	}
	char small[40];
	memset(small, 'x', sizeof small);
	struct fl_gpu_env env = {.root = root};
	CHECK_INT(fl_gpu_sys_scan(&env, &s, small, sizeof small), -1, "many notes into a small msg: -1");
	CHECK(memchr(small, '\0', sizeof small) != NULL, "many notes into a small msg: NUL-terminated");
	CHECK_INT(fl_gpu_sys_scan(&env, &s, NULL, 0), -1, "msg may be NULL");
	CHECK_INT(s.npci, 0, "msg NULL: same result");
}

/* --- the parsers --- */

static void test_nvrm(void)
{
	char v[32];
	const char *closed =
	    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n"
	    "GCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04)\n";
	CHECK_INT(fl_gpu_parse_nvrm_version(closed, strlen(closed), v, sizeof v), 0,
	          "NVRM: proprietary module");
	CHECK_STR(v, "550.54.15", "NVRM: proprietary version");
	const char *open_ =
	    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.15  Release Build  "
	    "(dvs-builder@U16-I3-B03-4-3)  Tue Mar  5 22:16:13 UTC 2024\n";
	CHECK_INT(fl_gpu_parse_nvrm_version(open_, strlen(open_), v, sizeof v), 0, "NVRM: open module");
	CHECK_STR(v, "550.54.15", "NVRM: open module version after 'for x86_64'");
	const char *aarch =
	    "NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  535.161.08  Release Build\n";
	fl_gpu_parse_nvrm_version(aarch, strlen(aarch), v, sizeof v);
	CHECK_STR(v, "535.161.08", "NVRM: aarch64");
	const char *two =
	    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  470.256.02  Thu May  2 14:37:44 UTC 2024";
	CHECK_INT(fl_gpu_parse_nvrm_version(two, strlen(two), v, sizeof v), 0, "NVRM: no final newline");
	CHECK_STR(v, "470.256.02", "NVRM: three-part version");
	/* Not NUL-terminated: the parser must stop at n. */
	char cut[64];
	memcpy(cut, "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54", 54);
	memset(cut + 54, '9', sizeof cut - 54);
	CHECK_INT(fl_gpu_parse_nvrm_version(cut, 54, v, sizeof v), 0, "NVRM: bytes without NUL, cut at n");
	CHECK_STR(v, "550.54", "NVRM: only the first n bytes");

	static const char *const bad[] = {
	    "",
	    "NVRM version:",
	    "NVRM version: NVIDIA UNIX x86_64 Kernel Module",
	    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  ",
	    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550",
	    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.",
	    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  .550.54",
	    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550..54",
	    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15x",
	    "NVRM version: 550.54.15",
	    "GCC version: Kernel Module 550.54.15",
	    "nvrm version: NVIDIA UNIX x86_64 Kernel Module  550.54.15",
	    "NVRM version: NVIDIA UNIX x86_64 Kernel Modul  550.54.15",
	    "NVRM version: NVIDIA UNIX x86_64 Kernel Module\n 550.54.15",
	    ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  5\x00"
	     "50.54.15"),
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		strcpy(v, "unchanged");
		int r = fl_gpu_parse_nvrm_version(bad[i], strlen(bad[i]), v, sizeof v);
		CHECK(r == -1 && v[0] == '\0', "NVRM: hostile line %zu gives no version", i);
	}
	/* A version that does not fit is refused, not cut. */
	char line[200];
	snprintf(line, sizeof line, "NVRM version: NVIDIA UNIX x86_64 Kernel Module  %s  x",
	         "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15");
	CHECK_INT(fl_gpu_parse_nvrm_version(line, strlen(line), v, sizeof v), -1,
	          "NVRM: a 35-byte version refused");
	char tiny[4];
	CHECK_INT(fl_gpu_parse_nvrm_version(closed, strlen(closed), tiny, sizeof tiny), -1,
	          "NVRM: a version longer than out refused");
	CHECK_STR(tiny, "", "NVRM: out empty when refused");
}

static void test_modules(void)
{
	struct fl_gpu_sys m;
	const char *only_uvm = "nvidia_uvm 1794048 0 - Live 0x0000000000000000 (POE)\n"
	                       "nvidia_modeset 1314816 1 nvidia_drm, Live 0x0 (POE)\n"
	                       "vfio_pci_core 94208 1 vfio_pci, Live 0x0\n"
	                       "nouveauX 1 0 - Live 0x0\n"
	                       " nvidia 1 0 - Live 0x0\n"
	                       "nvidia\n";
	memset(&m, 0, sizeof m);
	fl_gpu_parse_modules(only_uvm, strlen(only_uvm), &m);
	CHECK(!m.module_nvidia && !m.module_vfio_pci && !m.module_nouveau,
	      "modules: nvidia_uvm, vfio_pci_core, a leading space, a bare name are none of them");
	const char *all =
	    "vfio_pci 16384 2 - Live 0x0\nnouveau 3096576 0 - Live 0x0\nnvidia 56717312 2 - Live 0x0";
	memset(&m, 0, sizeof m);
	fl_gpu_parse_modules(all, strlen(all), &m);
	CHECK(m.module_nvidia && m.module_vfio_pci && m.module_nouveau,
	      "modules: all three, last line unended");
	memset(&m, 0, sizeof m);
	fl_gpu_parse_modules("nvidia 1", 6, &m);
	CHECK(!m.module_nvidia, "modules: cut at n before the space: not nvidia");
	fl_gpu_parse_modules("x\0nvidia 1", 10, &m);
	CHECK(!m.module_nvidia, "modules: a NUL does not start a line");
}

static void test_hex(void)
{
	unsigned v = 0;
	CHECK(fl_gpu_parse_hex("0x10de\n", 7, &v) == 0 && v == 0x10de, "hex: 0x10de\\n");
	CHECK(fl_gpu_parse_hex("0x10de", 6, &v) == 0 && v == 0x10de, "hex: without newline");
	CHECK(fl_gpu_parse_hex("10DE", 4, &v) == 0 && v == 0x10de, "hex: without 0x, upper case");
	CHECK(fl_gpu_parse_hex("0xffffffff", 10, &v) == 0 && v == 0xffffffffu, "hex: 2^32-1");
	CHECK(fl_gpu_parse_hex("0x0000000000ff", 14, &v) == 0 && v == 0xff, "hex: leading zeros");
	static const char *const bad[] = {"",        "\n",      "0x",   "0x\n", "0x100000000", "0x10de\n\n",
	                                  " 0x10de", "0x10de ", "0x-1", "0xg",  "0x10de\r\n",  "x10de"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = 12345;
		CHECK(fl_gpu_parse_hex(bad[i], strlen(bad[i]), &v) == -1 && v == 12345,
		      "hex: bad %zu refused", i);
	}
	CHECK_INT(fl_gpu_parse_hex("0x10\0de", 7, &v), -1, "hex: an embedded NUL refused");
	CHECK(fl_gpu_parse_hex("0x10dezz", 6, &v) == 0 && v == 0x10de, "hex: only n bytes read");
}

static void test_cmdline(void)
{
	static const struct {
		const char *s;
		bool on;
	} cases[] = {
	    {"ro intel_iommu=on iommu=pt", true},
	    {"ro amd_iommu=on", true},
	    {"iommu=on", true},
	    {"intel_iommu=on,sm_on quiet", true},
	    {"intel_iommu=sm_on,on", true},
	    {"ro quiet splash", false},
	    {"iommu=pt", false},
	    {"intel_iommu=off", false},
	    {"intel_iommu=on intel_iommu=off", false},
	    {"intel_iommu=off intel_iommu=on", true},
	    {"xintel_iommu=on", false},
	    {"intel_iommu=onx", false},
	    {"intel_iommu=", false},
	    {"", false},
	    {"ro\tintel_iommu=on\n", true},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK(fl_gpu_parse_cmdline(cases[i].s, strlen(cases[i].s)) == cases[i].on,
		      "cmdline: '%s' is %s", cases[i].s, cases[i].on ? "on" : "off");
	CHECK(!fl_gpu_parse_cmdline("intel_iommu=on", 13), "cmdline: cut at n: 'intel_iommu=o' is off");
}

static void test_pci_name(void)
{
	char name[160];
	struct fl_gpu_env env = {.root = FIX "h100"};
	CHECK_INT(fl_gpu_pci_name(&env, 0x10de, 0x2330, name, sizeof name), 0, "pci.ids: H100 found");
	CHECK_STR(name, "NVIDIA Corporation GH100 [H100 SXM5 80GB]", "pci.ids: H100 name");
	CHECK_INT(fl_gpu_pci_name(&env, 0x10de, 0x20b0, name, sizeof name), 0, "pci.ids: A100 found");
	CHECK_STR(name, "NVIDIA Corporation GA100 [A100 SXM4 40GB]", "pci.ids: A100 name");
	CHECK_INT(fl_gpu_pci_name(&env, 0x10de, 0x228b, name, sizeof name), 0, "pci.ids: audio found");
	CHECK_INT(fl_gpu_pci_name(&env, 0x10de, 0x134f, name, sizeof name), -1,
	          "pci.ids: a subsystem line is not a device");
	CHECK_STR(name, "NVIDIA device 10de:134f", "pci.ids: subsystem id falls back");
	CHECK_INT(fl_gpu_pci_name(&env, 0x10de, 0x1237, name, sizeof name), -1,
	          "pci.ids: another vendor's device is not NVIDIA's");
	CHECK_INT(fl_gpu_pci_name(&env, 0x10de, 0x2331, name, sizeof name), -1, "pci.ids: missing device");
	CHECK_STR(name, "NVIDIA device 10de:2331", "pci.ids: missing device fallback");
	CHECK_INT(fl_gpu_pci_name(&env, 0x8086, 0x46a6, name, sizeof name), 0, "pci.ids: Intel found");
	CHECK_STR(name, "Intel Corporation Alder Lake-P GT2 [Iris Xe Graphics]", "pci.ids: Intel name");
	char small[12];
	CHECK_INT(fl_gpu_pci_name(&env, 0x10de, 0x2330, small, sizeof small), 0, "pci.ids: small out");
	CHECK_STR(small, "NVIDIA Corp", "pci.ids: small out cut, NUL-terminated");

	env.root = FIX "does-not-exist";
	CHECK_INT(fl_gpu_pci_name(&env, 0x10de, 0x2330, name, sizeof name), -1, "pci.ids: missing file");
	CHECK_STR(name, "NVIDIA device 10de:2330", "pci.ids: missing file fallback");

	/* hwdata's place when pciutils' is absent; a 100 KB line and hostile lines skipped. */
	fresh();
	env.root = root;
	size_t n = 100 * 1024;
	char *big = malloc(n + 200);
	memset(big, 'A', n);
	memcpy(big, "\t2330  ", 7);
	size_t k = n;
	k += (size_t)sprintf(big + k, "\n10de  NVIDIA Corporation\n\t2330");
	put("usr/share/hwdata/pci.ids", big, k);
	CHECK_INT(fl_gpu_pci_name(&env, 0x10de, 0x2330, name, sizeof name), -1,
	          "pci.ids: a 100 KB line before the vendor, the device line cut: not found");
	k = n;
	k += (size_t)sprintf(big + k, "\n10de  NVIDIA\x01 Corporation\n\t2330  GH100\n");
	memcpy(big, "10de  ", 6);
	put("usr/share/hwdata/pci.ids", big, k);
	CHECK_INT(fl_gpu_pci_name(&env, 0x10de, 0x2330, name, sizeof name), 0,
	          "pci.ids: a 100 KB vendor line is skipped, the next read (hwdata's place)");
	CHECK_STR(name, "NVIDIA? Corporation GH100", "pci.ids: a control byte shown as ?");
	free(big);
	puts_("usr/share/hwdata/pci.ids", "10de  NVIDIA Corporation\n\t2330  GH100 [H100 SXM5 80GB]");
	CHECK_INT(fl_gpu_pci_name(&env, 0x10de, 0x2330, name, sizeof name), 0, "pci.ids: last line unended");
	CHECK_STR(name, "NVIDIA Corporation GH100 [H100 SXM5 80GB]", "pci.ids: last line unended name");
	puts_("usr/share/hwdata/pci.ids", "10de  NVIDIA Corporation\n1af4  Red Hat\n\t2330  Not NVIDIA's\n");
	CHECK_INT(fl_gpu_pci_name(&env, 0x10de, 0x2330, name, sizeof name), -1,
	          "pci.ids: a device under the next vendor is not NVIDIA's");
	mkdirs("usr/share/misc");
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/usr/share/misc/pci.ids", root);
	CHECK(mkfifo(p, 0644) == 0, "pci.ids as a FIFO: made");
	puts_("usr/share/hwdata/pci.ids", "10de  NVIDIA Corporation\n\t2330  GH100\n");
	CHECK_INT(fl_gpu_pci_name(&env, 0x10de, 0x2330, name, sizeof name), 0,
	          "pci.ids: a FIFO in pciutils' place is not read (no hang), hwdata's is");
	CHECK_STR(name, "NVIDIA Corporation GH100", "pci.ids: the name from hwdata's place");
}

int main(void)
{
	test_none();
	test_h100();
	test_two_gpus();
	test_vfio();
	test_nouveau();
	test_audio();
	test_no_devnodes();
	test_no_driver();
	test_no_module();
	test_hosts();
	test_no_root();

	if (unit_fs_init("fl-gpu-sys") < 0)
		return 1;
	snprintf(root, sizeof root, "%s/root", unit_root);
	test_fifo_vendor();
	test_oversized();
	test_garbage();
	test_links();
	test_many();
	test_unreadable_modules();
	test_msg_bounds();
	test_pci_name();
	nftw(unit_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	test_nvrm();
	test_modules();
	test_hex();
	test_cmdline();
	return unit_done();
}
