/*
 * Amazon S3 and S3-compatible stores (Ceph RGW, MinIO, ...), over the REST
 * API with Signature Version 4.
 *
 * Credentials and the region come from http/auth_aws.c (the AWS tools'
 * settings and profile files). The endpoint: the store's endpoint option,
 * AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url. With an endpoint, requests are path-style
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

#include "http/auth_aws.h"
#include "http/service.h"
#include "store/bucket.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/log.h"
#include "util/time.h"
#include "util/xml.h"

#define MIB (1024ull * 1024ull)
#define S3_MIN_PART (5 * MIB)
#define S3_MAX_PART (5 * 1024 * MIB)
#define S3_MAX_PARTS 10000

extern const kv_store_ops kv_s3_ops;

typedef struct s3_store {
    kv_store base;
    kv_bucket b;
    kv_service svc;
    kv_aws_auth *auth;
    char *origin;         /* "https://bucket.s3.us-east-1.amazonaws.com" */
    char *base_path;      /* raw path before the key: "" or "/bucket" */
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

/* S3's error codes (credential errors are auth_aws.c's). */
static const kv_svc_rule s3_rules[] = {
    {.code = "BadDigest", .status = KV_ECORRUPT},
    {.code = "XAmzContentSHA256Mismatch", .status = KV_ECORRUPT},
    {.code = "SlowDown", .status = KV_ETRANSIENT},
    {.code = "RequestTimeout", .status = KV_ETRANSIENT},
    {.code = "InternalError", .status = KV_ETRANSIENT},
    {.code = "ServiceUnavailable", .status = KV_ETRANSIENT},
    {.code = "OperationAborted", .status = KV_ETRANSIENT},
    {.code = "NoSuchKey", .status = KV_ENOTFOUND},
    {.code = "NoSuchUpload", .status = KV_ENOTFOUND},
    {.code = "NoSuchBucket", .status = KV_ENOTFOUND, .hint = "bucket '%s' does not exist"},
    {.code = "InvalidPart", .status = KV_EINVAL},
    {.code = "InvalidPartOrder", .status = KV_EINVAL},
    {.code = "EntityTooSmall", .status = KV_EINVAL},
    {.code = "EntityTooLarge", .status = KV_EINVAL},
    {.code = "MalformedXML", .status = KV_EINVAL},
    {.code = "InvalidArgument", .status = KV_EINVAL},
    {.code = "InvalidRequest", .status = KV_EINVAL},
    {.code = "PermanentRedirect", .hint = "the bucket may be in another region: set AWS_REGION"},
    {0},
};

static int xml_is_true(xmlNode *parent, const char *name)
{
    char v[8];
    kv_xml_text(parent, name, v, sizeof v);
    return strcmp(v, "true") == 0;
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
        return kv_svc_fail(&s->svc, key, resp); /* an error inside a 200: known by its code */
    kv_svc_object_name(&s->svc, key, what, sizeof what);
    return kv_seterr(KV_ETRANSIENT, "%s: the server's reply is not a %s document (HTTP %ld)",
                     what, root_name, resp->status);
}

/* A request whose 2xx reply must be the XML document root_name. */
static int s3_xml(s3_store *s, const kv_svc_req *r, const char *root_name, xmlDoc **doc)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    int rc = kv_svc_do(&s->svc, r, &resp);
    if (rc == KV_OK)
        rc = parse_reply(s, r->object ? r->object : r->key, &resp, root_name, doc);
    kv_http_resp_free(&resp);
    return rc;
}

/* ---- objects ------------------------------------------------------------ */

