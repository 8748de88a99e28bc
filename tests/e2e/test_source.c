/* The source side of a backup through the library: databases that need the
 * application's code (comparator, merge operator) passed as
 * kvault_db_options, a live handle, WALs cut inside a record, and the
 * open-files limit. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "backup/walscan.h"
#include "kvault.h"
#include "test.h"

#define NCF 2
#define NKEYS 3000

static const char *const cf_names[NCF] = {"default", "other"};

/* ---- the application's code ------------------------------------------------ */

static void no_state(void *s)
{
    (void)s;
}

static const char *cmp_name(void *s)
{
    (void)s;
    return "test.reverse";
}

static int cmp_reverse(void *s, const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, n);
    (void)s;
    return -(c ? c : (alen > blen) - (alen < blen));
}

static const char *merge_name(void *s)
{
    (void)s;
    return "test.count";
}

/* Values are decimal counters; a merge operand adds to them. */
static char *add_all(const char *existing, size_t elen, const char *const *ops, const size_t *lens,
                     int n, unsigned char *ok, size_t *out_len)
{
    char buf[32], *v;
    long long sum = 0;
    if (existing) {
        snprintf(buf, sizeof buf, "%.*s", (int)elen, existing);
        sum = strtoll(buf, NULL, 10);
    }
    for (int i = 0; i < n; i++) {
        snprintf(buf, sizeof buf, "%.*s", (int)lens[i], ops[i]);
        sum += strtoll(buf, NULL, 10);
    }
    v = malloc(32);
    *out_len = (size_t)snprintf(v, 32, "%lld", sum);
    *ok = 1;
    return v;
}

static char *full_merge(void *s, const char *k, size_t kl, const char *e, size_t el,
                        const char *const *ops, const size_t *lens, int n, unsigned char *ok,
                        size_t *out_len)
{
    (void)s, (void)k, (void)kl;
    return add_all(e, el, ops, lens, n, ok, out_len);
}

static char *partial_merge(void *s, const char *k, size_t kl, const char *const *ops,
                           const size_t *lens, int n, unsigned char *ok, size_t *out_len)
{
    (void)s, (void)k, (void)kl;
    return add_all(NULL, 0, ops, lens, n, ok, out_len);
}

static void delete_value(void *s, const char *v, size_t len)
{
    (void)s, (void)len;
    free((void *)v);
}

typedef struct app {
    rocksdb_options_t *opts;
    rocksdb_comparator_t *cmp;
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf[NCF];
} app;

static rocksdb_options_t *app_options(app *a)
{
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_create_missing_column_families(o, 1);
    a->cmp = rocksdb_comparator_create(NULL, no_state, cmp_reverse, cmp_name);
    rocksdb_options_set_comparator(o, a->cmp);
    rocksdb_options_set_merge_operator(
        o, rocksdb_mergeoperator_create(NULL, no_state, full_merge, partial_merge, delete_value,
                                        merge_name));
    return o;
}

static int app_open(const char *path, app *a)
{
    const rocksdb_options_t *cfo[NCF];
    char *err = NULL;
    a->opts = app_options(a);
    for (int i = 0; i < NCF; i++)
        cfo[i] = a->opts;
    a->db = rocksdb_open_column_families(a->opts, path, NCF, cf_names, cfo, a->cf, &err);
    if (err) {
        fprintf(stderr, "  open %s: %s\n", path, err);
        free(err);
        return -1;
    }
    return 0;
}

static void app_close(app *a)
{
    for (int i = 0; i < NCF; i++)
        rocksdb_column_family_handle_destroy(a->cf[i]);
    rocksdb_close(a->db);
    rocksdb_options_destroy(a->opts);
    rocksdb_comparator_destroy(a->cmp);
}

/* Puts key i = "1" in every CF, then merges +i on the even keys: all in the
 * WAL (no flush). */
static int app_write(app *a)
{
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    char *err = NULL;
    for (int i = 0; i < NKEYS && !err; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "k%06d", i);
        snprintf(v, sizeof v, "%d", i);
        for (int c = 0; c < NCF && !err; c++) {
            rocksdb_put_cf(a->db, wo, a->cf[c], k, strlen(k), "1", 1, &err);
            if (!err && i % 2 == 0)
                rocksdb_merge_cf(a->db, wo, a->cf[c], k, strlen(k), v, strlen(v), &err);
        }
    }
    rocksdb_writeoptions_destroy(wo);
    free(err);
    return err ? -1 : 0;
}

/* Reads the restored database with the application's code: every key in
 * reverse order, merged values right. */
static int app_check(const char *path)
{
    app a;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    int bad = 0;
    if (app_open(path, &a))
        return -1;
    for (int c = 0; c < NCF && !bad; c++) {
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(a.db, ro, a.cf[c]);
        int i = NKEYS - 1;
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it) && !bad; rocksdb_iter_next(it), i--) {
            char k[16], v[16];
            size_t kl, vl;
            const char *gk = rocksdb_iter_key(it, &kl), *gv = rocksdb_iter_value(it, &vl);
            snprintf(k, sizeof k, "k%06d", i);
            snprintf(v, sizeof v, "%d", i % 2 ? 1 : 1 + i);
            bad = kl != strlen(k) || memcmp(gk, k, kl) || vl != strlen(v) || memcmp(gv, v, vl);
            if (bad)
                fprintf(stderr, "  %s cf %d: key %d is wrong\n", path, c, i);
        }
        bad = bad || i != -1;
        rocksdb_iter_destroy(it);
    }
    rocksdb_readoptions_destroy(ro);
    app_close(&a);
    return bad;
}

