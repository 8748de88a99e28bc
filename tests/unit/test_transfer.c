/* The transfer engine and the retrying wrappers: memory budget, failures,
 * progress, digests, retries. Uses the local store, the in-memory store
 * that counts calls and checks digests (tests/support/mem_store.h) and the
 * fault store over it (fault_store.h). */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
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

/* ---- the in-memory store, and faults ------------------------------------------ */

/* scheme://name/ (mem_store.h): a fresh name per store gives fresh counts. */
static int open_mem(const char *scheme, const char *name, int retries, kv_store **st)
{
    char url[128];
    snprintf(url, sizeof url, "%s://%s/", scheme, name);
    return kvt_store_open_with(url, retries, NULL, 0, st);
}

/* The fault store (fault_store.h) over mem://name/, with its rules. */
static int open_faulty(const char *name, const char *fail, const char *lose, int retries,
                       kv_store **st)
{
    char inner[128];
    const kvault_setting settings[] = {
        {.name = "KVT_FAULT_INNER", .value = inner},
        {.name = "KVT_FAULT_FAIL", .value = fail},
        {.name = "KVT_FAULT_LOSE", .value = lose},
    };
    snprintf(inner, sizeof inner, "mem://%s/", name);
    return kvt_store_open_with("fault://test/", retries, settings,
                               sizeof settings / sizeof *settings, st);
}

/* The size of the object at key, or what stat said. */
static int stored_size(kv_store *st, const char *key, uint64_t *size)
{
    kv_object_info info;
    int rc = kv_store_stat(st, key, &info);
    *size = rc ? 0 : info.size;
    return rc;
}

static void digests_only_when_the_store_checks(void)
{
    static const char *const schemes[] = {"mem+md5", "mem+sha256", "mem+md5+sha256", "mem"};
    kv_xfer_opts o = {.workers = 4, .part_size = MIB};
    kv_xfer_item it[2] = {
        {.local_path = local("d0"), .key = "d/0", .size = 5 * MIB + 3},
        {.local_path = local("d1"), .key = "d/1", .size = 1000},
    };
    make_file(it[0].local_path, it[0].size, 11);
    make_file(it[1].local_path, it[1].size, 12);

    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
        int plain = i == 3, rc;
        char name[32];
        kv_store *st;
        kvt_mem_counts c;
        uint64_t size = 0;
        snprintf(name, sizeof name, "digests%zu", i);
        CHECK_OK(open_mem(schemes[i], name, 1, &st));
        rc = kv_xfer_upload(st, it, 2, &o);
        if (!rc)
            rc = stored_size(st, it[0].key, &size);
        kv_store_close(st);
        CHECK_OK(rc);
        CHECK_EQ_U64(size, it[0].size);
        CHECK_OK(kvt_mem_stats(name, &c));
        CHECK(c.begins == 1 && c.parts == 6 && c.completes == 1 && c.aborts == 0 && c.puts == 1);
        CHECK_EQ_U64(c.bytes_put, it[0].size + it[1].size);
        CHECK_EQ_U64(c.bad_digests, 0);
        CHECK_EQ_U64(c.digests, plain ? 0 : 7);
        CHECK_EQ_U64(c.no_digests, plain ? 7 : 0);
    }
}

static void failed_part_aborts_the_upload(void)
{
    kv_store *st;
    kv_xfer_opts o = {.workers = 4, .part_size = MIB};
    kv_xfer_item it = {.local_path = local("a0"), .key = "abort/0", .size = 8 * MIB};
    kvt_mem_counts c;
    uint64_t size;
    int rc;
    make_file(it.local_path, it.size, 13);
    CHECK_OK(open_faulty("abort", "upload_part:3:auth", NULL, 1, &st));
    rc = kv_xfer_upload(st, &it, 1, &o);
    CHECK(rc == KV_EAUTH);
    CHECK(strstr(kvault_errmsg(), "failed as told"));
    CHECK(strstr(kvault_errmsg(), it.local_path));
    CHECK(strstr(kvault_errmsg(), it.key));
    CHECK(it.status == KV_EAUTH);
    rc = stored_size(st, it.key, &size);
    kv_store_close(st);
    CHECK(rc == KV_ENOTFOUND);
    CHECK_OK(kvt_mem_stats("abort", &c));
    CHECK(c.begins == 1 && c.completes == 0 && c.aborts == 1);
}

