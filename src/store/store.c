/* The backend registry, part planning and the retrying wrappers that the
 * rest of kvault calls instead of a backend's table directly. */
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ctype.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/escape.h"
#include "util/log.h"
#include "util/strset.h"

#define MIB (1024ull * 1024ull)
#define DEFAULT_PART (8 * MIB)
#define BACKOFF_BASE_MS 200.0
#define BACKOFF_CAP_MS 10000.0
#define MAX_REGISTERED 32

extern const kv_store_ops kv_file_ops;
extern const kv_store_ops kv_s3_ops;
extern const kv_store_ops kv_hdfs_ops;
extern const kv_store_ops kv_webhdfs_ops;
extern const kv_store_ops kv_swebhdfs_ops;
extern const kv_store_ops kv_azure_ops;
extern const kv_store_ops kv_gcs_ops;

/* The built-in backends, registered statically. */
static const kv_store_ops *const builtin[] = {
    &kv_file_ops,
    &kv_s3_ops,
    &kv_hdfs_ops,
    &kv_webhdfs_ops, /* the same backend, under WebHDFS's own scheme */
    &kv_swebhdfs_ops, /* and over HTTPS */
    &kv_azure_ops,
    &kv_gcs_ops,
};

/* Backends registered at run time (kv_store_register). */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static const kv_store_ops *registered[MAX_REGISTERED];
static size_t nregistered;

static const kv_store_ops *find_backend(const char *scheme)
{
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
        if (strcmp(builtin[i]->scheme, scheme) == 0)
            return builtin[i];
    for (size_t i = 0; i < nregistered; i++)
        if (strcmp(registered[i]->scheme, scheme) == 0)
            return registered[i];
    return NULL;
}

const kv_store_ops *kv_store_backend(const char *scheme)
{
    const kv_store_ops *ops;
    pthread_mutex_lock(&registry_lock);
    ops = find_backend(scheme);
    pthread_mutex_unlock(&registry_lock);
    return ops;
}

static int check_version(const kv_store_ops *ops)
{
    if (ops->version >= KV_STORE_OPS_VERSION_MIN && ops->version <= KV_STORE_OPS_VERSION)
        return KV_OK;
    return kv_seterr(KV_EINVAL, "store backend '%s': kv_store_ops version %u, this kvault "
                     "knows versions %u to %u", ops->scheme ? ops->scheme : "(no scheme)",
                     ops->version, KV_STORE_OPS_VERSION_MIN, KV_STORE_OPS_VERSION);
}

typedef int (*garbage_fn)(kv_store *st, const char *prefix, int64_t older_than_unix,
                          int dry_run, kv_garbage_cb cb, void *payload);

/* The garbage method, of tables new enough to have the member. */
static garbage_fn garbage_of(const kv_store_ops *ops)
{
    return ops->version >= 2 ? ops->garbage : NULL;
}

static int valid_scheme(const char *scheme)
{
    size_t n = scheme ? strlen(scheme) : 0;
    if (n == 0 || n >= sizeof ((kv_url *)NULL)->scheme || !islower((unsigned char)scheme[0]))
        return 0;
    for (; *scheme; scheme++)
        if (!islower((unsigned char)*scheme) && !isdigit((unsigned char)*scheme) &&
            !strchr("+-.", *scheme))
            return 0;
    return 1;
}

/* What kv_store_register checks of a table besides its version. */
static int check_table(const kv_store_ops *ops)
{
    int multipart = (ops->caps & KV_CAP_MULTIPART) != 0;
    if (!valid_scheme(ops->scheme))
        return kv_seterr(KV_EINVAL, "store backend: scheme '%s' is not 1-15 lower-case "
                         "letters, digits, '+', '-' or '.'", ops->scheme ? ops->scheme : "");
    if (!ops->open || !ops->put || !ops->get || !ops->stat || !ops->list || !ops->remove ||
        !ops->close)
        return kv_seterr(KV_EINVAL, "store backend '%s': open, put, get, stat, list, remove "
                         "and close are required", ops->scheme);
    if (multipart && (!ops->upload_begin || !ops->upload_part || !ops->upload_complete ||
                      !ops->upload_abort))
        return kv_seterr(KV_EINVAL, "store backend '%s': KV_CAP_MULTIPART without every "
                         "upload method", ops->scheme);
    return KV_OK;
}

