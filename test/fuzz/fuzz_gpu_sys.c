/* fuzz_gpu_sys: libFuzzer target for the sysfs and /proc parsers of fl_gpu: /proc/modules, the
 * NVRM version line, sysfs hex attributes and the kernel command line never read past n and
 * give only what their grammar allows. */
#include "fuzz.h"
#include "fl_gpu.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: ASan catches any read past n. */
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);

	struct fl_gpu_sys s;
	memset(&s, 0, sizeof s);
	fl_gpu_parse_modules(buf, size, &s);
	/* A module's line starts with its name and a space: no such bytes, no module. */
	REQUIRE(!s.module_nvidia || memmem(buf, size, "nvidia ", 7) != NULL);
	REQUIRE(!s.module_vfio_pci || memmem(buf, size, "vfio_pci ", 9) != NULL);
	REQUIRE(!s.module_nouveau || memmem(buf, size, "nouveau ", 8) != NULL);
	REQUIRE(s.npci == 0 && s.ngpu == 0 && s.module_version[0] == '\0');

	char v[32];
	int r = fl_gpu_parse_nvrm_version(buf, size, v, sizeof v);
	if (r == 0) {
		size_t n = strlen(v);
		REQUIRE(n > 0 && n < sizeof v);
		REQUIRE(strspn(v, "0123456789.") == n);
		REQUIRE(v[0] != '.' && v[n - 1] != '.' && strchr(v, '.') && !strstr(v, ".."));
		REQUIRE(memmem(buf, size, v, n) != NULL);
		REQUIRE(memmem(buf, size, "Kernel Module", 13) != NULL);
	} else {
		REQUIRE(r == -1 && v[0] == '\0');
	}

	unsigned x = 0xdeadbeef;
	r = fl_gpu_parse_hex(buf, size, &x);
	if (r == 0) {
		/* At most "0x", the digits, a newline: and the value is those digits. */
		REQUIRE(size > 0);
		size_t n = size - (buf[size - 1] == '\n');
		size_t skip = n >= 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X') ? 2 : 0;
		REQUIRE(n > skip);
		for (size_t i = skip; i < n; i++)
			REQUIRE(buf[i] && strchr("0123456789abcdefABCDEF", buf[i]));
		char tmp[16];
		if (n - skip < sizeof tmp) {
			memcpy(tmp, buf + skip, n - skip);
			tmp[n - skip] = '\0';
			REQUIRE(strtoull(tmp, NULL, 16) == x);
		}
	} else {
		REQUIRE(r == -1 && x == 0xdeadbeef);
	}

	bool on = fl_gpu_parse_cmdline(buf, size);
	REQUIRE(!on || memmem(buf, size, "iommu=", 6) != NULL);
	REQUIRE(fl_gpu_parse_cmdline(buf, size) == on);

	free(buf);
	return 0;
}
