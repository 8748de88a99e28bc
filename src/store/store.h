/*
 * The store layer as the core uses it. The contract with backends (the
 * table, the head, settings, registration) is include/kvault/sys/store.h;
 * this header adds what only the core calls: opening and closing, the
 * accessors that stand between the core and a backend's table, part
 * planning and the retrying wrappers. docs/backends.md explains the split.
 */
#ifndef KV_STORE_H
#define KV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "kvault.h"
#include "kvault/sys/store.h"
#include "util/url.h" /* kv_url_parse, kv_url_encode: backends in the tree use them */

/* Opens the backend for url's scheme (built-in or registered): checks the
 * table's version, lets the backend open, then fills the head. */
int kv_store_open(const char *url, const kv_store_opts *opts, kv_store **out);
void kv_store_close(kv_store *st);

/* The backend table for a scheme, or NULL. */
const kv_store_ops *kv_store_backend(const char *scheme);

/* The backend's KV_CAP_* capabilities. */
unsigned kv_store_caps(const kv_store *st);

/* Part plan for an object of size bytes: the part size (a multiple of 1 MiB
 * unless a limit forbids) and the count. Respects the backend's min/max part
 * size and max parts; wanted = 0 picks the default (8 MiB, grown as needed to
 * fit max_parts). Pure function: unit-tested. */
int kv_plan_parts(const kv_store_ops *ops, uint64_t size, uint64_t wanted,
                  uint64_t *part_size, uint32_t *parts);
/* The same within the limits of st's backend. */
int kv_store_plan_parts(const kv_store *st, uint64_t size, uint64_t wanted,
                        uint64_t *part_size, uint32_t *parts);

/* Retrying wrappers: what the rest of kvault calls. */
int kv_store_put(kv_store *st, const char *key, const void *buf, size_t len,
                 const kv_digest *digest);
int kv_store_get(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
                 size_t *got);
int kv_store_stat(kv_store *st, const char *key, kv_object_info *out);
int kv_store_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload);
int kv_store_remove(kv_store *st, const char *key);
int kv_store_upload_begin(kv_store *st, const char *key, uint64_t total_size,
                          uint64_t part_size, kv_upload **out);
int kv_store_upload_part(kv_store *st, kv_upload *up, uint32_t n, uint64_t off,
                         const void *buf, size_t len, const kv_digest *digest);
int kv_store_upload_complete(kv_store *st, kv_upload *up);
void kv_store_upload_abort(kv_store *st, kv_upload *up);
int kv_store_sync(kv_store *st); /* KV_OK when the backend has no sync */

/* Runs op(arg) until it returns something other than KV_ETRANSIENT or the
 * store's retry budget is spent; sleeps with capped exponential backoff and
 * full jitter in between. Exposed for callers with compound operations. */
int kv_store_retry(kv_store *st, int (*op)(void *arg), void *arg);

#endif
