/* fl_b64: base64 decoding of untrusted values (OpenSSL's decoder behind a strict alphabet). */
#include "fl_b64.h"

#include "fl_buf.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

unsigned char *fl_b64_decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	if (n > (64u << 20))
		return NULL;
	/* Reject anything beyond the alphabet and whitespace before OpenSSL sees it. */
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '=' || c == '\n' || c == '\r' || c == ' ' || c == '\t'))
			return NULL;
	}
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	if (!ctx)
		return NULL;
	unsigned char *out = fl_xrealloc(NULL, n / 4 * 3 + 4);
	int outl = 0, fin = 0;
	EVP_DecodeInit(ctx);
	/* EVP_DecodeUpdate skips whitespace; it returns -1 on bad input. */
	int r = EVP_DecodeUpdate(ctx, out, &outl, (const unsigned char *)s, (int)n);
	if (r < 0 || EVP_DecodeFinal(ctx, out + outl, &fin) < 0) {
		EVP_ENCODE_CTX_free(ctx);
		free(out);
		return NULL;
	}
	EVP_ENCODE_CTX_free(ctx);
	*len = (size_t)outl + (size_t)fin;
	return out;
}
