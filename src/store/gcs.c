/*
 * Google Cloud Storage (gs://bucket/prefix) over the JSON API
 * (storage/v1 and upload/storage/v1).
 *
 * Where requests go: STORAGE_EMULATOR_HOST ("host:port" or a URL; no
 * authentication, as Google's client libraries do), else KVAULT_GCS_ENDPOINT
 * (an API base URL such as http://127.0.0.1:4443, with authentication), else
 * https://storage.googleapis.com.
 *
 * Credentials come from http/auth_google.c (a token, a service-account key
 * or the GCE metadata server, as Google's libraries find them).
 *
 * Uploads. put sends objects up to KVAULT_GCS_RESUMABLE_THRESHOLD (8 MiB) as
 * one multipart/related request; larger ones as a resumable upload in chunks
 * of KVAULT_GCS_CHUNK_SIZE (8 MiB; rounded to a multiple of 256 KiB). Both
 * carry the object's crc32c in the metadata, so GCS rejects damaged bytes
 * (no md5Hash: GCS checks the crc32c, and an MD5 pass would cost more CPU
 * than the rest of an upload). A resumable upload that fails
 * part way (dropped connection, 5xx) keeps its session URI; when the
 * retrying wrapper calls again with the same key, length and CRC, the
 * backend asks the session what it holds (PUT, Content-Range: bytes
 * *\/TOTAL) and sends only the rest.
 *
 * Multipart (kv_store_ops) maps onto parallel part objects and compose:
 *   upload_begin     picks a random tag; nothing is sent;
 *   upload_part n    stores the bytes as the object "<key>.<tag>-<nnnnn>.kvpart"
 *                    (single request or resumable, as put), with
 *                    ifGenerationMatch=0 and the part's digests; parts go up
 *                    concurrently on the transfer engine's threads;
 *   upload_complete  composes the parts (pinned to the generations written)
 *                    into <key>: at most 32 sources per compose call, so more
 *                    parts are composed in a tree through intermediate
 *                    objects "<key>.<tag>-L<level>-<nnnnn>.kvpart"; the
 *                    composite's crc32c must equal the parts' combined CRC;
 *                    then every part and intermediate object is deleted;
 *   upload_abort     deletes the parts written and cancels open sessions.
 * Limits: parts of 256 KiB to 5 GiB, at most 1024 parts (a composite object
 * has at most 1024 components: 32 x 32). A crashed process leaves
 * "*.kvpart" objects; a bucket lifecycle rule with matchesSuffix ".kvpart"
 * and an age removes them.
 *
 * Test and tuning knob: KVAULT_GCS_MAX_RESULTS (list page size).
 */
#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/auth_google.h"
#include "http/service.h"
#include "store/bucket.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/log.h"
#include "util/random.h"
#include "util/time.h"
#include "util/url.h"

#define KIB 1024ull
#define MIB (1024ull * 1024ull)
#define GCS_CHUNK_UNIT (256 * KIB)
#define GCS_MAX_PART (5 * 1024 * MIB)
#define GCS_MAX_PARTS 1024
#define GCS_COMPOSE_MAX 32
#define DEFAULT_CHUNK (8 * MIB)
#define DEFAULT_THRESHOLD (8 * MIB)
#define DEFAULT_API "https://storage.googleapis.com"
#define PART_MARK ".kvpart"

/* A resumable session left by a put that failed part way, to resume. */
typedef struct pending_session {
    char *key;
    size_t len;
    uint32_t crc;
    char *uri;
    struct pending_session *next;
} pending_session;

typedef struct gcs_store {
    kv_store base;
    kv_bucket b;
    kv_service svc;
    kv_google_auth *auth;
    char *api;             /* API base URL, no trailing slash */
    uint64_t chunk_size;
    uint64_t threshold;    /* larger puts go resumable */
    int max_results;       /* 0 = the server's page size */
    pthread_mutex_t lock;  /* guards the pending sessions */
    pending_session *pending;
} gcs_store;

/* What the JSON API says about an object. */
typedef struct gcs_obj {
    uint64_t size;
    int64_t mtime_unix;
    long long generation;
    int has_crc;
    uint32_t crc;
    char md5[40];          /* base64, may be empty */
} gcs_obj;

typedef struct gcs_part {
    int stored;
    long long generation;  /* as the server reported it; 0 = not said */
    uint32_t crc;
    uint64_t len;
    int attempted;
    char *session;         /* open resumable session of this part */
} gcs_part;

struct kv_upload {
    gcs_store *s;
    char *key;             /* full key in the bucket */
    char tag[17];
    uint32_t nparts;
    gcs_part *parts;
    int composed;          /* the final compose succeeded */
    char **temps;          /* intermediate compose objects, to delete */
    size_t ntemps;
};

/* An object to store: its name in the bucket, bytes and CRC32C. */
typedef struct gcs_src {
    const char *name;
    const unsigned char *buf;
    size_t len;
    uint32_t crc;
    int if_absent;                   /* ifGenerationMatch=0 */
} gcs_src;

/* ---- small helpers ------------------------------------------------------ */

static void parse_obj(json_t *o, gcs_obj *out)
{
    const char *md5 = json_string_value(json_object_get(o, "md5Hash"));
    memset(out, 0, sizeof *out);
    out->size = (uint64_t)kv_google_int64(json_object_get(o, "size"));
    out->generation = kv_google_int64(json_object_get(o, "generation"));
    out->mtime_unix = kv_time_parse_rfc3339(json_string_value(json_object_get(o, "updated")));
    out->has_crc = kv_crc32c_from_base64(json_string_value(json_object_get(o, "crc32c")), &out->crc);
    snprintf(out->md5, sizeof out->md5, "%s", md5 ? md5 : "");
}

/* ---- errors ------------------------------------------------------------- */

/* Google's error reasons, by the HTTP status where they have none
 * (credential errors are auth_google.c's). A 400 about a digest is damage
 * on the way. */
