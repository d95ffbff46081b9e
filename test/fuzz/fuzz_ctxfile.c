/* fuzz_ctxfile: libFuzzer target for fl_ctxfile_parse: hostile context files parse into sane
 * entries or fail cleanly, all or nothing. */
#include "fuzz.h"
#include "fl_ctxfile.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const what = "fuzz.env";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	unsigned lines = 1;
	for (size_t i = 0; i < size; i++)
		lines += buf[i] == '\n';

	/* A sentinel entry shows whether a failed parse leaves the list as it was. */
	struct fl_kvlist l = FL_KVLIST_INIT;
	fl_kvlist_add(&l, "SENTINEL", 8, "kept", 4, 1);
	struct fl_err e;
	fl_err_clear(&e);
	int r = fl_ctxfile_parse(buf, size, what, &l, &e);
	if (r < 0) {
		REQUIRE(r == -1);
		REQUIRE(l.n == 1 && strcmp(l.v[0].name, "SENTINEL") == 0 &&
		        strcmp(l.v[0].value, "kept") == 0);
		REQUIRE(e.code == FL_EXIT_FAIL);
		REQUIRE(strncmp(e.msg, what, strlen(what)) == 0 && e.msg[strlen(what)] == ':');
		REQUIRE(memchr(e.msg, '\0', sizeof e.msg) != NULL);
		REQUIRE(strchr(e.msg, '\n') == NULL);
	} else {
		REQUIRE(r == 0);
		REQUIRE(l.n >= 1 && l.n - 1 <= FL_CTXFILE_MAX_ENTRIES);
		REQUIRE(memchr(buf, '\0', size) == NULL);
		unsigned prev = 0;
		size_t total = 0;
		for (size_t i = 1; i < l.n; i++) {
			const struct fl_kv *kv = &l.v[i];
			size_t n = strlen(kv->name);
			REQUIRE(n > 0 && n <= FL_CTXFILE_MAX_NAME);
			REQUIRE(strspn(kv->name,
			               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
			        n);
			/* A value is a C string made of input bytes: it cannot be longer than the input. */
			size_t vn = strlen(kv->value);
			REQUIRE(vn <= size);
			REQUIRE(vn == 0 || memchr(buf, kv->value[0], size) != NULL);
			REQUIRE(kv->line >= 1 && kv->line <= lines && kv->line > prev);
			prev = kv->line;
			total += n + vn;
			REQUIRE(fl_kvlist_get(&l, kv->name) != NULL);
		}
		REQUIRE(total <= size);

		/* Parsing is deterministic. */
		struct fl_kvlist again = FL_KVLIST_INIT;
		REQUIRE(fl_ctxfile_parse(buf, size, what, &again, &e) == 0 && again.n == l.n - 1);
		for (size_t i = 0; i < again.n; i++)
			REQUIRE(strcmp(again.v[i].name, l.v[i + 1].name) == 0 &&
			        strcmp(again.v[i].value, l.v[i + 1].value) == 0 &&
			        again.v[i].line == l.v[i + 1].line);
		fl_kvlist_free(&again);
	}
	fl_kvlist_free(&l);
	return 0;
}
