/* Opening stores and the object operations of the public API. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/internal.h"
#include "backup/layout.h"
#include "util/err.h"
#include "util/random.h"
#include "util/url.h"

/* The public store options, checked, as the store layer takes them. */
static int store_opts(const kvault_store_opts *in, kv_store_opts *out)
{
    int rc;
    memset(out, 0, sizeof *out);
    if (!in)
        return KV_OK;
    if ((rc = kv_check_version(in->version, KVAULT_STORE_OPTS_VERSION, "kvault_store_opts")))
        return rc;
    if (in->connect_timeout_s < 0 || in->stall_timeout_s < 0 || in->max_retries < 0)
        return kv_seterr(KV_EINVAL, "kvault_store_opts: timeouts and max_retries must not be "
                         "negative");
    *out = (kv_store_opts){.connect_timeout_s = in->connect_timeout_s,
                           .stall_timeout_s = in->stall_timeout_s,
                           .max_retries = in->max_retries,
                           .endpoint = in->endpoint,
                           .region = in->region,
                           .ca_file = in->ca_file,
                           .settings = in->settings,
                           .nsettings = in->nsettings};
    return KV_OK;
}

static int take_options(kvault *kv, const kvault_options *opts)
{
    int rc;
    if (opts && (rc = kv_check_version(opts->version, KVAULT_OPTIONS_VERSION, "kvault_options")))
        return rc;
    kv->tmp_dir = strdup(opts && opts->tmp_dir ? opts->tmp_dir : "/tmp");
    kv->cache_dir = opts && opts->cache_dir ? strdup(opts->cache_dir) : NULL;
    if (!kv->tmp_dir || (opts && opts->cache_dir && !kv->cache_dir))
        return kv_oom();
    if (!opts)
        return KV_OK;
    if (opts->workers < 0)
        return kv_seterr(KV_EINVAL, "kvault_options.workers must not be negative, got %d",
                         opts->workers);
    if (opts->lock_wait_s < 0 || opts->lock_stale_s < 0)
        return kv_seterr(KV_EINVAL, "kvault_options.lock_wait_s and lock_stale_s must not be "
                         "negative");
    kv->lock_wait_s = opts->lock_wait_s;
    kv->lock_stale_s = opts->lock_stale_s;
    kv->xo = (kv_xfer_opts){.workers = opts->workers, .part_size = opts->part_size,
                            .progress = opts->progress,
                            .progress_payload = opts->progress_payload};
    return KV_OK;
}

int kvault_open(const char *store_url, const kvault_options *opts, kvault **out)
{
    kvault *kv = calloc(1, sizeof *kv);
    kv_store_opts so;
    int rc;

    if (!kv)
        return kv_oom();
    if ((rc = take_options(kv, opts)) || (rc = store_opts(opts ? opts->store : NULL, &so)) ||
        (rc = kv_store_open(store_url, &so, &kv->st))) {
        kvault_close(kv);
        return rc;
    }
    *out = kv;
    return KV_OK;
}

void kvault_close(kvault *kv)
{
    if (!kv)
        return;
    if (kv->st)
        kv_store_close(kv->st);
    free(kv->cache_dir);
    free(kv->tmp_dir);
    free(kv);
}

/* The store URL holding the object a URL names, and the object's key. */
static int split_object_url(const char *url, char **store, char **key)
{
    kv_url u;
    int rc = kv_url_parse(url, &u);
    if (rc)
        return rc;
    if (strcmp(u.scheme, "file") == 0) {
        *store = strdup("/");
        *key = strdup(u.path + 1);
    } else {
        *key = strdup(u.path);
        if (asprintf(store, u.port ? "%s://%s:%d" : "%s://%s", u.scheme, u.host, u.port) < 0)
            *store = NULL;
    }
    kv_url_free(&u);
    if (!*store || !*key) {
        free(*store);
        free(*key);
        return kv_seterr(KV_ENOMEM, "out of memory");
    }
    return KV_OK;
}