static const kv_svc_rule gcs_rules[] = {
    {.code = "rateLimitExceeded", .status = KV_ETRANSIENT},
    {.code = "userRateLimitExceeded", .status = KV_ETRANSIENT},
    {.code = "backendError", .status = KV_ETRANSIENT},
    {.code = "internalError", .status = KV_ETRANSIENT},
    {.http = 410, .status = KV_ENOTFOUND},
    {.http = 400, .in_message = "crc32c", .status = KV_ECORRUPT,
     .hint = "the bytes were damaged on the way"},
    {.http = 400, .in_message = "md5", .status = KV_ECORRUPT,
     .hint = "the bytes were damaged on the way"},
    {.http = 400, .status = KV_EINVAL},
    {.http = 501, .status = KV_EUNSUPPORTED,
     .hint = "the server does not implement this request (Google's emulator has no compose)"},
    {.http = 403, .hint = "the account lacks storage permissions on this bucket (it needs e.g. "
                          "roles/storage.objectAdmin)"},
    {0},
};

/* ---- requests ----------------------------------------------------------- */

/* "{api}/storage/v1/b/{bucket}/o[/{name}][{suffix}]" */
static int object_url(const gcs_store *s, const char *name, const char *suffix, kv_buf *url)
{
    char *enc = name ? kv_url_encode(name, 0) : NULL;
    int rc;
    if (name && !enc)
        return kv_oom();
    rc = kv_buf_printf(url, "%s/storage/v1/b/%s/o%s%s%s", s->api, s->b.bucket, enc ? "/" : "",
                       enc ? enc : "", suffix ? suffix : "");
    free(enc);
    return rc;
}

/* Parses a 2xx reply that must be an object resource. */
static int read_obj_reply(const gcs_store *s, const char *key, const kv_http_resp *resp,
                          gcs_obj *out)
{
    json_t *root = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);
    int rc = KV_OK;
    if (!json_is_object(root))
        rc = kv_seterr(KV_ETRANSIENT, "%s%s: the server's reply is not a JSON object "
                                      "(HTTP %ld)", s->b.name, key, resp->status);
    else
        parse_obj(root, out);
    json_decref(root);
    return rc;
}

/* The object a write produced must hold what was sent. */
static int check_written(const gcs_store *s, const gcs_src *src, const gcs_obj *o)
{
    if (o->size == src->len && (!o->has_crc || o->crc == src->crc))
        return KV_OK;
    return kv_seterr(KV_ECORRUPT, "%s%s: stored %llu bytes with crc32c %08x, sent %zu "
                                  "with crc32c %08x", s->b.name, src->name,
                     (unsigned long long)o->size, o->has_crc ? o->crc : 0, src->len, src->crc);
}

/* The metadata JSON of an upload: name, content type, crc32c. */
static char *upload_metadata(const gcs_src *src)
{
    char crc[16];
    json_t *m;
    char *text;
    kv_crc32c_base64(src->crc, crc);
    m = json_pack("{s:s, s:s, s:s}", "name", src->name, "contentType",
                  "application/octet-stream", "crc32c", crc);
    text = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    return text;
}

static int upload_url(const gcs_store *s, const char *type, int if_absent, kv_buf *url)
{
    return kv_buf_printf(url, "%s/upload/storage/v1/b/%s/o?uploadType=%s%s", s->api, s->b.bucket,
                         type, if_absent ? "&ifGenerationMatch=0" : "");
}

/* One request: multipart/related with the metadata, then the bytes. */
static int upload_single(gcs_store *s, const gcs_src *src, gcs_obj *out)
{
    kv_buf url = KV_BUF_INIT, body = KV_BUF_INIT;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char boundary[40], ctype[96];
    char *meta = upload_metadata(src);
    int rc = meta ? KV_OK : kv_oom();

    snprintf(boundary, sizeof boundary, "kvault-");
    if (rc == KV_OK)
        rc = kv_random_hex(boundary + 7, 32);
    snprintf(ctype, sizeof ctype, "multipart/related; boundary=%s", boundary);
    if (rc == KV_OK)
        rc = upload_url(s, "multipart", src->if_absent, &url);
    if (rc == KV_OK)
        rc = kv_buf_grow(&body, src->len + strlen(meta) + 256);
    if (rc == KV_OK)
        rc = kv_buf_printf(&body, "--%s\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
                                  "%s\r\n--%s\r\nContent-Type: application/octet-stream\r\n\r\n",
                           boundary, meta, boundary);
    if (rc == KV_OK)
        rc = kv_buf_put(&body, src->buf, src->len);
    if (rc == KV_OK)
        rc = kv_buf_printf(&body, "\r\n--%s--\r\n", boundary);
    if (rc == KV_OK) {
        const kv_http_header hs[] = {{.name = "Content-Type", .value = ctype}};
        kv_svc_req c = {.method = "POST", .url = url.data, .headers = hs, .nheaders = 1,
                        .body = body.data, .body_len = body.len, .object = src->name};
        rc = kv_svc_do(&s->svc, &c, &resp);
    }
    if (rc == KV_OK)
        rc = read_obj_reply(s, src->name, &resp, out);
    if (rc == KV_OK)
        rc = check_written(s, src, out);
    kv_http_resp_free(&resp);
    kv_buf_free(&url);
    kv_buf_free(&body);
    free(meta);
    return rc;
}

/* ---- resumable uploads -------------------------------------------------- */

