/*
 * Google Cloud Storage (gs://bucket/prefix) over the JSON API
 * (storage/v1 and upload/storage/v1).
 *
 * Where requests go: STORAGE_EMULATOR_HOST ("host:port" or a URL; no
 * authentication, as Google's client libraries do), else KVAULT_GCS_ENDPOINT
 * (an API base URL such as http://127.0.0.1:4443, with authentication), else
 * https://storage.googleapis.com.
 *
 * Credentials, first found wins (Google's libraries' order, with an explicit
 * token first): KVAULT_GCS_TOKEN or GOOGLE_OAUTH_ACCESS_TOKEN (a bearer token,
 * used as is); GOOGLE_APPLICATION_CREDENTIALS naming a service-account JSON
 * key (client_email, private_key, private_key_id, token_uri): an RS256 JWT
 * assertion is exchanged at token_uri for an access token; else the GCE
 * metadata server (GCE_METADATA_HOST overrides metadata.google.internal).
 * Access tokens are cached for the store (one mutex) and refreshed 5 minutes
 * before they expire (half their lifetime when that is shorter). Tokens and
 * keys never appear in messages or logs.
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
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/http.h"
#include "store/store.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/random.h"
#include "util/secret.h"
#include "util/time.h"

#define KIB 1024ull
#define MIB (1024ull * 1024ull)
#define GCS_CHUNK_UNIT (256 * KIB)
#define GCS_MAX_PART (5 * 1024 * MIB)
#define GCS_MAX_PARTS 1024
#define GCS_COMPOSE_MAX 32
#define DEFAULT_CHUNK (8 * MIB)
#define DEFAULT_THRESHOLD (8 * MIB)
#define REFRESH_MARGIN_S 300
#define DEFAULT_API "https://storage.googleapis.com"
#define DEFAULT_METADATA_HOST "metadata.google.internal"
#define SCOPE "https://www.googleapis.com/auth/devstorage.read_write"
#define JWT_GRANT "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
#define MAX_HEADERS 8

enum auth_kind { AUTH_NONE, AUTH_STATIC, AUTH_SERVICE_ACCOUNT, AUTH_METADATA };

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
    kv_http *http;
    char *bucket;
    char *root;            /* key prefix of the store, no slashes at the ends */
    char *api;             /* API base URL, no trailing slash */
    uint64_t chunk_size;
    uint64_t threshold;    /* larger puts go resumable */
    int max_results;       /* 0 = the server's page size */

    enum auth_kind auth;
    char *static_token;
    char *sa_email;        /* service account */
    char *sa_key_id;
    char *token_uri;
    EVP_PKEY *sa_key;
    char *metadata_url;
    pthread_mutex_t lock;  /* guards the token cache and the pending sessions */
    char *token;           /* cached access token */
    time_t token_refresh;  /* fetch a new one from this time on */
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

/* One request: the parts that differ from call to call. */
typedef struct gcs_call {
    const char *method;
    const char *url;
    const kv_http_header *headers;   /* extra headers */
    size_t nheaders;
    const void *body;
    size_t body_len;
    void *dst;
    size_t dst_cap;
} gcs_call;

/* An object to store: its name in the bucket, bytes and CRC32C. */
typedef struct gcs_src {
    const char *name;
    const unsigned char *buf;
    size_t len;
    uint32_t crc;
    int if_absent;                   /* ifGenerationMatch=0 */
} gcs_src;

/* ---- small helpers ------------------------------------------------------ */

static long long setting_num(const kv_store_opts *o, const char *name, long long fallback)
{
    const char *v = kv_opt_str(o, name);
    char *end;
    long long n;
    if (!v)
        return fallback;
    n = strtoll(v, &end, 10);
    if (*end == 'K' || *end == 'k')
        n *= (long long)KIB, end++;
    else if (*end == 'M' || *end == 'm')
        n *= (long long)MIB, end++;
    else if (*end == 'G' || *end == 'g')
        n *= (long long)(1024 * MIB), end++;
    return *end || n <= 0 ? fallback : n;
}

static char *full_key(const gcs_store *s, const char *key)
{
    char *out = NULL;
    if (asprintf(&out, "%s%s%s", s->root, *s->root ? "/" : "", key) < 0)
        return NULL;
    return out;
}

