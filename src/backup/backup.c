/* Taking a backup: take hold of the source's files (source.h), decide what
 * is new, upload it, commit the manifest. Immutable files (SST, blob) that an
 * earlier backup of the env already holds byte for byte are referenced, not
 * uploaded again. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/catalog.h"
#include "backup/crccache.h"
#include "backup/internal.h"
#include "backup/layout.h"
#include "backup/source.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/random.h"
#include "util/log.h"

typedef struct src_file {
    const kv_src_file *f;
    int upload;           /* stored by this backup */
    uint32_t crc;
    char *key;            /* where this backup stores it, when upload */
    const char *object;   /* the object holding it in the manifest */
} src_file;

/* A file of an earlier backup, for finding ones this backup can reference. */
typedef struct prior_file {
    const char *name;
    uint64_t size;
    uint32_t crc;
    const char *object;
} prior_file;

typedef struct job {
    kvault *kv;
    const char *env;
    char id[64], date[16];
    time_t started;
    struct timespec t0;
    kv_source src;
    src_file *files;
    size_t nfiles;
    kv_catalog catalog;
    prior_file *prior;
    size_t nprior;
    kv_crc_cache *cache;
    kv_xfer_item *items;
    size_t nitems;
    uint64_t bytes_checksummed;
} job;

static int is_immutable(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && (strcmp(name + n - 4, ".sst") == 0 || strcmp(name + n - 4, ".ldb") == 0)) ||
           (n > 5 && strcmp(name + n - 5, ".blob") == 0);
}

static int take_source(job *j, rocksdb_t *live, const char *db_path, const kvault_backup_opts *o)
{
    kv_source_opts so = {.wal_dir = o ? o->wal_dir : NULL, .scratch_dir = o ? o->scratch_dir : NULL,
                         .tmp_dir = j->kv->tmp_dir, .app = o ? o->db_options : NULL, .live = live};
    int rc = kv_source_open(db_path, &so, &j->src);
    if (rc)
        return rc;
    if (j->src.attempts)
        kv_info("database '%s' changed %d time(s) while kvault took hold of its files",
                j->src.db_path, j->src.attempts);
    if (!(j->files = calloc(j->src.nfiles + 1, sizeof *j->files)))
        return kv_oom();
    for (size_t i = 0; i < j->src.nfiles; i++)
        j->files[i].f = &j->src.files[i];
    j->nfiles = j->src.nfiles;
    return KV_OK;
}

/* ---- what earlier backups hold ------------------------------------------ */

static int cmp_prior(const prior_file *a, const prior_file *b, int with_crc)
{
    int c = strcmp(a->name, b->name);
    if (c)
        return c;
    if (a->size != b->size)
        return a->size < b->size ? -1 : 1;
    if (with_crc && a->crc != b->crc)
        return a->crc < b->crc ? -1 : 1;
    return 0;
}

static int cmp_prior_sort(const void *a, const void *b)
{
    return cmp_prior(a, b, 1);
}

static int index_prior(job *j)
{
    size_t n = 0;
    int rc = kv_catalog_load(j->kv->st, j->env, 1, &j->catalog);
    if (rc)
        return rc;
    for (size_t i = 0; i < j->catalog.n; i++)
        n += j->catalog.m[i].nfiles;
    if (!(j->prior = calloc(n + 1, sizeof *j->prior)))
        return kv_seterr(KV_ENOMEM, "out of memory");
    for (size_t i = 0; i < j->catalog.n; i++) {
        for (size_t k = 0; k < j->catalog.m[i].nfiles; k++) {
            const kv_mfile *f = &j->catalog.m[i].files[k];
            if (is_immutable(f->name))
                j->prior[j->nprior++] = (prior_file){f->name, f->size, f->crc32c, f->object};
        }
    }
    qsort(j->prior, j->nprior, sizeof *j->prior, cmp_prior_sort);
    return KV_OK;
}

/* The first earlier file with this name and size (and crc, with_crc). */
static const prior_file *find_prior(const job *j, const src_file *f, int with_crc)
{
    prior_file key = {f->f->name, (uint64_t)f->f->st.st_size, f->crc, NULL};
    size_t lo = 0, hi = j->nprior;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_prior(&j->prior[mid], &key, with_crc) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < j->nprior && cmp_prior(&j->prior[lo], &key, with_crc) == 0 ? &j->prior[lo] : NULL;
}

/* Decides whether f must be uploaded. An immutable file needs its CRC only
 * when an earlier file has its name and size; the cache usually knows it. */
