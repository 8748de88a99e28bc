/* Helpers for reading replies that every network backend shares. */
#include <stdio.h>
#include <string.h>

#include "http/http.h"
#include "util/err.h"

int kv_http_status_code(long status)
{
    switch (status) {
    case 408: case 429: case 500: case 502: case 503: case 504:
        return KV_ETRANSIENT;
    case 401: case 403:
        return KV_EAUTH;
    case 404:
        return KV_ENOTFOUND;
    case 412:
        return KV_EEXIST;
    case 400:
        return KV_EINVAL;
    default:
        return KV_ERR;
    }
}

const char *kv_http_status_name(long status)
{
    switch (status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 409: return "Conflict";
    case 412: return "PreconditionFailed";
    case 503: return "ServiceUnavailable";
    default: return "HTTP error";
    }
}

int kv_http_check_content_range(const kv_http_resp *resp, uint64_t off, const char *what)
{
    const char *cr = kv_http_resp_header(resp, "Content-Range");
    unsigned long long start;
    if (cr && sscanf(cr, "bytes %llu-", &start) == 1 && start == off)
        return KV_OK;
    return kv_seterr(KV_ECORRUPT, "%s: asked for bytes from %llu, the server sent range '%s'",
                     what, (unsigned long long)off, cr ? cr : "(none)");
}

void kv_http_etag_copy(const char *etag, char *out, size_t n)
{
    size_t len;
    if (!etag) {
        out[0] = '\0';
        return;
    }
    if (*etag == '"')
        etag++;
    len = strlen(etag);
    if (len && etag[len - 1] == '"')
        len--;
    if (len >= n)
        len = n - 1;
    memmove(out, etag, len);
    out[len] = '\0';
}
