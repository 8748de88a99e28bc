/*
 * A thin libcurl wrapper shared by the network backends (S3, Azure, GCS,
 * WebHDFS). The only module that includes curl.
 *
 * A kv_http client is safe to use from several threads at once: each request
 * borrows an easy handle from a pool, so its kept-alive connections and
 * buffers are reused, and all handles share one DNS and TLS session cache.
 *
 * Requests send bodies from memory; responses land in a growable buffer or,
 * for ranged reads, directly in a caller's fixed buffer. Transport failures
 * that a retry may fix (refused, reset, timeout, stall, a transfer slower
 * than the minimum rate, truncated reply) are KV_ETRANSIENT; the caller maps
 * HTTP statuses itself. Nothing here retries.
 *
 * What a server sends is bounded: a reply read into memory (a listing, an
 * error document, any body not bound for a caller's fixed buffer) and its
 * headers stop at max_reply bytes, and a transfer that moves fewer than
 * min_rate bytes a second for the stall time fails. URLs are sent as built:
 * dot segments in a path ("a/../b", legal in an object key) are not
 * resolved by libcurl (CURLOPT_PATH_AS_IS), so the request that was signed
 * is the one that is sent.
 *
 * Messages and logs name the method and the URL without its query string
 * (which may carry a SAS token or signature); header values are never logged.
 */
#ifndef KV_HTTP_H
#define KV_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct kv_http kv_http;

typedef struct kv_http_opts {
    int connect_timeout_s;   /* 0 = 10 */
    int stall_timeout_s;     /* the window of the minimum rate; 0 = 60 */
    long min_rate;           /* fail when fewer bytes a second than this move
                                for stall_timeout_s; 0 = 1024. Lowered to
                                kv_rate's limit / 256 when the process is
                                rate-limited below that. */
    size_t max_reply;        /* most bytes of a reply held in memory (body,
                                and headers apart); 0 = 16 MiB */
    int negotiate;           /* SPNEGO (Kerberos) through libcurl's GSS-API,
                                with the ticket from the user's cache (kinit) */
    const char *ca_file;     /* CA certificates (PEM) to verify HTTPS servers
                                against instead of the system's; NULL =
                                the system's. Verification is always on. */
} kv_http_opts;

/* Defaults of kv_http_opts. */
#define KV_HTTP_MIN_RATE 1024L
#define KV_HTTP_MAX_REPLY ((size_t)16 * 1024 * 1024)

typedef struct kv_http_header {
    const char *name;
    const char *value;
} kv_http_header;

typedef struct kv_http_req {
    const char *method;              /* "GET", "PUT", "HEAD", ... */
    const char *url;                 /* full URL, query already encoded */
    const kv_http_header *headers;   /* sent as given; may be NULL */
    size_t nheaders;
    const void *body;                /* request body; NULL with body_len 0 = none */
    size_t body_len;
    /* Optional fixed destination for a 2xx response body (ranged GETs into a
     * part buffer). A body that does not fit fails with KV_ECORRUPT. Error
     * bodies (non-2xx) always go to kv_http_resp.body instead. */
    void *dst;
    size_t dst_cap;
    int follow_redirects;            /* default 0: 3xx is returned as is */
    int expect_100;                  /* default 0: send an empty Expect: */
} kv_http_req;

typedef struct kv_http_resp {
    long status;
    kv_buf body;                     /* response body unless it went to dst */
    size_t received;                 /* bytes of body received (dst or body) */
    kv_http_header *headers;         /* of the final response, malloc'd */
    size_t nheaders;
} kv_http_resp;

#define KV_HTTP_RESP_INIT {0, KV_BUF_INIT, 0, NULL, 0}

int kv_http_new(const kv_http_opts *opts, kv_http **out);
void kv_http_free(kv_http *h);

/* Performs one request. KV_OK means an HTTP response arrived (any status);
 * otherwise the transport failed and the thread's message says why. resp
 * must be initialised (KV_HTTP_RESP_INIT) and is reset on entry. */
int kv_http_do(kv_http *h, const kv_http_req *req, kv_http_resp *resp);

/* Value of a response header (case-insensitive name), or NULL. */
const char *kv_http_resp_header(const kv_http_resp *resp, const char *name);

void kv_http_resp_free(kv_http_resp *resp);

/* Writes url without its query string (and fragment) into out, for
 * messages; truncates to outsz. */
void kv_http_url_for_message(const char *url, char *out, size_t outsz);

/* ---- replies (http/reply.c) ---------------------------------------------- */

/* The usual KV_E* class of an error status, which each backend refines by
 * its own error codes: 401/403 KV_EAUTH, 404 KV_ENOTFOUND, 408, 429, 500,
 * 502, 503 and 504 KV_ETRANSIENT, 412 KV_EEXIST, 400 KV_EINVAL, anything
 * else KV_ERR. */
int kv_http_status_code(long status);

/* A name for an error status whose reply carries no code (a HEAD):
 * "NotFound", "Forbidden", ..., "HTTP error" for the rest. */
const char *kv_http_status_name(long status);

/* Checks that a 206 reply's Content-Range starts at off; otherwise fails
 * with KV_ECORRUPT: "<what>: asked for bytes from <off>, the server sent
 * range '<Content-Range>'". */
int kv_http_check_content_range(const kv_http_resp *resp, uint64_t off, const char *what);

/* An ETag without its surrounding quotes into out (truncated to n - 1
 * characters); "" for NULL. etag may point into out. */
void kv_http_etag_copy(const char *etag, char *out, size_t n);

#endif
