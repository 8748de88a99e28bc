#include "backup/rocks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/dbconf.h"
#include "backup/localdir.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"

/* Tables are opened as needed, not all at open (the RocksDB default for
 * max_open_files = -1 loads every table: slow for thousands of SSTs). */
#define MAX_OPEN_FILES 256
#define OPTIONS_CACHE_BYTES (8u << 20)

int kv_rdb_error(char *err, const char *what, const char *path)
{
    int code = KV_ERR;
    if (strstr(err, "does not exist") || strstr(err, "No such file"))
        code = KV_ENOTFOUND;
    else if (strncmp(err, "Corruption", 10) == 0)
        code = KV_ECORRUPT;
    else if (strncmp(err, "IO error", 8) == 0)
        code = KV_EIO;
    code = kv_seterr(code, "%s '%s': %s", what, path, err);
    rocksdb_free(err);
    return code;
}

/* ---- stand-ins for code kvault does not have ------------------------------ */

static void free_state(void *s)
{
    free(s);
}

static const char *state_name(void *s)
{
    return s;
}

static int bytewise(void *s, const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, n);
    (void)s;
    return c ? c : (alen > blen) - (alen < blen);
}

static char *newest_operand(const char *const *ops, const size_t *lens, int n,
                            unsigned char *ok, size_t *out_len)
{
    char *v = malloc(lens[n - 1] + 1);
    *ok = v != NULL;
    if (v) {
        memcpy(v, ops[n - 1], lens[n - 1]);
        *out_len = lens[n - 1];
    }
    return v;
}

static char *standin_full_merge(void *s, const char *key, size_t klen, const char *existing,
                                size_t elen, const char *const *ops, const size_t *lens, int n,
                                unsigned char *ok, size_t *out_len)
{
    (void)s, (void)key, (void)klen, (void)existing, (void)elen;
    return newest_operand(ops, lens, n, ok, out_len);
}

static char *standin_partial_merge(void *s, const char *key, size_t klen, const char *const *ops,
                                   const size_t *lens, int n, unsigned char *ok, size_t *out_len)
{
    (void)s, (void)key, (void)klen;
    return newest_operand(ops, lens, n, ok, out_len);
}

static void free_value(void *s, const char *v, size_t len)
{
    (void)s, (void)len;
    free((void *)v);
}

/* Gives cf options a stand-in comparator named name; the options keep a raw
 * pointer, so r owns it. */
static int set_standin_comparator(kv_rdb *r, size_t i, const char *name)
{
    char *state = strdup(name);
    if (!state || !(r->standin_cmp[i] = rocksdb_comparator_create(state, free_state, bytewise,
                                                                  state_name))) {
        free(state);
        return kv_oom();
    }
    rocksdb_options_set_comparator(r->cf_opts[i], r->standin_cmp[i]);
    return KV_OK;
}

/* The options own the merge operator. */
static int set_standin_merge(kv_rdb *r, size_t i, const char *name)
{
    char *state = strdup(name);
    rocksdb_mergeoperator_t *op;
    if (!state || !(r->standin_merge[i] = strdup(name)) ||
        !(op = rocksdb_mergeoperator_create(state, free_state, standin_full_merge,
                                            standin_partial_merge, free_value, state_name))) {
        free(state);
        return kv_oom();
    }
    rocksdb_options_set_merge_operator(r->cf_opts[i], op);
    return KV_OK;
}

/* ---- options --------------------------------------------------------------- */

/* The application's options for a column family, or NULL. */
static rocksdb_options_t *app_cf_options(const kvault_db_options *app, const char *cf)
{
    if (!app)
        return NULL;
    for (size_t i = 0; i < app->ncf; i++)
        if (app->cf_names && app->cf_names[i] && strcmp(app->cf_names[i], cf) == 0)
            return app->cf_options[i];
    return app->options;
}

typedef struct loaded {
    rocksdb_options_t *db;
    rocksdb_options_t **cf;
    char **names;
    size_t n;
} loaded;

/* The options of the database's latest OPTIONS file (all defaults without
 * one). Options RocksDB does not know (a newer version's) are ignored. */
static int load_options(const char *dir, const kv_db_conf *conf, loaded *l)
{
    rocksdb_env_t *env;
    rocksdb_cache_t *cache;
    char *err = NULL;

    memset(l, 0, sizeof *l);
    if (!conf->options_file) {
        l->db = rocksdb_options_create();
        return l->db ? KV_OK : kv_oom();
    }
    env = rocksdb_create_default_env();
    cache = rocksdb_cache_create_lru(OPTIONS_CACHE_BYTES);
    rocksdb_load_latest_options(dir, env, 1, cache, &l->db, &l->n, &l->names, &l->cf, &err);
    rocksdb_cache_destroy(cache);
    rocksdb_env_destroy(env);
    return err ? kv_rdb_error(err, "cannot read the options of database", dir) : KV_OK;
}

