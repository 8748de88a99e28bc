/* The service-request path (service.h): URL, headers, authorization, send,
 * and error replies mapped by rules into one message shape. */
#include "http/service.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/sign_aws.h"
#include "util/err.h"
#include "util/xml.h"

/* ---- requests ------------------------------------------------------------- */

/* The raw path, "<base_path>/<key>", and the URL: origin, encoded path,
 * sorted encoded query. */
static int build_url(const kv_service *svc, const kv_svc_req *req, kv_buf *path,
                     kv_svc_sign *sg)
{
    size_t start;
    int rc;
    if (req->url)
        return kv_buf_puts(&sg->url, req->url);
    rc = kv_buf_printf(path, "%s%s%s", svc->base_path ? svc->base_path : "",
                       req->key ? "/" : "", req->key ? req->key : "");
    if (rc == KV_OK)
        rc = kv_buf_puts(&sg->url, svc->origin);
    start = sg->url.len;
    if (rc == KV_OK)
        rc = kv_aws_uri_encode(*path->data ? path->data : "/", 1, &sg->url);
    if (rc == KV_OK && req->nquery) {
        rc = kv_buf_puts(&sg->url, "?");
        if (rc == KV_OK)
            rc = kv_aws_canonical_query(req->query, req->nquery, &sg->url);
    }
    sg->path = path->data;
    sg->encoded_path = NULL;
    if (rc == KV_OK) {
        size_t end = start + strcspn(sg->url.data + start, "?");
        rc = kv_buf_put(path, "", 1); /* the encoded path follows the raw one */
        if (rc == KV_OK)
            rc = kv_buf_put(path, sg->url.data + start, end - start);
        sg->path = path->data;
        sg->encoded_path = path->data + strlen(path->data) + 1;
    }
    return rc;
}

static void sign_init(const kv_service *svc, const kv_svc_req *req, kv_svc_sign *sg)
{
    const char *host = strstr(svc->origin ? svc->origin : "", "://");
    memset(sg, 0, sizeof *sg);
    sg->method = req->method;
    sg->host = host ? host + 3 : "";
    sg->query = req->query;
    sg->nquery = req->nquery;
    sg->body = req->body;
    sg->body_len = req->body_len;
    sg->body_sha256 = req->body_sha256;
}

static void sign_free(kv_svc_sign *sg)
{
    for (size_t i = 0; i < sg->nvalues; i++) {
        if (sg->values[i].data)
            OPENSSL_cleanse(sg->values[i].data, sg->values[i].len);
        kv_buf_free(&sg->values[i]);
    }
    if (sg->url.data) /* may hold a SAS token or a delegation token */
        OPENSSL_cleanse(sg->url.data, sg->url.len);
    kv_buf_free(&sg->url);
}

int kv_svc_add_header(kv_svc_sign *sg, const char *name, const char *value)
{
    kv_buf *v;
    if (sg->nheaders == KV_SVC_MAX_HEADERS || sg->nvalues == KV_SVC_MAX_VALUES)
        return kv_seterr(KV_EINVAL, "http: too many request headers (%s)", name);
    v = &sg->values[sg->nvalues++];
    if (kv_buf_puts(v, value) != KV_OK)
        return kv_oom();
    sg->headers[sg->nheaders++] = (kv_http_header){.name = name, .value = v->data};
    return KV_OK;
}

int kv_svc_add_query(kv_svc_sign *sg, const char *encoded)
{
    return kv_buf_printf(&sg->url, "%c%s", strchr(sg->url.data, '?') ? '&' : '?', encoded);
}

static int add_headers(kv_svc_sign *sg, const kv_http_header *hs, size_t n)
{
    if (sg->nheaders + n > KV_SVC_MAX_HEADERS)
        return kv_seterr(KV_EINVAL, "http: too many request headers");
    for (size_t i = 0; i < n; i++)
        sg->headers[sg->nheaders++] = hs[i];
    return KV_OK;
}

int kv_svc_send(kv_service *svc, const kv_svc_req *req, kv_http_resp *resp)
{
    kv_buf path = KV_BUF_INIT;
    kv_svc_sign sg;
    int rc;

    sign_init(svc, req, &sg);
    rc = build_url(svc, req, &path, &sg);
    if (rc == KV_OK)
        rc = add_headers(&sg, svc->headers, svc->nheaders);
    if (rc == KV_OK)
        rc = add_headers(&sg, req->headers, req->nheaders);
    if (rc == KV_OK && svc->auth.authorize)
        rc = svc->auth.authorize(svc->auth.ctx, &sg);
    if (rc == KV_OK) {
        kv_http_req hr = {.method = req->method, .url = sg.url.data, .headers = sg.headers,
                          .nheaders = sg.nheaders, .body = req->body,
                          .body_len = req->body_len, .dst = req->dst, .dst_cap = req->dst_cap};
        rc = kv_http_do(svc->http, &hr, resp);
    }
    if (rc == KV_OK && resp->status == 401 && svc->auth.refused)
        svc->auth.refused(svc->auth.ctx, &sg);
    sign_free(&sg);
    kv_buf_free(&path);
    return rc;
}

