#include "http/http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/err.h"
#include "util/log.h"
#include "util/rate.h"

/* Idle easy handles kept for reuse; more may be in use at once. */
#define POOL_MAX 64

/* Each handle's receive buffer. curl's default of 16 KiB costs a recvfrom
 * and a poll per 16 KiB of a download (66,000 of each per GiB); 512 KiB
 * takes what the socket holds in one call: 20x fewer recvfrom, 15x fewer
 * poll and about 10% less client CPU for a download from RGW
 * (docs/benchmarks.md). A larger upload buffer (CURLOPT_UPLOAD_BUFFERSIZE)
 * cut sendto calls 7x but not CPU time, so curl's 64 KiB stays. */
#define RECV_BUFFER (512 * 1024L)

/* A rate-limited process shares its limit among up to this many transfers
 * (the most workers): the minimum rate never asks more of one. */
#define MAX_SHARERS 256

struct kv_http {
    kv_http_opts opts;
    char *ca_file;           /* a copy of opts.ca_file */
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_lock;
    CURL *pool[POOL_MAX];
    size_t npool;
};

/* State of one transfer, seen by the curl callbacks. */
typedef struct xfer {
    const kv_http_req *req;
    kv_http_resp *resp;
    CURL *curl;
    size_t sent;          /* bytes of the request body handed to curl */
    size_t header_bytes;  /* of the response's headers, all responses */
    size_t max_reply;     /* kv_http_opts.max_reply */
    int overflow;         /* the response did not fit in req->dst */
    int too_big;          /* the reply held in memory passed max_reply */
    int oom;
} xfer;

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *c, curl_lock_data data, curl_lock_access access, void *p)
{
    kv_http *h = p;
    (void)c;
    (void)access;
    pthread_mutex_lock(&h->share_locks[data]);
}

static void share_unlock(CURL *c, curl_lock_data data, void *p)
{
    kv_http *h = p;
    (void)c;
    pthread_mutex_unlock(&h->share_locks[data]);
}

int kv_http_new(const kv_http_opts *opts, kv_http **out)
{
    kv_http *h;
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return kv_seterr(KV_ERR, "cannot initialise libcurl: %s", curl_easy_strerror(global_rc));
    if (opts && opts->negotiate && !(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_SPNEGO))
        return kv_seterr(KV_EUNSUPPORTED, "Kerberos (SPNEGO) was asked for, but this libcurl "
                         "(%s) was built without GSS-API", curl_version());
    h = calloc(1, sizeof *h);
    if (!h)
        return kv_seterr(KV_ENOMEM, "out of memory");
    if (opts)
        h->opts = *opts;
    if (h->opts.ca_file && !(h->ca_file = strdup(h->opts.ca_file))) {
        free(h);
        return kv_seterr(KV_ENOMEM, "out of memory");
    }
    if (h->opts.connect_timeout_s <= 0)
        h->opts.connect_timeout_s = 10;
    if (h->opts.stall_timeout_s <= 0)
        h->opts.stall_timeout_s = 60;
    if (h->opts.min_rate <= 0)
        h->opts.min_rate = KV_HTTP_MIN_RATE;
    if (h->opts.max_reply == 0)
        h->opts.max_reply = KV_HTTP_MAX_REPLY;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&h->share_locks[i], NULL);
    pthread_mutex_init(&h->pool_lock, NULL);
    h->share = curl_share_init();
    if (!h->share) {
        kv_http_free(h);
        return kv_seterr(KV_ENOMEM, "out of memory creating a curl share");
    }
    curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    /* Not CURL_LOCK_DATA_CONNECT: libcurl does not support sharing one
     * connection cache between concurrent threads. Each pooled easy handle
     * keeps its own live connections instead (curl_easy_reset keeps them). */
    curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    *out = h;
    return KV_OK;
}

void kv_http_free(kv_http *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->npool; i++)
        curl_easy_cleanup(h->pool[i]);
    if (h->share)
        curl_share_cleanup(h->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&h->share_locks[i]);
    pthread_mutex_destroy(&h->pool_lock);
    free(h->ca_file);
    free(h);
}

static CURL *handle_get(kv_http *h)
{
    CURL *c = NULL;
    pthread_mutex_lock(&h->pool_lock);
    if (h->npool)
        c = h->pool[--h->npool];
    pthread_mutex_unlock(&h->pool_lock);
    if (c) {
        curl_easy_reset(c);
        return c;
    }
    return curl_easy_init();
}

static void handle_put(kv_http *h, CURL *c)
{
    pthread_mutex_lock(&h->pool_lock);
    if (h->npool < POOL_MAX) {
        h->pool[h->npool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&h->pool_lock);
    if (c)
        curl_easy_cleanup(c);
}

void kv_http_url_for_message(const char *url, char *out, size_t outsz)
{
    size_t n = strcspn(url, "?#");
    if (!outsz)
        return;
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, url, n);
    out[n] = '\0';
}

