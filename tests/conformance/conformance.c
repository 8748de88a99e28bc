/* The storage conformance suite: the same cases against any store, through
 * the retrying wrappers and the transfer engine, as the rest of kvault uses
 * them.
 *
 *   conformance URL [CASE-FILTER]      (or KV_CONFORMANCE_URL=URL)
 *
 * KV_CONFORMANCE_LIST_COUNT sets how many keys the pagination case lists
 * (default 1200, more than one page of S3, Azure and GCS listings). Every
 * case works under its own prefix of a random run id and removes what it
 * made; the last case checks that nothing of the run is left.
 *
 * The test backends (tests/support: mem://, and fault:// with its settings
 * KVT_FAULT_* from the environment) are registered too, so the suite shows
 * that they keep the contract the other tests rely on. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fault_store.h"
#include "mem_store.h"
#include "store/store.h"
#include "test_store.h"
#include "test.h"
#include "transfer/transfer.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/fs.h"

#define MIB (1024ull * 1024ull)

static kv_store *st;
static char run[32];          /* "kvconf-<random>" */
static char tmpdir[64];       /* local files for the transfer cases */
static int list_count = 1200;

/* ---- helpers ------------------------------------------------------------ */

/* A key under this run: kv("case/%s", ...). Rotating static buffers. */
static const char *kv(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *kv(const char *fmt, ...)
{
    static char keys[16][512];
    static int next;
    char *k = keys[next++ % 16];
    int n = snprintf(k, 512, "%s/", run);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k + n, 512 - (size_t)n, fmt, ap);
    va_end(ap);
    return k;
}

static const char *local(const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static void fill_random(unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 0x1234567;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        p[i] = (unsigned char)(s >> 24);
    }
}

static unsigned char *random_bytes(size_t n, uint64_t seed)
{
    unsigned char *p = malloc(n ? n : 1);
    fill_random(p, n, seed);
    return p;
}

/* The smallest part the store takes (but the last), and never below 1 MiB
 * so the multipart cases really have several parts on every store. */
static uint64_t small_part(void)
{
    return st->ops->min_part > MIB ? st->ops->min_part : MIB;
}

/* Reads a whole object of expected size n + probes one byte past it. */
static int get_all(const char *key, size_t n, unsigned char **out)
{
    size_t got = 0;
    unsigned char *buf = malloc(n + 1);
    int rc = kv_store_get(st, key, 0, n + 1, buf, &got);
    if (!rc && got != n)
        rc = kv_seterr(KV_ECORRUPT, "'%s': read %zu bytes, expected %zu", key, got, n);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    return KV_OK;
}

typedef struct listed {
    char **keys;
    uint64_t *sizes;
    size_t n, cap;
    int out_of_order;
    size_t stop_after; /* 0 = never */
} listed;

static int collect_cb(const char *key, const kv_object_info *info, void *payload)
{
    listed *l = payload;
    if (l->n && strcmp(l->keys[l->n - 1], key) >= 0)
        l->out_of_order = 1;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->keys = realloc(l->keys, l->cap * sizeof *l->keys);
        l->sizes = realloc(l->sizes, l->cap * sizeof *l->sizes);
    }
    l->keys[l->n] = strdup(key);
    l->sizes[l->n++] = info->size;
    return l->stop_after && l->n == l->stop_after ? 42 : 0;
}

static void listed_free(listed *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->keys[i]);
    free(l->keys);
    free(l->sizes);
    memset(l, 0, sizeof *l);
}

static int list_all(const char *prefix, listed *l)
{
    memset(l, 0, sizeof *l);
    return kv_store_list(st, prefix, collect_cb, l);
}

static int write_local(const char *path, const void *data, size_t n)
{
    return kv_write_file_atomic(path, data, n);
}

static int same_file(const char *path, const unsigned char *data, size_t n)
{
    char *got = NULL;
    size_t len = 0;
    int same = kv_read_file(path, &got, &len) == KV_OK && len == n && memcmp(got, data, n) == 0;
    free(got);
    return same;
}

