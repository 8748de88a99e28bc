#include "http/sign_aws.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void kv_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    hex_encode(md, sizeof md, out);
}

void kv_aws_payload_hash(const void *body, size_t len, const unsigned char *sha256,
                         char out[65])
{
    if (sha256)
        hex_encode(sha256, SHA256_DIGEST_LENGTH, out);
    else
        kv_sha256_hex(body ? body : "", len, out);
}

static void hmac_sha256(const void *key, size_t keylen, const char *msg, unsigned char out[32])
{
    unsigned int outlen = 32;
    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out, &outlen);
}

void kv_aws_amz_date(time_t t, char out[17])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int kv_aws_uri_encode(const char *s, int keep_slash, kv_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = kv_buf_grow(out, 3 * strlen(s));
    if (rc)
        return rc;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
            out->data[out->len++] = (char)c;
        } else {
            out->data[out->len++] = '%';
            out->data[out->len++] = hex[c >> 4];
            out->data[out->len++] = hex[c & 15];
        }
    }
    out->data[out->len] = '\0';
    return KV_OK;
}

/* One encoded query parameter, for sorting. */
typedef struct qparam {
    kv_buf name, value;
} qparam;

static int qparam_cmp(const void *a, const void *b)
{
    const qparam *x = a, *y = b;
    int c = strcmp(x->name.data, y->name.data);
    return c ? c : strcmp(x->value.data, y->value.data);
}

int kv_aws_canonical_query(const kv_http_header *query, size_t n, kv_buf *out)
{
    qparam *ps = calloc(n ? n : 1, sizeof *ps);
    int rc = ps ? KV_OK : kv_seterr(KV_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == KV_OK; i++) {
        rc = kv_aws_uri_encode(query[i].name, 0, &ps[i].name);
        if (rc == KV_OK)
            rc = kv_aws_uri_encode(query[i].value ? query[i].value : "", 0, &ps[i].value);
    }
    if (rc == KV_OK)
        qsort(ps, n, sizeof *ps, qparam_cmp);
    for (size_t i = 0; i < n && rc == KV_OK; i++)
        rc = kv_buf_printf(out, "%s%s=%s", i ? "&" : "", ps[i].name.data, ps[i].value.data);
    if (rc == KV_OK)
        rc = kv_buf_grow(out, 0); /* a NUL-terminated "" when n == 0 */
    for (size_t i = 0; ps && i < n; i++) {
        kv_buf_free(&ps[i].name);
        kv_buf_free(&ps[i].value);
    }
    free(ps);
    return rc;
}

/* One canonical header: lowercase name, value trimmed with inner runs of
 * spaces collapsed to one. */
typedef struct cheader {
    kv_buf name, value;
} cheader;

static int cheader_cmp(const void *a, const void *b)
{
    const cheader *x = a, *y = b;
    return strcmp(x->name.data, y->name.data);
}

static int canon_header(const kv_http_header *h, cheader *out)
{
    const char *v = h->value ? h->value : "";
    int rc = KV_OK, space = 0;
    for (const char *p = h->name; *p && rc == KV_OK; p++) {
        char c = (char)tolower((unsigned char)*p);
        rc = kv_buf_put(&out->name, &c, 1);
    }
    while (*v == ' ' || *v == '\t')
        v++;
    for (; *v && rc == KV_OK; v++) {
        if (*v == ' ' || *v == '\t') {
            space = 1;
            continue;
        }
        if (space)
            rc = kv_buf_put(&out->value, " ", 1);
        space = 0;
        if (rc == KV_OK)
            rc = kv_buf_put(&out->value, v, 1);
    }
    if (rc == KV_OK)
        rc = kv_buf_grow(&out->value, 0);
    return rc;
}

