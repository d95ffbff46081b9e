/* test_mevent: one log line to one event: every event of the taxonomy, bare and in a Docker
 * envelope, field types, key order, and hostile lines (NUL, invalid UTF-8, nesting, huge
 * numbers, every truncation of a valid line). */
#include "fl_mevent.h"
#include "unit.h"

#include <jansson.h>
#include <math.h>

static enum fl_mevent_skip parse(const char *s, struct fl_mevent *ev)
{
	return fl_mevent_parse(s, strlen(s), ev);
}

/* The line inside a Docker json-file envelope, its bytes JSON-escaped by jansson. */
static char *docker(const char *line)
{
	char *log = malloc(strlen(line) + 2);
	sprintf(log, "%s\n", line);
	json_t *o =
	    json_pack("{ss ss ss}", "log", log, "stream", "stdout", "time", "2026-02-09T14:30:05.1234Z");
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(log);
	return s;
}

struct want {
	const char *line;
	enum fl_mevent_type type;
};

static const struct want all[] = {
    {"{\"event\":\"training_start\",\"data\":{\"strategy\":\"FedProx\",\"num_rounds\":5,\"min_clients\":2}}",
     FL_MEV_TRAINING_START},
    {"{\"event\":\"round_start\",\"data\":{\"round\":1,\"num_clients_selected\":2,\"strategy\":\"FedAvg\"}}",
     FL_MEV_ROUND_START},
    {"{\"event\":\"round_end\",\"data\":{\"round\":5,\"num_clients_responded\":4,\"aggregated_loss\":0.234,"
     "\"aggregated_accuracy\":0.891,\"round_duration_seconds\":12.45}}",
     FL_MEV_ROUND_END},
    {"{\"event\":\"training_end\",\"data\":{\"total_rounds\":3,\"final_loss\":0.1,\"final_accuracy\":0.9,"
     "\"total_duration_seconds\":60.5}}",
     FL_MEV_TRAINING_END},
    {"{\"event\":\"client_join\",\"data\":{\"node_id\":\"n1\",\"client_address\":\"10.0.0.2:5000\"}}",
     FL_MEV_CLIENT_JOIN},
    {"{\"event\":\"client_leave\",\"data\":{\"node_id\":\"n1\",\"reason\":\"shutdown\"}}",
     FL_MEV_CLIENT_LEAVE},
    {"{\"event\":\"checkpoint_saved\",\"data\":{\"round\":2,\"path\":\"/x\",\"size_bytes\":4096}}",
     FL_MEV_CHECKPOINT_SAVED},
    {"{\"event\":\"evaluation_result\",\"data\":{\"round\":2,\"loss\":0.3,\"accuracy\":0.7,\"num_examples\":"
     "100}}",
     FL_MEV_EVALUATION_RESULT},
    {"{\"event\":\"client_failure\",\"data\":{\"round\":2,\"node_id\":7,\"error_type\":\"TimeoutError\"}}",
     FL_MEV_CLIENT_FAILURE},
    {"{\"event\":\"training_stalled\",\"data\":{\"round\":3,\"waiting_since_seconds\":600,\"connected_"
     "clients\":1,"
     "\"required_clients\":2}}",
     FL_MEV_TRAINING_STALLED},
    {"{\"event\":\"gpu_detected\",\"data\":{\"gpu_name\":\"NVIDIA H200\",\"gpu_memory_mb\":143771,"
     "\"driver_version\":\"550\"}}",
     FL_MEV_GPU_DETECTED},
    {"{\"event\":\"gpu_unavailable\",\"data\":{\"fallback_device\":\"cpu\"}}", FL_MEV_GPU_UNAVAILABLE},
};

static void test_names(void)
{
	CHECK_STR(fl_mevent_name(FL_MEV_ROUND_END), "round_end", "name: round_end");
	CHECK(fl_mevent_name(FL_MEV_NONE) == NULL && fl_mevent_name(FL_MEV_COUNT) == NULL,
	      "name: out of range: NULL");
	CHECK_INT(fl_mevent_lookup("gpu_unavailable"), FL_MEV_GPU_UNAVAILABLE, "lookup: gpu_unavailable");
	CHECK_INT(fl_mevent_lookup("Round_end"), FL_MEV_NONE, "lookup: names are exact");
}

