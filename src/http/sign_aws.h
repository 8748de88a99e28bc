/*
 * AWS Signature Version 4 (header-based, single-chunk payload), as S3 and
 * S3-compatible stores check it. Pure functions over strings, unit-tested
 * against the examples AWS publishes.
 *
 * The caller chooses the headers to sign and passes them all, including
 * host, x-amz-date, x-amz-content-sha256 and, with session credentials,
 * x-amz-security-token; the same headers must then be sent.
 */
#ifndef KV_HTTP_SIGN_AWS_H
#define KV_HTTP_SIGN_AWS_H

#include <stddef.h>
#include <time.h>

#include "http/http.h"
#include "util/buf.h"

#define KV_SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define KV_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

typedef struct kv_aws_creds {
    const char *access_key;
    const char *secret_key;
    const char *session_token;   /* NULL or "" without one */
} kv_aws_creds;

typedef struct kv_sigv4_req {
    const char *method;
    const char *path;               /* raw, not encoded: "/bucket/some key" */
    const kv_http_header *query;    /* raw names and values; value "" or NULL */
    size_t nquery;                  /* signs as "name=" */
    const kv_http_header *headers;  /* every header to sign, any case/order */
    size_t nheaders;
    const char *payload_hash;       /* hex SHA-256 or KV_UNSIGNED_PAYLOAD */
    const char *amz_date;           /* "20130524T000000Z" (the x-amz-date) */
    const char *region;             /* "us-east-1" */
    const char *service;            /* "s3" */
} kv_sigv4_req;

/* Percent-encodes s per AWS's UriEncode: unreserved A-Z a-z 0-9 - . _ ~ kept,
 * everything else %XX (upper case); '/' kept when keep_slash. Appends to out. */
int kv_aws_uri_encode(const char *s, int keep_slash, kv_buf *out);

/* The canonical query string: names and values encoded, sorted by name then
 * value, "a=1&b=&c=x%2Fy". Also the query to put in the URL. */
int kv_aws_canonical_query(const kv_http_header *query, size_t n, kv_buf *out);

/* The canonical request and, in signed_headers, "host;range;x-amz-date". */
int kv_sigv4_canonical_request(const kv_sigv4_req *r, kv_buf *out, kv_buf *signed_headers);

/* kSigning = HMAC chain over "AWS4"+secret, date (YYYYMMDD), region,
 * service, "aws4_request". */
int kv_sigv4_signing_key(const char *secret, const char *date, const char *region,
                         const char *service, unsigned char out[32]);

/* The Authorization header value:
 * "AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request,
 *  SignedHeaders=...,Signature=<64 hex>" (no spaces, one line). */
int kv_sigv4_authorization(const kv_sigv4_req *r, const kv_aws_creds *creds, kv_buf *out);

/* Lowercase hex SHA-256 of data. */
void kv_sha256_hex(const void *data, size_t len, char out[65]);

/* The x-amz-content-sha256 of a body: the hex of sha256 when the caller has
 * it (computed while the data was in memory), else of a SHA-256 pass over
 * body here. */
void kv_aws_payload_hash(const void *body, size_t len, const unsigned char *sha256,
                         char out[65]);

/* "YYYYMMDDTHHMMSSZ" for t in UTC. */
void kv_aws_amz_date(time_t t, char out[17]);

#endif
