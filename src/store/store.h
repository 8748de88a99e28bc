/*
 * The storage abstraction. A backend is one file that fills one const table
 * of functions (kv_store_ops) and a private struct whose first member is the
 * common kv_store handle, as libgit2's odb backends and SQLite's VFS do.
 *
 * Keys are relative to the store's root prefix (the path part of its URL),
 * use '/' as separator, and never start with '/'. Every operation is safe to
 * call from several threads at once on one kv_store.
 *
 * Errors: operations return KV_OK or a KV_E* code and set the thread's
 * message (util/err.h) naming the object and what the server said. Backends
 * map their failures onto the codes so the core can act on them:
 *   KV_ENOTFOUND   object/bucket missing (404, NoSuchKey, ENOENT)
 *   KV_EAUTH       401/403, bad signature, missing credentials
 *   KV_ETRANSIENT  what a retry may fix: connection reset or refused,
 *                  timeouts, 408, 429, 500, 502, 503, 504, SlowDown
 *   KV_EEXIST      precondition failed where the key must not exist
 *   KV_ECORRUPT    the server rejected a digest (BadDigest) or returned
 *                  bytes that do not match what it promised
 * The kv_store_* wrappers below retry KV_ETRANSIENT with capped exponential
 * backoff and jitter; backends themselves never retry.
 */
#ifndef KV_STORE_H
#define KV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "kvault.h"
#include "util/url.h"

typedef struct kv_store kv_store;
typedef struct kv_upload kv_upload;
typedef struct kv_store_ops kv_store_ops;

enum {
    KV_CAP_MULTIPART = 1u << 0, /* upload_begin/part/complete/abort exist */
    KV_CAP_RANGE_GET = 1u << 1, /* get honours off/len without reading all */
    /* put/upload_part hand the server a digest it checks on arrival, so the
     * caller computes it (once per byte, while the data is in memory): */
    KV_CAP_DIGEST_MD5 = 1u << 2,    /* kv_digest.md5 (Azure's Content-MD5) */
    KV_CAP_DIGEST_SHA256 = 1u << 3  /* kv_digest.sha256 (S3's signed payload hash) */
};

typedef struct kv_object_info {
    uint64_t size;
    int64_t mtime_unix;
    char etag[128];
} kv_object_info;

/* Digests of a buffer being sent, computed by the caller so a backend can
 * hand the server what it checks (Content-MD5, x-amz-content-sha256,
 * x-amz-checksum-crc32c, ...). crc32c is always set; md5 and sha256 only
 * when their has_ flag is, which the transfer layer does for backends with
 * the matching KV_CAP_DIGEST_* capability. */
typedef struct kv_digest {
    uint32_t crc32c;
    int has_md5;
    unsigned char md5[16];
    int has_sha256;
    unsigned char sha256[32];
} kv_digest;

/* Called once per object by list; a non-zero return stops the listing and is
 * returned by list. */
typedef int (*kv_list_cb)(const char *key, const kv_object_info *info, void *payload);

/* What a store is opened with (the public kvault_store_opts, validated).
 * Zero / NULL means "the default". kv_store_open keeps a deep copy in the
 * store's head, so a backend may keep pointers into it until close.
 * Backends read settings only from here, never from the environment. */
typedef struct kv_store_opts {
    int connect_timeout_s;   /* default 10 */
    int stall_timeout_s;     /* a transfer moving no bytes this long fails; default 60 */
    int max_retries;         /* default 6 */
    const char *endpoint;    /* overrides the backend's endpoint settings */
    const char *region;
    const char *ca_file;
    const kvault_setting *settings; /* by name; later entries win */
    size_t nsettings;
} kv_store_opts;

/* A setting's value if set and not empty, else NULL. */
const char *kv_opt_str(const kv_store_opts *o, const char *name);
/* A whole number in 1..1000000, or fallback when unset, empty or anything
 * else (garbage is not an error). */
