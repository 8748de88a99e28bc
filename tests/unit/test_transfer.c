/* The transfer engine and the retrying wrappers: memory budget, failures,
 * progress, digests, retries. Uses the local store and an in-test fake
 * backend that counts calls and fails on request. */
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "test_store.h"
#include "test.h"
#include "transfer/transfer.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/fs.h"

#define MIB (1024ull * 1024ull)

static char tmpdir[64];

static void fill_random(unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        p[i] = (unsigned char)s;
    }
}

/* Writes a local file of n pseudo-random bytes; returns its CRC32C. */
static uint32_t make_file(const char *path, size_t n, uint64_t seed)
{
    unsigned char *buf = malloc(n ? n : 1);
    uint32_t crc;
    fill_random(buf, n, seed);
    crc = kv_crc32c(0, buf, n);
    if (kv_write_file_atomic(path, buf, n) != KV_OK)
        crc = 0xdeadbeef;
    free(buf);
    return crc;
}

static char *local(const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static int open_store(kv_store **st)
{
    char url[128];
    snprintf(url, sizeof url, "file://%s/store", tmpdir);
    return kvt_store_open(url, st);
}

/* ---- memory budget ---------------------------------------------------------- */

static void upload_stays_within_budget(void)
{
    kv_store *st;
    kv_xfer_opts o = {.workers = 4, .part_size = MIB};
    kv_xfer_item it = {.local_path = local("big"), .key = "budget/big", .size = 64 * MIB};
    uint32_t crc = make_file(it.local_path, 64 * MIB, 1);
    CHECK_OK(open_store(&st));

    kv_xfer_budget_reset_peak();
    CHECK_OK(kv_xfer_upload(st, &it, 1, &o));
    CHECK_EQ_U64(it.crc32c, crc);
    fprintf(stderr, "default budget: peak %llu bytes\n", (unsigned long long)kv_xfer_budget_peak());
    CHECK(kv_xfer_budget_peak() >= MIB);
    CHECK(kv_xfer_budget_peak() <= (4 + 2) * MIB);

    kv_xfer_set_memory_budget(2 * MIB);
    kv_xfer_budget_reset_peak();
    CHECK_OK(kv_xfer_upload(st, &it, 1, &o));
    CHECK(kv_xfer_budget_peak() <= 2 * MIB);

    /* one part larger than the whole budget still goes, alone */
    kv_xfer_set_memory_budget(MIB / 2);
    kv_xfer_budget_reset_peak();
    CHECK_OK(kv_xfer_upload(st, &it, 1, &o));
    CHECK_EQ_U64(kv_xfer_budget_peak(), MIB);
    kv_xfer_set_memory_budget(0);
    kv_store_remove(st, it.key);
    kv_store_close(st);
}

static void download_and_cat_stay_within_budget(void)
{
    kv_store *st;
    kv_xfer_opts o = {.workers = 4, .part_size = MIB};
    kv_xfer_item up = {.local_path = local("big2"), .key = "budget/big2", .size = 32 * MIB};
    kv_xfer_item down = {.local_path = local("big2.back"), .key = "budget/big2",
                         .size = 32 * MIB, .check_crc = 1};
    uint64_t bytes = 0;
    uint32_t crc = 0;
    int devnull = open("/dev/null", O_WRONLY);
    down.expect_crc32c = make_file(up.local_path, 32 * MIB, 2);
    CHECK_OK(open_store(&st));
    kv_xfer_set_memory_budget(3 * MIB);
    CHECK_OK(kv_xfer_upload(st, &up, 1, &o));

    kv_xfer_budget_reset_peak();
    CHECK_OK(kv_xfer_download(st, &down, 1, &o));
    CHECK(kv_xfer_budget_peak() <= 3 * MIB);

    kv_xfer_budget_reset_peak();
    CHECK_OK(kv_xfer_cat(st, up.key, devnull, &o, &bytes, &crc));
    CHECK_EQ_U64(bytes, 32 * MIB);
    CHECK_EQ_U64(crc, down.expect_crc32c);
    CHECK(kv_xfer_budget_peak() <= 3 * MIB);
    close(devnull);
    kv_store_remove(st, up.key);
    kv_xfer_set_memory_budget(0);
    kv_store_close(st);
}

/* ---- failures ------------------------------------------------------------------ */

static int count_cb(const char *key, const kv_object_info *info, void *payload)
{
    (void)key;
    (void)info;
    ++*(int *)payload;
    return 0;
}

static void shrunk_file_fails_naming_it(void)
{
    kv_store *st;
    kv_xfer_opts o = {.workers = 3, .part_size = MIB};
    /* stat'd at 5 MiB, shrank to 3 MiB before it was read */
    kv_xfer_item big = {.local_path = local("shrunk"), .key = "shrink/big", .size = 5 * MIB};
    kv_xfer_item small = {.local_path = local("shrunk-small"), .key = "shrink/small", .size = 20};
    int listed = 0;
    make_file(big.local_path, 3 * MIB, 3);
    make_file(small.local_path, 10, 4);
    CHECK_OK(open_store(&st));

    CHECK(kv_xfer_upload(st, &big, 1, &o) == KV_ECORRUPT);
    CHECK(strstr(kvault_errmsg(), big.local_path));
    CHECK(strstr(kvault_errmsg(), big.key));
    CHECK(big.status == KV_ECORRUPT);

    CHECK(kv_xfer_upload(st, &small, 1, &o) == KV_ECORRUPT);
    CHECK(strstr(kvault_errmsg(), small.local_path));
    CHECK(strstr(kvault_errmsg(), small.key));

    /* the multipart upload was aborted: nothing, not even a temp file */
    CHECK_OK(kv_store_list(st, "shrink/", count_cb, &listed));
    CHECK(listed == 0);
    CHECK(kv_dir_is_empty(local("store")) == 1 || kv_dir_is_empty(local("store")) == KV_ENOTFOUND);
    kv_store_close(st);
}

static void failure_cancels_the_rest(void)
{
    kv_store *st;
    kv_xfer_opts o = {.workers = 1};
    kv_xfer_item it[4] = {
        {.local_path = local("c0"), .key = "cancel/0", .size = 100},
        {.local_path = local("missing-file"), .key = "cancel/1", .size = 100},
        {.local_path = local("c2"), .key = "cancel/2", .size = 100},
        {.local_path = local("c3"), .key = "cancel/3", .size = 100},
    };
    make_file(it[0].local_path, 100, 5);
    make_file(it[2].local_path, 100, 6);
    make_file(it[3].local_path, 100, 7);
    CHECK_OK(open_store(&st));
    CHECK(kv_xfer_upload(st, it, 4, &o) == KV_ENOTFOUND);
    CHECK(strstr(kvault_errmsg(), "missing-file"));
    CHECK(strstr(kvault_errmsg(), "cancel/1"));
    CHECK(it[0].status == KV_OK);
    CHECK(it[1].status == KV_ENOTFOUND);
    CHECK(it[2].status == KV_ECANCELED);
    CHECK(it[3].status == KV_ECANCELED);
    kv_store_remove(st, "cancel/0");
    kv_store_close(st);
}

/* ---- progress --------------------------------------------------------------------- */

typedef struct seen {
    pthread_mutex_t lock;
    int calls, backwards;
    uint64_t last_done, last_total;
} seen;

static int on_progress(uint64_t done, uint64_t total, void *payload)
{
    seen *s = payload;
    pthread_mutex_lock(&s->lock);
    s->calls++;
    if (done < s->last_done)
        s->backwards = 1;
    s->last_done = done;
    s->last_total = total;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void progress_reaches_total(void)
{
    kv_store *st;
    seen s = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0};
    kv_xfer_opts o = {.workers = 2, .part_size = MIB, .progress = on_progress,
                      .progress_payload = &s};
    kv_xfer_item it[3] = {
        {.local_path = local("p0"), .key = "progress/0", .size = 10 * MIB},
        {.local_path = local("p1"), .key = "progress/1", .size = 12345},
        {.local_path = local("p2"), .key = "progress/2", .size = 0},
    };
    make_file(it[0].local_path, it[0].size, 8);
    make_file(it[1].local_path, it[1].size, 9);
    make_file(it[2].local_path, it[2].size, 10);
    CHECK_OK(open_store(&st));
    CHECK_OK(kv_xfer_upload(st, it, 3, &o));
    CHECK(s.calls >= 1);
    CHECK(!s.backwards);
    CHECK_EQ_U64(s.last_total, 10 * MIB + 12345);
    CHECK_EQ_U64(s.last_done, s.last_total);
    for (int i = 0; i < 3; i++)
        kv_store_remove(st, it[i].key);
    kv_store_close(st);
}

/* Returns non-zero at its first call: the caller asks to stop. */
static int stop_at_once(uint64_t done, uint64_t total, void *payload)
{
    (void)done, (void)total;
    return ++*(int *)payload >= 1;
}

/* A progress callback that asks to stop: the transfer ends with
 * KV_ECANCELED, the multipart upload is aborted, nothing is stored. */
static void progress_cancels(void)
{
    kv_store *st;
    int calls = 0;
    kv_xfer_opts o = {.workers = 2, .part_size = MIB, .progress = stop_at_once,
                      .progress_payload = &calls};
    kv_xfer_item it = {.local_path = local("c0"), .key = "cancel-progress/0", .size = 64 * MIB};
    kv_object_info info;
    make_file(it.local_path, it.size, 11);
    CHECK_OK(open_store(&st));
    CHECK(kv_xfer_upload(st, &it, 1, &o) == KV_ECANCELED);
    CHECK(strstr(kv_errmsg(), "canceled") && strstr(kv_errmsg(), it.key));
    CHECK(calls >= 1);
    CHECK(kv_store_stat(st, it.key, &info) == KV_ENOTFOUND);
    kv_store_close(st);
}

/* ---- a fake backend ------------------------------------------------------------------ */

typedef struct fake {
    kv_store base;
    pthread_mutex_t lock;
    int puts, begins, parts, completes, aborts;
    int fail_put_times;       /* put returns KV_ETRANSIENT this many times */
    int fail_put_code;
    uint32_t fail_part;       /* this part number fails with KV_EAUTH */
    int bad_digests, digests, no_digests;
} fake;

struct kv_upload {
    fake *f;
};

/* Each digest present exactly when the store's caps ask for it, and right. */
static void check_digest(fake *f, const void *buf, size_t len, const kv_digest *d)
{
    unsigned caps = kv_store_caps(&f->base);
    unsigned char md5[16], sha256[32];
    pthread_mutex_lock(&f->lock);
    if (!d) {
        f->no_digests++;
    } else {
        EVP_Digest(buf, len, md5, NULL, EVP_md5(), NULL);
        EVP_Digest(buf, len, sha256, NULL, EVP_sha256(), NULL);
        f->digests++;
        if (d->crc32c != kv_crc32c(0, buf, len) ||
            d->has_md5 != !!(caps & KV_CAP_DIGEST_MD5) ||
            (d->has_md5 && memcmp(md5, d->md5, sizeof md5)) ||
            d->has_sha256 != !!(caps & KV_CAP_DIGEST_SHA256) ||
            (d->has_sha256 && memcmp(sha256, d->sha256, sizeof sha256)))
            f->bad_digests++;
    }
    pthread_mutex_unlock(&f->lock);
}

static int fake_put(kv_store *st, const char *key, const void *buf, size_t len,
                    const kv_digest *d)
{
    fake *f = (fake *)st;
    int fail;
    check_digest(f, buf, len, d);
    pthread_mutex_lock(&f->lock);
    f->puts++;
    fail = f->fail_put_times > 0;
    if (fail)
        f->fail_put_times--;
    pthread_mutex_unlock(&f->lock);
    return fail ? kv_seterr(f->fail_put_code, "object '%s': injected failure", key) : KV_OK;
}

static int fake_begin(kv_store *st, const char *key, uint64_t total, uint64_t ps, kv_upload **out)
{
    fake *f = (fake *)st;
    (void)key;
    (void)total;
    (void)ps;
    *out = malloc(sizeof **out);
    (*out)->f = f;
    pthread_mutex_lock(&f->lock);
    f->begins++;
    pthread_mutex_unlock(&f->lock);
    return KV_OK;
}

static int fake_part(kv_upload *up, uint32_t n, uint64_t off, const void *buf, size_t len,
                     const kv_digest *d)
{
    fake *f = up->f;
    (void)off;
    check_digest(f, buf, len, d);
    pthread_mutex_lock(&f->lock);
    f->parts++;
    pthread_mutex_unlock(&f->lock);
    return n == f->fail_part ? kv_seterr(KV_EAUTH, "part %u: injected 403", n) : KV_OK;
}

static int fake_complete(kv_upload *up)
{
    pthread_mutex_lock(&up->f->lock);
    up->f->completes++;
    pthread_mutex_unlock(&up->f->lock);
    free(up);
    return KV_OK;
}

static void fake_abort(kv_upload *up)
{
    pthread_mutex_lock(&up->f->lock);
    up->f->aborts++;
    pthread_mutex_unlock(&up->f->lock);
    free(up);
}

#define FAKE_OPS(caps_)                                                                    \
    {                                                                                      \
        .scheme = "fake", .caps = KV_CAP_MULTIPART | KV_CAP_RANGE_GET | (caps_),           \
        .min_part = MIB, .max_part = 64 * MIB, .max_parts = 1000, .put = fake_put,         \
        .version = KV_STORE_OPS_VERSION,                                                   \
        .upload_begin = fake_begin, .upload_part = fake_part,                              \
        .upload_complete = fake_complete, .upload_abort = fake_abort,                      \
    }

static const kv_store_ops fake_digest_ops[] = {
    FAKE_OPS(KV_CAP_DIGEST_MD5),
    FAKE_OPS(KV_CAP_DIGEST_SHA256),
    FAKE_OPS(KV_CAP_DIGEST_MD5 | KV_CAP_DIGEST_SHA256),
};

static const kv_store_ops fake_plain_ops = FAKE_OPS(0);

static void fake_init(fake *f, const kv_store_ops *ops, int retries)
{
    memset(f, 0, sizeof *f);
    f->base.ops = ops;
    f->base.opts.max_retries = retries;
    pthread_mutex_init(&f->lock, NULL);
}

static void digests_only_when_the_store_checks(void)
{
    fake f;
    kv_xfer_opts o = {.workers = 4, .part_size = MIB};
    kv_xfer_item it[2] = {
        {.local_path = local("d0"), .key = "d/0", .size = 5 * MIB + 3},
        {.local_path = local("d1"), .key = "d/1", .size = 1000},
    };
    make_file(it[0].local_path, it[0].size, 11);
    make_file(it[1].local_path, it[1].size, 12);

    for (size_t i = 0; i < sizeof fake_digest_ops / sizeof fake_digest_ops[0]; i++) {
        fake_init(&f, &fake_digest_ops[i], 1);
        CHECK_OK(kv_xfer_upload(&f.base, it, 2, &o));
        CHECK(f.begins == 1 && f.parts == 6 && f.completes == 1 && f.aborts == 0 && f.puts == 1);
        CHECK(f.digests == 7 && f.bad_digests == 0 && f.no_digests == 0);
    }

    fake_init(&f, &fake_plain_ops, 1);
    CHECK_OK(kv_xfer_upload(&f.base, it, 2, &o));
    CHECK(f.digests == 0 && f.no_digests == 7);
}

static void failed_part_aborts_the_upload(void)
{
    fake f;
    kv_xfer_opts o = {.workers = 4, .part_size = MIB};
    kv_xfer_item it = {.local_path = local("a0"), .key = "abort/0", .size = 8 * MIB};
    make_file(it.local_path, it.size, 13);
    fake_init(&f, &fake_plain_ops, 1);
    f.fail_part = 3;
    CHECK(kv_xfer_upload(&f.base, &it, 1, &o) == KV_EAUTH);
    CHECK(strstr(kvault_errmsg(), "injected 403"));
    CHECK(strstr(kvault_errmsg(), it.local_path));
    CHECK(strstr(kvault_errmsg(), it.key));
    CHECK(f.begins == 1 && f.completes == 0 && f.aborts == 1);
    CHECK(it.status == KV_EAUTH);
}

/* ---- retries ------------------------------------------------------------------------------ */

static void transient_errors_are_retried(void)
{
    fake f;
    fake_init(&f, &fake_plain_ops, 6);
    f.fail_put_times = 2;
    f.fail_put_code = KV_ETRANSIENT;
    CHECK_OK(kv_store_put(&f.base, "r/0", "x", 1, NULL));
    CHECK(f.puts == 3);

    fake_init(&f, &fake_plain_ops, 2);
    f.fail_put_times = 100;
    f.fail_put_code = KV_ETRANSIENT;
    CHECK(kv_store_put(&f.base, "r/1", "x", 1, NULL) == KV_ETRANSIENT);
    CHECK(f.puts == 3);
    CHECK(strstr(kvault_errmsg(), "r/1"));

    fake_init(&f, &fake_plain_ops, 6);
    f.fail_put_times = 100;
    f.fail_put_code = KV_EAUTH;
    CHECK(kv_store_put(&f.base, "r/2", "x", 1, NULL) == KV_EAUTH);
    CHECK(f.puts == 1);
}

static void checksum_file_matches(void)
{
    uint32_t crc = 0, want = make_file(local("sum"), 3 * MIB + 17, 14);
    CHECK_OK(kv_xfer_checksum_file(local("sum"), 3 * MIB + 17, &crc));
    CHECK_EQ_U64(crc, want);
    CHECK(kv_xfer_checksum_file(local("sum"), 4 * MIB, &crc) == KV_ECORRUPT);
    CHECK(strstr(kvault_errmsg(), local("sum")));
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"upload_stays_within_budget", upload_stays_within_budget},
        {"download_and_cat_stay_within_budget", download_and_cat_stay_within_budget},
        {"shrunk_file_fails_naming_it", shrunk_file_fails_naming_it},
        {"failure_cancels_the_rest", failure_cancels_the_rest},
        {"progress_reaches_total", progress_reaches_total},
        {"progress_cancels", progress_cancels},
        {"digests_only_when_the_store_checks", digests_only_when_the_store_checks},
        {"failed_part_aborts_the_upload", failed_part_aborts_the_upload},
        {"transient_errors_are_retried", transient_errors_are_retried},
        {"checksum_file_matches", checksum_file_matches},
        {NULL, NULL},
    };
    int rc;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kv-test-transfer-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    rc = kvt_run(cases, argc, argv);
    kv_rm_rf(tmpdir);
    return rc;
}