static void headers_free(kv_http_resp *resp)
{
    for (size_t i = 0; i < resp->nheaders; i++) {
        free((char *)resp->headers[i].name);
        free((char *)resp->headers[i].value);
    }
    free(resp->headers);
    resp->headers = NULL;
    resp->nheaders = 0;
}

void kv_http_resp_free(kv_http_resp *resp)
{
    headers_free(resp);
    kv_buf_free(&resp->body);
    resp->status = 0;
    resp->received = 0;
}

const char *kv_http_resp_header(const kv_http_resp *resp, const char *name)
{
    for (size_t i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

static char *trimmed_dup(const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    return strndup(s, n);
}

static int header_add(kv_http_resp *resp, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    kv_http_header *hs;
    char *name, *value;
    if (!colon)
        return KV_OK; /* the status line or the blank end of headers */
    hs = realloc(resp->headers, (resp->nheaders + 1) * sizeof *hs);
    if (!hs)
        return KV_ENOMEM;
    resp->headers = hs;
    name = trimmed_dup(line, (size_t)(colon - line));
    value = trimmed_dup(colon + 1, len - (size_t)(colon - line) - 1);
    if (!name || !value) {
        free(name);
        free(value);
        return KV_ENOMEM;
    }
    hs[resp->nheaders].name = name;
    hs[resp->nheaders].value = value;
    resp->nheaders++;
    return KV_OK;
}

static size_t on_header(char *data, size_t size, size_t n, void *p)
{
    xfer *x = p;
    size_t len = size * n;
    x->header_bytes += len;
    if (x->header_bytes > x->max_reply) {
        x->too_big = 1;
        return 0;
    }
    /* A new status line starts a new response (100 Continue, a redirect):
     * keep only the headers of the last one. */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0)
        headers_free(x->resp);
    else if (header_add(x->resp, data, len) != KV_OK) {
        x->oom = 1;
        return 0;
    }
    return len;
}

static int status_is_success(CURL *c)
{
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status >= 200 && status < 300;
}

static size_t on_write(char *data, size_t size, size_t n, void *p)
{
    xfer *x = p;
    size_t len = size * n;
    kv_rate_consume(len);
    if (x->req->dst && status_is_success(x->curl)) {
        if (len > x->req->dst_cap - x->resp->received) {
            x->overflow = 1;
            return 0;
        }
        memcpy((char *)x->req->dst + x->resp->received, data, len);
    } else if (len > x->max_reply - x->resp->body.len) {
        x->too_big = 1;
        return 0;
    } else if (kv_buf_put(&x->resp->body, data, len) != KV_OK) {
        x->oom = 1;
        return 0;
    }
    x->resp->received += len;
    return len;
}

static size_t on_read(char *data, size_t size, size_t n, void *p)
{
    xfer *x = p;
    size_t len = size * n, left = x->req->body_len - x->sent;
    if (len > left)
        len = left;
    memcpy(data, (const char *)x->req->body + x->sent, len);
    x->sent += len;
    kv_rate_consume(len);
    return len;
}

/* curl rewinds the body when it must send it again (a reused connection
 * that turned out dead, a redirect). */
static int on_seek(void *p, curl_off_t off, int origin)
{
    xfer *x = p;
    if (origin != SEEK_SET || off < 0 || (uint64_t)off > x->req->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->sent = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

static int build_headers(const kv_http_req *req, struct curl_slist **out)
{
    struct curl_slist *list = NULL, *next;
    kv_buf line = KV_BUF_INIT;
    int rc = KV_OK;
    for (size_t i = 0; i < req->nheaders && rc == KV_OK; i++) {
        kv_buf_clear(&line);
        /* "Name;" is curl's way to send a header with an empty value */
        if (req->headers[i].value[0])
            rc = kv_buf_printf(&line, "%s: %s", req->headers[i].name, req->headers[i].value);
        else
            rc = kv_buf_printf(&line, "%s;", req->headers[i].name);
        if (rc == KV_OK) {
            next = curl_slist_append(list, line.data);
            if (!next)
                rc = kv_seterr(KV_ENOMEM, "out of memory building request headers");
            else
                list = next;
        }
    }
    if (rc == KV_OK && !req->expect_100) {
        next = curl_slist_append(list, "Expect:");
        if (!next)
            rc = kv_seterr(KV_ENOMEM, "out of memory building request headers");
        else
            list = next;
    }
    kv_buf_free(&line);
    if (rc != KV_OK) {
        curl_slist_free_all(list);
        list = NULL;
    }
    *out = list;
    return rc;
}

static void set_method(CURL *c, const kv_http_req *req)
{
    int has_body = strcmp(req->method, "PUT") == 0 || strcmp(req->method, "POST") == 0;
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (has_body || req->body_len) {
        /* UPLOAD sends exactly body_len bytes (Content-Length, even 0)
         * through the read callback; CUSTOMREQUEST then names the method. */
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
        if (strcmp(req->method, "PUT") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    } else if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    }
}

/* The minimum rate, within a share of the process's rate limit. */
static long min_rate(const kv_http *h)
{
    uint64_t share = kv_rate_get() / MAX_SHARERS;
    if (kv_rate_get() && share < (uint64_t)h->opts.min_rate)
        return share ? (long)share : 1;
    return h->opts.min_rate;
}

static void set_options(kv_http *h, CURL *c, xfer *x, struct curl_slist *headers)
{
    const kv_http_req *req = x->req;
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* what was signed is sent */
    curl_easy_setopt(c, CURLOPT_SHARE, h->share);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, RECV_BUFFER);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)h->opts.connect_timeout_s);
    /* No total timeout (big transfers are legitimate); a transfer that moves
     * fewer than min_rate bytes a second for the stall time fails instead
     * (a server dripping a byte now and then included). */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, min_rate(h));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)h->opts.stall_timeout_s);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, req->follow_redirects ? 1L : 0L);
    if (h->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
    if (h->opts.negotiate) {
        /* the name and password are unused: GSS-API takes the ticket cache */
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_NEGOTIATE);
        curl_easy_setopt(c, CURLOPT_USERPWD, ":");
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, x);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, x);
    set_method(c, req);
}