/* Appends "name:value\n" lines to out and "a;b;c" to signed_headers. */
static int canonical_headers(const kv_sigv4_req *r, kv_buf *out, kv_buf *signed_headers)
{
    size_t n = r->nheaders;
    cheader *hs = calloc(n ? n : 1, sizeof *hs);
    int rc = hs ? KV_OK : kv_seterr(KV_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == KV_OK; i++)
        rc = canon_header(&r->headers[i], &hs[i]);
    if (rc == KV_OK)
        qsort(hs, n, sizeof *hs, cheader_cmp);
    for (size_t i = 0; i < n && rc == KV_OK; i++) {
        rc = kv_buf_printf(out, "%s:%s\n", hs[i].name.data, hs[i].value.data);
        if (rc == KV_OK)
            rc = kv_buf_printf(signed_headers, "%s%s", i ? ";" : "", hs[i].name.data);
    }
    for (size_t i = 0; hs && i < n; i++) {
        kv_buf_free(&hs[i].name);
        kv_buf_free(&hs[i].value);
    }
    free(hs);
    return rc;
}

int kv_sigv4_canonical_request(const kv_sigv4_req *r, kv_buf *out, kv_buf *signed_headers)
{
    int rc = kv_buf_printf(out, "%s\n", r->method);
    /* S3 encodes each path segment once; unlike other services, no double
     * encoding and no path normalisation. */
    if (rc == KV_OK)
        rc = kv_aws_uri_encode(r->path[0] ? r->path : "/", 1, out);
    if (rc == KV_OK)
        rc = kv_buf_puts(out, "\n");
    if (rc == KV_OK)
        rc = kv_aws_canonical_query(r->query, r->nquery, out);
    if (rc == KV_OK)
        rc = kv_buf_puts(out, "\n");
    if (rc == KV_OK)
        rc = canonical_headers(r, out, signed_headers);
    if (rc == KV_OK)
        rc = kv_buf_printf(out, "\n%s\n%s", signed_headers->data, r->payload_hash);
    return rc;
}

int kv_sigv4_signing_key(const char *secret, const char *date, const char *region,
                         const char *service, unsigned char out[32])
{
    unsigned char k[32], k2[32];
    size_t n = strlen(secret);
    char *first = malloc(n + 5);
    if (!first)
        return kv_seterr(KV_ENOMEM, "out of memory");
    memcpy(first, "AWS4", 4);
    memcpy(first + 4, secret, n + 1);
    hmac_sha256(first, n + 4, date, k);
    hmac_sha256(k, 32, region, k2);
    hmac_sha256(k2, 32, service, k);
    hmac_sha256(k, 32, "aws4_request", out);
    OPENSSL_cleanse(first, n + 4);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(k2, sizeof k2);
    free(first);
    return KV_OK;
}

int kv_sigv4_authorization(const kv_sigv4_req *r, const kv_aws_creds *creds, kv_buf *out)
{
    kv_buf creq = KV_BUF_INIT, signed_headers = KV_BUF_INIT, sts = KV_BUF_INIT;
    char date[9], creq_hash[65], sig_hex[65];
    unsigned char key[32], sig[32];
    int rc;

    snprintf(date, sizeof date, "%.8s", r->amz_date);
    rc = kv_sigv4_canonical_request(r, &creq, &signed_headers);
    if (rc)
        goto out;
    kv_sha256_hex(creq.data, creq.len, creq_hash);
    rc = kv_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", r->amz_date,
                       date, r->region, r->service, creq_hash);
    if (rc)
        goto out;
    rc = kv_sigv4_signing_key(creds->secret_key, date, r->region, r->service, key);
    if (rc)
        goto out;
    hmac_sha256(key, sizeof key, sts.data, sig);
    OPENSSL_cleanse(key, sizeof key);
    hex_encode(sig, sizeof sig, sig_hex);
    rc = kv_buf_printf(out,
                       "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request,"
                       "SignedHeaders=%s,Signature=%s",
                       creds->access_key, date, r->region, r->service, signed_headers.data,
                       sig_hex);
out:
    kv_buf_free(&creq);
    kv_buf_free(&signed_headers);
    kv_buf_free(&sts);
    return rc;
}
