/*
 * kvault/sys/store.h — the contract between kvault and a storage backend.
 *
 * This header is for people who write a backend, in the tree or outside it
 * (libgit2's include/git2/sys/ plays the same part). Programs that back up
 * and restore use kvault.h only. docs/backends.md is the guide; this file is
 * the reference.
 *
 * A backend is one const table of functions (kv_store_ops) and a private
 * handle struct whose first member is the common head (kv_store):
 *
 *     typedef struct my_store { kv_store base; ... } my_store;
 *     static const kv_store_ops my_ops = {
 *         .version = KV_STORE_OPS_VERSION, .scheme = "my", .open = my_open, ...
 *     };
 *     kv_store_register(&my_ops);   -- then "my://bucket/prefix" opens it
 *
 * The built-in backends (file, s3, az, gs, hdfs/webhdfs) are registered
 * statically. The table starts with its version: kvault refuses (KV_EINVAL)
 * to register or open a table whose version it does not know, so a backend
 * built against another revision of this contract fails cleanly instead of
 * being called through the wrong layout. Revisions only ever add optional
 * methods at the end of the table, each addition raising the version; a
 * table of an earlier version still registers and opens, and kvault never
 * reads past its end (the methods it lacks count as absent).
 *   version 1  the table up to close
 *   version 2  garbage
 *
 * Keys are relative to the store's root prefix (the path part of its URL),
 * use '/' as separator and never start with '/'. Every method may be called
 * from several threads at once on one store (upload methods: on one upload
 * too, for different parts).
 *
 * Errors. Every method returns KV_OK or a KV_E* code from kvault.h and, on
 * failure, sets the thread's message with kv_seterr where the failure is
 * found, naming the object ("s3://bucket/key") and what the server said.
 * Secrets (keys, tokens, signatures, SAS query strings) never appear in a
 * message or a log line. The codes the core acts on:
 *   KV_ENOTFOUND   the object (or the bucket) does not exist
 *   KV_EAUTH       credentials missing, wrong or not allowed (401, 403)
 *   KV_ETRANSIENT  what a retry may fix: connection refused or reset,
 *                  timeouts, 408, 429, 500, 502, 503, 504, "slow down"
 *   KV_EEXIST      a precondition failed where the key must not exist
 *   KV_ECORRUPT    the server rejected a digest, or sent bytes that do not
 *                  match what it promised
 *   KV_EINVAL      a request the service will never accept as it is
 *   KV_EUNSUPPORTED the server cannot do this at all
 * Retries. Backends never retry and never sleep. The core retries a method
 * that failed with KV_ETRANSIENT with the same arguments, after a backoff,
 * up to the store's max_retries. So every method must be SAFE TO REPEAT
 * after KV_ETRANSIENT, including when the first attempt reached the server
 * and only its reply was lost: put and upload_part replace what an earlier
 * attempt stored; remove of a key already removed is KV_OK; upload_complete
 * after a complete whose reply was lost must find the object complete and
 * return KV_OK (not "no such upload"); a listing is restarted from the
 * beginning (the core skips keys it already delivered). A method must not
 * return KV_ETRANSIENT for a failure that repeating cannot fix.
 */
#ifndef KVAULT_SYS_STORE_H
#define KVAULT_SYS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "kvault.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The revision of kv_store_ops this header describes, and the oldest one
 * kvault still takes. */
#define KV_STORE_OPS_VERSION 2
#define KV_STORE_OPS_VERSION_MIN 1

typedef struct kv_store kv_store;
typedef struct kv_upload kv_upload; /* each backend defines its own */
typedef struct kv_store_ops kv_store_ops;

/* What a backend can do, in kv_store_ops.caps. */
enum {
    KV_CAP_MULTIPART = 1u << 0, /* upload_begin/part/complete/abort exist */
    KV_CAP_RANGE_GET = 1u << 1, /* get honours off/len without reading all */
    /* put/upload_part hand the server a digest it checks on arrival, so the
     * core computes it (once per byte, while the data is in memory): */
    KV_CAP_DIGEST_MD5 = 1u << 2,    /* kv_digest.md5 (Azure's Content-MD5) */
    KV_CAP_DIGEST_SHA256 = 1u << 3, /* kv_digest.sha256 (S3's signed payload hash) */
    /* the service prefers few large objects to many small ones (HDFS: every
     * file costs NameNode memory); backups default to one archive object */
    KV_CAP_FEW_LARGE_FILES = 1u << 4
};

