/*
 * Azure Blob Storage (block blobs), over the REST API with Shared Key or a
 * SAS token: az://container/prefix.
 *
 * Credentials and the endpoint come from http/auth_azure.c (connection
 * string, account with key or SAS, as Azure's tools read them). An endpoint
 * with a path, such as
 * Azurite's http://127.0.0.1:10000/devstoreaccount1, is path-style: the
 * account then appears twice in the signed resource, as Azure requires.
 *
 * Every request carries the fixed x-ms-version below. Put Blob and Put Block
 * carry Content-MD5 when the caller computed it (Azure rejects a mismatch
 * with Md5Mismatch). A multipart upload is Put Block per part, with block IDs
 * of one length that carry a random per-upload tag, then Put Block List.
 * Abort sends nothing: uncommitted blocks are invisible to Get, Get
 * Properties and List Blobs and Azure discards them after a week; a later
 * upload to the same name uses other block IDs and commits only its own.
 *
 * The key and the SAS token never appear in messages or logs: requests are
 * named as az://container/blob and the http layer drops the query string.
 * KVAULT_AZURE_MAX_RESULTS sets the List Blobs page size (to exercise
 * pagination). Timeouts come from the store options (store.c applies
 * KVAULT_CONNECT_TIMEOUT and KVAULT_STALL_TIMEOUT for every backend).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/auth_azure.h"
#include "http/service.h"
#include "store/bucket.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/random.h"
#include "util/time.h"
#include "util/xml.h"

#define MIB (1024ull * 1024ull)
/* Azure takes blocks of any size; below 1 MiB the per-request cost wins. */
#define AZ_MIN_BLOCK (1 * MIB)
#define AZ_MAX_BLOCK (4000 * MIB)
#define AZ_MAX_BLOCKS 50000
/* Supported by Azure and by Azurite 3.35 in strict mode. */
#define AZ_VERSION "2021-08-06"

typedef struct az_store {
    kv_store base;
    kv_bucket b;           /* b.bucket is the container */
    kv_service svc;
    kv_azure_auth *auth;
    char *origin;          /* "https://acct.blob.core.windows.net" */
    char *base_path;       /* raw path before the blob: "/container" or "/acct/container" */
    int max_results;       /* 0 = the service's default page size */
} az_store;

struct kv_upload {
    az_store *s;
    char *blob;            /* full blob name */
    char tag[17];          /* random hex: this upload's block IDs differ from others' */
    uint32_t nparts;
    unsigned char *stored; /* [nparts]: block n+1 was stored */
};

static const kv_http_header az_headers[] = {{.name = "x-ms-version", .value = AZ_VERSION}};

/* Azure's error codes (credential errors are auth_azure.c's). */
static const kv_svc_rule az_rules[] = {
    {.code = "Md5Mismatch", .status = KV_ECORRUPT},
    {.code = "Crc64Mismatch", .status = KV_ECORRUPT},
    {.code = "ServerBusy", .status = KV_ETRANSIENT},
    {.code = "OperationTimedOut", .status = KV_ETRANSIENT},
    {.code = "InternalError", .status = KV_ETRANSIENT},
    {.code = "ContainerNotFound", .hint = "container '%s' does not exist"},
    {.http = 409, .status = KV_EEXIST},
    {0},
};

/* The error code of a reply: the x-ms-error-code header, else <Error><Code>;
 * and the first line of <Message> (the rest is a request ID and a time). */
static void az_parse_error(const kv_http_resp *resp, kv_svc_error *err)
{
    const char *h = kv_http_resp_header(resp, "x-ms-error-code");
    snprintf(err->code, sizeof err->code, "%s", h ? h : "");
    kv_svc_xml_error(resp, err);
}

/* ---- objects ------------------------------------------------------------ */

/* Content-MD5 for a body whose digest the caller computed. */
static size_t md5_header(const kv_digest *d, char b64[32], kv_http_header *h)
{
    if (!d || !d->has_md5)
        return 0;
    kv_base64_encode(d->md5, sizeof d->md5, b64);
    *h = (kv_http_header){.name = "Content-MD5", .value = b64};
    return 1;
}

