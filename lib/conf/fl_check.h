/* fl_check: pure validators for the value grammars of context variables. */
#ifndef FL_CHECK_H
#define FL_CHECK_H

#include "fl_var.h"

#include <stdbool.h>
#include <stddef.h>

bool fl_check_version(const char *s);
/* ^[1-9][0-9]*$ (posint) or ^[0-9]+$ (nonneg), value <= 2147483647; *out gets it. */
bool fl_check_posint(const char *s, long *out);
bool fl_check_nonneg(const char *s, long *out);
/* The spec's float grammar ^[0-9]*\.?[0-9]+$ ; *out gets the value. */
bool fl_check_float(const char *s, double *out);
/* "a,b,c" contains s exactly. */
bool fl_check_enum(const char *options, const char *s);
/* host:port by the grammar of fl_hostport.h (IPv4, [IPv6] or an RFC 1123 name; port 1-65535
 * without leading zeros); *port gets the port. */
bool fl_check_hostport(const char *s, unsigned *port);
/* host:port with an IP address for host (IPv4, or [v6]:port): what a listen address needs,
 * and what docker -p accepts (it does not resolve names). */
bool fl_check_listen(const char *s, unsigned *port);
/* A docker repository name without tag or digest, as docker's reference grammar has it:
 * [host[:port]/]component[/component...], components of lower-case letters and digits
 * joined by '.', '_', '__' or dashes. */
bool fl_check_image_repo(const char *s);
bool fl_check_relpath(const char *s);
bool fl_check_abspath(const char *s);
/* One FL_CERT_EXTRA_SAN entry, already trimmed: IP:<v4|v6> or DNS:<name>. */
bool fl_check_san_entry(const char *s);
bool fl_check_cuda_devices(const char *s);
/* One FL_NODE_CONFIG token key=value. 0 ok, 1 shape wrong, 2 value has forbidden characters. */
int fl_check_node_pair(const char *tok, size_t len);
/* base64 that decodes to a PEM certificate / private key OpenSSL can parse. */
bool fl_check_pem_b64(const char *s, bool key);
/* A SHA-256 fingerprint: 64 hex digits, or 32 pairs joined by colons; any case. */
bool fl_check_sha256(const char *s);
/* s3://bucket[/prefix]: bucket 3-63 of [a-z0-9.-], a letter or digit at both ends, no "..",
 * not an IPv4 address; prefix of [A-Za-z0-9._/-] without empty or ".." segments. */
bool fl_check_s3_url(const char *s);
/* http://host[:port] or https://..., an optional final '/', nothing else (an S3 endpoint). */
bool fl_check_http_url(const char *s);
/* An AWS region name: 1-64 of [a-z0-9-]. */
bool fl_check_region(const char *s);
/* Compare two non-negative decimals of the spec's float grammar exactly: -1, 0, 1. */
int fl_check_decimal_cmp(const char *a, const char *b);

/* Check v against var's rule (single value; lists are split by the caller). */
bool fl_check_var_value(const struct fl_var *var, const char *v);

#endif
