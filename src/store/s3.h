/* What the S3 backend offers beyond kv_store_ops: listing in-progress
 * multipart uploads and their parts, for tests and clean-up tools. Both take
 * a store opened from an s3:// URL (any other store is KV_EINVAL); keys are
 * relative to its root prefix. */
#ifndef KV_STORE_S3_H
#define KV_STORE_S3_H

#include <stdint.h>

#include "store/store.h"

/* Called once per open multipart upload; non-zero stops the listing. */
typedef int (*kv_s3_upload_cb)(const char *key, const char *upload_id, void *payload);

/* ListMultipartUploads under prefix, all pages. */
int kv_s3_list_uploads(kv_store *st, const char *prefix, kv_s3_upload_cb cb, void *payload);

/* ListParts of one upload, all pages: how many parts and bytes it holds. */
int kv_s3_list_parts(kv_store *st, const char *key, const char *upload_id, uint32_t *parts,
                     uint64_t *bytes);

#endif