int kvault_open_url(const char *url, const kvault_options *opts, kvault **out, char **key)
{
    char *store, *k;
    int rc = split_object_url(url, &store, &k);
    if (rc)
        return rc;
    rc = kvault_open(store, opts, out);
    free(store);
    if (rc)
        free(k);
    else
        *key = k;
    return rc;
}

typedef struct listing {
    kvault_object *objs;
    size_t n, cap;
} listing;

static int collect(const char *key, const kv_object_info *info, void *payload)
{
    listing *l = payload;
    kvault_object *o;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        kvault_object *p = realloc(l->objs, cap * sizeof *p);
        if (!p)
            return kv_seterr(KV_ENOMEM, "out of memory listing '%s'", key);
        l->objs = p;
        l->cap = cap;
    }
    o = &l->objs[l->n];
    if (!(o->key = strdup(key)))
        return kv_seterr(KV_ENOMEM, "out of memory listing '%s'", key);
    o->size = info->size;
    o->mtime_unix = info->mtime_unix;
    snprintf(o->etag, sizeof o->etag, "%s", info->etag);
    l->n++;
    return 0;
}

int kvault_ls(kvault *kv, const char *prefix, kvault_object **out, size_t *count)
{
    listing l = {0};
    int rc = kv_store_list(kv->st, prefix ? prefix : "", collect, &l);
    if (rc) {
        kvault_free_objects(l.objs, l.n);
        return rc;
    }
    *out = l.objs;
    *count = l.n;
    return KV_OK;
}

void kvault_free_objects(kvault_object *objs, size_t count)
{
    for (size_t i = 0; objs && i < count; i++)
        free(objs[i].key);
    free(objs);
}

int kvault_stat(kvault *kv, const char *key, kvault_object *out)
{
    kv_object_info info;
    int rc = kv_store_stat(kv->st, key, &info);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    if (!(out->key = strdup(key)))
        return kv_seterr(KV_ENOMEM, "out of memory");
    out->size = info.size;
    out->mtime_unix = info.mtime_unix;
    snprintf(out->etag, sizeof out->etag, "%s", info.etag);
    return KV_OK;
}

int kvault_put_file(kvault *kv, const char *local_path, const char *key)
{
    struct stat st;
    kv_xfer_item item = {.local_path = local_path, .key = key};
    if (stat(local_path, &st) != 0)
        return kv_seterr_errno(kv_errno_code(errno), errno, "cannot stat '%s'", local_path);
    if (!S_ISREG(st.st_mode))
        return kv_seterr(KV_EINVAL, "'%s' is not a regular file", local_path);
    item.size = (uint64_t)st.st_size;
    return kv_xfer_upload(kv->st, &item, 1, &kv->xo);
}

int kvault_get_file(kvault *kv, const char *key, const char *local_path)
{
    kv_object_info info;
    kv_xfer_item item = {.key = key};
    char *tmp = NULL, rnd[7];
    int rc;

    if ((rc = kv_store_stat(kv->st, key, &info)) || (rc = kv_random_hex(rnd, 6)))
        return rc;
    if (asprintf(&tmp, "%s.kvault-tmp-%s", local_path, rnd) < 0)
        return kv_seterr(KV_ENOMEM, "out of memory");
    item.local_path = tmp;
    item.size = info.size;
    rc = kv_xfer_download(kv->st, &item, 1, &kv->xo);
    if (!rc && rename(tmp, local_path) != 0)
        rc = kv_seterr_errno(kv_errno_code(errno), errno, "cannot rename '%s' to '%s'", tmp, local_path);
    if (rc)
        unlink(tmp);
    free(tmp);
    return rc;
}

int kvault_cat(kvault *kv, const char *key, int fd)
{
    uint64_t bytes;
    uint32_t crc;
    return kv_xfer_cat(kv->st, key, fd, &kv->xo, &bytes, &crc);
}

int kvault_rm(kvault *kv, const char *key)
{
    return kv_store_remove(kv->st, key);
}
