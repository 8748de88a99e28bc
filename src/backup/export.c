/* An SST export: every column family of the source's view, read at one
 * point in time, written into new SST files and uploaded as they are
 * finished (docs/export.md). The writing (this thread) and the uploading (a
 * second thread, each file in parallel parts) overlap; at most
 * EXPORT_QUEUE finished files wait, so the scratch space is a few files, not
 * the database. */
#include "backup/export.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/layout.h"
#include "backup/localdir.h"
#include "backup/rocks_sst.h"
#include "util/base64.h"
#include "util/err.h"
#include "util/log.h"

#define EXPORT_QUEUE 2

typedef struct exporter {
    const kv_export_in *in;
    kv_rdb rdb;
    char *scratch;
    pthread_mutex_t mu;
    pthread_cond_t changed;
    kv_sst_file *queue[EXPORT_QUEUE];
    size_t qn;
    int writing_done;
    int err;
    char errmsg[1024];
    kv_mfile *files;          /* uploaded (or staged), for the manifest */
    char **paths;             /* staged: where each file is */
    size_t nfiles, cap;
    size_t nstored;           /* objects in the backup's folder so far */
} exporter;

static void free_member(kv_mfile *m)
{
    free(m->name);
    free(m->object);
    free(m->cf);
    free(m->smallest);
    free(m->largest);
}

/* "cf_<name>-NNNNN.sst", the name escaped where it is not [A-Za-z0-9._-]. */
int kv_export_file_name(const char *cf, unsigned n, char **out)
{
    size_t len = strlen(cf), k = 0;
    char *esc = malloc(3 * len + 1);
    int rc;
    if (!esc)
        return kv_oom();
    for (const unsigned char *p = (const unsigned char *)cf; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '.' || *p == '_' || *p == '-')
            esc[k++] = (char)*p;
        else
            k += (size_t)snprintf(esc + k, 4, "%%%02X", *p);
    }
    esc[k] = '\0';
    rc = asprintf(out, "cf_%s-%05u.sst", esc, n) < 0 ? kv_oom() : KV_OK;
    free(esc);
    return rc;
}

/* ---- the uploading thread ------------------------------------------------------ */

static void fail_with(exporter *x, int rc)
{
    pthread_mutex_lock(&x->mu);
    if (!x->err) {
        x->err = rc;
        snprintf(x->errmsg, sizeof x->errmsg, "%s", kv_errmsg());
    }
    pthread_cond_broadcast(&x->changed);
    pthread_mutex_unlock(&x->mu);
}

static char *base64(const char *data, size_t n)
{
    char *s = malloc(KV_BASE64_LEN(n) + 1);
    if (s)
        kv_base64_encode(data, n, s);
    return s;
}

/* Adds an uploaded file to the manifest's list; takes key only on success. */
static int grow(exporter *x)
{
    size_t cap = x->cap ? 2 * x->cap : 64;
    kv_mfile *p = realloc(x->files, cap * sizeof *p);
    char **q;
    if (!p)
        return kv_oom();
    x->files = p;
    if (!(q = realloc(x->paths, cap * sizeof *q)))
        return kv_oom();
    x->paths = q;
    x->cap = cap;
    return KV_OK;
}

static int record(exporter *x, const kv_sst_file *f, const char *name, char *key, uint32_t crc)
{
    kv_mfile m = {.object = key, .size = f->size, .crc32c = crc, .entries = f->entries};
    int rc;
    if (x->nfiles == x->cap && (rc = grow(x)))
        return rc;
    x->paths[x->nfiles] = NULL;
    m.name = strdup(name);
    m.cf = strdup(x->rdb.cf_names[f->cf]);
    m.smallest = base64(f->smallest, f->smallest_len);
    m.largest = base64(f->largest, f->largest_len);
    if (!m.name || !m.cf || !m.smallest || !m.largest) {
        m.object = NULL;
        free_member(&m);
        return kv_oom();
    }
    x->files[x->nfiles++] = m;
    return KV_OK;
}

/* Uploads one finished file, then removes it from the scratch directory. */
static int upload(exporter *x, kv_sst_file *f)
{
    const kv_export_in *in = x->in;
    const char *name = strrchr(f->path, '/') + 1;
    char *key = kv_layout_member_key(in->env, in->date, in->id, in->first_index + x->nstored++, name);
    kv_xfer_item it = {0};
    int rc;
    if (!key)
        return kv_oom();
    it = (kv_xfer_item){.local_path = f->path, .key = key, .size = f->size};
    rc = kv_xfer_upload(in->kv->st, &it, 1, &in->kv->xo);
    if (rc || (rc = record(x, f, name, key, it.crc32c))) {
        if (it.started && kv_store_remove(in->kv->st, key) != KV_OK)
            kv_log(KV_LOG_ERROR, "warning: cannot remove '%s': %s", key, kv_errmsg());
        free(key);
    }
    unlink(f->path);
    return rc;
}

