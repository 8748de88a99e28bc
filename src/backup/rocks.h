/* The only place kvault talks to RocksDB (through its C API). */
#ifndef KV_BACKUP_ROCKS_H
#define KV_BACKUP_ROCKS_H

#include <stddef.h>
#include <stdint.h>

#include <rocksdb/c.h>

/* A database opened with all its column families. */
typedef struct kv_rdb {
    rocksdb_t *db;
    rocksdb_options_t *options;
    char **cf_names;
    size_t ncf;
    rocksdb_column_family_handle_t **cfs;
} kv_rdb;

/* Opens the existing database at path with every column family it has,
 * read-write or read-only. Close with kv_rdb_close (also after failure). */
int kv_rdb_open(const char *path, int read_only, kv_rdb *out);
void kv_rdb_close(kv_rdb *r);

/* The column family names of the database at path. */
int kv_rdb_list_cfs(const char *path, char ***names, size_t *n);
void kv_rdb_free_cfs(char **names, size_t n);

/* Takes a checkpoint of db into dir (which must not exist), flushing the
 * memtables first. *sequence receives the latest sequence number before the
 * checkpoint: every write up to it is in the checkpoint. */
int kv_rdb_checkpoint(rocksdb_t *db, const char *dir, uint64_t *sequence);

/* The contents of the database's IDENTITY file (trimmed, malloc'd). */
int kv_rdb_read_identity(const char *dir, char **out);

/* Opens the database at path read-only with all column families; with
 * read_all, reads every key of every column family with checksums checked.
 * Counts go to *cfs and *keys (may be NULL). */
int kv_rdb_check(const char *path, int read_all, uint64_t *cfs, uint64_t *keys);

#endif
