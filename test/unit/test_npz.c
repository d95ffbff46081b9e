/* test_npz: the .npz verifier against numpy's own savez/savez_compressed output (what it reports
 * of each array), hostile archives (each refused with the check and member named), every
 * single-byte flip and every truncation of small checkpoints, and the descriptor path (files,
 * pipes, SHA-256 of the same pass). Fixtures: test/fixtures/npz/make.py. */
#include "fl_buf.h"
#include "fl_npz.h"
#include "unit.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define DIR      "test/fixtures/npz/"

static struct fl_npz_info info; /* large: kept off the stack */

static unsigned char *load(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("Bail out! cannot open %s (run from the repository root)\n", path);
		exit(1);
	}
	unsigned char *b = NULL;
	size_t cap = 0;
	*n = 0;
	for (;;) {
		b = fl_xrealloc(b, cap += 4096);
		size_t got = fread(b + *n, 1, cap - *n, f);
		*n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	return b;
}

static int verify_file(const char *path, struct fl_err *e)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return fl_err_set(e, 1, "cannot open %s", path);
	int r = fl_npz_verify_fd(fd, FL_NPZ_SHA256, &info, e);
	close(fd);
	return r;
}

static void test_numpy_output(void)
{
	static const struct {
		const char *file;
		size_t narrays;
		bool named, compressed;
	} t[] = {
	    {"one.npz", 1, false, false},
	    {"three.npz", 3, false, false},
	    {"twelve.npz", 12, false, false},
	    {"twelve-compressed.npz", 12, false, true},
	    {"zero-d.npz", 2, false, false},
	    {"big-endian.npz", 3, false, false},
	    {"fortran.npz", 1, false, false},
	    {"empty.npz", 2, false, false},
	    {"kinds.npz", 14, false, false},
	    {"named.npz", 2, true, false},
	    {"no-arrays.npz", 0, false, false},
	    {"flip.npz", 2, false, false},
	    {"flip-compressed.npz", 2, false, true},
	    {"npy-v2-v3.npz", 2, false, false},
	    {"large-compressed.npz", 2, false, true}, /* 1.6 MB inflated in 64 KiB pieces */
	    {"zip64-end.npz", 2, false, false},       /* zip64 central entries and end record */
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		char path[256];
		snprintf(path, sizeof path, DIR "good/%s", t[i].file);
		struct fl_err e = {0};
		int r = verify_file(path, &e);
		CHECK(r == 0 && info.narrays == t[i].narrays && info.nlisted == t[i].narrays &&
		          info.named_keys == t[i].named && info.compressed == t[i].compressed,
		      "numpy's %s verifies: %zu arrays%s%s (%s)", t[i].file, t[i].narrays,
		      t[i].named ? ", named keys" : "", t[i].compressed ? ", deflated" : "",
		      r ? e.msg : "ok");
		size_t n;
		unsigned char *b = load(path, &n), md[32];
		EVP_Digest(b, n, md, NULL, EVP_sha256(), NULL);
		CHECK(r == 0 && info.file_bytes == n && memcmp(md, info.sha256, 32) == 0,
		      "%s: the same pass hashes the whole file (%zu bytes, SHA-256)", t[i].file, n);
		struct fl_npz_info again;
		CHECK(fl_npz_verify_buf(b, n, 0, &again, &e) == 0 && again.narrays == t[i].narrays &&
		          again.data_bytes == info.data_bytes,
		      "%s: the buffer API agrees", t[i].file);
		free(b);
	}
}

static const struct fl_npz_array *array_of(const char *file, size_t k)
{
	char path[256];
	snprintf(path, sizeof path, DIR "good/%s", file);
	struct fl_err e = {0};
	if (verify_file(path, &e) || k >= info.nlisted)
		return NULL;
	return &info.arrays[k];
}