/* The x-amz-checksum-crc32c header for a whole object, where wanted. */
static size_t digest_headers(const s3_store *s, const kv_digest *d, int whole_object,
                             char crc[16], kv_http_header *hs)
{
    size_t n = 0;
    if (d && whole_object && s->send_crc32c) {
        kv_crc32c_base64(d->crc32c, crc);
        hs[n++] = (kv_http_header){.name = "x-amz-checksum-crc32c", .value = crc};
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
    kv_http_header hs[1];
    char crc[16];
    char *k = kv_bucket_key(&s->b, key);
    int rc = k ? KV_OK : kv_oom();
    if (rc == KV_OK) {
        kv_svc_req r = {.method = "PUT", .key = k, .headers = hs,
                        .nheaders = digest_headers(s, digest, 1, crc, hs), .body = buf,
                        .body_len = len, .body_sha256 = payload_sha256(digest)};
        rc = kv_svc_call(&s->svc, &r);
    }
    free(k);
    return rc;
}

static int s3_stat(kv_store *st, const char *key, kv_object_info *out);

static int s3_get(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
                  size_t *got)
{
    s3_store *s = (s3_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char range[64];
    char *k = NULL;
    int rc;

    *got = 0;
    if (len == 0) {
        kv_object_info info; /* nothing to read, but a missing key is still an error */
        return s3_stat(st, key, &info);
    }
    k = kv_bucket_key(&s->b, key);
    if (!k)
        return kv_oom();
    kv_svc_range(off, len, range);
    {
        const kv_http_header hs[] = {{.name = "Range", .value = range}};
        kv_svc_req r = {.method = "GET", .key = k, .headers = hs, .nheaders = 1, .dst = buf,
                        .dst_cap = len};
        rc = kv_svc_send(&s->svc, &r, &resp);
    }
    if (rc || resp.status == 416) /* off is at or past the end */
        goto out;
    if (resp.status < 200 || resp.status >= 300)
        rc = kv_svc_fail(&s->svc, k, &resp);
    if (rc == KV_OK)
        rc = kv_svc_check_range(&s->svc, k, &resp, off, range);
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
    const kv_http_header hs[] = {{.name = "Range", .value = "bytes=0-0"}};
    kv_svc_req r = {.method = "GET", .key = key, .headers = hs, .nheaders = 1};
    int rc;
    if (head->status != 400 && head->status != 403)
        return kv_svc_fail(&s->svc, key, head);
    if (kv_svc_send(&s->svc, &r, &resp) == KV_OK && resp.status == head->status)
        rc = kv_svc_fail(&s->svc, key, &resp);
    else
        rc = kv_svc_fail(&s->svc, key, head);
    kv_http_resp_free(&resp);
    return rc;
}

static int s3_stat(kv_store *st, const char *key, kv_object_info *out)
{
    s3_store *s = (s3_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    const char *v;
    char *k = kv_bucket_key(&s->b, key);
    int rc = k ? KV_OK : kv_oom();
    if (rc == KV_OK) {
        kv_svc_req r = {.method = "HEAD", .key = k};
        rc = kv_svc_send(&s->svc, &r, &resp);
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
    char *k = kv_bucket_key(&s->b, key);
    kv_svc_req r = {.method = "DELETE", .key = k};
    int rc = k ? kv_svc_call(&s->svc, &r) : kv_oom();
    free(k);
    return rc;
}

/* ---- listing ------------------------------------------------------------ */

typedef struct list_ctx {
    s3_store *s;
    const char *prefix;   /* full prefix in the bucket */
    kv_list_cb cb;
    void *payload;
} list_ctx;

/* Calls cb for each <Contents> of a ListObjectsV2 page. */
static int list_contents(const list_ctx *l, xmlNode *root, size_t *items)
{
    char key[2048], size[32], mtime[64], etag[160];
    int rc = KV_OK;
    for (xmlNode *n = root->children; n && rc == KV_OK; n = n->next) {
        kv_object_info info;
        const char *k;
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
        (*items)++;
        rc = kv_bucket_store_key(&l->s->b, key, l->prefix, &k);
        if (rc == KV_OK)
            rc = l->cb(k, &info, l->payload);
    }
    return rc;
}

/* One ListObjectsV2 page; *next is the continuation token, if truncated. */
static int list_page(void *ctx, const char *token, char **next, size_t *items)
{
    const list_ctx *l = ctx;
    s3_store *s = l->s;
    kv_http_header q[4] = {{.name = "list-type", .value = "2"},
                           {.name = "prefix", .value = l->prefix}};
    char max_keys[16];
    size_t nq = 2;
    xmlDoc *doc = NULL;
    int rc;

    if (token)
        q[nq++] = (kv_http_header){.name = "continuation-token", .value = token};
    snprintf(max_keys, sizeof max_keys, "%d", s->max_keys);
    if (s->max_keys)
        q[nq++] = (kv_http_header){.name = "max-keys", .value = max_keys};
    {
        kv_svc_req r = {.method = "GET", .query = q, .nquery = nq, .object = l->prefix};
        rc = s3_xml(s, &r, "ListBucketResult", &doc);
    }
    if (rc == KV_OK)
        rc = list_contents(l, xmlDocGetRootElement(doc), items);
    if (rc == KV_OK && xml_is_true(xmlDocGetRootElement(doc), "IsTruncated")) {
        *next = kv_xml_text_dup(xmlDocGetRootElement(doc), "NextContinuationToken");
        if (!*next)
            rc = kv_seterr(KV_ETRANSIENT, "%s: a truncated listing without a "
                           "NextContinuationToken", s->b.name);
    }
    xmlFreeDoc(doc);
    return rc;
}

static int s3_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    s3_store *s = (s3_store *)st;
    list_ctx l = {.s = s, .prefix = kv_bucket_key(&s->b, prefix), .cb = cb, .payload = payload};
    int rc = l.prefix ? kv_bucket_pages(&s->b, l.prefix, list_page, &l) : kv_oom();
    free((char *)l.prefix);
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
    up->key = kv_bucket_key(&s->b, key);
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
    const kv_http_header q[] = {{.name = "uploads", .value = ""}};
    kv_upload *up = NULL;
    xmlDoc *doc = NULL;
    int rc;

    *out = NULL;
    if (part_size > S3_MAX_PART || total_size > part_size * S3_MAX_PARTS)
        return kv_seterr(KV_EINVAL, "%s%s: %llu bytes in parts of %llu exceed S3's limits",
                         s->b.name, key, (unsigned long long)total_size,
                         (unsigned long long)part_size);
    rc = upload_new(s, key, total_size, part_size, &up);
    if (rc == KV_OK) {
        kv_svc_req r = {.method = "POST", .key = up->key, .query = q, .nquery = 1};
        rc = s3_xml(s, &r, "InitiateMultipartUploadResult", &doc);
    }
    if (rc == KV_OK) {
        up->upload_id = kv_xml_text_dup(xmlDocGetRootElement(doc), "UploadId");
        if (!up->upload_id || !*up->upload_id)
            rc = kv_seterr(KV_ETRANSIENT, "%s%s: CreateMultipartUpload returned no UploadId",
                           s->b.name, up->key);
    }
    xmlFreeDoc(doc);
    if (rc)
        upload_free(up);
    else
        *out = up;
    return rc;
}

/* Keeps part n's ETag for CompleteMultipartUpload. */
static int keep_etag(kv_upload *up, uint32_t n, const char *etag)
{
    char *copy;
    if (!etag || !*etag)
        return kv_seterr(KV_ETRANSIENT, "%s%s: UploadPart %u returned no ETag", up->s->b.name,
                         up->key, n);
    if (!(copy = strdup(etag)))
        return kv_oom();
    free(up->etags[n - 1]);
    up->etags[n - 1] = copy;
    return KV_OK;
}

static int s3_upload_part(kv_upload *up, uint32_t n, uint64_t off, const void *buf, size_t len,
                          const kv_digest *digest)
{
    s3_store *s = up->s;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_http_header hs[1];
    char crc[16], num[16];
    int rc = kv_bucket_check_part(&s->b, up->key, n, up->nparts);
    (void)off;

    if (rc)
        return rc;
    snprintf(num, sizeof num, "%u", n);
    {
        const kv_http_header q[] = {{.name = "partNumber", .value = num},
                                    {.name = "uploadId", .value = up->upload_id}};
        kv_svc_req r = {.method = "PUT", .key = up->key, .query = q, .nquery = 2,
                        .headers = hs, .nheaders = digest_headers(s, digest, 0, crc, hs),
                        .body = buf, .body_len = len, .body_sha256 = payload_sha256(digest)};
        rc = kv_svc_do(&s->svc, &r, &resp);
    }
    if (rc == KV_OK)
        rc = keep_etag(up, n, kv_http_resp_header(&resp, "ETag"));
    kv_http_resp_free(&resp);
    return rc;
}

static int complete_body(const kv_upload *up, kv_buf *out)
{
    int rc = kv_buf_puts(out, "<CompleteMultipartUpload>");
    for (uint32_t i = 0; i < up->nparts && rc == KV_OK; i++) {
        if (!up->etags[i])
            return kv_bucket_missing_part(&up->s->b, up->key, i + 1);
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
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_svc_req r = {.method = "HEAD", .key = up->key};
    const char *len;
    int done = kv_svc_send(&up->s->svc, &r, &resp) == KV_OK && resp.status == 200;
    len = kv_http_resp_header(&resp, "Content-Length");
    done = done && len && strtoull(len, NULL, 10) == up->total;
    kv_http_resp_free(&resp);
    return done;
}

static int s3_upload_complete(kv_upload *up)
{
    s3_store *s = up->s;
    const kv_http_header q[] = {{.name = "uploadId", .value = up->upload_id}};
    kv_buf body = KV_BUF_INIT;
    xmlDoc *doc = NULL;
    char saved[1024];
    int rc, retry = up->complete_sent;

    rc = complete_body(up, &body);
    if (rc == KV_OK) {
        /* 200 is sent before the work is done: the body tells the outcome.
         * RGW 16 leaves <ETag> empty here, so it is not used. */
        kv_svc_req r = {.method = "POST", .key = up->key, .query = q, .nquery = 1,
                        .body = body.data, .body_len = body.len};
        up->complete_sent = 1;
        rc = s3_xml(s, &r, "CompleteMultipartUploadResult", &doc);
    }
    if (rc == KV_ENOTFOUND && retry) {
        snprintf(saved, sizeof saved, "%s", kv_errmsg());
        if (completed_before(up)) {
            kv_info("%s%s: an earlier CompleteMultipartUpload attempt succeeded", s->b.name,
                    up->key);
            rc = KV_OK;
        } else {
            kv_errset_msg(rc, saved);
        }
    }
    xmlFreeDoc(doc);
    kv_buf_free(&body);
    if (rc == KV_OK)
        upload_free(up);
    return rc;
}

/* AbortMultipartUpload of key's upload id (full key). */
static int abort_upload(s3_store *s, const char *key, const char *upload_id)
{
    const kv_http_header q[] = {{.name = "uploadId", .value = upload_id}};
    kv_svc_req r = {.method = "DELETE", .key = key, .query = q, .nquery = 1};
    return kv_svc_call(&s->svc, &r);
}

static void s3_upload_abort(kv_upload *up)
{
    if (!up)
        return;
    if (abort_upload(up->s, up->key, up->upload_id) != KV_OK)
        kv_debug("s3: abort of upload to %s%s failed: %s", up->s->b.name, up->key, kv_errmsg());
    upload_free(up);
}

/* ---- multipart listings (s3.h) ------------------------------------------ */

/* One open multipart upload, as ListMultipartUploads lists it. */
typedef struct s3_open_upload {
    const char *key;       /* store key */
    const char *full_key;  /* in the bucket */
    const char *id;
    int64_t initiated;
} s3_open_upload;

typedef int (*open_upload_fn)(void *arg, const s3_open_upload *u);

typedef struct uploads_ctx {
    s3_store *s;
    const char *prefix;   /* full */
    open_upload_fn found;
    void *arg;
} uploads_ctx;

static int uploads_found(const uploads_ctx *u, xmlNode *root, size_t *items)
{
    char key[2048], id[512], initiated[64];
    int rc = KV_OK;
    for (xmlNode *n = root->children; n && rc == KV_OK; n = n->next) {
        s3_open_upload o = {.full_key = key, .id = id};
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Upload") != 0)
            continue;
        kv_xml_text(n, "Key", key, sizeof key);
        kv_xml_text(n, "UploadId", id, sizeof id);
        kv_xml_text(n, "Initiated", initiated, sizeof initiated);
        o.initiated = kv_time_parse_rfc3339(initiated);
        (*items)++;
        rc = kv_bucket_store_key(&u->s->b, key, u->prefix, &o.key);
        if (rc == KV_OK)
            rc = u->found(u->arg, &o);
    }
    return rc;
}

/* The token of the page after root: "<NextUploadIdMarker>\n<NextKeyMarker>"
 * (one key's uploads may span pages, so the key marker alone repeats). */
static int uploads_next(xmlNode *root, char **next)
{
    char *id = kv_xml_text_dup(root, "NextUploadIdMarker");
    char *key = kv_xml_text_dup(root, "NextKeyMarker");
    int rc = key && asprintf(next, "%s\n%s", id ? id : "", key) < 0 ? kv_oom() : KV_OK;
    free(id);
    free(key);
    return rc;
}

/* One ListMultipartUploads page after token (uploads_next's). */
static int uploads_page(void *ctx, const char *token, char **next, size_t *items)
{
    uploads_ctx *u = ctx;
    kv_http_header q[4] = {{.name = "uploads", .value = ""}, {.name = "prefix", .value = u->prefix}};
    const char *nl = token ? strchr(token, '\n') : NULL;
    char *id = nl ? strndup(token, (size_t)(nl - token)) : NULL;
    size_t nq = 2;
    xmlDoc *doc = NULL;
    int rc = nl && !id ? kv_oom() : KV_OK;
    if (nl)
        q[nq++] = (kv_http_header){.name = "key-marker", .value = nl + 1};
    if (id && *id)
        q[nq++] = (kv_http_header){.name = "upload-id-marker", .value = id};
    if (rc == KV_OK) {
        kv_svc_req r = {.method = "GET", .query = q, .nquery = nq, .object = u->prefix};
        rc = s3_xml(u->s, &r, "ListMultipartUploadsResult", &doc);
    }
    if (rc == KV_OK)
        rc = uploads_found(u, xmlDocGetRootElement(doc), items);
    if (rc == KV_OK && xml_is_true(xmlDocGetRootElement(doc), "IsTruncated"))
        rc = uploads_next(xmlDocGetRootElement(doc), next);
    xmlFreeDoc(doc);
    free(id);
    return rc;
}

/* Every open upload under prefix (a store prefix), all pages. */
static int each_upload(s3_store *s, const char *prefix, open_upload_fn found, void *arg)
{
    uploads_ctx u = {.s = s, .prefix = kv_bucket_key(&s->b, prefix), .found = found, .arg = arg};
    int rc = u.prefix ? kv_bucket_pages(&s->b, u.prefix, uploads_page, &u) : kv_oom();
    free((char *)u.prefix);
    return rc;
}

typedef struct upload_listing {
    kv_s3_upload_cb cb;
    void *payload;
} upload_listing;

static int report_upload(void *arg, const s3_open_upload *u)
{
    const upload_listing *l = arg;
    return l->cb(u->key, u->id, l->payload);
}

int kv_s3_list_uploads(kv_store *st, const char *prefix, kv_s3_upload_cb cb, void *payload)
{
    upload_listing l = {.cb = cb, .payload = payload};
    int rc = kv_store_check_backend(st, &kv_s3_ops, "kv_s3_list_uploads");
    return rc ? rc : each_upload((s3_store *)st, prefix, report_upload, &l);
}

typedef struct parts_ctx {
    s3_store *s;
    const char *key, *upload_id;
    uint32_t *parts;
    uint64_t *bytes;
} parts_ctx;

/* One ListParts page; the token is the part number marker. */
static int parts_page(void *ctx, const char *token, char **next, size_t *items)
{
    const parts_ctx *p = ctx;
    kv_http_header q[2] = {{.name = "uploadId", .value = p->upload_id},
                           {.name = "part-number-marker", .value = token}};
    char size[32];
    xmlDoc *doc = NULL;
    xmlNode *root;
    kv_svc_req r = {.method = "GET", .key = p->key, .query = q, .nquery = token ? 2 : 1};
    int rc = s3_xml(p->s, &r, "ListPartsResult", &doc);
    if (rc)
        return rc;
    root = xmlDocGetRootElement(doc);
    for (xmlNode *n = root->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Part") != 0)
            continue;
        kv_xml_text(n, "Size", size, sizeof size);
        (*items)++;
        (*p->parts)++;
        *p->bytes += strtoull(size, NULL, 10);
    }
    if (xml_is_true(root, "IsTruncated"))
        *next = kv_xml_text_dup(root, "NextPartNumberMarker");
    xmlFreeDoc(doc);
    return KV_OK;
}

/* ListParts of the upload of full_key, all pages. */
static int list_parts(s3_store *s, const char *full_key, const char *upload_id,
                      uint32_t *parts, uint64_t *bytes)
{
    parts_ctx p = {.s = s, .key = full_key, .upload_id = upload_id, .parts = parts,
                   .bytes = bytes};
    *parts = 0;
    *bytes = 0;
    return kv_bucket_pages(&s->b, full_key, parts_page, &p);
}

int kv_s3_list_parts(kv_store *st, const char *key, const char *upload_id, uint32_t *parts,
                     uint64_t *bytes)
{
    s3_store *s = (s3_store *)st;
    char *k = NULL;
    int rc = kv_store_check_backend(st, &kv_s3_ops, "kv_s3_list_parts");
    *parts = 0;
    *bytes = 0;
    if (rc == KV_OK && !(k = kv_bucket_key(&s->b, key)))
        rc = kv_oom();
    if (rc == KV_OK)
        rc = list_parts(s, k, upload_id, parts, bytes);
    free(k);
    return rc;
}

/* ---- garbage: unfinished multipart uploads ------------------------------- */

typedef struct s3_garbage {
    s3_store *s;
    kv_garbage_args args;
    const s3_open_upload *u;  /* the one being taken */
} s3_garbage;

/* Aborts the upload; one already gone is not an error. */
static int drop_upload(void *ctx)
{
    const s3_garbage *g = ctx;
    int rc = abort_upload(g->s, g->u->full_key, g->u->id);
    if (rc == KV_ENOTFOUND) {
        kv_errclear();
        rc = KV_OK;
    }
    return rc;
}

/* An upload begun before the cutoff, with the bytes its parts hold. */
static int collect_upload(void *arg, const s3_open_upload *u)
{
    s3_garbage *g = arg;
    kv_garbage_item item = {.key = u->key, .name = u->id, .kind = "multipart upload",
                            .mtime_unix = u->initiated};
    uint32_t parts = 0;
    int rc = KV_OK;
    g->u = u;
    if (u->initiated > 0 && u->initiated < g->args.older_than)
        rc = list_parts(g->s, u->full_key, u->id, &parts, &item.size);
    if (rc == KV_ENOTFOUND) { /* completed or aborted meanwhile */
        kv_errclear();
        return KV_OK;
    }
    return rc ? rc : kv_garbage_take(&g->args, &item, drop_upload, g);
}

static int s3_garbage_collect(kv_store *st, const char *prefix, int64_t older_than_unix,
                              int dry_run, kv_garbage_cb cb, void *payload)
{
    s3_garbage g = {.s = (s3_store *)st,
                    .args = {.older_than = older_than_unix, .dry_run = dry_run, .cb = cb,
                             .payload = payload}};
    return each_upload(g.s, prefix, collect_upload, &g);
}

/* ---- configuration ------------------------------------------------------ */

/* The endpoint's host and path, or AWS's own for the region. */
static int endpoint_parts(const char *endpoint, const char *region, int *https, char **host,
                          char **path)
{
    const char *auth, *slash;
    if (!endpoint) {
        *https = 1;
        if (asprintf(host, "s3.%s.amazonaws.com%s", region,
                     strncmp(region, "cn-", 3) == 0 ? ".cn" : "") < 0)
            *host = NULL;
        *path = strdup("");
        return *host && *path ? KV_OK : kv_oom();
    }
    *https = strncmp(endpoint, "https://", 8) == 0;
    if (!*https && strncmp(endpoint, "http://", 7) != 0)
        return kv_seterr(KV_EINVAL, "S3 endpoint '%s' must start with http:// or https://",
                         endpoint);
    auth = endpoint + (*https ? 8 : 7);
    slash = strchr(auth, '/');
    *host = strndup(auth, slash ? (size_t)(slash - auth) : strlen(auth));
    *path = strdup(slash ? slash : "");
    if (!*host || !*path)
        return kv_oom();
    for (size_t len = strlen(*path); len && (*path)[len - 1] == '/'; len--)
        (*path)[len - 1] = '\0';
    return KV_OK;
}

/* Where requests go, from an endpoint URL ("http://127.0.0.1:8000") or AWS
 * itself, and the addressing style. */
static int set_addressing(s3_store *s, const kv_store_opts *o, const char *endpoint)
{
    const char *style = kv_opt_str(o, "KVAULT_S3_ADDRESSING"), *bucket = s->b.bucket;
    char *ep_host = NULL, *ep_path = NULL;
    int path_style = endpoint != NULL, https = 1, rc, n;

    if (style && strcmp(style, "path") != 0 && strcmp(style, "virtual") != 0)
        return kv_seterr(KV_EINVAL, "KVAULT_S3_ADDRESSING must be 'path' or 'virtual', not '%s'",
                         style);
    if (style)
        path_style = strcmp(style, "path") == 0;
    else if (!endpoint && strchr(bucket, '.'))
        path_style = 1; /* "a.b.s3.amazonaws.com" fails the TLS wildcard check */
    rc = endpoint_parts(endpoint, kv_aws_auth_region(s->auth), &https, &ep_host, &ep_path);
    if (rc == KV_OK) {
        if (path_style)
            n = asprintf(&s->origin, "%s://%s", https ? "https" : "http", ep_host) < 0 ||
                asprintf(&s->base_path, "%s/%s", ep_path, bucket) < 0;
        else
            n = asprintf(&s->origin, "%s://%s.%s", https ? "https" : "http", bucket,
                         ep_host) < 0 || !(s->base_path = strdup(ep_path));
        if (n)
            rc = kv_oom();
    }
    free(ep_host);
    free(ep_path);
    return rc;
}

static int load_settings(s3_store *s, const kv_store_opts *o)
{
    const char *endpoint = o->endpoint ? o->endpoint : kv_opt_str(o, "AWS_ENDPOINT_URL_S3"), *sum;
    char what[300];
    int rc;

    snprintf(what, sizeof what, "s3://%s", s->b.bucket);
    rc = kv_aws_auth_new(o, what, &s->auth);
    if (rc)
        return rc;
    if (!endpoint)
        endpoint = kv_opt_str(o, "AWS_ENDPOINT_URL");
    if (!endpoint)
        endpoint = kv_aws_auth_profile_endpoint(s->auth);
    rc = set_addressing(s, o, endpoint);
    sum = kv_opt_str(o, "KVAULT_S3_CHECKSUM");
    s->send_crc32c = sum ? strcmp(sum, "crc32c") == 0 : endpoint == NULL;
    s->max_keys = kv_opt_int(o, "KVAULT_S3_MAX_KEYS", 0);
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
    kv_http_free(s->svc.http);
    kv_bucket_free(&s->b);
    kv_aws_auth_free(s->auth);
    free(s->origin);
    free(s->base_path);
    free(s);
}

static int s3_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    s3_store *s;
    int rc;

    *out = NULL;
    if (!valid_bucket(url->host) || url->port)
        return kv_seterr(KV_EINVAL, "s3://%s: not a valid bucket name", url->host);
    s = calloc(1, sizeof *s);
    if (!s)
        return kv_oom();
    rc = kv_bucket_open(&s->b, url, opts, "AWS_CA_BUNDLE", &s->svc.http);
    if (rc == KV_OK)
        rc = load_settings(s, opts);
    if (rc) {
        s3_close(&s->base);
        return rc;
    }
    s->svc = (kv_service){.http = s->svc.http, .origin = s->origin, .base_path = s->base_path,
                          .name = s->b.name, .bucket = s->b.bucket,
                          .parse_error = kv_svc_xml_error, .rules = s3_rules};
    kv_aws_auth_use(s->auth, "s3", &s->svc.auth);
    kv_debug("s3: bucket %s at %s%s (%s-style), region %s, stall timeout %d s", s->b.bucket,
             s->origin, s->base_path, *s->base_path ? "path" : "virtual-hosted",
             kv_aws_auth_region(s->auth), opts->stall_timeout_s);
    *out = &s->base;
    return KV_OK;
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
    .garbage = s3_garbage_collect,
};
