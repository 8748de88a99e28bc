/* Sealed documents: the JSON objects kvault keeps in a store (manifests, the
 * env index) carry a digest of their own content and are compressed.
 *
 * The digest is SHA-256 over the canonical serialisation of the object
 * without its "digest" member (members sorted by name, no whitespace, as
 * jansson writes with JSON_SORT_KEYS | JSON_COMPACT), stored as
 * "digest": "sha256:<64 hex>". Any change to what the document says, a
 * flipped bit included, fails the check before anything trusts it. The
 * bytes stored are a zstd frame of that canonical JSON, then a skippable
 * frame with the CRC32C of the first (so any damaged byte is caught, and
 * `zstd -d` still reads it). */
#ifndef KV_BACKUP_SEALED_H
#define KV_BACKUP_SEALED_H

#include <stddef.h>

#include <jansson.h>

/* Adds the digest to root (which must not have one) and writes the
 * compressed document into malloc'd *out. */
int kv_sealed_encode(json_t *root, void **out, size_t *len);

/* Decompresses data (plain JSON, as kvault 0.1 wrote, is taken as it is),
 * refusing more than max_json bytes of JSON, and parses it. A document with
 * a digest must match it: KV_ECORRUPT naming what otherwise. *sealed says
 * whether it had one. KV_EINVAL naming what for anything that is not a
 * JSON object. */
int kv_sealed_decode(const void *data, size_t len, size_t max_json, const char *what,
                     json_t **root, int *sealed);

#endif
