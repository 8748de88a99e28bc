/* Base64 (RFC 4648): the standard alphabet with padding, and the URL-safe
 * alphabet without padding (JWTs). */
#ifndef KV_UTIL_BASE64_H
#define KV_UTIL_BASE64_H

#include <stddef.h>

#include "util/buf.h"

/* Characters the padded encoding of n bytes takes (without the NUL). */
#define KV_BASE64_LEN(n) (4 * (((n) + 2) / 3))

/* Encodes n bytes with padding into out (KV_BASE64_LEN(n) + 1 bytes,
 * NUL-terminated); returns the length written. */
size_t kv_base64_encode(const void *in, size_t n, char *out);

/* Decodes n characters of padded standard base64 (n a multiple of 4) into
 * out (3 * n / 4 bytes) and sets *outlen. Returns 0, or -1 for anything
 * malformed (a bad character, length or padding); sets no message. */
int kv_base64_decode(const char *in, size_t n, unsigned char *out, size_t *outlen);

/* Appends the URL-safe encoding ('-' and '_', no padding) of n bytes to out. */
int kv_base64url_append(kv_buf *out, const void *in, size_t n);

#endif