static void free_loaded(loaded *l)
{
    if (l->names)
        rocksdb_load_latest_options_destroy(l->db, l->names, l->cf, l->n);
    else if (l->db)
        rocksdb_options_destroy(l->db);
}

static rocksdb_options_t *loaded_cf(const loaded *l, const char *cf)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], cf) == 0)
            return l->cf[i];
    return l->db;
}

/* Options for column family i: the application's, else the OPTIONS file's
 * with stand-ins where the file names code kvault does not have. */
static int cf_options(kv_rdb *r, size_t i, const kvault_db_options *app, const loaded *l,
                      const kv_db_conf *conf)
{
    rocksdb_options_t *own = app_cf_options(app, r->cf_names[i]);
    const kv_cf_conf *cc = kv_db_conf_cf(conf, r->cf_names[i]);

    r->cf_opts[i] = rocksdb_options_create_copy(own ? own : loaded_cf(l, r->cf_names[i]));
    if (!r->cf_opts[i])
        return kv_oom();
    if (own || !cc)
        return KV_OK;
    if (!(r->cf_comparator[i] = strdup(cc->comparator)))
        return kv_oom();
    if (!kv_comparator_is_builtin(cc->comparator)) {
        int rc = set_standin_comparator(r, i, cc->comparator);
        if (rc)
            return rc;
    }
    return cc->merge_operator ? set_standin_merge(r, i, cc->merge_operator) : KV_OK;
}

/* Database-wide options: read-only use, info log out of the directory. */
static int db_options(kv_rdb *r, const kvault_db_options *app, const loaded *l,
                      const char *wal_dir, const char *tmp_dir)
{
    int rc;
    r->db_opts = rocksdb_options_create_copy(app && app->options ? app->options : l->db);
    if (!r->db_opts)
        return kv_oom();
    if ((rc = kv_make_owned_dir(tmp_dir, "kvault-rocksdb-log-", &r->log_dir)))
        return rc;
    rocksdb_options_set_create_if_missing(r->db_opts, 0);
    rocksdb_options_set_create_missing_column_families(r->db_opts, 0);
    rocksdb_options_set_db_log_dir(r->db_opts, r->log_dir);
    rocksdb_options_set_wal_dir(r->db_opts, wal_dir ? wal_dir : r->path);
    rocksdb_options_set_max_open_files(r->db_opts, MAX_OPEN_FILES);
    return KV_OK;
}

static int list_cfs(kv_rdb *r)
{
    rocksdb_options_t *opts = rocksdb_options_create();
    char *err = NULL, **names;
    if (!opts)
        return kv_oom();
    names = rocksdb_list_column_families(opts, r->path, &r->ncf, &err);
    rocksdb_options_destroy(opts);
    if (err)
        return kv_rdb_error(err, "cannot list the column families of database", r->path);
    r->cf_names = names;
    r->cfs = calloc(r->ncf, sizeof *r->cfs);
    r->cf_opts = calloc(r->ncf, sizeof *r->cf_opts);
    r->standin_cmp = calloc(r->ncf, sizeof *r->standin_cmp);
    r->cf_comparator = calloc(r->ncf, sizeof *r->cf_comparator);
    r->standin_merge = calloc(r->ncf, sizeof *r->standin_merge);
    return r->cfs && r->cf_opts && r->standin_cmp && r->cf_comparator && r->standin_merge
               ? KV_OK
               : kv_oom();
}

int kv_rdb_open(const char *dir, const char *wal_dir, const kvault_db_options *app,
                const char *tmp_dir, kv_rdb *out)
{
    kv_db_conf conf;
    loaded l = {0};
    char *err = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!(out->path = strdup(dir)))
        return kv_oom();
    if ((rc = kv_db_conf_read(dir, &conf)) || (rc = list_cfs(out)) ||
        (rc = load_options(dir, &conf, &l)) || (rc = db_options(out, app, &l, wal_dir, tmp_dir)))
        goto out;
    for (size_t i = 0; i < out->ncf && !rc; i++)
        rc = cf_options(out, i, app, &l, &conf);
    if (rc)
        goto out;
    out->db = rocksdb_open_for_read_only_column_families(
        out->db_opts, dir, (int)out->ncf, (const char *const *)out->cf_names,
        (const rocksdb_options_t *const *)out->cf_opts, out->cfs, 0, &err);
    if (err)
        rc = kv_rdb_error(err, "cannot open database", dir);
out:
    free_loaded(&l);
    kv_db_conf_free(&conf);
    return rc;
}

/* ---- a database kvault writes into (restore of an export, ingest) ------------- */

