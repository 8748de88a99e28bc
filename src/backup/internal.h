/* What the backup layer's files share. */
#ifndef KV_BACKUP_INTERNAL_H
#define KV_BACKUP_INTERNAL_H

#include "backup/manifest.h"
#include "backup/rocks.h"
#include "kvault.h"
#include "store/store.h"
#include "transfer/transfer.h"

struct kvault {
    kv_store *st;
    kv_xfer_opts xo;
    char *cache_dir;   /* NULL = no checksum cache */
    char *tmp_dir;     /* never NULL */
    int lock_wait_s, lock_stale_s;
};

/* KV_EINVAL naming the struct unless version is the one this library
 * knows (structs given by pointer may be NULL: version 0 is not allowed). */
int kv_check_version(unsigned int version, unsigned int known, const char *type);
/* The same for a struct that grew: versions oldest..known are taken (the
 * caller reads the fields a version has only when it has them). */
int kv_check_versions(unsigned int version, unsigned int oldest, unsigned int known,
                      const char *type);

void kv_info_from_manifest(const kv_manifest *m, kvault_backup_info *out);

/* Downloads every file of m into dir, checking each against its size and
 * CRC32C; with dir NULL only reads and checks them. */
int kv_fetch_backup(kvault *kv, const kv_manifest *m, const char *dir);

/* Opens the database restored from m into dir read-only (with the
 * application's options, or its own OPTIONS file and stand-ins) and checks
 * it has the manifest's column families and sequence number; with read_all
 * also reads every key into *report. */
int kv_check_restored(const kv_manifest *m, const char *dir, const kvault_db_options *app,
                      const char *tmp_dir, int read_all, kv_rdb_read_report *report);

#endif