static int initiate_session(gcs_store *s, const gcs_src *src, char **uri)
{
    kv_buf url = KV_BUF_INIT;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char total[32];
    char *meta = upload_metadata(src);
    const char *loc;
    int rc = meta ? KV_OK : kv_oom();
    snprintf(total, sizeof total, "%zu", src->len);
    if (rc == KV_OK)
        rc = upload_url(s, "resumable", src->if_absent, &url);
    if (rc == KV_OK) {
        const kv_http_header hs[] = {
            {.name = "Content-Type", .value = "application/json; charset=UTF-8"},
            {.name = "X-Upload-Content-Type", .value = "application/octet-stream"},
            {.name = "X-Upload-Content-Length", .value = total}};
        kv_svc_req c = {.method = "POST", .url = url.data, .headers = hs, .nheaders = 3,
                        .body = meta, .body_len = strlen(meta), .object = src->name};
        rc = kv_svc_do(&s->svc, &c, &resp);
    }
    loc = kv_http_resp_header(&resp, "Location");
    if (rc == KV_OK && (!loc || !*loc))
        rc = kv_seterr(KV_ETRANSIENT, "%s%s: the resumable upload was started without a "
                                      "Location", s->b.name, src->name);
    if (rc == KV_OK && !(*uri = strdup(loc)))
        rc = kv_oom();
    kv_http_resp_free(&resp);
    kv_buf_free(&url);
    free(meta);
    return rc;
}

/* Where a resumable session stands after a reply. */
typedef struct session_state {
    uint64_t next;         /* bytes the server holds */
    int done;              /* the object is complete (*out filled) */
    int gone;              /* the session expired: start a new one */
} session_state;

/* The bytes a session holds, from a 308's "Range: bytes=0-N" (none: 0). */
static uint64_t persisted(const kv_http_resp *resp)
{
    const char *r = kv_http_resp_header(resp, "Range");
    unsigned long long last;
    if (r && sscanf(r, "bytes=0-%llu", &last) == 1)
        return last + 1;
    return 0;
}

/* Reads a session's reply: 308 = more to send, 200/201 = the object is
 * complete. A session that is gone (404, 410) is transient: the next
 * attempt starts a new one. */
static int session_reply(gcs_store *s, const gcs_src *src, const kv_http_resp *resp,
                         session_state *ss, gcs_obj *out)
{
    if (resp->status == 308) {
        ss->next = persisted(resp);
        return KV_OK;
    }
    if (resp->status == 200 || resp->status == 201) {
        int rc = read_obj_reply(s, src->name, resp, out);
        ss->done = 1;
        return rc ? rc : check_written(s, src, out);
    }
    ss->gone = resp->status == 404 || resp->status == 410;
    if (ss->gone)
        return kv_seterr(KV_ETRANSIENT, "%s%s: the resumable upload session expired (HTTP "
                                        "%ld); starting a new one", s->b.name, src->name,
                         resp->status);
    return kv_svc_fail(&s->svc, src->name, resp);
}

/* Asks a session how much it holds: PUT with Content-Range: bytes *\/TOTAL. */
static int query_session(gcs_store *s, const gcs_src *src, const char *uri, session_state *ss,
                         gcs_obj *out)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char range[48];
    int rc;
    snprintf(range, sizeof range, "bytes */%zu", src->len);
    {
        const kv_http_header hs[] = {{.name = "Content-Range", .value = range}};
        kv_svc_req c = {.method = "PUT", .url = uri, .headers = hs, .nheaders = 1};
        rc = kv_svc_send(&s->svc, &c, &resp);
    }
    if (rc == KV_OK)
        rc = session_reply(s, src, &resp, ss, out);
    if (rc == KV_OK && !ss->done)
        kv_info("%s%s: resuming the upload at byte %llu of %zu", s->b.name, src->name,
                (unsigned long long)ss->next, src->len);
    kv_http_resp_free(&resp);
    return rc;
}

static int send_chunk(gcs_store *s, const gcs_src *src, const char *uri, session_state *ss,
                      gcs_obj *out)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    uint64_t from = ss->next;
    uint64_t end = from + s->chunk_size < src->len ? from + s->chunk_size : src->len;
    char range[80], total[24];
    int rc;
    if (end == src->len)
        snprintf(total, sizeof total, "%zu", src->len);
    else
        snprintf(total, sizeof total, "*");
    snprintf(range, sizeof range, "bytes %llu-%llu/%s", (unsigned long long)from,
             (unsigned long long)end - 1, total);
    {
        const kv_http_header hs[] = {{.name = "Content-Range", .value = range}};
        kv_svc_req c = {.method = "PUT", .url = uri, .headers = hs, .nheaders = 1,
                        .body = src->buf + from, .body_len = (size_t)(end - from)};
        rc = kv_svc_send(&s->svc, &c, &resp);
    }
    if (rc == KV_OK)
        rc = session_reply(s, src, &resp, ss, out);
    kv_http_resp_free(&resp);
    return rc;
}

/* Uploads src through the session *uri (started here when NULL; an open one
 * is asked what it holds first). On KV_ETRANSIENT *uri stays set for the
 * next attempt unless the session is gone; otherwise it is freed. */
static int upload_resumable(gcs_store *s, const gcs_src *src, char **uri, gcs_obj *out)
{
    session_state ss = {0, 0, 0};
    int rc;
    if (*uri)
        rc = query_session(s, src, *uri, &ss, out);
    else
        rc = initiate_session(s, src, uri);
    while (rc == KV_OK && !ss.done) {
        if (ss.next > src->len)
            rc = kv_seterr(KV_ECORRUPT, "%s%s: the server holds %llu bytes of %zu",
                           s->b.name, src->name, (unsigned long long)ss.next, src->len);
        else
            rc = send_chunk(s, src, *uri, &ss, out);
    }
    if (rc != KV_ETRANSIENT || ss.gone) {
        free(*uri);
        *uri = NULL;
    }
    return rc;
}

/* ---- objects ------------------------------------------------------------ */

/* The pending session of a put of the same key, length and CRC, taken out
 * of the list (NULL if none). */
static char *take_session(gcs_store *s, const char *key, size_t len, uint32_t crc)
{
    char *uri = NULL;
    pthread_mutex_lock(&s->lock);
    for (pending_session **p = &s->pending; *p; p = &(*p)->next) {
        pending_session *e = *p;
        if (e->len == len && e->crc == crc && strcmp(e->key, key) == 0) {
            uri = e->uri;
            *p = e->next;
            free(e->key);
            free(e);
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return uri;
}

static void keep_session(gcs_store *s, const char *key, size_t len, uint32_t crc, char *uri)
{
    pending_session *e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key))) {
        free(e);
        free(uri);
        return; /* the next attempt starts over */
    }
    e->len = len;
    e->crc = crc;
    e->uri = uri;
    pthread_mutex_lock(&s->lock);
    e->next = s->pending;
    s->pending = e;
    pthread_mutex_unlock(&s->lock);
}

