/* fl_npz: verify a numpy .npz in one forward pass with flat memory: zip structure, names, NPY
 * headers, dtypes, sizes and CRC-32 (zlib inflates savez_compressed members). */
#include "fl_npz.h"

#include "fl_buf.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define BLK           ((size_t)64 * 1024)
#define CHUNK_MAX     ((size_t)1024 * 1024) /* bytes handed to zlib at once (its lengths are 32-bit) */
#define EXTRA_MAX     1024                  /* bytes of a zip extra field or comment: numpy writes 20 */
#define SIG_LOCAL     0x04034b50u
#define SIG_CENTRAL   0x02014b50u
#define SIG_END       0x06054b50u
#define SIG_END64     0x06064b50u
#define SIG_LOC64     0x07064b50u
#define U32_MAX       0xffffffffu
#define DEFLATE_RATIO 1032 /* the most a deflate stream can expand */

/* The byte source: a descriptor read in blocks (hashed as they come) or one buffer. */
struct rd {
	int fd; /* -1: the buffer is all there is */
	const uint8_t *p;
	size_t n, pos;
	uint8_t *blk;
	uint64_t off;  /* file offset of p[pos] */
	uint64_t size; /* file size when known, else UINT64_MAX */
	EVP_MD_CTX *md;
};

struct member {
	char name[FL_NPZ_NAME_MAX + 1];
	uint16_t version, flags, method, time, date;
	uint32_t crc;
	uint64_t csize, usize, offset;
};

/* One member's .npy as it streams by. */
struct npy {
	uint8_t pre[12];
	size_t npre, need_pre;
	uint32_t hlen;
	size_t nhdr;
	bool hdr_done;
	uint64_t usize, data_left;
	struct fl_npz_array a;
};

struct v {
	struct rd rd;
	struct fl_err *e;
	struct fl_npz_info *out;
	struct member *m;
	size_t nm, cap;
	const char *where; /* what messages name: a member or "zip" */
	uint8_t *hdr;      /* FL_NPZ_HEADER_MAX: the current .npy header */
	uint8_t *zout;     /* BLK: inflated bytes */
	z_stream z;
	bool zinit;
};