int kv_store_register(const kv_store_ops *ops)
{
    int rc = ops ? check_version(ops) : kv_seterr(KV_EINVAL, "store backend: no table");
    if (rc == KV_OK)
        rc = check_table(ops);
    if (rc)
        return rc;
    pthread_mutex_lock(&registry_lock);
    if (find_backend(ops->scheme))
        rc = kv_seterr(KV_EEXIST, "store backend '%s': the scheme is taken", ops->scheme);
    else if (nregistered == MAX_REGISTERED)
        rc = kv_seterr(KV_EINVAL, "store backend '%s': more than %d backends registered",
                       ops->scheme, MAX_REGISTERED);
    else
        registered[nregistered++] = ops;
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

int kv_store_check_backend(const kv_store *st, const kv_store_ops *ops, const char *what)
{
    if (st && st->ops == ops)
        return KV_OK;
    if (!st)
        return kv_seterr(KV_EINVAL, "%s: no store", what);
    return kv_seterr(KV_EINVAL, "%s: store '%s://%s%s%s' is not one of the '%s' backend", what,
                     st->url.scheme, st->url.host, *st->url.host ? "/" : "", st->url.path,
                     ops->scheme);
}

unsigned kv_store_caps(const kv_store *st)
{
    return st->ops->caps;
}

/* One allocation holding a copy of in's strings, so the store owns them. */
static int copy_opts(const kv_store_opts *in, kv_store_opts *out, char **block)
{
    size_t need = 0;
    char *p;
    const char *const strs[] = {in->endpoint, in->region, in->ca_file};
    for (size_t i = 0; i < 3; i++)
        need += strs[i] ? strlen(strs[i]) + 1 : 0;
    for (size_t i = 0; i < in->nsettings; i++)
        need += strlen(in->settings[i].name ? in->settings[i].name : "") +
                strlen(in->settings[i].value ? in->settings[i].value : "") + 2;
    need += in->nsettings * sizeof(kvault_setting) + sizeof(kvault_setting);
    if (!(*block = malloc(need)))
        return kv_oom();
    *out = *in;
    out->settings = (const kvault_setting *)(void *)*block;
    p = *block + (in->nsettings + 1) * sizeof(kvault_setting);
    for (size_t i = 0; i < in->nsettings; i++) {
        kvault_setting *s = (kvault_setting *)(void *)*block + i;
        const char *n = in->settings[i].name ? in->settings[i].name : "";
        const char *v = in->settings[i].value ? in->settings[i].value : "";
        s->name = memcpy(p, n, strlen(n) + 1);
        p += strlen(n) + 1;
        s->value = memcpy(p, v, strlen(v) + 1);
        p += strlen(v) + 1;
    }
    for (size_t i = 0; i < 3; i++) {
        const char **dst = i == 0 ? &out->endpoint : i == 1 ? &out->region : &out->ca_file;
        if (strs[i]) {
            *dst = memcpy(p, strs[i], strlen(strs[i]) + 1);
            p += strlen(strs[i]) + 1;
        }
    }
    return KV_OK;
}

static void fill_defaults(kv_store_opts *o)
{
    if (o->connect_timeout_s <= 0)
        o->connect_timeout_s = 10;
    if (o->stall_timeout_s <= 0)
        o->stall_timeout_s = 60;
    if (o->max_retries <= 0)
        o->max_retries = 6;
}

int kv_store_open(const char *url, const kv_store_opts *opts, kv_store **out)
{
    static const kv_store_opts none;
    kv_url u;
    kv_store_opts o;
    const kv_store_ops *ops;
    kv_store *st = NULL;
    char *block = NULL;
    int rc;

    rc = kv_url_parse(url, &u);
    if (rc)
        return rc;
    ops = kv_store_backend(u.scheme);
    if (!ops) {
        rc = kv_seterr(KV_EUNSUPPORTED, "store URL '%s': no backend for scheme '%s'", url, u.scheme);
        goto out;
    }
    if ((rc = check_version(ops)))
        goto out;
    if ((rc = copy_opts(opts ? opts : &none, &o, &block)))
        goto out;
    fill_defaults(&o);
    rc = ops->open(&u, &o, &st);
    if (rc)
        goto out;
    /* the core owns the common head: backends only read it */
    st->ops = ops;
    st->url = u;
    st->opts = o;
    st->opts_block = block;
    *out = st;
    return KV_OK;
out:
    free(block);
    kv_url_free(&u);
    return rc;
}

void kv_store_close(kv_store *st)
{
    kv_url u;
    char *block;
    if (!st)
        return;
    u = st->url;
    block = st->opts_block;
    st->ops->close(st);
    kv_url_free(&u);
    free(block);
}

/* ---- part planning ------------------------------------------------------ */

static uint64_t div_up(uint64_t a, uint64_t b)
{
    return a / b + (a % b != 0);
}

static uint64_t clamp_part(const kv_store_ops *ops, uint64_t ps)
{
    if (ops->min_part && ps < ops->min_part)
        ps = ops->min_part;
    if (ops->max_part && ps > ops->max_part)
        ps = ops->max_part;
    return ps;
}

int kv_plan_parts(const kv_store_ops *ops, uint64_t size, uint64_t wanted,
                  uint64_t *part_size, uint32_t *parts)
{
    uint64_t max_parts = ops->max_parts ? ops->max_parts : UINT32_MAX;
    uint64_t ps, n;

    if (ops->max_part && ops->min_part > ops->max_part)
        return kv_seterr(KV_EINVAL, "store '%s': minimum part size %llu exceeds maximum %llu",
                         ops->scheme, (unsigned long long)ops->min_part,
                         (unsigned long long)ops->max_part);
    ps = clamp_part(ops, wanted ? wanted : DEFAULT_PART);
    if (div_up(size, ps) > max_parts) {
        /* the smallest whole number of MiB that fits, as stepping 1 MiB would find */
        ps = div_up(div_up(size, max_parts), MIB) * MIB;
        ps = clamp_part(ops, ps);
    }
    n = size ? div_up(size, ps) : 1;
    if (n > max_parts)
        return kv_seterr(KV_EINVAL,
                         "an object of %llu bytes does not fit in store '%s': at most %llu parts "
                         "of at most %llu bytes",
                         (unsigned long long)size, ops->scheme, (unsigned long long)max_parts,
                         (unsigned long long)ps);
    *part_size = ps;
    *parts = (uint32_t)n;
    return KV_OK;
}

int kv_store_plan_parts(const kv_store *st, uint64_t size, uint64_t wanted,
                        uint64_t *part_size, uint32_t *parts)
{
    return kv_plan_parts(st->ops, size, wanted, part_size, parts);
}

/* ---- retries -------------------------------------------------------------- */

/* xorshift64*, one state per thread, seeded from the clock and a counter so
 * threads started together still draw different delays */
static uint64_t next_random(void)
{
    static atomic_uint_fast64_t seeds;
    static _Thread_local uint64_t state;
    if (!state) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        state = ((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32)) +
                0x9e3779b97f4a7c15ull * (atomic_fetch_add(&seeds, 1) + 1);
        if (!state)
            state = 1;
    }
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dull;
}