int kv_svc_do(kv_service *svc, const kv_svc_req *req, kv_http_resp *resp)
{
    int rc = kv_svc_send(svc, req, resp);
    if (rc == KV_OK && (resp->status < 200 || resp->status >= 300))
        rc = kv_svc_fail(svc, req->object ? req->object : req->key, resp);
    return rc;
}

int kv_svc_call(kv_service *svc, const kv_svc_req *req)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    int rc = kv_svc_do(svc, req, &resp);
    kv_http_resp_free(&resp);
    return rc;
}

/* ---- errors ----------------------------------------------------------------- */

/* Whether the reply has the header of a rule's "Name: value". */
static int has_header(const kv_http_resp *resp, const char *rule)
{
    const char *colon = strchr(rule, ':'), *want = colon ? colon + 1 : "", *v;
    char name[64];
    snprintf(name, sizeof name, "%.*s", colon ? (int)(colon - rule) : (int)strlen(rule), rule);
    want += strspn(want, " ");
    v = kv_http_resp_header(resp, name);
    return v && strncasecmp(v, want, strlen(want)) == 0;
}

static int rule_matches(const kv_svc_rule *r, const kv_svc_error *e, const kv_http_resp *resp)
{
    return (!r->code || strcmp(r->code, e->code) == 0) && (!r->http || r->http == e->http) &&
           (!r->in_message || strcasestr(e->message, r->in_message)) &&
           (!r->header || has_header(resp, r->header));
}

static const kv_svc_rule *find_rule(const kv_svc_rule *rules, const kv_svc_error *e,
                                    const kv_http_resp *resp)
{
    for (const kv_svc_rule *r = rules;
         r && (r->code || r->http || r->in_message || r->header || r->hint); r++)
        if (rule_matches(r, e, resp))
            return r;
    return NULL;
}

/* The hint with its "%s" (if any) replaced by the bucket. */
static void format_hint(const char *hint, const char *bucket, char *out, size_t n)
{
    const char *mark = strstr(hint, "%s");
    if (mark)
        snprintf(out, n, "; %.*s%s%s", (int)(mark - hint), hint, bucket ? bucket : "",
                 mark + 2);
    else
        snprintf(out, n, "; %s", hint);
}

int kv_svc_error_of(const kv_service *svc, const kv_http_resp *resp, kv_svc_error *err)
{
    const kv_svc_rule *r;
    memset(err, 0, sizeof *err);
    err->http = resp->status;
    if (svc->parse_error)
        svc->parse_error(resp, err);
    r = find_rule(svc->auth.rules, err, resp);
    if (!r)
        r = find_rule(svc->rules, err, resp);
    err->status = r && r->status ? r->status : kv_http_status_code(resp->status);
    if (r && r->hint)
        format_hint(r->hint, svc->bucket, err->hint, sizeof err->hint);
    return err->status;
}

void kv_svc_object_name(const kv_service *svc, const char *object, char *out, size_t n)
{
    snprintf(out, n, "%s%s", svc->name, object ? object : "");
}

int kv_svc_fail(const kv_service *svc, const char *object, const kv_http_resp *resp)
{
    char what[1024];
    kv_svc_error e;
    kv_svc_error_of(svc, resp, &e);
    kv_svc_object_name(svc, object, what, sizeof what);
    return kv_seterr(e.status, "%s: %s%s%s (HTTP %ld)%s", what,
                     *e.code ? e.code : kv_http_status_name(e.http), *e.message ? ": " : "",
                     e.message, e.http, e.hint);
}

void kv_svc_xml_error(const kv_http_resp *resp, kv_svc_error *err)
{
    xmlDoc *doc = kv_xml_parse(&resp->body);
    xmlNode *root = kv_xml_root(doc, "Error");
    if (root && !*err->code)
        kv_xml_text(root, "Code", err->code, sizeof err->code);
    if (root)
        kv_xml_text(root, "Message", err->message, sizeof err->message);
    err->message[strcspn(err->message, "\r\n")] = '\0';
    xmlFreeDoc(doc);
}

/* ---- ranged reads -------------------------------------------------------------- */

void kv_svc_range(uint64_t off, size_t len, char out[64])
{
    snprintf(out, 64, "bytes=%llu-%llu", (unsigned long long)off,
             (unsigned long long)(off + len - 1));
}

int kv_svc_check_range(const kv_service *svc, const char *object, const kv_http_resp *resp,
                       uint64_t off, const char *range)
{
    char what[1024];
    if (resp->status != 206 && off == 0)
        return KV_OK;
    kv_svc_object_name(svc, object, what, sizeof what);
    if (resp->status == 206)
        return kv_http_check_content_range(resp, off, what);
    return kv_seterr(KV_ECORRUPT, "%s: the server ignored the range %s (HTTP %ld)", what, range,
                     resp->status);
}