static int __attribute__((format(printf, 2, 3))) bad(struct v *v, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return fl_err_set(v->e, FL_EXIT_FAIL, "%s: %s", v->where, msg);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* 1: bytes available at p[pos], 0: end of file, -1: read error. */
static int rd_more(struct v *v)
{
	struct rd *r = &v->rd;
	if (r->pos < r->n)
		return 1;
	if (r->fd < 0)
		return 0;
	ssize_t got;
	do
		got = read(r->fd, r->blk, BLK);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return fl_err_sys(v->e, errno, "%s: read at byte %" PRIu64, v->where, r->off);
	if (r->md && got > 0 && !EVP_DigestUpdate(r->md, r->blk, (size_t)got))
		return fl_err_set(v->e, FL_EXIT_FAIL, "SHA-256: OpenSSL digest update failed");
	r->p = r->blk;
	r->n = (size_t)got;
	r->pos = 0;
	return got > 0;
}

static int truncated(struct v *v, const char *inside)
{
	return bad(v, "truncated: the file ends at byte %" PRIu64 " inside %s", v->rd.off, inside);
}

/* Up to max (> 0) bytes at *p, at least one; the end of file is an error naming inside. */
static int rd_chunk(struct v *v, const uint8_t **p, size_t max, size_t *got, const char *inside)
{
	*p = NULL;
	*got = 0;
	int r = rd_more(v);
	if (r <= 0) {
		if (r == 0)
			truncated(v, inside);
		return -1;
	}
	size_t n = v->rd.n - v->rd.pos;
	*got = n < max ? n : max;
	*p = v->rd.p + v->rd.pos;
	v->rd.pos += *got;
	v->rd.off += *got;
	return 0;
}

static int rd_get(struct v *v, void *dst, size_t len, const char *inside)
{
	uint8_t *d = dst;
	while (len) {
		const uint8_t *p;
		size_t got;
		if (rd_chunk(v, &p, len, &got, inside))
			return -1;
		memcpy(d, p, got);
		d += got;
		len -= got;
	}
	return 0;
}

/* Bytes of the file after the current offset, UINT64_MAX when the size is unknown (a pipe). */
static uint64_t rd_left(const struct rd *r)
{
	return r->size == UINT64_MAX ? UINT64_MAX : r->size - (r->off < r->size ? r->off : r->size);
}

/* ---- .npy: header dict, dtype allow-list, sizes ---- */

struct lex {
	const char *s, *end;
};

static void lex_ws(struct lex *l)
{
	while (l->s < l->end && (*l->s == ' ' || *l->s == '\t'))
		l->s++;
}

static bool lex_eat(struct lex *l, char c)
{
	lex_ws(l);
	if (l->s < l->end && *l->s == c) {
		l->s++;
		return true;
	}
	return false;
}

/* A Python string literal without escapes: 'x' or "x", into out (at most cap - 1 bytes). */
static bool lex_str(struct lex *l, char *out, size_t cap)
{
	lex_ws(l);
	if (l->s >= l->end || (*l->s != '\'' && *l->s != '"'))
		return false;
	char q = *l->s++;
	size_t n = 0;
	while (l->s < l->end && *l->s != q) {
		if (*l->s == '\\' || (unsigned char)*l->s < 0x20 || n + 1 >= cap)
			return false;
		out[n++] = *l->s++;
	}
	if (l->s >= l->end)
		return false;
	l->s++;
	out[n] = '\0';
	return true;
}

static bool lex_word(struct lex *l, const char *w)
{
	lex_ws(l);
	size_t n = strlen(w);
	if ((size_t)(l->end - l->s) < n || memcmp(l->s, w, n) != 0)
		return false;
	l->s += n;
	return true;
}

/* A non-negative Python int that fits an intp (numpy's dimension type). */
static bool lex_dim(struct lex *l, uint64_t *out)
{
	lex_ws(l);
	const char *s = l->s;
	uint64_t x = 0;
	while (l->s < l->end && *l->s >= '0' && *l->s <= '9') {
		if (x > (uint64_t)INT64_MAX / 10)
			return false;
		x = x * 10 + (uint64_t)(*l->s - '0');
		if (x > (uint64_t)INT64_MAX)
			return false;
		l->s++;
	}
	if (l->s == s || (l->s - s > 1 && *s == '0'))
		return false;
	*out = x;
	return true;
}

/* (), (n,), (n, m), (n, m,) */
static bool lex_shape(struct lex *l, struct fl_npz_array *a)
{
	if (!lex_eat(l, '('))
		return false;
	a->ndim = 0;
	if (lex_eat(l, ')'))
		return true;
	for (;;) {
		if (a->ndim == FL_NPZ_NDIM_MAX || !lex_dim(l, &a->shape[a->ndim]))
			return false;
		a->ndim++;
		bool comma = lex_eat(l, ',');
		if (lex_eat(l, ')'))
			return comma || a->ndim > 1; /* (3) is an int, not a tuple */
		if (!comma)
			return false;
	}
}

enum { K_DESCR = 1, K_FORTRAN = 2, K_SHAPE = 4 };

static int npy_value(struct v *v, struct lex *l, const char *key, unsigned *seen, struct fl_npz_array *a)
{
	unsigned k = strcmp(key, "descr") == 0           ? K_DESCR
	             : strcmp(key, "fortran_order") == 0 ? K_FORTRAN
	             : strcmp(key, "shape") == 0         ? K_SHAPE
	                                                 : 0;
	if (!k)
		return bad(v, "NPY header: unknown key '%s' (numpy writes 'descr', 'fortran_order', 'shape')",
		           key);
	if (*seen & k)
		return bad(v, "NPY header: key '%s' given twice", key);
	*seen |= k;
	if (k == K_DESCR) {
		lex_ws(l);
		if (l->s < l->end && *l->s == '[')
			return bad(
			    v, "dtype is a structured (record) type: refused, checkpoints hold plain arrays");
		if (!lex_str(l, a->descr, sizeof a->descr))
			return bad(v, "NPY header: 'descr' is not a short dtype string");
	} else if (k == K_FORTRAN) {
		if (lex_word(l, "True"))
			a->fortran_order = true;
		else if (lex_word(l, "False"))
			a->fortran_order = false;
		else
			return bad(v, "NPY header: 'fortran_order' is not True or False");
	} else if (!lex_shape(l, a)) {
		return bad(v, "NPY header: 'shape' is not a tuple of at most %d dimensions of 0-%" PRId64,
		           FL_NPZ_NDIM_MAX, INT64_MAX);
	}
	return 0;
}

/* {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } then spaces and "\n". */
static int npy_dict(struct v *v, const char *h, size_t n, struct fl_npz_array *a)
{
	if (n == 0 || h[n - 1] != '\n')
		return bad(v, "NPY header: does not end with a newline");
	struct lex l = {h, h + n - 1};
	if (!lex_eat(&l, '{'))
		return bad(v, "NPY header: not a dict literal");
	unsigned seen = 0;
	while (!lex_eat(&l, '}')) {
		char key[32];
		if (!lex_str(&l, key, sizeof key) || !lex_eat(&l, ':'))
			return bad(v, "NPY header: malformed dict (expected 'key': value)");
		if (npy_value(v, &l, key, &seen, a))
			return -1;
		if (!lex_eat(&l, ',')) {
			if (!lex_eat(&l, '}'))
				return bad(v, "NPY header: malformed dict (expected ',' or '}')");
			break;
		}
	}
	lex_ws(&l);
	if (l.s != l.end)
		return bad(v, "NPY header: bytes after the dict");
	if (seen != (K_DESCR | K_FORTRAN | K_SHAPE))
		return bad(v, "NPY header: 'descr', 'fortran_order' and 'shape' are all required");
	return 0;
}

/* The allow-list: bool, int/uint 8-64, float16/32/64, complex64/128, either byte order. */
static int npy_dtype(struct v *v, const char *d, size_t *itemsize)
{
	static const char *const ok[] = {"b1", "i1", "u1", "i2", "u2", "i4", "u4",
	                                 "i8", "u8", "f2", "f4", "f8", "c8", "c16"};
	if (strchr(d, 'O'))
		return bad(v, "dtype '%s' (object) refused: pickled data is never loaded", d);
	if (d[0] == '<' || d[0] == '>' || d[0] == '|') {
		for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
			if (strcmp(d + 1, ok[i]) != 0)
				continue;
			*itemsize = (size_t)strtoul(ok[i] + 1, NULL, 10);
			if ((*itemsize == 1) == (d[0] == '|'))
				return 0;
		}
	}
	return bad(v,
	           "dtype '%s' not allowed: checkpoints hold bool, int8-64, uint8-64, float16/32/64 or "
	           "complex64/128 in an explicit byte order",
	           d);
}