/* A store URL, parsed: scheme://host[:port]/path, or a local path. */
typedef struct kv_url {
    char scheme[16];   /* "file", "s3", "az", "gs", "hdfs", ... lower case */
    char *host;        /* bucket, container, namenode host; "" for file */
    int port;          /* 0 when not given */
    char *path;        /* file: absolute path; others: key prefix without
                          leading or trailing '/', possibly "" */
} kv_url;

typedef struct kv_object_info {
    uint64_t size;
    int64_t mtime_unix;
    char etag[128];
} kv_object_info;

/* Digests of a buffer being sent, computed by the core so a backend can
 * hand the server what it checks (Content-MD5, x-amz-content-sha256,
 * x-amz-checksum-crc32c, ...). crc32c is always set; md5 and sha256 only
 * when their has_ flag is, which the core does for backends with the
 * matching KV_CAP_DIGEST_* capability. The pointer itself may be NULL. */
typedef struct kv_digest {
    uint32_t crc32c;
    int has_md5;
    unsigned char md5[16];
    int has_sha256;
    unsigned char sha256[32];
} kv_digest;

/* Called once per object by list; a non-zero return stops the listing and
 * is what list returns. */
typedef int (*kv_list_cb)(const char *key, const kv_object_info *info, void *payload);

/* One leftover of the backend's own (garbage): what a write that never
 * finished left behind, invisible to list. */
typedef struct kv_garbage_item {
    const char *key;         /* the object it was meant to become, relative to
                                the root, as far as its name tells */
    const char *name;        /* the leftover itself: a temporary file's or part
                                object's key, or an upload ID */
    const char *kind;        /* "temporary file", "part file", "part object",
                                "multipart upload" */
    uint64_t size;           /* bytes it holds; 0 when unknown */
    int64_t mtime_unix;      /* when it was last written or begun */
} kv_garbage_item;

/* Called once per leftover by garbage; a non-zero return stops it and is
 * what garbage returns. */
typedef int (*kv_garbage_cb)(const kv_garbage_item *item, void *payload);

/* What a store is opened with (the public kvault_store_opts, validated,
 * defaults filled in). The core keeps a deep copy in the store's head, so a
 * backend may keep pointers into it until close. Backends read settings
 * only from here, never from the environment. */
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

/* Sets the calling thread's message from a printf format and returns code:
 * `return kv_seterr(KV_ENOTFOUND, "my://b/%s: no such object", key);`. */
