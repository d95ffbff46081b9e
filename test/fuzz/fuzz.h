/* fuzz.h: what every libFuzzer target of test/fuzz shares: the entry points and the invariant
 * check that turns a broken promise into a crash libFuzzer reports. */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define REQUIRE(cond)                                                                                        \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);         \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

/* For a target whose code builds jansson objects: jansson seeds its hash function from
 * /dev/urandom unless told; a fixed seed keeps a run of test/fuzz/run with a fixed libFuzzer
 * seed the same run. */
#define FUZZ_FIXED_JSON_SEED()                                                                               \
	int LLVMFuzzerInitialize(int *argc, char ***argv)                                                    \
	{                                                                                                    \
		(void)argc;                                                                                  \
		(void)argv;                                                                                  \
		json_object_seed(1);                                                                         \
		return 0;                                                                                    \
	}

#endif
