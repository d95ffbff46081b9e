/* test_buf: the growable buffer and its quoting helpers (shell words, JSON/TOML strings). */
#include "fl_buf.h"
#include "unit.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

static void test_basics(void)
{
	struct fl_buf b = FL_BUF_INIT;
	CHECK(strcmp(fl_buf_str(&b), "") == 0 && b.len == 0, "buf: empty buffer reads as \"\"");
	fl_buf_adds(&b, "ab");
	fl_buf_addc(&b, 'c');
	fl_buf_addf(&b, "%d-%s", 42, "x");
	fl_buf_add(&b, "\0z", 2);
	CHECK(b.len == 9 && memcmp(b.data, "abc42-x\0z", 10) == 0,
	      "buf: appends, NUL-terminated, embedded NUL kept");
	fl_buf_reset(&b);
	CHECK(b.len == 0 && strcmp(fl_buf_str(&b), "") == 0 && b.cap > 0, "buf: reset keeps the storage");
	for (int i = 0; i < 10000; i++)
		fl_buf_addf(&b, "%04d", i);
	CHECK(b.len == 40000 && strncmp(b.data + 39996, "9999", 4) == 0 && b.data[40000] == '\0',
	      "buf: grows to 40000 bytes");
	fl_buf_free(&b);
	CHECK(b.data == NULL && b.len == 0 && b.cap == 0, "buf: free resets");
	fl_buf_add(&b, "", 0);
	CHECK(b.data && b.data[0] == '\0', "buf: adding nothing allocates a terminated string");
	fl_buf_free(&b);

	char *s = fl_xstrndup("abcdef", 3);
	CHECK(strcmp(s, "abc") == 0, "xstrndup");
	free(s);
	s = fl_xstrdup("");
	CHECK(s && !*s, "xstrdup of \"\"");
	free(s);
}

static void test_sq(void)
{
	static const struct {
		const char *in, *out;
	} t[] = {
	    {"", "''"},
	    {"plain", "'plain'"},
	    {"it's", "'it'\\''s'"},
	    {"'", "''\\'''"},
	    {"a b$`\\\"\n", "'a b$`\\\"\n'"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct fl_buf b = FL_BUF_INIT;
		fl_buf_add_sq(&b, t[i].in);
		CHECK_STR(b.data, t[i].out, "sq: exact quoting %zu", i);
		fl_buf_free(&b);
	}
}

static void test_utf8(void)
{
	static const struct {
		const char *in;
		size_t n;
	} t[] = {
	    {"A", 1},
	    {"\x7f", 1},
	    {"\xc3\xb1", 2},
	    {"\xe2\x9c\x93", 3},
	    {"\xf0\x9f\x98\x80", 4},
	    {"\xf4\x8f\xbf\xbf", 4},
	    {"\xf4\x90\x80\x80", 0},
	    {"\xc0\x80", 0},
	    {"\xc1\xbf", 0},
	    {"\xe0\x80\x80", 0},
	    {"\xf0\x80\x80\x80", 0},
	    {"\xed\xa0\x80", 0},
	    {"\xed\x9f\xbf", 3},
	    {"\x80", 0},
	    {"\xbf", 0},
	    {"\xf8\x88\x80\x80\x80", 0},
	    {"\xff", 0},
	    {"\xc3", 0},
	    {"\xe2\x9c", 0},
	    {"\xc3(", 0},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		CHECK_INT(fl_buf_utf8_seqlen((const unsigned char *)t[i].in), t[i].n,
		          "utf8: sequence %zu is %zu byte(s)", i, t[i].n);
}

/* Parse the output of fl_buf_add_dq as a JSON string. NULL when jansson refuses it. */
static char *json_decode(const char *quoted)
{
	struct fl_buf doc = FL_BUF_INIT;
	fl_buf_addf(&doc, "[%s]", quoted);
	json_error_t err;
	json_t *j = json_loads(doc.data, 0, &err);
	fl_buf_free(&doc);
	if (!j)
		return NULL;
	char *out =
	    json_is_string(json_array_get(j, 0)) ? fl_xstrdup(json_string_value(json_array_get(j, 0))) : NULL;
	json_decref(j);
	return out;
}

static bool valid_utf8(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = fl_buf_utf8_seqlen(p);
		if (!n)
			return false;
		p += n;
	}
	return true;
}

static void test_dq(void)
{
	static const struct {
		const char *in, *out, *decoded;
	} t[] = {
	    {"", "\"\"", ""},
	    {"plain", "\"plain\"", "plain"},
	    {"a\"b\\c", "\"a\\\"b\\\\c\"", "a\"b\\c"},
	    {"\n\r\t", "\"\\n\\r\\t\"", "\n\r\t"},
	    {"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"", "\x01\x1f\x7f"},
	    {"\xc3\xb1\xe2\x9c\x93\xf0\x9f\x98\x80", "\"\xc3\xb1\xe2\x9c\x93\xf0\x9f\x98\x80\"",
	     "\xc3\xb1\xe2\x9c\x93\xf0\x9f\x98\x80"},
	    {"a\xff"
	     "b",
	     "\"a\\ufffdb\"",
	     "a\xef\xbf\xbd"
	     "b"},
	    {"\xc0\xaf", "\"\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd"},
	    {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
	    {"x\xe2\x9c", "\"x\\ufffd\\ufffd\"", "x\xef\xbf\xbd\xef\xbf\xbd"},
	    {"</script>", "\"</script>\"", "</script>"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct fl_buf b = FL_BUF_INIT;
		fl_buf_add_dq(&b, t[i].in);
		CHECK_STR(b.data, t[i].out, "dq: exact quoting %zu", i);
		char *d = json_decode(b.data);
		CHECK_STR(d, t[i].decoded, "dq: jansson reads %zu back", i);
		free(d);
		fl_buf_free(&b);
	}

	/* Random bytes: the output is always one valid JSON string of valid UTF-8, and valid UTF-8
	 * input comes back unchanged. */
	uint32_t x = 12345;
	unsigned bad = 0, changed = 0, valid_inputs = 0;
	for (int it = 0; it < 20000; it++) {
		char in[64];
		size_t n = 1 + it % 63;
		for (size_t k = 0; k < n; k++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			/* Bias towards UTF-8 lead and continuation bytes. */
			unsigned v = x % 4 == 0   ? 0x80 | (x >> 8) % 0x40
			             : x % 4 == 1 ? 0xc0 | (x >> 8) % 0x38
			                          : (x >> 8) % 256;
			in[k] = (char)(v ? v : 'z');
		}
		in[n] = '\0';
		struct fl_buf b = FL_BUF_INIT;
		fl_buf_add_dq(&b, in);
		char *d = json_decode(b.data);
		if (!d || !valid_utf8(d) || strchr(b.data, '\n'))
			bad++;
		else if (valid_utf8(in) && ++valid_inputs && strcmp(d, in) != 0)
			changed++;
		free(d);
		fl_buf_free(&b);
	}
	CHECK(bad == 0, "dq: 20000 random strings all give valid one-line JSON");
	CHECK(changed == 0 && valid_inputs > 0, "dq: %u valid UTF-8 inputs round-trip unchanged",
	      valid_inputs);
}

int main(void)
{
	test_basics();
	test_sq();
	test_utf8();
	test_dq();
	return unit_done();
}