static int gcs_put(kv_store *st, const char *key, const void *buf, size_t len,
                   const kv_digest *digest)
{
    gcs_store *s = (gcs_store *)st;
    char *k = kv_bucket_key(&s->b, key), *uri;
    gcs_obj obj;
    int rc;
    if (!k)
        return kv_oom();
    {
        gcs_src src = {.name = k, .buf = buf, .len = len,
                       .crc = digest ? digest->crc32c : kv_crc32c(0, buf, len)};
        if (len <= s->threshold) {
            rc = upload_single(s, &src, &obj);
        } else {
            uri = take_session(s, k, len, src.crc);
            rc = upload_resumable(s, &src, &uri, &obj);
            if (uri)
                keep_session(s, k, len, src.crc, uri);
        }
    }
    free(k);
    return rc;
}

/* The object's crc32c from x-goog-hash ("crc32c=...,md5=...", one header or
 * several). */
static int goog_hash_crc(const kv_http_resp *resp, uint32_t *crc)
{
    for (size_t i = 0; i < resp->nheaders; i++) {
        const char *v = resp->headers[i].value, *p;
        char b64[9];
        if (strcasecmp(resp->headers[i].name, "x-goog-hash") != 0 || !(p = strstr(v, "crc32c=")))
            continue;
        snprintf(b64, sizeof b64, "%s", p + 7);
        return kv_crc32c_from_base64(b64, crc);
    }
    return 0;
}

/* Whole-object replies are checked against the object's crc32c. */
static int check_whole(const gcs_store *s, const char *key, const kv_http_resp *resp,
                       const void *buf)
{
    uint32_t want;
    if (!goog_hash_crc(resp, &want) || kv_crc32c(0, buf, resp->received) == want)
        return KV_OK;
    return kv_seterr(KV_ECORRUPT, "%s%s: the bytes received do not match the object's "
                                  "crc32c (x-goog-hash)", s->b.name, key);
}

/* The object size a reply states: from Content-Range "a-b/SIZE", else the
 * stored length header. */
static int reply_object_size(const kv_http_resp *resp, uint64_t *size)
{
    const char *cr = kv_http_resp_header(resp, "Content-Range"), *slash;
    const char *len = kv_http_resp_header(resp, "x-goog-stored-content-length");
    if (cr && (slash = strchr(cr, '/')) && isdigit((unsigned char)slash[1])) {
        *size = strtoull(slash + 1, NULL, 10);
        return 1;
    }
    if (!len)
        len = kv_http_resp_header(resp, "Content-Length");
    if (len)
        *size = strtoull(len, NULL, 10);
    return len != NULL;
}

/* A 206 must start at off; one that covers the whole object is checked. */
static int check_partial(const gcs_store *s, const char *key, const kv_http_resp *resp,
                         uint64_t off, const void *buf)
{
    char what[1024];
    uint64_t size;
    int rc;
    kv_svc_object_name(&s->svc, key, what, sizeof what);
    if ((rc = kv_http_check_content_range(resp, off, what)) != KV_OK)
        return rc;
    if (off == 0 && reply_object_size(resp, &size) && size == resp->received)
        return check_whole(s, key, resp, buf);
    return KV_OK;
}

static int gcs_stat(kv_store *st, const char *key, kv_object_info *out);

static int gcs_get(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
                   size_t *got)
{
    gcs_store *s = (gcs_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_buf url = KV_BUF_INIT;
    char range[64], *k = NULL;
    uint64_t size;
    int rc;

    *got = 0;
    if (len == 0) {
        kv_object_info info; /* nothing to read, but a missing key is still an error */
        return gcs_stat(st, key, &info);
    }
    k = kv_bucket_key(&s->b, key);
    rc = k ? object_url(s, k, "?alt=media", &url) : kv_oom();
    if (rc)
        goto out;
    snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)off,
             (unsigned long long)(off + len - 1));
    {
        const kv_http_header hs[] = {{.name = "Range", .value = range}};
        kv_svc_req c = {.method = "GET", .url = url.data, .headers = hs, .nheaders = 1,
                        .dst = buf, .dst_cap = len};
        rc = kv_svc_send(&s->svc, &c, &resp);
    }
    /* At or past the end GCS answers 416; a server may instead ignore an
     * unsatisfiable range and send the whole object with 200 (HTTP allows
     * it; Google's emulator does): its length then says off is the end. */
    if ((rc == KV_OK && resp.status == 416) ||
        ((rc == KV_OK || rc == KV_ECORRUPT) && off > 0 && resp.status == 200 &&
         reply_object_size(&resp, &size) && size <= off)) {
        kv_errclear();
        rc = KV_OK;
        goto out;
    }
    if (rc == KV_OK && (resp.status < 200 || resp.status >= 300))
        rc = kv_svc_fail(&s->svc, k, &resp);
    else if (rc == KV_OK && resp.status == 206)
        rc = check_partial(s, k, &resp, off, buf);
    else if (rc == KV_OK && off != 0)
        rc = kv_seterr(KV_ECORRUPT, "%s%s: the server ignored the range %s (HTTP %ld)",
                       s->b.name, k, range, resp.status);
    else if (rc == KV_OK)
        rc = check_whole(s, k, &resp, buf);
    if (rc == KV_OK)
        *got = resp.received;
out:
    kv_http_resp_free(&resp);
    kv_buf_free(&url);
    free(k);
    return rc;
}