/* prod(shape) x itemsize + header must be the member's size, overflow checked first. */
static int npy_sizes(struct v *v, struct npy *np)
{
	size_t itemsize = 0;
	if (npy_dtype(v, np->a.descr, &itemsize))
		return -1;
	uint64_t n = 1;
	for (unsigned i = 0; i < np->a.ndim; i++)
		if (__builtin_mul_overflow(n, np->a.shape[i], &n))
			return bad(v, "shape overflows: more than 2^64 elements declared");
	uint64_t total;
	if (__builtin_mul_overflow(n, (uint64_t)itemsize, &np->a.nbytes) ||
	    __builtin_add_overflow(np->a.nbytes, (uint64_t)np->need_pre + np->hlen, &total))
		return bad(v, "shape x itemsize %zu overflows: more than 2^64 bytes declared", itemsize);
	if (total != np->usize)
		return bad(v,
		           "data size: header %" PRIu64 " + prod(shape) x itemsize %" PRIu64 " = %" PRIu64
		           " bytes, the member holds %" PRIu64,
		           (uint64_t)np->need_pre + np->hlen, np->a.nbytes, total, np->usize);
	np->data_left = np->a.nbytes;
	return 0;
}

static int npy_preamble(struct v *v, struct npy *np)
{
	if (np->npre == 8) {
		if (memcmp(np->pre, "\x93NUMPY", 6) != 0)
			return bad(v, "not an .npy file (no \\x93NUMPY magic)");
		if (np->pre[6] < 1 || np->pre[6] > 3 || np->pre[7] != 0)
			return bad(v, "NPY version %u.%u: only 1.0, 2.0 and 3.0 exist", np->pre[6],
			           np->pre[7]);
		np->need_pre = np->pre[6] == 1 ? 10 : 12;
		return 0;
	}
	np->hlen = np->need_pre == 10 ? get16(np->pre + 8) : get32(np->pre + 8);
	if (np->hlen == 0)
		return bad(v, "NPY header is empty");
	if (np->hlen > FL_NPZ_HEADER_MAX)
		return bad(v, "NPY header of %" PRIu32 " bytes: more than %d", np->hlen, FL_NPZ_HEADER_MAX);
	if ((uint64_t)np->need_pre + np->hlen > np->usize)
		return bad(v, "NPY header of %" PRIu32 " bytes does not fit the member (%" PRIu64 " bytes)",
		           np->hlen, np->usize);
	return 0;
}

