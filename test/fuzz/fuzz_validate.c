/* fuzz_validate: libFuzzer target for the resolved configuration: fl_ctx_load from an environment
 * (and optionally a context file), fl_validate_ctx for both roles, and every renderer, with
 * round trips checked: the rendered file loads back to the same values, JSON parses, run-config
 * and node-config are well-formed TOML values once validation passed.
 *
 * Input: lines NAME=value form the environment. When the input holds a line "%%", what comes
 * before it is a context file (one_env or context.sh). */
#include "fuzz.h"
#include "fl_buf.h"
#include "fl_ctx.h"
#include "fl_render.h"
#include "fl_validate.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

FUZZ_FIXED_JSON_SEED()

#define MAX_ENV 64 /* plenty for a real environment; more only slows the did-you-mean search */

/* A file only this process sees, named by a path fl_fs_read can open. */
static int mem_file(const char *data, size_t len, char *path, size_t pathlen)
{
	int fd = memfd_create("fuzz-ctx", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n <= 0)
			abort();
		off += (size_t)n;
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

/* A TOML value as fl_render writes it: true/false, an integer or float without leading zeros,
 * or a basic string (which is also a JSON string). */
static int toml_value_ok(const char *v, size_t n)
{
	if ((n == 4 && memcmp(v, "true", 4) == 0) || (n == 5 && memcmp(v, "false", 5) == 0))
		return 1;
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		char *s = strndup(v, n);
		json_t *j = json_loadb(s, n, JSON_DECODE_ANY, NULL);
		int ok = j && json_is_string(j);
		json_decref(j);
		free(s);
		/* TOML also forbids DEL and other raw control bytes in basic strings. */
		for (size_t i = 0; ok && i < n; i++)
			ok = (unsigned char)v[i] >= 0x20 && v[i] != 0x7f;
		return ok;
	}
	const char *p = v, *end = v + n;
	if (p < end && *p == '-')
		p++;
	size_t digits = 0;
	while (p + digits < end && p[digits] >= '0' && p[digits] <= '9')
		digits++;
	if (digits == 0 || (digits > 1 && p[0] == '0'))
		return 0;
	p += digits;
	if (p == end)
		return 1;
	if (*p++ != '.')
		return 0;
	size_t frac = 0;
	while (p + frac < end && p[frac] >= '0' && p[frac] <= '9')
		frac++;
	return frac > 0 && p + frac == end;
}