/* The column families the target will have: its own (when it exists), then
 * those of cfs it lacks. */
static int target_cfs(kv_rdb *r, char *const *cfs, size_t ncf, int exists)
{
    size_t have = 0;
    char **names;
    int rc;
    if (exists && (rc = list_cfs(r)))
        return rc;
    have = r->ncf;
    if (!(names = calloc(have + ncf + 2, sizeof *names)))
        return kv_oom();
    for (size_t i = 0; i < have; i++)
        names[i] = strdup(r->cf_names[i]);
    if (!exists) /* every database has it, asked for or not */
        names[have++] = strdup("default");
    for (size_t i = 0; i < ncf; i++) {
        size_t k = 0;
        while (k < have && strcmp(names[k], cfs[i]) != 0)
            k++;
        if (k == have)
            names[have++] = strdup(cfs[i]);
    }
    if (r->cf_names && r->own_names) {
        for (size_t i = 0; i < r->ncf; i++)
            free(r->cf_names[i]);
        free(r->cf_names);
    } else if (r->cf_names) {
        rocksdb_list_column_families_destroy(r->cf_names, r->ncf);
    }
    free(r->cfs);
    free(r->cf_opts);
    free(r->standin_cmp);
    free(r->cf_comparator);
    free(r->standin_merge);
    r->cf_names = names;
    r->ncf = have;
    r->own_names = 1;
    r->cfs = calloc(have + 1, sizeof *r->cfs);
    r->cf_opts = calloc(have + 1, sizeof *r->cf_opts);
    r->standin_cmp = calloc(have + 1, sizeof *r->standin_cmp);
    r->cf_comparator = calloc(have + 1, sizeof *r->cf_comparator);
    r->standin_merge = calloc(have + 1, sizeof *r->standin_merge);
    for (size_t i = 0; i < have; i++)
        if (!names[i])
            return kv_oom();
    return r->cfs && r->cf_opts && r->standin_cmp && r->cf_comparator && r->standin_merge
               ? KV_OK
               : kv_oom();
}

/* A comparator kvault does not have cannot order what it writes. */
static int refuse_standins(const kv_rdb *r, const char *dir)
{
    for (size_t i = 0; i < r->ncf; i++)
        if (r->standin_cmp[i])
            return kv_seterr(KV_EUNSUPPORTED, "column family '%s' of '%s' orders keys with "
                             "comparator '%s', which is the application's code: write it "
                             "through the library with the application's options "
                             "(kvault_db_options)", r->cf_names[i], dir, r->cf_comparator[i]);
    return KV_OK;
}

int kv_rdb_open_target(const char *dir, const char *options_dir, const kvault_db_options *app,
                       char *const *cfs, size_t ncf, int create, const char *tmp_dir, kv_rdb *out)
{
    kv_db_conf conf = {0};
    loaded l = {0};
    char *err = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!(out->path = strdup(dir)))
        return kv_oom();
    if ((rc = kv_db_conf_read(options_dir, &conf)) || (rc = target_cfs(out, cfs, ncf, !create)) ||
        (rc = load_options(options_dir, &conf, &l)) ||
        (rc = db_options(out, app, &l, NULL, tmp_dir)))
        goto out;
    rocksdb_options_set_create_if_missing(out->db_opts, (unsigned char)create);
    rocksdb_options_set_error_if_exists(out->db_opts, (unsigned char)create);
    rocksdb_options_set_create_missing_column_families(out->db_opts, 1);
    for (size_t i = 0; i < out->ncf && !rc; i++)
        rc = cf_options(out, i, app, &l, &conf);
    if (rc || (rc = refuse_standins(out, dir)))
        goto out;
    out->db = rocksdb_open_column_families(out->db_opts, dir, (int)out->ncf,
                                           (const char *const *)out->cf_names,
                                           (const rocksdb_options_t *const *)out->cf_opts,
                                           out->cfs, &err);
    if (err)
        rc = kv_rdb_error(err, create ? "cannot create database" : "cannot open database", dir);
out:
    free_loaded(&l);
    kv_db_conf_free(&conf);
    return rc;
}