static int npy_feed(struct v *v, struct npy *np, const uint8_t *p, size_t n)
{
	while (n && !np->hdr_done) {
		size_t take;
		if (np->npre < np->need_pre) {
			take = np->need_pre - np->npre;
			take = take < n ? take : n;
			memcpy(np->pre + np->npre, p, take);
			np->npre += take;
			if (np->npre == np->need_pre && npy_preamble(v, np))
				return -1;
		} else {
			take = np->hlen - np->nhdr;
			take = take < n ? take : n;
			memcpy(v->hdr + np->nhdr, p, take);
			np->nhdr += take;
			if (np->nhdr == np->hlen) {
				if (npy_dict(v, (const char *)v->hdr, np->hlen, &np->a) || npy_sizes(v, np))
					return -1;
				np->hdr_done = true;
			}
		}
		p += take;
		n -= take;
	}
	if (n > np->data_left)
		return bad(v, "more data than the header declares");
	np->data_left -= n;
	return 0;
}

/* ---- zip members ---- */

static int member_stored(struct v *v, const struct member *m, struct npy *np, uint32_t *crc)
{
	for (uint64_t left = m->csize; left;) {
		const uint8_t *p;
		size_t got;
		if (rd_chunk(v, &p, left < CHUNK_MAX ? (size_t)left : CHUNK_MAX, &got, "the member data"))
			return -1;
		*crc = (uint32_t)crc32(*crc, p, (uInt)got);
		if (npy_feed(v, np, p, got))
			return -1;
		left -= got;
	}
	return 0;
}

static int inflate_out(struct v *v, struct npy *np, uint32_t *crc, uint64_t *produced)
{
	size_t n = BLK - v->z.avail_out;
	if (n > np->usize - *produced)
		return bad(v, "deflate data inflates past the declared %" PRIu64 " bytes", np->usize);
	*produced += n;
	*crc = (uint32_t)crc32(*crc, v->zout, (uInt)n);
	return npy_feed(v, np, v->zout, n);
}

/* zlib's deflate pads the last byte of a stream with zero bits: a flip there changes no output
 * byte, so the CRC cannot see it. Inflating with Z_BLOCK stops right after the last block's
 * end code (data_type 64 + 128 + unused bits), where the padding is checked. */
static int deflate_padding(struct v *v, const uint8_t *chunk, uint8_t prev_last)
{
	if ((v->z.data_type & 192) != 192)
		return 0;
	unsigned unused = (unsigned)v->z.data_type & 7;
	const uint8_t *next = v->z.next_in;
	uint8_t last = next > chunk ? next[-1] : prev_last;
	if (unused && (last >> (8 - unused)) != 0)
		return bad(v, "deflate stream: nonzero padding bits after its end (zlib writes zeros)");
	return 0;
}

static int inflate_init(struct v *v)
{
	if (!v->zinit) {
		if (inflateInit2(&v->z, -MAX_WBITS) != Z_OK)
			return fl_err_set(v->e, FL_EXIT_FAIL, "zlib: cannot initialise inflate");
		v->zinit = true;
	} else if (inflateReset(&v->z) != Z_OK) {
		return fl_err_set(v->e, FL_EXIT_FAIL, "zlib: cannot reset inflate");
	}
	v->z.avail_in = 0;
	return 0;
}

static int member_deflated(struct v *v, const struct member *m, struct npy *np, uint32_t *crc)
{
	if (inflate_init(v))
		return -1;
	uint64_t left = m->csize, produced = 0;
	const uint8_t *p = NULL;
	uint8_t prev_last = 0;
	for (int zr = Z_OK; zr != Z_STREAM_END;) {
		if (v->z.avail_in == 0 && left) {
			size_t got;
			if (p)
				prev_last = v->z.next_in[-1];
			if (rd_chunk(v, &p, left < CHUNK_MAX ? (size_t)left : CHUNK_MAX, &got,
			             "the member data"))
				return -1;
			v->z.next_in = (Bytef *)(uintptr_t)p;
			v->z.avail_in = (uInt)got;
			left -= got;
		}
		v->z.next_out = v->zout;
		v->z.avail_out = (uInt)BLK;
		zr = inflate(&v->z, Z_BLOCK);
		if (zr == Z_BUF_ERROR && v->z.avail_in == 0 && left == 0)
			return bad(v, "deflate data ends before its end of stream");
		if (zr != Z_OK && zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && v->z.avail_in == 0))
			return bad(v, "deflate data corrupt (zlib: %s)", v->z.msg ? v->z.msg : "error");
		if (inflate_out(v, np, crc, &produced) || deflate_padding(v, p, prev_last))
			return -1;
	}
	if (left || v->z.avail_in)
		return bad(v, "deflate stream ends before the declared compressed size");
	if (produced != m->usize)
		return bad(v, "inflates to %" PRIu64 " bytes, declared %" PRIu64, produced, m->usize);
	return 0;
}

