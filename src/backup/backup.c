/* Taking a backup: checkpoint, decide what is new, upload it, commit the
 * manifest. Immutable files (SST, blob) that an earlier backup of the env
 * already holds byte for byte are referenced, not uploaded again. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
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
#include "backup/localdir.h"
#include "backup/rocks.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/random.h"
#include "util/log.h"

#define CKPT_TAG "kvault-ckpt-"

typedef struct src_file {
    char *name;
    char *path;           /* in the checkpoint */
    struct stat st;
    int immutable;
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
    char *db_path;        /* absolute */
    char *ckpt;           /* checkpoint directory, once created */
    uint64_t sequence;
    char *identity;
    char **cfs;
    size_t ncf;
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
    return (n > 4 && strcmp(name + n - 4, ".sst") == 0) || (n > 5 && strcmp(name + n - 5, ".blob") == 0);
}

/* ---- checkpoint --------------------------------------------------------- */

/* Checkpoint directories left by backups whose process died. */
static void remove_stale_checkpoints(const char *parent, const char *name)
{
    char *prefix = NULL, *path;
    DIR *d = opendir(parent);
    struct dirent *e;
    if (!d || asprintf(&prefix, ".%s." CKPT_TAG, name) < 0) {
        if (d)
            closedir(d);
        return;
    }
    while ((e = readdir(d))) {
        char *end;
        long pid;
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        pid = strtol(e->d_name + strlen(prefix), &end, 10);
        if (*end != '-' || pid <= 0 || pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (asprintf(&path, "%s/%s", parent, e->d_name) >= 0) {
            kv_info("removing stale checkpoint '%s'", path);
            kv_rm_rf_quiet(path);
            free(path);
        }
    }
    closedir(d);
    free(prefix);
}

static int take_checkpoint(job *j, rocksdb_t *db)
{
    char *parent = NULL, *name = NULL, rnd[7];
    int rc;

    if ((rc = kv_split_path(j->db_path, &parent, &name)) || (rc = kv_random_hex(rnd, 6)))
        goto out;
    remove_stale_checkpoints(parent, name);
    if (asprintf(&j->ckpt, "%s/.%s." CKPT_TAG "%ld-%s", parent, name, (long)getpid(), rnd) < 0) {
        j->ckpt = NULL;
        rc = kv_seterr(KV_ENOMEM, "out of memory");
        goto out;
    }
    rc = kv_rdb_checkpoint(db, j->ckpt, &j->sequence);
out:
    free(parent);
    free(name);
    return rc;
}

static int cmp_src_name(const void *a, const void *b)
{
    return strcmp(((const src_file *)a)->name, ((const src_file *)b)->name);
}

static int add_file(job *j, const char *name, size_t *cap)
{
    src_file *f;
    if (j->nfiles == *cap) {
        size_t n = *cap ? 2 * *cap : 64;
        src_file *p = realloc(j->files, n * sizeof *p);
        if (!p)
            return kv_seterr(KV_ENOMEM, "out of memory");
        j->files = p;
        *cap = n;
    }
    f = &j->files[j->nfiles];
    memset(f, 0, sizeof *f);
    if (!(f->name = strdup(name)) || asprintf(&f->path, "%s/%s", j->ckpt, name) < 0) {
        free(f->name);
        return kv_seterr(KV_ENOMEM, "out of memory");
    }
    j->nfiles++;
    if (lstat(f->path, &f->st) != 0)
        return kv_seterr_errno(KV_EIO, errno, "cannot stat '%s'", f->path);
    f->immutable = is_immutable(name);
    return KV_OK;
}

/* Every regular file of the checkpoint, by name. */
static int scan_checkpoint(job *j)
{
    DIR *d = opendir(j->ckpt);
    struct dirent *e;
    size_t cap = 0;
    int rc = KV_OK;
    if (!d)
        return kv_seterr_errno(kv_errno_code(errno), errno, "cannot read checkpoint '%s'", j->ckpt);
    while (!rc && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        rc = add_file(j, e->d_name, &cap);
        if (!rc && !S_ISREG(j->files[j->nfiles - 1].st.st_mode)) {
            j->nfiles--;
            free(j->files[j->nfiles].name);
            free(j->files[j->nfiles].path);
        }
    }
    closedir(d);
    if (!rc && j->nfiles)
        qsort(j->files, j->nfiles, sizeof *j->files, cmp_src_name);
    return rc;
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
    prior_file key = {f->name, (uint64_t)f->st.st_size, f->crc, NULL};
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
    if (!f->immutable)
        return KV_OK;
    if (!kv_crc_cache_lookup(j->cache, &f->st, &f->crc)) {
        if (!find_prior(j, f, 0))
            return KV_OK; /* the upload computes the CRC */
        if ((rc = kv_xfer_checksum_file(f->path, (uint64_t)f->st.st_size, &f->crc)))
            return rc;
        j->bytes_checksummed += (uint64_t)f->st.st_size;
    }
    if (!(p = find_prior(j, f, 1)))
        return KV_OK;
    f->upload = 0;
    f->object = p->object;
    return kv_crc_cache_add(j->cache, &f->st, f->crc);
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
        if (!(f->key = kv_layout_key(j->env, j->date, j->id, f->name)))
            return kv_seterr(KV_ENOMEM, "out of memory");
        f->object = f->key;
        j->items[j->nitems++] = (kv_xfer_item){.local_path = f->path, .key = f->key,
                                               .size = (uint64_t)f->st.st_size};
    }
    if ((rc = kv_xfer_upload(j->kv->st, j->items, j->nitems, &j->kv->xo)))
        return rc;
    for (size_t i = 0, k = 0; i < j->nfiles; i++) {
        src_file *f = &j->files[i];
        if (!f->upload)
            continue;
        f->crc = j->items[k++].crc32c;
        if (f->immutable && (rc = kv_crc_cache_add(j->cache, &f->st, f->crc)))
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
        if (j->items[i].status != KV_ECANCELED && kv_store_remove(j->kv->st, j->items[i].key) != KV_OK)
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
    m->db_path = j->db_path;
    m->hostname = hostname;
    m->db_identity = j->identity;
    m->column_families = j->cfs;
    m->ncolumn_families = j->ncf;
    m->sequence = j->sequence;
    if (!(m->files = calloc(j->nfiles + 1, sizeof *m->files)))
        return kv_seterr(KV_ENOMEM, "out of memory");
    for (size_t i = 0; i < j->nfiles; i++) {
        const src_file *f = &j->files[i];
        m->files[i] = (kv_mfile){f->name, (uint64_t)f->st.st_size, f->crc, (char *)f->object};
        if (f->upload) {
            m->files_new++;
            m->bytes_new += (uint64_t)f->st.st_size;
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

static int job_init(job *j, kvault *kv, const char *db_path, const kvault_backup_opts *opts)
{
    int rc;
    memset(j, 0, sizeof *j);
    j->kv = kv;
    clock_gettime(CLOCK_MONOTONIC, &j->t0);
    if ((rc = kv_env_resolve(opts ? opts->env : NULL, &j->env)))
        return rc;
    if (!(j->db_path = realpath(db_path, NULL)))
        return kv_seterr_errno(kv_errno_code(errno), errno, "cannot resolve database path '%s'", db_path);
    return KV_OK;
}

static void job_free(job *j)
{
    if (j->ckpt)
        kv_rm_rf_quiet(j->ckpt);
    free(j->ckpt);
    free(j->db_path);
    free(j->identity);
    kv_rdb_free_cfs(j->cfs, j->ncf);
    for (size_t i = 0; i < j->nfiles; i++) {
        free(j->files[i].name);
        free(j->files[i].path);
        free(j->files[i].key);
    }
    free(j->files);
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
    int rc = job_init(&j, kv, db_path, opts);

    if (rc || (rc = index_prior(&j)) || (rc = make_id(&j)) || (rc = take_checkpoint(&j, db)) ||
        (rc = scan_checkpoint(&j)) || (rc = kv_rdb_read_identity(j.db_path, &j.identity)) ||
        (rc = kv_rdb_list_cfs(j.ckpt, &j.cfs, &j.ncf)) ||
        (rc = kv_crc_cache_open(j.identity, &j.cache)))
        goto out;
    for (size_t i = 0; i < j.nfiles && !rc; i++)
        rc = classify(&j, &j.files[i]);
    if (rc || (rc = upload_new(&j)) || (rc = commit(&j, out)))
        goto out;
    if (kv_crc_cache_save(j.cache) != KV_OK)
        kv_log(KV_LOG_ERROR, "warning: checksum cache not saved: %s", kv_errmsg());
    kv_info("backup %s of '%s': %llu files, %llu new (%llu bytes)", j.id, j.db_path,
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
    kv_rdb r;
    int rc = kv_rdb_open(db_path, 0, &r);
    if (!rc)
        rc = run_backup(kv, r.db, db_path, opts, out);
    kv_rdb_close(&r);
    return rc;
}

int kvault_backup_live(kvault *kv, rocksdb_t *db, const char *db_path,
                       const kvault_backup_opts *opts, kvault_backup_info *out)
{
    if (!db)
        return kv_seterr(KV_EINVAL, "no database handle given for '%s'", db_path);
    return run_backup(kv, db, db_path, opts, out);
}
