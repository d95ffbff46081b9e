/* fuzz_gpu_container: libFuzzer target for the GPU container readers: the first byte picks
 * daemon.json (fl_gpu_container_parse_daemon), a CDI spec (fl_gpu_container_parse_cdi) or
 * nvidia-smi's CSV (fl_gpu_smi_parse); hostile bytes parse into sane fields or fail cleanly. */
#include "fuzz.h"
#include "fl_gpu_container.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

FUZZ_FIXED_JSON_SEED()

static void daemon_json(const char *buf, size_t size)
{
	struct fl_gpu_container c;
	memset(&c, 0, sizeof c);
	snprintf(c.daemon_path, sizeof c.daemon_path, "fuzz.json");
	int r = fl_gpu_container_parse_daemon(buf, size, &c);
	REQUIRE(memchr(c.error, '\0', sizeof c.error) != NULL);
	if (r < 0) {
		REQUIRE(r == -1 && c.daemon_json == -1);
		REQUIRE(strncmp(c.error, "fuzz.json: ", 11) == 0);
		REQUIRE(!c.runtime_nvidia && !c.default_nvidia && !c.cdi_feature);
	} else {
		REQUIRE(r == 0 && c.daemon_json == 1 && c.error[0] == '\0');
		/* A runtime needs its name and a path in the text. */
		REQUIRE(!c.runtime_nvidia ||
		        (memmem(buf, size, "nvidia", 6) && memmem(buf, size, "path", 4)));
		REQUIRE(!c.cdi_feature || memmem(buf, size, "true", 4));
		struct fl_gpu_container again;
		memset(&again, 0, sizeof again);
		REQUIRE(fl_gpu_container_parse_daemon(buf, size, &again) == 0 &&
		        again.runtime_nvidia == c.runtime_nvidia &&
		        again.default_nvidia == c.default_nvidia && again.cdi_feature == c.cdi_feature);
	}
}

static void cdi(const char *buf, size_t size)
{
	bool yes = fl_gpu_container_parse_cdi(buf, size);
	REQUIRE(!yes || memmem(buf, size, "nvidia.com/gpu", 14));
	REQUIRE(fl_gpu_container_parse_cdi(buf, size) == yes);
}

static void smi(const char *buf, size_t size)
{
	struct fl_gpu_smi s;
	memset(&s, 0x5a, sizeof s);
	int r = fl_gpu_smi_parse(buf, size, &s);
	REQUIRE(memchr(s.name, '\0', sizeof s.name) && memchr(s.driver, '\0', sizeof s.driver));
	if (r < 0) {
		REQUIRE(r == -1 && s.count == 0 && !s.name[0] && !s.driver[0]);
		return;
	}
	REQUIRE(r == 0 && s.count >= 1 && s.count <= size / 10 + 1);
	REQUIRE(s.name[0] && s.driver[0] && s.memory_mb >= 0);
	REQUIRE(strspn(s.driver, "0123456789.") == strlen(s.driver));
	REQUIRE(memmem(buf, size, s.name, strlen(s.name)) && memmem(buf, size, s.driver, strlen(s.driver)));
	for (const char *p = s.name; *p; p++)
		REQUIRE((unsigned char)*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* A copy of exactly the bytes: ASan catches a read past them. */
	char *buf = malloc(size - 1 ? size - 1 : 1);
	memcpy(buf, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0: daemon_json(buf, size - 1); break;
	case 1: cdi(buf, size - 1); break;
	default: smi(buf, size - 1); break;
	}
	free(buf);
	return 0;
}
