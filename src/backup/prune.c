/* Retention and garbage collection.
 *
 * Backups share objects: a later backup references the SST files an earlier
 * one stored, in the earlier one's folder. So the unit of removal is the
 * object, not the folder: an object goes only when no kept manifest names it.
 *
 * Removing a backup: a REMOVED marker in its folder, the env index rewritten
 * without it, its manifest removed (from here on it does not exist), then
 * its objects no kept backup references, then the marker. An interrupted
 * prune leaves a folder with a marker and no manifest: the next gc removes
 * what is left of it at once. A folder with neither is an attempt that never
 * committed; its objects are what the next backup resumes from, so they go
 * only once older than the grace period.
 *
 * Both run under the env's exclusive lease (lock.h): no backup runs while
 * they do, and none can reference what they remove. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/catalog.h"
#include "backup/index.h"
#include "backup/internal.h"
#include "backup/layout.h"
#include "backup/lock.h"
#include "util/err.h"
#include "util/log.h"

#define DEFAULT_GRACE_S (24 * 3600)
#define MARKER "REMOVED"

typedef struct stored {
    char *key;
    uint64_t size;
} stored;

typedef struct folder {
    char id[64];
    int committed, damaged, marked, removing;
} folder;

typedef struct gc {
    kvault *kv;
    const char *env;
    char *prefix;           /* "<env>/rocksdb/" */
    int64_t grace_s;
    int dry_run;
    int64_t now;
    kv_catalog catalog;
    char *keep;             /* per catalog entry: 1 = kept (NULL for gc: all) */
    const char **refs;      /* objects named by kept manifests, sorted */
    size_t nrefs;
    stored *objs;           /* every object under the prefix */
    size_t nobjs, capobjs;
    folder *folders;        /* every backup folder seen, sorted by id */
    size_t nfolders;
} gc;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- retention --------------------------------------------------------------- */

typedef struct rule {
    const char *name;
    int count;
    const char *bucket;      /* strftime format of the calendar bucket; NULL = every backup */
} rule;

/* Keeps backups newest first: the newest of each bucket until count buckets
 * were kept, and writes the reason into d. */
static void apply_rule(const rule *r, const kv_catalog *c, kvault_prune_decision *d)
{
    char last[32] = "", cur[32];
    int used = 0;
    for (size_t k = c->n; k-- > 0 && used < r->count;) {
        time_t t = (time_t)(c->m[k].created_ms / 1000);
        struct tm tm;
        size_t n = strlen(d[k].reasons);
        gmtime_r(&t, &tm);
        if (r->bucket) {
            strftime(cur, sizeof cur, r->bucket, &tm);
            if (strcmp(cur, last) == 0)
                continue;
            snprintf(last, sizeof last, "%s", cur);
        }
        used++;
        d[k].keep = 1;
        snprintf(d[k].reasons + n, sizeof d[k].reasons - n, "%s%s %d", n ? ", " : "", r->name,
                 used);
    }
}

static int decide(const kvault_prune_opts *o, const kv_catalog *c, int64_t now,
                  kvault_prune_decision **out)
{
    const rule rules[] = {
        {"last", o->keep_last, NULL},        {"hourly", o->keep_hourly, "%Y%m%d%H"},
        {"daily", o->keep_daily, "%Y%m%d"},  {"weekly", o->keep_weekly, "%G%V"},
        {"monthly", o->keep_monthly, "%Y%m"}, {"yearly", o->keep_yearly, "%Y"},
    };
    kvault_prune_decision *d = calloc(c->n + 1, sizeof *d);
    if (!d)
        return kv_oom();
    for (size_t k = 0; k < c->n; k++) {
        snprintf(d[k].id, sizeof d[k].id, "%s", c->m[k].id);
        d[k].started_unix = c->m[k].created_ms / 1000;
        if (o->keep_days > 0 && now - c->m[k].created_ms / 1000 < (int64_t)o->keep_days * 86400) {
            d[k].keep = 1;
            snprintf(d[k].reasons, sizeof d[k].reasons, "within %d days", o->keep_days);
        }
    }
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
        apply_rule(&rules[i], c, d);
    if (c->n && !d[c->n - 1].keep) {
        d[c->n - 1].keep = 1;
        snprintf(d[c->n - 1].reasons, sizeof d[c->n - 1].reasons, "newest");
    }
    *out = d;
    return KV_OK;
}