/* The zip64 extra record: an 8-byte value for each field that reads 0xffffffff, in order. */
static int zip64_extra(struct v *v, const uint8_t *x, size_t n, uint64_t *f[], size_t nf)
{
	const uint8_t *z64 = NULL;
	size_t zlen = 0;
	for (size_t i = 0; i < n;) {
		if (n - i < 4 || n - i - 4 < get16(x + i + 2))
			return bad(v, "extra field malformed (a record runs past its end)");
		if (get16(x + i) == 1) {
			if (z64)
				return bad(v, "two zip64 extra records");
			z64 = x + i + 4;
			zlen = get16(x + i + 2);
		}
		i += 4 + (size_t)get16(x + i + 2);
	}
	size_t want = 0;
	for (size_t i = 0; i < nf; i++) {
		if (*f[i] != U32_MAX)
			continue;
		if (!z64 || zlen < want + 8)
			return bad(v, "a size reads 0xffffffff but the zip64 extra record lacks it");
		*f[i] = get64(z64 + want);
		want += 8;
	}
	if (z64 && zlen != want)
		return bad(v, "zip64 extra record of %zu bytes, its fields need %zu", zlen, want);
	return 0;
}

/* Safe relative names ending in .npy: no absolute path, no "..", no backslash or control. */
static int member_name(struct v *v, const char *name, size_t n)
{
	v->where = "zip";
	if (n == 0 || memchr(name, '\0', n))
		return bad(v, "member with an empty name or a NUL byte refused");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f || name[i] == '\\')
			return bad(v, "member name with a control byte or backslash refused");
	if (name[0] == '/' || strstr(name, "//") || strcmp(name, "..") == 0 || strncmp(name, "../", 3) == 0 ||
	    strstr(name, "/../") || (n >= 3 && strcmp(name + n - 3, "/..") == 0))
		return bad(v, "member '%s' refused: absolute path or '..'", name);
	if (n < 5 || strcmp(name + n - 4, ".npy") != 0 || name[n - 5] == '/')
		return bad(v, "member '%s' is not an .npy file", name);
	for (size_t i = 0; i < v->nm; i++)
		if (strcmp(v->m[i].name, name) == 0)
			return bad(v, "member '%s' appears twice", name);
	return 0;
}

static int local_header(struct v *v, struct member *m)
{
	uint8_t h[26], x[EXTRA_MAX];
	m->offset = v->rd.off - 4;
	if (rd_get(v, h, sizeof h, "a local file header"))
		return -1;
	m->version = get16(h), m->flags = get16(h + 2), m->method = get16(h + 4);
	m->time = get16(h + 6), m->date = get16(h + 8), m->crc = get32(h + 10);
	m->csize = get32(h + 14), m->usize = get32(h + 18);
	size_t nlen = get16(h + 22), xlen = get16(h + 24);
	if (nlen > FL_NPZ_NAME_MAX)
		return bad(v, "member name of %zu bytes at byte %" PRIu64 ": more than %d", nlen, m->offset,
		           FL_NPZ_NAME_MAX);
	if (xlen > EXTRA_MAX)
		return bad(v, "extra field of %zu bytes at byte %" PRIu64 ": more than %d", xlen, m->offset,
		           EXTRA_MAX);
	if (rd_get(v, m->name, nlen, "a member name") || rd_get(v, x, xlen, "an extra field"))
		return -1;
	m->name[nlen] = '\0';
	if (member_name(v, m->name, nlen))
		return -1;
	v->where = m->name;
	if (m->flags & ~0x0800u)
		return bad(v, "zip flags 0x%04x: encrypted or streamed members are not what numpy writes",
		           m->flags);
	if (m->method != 0 && m->method != 8)
		return bad(v, "compression method %u: numpy writes stored (0) or deflated (8)", m->method);
	if (m->version > 45)
		return bad(v, "needs zip version %u.%u: numpy writes at most 4.5", m->version / 10,
		           m->version % 10);
	uint64_t *f[] = {&m->usize, &m->csize};
	if (zip64_extra(v, x, xlen, f, 2))
		return -1;
	if (m->csize > rd_left(&v->rd))
		return bad(v, "declares %" PRIu64 " bytes of data, the file has %" PRIu64 " left", m->csize,
		           rd_left(&v->rd));
	if (m->method == 0 ? m->csize != m->usize : m->usize / DEFLATE_RATIO > m->csize)
		return bad(v, "declares %" PRIu64 " bytes from %" PRIu64 " %s", m->usize, m->csize,
		           m->method == 0 ? "stored (sizes must match)"
		                          : "deflated: more than deflate can make");
	return 0;
}

