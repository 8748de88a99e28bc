/* The in-memory store of mem_store.h: a backend through the public
 * contract (kvault/sys/store.h), registered at run time. */
#include "mem_store.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"
#include "util/crc32c.h"
#include "util/err.h"

enum { LIST_PAGE = 256 }; /* objects a listing copies per turn of the lock */

typedef struct mem_obj {
    char *key; /* full: the store's root, then its key */
    unsigned char *data;
    uint64_t size;
    int64_t mtime;
    uint64_t version;
} mem_obj;

/* What every store of one name shares, for the rest of the process. */
typedef struct mem_space {
    struct mem_space *next;
    char *name;
    pthread_mutex_t lock; /* guards everything below */
    mem_obj *objs;        /* sorted by key (strcmp) */
    size_t nobjs, cap;
    kv_upload *uploads; /* begun, not yet completed, aborted or taken as garbage */
    uint64_t serial;    /* the last object version or upload number handed out */
    kvt_mem_counts counts;
} mem_space;

typedef struct mem_store {
    kv_store base;
    mem_space *sp;
    char *root; /* "" or "prefix/" */
} mem_store;

struct kv_upload {
    kv_upload *next; /* in sp->uploads while it is there */
    mem_store *ms;
    char *key; /* full */
    uint64_t id, total, part_size;
    uint32_t nparts;
    unsigned char **parts; /* nparts of them; NULL until stored */
    int64_t begun;
    int gone; /* taken as garbage: its parts are dropped, complete fails */
};

static pthread_mutex_t spaces_lock = PTHREAD_MUTEX_INITIALIZER;
static mem_space *spaces;

/* ---- names and counts ------------------------------------------------------- */

static mem_space *space_find(const char *name) /* spaces_lock held */
{
    mem_space *sp = spaces;
    while (sp && strcmp(sp->name, name) != 0)
        sp = sp->next;
    return sp;
}

static mem_space *space_new(const char *name)
{
    mem_space *sp = calloc(1, sizeof *sp);
    if (sp && !(sp->name = strdup(name))) {
        free(sp);
        return NULL;
    }
    if (sp)
        pthread_mutex_init(&sp->lock, NULL);
    return sp;
}

/* The space of name, made at its first use. */
static int space_get(const char *name, mem_space **out)
{
    mem_space *sp;
    pthread_mutex_lock(&spaces_lock);
    sp = space_find(name);
    if (!sp && (sp = space_new(name))) {
        sp->next = spaces;
        spaces = sp;
    }
    pthread_mutex_unlock(&spaces_lock);
    if (!sp)
        return kv_oom();
    *out = sp;
    return KV_OK;
}

/* The space of name if a store of it was opened. */
static int space_named(const char *name, mem_space **out)
{
    mem_space *sp;
    pthread_mutex_lock(&spaces_lock);
    sp = space_find(name);
    pthread_mutex_unlock(&spaces_lock);
    if (!sp)
        return kv_seterr(KV_ENOTFOUND, "mem://%s: no store of that name was opened", name);
    *out = sp;
    return KV_OK;
}

static void tally(mem_space *sp, uint64_t *counter)
{
    pthread_mutex_lock(&sp->lock);
    ++*counter;
    pthread_mutex_unlock(&sp->lock);
}

int kvt_mem_stats(const char *name, kvt_mem_counts *out)
{
    mem_space *sp;
    int rc = space_named(name, &sp);
    if (rc)
        return rc;
    pthread_mutex_lock(&sp->lock);
    *out = sp->counts;
    pthread_mutex_unlock(&sp->lock);
    return KV_OK;
}

int kvt_mem_reset(const char *name)
{
    mem_space *sp;
    int rc = space_named(name, &sp);
    if (rc)
        return rc;
    pthread_mutex_lock(&sp->lock);
    memset(&sp->counts, 0, sizeof sp->counts);
    pthread_mutex_unlock(&sp->lock);
    return KV_OK;
}

/* ---- objects ------------------------------------------------------------------ */

/* The store's root, then key: malloc'd. */
static int full_key(const mem_store *ms, const char *key, char **out)
{
    size_t n = strlen(ms->root) + strlen(key) + 1;
    char *k = malloc(n);
    if (!k)
        return kv_oom();
    snprintf(k, n, "%s%s", ms->root, key);
    *out = k;
    return KV_OK;
}

