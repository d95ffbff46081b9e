/* fl_b64: base64 decoding of untrusted values (OpenSSL's decoder behind a strict alphabet). */
#ifndef FL_B64_H
#define FL_B64_H

#include <stddef.h>

/* Decode base64 (whitespace allowed); NULL when invalid. Caller frees. */
unsigned char *fl_b64_decode(const char *s, size_t *len);

#endif
