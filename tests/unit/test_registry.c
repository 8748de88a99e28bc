/* The backend contract (kvault/sys/store.h): a tiny in-memory backend,
 * written against that header alone as a backend outside the tree would be,
 * registered at run time and used through the core; the version and table
 * checks; checked downcasts. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kvault/sys/store.h"

/* ---- the "mem" backend: nothing below uses the tree's private headers ---- */

#define MEM_MAX 16

typedef struct mem_object {
    char *key;
    char *data;
    size_t len;
} mem_object;

typedef struct mem_store {
    kv_store base;
    pthread_mutex_t lock;
    mem_object objs[MEM_MAX];
    int flaky_puts;          /* this many puts fail with KV_ETRANSIENT first */
} mem_store;

static mem_object *mem_find(mem_store *m, const char *key)
{
    for (int i = 0; i < MEM_MAX; i++)
        if (m->objs[i].key && strcmp(m->objs[i].key, key) == 0)
            return &m->objs[i];
    return NULL;
}

static int mem_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    mem_store *m = calloc(1, sizeof *m);
    if (!m)
        return kv_seterr(KV_ENOMEM, "mem://%s: out of memory", url->host);
    pthread_mutex_init(&m->lock, NULL);
    m->flaky_puts = kv_opt_int(opts, "MEM_FLAKY_PUTS", 0);
    *out = &m->base;
    return KV_OK;
}

/* Replaces the object: repeating a put stores the same bytes again. */
static int mem_store_locked(mem_store *m, const char *key, const void *buf, size_t len)
{
    mem_object *o = mem_find(m, key);
    char *copy = malloc(len ? len : 1);
    for (int i = 0; !o && i < MEM_MAX; i++)
        if (!m->objs[i].key && (m->objs[i].key = strdup(key)))
            o = &m->objs[i];
    if (!o || !copy) {
        free(copy);
        return kv_seterr(KV_ENOMEM, "mem: no room for '%s'", key);
    }
    memcpy(copy, buf, len);
    free(o->data);
    o->data = copy;
    o->len = len;
    return KV_OK;
}

