/*
 * Azure Storage Shared Key authorization (the Blob service's scheme for
 * x-ms-version 2009-09-19 and later). Pure functions over strings,
 * unit-tested against the canonicalization examples Microsoft publishes in
 * "Authorize with Shared Key".
 *
 * StringToSign = VERB \n Content-Encoding \n Content-Language \n
 *   Content-Length (empty when 0) \n Content-MD5 \n Content-Type \n Date \n
 *   If-Modified-Since \n If-Match \n If-None-Match \n If-Unmodified-Since \n
 *   Range \n CanonicalizedHeaders CanonicalizedResource
 * Signature = Base64(HMAC-SHA256(Base64Decode(account key), StringToSign))
 */
#ifndef KV_HTTP_SIGN_AZURE_H
#define KV_HTTP_SIGN_AZURE_H

#include <stddef.h>
#include <time.h>

#include "http/http.h"
#include "util/buf.h"

/* Longest account key accepted, decoded (Azure's are 64 bytes). */
#define KV_AZURE_KEY_MAX 256

/* Room for an x-ms-date value and its NUL. */
#define KV_AZURE_DATE_MAX 64

typedef struct kv_azure_sign_req {
    const char *method;
    const char *account;            /* the account that owns the resource */
    const char *path;               /* the URL path as sent (percent-encoded),
                                       "/container/blob"; for path-style
                                       endpoints "/account/container/blob" */
    const kv_http_header *query;    /* decoded names and values, any order; a
                                       name given twice signs as "a,b" */
    size_t nquery;
    const kv_http_header *headers;  /* every header sent, any case and order;
                                       the standard ones and x-ms-* are signed */
    size_t nheaders;
    size_t content_length;          /* of the body; 0 signs as "" */
} kv_azure_sign_req;

/* "x-ms-date:...\nx-ms-version:...\n": x-ms-* headers, names lower-cased,
 * sorted, values trimmed with inner runs of white space made one space. */
int kv_azure_canonical_headers(const kv_http_header *headers, size_t n, kv_buf *out);

/* "/account/path" then "\nname:value" per query parameter: names lower-cased
 * and sorted, a name's values sorted and joined with ','. */
int kv_azure_canonical_resource(const char *account, const char *path,
                                const kv_http_header *query, size_t nquery, kv_buf *out);

int kv_azure_string_to_sign(const kv_azure_sign_req *r, kv_buf *out);

/* Decodes a base64 account key; KV_EINVAL (the key is never named) when it
 * is not base64 or is empty. */
int kv_azure_decode_key(const char *b64, unsigned char out[KV_AZURE_KEY_MAX], size_t *len);

/* Base64 HMAC-SHA256 of text under key: 44 characters and a NUL. */
void kv_azure_hmac_b64(const unsigned char *key, size_t key_len, const char *text, char out[45]);

/* The Authorization header value: "SharedKey account:signature". */
int kv_azure_authorization(const kv_azure_sign_req *r, const unsigned char *key, size_t key_len,
                           kv_buf *out);

/* RFC 1123 date for x-ms-date, independent of the locale:
 * "Fri, 26 Jun 2015 23:39:12 GMT". */
void kv_azure_date(time_t t, char out[KV_AZURE_DATE_MAX]);

#endif
