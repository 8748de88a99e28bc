/* The single-file form of a backup: one archive object `<id>.kvault` in the
 * backup's folder holding the files it stores (docs/archive.md):
 *
 *   member bytes, one after the other, in the order given
 *   the index: a sealed document (sealed.h)
 *       {"format": "kvault-archive", "version": 1, "backup": "<id>",
 *        "members": [[name, offset, size, "crc32c"], ...]}
 *   the trailer, KV_ARCHIVE_TRAILER bytes:
 *       "KVAULT-ARCHIVE\0\1"  16 bytes
 *       index offset          8 bytes, little-endian
 *       index length          8 bytes, little-endian
 *       CRC32C of the index   4 bytes, little-endian
 *       CRC32C of the above   4 bytes, little-endian
 *
 * The manifest names each file by (archive, offset, size, CRC32C), so a
 * restore reads members with ranged reads and never needs the index; the
 * index and trailer make the archive readable on its own. */
#ifndef KV_BACKUP_ARCHIVE_H
#define KV_BACKUP_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "backup/internal.h"

#define KV_ARCHIVE_TRAILER 40
#define KV_ARCHIVE_SUFFIX ".kvault"

typedef struct kv_archive_member {
    const char *name;       /* in the backup (a file name) */
    const char *path;       /* local file to read it from */
    uint64_t size;
    uint32_t crc32c;        /* of its bytes: the caller computes it first */
    uint64_t offset;        /* out: where it starts in the archive */
} kv_archive_member;

/* Uploads members[0..n) as one object at key (multipart, in parallel parts,
 * the budget's memory), followed by the index and trailer; sets each
 * member's offset. A failed upload leaves no object at key. */
int kv_archive_upload(kvault *kv, const char *key, const char *backup_id, kv_archive_member *m,
                      size_t n);

/* The CRC32C of each member whose has_crc[i] is 0, read from its file, in
 * parallel. */
int kv_archive_checksum(kv_archive_member *m, size_t n, const int *has_crc, int workers);

/* Reads the trailer and index of the archive at key (size bytes) and checks
 * each against its CRC and digest, and every member it lists against
 * want[0..n) (name, offset, size, CRC): KV_ECORRUPT naming the archive and
 * what differs. */
int kv_archive_check_index(kv_store *st, const char *key, uint64_t size,
                           const kv_archive_member *want, size_t n);

#endif
