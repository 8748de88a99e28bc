/*
 * Azure Blob Storage (block blobs), over the REST API with Shared Key or a
 * SAS token: az://container/prefix.
 *
 * Settings come from where Azure's own tools take them:
 * AZURE_STORAGE_CONNECTION_STRING (AccountName, AccountKey,
 * SharedAccessSignature, BlobEndpoint, DefaultEndpointsProtocol,
 * EndpointSuffix, or UseDevelopmentStorage=true for the emulator's
 * well-known account), else AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY
 * (Shared Key) or AZURE_STORAGE_SAS_TOKEN. With both a key and a SAS the key
 * is used. KVAULT_AZURE_ENDPOINT or AZURE_STORAGE_BLOB_ENDPOINT overrides the
 * endpoint (emulators, sovereign clouds); the default is
 * https://<account>.blob.core.windows.net. An endpoint with a path, such as
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
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/http.h"
#include "http/sign_azure.h"
#include "store/store.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/random.h"
#include "util/secret.h"
#include "util/time.h"
#include "util/url.h"
#include "util/xml.h"

#define MIB (1024ull * 1024ull)
/* Azure takes blocks of any size; below 1 MiB the per-request cost wins. */
#define AZ_MIN_BLOCK (1 * MIB)
#define AZ_MAX_BLOCK (4000 * MIB)
#define AZ_MAX_BLOCKS 50000
/* Supported by Azure and by Azurite 3.35 in strict mode. */
#define AZ_VERSION "2021-08-06"
#define MAX_HEADERS 8

/* The storage emulator's published development account. */
#define DEV_ACCOUNT "devstoreaccount1"
#define DEV_KEY \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define DEV_ENDPOINT "http://127.0.0.1:10000/" DEV_ACCOUNT

typedef struct az_store {
    kv_store base;
    kv_http *http;
    char *container;
    char *root;            /* blob name prefix of the store, no slashes at the ends */
    char *account;         /* NULL only with a SAS and an explicit endpoint */
    unsigned char key[KV_AZURE_KEY_MAX];
    size_t key_len;        /* 0: authorize with the SAS instead */
    char *sas;             /* SAS query string without '?' */
    char *origin;          /* "https://acct.blob.core.windows.net" */
    char *base_path;       /* encoded path before the container: "" or "/acct" */
    int max_results;       /* 0 = the service's default page size */
} az_store;

struct kv_upload {
    az_store *s;
    char *blob;            /* full blob name */
    char tag[17];          /* random hex: this upload's block IDs differ from others' */
    uint32_t nparts;
    unsigned char *stored; /* [nparts]: block n+1 was stored */
};

/* One REST call: the parts that differ from call to call. */
typedef struct az_call {
    const char *method;
    const char *blob;                /* full blob name; NULL = the container */
    const kv_http_header *query;     /* decoded names and values */
    size_t nquery;
    const kv_http_header *headers;   /* extra headers, sent and signed */
    size_t nheaders;
    const void *body;
    size_t body_len;
    void *dst;                       /* fixed buffer for a 2xx body */
    size_t dst_cap;
} az_call;

/* ---- small helpers ------------------------------------------------------ */

/* The blob name for a store key, "root/key"; also the List Blobs prefix for
 * a store prefix ("root/" + prefix, never "root" alone). */
static char *full_name(const az_store *s, const char *key)
{
    char *out = NULL;
    if (asprintf(&out, "%s%s%s", s->root, *s->root ? "/" : "", key) < 0)
        return NULL;
    return out;
}

/* "az://container/blob" for messages. */
static void object_name(const az_store *s, const char *blob, char *out, size_t n)
{
    snprintf(out, n, "az://%s/%s", s->container, blob ? blob : "");
}

/* ---- errors ------------------------------------------------------------- */

static int is_code(const char *code, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(code, *list) == 0)
            return 1;
    return 0;
}

/* The status for an Azure error reply (store.h's mapping). */
static int status_code_for(long http, const char *code)
{
    static const char *const corrupt[] = {"Md5Mismatch", "Crc64Mismatch", NULL};
    static const char *const transient[] = {"ServerBusy", "OperationTimedOut", "InternalError",
                                            NULL};
    if (is_code(code, corrupt))
        return KV_ECORRUPT;
    if (is_code(code, transient))
        return KV_ETRANSIENT;
    if (http == 409)
        return KV_EEXIST;
    return kv_http_status_code(http);
}

