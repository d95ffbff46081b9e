/* fuzz_mevent_docker: libFuzzer target for the Docker json-file envelope: the input, as the
 * log of an envelope (its bytes JSON-escaped by jansson, so the fuzzer explores the inner
 * parser), gives what the bare input gives: the same event (with the envelope's time when the
 * line has no timestamp), or the same reason for none (an input that is itself an envelope is
 * unwrapped bare, and only once). */
#include "fuzz.h"
#include "fl_mevent.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

FUZZ_FIXED_JSON_SEED()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *log = malloc(size + 1);
	REQUIRE(log);
	memcpy(log, data, size);
	log[size] = '\n';
	json_t *str = json_stringn(log, size + 1);
	free(log);
	if (!str)
		return 0; /* not UTF-8: Docker would not have written it so */
	json_t *env =
	    json_pack("{so ss ss}", "log", str, "stream", "stdout", "time", "2026-02-09T14:30:05.123456789Z");
	char *line = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	REQUIRE(line);

	struct fl_mevent in, bare;
	enum fl_mevent_skip r = fl_mevent_parse(line, strlen(line), &in);
	enum fl_mevent_skip rb = fl_mevent_parse((const char *)data, size, &bare);
	free(line);
	if (r == FL_MEV_OK) {
		/* Without its own timestamp the line gets the envelope's time. */
		REQUIRE(rb == FL_MEV_OK &&
		        (isnan(bare.ts) ? fabs(in.ts - 1770647405.123456789) < 1e-6 : in.ts == bare.ts));
		in.ts = bare.ts = 0;
		REQUIRE(memcmp(&in, &bare, sizeof in) == 0);
	} else if (r != FL_MEV_NO_EVENT)
		REQUIRE(rb == r);
	if (r != FL_MEV_OK)
		REQUIRE(in.type == FL_MEV_NONE);
	return 0;
}