static void object_name(const gcs_store *s, const char *key, char *out, size_t n)
{
    snprintf(out, n, "gs://%s/%s", s->bucket, key ? key : "");
}

/* A JSON number or a decimal string (the API sends int64 as strings). */
static long long json_int64(json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

static void parse_obj(json_t *o, gcs_obj *out)
{
    const char *md5 = json_string_value(json_object_get(o, "md5Hash"));
    memset(out, 0, sizeof *out);
    out->size = (uint64_t)json_int64(json_object_get(o, "size"));
    out->generation = json_int64(json_object_get(o, "generation"));
    out->mtime_unix = kv_time_parse_rfc3339(json_string_value(json_object_get(o, "updated")));
    out->has_crc = kv_crc32c_from_base64(json_string_value(json_object_get(o, "crc32c")), &out->crc);
    snprintf(out->md5, sizeof out->md5, "%s", md5 ? md5 : "");
}

/* ---- errors ------------------------------------------------------------- */

static const char *reason_from_status(long http)
{
    switch (http) {
    case 400: return "badRequest";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "notFound";
    case 412: return "conditionNotMet";
    case 429: return "rateLimitExceeded";
    case 501: return "notImplemented";
    case 503: return "backendError";
    default: return "httpError";
    }
}

static int mentions_digest(const char *msg)
{
    return strcasestr(msg, "crc32c") || strcasestr(msg, "md5");
}

/* store.h's mapping for a Google error reply. */
static int status_code_for(long http, const char *reason, const char *msg)
{
    if (strcmp(reason, "rateLimitExceeded") == 0 || strcmp(reason, "backendError") == 0 ||
        strcmp(reason, "internalError") == 0 || strcmp(reason, "userRateLimitExceeded") == 0)
        return KV_ETRANSIENT;
    switch (http) {
    case 410:
        return KV_ENOTFOUND;
    case 400:
        return mentions_digest(msg) ? KV_ECORRUPT : KV_EINVAL;
    case 501:
        return KV_EUNSUPPORTED;
    default:
        return kv_http_status_code(http);
    }
}

static const char *hint_for(long http, const char *reason, const char *msg)
{
    if (http == 401 || strcmp(reason, "invalid_grant") == 0)
        return "; check GOOGLE_APPLICATION_CREDENTIALS (or the token given) and the system clock";
    if (http == 403)
        return "; the account lacks storage permissions on this bucket (it needs e.g. "
               "roles/storage.objectAdmin)";
    if (http == 501)
        return "; the server does not implement this request (Google's emulator has no compose)";
    if (http == 400 && mentions_digest(msg))
        return "; the bytes were damaged on the way";
    return "";
}

/* Reads Google's {error:{code,message,errors:[{reason}]}} (or an OAuth
 * {error, error_description}) into reason and msg. */
static void parse_error(const kv_http_resp *resp, char *reason, size_t rn, char *msg, size_t mn)
{
    json_t *root = resp->body.len ? json_loadb(resp->body.data, resp->body.len, 0, NULL) : NULL;
    json_t *e = json_object_get(root, "error");
    const char *r = NULL, *m = NULL;
    if (json_is_object(e)) {
        r = json_string_value(json_object_get(json_array_get(json_object_get(e, "errors"), 0),
                                              "reason"));
        m = json_string_value(json_object_get(e, "message"));
    } else if (json_is_string(e)) {
        r = json_string_value(e);
        m = json_string_value(json_object_get(root, "error_description"));
    }
    snprintf(reason, rn, "%s", r ? r : reason_from_status(resp->status));
    snprintf(msg, mn, "%s", m ? m : "");
    json_decref(root);
}

/* Sets the thread's message from an error reply and returns its status:
 * "gs://bucket/key: reason: message (HTTP nnn)[; hint]". */
static int gcs_fail(const gcs_store *s, const char *key, const kv_http_resp *resp)
{
    char what[1024], reason[128], msg[512];
    parse_error(resp, reason, sizeof reason, msg, sizeof msg);
    object_name(s, key, what, sizeof what);
    return kv_seterr(status_code_for(resp->status, reason, msg), "%s: %s%s%s (HTTP %ld)%s", what,
                     reason, *msg ? ": " : "", msg, resp->status,
                     hint_for(resp->status, reason, msg));
}

/* ---- access tokens ------------------------------------------------------ */

static int sign_rs256(EVP_PKEY *key, const char *data, size_t n, kv_buf *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t siglen = 0;
    int rc = KV_OK;
    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)data, n) != 1 ||
        !(sig = malloc(siglen)) ||
        EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data, n) != 1)
        rc = kv_seterr(KV_EAUTH, "cannot sign the token request with the service account's "
                                 "private key (OpenSSL)");
    if (rc == KV_OK)
        rc = kv_base64url_append(out, sig, siglen);
    free(sig);
    EVP_MD_CTX_free(ctx);
    return rc;
}

