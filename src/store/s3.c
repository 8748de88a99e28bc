/*
 * Amazon S3 and S3-compatible stores (Ceph RGW, MinIO, ...), over the REST
 * API with Signature Version 4.
 *
 * Settings come from where the AWS tools take them: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE with
 * ~/.aws/credentials and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE and
 * AWS_CONFIG_FILE move them), AWS_REGION / AWS_DEFAULT_REGION / the profile's
 * region (default us-east-1), AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL / the
 * profile's endpoint_url. With an endpoint, requests are path-style
 * (http://host:port/bucket/key), as S3-compatible servers expect; without
 * one, virtual-hosted (https://bucket.s3.region.amazonaws.com/key), except
 * for bucket names with dots, which TLS certificates cannot cover.
 * KVAULT_S3_ADDRESSING=path|virtual overrides the choice.
 *
 * Integrity: every request signs its body's SHA-256 (x-amz-content-sha256),
 * over http and https; S3 and RGW recompute it and reject a mismatch with
 * XAmzContentSHA256Mismatch. For PutObject and UploadPart the caller computes
 * that SHA-256 while the data is in memory (KV_CAP_DIGEST_SHA256), so it is
 * the only pass over the bytes besides CRC32C; no Content-MD5, which would
 * be a second, slower one. Other bodies (XML documents, manifests, empty
 * GETs) are hashed here.
 * x-amz-checksum-crc32c is sent on PutObject only when talking to AWS itself
 * (no endpoint set) or with KVAULT_S3_CHECKSUM=crc32c: RGW 16 ignores it, so
 * it would only cost CPU there. Parts do not carry it: AWS then requires the
 * algorithm on CreateMultipartUpload and every part's checksum in
 * CompleteMultipartUpload, which no server here can check.
 *
 * Test knob: KVAULT_S3_MAX_KEYS sets the ListObjectsV2 page size (to
 * exercise pagination). Timeouts come from the store options (store.c
 * applies KVAULT_CONNECT_TIMEOUT and KVAULT_STALL_TIMEOUT for every backend).
 */
#include "store/s3.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/http.h"
#include "http/sign_aws.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/secret.h"
#include "util/time.h"
#include "util/xml.h"

#define MIB (1024ull * 1024ull)
#define S3_MIN_PART (5 * MIB)
#define S3_MAX_PART (5 * 1024 * MIB)
#define S3_MAX_PARTS 10000
#define MAX_HEADERS 16

extern const kv_store_ops kv_s3_ops;

typedef struct s3_store {
    kv_store base;
    kv_http *http;
    char *bucket;
    char *root;           /* key prefix of the store, no slashes at the ends */
    kv_aws_creds creds;   /* strings owned here */
    char *region;
    char *origin;         /* "https://bucket.s3.us-east-1.amazonaws.com" */
    char *host;           /* the Host header: origin without the scheme */
    char *base_path;      /* raw path before the key: "" or "/bucket" */
    int https;
    int send_crc32c;
    int max_keys;         /* 0 = the server's default page size */
} s3_store;

struct kv_upload {
    s3_store *s;
    char *key;            /* full key in the bucket */
    char *upload_id;
    uint64_t total;
    uint32_t nparts;
    char **etags;         /* [nparts], as the server returned them */
    int complete_sent;
};

/* One REST call: the parts that differ from call to call. */
typedef struct s3_call {
    const char *method;
    const char *key;                 /* full key in the bucket; NULL = bucket */
    const kv_http_header *query;
    size_t nquery;
    const kv_http_header *headers;   /* extra headers, sent and signed */
    size_t nheaders;
    const void *body;
    size_t body_len;
    void *dst;                       /* fixed buffer for a 2xx body */
    size_t dst_cap;
    const unsigned char *sha256;     /* the body's, from the caller; NULL = hash it */
} s3_call;

/* ---- small helpers ------------------------------------------------------ */

/* The key in the bucket for a store key, "root/key", or key at the top. Also
 * the S3 prefix for a store prefix: "root/" + prefix, never "root" alone,
 * which would also match "rootX/...". */
static char *full_key(const s3_store *s, const char *key)
{
    char *out = NULL;
    if (asprintf(&out, "%s%s%s", s->root, *s->root ? "/" : "", key) < 0)
        return NULL;
    return out;
}

/* "s3://bucket/key" for messages (key is the full key in the bucket). */
static void object_name(const s3_store *s, const char *key, char *out, size_t n)
{
    snprintf(out, n, "s3://%s/%s", s->bucket, key ? key : "");
}

/* ---- XML ---------------------------------------------------------------- */

static int xml_is_true(xmlNode *parent, const char *name)
{
    char v[8];
    kv_xml_text(parent, name, v, sizeof v);
    return strcmp(v, "true") == 0;
}

/* ---- errors ------------------------------------------------------------- */

/* The status for an S3 error reply (store.h's mapping): by the error code
 * where it says what happened, else by the HTTP status. */