static int check_prune_opts(const kvault_prune_opts *o)
{
    const int counts[] = {o->keep_last,   o->keep_days,    o->keep_hourly, o->keep_daily,
                          o->keep_weekly, o->keep_monthly, o->keep_yearly};
    int any = 0, rc = kv_check_version(o->version, KVAULT_PRUNE_OPTS_VERSION, "kvault_prune_opts");
    if (rc)
        return rc;
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        if (counts[i] < 0)
            return kv_seterr(KV_EINVAL, "kvault_prune_opts: the keep counts must not be negative");
        any |= counts[i] > 0;
    }
    if (!any)
        return kv_seterr(KV_EINVAL, "kvault_prune_opts says nothing to keep: set "
                         "kvault_prune_opts.keep_last, keep_days or a calendar rule");
    if (o->grace_s < KVAULT_GRACE_NONE)
        return kv_seterr(KV_EINVAL, "kvault_prune_opts.grace_s must be seconds, 0 (the default) "
                         "or KVAULT_GRACE_NONE");
    return KV_OK;
}

/* ---- what the store holds ----------------------------------------------------- */

static int collect_object(const char *key, const kv_object_info *info, void *payload)
{
    gc *g = payload;
    if (g->nobjs == g->capobjs) {
        size_t cap = g->capobjs ? 2 * g->capobjs : 256;
        stored *s = realloc(g->objs, cap * sizeof *s);
        if (!s)
            return kv_oom();
        g->objs = s;
        g->capobjs = cap;
    }
    if (!(g->objs[g->nobjs].key = strdup(key)))
        return kv_oom();
    g->objs[g->nobjs++].size = info->size;
    return 0;
}

/* The backup id of "<env>/rocksdb/<date>/<id>/<rest>" into id, *rest to the
 * rest; 0 when key is not laid out that way (then gc leaves it alone). */
static int id_of_key(const gc *g, const char *key, char id[64], const char **rest)
{
    const char *p, *slash, *end;
    size_t n = strlen(g->prefix);
    if (strncmp(key, g->prefix, n) != 0)
        return 0;
    p = key + n;
    slash = strchr(p, '/');
    if (!slash || slash - p != 10)
        return 0;
    end = strchr(slash + 1, '/');
    if (!end || !end[1] || (size_t)(end - (slash + 1)) >= 64)
        return 0;
    memcpy(id, slash + 1, (size_t)(end - (slash + 1)));
    id[end - (slash + 1)] = '\0';
    *rest = end + 1;
    return kv_backup_id_valid(id);
}

static int cmp_folder(const void *a, const void *b)
{
    return strcmp(((const folder *)a)->id, ((const folder *)b)->id);
}

static folder *find_folder(const gc *g, const char *id)
{
    folder key;
    snprintf(key.id, sizeof key.id, "%s", id);
    return bsearch(&key, g->folders, g->nfolders, sizeof key, cmp_folder);
}

/* Every backup folder of the listing and what it holds. */
static int map_folders(gc *g)
{
    char id[64];
    const char *rest;
    size_t k = 0;
    if (!(g->folders = calloc(g->nobjs + 1, sizeof *g->folders)))
        return kv_oom();
    for (size_t i = 0; i < g->nobjs; i++)
        if (id_of_key(g, g->objs[i].key, id, &rest))
            snprintf(g->folders[g->nfolders++].id, sizeof id, "%s", id);
    if (g->nfolders)
        qsort(g->folders, g->nfolders, sizeof *g->folders, cmp_folder);
    for (size_t i = 1; i < g->nfolders; i++)
        if (strcmp(g->folders[i].id, g->folders[k].id) != 0)
            g->folders[++k] = g->folders[i];
    g->nfolders = g->nfolders ? k + 1 : 0;
    for (size_t i = 0; i < g->nobjs; i++) {
        folder *f;
        if (!id_of_key(g, g->objs[i].key, id, &rest) || !(f = find_folder(g, id)))
            continue;
        f->marked |= strcmp(rest, MARKER) == 0;
        f->committed |= kv_layout_manifest_id(g->objs[i].key, id);
    }
    for (size_t i = 0; i < g->catalog.nbad; i++) {
        folder *f;
        if (kv_layout_manifest_id(g->catalog.bad[i], id) && (f = find_folder(g, id)))
            f->damaged = 1;
    }
    for (size_t i = 0; g->keep && i < g->catalog.n; i++) {
        folder *f = g->keep[i] ? NULL : find_folder(g, g->catalog.m[i].id);
        if (f)
            f->removing = 1;
    }
    return KV_OK;
}