static int bytes_dup(const void *buf, size_t len, unsigned char **out)
{
    unsigned char *p = malloc(len ? len : 1);
    if (!p)
        return kv_oom();
    if (len)
        memcpy(p, buf, len);
    *out = p;
    return KV_OK;
}

/* The index of key in sp->objs, or where it would go; *found says which. */
static size_t obj_find(const mem_space *sp, const char *key, int *found)
{
    size_t lo = 0, hi = sp->nobjs;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(sp->objs[mid].key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int objs_grow(mem_space *sp)
{
    size_t cap = sp->cap ? 2 * sp->cap : 64;
    mem_obj *v = realloc(sp->objs, cap * sizeof *v);
    if (!v)
        return kv_oom();
    sp->objs = v;
    sp->cap = cap;
    return KV_OK;
}

/* Makes data the object at key, replacing what was there; takes both over
 * on success. sp->lock held. */
static int obj_store(mem_space *sp, char *key, unsigned char *data, uint64_t size)
{
    int found, rc = KV_OK;
    size_t i = obj_find(sp, key, &found);
    mem_obj *o;
    if (!found && sp->nobjs == sp->cap && (rc = objs_grow(sp)))
        return rc;
    o = sp->objs + i;
    if (found) {
        free(key);
        free(o->data);
    } else {
        memmove(o + 1, o, (sp->nobjs++ - i) * sizeof *o);
        o->key = key;
    }
    o->data = data;
    o->size = size;
    o->mtime = time(NULL);
    o->version = ++sp->serial;
    return KV_OK;
}

static void obj_info(const mem_obj *o, kv_object_info *out)
{
    out->size = o->size;
    out->mtime_unix = o->mtime;
    snprintf(out->etag, sizeof out->etag, "\"mem-%llu\"", (unsigned long long)o->version);
}

/* Calls fn with the object at key, under the lock; KV_ENOTFOUND naming it
 * when there is none. */
static int with_obj(mem_store *ms, const char *key, void (*fn)(const mem_obj *o, void *arg),
                    void *arg)
{
    char *full = NULL;
    int found = 0, rc = full_key(ms, key, &full);
    if (rc)
        return rc;
    pthread_mutex_lock(&ms->sp->lock);
    size_t i = obj_find(ms->sp, full, &found);
    if (found)
        fn(&ms->sp->objs[i], arg);
    pthread_mutex_unlock(&ms->sp->lock);
    if (!found)
        rc = kv_seterr(KV_ENOTFOUND, "mem://%s/%s: no such object", ms->sp->name, full);
    free(full);
    return rc;
}

/* ---- digests ------------------------------------------------------------------- */

static int digest_is(const EVP_MD *md, const void *buf, size_t len, const unsigned char *want)
{
    unsigned char got[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    return EVP_Digest(buf, len, got, &n, md, NULL) && memcmp(got, want, n) == 0;
}

/* Counts what was sent with buf and checks it as a server that verifies
 * what it is sent: KV_ECORRUPT when a digest does not match the data. part
 * is 0 for a put. */
static int digest_check(mem_store *ms, const char *full, uint32_t part, const void *buf,
                        size_t len, const kv_digest *d)
{
    unsigned caps = ms->base.ops->caps;
    mem_space *sp = ms->sp;
    int wrong = d && (d->crc32c != kv_crc32c(0, buf, len) ||
                      (d->has_md5 && !digest_is(EVP_md5(), buf, len, d->md5)) ||
                      (d->has_sha256 && !digest_is(EVP_sha256(), buf, len, d->sha256)));
    int unasked = d && (!d->has_md5 != !(caps & KV_CAP_DIGEST_MD5) ||
                        !d->has_sha256 != !(caps & KV_CAP_DIGEST_SHA256));
    pthread_mutex_lock(&sp->lock);
    sp->counts.bytes_put += len;
    sp->counts.no_digests += !d;
    sp->counts.digests += !!d;
    sp->counts.bad_digests += wrong || unasked;
    pthread_mutex_unlock(&sp->lock);
    if (!wrong)
        return KV_OK;
    return part ? kv_seterr(KV_ECORRUPT, "mem://%s/%s: part %u: a digest does not match the data",
                            sp->name, full, part)
                : kv_seterr(KV_ECORRUPT, "mem://%s/%s: a digest does not match the data",
                            sp->name, full);
}

/* ---- the store ------------------------------------------------------------------- */

static int mem_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    mem_store *ms = calloc(1, sizeof *ms);
    size_t n = strlen(url->path) + 2;
    int rc = ms && (ms->root = malloc(n)) ? space_get(url->host, &ms->sp) : kv_oom();
    (void)opts;
    if (rc) {
        if (ms)
            free(ms->root);
        free(ms);
        return rc;
    }
    snprintf(ms->root, n, "%s%s", url->path, *url->path ? "/" : "");
    *out = &ms->base;
    return KV_OK;
}

static void mem_close(kv_store *st)
{
    mem_store *ms = (mem_store *)st;
    free(ms->root);
    free(ms);
}

static int mem_put(kv_store *st, const char *key, const void *buf, size_t len,
                   const kv_digest *d)
{
    mem_store *ms = (mem_store *)st;
    unsigned char *copy = NULL;
    char *full = NULL;
    int rc;
    tally(ms->sp, &ms->sp->counts.puts);
    rc = full_key(ms, key, &full);
    if (!rc)
        rc = digest_check(ms, full, 0, buf, len, d);
    if (!rc)
        rc = bytes_dup(buf, len, &copy);
    if (!rc) {
        pthread_mutex_lock(&ms->sp->lock);
        rc = obj_store(ms->sp, full, copy, len);
        pthread_mutex_unlock(&ms->sp->lock);
    }
    if (rc) {
        free(full);
        free(copy);
    }
    return rc;
}

typedef struct mem_read {
    uint64_t off;
    size_t len, *got;
    void *buf;
} mem_read;

static void read_obj(const mem_obj *o, void *arg)
{
    mem_read *r = arg;
    size_t n = 0;
    if (r->off < o->size)
        n = o->size - r->off < r->len ? (size_t)(o->size - r->off) : r->len;
    if (n)
        memcpy(r->buf, o->data + r->off, n);
    *r->got = n;
}

static int mem_get(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
                   size_t *got)
{
    mem_store *ms = (mem_store *)st;
    mem_read r = {.off = off, .len = len, .got = got, .buf = buf};
    int rc;
    tally(ms->sp, &ms->sp->counts.gets);
    rc = with_obj(ms, key, read_obj, &r);
    if (rc == KV_OK) {
        pthread_mutex_lock(&ms->sp->lock);
        ms->sp->counts.bytes_got += *got;
        pthread_mutex_unlock(&ms->sp->lock);
    }
    return rc;
}

static void stat_obj(const mem_obj *o, void *arg)
{
    obj_info(o, arg);
}

static int mem_stat(kv_store *st, const char *key, kv_object_info *out)
{
    mem_store *ms = (mem_store *)st;
    tally(ms->sp, &ms->sp->counts.stats);
    return with_obj(ms, key, stat_obj, out);
}

static int mem_remove(kv_store *st, const char *key)
{
    mem_store *ms = (mem_store *)st;
    mem_space *sp = ms->sp;
    char *full = NULL;
    int found, rc;
    tally(sp, &sp->counts.removes);
    rc = full_key(ms, key, &full);
    if (rc)
        return rc;
    pthread_mutex_lock(&sp->lock);
    size_t i = obj_find(sp, full, &found);
    if (found) {
        free(sp->objs[i].key);
        free(sp->objs[i].data);
        memmove(&sp->objs[i], &sp->objs[i + 1], (--sp->nobjs - i) * sizeof *sp->objs);
    }
    pthread_mutex_unlock(&sp->lock);
    free(full);
    return KV_OK;
}

/* ---- listing: a page of copies at a time, the callback called unlocked -------- */

typedef struct mem_page {
    char *keys[LIST_PAGE];
    kv_object_info info[LIST_PAGE];
    size_t n;
} mem_page;

static void page_clear(mem_page *pg)
{
    while (pg->n)
        free(pg->keys[--pg->n]);
}

/* The objects under prefix (full) after the key after (NULL: from the
 * first), at most a page of them. */
static int page_fill(mem_space *sp, const char *prefix, const char *after, mem_page *pg)
{
    size_t plen = strlen(prefix), i;
    int found, rc = KV_OK;
    pthread_mutex_lock(&sp->lock);
    i = obj_find(sp, after ? after : prefix, &found);
    i += after && found;
    for (; i < sp->nobjs && pg->n < LIST_PAGE; i++) {
        if (strncmp(sp->objs[i].key, prefix, plen) != 0)
            break;
        if (!(pg->keys[pg->n] = strdup(sp->objs[i].key))) {
            rc = kv_oom();
            break;
        }
        obj_info(&sp->objs[i], &pg->info[pg->n++]);
    }
    pthread_mutex_unlock(&sp->lock);
    return rc;
}

static int mem_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    mem_store *ms = (mem_store *)st;
    size_t rlen = strlen(ms->root);
    mem_page *pg = calloc(1, sizeof *pg);
    char *full = NULL, *after = NULL;
    int more = 1, rc;
    tally(ms->sp, &ms->sp->counts.lists);
    rc = pg ? full_key(ms, prefix, &full) : kv_oom();
    while (!rc && more) {
        rc = page_fill(ms->sp, full, after, pg);
        for (size_t i = 0; !rc && i < pg->n; i++)
            rc = cb(pg->keys[i] + rlen, &pg->info[i], payload);
        more = pg->n == LIST_PAGE;
        free(after);
        after = pg->n ? pg->keys[--pg->n] : NULL; /* where the next page starts */
        page_clear(pg);
    }
    free(after);
    free(full);
    free(pg);
    return rc;
}

/* ---- multipart ------------------------------------------------------------------ */

static uint64_t part_len(const kv_upload *up, uint32_t n)
{
    return n < up->nparts ? up->part_size : up->total - (uint64_t)(up->nparts - 1) * up->part_size;
}

static void parts_free(kv_upload *up)
{
    for (uint32_t i = 0; up->parts && i < up->nparts; i++) {
        free(up->parts[i]);
        up->parts[i] = NULL;
    }
}

static void upload_free(kv_upload *up)
{
    if (!up)
        return;
    parts_free(up);
    free(up->parts);
    free(up->key);
    free(up);
}

/* Takes up out of sp->uploads; sp->lock held. */
static void upload_unlink(mem_space *sp, kv_upload *up)
{
    for (kv_upload **p = &sp->uploads; *p; p = &(*p)->next)
        if (*p == up) {
            *p = up->next;
            up->next = NULL;
            return;
        }
}

static int no_upload(const kv_upload *up)
{
    return kv_seterr(KV_ENOTFOUND, "mem://%s/%s: no such upload (%llu): it was removed",
                     up->ms->sp->name, up->key, (unsigned long long)up->id);
}

/* The plan's part count; KV_EINVAL when it is beyond the table's limits. */
static int plan_check(const mem_store *ms, const char *full, uint64_t total, uint64_t ps,
                      uint32_t *nparts)
{
    const kv_store_ops *ops = ms->base.ops;
    uint64_t n = total && ps ? (total + ps - 1) / ps : 1;
    if (!ps || (ops->max_part && ps > ops->max_part) || (ops->max_parts && n > ops->max_parts) ||
        (n > 1 && ps < ops->min_part) || n > UINT32_MAX)
        return kv_seterr(KV_EINVAL, "mem://%s/%s: %llu parts of %llu bytes (%llu in all) are "
                         "beyond the store's limits", ms->sp->name, full,
                         (unsigned long long)n, (unsigned long long)ps, (unsigned long long)total);
    *nparts = (uint32_t)n;
    return KV_OK;
}

static int mem_begin(kv_store *st, const char *key, uint64_t total, uint64_t ps,
                     kv_upload **out)
{
    mem_store *ms = (mem_store *)st;
    mem_space *sp = ms->sp;
    kv_upload *up = calloc(1, sizeof *up);
    int rc = up ? full_key(ms, key, &up->key) : kv_oom();
    tally(sp, &sp->counts.begins);
    if (!rc)
        rc = plan_check(ms, up->key, total, ps, &up->nparts);
    if (!rc && !(up->parts = calloc(up->nparts, sizeof *up->parts)))
        rc = kv_oom();
    if (rc) {
        upload_free(up);
        return rc;
    }
    up->ms = ms;
    up->total = total;
    up->part_size = ps;
    up->begun = time(NULL);
    pthread_mutex_lock(&sp->lock);
    up->id = ++sp->serial;
    up->next = sp->uploads;
    sp->uploads = up;
    pthread_mutex_unlock(&sp->lock);
    *out = up;
    return KV_OK;
}

/* KV_EINVAL for a part that is not the one the plan has at n. */
static int part_check(const kv_upload *up, uint32_t n, uint64_t off, size_t len)
{
    if (n >= 1 && n <= up->nparts && off == (uint64_t)(n - 1) * up->part_size &&
        len == part_len(up, n))
        return KV_OK;
    return kv_seterr(KV_EINVAL, "mem://%s/%s: part %u (%zu bytes at %llu) is not in the plan "
                     "(%u parts of %llu bytes, %llu in all)", up->ms->sp->name, up->key, n, len,
                     (unsigned long long)off, up->nparts, (unsigned long long)up->part_size,
                     (unsigned long long)up->total);
}

static int mem_part(kv_upload *up, uint32_t n, uint64_t off, const void *buf, size_t len,
                    const kv_digest *d)
{
    mem_space *sp = up->ms->sp;
    unsigned char *copy = NULL;
    int rc;
    tally(sp, &sp->counts.parts);
    rc = part_check(up, n, off, len);
    if (!rc)
        rc = digest_check(up->ms, up->key, n, buf, len, d);
    if (!rc)
        rc = bytes_dup(buf, len, &copy);
    if (!rc) {
        pthread_mutex_lock(&sp->lock);
        if (up->gone) {
            rc = no_upload(up);
        } else {
            free(up->parts[n - 1]); /* a repeat replaces the part */
            up->parts[n - 1] = copy;
            copy = NULL;
        }
        pthread_mutex_unlock(&sp->lock);
    }
    free(copy);
    return rc;
}

/* Joins the parts into the object at the upload's key (which it takes
 * over) and takes the upload out of the list; sp->lock held. */
static int upload_commit(kv_upload *up)
{
    mem_space *sp = up->ms->sp;
    unsigned char *data;
    int rc;
    for (uint32_t i = 0; i < up->nparts; i++)
        if (!up->parts[i])
            return kv_seterr(KV_EINVAL, "mem://%s/%s: part %u of %u was never uploaded", sp->name,
                             up->key, i + 1, up->nparts);
    if (!(data = malloc(up->total ? up->total : 1)))
        return kv_oom();
    for (uint32_t i = 0; i < up->nparts; i++)
        memcpy(data + (uint64_t)i * up->part_size, up->parts[i], part_len(up, i + 1));
    if ((rc = obj_store(sp, up->key, data, up->total))) {
        free(data);
        return rc;
    }
    up->key = NULL;
    upload_unlink(sp, up);
    return KV_OK;
}

/* Nothing is visible before this; on failure the upload stays as it was,
 * so a repeat can still complete it. */
static int mem_complete(kv_upload *up)
{
    mem_space *sp = up->ms->sp;
    int rc;
    tally(sp, &sp->counts.completes);
    pthread_mutex_lock(&sp->lock);
    rc = up->gone ? no_upload(up) : upload_commit(up);
    pthread_mutex_unlock(&sp->lock);
    if (!rc)
        upload_free(up);
    return rc;
}

static void mem_abort(kv_upload *up)
{
    mem_space *sp = up->ms->sp;
    tally(sp, &sp->counts.aborts);
    pthread_mutex_lock(&sp->lock);
    upload_unlink(sp, up);
    pthread_mutex_unlock(&sp->lock);
    upload_free(up);
}

/* ---- garbage: uploads begun and never completed nor aborted ------------------- */

typedef struct mem_leftover {
    uint64_t id, size;
    int64_t begun;
    char *key; /* relative to the store's root */
} mem_leftover;

typedef struct mem_drop {
    mem_space *sp;
    uint64_t id;
} mem_drop;

static uint64_t upload_bytes(const kv_upload *up)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < up->nparts; i++)
        n += up->parts[i] ? part_len(up, i + 1) : 0;
    return n;
}