int kv_seterr(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct kv_store_ops {
    unsigned int version;          /* KV_STORE_OPS_VERSION */
    const char *scheme;            /* URL scheme: lower case, at most 15 characters */
    unsigned caps;                 /* KV_CAP_* */
    uint64_t min_part;             /* smallest part but the last; 0 = none */
    uint64_t max_part;             /* largest part; 0 = no limit */
    uint32_t max_parts;            /* most parts in one upload; 0 = no limit */

    /* Checks the URL and settings and allocates the backend's handle; may
     * talk to the server, but need not (a missing bucket may show only at
     * the first request). The core then fills the common head (ops, url,
     * opts) and owns url: backends read the head, never free it. On failure
     * *out is NULL and nothing is left allocated. Required. */
    int (*open)(const kv_url *url, const kv_store_opts *opts, kv_store **out);

    /* Stores len bytes at key, replacing any object there; the object is
     * visible whole or not at all (never partly written under key).
     * Repeating it stores the same bytes again. Required. */
    int (*put)(kv_store *st, const char *key, const void *buf, size_t len,
               const kv_digest *digest);

    /* Reads up to len bytes at off into buf; *got is set to the count read,
     * which is less than len only at the end of the object (0 when off is at
     * or past the end, which is not an error). len 0 still fails with
     * KV_ENOTFOUND for a missing key. Bytes the server sends but did not
     * promise (a range it ignored) are KV_ECORRUPT. Required. */
    int (*get)(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
               size_t *got);

    /* The object's size, modification time (Unix seconds, 0 if unknown) and
     * an opaque version tag (etag, "" if none). KV_ENOTFOUND for a missing
     * key; never creates anything. Required. */
    int (*stat)(kv_store *st, const char *key, kv_object_info *out);

    /* Calls cb for every object whose key starts with prefix (a plain
     * string prefix, not a directory), in key order (strcmp), across all
     * pages; info as stat gives it. Objects a backend uses internally
     * (temporary or part objects of its own naming) are not listed. A
     * non-zero return of cb stops the listing and is returned. Required.
     * The core checks every key before it acts on it: a key outside prefix,
     * with a "." or ".." segment or a control character, or not after the
     * one before, fails the listing (KV_ECORRUPT), so a server that ignores
     * the prefix or sends hostile names never gets kvault to act on them. */
    int (*list)(kv_store *st, const char *prefix, kv_list_cb cb, void *payload);

    /* Removes the object; a missing key is KV_OK (as S3's DeleteObject is),
     * so a repeat after a lost reply succeeds. Required. */
    int (*remove)(kv_store *st, const char *key);

    /* Multipart, required with KV_CAP_MULTIPART (else NULL): parts are
     * numbered from 1, may arrive in any order and on any thread; all but
     * the last have part_size bytes (the core's plan within the limits
     * above); off is the part's byte offset in the object. Nothing is
     * visible at key until upload_complete succeeds; an upload_part repeated
     * (after KV_ETRANSIENT, or by the core after a part failed) replaces the
     * part. upload_begin fails with KV_EINVAL when the plan exceeds the
     * backend's limits. */
    int (*upload_begin)(kv_store *st, const char *key, uint64_t total_size,
                        uint64_t part_size, kv_upload **out);
    int (*upload_part)(kv_upload *up, uint32_t n, uint64_t off, const void *buf,
                       size_t len, const kv_digest *digest);
    /* Makes the object visible at key. On success up is freed; on failure it
     * stays valid, so the core may call upload_complete again or
     * upload_abort. A repeat after a complete whose reply was lost must
     * return KV_OK when the object is there whole. */
    int (*upload_complete)(kv_upload *up);
    /* Gives the upload up: nothing of it may become visible at key. Removes
     * what it can of the parts (best effort: failures go to the log only;
     * Azure leaves uncommitted blocks to expire) and always frees up. */
    void (*upload_abort)(kv_upload *up);

    /* Optional (may be NULL): makes everything stored so far durable. The
     * core calls it once before a backup writes its manifest. The local
     * store writes without fsync per file and syncs the file system here. */
    int (*sync)(kv_store *st);

    /* Frees the handle and everything the backend allocated for it
     * (connections, cached tokens, wiped secrets), after every other call on
     * the store has returned and every upload was completed or aborted.
     * Sends nothing that can fail and cannot fail. The core frees the head's
     * url and opts afterwards. Required. */
    void (*close)(kv_store *st);

    /* Optional (may be NULL: the backend leaves nothing behind, or what it
     * leaves the service removes by itself). Since version 2.
     * Finds the backend's own leftovers for keys that start with prefix
     * (temporary and part files or objects, unfinished multipart uploads:
     * what an upload killed before complete or abort leaves, and list does
     * not show) last written or begun before older_than_unix, and unless
     * dry_run removes them. Calls cb (which may be NULL) for each, after it
     * is removed. Never touches an object list shows, nor anything outside
     * prefix; a leftover already gone is not an error. Safe to repeat. */
    int (*garbage)(kv_store *st, const char *prefix, int64_t older_than_unix, int dry_run,
                   kv_garbage_cb cb, void *payload);
};

/* The common head of every backend's handle: the first member of it. */
struct kv_store {
    const kv_store_ops *ops;
    kv_url url;              /* as opened; url.path is the root prefix */
    kv_store_opts opts;      /* strings live in opts_block */
    char *opts_block;
};

/* Makes a backend available for its scheme to every store opened after,
 * process-wide and for the rest of the process (there is no unregistering;
 * ops must stay valid). KV_EINVAL for a table of another version, without a
 * required method or with a bad scheme; KV_EEXIST when the scheme is taken
 * (built-in schemes included). Thread-safe. */
int kv_store_register(const kv_store_ops *ops);

/* Checked downcast, for functions a backend offers beyond the table
 * (kv_s3_list_uploads): KV_OK when st was opened by the backend of ops,
 * else KV_EINVAL with a message naming what (the caller) and the store.
 * Only then may the caller cast st to its own handle type. */
int kv_store_check_backend(const kv_store *st, const kv_store_ops *ops, const char *what);

#ifdef __cplusplus
}
#endif

#endif
