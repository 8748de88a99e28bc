/*
 * kvault — back up RocksDB databases to object and file storage, and restore
 * them. This is the whole public interface of libkvault; the `kvault` command
 * line tool is written against nothing else.
 *
 * Conventions
 *   - Every function returns an int status (KV_OK or a negative KV_E* code);
 *     outputs come last, through pointers. On failure a message that names
 *     the file, object or option and the cause is available from
 *     kvault_errmsg() on the calling thread until its next call into the
 *     library. Messages name the library's own fields
 *     ("kvault_backup_opts.wal_dir"), never a command line flag.
 *   - Option structs start with a version: initialise them with their
 *     KVAULT_*_INIT macro (then set fields), so a program built against this
 *     header keeps working with a later libkvault that adds fields. A struct
 *     whose version the library does not know is KV_EINVAL. Pointers to
 *     option structs may be NULL where a prototype says so: defaults.
 *   - Ownership: the library copies what it keeps from options; the caller
 *     keeps ownership of every pointer it passes. What the library returns
 *     through an out pointer is the caller's, freed as the prototype says.
 *   - Threads: the library is thread-safe. A kvault handle may be used by
 *     several threads at once; option structs are only read. Callbacks
 *     (progress, log) run on library worker threads.
 *   - The library reads no environment variables: kvault_config_from_env()
 *     is the one place that does, for programs (like the CLI) that want the
 *     clouds' usual variables to apply.
 */
#ifndef KVAULT_H
#define KVAULT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KVAULT_VERSION "0.2.0"
#define KVAULT_VERSION_MAJOR 0
#define KVAULT_VERSION_MINOR 2
#define KVAULT_VERSION_PATCH 0

/* Status codes. */
enum {
    KV_OK = 0,
    KV_ERR = -1,          /* failure of no more specific kind */
    KV_EINVAL = -2,       /* bad argument, option, URL or input document */
    KV_ENOTFOUND = -3,    /* object, file, bucket or backup does not exist */
    KV_EEXIST = -4,       /* target exists (or is in use) and may not be replaced */
    KV_EAUTH = -5,        /* credentials missing, wrong, or not allowed */
    KV_ECORRUPT = -6,     /* data does not match its size or checksum */
    KV_EIO = -7,          /* local I/O failure */
    KV_ETRANSIENT = -8,   /* failure a retry may fix (reset, timeout, 5xx) */
    KV_ENOMEM = -9,
    KV_ECANCELED = -10,   /* the progress callback asked to stop */
    KV_EUNSUPPORTED = -11 /* the store cannot do what was asked */
};

/* Last error message on this thread ("" when none). The string is valid
 * until the thread's next call into the library. */
const char *kvault_errmsg(void);

/* A short constant description of a status code ("not found", ...). */
const char *kvault_strerror(int code);

/* The library's version, which may differ from KVAULT_VERSION (the header's)
 * when a program runs against a newer shared library. */
const char *kvault_version(void);

/* ---- process-wide settings ------------------------------------------------ */

enum { KVAULT_LOG_ERROR = 0, KVAULT_LOG_INFO = 1, KVAULT_LOG_DEBUG = 2 };

/* Receives the library's log lines (no trailing newline). Called from any
 * thread, possibly several at once; must not call into the library. */
typedef void (*kvault_log_cb)(int level, const char *message, void *payload);

#define KVAULT_GLOBAL_VERSION 1
typedef struct kvault_global {
    unsigned int version;     /* KVAULT_GLOBAL_VERSION */
    uint64_t memory_budget;   /* bytes of part buffers for the whole process,
                                 shared by every handle; 0 = automatic (sized
                                 from workers and part size per transfer) */
    uint64_t rate_limit;      /* bytes per second for the whole process;
                                 0 = unlimited */
    int verbosity;            /* KVAULT_LOG_*: the most detailed level logged */
    kvault_log_cb log;        /* NULL = lines to stderr, "kvault: " first */
    void *log_payload;
} kvault_global;
#define KVAULT_GLOBAL_INIT {KVAULT_GLOBAL_VERSION, 0, 0, KVAULT_LOG_ERROR, NULL, NULL}

/* Sets every process-wide setting at once (unset fields are the defaults).
 * These are the process's, not a handle's: call it before starting
 * operations, or between them; operations already running keep the
 * settings they started with. */
int kvault_global_set(const kvault_global *g);

/* ---- stores ---------------------------------------------------------------- */