static void list_array(struct v *v, const struct npy *np)
{
	struct fl_npz_info *o = v->out;
	if (o->nlisted < FL_NPZ_LIST_MAX) {
		o->arrays[o->nlisted] = np->a;
		snprintf(o->arrays[o->nlisted].name, sizeof o->arrays[0].name, "%s", v->where);
		o->nlisted++;
	}
}

static int member(struct v *v)
{
	if (v->nm == FL_NPZ_MEMBERS_MAX)
		return bad(v, "more than %d members", FL_NPZ_MEMBERS_MAX);
	if (v->nm == v->cap) {
		v->cap = v->cap ? 2 * v->cap : 16;
		v->m = fl_xrealloc(v->m, v->cap * sizeof *v->m);
	}
	struct member *m = &v->m[v->nm];
	if (local_header(v, m))
		return -1;
	v->nm++;
	struct npy np = {.need_pre = 8, .usize = m->usize};
	uint32_t crc = (uint32_t)crc32(0, NULL, 0);
	if ((m->method == 0 ? member_stored(v, m, &np, &crc) : member_deflated(v, m, &np, &crc)))
		return -1;
	if (!np.hdr_done)
		return bad(v, "the member ends inside its NPY header");
	if (crc != m->crc)
		return bad(v, "CRC mismatch: the data has 0x%08" PRIx32 ", the zip header says 0x%08" PRIx32,
		           crc, m->crc);
	if (__builtin_add_overflow(v->out->data_bytes, np.a.nbytes, &v->out->data_bytes))
		return bad(v, "total data size overflows");
	v->out->compressed |= m->method == 8;
	list_array(v, &np);
	return 0;
}

/* ---- central directory and end records ---- */

static int central_fields(struct v *v, const struct member *m, const uint8_t *h)
{
	unsigned made = get16(h), ext_hi = get16(h + 36);
	if (get16(h + 2) != m->version || get16(h + 4) != m->flags || get16(h + 6) != m->method ||
	    get16(h + 8) != m->time || get16(h + 10) != m->date || get32(h + 12) != m->crc)
		return bad(v, "central directory entry disagrees with the local header (version, flags, "
		              "method, time or CRC)");
	if ((made & 0xff) != m->version || ((made >> 8) != 0 && (made >> 8) != 3))
		return bad(v, "central directory: made-by 0x%04x is not what Python's zipfile writes", made);
	if (get16(h + 30) != 0 || get16(h + 32) != 0 || get16(h + 34) != 0 || (ext_hi != 0 && ext_hi != 0600))
		return bad(
		    v, "central directory: disk or attributes 0x%04x%04x: not what numpy writes (mode 0600)",
		    ext_hi, get16(h + 34));
	return 0;
}