static int index_references(gc *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->catalog.n; i++)
        if (!g->keep || g->keep[i])
            n += g->catalog.m[i].nfiles;
    if (!(g->refs = calloc(n + 1, sizeof *g->refs)))
        return kv_oom();
    for (size_t i = 0; i < g->catalog.n; i++)
        for (size_t k = 0; (!g->keep || g->keep[i]) && k < g->catalog.m[i].nfiles; k++)
            g->refs[g->nrefs++] = g->catalog.m[i].files[k].object;
    qsort(g->refs, g->nrefs, sizeof *g->refs, cmp_str);
    return KV_OK;
}

static int is_referenced(const gc *g, const char *key)
{
    return bsearch(&key, g->refs, g->nrefs, sizeof *g->refs, cmp_str) != NULL;
}

/* ---- removing ----------------------------------------------------------------- */

/* An attempt's age is its id's: when the backup that made it started (no
 * backup runs while gc holds the exclusive lease, so none is still adding
 * to it). */
static int old_enough(const gc *g, const char *id)
{
    int64_t made;
    return kv_backup_id_time_ms(id, &made) == KV_OK && g->now - made / 1000 >= g->grace_s;
}

/* Whether an object goes; *incomplete: it belongs to an attempt that never
 * committed. Manifests and markers are handled on their own. */
static int object_goes(const gc *g, const stored *s, int *incomplete)
{
    char id[64];
    const char *rest;
    folder *f;
    *incomplete = 0;
    if (!id_of_key(g, s->key, id, &rest) || is_referenced(g, s->key) ||
        kv_layout_manifest_id(s->key, id) || strcmp(rest, MARKER) == 0 || !(f = find_folder(g, id)))
        return 0;
    if (f->damaged)
        return 0; /* what its manifest references is unknown */
    if (f->marked || f->removing)
        return 1;
    if (!old_enough(g, id))
        return 0;
    *incomplete = !f->committed;
    return 1;
}

static int remove_key(const gc *g, const char *key)
{
    kv_debug("removing '%s'", key);
    return g->dry_run ? KV_OK : kv_store_remove(g->kv->st, key);
}

static int remove_objects(gc *g, kvault_gc_report *out)
{
    for (size_t i = 0; i < g->nobjs; i++) {
        int incomplete, rc;
        if (!object_goes(g, &g->objs[i], &incomplete))
            continue;
        if ((rc = remove_key(g, g->objs[i].key)))
            return rc;
        out->objects_removed++;
        out->bytes_removed += g->objs[i].size;
        out->incomplete_removed += (uint64_t)incomplete;
    }
    return KV_OK;
}

/* Markers go last: until then a later gc knows their folders are removed. */
static int remove_markers(gc *g)
{
    char id[64];
    const char *rest;
    int rc = KV_OK;
    for (size_t i = 0; i < g->nobjs && !rc; i++)
        if (id_of_key(g, g->objs[i].key, id, &rest) && strcmp(rest, MARKER) == 0)
            rc = remove_key(g, g->objs[i].key);
    return rc;
}

static int marker_key(const gc *g, const kv_manifest *m, char **key)
{
    *key = kv_layout_key(g->env, m->date, m->id, MARKER);
    return *key ? KV_OK : kv_oom();
}