/* One setting of a store by the name its cloud's own SDK uses
 * (AWS_ACCESS_KEY_ID, AWS_PROFILE, AZURE_STORAGE_KEY,
 * GOOGLE_APPLICATION_CREDENTIALS, HADOOP_USER_NAME, ...) or kvault's
 * (KVAULT_HDFS_HTTPFS, ...). docs/s3.md, azure.md, gcs.md and hdfs.md list
 * each store's. */
typedef struct kvault_setting {
    const char *name;
    const char *value;
} kvault_setting;

#define KVAULT_STORE_OPTS_VERSION 1
typedef struct kvault_store_opts {
    unsigned int version;     /* KVAULT_STORE_OPTS_VERSION */
    const char *endpoint;     /* a server other than the cloud's own (an
                                 S3-compatible store, an emulator); NULL = the
                                 settings' (AWS_ENDPOINT_URL, ...) or none */
    const char *region;       /* NULL = the settings' (AWS_REGION, ...) */
    const char *ca_file;      /* PEM certificates to verify TLS servers with;
                                 NULL = the settings' (AWS_CA_BUNDLE, ...),
                                 else the system's. Never "don't verify". */
    int connect_timeout_s;    /* 0 = 10 */
    int stall_timeout_s;      /* a transfer moving no byte this long fails
                                 and is retried; 0 = 60 */
    int max_retries;          /* attempts after the first for errors a retry
                                 may fix; 0 = 6 */
    const kvault_setting *settings; /* later entries win */
    size_t nsettings;
} kvault_store_opts;
#define KVAULT_STORE_OPTS_INIT {KVAULT_STORE_OPTS_VERSION, NULL, NULL, NULL, 0, 0, 0, NULL, 0}

typedef struct kvault kvault;

/* Progress of a long transfer: bytes moved so far out of total. Called from
 * worker threads, at most a few times a second. Returning non-zero cancels
 * the operation: it stops promptly, removes what it had started (uploaded
 * objects of an uncommitted backup, a partial restore) and returns
 * KV_ECANCELED. */
typedef int (*kvault_progress_cb)(uint64_t done, uint64_t total, void *payload);

#define KVAULT_OPTIONS_VERSION 1
typedef struct kvault_options {
    unsigned int version;     /* KVAULT_OPTIONS_VERSION */
    int workers;              /* concurrent transfers; 0 = default (8) */
    uint64_t part_size;       /* bytes per part of a large file; 0 = automatic */
    kvault_progress_cb progress; /* may be NULL */
    void *progress_payload;
    const char *cache_dir;    /* where backups keep their SST checksum cache;
                                 NULL = no cache (every SST is read once to
                                 learn its checksum) */
    const char *tmp_dir;      /* temporary files (verify's scratch restore,
                                 a backup's default scratch); NULL = /tmp */
    const kvault_store_opts *store; /* NULL = no settings (the store's
                                       defaults, no credentials) */
    int lock_wait_s;          /* backups hold a shared lease on their env,
                                 prune and gc an exclusive one (docs/
                                 lifecycle.md); how long to wait for a
                                 conflicting one to go; 0 = fail at once */
    int lock_stale_s;         /* a lease not refreshed for this long belongs
                                 to a process that died; 0 = 1800 */
} kvault_options;
#define KVAULT_OPTIONS_INIT {KVAULT_OPTIONS_VERSION, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, 0}

/* What the process environment says, read the way the kvault CLI reads
 * it: cache_dir from KVAULT_CACHE_DIR, $XDG_CACHE_HOME/kvault or
 * ~/.cache/kvault; tmp_dir from TMPDIR; the store options from every
 * variable a store reads (AWS_*, AZURE_*, GOOGLE_*, GCE_METADATA_HOST,
 * STORAGE_EMULATOR_HOST, HADOOP_*, KVAULT_*, SSL_CERT_FILE, CURL_CA_BUNDLE,
 * and HOME for ~/.aws), with KVAULT_CONNECT_TIMEOUT and KVAULT_STALL_TIMEOUT
 * as the timeouts. Reading the environment is not thread-safe against
 * threads that change it; nothing else in the library reads it. */
typedef struct kvault_config kvault_config;
int kvault_config_from_env(kvault_config **out);
/* The options read, owned by cfg (valid until kvault_config_free): pass
 * them to kvault_open, or copy the struct and set more fields. */
const kvault_options *kvault_config_options(const kvault_config *cfg);
void kvault_config_free(kvault_config *cfg);

/* Opens a store: "/path", "file:///path", "s3://bucket/prefix", "az://...",
 * "gs://...", "hdfs://...". opts may be NULL. Close with kvault_close(). */
int kvault_open(const char *store_url, const kvault_options *opts, kvault **out);
void kvault_close(kvault *kv);

