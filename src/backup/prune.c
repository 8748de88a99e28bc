/* Retention: removing old backups and the leftovers of failed attempts.
 *
 * Backups share objects: a later backup references the SST files an earlier
 * one stored, in the earlier one's folder. So the unit of removal is the
 * object, not the folder: an object goes only when no kept manifest names it.
 * A removed backup's manifest goes before its objects, so the backup stops
 * existing first and an interrupted prune leaves an incomplete attempt that
 * the next prune removes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/catalog.h"
#include "backup/internal.h"
#include "backup/layout.h"
#include "util/err.h"
#include "util/log.h"

#define DEFAULT_GRACE_S (24 * 3600)

typedef struct stored {
    char *key;
    uint64_t size;
} stored;

typedef struct plan {
    const kvault_prune_opts *opts;
    const char *env;
    time_t now;
    kv_catalog catalog;
    char *keep;             /* per catalog entry: 1 = kept */
    const char **refs;      /* objects named by kept manifests, sorted */
    size_t nrefs;
    stored *objs;           /* every object under the env's prefix */
    size_t nobjs, capobjs;
} plan;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int check_opts(const kvault_prune_opts *o)
{
    int rc = kv_check_version(o->version, KVAULT_PRUNE_OPTS_VERSION, "kvault_prune_opts");
    if (rc)
        return rc;
    if (o->keep_last < 1)
        return kv_seterr(KV_EINVAL, "kvault_prune_opts.keep_last must be at least 1 (the newest "
                         "backup is always kept), got %d", o->keep_last);
    if (o->keep_days < 0)
        return kv_seterr(KV_EINVAL, "kvault_prune_opts.keep_days must not be negative, got %d",
                         o->keep_days);
    if (o->incomplete_grace_s < 0)
        return kv_seterr(KV_EINVAL, "the grace period for incomplete backups must not be negative");
    return KV_OK;
}

/* Newest keep_last backups, and any younger than keep_days. */
static int choose_kept(plan *p)
{
    size_t n = p->catalog.n;
    if (!(p->keep = calloc(n + 1, 1)))
        return kv_seterr(KV_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int64_t age = (int64_t)p->now - p->catalog.m[i].created_unix;
        int recent = p->opts->keep_days > 0 && age < (int64_t)p->opts->keep_days * 86400;
        p->keep[i] = i + (size_t)p->opts->keep_last >= n || recent;
    }
    return KV_OK;
}

static int index_references(plan *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->catalog.n; i++)
        if (p->keep[i])
            n += p->catalog.m[i].nfiles;
    if (!(p->refs = calloc(n + 1, sizeof *p->refs)))
        return kv_seterr(KV_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->catalog.n; i++)
        for (size_t k = 0; p->keep[i] && k < p->catalog.m[i].nfiles; k++)
            p->refs[p->nrefs++] = p->catalog.m[i].files[k].object;
    qsort(p->refs, p->nrefs, sizeof *p->refs, cmp_str);
    return KV_OK;
}

static int is_referenced(const plan *p, const char *key)
{
    return bsearch(&key, p->refs, p->nrefs, sizeof *p->refs, cmp_str) != NULL;
}

static int collect_object(const char *key, const kv_object_info *info, void *payload)
{
    plan *p = payload;
    if (p->nobjs == p->capobjs) {
        size_t cap = p->capobjs ? 2 * p->capobjs : 256;
        stored *s = realloc(p->objs, cap * sizeof *s);
        if (!s)
            return kv_seterr(KV_ENOMEM, "out of memory listing the store");
        p->objs = s;
        p->capobjs = cap;
    }
    if (!(p->objs[p->nobjs].key = strdup(key)))
        return kv_seterr(KV_ENOMEM, "out of memory listing the store");
    p->objs[p->nobjs++].size = info->size;
    return 0;
}

/* The backup id of "<env>/rocksdb/<date>/<id>/<name>" into id, or 0 when the
 * key is not laid out that way (then prune leaves it alone). */
static int id_of_key(const plan *p, const char *key, char id[64])
{
    const char *rest = key + strlen(p->env) + strlen("/rocksdb/");
    const char *slash = strchr(rest, '/'), *end;
    if (!slash || slash - rest != 10)
        return 0;
    end = strchr(slash + 1, '/');
    if (!end || end - (slash + 1) != KV_ID_LEN || !end[1])
        return 0;
    memcpy(id, slash + 1, KV_ID_LEN);
    id[KV_ID_LEN] = '\0';
    return kv_backup_id_valid(id);
}