/* What a person should check, for the errors that have a usual cause. With
 * a key every 403 is about the key or the clock (a key may do anything);
 * Azurite answers a bad signature with AuthorizationFailure where Azure says
 * AuthenticationFailed. With a SAS the code tells the cause apart. */
static const char *hint_for(const az_store *s, long http, const char *code, char *buf, size_t n)
{
    if (strcmp(code, "ContainerNotFound") == 0) {
        snprintf(buf, n, "; container '%s' does not exist", s->container);
        return buf;
    }
    if (http != 403)
        return "";
    if (s->key_len)
        return "; check AZURE_STORAGE_KEY (or the AccountKey of "
               "AZURE_STORAGE_CONNECTION_STRING) and the system clock";
    if (strcmp(code, "AuthenticationFailed") == 0)
        return "; check the SAS token (its signature, start and expiry) and the system clock";
    if (strcmp(code, "AuthorizationPermissionMismatch") == 0 ||
        strcmp(code, "AuthorizationResourceTypeMismatch") == 0)
        return "; the SAS token lacks a permission this operation needs (kvault uses read, "
               "add, create, write, delete and list)";
    return "; the SAS token was refused: check its start and expiry, its permissions (kvault "
           "uses read, add, create, write, delete and list) and the system clock";
}

/* Names an error without a code (HEAD has no body) by its status. */
static const char *code_from_status(long http)
{
    switch (http) {
    case 400: return "BadRequest";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 409: return "Conflict";
    case 412: return "PreconditionFailed";
    case 503: return "ServiceUnavailable";
    default: return "HTTP error";
    }
}

/* The error code of a reply: the x-ms-error-code header, else <Error><Code>;
 * and the first line of <Message> (the rest is a request ID and a time). */
static void error_fields(const kv_http_resp *resp, char *code, size_t ncode, char *msg,
                         size_t nmsg)
{
    const char *h = kv_http_resp_header(resp, "x-ms-error-code");
    xmlDoc *doc = kv_xml_parse(&resp->body);
    xmlNode *root = kv_xml_root(doc, "Error");
    snprintf(code, ncode, "%s", h ? h : "");
    msg[0] = '\0';
    if (root && !*code)
        kv_xml_text(root, "Code", code, ncode);
    if (root)
        kv_xml_text(root, "Message", msg, nmsg);
    msg[strcspn(msg, "\r\n")] = '\0';
    xmlFreeDoc(doc);
}

/* Sets the thread's message from an error reply and returns its status:
 * "az://container/blob: Code: Message (HTTP nnn)[; hint]". */
static int az_fail(const az_store *s, const char *blob, const kv_http_resp *resp)
{
    char what[1024], code[128], msg[512], hintbuf[160];
    const char *hint;
    error_fields(resp, code, sizeof code, msg, sizeof msg);
    object_name(s, blob, what, sizeof what);
    hint = hint_for(s, resp->status, code, hintbuf, sizeof hintbuf);
    return kv_seterr(status_code_for(resp->status, code), "%s: %s%s%s (HTTP %ld)%s", what,
                     *code ? code : code_from_status(resp->status), *msg ? ": " : "", msg,
                     resp->status, hint);
}

static int az_check(const az_store *s, const char *blob, const kv_http_resp *resp)
{
    if (resp->status >= 200 && resp->status < 300)
        return KV_OK;
    return az_fail(s, blob, resp);
}

/* ---- requests ----------------------------------------------------------- */

/* The encoded URL path: base path, container and, if any, the blob. */
static int build_path(const az_store *s, const char *blob, kv_buf *path)
{
    char *enc = blob ? kv_url_encode(blob, 1) : NULL;
    int rc;
    if (blob && !enc)
        return kv_oom();
    rc = kv_buf_printf(path, "%s/%s%s%s", s->base_path, s->container, blob ? "/" : "",
                       blob ? enc : "");
    free(enc);
    return rc;
}

