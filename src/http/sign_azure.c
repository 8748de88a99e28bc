#include "http/sign_azure.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/err.h"

/* The standard headers of the string to sign, in order (Content-Length is
 * taken from the body's length instead). */
static const char *const standard_headers[] = {
    "Content-Encoding", "Content-Language", NULL /* Content-Length */, "Content-MD5",
    "Content-Type", "Date", "If-Modified-Since", "If-Match", "If-None-Match",
    "If-Unmodified-Since", "Range",
};

/* A name (lower-cased copy) and its value, for sorting. */
typedef struct pair {
    char *name;
    const char *value;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static void pairs_free(pair *ps, size_t n)
{
    for (size_t i = 0; ps && i < n; i++)
        free(ps[i].name);
    free(ps);
}

/* Lower-cased, sorted copies of the entries of hs whose name starts with
 * prefix (all when prefix is ""). */
static int sorted_pairs(const kv_http_header *hs, size_t n, const char *prefix, pair **out,
                        size_t *count)
{
    pair *ps = calloc(n ? n : 1, sizeof *ps);
    size_t m = 0, plen = strlen(prefix);
    if (!ps)
        return kv_seterr(KV_ENOMEM, "out of memory signing a request");
    for (size_t i = 0; i < n; i++) {
        if (strncasecmp(hs[i].name, prefix, plen) != 0)
            continue;
        ps[m].name = strdup(hs[i].name);
        ps[m].value = hs[i].value ? hs[i].value : "";
        if (!ps[m].name) {
            pairs_free(ps, m);
            return kv_seterr(KV_ENOMEM, "out of memory signing a request");
        }
        for (char *c = ps[m].name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        m++;
    }
    qsort(ps, m, sizeof *ps, pair_cmp);
    *out = ps;
    *count = m;
    return KV_OK;
}

/* Appends v trimmed, with each inner run of white space made one space. */
static int put_folded(kv_buf *out, const char *v)
{
    int rc = KV_OK, space = 0;
    while (isspace((unsigned char)*v))
        v++;
    for (; *v && rc == KV_OK; v++) {
        if (isspace((unsigned char)*v)) {
            space = 1;
            continue;
        }
        if (space)
            rc = kv_buf_put(out, " ", 1);
        space = 0;
        if (rc == KV_OK)
            rc = kv_buf_put(out, v, 1);
    }
    return rc;
}

int kv_azure_canonical_headers(const kv_http_header *headers, size_t n, kv_buf *out)
{
    pair *ps;
    size_t m;
    int rc = sorted_pairs(headers, n, "x-ms-", &ps, &m);
    for (size_t i = 0; i < m && rc == KV_OK; i++) {
        rc = kv_buf_printf(out, "%s:", ps[i].name);
        if (rc == KV_OK)
            rc = put_folded(out, ps[i].value);
        if (rc == KV_OK)
            rc = kv_buf_put(out, "\n", 1);
    }
    if (rc == KV_OK && !out->data)
        rc = kv_buf_puts(out, ""); /* an empty result is still a string */
    pairs_free(ps, m);
    return rc;
}

int kv_azure_canonical_resource(const char *account, const char *path,
                                const kv_http_header *query, size_t nquery, kv_buf *out)
{
    pair *ps = NULL;
    size_t m = 0;
    int rc = kv_buf_printf(out, "/%s%s", account, *path ? path : "/");
    if (rc == KV_OK)
        rc = sorted_pairs(query, nquery, "", &ps, &m);
    for (size_t i = 0; i < m && rc == KV_OK; i++) {
        int same_name = i > 0 && strcmp(ps[i].name, ps[i - 1].name) == 0;
        rc = same_name ? kv_buf_printf(out, ",%s", ps[i].value)
                       : kv_buf_printf(out, "\n%s:%s", ps[i].name, ps[i].value);
    }
    pairs_free(ps, m);
    return rc;
}

static const char *header_value(const kv_azure_sign_req *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value ? r->headers[i].value : "";
    return "";
}

int kv_azure_string_to_sign(const kv_azure_sign_req *r, kv_buf *out)
{
    int rc = kv_buf_printf(out, "%s\n", r->method);
    for (size_t i = 0; i < sizeof standard_headers / sizeof standard_headers[0] && rc == KV_OK;
         i++) {
        if (standard_headers[i])
            rc = kv_buf_printf(out, "%s\n", header_value(r, standard_headers[i]));
        else if (r->content_length)
            rc = kv_buf_printf(out, "%zu\n", r->content_length);
        else
            rc = kv_buf_puts(out, "\n");
    }
    if (rc == KV_OK)
        rc = kv_azure_canonical_headers(r->headers, r->nheaders, out);
    if (rc == KV_OK)
        rc = kv_azure_canonical_resource(r->account, r->path, r->query, r->nquery, out);
    return rc;
}

int kv_azure_decode_key(const char *b64, unsigned char out[KV_AZURE_KEY_MAX], size_t *len)
{
    size_t n = strlen(b64), pad = 0;
    unsigned char tmp[KV_AZURE_KEY_MAX + 3];
    int got;
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof tmp)
        return kv_seterr(KV_EINVAL, "the Azure account key is not base64 of at most %d bytes",
                         KV_AZURE_KEY_MAX);
    got = EVP_DecodeBlock(tmp, (const unsigned char *)b64, (int)n);
    if (got < 0)
        return kv_seterr(KV_EINVAL, "the Azure account key is not valid base64");
    /* EVP_DecodeBlock counts the padding as zero bytes */
    pad = (b64[n - 1] == '=') + (b64[n - 2] == '=');
    *len = (size_t)got - pad;
    if (*len == 0 || *len > KV_AZURE_KEY_MAX)
        return kv_seterr(KV_EINVAL, "the Azure account key is not base64 of at most %d bytes",
                         KV_AZURE_KEY_MAX);
    memcpy(out, tmp, *len);
    OPENSSL_cleanse(tmp, sizeof tmp);
    return KV_OK;
}

void kv_azure_hmac_b64(const unsigned char *key, size_t key_len, const char *text, char out[45])
{
    unsigned char md[32];
    unsigned int md_len = sizeof md;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)text, strlen(text), md, &md_len);
    EVP_EncodeBlock((unsigned char *)out, md, (int)md_len);
}

int kv_azure_authorization(const kv_azure_sign_req *r, const unsigned char *key, size_t key_len,
                           kv_buf *out)
{
    kv_buf sts = KV_BUF_INIT;
    char sig[45];
    int rc = kv_azure_string_to_sign(r, &sts);
    if (rc == KV_OK) {
        kv_azure_hmac_b64(key, key_len, sts.data, sig);
        rc = kv_buf_printf(out, "SharedKey %s:%s", r->account, sig);
    }
    kv_buf_free(&sts);
    return rc;
}

void kv_azure_date(time_t t, char out[KV_AZURE_DATE_MAX])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, KV_AZURE_DATE_MAX, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}