static void *uploader(void *arg)
{
    exporter *x = arg;
    for (;;) {
        kv_sst_file *f;
        int rc;
        pthread_mutex_lock(&x->mu);
        while (!x->qn && !x->writing_done && !x->err)
            pthread_cond_wait(&x->changed, &x->mu);
        f = x->qn && !x->err ? x->queue[0] : NULL;
        if (f)
            memmove(x->queue, x->queue + 1, --x->qn * sizeof *x->queue);
        pthread_cond_broadcast(&x->changed);
        pthread_mutex_unlock(&x->mu);
        if (!f)
            return NULL;
        rc = upload(x, f);
        kv_sst_file_free(f);
        if (rc)
            fail_with(x, rc);
    }
}

/* ---- the writing side ---------------------------------------------------------- */

static int sink_path(void *payload, size_t cf, unsigned n, char **out)
{
    exporter *x = payload;
    char *name;
    int rc = kv_export_file_name(x->rdb.cf_names[cf], n, &name);
    if (rc)
        return rc;
    rc = asprintf(out, "%s/%s", x->scratch, name) < 0 ? kv_oom() : KV_OK;
    free(name);
    return rc;
}

/* Keeps a finished file where it is, for a single-file archive. */
static int stage(exporter *x, kv_sst_file *f)
{
    int rc = record(x, f, strrchr(f->path, '/') + 1, NULL, 0);
    if (!rc) {
        x->paths[x->nfiles - 1] = f->path;
        f->path = NULL;
    }
    kv_sst_file_free(f);
    return rc;
}

/* Queues a finished file, waiting while the queue is full. */
static int sink_done(void *payload, kv_sst_file *f)
{
    exporter *x = payload;
    int rc;
    if (x->in->stage)
        return stage(x, f);
    pthread_mutex_lock(&x->mu);
    while (x->qn == EXPORT_QUEUE && !x->err)
        pthread_cond_wait(&x->changed, &x->mu);
    if (!(rc = x->err))
        x->queue[x->qn++] = f;
    pthread_cond_broadcast(&x->changed);
    pthread_mutex_unlock(&x->mu);
    if (rc) {
        unlink(f->path);
        kv_sst_file_free(f);
        return kv_errset_msg(rc, x->errmsg);
    }
    return KV_OK;
}

static int write_all(exporter *x)
{
    kv_sst_sink sink = {.target_size = x->in->sst_size, .path = sink_path, .done = sink_done,
                        .payload = x};
    int rc = KV_OK;
    for (size_t i = 0; i < x->rdb.ncf && !rc; i++)
        rc = kv_rdb_export_cf(&x->rdb, i, &sink);
    return rc;
}

/* Waits for the uploader; the first failure of either side is the result. */
static int finish(exporter *x, pthread_t th, int rc)
{
    if (rc)
        fail_with(x, rc);
    pthread_mutex_lock(&x->mu);
    x->writing_done = 1;
    pthread_cond_broadcast(&x->changed);
    pthread_mutex_unlock(&x->mu);
    pthread_join(th, NULL);
    for (size_t i = 0; i < x->qn; i++) {
        unlink(x->queue[i]->path);
        kv_sst_file_free(x->queue[i]);
    }
    return x->err ? kv_errset_msg(x->err, x->errmsg) : KV_OK;
}

void kv_export_paths_free(char **paths, size_t n)
{
    for (size_t i = 0; paths && i < n; i++)
        free(paths[i]);
    free(paths);
}

void kv_export_files_free(kv_mfile *files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_member(&files[i]);
    free(files);
}

static void remove_uploaded(exporter *x)
{
    for (size_t i = 0; i < x->nfiles; i++)
        if (x->files[i].object && kv_store_remove(x->in->kv->st, x->files[i].object) != KV_OK)
            kv_log(KV_LOG_ERROR, "warning: cannot remove '%s' of the failed export: %s",
                   x->files[i].object, kv_errmsg());
}

int kv_export_run(const kv_export_in *in, kv_export_out *out)
{
    exporter x = {.in = in};
    pthread_t th;
    int rc;

    pthread_mutex_init(&x.mu, NULL);
    pthread_cond_init(&x.changed, NULL);
    if ((rc = kv_make_owned_dir(in->scratch_dir, "kvault-export-", &x.scratch)) ||
        (rc = kv_rdb_open(in->view, in->view, in->app, in->tmp_dir, &x.rdb)))
        goto out;
    if (in->stage) {
        rc = write_all(&x);
    } else if (pthread_create(&th, NULL, uploader, &x) != 0) {
        rc = kv_seterr(KV_ERR, "cannot start the export's upload thread");
        goto out;
    } else {
        rc = finish(&x, th, write_all(&x));
    }
out:
    kv_rdb_close(&x.rdb);
    if (rc) {
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", kv_errmsg());
        remove_uploaded(&x);
        kv_export_files_free(x.files, x.nfiles);
        kv_export_paths_free(x.paths, x.nfiles);
        kv_errset_msg(rc, saved);
    } else {
        out->files = x.files;
        out->n = x.nfiles;
        out->paths = in->stage ? x.paths : NULL;
        if (!in->stage)
            kv_export_paths_free(x.paths, x.nfiles);
    }
    if (x.scratch && (rc || !in->stage))
        kv_rm_rf_quiet(x.scratch);
    if (!rc && in->stage)
        out->scratch = x.scratch;
    else
        free(x.scratch);
    pthread_cond_destroy(&x.changed);
    pthread_mutex_destroy(&x.mu);
    return rc;
}
