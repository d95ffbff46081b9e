/* fuzz_npz: libFuzzer target for the .npz verifier (fl_npz_verify_buf), fed mutated numpy
 * checkpoints. An input verifies with a consistent report (sizes that add up, dtypes from the
 * allow-list, the whole input hashed) or is refused with a message; the descriptor path
 * (a memfd) gives the same answer. */
#include "fuzz.h"
#include "fl_npz.h"

#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static struct fl_npz_info a, b;

static size_t itemsize(const char *d)
{
	static const struct {
		const char *kind;
		size_t size;
	} ok[] = {{"b1", 1}, {"i1", 1}, {"u1", 1}, {"i2", 2}, {"u2", 2}, {"i4", 4}, {"u4", 4},
	          {"i8", 8}, {"u8", 8}, {"f2", 2}, {"f4", 4}, {"f8", 8}, {"c8", 8}, {"c16", 16}};
	REQUIRE(d[0] == '<' || d[0] == '>' || d[0] == '|');
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (strcmp(d + 1, ok[i].kind) == 0)
			return ok[i].size;
	REQUIRE(!"dtype outside the allow-list");
	return 0;
}

static void consistent(const uint8_t *data, size_t size)
{
	REQUIRE(a.file_bytes == size);
	REQUIRE(a.nlisted == (a.narrays < FL_NPZ_LIST_MAX ? a.narrays : FL_NPZ_LIST_MAX));
	uint64_t sum = 0;
	for (size_t i = 0; i < a.nlisted; i++) {
		const struct fl_npz_array *x = &a.arrays[i];
		uint64_t n = itemsize(x->descr);
		REQUIRE(x->ndim <= FL_NPZ_NDIM_MAX);
		for (unsigned k = 0; k < x->ndim; k++)
			REQUIRE(!__builtin_mul_overflow(n, x->shape[k], &n));
		REQUIRE(n == x->nbytes && n <= UINT64_MAX - sum);
		sum += n;
		size_t len = strlen(x->name);
		REQUIRE(len > 4 && strcmp(x->name + len - 4, ".npy") == 0 && x->name[0] != '/' &&
		        !strstr(x->name, "../"));
	}
	REQUIRE(a.narrays > FL_NPZ_LIST_MAX || sum == a.data_bytes);
	unsigned char md[32];
	REQUIRE(EVP_Digest(data, size, md, NULL, EVP_sha256(), NULL) == 1);
	REQUIRE(memcmp(md, a.sha256, 32) == 0);
}

/* The same bytes through a descriptor: the same verdict, the same message. */
static void same_through_fd(const uint8_t *data, size_t size, int r, const struct fl_err *e)
{
	int fd = memfd_create("fuzz_npz", 0);
	if (fd < 0)
		return;
	struct fl_err e2 = {0};
	if (write(fd, data, size) == (ssize_t)size && lseek(fd, 0, SEEK_SET) == 0) {
		int r2 = fl_npz_verify_fd(fd, FL_NPZ_SHA256, &b, &e2);
		REQUIRE(r2 == r);
		REQUIRE(r == 0 ? memcmp(a.sha256, b.sha256, 32) == 0 && a.narrays == b.narrays
		               : strcmp(e->msg, e2.msg) == 0);
	}
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_err e;
	fl_err_clear(&e);
	int r = fl_npz_verify_buf(data, size, FL_NPZ_SHA256, &a, &e);
	if (r == 0)
		consistent(data, size);
	else
		REQUIRE(r == -1 && e.code == FL_EXIT_FAIL && e.msg[0]);
	same_through_fd(data, size, r, &e);
	return 0;
}
