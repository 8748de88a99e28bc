/*
 * kvault — back up RocksDB databases to object and file storage, and restore
 * them. This is the whole public interface of libkvault; the `kvault` command
 * line tool is written against nothing else.
 *
 * Conventions: every function returns an int status (KV_OK or a negative
 * KV_E* code); outputs come last, through pointers. On failure a message that
 * names the file, object or option and the cause is available from
 * kvault_errmsg() on the calling thread until the next call into the library.
 */
#ifndef KVAULT_H
#define KVAULT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KVAULT_VERSION "0.1.0"

/* Status codes. */
enum {
    KV_OK = 0,
    KV_ERR = -1,          /* failure of no more specific kind */
    KV_EINVAL = -2,       /* bad argument, option, URL or input document */
    KV_ENOTFOUND = -3,    /* object, file, bucket or backup does not exist */
    KV_EEXIST = -4,       /* target exists and may not be replaced */
    KV_EAUTH = -5,        /* credentials missing, wrong, or not allowed */
    KV_ECORRUPT = -6,     /* data does not match its size or checksum */
    KV_EIO = -7,          /* local I/O failure */
    KV_ETRANSIENT = -8,   /* failure a retry may fix (reset, timeout, 5xx) */
    KV_ENOMEM = -9,
    KV_ECANCELED = -10,
    KV_EUNSUPPORTED = -11 /* the store cannot do what was asked */
};

/* The RocksDB C API's handles; declared here so that callers that do not
 * pass them need not include <rocksdb/c.h>. */
typedef struct rocksdb_t rocksdb_t;
typedef struct rocksdb_options_t rocksdb_options_t;

/* The options an application opens its database with, for databases that
 * need code kvault does not have (a custom comparator or merge operator,
 * a custom table factory). kvault copies them and changes only what keeps
 * its opens read-only and out of the database's directory (WAL directory,
 * info-log directory, create_if_missing). Without them kvault uses the
 * options in the database's own OPTIONS file and stand-ins that carry the
 * comparator's and merge operator's names: every file is still backed up
 * and checked byte for byte, but keys of a column family with a stand-in
 * comparator are not read (see kvault_verify_report.not_checked). The
 * caller keeps ownership of every object. */
typedef struct kvault_db_options {
    rocksdb_options_t *options;              /* for every column family not
                                                listed below; NULL = none */
    size_t ncf;                              /* per column family: */
    const char *const *cf_names;
    rocksdb_options_t *const *cf_options;
} kvault_db_options;

typedef struct kvault kvault;

/* Progress of a long transfer: bytes moved so far out of total. Called from
 * worker threads, at most a few times a second. */
typedef void (*kvault_progress_cb)(uint64_t done, uint64_t total, void *payload);

typedef struct kvault_options {
    int workers;              /* concurrent transfers; 0 = default (8) */
    uint64_t part_size;       /* bytes per part of a large file; 0 = automatic */
    uint64_t memory_budget;   /* bytes of part buffers for the process; 0 = default */
    uint64_t rate_limit;      /* bytes per second for the process; 0 = unlimited */
    kvault_progress_cb progress;
    void *progress_payload;
} kvault_options;

/* Last error message on this thread ("" when none). */
const char *kvault_errmsg(void);

/* Sets how much the library writes to stderr: 0 errors only, 1 info, 2 debug. */
void kvault_set_verbosity(int level);

/* Opens a store: "/path", "file:///path", "s3://bucket/prefix", "az://...",
 * "gs://...", "hdfs://...". opts may be NULL. */
int kvault_open(const char *store_url, const kvault_options *opts, kvault **out);
void kvault_close(kvault *kv);

/* Opens the store that holds the object a URL names and returns the object's
 * key inside it: "s3://b/x/y" opens s3://b with key "x/y"; "/tmp/f" opens the
 * local store at "/" with key "tmp/f". Free *key with kvault_free(). */
int kvault_open_url(const char *url, const kvault_options *opts, kvault **out, char **key);

/* ---- backups ---------------------------------------------------------- */

typedef struct kvault_backup_opts {
    const char *env;          /* environment folder; NULL = "default" */
    const char *wal_dir;      /* the database's WAL directory when it is not
                                 the database directory and its info LOG
                                 does not say; NULL = find it */
    const char *scratch_dir;  /* where kvault keeps its copy of the small
                                 files (CURRENT, MANIFEST, OPTIONS, WALs);
                                 NULL = $TMPDIR, else /tmp */
    const kvault_db_options *db_options; /* NULL = the DB's OPTIONS file */
} kvault_backup_opts;

/* What one backup holds; filled by backup, list and verify. */
typedef struct kvault_backup_info {
    char id[64];              /* e.g. 20261123T125000Z-3fa2 */
    char date[16];            /* YYYY-MM-DD, the folder it lives in */
    char env[128];
    int64_t started_unix;     /* seconds since the epoch, UTC */
    double seconds;           /* wall time the backup took */
    uint64_t files;           /* files in the backup */
    uint64_t bytes;           /* bytes of all files in the backup */
    uint64_t files_new;       /* files stored by this backup (not referenced) */
    uint64_t bytes_new;       /* bytes stored by this backup */
    uint64_t sequence;        /* latest sequence number of the source DB */
    uint64_t bytes_checksummed; /* backup only: bytes read just to learn a CRC
                                   (SSTs missing from the local checksum cache) */
} kvault_backup_info;