static int is_transient(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST: /* DNS hiccups are common in clouds */
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static int map_failure(const kv_http *h, const kv_http_req *req, const xfer *x, CURLcode cc,
                       const char *errbuf)
{
    char url[512];
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    kv_http_url_for_message(req->url, url, sizeof url);
    if (x->overflow)
        return kv_seterr(KV_ECORRUPT, "%s %s: the server sent more than the %zu bytes asked for",
                         req->method, url, req->dst_cap);
    if (x->too_big)
        return kv_seterr(KV_ERR, "%s %s: the server's reply is larger than the %zu bytes kvault "
                         "holds in memory (KVAULT_MAX_REPLY); it was not read further",
                         req->method, url, x->max_reply);
    if (cc == CURLE_OPERATION_TIMEDOUT && strstr(why, "too slow"))
        return kv_seterr(KV_ETRANSIENT, "%s %s: %s (KVAULT_MIN_RATE %ld bytes/s, "
                         "KVAULT_STALL_TIMEOUT %d s)", req->method, url, why, min_rate(h),
                         h->opts.stall_timeout_s);
    if (x->oom)
        return kv_seterr(KV_ENOMEM, "%s %s: out of memory storing the response", req->method, url);
    return kv_seterr(is_transient(cc) ? KV_ETRANSIENT : KV_ERR, "%s %s: %s", req->method, url, why);
}

int kv_http_do(kv_http *h, const kv_http_req *req, kv_http_resp *resp)
{
    char errbuf[CURL_ERROR_SIZE] = "", url[512];
    struct curl_slist *headers = NULL;
    xfer x = {.req = req, .resp = resp, .max_reply = h->opts.max_reply};
    CURLcode cc;
    int rc;

    headers_free(resp);
    kv_buf_clear(&resp->body);
    resp->status = 0;
    resp->received = 0;
    rc = build_headers(req, &headers);
    if (rc)
        goto out;
    x.curl = handle_get(h);
    if (!x.curl) {
        rc = kv_seterr(KV_ENOMEM, "cannot create a curl handle");
        goto out;
    }
    set_options(h, x.curl, &x, headers);
    curl_easy_setopt(x.curl, CURLOPT_ERRORBUFFER, errbuf);
    cc = curl_easy_perform(x.curl);
    curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &resp->status);
    kv_http_url_for_message(req->url, url, sizeof url);
    if (cc != CURLE_OK) {
        rc = map_failure(h, req, &x, cc, errbuf);
        kv_debug("http %s %s failed: %s", req->method, url, kv_errmsg());
        goto out;
    }
    kv_debug("http %s %s -> %ld (%zu bytes sent, %zu received)", req->method, url,
             resp->status, x.sent, resp->received);
out:
    if (x.curl) {
        /* the handle must not keep pointers into this call's stack */
        curl_easy_setopt(x.curl, CURLOPT_ERRORBUFFER, NULL);
        curl_easy_setopt(x.curl, CURLOPT_HTTPHEADER, NULL);
        handle_put(h, x.curl);
    }
    curl_slist_free_all(headers);
    return rc;
}
