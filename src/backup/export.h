/* The SST export of a backup (KVAULT_FORMAT_SST): export.c. */
#ifndef KV_BACKUP_EXPORT_H
#define KV_BACKUP_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "backup/internal.h"

typedef struct kv_export_in {
    kvault *kv;
    const char *view;         /* the source's view (source.h), opened read-only */
    const kvault_db_options *app;
    const char *env, *date, *id;
    uint64_t sst_size;        /* bytes per file */
    const char *scratch_dir;  /* where files are written before upload */
    const char *tmp_dir;
    size_t first_index;       /* files the backup already stored (folder fan-out) */
    int stage;                /* write every file and keep it (for a single-file
                                 archive) instead of uploading each */
} kv_export_in;

typedef struct kv_export_out {
    kv_mfile *files;          /* the manifest's entries of the SST files, in
                                 order; staged: object NULL, crc32c 0 */
    size_t n;
    char **paths;             /* staged: where each file is */
    char *scratch;            /* staged: the directory to remove after */
} kv_export_out;

/* Writes and uploads (or stages) the export. On failure nothing it
 * uploaded or wrote is left. */
int kv_export_run(const kv_export_in *in, kv_export_out *out);
void kv_export_files_free(kv_mfile *files, size_t n);
void kv_export_paths_free(char **paths, size_t n);

/* "cf_<name>-NNNNN.sst" for column family cf (malloc'd): characters other
 * than [A-Za-z0-9._-] escaped as %XX. */
int kv_export_file_name(const char *cf, unsigned n, char **out);

#endif
