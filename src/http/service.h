/*
 * One request path for the network backends: a request described by named
 * fields, sent to a service (an origin, the headers every request carries,
 * how requests are authorized, how its error replies read) and its error
 * reply turned into one message shape:
 *
 *     <name><object>: <Code>: <Message> (HTTP nnn)[; hint]
 *
 * e.g. "s3://bucket/key: NoSuchKey: The specified key does not exist.
 * (HTTP 404)". Which KV_E* code and hint an error gets comes from small
 * tables of rules: the credential provider's first (what a refused key
 * means), then the service's (its error codes).
 *
 * A backend keeps only its protocol: what to send and how to read replies.
 */
#ifndef KV_HTTP_SERVICE_H
#define KV_HTTP_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "util/buf.h"

#define KV_SVC_MAX_HEADERS 16
#define KV_SVC_MAX_VALUES 6

/* One failure as the service's reply states it. */
typedef struct kv_svc_error {
    long http;             /* the HTTP status */
    int status;            /* KV_E* it maps to */
    char code[128];        /* the service's code; "" when the reply has none */
    char message[512];     /* its message, first line; may be "" */
    char hint[256];        /* "; what to check" or "" */
} kv_svc_error;

/* An error rule: the first that matches a reply decides its KV_E* code and
 * hint. A table ends with an all-zero entry. */
typedef struct kv_svc_rule {
    const char *code;        /* the error code; NULL = any, "" = none given */
    long http;               /* the HTTP status; 0 = any */
    const char *in_message;  /* the message contains this (any case); NULL = any */
    const char *header;      /* "Name: value": the reply has the header, its
                                value starting with value (any case); NULL = any */
    int status;              /* KV_E*; 0 = by the HTTP status (kv_http_status_code) */
    const char *hint;        /* appended after "; ", "%s" = the bucket; NULL = none */
} kv_svc_rule;

/* A request being authorized: what a signer reads, and where it adds. */
typedef struct kv_svc_sign {
    const char *method;
    const char *host;                /* the origin's host[:port] */
    const char *path;                /* raw path, "/bucket/some key"; NULL with a URL */
    const char *encoded_path;        /* the path as sent */
    const kv_http_header *query;     /* raw names and values */
    size_t nquery;
    const void *body;
    size_t body_len;
    const unsigned char *body_sha256; /* the body's, when the caller has it */
    kv_http_header headers[KV_SVC_MAX_HEADERS]; /* every header sent so far */
    size_t nheaders;
    kv_buf values[KV_SVC_MAX_VALUES]; /* copies of added values, wiped after */
    size_t nvalues;
    kv_buf url;                      /* the URL so far */
} kv_svc_sign;

/* How requests are authorized: a credential provider fills this in
 * (http/auth_*.h); all zero = anonymous. */
typedef struct kv_svc_auth {
    /* Adds headers (kv_svc_add_header) or query (kv_svc_add_query). */
    int (*authorize)(void *ctx, kv_svc_sign *sg);
    /* Told after a 401 to what authorize added (a cached token is stale). */
    void (*refused)(void *ctx, const kv_svc_sign *sg);
    const kv_svc_rule *rules;        /* credential errors' hints; may be NULL */
    void *ctx;
} kv_svc_auth;

typedef struct kv_service {
    kv_http *http;
    const char *origin;              /* "https://host[:port]", no path */
    const char *base_path;           /* raw path before every key: "" or "/bucket" */
    const char *name;                /* names objects in messages: "s3://bucket/" */
    const char *bucket;              /* "%s" of hints */
    const kv_http_header *headers;   /* sent with every request */
    size_t nheaders;
    kv_svc_auth auth;
    /* Reads the code and message of an error reply into err. */
    void (*parse_error)(const kv_http_resp *resp, kv_svc_error *err);
    const kv_svc_rule *rules;        /* the service's error codes */
} kv_service;

/* One request, by name: designated initializers, unset fields zero. */
typedef struct kv_svc_req {
    const char *method;
    const char *key;                 /* path base_path "/" key; NULL = base_path */
    const kv_http_header *query;     /* raw names and values, sent sorted */
    size_t nquery;
    const char *url;                 /* a whole URL instead of key and query */
    const kv_http_header *headers;   /* sent (and signed) after the service's */
    size_t nheaders;
    const void *body;
    size_t body_len;
    const unsigned char *body_sha256; /* the body's SHA-256, when known */
    void *dst;                       /* fixed buffer for a 2xx body */
    size_t dst_cap;
    const char *object;              /* what errors name after svc->name; NULL = key */
} kv_svc_req;

/* Sends req; KV_OK when a reply of any status arrived. */
int kv_svc_send(kv_service *svc, const kv_svc_req *req, kv_http_resp *resp);
/* Sends req and fails (kv_svc_fail) on a reply other than 2xx. */
int kv_svc_do(kv_service *svc, const kv_svc_req *req, kv_http_resp *resp);

/* kv_svc_do for a request whose reply says nothing beyond its status. */
int kv_svc_call(kv_service *svc, const kv_svc_req *req);

/* Reads an error reply and applies the rules: returns err->status. */
int kv_svc_error_of(const kv_service *svc, const kv_http_resp *resp, kv_svc_error *err);
/* Sets the thread's message for an error reply about object and returns its
 * KV_E* code. */
int kv_svc_fail(const kv_service *svc, const char *object, const kv_http_resp *resp);
/* "<name><object>" into out (truncated to n). */
void kv_svc_object_name(const kv_service *svc, const char *object, char *out, size_t n);

/* For authorize callbacks: adds a header whose value is copied (and wiped
 * after the request), or "name=value" already encoded to the query. */
int kv_svc_add_header(kv_svc_sign *sg, const char *name, const char *value);
int kv_svc_add_query(kv_svc_sign *sg, const char *encoded);

/* A ranged read: the Range value "bytes=off-(off+len-1)" into out. */
void kv_svc_range(uint64_t off, size_t len, char out[64]);
/* Checks a 2xx reply to a ranged read at off: a 206 must start at off, and
 * a whole-object 200 is only right from 0 (else KV_ECORRUPT). */
int kv_svc_check_range(const kv_service *svc, const char *object, const kv_http_resp *resp,
                       uint64_t off, const char *range);

/* Parses an <Error><Code/><Message/></Error> reply (S3, Azure). */
void kv_svc_xml_error(const kv_http_resp *resp, kv_svc_error *err);

#endif