static int base64url_json(json_t *j, kv_buf *out)
{
    char *text = json_dumps(j, JSON_COMPACT);
    int rc = text ? kv_base64url_append(out, text, strlen(text)) : kv_oom();
    free(text);
    return rc;
}

/* Appends the signed JWT assertion of the service account
 * (header.claims.signature) to out. */
static int make_assertion(const gcs_store *s, kv_buf *out)
{
    size_t start = out->len, signed_len;
    time_t now = time(NULL);
    json_t *hdr = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", s->sa_email, "scope", SCOPE,
                               "aud", s->token_uri, "iat", (json_int_t)now,
                               "exp", (json_int_t)now + 3600);
    int rc = hdr && claims ? KV_OK : kv_oom();
    if (rc == KV_OK && s->sa_key_id && json_object_set_new(hdr, "kid", json_string(s->sa_key_id)))
        rc = kv_oom();
    if (rc == KV_OK)
        rc = base64url_json(hdr, out);
    if (rc == KV_OK)
        rc = kv_buf_puts(out, ".");
    if (rc == KV_OK)
        rc = base64url_json(claims, out);
    signed_len = out->len;
    if (rc == KV_OK)
        rc = kv_buf_puts(out, ".");
    if (rc == KV_OK)
        rc = sign_rs256(s->sa_key, out->data + start, signed_len - start, out);
    json_decref(hdr);
    json_decref(claims);
    return rc;
}

/* Reads {access_token, expires_in} from a token endpoint's reply. */
static int read_token_reply(gcs_store *s, const char *from, const kv_http_resp *resp)
{
    json_t *root = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);
    const char *tok = json_string_value(json_object_get(root, "access_token"));
    long long ttl = json_int64(json_object_get(root, "expires_in"));
    long long margin;
    int rc = KV_OK;
    if (!tok || !*tok) {
        rc = kv_seterr(KV_EAUTH, "gs://%s: the token endpoint %s returned no access_token",
                       s->bucket, from);
        goto out;
    }
    if (ttl <= 0)
        ttl = 3600;
    margin = ttl / 2 < REFRESH_MARGIN_S ? ttl / 2 : REFRESH_MARGIN_S;
    kv_secret_free(s->token);
    s->token = strdup(tok);
    s->token_refresh = time(NULL) + (time_t)(ttl - margin);
    if (!s->token)
        rc = kv_oom();
    else
        kv_debug("gs://%s: new access token from %s, valid %lld s", s->bucket, from, ttl);
out:
    json_decref(root);
    return rc;
}

/* A token endpoint's error reply: KV_EAUTH with a hint, or transient. */
static int token_fail(const gcs_store *s, const char *from, const kv_http_resp *resp)
{
    char reason[128], msg[512];
    int code;
    parse_error(resp, reason, sizeof reason, msg, sizeof msg);
    code = status_code_for(resp->status, reason, msg);
    if (code != KV_ETRANSIENT)
        code = KV_EAUTH;
    return kv_seterr(code, "gs://%s: cannot get an access token from %s: %s%s%s (HTTP %ld)%s",
                     s->bucket, from, reason, *msg ? ": " : "", msg, resp->status,
                     code == KV_EAUTH ? "; check GOOGLE_APPLICATION_CREDENTIALS and the system "
                                        "clock" : "");
}