/* -1: not in the catalog; else its index. */
static long catalog_index(const plan *p, const char *id)
{
    for (size_t i = 0; i < p->catalog.n; i++)
        if (strcmp(p->catalog.m[i].id, id) == 0)
            return (long)i;
    return -1;
}

/* Whether key goes; *incomplete says it belongs to an attempt that never
 * committed. Manifests are removed separately, before any object. */
static int object_goes(const plan *p, const char *key, int *incomplete)
{
    char id[64];
    time_t made;
    long idx;
    int64_t grace = p->opts->incomplete_grace_s ? p->opts->incomplete_grace_s : DEFAULT_GRACE_S;

    *incomplete = 0;
    if (!id_of_key(p, key, id) || is_referenced(p, key))
        return 0;
    idx = catalog_index(p, id);
    if (idx >= 0)
        return !p->keep[idx];
    /* an attempt without a manifest: maybe a backup still running */
    if (kv_backup_id_time(id, &made) || (int64_t)p->now - (int64_t)made < grace)
        return 0;
    *incomplete = 1;
    return 1;
}

static void plan_free(plan *p)
{
    kv_catalog_free(&p->catalog);
    free(p->keep);
    free(p->refs);
    for (size_t i = 0; i < p->nobjs; i++)
        free(p->objs[i].key);
    free(p->objs);
}

static int remove_manifests(kvault *kv, const plan *p, kvault_prune_report *out)
{
    int rc;
    for (size_t i = 0; i < p->catalog.n; i++) {
        char *key;
        if (p->keep[i]) {
            out->backups_kept++;
            continue;
        }
        if (!(key = kv_layout_key(p->env, p->catalog.m[i].date, p->catalog.m[i].id, KV_MANIFEST_NAME)))
            return kv_seterr(KV_ENOMEM, "out of memory");
        kv_info("prune: removing backup %s", p->catalog.m[i].id);
        rc = p->opts->dry_run ? KV_OK : kv_store_remove(kv->st, key);
        free(key);
        if (rc)
            return rc;
        out->backups_removed++;
    }
    return KV_OK;
}

static int remove_objects(kvault *kv, const plan *p, kvault_prune_report *out)
{
    static const char suffix[] = "/" KV_MANIFEST_NAME;
    for (size_t i = 0; i < p->nobjs; i++) {
        const char *key = p->objs[i].key;
        size_t n = strlen(key);
        int incomplete, rc;
        if (!object_goes(p, key, &incomplete))
            continue;
        /* removed backups' manifests are already gone (or, in a dry run,
         * counted as backups) */
        if (!incomplete && n >= sizeof suffix && strcmp(key + n - (sizeof suffix - 1), suffix) == 0)
            continue;
        kv_debug("prune: removing '%s'", key);
        if (!p->opts->dry_run && (rc = kv_store_remove(kv->st, key)))
            return rc;
        out->objects_removed++;
        out->bytes_removed += p->objs[i].size;
        out->incomplete_removed += (uint64_t)incomplete;
    }
    return KV_OK;
}

int kvault_prune(kvault *kv, const kvault_prune_opts *opts, kvault_prune_report *out)
{
    plan p = {0};
    char *prefix = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!opts)
        return kv_seterr(KV_EINVAL, "kvault_prune needs options saying what to keep "
                         "(kvault_prune_opts.keep_last, .keep_days)");
    p.opts = opts;
    p.now = time(NULL);
    if ((rc = check_opts(opts)) || (rc = kv_env_resolve(opts->env, &p.env)))
        goto out;
    /* a manifest that does not parse may be a newer format's: its references
     * are unknown, so nothing may be removed */
    if ((rc = kv_catalog_load(kv->st, p.env, 0, &p.catalog)) || (rc = choose_kept(&p)) ||
        (rc = index_references(&p)))
        goto out;
    if (!(prefix = kv_layout_env_prefix(p.env))) {
        rc = kv_seterr(KV_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = kv_store_list(kv->st, prefix, collect_object, &p)) ||
        (rc = remove_manifests(kv, &p, out)))
        goto out;
    rc = remove_objects(kv, &p, out);
out:
    free(prefix);
    plan_free(&p);
    return rc;
}
