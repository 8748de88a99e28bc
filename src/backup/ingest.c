/* Loading an SST export into a database: a new one (restore, verify's
 * trial restore) or an existing one (kvault_ingest, kvault_ingest_live).
 * The export's files are downloaded and checked into a staging directory
 * beside the database (same file system: RocksDB ingests by linking),
 * then ingested column family by column family. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/catalog.h"
#include "backup/ingest.h"
#include "backup/layout.h"
#include "backup/localdir.h"
#include "backup/rocks_sst.h"
#include "util/err.h"
#include "util/log.h"

/* The column families to load: the ones asked for (each must be in the
 * export), else every one. */
static int chosen_cfs(const kv_manifest *m, char *const *cfs, size_t ncfs, char ***out, size_t *n)
{
    *out = calloc(m->ncolumn_families + 1, sizeof **out);
    *n = 0;
    if (!*out)
        return kv_oom();
    for (size_t i = 0; i < m->ncolumn_families; i++) {
        int want = ncfs == 0;
        for (size_t k = 0; k < ncfs && !want; k++)
            want = strcmp(cfs[k], m->column_families[i]) == 0;
        if (want)
            (*out)[(*n)++] = m->column_families[i];
    }
    for (size_t k = 0; k < ncfs; k++) {
        size_t i = 0;
        while (i < *n && strcmp((*out)[i], cfs[k]) != 0)
            i++;
        if (i == *n)
            return kv_seterr(KV_ENOTFOUND, "backup %s has no column family '%s' (it has %zu)",
                             m->id, cfs[k], m->ncolumn_families);
    }
    return KV_OK;
}

static int is_chosen(char *const *cfs, size_t n, const char *cf)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(cfs[i], cf) == 0)
            return 1;
    return 0;
}

/* The part of m to download: the chosen column families' files and the
 * database's own OPTIONS file. Shares m's strings. */
static int chosen_files(const kv_manifest *m, char *const *cfs, size_t n, kv_manifest *sub)
{
    *sub = *m;
    sub->nfiles = 0;
    if (!(sub->files = calloc(m->nfiles + 1, sizeof *sub->files)))
        return kv_oom();
    for (size_t i = 0; i < m->nfiles; i++)
        if (!m->files[i].cf || is_chosen(cfs, n, m->files[i].cf))
            sub->files[sub->nfiles++] = m->files[i];
    return KV_OK;
}

/* Ingests the staged files of each chosen column family, in order. */
static int ingest_all(const kv_manifest *m, const char *staging, const kv_ingest_target *t)
{
    char **paths = calloc(m->nfiles + 1, sizeof *paths);
    int rc = paths ? KV_OK : kv_oom();
    for (size_t c = 0; c < t->ncf && !rc; c++) {
        size_t n = 0;
        for (size_t i = 0; i < m->nfiles && !rc; i++) {
            if (!m->files[i].cf || strcmp(m->files[i].cf, t->names[c]) != 0)
                continue;
            if (asprintf(&paths[n], "%s/%s", staging, m->files[i].name) < 0)
                rc = kv_oom();
            else
                n++;
        }
        if (!rc)
            rc = t->ingest(t->payload, c, paths, n);
        for (size_t i = 0; i < n; i++)
            free(paths[i]);
    }
    free(paths);
    return rc;
}

int kv_ingest_export(kvault *kv, const kv_manifest *m, const char *beside,
                     kv_ingest_target *t)
{
    kv_manifest sub = {0};
    char *staging = NULL;
    int rc;

    if (!m->sst_export)
        return kv_seterr(KV_EUNSUPPORTED, "backup %s holds the database's own files, not an SST "
                         "export: restore it whole (an export is made with "
                         "kvault_backup_opts.format KVAULT_FORMAT_SST)", m->id);
    if ((rc = chosen_cfs(m, t->want, t->nwant, &t->names, &t->ncf)) ||
        (rc = chosen_files(m, t->names, t->ncf, &sub)) ||
        (rc = kv_make_sibling_dir(beside, "ingest", &staging)) ||
        (rc = kv_fetch_backup(kv, &sub, staging)) || (rc = t->open(t->payload, staging)))
        goto out;
    rc = ingest_all(&sub, staging, t);
out:
    if (staging)
        kv_rm_rf_quiet(staging);
    free(staging);
    free(sub.files);
    return rc;
}

uint64_t kv_export_entries(const kv_manifest *m, const char *cf)
{
    uint64_t n = 0;
    for (size_t i = 0; i < m->nfiles; i++)
        if (m->files[i].cf && strcmp(m->files[i].cf, cf) == 0)
            n += m->files[i].entries;
    return n;
}

/* ---- a database kvault opens: new (restore) or existing (kvault_ingest) ------------- */

typedef struct own_db {
    kvault *kv;
    const char *dir;
    const kvault_db_options *app;
    int create;
    kv_ingest_target *t;
    kv_rdb rdb;
} own_db;

static int own_open(void *payload, const char *staging)
{
    own_db *o = payload;
    return kv_rdb_open_target(o->dir, o->create ? staging : o->dir, o->app, o->t->names,
                              o->t->ncf, o->create, o->kv->tmp_dir, &o->rdb);
}

static int own_ingest(void *payload, size_t cf, char *const *paths, size_t n)
{
    own_db *o = payload;
    size_t i = 0;
    while (i < o->rdb.ncf && strcmp(o->rdb.cf_names[i], o->t->names[cf]) != 0)
        i++;
    return kv_rdb_ingest(&o->rdb, i, paths, n);
}