/* ---- fixture ------------------------------------------------------------------ */

static char *base, *cache;

static char *path_in(const char *name)
{
    char *p;
    return asprintf(&p, "%s/%s", base, name) < 0 ? NULL : p;
}

static kvault *open_store(void)
{
    char *store = path_in("store");
    kvault *kv = NULL;
    if (kvault_open(store, &(kvault_options){.version = KVAULT_OPTIONS_VERSION, .cache_dir = cache},
                    &kv) != KV_OK)
        fprintf(stderr, "  cannot open the store: %s\n", kvault_errmsg());
    free(store);
    return kv;
}

/* ---- cases -------------------------------------------------------------------- */

static void test_application_options(void)
{
    char *db = path_in("app-db"), *r1 = path_in("app-r1"), *r2 = path_in("app-r2");
    kvault *kv = open_store();
    kvault_backup_info b, r;
    kvault_verify_report rep;
    app a;
    rocksdb_options_t *opts;
    kvault_db_options dbo = KVAULT_DB_OPTIONS_INIT;

    CHECK(app_open(db, &a) == 0 && app_write(&a) == 0);
    app_close(&a);

    /* without the application's code: backed up byte for byte, keys unread */
    CHECK_OK(kvault_backup(kv, db, &(kvault_backup_opts){.version = KVAULT_BACKUP_OPTS_VERSION, .env = "app"}, &b));
    CHECK_OK(kvault_verify(kv, &(kvault_verify_opts){.version = KVAULT_VERIFY_OPTS_VERSION, .env = "app", .restore_check = 1}, &rep));
    CHECK(strstr(rep.not_checked, "comparator 'test.reverse'"));
    CHECK_EQ_U64(rep.keys, 0);
    CHECK_OK(kvault_restore(kv, &(kvault_restore_opts){.version = KVAULT_RESTORE_OPTS_VERSION, .env = "app"}, r1, &r));
    CHECK(app_check(r1) == 0);

    /* with it: every key read with the real comparator and merge operator */
    opts = app_options(&a);
    dbo.options = opts;
    CHECK_OK(kvault_backup(kv, db, &(kvault_backup_opts){.version = KVAULT_BACKUP_OPTS_VERSION, .env = "app", .db_options = &dbo}, &b));
    CHECK_OK(kvault_verify(kv, &(kvault_verify_opts){.version = KVAULT_VERIFY_OPTS_VERSION, .env = "app", .restore_check = 1,
                                                     .db_options = &dbo}, &rep));
    CHECK_STR(rep.not_checked, "");
    CHECK_EQ_U64(rep.keys, NCF * NKEYS);
    CHECK_OK(kvault_restore(kv, &(kvault_restore_opts){.version = KVAULT_RESTORE_OPTS_VERSION, .env = "app", .db_options = &dbo}, r2, &r));
    CHECK(app_check(r2) == 0);
    rocksdb_options_destroy(opts);
    rocksdb_comparator_destroy(a.cmp);
    kvault_close(kv);
    free(db);
    free(r1);
    free(r2);
}

static void test_live_handle(void)
{
    char *db = path_in("live-db"), *r1 = path_in("live-r1");
    kvault *kv = open_store();
    kvault_db_options dbo = KVAULT_DB_OPTIONS_INIT;
    kvault_backup_info b, r;
    app a;

    CHECK(app_open(db, &a) == 0 && app_write(&a) == 0);
    dbo.options = a.opts;
    CHECK_OK(kvault_backup_live(kv, a.db, db, &(kvault_backup_opts){.version = KVAULT_BACKUP_OPTS_VERSION, .env = "live", .db_options = &dbo},
                                &b));
    CHECK_EQ_U64(b.sequence, rocksdb_get_latest_sequence_number(a.db));
    /* file deletions resume: a flush and a full compaction still clean up */
    {
        rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
        char *err = NULL;
        rocksdb_flush(a.db, fo, &err);
        CHECK(!err);
        rocksdb_flushoptions_destroy(fo);
    }
    app_close(&a);
    dbo.options = app_options(&a); /* the handle's options are gone with it */
    CHECK_OK(kvault_restore(kv, &(kvault_restore_opts){.version = KVAULT_RESTORE_OPTS_VERSION, .env = "live", .db_options = &dbo}, r1, &r));
    CHECK(app_check(r1) == 0);
    rocksdb_options_destroy(dbo.options);
    rocksdb_comparator_destroy(a.cmp);
    kvault_close(kv);
    free(db);
    free(r1);
}