static int az_put(kv_store *st, const char *key, const void *buf, size_t len,
                  const kv_digest *digest)
{
    az_store *s = (az_store *)st;
    kv_http_header hs[2] = {{.name = "x-ms-blob-type", .value = "BlockBlob"}};
    char md5[32];
    char *blob = kv_bucket_key(&s->b, key);
    kv_svc_req r = {.method = "PUT", .key = blob, .headers = hs,
                    .nheaders = 1 + md5_header(digest, md5, &hs[1]), .body = buf,
                    .body_len = len};
    int rc = blob ? kv_svc_call(&s->svc, &r) : kv_oom();
    free(blob);
    return rc;
}

static int az_stat(kv_store *st, const char *key, kv_object_info *out);

static int az_get(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
                  size_t *got)
{
    az_store *s = (az_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char range[64];
    char *blob;
    int rc;

    *got = 0;
    if (len == 0) {
        kv_object_info info; /* nothing to read, but a missing key is still an error */
        return az_stat(st, key, &info);
    }
    blob = kv_bucket_key(&s->b, key);
    if (!blob)
        return kv_oom();
    kv_svc_range(off, len, range);
    {
        const kv_http_header hs[] = {{.name = "x-ms-range", .value = range}};
        kv_svc_req r = {.method = "GET", .key = blob, .headers = hs, .nheaders = 1, .dst = buf,
                        .dst_cap = len};
        rc = kv_svc_send(&s->svc, &r, &resp);
    }
    /* InvalidRange: off is at or past the end (an empty blob has no range
     * at all); the transfer engine reads exactly there to find the end */
    if (rc || resp.status == 416)
        goto out;
    if (resp.status < 200 || resp.status >= 300)
        rc = kv_svc_fail(&s->svc, blob, &resp);
    if (rc == KV_OK)
        rc = kv_svc_check_range(&s->svc, blob, &resp, off, range);
    if (rc == KV_OK)
        *got = resp.received;
out:
    kv_http_resp_free(&resp);
    free(blob);
    return rc;
}

static int az_stat(kv_store *st, const char *key, kv_object_info *out)
{
    az_store *s = (az_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    const char *v;
    char *blob = kv_bucket_key(&s->b, key);
    kv_svc_req r = {.method = "HEAD", .key = blob};
    int rc = blob ? kv_svc_do(&s->svc, &r, &resp) : kv_oom();
    if (rc == KV_OK) {
        memset(out, 0, sizeof *out);
        v = kv_http_resp_header(&resp, "Content-Length");
        out->size = v ? strtoull(v, NULL, 10) : 0;
        out->mtime_unix = kv_time_parse_http(kv_http_resp_header(&resp, "Last-Modified"));
        kv_http_etag_copy(kv_http_resp_header(&resp, "ETag"), out->etag, sizeof out->etag);
    }
    kv_http_resp_free(&resp);
    free(blob);
    return rc;
}

/* A Delete Blob reply for a blob that is not there: removed already. A
 * missing container stays an error. */
static int already_gone(const kv_http_resp *resp)
{
    const char *code = kv_http_resp_header(resp, "x-ms-error-code");
    return resp->status == 404 && !(code && strcmp(code, "ContainerNotFound") == 0);
}

static int az_remove(kv_store *st, const char *key)
{
    az_store *s = (az_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char *blob = kv_bucket_key(&s->b, key);
    kv_svc_req r = {.method = "DELETE", .key = blob};
    int rc = blob ? kv_svc_send(&s->svc, &r, &resp) : kv_oom();
    if (rc == KV_OK && !already_gone(&resp) && (resp.status < 200 || resp.status >= 300))
        rc = kv_svc_fail(&s->svc, blob, &resp);
    kv_http_resp_free(&resp);
    free(blob);
    return rc;
}

/* ---- listing ------------------------------------------------------------ */

typedef struct list_ctx {
    az_store *s;
    const char *prefix;   /* full prefix of blob names */
    kv_list_cb cb;
    void *payload;
} list_ctx;

/* Calls cb for each <Blob> of a List Blobs page. */
static int list_blobs(const list_ctx *l, xmlNode *root, size_t *items)
{
    char name[2048], size[32], mtime[64];
    int rc = KV_OK;
    for (xmlNode *n = kv_xml_child(kv_xml_child(root, "Blobs"), "Blob"); n && rc == KV_OK;
         n = n->next) {
        xmlNode *props;
        kv_object_info info;
        const char *k;
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "Blob") != 0)
            continue;
        props = kv_xml_child(n, "Properties");
        memset(&info, 0, sizeof info);
        kv_xml_text(n, "Name", name, sizeof name);
        kv_xml_text(props, "Content-Length", size, sizeof size);
        kv_xml_text(props, "Last-Modified", mtime, sizeof mtime);
        kv_xml_text(props, "Etag", info.etag, sizeof info.etag);
        kv_http_etag_copy(info.etag, info.etag, sizeof info.etag);
        info.size = strtoull(size, NULL, 10);
        info.mtime_unix = kv_time_parse_http(mtime);
        (*items)++;
        rc = kv_bucket_store_key(&l->s->b, name, l->prefix, &k);
        if (rc == KV_OK)
            rc = l->cb(k, &info, l->payload);
    }
    return rc;
}

/* One List Blobs page; *next is its NextMarker. */
static int list_page(void *ctx, const char *marker, char **next, size_t *items)
{
    const list_ctx *l = ctx;
    az_store *s = l->s;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_http_header q[5] = {{.name = "restype", .value = "container"},
                           {.name = "comp", .value = "list"},
                           {.name = "prefix", .value = l->prefix}};
    char max_results[16], what[1024];
    size_t nq = 3;
    xmlDoc *doc = NULL;
    xmlNode *root = NULL;
    int rc;

    if (marker)
        q[nq++] = (kv_http_header){.name = "marker", .value = marker};
    snprintf(max_results, sizeof max_results, "%d", s->max_results);
    if (s->max_results)
        q[nq++] = (kv_http_header){.name = "maxresults", .value = max_results};
    {
        kv_svc_req r = {.method = "GET", .query = q, .nquery = nq, .object = l->prefix};
        rc = kv_svc_do(&s->svc, &r, &resp); /* errors name the prefix */
    }
    if (rc == KV_OK && !(root = kv_xml_root(doc = kv_xml_parse(&resp.body), "EnumerationResults"))) {
        kv_svc_object_name(&s->svc, l->prefix, what, sizeof what);
        rc = kv_seterr(KV_ETRANSIENT, "%s: the List Blobs reply is not an "
                                      "EnumerationResults document", what);
    }
    if (rc == KV_OK)
        rc = list_blobs(l, root, items);
    if (root)
        *next = kv_xml_text_dup(root, "NextMarker");
    xmlFreeDoc(doc);
    kv_http_resp_free(&resp);
    return rc;
}

static int az_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    az_store *s = (az_store *)st;
    list_ctx l = {.s = s, .prefix = kv_bucket_key(&s->b, prefix), .cb = cb, .payload = payload};
    int rc = l.prefix ? kv_bucket_pages(&s->b, l.prefix, list_page, &l) : kv_oom();
    free((char *)l.prefix);
    return rc;
}