/* Opens the store that holds the object a URL names and returns the object's
 * key inside it: "s3://b/x/y" opens s3://b with key "x/y"; "/tmp/f" opens the
 * local store at "/" with key "tmp/f". Free *key with kvault_free(). */
int kvault_open_url(const char *url, const kvault_options *opts, kvault **out, char **key);

/* ---- the databases ------------------------------------------------------- */

/* The RocksDB C API's handles; declared here so that callers that do not
 * pass them need not include <rocksdb/c.h>. */
typedef struct rocksdb_t rocksdb_t;
typedef struct rocksdb_options_t rocksdb_options_t;
typedef struct rocksdb_column_family_handle_t rocksdb_column_family_handle_t;

/* The options an application opens its database with, for databases that
 * need code kvault does not have (a custom comparator or merge operator,
 * a custom table factory). kvault copies them and changes only what keeps
 * its opens read-only and out of the database's directory (WAL directory,
 * info-log directory, create_if_missing). Without them kvault uses the
 * options in the database's own OPTIONS file and stand-ins that carry the
 * comparator's and merge operator's names: every file is still backed up
 * and checked byte for byte, but keys of a column family with a stand-in
 * comparator are not read (see kvault_verify_report.not_checked). */
#define KVAULT_DB_OPTIONS_VERSION 1
typedef struct kvault_db_options {
    unsigned int version;                    /* KVAULT_DB_OPTIONS_VERSION */
    rocksdb_options_t *options;              /* for every column family not
                                                listed below; NULL = none */
    size_t ncf;                              /* per column family: */
    const char *const *cf_names;
    rocksdb_options_t *const *cf_options;
} kvault_db_options;
#define KVAULT_DB_OPTIONS_INIT {KVAULT_DB_OPTIONS_VERSION, NULL, 0, NULL, NULL}

/* ---- backups ---------------------------------------------------------- */

/* What a backup holds (kvault_backup_opts.format). */
enum {
    KVAULT_FORMAT_FILES = 0,  /* the database's own files; later backups
                                 store only the SST files earlier ones lack */
    KVAULT_FORMAT_SST = 1     /* an export: every key of every column family
                                 at one point in time, written as new SST
                                 files cf_<name>-NNNNN.sst (docs/export.md);
                                 restored by ingesting them */
};

#define KVAULT_BACKUP_OPTS_VERSION 2 /* 1 (without format, sst_size) is still taken */
typedef struct kvault_backup_opts {
    unsigned int version;     /* KVAULT_BACKUP_OPTS_VERSION */
    const char *env;          /* environment folder; NULL = "default" */
    const char *wal_dir;      /* the database's WAL directory when neither its
                                 OPTIONS file nor its info LOG says; NULL =
                                 find it */
    const char *scratch_dir;  /* where kvault keeps its copy of the small
                                 files (CURRENT, MANIFEST, OPTIONS, WALs);
                                 NULL = kvault_options.tmp_dir */
    const kvault_db_options *db_options; /* NULL = the DB's OPTIONS file */
    int format;               /* KVAULT_FORMAT_*; version 2 */
    uint64_t sst_size;        /* an export's files are cut at this size;
                                 0 = 256 MiB; version 2 */
    int single_file;          /* KVAULT_SINGLE_FILE_*: store what the backup
                                 stores as one archive object <id>.kvault
                                 (docs/archive.md); version 2 */
} kvault_backup_opts;
#define KVAULT_BACKUP_OPTS_INIT {KVAULT_BACKUP_OPTS_VERSION, NULL, NULL, NULL, NULL, 0, 0, 0}

enum {
    KVAULT_SINGLE_FILE_DEFAULT = 0, /* the store's preference: yes for HDFS
                                       (a NameNode suffers from many small
                                       files), no for the others */
    KVAULT_SINGLE_FILE_YES = 1,
    KVAULT_SINGLE_FILE_NO = 2
};

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
    uint64_t sequence;        /* the restored database's latest sequence number */
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
 * Needs one file descriptor per SST file. opts may be NULL. */
int kvault_backup(kvault *kv, const char *db_path, const kvault_backup_opts *opts,
                  kvault_backup_info *out);

/* Backs up a live database handle that the caller keeps open and using, as
 * kvault_backup does, with file deletions paused and the WAL buffer written
 * out while kvault takes hold of the files. db_path is the path it was
 * opened at. The handle may be used by other threads meanwhile. */
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

