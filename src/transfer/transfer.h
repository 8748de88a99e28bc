/*
 * The transfer engine: moves local files to and from a store with several
 * workers at once. Small files go whole, several at a time; large files go in
 * parts (kv_plan_parts) on several connections at once. All part buffers come
 * from one memory budget for the whole process, so memory stays flat however
 * large the files are. CRC32C is computed once per byte while data streams.
 */
#ifndef KV_TRANSFER_H
#define KV_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

typedef struct kv_xfer_item kv_xfer_item;

/* Non-zero return: cancel the transfer (it then fails with KV_ECANCELED). */
typedef int (*kv_xfer_progress_cb)(uint64_t done, uint64_t total, void *payload);

typedef struct kv_xfer_opts {
    int workers;              /* 0 = 8 */
    uint64_t part_size;       /* 0 = the backend's plan default */
    kv_xfer_progress_cb progress; /* may be NULL */
    void *progress_payload;
    /* Called on a worker thread as each item completes (status KV_OK,
     * crc32c set); may be NULL. */
    void (*item_done)(const kv_xfer_item *item, void *payload);
    void *item_payload;
} kv_xfer_opts;

/* Bytes of part buffers in flight for the whole process; 0 = for each
 * transfer, (workers + 2) x part size, at most 1 GiB unless one part is
 * larger. Transfers started afterwards use it. */
void kv_xfer_set_memory_budget(uint64_t bytes);

/* One file to move. Inputs are set by the caller; outputs by the engine. */
struct kv_xfer_item {
    const char *local_path;   /* in: file to read (upload) or write (download);
                                 NULL on download = read and check only */
    const char *key;          /* in: object key in the store */
    uint64_t size;            /* in: bytes (upload: file size as stat'd;
                                 download: expected object size) */
    int check_crc;            /* in, download: compare with expect_crc32c */
    uint32_t expect_crc32c;   /* in, download */
    uint32_t crc32c;          /* out: CRC32C of the bytes moved */
    int status;               /* out: KV_OK or the failure */
    int started;              /* out: the engine began moving it (so a
                                 failed upload may have left an object) */
    /* Upload: bytes come from read(read_ctx, off, buf, len), which must fill
     * buf with exactly len bytes of the item at off, instead of from
     * local_path (which then only names the item in messages). Parts may be
     * read in any order and on any thread. */
    int (*read)(void *read_ctx, uint64_t off, void *buf, size_t len);
    void *read_ctx;
    /* Download: the item is the range [object_offset, object_offset + size)
     * of a larger object (a member of an archive), not the whole object. */
    int member;
    uint64_t object_offset;
    const char *member_name;  /* what the range is, for messages */
};

/* Uploads every item. Returns KV_OK when all succeeded; otherwise the first
 * failure's code with its message set on the calling thread (the message
 * names the file and object). Items not attempted after a failure keep
 * status KV_ECANCELED. A failed multipart upload is aborted. An upload reads
 * exactly item->size bytes and fails if the file changed size meanwhile. */
int kv_xfer_upload(kv_store *st, kv_xfer_item *items, size_t n, const kv_xfer_opts *opts);

/* Downloads every item to its local_path: written to local_path directly
 * (the caller decides on temporary names), created with mode 0644, fsync'd.
 * A size or CRC mismatch is KV_ECORRUPT naming the object. */
int kv_xfer_download(kv_store *st, kv_xfer_item *items, size_t n, const kv_xfer_opts *opts);

/* Streams one object to fd in order (fd need not be seekable), using parallel
 * ranged reads within the budget. *crc32c receives the CRC of what was written. */
int kv_xfer_cat(kv_store *st, const char *key, int fd, const kv_xfer_opts *opts,
                uint64_t *bytes, uint32_t *crc32c);

/* Reads the whole file once and returns its CRC32C (used where the backup
 * must know a checksum before deciding whether to upload). */
int kv_xfer_checksum_file(const char *path, uint64_t size, uint32_t *crc32c);

/* For tests and diagnostics: the most bytes of part buffers the process has
 * held at once since start or the last reset. */
uint64_t kv_xfer_budget_peak(void);
void kv_xfer_budget_reset_peak(void);

#endif