static int status_code_for(long http, const char *code)
{
    static const struct {
        int status;
        const char *const codes[8];
    } by_code[] = {
        {KV_ECORRUPT, {"BadDigest", "XAmzContentSHA256Mismatch"}},
        {KV_ETRANSIENT, {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable",
                         "OperationAborted"}},
        {KV_EAUTH, {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId",
                    "RequestTimeTooSkewed", "ExpiredToken", "InvalidToken"}},
        {KV_ENOTFOUND, {"NoSuchKey", "NoSuchBucket", "NoSuchUpload"}},
        {KV_EINVAL, {"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "EntityTooLarge",
                     "MalformedXML", "InvalidArgument", "InvalidRequest"}},
    };
    for (size_t i = 0; i < sizeof by_code / sizeof by_code[0]; i++)
        for (size_t j = 0; j < 8 && by_code[i].codes[j]; j++)
            if (strcmp(code, by_code[i].codes[j]) == 0)
                return by_code[i].status;
    return kv_http_status_code(http);
}

/* What a person should check, for the errors that have a usual cause. */
static const char *hint_for(const s3_store *s, long http, const char *code, char *buf, size_t n)
{
    if (strcmp(code, "SignatureDoesNotMatch") == 0)
        return "; check AWS_SECRET_ACCESS_KEY and the system clock";
    if (strcmp(code, "RequestTimeTooSkewed") == 0)
        return "; the system clock is off";
    if (strcmp(code, "InvalidAccessKeyId") == 0)
        return "; check AWS_ACCESS_KEY_ID";
    if (strcmp(code, "PermanentRedirect") == 0 || strcmp(code, "AuthorizationHeaderMalformed") == 0)
        return "; the bucket may be in another region: set AWS_REGION";
    if (strcmp(code, "NoSuchBucket") == 0) {
        snprintf(buf, n, "; bucket '%s' does not exist", s->bucket);
        return buf;
    }
    if (!*code && http == 403)
        return "; check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the system clock";
    return "";
}

/* Names an error without a body (HEAD) by its status. */
static const char *code_from_status(long http)
{
    switch (http) {
    case 400: return "BadRequest";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 412: return "PreconditionFailed";
    case 503: return "ServiceUnavailable";
    default: return "HTTP error";
    }
}

/* Sets the thread's message from an error reply and returns its status:
 * "s3://bucket/key: Code: Message (HTTP nnn)[; hint]". */
static int s3_fail(const s3_store *s, const char *key, const kv_http_resp *resp)
{
    char what[1024], code[128] = "", msg[512] = "", hintbuf[160];
    xmlDoc *doc = kv_xml_parse(&resp->body);
    xmlNode *root = kv_xml_root(doc, "Error");
    const char *hint;
    if (root) {
        kv_xml_text(root, "Code", code, sizeof code);
        kv_xml_text(root, "Message", msg, sizeof msg);
    }
    xmlFreeDoc(doc);
    object_name(s, key, what, sizeof what);
    hint = hint_for(s, resp->status, code, hintbuf, sizeof hintbuf);
    return kv_seterr(status_code_for(resp->status, code), "%s: %s%s%s (HTTP %ld)%s", what,
                     *code ? code : code_from_status(resp->status), *msg ? ": " : "", msg,
                     resp->status, hint);
}

/* KV_OK for a 2xx reply, the mapped error otherwise. */
static int s3_check(const s3_store *s, const char *key, const kv_http_resp *resp)
{
    if (resp->status >= 200 && resp->status < 300)
        return KV_OK;
    return s3_fail(s, key, resp);
}

/* ---- requests ----------------------------------------------------------- */

static int build_url(const s3_store *s, const s3_call *c, const char *path, kv_buf *url)
{
    int rc = kv_buf_puts(url, s->origin);
    if (rc == KV_OK)
        rc = kv_aws_uri_encode(path, 1, url);
    if (rc == KV_OK && c->nquery) {
        rc = kv_buf_puts(url, "?");
        if (rc == KV_OK)
            rc = kv_aws_canonical_query(c->query, c->nquery, url);
    }
    return rc;
}

/* Signs and sends one call; KV_OK when a reply (of any status) arrived. */
static int s3_send(s3_store *s, const s3_call *c, kv_http_resp *resp)
{
    kv_buf path = KV_BUF_INIT, url = KV_BUF_INIT, auth = KV_BUF_INIT;
    kv_http_header hs[MAX_HEADERS];
    char date[17], payload[65];
    size_t n = 0;
    int rc;

    if (c->nheaders + 5 > MAX_HEADERS)
        return kv_seterr(KV_EINVAL, "s3: too many request headers");
    rc = kv_buf_printf(&path, "%s/%s", s->base_path, c->key ? c->key : "");
    if (rc == KV_OK)
        rc = build_url(s, c, path.data, &url);
    if (rc)
        goto out;
    kv_aws_amz_date(time(NULL), date);
    kv_aws_payload_hash(c->body, c->body_len, c->sha256, payload);
    hs[n++] = (kv_http_header){"Host", s->host};
    hs[n++] = (kv_http_header){"x-amz-date", date};
    hs[n++] = (kv_http_header){"x-amz-content-sha256", payload};
    if (s->creds.session_token)
        hs[n++] = (kv_http_header){"x-amz-security-token", s->creds.session_token};
    for (size_t i = 0; i < c->nheaders; i++)
        hs[n++] = c->headers[i];
    {
        kv_sigv4_req sr = {c->method, path.data, c->query, c->nquery, hs, n, payload, date,
                           s->region, "s3"};
        rc = kv_sigv4_authorization(&sr, &s->creds, &auth);
        if (rc)
            goto out;
    }
    hs[n++] = (kv_http_header){"Authorization", auth.data};
    {
        kv_http_req req = {c->method, url.data, hs, n, c->body, c->body_len, c->dst, c->dst_cap,
                           0, 0};
        rc = kv_http_do(s->http, &req, resp);
    }
out:
    kv_buf_free(&path);
    kv_buf_free(&url);
    kv_buf_free(&auth);
    return rc;
}