/* origin + path + "?name=value&..." (values encoded) + the SAS, if any. */
static int build_url(const az_store *s, const az_call *c, const char *path, kv_buf *url)
{
    int rc = kv_buf_printf(url, "%s%s", s->origin, path);
    char sep = '?';
    for (size_t i = 0; i < c->nquery && rc == KV_OK; i++, sep = '&') {
        char *v = kv_url_encode(c->query[i].value, 0);
        rc = v ? kv_buf_printf(url, "%c%s=%s", sep, c->query[i].name, v) : kv_oom();
        free(v);
    }
    if (rc == KV_OK && s->sas && !s->key_len)
        rc = kv_buf_printf(url, "%c%s", sep, s->sas);
    return rc;
}

/* Signs (with a key) and sends one call; KV_OK when a reply of any status
 * arrived. */
static int az_send(az_store *s, const az_call *c, kv_http_resp *resp)
{
    kv_buf path = KV_BUF_INIT, url = KV_BUF_INIT, auth = KV_BUF_INIT;
    kv_http_header hs[MAX_HEADERS];
    char date[KV_AZURE_DATE_MAX];
    size_t n = 0;
    int rc;

    if (c->nheaders + 3 > MAX_HEADERS)
        return kv_seterr(KV_EINVAL, "azure: too many request headers");
    rc = build_path(s, c->blob, &path);
    if (rc == KV_OK)
        rc = build_url(s, c, path.data, &url);
    if (rc)
        goto out;
    kv_azure_date(time(NULL), date);
    hs[n++] = (kv_http_header){"x-ms-date", date};
    hs[n++] = (kv_http_header){"x-ms-version", AZ_VERSION};
    for (size_t i = 0; i < c->nheaders; i++)
        hs[n++] = c->headers[i];
    if (s->key_len) {
        kv_azure_sign_req sr = {c->method, s->account, path.data, c->query, c->nquery,
                                hs, n, c->body_len};
        rc = kv_azure_authorization(&sr, s->key, s->key_len, &auth);
        if (rc)
            goto out;
        hs[n++] = (kv_http_header){"Authorization", auth.data};
    }
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
static int az_do(az_store *s, const az_call *c, kv_http_resp *resp)
{
    int rc = az_send(s, c, resp);
    return rc ? rc : az_check(s, c->blob, resp);
}

/* ---- objects ------------------------------------------------------------ */

/* Content-MD5 for a body whose digest the caller computed. */
static size_t md5_header(const kv_digest *d, char b64[32], kv_http_header *h)
{
    if (!d || !d->has_md5)
        return 0;
    kv_base64_encode(d->md5, sizeof d->md5, b64);
    *h = (kv_http_header){"Content-MD5", b64};
    return 1;
}

static int az_put(kv_store *st, const char *key, const void *buf, size_t len,
                  const kv_digest *digest)
{
    az_store *s = (az_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_http_header hs[2] = {{"x-ms-blob-type", "BlockBlob"}};
    char md5[32];
    char *blob = full_name(s, key);
    int rc;
    if (!blob)
        return kv_oom();
    {
        az_call c = {"PUT", blob, NULL, 0, hs, 1 + md5_header(digest, md5, &hs[1]), buf, len,
                     NULL, 0};
        rc = az_do(s, &c, &resp);
    }
    kv_http_resp_free(&resp);
    free(blob);
    return rc;
}

static int az_stat(kv_store *st, const char *key, kv_object_info *out);

static int az_get(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
                  size_t *got)
{
    az_store *s = (az_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_http_header hs[1];
    char range[64], what[1024];
    char *blob;
    int rc;

    *got = 0;
    if (len == 0) {
        kv_object_info info; /* nothing to read, but a missing key is still an error */
        return az_stat(st, key, &info);
    }
    blob = full_name(s, key);
    if (!blob)
        return kv_oom();
    snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)off,
             (unsigned long long)(off + len - 1));
    hs[0] = (kv_http_header){"x-ms-range", range};
    {
        az_call c = {"GET", blob, NULL, 0, hs, 1, NULL, 0, buf, len};
        rc = az_send(s, &c, &resp);
    }
    /* InvalidRange: off is at or past the end (an empty blob has no range
     * at all); the transfer engine reads exactly there to find the end */
    if (rc || resp.status == 416)
        goto out;
    rc = az_check(s, blob, &resp);
    if (rc == KV_OK && (resp.status == 206 || off != 0))
        object_name(s, blob, what, sizeof what);
    if (rc == KV_OK && resp.status == 206)
        rc = kv_http_check_content_range(&resp, off, what);
    else if (rc == KV_OK && off != 0)
        rc = kv_seterr(KV_ECORRUPT, "%s: the service ignored the range %s (HTTP %ld)", what,
                       range, resp.status);
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
    char *blob = full_name(s, key);
    int rc;
    if (!blob)
        return kv_oom();
    {
        az_call c = {"HEAD", blob, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
        rc = az_do(s, &c, &resp);
    }
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
    char *blob = full_name(s, key);
    int rc;
    if (!blob)
        return kv_oom();
    {
        az_call c = {"DELETE", blob, NULL, 0, NULL, 0, NULL, 0, NULL, 0};
        rc = az_send(s, &c, &resp);
    }
    if (rc == KV_OK && !already_gone(&resp))
        rc = az_check(s, blob, &resp);
    kv_http_resp_free(&resp);
    free(blob);
    return rc;
}

/* ---- listing ------------------------------------------------------------ */

/* Calls cb for each <Blob> of a List Blobs page. */
static int list_page(const az_store *s, xmlNode *root, kv_list_cb cb, void *payload)
{
    size_t skip = *s->root ? strlen(s->root) + 1 : 0;
    char name[2048], size[32], mtime[64];
    int rc = KV_OK;
    for (xmlNode *n = kv_xml_child(kv_xml_child(root, "Blobs"), "Blob"); n && rc == KV_OK;
         n = n->next) {
        xmlNode *props;
        kv_object_info info;
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
        if (strlen(name) >= skip)
            rc = cb(name + skip, &info, payload);
    }
    return rc;
}

static int az_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    az_store *s = (az_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char *p = full_name(s, prefix), *marker = NULL, max_results[16], what[1024];
    xmlDoc *doc = NULL;
    int rc = p ? KV_OK : kv_oom();

    snprintf(max_results, sizeof max_results, "%d", s->max_results);
    while (rc == KV_OK) {
        kv_http_header q[5] = {{"restype", "container"}, {"comp", "list"}, {"prefix", p}};
        size_t nq = 3;
        xmlNode *root;
        if (marker)
            q[nq++] = (kv_http_header){"marker", marker};
        if (s->max_results)
            q[nq++] = (kv_http_header){"maxresults", max_results};
        {
            az_call c = {"GET", NULL, q, nq, NULL, 0, NULL, 0, NULL, 0};
            rc = az_send(s, &c, &resp);
        }
        if (rc == KV_OK)
            rc = az_check(s, p, &resp); /* names the prefix */
        if (rc)
            break;
        doc = kv_xml_parse(&resp.body);
        root = kv_xml_root(doc, "EnumerationResults");
        if (!root) {
            object_name(s, p, what, sizeof what);
            rc = kv_seterr(KV_ETRANSIENT, "%s: the List Blobs reply is not an "
                                          "EnumerationResults document", what);
            break;
        }
        rc = list_page(s, root, cb, payload);
        free(marker);
        marker = kv_xml_text_dup(root, "NextMarker");
        xmlFreeDoc(doc);
        doc = NULL;
        if (!marker || !*marker)
            break;
    }
    xmlFreeDoc(doc);
    free(marker);
    kv_http_resp_free(&resp);
    free(p);
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
                         "az://%s/%s: %llu bytes in blocks of %llu exceed Azure's limits "
                         "(%u blocks of at most %llu bytes)",
                         s->container, key, (unsigned long long)total_size,
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
    up->blob = full_name(s, key);
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
    az_store *s = up->s;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_http_header hs[1];
    char md5[32], id[48];
    int rc;
    (void)off;

    if (n < 1 || n > up->nparts)
        return kv_seterr(KV_EINVAL, "az://%s/%s: part %u is outside 1..%u", s->container,
                         up->blob, n, up->nparts);
    block_id(up, n, id);
    {
        const kv_http_header q[] = {{"comp", "block"}, {"blockid", id}};
        az_call c = {"PUT", up->blob, q, 2, hs, md5_header(digest, md5, hs), buf, len, NULL, 0};
        rc = az_do(s, &c, &resp);
    }
    if (rc == KV_OK)
        up->stored[n - 1] = 1; /* parts own distinct bytes: no lock needed */
    kv_http_resp_free(&resp);
    return rc;
}

static int block_list_body(const kv_upload *up, kv_buf *out)
{
    char id[48];
    int rc = kv_buf_puts(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    for (uint32_t i = 0; i < up->nparts && rc == KV_OK; i++) {
        if (!up->stored[i])
            return kv_seterr(KV_EINVAL, "az://%s/%s: part %u was never uploaded",
                             up->s->container, up->blob, i + 1);
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
    az_store *s = up->s;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    const kv_http_header q[] = {{"comp", "blocklist"}};
    kv_buf body = KV_BUF_INIT;
    int rc = block_list_body(up, &body);
    if (rc == KV_OK) {
        az_call c = {"PUT", up->blob, q, 1, NULL, 0, body.data, body.len, NULL, 0};
        rc = az_do(s, &c, &resp);
    }
    kv_buf_free(&body);
    kv_http_resp_free(&resp);
    if (rc == KV_OK)
        upload_free(up);
    return rc;
}

/* Nothing to send: see the top of the file. */
static void az_upload_abort(kv_upload *up)
{
    upload_free(up);
}

/* ---- configuration ------------------------------------------------------ */

/* The value of name in a connection string "A=1;B=2" (names in any case;
 * values may hold '='), malloc'd, or NULL. */
static char *conn_get(const char *cs, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = cs; *p;) {
        size_t len = strcspn(p, ";");
        while (len && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        if (len > nlen && p[nlen] == '=' && strncasecmp(p, name, nlen) == 0)
            return strndup(p + nlen + 1, len - nlen - 1);
        p += len;
        if (*p == ';')
            p++;
    }
    return NULL;
}

/* Secrets read from the environment, before they reach the store. */
typedef struct az_settings {
    char *account, *key, *sas, *endpoint;
} az_settings;

static void settings_free(az_settings *a)
{
    free(a->account);
    kv_secret_free(a->key);
    kv_secret_free(a->sas);
    free(a->endpoint);
}

static char *dup_or_null(const char *v)
{
    return v ? strdup(v) : NULL;
}

/* The endpoint a connection string implies when it names none:
 * DefaultEndpointsProtocol://AccountName.blob.EndpointSuffix. */
static char *conn_endpoint(const char *cs, const char *account)
{
    char *proto = conn_get(cs, "DefaultEndpointsProtocol");
    char *suffix = conn_get(cs, "EndpointSuffix");
    char *out = NULL;
    if (asprintf(&out, "%s://%s.blob.%s", proto ? proto : "https", account,
                 suffix ? suffix : "core.windows.net") < 0)
        out = NULL;
    free(proto);
    free(suffix);
    return out;
}

static int read_connection_string(const char *cs, az_settings *a)
{
    char *dev = conn_get(cs, "UseDevelopmentStorage");
    int use_dev = dev && strcasecmp(dev, "true") == 0;
    free(dev);
    if (use_dev) {
        a->account = strdup(DEV_ACCOUNT);
        a->key = strdup(DEV_KEY);
        a->endpoint = strdup(DEV_ENDPOINT);
        return a->account && a->key && a->endpoint ? KV_OK : kv_oom();
    }
    a->account = conn_get(cs, "AccountName");
    a->key = conn_get(cs, "AccountKey");
    a->sas = conn_get(cs, "SharedAccessSignature");
    a->endpoint = conn_get(cs, "BlobEndpoint");
    if (!a->endpoint && a->account)
        a->endpoint = conn_endpoint(cs, a->account);
    return KV_OK;
}

static int read_settings(const kv_store_opts *o, const char *container, az_settings *a)
{
    const char *cs = kv_opt_str(o, "AZURE_STORAGE_CONNECTION_STRING");
    const char *ep = o->endpoint ? o->endpoint : kv_opt_str(o, "KVAULT_AZURE_ENDPOINT");
    int rc = KV_OK;
    if (cs) {
        rc = read_connection_string(cs, a);
    } else {
        a->account = dup_or_null(kv_opt_str(o, "AZURE_STORAGE_ACCOUNT"));
        a->key = dup_or_null(kv_opt_str(o, "AZURE_STORAGE_KEY"));
        a->sas = dup_or_null(kv_opt_str(o, "AZURE_STORAGE_SAS_TOKEN"));
    }
    if (!ep)
        ep = kv_opt_str(o, "AZURE_STORAGE_BLOB_ENDPOINT");
    if (rc == KV_OK && ep) {
        free(a->endpoint);
        a->endpoint = strdup(ep);
        if (!a->endpoint)
            rc = kv_oom();
    }
    if (rc == KV_OK && !a->endpoint && a->account &&
        asprintf(&a->endpoint, "https://%s.blob.core.windows.net", a->account) < 0) {
        a->endpoint = NULL;
        rc = kv_oom();
    }
    if (rc)
        return rc;
    if ((!a->key && !a->sas) || (a->key && !a->account) || !a->endpoint)
        return kv_seterr(KV_EAUTH,
                         "az://%s: no Azure credentials: set AZURE_STORAGE_CONNECTION_STRING, "
                         "or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or "
                         "AZURE_STORAGE_SAS_TOKEN",
                         container);
    return KV_OK;
}

/* Splits an endpoint "http[s]://host[:port][/path]" into origin and path. */
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
    s->origin = strndup(endpoint, slash ? (size_t)(slash - endpoint) : strlen(endpoint));
    s->base_path = strdup(slash ? slash : "");
    if (!s->origin || !s->base_path)
        return kv_oom();
    for (len = strlen(s->base_path); len && s->base_path[len - 1] == '/'; len--)
        s->base_path[len - 1] = '\0';
    return KV_OK;
}

static int load_settings(az_store *s, const kv_store_opts *o)
{
    az_settings a = {NULL, NULL, NULL, NULL};
    int rc = read_settings(o, s->container, &a);
    if (rc == KV_OK && a.key && kv_azure_decode_key(a.key, s->key, &s->key_len) != KV_OK)
        rc = kv_seterr(KV_EAUTH, "az://%s: the account key is not valid base64: check "
                                 "AZURE_STORAGE_KEY or the AccountKey of "
                                 "AZURE_STORAGE_CONNECTION_STRING", s->container);
    if (rc == KV_OK)
        rc = set_endpoint(s, a.endpoint);
    if (rc == KV_OK && a.sas && !s->key_len) {
        s->sas = strdup(a.sas + (a.sas[0] == '?'));
        if (!s->sas)
            rc = kv_oom();
    }
    if (rc == KV_OK && a.account) {
        s->account = strdup(a.account);
        if (!s->account)
            rc = kv_oom();
    }
    settings_free(&a);
    return rc;
}

/* ---- open / close ------------------------------------------------------- */

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
    kv_http_free(s->http);
    free(s->container);
    free(s->root);
    free(s->account);
    OPENSSL_cleanse(s->key, sizeof s->key);
    kv_secret_free(s->sas);
    free(s->origin);
    free(s->base_path);
    free(s);
}

static int az_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    az_store *s;
    kv_http_opts ho;
    int rc;

    *out = NULL;
    if (!valid_container(url->host) || url->port)
        return kv_seterr(KV_EINVAL, "az://%s: not a valid container name (3-63 lower-case "
                                    "letters, digits and single hyphens)", url->host);
    s = calloc(1, sizeof *s);
    if (!s)
        return kv_oom();
    s->container = strdup(url->host);
    s->root = strdup(url->path);
    if (!s->container || !s->root) {
        rc = kv_oom();
        goto out;
    }
    rc = load_settings(s, opts);
    if (rc)
        goto out;
    s->max_results = kv_opt_int(opts, "KVAULT_AZURE_MAX_RESULTS", 0);
    ho.connect_timeout_s = opts->connect_timeout_s;
    ho.stall_timeout_s = opts->stall_timeout_s;
    rc = kv_http_new(&ho, &s->http);
    if (rc)
        goto out;
    kv_debug("azure: container %s at %s%s, account %s, %s, stall timeout %d s", s->container,
             s->origin, s->base_path, s->account ? s->account : "(from the SAS)",
             s->key_len ? "shared key" : "SAS token", ho.stall_timeout_s);
    *out = &s->base;
out:
    if (rc)
        az_close(&s->base);
    return rc;
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