static void test_every_event(void)
{
	struct fl_mevent ev;
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		const char *name = fl_mevent_name(all[i].type);
		CHECK(parse(all[i].line, &ev) == FL_MEV_OK && ev.type == all[i].type, "%s: parsed bare",
		      name);
		char *d = docker(all[i].line);
		struct fl_mevent dv;
		bool same =
		    parse(d, &dv) == FL_MEV_OK && isnan(ev.ts) && fabs(dv.ts - 1770647405.1234) < 1e-6;
		dv.ts = ev.ts;
		CHECK(same && memcmp(&ev, &dv, sizeof ev) == 0,
		      "%s: a Docker envelope gives the same event, at Docker's time when the line has none",
		      name);
		free(d);
	}
	parse(all[2].line, &ev);
	CHECK(ev.round == 5 && ev.responded == 4 && ev.loss == 0.234 && ev.accuracy == 0.891 &&
	          ev.duration == 12.45,
	      "round_end: round, responded, loss, accuracy, duration");
	parse(all[0].line, &ev);
	CHECK(strcmp(ev.strategy, "FedProx") == 0 && ev.num_rounds == 5 && ev.min_clients == 2,
	      "training_start: strategy, num_rounds, min_clients");
	parse(all[3].line, &ev);
	CHECK(ev.round == 3 && ev.loss == 0.1 && ev.accuracy == 0.9 && ev.duration == 60.5,
	      "training_end: total_rounds, final_*, total_duration_seconds");
	parse(all[8].line, &ev);
	CHECK(strcmp(ev.node_id, "7") == 0 && strcmp(ev.detail, "TimeoutError") == 0 && ev.round == 2,
	      "client_failure: a numeric node_id as text, error_type");
	parse(all[9].line, &ev);
	CHECK(ev.waiting == 600 && ev.connected == 1 && ev.min_clients == 2, "training_stalled: its fields");
	parse(all[6].line, &ev);
	CHECK(ev.size_bytes == 4096 && ev.round == 2, "checkpoint_saved: size_bytes, round");
	parse(all[7].line, &ev);
	CHECK(ev.num_examples == 100 && ev.loss == 0.3, "evaluation_result: loss, num_examples");
}

static void test_envelope(void)
{
	struct fl_mevent ev;
	const char *ts =
	    "{\"timestamp\":\"2026-02-09T14:30:05.123Z\",\"role\":\"superlink\",\"event\":\"round_start\","
	    "\"data\":{\"round\":1},\"source\":\":0\"}";
	CHECK(parse(ts, &ev) == FL_MEV_OK && fabs(ev.ts - 1770647405.123) < 1e-6 &&
	          strcmp(ev.role, "superlink") == 0,
	      "timestamp: Unix seconds with milliseconds; role");
	char *d = docker(ts);
	CHECK(parse(d, &ev) == FL_MEV_OK && fabs(ev.ts - 1770647405.123) < 1e-6,
	      "docker: the line's own timestamp wins over Docker's time");
	free(d);
	CHECK(
	    parse("{\"data\":{\"round\":1},\"event\":\"round_start\",\"timestamp\":\"2026-02-09 14:30:05Z\"}",
	          &ev) == FL_MEV_OK &&
	        isnan(ev.ts),
	    "key order free; a timestamp of another shape is NAN");
	CHECK(
	    parse(
	        "{\"log\":\"INFO :      Starting Flower ServerApp\\n\",\"stream\":\"stderr\",\"time\":\"x\"}",
	        &ev) == FL_MEV_NOT_JSON,
	    "docker: a text line inside is not JSON");
	CHECK(parse("{\"log\":\"{\\\"message\\\":\\\"hi\\\"}\\n\",\"stream\":\"stdout\"}", &ev) ==
	          FL_MEV_NO_EVENT,
	      "docker: an ordinary JSON log line inside has no event");
	CHECK(parse("{\"log\":\"{\\\"event\\\":\\\"round_end\\\",\\\"data\\\":{\\\"round\\\":1}}\"}", &ev) ==
	          FL_MEV_OK,
	      "docker: a log without its newline");
	CHECK(parse("{\"log\":\"{\\\"event\\\":\\\"round_end\\\",\\\"data\\\":{\\\"round\\\":1}}\\n\\n\"}",
	            &ev) == FL_MEV_OK,
	      "docker: whitespace after the inner JSON is allowed");
	CHECK(parse("{\"log\":\"{\\\"log\\\":\\\"{\\\\\\\"event\\\\\\\":\\\\\\\"round_end\\\\\\\"}\\\"}\"}",
	            &ev) == FL_MEV_NO_EVENT,
	      "docker: one envelope is unwrapped, not two");
	CHECK(
	    parse("{\"log\":\"{\\\"event\\\":\\\"round_end\\\",\\\"data\\\":{\\\"round\\\":1}}\\u0000\\n\"}",
	          &ev) != FL_MEV_OK,
	    "docker: a NUL inside the log: no event");
}