/* ---- basic operations ------------------------------------------------------ */

static void put_get_round_trip(void)
{
    const char *key = kv("roundtrip/obj");
    unsigned char *data = random_bytes(100000, 1), *back = NULL;
    kv_object_info info;
    CHECK_OK(kv_store_put(st, key, data, 100000, NULL));
    CHECK_OK(get_all(key, 100000, &back));
    CHECK(memcmp(data, back, 100000) == 0);
    CHECK_OK(kv_store_stat(st, key, &info));
    CHECK_EQ_U64(info.size, 100000);
    CHECK_OK(kv_store_remove(st, key));
    free(data);
    free(back);
}

static void empty_object(void)
{
    const char *key = kv("empty/obj");
    kv_object_info info;
    listed l;
    unsigned char buf[16];
    size_t got = 99;
    CHECK_OK(kv_store_put(st, key, "", 0, NULL));
    CHECK_OK(kv_store_stat(st, key, &info));
    CHECK_EQ_U64(info.size, 0);
    CHECK_OK(kv_store_get(st, key, 0, sizeof buf, buf, &got));
    CHECK_EQ_U64(got, 0);
    CHECK_OK(list_all(kv("empty/"), &l));
    CHECK_EQ_U64(l.n, 1);
    CHECK_STR(l.keys[0], key);
    CHECK_EQ_U64(l.sizes[0], 0);
    listed_free(&l);
    CHECK_OK(kv_store_remove(st, key));
}

static void ranged_get(void)
{
    const char *key = kv("range/obj");
    unsigned char *data = random_bytes(1000, 2), buf[600];
    size_t got = 0;
    CHECK_OK(kv_store_put(st, key, data, 1000, NULL));
    /* middle */
    CHECK_OK(kv_store_get(st, key, 300, 200, buf, &got));
    CHECK_EQ_U64(got, 200);
    CHECK(memcmp(buf, data + 300, 200) == 0);
    /* running past the end: the bytes up to it */
    CHECK_OK(kv_store_get(st, key, 900, 500, buf, &got));
    CHECK_EQ_U64(got, 100);
    CHECK(memcmp(buf, data + 900, 100) == 0);
    /* starting at the end: nothing */
    got = 99;
    CHECK_OK(kv_store_get(st, key, 1000, 10, buf, &got));
    CHECK_EQ_U64(got, 0);
    /* first and last byte */
    CHECK_OK(kv_store_get(st, key, 0, 1, buf, &got));
    CHECK(got == 1 && buf[0] == data[0]);
    CHECK_OK(kv_store_get(st, key, 999, 1, buf, &got));
    CHECK(got == 1 && buf[0] == data[999]);
    CHECK_OK(kv_store_remove(st, key));
    free(data);
}

static void missing_key_is_not_found(void)
{
    const char *key = kv("missing/never-stored");
    kv_object_info info;
    unsigned char buf[8];
    size_t got;
    CHECK(kv_store_stat(st, key, &info) == KV_ENOTFOUND);
    CHECK(strstr(kv_errmsg(), key));
    CHECK(kv_store_get(st, key, 0, sizeof buf, buf, &got) == KV_ENOTFOUND);
    CHECK(strstr(kv_errmsg(), key));
}

