#include "backup/rocks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/fs.h"

/* Turns a RocksDB error string into a status and message and frees it. */
static int rdb_error(char *err, const char *what, const char *path)
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

int kv_rdb_list_cfs(const char *path, char ***names, size_t *n)
{
    rocksdb_options_t *opts = rocksdb_options_create();
    char *err = NULL;
    int rc = KV_OK;
    if (!opts)
        return kv_seterr(KV_ENOMEM, "out of memory");
    *names = rocksdb_list_column_families(opts, path, n, &err);
    if (err)
        rc = rdb_error(err, "cannot list the column families of database", path);
    rocksdb_options_destroy(opts);
    return rc;
}

void kv_rdb_free_cfs(char **names, size_t n)
{
    if (names)
        rocksdb_list_column_families_destroy(names, n);
}

int kv_rdb_open(const char *path, int read_only, kv_rdb *out)
{
    const rocksdb_options_t **cf_opts = NULL;
    char *err = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = kv_rdb_list_cfs(path, &out->cf_names, &out->ncf)))
        return rc;
    out->options = rocksdb_options_create();
    cf_opts = calloc(out->ncf, sizeof *cf_opts);
    out->cfs = calloc(out->ncf, sizeof *out->cfs);
    if (!out->options || !cf_opts || !out->cfs) {
        rc = kv_seterr(KV_ENOMEM, "out of memory opening database '%s'", path);
        goto out;
    }
    rocksdb_options_set_create_if_missing(out->options, 0);
    for (size_t i = 0; i < out->ncf; i++)
        cf_opts[i] = out->options;
    out->db = read_only
                  ? rocksdb_open_for_read_only_column_families(
                        out->options, path, (int)out->ncf, (const char *const *)out->cf_names,
                        cf_opts, out->cfs, 0, &err)
                  : rocksdb_open_column_families(out->options, path, (int)out->ncf,
                                                 (const char *const *)out->cf_names, cf_opts,
                                                 out->cfs, &err);
    if (err)
        rc = rdb_error(err, "cannot open database", path);
out:
    free(cf_opts);
    return rc;
}

void kv_rdb_close(kv_rdb *r)
{
    for (size_t i = 0; r->db && i < r->ncf; i++)
        rocksdb_column_family_handle_destroy(r->cfs[i]);
    if (r->db)
        rocksdb_close(r->db);
    if (r->options)
        rocksdb_options_destroy(r->options);
    kv_rdb_free_cfs(r->cf_names, r->ncf);
    free(r->cfs);
    memset(r, 0, sizeof *r);
}

int kv_rdb_checkpoint(rocksdb_t *db, const char *dir, uint64_t *sequence)
{
    char *err = NULL;
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(db, &err);
    if (err)
        return rdb_error(err, "cannot prepare a checkpoint into", dir);
    *sequence = rocksdb_get_latest_sequence_number(db);
    rocksdb_checkpoint_create(cp, dir, 0, &err);
    rocksdb_checkpoint_object_destroy(cp);
    return err ? rdb_error(err, "cannot create a checkpoint in", dir) : KV_OK;
}

int kv_rdb_read_identity(const char *dir, char **out)
{
    char *path = NULL, *data = NULL;
    size_t len;
    int rc;

    if (asprintf(&path, "%s/IDENTITY", dir) < 0)
        return kv_seterr(KV_ENOMEM, "out of memory");
    if ((rc = kv_read_file(path, &data, &len)))
        goto out;
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
        data[--len] = '\0';
    if (len == 0) {
        rc = kv_seterr(KV_ECORRUPT, "database identity file '%s' is empty", path);
        goto out;
    }
    *out = data;
    data = NULL;
out:
    free(data);
    free(path);
    return rc;
}

static int read_cf(kv_rdb *r, size_t i, const char *path, uint64_t *keys)
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
        return rdb_error(err, what, path);
    }
    return KV_OK;
}

int kv_rdb_check(const char *path, int read_all, uint64_t *cfs, uint64_t *keys)
{
    kv_rdb r;
    uint64_t n = 0;
    int rc = kv_rdb_open(path, 1, &r);
    for (size_t i = 0; !rc && read_all && i < r.ncf; i++)
        rc = read_cf(&r, i, path, &n);
    if (!rc && cfs)
        *cfs = r.ncf;
    if (!rc && keys)
        *keys = n;
    kv_rdb_close(&r);
    return rc;
}