/* Copies of what the space's uploads under full (a prefix) are, so the
 * callbacks run without the lock. */
static int leftovers_find(mem_store *ms, const char *full, mem_leftover **out, size_t *n)
{
    mem_space *sp = ms->sp;
    size_t plen = strlen(full), rlen = strlen(ms->root), cap = 0;
    mem_leftover *v;
    int rc = KV_OK;
    pthread_mutex_lock(&sp->lock);
    for (kv_upload *up = sp->uploads; up; up = up->next)
        cap += strncmp(up->key, full, plen) == 0;
    v = calloc(cap ? cap : 1, sizeof *v);
    for (kv_upload *up = sp->uploads; v && up && !rc; up = up->next) {
        if (strncmp(up->key, full, plen) != 0)
            continue;
        v[*n] = (mem_leftover){.id = up->id, .size = upload_bytes(up), .begun = up->begun,
                               .key = strdup(up->key + rlen)};
        rc = v[(*n)++].key ? KV_OK : kv_oom();
    }
    pthread_mutex_unlock(&sp->lock);
    *out = v;
    return v ? rc : kv_oom();
}

static void leftovers_free(mem_leftover *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].key);
    free(v);
}

/* Removes the upload numbered id, if it is still there: its parts go, its
 * handle stays for its owner to abort. */