/* Every line of a TOML rendering is `key = value`. */
static void check_toml(const char *s)
{
	for (const char *line = s; *line;) {
		const char *nl = strchr(line, '\n');
		REQUIRE(nl);
		const char *sep = memmem(line, (size_t)(nl - line), " = ", 3);
		REQUIRE(sep && sep > line);
		for (const char *k = line; k < sep; k++)
			REQUIRE(
			    strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", *k));
		REQUIRE(toml_value_ok(sep + 3, (size_t)(nl - sep - 3)));
		line = nl + 1;
	}
}

static void check_render_roundtrip(const struct fl_ctx *c, unsigned role)
{
	struct fl_buf out = FL_BUF_INIT;
	fl_render_file(c, role, &out);
	char path[64];
	int fd = mem_file(out.data, out.len, path, sizeof path);
	struct fl_ctx back;
	struct fl_err e;
	struct fl_ctx_opts o = {path, NULL, NULL};
	int r = fl_ctx_load(&back, &o, &e);
	if (r < 0)
		fprintf(stderr, "fuzz_validate: rendered file does not load: %s\n", e.msg);
	REQUIRE(r == 0 && back.rendered_role == role && back.unknown.n == 0);
	for (size_t i = 0; i < fl_nvars; i++) {
		if (!(fl_vars[i].roles & role))
			continue;
		const struct fl_setting *a = &c->set[i], *b = &back.set[i];
		REQUIRE(strcmp(a->value, b->value) == 0);
		REQUIRE((a->src == FL_SRC_DEFAULT) == (b->src == FL_SRC_DEFAULT));
	}
	fl_ctx_free(&back);
	close(fd);
	fl_buf_free(&out);
}

static void check_show_json(const struct fl_ctx *c, unsigned role)
{
	struct fl_buf out = FL_BUF_INIT;
	fl_render_show(c, role, FL_FMT_JSON, false, &out);
	json_error_t err;
	json_t *j = json_loads(out.data, 0, &err);
	REQUIRE(j && json_is_object(json_object_get(j, "variables")));
	const struct fl_setting *key = fl_ctx_setting(c, "FL_SSL_KEYFILE");
	json_t *kv = json_object_get(json_object_get(j, "variables"), "FL_SSL_KEYFILE");
	if (kv && *key->value) {
		char want[64];
		snprintf(want, sizeof want, "<secret: %zu bytes>", strlen(key->value));
		REQUIRE(strcmp(json_string_value(json_object_get(kv, "value")), want) == 0);
	}
	json_decref(j);
	fl_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *end = buf + size;
	const char *env = buf;
	char path[64];
	int fd = -1;
	const char *sep;
	if (size >= 3 && memcmp(buf, "%%\n", 3) == 0) {
		fd = mem_file(buf, 0, path, sizeof path);
		env = buf + 3;
	} else if ((sep = memmem(buf, size, "\n%%\n", 4)) != NULL) {
		fd = mem_file(buf, (size_t)(sep - buf), path, sizeof path);
		env = sep + 4;
	}

	char *envp[MAX_ENV + 1];
	size_t n = 0;
	for (const char *p = env; p < end && n < MAX_ENV;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (le > p)
			envp[n++] = strndup(p, (size_t)(le - p));
		p = le + 1;
	}
	envp[n] = NULL;

	struct fl_ctx c;
	struct fl_err e;
	struct fl_ctx_opts o = {fd >= 0 ? path : NULL, NULL, envp};
	if (fl_ctx_load(&c, &o, &e) < 0) {
		REQUIRE(fd >= 0 && e.msg[0]);
		fl_ctx_free(&c);
		goto out;
	}
	static const unsigned roles[] = {FL_ROLE_SUPERLINK, FL_ROLE_SUPERNODE};
	for (int i = 0; i < 2; i++) {
		struct fl_diags d = FL_DIAGS_INIT;
		unsigned errors = fl_validate_ctx(&c, roles[i], &d);
		REQUIRE(errors == d.errors);
		unsigned counted = 0;
		for (size_t k = 0; k < d.n; k++) {
			REQUIRE(d.v[k].msg && d.v[k].msg[0]);
			counted += d.v[k].level >= FL_ERROR;
		}
		REQUIRE(counted == errors);
		struct fl_buf out = FL_BUF_INIT;
		if (roles[i] == FL_ROLE_SUPERLINK) {
			fl_render_run_config(&c, FL_FMT_TEXT, &out);
			fl_buf_reset(&out);
			fl_render_run_config(&c, FL_FMT_TOML, &out);
			if (errors == 0)
				check_toml(fl_buf_str(&out));
		} else if (errors == 0) {
			fl_render_node_config(fl_ctx_value(&c, FLV_FL_NODE_CONFIG), FL_FMT_TOML, &out);
			check_toml(fl_buf_str(&out));
			fl_buf_reset(&out);
			fl_render_node_config(fl_ctx_value(&c, FLV_FL_NODE_CONFIG), FL_FMT_TEXT, &out);
		}
		fl_buf_free(&out);
		fl_diags_free(&d);
	}
	/* The round trips are the costly part: one role per input keeps the fuzzer fast. */
	check_render_roundtrip(&c, roles[size % 2]);
	check_show_json(&c, size % 3 == 2 ? 0 : roles[size % 3]);
	static const enum fl_format fmts[] = {FL_FMT_TEXT, FL_FMT_ENV, FL_FMT_SHELL};
	for (int i = 0; i < 3; i++) {
		struct fl_buf out = FL_BUF_INIT;
		fl_render_show(&c, 0, fmts[i], i == 2, &out);
		fl_buf_free(&out);
	}
	fl_ctx_free(&c);
out:
	for (size_t i = 0; i < n; i++)
		free(envp[i]);
	if (fd >= 0)
		close(fd);
	return 0;
}
