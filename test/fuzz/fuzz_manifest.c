/* fuzz_manifest: libFuzzer target for the checkpoint manifest parser (fl_manifest_parse), fed
 * what a container that can write the checkpoint directory may leave there. An input parses
 * into sorted, checked entries that format to a text parsing back to the same entries (and
 * formatting to the same bytes), or fails with a printable message and an empty manifest. */
#include "fl_buf.h"
#include "fl_manifest.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* jansson seeds its hash function from /dev/urandom unless told: a fixed seed keeps a run of
 * test/fuzz/run with a fixed libFuzzer seed the same run. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	json_object_seed(1);
	return 0;
}

#define REQUIRE(cond)                                                                                        \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "fuzz_manifest: invariant failed: %s (%s:%d)\n", #cond, __FILE__,    \
			        __LINE__);                                                                   \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			return false;
	return true;
}

static bool same_entry(const struct fl_manifest_entry *a, const struct fl_manifest_entry *b)
{
	if (a->nmetrics != b->nmetrics)
		return false;
	for (size_t i = 0; i < a->nmetrics; i++)
		if (strcmp(a->metrics[i].name, b->metrics[i].name) != 0 ||
		    a->metrics[i].value != b->metrics[i].value)
			return false;
	return a->round == b->round && a->size == b->size && a->arrays == b->arrays &&
	       strcmp(a->sha256, b->sha256) == 0 && strcmp(a->time, b->time) == 0;
}

/* A parsed manifest: every entry checked, rounds ascending, names and lookups agree. */
static void sane(const struct fl_manifest *m)
{
	REQUIRE(m->n <= (size_t)FL_MANIFEST_ENTRIES_MAX && m->n <= m->cap);
	for (size_t i = 0; i < m->n; i++) {
		const struct fl_manifest_entry *en = &m->v[i];
		REQUIRE(fl_manifest_check_entry(en, NULL) == 0);
		REQUIRE(i == 0 || en[-1].round < en->round);
		char file[FL_MANIFEST_FILE_LEN];
		REQUIRE(fl_manifest_file(en->round, file) == 0 && fl_manifest_round_of(file) == en->round);
		REQUIRE(!strchr(file, '/'));
		REQUIRE(fl_manifest_find(m, en->round) == en);
	}
	REQUIRE(m->n ? fl_manifest_newest(m) == &m->v[m->n - 1] : fl_manifest_newest(m) == NULL);
}

/* format, parse back, format again: the same entries, the same bytes. */
static void round_trip(const struct fl_manifest *m)
{
	char *text = fl_manifest_format(m);
	size_t n = strlen(text);
	REQUIRE(n && text[n - 1] == '\n');
	/* Metrics written compactly grow when indented: what exceeds the bound fl_manifest_save
	 * refuses to write, so it never has to be read back. */
	if (n > (size_t)FL_MANIFEST_BYTES_MAX) {
		free(text);
		return;
	}
	struct fl_manifest back = FL_MANIFEST_INIT;
	struct fl_err e = {0};
	REQUIRE(fl_manifest_parse(text, n, &back, &e) == 0);
	REQUIRE(back.n == m->n);
	for (size_t i = 0; i < m->n; i++)
		REQUIRE(same_entry(&back.v[i], &m->v[i]));
	char *again = fl_manifest_format(&back);
	REQUIRE(strcmp(again, text) == 0);
	free(again);
	free(text);
	fl_manifest_free(&back);
}

/* Editing keeps the order: the newest removed, then put back. */
static void edit(struct fl_manifest *m)
{
	if (!m->n)
		return;
	struct fl_manifest_entry newest = *fl_manifest_newest(m);
	/* remove frees the entry's metrics: keep a copy to put back. */
	struct fl_manifest_metric metrics[FL_MANIFEST_METRICS_MAX];
	if (newest.nmetrics)
		memcpy(metrics, newest.metrics, newest.nmetrics * sizeof *metrics);
	newest.metrics = metrics;
	size_t n = m->n;
	REQUIRE(fl_manifest_remove(m, newest.round) && m->n == n - 1 && !fl_manifest_find(m, newest.round));
	REQUIRE(!fl_manifest_remove(m, newest.round));
	REQUIRE(fl_manifest_put(m, &newest, NULL) == 0 && m->n == n);
	REQUIRE(same_entry(fl_manifest_newest(m), &newest));
	sane(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_manifest m = FL_MANIFEST_INIT;
	struct fl_err e;
	fl_err_clear(&e);
	if (fl_manifest_parse((const char *)data, size, &m, &e) < 0) {
		REQUIRE(e.code == FL_EXIT_FAIL && e.msg[0] && printable(e.msg));
		REQUIRE(m.n == 0 && m.v == NULL);
		return 0;
	}
	sane(&m);
	round_trip(&m);
	edit(&m);
	fl_manifest_free(&m);
	return 0;
}