void kv_rdb_close(kv_rdb *r)
{
    for (size_t i = 0; r->db && i < r->ncf; i++)
        rocksdb_column_family_handle_destroy(r->cfs[i]);
    if (r->db)
        rocksdb_close(r->db);
    for (size_t i = 0; r->cf_opts && i < r->ncf; i++) {
        if (r->cf_opts[i])
            rocksdb_options_destroy(r->cf_opts[i]);
        if (r->standin_cmp[i])
            rocksdb_comparator_destroy(r->standin_cmp[i]);
        free(r->cf_comparator[i]);
        free(r->standin_merge[i]);
    }
    if (r->db_opts)
        rocksdb_options_destroy(r->db_opts);
    if (r->cf_names && r->own_names) {
        for (size_t i = 0; i < r->ncf; i++)
            free(r->cf_names[i]);
        free(r->cf_names);
    } else if (r->cf_names) {
        rocksdb_list_column_families_destroy(r->cf_names, r->ncf);
    }
    if (r->log_dir)
        kv_rm_rf(r->log_dir);
    free(r->cfs);
    free(r->cf_opts);
    free(r->standin_cmp);
    free(r->cf_comparator);
    free(r->standin_merge);
    free(r->log_dir);
    free(r->path);
    memset(r, 0, sizeof *r);
}

/* ---- what the open database says -------------------------------------------- */

uint64_t kv_rdb_sequence(const kv_rdb *r)
{
    return rocksdb_get_latest_sequence_number(r->db);
}

int kv_rdb_min_log(const kv_rdb *r, uint64_t *out)
{
    if (rocksdb_property_int(r->db, "rocksdb.min-log-number-to-keep", out) != 0)
        return kv_seterr(KV_ERR, "database '%s' does not say which WAL files it needs", r->path);
    return KV_OK;
}

int kv_rdb_live_ssts(const kv_rdb *r, int (*cb)(const char *name, void *payload), void *payload)
{
    const rocksdb_livefiles_t *lf = rocksdb_livefiles(r->db);
    int rc = KV_OK;
    if (!lf)
        return kv_oom();
    for (int i = 0; i < rocksdb_livefiles_count(lf) && !rc; i++) {
        const char *name = rocksdb_livefiles_name(lf, i);
        rc = cb(name[0] == '/' ? name + 1 : name, payload);
    }
    rocksdb_livefiles_destroy(lf);
    return rc;
}

/* ---- reading every key --------------------------------------------------------- */

static int read_cf(const kv_rdb *r, size_t i, uint64_t *keys)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it;
    char *err = NULL;

    rocksdb_readoptions_set_verify_checksums(ro, 1);
    rocksdb_readoptions_set_fill_cache(ro, 0);
    it = rocksdb_create_iterator_cf(r->db, ro, r->cfs[i]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t len;
        rocksdb_iter_value(it, &len); /* values in blob files are read only when asked for */
        (*keys)++;
    }
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (err) {
        char what[320];
        snprintf(what, sizeof what, "cannot read column family '%s' of database", r->cf_names[i]);
        return kv_rdb_error(err, what, r->path);
    }
    return KV_OK;
}

/* Appends a clause to out->not_checked. */
static void note(kv_rdb_read_report *out, const char *fmt, const char *cf, const char *name)
{
    size_t n = strlen(out->not_checked);
    if (n && n < sizeof out->not_checked - 2)
        n += (size_t)snprintf(out->not_checked + n, sizeof out->not_checked - n, "; ");
    if (n < sizeof out->not_checked)
        snprintf(out->not_checked + n, sizeof out->not_checked - n, fmt, cf, name);
}

int kv_rdb_count_keys(const kv_rdb *r, uint64_t *counts)
{
    int rc = KV_OK;
    for (size_t i = 0; i < r->ncf && !rc; i++) {
        counts[i] = 0;
        rc = read_cf(r, i, &counts[i]);
    }
    return rc;
}

int kv_rdb_read_all(const kv_rdb *r, kv_rdb_read_report *out)
{
    int rc = KV_OK;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < r->ncf && !rc; i++) {
        if (r->standin_cmp[i]) {
            note(out, "keys of column family '%s' not read: its comparator '%s' is the "
                 "application's code, which kvault does not have", r->cf_names[i],
                 r->cf_comparator[i]);
            continue;
        }
        if (r->standin_merge[i])
            note(out, "merge operands of column family '%s' read but not merged: its merge "
                 "operator '%s' is the application's code", r->cf_names[i], r->standin_merge[i]);
        rc = read_cf(r, i, &out->keys);
    }
    return rc;
}

/* ---- a caller's live handle ------------------------------------------------------ */

int kv_rdb_pause_deletions(rocksdb_t *db, const char *path)
{
    char *err = NULL;
    rocksdb_flush_wal(db, 0, &err); /* a manual_wal_flush buffer, out to the file */
    if (!err)
        rocksdb_disable_file_deletions(db, &err);
    return err ? kv_rdb_error(err, "cannot pause file deletions of database", path) : KV_OK;
}

void kv_rdb_resume_deletions(rocksdb_t *db)
{
    char *err = NULL;
    rocksdb_enable_file_deletions(db, 0, &err);
    if (err) {
        kv_log(KV_LOG_ERROR, "warning: cannot resume file deletions of the database: %s", err);
        rocksdb_free(err);
    }
}