/* Object metadata by full name. */
static int get_obj(gcs_store *s, const char *name, gcs_obj *out)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_buf url = KV_BUF_INIT;
    int rc = object_url(s, name, NULL, &url);
    if (rc == KV_OK) {
        kv_svc_req c = {.method = "GET", .url = url.data, .object = name};
        rc = kv_svc_do(&s->svc, &c, &resp);
    }
    if (rc == KV_OK)
        rc = read_obj_reply(s, name, &resp, out);
    kv_http_resp_free(&resp);
    kv_buf_free(&url);
    return rc;
}

static void fill_info(const gcs_obj *o, kv_object_info *out)
{
    memset(out, 0, sizeof *out);
    out->size = o->size;
    out->mtime_unix = o->mtime_unix;
    if (*o->md5)
        snprintf(out->etag, sizeof out->etag, "%s", o->md5);
    else if (o->has_crc)
        kv_crc32c_hex(o->crc, out->etag);
}

static int gcs_stat(kv_store *st, const char *key, kv_object_info *out)
{
    gcs_store *s = (gcs_store *)st;
    char *k = kv_bucket_key(&s->b, key);
    gcs_obj o;
    int rc = k ? get_obj(s, k, &o) : kv_oom();
    if (rc == KV_OK)
        fill_info(&o, out);
    free(k);
    return rc;
}

/* Deletes an object by full name; a missing one is fine. */
static int delete_obj(gcs_store *s, const char *name)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_buf url = KV_BUF_INIT;
    int rc = object_url(s, name, NULL, &url);
    if (rc == KV_OK) {
        kv_svc_req c = {.method = "DELETE", .url = url.data, .object = name};
        rc = kv_svc_do(&s->svc, &c, &resp);
    }
    if (rc == KV_ENOTFOUND) {
        kv_errclear();
        rc = KV_OK;
    }
    kv_http_resp_free(&resp);
    kv_buf_free(&url);
    return rc;
}

static int gcs_remove(kv_store *st, const char *key)
{
    gcs_store *s = (gcs_store *)st;
    char *k = kv_bucket_key(&s->b, key);
    int rc = k ? delete_obj(s, k) : kv_oom();
    free(k);
    return rc;
}

/* ---- listing ------------------------------------------------------------ */

/* The length of the ".<tag>-[L<level>-]<nnnnn>.kvpart" that part_name and
 * temp_name end a part object's name with; 0 when name is not one. */
static size_t part_suffix(const char *name)
{
    size_t n = strlen(name), mark = strlen(PART_MARK), i;
    const char *dot = n > mark ? memrchr(name, '.', n - mark) : NULL, *rest;
    if (!dot || strcmp(name + n - mark, PART_MARK) != 0)
        return 0;
    for (i = 1; i <= 16 && isxdigit((unsigned char)dot[i]); i++)
        ;
    rest = dot + 18;
    if (i != 17 || dot[17] != '-')
        return 0;
    if (*rest == 'L') {
        rest += 1 + strspn(rest + 1, "0123456789");
        if (rest == dot + 19 || *rest++ != '-')
            return 0;
    }
    return strspn(rest, "0123456789") && rest + strspn(rest, "0123456789") == name + n - mark
               ? (size_t)(name + n - dot) : 0;
}

/* Each object of a listing: an ordinary one (list) or a part object
 * (garbage), by its store key and full name. */
typedef struct list_ctx {
    gcs_store *s;
    const char *prefix;   /* full prefix of object names */
    int parts;            /* part objects instead of the others */
    int (*found)(void *arg, const char *key, const char *name, const gcs_obj *o);
    void *arg;
} list_ctx;

static int list_items(const list_ctx *l, json_t *root, size_t *items)
{
    size_t i;
    json_t *item;
    int rc = KV_OK;
    json_array_foreach(json_object_get(root, "items"), i, item) {
        const char *name = json_string_value(json_object_get(item, "name")), *k;
        gcs_obj o;
        (*items)++;
        rc = kv_bucket_store_key(&l->s->b, name ? name : "", l->prefix, &k);
        if (rc)
            break;
        if ((part_suffix(name) != 0) != l->parts)
            continue;
        parse_obj(item, &o);
        rc = l->found(l->arg, k, name, &o);
        if (rc)
            break;
    }
    return rc;
}

static int list_url(const gcs_store *s, const char *prefix, const char *token, kv_buf *url)
{
    char *p = kv_url_encode(prefix, 0), *t = token ? kv_url_encode(token, 0) : NULL;
    int rc = p && (!token || t) ? object_url(s, NULL, NULL, url)
                                : kv_oom();
    if (rc == KV_OK)
        rc = kv_buf_printf(url, "?prefix=%s", p);
    if (rc == KV_OK && t)
        rc = kv_buf_printf(url, "&pageToken=%s", t);
    if (rc == KV_OK && s->max_results)
        rc = kv_buf_printf(url, "&maxResults=%d", s->max_results);
    free(p);
    free(t);
    return rc;
}

/* One page of objects.list; *next is its nextPageToken. */
static int list_page(void *ctx, const char *token, char **next, size_t *items)
{
    const list_ctx *l = ctx;
    gcs_store *s = l->s;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_buf url = KV_BUF_INIT;
    json_t *root = NULL;
    const char *nt;
    int rc = list_url(s, l->prefix, token, &url);
    if (rc == KV_OK) {
        kv_svc_req r = {.method = "GET", .url = url.data, .object = l->prefix};
        rc = kv_svc_do(&s->svc, &r, &resp);
    }
    if (rc == KV_OK) {
        root = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
        if (!json_is_object(root))
            rc = kv_seterr(KV_ETRANSIENT, "%s%s: the listing is not a JSON object", s->b.name,
                           l->prefix);
    }
    if (rc == KV_OK)
        rc = list_items(l, root, items);
    nt = json_string_value(json_object_get(root, "nextPageToken"));
    if (nt && *nt && !(*next = strdup(nt)))
        rc = kv_oom();
    json_decref(root);
    kv_buf_free(&url);
    kv_http_resp_free(&resp);
    return rc;
}

/* Every object under prefix (a store prefix): the ordinary ones, or the
 * part objects. */