static int fetch_service_account_token(gcs_store *s)
{
    kv_buf form = KV_BUF_INIT;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    const kv_http_header hs[] = {{"Content-Type", "application/x-www-form-urlencoded"}};
    int rc = kv_buf_puts(&form, "grant_type=" JWT_GRANT "&assertion=");
    if (rc == KV_OK)
        rc = make_assertion(s, &form);
    if (rc == KV_OK) {
        kv_http_req req = {"POST", s->token_uri, hs, 1, form.data, form.len, NULL, 0, 0, 0};
        rc = kv_http_do(s->http, &req, &resp);
    }
    if (rc == KV_OK && resp.status != 200)
        rc = token_fail(s, s->token_uri, &resp);
    if (rc == KV_OK)
        rc = read_token_reply(s, s->token_uri, &resp);
    if (form.data)
        OPENSSL_cleanse(form.data, form.len);
    kv_buf_free(&form);
    if (resp.body.data)
        OPENSSL_cleanse(resp.body.data, resp.body.len);
    kv_http_resp_free(&resp);
    return rc;
}

static int fetch_metadata_token(gcs_store *s)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    const kv_http_header hs[] = {{"Metadata-Flavor", "Google"}};
    kv_http_req req = {"GET", s->metadata_url, hs, 1, NULL, 0, NULL, 0, 0, 0};
    char why[512];
    int rc = kv_http_do(s->http, &req, &resp);
    if (rc) {
        snprintf(why, sizeof why, "%s", kv_errmsg());
        rc = kv_seterr(KV_EAUTH, "gs://%s: no Google credentials: set "
                                 "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or "
                                 "KVAULT_GCS_TOKEN to an access token; the GCE metadata server "
                                 "is not reachable (%s)", s->bucket, why);
    }
    else if (resp.status != 200)
        rc = token_fail(s, "the GCE metadata server", &resp);
    else
        rc = read_token_reply(s, "the GCE metadata server", &resp);
    if (resp.body.data)
        OPENSSL_cleanse(resp.body.data, resp.body.len);
    kv_http_resp_free(&resp);
    return rc;
}

/* A copy of a valid access token (free with free_secret), or NULL for no
 * authentication. */