static void test_reported_arrays(void)
{
	const struct fl_npz_array *a = array_of("twelve.npz", 10);
	CHECK(a && strcmp(a->name, "arr_10.npy") == 0 && a->ndim == 1 && a->shape[0] == 11 &&
	          strcmp(a->descr, "<f4") == 0 && a->nbytes == 44,
	      "twelve.npz: arr_10.npy follows arr_9.npy, '<f4' (11,), 44 bytes");
	a = array_of("zero-d.npz", 0);
	CHECK(a && a->ndim == 0 && a->nbytes == 8 && strcmp(a->descr, "<f8") == 0,
	      "zero-d.npz: a 0-d float64");
	a = array_of("big-endian.npz", 2);
	CHECK(a && strcmp(a->descr, ">c16") == 0 && a->nbytes == 16,
	      "big-endian.npz: '>c16' kept as written");
	a = array_of("fortran.npz", 0);
	CHECK(a && a->fortran_order && a->ndim == 2 && a->shape[0] == 2 && a->shape[1] == 3,
	      "fortran.npz: fortran_order True, shape (2, 3)");
	a = array_of("empty.npz", 1);
	CHECK(a && a->ndim == 2 && a->shape[0] == 3 && a->shape[1] == 0 && a->nbytes == 0 &&
	          info.data_bytes == 0,
	      "empty.npz: shape (3, 0), no data bytes");
	a = array_of("kinds.npz", 0);
	CHECK(a && strcmp(a->descr, "|b1") == 0 && strcmp(info.arrays[13].descr, "<c16") == 0,
	      "kinds.npz: bool first, complex128 last");
	a = array_of("named.npz", 1);
	CHECK(a && info.named_keys && strcmp(info.arrays[0].name, "weights.npy") == 0 &&
	          strcmp(a->name, "bias.npy") == 0,
	      "named.npz: the keys are reported: weights.npy, bias.npy");
	a = array_of("three.npz", 0);
	CHECK(a && info.data_bytes == 2 * 3 * 4 + 5 * 8 + 3, "three.npz: total data bytes is the sum");
}

static void test_hostile(void)
{
	static const struct {
		const char *file, *want;
	} t[] = {
	    {"object.npz", "arr_1.npy: dtype '|O' (object) refused: pickled data is never loaded"},
	    {"structured.npz", "arr_0.npy: dtype is a structured (record) type"},
	    {"unicode.npz", "arr_0.npy: dtype '<U2' not allowed"},
	    {"datetime.npz", "arr_0.npy: dtype '<M8[D]' not allowed"},
	    {"shape-overflow.npz", "arr_0.npy: shape overflows"},
	    {"bytes-overflow.npz", "arr_0.npy: shape x itemsize 16 overflows"},
	    {"size-mismatch.npz", "arr_0.npy: data size: header 128 + prod(shape) x itemsize 8000 = 8128 "
	                          "bytes, the member holds 136"},
	    {"dict-missing-shape.npz", "arr_0.npy: NPY header: 'descr', 'fortran_order' and 'shape' are all"},
	    {"dict-extra-key.npz", "arr_0.npy: NPY header: unknown key 'x'"},
	    {"dict-not-dict.npz", "arr_0.npy: NPY header: not a dict literal"},
	    {"dict-shape-int.npz", "arr_0.npy: NPY header: 'shape' is not a tuple"},
	    {"dict-twice.npz", "arr_0.npy: NPY header: key 'shape' given twice"},
	    {"npy-magic.npz", "arr_0.npy: not an .npy file"},
	    {"npy-version.npz", "arr_0.npy: NPY version 4.0"},
	    {"duplicate.npz", "zip: member 'arr_0.npy' appears twice"},
	    {"dotdot.npz", "zip: member '../arr_0.npy' refused: absolute path or '..'"},
	    {"absolute.npz", "zip: member '/abs/arr_0.npy' refused: absolute path or '..'"},
	    {"not-npy.npz", "zip: member 'arr_0.txt' is not an .npy file"},
	    {"gap.npz", "arr_2.npy: member 1 should be arr_1.npy"},
	    {"order.npz", "arr_1.npy: member 0 should be arr_0.npy"},
	};
	for (size_t i = 0; i < NELEM(t); i++) {
		char path[256];
		snprintf(path, sizeof path, DIR "bad/%s", t[i].file);
		struct fl_err e = {0};
		int r = verify_file(path, &e);
		CHECK(r < 0 && e.code == FL_EXIT_FAIL && strstr(e.msg, t[i].want), "%s refused: %s",
		      t[i].file, t[i].want);
		if (r == 0 || !strstr(e.msg, t[i].want))
			unit_show("got", e.msg, 400);
	}
}

