#include "backup/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/index.h"
#include "backup/internal.h"
#include "backup/layout.h"
#include "util/err.h"
#include "util/log.h"

typedef struct keys {
    char **k;
    size_t n, cap;
} keys;

static void keys_free(keys *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->k[i]);
    free(ks->k);
}

static int keys_add(keys *ks, const char *key)
{
    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? 2 * ks->cap : 32;
        char **p = realloc(ks->k, cap * sizeof *p);
        if (!p)
            return kv_oom();
        ks->k = p;
        ks->cap = cap;
    }
    if (!(ks->k[ks->n] = strdup(key)))
        return kv_oom();
    ks->n++;
    return KV_OK;
}

static int collect_manifest(const char *key, const kv_object_info *info, void *payload)
{
    char id[64];
    (void)info;
    return kv_layout_manifest_id(key, id) ? keys_add(payload, key) : 0;
}

/* Manifest keys of env in time order (the layout makes key order time order). */
static int list_manifests(kv_store *st, const char *env, keys *out)
{
    char *prefix = kv_layout_env_prefix(env);
    int rc;
    memset(out, 0, sizeof *out);
    if (!prefix)
        return kv_oom();
    rc = kv_store_list(st, prefix, collect_manifest, out);
    free(prefix);
    if (rc) {
        keys_free(out);
        return rc;
    }
    return KV_OK;
}

int kv_read_small(kv_store *st, const char *key, size_t max, char **data, size_t *len)
{
    kv_object_info info;
    size_t off = 0, got;
    char *buf;
    int rc;

    if ((rc = kv_store_stat(st, key, &info)))
        return rc;
    if (info.size > max)
        return kv_seterr(KV_EINVAL, "object '%s' is larger than the %zu bytes kvault reads", key,
                         max);
    if (!(buf = malloc(info.size + 1)))
        return kv_oom();
    while (off < info.size) {
        if ((rc = kv_store_get(st, key, off, info.size - off, buf + off, &got)))
            goto out;
        if (got == 0) {
            rc = kv_seterr(KV_ECORRUPT, "object '%s' is shorter than its listed size", key);
            goto out;
        }
        off += got;
    }
    buf[off] = '\0';
    *data = buf;
    *len = off;
    buf = NULL;
out:
    free(buf);
    return rc;
}

int kv_catalog_read(kv_store *st, const char *env, const char *key, kv_manifest *out)
{
    char *data = NULL;
    size_t len = 0;
    int rc = kv_read_small(st, key, KV_MANIFEST_MAX_JSON, &data, &len);
    memset(out, 0, sizeof *out);
    if (!rc)
        rc = kv_manifest_parse(key, env, data, len, out);
    if (rc)
        kv_manifest_free(out);
    free(data);
    return rc;
}

static int cmp_manifest(const void *a, const void *b)
{
    const kv_manifest *x = a, *y = b;
    return kv_backup_order(x->created_ms, x->id, y->created_ms, y->id);
}

/* A manifest that did not parse: fails the load, or is set aside. */
static int take_bad(kv_catalog *c, const char *key, int rc, int skip_bad)
{
    char **p;
    if (!skip_bad || (rc != KV_EINVAL && rc != KV_ECORRUPT))
        return rc;
    kv_log(KV_LOG_ERROR, "warning: skipping backup: %s", kv_errmsg());
    if (!(p = realloc(c->bad, (c->nbad + 1) * sizeof *p)) || !(p[c->nbad] = strdup(key))) {
        if (p)
            c->bad = p;
        return kv_oom();
    }
    c->bad = p;
    c->nbad++;
    return KV_OK;
}

int kv_catalog_load(kv_store *st, const char *env, int skip_bad, kv_catalog *out)
{
    keys ks;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = list_manifests(st, env, &ks)))
        return rc;
    if (!(out->m = calloc(ks.n + 1, sizeof *out->m))) {
        rc = kv_oom();
        goto out;
    }
    for (size_t i = 0; i < ks.n && !rc; i++) {
        rc = kv_catalog_read(st, env, ks.k[i], &out->m[out->n]);
        if (rc)
            rc = take_bad(out, ks.k[i], rc, skip_bad);
        else
            out->n++;
    }
    if (!rc && out->n)
        qsort(out->m, out->n, sizeof *out->m, cmp_manifest);
out:
    keys_free(&ks);
    if (rc)
        kv_catalog_free(out);
    return rc;
}

void kv_catalog_free(kv_catalog *c)
{
    for (size_t i = 0; i < c->n; i++)
        kv_manifest_free(&c->m[i]);
    for (size_t i = 0; i < c->nbad; i++)
        free(c->bad[i]);
    free(c->m);
    free(c->bad);
    memset(c, 0, sizeof *c);
}

static int find_latest(kv_store *st, const char *env, kv_manifest *out)
{
    kv_index ix;
    int rc = kv_index_load(st, env, &ix);
    if (rc)
        return rc;
    rc = ix.nb ? kv_catalog_read(st, env, ix.b[ix.nb - 1].manifest, out)
               : kv_seterr(KV_ENOTFOUND, "no backups in env '%s'", env);
    kv_index_free(&ix);
    return rc;
}

