/* Base64 over OpenSSL's codec: EVP_EncodeBlock/EVP_DecodeBlock do the work;
 * this file adds the strictness and the URL-safe form they lack. */
#include "util/base64.h"

#include <openssl/evp.h>
#include <string.h>

#include "util/err.h"

size_t kv_base64_encode(const void *in, size_t n, char *out)
{
    return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

int kv_base64url_append(kv_buf *out, const void *in, size_t n)
{
    int rc = kv_buf_grow(out, KV_BASE64_LEN(n) + 1);
    char *p;
    size_t len;
    if (rc)
        return rc;
    p = out->data + out->len;
    len = kv_base64_encode(in, n, p);
    while (len && p[len - 1] == '=')
        len--;
    for (size_t i = 0; i < len; i++)
        p[i] = p[i] == '+' ? '-' : p[i] == '/' ? '_' : p[i];
    out->len += len;
    out->data[out->len] = '\0';
    return KV_OK;
}

/* EVP_DecodeBlock skips surrounding white space and counts padding as zero
 * bytes; the callers want neither, so the shape is checked here first. */
static int padding_of(const char *in, size_t n)
{
    size_t pads = 0;
    if (n % 4)
        return -1;
    while (pads < 2 && pads < n && in[n - 1 - pads] == '=')
        pads++;
    for (size_t i = 0; i < n - pads; i++)
        if (in[i] == '=' || in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n')
            return -1;
    return (int)pads;
}

int kv_base64_decode(const char *in, size_t n, unsigned char *out, size_t *outlen)
{
    int pads = padding_of(in, n), len;
    if (pads < 0)
        return -1;
    if (n == 0) {
        *outlen = 0;
        return 0;
    }
    len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (len < 0)
        return -1;
    *outlen = (size_t)len - (size_t)pads;
    return 0;
}