/* Sends a call and maps a non-2xx reply to an error. */
static int s3_do(s3_store *s, const s3_call *c, kv_http_resp *resp)
{
    int rc = s3_send(s, c, resp);
    return rc ? rc : s3_check(s, c->key, resp);
}

/* Parses a 2xx reply body that must be XML with the given root element. An
 * <Error> root (CompleteMultipartUpload may answer 200 and fail later) is
 * mapped like an error reply. */
static int parse_reply(const s3_store *s, const char *key, const kv_http_resp *resp,
                       const char *root_name, xmlDoc **doc)
{
    char what[1024];
    int is_error;
    *doc = kv_xml_parse(&resp->body);
    if (kv_xml_root(*doc, root_name))
        return KV_OK;
    is_error = kv_xml_root(*doc, "Error") != NULL;
    xmlFreeDoc(*doc);
    *doc = NULL;
    if (is_error)
        return s3_fail(s, key, resp); /* an error inside a 200: known by its code */
    object_name(s, key, what, sizeof what);
    return kv_seterr(KV_ETRANSIENT, "%s: the server's reply is not a %s document (HTTP %ld)",
                     what, root_name, resp->status);
}

/* ---- objects ------------------------------------------------------------ */

/* The x-amz-checksum-crc32c header for a whole object, where wanted. */
static size_t digest_headers(const s3_store *s, const kv_digest *d, int whole_object,
                             char crc[16], kv_http_header *hs)
{
    size_t n = 0;
    if (d && whole_object && s->send_crc32c) {
        kv_crc32c_base64(d->crc32c, crc);
        hs[n++] = (kv_http_header){"x-amz-checksum-crc32c", crc};
    }
    return n;
}

/* The body's SHA-256 when the caller computed it, for x-amz-content-sha256. */
static const unsigned char *payload_sha256(const kv_digest *d)
{
    return d && d->has_sha256 ? d->sha256 : NULL;
}

static int s3_put(kv_store *st, const char *key, const void *buf, size_t len,
                  const kv_digest *digest)
{
    s3_store *s = (s3_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_http_header hs[1];
    char crc[16];
    char *k = full_key(s, key);
    int rc;
    if (!k)
        return kv_oom();
    {
        s3_call c = {"PUT", k, NULL, 0, hs, digest_headers(s, digest, 1, crc, hs), buf, len,
                     NULL, 0, payload_sha256(digest)};
        rc = s3_do(s, &c, &resp);
    }
    kv_http_resp_free(&resp);
    free(k);
    return rc;
}

static int s3_stat(kv_store *st, const char *key, kv_object_info *out);

static int s3_get(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
                  size_t *got)
{
    s3_store *s = (s3_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_http_header hs[1];
    char range[64], what[1024];
    char *k = NULL;
    int rc = KV_OK;

    *got = 0;
    if (len == 0) {
        kv_object_info info; /* nothing to read, but a missing key is still an error */
        return s3_stat(st, key, &info);
    }
    k = full_key(s, key);
    if (!k)
        return kv_oom();
    snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)off,
             (unsigned long long)(off + len - 1));
    hs[0] = (kv_http_header){"Range", range};
    {
        s3_call c = {"GET", k, NULL, 0, hs, 1, NULL, 0, buf, len};
        rc = s3_send(s, &c, &resp);
    }
    if (rc)
        goto out;
    if (resp.status == 416) /* off is at or past the end */
        goto out;
    rc = s3_check(s, k, &resp);
    if (rc == KV_OK && (resp.status == 206 || off != 0))
        object_name(s, k, what, sizeof what);
    if (rc == KV_OK && resp.status == 206)
        rc = kv_http_check_content_range(&resp, off, what);
    else if (rc == KV_OK && off != 0)
        rc = kv_seterr(KV_ECORRUPT, "%s: the server ignored the range %s (HTTP %ld)", what,
                       range, resp.status);
    if (rc == KV_OK)
        *got = resp.received;
out:
    kv_http_resp_free(&resp);
    free(k);
    return rc;
}

/* A HEAD reply has no body, so its error names only the status. For 400
 * and 403, whose code tells the cause (SignatureDoesNotMatch,
 * InvalidAccessKeyId, RequestTimeTooSkewed, ...), the same request as a
 * one-byte GET fetches the error document. */
static int head_fail(s3_store *s, const char *key, const kv_http_resp *head)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    const kv_http_header hs[] = {{"Range", "bytes=0-0"}};
    s3_call c = {"GET", key, NULL, 0, hs, 1, NULL, 0, NULL, 0};
    int rc;
    if (head->status != 400 && head->status != 403)
        return s3_fail(s, key, head);
    if (s3_send(s, &c, &resp) == KV_OK && resp.status == head->status)
        rc = s3_fail(s, key, &resp);
    else
        rc = s3_fail(s, key, head);
    kv_http_resp_free(&resp);
    return rc;
}