static int classify(job *j, src_file *f)
{
    const prior_file *p;
    int rc;

    f->upload = 1;
    if (!f->f->immutable)
        return KV_OK;
    if (!kv_crc_cache_lookup(j->cache, &f->f->st, &f->crc)) {
        if (!find_prior(j, f, 0))
            return KV_OK; /* the upload computes the CRC */
        if ((rc = kv_xfer_checksum_file(f->f->path, (uint64_t)f->f->st.st_size, &f->crc)))
            return rc;
        j->bytes_checksummed += (uint64_t)f->f->st.st_size;
    }
    if (!(p = find_prior(j, f, 1)))
        return KV_OK;
    f->upload = 0;
    f->object = p->object;
    return kv_crc_cache_add(j->cache, &f->f->st, f->crc);
}

/* ---- upload and commit -------------------------------------------------- */

static int upload_new(job *j)
{
    int rc;
    if (!(j->items = calloc(j->nfiles + 1, sizeof *j->items)))
        return kv_seterr(KV_ENOMEM, "out of memory");
    for (size_t i = 0; i < j->nfiles; i++) {
        src_file *f = &j->files[i];
        if (!f->upload)
            continue;
        if (!(f->key = kv_layout_key(j->env, j->date, j->id, f->f->name)))
            return kv_seterr(KV_ENOMEM, "out of memory");
        f->object = f->key;
        j->items[j->nitems++] = (kv_xfer_item){.local_path = f->f->path, .key = f->key,
                                               .size = (uint64_t)f->f->st.st_size};
    }
    if ((rc = kv_xfer_upload(j->kv->st, j->items, j->nitems, &j->kv->xo)))
        return rc;
    for (size_t i = 0, k = 0; i < j->nfiles; i++) {
        src_file *f = &j->files[i];
        if (!f->upload)
            continue;
        f->crc = j->items[k++].crc32c;
        if (f->f->immutable && (rc = kv_crc_cache_add(j->cache, &f->f->st, f->crc)))
            return rc;
    }
    return KV_OK;
}

/* Removes what a failed backup uploaded; it has no manifest, so nothing
 * refers to it. Best effort: the failure being reported is the one kept. */
static void remove_uploaded(job *j)
{
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", kv_errmsg());
    for (size_t i = 0; i < j->nitems; i++)
        if (j->items[i].started && kv_store_remove(j->kv->st, j->items[i].key) != KV_OK)
            kv_log(KV_LOG_ERROR, "warning: cannot remove '%s' of the failed backup: %s",
                   j->items[i].key, kv_errmsg());
    kv_errset_msg(KV_OK, saved);
}

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A manifest whose strings belong to the job (only m->files is its own). */
static int build_manifest(job *j, char *hostname, kv_manifest *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->id, sizeof m->id, "%s", j->id);
    snprintf(m->env, sizeof m->env, "%s", j->env);
    snprintf(m->date, sizeof m->date, "%s", j->date);
    m->created_unix = (int64_t)j->started;
    m->tool_version = (char *)KVAULT_VERSION;
    m->db_path = j->src.db_path;
    m->wal_dir = j->src.wal_dir;
    m->hostname = hostname;
    m->db_identity = j->src.identity;
    m->column_families = j->src.cfs;
    m->ncolumn_families = j->src.ncf;
    m->sequence = j->src.sequence;
    m->manifest_size = j->src.manifest_size;
    m->cf_code = j->src.conf.cfs;
    m->ncf_code = j->src.conf.ncf;
    if (!(m->files = calloc(j->nfiles + 1, sizeof *m->files)))
        return kv_seterr(KV_ENOMEM, "out of memory");
    for (size_t i = 0; i < j->nfiles; i++) {
        const src_file *f = &j->files[i];
        m->files[i] = (kv_mfile){f->f->name, (uint64_t)f->f->st.st_size, f->crc, (char *)f->object};
        if (f->upload) {
            m->files_new++;
            m->bytes_new += (uint64_t)f->f->st.st_size;
        }
    }
    m->nfiles = j->nfiles;
    m->seconds = since(&j->t0);
    return KV_OK;
}

/* Makes the backup exist: everything uploaded is made durable first, then
 * the manifest is written. */