static int each_object(gcs_store *s, const char *prefix, int parts,
                       int (*found)(void *, const char *, const char *, const gcs_obj *),
                       void *arg)
{
    list_ctx l = {.s = s, .prefix = kv_bucket_key(&s->b, prefix), .parts = parts,
                  .found = found, .arg = arg};
    int rc = l.prefix ? kv_bucket_pages(&s->b, l.prefix, list_page, &l) : kv_oom();
    free((char *)l.prefix);
    return rc;
}

typedef struct list_cb_arg {
    kv_list_cb cb;
    void *payload;
} list_cb_arg;

static int list_found(void *arg, const char *key, const char *name, const gcs_obj *o)
{
    const list_cb_arg *a = arg;
    kv_object_info info;
    (void)name;
    fill_info(o, &info);
    return a->cb(key, &info, a->payload);
}

static int gcs_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    list_cb_arg a = {.cb = cb, .payload = payload};
    return each_object((gcs_store *)st, prefix, 0, list_found, &a);
}

/* ---- multipart: part objects and compose ------------------------------------ */

static char *part_name(const kv_upload *up, uint32_t n)
{
    char *out = NULL;
    return asprintf(&out, "%s.%s-%05u" PART_MARK, up->key, up->tag, n) < 0 ? NULL : out;
}

static char *temp_name(const kv_upload *up, int level, size_t i)
{
    char *out = NULL;
    return asprintf(&out, "%s.%s-L%d-%05zu" PART_MARK, up->key, up->tag, level, i) < 0 ? NULL
                                                                                         : out;
}

static void cancel_session(gcs_store *s, const char *uri)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_svc_req c = {.method = "DELETE", .url = uri};
    if (kv_svc_send(&s->svc, &c, &resp) != KV_OK)
        kv_debug("gcs: cancelling a resumable session failed: %s", kv_errmsg());
    kv_http_resp_free(&resp);
}

static void upload_free(kv_upload *up)
{
    if (!up)
        return;
    for (uint32_t i = 0; up->parts && i < up->nparts; i++)
        free(up->parts[i].session);
    for (size_t i = 0; i < up->ntemps; i++)
        free(up->temps[i]);
    free(up->temps);
    free(up->parts);
    free(up->key);
    free(up);
}

static int gcs_upload_begin(kv_store *st, const char *key, uint64_t total_size,
                            uint64_t part_size, kv_upload **out)
{
    gcs_store *s = (gcs_store *)st;
    kv_upload *up;
    uint64_t n = part_size ? (total_size + part_size - 1) / part_size : 1;

    *out = NULL;
    if (part_size > GCS_MAX_PART || n > GCS_MAX_PARTS)
        return kv_seterr(KV_EINVAL, "%s%s: %llu bytes in parts of %llu exceed %d parts "
                                    "of at most 5 GiB (GCS composes at most 1024 components)",
                         s->b.name, key, (unsigned long long)total_size,
                         (unsigned long long)part_size, GCS_MAX_PARTS);
    up = calloc(1, sizeof *up);
    if (!up)
        return kv_oom();
    up->s = s;
    up->nparts = n ? (uint32_t)n : 1;
    up->key = kv_bucket_key(&s->b, key);
    up->parts = calloc(up->nparts, sizeof *up->parts);
    if (!up->key || !up->parts) {
        upload_free(up);
        return kv_oom();
    }
    if (kv_random_hex(up->tag, 16) != KV_OK) {
        upload_free(up);
        return KV_ERR;
    }
    *out = up;
    return KV_OK;
}

/* After a write whose reply was lost, the retry's ifGenerationMatch=0 fails:
 * the part is fine if the object there is exactly what is being sent. */
static int part_already_there(gcs_store *s, const gcs_src *src, gcs_obj *out)
{
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", kv_errmsg());
    if (get_obj(s, src->name, out) == KV_OK && out->size == src->len && out->has_crc &&
        out->crc == src->crc)
        return KV_OK;
    return kv_errset_msg(KV_EEXIST, saved);
}

static int gcs_upload_part(kv_upload *up, uint32_t n, uint64_t off, const void *buf, size_t len,
                           const kv_digest *digest)
{
    gcs_store *s = up->s;
    gcs_part *p;
    gcs_obj obj;
    char *name;
    int rc = kv_bucket_check_part(&s->b, up->key, n, up->nparts);
    (void)off;

    if (rc)
        return rc;
    p = &up->parts[n - 1];
    name = part_name(up, n);
    if (!name)
        return kv_oom();
    p->attempted = 1;
    {
        gcs_src src = {.name = name, .buf = buf, .len = len,
                       .crc = digest ? digest->crc32c : kv_crc32c(0, buf, len), .if_absent = 1};
        if (p->session && (p->len != len || p->crc != src.crc)) {
            free(p->session); /* other bytes than the session was for */
            p->session = NULL;
        }
        p->len = len;
        p->crc = src.crc;
        if (len <= s->threshold && !p->session)
            rc = upload_single(s, &src, &obj);
        else
            rc = upload_resumable(s, &src, &p->session, &obj);
        if (rc == KV_EEXIST)
            rc = part_already_there(s, &src, &obj);
    }
    if (rc == KV_OK) {
        p->stored = 1;
        p->generation = obj.generation;
    }
    free(name);
    return rc;
}

