/* A local cache of SST checksums keyed by (device, inode, size, mtime), so a
 * backup need not read an unchanged file again to learn its CRC32C. The key
 * is the live file's (fstat of the descriptor the backup holds), so entries
 * hit across backups. One file per database identity in the directory the
 * caller names (kvault_options.cache_dir). A missing or unreadable cache is
 * only a miss. */
#ifndef KV_BACKUP_CRCCACHE_H
#define KV_BACKUP_CRCCACHE_H

#include <stdint.h>
#include <sys/stat.h>

typedef struct kv_crc_cache kv_crc_cache;

/* dir NULL: a cache that remembers nothing and saves nothing. */
int kv_crc_cache_open(const char *dir, const char *db_identity, kv_crc_cache **out);
/* 1 and *crc on a hit, 0 on a miss. */
int kv_crc_cache_lookup(const kv_crc_cache *c, const struct stat *st, uint32_t *crc);
/* Records a file seen by this backup; only these are saved. */
int kv_crc_cache_add(kv_crc_cache *c, const struct stat *st, uint32_t crc);
/* Writes the recorded entries (atomically) in place of the old ones. */
int kv_crc_cache_save(kv_crc_cache *c);
void kv_crc_cache_free(kv_crc_cache *c);

#endif