/* Marks, unindexes and removes the manifests of the backups not kept. */
static int remove_backups(gc *g, kvault_prune_report *out)
{
    kv_manifest *kept = calloc(g->catalog.n + 1, sizeof *kept);
    size_t nkept = 0;
    int rc = kept ? KV_OK : kv_oom();
    for (size_t i = 0; i < g->catalog.n && !rc; i++) {
        char *key = NULL;
        if (g->keep[i]) {
            kept[nkept++] = g->catalog.m[i]; /* shallow: the catalog owns it */
            continue;
        }
        out->backups_removed++;
        kv_info("prune: removing backup %s", g->catalog.m[i].id);
        if (!g->dry_run && !(rc = marker_key(g, &g->catalog.m[i], &key)))
            rc = kv_store_put(g->kv->st, key, "", 0, &(kv_digest){0});
        free(key);
    }
    if (!rc && !g->dry_run)
        rc = kv_index_write_from(g->kv->st, g->env, kept, nkept);
    for (size_t i = 0; i < g->catalog.n && !rc; i++) {
        char *key;
        if (g->keep[i])
            continue;
        if (!(key = kv_layout_manifest_key(g->env, g->catalog.m[i].date, g->catalog.m[i].id,
                                           g->catalog.m[i].version < 3)))
            return free(kept), kv_oom();
        rc = remove_key(g, key);
        free(key);
    }
    out->backups_kept = nkept;
    free(kept);
    return rc;
}

/* ---- the whole ------------------------------------------------------------------ */

static void gc_free(gc *g)
{
    kv_catalog_free(&g->catalog);
    free(g->keep);
    free(g->refs);
    for (size_t i = 0; i < g->nobjs; i++)
        free(g->objs[i].key);
    free(g->objs);
    free(g->folders);
    free(g->prefix);
}

/* Under the exclusive lease: every manifest and every object of the env. A
 * manifest of a newer kvault fails it (its references are unknown); a
 * damaged one is named and left in place. */
static int load(gc *g, kvault *kv, const char *env, int64_t grace_s, int dry_run)
{
    memset(g, 0, sizeof *g);
    g->kv = kv;
    g->env = env;
    g->dry_run = dry_run;
    g->grace_s = grace_s == 0 ? DEFAULT_GRACE_S : grace_s == KVAULT_GRACE_NONE ? 0 : grace_s;
    g->now = (int64_t)time(NULL);
    if (!(g->prefix = kv_layout_env_prefix(env)))
        return kv_oom();
    return kv_catalog_load(kv->st, env, 1, &g->catalog);
}

static int in_catalog(const gc *g, const char *id)
{
    for (size_t i = 0; i < g->catalog.n; i++)
        if (strcmp(g->catalog.m[i].id, id) == 0)
            return 1;
    return 0;
}

static int collect_journal(const char *key, const kv_object_info *info, void *payload)
{
    char id[64], ***keys = payload;
    size_t n = 0;
    char **p;
    (void)info;
    if (!kv_index_attempt_id(key, id))
        return 0;
    while (*keys && (*keys)[n])
        n++;
    if (!(p = realloc(*keys, (n + 2) * sizeof *p)) || !(p[n] = strdup(key))) {
        if (p)
            *keys = p;
        return kv_oom();
    }
    p[n + 1] = NULL;
    *keys = p;
    return 0;
}

/* Journals of attempts that committed since, or that are past the grace
 * period (their objects go with them). */
static int sweep_journals(gc *g)
{
    char *prefix = kv_layout_index_prefix(g->env), **keys = NULL, id[64];
    int rc = prefix ? kv_store_list(g->kv->st, prefix, collect_journal, &keys) : kv_oom();
    for (size_t i = 0; keys && keys[i]; i++) {
        if (!rc && kv_index_attempt_id(keys[i], id) && (in_catalog(g, id) || old_enough(g, id)))
            rc = remove_key(g, keys[i]);
        free(keys[i]);
    }
    free(keys);
    free(prefix);
    return rc;
}

static int report_garbage(const kv_garbage_item *item, void *payload)
{
    const gc *g = payload;
    kv_info("%s %s '%s' (for '%s', %llu bytes)", g->dry_run ? "would remove" : "removed",
            item->kind, item->name, item->key, (unsigned long long)item->size);
    return 0;
}