/* Composes sources (names, generations) into dest; *out is the result. */
static int compose(gcs_store *s, const char *dest, char *const *names, const long long *gens,
                   size_t n, gcs_obj *out)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_buf url = KV_BUF_INIT;
    json_t *body = json_pack("{s:[], s:{s:s}}", "sourceObjects", "destination", "contentType",
                             "application/octet-stream");
    json_t *srcs = json_object_get(body, "sourceObjects");
    char *text = NULL;
    int rc = body ? KV_OK : kv_oom();
    for (size_t i = 0; rc == KV_OK && i < n; i++) {
        json_t *src = json_pack("{s:s}", "name", names[i]);
        if (!src || (gens[i] && json_object_set_new(src, "generation", json_integer(gens[i]))) ||
            json_array_append_new(srcs, src))
            rc = kv_oom();
    }
    if (rc == KV_OK && !(text = json_dumps(body, JSON_COMPACT)))
        rc = kv_oom();
    if (rc == KV_OK)
        rc = object_url(s, dest, "/compose", &url);
    if (rc == KV_OK) {
        const kv_http_header hs[] = {{.name = "Content-Type", .value = "application/json; charset=UTF-8"}};
        kv_svc_req c = {.method = "POST", .url = url.data, .headers = hs, .nheaders = 1,
                        .body = text, .body_len = strlen(text), .object = dest};
        rc = kv_svc_do(&s->svc, &c, &resp);
    }
    if (rc == KV_OK)
        rc = read_obj_reply(s, dest, &resp, out);
    kv_http_resp_free(&resp);
    kv_buf_free(&url);
    free(text);
    json_decref(body);
    return rc;
}

static int add_temp(kv_upload *up, char *name)
{
    char **t = realloc(up->temps, (up->ntemps + 1) * sizeof *t);
    if (!t) {
        free(name);
        return kv_oom();
    }
    up->temps = t;
    up->temps[up->ntemps++] = name;
    return KV_OK;
}

/* One level of the tree: sources in groups of 32 composed into temporary
 * objects, which replace them in names/gens (*n shrinks). */
static int compose_level(kv_upload *up, int level, char **names, long long *gens, size_t *n)
{
    size_t groups = (*n + GCS_COMPOSE_MAX - 1) / GCS_COMPOSE_MAX;
    int rc = KV_OK;
    for (size_t g = 0; g < groups && rc == KV_OK; g++) {
        size_t from = g * GCS_COMPOSE_MAX, count = *n - from < GCS_COMPOSE_MAX ? *n - from
                                                                               : GCS_COMPOSE_MAX;
        char *t = temp_name(up, level, g);
        gcs_obj o;
        rc = t ? add_temp(up, t) : kv_oom();
        if (rc == KV_OK)
            rc = compose(up->s, t, names + from, gens + from, count, &o);
        if (rc == KV_OK) {
            names[g] = t; /* owned by up->temps */
            gens[g] = o.generation;
        }
    }
    *n = groups;
    return rc;
}

/* Composes every part into the key, through a tree when there are more than
 * 32, and checks the result's crc32c against the parts'. */
static int compose_all(kv_upload *up)
{
    gcs_store *s = up->s;
    char **names = calloc(up->nparts, sizeof *names), **owned = calloc(up->nparts, sizeof *owned);
    long long *gens = calloc(up->nparts, sizeof *gens);
    uint64_t total = 0;
    uint32_t crc = 0;
    size_t n = up->nparts;
    gcs_obj o;
    int rc = names && owned && gens ? KV_OK : kv_oom();

    for (uint32_t i = 0; rc == KV_OK && i < up->nparts; i++) {
        if (!up->parts[i].stored) {
            rc = kv_bucket_missing_part(&s->b, up->key, i + 1);
            break;
        }
        names[i] = owned[i] = part_name(up, i + 1);
        gens[i] = up->parts[i].generation;
        crc = kv_crc32c_combine(crc, up->parts[i].crc, up->parts[i].len);
        total += up->parts[i].len;
        if (!names[i])
            rc = kv_oom();
    }
    for (int level = 1; rc == KV_OK && n > GCS_COMPOSE_MAX; level++)
        rc = compose_level(up, level, names, gens, &n);
    if (rc == KV_OK)
        rc = compose(s, up->key, names, gens, n, &o);
    if (rc == KV_OK && (o.size != total || (o.has_crc && o.crc != crc)))
        rc = kv_seterr(KV_ECORRUPT, "%s%s: the composed object has %llu bytes with crc32c "
                                    "%08x, the parts %llu with %08x", s->b.name, up->key,
                       (unsigned long long)o.size, o.crc, (unsigned long long)total, crc);
    for (uint32_t i = 0; owned && i < up->nparts; i++)
        free(owned[i]);
    free(owned);
    free(names);
    free(gens);
    return rc;
}

/* Deletes the parts and temporary objects still there. */
static int delete_parts(kv_upload *up)
{
    int rc = KV_OK;
    for (uint32_t i = 0; rc == KV_OK && i < up->nparts; i++) {
        gcs_part *p = &up->parts[i];
        char *name;
        if (p->session) {
            cancel_session(up->s, p->session);
            free(p->session);
            p->session = NULL;
        }
        if (!p->attempted)
            continue;
        name = part_name(up, i + 1);
        rc = name ? delete_obj(up->s, name) : kv_oom();
        if (rc == KV_OK)
            p->attempted = 0;
        free(name);
    }
    while (rc == KV_OK && up->ntemps) {
        rc = delete_obj(up->s, up->temps[up->ntemps - 1]);
        if (rc == KV_OK)
            free(up->temps[--up->ntemps]);
    }
    return rc;
}

static int gcs_upload_complete(kv_upload *up)
{
    int rc = up->composed ? KV_OK : compose_all(up);
    if (rc == KV_OK) {
        up->composed = 1;
        rc = delete_parts(up);
    }
    if (rc == KV_OK)
        upload_free(up);
    return rc;
}

static void gcs_upload_abort(kv_upload *up)
{
    if (!up)
        return;
    if (delete_parts(up) != KV_OK)
        kv_info("%s%s: could not delete every part of the aborted upload (objects "
                "'%s.%s-*.kvpart' may remain): %s", up->s->b.name, up->key, up->key, up->tag,
                kv_errmsg());
    upload_free(up);
}

/* ---- garbage: part objects of uploads never completed -------------------------- */

typedef struct gcs_garbage {
    gcs_store *s;
    kv_garbage_args args;
    const char *name;     /* the part object being taken */
} gcs_garbage;

static int drop_part(void *ctx)
{
    const gcs_garbage *g = ctx;
    return delete_obj(g->s, g->name);
}