/* ---- retries ------------------------------------------------------------------------------ */

/* A put through faulty rules; *calls: how often the fault store was asked. */
static int put_faulty(const char *name, const char *fail, int retries, const char *key,
                      unsigned *calls)
{
    kv_store *st;
    int rc = open_faulty(name, fail, NULL, retries, &st);
    if (rc)
        return rc;
    rc = kv_store_put(st, key, "x", 1, NULL);
    if (kvt_fault_calls(st, "put", calls) != KV_OK)
        *calls = 0;
    kv_store_close(st);
    return rc;
}

static void transient_errors_are_retried(void)
{
    kvt_mem_counts c;
    unsigned calls = 0;
    CHECK_OK(put_faulty("r0", "put:1-2:transient", 6, "r/0", &calls));
    CHECK(calls == 3);
    CHECK_OK(kvt_mem_stats("r0", &c));
    CHECK(c.puts == 1);

    CHECK(put_faulty("r1", "put:1-100:transient", 2, "r/1", &calls) == KV_ETRANSIENT);
    CHECK(strstr(kvault_errmsg(), "r/1"));
    CHECK(calls == 3);
    CHECK_OK(kvt_mem_stats("r1", &c));
    CHECK(c.puts == 0);

    CHECK(put_faulty("r2", "put:1-100:auth", 6, "r/2", &calls) == KV_EAUTH);
    CHECK(calls == 1);
}

/* Replies lost after the store acted: every step is repeated, the repeat
 * finds the work done (a completed upload stays complete), and the object
 * is stored once, whole. */
static void lost_replies_are_repeated(void)
{
    kv_store *st;
    kv_xfer_opts o = {.workers = 4, .part_size = MIB};
    kv_xfer_item it[2] = {
        {.local_path = local("l0"), .key = "lost/0", .size = 5 * MIB + 3},
        {.local_path = local("l1"), .key = "lost/1", .size = 1000},
    };
    kvt_mem_counts c;
    uint64_t size[2] = {0, 0};
    int rc;
    make_file(it[0].local_path, it[0].size, 15);
    make_file(it[1].local_path, it[1].size, 16);
    CHECK_OK(open_faulty("lost", NULL, "upload_begin:1,upload_part:2,upload_complete:1,put:1",
                         6, &st));
    rc = kv_xfer_upload(st, it, 2, &o);
    for (int i = 0; i < 2 && !rc; i++)
        rc = stored_size(st, it[i].key, &size[i]);
    kv_store_close(st);
    CHECK_OK(rc);
    CHECK_EQ_U64(size[0], it[0].size);
    CHECK_EQ_U64(size[1], it[1].size);
    CHECK_OK(kvt_mem_stats("lost", &c));
    /* the first upload's reply was lost: the fault store aborted it */
    CHECK(c.begins == 2 && c.aborts == 1 && c.parts == 7 && c.completes == 1 && c.puts == 2);
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
        {"lost_replies_are_repeated", lost_replies_are_repeated},
        {"checksum_file_matches", checksum_file_matches},
        {NULL, NULL},
    };
    int rc;
    if (kvt_mem_register() != KV_OK || kvt_fault_register() != KV_OK) {
        fprintf(stderr, "cannot register the test stores: %s\n", kv_errmsg());
        return 1;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kv-test-transfer-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    rc = kvt_run(cases, argc, argv);
    kv_rm_rf(tmpdir);
    return rc;
}