#define KVAULT_RESTORE_OPTS_VERSION 2 /* 1 (without cfs) is still taken */
typedef struct kvault_restore_opts {
    unsigned int version;     /* KVAULT_RESTORE_OPTS_VERSION */
    const char *env;          /* NULL = "default" */
    const char *backup_id;    /* NULL or "latest" = the newest */
    int force;                /* replace a non-empty destination */
    const kvault_db_options *db_options; /* for the check that the restored
                                            database opens; NULL = its own
                                            OPTIONS file */
    const char *const *cfs;   /* an export: restore only these column
                                 families; ncfs 0 = all. Version 2 */
    size_t ncfs;
} kvault_restore_opts;
#define KVAULT_RESTORE_OPTS_INIT {KVAULT_RESTORE_OPTS_VERSION, NULL, NULL, 0, NULL, NULL, 0}

/* Downloads a backup into a new directory beside dest_dir, checks every
 * file against the manifest, opens the result read-only, and only then
 * moves it into place. An SST export is restored by creating a new
 * database with its column families (only opts->cfs, when given) and
 * ingesting its files; every column family's key count is checked against
 * the manifest. A dest_dir whose RocksDB LOCK a process holds is
 * refused (KV_EEXIST) and left as it is; kvault holds that lock itself
 * while it swaps the directories. WAL files are restored into the database
 * directory, and an OPTIONS file that named another WAL directory is
 * rewritten not to. opts may be NULL. */
int kvault_restore(kvault *kv, const kvault_restore_opts *opts, const char *dest_dir,
                   kvault_backup_info *out);

/* Loading an SST export (a backup made with KVAULT_FORMAT_SST) into an
 * existing database: e.g. to seed a replica or a staging database. */
#define KVAULT_INGEST_OPTS_VERSION 1
typedef struct kvault_ingest_opts {
    unsigned int version;     /* KVAULT_INGEST_OPTS_VERSION */
    const char *env;          /* NULL = "default" */
    const char *backup_id;    /* NULL or "latest" = the newest */
    const char *const *cfs;   /* only these column families; ncfs 0 = all */
    size_t ncfs;
    const kvault_db_options *db_options; /* kvault_ingest: the options to
                                            open the database with; NULL =
                                            its own OPTIONS file */
} kvault_ingest_opts;
#define KVAULT_INGEST_OPTS_INIT {KVAULT_INGEST_OPTS_VERSION, NULL, NULL, NULL, 0, NULL}

/* Ingests the export's SST files into the database at db_path, which no
 * process may hold open (RocksDB's lock; use kvault_ingest_live for one the
 * caller has open). Column families it lacks are created. The files are
 * downloaded and checked into a staging directory beside db_path (so
 * RocksDB can link them in), then ingested with IngestExternalFile: keys
 * the database already has are overwritten by the export's. KV_EUNSUPPORTED
 * for a backup that is not an export. opts may be NULL. */
int kvault_ingest(kvault *kv, const kvault_ingest_opts *opts, const char *db_path);

/* The same into a database the caller holds open: cf_names[i] is the
 * column family cf_handles[i] opens; every column family the export (or
 * opts->cfs) loads must be among them. db_path is where the database lives
 * (the staging directory goes beside it). */
int kvault_ingest_live(kvault *kv, const kvault_ingest_opts *opts, rocksdb_t *db,
                       const char *db_path, const char *const *cf_names,
                       rocksdb_column_family_handle_t *const *cf_handles, size_t ncf);

#define KVAULT_VERIFY_OPTS_VERSION 1
typedef struct kvault_verify_opts {
    unsigned int version;     /* KVAULT_VERIFY_OPTS_VERSION */
    const char *env;
    const char *backup_id;    /* NULL or "latest" */
    int restore_check;        /* also restore to a scratch dir and read every key */
    const kvault_db_options *db_options; /* for restore_check; NULL = the
                                            backup's own OPTIONS file */
} kvault_verify_opts;
#define KVAULT_VERIFY_OPTS_INIT {KVAULT_VERIFY_OPTS_VERSION, NULL, NULL, 0, NULL}

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

/* Reads every object of a backup and checks it against the manifest.
 * opts may be NULL. */
int kvault_verify(kvault *kv, const kvault_verify_opts *opts, kvault_verify_report *out);