static int collect_part(void *arg, const char *key, const char *name, const gcs_obj *o)
{
    gcs_garbage *g = arg;
    char *target = strndup(key, strlen(key) - part_suffix(name));
    kv_garbage_item item = {.key = target, .name = key, .kind = "part object",
                            .size = o->size, .mtime_unix = o->mtime_unix};
    int rc = target ? KV_OK : kv_oom();
    g->name = name;
    if (rc == KV_OK)
        rc = kv_garbage_take(&g->args, &item, drop_part, g);
    free(target);
    return rc;
}

static int gcs_garbage_collect(kv_store *st, const char *prefix, int64_t older_than_unix,
                               int dry_run, kv_garbage_cb cb, void *payload)
{
    gcs_garbage g = {.s = (gcs_store *)st,
                     .args = {.older_than = older_than_unix, .dry_run = dry_run, .cb = cb,
                              .payload = payload}};
    return each_object(g.s, prefix, 1, collect_part, &g);
}

/* ---- configuration ------------------------------------------------------ */

/* The API base URL: STORAGE_EMULATOR_HOST, the endpoint option,
 * KVAULT_GCS_ENDPOINT, Google's. */
static int load_endpoint(gcs_store *s, const kv_store_opts *o)
{
    const char *emu = kv_opt_str(o, "STORAGE_EMULATOR_HOST");
    const char *ep = o->endpoint ? o->endpoint : kv_opt_str(o, "KVAULT_GCS_ENDPOINT");
    size_t n;
    if (emu) {
        if (asprintf(&s->api, "%s%s", strstr(emu, "://") ? "" : "http://", emu) < 0)
            s->api = NULL;
    } else {
        s->api = strdup(ep ? ep : DEFAULT_API);
    }
    if (!s->api)
        return kv_oom();
    if (strncmp(s->api, "http://", 7) != 0 && strncmp(s->api, "https://", 8) != 0)
        return kv_seterr(KV_EINVAL, "GCS endpoint '%s' must start with http:// or https://",
                         s->api);
    for (n = strlen(s->api); n && s->api[n - 1] == '/'; n--)
        s->api[n - 1] = '\0';
    return KV_OK;
}

static void load_sizes(gcs_store *s, const kv_store_opts *o)
{
    long long chunk = kv_setting_size(o, "KVAULT_GCS_CHUNK_SIZE", (long long)DEFAULT_CHUNK);
    chunk = chunk / (long long)GCS_CHUNK_UNIT * (long long)GCS_CHUNK_UNIT;
    s->chunk_size = chunk > 0 ? (uint64_t)chunk : GCS_CHUNK_UNIT;
    s->threshold = (uint64_t)kv_setting_size(o, "KVAULT_GCS_RESUMABLE_THRESHOLD",
                                         (long long)DEFAULT_THRESHOLD);
    s->max_results = (int)kv_setting_size(o, "KVAULT_GCS_MAX_RESULTS", 0);
}

/* ---- open / close ------------------------------------------------------- */

static int valid_bucket(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 222)
        return 0;
    for (; *b; b++)
        if (!islower((unsigned char)*b) && !isdigit((unsigned char)*b) && *b != '-' &&
            *b != '.' && *b != '_')
            return 0;
    return 1;
}

static void gcs_close(kv_store *st)
{
    gcs_store *s = (gcs_store *)st;
    if (!s)
        return;
    while (s->pending) {
        pending_session *e = s->pending;
        s->pending = e->next;
        free(e->key);
        free(e->uri);
        free(e);
    }
    kv_http_free(s->svc.http);
    pthread_mutex_destroy(&s->lock);
    kv_bucket_free(&s->b);
    kv_google_auth_free(s->auth);
    free(s->api);
    free(s);
}

static int gcs_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    gcs_store *s;
    char what[300];
    int rc;

    *out = NULL;
    if (!valid_bucket(url->host) || url->port)
        return kv_seterr(KV_EINVAL, "gs://%s: not a valid bucket name", url->host);
    s = calloc(1, sizeof *s);
    if (!s)
        return kv_oom();
    pthread_mutex_init(&s->lock, NULL);
    snprintf(what, sizeof what, "gs://%s", url->host);
    rc = kv_bucket_open(&s->b, url, opts, NULL, &s->svc.http);
    if (rc == KV_OK)
        rc = load_endpoint(s, opts);
    if (rc == KV_OK)
        rc = kv_google_auth_new(opts, what, &s->auth);
    if (rc) {
        gcs_close(&s->base);
        return rc;
    }
    load_sizes(s, opts);
    s->svc = (kv_service){.http = s->svc.http, .name = s->b.name, .bucket = s->b.bucket,
                          .parse_error = kv_google_parse_error, .rules = gcs_rules};
    kv_google_auth_use(s->auth, &s->svc);
    kv_debug("gcs: bucket %s at %s, auth %s, chunks of %llu, resumable above %llu", s->b.bucket,
             s->api, kv_google_auth_kind(s->auth), (unsigned long long)s->chunk_size,
             (unsigned long long)s->threshold);
    *out = &s->base;
    return KV_OK;
}

const kv_store_ops kv_gcs_ops = {
    .version = KV_STORE_OPS_VERSION,
    .scheme = "gs",
    .caps = KV_CAP_MULTIPART | KV_CAP_RANGE_GET,
    .min_part = GCS_CHUNK_UNIT,
    .max_part = GCS_MAX_PART,
    .max_parts = GCS_MAX_PARTS,
    .open = gcs_open,
    .put = gcs_put,
    .get = gcs_get,
    .stat = gcs_stat,
    .list = gcs_list,
    .remove = gcs_remove,
    .upload_begin = gcs_upload_begin,
    .upload_part = gcs_upload_part,
    .upload_complete = gcs_upload_complete,
    .upload_abort = gcs_upload_abort,
    .sync = NULL,
    .close = gcs_close,
    .garbage = gcs_garbage_collect,
};