static int mem_put(kv_store *st, const char *key, const void *buf, size_t len,
                   const kv_digest *digest)
{
    mem_store *m = (mem_store *)st;
    int rc;
    (void)digest;
    pthread_mutex_lock(&m->lock);
    if (m->flaky_puts > 0) {
        m->flaky_puts--;
        rc = kv_seterr(KV_ETRANSIENT, "mem: '%s': the reply was lost", key);
    } else {
        rc = mem_store_locked(m, key, buf, len);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_get(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
                   size_t *got)
{
    mem_store *m = (mem_store *)st;
    mem_object *o;
    int rc = KV_OK;
    pthread_mutex_lock(&m->lock);
    o = mem_find(m, key);
    *got = 0;
    if (!o)
        rc = kv_seterr(KV_ENOTFOUND, "mem: '%s': no such object", key);
    else if (off < o->len) {
        *got = o->len - off < len ? o->len - off : len;
        memcpy(buf, o->data + off, *got);
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int mem_stat(kv_store *st, const char *key, kv_object_info *out)
{
    mem_store *m = (mem_store *)st;
    mem_object *o;
    pthread_mutex_lock(&m->lock);
    o = mem_find(m, key);
    memset(out, 0, sizeof *out);
    if (o)
        out->size = o->len;
    pthread_mutex_unlock(&m->lock);
    return o ? KV_OK : kv_seterr(KV_ENOTFOUND, "mem: '%s': no such object", key);
}

/* Keys in strcmp order: the smallest key above the last one, each round. */
static int mem_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    mem_store *m = (mem_store *)st;
    const char *last = NULL;
    int rc = KV_OK;
    while (rc == KV_OK) {
        const mem_object *next = NULL;
        kv_object_info info = {0};
        for (int i = 0; i < MEM_MAX; i++) {
            const mem_object *o = &m->objs[i];
            if (o->key && strncmp(o->key, prefix, strlen(prefix)) == 0 &&
                (!last || strcmp(o->key, last) > 0) && (!next || strcmp(o->key, next->key) < 0))
                next = o;
        }
        if (!next)
            break;
        info.size = next->len;
        last = next->key;
        rc = cb(next->key, &info, payload);
    }
    return rc;
}

static int mem_remove(kv_store *st, const char *key)
{
    mem_store *m = (mem_store *)st;
    mem_object *o;
    pthread_mutex_lock(&m->lock);
    o = mem_find(m, key);
    if (o) {
        free(o->key);
        free(o->data);
        memset(o, 0, sizeof *o);
    }
    pthread_mutex_unlock(&m->lock);
    return KV_OK; /* a missing key is removed already */
}

static void mem_close(kv_store *st)
{
    mem_store *m = (mem_store *)st;
    for (int i = 0; i < MEM_MAX; i++) {
        free(m->objs[i].key);
        free(m->objs[i].data);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

#define MEM_OPS(scheme_)                                                                   \
    {                                                                                      \
        .version = KV_STORE_OPS_VERSION, .scheme = scheme_, .caps = KV_CAP_RANGE_GET,      \
        .open = mem_open, .put = mem_put, .get = mem_get, .stat = mem_stat,                \
        .list = mem_list, .remove = mem_remove, .close = mem_close,                        \
    }

static const kv_store_ops mem_ops = MEM_OPS("mem");

/* ---- the tests: the core's side ------------------------------------------- */

#include "store/s3.h"
#include "store/store.h"
#include "test.h"
#include "util/err.h"

static int count_keys(const char *key, const kv_object_info *info, void *payload)
{
    (void)key;
    (void)info;
    (*(int *)payload)++;
    return 0;
}

/* Each case may run alone (a filter argument), so each registers "mem"
 * if no case before it did. */
static void ensure_mem(void)
{
    if (!kv_store_backend("mem"))
        CHECK_OK(kv_store_register(&mem_ops));
}

static void registered_backend_opens_and_works(void)
{
    kv_store *st = NULL;
    kv_object_info info;
    char buf[16];
    size_t got = 0;
    int n = 0;
    ensure_mem();
    CHECK(kv_store_backend("mem") == &mem_ops);
    CHECK_OK(kv_store_open("mem://bucket/root", NULL, &st));
    CHECK(kv_store_caps(st) == KV_CAP_RANGE_GET);
    CHECK_OK(kv_store_put(st, "a/1", "hello", 5, NULL));
    CHECK_OK(kv_store_put(st, "a/2", "hi", 2, NULL));
    CHECK_OK(kv_store_put(st, "b/1", "x", 1, NULL));
    CHECK_OK(kv_store_get(st, "a/1", 1, sizeof buf, buf, &got));
    CHECK_EQ_U64(got, 4);
    CHECK(memcmp(buf, "ello", 4) == 0);
    CHECK_OK(kv_store_stat(st, "a/2", &info));
    CHECK_EQ_U64(info.size, 2);
    CHECK_OK(kv_store_list(st, "a/", count_keys, &n));
    CHECK(n == 2);
    CHECK_OK(kv_store_remove(st, "a/1"));
    CHECK_OK(kv_store_remove(st, "a/1"));
    CHECK(kv_store_stat(st, "a/1", &info) == KV_ENOTFOUND);
    /* no multipart: the core says so instead of calling a NULL method */
    CHECK(kv_store_upload_begin(st, "big", 1, 1, &(kv_upload *){NULL}) == KV_EUNSUPPORTED);
    kv_store_close(st);
}

/* The core repeats a method after KV_ETRANSIENT, which the contract makes
 * safe. */
static void transient_failures_are_repeated(void)
{
    const kvault_setting flaky[] = {{"MEM_FLAKY_PUTS", "2"}};
    kv_store_opts o = {.max_retries = 3, .settings = flaky, .nsettings = 1};
    kv_store *st = NULL;
    kv_object_info info;
    ensure_mem();
    CHECK_OK(kv_store_open("mem://bucket", &o, &st));
    CHECK_OK(kv_store_put(st, "k", "abc", 3, NULL));
    CHECK_OK(kv_store_stat(st, "k", &info));
    CHECK_EQ_U64(info.size, 3);
    kv_store_close(st);
}

static void taken_schemes_are_eexist(void)
{
    static const kv_store_ops again = MEM_OPS("mem");
    static const kv_store_ops s3 = MEM_OPS("s3");
    ensure_mem();
    CHECK(kv_store_register(&again) == KV_EEXIST);
    CHECK(strstr(kv_errmsg(), "'mem'"));
    CHECK(kv_store_register(&s3) == KV_EEXIST);
}

static void bad_tables_are_einval(void)
{
    kv_store_ops old = MEM_OPS("memold"), nostat = MEM_OPS("memnostat");
    kv_store_ops bad = MEM_OPS("Mem!"), multi = MEM_OPS("memmulti");
    old.version = KV_STORE_OPS_VERSION + 1;
    nostat.stat = NULL;
    multi.caps |= KV_CAP_MULTIPART;
    CHECK(kv_store_register(&old) == KV_EINVAL);
    CHECK(strstr(kv_errmsg(), "version"));
    CHECK(kv_store_register(&nostat) == KV_EINVAL);
    CHECK(kv_store_register(&bad) == KV_EINVAL);
    CHECK(kv_store_register(&multi) == KV_EINVAL);
    CHECK(kv_store_register(NULL) == KV_EINVAL);
    CHECK(kv_store_backend("memold") == NULL);
}

/* The version is checked again at open, for every table. */
static void open_checks_the_version(void)
{
    static kv_store_ops changing = MEM_OPS("memchanging");
    kv_store *st = NULL;
    CHECK_OK(kv_store_register(&changing));
    changing.version = 0;
    CHECK(kv_store_open("memchanging://b", NULL, &st) == KV_EINVAL);
    CHECK(strstr(kv_errmsg(), "version 0"));
    CHECK(st == NULL);
}

static void s3_extensions_refuse_other_stores(void)
{
    kv_store *st = NULL;
    uint32_t parts = 7;
    uint64_t bytes = 7;
    CHECK_OK(kv_store_open("/tmp", NULL, &st));
    CHECK(kv_s3_list_uploads(st, "", NULL, NULL) == KV_EINVAL);
    CHECK(strstr(kv_errmsg(), "kv_s3_list_uploads"));
    CHECK(strstr(kv_errmsg(), "file:///tmp"));
    CHECK(kv_s3_list_parts(st, "k", "id", &parts, &bytes) == KV_EINVAL);
    CHECK(strstr(kv_errmsg(), "kv_s3_list_parts"));
    kv_store_close(st);
    CHECK(kv_s3_list_uploads(NULL, "", NULL, NULL) == KV_EINVAL);
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"registered_backend_opens_and_works", registered_backend_opens_and_works},
        {"transient_failures_are_repeated", transient_failures_are_repeated},
        {"taken_schemes_are_eexist", taken_schemes_are_eexist},
        {"bad_tables_are_einval", bad_tables_are_einval},
        {"open_checks_the_version", open_checks_the_version},
        {"s3_extensions_refuse_other_stores", s3_extensions_refuse_other_stores},
        {NULL, NULL},
    };
    return kvt_run(cases, argc, argv);
}
