/* The source database, as a backup sees it: one consistent set of its files,
 * taken without writing a byte into its directories and without opening it
 * with RocksDB, whether a process holds it and writes or it is stopped.
 *
 * How (docs/backup.md has the reasoning):
 *   1. Read CURRENT and note the size of the MANIFEST it names.
 *   2. Open (pin) every SST, blob, WAL and the latest OPTIONS file. An open
 *      file descriptor keeps a file readable after its owner deletes it, so
 *      compactions that finish meanwhile cannot take files away.
 *   3. Read CURRENT and the MANIFEST's size again. RocksDB deletes a file
 *      only after a MANIFEST record makes it obsolete, so if neither changed,
 *      every file the MANIFEST's state needs was pinned. Otherwise start over.
 *   4. In a scratch directory ("the view"), write CURRENT, copy the MANIFEST
 *      up to the noted size, the OPTIONS file, and each WAL up to its last
 *      whole record; link each SST and blob file to its pinned descriptor.
 *   5. Open the view read-only: RocksDB checks that every file exists with
 *      its size, replays the WALs, and says which SSTs are live, which WALs
 *      are needed and the latest sequence number.
 * The backup holds the view's files: the database as a crash at step 2
 * would have left it. */
#ifndef KV_BACKUP_SOURCE_H
#define KV_BACKUP_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "backup/dbconf.h"
#include "kvault.h"

typedef struct kv_src_file {
    char *name;        /* in the database directory, and in the backup */
    char *path;        /* where to read it: in the view */
    struct stat st;    /* the source file's, as pinned; st_size = bytes to back up */
    int fd;            /* pinned descriptor, or -1 */
    int immutable;     /* SST or blob file */
} kv_src_file;

typedef struct kv_source {
    char *db_path;     /* absolute */
    char *wal_dir;     /* absolute; NULL = db_path */
    char *view;
    char *identity;    /* the IDENTITY file's text, or NULL */
    char *manifest_name;
    uint64_t manifest_size;
    kv_src_file *files; /* what the backup holds, sorted by name */
    size_t nfiles;
    char **cfs;
    size_t ncf;
    kv_db_conf conf;   /* comparator and merge operator names */
    uint64_t sequence;
    int attempts;      /* how many times step 3 found the database changed */
} kv_source;

typedef struct kv_source_opts {
    const char *wal_dir;      /* NULL = from the database's own files */
    const char *scratch_dir;  /* NULL = tmp_dir */
    const char *tmp_dir;      /* never NULL */
    const kvault_db_options *app;
    rocksdb_t *live;          /* the caller's open handle, or NULL */
} kv_source_opts;

int kv_source_open(const char *db_path, const kv_source_opts *opts, kv_source *out);
/* Unpins every file and removes the view (also after a failed open). */
void kv_source_close(kv_source *s);

#endif