static void list_with_prefix(void)
{
    const char *names[] = {"a", "ab/c", "ab/d/e", "abc", "b", "ab/d/f/g"};
    listed l;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK_OK(kv_store_put(st, kv("list/%s", names[i]), names[i], strlen(names[i]), NULL));

    CHECK_OK(list_all(kv("list/"), &l));
    CHECK_EQ_U64(l.n, 6);
    CHECK(!l.out_of_order);
    CHECK_STR(l.keys[0], kv("list/a"));
    CHECK_STR(l.keys[1], kv("list/ab/c"));
    CHECK_STR(l.keys[2], kv("list/ab/d/e"));
    CHECK_STR(l.keys[3], kv("list/ab/d/f/g"));
    CHECK_STR(l.keys[4], kv("list/abc"));
    CHECK_STR(l.keys[5], kv("list/b"));
    CHECK_EQ_U64(l.sizes[2], strlen("ab/d/e"));
    listed_free(&l);

    /* a prefix that ends part way through a name */
    CHECK_OK(list_all(kv("list/a"), &l));
    CHECK_EQ_U64(l.n, 5);
    CHECK(!l.out_of_order);
    listed_free(&l);
    CHECK_OK(list_all(kv("list/ab"), &l));
    CHECK_EQ_U64(l.n, 4);
    listed_free(&l);
    CHECK_OK(list_all(kv("list/ab/d"), &l));
    CHECK_EQ_U64(l.n, 2);
    CHECK_STR(l.keys[0], kv("list/ab/d/e"));
    CHECK_STR(l.keys[1], kv("list/ab/d/f/g"));
    listed_free(&l);
    CHECK_OK(list_all(kv("list/ab/"), &l));
    CHECK_EQ_U64(l.n, 3);
    listed_free(&l);
    CHECK_OK(list_all(kv("list/zz"), &l));
    CHECK_EQ_U64(l.n, 0);
    listed_free(&l);
    CHECK_OK(list_all(kv("list-nothing-here/"), &l));
    CHECK_EQ_U64(l.n, 0);
    listed_free(&l);

    /* a callback's non-zero return stops the listing and is returned */
    memset(&l, 0, sizeof l);
    l.stop_after = 2;
    CHECK(kv_store_list(st, kv("list/"), collect_cb, &l) == 42);
    CHECK_EQ_U64(l.n, 2);
    listed_free(&l);

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK_OK(kv_store_remove(st, kv("list/%s", names[i])));
}

typedef struct many_job {
    int from, to, rc;
    char msg[1024];
    int remove;
} many_job;

static void *many_worker(void *arg)
{
    many_job *j = arg;
    for (int i = j->from; i < j->to && !j->rc; i++) {
        char k[512]; /* not kv(): its buffers are not for several threads */
        snprintf(k, sizeof k, "%s/many/k%06d", run, i);
        j->rc = j->remove ? kv_store_remove(st, k) : kv_store_put(st, k, "x", 1, NULL);
        if (j->rc)
            snprintf(j->msg, sizeof j->msg, "%s", kv_errmsg());
    }
    return NULL;
}

