/*
 * What the network backends share besides the request path
 * (http/service.h): the HTTP client made from the store's settings, the
 * paging loop of listings; and for the object services (S3, Azure, GCS) the
 * bucket (or container) and the store's root prefix in it, the keys and
 * names made from them, part numbers.
 * Not a backend: any backend may include it.
 */
#ifndef KV_STORE_BUCKET_H
#define KV_STORE_BUCKET_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "kvault/sys/store.h"

typedef struct kv_bucket {
    char *bucket;       /* bucket or container: the URL's host */
    char *root;         /* key prefix of the store, no slashes at the ends */
    char *name;         /* "s3://bucket/": messages name objects after it */
} kv_bucket;

/* An HTTP client as the store's settings ask: its connect and stall
 * timeouts, KVAULT_MIN_RATE (bytes a second a transfer must keep up over the
 * stall time; default 1K) and KVAULT_MAX_REPLY (most bytes of a reply held
 * in memory; default 16M), TLS verified with its CA file (kv_opt_ca_file;
 * ca_var: the cloud's own setting, or NULL); negotiate: SPNEGO. */
int kv_store_http_new(const kv_store_opts *o, const char *ca_var, int negotiate, kv_http **http);

/* A size setting: a whole number of bytes, or of KiB, MiB, GiB with K, M,
 * G after it; fallback when unset, not a size or not above 0. */
long long kv_setting_size(const kv_store_opts *o, const char *name, long long fallback);

/* From a URL scheme://bucket/root, with a client of kv_store_http_new. */
int kv_bucket_open(kv_bucket *b, const kv_url *url, const kv_store_opts *o, const char *ca_var,
                   kv_http **http);
void kv_bucket_free(kv_bucket *b);

/* The name in the bucket of a store key, "root/key" (key at the top). Also
 * the listing prefix for a store prefix: "root/" + prefix, never "root"
 * alone, which would also match "rootX/...". malloc'd; NULL = no memory. */
char *kv_bucket_key(const kv_bucket *b, const char *key);

/* The store key of a name a listing for full_prefix (kv_bucket_key of the
 * store's prefix) returned: the name without "root/". The name is checked
 * first (kv_listed_key_check): one outside full_prefix, the root included,
 * is KV_ECORRUPT and nothing is to be done with it. */
int kv_bucket_store_key(const kv_bucket *b, const char *name, const char *full_prefix,
                        const char **key);

/* KV_OK for a part number in 1..nparts, else KV_EINVAL naming the object. */
int kv_bucket_check_part(const kv_bucket *b, const char *key, uint32_t n, uint32_t nparts);

/* KV_EINVAL "<name><key>: part n was never uploaded". */
int kv_bucket_missing_part(const kv_bucket *b, const char *key, uint32_t n);

/* The paging loop of a listing: page(ctx, token, &next, &items) fetches the
 * page after token (NULL for the first), sets *next to the next page's token
 * (malloc'd), or NULL (or "") after the last page, and *items to how many
 * entries the page held. A server that repeats a token (pages in a circle)
 * or sends KV_PAGES_MAX_EMPTY pages in a row with nothing on them fails the
 * listing (KV_ECORRUPT, naming what, e.g. "s3://bucket/prefix"). */
#define KV_PAGES_MAX_EMPTY 1000
typedef int (*kv_page_fn)(void *ctx, const char *token, char **next, size_t *items);
int kv_pages(const char *what, kv_page_fn page, void *ctx);
/* kv_pages of a listing of full_prefix (a name in the bucket), named
 * "<b->name><full_prefix>". */
int kv_bucket_pages(const kv_bucket *b, const char *full_prefix, kv_page_fn page, void *ctx);

#endif