/* A WAL cut at any offset: the complete prefix opens under RocksDB's
 * strictest recovery mode and holds exactly the whole batches before it. */
static void test_torn_wal(void)
{
    char *db = path_in("torn-db"), *copy = path_in("torn-copy"), wal[4096], *cut;
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_t *rdb;
    char *err = NULL, val[5000];
    struct stat st;
    uint64_t last = 0;

    rocksdb_options_set_create_if_missing(o, 1);
    rdb = rocksdb_open(o, db, &err);
    CHECK(!err);
    memset(val, 'v', sizeof val);
    for (int i = 0; i < 200; i++) { /* batches of 5000 bytes: many cross blocks */
        char k[16];
        snprintf(k, sizeof k, "k%04d", i);
        rocksdb_put(rdb, wo, k, strlen(k), val, sizeof val, &err);
    }
    rocksdb_close(rdb);
    snprintf(wal, sizeof wal, "%s/000004.log", db);
    CHECK(stat(wal, &st) == 0 && st.st_size > 500000);
    for (off_t off = 1; off < st.st_size; off += st.st_size / 23 + 7) {
        int fd = open(wal, O_RDONLY);
        uint64_t complete = 0;
        CHECK_OK(kv_wal_complete_prefix(fd, (uint64_t)off, 4, wal, &complete));
        close(fd);
        CHECK(complete <= (uint64_t)off && complete >= last);
        last = complete;
        /* the cut copy opens with kAbsoluteConsistency */
        CHECK(asprintf(&cut, "rm -rf '%s' && cp -a '%s' '%s' && truncate -s %llu '%s/000004.log'",
                       copy, db, copy, (unsigned long long)complete, copy) > 0);
        CHECK(system(cut) == 0);
        free(cut);
        rocksdb_options_set_wal_recovery_mode(o, rocksdb_absolute_consistency_recovery);
        rocksdb_options_set_create_if_missing(o, 0);
        rdb = rocksdb_open_for_read_only(o, copy, 0, &err);
        if (err)
            fprintf(stderr, "  cut at %llu (complete %llu): %s\n", (unsigned long long)off,
                    (unsigned long long)complete, err);
        CHECK(!err);
        free(err);
        err = NULL;
        if (rdb) {
            /* each batch is one put: the sequence number counts whole batches */
            CHECK(rocksdb_get_latest_sequence_number(rdb) <= 200);
            rocksdb_close(rdb);
        }
    }
    CHECK(last > 0);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_options_destroy(o);
    free(db);
    free(copy);
}

/* Too few file descriptors to hold every SST: a clear error, no backup. */
static void test_open_files_limit(void)
{
    char *db = path_in("many-db");
    rocksdb_options_t *o = rocksdb_options_create();
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    struct rlimit old, low;
    kvault *kv = open_store();
    kvault_backup_info b;
    kvault_backup_info *list = NULL;
    size_t n = 9;
    rocksdb_t *rdb;
    char *err = NULL;

    rocksdb_options_set_create_if_missing(o, 1);
    rocksdb_options_set_disable_auto_compactions(o, 1);
    rdb = rocksdb_open(o, db, &err);
    CHECK(!err);
    for (int i = 0; i < 120 && !err; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%04d", i);
        rocksdb_put(rdb, wo, k, strlen(k), "v", 1, &err);
        if (!err)
            rocksdb_flush(rdb, fo, &err);
    }
    CHECK(!err);
    rocksdb_close(rdb);
    CHECK(getrlimit(RLIMIT_NOFILE, &old) == 0);
    low = old;
    low.rlim_cur = 100;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    CHECK(kvault_backup(kv, db, &(kvault_backup_opts){.version = KVAULT_BACKUP_OPTS_VERSION, .env = "many"}, &b) == KV_EIO);
    CHECK(strstr(kvault_errmsg(), "too many open files") && strstr(kvault_errmsg(), "ulimit -n"));
    CHECK(setrlimit(RLIMIT_NOFILE, &old) == 0);
    CHECK_OK(kvault_list(kv, "many", &list, &n));
    CHECK_EQ_U64(n, 0);
    kvault_free(list);
    CHECK_OK(kvault_backup(kv, db, &(kvault_backup_opts){.version = KVAULT_BACKUP_OPTS_VERSION, .env = "many"}, &b));
    CHECK(b.files > 120);
    rocksdb_flushoptions_destroy(fo);
    rocksdb_writeoptions_destroy(wo);
    rocksdb_options_destroy(o);
    kvault_close(kv);
    free(db);
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"application_options", test_application_options},
        {"live_handle", test_live_handle},
        {"torn_wal", test_torn_wal},
        {"open_files_limit", test_open_files_limit},
        {NULL, NULL},
    };
    const char *tmp = getenv("TMPDIR");
    char *cmd;
    int rc;
    if (asprintf(&base, "%s/kvault-source-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 || !mkdtemp(base))
        return 1;
    cache = path_in("cache");
    rc = kvt_run(cases, argc, argv);
    if (asprintf(&cmd, "rm -rf '%s'", base) > 0 && system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", base);
    free(cmd);
    free(cache);
    free(base);
    return rc;
}
