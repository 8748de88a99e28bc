/* Taking a backup: take hold of the source's files (source.h), decide what
 * is new, upload it, commit the manifest. Immutable files (SST, blob) that an
 * earlier backup of the env already holds byte for byte are referenced, not
 * uploaded again. */
#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/catalog.h"
#include "backup/index.h"
#include "backup/lock.h"
#include "backup/archive.h"
#include "backup/crccache.h"
#include "backup/export.h"
#include "backup/internal.h"
#include "backup/layout.h"
#include "backup/localdir.h"
#include "backup/source.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/parallel.h"
#include "util/random.h"
#include "util/log.h"

typedef struct src_file {
    const kv_src_file *f;
    int upload;           /* stored by this backup */
    int have_crc;         /* crc is known (before any upload) */
    int in_archive;       /* object is a single-file archive holding it at offset */
    uint64_t offset;
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
    int in_archive;
    uint64_t offset;
} prior_file;

typedef struct job {
    kvault *kv;
    const char *env;
    char id[64], date[16];
    int64_t started_ms;
    struct timespec t0;
    kv_lock *lock;
    kv_source src;
    src_file *files;
    size_t nfiles;
    kv_index index;
    prior_file *prior;
    size_t nprior;
    kv_crc_cache *cache;
    kv_xfer_item *items;
    size_t nitems;
    size_t nstored;       /* files stored by this backup so far (folder fan-out) */
    uint64_t bytes_checksummed;
    pthread_mutex_t jlock; /* the journal of what is stored, for resuming */
    kv_index_file *journal;
    size_t njournal, unsaved;
    struct timespec saved_at;
    /* an SST export (KVAULT_FORMAT_SST) */
    int sst;
    uint64_t sst_size;
    kv_mfile *xfiles;
    size_t nxfiles;
    char **xpaths;            /* staged export files (single-file) */
    char *xscratch;
    /* single-file: one archive object holds what this backup stores */
    int single;
    char *archive_key;
    int archive_stored;
} job;

#define DEFAULT_SST_SIZE (256ull << 20)
#define MIN_SST_SIZE (64ull << 10)

/* The journal is written when this many files or seconds have gone by. */
#define JOURNAL_EVERY_FILES 64
#define JOURNAL_EVERY_S 2


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

/* The env's index: every immutable file its backups hold, and those that
 * killed attempts stored (so a backup run again uploads only the rest). */
static int index_prior(job *j)
{
    int rc = kv_index_load(j->kv->st, j->env, &j->index);
    if (rc)
        return rc;
    if (!(j->prior = calloc(j->index.nf + j->index.naf + 1, sizeof *j->prior)))
        return kv_oom();
    for (size_t i = 0; i < j->index.nf + j->index.naf; i++) {
        const kv_index_file *f = i < j->index.nf ? &j->index.f[i] : &j->index.af[i - j->index.nf];
        j->prior[j->nprior++] = (prior_file){.name = f->name, .size = f->size, .crc = f->crc32c,
                                             .object = f->object, .in_archive = f->in_archive,
                                             .offset = f->offset};
    }
    qsort(j->prior, j->nprior, sizeof *j->prior, cmp_prior_sort);
    return KV_OK;
}

/* The first earlier file with this name and size (and crc, with_crc). */
static const prior_file *find_prior(const job *j, const src_file *f, int with_crc)
{
    prior_file key = {.name = f->f->name, .size = (uint64_t)f->f->st.st_size, .crc = f->crc};
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
    f->have_crc = 1;
    if (!(p = find_prior(j, f, 1)))
        return KV_OK;
    f->upload = 0;
    f->object = p->object;
    f->in_archive = p->in_archive;
    f->offset = p->offset;
    return kv_crc_cache_add(j->cache, &f->f->st, f->crc);
}

/* ---- upload and commit -------------------------------------------------- */

/* Where this backup stores f (kv_layout_member_key: sub-folders past 900). */
static int object_key(job *j, src_file *f)
{
    f->key = kv_layout_member_key(j->env, j->date, j->id, j->nstored++, f->f->name);
    return f->key ? KV_OK : kv_oom();
}

/* ---- the journal ------------------------------------------------------------ */

static double seconds_since(const struct timespec *t0);

static void save_journal(job *j)
{
    if (kv_index_write_attempt(j->kv->st, j->env, j->id, j->journal, j->njournal) != KV_OK)
        kv_log(KV_LOG_INFO, "journal of backup %s not written: %s", j->id, kv_errmsg());
    j->unsaved = 0;
    clock_gettime(CLOCK_MONOTONIC, &j->saved_at);
}

