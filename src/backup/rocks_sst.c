#include "backup/rocks_sst.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

void kv_sst_file_free(kv_sst_file *f)
{
    if (!f)
        return;
    free(f->path);
    free(f->smallest);
    free(f->largest);
    free(f);
}

/* ---- export --------------------------------------------------------------------- */

typedef struct writer {
    const kv_rdb *r;
    size_t cf;
    const kv_sst_sink *sink;
    rocksdb_envoptions_t *env;
    rocksdb_sstfilewriter_t *w;
    kv_sst_file *f;           /* the file being written, or NULL */
    unsigned n;
} writer;

static int refuse_standin(const kv_rdb *r, size_t cf)
{
    if (r->standin_cmp[cf])
        return kv_seterr(KV_EUNSUPPORTED, "column family '%s' of '%s' orders keys with "
                         "comparator '%s', the application's code: an export must read keys in "
                         "that order; export it through the library with the application's "
                         "options (kvault_backup_opts.db_options)",
                         r->cf_names[cf], r->path, r->cf_comparator[cf]);
    if (r->standin_merge[cf])
        return kv_seterr(KV_EUNSUPPORTED, "column family '%s' of '%s' has merge operator '%s', "
                         "the application's code: an export writes merged values; export it "
                         "through the library with the application's options "
                         "(kvault_backup_opts.db_options)",
                         r->cf_names[cf], r->path, r->standin_merge[cf]);
    return KV_OK;
}

static int start_file(writer *w)
{
    char *err = NULL;
    int rc;
    if (!(w->f = calloc(1, sizeof *w->f)))
        return kv_oom();
    w->f->cf = w->cf;
    w->f->number = ++w->n;
    if ((rc = w->sink->path(w->sink->payload, w->cf, w->n, &w->f->path)))
        return rc;
    if (!(w->w = rocksdb_sstfilewriter_create(w->env, w->r->cf_opts[w->cf])))
        return kv_oom();
    rocksdb_sstfilewriter_open(w->w, w->f->path, &err);
    return err ? kv_rdb_error(err, "cannot create the SST file", w->f->path) : KV_OK;
}

static int keep_key(char **dst, size_t *dst_len, const char *k, size_t len)
{
    char *p = realloc(*dst, len ? len : 1);
    if (!p)
        return kv_oom();
    memcpy(p, k, len);
    *dst = p;
    *dst_len = len;
    return KV_OK;
}

/* Closes the current file and hands it to the sink. */
static int finish_file(writer *w)
{
    char *err = NULL;
    kv_sst_file *f = w->f;
    rocksdb_sstfilewriter_finish(w->w, &err);
    if (err)
        return kv_rdb_error(err, "cannot finish the SST file", f->path);
    rocksdb_sstfilewriter_file_size(w->w, &f->size);
    rocksdb_sstfilewriter_destroy(w->w);
    w->w = NULL;
    w->f = NULL;
    return w->sink->done(w->sink->payload, f);
}

static int add(writer *w, rocksdb_iterator_t *it)
{
    size_t klen, vlen;
    const char *k = rocksdb_iter_key(it, &klen), *v = rocksdb_iter_value(it, &vlen);
    char *err = NULL;
    uint64_t size;
    int rc;
    if (!w->f && (rc = start_file(w)))
        return rc;
    rocksdb_sstfilewriter_put(w->w, k, klen, v, vlen, &err);
    if (err)
        return kv_rdb_error(err, "cannot write to the SST file", w->f->path);
    if ((!w->f->entries++ && (rc = keep_key(&w->f->smallest, &w->f->smallest_len, k, klen))) ||
        (rc = keep_key(&w->f->largest, &w->f->largest_len, k, klen)))
        return rc;
    rocksdb_sstfilewriter_file_size(w->w, &size);
    return size >= w->sink->target_size ? finish_file(w) : KV_OK;
}

static int iterate(writer *w)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it;
    char *err = NULL, what[320];
    int rc = KV_OK;

    rocksdb_readoptions_set_verify_checksums(ro, 1);
    rocksdb_readoptions_set_fill_cache(ro, 0);
    it = rocksdb_create_iterator_cf(w->r->db, ro, w->r->cfs[w->cf]);
    for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && !rc; rocksdb_iter_next(it))
        rc = add(w, it);
    if (!rc)
        rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    snprintf(what, sizeof what, "cannot read column family '%s' of database", w->r->cf_names[w->cf]);
    return err ? kv_rdb_error(err, what, w->r->path) : rc;
}

int kv_rdb_export_cf(const kv_rdb *r, size_t cf, const kv_sst_sink *sink)
{
    writer w = {.r = r, .cf = cf, .sink = sink};
    int rc = refuse_standin(r, cf);
    if (rc)
        return rc;
    if (!(w.env = rocksdb_envoptions_create()))
        return kv_oom();
    rc = iterate(&w);
    if (!rc && w.f)
        rc = finish_file(&w);
    if (w.w)
        rocksdb_sstfilewriter_destroy(w.w);
    if (w.f && w.f->path)
        remove(w.f->path);
    kv_sst_file_free(w.f);
    rocksdb_envoptions_destroy(w.env);
    return rc;
}

/* ---- ingest ---------------------------------------------------------------------- */

int kv_rdb_ingest_live(rocksdb_t *db, rocksdb_column_family_handle_t *cf, const char *what,
                       char *const *paths, size_t n)
{
    rocksdb_ingestexternalfileoptions_t *o;
    char *err = NULL;
    if (n == 0)
        return KV_OK;
    if (!(o = rocksdb_ingestexternalfileoptions_create()))
        return kv_oom();
    rocksdb_ingestexternalfileoptions_set_move_files(o, 1);
    rocksdb_ingest_external_file_cf(db, cf, (const char *const *)paths, n, o, &err);
    rocksdb_ingestexternalfileoptions_destroy(o);
    return err ? kv_rdb_error(err, "cannot ingest the exported SST files into", what) : KV_OK;
}

int kv_rdb_ingest(const kv_rdb *r, size_t cf, char *const *paths, size_t n)
{
    char what[1200];
    snprintf(what, sizeof what, "column family '%s' of %s", r->cf_names[cf], r->path);
    return kv_rdb_ingest_live(r->db, r->cfs[cf], what, paths, n);
}
