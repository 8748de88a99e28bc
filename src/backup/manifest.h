/* The manifest: the JSON document that makes a backup exist. It lists every
 * file of the database with its size, CRC32C and the object holding it, and
 * says where the backup came from. Parsing treats the document as hostile:
 * restore writes files named by it and reads objects named by it. */
#ifndef KV_BACKUP_MANIFEST_H
#define KV_BACKUP_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "backup/dbconf.h"

#define KV_MANIFEST_FORMAT "kvault-backup"
#define KV_MANIFEST_VERSION 3 /* written for a checkpoint; 1 and 2 are still read */
#define KV_MANIFEST_VERSION_EXPORT 4 /* written for an SST export or a single-file
                                        backup (older kvaults refuse it) */
#define KV_MANIFEST_MAX_JSON (256u << 20) /* bytes of JSON a manifest may hold */

typedef struct kv_mfile {
    char *name;        /* file name in the database directory */
    uint64_t size;
    uint32_t crc32c;
    char *object;      /* key of the object holding it, relative to the store root */
    /* an SST export's file (version 4): */
    char *cf;          /* its column family, exactly (the file name escapes it) */
    char *smallest;    /* smallest and largest key, base64 */
    char *largest;
    uint64_t entries;  /* keys in the file */
    /* a member of a single-file archive (version 4): object is the archive,
     * the file its bytes [offset, offset + size) */
    int in_archive;
    uint64_t offset;
} kv_mfile;

typedef struct kv_manifest {
    int version;           /* as parsed; encoding writes KV_MANIFEST_VERSION(_EXPORT) */
    int sst_export;        /* the files are an SST export (cf_<name>-NNNNN.sst),
                              not the database's own: restore ingests them */
    char id[64];
    char env[128];
    char date[16];
    int64_t created_ms;    /* Unix time in milliseconds */
    double seconds;
    char *tool_version;
    char *db_path;
    char *hostname;
    char *db_identity;
    char *wal_dir;         /* the source's WAL directory; NULL = its own */
    uint64_t manifest_size; /* bytes of the source's MANIFEST kept (v2) */
    kv_cf_conf *cf_code;   /* comparator and merge operator per CF (v2) */
    size_t ncf_code;
    char **column_families;
    size_t ncolumn_families;
    uint64_t sequence;
    uint64_t files_new;    /* files stored by this backup */
    uint64_t bytes_new;
    kv_mfile *files;
    size_t nfiles;
} kv_manifest;

/* Serialises m (totals of all files are computed here) into a malloc'd
 * sealed document (sealed.h): JSON with its own digest, zstd-compressed. */
int kv_manifest_encode(const kv_manifest *m, void **data, size_t *len);

/* Parses the manifest stored at key for env (sealed, or the plain JSON of
 * versions 1 and 2). A document that does not match its digest is
 * KV_ECORRUPT; every field is checked, a bad one is KV_EINVAL naming key and
 * the field. Free out with kv_manifest_free (also after a failure). */
int kv_manifest_parse(const char *key, const char *env, const void *data, size_t len,
                      kv_manifest *out);

void kv_manifest_free(kv_manifest *m);

/* Sum of the sizes of all files. */
uint64_t kv_manifest_bytes(const kv_manifest *m);

#endif
