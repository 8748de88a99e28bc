/* What a database's own files say about how it is configured, read without
 * opening it: the latest OPTIONS-<n> file (RocksDB writes one at every open
 * and option change) and the header of its info LOG. kvault needs three
 * things RocksDB's C API cannot return: each column family's comparator and
 * merge operator names (code, not options: a DB that names ones kvault does
 * not have is opened with stand-ins that only carry the name), and where the
 * WAL lives: OPTIONS' wal_dir, else the "Options.wal_dir:" line of the info
 * LOG's header (an OPTIONS file written by an open that did not set wal_dir,
 * a tool's for instance, leaves it out). */
#ifndef KV_BACKUP_DBCONF_H
#define KV_BACKUP_DBCONF_H

#include <stddef.h>

typedef struct kv_cf_conf {
    char *name;
    char *comparator;       /* "leveldb.BytewiseComparator" when not said */
    char *merge_operator;   /* NULL when none */
} kv_cf_conf;

typedef struct kv_db_conf {
    char *options_file;     /* name of the latest OPTIONS-<n>; NULL if none */
    char *wal_dir;          /* absolute; NULL = the database directory */
    kv_cf_conf *cfs;        /* in the OPTIONS file's order */
    size_t ncf;
} kv_db_conf;

/* Reads the latest OPTIONS file of dir (if any) and, when it does not name a
 * WAL directory, the info LOG's header. Free with kv_db_conf_free. */
int kv_db_conf_read(const char *dir, kv_db_conf *out);
void kv_db_conf_free(kv_db_conf *c);

/* The column family's entry, or NULL. */
const kv_cf_conf *kv_db_conf_cf(const kv_db_conf *c, const char *name);

/* 1 if RocksDB has the comparator built in. */
int kv_comparator_is_builtin(const char *name);

/* The name of the newest OPTIONS-<n> in dir (malloc'd), or NULL if none. */
int kv_latest_options_file(const char *dir, char **name);

/* Rewrites an OPTIONS file restored into a new directory so that it no
 * longer names the source's WAL or info-log directories (older RocksDB
 * versions wrote wal_dir and db_log_dir into it): their values become empty,
 * i.e. the database's own directory. */
int kv_options_file_localize(const char *path);

#endif
