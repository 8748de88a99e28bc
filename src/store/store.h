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

/* The backend's own leftovers (kv_store_ops.garbage) for keys under prefix,
 * last written or begun before older_than_unix: calls cb (may be NULL) for
 * each, after removing it unless dry_run. *count is how many were found
 * (and, unless dry_run, removed); KV_OK with 0 for a backend that has no
 * garbage method. Retried like the other wrappers; a leftover is reported
 * once however many attempts see it. */
int kv_store_garbage(kv_store *st, const char *prefix, int64_t older_than_unix, int dry_run,
                     kv_garbage_cb cb, void *payload, uint64_t *count);

/* For backends' garbage methods: the arguments, passed around whole. */
typedef struct kv_garbage_args {
    const char *prefix;
    int64_t older_than;
    int dry_run;
    kv_garbage_cb cb;
    void *payload;
} kv_garbage_args;

/* One leftover a garbage method found. Unless it was last written at or
 * after the cutoff, or its time is unknown (0: kept, it may be in use),
 * removes it with drop(ctx) (unless a dry run) and reports it to the
 * callback. KV_OK for a leftover kept; else what drop or the callback
 * returned. */
int kv_garbage_take(const kv_garbage_args *g, const kv_garbage_item *item,
                    int (*drop)(void *ctx), void *ctx);

/* KV_OK when key, listed for prefix, is one kvault may act on: under the
 * prefix, not empty, without a "." or ".." segment or a control character.
 * Otherwise KV_ECORRUPT with a message naming the store (what), both
 * (escaped) and saying nothing was done with the key. kv_store_list checks
 * every key with it; backends check the names a service lists against
 * their full prefix. */
int kv_listed_key_check(const char *what, const char *key, const char *prefix);

/* Runs op(arg) until it returns something other than KV_ETRANSIENT or the
 * store's retry budget is spent; sleeps with capped exponential backoff and
 * full jitter in between. Exposed for callers with compound operations. */
int kv_store_retry(kv_store *st, int (*op)(void *arg), void *arg);

#endif
