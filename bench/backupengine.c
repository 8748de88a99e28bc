/* kvault-bench-backupengine: RocksDB's own BackupEngine, as the baseline for
 * kvault's local backups in bench/local_backup.sh.
 *
 *   kvault-bench-backupengine DB_DIR BACKUP_DIR THREADS
 *
 * Opens the database with all its column families, then backs it up with
 * create_new_backup_flush using THREADS background operations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#define MAX_CFS 64

static int fail(const char *what, char *err)
{
    fprintf(stderr, "kvault-bench-backupengine: %s: %s\n", what, err ? err : "failed");
    free(err);
    return 1;
}

static int backup(rocksdb_t *db, const char *backup_dir, int threads)
{
    rocksdb_backup_engine_options_t *bo = rocksdb_backup_engine_options_create(backup_dir);
    rocksdb_env_t *env = rocksdb_create_default_env();
    rocksdb_backup_engine_t *be;
    char *err = NULL;

    rocksdb_backup_engine_options_set_max_background_operations(bo, threads);
    rocksdb_backup_engine_options_set_env(bo, env);
    be = rocksdb_backup_engine_open_opts(bo, env, &err);
    if (!err)
        rocksdb_backup_engine_create_new_backup_flush(be, db, 1, &err);
    if (be)
        rocksdb_backup_engine_close(be);
    rocksdb_backup_engine_options_destroy(bo);
    rocksdb_env_destroy(env);
    return err ? fail(backup_dir, err) : 0;
}

int main(int argc, char **argv)
{
    rocksdb_options_t *opts;
    rocksdb_column_family_handle_t *cf[MAX_CFS];
    const rocksdb_options_t *cf_opts[MAX_CFS];
    rocksdb_t *db = NULL;
    char **names = NULL, *err = NULL;
    size_t ncf = 0;
    int rc = 1;

    if (argc != 4 || atoi(argv[3]) < 1) {
        fprintf(stderr, "usage: kvault-bench-backupengine DB_DIR BACKUP_DIR THREADS\n");
        return 2;
    }
    opts = rocksdb_options_create();
    names = rocksdb_list_column_families(opts, argv[1], &ncf, &err);
    if (!err && ncf > MAX_CFS)
        err = strdup("too many column families");
    for (size_t i = 0; !err && i < ncf; i++)
        cf_opts[i] = opts;
    if (!err)
        db = rocksdb_open_column_families(opts, argv[1], (int)ncf, (const char *const *)names,
                                          cf_opts, cf, &err);
    if (err)
        rc = fail(argv[1], err);
    else
        rc = backup(db, argv[2], atoi(argv[3]));
    for (size_t i = 0; db && i < ncf; i++)
        rocksdb_column_family_handle_destroy(cf[i]);
    if (db)
        rocksdb_close(db);
    if (names)
        rocksdb_list_column_families_destroy(names, ncf);
    rocksdb_options_destroy(opts);
    return rc;
}
