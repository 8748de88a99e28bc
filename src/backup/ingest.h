/* Loading an SST export into a database (ingest.c). */
#ifndef KV_BACKUP_INGEST_H
#define KV_BACKUP_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "backup/internal.h"

/* Where the files go: a database kvault opens (new or existing) or a
 * caller's live handle. */
typedef struct kv_ingest_target {
    char *const *want;        /* column families asked for; none = all */
    size_t nwant;
    char **names;             /* the ones loaded (set by kv_ingest_export) */
    size_t ncf;
    /* Called once the files are staged (staging holds the backup's OPTIONS). */
    int (*open)(void *payload, const char *staging);
    /* Ingests paths into names[cf]. */
    int (*ingest)(void *payload, size_t cf, char *const *paths, size_t n);
    void *payload;
} kv_ingest_target;

/* Downloads the export m's files of the wanted column families (checked
 * against the manifest) into a staging directory beside `beside`, opens the
 * target and ingests them. KV_EUNSUPPORTED for a backup that is not an
 * export; KV_ENOTFOUND for a wanted column family it does not have. Free
 * t->names (not its strings) after. */
int kv_ingest_export(kvault *kv, const kv_manifest *m, const char *beside, kv_ingest_target *t);

/* Builds a new database at dir (an empty directory) from the export m:
 * its column families (cfs, or all when ncfs is 0) created with the
 * backup's options (or app's), the files ingested, then every key counted
 * against the manifest. With read, *keys is the total. */
int kv_restore_export(kvault *kv, const kv_manifest *m, const char *dir, char *const *cfs,
                      size_t ncfs, const kvault_db_options *app, uint64_t *keys);

/* Keys of column family cf in the export m (the sum of its files' entries). */
uint64_t kv_export_entries(const kv_manifest *m, const char *cf);

#endif