/* The store's own leftovers under the env (unfinished multipart uploads,
 * temporary files): no backup runs while the exclusive lease is held, so
 * they belong to writers that died; the grace period still applies. */
static int sweep_garbage(gc *g, kvault_gc_report *out)
{
    char *prefix;
    int rc;
    if (asprintf(&prefix, "%s/", g->env) < 0)
        return kv_oom();
    rc = kv_store_garbage(g->kv->st, prefix, g->now - g->grace_s, g->dry_run, report_garbage, g,
                          &out->garbage_removed);
    free(prefix);
    return rc;
}

static int sweep(gc *g, kvault_gc_report *out)
{
    int rc = kv_store_list(g->kv->st, g->prefix, collect_object, g);
    if (!rc && !(rc = map_folders(g)) && !(rc = index_references(g)) &&
        !(rc = remove_objects(g, out)) && !(rc = remove_markers(g)) && !(rc = sweep_journals(g)))
        rc = sweep_garbage(g, out);
    return rc;
}

static int take_lease(kvault *kv, const char *env, const char *op, kv_lock **lock)
{
    kv_lock_opts lo = {.env = env, .op = op, .exclusive = 1, .wait_s = kv->lock_wait_s,
                       .stale_s = kv->lock_stale_s};
    return kv_lock_acquire(kv->st, &lo, lock);
}

int kvault_prune(kvault *kv, const kvault_prune_opts *opts, kvault_prune_report *out)
{
    kvault_gc_report gr = {0};
    kv_lock *lock = NULL;
    const char *env;
    gc g = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (!opts)
        return kv_seterr(KV_EINVAL, "kvault_prune needs options saying what to keep "
                         "(kvault_prune_opts.keep_last, keep_days or a calendar rule)");
    if ((rc = check_prune_opts(opts)) || (rc = kv_env_resolve(opts->env, &env)) ||
        (rc = take_lease(kv, env, "prune", &lock)) ||
        (rc = load(&g, kv, env, opts->grace_s, opts->dry_run)) ||
        (rc = decide(opts, &g.catalog, g.now, &out->decisions)))
        goto out;
    out->ndecisions = g.catalog.n;
    out->backups_damaged = g.catalog.nbad;
    if (!(g.keep = calloc(g.catalog.n + 1, 1))) {
        rc = kv_oom();
        goto out;
    }
    for (size_t i = 0; i < g.catalog.n; i++)
        g.keep[i] = (char)out->decisions[i].keep;
    if ((rc = remove_backups(&g, out)) || (rc = sweep(&g, &gr)))
        goto out;
    out->objects_removed = gr.objects_removed;
    out->bytes_removed = gr.bytes_removed;
    out->incomplete_removed = gr.incomplete_removed;
    out->garbage_removed = gr.garbage_removed;
out:
    gc_free(&g);
    kv_lock_release(lock);
    if (rc) {
        free(out->decisions);
        out->decisions = NULL;
        out->ndecisions = 0;
    }
    return rc;
}

int kvault_gc(kvault *kv, const kvault_gc_opts *opts, kvault_gc_report *out)
{
    static const kvault_gc_opts defaults = KVAULT_GC_OPTS_INIT;
    kv_lock *lock = NULL;
    const char *env;
    gc g = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (!opts)
        opts = &defaults;
    if ((rc = kv_check_version(opts->version, KVAULT_GC_OPTS_VERSION, "kvault_gc_opts")))
        return rc;
    if (opts->grace_s < KVAULT_GRACE_NONE)
        return kv_seterr(KV_EINVAL, "kvault_gc_opts.grace_s must be seconds, 0 (the default) or "
                         "KVAULT_GRACE_NONE");
    if ((rc = kv_env_resolve(opts->env, &env)) || (rc = take_lease(kv, env, "gc", &lock)) ||
        (rc = load(&g, kv, env, opts->grace_s, opts->dry_run)))
        goto out;
    if (!opts->dry_run && (rc = kv_index_write_from(kv->st, env, g.catalog.m, g.catalog.n)))
        goto out;
    rc = sweep(&g, out);
out:
    gc_free(&g);
    kv_lock_release(lock);
    return rc;
}