/* A file is stored (on a worker thread): remembered, and the journal saved
 * now and then. */
static void on_stored(const kv_xfer_item *it, void *payload)
{
    job *j = payload;
    size_t i;
    for (i = 0; i < j->nfiles && j->files[i].key != it->key; i++)
        ;
    if (i == j->nfiles || !j->files[i].f->immutable)
        return;
    pthread_mutex_lock(&j->jlock);
    j->journal[j->njournal++] = (kv_index_file){j->files[i].f->name, it->size, it->crc32c,
                                                (char *)it->key};
    if (++j->unsaved >= JOURNAL_EVERY_FILES || seconds_since(&j->saved_at) >= JOURNAL_EVERY_S)
        save_journal(j);
    pthread_mutex_unlock(&j->jlock);
}

/* Uploads every file marked upload that has no key yet. */
static int upload_new(job *j)
{
    size_t first = j->nitems;
    kv_xfer_opts xo;
    int rc;
    for (size_t i = 0; i < j->nfiles; i++) {
        src_file *f = &j->files[i];
        if (!f->upload || f->key)
            continue;
        if ((rc = object_key(j, f)))
            return rc;
        f->object = f->key;
        j->items[j->nitems++] = (kv_xfer_item){.local_path = f->f->path, .key = f->key,
                                               .size = (uint64_t)f->f->st.st_size};
    }
    xo = j->kv->xo;
    xo.item_done = on_stored;
    xo.item_payload = j;
    if ((rc = kv_xfer_upload(j->kv->st, j->items + first, j->nitems - first, &xo)))
        return rc;
    for (size_t i = 0, k = first; i < j->nfiles; i++) {
        src_file *f = &j->files[i];
        if (!f->upload || f->key != j->items[k].key)
            continue;
        f->crc = j->items[k++].crc32c;
        if (f->f->immutable && (rc = kv_crc_cache_add(j->cache, &f->f->st, f->crc)))
            return rc;
        if (k == j->nitems)
            break;
    }
    return KV_OK;
}

/* ---- the objects it references, checked before it commits ---------------- */

/* One referenced object still there with its size; a missing one is
 * stored again. Only this call touches files[i]. */
static int recheck_one(size_t i, void *arg)
{
    job *j = arg;
    src_file *f = &j->files[i];
    kv_object_info info;
    int rc;
    if (f->upload)
        return KV_OK;
    rc = kv_store_stat(j->kv->st, f->object, &info);
    if (rc == KV_OK && (f->in_archive ? info.size < f->offset + (uint64_t)f->f->st.st_size
                                      : info.size != (uint64_t)f->f->st.st_size))
        rc = KV_ENOTFOUND; /* not what the index said: store it anew */
    if (rc == KV_ENOTFOUND) {
        kv_log(KV_LOG_ERROR, "warning: '%s', which backup %s references, is gone; storing '%s' "
               "again", f->object, j->id, f->f->name);
        f->upload = 1;
        rc = KV_OK;
    }
    return rc;
}

/* Every object the backup references from earlier backups must still be
 * there when it commits: a prune that ran while this backup's lease had
 * lapsed may have removed some. Missing ones are stored again. */