static int drop_upload(void *ctx)
{
    mem_drop *d = ctx;
    pthread_mutex_lock(&d->sp->lock);
    for (kv_upload *up = d->sp->uploads; up; up = up->next)
        if (up->id == d->id) {
            upload_unlink(d->sp, up);
            parts_free(up);
            up->gone = 1;
            break;
        }
    pthread_mutex_unlock(&d->sp->lock);
    return KV_OK;
}

static int leftover_take(mem_space *sp, const kv_garbage_args *g, const mem_leftover *l)
{
    char name[32];
    mem_drop d = {.sp = sp, .id = l->id};
    kv_garbage_item item = {.key = l->key, .name = name, .kind = "multipart upload",
                            .size = l->size, .mtime_unix = l->begun};
    snprintf(name, sizeof name, "upload-%llu", (unsigned long long)l->id);
    return kv_garbage_take(g, &item, drop_upload, &d);
}

static int mem_garbage(kv_store *st, const char *prefix, int64_t older_than_unix, int dry_run,
                       kv_garbage_cb cb, void *payload)
{
    mem_store *ms = (mem_store *)st;
    kv_garbage_args g = {.prefix = prefix, .older_than = older_than_unix, .dry_run = dry_run,
                         .cb = cb, .payload = payload};
    mem_leftover *v = NULL;
    char *full = NULL;
    size_t n = 0;
    int rc;
    tally(ms->sp, &ms->sp->counts.garbages);
    rc = full_key(ms, prefix, &full);
    if (!rc)
        rc = leftovers_find(ms, full, &v, &n);
    for (size_t i = 0; i < n && !rc; i++)
        rc = leftover_take(ms->sp, &g, &v[i]);
    leftovers_free(v, n);
    free(full);
    return rc;
}