static int commit(job *j, kvault_backup_info *out)
{
    char hostname[256] = "", *json = NULL, *key = NULL;
    kv_digest digest = {0};
    kv_manifest m;
    size_t len;
    int rc;

    gethostname(hostname, sizeof hostname - 1);
    if ((rc = build_manifest(j, hostname, &m)) || (rc = kv_manifest_encode(&m, &json, &len)))
        goto out;
    if (!(key = kv_layout_key(j->env, j->date, j->id, KV_MANIFEST_NAME))) {
        rc = kv_seterr(KV_ENOMEM, "out of memory");
        goto out;
    }
    digest.crc32c = kv_crc32c(0, json, len);
    if ((rc = kv_store_sync(j->kv->st)) || (rc = kv_store_put(j->kv->st, key, json, len, &digest)))
        goto out;
    kv_info_from_manifest(&m, out);
    out->bytes_checksummed = j->bytes_checksummed;
out:
    free(m.files);
    free(json);
    free(key);
    return rc;
}

/* ---- the whole backup ---------------------------------------------------- */

static int job_init(job *j, kvault *kv, const kvault_backup_opts *opts)
{
    int rc;
    memset(j, 0, sizeof *j);
    j->kv = kv;
    clock_gettime(CLOCK_MONOTONIC, &j->t0);
    if (opts && (rc = kv_check_version(opts->version, KVAULT_BACKUP_OPTS_VERSION,
                                       "kvault_backup_opts")))
        return rc;
    if (opts && opts->db_options &&
        (rc = kv_check_version(opts->db_options->version, KVAULT_DB_OPTIONS_VERSION,
                               "kvault_db_options")))
        return rc;
    return kv_env_resolve(opts ? opts->env : NULL, &j->env);
}

static void job_free(job *j)
{
    for (size_t i = 0; i < j->nfiles; i++)
        free(j->files[i].key);
    free(j->files);
    kv_source_close(&j->src);
    free(j->prior);
    kv_catalog_free(&j->catalog);
    kv_crc_cache_free(j->cache);
    free(j->items);
}

/* Ids sort in time order only to the second, so a backup that follows
 * another within the same second waits for the next one. */
static int make_id(job *j)
{
    int64_t last = j->catalog.n ? j->catalog.m[j->catalog.n - 1].created_unix : 0, ns;
    struct timespec now, wait;

    /* not time(): its coarse clock may lag behind the sleep below */
    clock_gettime(CLOCK_REALTIME, &now);
    if (last >= (int64_t)now.tv_sec && last - (int64_t)now.tv_sec < 3) {
        ns = (last + 1 - (int64_t)now.tv_sec) * 1000000000 - now.tv_nsec;
        wait.tv_sec = (time_t)(ns / 1000000000);
        wait.tv_nsec = (long)(ns % 1000000000);
        nanosleep(&wait, NULL);
        clock_gettime(CLOCK_REALTIME, &now);
    }
    j->started = now.tv_sec;
    if (last >= (int64_t)j->started)
        kv_log(KV_LOG_ERROR, "warning: the clock is behind the latest backup of env '%s'; "
               "'latest' will still name that one", j->env);
    return kv_backup_id_new(j->started, j->id, j->date);
}

static int run_backup(kvault *kv, rocksdb_t *db, const char *db_path,
                      const kvault_backup_opts *opts, kvault_backup_info *out)
{
    job j;
    int rc = job_init(&j, kv, opts);

    if (rc || (rc = index_prior(&j)) || (rc = make_id(&j)) ||
        (rc = take_source(&j, db, db_path, opts)) ||
        (rc = kv_crc_cache_open(kv->cache_dir, j.src.identity ? j.src.identity : j.src.db_path,
                                &j.cache)))
        goto out;
    for (size_t i = 0; i < j.nfiles && !rc; i++)
        rc = classify(&j, &j.files[i]);
    if (rc || (rc = upload_new(&j)) || (rc = commit(&j, out)))
        goto out;
    if (kv_crc_cache_save(j.cache) != KV_OK)
        kv_log(KV_LOG_ERROR, "warning: checksum cache not saved: %s", kv_errmsg());
    kv_info("backup %s of '%s': %llu files, %llu new (%llu bytes)", j.id, j.src.db_path,
            (unsigned long long)out->files, (unsigned long long)out->files_new,
            (unsigned long long)out->bytes_new);
out:
    if (rc && j.nitems)
        remove_uploaded(&j);
    job_free(&j);
    return rc;
}

int kvault_backup(kvault *kv, const char *db_path, const kvault_backup_opts *opts,
                  kvault_backup_info *out)
{
    return run_backup(kv, NULL, db_path, opts, out);
}

int kvault_backup_live(kvault *kv, rocksdb_t *db, const char *db_path,
                       const kvault_backup_opts *opts, kvault_backup_info *out)
{
    if (!db)
        return kv_seterr(KV_EINVAL, "no database handle given for '%s'", db_path);
    return run_backup(kv, db, db_path, opts, out);
}