static int s3_stat(kv_store *st, const char *key, kv_object_info *out)
{
    s3_store *s = (s3_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    const char *v;
    char *k = full_key(s, key);
    int rc;
    if (!k)
        return kv_oom();
    {
        s3_call c = {"HEAD", k, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
        rc = s3_send(s, &c, &resp);
    }
    if (rc == KV_OK && (resp.status < 200 || resp.status >= 300))
        rc = head_fail(s, k, &resp);
    if (rc == KV_OK) {
        memset(out, 0, sizeof *out);
        v = kv_http_resp_header(&resp, "Content-Length");
        out->size = v ? strtoull(v, NULL, 10) : 0;
        out->mtime_unix = kv_time_parse_http(kv_http_resp_header(&resp, "Last-Modified"));
        kv_http_etag_copy(kv_http_resp_header(&resp, "ETag"), out->etag, sizeof out->etag);
    }
    kv_http_resp_free(&resp);
    free(k);
    return rc;
}

static int s3_remove(kv_store *st, const char *key)
{
    s3_store *s = (s3_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char *k = full_key(s, key);
    int rc;
    if (!k)
        return kv_oom();
    {
        s3_call c = {"DELETE", k, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
        rc = s3_do(s, &c, &resp);
    }
    kv_http_resp_free(&resp);
    free(k);
    return rc;
}

/* ---- listing ------------------------------------------------------------ */

/* Calls cb for each <Contents> of a ListObjectsV2 page; sets *next to the
 * continuation token (malloc'd) when the listing goes on, else NULL. */
static int list_page(const s3_store *s, xmlNode *root, kv_list_cb cb, void *payload,
                     char **next)
{
    size_t skip = *s->root ? strlen(s->root) + 1 : 0;
    char key[2048], size[32], mtime[64], etag[160];
    int rc = KV_OK;
    *next = NULL;
    for (xmlNode *n = root->children; n && rc == KV_OK; n = n->next) {
        kv_object_info info;
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Contents") != 0)
            continue;
        memset(&info, 0, sizeof info);
        kv_xml_text(n, "Key", key, sizeof key);
        kv_xml_text(n, "Size", size, sizeof size);
        kv_xml_text(n, "LastModified", mtime, sizeof mtime);
        kv_xml_text(n, "ETag", etag, sizeof etag);
        kv_http_etag_copy(etag, info.etag, sizeof info.etag);
        info.size = strtoull(size, NULL, 10);
        info.mtime_unix = kv_time_parse_rfc3339(mtime);
        if (strlen(key) >= skip)
            rc = cb(key + skip, &info, payload);
    }
    if (rc == KV_OK && xml_is_true(root, "IsTruncated")) {
        *next = kv_xml_text_dup(root, "NextContinuationToken");
        if (!*next)
            rc = kv_seterr(KV_ETRANSIENT, "s3://%s: a truncated listing without a "
                                          "NextContinuationToken", s->bucket);
    }
    return rc;
}

static int s3_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    s3_store *s = (s3_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char *p = full_key(s, prefix), *token = NULL, *next;
    char max_keys[16];
    xmlDoc *doc = NULL;
    int rc = p ? KV_OK : kv_oom();

    snprintf(max_keys, sizeof max_keys, "%d", s->max_keys);
    while (rc == KV_OK) {
        kv_http_header q[4] = {{"list-type", "2"}, {"prefix", p}};
        size_t nq = 2;
        if (token)
            q[nq++] = (kv_http_header){"continuation-token", token};
        if (s->max_keys)
            q[nq++] = (kv_http_header){"max-keys", max_keys};
        {
            s3_call c = {"GET", NULL, q, nq, NULL, 0, NULL, 0, NULL, 0};
            rc = s3_do(s, &c, &resp);
        }
        if (rc == KV_OK)
            rc = parse_reply(s, p, &resp, "ListBucketResult", &doc);
        if (rc == KV_OK)
            rc = list_page(s, xmlDocGetRootElement(doc), cb, payload, &next);
        xmlFreeDoc(doc);
        doc = NULL;
        free(token);
        token = NULL;
        if (rc || !next)
            break;
        token = next;
    }
    kv_http_resp_free(&resp);
    free(p);
    return rc;
}

/* ---- multipart ---------------------------------------------------------- */

static void upload_free(kv_upload *up)
{
    if (!up)
        return;
    for (uint32_t i = 0; up->etags && i < up->nparts; i++)
        free(up->etags[i]);
    free(up->etags);
    free(up->key);
    free(up->upload_id);
    free(up);
}

static int upload_new(s3_store *s, const char *key, uint64_t total, uint64_t part_size,
                      kv_upload **out)
{
    kv_upload *up = calloc(1, sizeof *up);
    if (!up)
        return kv_oom();
    up->s = s;
    up->total = total;
    up->nparts = part_size ? (uint32_t)((total + part_size - 1) / part_size) : 0;
    if (up->nparts == 0)
        up->nparts = 1;
    up->key = full_key(s, key);
    up->etags = calloc(up->nparts, sizeof *up->etags);
    if (!up->key || !up->etags) {
        upload_free(up);
        return kv_oom();
    }
    *out = up;
    return KV_OK;
}

static int s3_upload_begin(kv_store *st, const char *key, uint64_t total_size,
                           uint64_t part_size, kv_upload **out)
{
    s3_store *s = (s3_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    const kv_http_header q[] = {{"uploads", ""}};
    kv_upload *up = NULL;
    xmlDoc *doc = NULL;
    int rc;

    *out = NULL;
    if (part_size > S3_MAX_PART || total_size > part_size * S3_MAX_PARTS)
        return kv_seterr(KV_EINVAL, "s3://%s/%s: %llu bytes in parts of %llu exceed S3's limits",
                         s->bucket, key, (unsigned long long)total_size,
                         (unsigned long long)part_size);
    rc = upload_new(s, key, total_size, part_size, &up);
    if (rc)
        return rc;
    {
        s3_call c = {"POST", up->key, q, 1, NULL, 0, NULL, 0, NULL, 0};
        rc = s3_do(s, &c, &resp);
    }
    if (rc == KV_OK)
        rc = parse_reply(s, up->key, &resp, "InitiateMultipartUploadResult", &doc);
    if (rc == KV_OK) {
        up->upload_id = kv_xml_text_dup(xmlDocGetRootElement(doc), "UploadId");
        if (!up->upload_id || !*up->upload_id)
            rc = kv_seterr(KV_ETRANSIENT, "s3://%s/%s: CreateMultipartUpload returned no UploadId",
                           s->bucket, up->key);
    }
    xmlFreeDoc(doc);
    kv_http_resp_free(&resp);
    if (rc)
        upload_free(up);
    else
        *out = up;
    return rc;
}

static int s3_upload_part(kv_upload *up, uint32_t n, uint64_t off, const void *buf, size_t len,
                          const kv_digest *digest)
{
    s3_store *s = up->s;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_http_header hs[1];
    char crc[16], num[16];
    const char *etag;
    int rc;
    (void)off;

    if (n < 1 || n > up->nparts)
        return kv_seterr(KV_EINVAL, "s3://%s/%s: part %u is outside 1..%u", s->bucket, up->key, n,
                         up->nparts);
    snprintf(num, sizeof num, "%u", n);
    {
        const kv_http_header q[] = {{"partNumber", num}, {"uploadId", up->upload_id}};
        s3_call c = {"PUT", up->key, q, 2, hs, digest_headers(s, digest, 0, crc, hs), buf, len,
                     NULL, 0, payload_sha256(digest)};
        rc = s3_do(s, &c, &resp);
    }
    etag = kv_http_resp_header(&resp, "ETag");
    if (rc == KV_OK && (!etag || !*etag))
        rc = kv_seterr(KV_ETRANSIENT, "s3://%s/%s: UploadPart %u returned no ETag", s->bucket,
                       up->key, n);
    if (rc == KV_OK) {
        char *copy = strdup(etag);
        if (!copy)
            rc = kv_oom();
        else {
            free(up->etags[n - 1]);
            up->etags[n - 1] = copy;
        }
    }
    kv_http_resp_free(&resp);
    return rc;
}

static int complete_body(const kv_upload *up, kv_buf *out)
{
    int rc = kv_buf_puts(out, "<CompleteMultipartUpload>");
    for (uint32_t i = 0; i < up->nparts && rc == KV_OK; i++) {
        if (!up->etags[i])
            return kv_seterr(KV_EINVAL, "s3://%s/%s: part %u was never uploaded", up->s->bucket,
                             up->key, i + 1);
        rc = kv_buf_printf(out, "<Part><PartNumber>%u</PartNumber><ETag>%s</ETag></Part>", i + 1,
                           up->etags[i]);
    }
    if (rc == KV_OK)
        rc = kv_buf_puts(out, "</CompleteMultipartUpload>");
    return rc;
}

/* After a complete whose reply was lost, a retry finds the upload gone
 * (NoSuchUpload): the first one worked if the object is there, whole. */
static int completed_before(kv_upload *up)
{
    s3_store *s = up->s;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    const char *len;
    int done;
    s3_call c = {"HEAD", up->key, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
    done = s3_send(s, &c, &resp) == KV_OK && resp.status == 200;
    len = kv_http_resp_header(&resp, "Content-Length");
    done = done && len && strtoull(len, NULL, 10) == up->total;
    kv_http_resp_free(&resp);
    return done;
}

static int s3_upload_complete(kv_upload *up)
{
    s3_store *s = up->s;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    const kv_http_header q[] = {{"uploadId", up->upload_id}};
    kv_buf body = KV_BUF_INIT;
    xmlDoc *doc = NULL;
    char saved[1024];
    int rc, retry = up->complete_sent;

    rc = complete_body(up, &body);
    if (rc)
        goto out;
    up->complete_sent = 1;
    {
        s3_call c = {"POST", up->key, q, 1, NULL, 0, body.data, body.len, NULL, 0};
        rc = s3_do(s, &c, &resp);
    }
    if (rc == KV_ENOTFOUND && retry) {
        snprintf(saved, sizeof saved, "%s", kv_errmsg());
        if (completed_before(up)) {
            kv_info("s3://%s/%s: an earlier CompleteMultipartUpload attempt succeeded",
                    s->bucket, up->key);
            rc = KV_OK;
        }
        else
            kv_errset_msg(rc, saved);
    } else if (rc == KV_OK) {
        /* 200 is sent before the work is done: the body tells the outcome.
         * RGW 16 leaves <ETag> empty here, so it is not used. */
        rc = parse_reply(s, up->key, &resp, "CompleteMultipartUploadResult", &doc);
    }
out:
    xmlFreeDoc(doc);
    kv_buf_free(&body);
    kv_http_resp_free(&resp);
    if (rc == KV_OK)
        upload_free(up);
    return rc;
}

static void s3_upload_abort(kv_upload *up)
{
    s3_store *s;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    if (!up)
        return;
    s = up->s;
    {
        const kv_http_header q[] = {{"uploadId", up->upload_id}};
        s3_call c = {"DELETE", up->key, q, 1, NULL, 0, NULL, 0, NULL, 0};
        if (s3_do(s, &c, &resp) != KV_OK)
            kv_debug("s3: abort of upload to s3://%s/%s failed: %s", s->bucket, up->key,
                     kv_errmsg());
    }
    kv_http_resp_free(&resp);
    upload_free(up);
}

/* ---- multipart listings (s3.h) ------------------------------------------ */

static int uploads_page(const s3_store *s, xmlNode *root, kv_s3_upload_cb cb, void *payload)
{
    size_t skip = *s->root ? strlen(s->root) + 1 : 0;
    char key[2048], id[512];
    int rc = KV_OK;
    for (xmlNode *n = root->children; n && rc == KV_OK; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Upload") != 0)
            continue;
        kv_xml_text(n, "Key", key, sizeof key);
        kv_xml_text(n, "UploadId", id, sizeof id);
        if (strlen(key) >= skip)
            rc = cb(key + skip, id, payload);
    }
    return rc;
}

int kv_s3_list_uploads(kv_store *st, const char *prefix, kv_s3_upload_cb cb, void *payload)
{
    s3_store *s = (s3_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char *p = NULL, *key_marker = NULL, *id_marker = NULL;
    xmlDoc *doc = NULL;
    int rc = kv_store_check_backend(st, &kv_s3_ops, "kv_s3_list_uploads"), more = 1;

    if (rc == KV_OK && !(p = full_key(s, prefix)))
        rc = kv_oom();

    while (rc == KV_OK && more) {
        kv_http_header q[4] = {{"uploads", ""}, {"prefix", p}};
        size_t nq = 2;
        xmlNode *root;
        if (key_marker)
            q[nq++] = (kv_http_header){"key-marker", key_marker};
        if (id_marker)
            q[nq++] = (kv_http_header){"upload-id-marker", id_marker};
        {
            s3_call c = {"GET", NULL, q, nq, NULL, 0, NULL, 0, NULL, 0};
            rc = s3_do(s, &c, &resp);
        }
        if (rc == KV_OK)
            rc = parse_reply(s, p, &resp, "ListMultipartUploadsResult", &doc);
        if (rc)
            break;
        root = xmlDocGetRootElement(doc);
        rc = uploads_page(s, root, cb, payload);
        more = xml_is_true(root, "IsTruncated");
        free(key_marker);
        free(id_marker);
        key_marker = kv_xml_text_dup(root, "NextKeyMarker");
        id_marker = kv_xml_text_dup(root, "NextUploadIdMarker");
        xmlFreeDoc(doc);
        doc = NULL;
    }
    free(key_marker);
    free(id_marker);
    kv_http_resp_free(&resp);
    free(p);
    return rc;
}

int kv_s3_list_parts(kv_store *st, const char *key, const char *upload_id, uint32_t *parts,
                     uint64_t *bytes)
{
    s3_store *s = (s3_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char *k = NULL, marker[16] = "", size[32];
    xmlDoc *doc = NULL;
    int rc = kv_store_check_backend(st, &kv_s3_ops, "kv_s3_list_parts"), more = 1;

    if (rc == KV_OK && !(k = full_key(s, key)))
        rc = kv_oom();

    *parts = 0;
    *bytes = 0;
    while (rc == KV_OK && more) {
        kv_http_header q[2] = {{"uploadId", upload_id}, {"part-number-marker", marker}};
        xmlNode *root;
        {
            s3_call c = {"GET", k, q, *marker ? 2 : 1, NULL, 0, NULL, 0, NULL, 0};
            rc = s3_do(s, &c, &resp);
        }
        if (rc == KV_OK)
            rc = parse_reply(s, k, &resp, "ListPartsResult", &doc);
        if (rc)
            break;
        root = xmlDocGetRootElement(doc);
        for (xmlNode *n = root->children; n; n = n->next) {
            if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Part") != 0)
                continue;
            kv_xml_text(n, "Size", size, sizeof size);
            (*parts)++;
            *bytes += strtoull(size, NULL, 10);
        }
        more = xml_is_true(root, "IsTruncated");
        kv_xml_text(root, "NextPartNumberMarker", marker, sizeof marker);
        xmlFreeDoc(doc);
        doc = NULL;
    }
    kv_http_resp_free(&resp);
    free(k);
    return rc;
}

/* ---- configuration ------------------------------------------------------ */

static const char *trim(const char *s, size_t *n)
{
    while (*n && isspace((unsigned char)*s)) {
        s++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)s[*n - 1]))
        (*n)--;
    return s;
}

/* The value of key in [section] of an AWS ini file, malloc'd, or NULL.
 * Indented lines belong to nested sub-sections (e.g. "s3 =") and are skipped. */
static char *ini_lookup(const char *text, const char *section, const char *key)
{
    size_t klen = strlen(key);
    int in_section = 0;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n'), *p;
        size_t n = end ? (size_t)(end - line) : strlen(line);
        int indented = n && (line[0] == ' ' || line[0] == '\t');
        p = trim(line, &n);
        line = end ? end + 1 : NULL;
        if (indented || !n || p[0] == '#' || p[0] == ';')
            continue;
        if (p[0] == '[') {
            size_t m = n >= 2 ? n - 2 : 0;
            const char *name = trim(p + 1, &m);
            in_section = p[n - 1] == ']' && m == strlen(section) && strncmp(name, section, m) == 0;
        } else if (in_section && n > klen && strncmp(p, key, klen) == 0) {
            const char *q = p + klen;
            size_t rest = n - klen;
            q = trim(q, &rest);
            if (rest && *q == '=') {
                size_t vlen = rest - 1;
                const char *v = trim(q + 1, &vlen);
                return strndup(v, vlen);
            }
        }
    }
    return NULL;
}

/* Reads an AWS ini file: path from env_name, else ~/.aws/<file>. A missing
 * file is no error (*text stays NULL). */
static int read_aws_file(const kv_store_opts *o, const char *env_name, const char *file,
                         char **text)
{
    const char *home = kv_opt_str(o, "HOME"), *path = kv_opt_str(o, env_name);
    char *def = NULL;
    size_t len;
    int rc = KV_OK;
    *text = NULL;
    if (!path && home && asprintf(&def, "%s/.aws/%s", home, file) >= 0)
        path = def;
    if (path) {
        rc = kv_read_file(path, text, &len);
        if (rc == KV_ENOTFOUND) {
            kv_errclear();
            rc = KV_OK;
        }
    }
    free(def);
    return rc;
}

typedef struct s3_config {
    char *credentials;    /* ~/.aws/credentials text */
    char *config;         /* ~/.aws/config text */
    const char *profile;
    char config_section[256];
} s3_config;

/* A profile setting: credentials file first, then config file. */
static char *profile_get(const s3_config *cfg, const char *key)
{
    char *v = cfg->credentials ? ini_lookup(cfg->credentials, cfg->profile, key) : NULL;
    if (!v && cfg->config)
        v = ini_lookup(cfg->config, cfg->config_section, key);
    return v;
}

static int load_credentials(s3_store *s, const kv_store_opts *o, const s3_config *cfg)
{
    const char *ak = kv_opt_str(o, "AWS_ACCESS_KEY_ID"), *sk = kv_opt_str(o, "AWS_SECRET_ACCESS_KEY");
    const char *tok = kv_opt_str(o, "AWS_SESSION_TOKEN");
    if (ak && sk) {
        s->creds.access_key = strdup(ak);
        s->creds.secret_key = strdup(sk);
        s->creds.session_token = tok ? strdup(tok) : NULL;
        if (!s->creds.access_key || !s->creds.secret_key || (tok && !s->creds.session_token))
            return kv_oom();
        return KV_OK;
    }
    s->creds.access_key = profile_get(cfg, "aws_access_key_id");
    s->creds.secret_key = profile_get(cfg, "aws_secret_access_key");
    s->creds.session_token = profile_get(cfg, "aws_session_token");
    if (!s->creds.access_key || !s->creds.secret_key)
        return kv_seterr(KV_EAUTH,
                         "s3://%s: no AWS credentials: set AWS_ACCESS_KEY_ID and "
                         "AWS_SECRET_ACCESS_KEY, or give profile '%s' aws_access_key_id and "
                         "aws_secret_access_key in ~/.aws/credentials (AWS_PROFILE picks another)",
                         s->bucket, cfg->profile);
    return KV_OK;
}

static int load_region(s3_store *s, const kv_store_opts *o, const s3_config *cfg)
{
    const char *r = o->region ? o->region : kv_opt_str(o, "AWS_REGION");
    if (!r)
        r = kv_opt_str(o, "AWS_DEFAULT_REGION");
    s->region = r ? strdup(r) : profile_get(cfg, "region");
    if (!s->region)
        s->region = strdup("us-east-1");
    return s->region ? KV_OK : kv_oom();
}

/* Where requests go, from an endpoint URL ("http://127.0.0.1:8000") or AWS
 * itself, and the addressing style. */
static int set_addressing(s3_store *s, const kv_store_opts *o, const char *endpoint)
{
    const char *style = kv_opt_str(o, "KVAULT_S3_ADDRESSING");
    const char *auth, *slash;
    char *ep_host = NULL, *ep_path = NULL;
    int path_style = endpoint != NULL, rc = KV_OK, n;

    if (style && strcmp(style, "path") != 0 && strcmp(style, "virtual") != 0)
        return kv_seterr(KV_EINVAL, "KVAULT_S3_ADDRESSING must be 'path' or 'virtual', not '%s'",
                         style);
    if (style)
        path_style = strcmp(style, "path") == 0;
    else if (!endpoint && strchr(s->bucket, '.'))
        path_style = 1; /* "a.b.s3.amazonaws.com" fails the TLS wildcard check */
    if (endpoint) {
        s->https = strncmp(endpoint, "https://", 8) == 0;
        if (!s->https && strncmp(endpoint, "http://", 7) != 0)
            return kv_seterr(KV_EINVAL, "S3 endpoint '%s' must start with http:// or https://",
                             endpoint);
        auth = endpoint + (s->https ? 8 : 7);
        slash = strchr(auth, '/');
        ep_host = strndup(auth, slash ? (size_t)(slash - auth) : strlen(auth));
        ep_path = strdup(slash ? slash : "");
    } else {
        s->https = 1;
        n = asprintf(&ep_host, "s3.%s.amazonaws.com%s", s->region,
                     strncmp(s->region, "cn-", 3) == 0 ? ".cn" : "");
        if (n < 0)
            ep_host = NULL;
        ep_path = strdup("");
    }
    if (!ep_host || !ep_path) {
        rc = kv_oom();
        goto out;
    }
    for (size_t len = strlen(ep_path); len && ep_path[len - 1] == '/'; len--)
        ep_path[len - 1] = '\0';
    if (path_style) {
        s->host = strdup(ep_host);
        n = asprintf(&s->base_path, "%s/%s", ep_path, s->bucket);
    } else {
        n = asprintf(&s->host, "%s.%s", s->bucket, ep_host);
        s->base_path = strdup(ep_path);
    }
    if (n < 0 || !s->host || !s->base_path ||
        asprintf(&s->origin, "%s://%s", s->https ? "https" : "http", s->host) < 0) {
        s->origin = NULL;
        rc = kv_oom();
    }
out:
    free(ep_host);
    free(ep_path);
    return rc;
}

static int load_settings(s3_store *s, const kv_store_opts *o)
{
    s3_config cfg = {NULL, NULL, NULL, ""};
    const char *endpoint = o->endpoint ? o->endpoint : kv_opt_str(o, "AWS_ENDPOINT_URL_S3"), *sum;
    char *ep_profile = NULL;
    int rc;

    cfg.profile = kv_opt_str(o, "AWS_PROFILE");
    if (!cfg.profile)
        cfg.profile = "default";
    if (strcmp(cfg.profile, "default") == 0)
        snprintf(cfg.config_section, sizeof cfg.config_section, "default");
    else
        snprintf(cfg.config_section, sizeof cfg.config_section, "profile %s", cfg.profile);
    rc = read_aws_file(o, "AWS_SHARED_CREDENTIALS_FILE", "credentials", &cfg.credentials);
    if (rc == KV_OK)
        rc = read_aws_file(o, "AWS_CONFIG_FILE", "config", &cfg.config);
    if (rc == KV_OK)
        rc = load_credentials(s, o, &cfg);
    if (rc == KV_OK)
        rc = load_region(s, o, &cfg);
    if (rc)
        goto out;
    if (!endpoint)
        endpoint = kv_opt_str(o, "AWS_ENDPOINT_URL");
    if (!endpoint && cfg.config)
        endpoint = ep_profile = ini_lookup(cfg.config, cfg.config_section, "endpoint_url");
    rc = set_addressing(s, o, endpoint);
    sum = kv_opt_str(o, "KVAULT_S3_CHECKSUM");
    s->send_crc32c = sum ? strcmp(sum, "crc32c") == 0 : endpoint == NULL;
    s->max_keys = kv_opt_int(o, "KVAULT_S3_MAX_KEYS", 0);
out:
    kv_secret_free(cfg.credentials);
    kv_secret_free(cfg.config);
    free(ep_profile);
    return rc;
}

/* ---- open / close ------------------------------------------------------- */

static int valid_bucket(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return 0;
    for (; *b; b++)
        if (!isalnum((unsigned char)*b) && *b != '-' && *b != '.' && *b != '_')
            return 0;
    return 1;
}

static void s3_close(kv_store *st)
{
    s3_store *s = (s3_store *)st;
    if (!s)
        return;
    kv_http_free(s->http);
    free(s->bucket);
    free(s->root);
    free((char *)s->creds.access_key);
    kv_secret_free((char *)s->creds.secret_key);
    kv_secret_free((char *)s->creds.session_token);
    free(s->region);
    free(s->origin);
    free(s->host);
    free(s->base_path);
    free(s);
}

static int s3_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    s3_store *s;
    kv_http_opts ho;
    int rc;

    *out = NULL;
    if (!valid_bucket(url->host) || url->port)
        return kv_seterr(KV_EINVAL, "s3://%s: not a valid bucket name", url->host);
    s = calloc(1, sizeof *s);
    if (!s)
        return kv_oom();
    s->bucket = strdup(url->host);
    s->root = strdup(url->path);
    if (!s->bucket || !s->root) {
        rc = kv_oom();
        goto out;
    }
    rc = load_settings(s, opts);
    if (rc)
        goto out;
    ho.connect_timeout_s = opts->connect_timeout_s;
    ho.stall_timeout_s = opts->stall_timeout_s;
    rc = kv_http_new(&ho, &s->http);
    if (rc)
        goto out;
    kv_debug("s3: bucket %s at %s%s (%s-style), region %s, stall timeout %d s", s->bucket,
             s->origin, s->base_path, *s->base_path ? "path" : "virtual-hosted", s->region,
             ho.stall_timeout_s);
    *out = &s->base;
out:
    if (rc)
        s3_close(&s->base);
    return rc;
}

const kv_store_ops kv_s3_ops = {
    .version = KV_STORE_OPS_VERSION,
    .scheme = "s3",
    .caps = KV_CAP_MULTIPART | KV_CAP_RANGE_GET | KV_CAP_DIGEST_SHA256,
    .min_part = S3_MIN_PART,
    .max_part = S3_MAX_PART,
    .max_parts = S3_MAX_PARTS,
    .open = s3_open,
    .put = s3_put,
    .get = s3_get,
    .stat = s3_stat,
    .list = s3_list,
    .remove = s3_remove,
    .upload_begin = s3_upload_begin,
    .upload_part = s3_upload_part,
    .upload_complete = s3_upload_complete,
    .upload_abort = s3_upload_abort,
    .sync = NULL,
    .close = s3_close,
};
