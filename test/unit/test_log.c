/* test_log: the one log line format, text and JSON; one call is always one line; the error
 * values the lines report. */
#include "fl_err.h"
#include "fl_log.h"
#include "unit.h"

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>

static char *mem;
static size_t memlen;
static FILE *memf;

static void capture(void)
{
	free(mem);
	mem = NULL;
	memf = open_memstream(&mem, &memlen);
	fl_log_set_stream(memf);
}

/* Stop capturing; the text written. */
static const char *captured(void)
{
	fl_log_set_stream(NULL);
	fclose(memf);
	memf = NULL;
	return mem;
}

static bool matches(const char *s, const char *re)
{
	regex_t r;
	if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	bool ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

static unsigned lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_text(void)
{
	unsetenv("FL_LOG_FORMAT");
	unsetenv("ONEAPP_FL_LOG_FORMAT");
	fl_log_init("fl-test");
	fl_log_set_threshold(FL_INFO);
	capture();
	fl_info("hello %s", "world");
	const char *out = captured();
	CHECK(matches(out, "^\\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\] \\[INFO\\] "
	                   "\\[fl-test\\] hello world\n$"),
	      "log: [YYYY-MM-DD HH:MM:SS] [INFO] [tool] message");
	DIAG("%.*s", (int)strcspn(out, "\n"), out);

	capture();
	fl_debug("hidden");
	fl_warn("w");
	fl_error("e");
	fl_fatal("f");
	out = captured();
	CHECK(!strstr(out, "hidden") && lines(out) == 3, "log: DEBUG is below the default threshold");
	CHECK(strstr(out, "] [WARN] [fl-test] w\n") && strstr(out, "] [ERROR] [fl-test] e\n") &&
	          strstr(out, "] [FATAL] [fl-test] f\n"),
	      "log: level names WARN, ERROR, FATAL");
	fl_log_set_threshold(FL_DEBUG);
	capture();
	fl_debug("shown");
	out = captured();
	CHECK(strstr(out, "] [DEBUG] [fl-test] shown\n") != NULL,
	      "log: set_threshold(DEBUG) shows debug lines");
	fl_log_set_threshold(FL_ERROR);
	capture();
	fl_warn("dropped");
	fl_error("kept");
	out = captured();
	CHECK(lines(out) == 1 && strstr(out, "kept"), "log: set_threshold(ERROR) drops warnings");
	fl_log_set_threshold(FL_INFO);

	capture();
	fl_info("a\nb\rc\td\x01"
	        "e\x7f"
	        "f\xc3\xb1");
	out = captured();
	CHECK(lines(out) == 1 && strstr(out, "] a\\nb\\rc\\td\\x01e\\x7ff\xc3\xb1\n"),
	      "log: control characters are escaped, UTF-8 kept: one call is one line");
	capture();
	fl_info("%s", "injected\n[2020-01-01 00:00:00] [INFO] [fl-test] fake");
	out = captured();
	CHECK(lines(out) == 1, "log: a value cannot forge a second line");
	/* C1 controls (U+009B is CSI on many terminals) and bytes that are not UTF-8 are escaped
	 * too: log lines carry untrusted text (service output, OneGate answers). */
	capture();
	fl_info("%s", "c1 \xc2\x9b[2J bad \xff\xfe ok \xc3\xa9");
	out = captured();
	CHECK(strstr(out, "] c1 \\xc2\\x9b[2J bad \\xff\\xfe ok \xc3\xa9\n") != NULL,
	      "log: C1 controls and invalid UTF-8 are escaped, valid UTF-8 kept");

	CHECK(strcmp(fl_log_level_name(FL_WARN), "WARN") == 0 &&
	          strcmp(fl_log_level_name((enum fl_level)99), "INFO") == 0,
	      "log: level names, out of range is INFO");
}

static void test_json(void)
{
	fl_log_set_json(1);
	capture();
	fl_warn("disk %s", "a\"b\\c\nd\x01\xff");
	const char *out = captured();
	CHECK(lines(out) == 1 && out[strlen(out) - 1] == '\n', "json: one line per call");
	json_error_t err;
	json_t *j = json_loads(out, 0, &err);
	if (!CHECK(j && json_is_object(j), "json: the line is a JSON object"))
		DIAG("%s: %s", err.text, out);
	const char *ts = json_string_value(json_object_get(j, "timestamp"));
	CHECK(ts && matches(ts, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$"),
	      "json: timestamp is UTC ISO-8601 with milliseconds (%s)", ts ? ts : "-");
	CHECK_STR(json_string_value(json_object_get(j, "level")), "WARNING",
	          "json: WARN is written as WARNING");
	CHECK_STR(json_string_value(json_object_get(j, "logger")), "flkit", "json: logger flkit");
	CHECK_STR(json_string_value(json_object_get(j, "tool")), "fl-test", "json: tool");
	CHECK_STR(json_string_value(json_object_get(j, "message")), "disk a\"b\\c\nd\x01\xef\xbf\xbd",
	          "json: message with escapes, invalid UTF-8 replaced");
	json_decref(j);

	/* Python's level names, as Flower's JSON formatter writes them (04 §3.2). */
	static const struct {
		enum fl_level l;
		const char *name;
	} lv[] = {{FL_INFO, "INFO"}, {FL_ERROR, "ERROR"}, {FL_FATAL, "CRITICAL"}};
	for (size_t i = 0; i < sizeof lv / sizeof lv[0]; i++) {
		capture();
		fl_log(lv[i].l, "m");
		out = captured();
		json_t *a = json_loads(out, 0, &err);
		CHECK_STR(a ? json_string_value(json_object_get(a, "level")) : NULL, lv[i].name,
		          "json: level %s", lv[i].name);
		json_decref(a);
	}
	fl_log_set_json(0);

	setenv("FL_LOG_FORMAT", "json", 1);
	fl_log_init("fl-env");
	capture();
	fl_info("x");
	out = captured();
	CHECK(out[0] == '{' && strstr(out, "\"tool\":\"fl-env\""), "json: FL_LOG_FORMAT=json selects JSON");
	setenv("ONEAPP_FL_LOG_FORMAT", "text", 1);
	fl_log_init("fl-env");
	capture();
	fl_info("x");
	out = captured();
	CHECK(out[0] == '[', "json: ONEAPP_FL_LOG_FORMAT wins over FL_LOG_FORMAT");
	setenv("ONEAPP_FL_LOG_FORMAT", "", 1);
	fl_log_init("fl-env");
	capture();
	fl_info("x");
	out = captured();
	CHECK(out[0] == '{', "json: an empty ONEAPP_FL_LOG_FORMAT is unset");
	unsetenv("FL_LOG_FORMAT");
	unsetenv("ONEAPP_FL_LOG_FORMAT");
	fl_log_init("fl-test");
}

/* fl_err_prefix and fl_err_append wrap a message a callee wrote, never past the buffer. */
static void test_err_wrap(void)
{
	struct fl_err e = {0};
	fl_err_set(&e, FL_EXIT_USAGE, "bad 'x'");
	CHECK(fl_err_prefix(&e, FL_EXIT_FAIL, "GET %s", "/vm") == -1, "prefix: returns -1");
	CHECK_STR(e.msg, "GET /vm: bad 'x'", "prefix: where, then what");
	CHECK(e.code == FL_EXIT_FAIL, "prefix: sets the code");
	CHECK(fl_err_append(&e, "; set %s", "X") == -1, "append: returns -1");
	CHECK_STR(e.msg, "GET /vm: bad 'x'; set X", "append: what to do after it");
	CHECK(e.code == FL_EXIT_FAIL, "append: keeps the code");

	char big[2 * sizeof e.msg];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	fl_err_set(&e, FL_EXIT_FAIL, "%s", "tail");
	fl_err_prefix(&e, FL_EXIT_FAIL, "%s", big);
	CHECK(strlen(e.msg) == sizeof e.msg - 1 && e.msg[0] == 'a',
	      "prefix: a long prefix is cut at the buffer");
	fl_err_set(&e, FL_EXIT_FAIL, "%s", big);
	fl_err_prefix(&e, FL_EXIT_FAIL, "p");
	CHECK(strlen(e.msg) == sizeof e.msg - 1 && strncmp(e.msg, "p: aaa", 6) == 0,
	      "prefix: the old message is cut to what fits");
	fl_err_append(&e, "more");
	CHECK(strlen(e.msg) == sizeof e.msg - 1, "append: a full message stays whole and terminated");
	CHECK(fl_err_prefix(NULL, 1, "x") == -1 && fl_err_append(NULL, "x") == -1, "wrap: NULL is allowed");
}

int main(void)
{
	test_err_wrap();
	test_text();
	test_json();
	free(mem);
	return unit_done();
}