/* ---- block uploads ------------------------------------------------------ */

static void upload_free(kv_upload *up)
{
    if (!up)
        return;
    free(up->blob);
    free(up->stored);
    free(up);
}

/* Base64 of "<tag>-<8-digit part number>": one length for every block of
 * the upload, as Azure requires. */
static void block_id(const kv_upload *up, uint32_t n, char out[48])
{
    char raw[32];
    int len = snprintf(raw, sizeof raw, "%s-%08u", up->tag, n);
    kv_base64_encode(raw, (size_t)len, out);
}

static int az_upload_begin(kv_store *st, const char *key, uint64_t total_size,
                           uint64_t part_size, kv_upload **out)
{
    az_store *s = (az_store *)st;
    char tag[17];
    kv_upload *up;
    int rc;
    uint64_t nparts = part_size ? (total_size + part_size - 1) / part_size : 0;

    *out = NULL;
    if (part_size == 0 || part_size > AZ_MAX_BLOCK || nparts > AZ_MAX_BLOCKS)
        return kv_seterr(KV_EINVAL,
                         "%s%s: %llu bytes in blocks of %llu exceed Azure's limits "
                         "(%u blocks of at most %llu bytes)",
                         s->b.name, key, (unsigned long long)total_size,
                         (unsigned long long)part_size, AZ_MAX_BLOCKS,
                         (unsigned long long)AZ_MAX_BLOCK);
    if ((rc = kv_random_hex(tag, sizeof tag - 1)) != KV_OK)
        return rc;
    up = calloc(1, sizeof *up);
    if (!up)
        return kv_oom();
    up->s = s;
    up->nparts = nparts ? (uint32_t)nparts : 1;
    memcpy(up->tag, tag, sizeof tag);
    up->blob = kv_bucket_key(&s->b, key);
    up->stored = calloc(up->nparts, 1);
    if (!up->blob || !up->stored) {
        upload_free(up);
        return kv_oom();
    }
    *out = up;
    return KV_OK;
}