#define KVAULT_PRUNE_OPTS_VERSION 1
typedef struct kvault_prune_opts {
    unsigned int version;     /* KVAULT_PRUNE_OPTS_VERSION */
    const char *env;          /* NULL = "default" */
    /* What to keep (at least one rule; the newest backup is always kept).
     * A backup is kept when any rule keeps it. The calendar rules keep the
     * newest backup of each of the last N hours, days, ISO weeks, months
     * or years (UTC) that have a backup, as restic and borg do. */
    int keep_last;            /* the newest N */
    int keep_days;            /* every backup younger than D days */
    int keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly;
    int64_t grace_s;          /* objects of attempts that never committed (a
                                 killed backup, which the next backup may
                                 resume from) go once older than this;
                                 0 = the default, 24 hours;
                                 KVAULT_GRACE_NONE = at once */
    int dry_run;              /* report what would go, remove nothing */
} kvault_prune_opts;
#define KVAULT_PRUNE_OPTS_INIT {KVAULT_PRUNE_OPTS_VERSION, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0}
#define KVAULT_GRACE_NONE (-1)

/* What prune decided about one backup, and why. */
typedef struct kvault_prune_decision {
    char id[64];
    int64_t started_unix;
    int keep;
    char reasons[160];        /* "last 3, daily 2" ...; "" when it goes */
} kvault_prune_decision;

typedef struct kvault_prune_report {
    uint64_t backups_kept;
    uint64_t backups_removed;
    uint64_t backups_damaged;   /* manifests that did not match their digest:
                                   left in place, named in the log */
    uint64_t objects_removed;   /* besides the removed backups' manifests,
                                   including those of incomplete attempts */
    uint64_t bytes_removed;
    uint64_t incomplete_removed; /* objects of attempts that never committed */
    uint64_t garbage_removed;    /* the store's own leftovers: unfinished
                                    multipart uploads, temporary files */
    kvault_prune_decision *decisions; /* every backup, oldest first; free
                                         with kvault_free() */
    size_t ndecisions;
} kvault_prune_report;

/* Retention: removes the backups of an env that opts does not keep, then
 * collects garbage as kvault_gc does. An object that a kept backup
 * references is never removed, wherever it lives. Takes the env's exclusive
 * lease: it waits for running backups (kvault_options.lock_wait_s) or
 * fails naming them, so a backup can never reference what a prune removes.
 * A removed backup's manifest goes before its objects, so an interrupted
 * prune leaves no backup that looks complete and is not. */
int kvault_prune(kvault *kv, const kvault_prune_opts *opts, kvault_prune_report *out);

#define KVAULT_GC_OPTS_VERSION 1
typedef struct kvault_gc_opts {
    unsigned int version;     /* KVAULT_GC_OPTS_VERSION */
    const char *env;          /* NULL = "default" */
    int64_t grace_s;          /* as kvault_prune_opts.grace_s */
    int dry_run;
} kvault_gc_opts;
#define KVAULT_GC_OPTS_INIT {KVAULT_GC_OPTS_VERSION, NULL, 0, 0}

typedef struct kvault_gc_report {
    uint64_t objects_removed;
    uint64_t bytes_removed;
    uint64_t incomplete_removed;
    uint64_t garbage_removed;
} kvault_gc_report;

/* Removes, under the env's exclusive lease: objects no backup references
 * (those of removed backups at once, those of attempts that never committed
 * once older than grace_s), the store's own leftovers under the env (see
 * kvault_prune_report.garbage_removed), stale leases; and rebuilds the
 * env's index from its manifests. */
int kvault_gc(kvault *kv, const kvault_gc_opts *opts, kvault_gc_report *out);

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

/* ---- notification -------------------------------------------------------- */

#define KVAULT_NOTIFY_OPTS_VERSION 1
typedef struct kvault_notify_opts {
    unsigned int version;     /* KVAULT_NOTIFY_OPTS_VERSION */
    const char *authorization; /* the Authorization header's value (e.g.
                                 "Bearer ..."), or NULL; never logged */
    const char *ca_file;      /* PEM certificates to verify an HTTPS receiver
                                 with; NULL = the system's. Never "don't verify". */
    int timeout_s;            /* per attempt, connection and reply; 0 = 10 */
    int max_retries;          /* attempts after the first for failures a retry
                                 may fix (refused, reset, timeout, 408, 429,
                                 5xx); 0 = 3; backoff 0.5 s doubling */
} kvault_notify_opts;
#define KVAULT_NOTIFY_OPTS_INIT {KVAULT_NOTIFY_OPTS_VERSION, NULL, NULL, 0, 0}

/* POSTs a JSON document (len bytes) to url as application/json: a webhook
 * telling a receiver that a backup, restore, verify or prune ended. KV_OK
 * once the receiver answers 2xx; otherwise the failure, naming the URL
 * (without its query string) and the status. Thread-safe; opts may be NULL. */
int kvault_notify_post(const char *url, const char *json, size_t len,
                       const kvault_notify_opts *opts);

/* Frees what the library returned through an out pointer (arrays, keys). */
void kvault_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