static void test_types(void)
{
	struct fl_mevent ev;
	static const char *const malformed[] = {
	    "{\"event\":\"round_end\",\"data\":{\"round\":\"3\"}}",
	    "{\"event\":\"round_end\",\"data\":{}}",
	    "{\"event\":\"round_end\"}",
	    "{\"event\":\"round_start\",\"data\":{\"round\":null}}",
	    "{\"event\":\"round_end\",\"data\":{\"round\":-1}}",
	    "{\"event\":\"round_end\",\"data\":{\"round\":1000000001}}",
	    "{\"event\":\"round_end\",\"data\":{\"round\":1.5}}",
	    "{\"event\":\"round_end\",\"data\":{\"round\":1,\"num_clients_responded\":-2}}",
	    "{\"event\":\"training_start\",\"data\":{\"num_rounds\":1e300}}",
	    "{\"event\":\"round_end\",\"data\":[1]}",
	    "{\"event\":3}",
	    "{\"event\":\"round_end\",\"data\":{\"round\":1}",
	    "{\"event\":\"round_end\",\"data\":{\"round\":1e999}}",
	};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
		CHECK(parse(malformed[i], &ev) == FL_MEV_MALFORMED && ev.type == FL_MEV_NONE, "malformed: %s",
		      malformed[i]);
	CHECK(parse("{\"event\":\"round_end\",\"data\":{\"round\":2.0,\"aggregated_loss\":\"0.5\","
	            "\"aggregated_accuracy\":null,\"num_clients_responded\":\"4\"}}",
	            &ev) == FL_MEV_OK &&
	          ev.round == 2 && isnan(ev.loss) && isnan(ev.accuracy) && ev.responded == -1,
	      "optional fields of the wrong type or null are absent; 2.0 is a round");
	CHECK(parse("{\"event\":\"training_start\"}", &ev) == FL_MEV_OK && ev.num_rounds == -1 &&
	          !ev.strategy[0],
	      "training_start without data: every field absent");
	CHECK(parse("{\"event\":\"client_join\",\"data\":{\"node_id\":18446744073709551615}}", &ev) ==
	              FL_MEV_OK &&
	          strcmp(ev.node_id, "18446744073709551616") == 0,
	      "a uint64 node_id past 2^63 parses (as its double's digits, the same every time)");
	CHECK(parse("{\"event\":\"client_join\",\"data\":{\"node_id\":{\"a\":1}}}", &ev) == FL_MEV_OK &&
	          !ev.node_id[0],
	      "a node_id object is absent");
	CHECK(parse("{\"event\":\"coffee\",\"data\":{}}", &ev) == FL_MEV_UNKNOWN, "an unknown event");
	CHECK(parse("{\"event\":null,\"message\":\"x\"}", &ev) == FL_MEV_NO_EVENT, "event null: no event");
	CHECK(parse("{\"message\":\"x\",\"extra\":[1,{\"k\":2}]}", &ev) == FL_MEV_NO_EVENT, "no event key");
	CHECK(parse("INFO : hello", &ev) == FL_MEV_NOT_JSON && parse("", &ev) == FL_MEV_NOT_JSON &&
	          parse("[1]", &ev) == FL_MEV_NOT_JSON,
	      "text, empty and an array are not JSON");
	CHECK(parse("\"str\"", &ev) == FL_MEV_NOT_JSON, "a JSON string is not an object");
}