static double backoff_ms(int attempt)
{
    double cap = BACKOFF_BASE_MS;
    for (int i = 0; i < attempt && cap < BACKOFF_CAP_MS; i++)
        cap *= 2;
    if (cap > BACKOFF_CAP_MS)
        cap = BACKOFF_CAP_MS;
    return cap * ((double)(next_random() >> 11) / (double)(1ull << 53));
}

static void sleep_ms(double ms)
{
    long long ns = (long long)(ms * 1e6);
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int kv_store_retry(kv_store *st, int (*op)(void *arg), void *arg)
{
    int rc;
    for (int attempt = 0;; attempt++) {
        double ms;
        rc = op(arg);
        if (rc != KV_ETRANSIENT || attempt >= st->opts.max_retries)
            return rc;
        ms = backoff_ms(attempt);
        kv_info("retry %d of %d in %.1f s: %s", attempt + 1, st->opts.max_retries, ms / 1000,
                kv_errmsg());
        sleep_ms(ms);
    }
}

/* One argument block for every wrapped call; each op reads what it needs. */
typedef struct call {
    kv_store *st;
    kv_upload *up;
    const char *key;
    uint64_t off, total, part_size;
    const void *src;
    void *dst;
    size_t len, *got;
    const kv_digest *digest;
    kv_object_info *info;
    kv_list_cb cb;
    void *payload;
    uint32_t n;
    kv_upload **up_out;
} call;

static int do_put(void *arg)
{
    call *c = arg;
    return c->st->ops->put(c->st, c->key, c->src, c->len, c->digest);
}

static int do_get(void *arg)
{
    call *c = arg;
    return c->st->ops->get(c->st, c->key, c->off, c->len, c->dst, c->got);
}

static int do_stat(void *arg)
{
    call *c = arg;
    return c->st->ops->stat(c->st, c->key, c->info);
}

static int do_list(void *arg)
{
    call *c = arg;
    return c->st->ops->list(c->st, c->key, c->cb, c->payload);
}

static int do_remove(void *arg)
{
    call *c = arg;
    return c->st->ops->remove(c->st, c->key);
}

static int do_upload_begin(void *arg)
{
    call *c = arg;
    return c->st->ops->upload_begin(c->st, c->key, c->total, c->part_size, c->up_out);
}

static int do_upload_part(void *arg)
{
    call *c = arg;
    return c->st->ops->upload_part(c->up, c->n, c->off, c->src, c->len, c->digest);
}

static int do_upload_complete(void *arg)
{
    call *c = arg;
    return c->st->ops->upload_complete(c->up);
}

static int need_multipart(kv_store *st, const char *what)
{
    if (st->ops->caps & KV_CAP_MULTIPART)
        return KV_OK;
    return kv_seterr(KV_EUNSUPPORTED, "store '%s' has no multipart upload (%s)", st->ops->scheme,
                     what);
}

int kv_store_put(kv_store *st, const char *key, const void *buf, size_t len,
                 const kv_digest *digest)
{
    call c = {.st = st, .key = key, .src = buf, .len = len, .digest = digest};
    return kv_store_retry(st, do_put, &c);
}

int kv_store_get(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
                 size_t *got)
{
    call c = {.st = st, .key = key, .off = off, .len = len, .dst = buf, .got = got};
    return kv_store_retry(st, do_get, &c);
}

int kv_store_stat(kv_store *st, const char *key, kv_object_info *out)
{
    call c = {.st = st, .key = key, .info = out};
    return kv_store_retry(st, do_stat, &c);
}

/* ---- listed keys ------------------------------------------------------------ */

static const char *key_fault(const char *key, const char *prefix)
{
    const char *seg = key;
    if (strncmp(key, prefix, strlen(prefix)) != 0)
        return "is outside the prefix";
    if (!*key)
        return "is empty";
    for (const char *p = key; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return "has a control character";
    for (;;) {
        size_t len = strcspn(seg, "/");
        if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return "has a '.' or '..' segment";
        if (!seg[len])
            return NULL;
        seg += len + 1;
    }
}

int kv_listed_key_check(const char *what, const char *key, const char *prefix)
{
    char k[400], p[300];
    const char *fault = key_fault(key, prefix);
    if (!fault)
        return KV_OK;
    return kv_seterr(KV_ECORRUPT, "%s: listing prefix '%s': the server listed the key '%s', "
                     "which %s; the listing was stopped and nothing was done with that key",
                     what, kv_escape(prefix, p, sizeof p), kv_escape(key, k, sizeof k), fault);
}

/* "scheme://host/root" of a store, for messages. */
static void store_name(const kv_store *st, char *out, size_t n)
{
    snprintf(out, n, "%s://%s%s%s", st->url.scheme, st->url.host,
             *st->url.host && *st->url.path ? "/" : "", st->url.path);
}

/* ---- listing ------------------------------------------------------------------ */

/* A listing that fails part way is retried from the start; keys come in
 * order, so those already delivered are skipped rather than repeated.
 * Within one attempt every key is checked, and must come after the one
 * before: a server that pages in a circle cannot list forever. */
typedef struct list_resume {
    kv_list_cb cb;
    void *payload;
    char what[512];       /* the store, for messages */
    const char *prefix;
    char *last;           /* the last key delivered, of any attempt */
    char *prev;           /* the key before, in this attempt */
} list_resume;

static int keep_copy(char **slot, const char *key)
{
    char *copy = strdup(key);
    if (!copy)
        return kv_seterr(KV_ENOMEM, "out of memory listing '%s'", key);
    free(*slot);
    *slot = copy;
    return KV_OK;
}

static int out_of_order(const list_resume *r, const char *key)
{
    char k[400], p[300], prev[400];
    return kv_seterr(KV_ECORRUPT, "%s: listing prefix '%s': the server listed the key '%s' after "
                     "'%s' (keys out of order, or listed again); the listing was stopped",
                     r->what, kv_escape(r->prefix, p, sizeof p), kv_escape(key, k, sizeof k),
                     kv_escape(r->prev, prev, sizeof prev));
}

static int resume_cb(const char *key, const kv_object_info *info, void *payload)
{
    list_resume *r = payload;
    int rc = kv_listed_key_check(r->what, key, r->prefix);
    if (rc == KV_OK && r->prev && strcmp(key, r->prev) <= 0)
        rc = out_of_order(r, key);
    if (rc == KV_OK)
        rc = keep_copy(&r->prev, key);
    if (rc || (r->last && strcmp(key, r->last) <= 0))
        return rc;
    rc = r->cb(key, info, r->payload);
    return rc ? rc : keep_copy(&r->last, key);
}

static int do_list_attempt(void *arg)
{
    call *c = arg;
    list_resume *r = c->payload;
    free(r->prev);
    r->prev = NULL;
    return do_list(arg);
}

int kv_store_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    list_resume r = {.cb = cb, .payload = payload, .prefix = prefix};
    call c = {.st = st, .key = prefix, .cb = resume_cb, .payload = &r};
    int rc;
    store_name(st, r.what, sizeof r.what);
    rc = kv_store_retry(st, do_list_attempt, &c);
    free(r.last);
    free(r.prev);
    return rc;
}

int kv_store_remove(kv_store *st, const char *key)
{
    call c = {.st = st, .key = key};
    return kv_store_retry(st, do_remove, &c);
}

int kv_store_upload_begin(kv_store *st, const char *key, uint64_t total_size,
                          uint64_t part_size, kv_upload **out)
{
    call c = {.st = st, .key = key, .total = total_size, .part_size = part_size,
              .up_out = out};
    int rc = need_multipart(st, key);
    return rc ? rc : kv_store_retry(st, do_upload_begin, &c);
}

int kv_store_upload_part(kv_store *st, kv_upload *up, uint32_t n, uint64_t off,
                         const void *buf, size_t len, const kv_digest *digest)
{
    call c = {.st = st, .up = up, .n = n, .off = off, .src = buf, .len = len, .digest = digest};
    return kv_store_retry(st, do_upload_part, &c);
}

int kv_store_upload_complete(kv_store *st, kv_upload *up)
{
    call c = {.st = st, .up = up};
    return kv_store_retry(st, do_upload_complete, &c);
}

void kv_store_upload_abort(kv_store *st, kv_upload *up)
{
    if (up)
        st->ops->upload_abort(up);
}

int kv_store_sync(kv_store *st)
{
    return st->ops->sync ? st->ops->sync(st) : KV_OK;
}

/* ---- garbage -------------------------------------------------------------------- */

/* A clean-up that fails part way is retried from the start; leftovers
 * reported by an earlier attempt (a dry run's, or one whose removal was
 * reported before the failure) are not reported again. */
typedef struct garbage_seen {
    kv_garbage_cb cb;
    void *payload;
    kv_strset seen;      /* kind NUL name of each reported */
    uint64_t count;
} garbage_seen;

static int garbage_cb(const kv_garbage_item *item, void *payload)
{
    garbage_seen *g = payload;
    kv_buf id = KV_BUF_INIT;
    int added = 0;
    int rc = kv_buf_puts(&id, item->kind);
    if (rc == KV_OK)
        rc = kv_buf_put(&id, "", 1);
    if (rc == KV_OK)
        rc = kv_buf_puts(&id, item->name);
    if (rc == KV_OK)
        rc = kv_strset_add(&g->seen, id.data, id.len, &added);
    kv_buf_free(&id);
    if (rc || !added)
        return rc;
    g->count++;
    return g->cb ? g->cb(item, g->payload) : 0;
}

int kv_garbage_take(const kv_garbage_args *g, const kv_garbage_item *item,
                    int (*drop)(void *ctx), void *ctx)
{
    int rc;
    if (item->mtime_unix <= 0 || item->mtime_unix >= g->older_than)
        return KV_OK;
    rc = g->dry_run ? KV_OK : drop(ctx);
    return rc || !g->cb ? rc : g->cb(item, g->payload);
}

typedef struct garbage_call {
    kv_store *st;
    const char *prefix;
    int64_t older_than;
    int dry_run;
    garbage_seen *g;
} garbage_call;

static int do_garbage(void *arg)
{
    garbage_call *c = arg;
    return garbage_of(c->st->ops)(c->st, c->prefix, c->older_than, c->dry_run, garbage_cb,
                                  c->g);
}

int kv_store_garbage(kv_store *st, const char *prefix, int64_t older_than_unix, int dry_run,
                     kv_garbage_cb cb, void *payload, uint64_t *count)
{
    garbage_seen g = {.cb = cb, .payload = payload, .seen = KV_STRSET_INIT};
    garbage_call c = {.st = st, .prefix = prefix, .older_than = older_than_unix,
                      .dry_run = dry_run, .g = &g};
    int rc = garbage_of(st->ops) ? kv_store_retry(st, do_garbage, &c) : KV_OK;
    kv_strset_free(&g.seen);
    *count = g.count;
    return rc;
}
