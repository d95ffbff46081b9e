/* test_manifest_saver: what the demo app's Python saver (share/flower-app/flkit_app/checkpoint.py)
 * writes is what libfl reads and writes: its manifest parses, and formats back to the same
 * bytes; its round file verifies with the SHA-256 its manifest entry holds. The fixtures are the
 * saver's own output (test/flower-app.bats checks that it still writes exactly them). */
#include "fl_buf.h"
#include "fl_err.h"
#include "fl_manifest.h"
#include "fl_npz.h"
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#define DIR "test/fixtures/manifest/"

/* The whole file, NUL-terminated; NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct fl_buf b = FL_BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		fl_buf_add(&b, chunk, n);
	fclose(f);
	fl_buf_add(&b, "", 0);
	*len = b.len;
	return b.data;
}

static void test_manifest_bytes(struct fl_manifest *m)
{
	size_t len = 0;
	char *text = slurp(DIR "saver.json", &len);
	if (!CHECK(text != NULL, "saver: the fixture " DIR "saver.json is there"))
		return;
	struct fl_err e = {0};
	CHECK(fl_manifest_parse(text, len, m, &e) == 0,
	      "saver: fl_manifest_parse accepts the saver's manifest (%s)", e.msg);
	CHECK_INT(m->n, 3, "saver: three committed rounds");
	if (m->n == 3) {
		CHECK(m->v[0].round == 1 && m->v[1].round == 2 && m->v[2].round == 10,
		      "saver: rounds 1, 2, 10 in numeric order");
		CHECK_STR(m->v[2].time, "2026-01-02T03:04:07Z", "saver: the time as RFC 3339 UTC");
		CHECK(m->v[2].arrays == 2 && m->v[2].size == 574, "saver: arrays and size");
		double loss = 0, acc = 0, tiny = 0;
		CHECK(m->v[0].nmetrics == 0 && fl_manifest_metric(&m->v[1], "loss", &loss) && loss == 0.1 &&
		          fl_manifest_metric(&m->v[1], "accuracy", &acc) && acc == 3.0 &&
		          fl_manifest_metric(&m->v[1], "tiny", &tiny) && tiny == 1e-20,
		      "saver: the metrics read back exactly (loss %g, accuracy %g, tiny %g)", loss, acc,
		      tiny);
	}
	char *again = fl_manifest_format(m);
	CHECK_STR(again, text, "saver: fl_manifest_format writes the saver's bytes back unchanged");
	free(again);
	free(text);
}

static void test_round_file(const struct fl_manifest *m)
{
	const struct fl_manifest_entry *en = fl_manifest_find(m, 10);
	int fd = open(DIR "saver_round_10.npz", O_RDONLY | O_CLOEXEC);
	if (!CHECK(en && fd >= 0, "saver: round 10's entry and file are there")) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct fl_npz_info info;
	struct fl_err e = {0};
	int rc = fl_npz_verify_fd(fd, FL_NPZ_SHA256, &info, &e);
	close(fd);
	CHECK(rc == 0, "saver: the round file verifies (%s)", e.msg);
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", info.sha256[i]);
	CHECK_STR(hex, en->sha256, "saver: the SHA-256 of the verifying pass is the manifest's");
	CHECK(info.narrays == (size_t)en->arrays && info.file_bytes == (uint64_t)en->size && !info.named_keys,
	      "saver: arr_0..arr_%ld, %lld bytes, as the entry says", en->arrays, en->size);
}

int main(void)
{
	struct fl_manifest m = FL_MANIFEST_INIT;
	test_manifest_bytes(&m);
	test_round_file(&m);
	fl_manifest_free(&m);
	return unit_done();
}
