/* The HTTP client, keys, names, part numbers and pages of the network
 * backends (bucket.h). */
#include "store/bucket.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/err.h"
#include "util/escape.h"
#include "util/strset.h"

#define KIB 1024ll

long long kv_setting_size(const kv_store_opts *o, const char *name, long long fallback)
{
    const char *v = kv_opt_str(o, name), *units = "KMG", *unit;
    char *end;
    long long n;
    if (!v)
        return fallback;
    n = strtoll(v, &end, 10);
    if (*end && (unit = strchr(units, toupper((unsigned char)*end)))) {
        for (const char *u = units; u <= unit; u++)
            n = n > LLONG_MAX / KIB ? 0 : n * KIB;
        end++;
    }
    return *end || n <= 0 ? fallback : n;
}

int kv_store_http_new(const kv_store_opts *o, const char *ca_var, int negotiate, kv_http **http)
{
    kv_http_opts ho = {
        .connect_timeout_s = o->connect_timeout_s,
        .stall_timeout_s = o->stall_timeout_s,
        .min_rate = (long)kv_setting_size(o, "KVAULT_MIN_RATE", KV_HTTP_MIN_RATE),
        .max_reply = (size_t)kv_setting_size(o, "KVAULT_MAX_REPLY", (long long)KV_HTTP_MAX_REPLY),
        .negotiate = negotiate,
    };
    int rc = kv_opt_ca_file(o, ca_var, &ho.ca_file);
    return rc ? rc : kv_http_new(&ho, http);
}

int kv_bucket_open(kv_bucket *b, const kv_url *url, const kv_store_opts *o, const char *ca_var,
                   kv_http **http)
{
    b->bucket = strdup(url->host);
    b->root = strdup(url->path);
    if (asprintf(&b->name, "%s://%s/", url->scheme, url->host) < 0)
        b->name = NULL;
    if (!b->bucket || !b->root || !b->name)
        return kv_oom();
    return kv_store_http_new(o, ca_var, 0, http);
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

int kv_bucket_store_key(const kv_bucket *b, const char *name, const char *full_prefix,
                        const char **key)
{
    int rc = kv_listed_key_check(b->name, name, full_prefix);
    *key = rc ? NULL : name + (*b->root ? strlen(b->root) + 1 : 0);
    return rc;
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

/* KV_OK for a next page that is progress: a token never seen before, after
 * fewer than KV_PAGES_MAX_EMPTY empty pages in a row. */
static int check_progress(const char *what, kv_strset *seen, const char *token,
                          size_t empty_run, size_t page)
{
    char shown[200];
    int added = 0;
    int rc = kv_strset_add(seen, token, strlen(token), &added);
    if (rc == KV_OK && !added)
        rc = kv_seterr(KV_ECORRUPT, "%s: the listing's page %zu repeated the continuation token "
                       "'%s' of an earlier page (the server pages in a circle); the listing was "
                       "stopped", what, page, kv_escape(token, shown, sizeof shown));
    else if (rc == KV_OK && empty_run >= KV_PAGES_MAX_EMPTY)
        rc = kv_seterr(KV_ECORRUPT, "%s: %zu listing pages in a row held nothing yet promised "
                       "more; the listing was stopped", what, empty_run);
    return rc;
}

int kv_pages(const char *what, kv_page_fn page, void *ctx)
{
    kv_strset seen = KV_STRSET_INIT;
    char *token = NULL, *next = NULL;
    size_t items, empty_run = 0, n = 0;
    int rc;
    do {
        items = 0;
        rc = page(ctx, token, &next, &items);
        free(token);
        token = next;
        next = NULL;
        empty_run = items ? 0 : empty_run + 1;
        n++;
        if (rc == KV_OK && token && *token)
            rc = check_progress(what, &seen, token, empty_run, n);
    } while (rc == KV_OK && token && *token);
    free(token);
    kv_strset_free(&seen);
    return rc;
}

int kv_bucket_pages(const kv_bucket *b, const char *full_prefix, kv_page_fn page, void *ctx)
{
    char what[1024];
    snprintf(what, sizeof what, "%s%s", b->name, full_prefix);
    return kv_pages(what, page, ctx);
}