/* Every restored column family (names) holds the keys the manifest counted. */
static int check_counts(kvault *kv, const kv_manifest *m, const char *dir,
                        const kvault_db_options *app, char *const *names, size_t n, uint64_t *keys)
{
    kv_rdb r;
    uint64_t *counts = NULL;
    int rc = kv_rdb_open(dir, NULL, app, kv->tmp_dir, &r);
    if (!rc && !(counts = calloc(r.ncf + 1, sizeof *counts)))
        rc = kv_oom();
    if (!rc)
        rc = kv_rdb_count_keys(&r, counts);
    for (size_t i = 0; !rc && i < r.ncf; i++) {
        uint64_t want = kv_export_entries(m, r.cf_names[i]);
        if (!is_chosen(names, n, r.cf_names[i]))
            continue; /* "default", created but not asked for */
        *keys += counts[i];
        if (counts[i] != want)
            rc = kv_seterr(KV_ECORRUPT, "backup %s restored to '%s': column family '%s' has %llu "
                           "keys, the export's files hold %llu", m->id, dir, r.cf_names[i],
                           (unsigned long long)counts[i], (unsigned long long)want);
    }
    free(counts);
    kv_rdb_close(&r);
    return rc;
}

int kv_restore_export(kvault *kv, const kv_manifest *m, const char *dir, char *const *cfs,
                      size_t ncfs, const kvault_db_options *app, uint64_t *keys)
{
    kv_ingest_target t = {.want = cfs, .nwant = ncfs, .open = own_open, .ingest = own_ingest};
    own_db o = {.kv = kv, .dir = dir, .app = app, .create = 1, .t = &t};
    int rc;
    t.payload = &o;
    rc = kv_ingest_export(kv, m, dir, &t);
    kv_rdb_close(&o.rdb);
    *keys = 0;
    if (!rc)
        rc = check_counts(kv, m, dir, app, t.names, t.ncf, keys);
    free(t.names);
    return rc;
}

/* ---- the public calls ----------------------------------------------------------------- */

static int ingest_opts(const kvault_ingest_opts *opts)
{
    return opts ? kv_check_version(opts->version, KVAULT_INGEST_OPTS_VERSION, "kvault_ingest_opts")
                : KV_OK;
}

int kvault_ingest(kvault *kv, const kvault_ingest_opts *opts, const char *db_path)
{
    kv_ingest_target t = {.open = own_open, .ingest = own_ingest};
    own_db o = {.kv = kv, .dir = db_path, .t = &t};
    kv_manifest m = {0};
    const char *env;
    int rc = ingest_opts(opts);

    t.payload = &o;
    if (opts) {
        t.want = (char *const *)opts->cfs;
        t.nwant = opts->ncfs;
        o.app = opts->db_options;
    }
    if (!rc && !(rc = kv_env_resolve(opts ? opts->env : NULL, &env)) &&
        !(rc = kv_backup_find(kv->st, env, opts ? opts->backup_id : NULL, &m)))
        rc = kv_ingest_export(kv, &m, db_path, &t);
    kv_rdb_close(&o.rdb);
    if (!rc)
        kv_info("ingested backup %s into '%s'", m.id, db_path);
    free(t.names);
    kv_manifest_free(&m);
    return rc;
}

typedef struct live_db {
    rocksdb_t *db;
    const char *const *names;
    rocksdb_column_family_handle_t *const *handles;
    size_t n;
    kv_ingest_target *t;
} live_db;

static int live_open(void *payload, const char *staging)
{
    live_db *l = payload;
    (void)staging;
    for (size_t c = 0; c < l->t->ncf; c++) {
        size_t i = 0;
        while (i < l->n && strcmp(l->names[i], l->t->names[c]) != 0)
            i++;
        if (i == l->n)
            return kv_seterr(KV_EINVAL, "the export has column family '%s', for which no handle "
                             "was given (create it, or ask for other column families)",
                             l->t->names[c]);
    }
    return KV_OK;
}

static int live_ingest(void *payload, size_t cf, char *const *paths, size_t n)
{
    live_db *l = payload;
    size_t i = 0;
    char what[300];
    while (strcmp(l->names[i], l->t->names[cf]) != 0)
        i++;
    snprintf(what, sizeof what, "column family '%s' of the open database", l->names[i]);
    return kv_rdb_ingest_live(l->db, l->handles[i], what, paths, n);
}

int kvault_ingest_live(kvault *kv, const kvault_ingest_opts *opts, rocksdb_t *db,
                       const char *db_path, const char *const *cf_names,
                       rocksdb_column_family_handle_t *const *cf_handles, size_t ncf)
{
    kv_ingest_target t = {.open = live_open, .ingest = live_ingest};
    live_db l = {.db = db, .names = cf_names, .handles = cf_handles, .n = ncf, .t = &t};
    kv_manifest m = {0};
    const char *env;
    int rc = ingest_opts(opts);

    t.payload = &l;
    if (opts) {
        t.want = (char *const *)opts->cfs;
        t.nwant = opts->ncfs;
    }
    if (!rc && (!db || !db_path || (ncf && (!cf_names || !cf_handles))))
        rc = kv_seterr(KV_EINVAL, "kvault_ingest_live needs the database handle, its path and "
                       "its column families' names and handles");
    if (!rc && !(rc = kv_env_resolve(opts ? opts->env : NULL, &env)) &&
        !(rc = kv_backup_find(kv->st, env, opts ? opts->backup_id : NULL, &m)))
        rc = kv_ingest_export(kv, &m, db_path, &t);
    free(t.names);
    kv_manifest_free(&m);
    return rc;
}
