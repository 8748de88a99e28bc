/* Keys, names, part numbers and pages of the object-service backends
 * (bucket.h). */
#include "store/bucket.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

int kv_bucket_open(kv_bucket *b, const kv_url *url, const kv_store_opts *o, const char *ca_var,
                   kv_http **http)
{
    kv_http_opts ho = {.connect_timeout_s = o->connect_timeout_s,
                       .stall_timeout_s = o->stall_timeout_s};
    int rc;
    b->bucket = strdup(url->host);
    b->root = strdup(url->path);
    if (asprintf(&b->name, "%s://%s/", url->scheme, url->host) < 0)
        b->name = NULL;
    if (!b->bucket || !b->root || !b->name)
        return kv_oom();
    if ((rc = kv_opt_ca_file(o, ca_var, &ho.ca_file)))
        return rc;
    return kv_http_new(&ho, http);
}

void kv_bucket_free(kv_bucket *b)
{
    free(b->bucket);
    free(b->root);
    free(b->name);
}

char *kv_bucket_key(const kv_bucket *b, const char *key)
{
    char *out = NULL;
    if (asprintf(&out, "%s%s%s", b->root, *b->root ? "/" : "", key) < 0)
        return NULL;
    return out;
}

const char *kv_bucket_store_key(const kv_bucket *b, const char *name)
{
    size_t skip = *b->root ? strlen(b->root) + 1 : 0;
    return strlen(name) >= skip ? name + skip : NULL;
}

int kv_bucket_check_part(const kv_bucket *b, const char *key, uint32_t n, uint32_t nparts)
{
    if (n >= 1 && n <= nparts)
        return KV_OK;
    return kv_seterr(KV_EINVAL, "%s%s: part %u is outside 1..%u", b->name, key, n, nparts);
}

int kv_bucket_missing_part(const kv_bucket *b, const char *key, uint32_t n)
{
    return kv_seterr(KV_EINVAL, "%s%s: part %u was never uploaded", b->name, key, n);
}

int kv_pages(kv_page_fn page, void *ctx)
{
    char *token = NULL, *next = NULL;
    int rc;
    do {
        rc = page(ctx, token, &next);
        free(token);
        token = next;
        next = NULL;
    } while (rc == KV_OK && token && *token);
    free(token);
    return rc;
}