static int recheck_references(job *j)
{
    int rc = kv_parallel_for(j->nfiles, j->kv->xo.workers > 0 ? j->kv->xo.workers : 8,
                             recheck_one, j);
    return rc ? rc : upload_new(j);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A manifest whose strings belong to the job (only m->files is its own). */
static int build_manifest(job *j, char *hostname, kv_manifest *m)
{
    memset(m, 0, sizeof *m);
    m->version = KV_MANIFEST_VERSION;
    snprintf(m->id, sizeof m->id, "%s", j->id);
    snprintf(m->env, sizeof m->env, "%s", j->env);
    snprintf(m->date, sizeof m->date, "%s", j->date);
    m->created_ms = j->started_ms;
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
    if (!(m->files = calloc(j->nfiles + j->nxfiles + 1, sizeof *m->files)))
        return kv_oom();
    for (size_t i = 0; i < j->nfiles; i++) {
        const src_file *f = &j->files[i];
        m->files[i] = (kv_mfile){.name = f->f->name, .size = (uint64_t)f->f->st.st_size,
                                 .crc32c = f->crc, .object = (char *)f->object,
                                 .in_archive = f->in_archive, .offset = f->offset};
        if (f->upload) {
            m->files_new++;
            m->bytes_new += (uint64_t)f->f->st.st_size;
        }
    }
    m->nfiles = j->nfiles;
    m->sst_export = j->sst;
    for (size_t i = 0; i < j->nxfiles; i++) {
        m->files[m->nfiles++] = j->xfiles[i];
        m->files_new++;
        m->bytes_new += j->xfiles[i].size;
    }
    m->seconds = seconds_since(&j->t0);
    return KV_OK;
}

/* Makes the backup exist: its lease confirmed, what it references checked,
 * everything uploaded made durable, then the manifest written and the
 * backup added to the env's index. */
static int commit(job *j, kvault_backup_info *out)
{
    char hostname[256] = "", *key = NULL;
    void *data = NULL;
    kv_digest digest = {0};
    kv_manifest m = {0};
    size_t len;
    int rc = kv_lock_confirm(j->lock);

    if (rc == KV_ETRANSIENT)
        rc = KV_OK; /* others may have run: the re-check below covers it */
    if (rc || (rc = recheck_references(j)))
        return rc;
    gethostname(hostname, sizeof hostname - 1);
    if ((rc = build_manifest(j, hostname, &m)) || (rc = kv_manifest_encode(&m, &data, &len)))
        goto out;
    if (!(key = kv_layout_manifest_key(j->env, j->date, j->id, 0))) {
        rc = kv_oom();
        goto out;
    }
    digest.crc32c = kv_crc32c(0, data, len);
    if ((rc = kv_store_sync(j->kv->st)) || (rc = kv_store_put(j->kv->st, key, data, len, &digest)))
        goto out;
    if (kv_index_add(j->kv->st, j->env, &m, &j->index) != KV_OK)
        kv_log(KV_LOG_ERROR, "warning: backup %s is complete but not in the index of env '%s' "
               "yet (the next prune or gc adds it): %s", j->id, j->env, kv_errmsg());
    if (j->njournal && kv_index_remove_attempt(j->kv->st, j->env, j->id) != KV_OK)
        kv_log(KV_LOG_INFO, "journal of backup %s not removed (gc will): %s", j->id, kv_errmsg());
    kv_info_from_manifest(&m, out);
    out->bytes_checksummed = j->bytes_checksummed;
out:
    free(m.files);
    free(data);
    free(key);
    return rc;
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
    if (j->archive_stored && kv_store_remove(j->kv->st, j->archive_key) != KV_OK)
        kv_log(KV_LOG_ERROR, "warning: cannot remove '%s' of the failed backup: %s",
               j->archive_key, kv_errmsg());
    for (size_t i = 0; i < j->nxfiles && !j->single; i++)
        if (kv_store_remove(j->kv->st, j->xfiles[i].object) != KV_OK)
            kv_log(KV_LOG_ERROR, "warning: cannot remove '%s' of the failed backup: %s",
                   j->xfiles[i].object, kv_errmsg());
    if (j->njournal)
        kv_index_remove_attempt(j->kv->st, j->env, j->id);
    kv_errset_msg(KV_OK, saved);
}

/* ---- the whole backup ---------------------------------------------------- */

static int export_opts(job *j, const kvault_backup_opts *o)
{
    if (o->format != KVAULT_FORMAT_FILES && o->format != KVAULT_FORMAT_SST)
        return kv_seterr(KV_EINVAL, "kvault_backup_opts.format %d is neither KVAULT_FORMAT_FILES "
                         "nor KVAULT_FORMAT_SST", o->format);
    if (o->sst_size && o->sst_size < MIN_SST_SIZE)
        return kv_seterr(KV_EINVAL, "kvault_backup_opts.sst_size %llu is below the %llu bytes "
                         "an export file must be able to hold",
                         (unsigned long long)o->sst_size, MIN_SST_SIZE);
    j->sst = o->format == KVAULT_FORMAT_SST;
    j->sst_size = o->sst_size ? o->sst_size : DEFAULT_SST_SIZE;
    if (o->single_file < KVAULT_SINGLE_FILE_DEFAULT || o->single_file > KVAULT_SINGLE_FILE_NO)
        return kv_seterr(KV_EINVAL, "kvault_backup_opts.single_file %d is not a "
                         "KVAULT_SINGLE_FILE_* value", o->single_file);
    j->single = o->single_file == KVAULT_SINGLE_FILE_YES ||
                (o->single_file == KVAULT_SINGLE_FILE_DEFAULT &&
                 (kv_store_caps(j->kv->st) & KV_CAP_FEW_LARGE_FILES));
    return KV_OK;
}

static int job_init(job *j, kvault *kv, const kvault_backup_opts *opts)
{
    int rc;
    memset(j, 0, sizeof *j);
    j->kv = kv;
    pthread_mutex_init(&j->jlock, NULL);
    clock_gettime(CLOCK_MONOTONIC, &j->t0);
    j->saved_at = j->t0;
    if (opts && (rc = kv_check_versions(opts->version, 1, KVAULT_BACKUP_OPTS_VERSION,
                                        "kvault_backup_opts")))
        return rc;
    if (opts && opts->version >= 2 && (rc = export_opts(j, opts)))
        return rc;
    if (!opts || opts->version < 2)
        j->single = (kv_store_caps(kv->st) & KV_CAP_FEW_LARGE_FILES) != 0;
    if (opts && opts->db_options &&
        (rc = kv_check_version(opts->db_options->version, KVAULT_DB_OPTIONS_VERSION,
                               "kvault_db_options")))
        return rc;
    return kv_env_resolve(opts ? opts->env : NULL, &j->env);
}

static int take_lease(job *j)
{
    kv_lock_opts lo = {.env = j->env, .op = "backup", .exclusive = 0,
                       .wait_s = j->kv->lock_wait_s, .stale_s = j->kv->lock_stale_s};
    return kv_lock_acquire(j->kv->st, &lo, &j->lock);
}

static void job_free(job *j)
{
    for (size_t i = 0; i < j->nfiles; i++)
        free(j->files[i].key);
    free(j->files);
    kv_source_close(&j->src);
    free(j->prior);
    kv_index_free(&j->index);
    kv_crc_cache_free(j->cache);
    free(j->items);
    free(j->journal);
    kv_export_files_free(j->xfiles, j->nxfiles);
    kv_export_paths_free(j->xpaths, j->nxfiles);
    if (j->xscratch)
        kv_rm_rf_quiet(j->xscratch);
    free(j->xscratch);
    free(j->archive_key);
    pthread_mutex_destroy(&j->jlock);
    kv_lock_release(j->lock);
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Ids order by time to the millisecond; a backup that starts in the same
 * millisecond as (or, by a slightly slow clock, just before) the env's
 * latest waits until it is later, so "latest" is always the newest. */
static int make_id(job *j)
{
    int64_t last = j->index.nb ? j->index.b[j->index.nb - 1].created_ms : 0;
    int64_t now = now_ms();
    if (last >= now && last - now < 3000) {
        struct timespec wait = {(time_t)((last + 1 - now) / 1000),
                                (long)((last + 1 - now) % 1000) * 1000000L};
        nanosleep(&wait, NULL);
        now = now_ms();
    }
    j->started_ms = now;
    if (last >= now)
        kv_log(KV_LOG_ERROR, "warning: the clock is behind the latest backup of env '%s'; "
               "'latest' will still name that one", j->env);
    return kv_backup_id_new(now, j->id, j->date);
}

/* An export holds new SST files and, of the database's own files, only the
 * OPTIONS file (a restore creates the database with those options). */
static void keep_options_file(job *j)
{
    size_t n = 0;
    for (size_t i = 0; i < j->nfiles; i++)
        if (strncmp(j->files[i].f->name, "OPTIONS-", 8) == 0)
            j->files[n++] = j->files[i];
    j->nfiles = n;
}

static int export(job *j, const kvault_backup_opts *o)
{
    kv_export_in in = {.kv = j->kv, .view = j->src.view, .app = o->db_options, .env = j->env,
                       .date = j->date, .id = j->id, .sst_size = j->sst_size,
                       .scratch_dir = o->scratch_dir ? o->scratch_dir : j->kv->tmp_dir,
                       .tmp_dir = j->kv->tmp_dir, .first_index = j->nstored, .stage = j->single};
    kv_export_out out = {0};
    int rc = kv_export_run(&in, &out);
    j->xfiles = out.files;
    j->nxfiles = out.n;
    j->xpaths = out.paths;
    j->xscratch = out.scratch;
    return rc;
}

/* ---- single-file --------------------------------------------------------------------- */

/* The archive's members: the files this backup stores, then the staged
 * export files. */
static int archive_members(job *j, kv_archive_member **m, int **has_crc, size_t *n)
{
    *n = 0;
    *m = calloc(j->nfiles + j->nxfiles + 1, sizeof **m);
    *has_crc = calloc(j->nfiles + j->nxfiles + 1, sizeof **has_crc);
    if (!*m || !*has_crc)
        return kv_oom();
    for (size_t i = 0; i < j->nfiles; i++) {
        src_file *f = &j->files[i];
        if (!f->upload || f->key)
            continue;
        (*has_crc)[*n] = f->have_crc;
        (*m)[(*n)++] = (kv_archive_member){.name = f->f->name, .path = f->f->path,
                                           .size = (uint64_t)f->f->st.st_size, .crc32c = f->crc};
    }
    for (size_t i = 0; i < j->nxfiles; i++)
        (*m)[(*n)++] = (kv_archive_member){.name = j->xfiles[i].name, .path = j->xpaths[i],
                                           .size = j->xfiles[i].size};
    return KV_OK;
}

/* Where each member went, for the manifest. */
static int place_members(job *j, const kv_archive_member *m)
{
    size_t k = 0;
    for (size_t i = 0; i < j->nfiles; i++) {
        src_file *f = &j->files[i];
        if (!f->upload || f->key)
            continue;
        if (!(f->key = strdup(j->archive_key)))
            return kv_oom();
        f->object = f->key;
        f->crc = m[k].crc32c;
        f->in_archive = 1;
        f->offset = m[k++].offset;
        if (f->f->immutable && kv_crc_cache_add(j->cache, &f->f->st, f->crc) != KV_OK)
            return KV_ENOMEM;
    }
    for (size_t i = 0; i < j->nxfiles; i++, k++) {
        if (!(j->xfiles[i].object = strdup(j->archive_key)))
            return kv_oom();
        j->xfiles[i].crc32c = m[k].crc32c;
        j->xfiles[i].in_archive = 1;
        j->xfiles[i].offset = m[k].offset;
    }
    return KV_OK;
}

static int upload_archive(job *j)
{
    kv_archive_member *m = NULL;
    int *has_crc = NULL, rc;
    size_t n;
    char name[96];
    snprintf(name, sizeof name, "%s" KV_ARCHIVE_SUFFIX, j->id);
    if ((rc = archive_members(j, &m, &has_crc, &n)) ||
        (rc = kv_archive_checksum(m, n, has_crc, j->kv->xo.workers > 0 ? j->kv->xo.workers : 8)))
        goto out;
    if (!(j->archive_key = kv_layout_member_key(j->env, j->date, j->id, j->nstored++, name))) {
        rc = kv_oom();
        goto out;
    }
    if ((rc = kv_archive_upload(j->kv, j->archive_key, j->id, m, n)))
        goto out;
    j->archive_stored = 1;
    rc = place_members(j, m);
out:
    free(m);
    free(has_crc);
    return rc;
}

static int run_backup(kvault *kv, rocksdb_t *db, const char *db_path,
                      const kvault_backup_opts *opts, kvault_backup_info *out)
{
    job j;
    int rc = job_init(&j, kv, opts);

    if (rc || (rc = take_lease(&j)) || (rc = index_prior(&j)) || (rc = make_id(&j)) ||
        (rc = take_source(&j, db, db_path, opts)) ||
        (rc = kv_crc_cache_open(kv->cache_dir, j.src.identity ? j.src.identity : j.src.db_path,
                                &j.cache)))
        goto out;
    if (!(j.items = calloc(j.nfiles + 1, sizeof *j.items)) ||
        !(j.journal = calloc(j.nfiles + 1, sizeof *j.journal))) {
        rc = kv_oom();
        goto out;
    }
    if (j.sst)
        keep_options_file(&j);
    for (size_t i = 0; i < j.nfiles && !rc; i++)
        rc = classify(&j, &j.files[i]);
    if (rc || (!j.single && (rc = upload_new(&j))) || (j.sst && (rc = export(&j, opts))) ||
        (j.single && (rc = upload_archive(&j))) || (rc = commit(&j, out)))
        goto out;
    if (kv_crc_cache_save(j.cache) != KV_OK)
        kv_log(KV_LOG_ERROR, "warning: checksum cache not saved: %s", kv_errmsg());
    kv_info("backup %s of '%s': %llu files, %llu new (%llu bytes)", j.id, j.src.db_path,
            (unsigned long long)out->files, (unsigned long long)out->files_new,
            (unsigned long long)out->bytes_new);
out:
    if (rc && (j.nitems || j.nxfiles || j.archive_stored))
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