int kv_backup_find(kv_store *st, const char *env, const char *id, kv_manifest *out)
{
    char date[16], *key;
    int rc;

    memset(out, 0, sizeof *out);
    if (!id || strcmp(id, "latest") == 0)
        return find_latest(st, env, out);
    if ((rc = kv_backup_id_date(id, date)))
        return rc;
    for (int legacy = 0; legacy <= 1; legacy++) {
        if (!(key = kv_layout_manifest_key(env, date, id, legacy)))
            return kv_oom();
        rc = kv_catalog_read(st, env, key, out);
        free(key);
        if (rc != KV_ENOTFOUND)
            return rc;
    }
    return kv_seterr(KV_ENOTFOUND, "backup '%s' not found in env '%s'", id, env);
}

void kv_info_from_manifest(const kv_manifest *m, kvault_backup_info *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", m->id);
    snprintf(out->date, sizeof out->date, "%s", m->date);
    snprintf(out->env, sizeof out->env, "%s", m->env);
    out->started_unix = m->created_ms / 1000;
    out->seconds = m->seconds;
    out->files = m->nfiles;
    out->bytes = kv_manifest_bytes(m);
    out->files_new = m->files_new;
    out->bytes_new = m->bytes_new;
    out->sequence = m->sequence;
}

int kvault_list(kvault *kv, const char *env, kvault_backup_info **out, size_t *count)
{
    kv_index ix;
    int rc;

    if ((rc = kv_env_resolve(env, &env)) || (rc = kv_index_load(kv->st, env, &ix)))
        return rc;
    if (!(*out = calloc(ix.nb + 1, sizeof **out))) {
        rc = kv_oom();
        goto out;
    }
    for (size_t i = 0; i < ix.nb; i++) {
        kvault_backup_info *b = &(*out)[i];
        snprintf(b->id, sizeof b->id, "%s", ix.b[i].id);
        snprintf(b->date, sizeof b->date, "%s", ix.b[i].date);
        snprintf(b->env, sizeof b->env, "%s", env);
        b->started_unix = ix.b[i].created_ms / 1000;
        b->seconds = ix.b[i].seconds;
        b->files = ix.b[i].files;
        b->bytes = ix.b[i].bytes;
        b->files_new = ix.b[i].files_new;
        b->bytes_new = ix.b[i].bytes_new;
        b->sequence = ix.b[i].sequence;
    }
    *count = ix.nb;
out:
    kv_index_free(&ix);
    return rc;
}

/* ---- envs ------------------------------------------------------------------ */

typedef struct env_list {
    kvault_env_info *e;
    size_t n, cap;
} env_list;

static kvault_env_info *env_entry(env_list *l, const char *env, size_t len)
{
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->e[i].env) == len && memcmp(l->e[i].env, env, len) == 0)
            return &l->e[i];
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        kvault_env_info *p = realloc(l->e, cap * sizeof *p);
        if (!p)
            return NULL;
        l->e = p;
        l->cap = cap;
    }
    memset(&l->e[l->n], 0, sizeof *l->e);
    memcpy(l->e[l->n].env, env, len);
    return &l->e[l->n++];
}

/* Counts "<env>/rocksdb/<date>/<id>/manifest.json[.zst]" keys per env. */
static int collect_env(const char *key, const kv_object_info *info, void *payload)
{
    static const char mid[] = "/rocksdb/";
    const char *slash = strchr(key, '/'), *env;
    char name[128], id[64];
    int64_t ms = 0;
    kvault_env_info *e;
    (void)info;
    if (!slash || (size_t)(slash - key) >= sizeof name || strncmp(slash, mid, sizeof mid - 1) != 0)
        return 0;
    memcpy(name, key, (size_t)(slash - key));
    name[slash - key] = '\0';
    if (kv_env_resolve(name, &env) != KV_OK || !kv_layout_manifest_id(key, id))
        return 0;
    if (!(e = env_entry(payload, name, strlen(name))))
        return kv_oom();
    e->backups++;
    kv_backup_id_time_ms(id, &ms);
    if (ms / 1000 > e->latest_unix || (ms / 1000 == e->latest_unix && strcmp(id, e->latest_id) > 0)) {
        snprintf(e->latest_id, sizeof e->latest_id, "%s", id);
        e->latest_unix = ms / 1000;
    }
    return 0;
}

static int cmp_env(const void *a, const void *b)
{
    return strcmp(((const kvault_env_info *)a)->env, ((const kvault_env_info *)b)->env);
}

int kvault_list_envs(kvault *kv, kvault_env_info **out, size_t *count)
{
    env_list l = {0};
    int rc = kv_store_list(kv->st, "", collect_env, &l);
    if (rc) {
        free(l.e);
        return rc;
    }
    if (l.n)
        qsort(l.e, l.n, sizeof *l.e, cmp_env);
    *out = l.e;
    *count = l.n;
    return KV_OK;
}