static int get_token(gcs_store *s, char **out)
{
    int rc = KV_OK;
    *out = NULL;
    if (s->auth == AUTH_NONE)
        return KV_OK;
    if (s->auth == AUTH_STATIC) {
        *out = strdup(s->static_token);
        return *out ? KV_OK : kv_oom();
    }
    pthread_mutex_lock(&s->lock);
    if (!s->token || time(NULL) >= s->token_refresh)
        rc = s->auth == AUTH_SERVICE_ACCOUNT ? fetch_service_account_token(s)
                                             : fetch_metadata_token(s);
    if (rc == KV_OK && !(*out = strdup(s->token)))
        rc = kv_oom();
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* After a 401 the cached token is not used again. */
static void drop_token(gcs_store *s, const char *used)
{
    pthread_mutex_lock(&s->lock);
    if (s->token && used && strcmp(s->token, used) == 0)
        s->token_refresh = 0;
    pthread_mutex_unlock(&s->lock);
}

/* ---- requests ----------------------------------------------------------- */

/* Sends one call with the Authorization header; KV_OK when a reply (of any
 * status) arrived. */
static int gcs_send(gcs_store *s, const gcs_call *c, kv_http_resp *resp)
{
    kv_http_header hs[MAX_HEADERS + 1];
    char *token = NULL, *auth = NULL;
    size_t n = 0;
    int rc;
    if (c->nheaders > MAX_HEADERS)
        return kv_seterr(KV_EINVAL, "gcs: too many request headers");
    rc = get_token(s, &token);
    if (rc)
        return rc;
    if (token && asprintf(&auth, "Bearer %s", token) < 0) {
        kv_secret_free(token);
        return kv_oom();
    }
    if (auth)
        hs[n++] = (kv_http_header){"Authorization", auth};
    for (size_t i = 0; i < c->nheaders; i++)
        hs[n++] = c->headers[i];
    {
        kv_http_req req = {c->method, c->url, hs, n, c->body, c->body_len, c->dst, c->dst_cap,
                           0, 0};
        rc = kv_http_do(s->http, &req, resp);
    }
    if (rc == KV_OK && resp->status == 401)
        drop_token(s, token);
    kv_secret_free(auth);
    kv_secret_free(token);
    return rc;
}

/* Sends a call and maps a non-2xx reply to an error about key. */
static int gcs_do(gcs_store *s, const gcs_call *c, const char *key, kv_http_resp *resp)
{
    int rc = gcs_send(s, c, resp);
    if (rc == KV_OK && (resp->status < 200 || resp->status >= 300))
        rc = gcs_fail(s, key, resp);
    return rc;
}

/* "{api}/storage/v1/b/{bucket}/o[/{name}][{suffix}]" */
static int object_url(const gcs_store *s, const char *name, const char *suffix, kv_buf *url)
{
    char *enc = name ? kv_url_encode(name, 0) : NULL;
    int rc;
    if (name && !enc)
        return kv_oom();
    rc = kv_buf_printf(url, "%s/storage/v1/b/%s/o%s%s%s", s->api, s->bucket, enc ? "/" : "",
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
        rc = kv_seterr(KV_ETRANSIENT, "gs://%s/%s: the server's reply is not a JSON object "
                                      "(HTTP %ld)", s->bucket, key, resp->status);
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
    return kv_seterr(KV_ECORRUPT, "gs://%s/%s: stored %llu bytes with crc32c %08x, sent %zu "
                                  "with crc32c %08x", s->bucket, src->name,
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
    return kv_buf_printf(url, "%s/upload/storage/v1/b/%s/o?uploadType=%s%s", s->api, s->bucket,
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
        const kv_http_header hs[] = {{"Content-Type", ctype}};
        gcs_call c = {"POST", url.data, hs, 1, body.data, body.len, NULL, 0};
        rc = gcs_do(s, &c, src->name, &resp);
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
        const kv_http_header hs[] = {{"Content-Type", "application/json; charset=UTF-8"},
                                     {"X-Upload-Content-Type", "application/octet-stream"},
                                     {"X-Upload-Content-Length", total}};
        gcs_call c = {"POST", url.data, hs, 3, meta, strlen(meta), NULL, 0};
        rc = gcs_do(s, &c, src->name, &resp);
    }
    loc = kv_http_resp_header(&resp, "Location");
    if (rc == KV_OK && (!loc || !*loc))
        rc = kv_seterr(KV_ETRANSIENT, "gs://%s/%s: the resumable upload was started without a "
                                      "Location", s->bucket, src->name);
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
        return kv_seterr(KV_ETRANSIENT, "gs://%s/%s: the resumable upload session expired (HTTP "
                                        "%ld); starting a new one", s->bucket, src->name,
                         resp->status);
    return gcs_fail(s, src->name, resp);
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
        const kv_http_header hs[] = {{"Content-Range", range}};
        gcs_call c = {"PUT", uri, hs, 1, NULL, 0, NULL, 0};
        rc = gcs_send(s, &c, &resp);
    }
    if (rc == KV_OK)
        rc = session_reply(s, src, &resp, ss, out);
    if (rc == KV_OK && !ss->done)
        kv_info("gs://%s/%s: resuming the upload at byte %llu of %zu", s->bucket, src->name,
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
        const kv_http_header hs[] = {{"Content-Range", range}};
        gcs_call c = {"PUT", uri, hs, 1, src->buf + from, (size_t)(end - from), NULL, 0};
        rc = gcs_send(s, &c, &resp);
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
            rc = kv_seterr(KV_ECORRUPT, "gs://%s/%s: the server holds %llu bytes of %zu",
                           s->bucket, src->name, (unsigned long long)ss.next, src->len);
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
    char *k = full_key(s, key), *uri;
    gcs_obj obj;
    int rc;
    if (!k)
        return kv_oom();
    {
        gcs_src src = {k, buf, len, digest ? digest->crc32c : kv_crc32c(0, buf, len), 0};
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
    return kv_seterr(KV_ECORRUPT, "gs://%s/%s: the bytes received do not match the object's "
                                  "crc32c (x-goog-hash)", s->bucket, key);
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
    object_name(s, key, what, sizeof what);
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
    k = full_key(s, key);
    rc = k ? object_url(s, k, "?alt=media", &url) : kv_oom();
    if (rc)
        goto out;
    snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)off,
             (unsigned long long)(off + len - 1));
    {
        const kv_http_header hs[] = {{"Range", range}};
        gcs_call c = {"GET", url.data, hs, 1, NULL, 0, buf, len};
        rc = gcs_send(s, &c, &resp);
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
        rc = gcs_fail(s, k, &resp);
    else if (rc == KV_OK && resp.status == 206)
        rc = check_partial(s, k, &resp, off, buf);
    else if (rc == KV_OK && off != 0)
        rc = kv_seterr(KV_ECORRUPT, "gs://%s/%s: the server ignored the range %s (HTTP %ld)",
                       s->bucket, k, range, resp.status);
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
        gcs_call c = {"GET", url.data, NULL, 0, NULL, 0, NULL, 0};
        rc = gcs_do(s, &c, name, &resp);
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
    char *k = full_key(s, key);
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
        gcs_call c = {"DELETE", url.data, NULL, 0, NULL, 0, NULL, 0};
        rc = gcs_do(s, &c, name, &resp);
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
    char *k = full_key(s, key);
    int rc = k ? delete_obj(s, k) : kv_oom();
    free(k);
    return rc;
}

/* ---- listing ------------------------------------------------------------ */

static int list_page(const gcs_store *s, json_t *root, kv_list_cb cb, void *payload)
{
    size_t skip = *s->root ? strlen(s->root) + 1 : 0, i;
    json_t *item;
    int rc = KV_OK;
    json_array_foreach(json_object_get(root, "items"), i, item) {
        const char *name = json_string_value(json_object_get(item, "name"));
        kv_object_info info;
        gcs_obj o;
        if (!name || strlen(name) < skip)
            continue;
        parse_obj(item, &o);
        fill_info(&o, &info);
        rc = cb(name + skip, &info, payload);
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

static int gcs_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    gcs_store *s = (gcs_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_buf url = KV_BUF_INIT;
    char *p = full_key(s, prefix), *token = NULL;
    json_t *root = NULL;
    int rc = p ? KV_OK : kv_oom();

    while (rc == KV_OK) {
        const char *next;
        kv_buf_clear(&url);
        rc = list_url(s, p, token, &url);
        if (rc == KV_OK) {
            gcs_call c = {"GET", url.data, NULL, 0, NULL, 0, NULL, 0};
            rc = gcs_do(s, &c, p, &resp);
        }
        if (rc)
            break;
        root = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
        if (!json_is_object(root))
            rc = kv_seterr(KV_ETRANSIENT, "gs://%s/%s: the listing is not a JSON object",
                           s->bucket, p);
        if (rc == KV_OK)
            rc = list_page(s, root, cb, payload);
        next = json_string_value(json_object_get(root, "nextPageToken"));
        free(token);
        token = next && *next ? strdup(next) : NULL;
        json_decref(root);
        root = NULL;
        if (!token)
            break;
    }
    free(token);
    kv_buf_free(&url);
    kv_http_resp_free(&resp);
    free(p);
    return rc;
}

/* ---- multipart: part objects and compose ------------------------------------ */

static char *part_name(const kv_upload *up, uint32_t n)
{
    char *out = NULL;
    return asprintf(&out, "%s.%s-%05u.kvpart", up->key, up->tag, n) < 0 ? NULL : out;
}

static char *temp_name(const kv_upload *up, int level, size_t i)
{
    char *out = NULL;
    return asprintf(&out, "%s.%s-L%d-%05zu.kvpart", up->key, up->tag, level, i) < 0 ? NULL : out;
}

static void cancel_session(gcs_store *s, const char *uri)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    gcs_call c = {"DELETE", uri, NULL, 0, NULL, 0, NULL, 0};
    if (gcs_send(s, &c, &resp) != KV_OK)
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
        return kv_seterr(KV_EINVAL, "gs://%s/%s: %llu bytes in parts of %llu exceed %d parts "
                                    "of at most 5 GiB (GCS composes at most 1024 components)",
                         s->bucket, key, (unsigned long long)total_size,
                         (unsigned long long)part_size, GCS_MAX_PARTS);
    up = calloc(1, sizeof *up);
    if (!up)
        return kv_oom();
    up->s = s;
    up->nparts = n ? (uint32_t)n : 1;
    up->key = full_key(s, key);
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
    int rc;
    (void)off;

    if (n < 1 || n > up->nparts)
        return kv_seterr(KV_EINVAL, "gs://%s/%s: part %u is outside 1..%u", s->bucket, up->key, n,
                         up->nparts);
    p = &up->parts[n - 1];
    name = part_name(up, n);
    if (!name)
        return kv_oom();
    p->attempted = 1;
    {
        gcs_src src = {name, buf, len, digest ? digest->crc32c : kv_crc32c(0, buf, len), 1};
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
        const kv_http_header hs[] = {{"Content-Type", "application/json; charset=UTF-8"}};
        gcs_call c = {"POST", url.data, hs, 1, text, strlen(text), NULL, 0};
        rc = gcs_do(s, &c, dest, &resp);
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
            rc = kv_seterr(KV_EINVAL, "gs://%s/%s: part %u was never uploaded", s->bucket,
                           up->key, i + 1);
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
        rc = kv_seterr(KV_ECORRUPT, "gs://%s/%s: the composed object has %llu bytes with crc32c "
                                    "%08x, the parts %llu with %08x", s->bucket, up->key,
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
        kv_info("gs://%s/%s: could not delete every part of the aborted upload (objects "
                "'%s.%s-*.kvpart' may remain): %s", up->s->bucket, up->key, up->key, up->tag,
                kv_errmsg());
    upload_free(up);
}

/* ---- configuration ------------------------------------------------------ */

static int copy_field(json_t *root, const char *field, const char *path, char **out)
{
    const char *v = json_string_value(json_object_get(root, field));
    if (!v || !*v)
        return kv_seterr(KV_EAUTH, "GOOGLE_APPLICATION_CREDENTIALS '%s': no \"%s\" in the key "
                                   "file", path, field);
    *out = strdup(v);
    return *out ? KV_OK : kv_oom();
}

static int load_private_key(gcs_store *s, const char *pem, const char *path)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    s->sa_key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!s->sa_key || EVP_PKEY_base_id(s->sa_key) != EVP_PKEY_RSA)
        return kv_seterr(KV_EAUTH, "GOOGLE_APPLICATION_CREDENTIALS '%s': \"private_key\" is not "
                                   "an RSA private key in PEM form", path);
    return KV_OK;
}

static int load_service_account(gcs_store *s, const char *path)
{
    char *text = NULL, *pem = NULL;
    size_t len;
    json_t *root = NULL;
    const char *type, *kid;
    char why[512];
    int rc = kv_read_file(path, &text, &len);
    if (rc) {
        snprintf(why, sizeof why, "%s", kv_errmsg()); /* names the file and why */
        rc = kv_seterr(KV_EAUTH, "GOOGLE_APPLICATION_CREDENTIALS: %s", why);
        goto out;
    }
    root = json_loadb(text, len, 0, NULL);
    type = json_string_value(json_object_get(root, "type"));
    if (!json_is_object(root) || !type || strcmp(type, "service_account") != 0) {
        rc = kv_seterr(KV_EAUTH, "GOOGLE_APPLICATION_CREDENTIALS '%s': not a service-account "
                                 "key file (JSON with \"type\": \"service_account\")", path);
        goto out;
    }
    rc = copy_field(root, "client_email", path, &s->sa_email);
    if (rc == KV_OK)
        rc = copy_field(root, "private_key", path, &pem);
    if (rc == KV_OK)
        rc = load_private_key(s, pem, path);
    if (rc == KV_OK && !json_object_get(root, "token_uri"))
        s->token_uri = strdup("https://oauth2.googleapis.com/token");
    else if (rc == KV_OK)
        rc = copy_field(root, "token_uri", path, &s->token_uri);
    kid = json_string_value(json_object_get(root, "private_key_id"));
    if (rc == KV_OK && kid && !(s->sa_key_id = strdup(kid)))
        rc = kv_oom();
    if (rc == KV_OK && !s->token_uri)
        rc = kv_oom();
    s->auth = AUTH_SERVICE_ACCOUNT;
out:
    kv_secret_free(pem);
    if (text)
        OPENSSL_cleanse(text, len);
    free(text);
    json_decref(root);
    return rc;
}

static int load_credentials(gcs_store *s, const kv_store_opts *o)
{
    const char *tok = kv_opt_str(o, "KVAULT_GCS_TOKEN"), *path, *mdhost;
    if (!tok)
        tok = kv_opt_str(o, "GOOGLE_OAUTH_ACCESS_TOKEN");
    if (tok) {
        s->auth = AUTH_STATIC;
        s->static_token = strdup(tok);
        return s->static_token ? KV_OK : kv_oom();
    }
    path = kv_opt_str(o, "GOOGLE_APPLICATION_CREDENTIALS");
    if (path)
        return load_service_account(s, path);
    mdhost = kv_opt_str(o, "GCE_METADATA_HOST");
    s->auth = AUTH_METADATA;
    if (asprintf(&s->metadata_url, "http://%s/computeMetadata/v1/instance/service-accounts/"
                                   "default/token", mdhost ? mdhost : DEFAULT_METADATA_HOST) < 0) {
        s->metadata_url = NULL;
        return kv_oom();
    }
    return KV_OK;
}

/* The API base URL and whether requests are authenticated. */
static int load_endpoint(gcs_store *s, const kv_store_opts *o)
{
    const char *emu = kv_opt_str(o, "STORAGE_EMULATOR_HOST");
    const char *ep = o->endpoint ? o->endpoint : kv_opt_str(o, "KVAULT_GCS_ENDPOINT");
    size_t n;
    if (emu) {
        s->auth = AUTH_NONE;
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
    return emu ? KV_OK : load_credentials(s, o);
}

static void load_sizes(gcs_store *s, const kv_store_opts *o)
{
    long long chunk = setting_num(o, "KVAULT_GCS_CHUNK_SIZE", (long long)DEFAULT_CHUNK);
    chunk = chunk / (long long)GCS_CHUNK_UNIT * (long long)GCS_CHUNK_UNIT;
    s->chunk_size = chunk > 0 ? (uint64_t)chunk : GCS_CHUNK_UNIT;
    s->threshold = (uint64_t)setting_num(o, "KVAULT_GCS_RESUMABLE_THRESHOLD",
                                         (long long)DEFAULT_THRESHOLD);
    s->max_results = (int)setting_num(o, "KVAULT_GCS_MAX_RESULTS", 0);
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
    kv_http_free(s->http);
    pthread_mutex_destroy(&s->lock);
    free(s->bucket);
    free(s->root);
    free(s->api);
    kv_secret_free(s->static_token);
    free(s->sa_email);
    free(s->sa_key_id);
    free(s->token_uri);
    EVP_PKEY_free(s->sa_key);
    free(s->metadata_url);
    kv_secret_free(s->token);
    free(s);
}

static const char *auth_name(enum auth_kind a)
{
    switch (a) {
    case AUTH_NONE: return "none (emulator)";
    case AUTH_STATIC: return "bearer token";
    case AUTH_SERVICE_ACCOUNT: return "service account";
    default: return "GCE metadata server";
    }
}

static int gcs_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    gcs_store *s;
    kv_http_opts ho;
    int rc;

    *out = NULL;
    if (!valid_bucket(url->host) || url->port)
        return kv_seterr(KV_EINVAL, "gs://%s: not a valid bucket name", url->host);
    s = calloc(1, sizeof *s);
    if (!s)
        return kv_oom();
    pthread_mutex_init(&s->lock, NULL);
    s->bucket = strdup(url->host);
    s->root = strdup(url->path);
    if (!s->bucket || !s->root) {
        rc = kv_oom();
        goto out;
    }
    rc = load_endpoint(s, opts);
    if (rc)
        goto out;
    load_sizes(s, opts);
    ho.connect_timeout_s = opts->connect_timeout_s;
    ho.stall_timeout_s = opts->stall_timeout_s;
    rc = kv_http_new(&ho, &s->http);
    if (rc)
        goto out;
    kv_debug("gcs: bucket %s at %s, auth %s, chunks of %llu, resumable above %llu", s->bucket,
             s->api, auth_name(s->auth), (unsigned long long)s->chunk_size,
             (unsigned long long)s->threshold);
    *out = &s->base;
out:
    if (rc)
        gcs_close(&s->base);
    return rc;
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
};