/* ---- the tables ------------------------------------------------------------------ */

#define MEM_OPS(scheme_, digest_caps)                                                   \
    {                                                                                   \
        .version = KV_STORE_OPS_VERSION, .scheme = scheme_,                             \
        .caps = KV_CAP_MULTIPART | KV_CAP_RANGE_GET | (digest_caps), .min_part = 64 << 10, \
        .max_part = 1u << 30, .max_parts = 10000, .open = mem_open, .put = mem_put,     \
        .get = mem_get, .stat = mem_stat, .list = mem_list, .remove = mem_remove,       \
        .upload_begin = mem_begin, .upload_part = mem_part,                             \
        .upload_complete = mem_complete, .upload_abort = mem_abort, .close = mem_close, \
        .garbage = mem_garbage,                                                         \
    }

static const kv_store_ops mem_ops[] = {
    MEM_OPS("mem", 0),
    MEM_OPS("mem+md5", KV_CAP_DIGEST_MD5),
    MEM_OPS("mem+sha256", KV_CAP_DIGEST_SHA256),
    MEM_OPS("mem+md5+sha256", KV_CAP_DIGEST_MD5 | KV_CAP_DIGEST_SHA256),
};

static int register_rc;

static void register_once(void)
{
    for (size_t i = 0; i < sizeof mem_ops / sizeof *mem_ops && !register_rc; i++)
        register_rc = kv_store_register(&mem_ops[i]);
}

int kvt_mem_register(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
    return register_rc;
}
