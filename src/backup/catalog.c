#include "backup/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/internal.h"
#include "backup/layout.h"
#include "util/err.h"
#include "util/log.h"

#define MAX_MANIFEST_BYTES (64u << 20)

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

static int collect_manifest(const char *key, const kv_object_info *info, void *payload)
{
    static const char suffix[] = "/" KV_MANIFEST_NAME;
    keys *ks = payload;
    size_t n = strlen(key);
    (void)info;
    if (n < sizeof suffix || strcmp(key + n - (sizeof suffix - 1), suffix) != 0)
        return 0;
    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? 2 * ks->cap : 32;
        char **p = realloc(ks->k, cap * sizeof *p);
        if (!p)
            return kv_seterr(KV_ENOMEM, "out of memory listing backups");
        ks->k = p;
        ks->cap = cap;
    }
    if (!(ks->k[ks->n] = strdup(key)))
        return kv_seterr(KV_ENOMEM, "out of memory listing backups");
    ks->n++;
    return 0;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Manifest keys of env in time order (the layout makes key order time order). */
static int list_manifests(kv_store *st, const char *env, keys *out)
{
    char *prefix = kv_layout_env_prefix(env);
    int rc;
    memset(out, 0, sizeof *out);
    if (!prefix)
        return kv_seterr(KV_ENOMEM, "out of memory");
    rc = kv_store_list(st, prefix, collect_manifest, out);
    free(prefix);
    if (rc) {
        keys_free(out);
        return rc;
    }
    if (out->n)
        qsort(out->k, out->n, sizeof *out->k, cmp_key);
    return KV_OK;
}

static int read_object(kv_store *st, const char *key, char **data, size_t *len)
{
    kv_object_info info;
    size_t off = 0, got;
    char *buf;
    int rc;

    if ((rc = kv_store_stat(st, key, &info)))
        return rc;
    if (info.size > MAX_MANIFEST_BYTES)
        return kv_seterr(KV_EINVAL, "manifest '%s' is larger than %u bytes", key, MAX_MANIFEST_BYTES);
    if (!(buf = malloc(info.size + 1)))
        return kv_seterr(KV_ENOMEM, "out of memory reading '%s'", key);
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

static int load_manifest(kv_store *st, const char *key, const char *env, kv_manifest *out)
{
    char *data = NULL;
    size_t len = 0;
    int rc = read_object(st, key, &data, &len);
    memset(out, 0, sizeof *out);
    if (!rc)
        rc = kv_manifest_parse(key, env, data, len, out);
    if (rc)
        kv_manifest_free(out);
    free(data);
    return rc;
}

int kv_catalog_load(kv_store *st, const char *env, int skip_bad, kv_catalog *out)
{
    keys ks;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = list_manifests(st, env, &ks)))
        return rc;
    if (!(out->m = calloc(ks.n + 1, sizeof *out->m))) {
        rc = kv_seterr(KV_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < ks.n; i++) {
        rc = load_manifest(st, ks.k[i], env, &out->m[out->n]);
        if (rc == KV_EINVAL && skip_bad) {
            kv_log(KV_LOG_ERROR, "warning: ignoring backup: %s", kv_errmsg());
            rc = KV_OK;
            continue;
        }
        if (rc)
            goto out;
        out->n++;
    }
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
    free(c->m);
    memset(c, 0, sizeof *c);
}

static int find_latest(kv_store *st, const char *env, kv_manifest *out)
{
    keys ks;
    int rc = list_manifests(st, env, &ks);
    if (rc)
        return rc;
    rc = ks.n ? load_manifest(st, ks.k[ks.n - 1], env, out)
              : kv_seterr(KV_ENOTFOUND, "no backups in env '%s'", env);
    keys_free(&ks);
    return rc;
}

int kv_catalog_find(kv_store *st, const char *env, const char *id, kv_manifest *out)
{
    char date[16], *key;
    int rc;

    memset(out, 0, sizeof *out);
    if (!id || strcmp(id, "latest") == 0)
        return find_latest(st, env, out);
    if ((rc = kv_backup_id_date(id, date)))
        return rc;
    if (!(key = kv_layout_key(env, date, id, KV_MANIFEST_NAME)))
        return kv_seterr(KV_ENOMEM, "out of memory");
    rc = load_manifest(st, key, env, out);
    if (rc == KV_ENOTFOUND)
        rc = kv_seterr(KV_ENOTFOUND, "backup '%s' not found in env '%s' (no '%s')", id, env, key);
    free(key);
    return rc;
}

void kv_info_from_manifest(const kv_manifest *m, kvault_backup_info *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", m->id);
    snprintf(out->date, sizeof out->date, "%s", m->date);
    snprintf(out->env, sizeof out->env, "%s", m->env);
    out->started_unix = m->created_unix;
    out->seconds = m->seconds;
    out->files = m->nfiles;
    out->bytes = kv_manifest_bytes(m);
    out->files_new = m->files_new;
    out->bytes_new = m->bytes_new;
    out->sequence = m->sequence;
}

int kvault_list(kvault *kv, const char *env, kvault_backup_info **out, size_t *count)
{
    kv_catalog c;
    int rc;

    if ((rc = kv_env_resolve(env, &env)) || (rc = kv_catalog_load(kv->st, env, 0, &c)))
        return rc;
    if (!(*out = calloc(c.n + 1, sizeof **out))) {
        rc = kv_seterr(KV_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < c.n; i++)
        kv_info_from_manifest(&c.m[i], &(*out)[i]);
    *count = c.n;
out:
    kv_catalog_free(&c);
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

/* Counts "<env>/rocksdb/<date>/<id>/manifest.json" keys per env. */
static int collect_env(const char *key, const kv_object_info *info, void *payload)
{
    static const char mid[] = "/rocksdb/";
    const char *slash = strchr(key, '/'), *id, *env;
    char name[128], date[16], idbuf[KV_ID_LEN + 1];
    kvault_env_info *e;
    (void)info;
    if (!slash || (size_t)(slash - key) >= sizeof name || strncmp(slash, mid, sizeof mid - 1) != 0)
        return 0;
    memcpy(name, key, (size_t)(slash - key));
    name[slash - key] = '\0';
    id = strrchr(key, '/');
    if (kv_env_resolve(name, &env) != KV_OK || strcmp(id + 1, KV_MANIFEST_NAME) != 0)
        return 0;
    while (id > key && id[-1] != '/')
        id--;
    if (strlen(id) != KV_ID_LEN + 1 + strlen(KV_MANIFEST_NAME))
        return 0;
    memcpy(idbuf, id, KV_ID_LEN);
    idbuf[KV_ID_LEN] = '\0';
    if (!kv_backup_id_valid(idbuf) || kv_backup_id_date(idbuf, date) != KV_OK)
        return 0;
    if (!(e = env_entry(payload, name, strlen(name))))
        return kv_oom();
    e->backups++;
    if (strcmp(idbuf, e->latest_id) > 0) {
        time_t t = 0;
        snprintf(e->latest_id, sizeof e->latest_id, "%s", idbuf);
        kv_backup_id_time(idbuf, &t);
        e->latest_unix = (int64_t)t;
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
