/* SST files written and ingested through RocksDB (SstFileWriter,
 * IngestExternalFile): the export format of a backup (docs/export.md). Part
 * of the RocksDB module with rocks.c. */
#ifndef KV_BACKUP_ROCKS_SST_H
#define KV_BACKUP_ROCKS_SST_H

#include <stddef.h>
#include <stdint.h>

#include "backup/rocks.h"

/* One finished SST file of an export. */
typedef struct kv_sst_file {
    char *path;               /* where it was written (the sink's path) */
    size_t cf;                /* the column family's index in the kv_rdb */
    unsigned number;          /* 1, 2, ... within its column family */
    uint64_t entries;
    uint64_t size;
    char *smallest, *largest; /* raw keys */
    size_t smallest_len, largest_len;
} kv_sst_file;

typedef struct kv_sst_sink {
    uint64_t target_size;     /* a file is closed once it holds this many bytes */
    /* A new path (malloc'd) for file number n of column family cf. */
    int (*path)(void *payload, size_t cf, unsigned n, char **out);
    /* A finished file, handed over (the sink frees it with kv_sst_file_free);
     * non-zero stops the export and is returned. */
    int (*done)(void *payload, kv_sst_file *f);
    void *payload;
} kv_sst_sink;

void kv_sst_file_free(kv_sst_file *f);

/* Writes every key and value of column family cf of r, in the database's
 * order, into SST files of about sink->target_size made by RocksDB's
 * SstFileWriter with the column family's own options (comparator,
 * compression, block size), reading with checksums verified. r is a
 * read-only open: one point in time for every column family. Refuses
 * (KV_EUNSUPPORTED) a column family whose comparator or merge operator is a
 * stand-in: the order or the merged values would not be the application's.
 * Files are handed to the sink as they are finished. */
int kv_rdb_export_cf(const kv_rdb *r, size_t cf, const kv_sst_sink *sink);

/* Ingests the SST files at paths into column family cf of r (opened with
 * kv_rdb_open_target), moving them (or copying where they cannot be
 * linked). */
int kv_rdb_ingest(const kv_rdb *r, size_t cf, char *const *paths, size_t n);

/* Same, into a caller's open handle and column family. */
int kv_rdb_ingest_live(rocksdb_t *db, rocksdb_column_family_handle_t *cf, const char *what,
                       char *const *paths, size_t n);

/* Keys in each column family of r (read in full, checksums verified), into
 * counts[cf]. */
int kv_rdb_count_keys(const kv_rdb *r, uint64_t *counts);

#endif