static int central(struct v *v, size_t i)
{
	uint8_t h[42], x[EXTRA_MAX];
	char name[FL_NPZ_NAME_MAX + 1];
	v->where = "zip";
	if (rd_get(v, h, sizeof h, "the central directory"))
		return -1;
	if (i >= v->nm)
		return bad(v, "central directory lists more members than the archive holds");
	const struct member *m = &v->m[i];
	size_t nlen = get16(h + 24), xlen = get16(h + 26), clen = get16(h + 28);
	if (nlen != strlen(m->name) || xlen > EXTRA_MAX || clen > EXTRA_MAX)
		return bad(v, "central directory entry %zu: name or field lengths do not match '%s'", i,
		           m->name);
	if (rd_get(v, name, nlen, "the central directory") || rd_get(v, x, xlen, "the central directory"))
		return -1;
	if (memcmp(name, m->name, nlen) != 0)
		return bad(v, "central directory entry %zu names another member than '%s'", i, m->name);
	v->where = m->name;
	for (size_t left = clen; left;) {
		uint8_t c[64];
		size_t take = left < sizeof c ? left : sizeof c;
		if (rd_get(v, c, take, "the central directory"))
			return -1;
		left -= take;
	}
	uint64_t usize = get32(h + 20), csize = get32(h + 16), off = get32(h + 38);
	uint64_t *f[] = {&usize, &csize, &off};
	if (central_fields(v, m, h) || zip64_extra(v, x, xlen, f, 3))
		return -1;
	if (usize != m->usize || csize != m->csize || off != m->offset)
		return bad(v, "central directory sizes or offset disagree with the local header");
	return 0;
}

struct end {
	uint64_t entries, cd_size, cd_off;
};

/* The zip64 end record and its locator (Python writes them only past the zip limits). */
static int end64(struct v *v, struct end *z, uint64_t at)
{
	uint8_t h[52], l[20];
	if (rd_get(v, h, sizeof h, "the zip64 end record") || rd_get(v, l, sizeof l, "the zip64 locator"))
		return -1;
	if (get64(h) != 44 || get16(h + 8) != 45 || get16(h + 10) != 45 || get32(h + 12) != 0 ||
	    get32(h + 16) != 0 || get64(h + 20) != get64(h + 28))
		return bad(v,
		           "zip64 end record: size, disk numbers or entry counts are not a one-disk archive");
	if (get32(l) != SIG_LOC64 || get32(l + 4) != 0 || get64(l + 8) != at || get32(l + 16) != 1)
		return bad(v, "zip64 locator missing or does not point at the zip64 end record");
	z->entries = get64(h + 28), z->cd_size = get64(h + 36), z->cd_off = get64(h + 44);
	return 0;
}

/* A 16- or 32-bit field of the end record: its value, or the zip64 one where it is all ones. */
static bool end_field(uint64_t v32, uint64_t ones, bool have64, uint64_t v64)
{
	return have64 && v32 == ones ? true : v32 == v64;
}

static int end_records(struct v *v, uint32_t sig, uint64_t cd_off, uint64_t cd_size)
{
	struct end z = {0};
	bool have64 = sig == SIG_END64;
	v->where = "zip";
	if (have64) {
		if (end64(v, &z, cd_off + cd_size))
			return -1;
		uint8_t s[4];
		if (rd_get(v, s, 4, "the end record"))
			return -1;
		sig = get32(s);
	}
	if (sig != SIG_END)
		return bad(
		    v, "unexpected signature 0x%08" PRIx32 " at byte %" PRIu64 " (expected the end record)",
		    sig, v->rd.off - 4);
	uint8_t h[18];
	if (rd_get(v, h, sizeof h, "the end record"))
		return -1;
	if (have64 && (z.entries != v->nm || z.cd_size != cd_size || z.cd_off != cd_off))
		return bad(v,
		           "zip64 end record: entries, directory size or offset disagree with the archive");
	if (get16(h) != 0 || get16(h + 2) != 0 || get16(h + 4) != get16(h + 6) ||
	    !end_field(get16(h + 6), 0xffff, have64, v->nm) ||
	    !end_field(get32(h + 8), U32_MAX, have64, cd_size) ||
	    !end_field(get32(h + 12), U32_MAX, have64, cd_off))
		return bad(v,
		           "end record: disk numbers, %zu entries, directory size %" PRIu64
		           " or offset %" PRIu64 " disagree with the archive",
		           v->nm, cd_size, cd_off);
	for (size_t left = get16(h + 16); left;) {
		uint8_t c[64];
		size_t take = left < sizeof c ? left : sizeof c;
		if (rd_get(v, c, take, "the archive comment"))
			return -1;
		left -= take;
	}
	int r = rd_more(v);
	if (r != 0)
		return r < 0 ? -1 : bad(v, "bytes after the end record (at byte %" PRIu64 ")", v->rd.off);
	return 0;
}