/* The zip64 extra field of the first local header: sizes follow its 4-byte record header. */
static void test_declared_sizes(void)
{
	size_t n;
	unsigned char *b = load(DIR "good/one.npz", &n);
	size_t x = 30 + 9 + 4; /* header, "arr_0.npy", zip64 record id and length */
	struct fl_err e = {0};
	unsigned char *c = fl_xcalloc(1, n);
	memcpy(c, b, n);
	c[x + 5] = c[x + 13] = 0x10; /* both sizes + 2^40 */
	CHECK(fl_npz_verify_buf(c, n, 0, NULL, &e) < 0 && strstr(e.msg, "arr_0.npy: declares ") &&
	          strstr(e.msg, "bytes of data, the file has"),
	      "a stored member declaring 1 TiB in a 276-byte file is refused before reading it");
	memcpy(c, b, n);
	c[x + 5] = 0x10;
	CHECK(fl_npz_verify_buf(c, n, 0, NULL, &e) < 0 && strstr(e.msg, "stored (sizes must match)"),
	      "stored sizes that differ are refused (%s)", e.msg);
	memcpy(c, b, n);
	c[30 + 9 + 2] = 12; /* zip64 record shorter than its two sizes */
	CHECK(fl_npz_verify_buf(c, n, 0, NULL, &e) < 0, "a zip64 record that lacks a size is refused (%s)",
	      e.msg);
	free(c);
	free(b);
}

static size_t flips_missed(const char *file, unsigned char mask)
{
	size_t n, missed = 0;
	unsigned char *b = load(file, &n);
	for (size_t i = 0; i < n; i++) {
		struct fl_err e = {0};
		b[i] ^= mask;
		if (fl_npz_verify_buf(b, n, 0, NULL, &e) == 0) {
			if (missed++ < 5)
				DIAG("%s: flip 0x%02x at byte %zu not detected", file, mask, i);
		} else if (e.code != FL_EXIT_FAIL || !e.msg[0]) {
			missed++;
		}
		b[i] ^= mask;
	}
	free(b);
	return missed;
}

static void test_every_flip(void)
{
	static const char *const files[] = {DIR "good/flip.npz", DIR "good/flip-compressed.npz",
	                                    DIR "good/zip64-end.npz"};
	static const unsigned char masks[] = {0x01, 0x02, 0x10, 0x80, 0xff};
	for (size_t f = 0; f < NELEM(files); f++)
		for (size_t m = 0; m < NELEM(masks); m++)
			CHECK(flips_missed(files[f], masks[m]) == 0, "%s: every byte xor 0x%02x is detected",
			      files[f], masks[m]);
}

static void test_every_truncation(void)
{
	static const char *const files[] = {DIR "good/flip.npz", DIR "good/flip-compressed.npz",
	                                    DIR "good/twelve.npz", DIR "good/zip64-end.npz"};
	for (size_t f = 0; f < NELEM(files); f++) {
		size_t n, missed = 0;
		unsigned char *b = load(files[f], &n);
		for (size_t len = 0; len < n; len++) {
			unsigned char *c = fl_xcalloc(1, len + 1); /* exactly len bytes readable under ASan */
			memcpy(c, b, len);
			struct fl_err e = {0};
			if (fl_npz_verify_buf(c, len, 0, NULL, &e) == 0)
				missed++;
			free(c);
		}
		CHECK(missed == 0, "%s: each of its %zu truncations is detected", files[f], n);
		free(b);
	}
	struct fl_err e = {0};
	CHECK(fl_npz_verify_buf("", 0, 0, NULL, &e) < 0 && strstr(e.msg, "empty file"), "an empty file: %s",
	      e.msg);
}

/* Through a pipe (size unknown), written a few bytes at a time by a child. */
static void test_pipe(void)
{
	size_t n;
	unsigned char *b = load(DIR "good/twelve-compressed.npz", &n);
	int p[2];
	if (pipe(p) != 0)
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		for (size_t i = 0; i < n; i += 7)
			if (write(p[1], b + i, n - i < 7 ? n - i : 7) < 0)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	struct fl_err e = {0};
	int r = fl_npz_verify_fd(p[0], FL_NPZ_SHA256, &info, &e);
	close(p[0]);
	waitpid(pid, NULL, 0);
	unsigned char md[32];
	EVP_Digest(b, n, md, NULL, EVP_sha256(), NULL);
	CHECK(r == 0 && info.narrays == 12 && memcmp(md, info.sha256, 32) == 0,
	      "a pipe fed 7 bytes at a time verifies, hashed the same (%s)", r ? e.msg : "ok");
	free(b);
}

int main(void)
{
	test_numpy_output();
	test_reported_arrays();
	test_hostile();
	test_declared_sizes();
	test_every_flip();
	test_every_truncation();
	test_pipe();
	return unit_done();
}
