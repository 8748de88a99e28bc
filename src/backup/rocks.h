/* The only place kvault talks to RocksDB (through its C API).
 *
 * kvault never opens a source database: it reads a copy of its small files
 * (see source.h). Every database kvault opens — that copy, a restored one,
 * a verify scratch copy — is opened read-only, with the options its own
 * OPTIONS file records (or the application's, when it passes them), its info
 * LOG kept in a private directory, and stand-ins for comparators and merge
 * operators it names but kvault does not have. A stand-in carries the name
 * (RocksDB refuses a comparator whose name differs from the one the
 * database was made with) and orders keys bytewise: enough to list files
 * and replay a WAL, not to read keys in the database's order, so reading
 * keys is refused where a comparator is a stand-in. A stand-in merge
 * operator keeps the newest operand: keys and checksums are still read, but
 * merged values are not the application's. */
#ifndef KV_BACKUP_ROCKS_H
#define KV_BACKUP_ROCKS_H

#include <stddef.h>
#include <stdint.h>

#include <rocksdb/c.h>

#include "kvault.h"

/* A database opened read-only with all its column families. */
typedef struct kv_rdb {
    rocksdb_t *db;
    char *path;
    char **cf_names;
    size_t ncf;
    rocksdb_column_family_handle_t **cfs;
    rocksdb_options_t *db_opts;
    rocksdb_options_t **cf_opts;
    rocksdb_comparator_t **standin_cmp;  /* per CF; NULL where real */
    char **cf_comparator;                /* per CF: the name the DB was made with */
    char **standin_merge;                /* per CF: name of a stand-in merge operator */
    char *log_dir;                       /* private info-log directory */
    int own_names;                       /* cf_names is kvault's, not RocksDB's */
} kv_rdb;

/* Turns a RocksDB error string into a status and a message ("<what> '<path>':
 * <err>"), frees it and returns the status. */
int kv_rdb_error(char *err, const char *what, const char *path);

/* Opens the database at dir read-only. wal_dir: where its WAL files are
 * (NULL = dir). app: the application's options, or NULL. tmp_dir: where the
 * private info-log directory goes. Close with kv_rdb_close (also after a
 * failure). */
int kv_rdb_open(const char *dir, const char *wal_dir, const kvault_db_options *app,
                const char *tmp_dir, kv_rdb *out);
void kv_rdb_close(kv_rdb *r);

/* Opens dir read-write for kvault to write into: a new database (create:
 * it must not exist) or an existing one that no process holds open. Never a
 * backup's source. Options: the application's, else those of the OPTIONS
 * file in options_dir (the backup's for a new database, the target's own
 * for an existing one), else RocksDB's defaults. The column families in cfs
 * that it lacks are created. A column family whose comparator kvault does
 * not have is refused (KV_EUNSUPPORTED): it could not order what is written.
 * Close with kv_rdb_close. */
int kv_rdb_open_target(const char *dir, const char *options_dir, const kvault_db_options *app,
                       char *const *cfs, size_t ncf, int create, const char *tmp_dir, kv_rdb *out);

/* The latest sequence number (after WAL replay). */
uint64_t kv_rdb_sequence(const kv_rdb *r);

/* The oldest WAL number the database still needs. */
int kv_rdb_min_log(const kv_rdb *r, uint64_t *out);

/* Calls cb with the name ("000123.sst") of every live SST file. */
int kv_rdb_live_ssts(const kv_rdb *r, int (*cb)(const char *name, void *payload), void *payload);

/* What kv_rdb_read_all could not check, as a sentence, or "" when nothing. */
typedef struct kv_rdb_read_report {
    uint64_t keys;
    char not_checked[512];
} kv_rdb_read_report;

/* Reads every key (and value) of every column family with checksums
 * verified. Column families whose comparator is a stand-in are not read; a
 * stand-in merge operator is noted. */
int kv_rdb_read_all(const kv_rdb *r, kv_rdb_read_report *out);

/* For a caller's open handle: writes out its WAL buffer and stops RocksDB
 * deleting files until resumed (counted: each pause needs one resume). */
int kv_rdb_pause_deletions(rocksdb_t *db, const char *path);
void kv_rdb_resume_deletions(rocksdb_t *db);

#endif