/* arr_0.npy, arr_1.npy, ... in order, or named keys throughout. */
static int contract(struct v *v)
{
	bool arrk = true;
	for (size_t i = 0; i < v->nm && arrk; i++) {
		const char *s = v->m[i].name;
		arrk = strncmp(s, "arr_", 4) == 0 && s[4] >= '0' && s[4] <= '9' &&
		       (s[4] != '0' || s[5] == '.') && strspn(s + 4, "0123456789") + 4 + 4 == strlen(s);
	}
	v->out->named_keys = !arrk && v->nm > 0;
	for (size_t i = 0; arrk && i < v->nm; i++) {
		char want[32];
		snprintf(want, sizeof want, "arr_%zu.npy", i);
		v->where = v->m[i].name;
		if (strcmp(v->m[i].name, want) != 0)
			return bad(v,
			           "member %zu should be %s: arrays are arr_0.npy, arr_1.npy, ... in order",
			           i, want);
	}
	return 0;
}

static int walk(struct v *v)
{
	uint8_t s[4];
	v->where = "zip";
	if (rd_more(v) == 0)
		return bad(v, "empty file: not an .npz");
	if (rd_get(v, s, 4, "a zip signature"))
		return -1;
	while (get32(s) == SIG_LOCAL) {
		if (member(v))
			return -1;
		v->where = "zip";
		if (rd_get(v, s, 4, "the zip structure (no central directory)"))
			return -1;
	}
	if (v->nm == 0 && get32(s) != SIG_END)
		return bad(v, "not a zip archive (signature 0x%08" PRIx32 " at byte 0)", get32(s));
	uint64_t cd_off = v->rd.off - 4;
	size_t i = 0;
	for (; get32(s) == SIG_CENTRAL; i++)
		if (central(v, i) || rd_get(v, s, 4, "the central directory"))
			return -1;
	v->where = "zip";
	if (i != v->nm)
		return bad(v, "central directory lists %zu members, the archive holds %zu", i, v->nm);
	if (end_records(v, get32(s), cd_off, v->rd.off - 4 - cd_off))
		return -1;
	return contract(v);
}

static int verify(struct v *v, unsigned flags, struct fl_npz_info *out)
{
	struct fl_npz_info *own = out ? NULL : fl_xcalloc(1, sizeof *own);
	v->out = out ? out : own;
	memset(v->out, 0, sizeof *v->out);
	v->hdr = fl_xcalloc(1, FL_NPZ_HEADER_MAX);
	v->zout = fl_xcalloc(1, BLK);
	int r = 0;
	if (flags & FL_NPZ_SHA256) {
		v->rd.md = EVP_MD_CTX_new();
		if (!v->rd.md || !EVP_DigestInit_ex(v->rd.md, EVP_sha256(), NULL))
			r = fl_err_set(v->e, FL_EXIT_FAIL, "SHA-256: OpenSSL cannot start a digest");
		else if (v->rd.fd < 0 && !EVP_DigestUpdate(v->rd.md, v->rd.p, v->rd.n))
			r = fl_err_set(v->e, FL_EXIT_FAIL, "SHA-256: OpenSSL digest update failed");
	}
	if (r == 0)
		r = walk(v);
	if (r == 0) {
		v->out->narrays = v->nm;
		v->out->file_bytes = v->rd.off;
		if (v->rd.md && !EVP_DigestFinal_ex(v->rd.md, v->out->sha256, NULL))
			r = fl_err_set(v->e, FL_EXIT_FAIL, "SHA-256: OpenSSL cannot finish the digest");
	}
	if (v->zinit)
		inflateEnd(&v->z);
	EVP_MD_CTX_free(v->rd.md);
	free(v->hdr);
	free(v->zout);
	free(v->m);
	free(own);
	return r;
}

int fl_npz_verify_fd(int fd, unsigned flags, struct fl_npz_info *out, struct fl_err *e)
{
	struct v v = {.e = e, .rd = {.fd = fd, .size = UINT64_MAX}};
	struct stat st;
	off_t at = lseek(fd, 0, SEEK_CUR);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && at >= 0 && at <= st.st_size)
		v.rd.size = (uint64_t)(st.st_size - at);
	v.rd.blk = fl_xcalloc(1, BLK);
	int r = verify(&v, flags, out);
	free(v.rd.blk);
	return r;
}

int fl_npz_verify_buf(const void *data, size_t len, unsigned flags, struct fl_npz_info *out, struct fl_err *e)
{
	static const uint8_t none[1];
	struct v v = {.e = e, .rd = {.fd = -1, .p = data ? data : none, .n = data ? len : 0, .size = len}};
	v.rd.size = v.rd.n;
	return verify(&v, flags, out);
}
