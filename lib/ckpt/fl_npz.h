/* fl_npz: a one-pass, flat-memory verifier of numpy .npz checkpoints (zip/zip64 of .npy members). */
#ifndef FL_NPZ_H
#define FL_NPZ_H

#include "fl_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FL_NPZ_NDIM_MAX    64  /* numpy 2's limit on dimensions */
#define FL_NPZ_LIST_MAX    64  /* arrays described in fl_npz_info; more are counted, not listed */
#define FL_NPZ_NAME_MAX    255 /* bytes of a member name */
#define FL_NPZ_MEMBERS_MAX 65535
#define FL_NPZ_HEADER_MAX  65536 /* bytes of an .npy header dict (numpy reads 10000 by default) */

/* Flags of fl_npz_verify_*. */
enum {
	FL_NPZ_SHA256 = 1, /* also hash the whole file (out->sha256) in the same pass */
};

struct fl_npz_array {
	char name[FL_NPZ_NAME_MAX + 1]; /* the member, "arr_0.npy" */
	char descr[8];                  /* numpy's dtype string: "<f4", "|b1", ">c16" */
	bool fortran_order;
	unsigned ndim;
	uint64_t shape[FL_NPZ_NDIM_MAX];
	uint64_t nbytes; /* prod(shape) x itemsize */
};

struct fl_npz_info {
	size_t narrays;           /* members, all of them */
	size_t nlisted;           /* of which described in arrays[]: min(narrays, FL_NPZ_LIST_MAX) */
	bool named_keys;          /* members are not arr_0.npy ... arr_<n-1>.npy (np.savez(f, key=a)) */
	bool compressed;          /* some member is deflated (np.savez_compressed) */
	uint64_t data_bytes;      /* sum of the arrays' nbytes */
	uint64_t file_bytes;      /* bytes read, the whole file */
	unsigned char sha256[32]; /* with FL_NPZ_SHA256 */
	struct fl_npz_array arrays[FL_NPZ_LIST_MAX];
};

/* Verify the .npz read from fd (from its current offset to end of file) in one forward pass:
 * the zip structure as numpy writes it (zip64 extra fields, stored or deflated, local headers
 * agreeing with the central directory, nothing after the end record), member names (safe,
 * ".npy", arr_<k> contiguous from 0 in order, no duplicates), each NPY v1/v2/v3 header (dict
 * with exactly 'descr', 'fortran_order', 'shape'), the dtype allow-list (object and structured
 * dtypes refused: pickled data is never loaded), data size = prod(shape) x itemsize checked for
 * overflow and against the member and file sizes, and each member's CRC-32. Memory stays flat:
 * no member is buffered. Returns 0 and fills out (may be NULL); -1 and e ("arr_3.npy: CRC
 * mismatch ...") otherwise, FL_EXIT_FAIL. */
int fl_npz_verify_fd(int fd, unsigned flags, struct fl_npz_info *out, struct fl_err *e);

/* The same over a buffer already in memory. */
int fl_npz_verify_buf(const void *data, size_t len, unsigned flags, struct fl_npz_info *out,
                      struct fl_err *e);

#endif