int kv_opt_int(const kv_store_opts *o, const char *name, int fallback);
/* A yes/no switch: fallback when unset or empty; "0", "false" and "no" (any
 * case) are off; any other value is on. */
int kv_opt_flag(const kv_store_opts *o, const char *name, int fallback);
/* The CA certificates (PEM) to verify TLS servers with: the store's
 * ca_file, else the cloud's own setting (cloud_var, e.g. AWS_CA_BUNDLE; may
 * be NULL), else SSL_CERT_FILE, else CURL_CA_BUNDLE; NULL = the system's.
 * KV_EINVAL naming the setting when the file cannot be read. */
int kv_opt_ca_file(const kv_store_opts *o, const char *cloud_var, const char **out);

struct kv_store_ops {
    const char *scheme;            /* "file", "s3", "az", "gs", "hdfs" */
    unsigned caps;
    uint64_t min_part;             /* smallest part but the last */
    uint64_t max_part;             /* largest part */
    uint32_t max_parts;            /* most parts in one upload */

    /* Allocates the backend's handle. kv_store_open then fills its common
     * head (ops, url, opts) and owns url: it frees it after close, so a
     * backend reads these fields but never frees them. */
    int (*open)(const kv_url *url, const kv_store_opts *opts, kv_store **out);
    /* Stores len bytes at key, replacing any object there. */
    int (*put)(kv_store *st, const char *key, const void *buf, size_t len,
               const kv_digest *digest);
    /* Reads up to len bytes at off into buf; *got is set to the count read,
     * which is less than len only at the end of the object. */
    int (*get)(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
               size_t *got);
    int (*stat)(kv_store *st, const char *key, kv_object_info *out);
    /* Every object whose key starts with prefix, in key order, all pages. */
    int (*list)(kv_store *st, const char *prefix, kv_list_cb cb, void *payload);
    /* Removing a missing key is KV_OK (as S3's DeleteObject is). */
    int (*remove)(kv_store *st, const char *key);

    /* Multipart: parts are numbered from 1, may arrive in any order and on
     * any thread; all but the last are the same size (the plan's part size);
     * off is the part's byte offset in the object. Nothing is visible at key
     * until complete succeeds; abort removes every trace. */
    int (*upload_begin)(kv_store *st, const char *key, uint64_t total_size,
                        uint64_t part_size, kv_upload **out);
    int (*upload_part)(kv_upload *up, uint32_t n, uint64_t off, const void *buf,
                       size_t len, const kv_digest *digest);
    /* On success up is freed; on failure it stays valid so the caller may
     * retry complete or abort. */
    int (*upload_complete)(kv_upload *up);
    void (*upload_abort)(kv_upload *up);   /* best effort; always frees up */

    /* Optional (may be NULL): makes everything stored so far durable. The
     * local store writes without fsync per file and syncs the file system
     * once here, before a backup writes its manifest. */
    int (*sync)(kv_store *st);

    void (*close)(kv_store *st);
};

/* The common head of every backend's handle. */
struct kv_store {
    const kv_store_ops *ops;
    kv_url url;              /* as opened; url.path is the root prefix */
    kv_store_opts opts;      /* strings live in opts_block */
    char *opts_block;
};

/* Opens the backend for url's scheme. */
int kv_store_open(const char *url, const kv_store_opts *opts, kv_store **out);
void kv_store_close(kv_store *st);

/* The backend table for a scheme, or NULL. */
const kv_store_ops *kv_store_backend(const char *scheme);

/* Part plan for an object of size bytes: the part size (a multiple of 1 MiB
 * unless a limit forbids) and the count. Respects the backend's min/max part
 * size and max parts; wanted = 0 picks the default (8 MiB, grown as needed to
 * fit max_parts). Pure function: unit-tested. */
int kv_plan_parts(const kv_store_ops *ops, uint64_t size, uint64_t wanted,
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