/* Puts or removes the many/ keys on 8 threads. */
static int many_keys(int remove)
{
    pthread_t t[8];
    many_job jobs[8];
    int rc = KV_OK;
    for (int i = 0; i < 8; i++) {
        jobs[i] = (many_job){list_count * i / 8, list_count * (i + 1) / 8, 0, "", remove};
        pthread_create(&t[i], NULL, many_worker, &jobs[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        if (jobs[i].rc && !rc)
            rc = kv_errset_msg(jobs[i].rc, jobs[i].msg);
    }
    return rc;
}

static void list_many_keys(void)
{
    listed l;
    fprintf(stderr, "listing %d keys\n", list_count);
    CHECK_OK(many_keys(0));
    CHECK_OK(list_all(kv("many/"), &l));
    CHECK_EQ_U64(l.n, (uint64_t)list_count);
    CHECK(!l.out_of_order);
    CHECK_STR(l.keys[0], kv("many/k%06d", 0));
    CHECK_STR(l.keys[list_count - 1], kv("many/k%06d", list_count - 1));
    listed_free(&l);
    CHECK_OK(many_keys(1));
    CHECK_OK(list_all(kv("many/"), &l));
    CHECK_EQ_U64(l.n, 0);
    listed_free(&l);
}

static void remove_object(void)
{
    const char *key = kv("remove/obj");
    kv_object_info info;
    CHECK_OK(kv_store_put(st, key, "abc", 3, NULL));
    CHECK_OK(kv_store_remove(st, key));
    CHECK(kv_store_stat(st, key, &info) == KV_ENOTFOUND);
    CHECK_OK(kv_store_remove(st, key));
    CHECK_OK(kv_store_remove(st, kv("remove/never-stored")));
}

static void overwrite(void)
{
    const char *key = kv("overwrite/obj");
    unsigned char *back = NULL;
    kv_object_info info;
    CHECK_OK(kv_store_put(st, key, "the first, longer version", 25, NULL));
    CHECK_OK(kv_store_put(st, key, "second", 6, NULL));
    CHECK_OK(kv_store_stat(st, key, &info));
    CHECK_EQ_U64(info.size, 6);
    CHECK_OK(get_all(key, 6, &back));
    CHECK(memcmp(back, "second", 6) == 0);
    free(back);
    CHECK_OK(kv_store_remove(st, key));
}

static void odd_characters_in_keys(void)
{
    const char *names[] = {
        "with space", "plus+and=equals", "\xc3\xbcn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac",
        "percent%41%2F", "amp&semi;q?hash#", "tilde~comma,colon:at@", "sub dir/x y+z=",
    };
    size_t count = sizeof names / sizeof names[0];
    listed l;
    for (size_t i = 0; i < count; i++) {
        const char *key = kv("odd/%s", names[i]);
        unsigned char *back = NULL;
        kv_object_info info;
        CHECK_OK(kv_store_put(st, key, names[i], strlen(names[i]), NULL));
        CHECK_OK(kv_store_stat(st, key, &info));
        CHECK_EQ_U64(info.size, strlen(names[i]));
        CHECK_OK(get_all(key, strlen(names[i]), &back));
        CHECK(memcmp(back, names[i], strlen(names[i])) == 0);
        free(back);
    }
    CHECK_OK(list_all(kv("odd/"), &l));
    CHECK_EQ_U64(l.n, count);
    CHECK(!l.out_of_order);
    for (size_t i = 0; i < count; i++) {
        int found = 0;
        for (size_t j = 0; j < l.n; j++)
            found |= strcmp(l.keys[j], kv("odd/%s", names[i])) == 0;
        if (!found)
            fprintf(stderr, "not listed: '%s'\n", names[i]);
        CHECK(found);
    }
    listed_free(&l);
    for (size_t i = 0; i < count; i++)
        CHECK_OK(kv_store_remove(st, kv("odd/%s", names[i])));
}

/* ---- the transfer engine --------------------------------------------------- */

/* One object of 3.5 parts, uploaded by the engine; later cases read it. */
static unsigned char *big;
static size_t big_len;
static uint32_t big_crc;

static void multipart_upload(void)
{
    kv_xfer_opts o = {.workers = 4, .part_size = small_part()};
    kv_xfer_item it = {.local_path = local("big"), .key = kv("multipart/big")};
    unsigned char *back = NULL;
    kv_object_info info;
    if (!(st->ops->caps & KV_CAP_MULTIPART))
        fprintf(stderr, "note: store '%s' has no multipart upload; the engine puts whole\n",
                st->ops->scheme);
    big_len = (size_t)(small_part() * 7 / 2);
    big = random_bytes(big_len, 3);
    big_crc = kv_crc32c(0, big, big_len);
    it.size = big_len;
    CHECK_OK(write_local(it.local_path, big, big_len));
    CHECK_OK(kv_xfer_upload(st, &it, 1, &o));
    CHECK(it.status == KV_OK);
    CHECK_EQ_U64(it.crc32c, big_crc);
    CHECK_OK(kv_store_stat(st, it.key, &info));
    CHECK_EQ_U64(info.size, big_len);
    CHECK_OK(get_all(it.key, big_len, &back));
    CHECK(memcmp(back, big, big_len) == 0);
    free(back);
}

static void download_with_crc(void)
{
    kv_xfer_opts o = {.workers = 4, .part_size = small_part()};
    kv_xfer_item it = {.local_path = local("big.back"), .key = kv("multipart/big"),
                       .size = big_len, .check_crc = 1, .expect_crc32c = big_crc};
    CHECK(big != NULL);
    CHECK_OK(kv_xfer_download(st, &it, 1, &o));
    CHECK_EQ_U64(it.crc32c, big_crc);
    CHECK(same_file(it.local_path, big, big_len));

    /* read and check only */
    it.local_path = NULL;
    CHECK_OK(kv_xfer_download(st, &it, 1, &o));
}

static void download_detects_corruption(void)
{
    kv_xfer_opts o = {.workers = 4, .part_size = small_part()};
    const char *key = kv("multipart/big");
    kv_xfer_item it = {.local_path = local("big.bad"), .key = key, .size = big_len,
                       .check_crc = 1, .expect_crc32c = big_crc ^ 1};
    CHECK(big != NULL);
    CHECK(kv_xfer_download(st, &it, 1, &o) == KV_ECORRUPT);
    CHECK(strstr(kv_errmsg(), "CRC32C mismatch"));
    CHECK(strstr(kv_errmsg(), key));
    CHECK(it.status == KV_ECORRUPT);

    /* the manifest says more bytes than the object has, or fewer */
    it.check_crc = 0;
    it.size = big_len + 1;
    CHECK(kv_xfer_download(st, &it, 1, &o) == KV_ECORRUPT);
    CHECK(strstr(kv_errmsg(), key));
    it.size = big_len - 1;
    CHECK(kv_xfer_download(st, &it, 1, &o) == KV_ECORRUPT);
    CHECK(strstr(kv_errmsg(), key));

    it.key = kv("multipart/never-stored");
    it.size = 10;
    CHECK(kv_xfer_download(st, &it, 1, &o) == KV_ENOTFOUND);
    CHECK(strstr(kv_errmsg(), it.key));
}

typedef struct drain {
    int fd;
    unsigned char *buf;
    size_t len, cap;
} drain;

static void *drain_pipe(void *arg)
{
    drain *d = arg;
    for (;;) {
        ssize_t n;
        if (d->len == d->cap) {
            d->cap = d->cap ? 2 * d->cap : 65536;
            d->buf = realloc(d->buf, d->cap);
        }
        n = read(d->fd, d->buf + d->len, d->cap - d->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        d->len += (size_t)n;
    }
}

static void cat_to_pipe(void)
{
    kv_xfer_opts o = {.workers = 4, .part_size = small_part()};
    drain d = {0};
    pthread_t t;
    int fds[2];
    uint64_t bytes = 0;
    uint32_t crc = 0;
    int rc;
    CHECK(big != NULL);
    CHECK(pipe(fds) == 0);
    d.fd = fds[0];
    pthread_create(&t, NULL, drain_pipe, &d);
    rc = kv_xfer_cat(st, kv("multipart/big"), fds[1], &o, &bytes, &crc);
    close(fds[1]);
    pthread_join(t, NULL);
    close(fds[0]);
    CHECK_OK(rc);
    CHECK_EQ_U64(bytes, big_len);
    CHECK_EQ_U64(crc, big_crc);
    CHECK_EQ_U64(d.len, big_len);
    CHECK(memcmp(d.buf, big, big_len) == 0);
    free(d.buf);
    CHECK(kv_xfer_cat(st, kv("multipart/never-stored"), fds[1], &o, &bytes, &crc) ==
          KV_ENOTFOUND);
}

static void multipart_cleanup(void)
{
    CHECK_OK(kv_store_remove(st, kv("multipart/big")));
    free(big);
    big = NULL;
}

static void abort_leaves_nothing(void)
{
    kv_xfer_opts o = {.workers = 2, .part_size = small_part()};
    /* stat'd at 3 parts but the file has 2.5: the engine's upload fails and aborts */
    kv_xfer_item it = {.local_path = local("shrunk"), .key = kv("abort/engine"),
                       .size = 3 * small_part()};
    unsigned char *data = random_bytes((size_t)(small_part() * 5 / 2), 4);
    listed l;
    kv_object_info info;
    CHECK_OK(write_local(it.local_path, data, (size_t)(small_part() * 5 / 2)));
    CHECK(kv_xfer_upload(st, &it, 1, &o) == KV_ECORRUPT);
    CHECK(strstr(kv_errmsg(), it.local_path));
    CHECK(strstr(kv_errmsg(), it.key));

    if (st->ops->caps & KV_CAP_MULTIPART) {
        kv_upload *up = NULL;
        const char *key = kv("abort/direct");
        CHECK_OK(kv_store_upload_begin(st, key, 2 * small_part(), small_part(), &up));
        CHECK_OK(kv_store_upload_part(st, up, 1, 0, data, (size_t)small_part(), NULL));
        kv_store_upload_abort(st, up);
        CHECK(kv_store_stat(st, key, &info) == KV_ENOTFOUND);
    } else {
        fprintf(stderr, "note: store '%s' has no multipart upload; direct abort not tested\n",
                st->ops->scheme);
    }
    CHECK_OK(list_all(kv("abort/"), &l));
    CHECK_EQ_U64(l.n, 0);
    listed_free(&l);
    free(data);
}

/* ---- leftovers ------------------------------------------------------------- */

typedef struct garbage_found {
    char left[512];       /* the key of the upload left behind */
    int left_seen, others;
} garbage_found;

static int note_garbage(const kv_garbage_item *item, void *payload)
{
    garbage_found *g = payload;
    if (strcmp(item->key, g->left) == 0)
        g->left_seen++;
    else
        g->others++;
    fprintf(stderr, "  %s '%s' for '%s', %llu bytes\n", item->kind, item->name, item->key,
            (unsigned long long)item->size);
    return 0;
}

/* garbage(prefix, cutoff, dry_run): how many leftovers, which. */
static int garbage(const char *prefix, int64_t cutoff, int dry_run, garbage_found *g,
                   uint64_t *n)
{
    g->left_seen = g->others = 0;
    return kv_store_garbage(st, prefix, cutoff, dry_run, note_garbage, g, n);
}

/* An upload a killed process left (begun, a part stored, never completed
 * nor aborted) is the backend's garbage: kept while younger than the
 * cutoff, reported by a dry run, removed by a real one, and nothing else
 * (an object under the same prefix, a prefix that does not cover it) is
 * touched. Azure's uncommitted blocks expire by themselves: no garbage. */
static void garbage_removes_leftovers(void)
{
    int64_t now = time(NULL), past = now - 86400, future = now + 86400;
    garbage_found g = {.left_seen = 0};
    char real[512], prefix[512];
    unsigned char *data = random_bytes((size_t)small_part(), 6);
    int has_garbage = st->ops->version >= 2 && st->ops->garbage;
    kv_upload *up = NULL;
    kv_object_info info;
    uint64_t n = 0;
    listed l;

    snprintf(real, sizeof real, "%s", kv("garbage/real"));
    snprintf(prefix, sizeof prefix, "%s", kv("garbage/"));
    snprintf(g.left, sizeof g.left, "%s", kv("garbage/left"));
    if (!(st->ops->caps & KV_CAP_MULTIPART)) {
        fprintf(stderr, "note: store '%s' has no multipart upload; case not applicable\n",
                st->ops->scheme);
        free(data);
        CHECK_OK(garbage(prefix, future, 0, &g, &n));
        return;
    }
    CHECK_OK(kv_store_put(st, real, "real", 4, NULL));
    CHECK_OK(kv_store_upload_begin(st, g.left, 2 * small_part(), small_part(), &up));
    CHECK_OK(kv_store_upload_part(st, up, 1, 0, data, (size_t)small_part(), NULL));
    free(data);

    CHECK_OK(garbage(prefix, past, 0, &g, &n)); /* too young */
    CHECK_EQ_U64(n, 0);
    CHECK_OK(garbage(kv("garbage/x"), future, 0, &g, &n)); /* another prefix */
    CHECK_EQ_U64(n, 0);
    CHECK_OK(garbage(prefix, future, 1, &g, &n)); /* a dry run reports, keeps */
    CHECK_EQ_U64(n, has_garbage ? 1 : 0);
    CHECK(g.left_seen == has_garbage && g.others == 0);
    CHECK_OK(garbage(prefix, future, 1, &g, &n));
    CHECK_EQ_U64(n, has_garbage ? 1 : 0);
    CHECK_OK(garbage(prefix, future, 0, &g, &n)); /* removed */
    CHECK_EQ_U64(n, has_garbage ? 1 : 0);
    CHECK(g.left_seen == has_garbage && g.others == 0);
    CHECK_OK(garbage(prefix, future, 1, &g, &n)); /* and gone */
    CHECK_EQ_U64(n, 0);
    if (!has_garbage)
        fprintf(stderr, "note: store '%s' has no garbage method\n", st->ops->scheme);

    CHECK_OK(kv_store_stat(st, real, &info));
    CHECK_EQ_U64(info.size, 4);
    CHECK(kv_store_stat(st, g.left, &info) == KV_ENOTFOUND);
    CHECK_OK(list_all(prefix, &l));
    CHECK(l.n == 1 && strcmp(l.keys[0], real) == 0);
    listed_free(&l);
    kv_store_upload_abort(st, up); /* frees the handle; its parts are gone */
    CHECK_OK(kv_store_remove(st, real));
}

static void direct_multipart_out_of_order(void)
{
    uint64_t ps = small_part();
    size_t len = (size_t)(2 * ps + 12345);
    unsigned char *data = random_bytes(len, 5), *back = NULL;
    const char *key = kv("direct/obj");
    kv_upload *up = NULL;
    kv_object_info info;
    if (!(st->ops->caps & KV_CAP_MULTIPART)) {
        fprintf(stderr, "note: store '%s' has no multipart upload; case not applicable\n",
                st->ops->scheme);
        free(data);
        return;
    }
    CHECK_OK(kv_store_upload_begin(st, key, len, ps, &up));
    CHECK_OK(kv_store_upload_part(st, up, 3, 2 * ps, data + 2 * ps, 12345, NULL));
    CHECK_OK(kv_store_upload_part(st, up, 1, 0, data, (size_t)ps, NULL));
    /* nothing is visible before complete */
    CHECK(kv_store_stat(st, key, &info) == KV_ENOTFOUND);
    CHECK_OK(kv_store_upload_part(st, up, 2, ps, data + ps, (size_t)ps, NULL));
    CHECK_OK(kv_store_upload_complete(st, up));
    CHECK_OK(get_all(key, len, &back));
    CHECK(memcmp(back, data, len) == 0);
    CHECK_OK(kv_store_remove(st, key));
    free(back);
    free(data);
}

static void concurrent_small_files(void)
{
    enum { N = 50 };
    kv_xfer_opts o = {.workers = 8};
    kv_xfer_item up[N], down[N];
    unsigned char *data[N];
    listed l;
    char names[N][96], backs[N][96];
    for (int i = 0; i < N; i++) {
        size_t len = (size_t)(i * 1311) % 65536;
        data[i] = random_bytes(len, 100 + (uint64_t)i);
        snprintf(names[i], sizeof names[i], "%s/small%02d", tmpdir, i);
        snprintf(backs[i], sizeof backs[i], "%s/small%02d.back", tmpdir, i);
        CHECK_OK(write_local(names[i], data[i], len));
        up[i] = (kv_xfer_item){.local_path = names[i], .key = strdup(kv("concurrent/f%02d", i)),
                               .size = len};
    }
    CHECK_OK(kv_xfer_upload(st, up, N, &o));
    CHECK_OK(list_all(kv("concurrent/"), &l));
    CHECK_EQ_U64(l.n, N);
    listed_free(&l);
    for (int i = 0; i < N; i++) {
        CHECK(up[i].status == KV_OK);
        CHECK_EQ_U64(up[i].crc32c, kv_crc32c(0, data[i], up[i].size));
        down[i] = (kv_xfer_item){.local_path = backs[i], .key = up[i].key, .size = up[i].size,
                                 .check_crc = 1, .expect_crc32c = up[i].crc32c};
    }
    CHECK_OK(kv_xfer_download(st, down, N, &o));
    for (int i = 0; i < N; i++) {
        CHECK(same_file(backs[i], data[i], up[i].size));
        CHECK_OK(kv_store_remove(st, up[i].key));
        free((char *)up[i].key);
        free(data[i]);
    }
}

static void sync_succeeds(void)
{
    CHECK_OK(kv_store_put(st, kv("sync/obj"), "x", 1, NULL));
    CHECK_OK(kv_store_sync(st));
    CHECK_OK(kv_store_remove(st, kv("sync/obj")));
}

static void nothing_left_behind(void)
{
    listed l;
    CHECK_OK(list_all(kv("%s", ""), &l));
    for (size_t i = 0; i < l.n; i++)
        fprintf(stderr, "left behind: %s\n", l.keys[i]);
    CHECK_EQ_U64(l.n, 0);
    listed_free(&l);
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"put_get_round_trip", put_get_round_trip},
        {"empty_object", empty_object},
        {"ranged_get", ranged_get},
        {"missing_key_is_not_found", missing_key_is_not_found},
        {"list_with_prefix", list_with_prefix},
        {"list_many_keys", list_many_keys},
        {"remove_object", remove_object},
        {"overwrite", overwrite},
        {"odd_characters_in_keys", odd_characters_in_keys},
        {"multipart_upload", multipart_upload},
        {"multipart_download_with_crc", download_with_crc},
        {"multipart_download_detects_corruption", download_detects_corruption},
        {"multipart_cat_to_pipe", cat_to_pipe},
        {"multipart_cleanup", multipart_cleanup},
        {"abort_leaves_nothing", abort_leaves_nothing},
        {"garbage_removes_leftovers", garbage_removes_leftovers},
        {"direct_multipart_out_of_order", direct_multipart_out_of_order},
        {"concurrent_small_files", concurrent_small_files},
        {"sync_succeeds", sync_succeeds},
        {"nothing_left_behind", nothing_left_behind},
        {NULL, NULL},
    };
    const char *url = argc > 1 ? argv[1] : getenv("KV_CONFORMANCE_URL");
    const char *count = getenv("KV_CONFORMANCE_LIST_COUNT");
    struct timespec ts;
    int rc;

    if (!url) {
        fprintf(stderr, "usage: conformance STORE-URL [CASE-FILTER]  (or KV_CONFORMANCE_URL)\n");
        return 2;
    }
    if (count)
        list_count = atoi(count);
    if (list_count < 2)
        list_count = 2;
    if (getenv("KV_CONFORMANCE_VERBOSE"))
        kvault_global_set(&(kvault_global){.version = KVAULT_GLOBAL_VERSION, .verbosity = 1});
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(run, sizeof run, "kvconf-%08lx%04x", (unsigned long)ts.tv_sec ^ (unsigned long)ts.tv_nsec,
             (unsigned)getpid() & 0xffff);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kvconf-local-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    if (kvt_mem_register() != KV_OK || kvt_fault_register() != KV_OK ||
        kvt_store_open(url, &st) != KV_OK) {
        fprintf(stderr, "cannot open '%s': %s\n", url, kv_errmsg());
        kv_rm_rf(tmpdir);
        return 2;
    }
    fprintf(stderr, "store %s (backend '%s'), run %s\n", url, st->ops->scheme, run);
    /* argv[2], if any, filters cases by name */
    rc = kvt_run(cases, argc > 1 ? argc - 1 : argc, argc > 1 ? argv + 1 : argv);
    kv_store_close(st);
    kv_rm_rf(tmpdir);
    return rc;
}
