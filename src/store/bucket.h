/*
 * What the object-service backends (S3, Azure, GCS) share besides the
 * request path (http/service.h): the bucket (or container) and the store's
 * root prefix in it, the keys and names made from them, part numbers, the
 * paging loop of listings.
 * Not a backend: any backend may include it.
 */
#ifndef KV_STORE_BUCKET_H
#define KV_STORE_BUCKET_H

#include <stdint.h>

#include "http/http.h"
#include "kvault/sys/store.h"

typedef struct kv_bucket {
    char *bucket;       /* bucket or container: the URL's host */
    char *root;         /* key prefix of the store, no slashes at the ends */
    char *name;         /* "s3://bucket/": messages name objects after it */
} kv_bucket;

/* From a URL scheme://bucket/root, with an HTTP client that keeps the
 * store's connect and stall timeouts and verifies TLS with its CA file
 * (kv_opt_ca_file; ca_var: the cloud's own setting, or NULL). */
int kv_bucket_open(kv_bucket *b, const kv_url *url, const kv_store_opts *o, const char *ca_var,
                   kv_http **http);
void kv_bucket_free(kv_bucket *b);

/* The name in the bucket of a store key, "root/key" (key at the top). Also
 * the listing prefix for a store prefix: "root/" + prefix, never "root"
 * alone, which would also match "rootX/...". malloc'd; NULL = no memory. */
char *kv_bucket_key(const kv_bucket *b, const char *key);

/* The store key of a name a listing returned (the name without "root/"),
 * or NULL for a name too short to be under the root. */
const char *kv_bucket_store_key(const kv_bucket *b, const char *name);

/* KV_OK for a part number in 1..nparts, else KV_EINVAL naming the object. */
int kv_bucket_check_part(const kv_bucket *b, const char *key, uint32_t n, uint32_t nparts);

/* KV_EINVAL "<name><key>: part n was never uploaded". */
int kv_bucket_missing_part(const kv_bucket *b, const char *key, uint32_t n);

/* The paging loop of a listing: page(ctx, token, &next) fetches the page
 * after token (NULL for the first) and sets *next to the next page's token
 * (malloc'd), or NULL (or "") after the last page. */
typedef int (*kv_page_fn)(void *ctx, const char *token, char **next);
int kv_pages(kv_page_fn page, void *ctx);

#endif