static void test_strings(void)
{
	struct fl_mevent ev;
	char line[512];
	char big[200];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = 0;
	snprintf(line, sizeof line,
	         "{\"event\":\"client_leave\",\"data\":{\"node_id\":\"%s\",\"reason\":\"%s\"}}", big, big);
	CHECK(parse(line, &ev) == FL_MEV_OK && strlen(ev.node_id) == FL_MEVENT_STR_MAX - 1 &&
	          strlen(ev.detail) == FL_MEVENT_STR_MAX - 1,
	      "strings are cut to %d bytes", FL_MEVENT_STR_MAX - 1);
	/* 62 x then a 2-byte é: cutting at 63 would split it. */
	snprintf(line, sizeof line, "{\"event\":\"client_join\",\"data\":{\"node_id\":\"%.62s\xc3\xa9zz\"}}",
	         big);
	CHECK(parse(line, &ev) == FL_MEV_OK && strlen(ev.node_id) == 62,
	      "a cut never splits a UTF-8 sequence");
	CHECK(parse("{\"event\":\"round_start\",\"data\":{\"round\":1,\"strategy\":\"Fed\\nAvg\"}}", &ev) ==
	              FL_MEV_OK &&
	          strcmp(ev.strategy, "invalid") == 0,
	      "a strategy with a control character is \"invalid\"");
	CHECK(parse("{\"event\":\"round_start\",\"data\":{\"round\":1,\"strategy\":\"F\xc3\xa9\"}}", &ev) ==
	              FL_MEV_OK &&
	          strcmp(ev.strategy, "invalid") == 0,
	      "a strategy outside printable ASCII is \"invalid\"");
	CHECK(parse("{\"event\":\"round_start\",\"data\":{\"round\":1,\"strategy\":\"Fed\\\"Avg\\\\\"}}",
	            &ev) == FL_MEV_OK &&
	          strcmp(ev.strategy, "Fed\"Avg\\") == 0,
	      "quotes and backslashes stay (the renderer escapes them)");
	CHECK(parse("{\"event\":\"round_end\",\"data\":{\"round\":1},\"x\":\"\xff\"}", &ev) ==
	          FL_MEV_MALFORMED,
	      "invalid UTF-8: malformed");
	static const char nul[] = "{\"event\":\"round_end\",\0\"data\":{\"round\":1}}";
	CHECK(fl_mevent_parse(nul, sizeof nul - 1, &ev) == FL_MEV_MALFORMED,
	      "a NUL byte inside the line: malformed");
}

static void test_hostile(void)
{
	struct fl_mevent ev;
	size_t n = 100000;
	char *deep = malloc(2 * n + 64);
	size_t k = (size_t)sprintf(deep, "{\"event\":\"round_end\",\"data\":{\"round\":1},\"x\":");
	for (size_t i = 0; i < 30000; i++)
		deep[k++] = '[';
	deep[k] = 0;
	CHECK(fl_mevent_parse(deep, k, &ev) == FL_MEV_MALFORMED, "deep nesting: malformed, no crash");
	free(deep);

	char *longl = malloc(FL_MEVENT_LINE_MAX + 2);
	memset(longl, ' ', FL_MEVENT_LINE_MAX + 1);
	static const char ok[] = "{\"event\":\"round_end\",\"data\":{\"round\":1}}";
	memcpy(longl, ok, sizeof ok - 1);
	CHECK(fl_mevent_parse(longl, FL_MEVENT_LINE_MAX, &ev) == FL_MEV_OK,
	      "a line of exactly the bound parses");
	CHECK(fl_mevent_parse(longl, FL_MEVENT_LINE_MAX + 1, &ev) == FL_MEV_TOO_LONG,
	      "one byte more is too long");
	free(longl);

	CHECK(parse("{\"event\":\"round_end\",\"data\":{\"round\":1,\"aggregated_loss\":"
	            "123456789012345678901234567890}}",
	            &ev) == FL_MEV_OK &&
	          ev.loss > 1e29,
	      "a huge loss is a number");

	/* Every prefix of a valid line and of its envelope: never a crash, never an event but the
	 * whole line (or the whole minus its newline). */
	char *d = docker(all[2].line);
	const char *lines[] = {all[2].line, d};
	int bad = 0;
	for (int w = 0; w < 2; w++) {
		size_t len = strlen(lines[w]);
		for (size_t i = 0; i < len; i++) {
			char *cut = malloc(i ? i : 1);
			memcpy(cut, lines[w], i);
			bad += fl_mevent_parse(cut, i, &ev) == FL_MEV_OK;
			free(cut);
		}
	}
	CHECK(bad == 0, "every truncation of a valid line (bare and enveloped) is not an event");
	free(d);
}

int main(void)
{
	json_object_seed(1);
	test_names();
	test_every_event();
	test_envelope();
	test_types();
	test_strings();
	test_hostile();
	return unit_done();
}