static int az_upload_part(kv_upload *up, uint32_t n, uint64_t off, const void *buf, size_t len,
                          const kv_digest *digest)
{
    kv_http_header hs[1];
    char md5[32], id[48];
    int rc = kv_bucket_check_part(&up->s->b, up->blob, n, up->nparts);
    (void)off;

    if (rc)
        return rc;
    block_id(up, n, id);
    {
        const kv_http_header q[] = {{.name = "comp", .value = "block"},
                                    {.name = "blockid", .value = id}};
        kv_svc_req r = {.method = "PUT", .key = up->blob, .query = q, .nquery = 2,
                        .headers = hs, .nheaders = md5_header(digest, md5, hs), .body = buf,
                        .body_len = len};
        rc = kv_svc_call(&up->s->svc, &r);
    }
    if (rc == KV_OK)
        up->stored[n - 1] = 1; /* parts own distinct bytes: no lock needed */
    return rc;
}

static int block_list_body(const kv_upload *up, kv_buf *out)
{
    char id[48];
    int rc = kv_buf_puts(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    for (uint32_t i = 0; i < up->nparts && rc == KV_OK; i++) {
        if (!up->stored[i])
            return kv_bucket_missing_part(&up->s->b, up->blob, i + 1);
        block_id(up, i + 1, id);
        rc = kv_buf_printf(out, "<Latest>%s</Latest>", id);
    }
    if (rc == KV_OK)
        rc = kv_buf_puts(out, "</BlockList>");
    return rc;
}

/* Put Block List. Repeating it after a lost reply is harmless: <Latest>
 * also finds blocks that the first attempt committed. */
static int az_upload_complete(kv_upload *up)
{
    const kv_http_header q[] = {{.name = "comp", .value = "blocklist"}};
    kv_buf body = KV_BUF_INIT;
    int rc = block_list_body(up, &body);
    if (rc == KV_OK) {
        kv_svc_req r = {.method = "PUT", .key = up->blob, .query = q, .nquery = 1,
                        .body = body.data, .body_len = body.len};
        rc = kv_svc_call(&up->s->svc, &r);
    }
    kv_buf_free(&body);
    if (rc == KV_OK)
        upload_free(up);
    return rc;
}

/* Nothing to send: see the top of the file. */
static void az_upload_abort(kv_upload *up)
{
    upload_free(up);
}

/* ---- open / close ------------------------------------------------------- */

/* Splits an endpoint "http[s]://host[:port][/path]" into origin and the
 * path before the blob: "[/path]/container". */
static int set_endpoint(az_store *s, const char *endpoint)
{
    int https = strncmp(endpoint, "https://", 8) == 0;
    const char *auth, *slash;
    size_t len;
    if (!https && strncmp(endpoint, "http://", 7) != 0)
        return kv_seterr(KV_EINVAL, "Azure blob endpoint '%s' must start with http:// or https://",
                         endpoint);
    auth = endpoint + (https ? 8 : 7);
    slash = strchr(auth, '/');
    len = slash ? strlen(slash) : 0;
    while (len && slash[len - 1] == '/')
        len--;
    s->origin = strndup(endpoint, slash ? (size_t)(slash - endpoint) : strlen(endpoint));
    if (asprintf(&s->base_path, "%.*s/%s", (int)len, slash ? slash : "", s->b.bucket) < 0)
        s->base_path = NULL;
    return s->origin && s->base_path ? KV_OK : kv_oom();
}

/* 3-63 of a-z 0-9 '-', starting with a letter or digit, no "--"; or $root. */
static int valid_container(const char *c)
{
    size_t n = strlen(c);
    if (strcmp(c, "$root") == 0)
        return 1;
    if (n < 3 || n > 63 || c[0] == '-' || c[n - 1] == '-' || strstr(c, "--"))
        return 0;
    for (; *c; c++)
        if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-')
            return 0;
    return 1;
}

static void az_close(kv_store *st)
{
    az_store *s = (az_store *)st;
    if (!s)
        return;
    kv_http_free(s->svc.http);
    kv_bucket_free(&s->b);
    kv_azure_auth_free(s->auth);
    free(s->origin);
    free(s->base_path);
    free(s);
}

static int load_settings(az_store *s, const kv_store_opts *o)
{
    char what[300];
    int rc;
    snprintf(what, sizeof what, "az://%s", s->b.bucket);
    rc = kv_azure_auth_new(o, what, &s->auth);
    if (rc == KV_OK)
        rc = set_endpoint(s, kv_azure_auth_endpoint(s->auth));
    s->max_results = kv_opt_int(o, "KVAULT_AZURE_MAX_RESULTS", 0);
    return rc;
}

static int az_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    az_store *s;
    int rc;

    *out = NULL;
    if (!valid_container(url->host) || url->port)
        return kv_seterr(KV_EINVAL, "az://%s: not a valid container name (3-63 lower-case "
                                    "letters, digits and single hyphens)", url->host);
    s = calloc(1, sizeof *s);
    if (!s)
        return kv_oom();
    rc = kv_bucket_open(&s->b, url, opts, NULL, &s->svc.http);
    if (rc == KV_OK)
        rc = load_settings(s, opts);
    if (rc) {
        az_close(&s->base);
        return rc;
    }
    s->svc = (kv_service){.http = s->svc.http, .origin = s->origin, .base_path = s->base_path,
                          .name = s->b.name, .bucket = s->b.bucket, .headers = az_headers,
                          .nheaders = 1, .parse_error = az_parse_error, .rules = az_rules};
    kv_azure_auth_use(s->auth, &s->svc.auth);
    kv_debug("azure: container %s at %s%s, account %s, %s, stall timeout %d s", s->b.bucket,
             s->origin, s->base_path,
             kv_azure_auth_account(s->auth) ? kv_azure_auth_account(s->auth) : "(from the SAS)",
             kv_azure_auth_has_key(s->auth) ? "shared key" : "SAS token", opts->stall_timeout_s);
    *out = &s->base;
    return KV_OK;
}

const kv_store_ops kv_azure_ops = {
    .version = KV_STORE_OPS_VERSION,
    .scheme = "az",
    .caps = KV_CAP_MULTIPART | KV_CAP_RANGE_GET | KV_CAP_DIGEST_MD5,
    .min_part = AZ_MIN_BLOCK,
    .max_part = AZ_MAX_BLOCK,
    .max_parts = AZ_MAX_BLOCKS,
    .open = az_open,
    .put = az_put,
    .get = az_get,
    .stat = az_stat,
    .list = az_list,
    .remove = az_remove,
    .upload_begin = az_upload_begin,
    .upload_part = az_upload_part,
    .upload_complete = az_upload_complete,
    .upload_abort = az_upload_abort,
    .sync = NULL,
    .close = az_close,
};