/* Backs up the database at db_path, whether a process holds it open and
 * writes to it or it is stopped, without writing anything into it: kvault
 * opens its files read-only, holds them open (so files the owner deletes
 * meanwhile stay readable), copies the small ones, and checks the copy with
 * a read-only open. The backup is the database as a crash at that moment
 * would leave it: its MANIFEST as it was, and every WAL record complete at
 * that moment (writes made with the WAL disabled are in it once flushed).
 * Needs one file descriptor per SST file. */
int kvault_backup(kvault *kv, const char *db_path, const kvault_backup_opts *opts,
                  kvault_backup_info *out);

/* Backs up a live database handle that the caller keeps open and using, as
 * kvault_backup does, with file deletions paused and the WAL buffer written
 * out while kvault takes hold of the files. db_path is the path it was
 * opened at. */
int kvault_backup_live(kvault *kv, rocksdb_t *db, const char *db_path,
                       const kvault_backup_opts *opts, kvault_backup_info *out);

/* Lists the complete backups of an env (NULL = "default"), oldest first.
 * Free the array with kvault_free(). */
int kvault_list(kvault *kv, const char *env, kvault_backup_info **out, size_t *count);

/* One environment folder of a store. */
typedef struct kvault_env_info {
    char env[128];
    uint64_t backups;         /* complete backups (manifests) */
    char latest_id[64];
    int64_t latest_unix;      /* start time of the latest backup */
} kvault_env_info;

/* Lists the envs of the store that hold at least one complete backup, by
 * name. Reads the names of every object in the store. Free the array with
 * kvault_free(). */
int kvault_list_envs(kvault *kv, kvault_env_info **out, size_t *count);

typedef struct kvault_restore_opts {
    const char *env;          /* NULL = "default" */
    const char *backup_id;    /* NULL or "latest" = the newest */
    int force;                /* replace a non-empty destination */
    const kvault_db_options *db_options; /* for the check that the restored
                                            database opens; NULL = its own
                                            OPTIONS file */
} kvault_restore_opts;

/* Downloads a backup into a new directory beside dest_dir, checks every
 * file against the manifest, opens the result read-only, and only then
 * moves it into place. A dest_dir whose RocksDB LOCK a process holds is
 * refused (KV_EEXIST) and left as it is; kvault holds that lock itself
 * while it swaps the directories. WAL files are restored into the database
 * directory, and an OPTIONS file that named another WAL directory is
 * rewritten not to. */
int kvault_restore(kvault *kv, const kvault_restore_opts *opts, const char *dest_dir,
                   kvault_backup_info *out);

typedef struct kvault_verify_opts {
    const char *env;
    const char *backup_id;    /* NULL or "latest" */
    int restore_check;        /* also restore to a scratch dir and read every key */
    const kvault_db_options *db_options; /* for restore_check; NULL = the
                                            backup's own OPTIONS file */
} kvault_verify_opts;

typedef struct kvault_verify_report {
    kvault_backup_info backup;
    uint64_t objects_checked;
    uint64_t bytes_checked;
    int restore_checked;       /* restore_check was done */
    uint64_t column_families;  /* with restore_check */
    uint64_t keys;             /* with restore_check: keys read, all CFs */
    char not_checked[512];     /* with restore_check: what could not be
                                  checked and why; "" when everything was */
} kvault_verify_report;

int kvault_verify(kvault *kv, const kvault_verify_opts *opts, kvault_verify_report *out);

typedef struct kvault_prune_opts {
    const char *env;          /* NULL = "default" */
    int keep_last;            /* keep the newest N backups; at least 1 */
    int keep_days;            /* also keep backups younger than this; 0 = none */
    int64_t incomplete_grace_s; /* objects of attempts without a manifest are
                                   removed once their id is older than this;
                                   0 = 24 hours */
    int dry_run;              /* report what would go, remove nothing */
} kvault_prune_opts;

typedef struct kvault_prune_report {
    uint64_t backups_kept;
    uint64_t backups_removed;
    uint64_t objects_removed;   /* besides the removed backups' manifests,
                                   including those of incomplete attempts */
    uint64_t bytes_removed;
    uint64_t incomplete_removed; /* objects of attempts that never committed */
} kvault_prune_report;

/* Retention: removes the backups of an env that opts does not keep, and the
 * leftovers of failed attempts. An object that a kept backup references is
 * never removed, wherever it lives. A removed backup's manifest goes first,
 * so an interrupted prune leaves only an incomplete attempt, which the next
 * prune removes. Do not run it at the same time as a backup of the env: the
 * backup may reference an object the prune is removing. */
int kvault_prune(kvault *kv, const kvault_prune_opts *opts, kvault_prune_report *out);

/* ---- objects ----------------------------------------------------------- */

typedef struct kvault_object {
    char *key;                /* key relative to the store's root prefix */
    uint64_t size;
    int64_t mtime_unix;       /* 0 if the store does not say */
    char etag[128];           /* store's entity tag or digest, may be empty */
} kvault_object;

/* Lists objects under prefix (relative to the store's root). Free with
 * kvault_free_objects(). */
int kvault_ls(kvault *kv, const char *prefix, kvault_object **out, size_t *count);
void kvault_free_objects(kvault_object *objs, size_t count);

/* Fills out; free out->key with kvault_free(). */
int kvault_stat(kvault *kv, const char *key, kvault_object *out);

/* Uploads a local file to key / downloads key to a local file (written under
 * a temporary name and renamed into place when complete). */
int kvault_put_file(kvault *kv, const char *local_path, const char *key);
int kvault_get_file(kvault *kv, const char *key, const char *local_path);

/* Writes an object's bytes to a file descriptor (e.g. stdout), in order. */
int kvault_cat(kvault *kv, const char *key, int fd);

int kvault_rm(kvault *kv, const char *key);

void kvault_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
