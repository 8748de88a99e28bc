/* End to end, through the public API only: generate a RocksDB with several
 * column families, back it up, change it, back it up again, restore each
 * backup and compare every key and value with a model of what it held. */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <rocksdb/c.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/sealed.h"
#include "fault_store.h"
#include "mem_store.h"
#include "test.h"

#define NCF 4
static const char *const cf_names[NCF] = {"default", "users", "events", "archive"};

/* ---- the model: what each key holds at each phase ------------------------
 * Phase 1: keys 0..n1-1 of every CF at version 0. Phase 2: CFs 0 and 1 lose
 * every key with i % 11 == 3 and get version 1 of every i % 7 == 0; CFs 0-2
 * gain keys n1..n1+n2-1; CF 3 is untouched (its SST files stay as they are). */
typedef struct model {
    uint32_t n1, n2;
} model;

static int expected(const model *m, int phase, int cf, uint32_t i, uint32_t *ver)
{
    *ver = 0;
    if (phase == 0)
        return 0;
    if (phase == 1 || cf == 3)
        return i < m->n1;
    if (i >= m->n1) {
        *ver = 1;
        return i < m->n1 + m->n2;
    }
    if (cf == 2)
        return 1;
    if (i % 11 == 3)
        return 0;
    *ver = i % 7 == 0;
    return 1;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Deterministic pseudo-random value: mostly small, one in 16 of 1-4 KiB. */
static size_t make_value(int cf, uint32_t i, uint32_t ver, char buf[4096])
{
    uint64_t h = mix(((uint64_t)cf << 56) ^ ((uint64_t)ver << 40) ^ i);
    size_t len = h % 16 == 0 ? 1024 + (size_t)((h >> 8) % 3073) : 8 + (size_t)((h >> 8) % 120);
    for (size_t off = 0; off < len; off += 8) {
        h = mix(h);
        memcpy(buf + off, &h, len - off < 8 ? len - off : 8);
    }
    return len;
}

static size_t make_key(uint32_t i, char buf[16])
{
    return (size_t)snprintf(buf, 16, "k%08u", i);
}

/* ---- databases ---------------------------------------------------------- */

typedef struct db {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_column_family_handle_t *cf[NCF];
} db;

static int db_open(const char *path, db *out)
{
    const rocksdb_options_t *cf_opts[NCF];
    char *err = NULL;
    out->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(out->opts, 1);
    rocksdb_options_set_create_missing_column_families(out->opts, 1);
    for (int i = 0; i < NCF; i++)
        cf_opts[i] = out->opts;
    out->db = rocksdb_open_column_families(out->opts, path, NCF, (const char *const *)cf_names,
                                           cf_opts, out->cf, &err);
    if (err) {
        fprintf(stderr, "  cannot open %s: %s\n", path, err);
        rocksdb_free(err);
        rocksdb_options_destroy(out->opts);
        return -1;
    }
    return 0;
}

static void db_close(db *d)
{
    for (int i = 0; i < NCF; i++)
        rocksdb_column_family_handle_destroy(d->cf[i]);
    rocksdb_close(d->db);
    rocksdb_options_destroy(d->opts);
}

/* Writes what changes from phase - 1 to phase. */
static int db_write_phase(db *d, const model *m, int phase)
{
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    char key[16], val[4096], *err = NULL;
    for (int cf = 0; cf < NCF && !err; cf++) {
        for (uint32_t i = 0; i < m->n1 + m->n2 && !err; i++) {
            uint32_t v0, v1;
            int was = expected(m, phase - 1, cf, i, &v0), is = expected(m, phase, cf, i, &v1);
            size_t kn = make_key(i, key);
            if (is && (!was || v0 != v1))
                rocksdb_writebatch_put_cf(wb, d->cf[cf], key, kn, val, make_value(cf, i, v1, val));
            else if (was && !is)
                rocksdb_writebatch_delete_cf(wb, d->cf[cf], key, kn);
            if (rocksdb_writebatch_count(wb) >= 1000) {
                rocksdb_write(d->db, wo, wb, &err);
                rocksdb_writebatch_clear(wb);
            }
        }
    }
    if (!err)
        rocksdb_write(d->db, wo, wb, &err);
    /* flushed like a service that has run a while, so backups hold SSTs
     * (the source-safety tests cover databases that live in their WAL) */
    for (int cf = 0; cf < NCF && !err; cf++) {
        rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
        rocksdb_flush_cf(d->db, fo, d->cf[cf], &err);
        rocksdb_flushoptions_destroy(fo);
    }
    rocksdb_writebatch_destroy(wb);
    rocksdb_writeoptions_destroy(wo);
    if (err) {
        fprintf(stderr, "  write failed: %s\n", err);
        rocksdb_free(err);
        return -1;
    }
    return 0;
}

/* Walks a CF and the model in key order together: every expected key must be
 * there with its value, and nothing else. */
static int compare_cf(rocksdb_t *rdb, rocksdb_column_family_handle_t *h, const model *m, int phase,
                      int cf, uint64_t *keys)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(rdb, ro, h);
    char key[16], val[4096];
    int bad = 0;
    rocksdb_iter_seek_to_first(it);
    for (uint32_t i = 0; i < m->n1 + m->n2 && !bad; i++) {
        uint32_t ver;
        size_t kn, vn, gk, gv;
        const char *k, *v;
        if (!expected(m, phase, cf, i, &ver))
            continue;
        kn = make_key(i, key);
        vn = make_value(cf, i, ver, val);
        if (!rocksdb_iter_valid(it)) {
            fprintf(stderr, "  cf %s: key %s missing (iterator ended)\n", cf_names[cf], key);
            bad = 1;
            break;
        }
        k = rocksdb_iter_key(it, &gk);
        v = rocksdb_iter_value(it, &gv);
        if (gk != kn || memcmp(k, key, kn) != 0) {
            fprintf(stderr, "  cf %s: expected key %s, found %.*s\n", cf_names[cf], key, (int)gk, k);
            bad = 1;
        } else if (gv != vn || memcmp(v, val, vn) != 0) {
            fprintf(stderr, "  cf %s: key %s has the wrong value\n", cf_names[cf], key);
            bad = 1;
        }
        (*keys)++;
        rocksdb_iter_next(it);
    }
    if (!bad && rocksdb_iter_valid(it)) {
        size_t gk;
        const char *k = rocksdb_iter_key(it, &gk);
        fprintf(stderr, "  cf %s: unexpected extra key %.*s\n", cf_names[cf], (int)gk, k);
        bad = 1;
    }
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return bad ? -1 : 0;
}

/* Opens the database at path (read-only, all CFs) and compares it with the
 * model at phase. */
static int db_matches(const char *path, const model *m, int phase)
{
    rocksdb_options_t *opts = rocksdb_options_create();
    rocksdb_column_family_handle_t *cf[NCF];
    const rocksdb_options_t *cf_opts[NCF];
    char *err = NULL, **names;
    size_t n = 0;
    uint64_t keys = 0;
    int rc = -1;
    rocksdb_t *rdb;

    names = rocksdb_list_column_families(opts, path, &n, &err);
    if (err || n != NCF) {
        fprintf(stderr, "  %s: %zu column families: %s\n", path, n, err ? err : "");
        goto out;
    }
    for (int i = 0; i < NCF; i++)
        cf_opts[i] = opts;
    rdb = rocksdb_open_for_read_only_column_families(opts, path, NCF, (const char *const *)cf_names,
                                                     cf_opts, cf, 0, &err);
    if (err) {
        fprintf(stderr, "  cannot open %s: %s\n", path, err);
        goto out;
    }
    rc = 0;
    for (int i = 0; i < NCF && !rc; i++)
        rc = compare_cf(rdb, cf[i], m, phase, i, &keys);
    for (int i = 0; i < NCF; i++)
        rocksdb_column_family_handle_destroy(cf[i]);
    rocksdb_close(rdb);
out:
    if (names)
        rocksdb_list_column_families_destroy(names, n);
    rocksdb_free(err);
    rocksdb_options_destroy(opts);
    return rc;
}

static int db_compact_cf(const char *path, int cf)
{
    db d;
    if (db_open(path, &d))
        return -1;
    rocksdb_compact_range_cf(d.db, d.cf[cf], NULL, 0, NULL, 0);
    db_close(&d);
    return 0;
}

static int db_create(const char *path, const model *m, int phases)
{
    db d;
    int rc = 0;
    if (db_open(path, &d))
        return -1;
    for (int p = 1; !rc && p <= phases; p++)
        rc = db_write_phase(&d, m, p);
    db_close(&d);
    return rc;
}

/* ---- files and the store ------------------------------------------------- */

static char *cat(const char *a, const char *b)
{
    char *s;
    return asprintf(&s, "%s/%s", a, b) < 0 ? NULL : s;
}

static char *make_base(void)
{
    const char *tmp = getenv("TMPDIR");
    char *base;
    if (asprintf(&base, "%s/kvault-e2e-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
        return NULL;
    return mkdtemp(base);
}

static void rm_rf(const char *path)
{
    char *cmd;
    if (asprintf(&cmd, "rm -rf '%s'", path) >= 0) {
        if (system(cmd) != 0)
            fprintf(stderr, "  cannot remove %s\n", path);
        free(cmd);
    }
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Number of entries of dir whose name contains needle. */
static int count_entries(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, needle) != NULL;
    if (d)
        closedir(d);
    return n;
}

static char *manifest_path(const char *store, const kvault_backup_info *b)
{
    char *path;
    return asprintf(&path, "%s/%s/rocksdb/%s/%s/manifest.json.zst", store, b->env, b->date,
                    b->id) < 0 ? NULL : path;
}

/* The manifest's JSON, its digest checked (sealed.h). */
static json_t *read_manifest(const char *store, const kvault_backup_info *b)
{
    char *path = manifest_path(store, b), *data = NULL;
    size_t len = 0;
    json_t *j = NULL;
    int sealed = 0;
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (f && (data = malloc(1 << 24)))
        len = fread(data, 1, 1 << 24, f);
    if (!data || kv_sealed_decode(data, len, 1 << 26, "manifest", &j, &sealed) != KV_OK || !sealed)
        fprintf(stderr, "  cannot read %s: %s\n", path ? path : "?", kvault_errmsg());
    if (f)
        fclose(f);
    free(data);
    free(path);
    return j;
}

static int is_sst(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".sst") == 0;
}

static json_t *find_file(json_t *manifest, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(manifest, "files"), i, f)
        if (strcmp(json_string_value(json_object_get(f, "name")), name) == 0)
            return f;
    return NULL;
}

static uint64_t sst_bytes(json_t *manifest)
{
    uint64_t sum = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(manifest, "files"), i, f)
        if (is_sst(json_string_value(json_object_get(f, "name"))))
            sum += (uint64_t)json_integer_value(json_object_get(f, "size"));
    return sum;
}

/* What a later backup must have stored, judged from both manifests: every
 * SST the earlier one did not have, and every non-SST file. Also checks that
 * what was not stored is referenced where the earlier backup keeps it. */
typedef struct delta {
    uint64_t files, bytes, files_new, bytes_new, sst_new;
} delta;

static int compute_delta(json_t *earlier, json_t *later, const kvault_backup_info *lb, delta *d)
{
    char own[256];
    size_t i;
    json_t *f;
    memset(d, 0, sizeof *d);
    snprintf(own, sizeof own, "%s/rocksdb/%s/%s/", lb->env, lb->date, lb->id);
    json_array_foreach(json_object_get(later, "files"), i, f) {
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *object = json_string_value(json_object_get(f, "object"));
        uint64_t size = (uint64_t)json_integer_value(json_object_get(f, "size"));
        json_t *prev = is_sst(name) && earlier ? find_file(earlier, name) : NULL;
        int stored_here = strncmp(object, own, strlen(own)) == 0;
        d->files++;
        d->bytes += size;
        if (prev) {
            if (stored_here || strcmp(object, json_string_value(json_object_get(prev, "object"))) ||
                !json_equal(json_object_get(prev, "crc32c"), json_object_get(f, "crc32c"))) {
                fprintf(stderr, "  %s was stored again or points elsewhere: %s\n", name, object);
                return -1;
            }
            continue;
        }
        if (!stored_here) {
            fprintf(stderr, "  new file %s is not stored by its backup: %s\n", name, object);
            return -1;
        }
        d->files_new++;
        d->bytes_new += size;
        d->sst_new += is_sst(name);
    }
    return 0;
}

static int flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    unsigned char c;
    int rc = fd >= 0 && pread(fd, &c, 1, off) == 1 && (c ^= 0x40, pwrite(fd, &c, 1, off) == 1) ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The key of some SST object stored by backup b. */
/* An SST of the backup, else its largest WAL (small DBs live in the WAL). */
static char *some_data_object(kvault *kv, const kvault_backup_info *b)
{
    kvault_object *objs;
    size_t n;
    char prefix[256], *key = NULL;
    snprintf(prefix, sizeof prefix, "%s/rocksdb/%s/%s/", b->env, b->date, b->id);
    if (kvault_ls(kv, prefix, &objs, &n) != KV_OK)
        return NULL;
    for (size_t i = 0; i < n && !key; i++)
        if (is_sst(objs[i].key) && objs[i].size > 4096)
            key = strdup(objs[i].key);
    for (size_t i = 0, best = 0; i < n && !key; i++) {
        size_t len = strlen(objs[i].key);
        if (len > 4 && !strcmp(objs[i].key + len - 4, ".log") && objs[i].size > best)
            best = objs[i].size, free(key), key = strdup(objs[i].key);
    }
    kvault_free_objects(objs, n);
    return key;
}

/* ---- a fixture per case: a temp dir with a db/, a store/ and a cache ------ */

typedef struct fixture {
    char *base, *db, *store, *cache;
    kvault *kv;
} fixture;

static fixture fx;

static int fixture_open(void)
{
    memset(&fx, 0, sizeof fx);
    if (!(fx.base = make_base()))
        return -1;
    fx.db = cat(fx.base, "db");
    fx.store = cat(fx.base, "store");
    fx.cache = cat(fx.base, "cache");
    mkdir(fx.store, 0755);
    return kvault_open(fx.store, &(kvault_options){.version = KVAULT_OPTIONS_VERSION,
                                                   .cache_dir = fx.cache},
                       &fx.kv);
}

static void fixture_close(void)
{
    kvault_close(fx.kv);
    rm_rf(fx.base);
    free(fx.base);
    free(fx.db);
    free(fx.store);
    free(fx.cache);
}

static void run_in_fixture(void (*body)(void))
{
    if (fixture_open() != 0) {
        fprintf(stderr, "fixture: %s\n", kvault_errmsg());
        kvt_failed_checks++;
        return;
    }
    body();
    fixture_close();
}

/* ---- cases --------------------------------------------------------------- */

static const model big = {30000, 6000}; /* 4 CFs x 30k keys, then +18k */

static void incremental_body(void)
{
    kvault_backup_info b1, b2, b3, b4, r;
    kvault_restore_opts ro = KVAULT_RESTORE_OPTS_INIT;
    json_t *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;
    kvault_backup_info *list = NULL;
    size_t n = 0;
    delta d;
    char *r1 = cat(fx.base, "r1"), *r2 = cat(fx.base, "r2"), *r3 = cat(fx.base, "r3");
    char *stale = cat(fx.base, "kvault-backup-2147483646-abcdef");
    kvault_backup_opts bo = {.version = KVAULT_BACKUP_OPTS_VERSION, .scratch_dir = fx.base};

    CHECK(db_create(fx.db, &big, 1) == 0);
    CHECK(mkdir(stale, 0755) == 0); /* left by a backup whose process died */
    CHECK_OK(kvault_backup(fx.kv, fx.db, &bo, &b1));
    CHECK(!exists(stale));
    CHECK_EQ_U64(b1.files, b1.files_new);
    CHECK(b1.files >= NCF);

    /* change it: new keys, overwrites, deletes; compact one CF */
    {
        db d2;
        CHECK(db_open(fx.db, &d2) == 0);
        CHECK(db_write_phase(&d2, &big, 2) == 0);
        db_close(&d2);
        CHECK(db_compact_cf(fx.db, 1) == 0);
    }
    CHECK_OK(kvault_backup(fx.kv, fx.db, &bo, &b2));
    CHECK(strcmp(b1.id, b2.id) < 0);
    CHECK(b2.files_new < b2.files);
    CHECK((m1 = read_manifest(fx.store, &b1)) && (m2 = read_manifest(fx.store, &b2)));
    CHECK(compute_delta(m1, m2, &b2, &d) == 0);
    CHECK_EQ_U64(b2.files, d.files);
    CHECK_EQ_U64(b2.bytes, d.bytes);
    CHECK_EQ_U64(b2.files_new, d.files_new);
    CHECK_EQ_U64(b2.bytes_new, d.bytes_new);
    CHECK(d.sst_new > 0);
    CHECK_EQ_U64(b2.bytes_checksummed, 0); /* the SSTs kept from backup 1 were in the cache */
    fprintf(stderr, "  backup 2: %llu of %llu files new, %llu of %llu bytes\n",
            (unsigned long long)b2.files_new, (unsigned long long)b2.files,
            (unsigned long long)b2.bytes_new, (unsigned long long)b2.bytes);

    /* nothing changed: only the small non-SST files go up, no SST is read */
    CHECK_OK(kvault_backup(fx.kv, fx.db, &bo, &b3));
    CHECK((m3 = read_manifest(fx.store, &b3)));
    CHECK(compute_delta(m2, m3, &b3, &d) == 0);
    CHECK_EQ_U64(d.sst_new, 0);
    CHECK_EQ_U64(b3.bytes_new, d.bytes_new);
    CHECK(b3.bytes_new < 1 << 20);
    CHECK_EQ_U64(b3.bytes_checksummed, 0);
    CHECK(count_entries(fx.cache, "crc-") == 1);
    CHECK(count_entries(fx.base, "kvault-backup-") == 0);

    /* without the cache the SSTs are read to compare, and still not stored */
    rm_rf(fx.cache);
    CHECK_OK(kvault_backup(fx.kv, fx.db, &bo, &b4));
    CHECK((m4 = read_manifest(fx.store, &b4)));
    CHECK(compute_delta(m3, m4, &b4, &d) == 0);
    CHECK_EQ_U64(d.sst_new, 0);
    CHECK_EQ_U64(b4.bytes_checksummed, sst_bytes(m4));
    CHECK(b4.bytes_checksummed > 10 << 20);

    CHECK_OK(kvault_list(fx.kv, NULL, &list, &n));
    CHECK_EQ_U64(n, 4);
    CHECK_STR(list[0].id, b1.id);
    CHECK_STR(list[3].id, b4.id);
    CHECK_EQ_U64(list[1].bytes_new, b2.bytes_new);
    kvault_free(list);

    /* restore each backup and compare every key with the model */
    ro.backup_id = b1.id;
    CHECK_OK(kvault_restore(fx.kv, &ro, r1, &r));
    CHECK_STR(r.id, b1.id);
    CHECK(db_matches(r1, &big, 1) == 0);
    ro.backup_id = b2.id;
    CHECK_OK(kvault_restore(fx.kv, &ro, r2, &r));
    CHECK(db_matches(r2, &big, 2) == 0);
    CHECK(db_matches(fx.db, &big, 2) == 0);

    /* an occupied destination needs force; with it the old one is replaced */
    ro.backup_id = b1.id;
    CHECK(kvault_restore(fx.kv, &ro, r2, &r) == KV_EEXIST);
    CHECK(strstr(kvault_errmsg(), r2) && strstr(kvault_errmsg(), "force"));
    CHECK(db_matches(r2, &big, 2) == 0);
    ro.force = 1;
    CHECK_OK(kvault_restore(fx.kv, &ro, r2, &r));
    CHECK(db_matches(r2, &big, 1) == 0);
    CHECK(count_entries(fx.base, ".kvault-") == 0);

    /* latest */
    ro = (kvault_restore_opts)KVAULT_RESTORE_OPTS_INIT;
    CHECK_OK(kvault_restore(fx.kv, &ro, r3, &r));
    CHECK_STR(r.id, b4.id);
    CHECK(db_matches(r3, &big, 2) == 0);

    json_decref(m1);
    json_decref(m2);
    json_decref(m3);
    json_decref(m4);
    free(r1);
    free(r2);
    free(r3);
    free(stale);
}

static void test_incremental(void)
{
    run_in_fixture(incremental_body);
}

static const model small = {4000, 1000};

static void live_body(void)
{
    kvault_backup_info b1, b2, r;
    kvault_restore_opts ro = KVAULT_RESTORE_OPTS_INIT;
    kvault_backup_opts bo = {.version = KVAULT_BACKUP_OPTS_VERSION, .env = "live-test"};
    kvault_verify_opts vo = {.version = KVAULT_VERIFY_OPTS_VERSION, .env = "live-test", .restore_check = 1};
    kvault_verify_report rep;
    char *r1 = cat(fx.base, "r1"), *r2 = cat(fx.base, "r2"), *r9 = cat(fx.base, "r9");
    db d;

    CHECK(db_open(fx.db, &d) == 0);
    CHECK(db_write_phase(&d, &small, 1) == 0);
    CHECK_OK(kvault_backup_live(fx.kv, d.db, fx.db, &bo, &b1));
    CHECK(db_write_phase(&d, &small, 2) == 0); /* the handle stays in use */
    CHECK_OK(kvault_backup_live(fx.kv, d.db, fx.db, &bo, &b2));
    {
        rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
        char *err = NULL;
        rocksdb_put_cf(d.db, wo, d.cf[0], "zz-after", 8, "x", 1, &err);
        CHECK(!err);
        rocksdb_writeoptions_destroy(wo);
    }
    CHECK(b1.sequence > 0 && b2.sequence > b1.sequence);

    ro.env = "live-test";
    ro.backup_id = b1.id;
    CHECK_OK(kvault_restore(fx.kv, &ro, r1, &r));
    CHECK(db_matches(r1, &small, 1) == 0);
    ro.backup_id = NULL;
    CHECK_OK(kvault_restore(fx.kv, &ro, r2, &r));
    CHECK_STR(r.id, b2.id);
    CHECK(db_matches(r2, &small, 2) == 0);

    CHECK_OK(kvault_verify(fx.kv, &vo, &rep));
    CHECK(rep.restore_checked);
    CHECK_EQ_U64(rep.column_families, NCF);
    CHECK_EQ_U64(rep.keys, 4 * 4000 + 3 * 1000 - 2 * (4000 / 11 + 1));
    CHECK_EQ_U64(rep.objects_checked, b2.files);
    CHECK_EQ_U64(rep.bytes_checked, b2.bytes);
    db_close(&d);

    /* the default env has no backups */
    ro.env = NULL;
    CHECK(kvault_restore(fx.kv, &ro, r1, &r) == KV_ENOTFOUND);
    ro.env = "live-test";
    ro.backup_id = "20000101T000000Z-000000";
    CHECK(kvault_restore(fx.kv, &ro, r9, &r) == KV_ENOTFOUND);
    CHECK(strstr(kvault_errmsg(), ro.backup_id) && strstr(kvault_errmsg(), "live-test"));
    bo.env = "../escape";
    CHECK(kvault_backup(fx.kv, fx.db, &bo, &b1) == KV_EINVAL);
    CHECK(strstr(kvault_errmsg(), "env '../escape'"));
    free(r1);
    free(r2);
    free(r9);
}

/* Asks to stop at its first report. */
static int stop_midway(uint64_t done, uint64_t total, void *payload)
{
    (void)total;
    ++*(int *)payload;
    (void)done;
    return 1;
}

static void cancel_body(void)
{
    kvault_backup_info b;
    kvault_backup_info *list = NULL;
    kvault_object *objs = NULL;
    kvault *kv = NULL;
    size_t n = 9, nobjs = 9;
    int calls = 0;

    CHECK(db_create(fx.db, &big, 1) == 0);
    CHECK_OK(kvault_open(fx.store, &(kvault_options){.version = KVAULT_OPTIONS_VERSION,
                                                     .workers = 2, .part_size = 1u << 20,
                                                     .progress = stop_midway,
                                                     .progress_payload = &calls},
                         &kv));
    CHECK(kvault_backup(kv, fx.db, NULL, &b) == KV_ECANCELED);
    CHECK(strstr(kvault_errmsg(), "canceled"));
    CHECK(calls > 0);
    CHECK_OK(kvault_list(kv, NULL, &list, &n));
    CHECK_EQ_U64(n, 0);
    kvault_free(list);
    /* everything the canceled backup had uploaded is gone */
    CHECK_OK(kvault_ls(kv, "", &objs, &nobjs));
    for (size_t i = 0; i < nobjs; i++)
        fprintf(stderr, "  left behind: %s\n", objs[i].key);
    CHECK_EQ_U64(nobjs, 0);
    kvault_free_objects(objs, nobjs);
    kvault_close(kv);
}

static void test_cancel(void)
{
    run_in_fixture(cancel_body);
}

static void test_live(void)
{
    run_in_fixture(live_body);
}

static void corrupt_body(void)
{
    kvault_backup_info b, r;
    kvault_restore_opts ro = KVAULT_RESTORE_OPTS_INIT;
    kvault_verify_opts vo = KVAULT_VERIFY_OPTS_INIT;
    kvault_verify_report rep;
    char *dest = cat(fx.base, "restored"), *key, *path;
    struct stat st;

    CHECK(db_create(fx.db, &small, 1) == 0);
    CHECK_OK(kvault_backup(fx.kv, fx.db, NULL, &b));
    CHECK_OK(kvault_verify(fx.kv, &vo, &rep));
    CHECK_EQ_U64(rep.objects_checked, b.files);

    CHECK((key = some_data_object(fx.kv, &b)));
    path = cat(fx.store, key);
    CHECK(stat(path, &st) == 0);
    CHECK(flip_byte(path, st.st_size / 2) == 0);

    CHECK(kvault_verify(fx.kv, &vo, &rep) == KV_ECORRUPT);
    CHECK(strstr(kvault_errmsg(), key));
    vo.restore_check = 1;
    CHECK(kvault_verify(fx.kv, &vo, &rep) == KV_ECORRUPT);
    CHECK(strstr(kvault_errmsg(), key));
    CHECK(kvault_restore(fx.kv, &ro, dest, &r) == KV_ECORRUPT);
    CHECK(strstr(kvault_errmsg(), key));
    CHECK(!exists(dest));
    CHECK(count_entries(fx.base, ".kvault-") == 0);
    free(dest);
    free(key);
    free(path);
}

static void test_corrupt_object(void)
{
    run_in_fixture(corrupt_body);
}

/* A manifest whose first file would be written outside the restore target,
 * made from b's by moving it to a later id. */
#define HOSTILE_ID "20990101T000000Z-abcdef"
#define HOSTILE_DIR "default/rocksdb/2099-01-01/" HOSTILE_ID

/* A version-2 (plain JSON, no digest) manifest with a file name that would
 * write outside the restore target. */
static int plant_hostile_manifest(const kvault_backup_info *b)
{
    json_t *m = read_manifest(fx.store, b);
    char *dir = cat(fx.store, HOSTILE_DIR), *path = cat(fx.store, HOSTILE_DIR "/manifest.json");
    char *cmd = NULL;
    int rc = -1;
    if (m && dir && path && asprintf(&cmd, "mkdir -p '%s'", dir) >= 0 && system(cmd) == 0) {
        json_object_del(m, "digest");
        json_object_set_new(m, "version", json_integer(2));
        json_object_set_new(m, "id", json_string(HOSTILE_ID));
        json_object_set_new(m, "date", json_string("2099-01-01"));
        json_object_set_new(m, "created", json_string("2099-01-01T00:00:00Z"));
        json_object_set_new(json_array_get(json_object_get(m, "files"), 0), "name",
                            json_string("../../evil"));
        rc = json_dump_file(m, path, 0);
    }
    json_decref(m);
    free(cmd);
    free(dir);
    free(path);
    return rc;
}

static void hostile_body(void)
{
    kvault_backup_info b, r, *list;
    kvault_restore_opts ro = KVAULT_RESTORE_OPTS_INIT;
    kvault_gc_report gr;
    char *dest = cat(fx.base, "restored");
    const char *key = HOSTILE_DIR "/manifest.json";
    size_t n;

    CHECK(db_create(fx.db, &small, 1) == 0);
    CHECK_OK(kvault_backup(fx.kv, fx.db, NULL, &b));
    CHECK(plant_hostile_manifest(&b) == 0);

    /* restoring it is refused, naming it, and writes nothing */
    ro.backup_id = HOSTILE_ID;
    CHECK(kvault_restore(fx.kv, &ro, dest, &r) == KV_EINVAL);
    CHECK(strstr(kvault_errmsg(), key) && strstr(kvault_errmsg(), "files[0].name"));
    CHECK(!exists(dest));
    CHECK(count_entries(fx.base, "evil") == 0);

    /* list, latest and gc (which rebuilds the index from every manifest)
     * skip it and go on; so do backups */
    CHECK_OK(kvault_gc(fx.kv, NULL, &gr));
    CHECK_OK(kvault_list(fx.kv, NULL, &list, &n));
    CHECK_EQ_U64(n, 1);
    CHECK_STR(list[0].id, b.id);
    kvault_free(list);
    ro.backup_id = NULL;
    CHECK_OK(kvault_restore(fx.kv, &ro, dest, &r));
    CHECK_STR(r.id, b.id);
    CHECK_OK(kvault_backup(fx.kv, fx.db, NULL, &b));
    CHECK_OK(kvault_list(fx.kv, NULL, &list, &n));
    CHECK_EQ_U64(n, 2);
    kvault_free(list);
    free(dest);
}

/* A sealed manifest with a damaged byte: verify names it; list and prune
 * go on, and prune leaves the damaged backup's objects in place. */
static void damaged_body(void)
{
    kvault_backup_info b1, b2, *list;
    kvault_verify_opts vo = KVAULT_VERIFY_OPTS_INIT;
    kvault_prune_opts po = KVAULT_PRUNE_OPTS_INIT;
    kvault_prune_report pr;
    char *path;
    struct stat st;
    size_t n;

    CHECK(db_create(fx.db, &small, 1) == 0);
    CHECK_OK(kvault_backup(fx.kv, fx.db, NULL, &b1));
    CHECK_OK(kvault_backup(fx.kv, fx.db, NULL, &b2));
    CHECK((path = manifest_path(fx.store, &b1)) && stat(path, &st) == 0);
    CHECK(flip_byte(path, st.st_size / 2) == 0);

    vo.backup_id = b1.id;
    CHECK(kvault_verify(fx.kv, &vo, &(kvault_verify_report){0}) == KV_ECORRUPT);
    CHECK(strstr(kvault_errmsg(), b1.id) && strstr(kvault_errmsg(), "manifest"));
    CHECK_OK(kvault_list(fx.kv, NULL, &list, &n));
    kvault_free(list);
    po.keep_last = 1;
    po.grace_s = KVAULT_GRACE_NONE;
    CHECK_OK(kvault_prune(fx.kv, &po, &pr));
    CHECK_EQ_U64(pr.backups_damaged, 1);
    CHECK_EQ_U64(pr.backups_removed, 0);
    kvault_free(pr.decisions);
    CHECK(stat(path, &st) == 0); /* left in place for someone to look at */
    vo.backup_id = b2.id;
    CHECK_OK(kvault_verify(fx.kv, &vo, &(kvault_verify_report){0}));
    free(path);
}

static void test_damaged_manifest(void)
{
    run_in_fixture(damaged_body);
}

static void test_hostile_manifest(void)
{
    run_in_fixture(hostile_body);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int rc = f && fputs(text, f) >= 0 ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    return rc;
}

static void objects_body(void)
{
    char *src = cat(fx.base, "in.txt"), *dst = cat(fx.base, "out.txt"), *url = NULL, *key = NULL;
    char buf[64] = "";
    kvault *kv2 = NULL;
    kvault_object o, *objs = NULL;
    size_t n = 0, len;
    int fds[2];

    CHECK(write_file(src, "hello kvault\n") == 0);
    CHECK_OK(kvault_put_file(fx.kv, src, "a/b/hello.txt"));
    CHECK_OK(kvault_stat(fx.kv, "a/b/hello.txt", &o));
    CHECK_EQ_U64(o.size, 13);
    kvault_free(o.key);
    CHECK_OK(kvault_ls(fx.kv, "a/", &objs, &n));
    CHECK_EQ_U64(n, 1);
    CHECK_STR(objs[0].key, "a/b/hello.txt");
    kvault_free_objects(objs, n);
    CHECK_OK(kvault_get_file(fx.kv, "a/b/hello.txt", dst));
    CHECK(count_entries(fx.base, "kvault-tmp") == 0);
    {
        FILE *f = fopen(dst, "r");
        CHECK(f);
        len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
    }
    CHECK_STR(buf, "hello kvault\n");
    CHECK(pipe(fds) == 0);
    CHECK_OK(kvault_cat(fx.kv, "a/b/hello.txt", fds[1]));
    close(fds[1]);
    memset(buf, 0, sizeof buf);
    CHECK(read(fds[0], buf, sizeof buf - 1) == 13);
    close(fds[0]);
    CHECK_STR(buf, "hello kvault\n");

    /* a URL naming an object: the local store at "/" and the path as key */
    CHECK(asprintf(&url, "file://%s/a/b/hello.txt", fx.store) > 0);
    CHECK_OK(kvault_open_url(url, NULL, &kv2, &key));
    CHECK(key[0] != '/' && strcmp(key + strlen(key) - 13, "a/b/hello.txt") == 0);
    CHECK_OK(kvault_stat(kv2, key, &o));
    CHECK_EQ_U64(o.size, 13);
    kvault_free(o.key);
    kvault_close(kv2);
    kvault_free(key);
    key = NULL;
    CHECK_OK(kvault_open_url(src, NULL, &kv2, &key));
    CHECK_STR(key, src + 1);
    kvault_close(kv2);

    CHECK_OK(kvault_rm(fx.kv, "a/b/hello.txt"));
    CHECK(kvault_stat(fx.kv, "a/b/hello.txt", &o) == KV_ENOTFOUND);
    CHECK(kvault_get_file(fx.kv, "a/b/hello.txt", dst) == KV_ENOTFOUND);
    free(src);
    free(dst);
    free(url);
    free(key);
}

static void test_objects(void)
{
    run_in_fixture(objects_body);
}

/* ---- retention ------------------------------------------------------------ */

typedef struct counted {
    size_t n;
    int has_old_attempt, has_recent_attempt;
} counted;

static int count_objects(kvault *kv, const char *prefix, counted *out)
{
    kvault_object *objs;
    size_t n;
    int rc = kvault_ls(kv, prefix, &objs, &n);
    if (rc)
        return rc;
    memset(out, 0, sizeof *out);
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        out->has_old_attempt |= strstr(objs[i].key, "20200101T000000Z-01d000") != NULL;
        out->has_recent_attempt |= strstr(objs[i].key, "-fffff0") != NULL;
    }
    kvault_free_objects(objs, n);
    return KV_OK;
}

/* Objects the manifest of b names, without repeats, plus the manifest. */
static size_t objects_of(const kvault_backup_info *b)
{
    json_t *m = read_manifest(fx.store, b), *f;
    size_t i, n = 1;
    if (!m)
        return 0;
    json_array_foreach(json_object_get(m, "files"), i, f) {
        const char *obj = json_string_value(json_object_get(f, "object"));
        size_t k, dup = 0;
        json_t *g;
        json_array_foreach(json_object_get(m, "files"), k, g) {
            if (k >= i)
                break;
            dup |= strcmp(obj, json_string_value(json_object_get(g, "object"))) == 0;
        }
        n += !dup;
    }
    json_decref(m);
    return n;
}

/* An object left by an attempt that never wrote its manifest. */
static int plant_attempt(const char *date, const char *id)
{
    char *local = cat(fx.base, "attempt"), *key;
    int rc = -1;
    if (asprintf(&key, "prune-test/rocksdb/%s/%s/000042.sst", date, id) >= 0) {
        rc = write_file(local, "partial upload") || kvault_put_file(fx.kv, local, key);
        free(key);
    }
    free(local);
    return rc;
}

static void prune_body(void)
{
    kvault_backup_opts bo = {.version = KVAULT_BACKUP_OPTS_VERSION, .env = "prune-test"};
    kvault_backup_info b1, b2, b3, r, *list = NULL;
    kvault_restore_opts ro = {.version = KVAULT_RESTORE_OPTS_VERSION, .env = "prune-test"};
    kvault_verify_opts vo = {.version = KVAULT_VERIFY_OPTS_VERSION, .env = "prune-test", .restore_check = 1};
    kvault_prune_opts po = {.version = KVAULT_PRUNE_OPTS_VERSION, .env = "prune-test", .keep_last = 1, .dry_run = 1};
    kvault_prune_report rep;
    kvault_verify_report vr;
    char recent[64], *r3 = cat(fx.base, "r3");
    counted before, after;
    size_t n;

    CHECK(db_create(fx.db, &small, 1) == 0);
    CHECK_OK(kvault_backup(fx.kv, fx.db, &bo, &b1));
    CHECK(db_create(fx.db, &small, 2) == 0);
    CHECK_OK(kvault_backup(fx.kv, fx.db, &bo, &b2));
    for (int cf = 0; cf < 3; cf++) /* CF 3 keeps b1's SST files */
        CHECK(db_compact_cf(fx.db, cf) == 0);
    CHECK_OK(kvault_backup(fx.kv, fx.db, &bo, &b3));
    CHECK(b3.files_new < b3.files); /* b3 references files stored by b1 */

    CHECK(plant_attempt("2020-01-01", "20200101T000000Z-01d000") == 0);
    snprintf(recent, sizeof recent, "%.20s-fffff0", b3.id);
    CHECK(plant_attempt(b3.date, recent) == 0);
    CHECK_OK(count_objects(fx.kv, "prune-test/rocksdb/", &before));
    CHECK(before.has_old_attempt && before.has_recent_attempt);

    po.keep_last = 0;
    CHECK(kvault_prune(fx.kv, &po, &rep) == KV_EINVAL);
    CHECK(strstr(kvault_errmsg(), "nothing to keep"));

    po.keep_last = 1; /* dry run: reports, removes nothing */
    CHECK_OK(kvault_prune(fx.kv, &po, &rep));
    CHECK_EQ_U64(rep.backups_removed, 2);
    CHECK_EQ_U64(rep.backups_kept, 1);
    CHECK_EQ_U64(rep.incomplete_removed, 1);
    CHECK_EQ_U64(rep.ndecisions, 3);
    CHECK(!rep.decisions[0].keep && !rep.decisions[1].keep && rep.decisions[2].keep);
    CHECK_STR(rep.decisions[2].reasons, "last 1");
    kvault_free(rep.decisions);
    CHECK_OK(count_objects(fx.kv, "prune-test/rocksdb/", &after));
    CHECK_EQ_U64(after.n, before.n);

    po.dry_run = 0;
    CHECK_OK(kvault_prune(fx.kv, &po, &rep));
    kvault_free(rep.decisions);
    CHECK_EQ_U64(rep.backups_removed, 2);
    CHECK_OK(kvault_list(fx.kv, "prune-test", &list, &n));
    CHECK_EQ_U64(n, 1);
    CHECK_STR(list[0].id, b3.id);
    kvault_free(list);

    /* what is left: b3's objects (some in b1's folder), and the attempt that
     * may still be running */
    CHECK_OK(count_objects(fx.kv, "prune-test/rocksdb/", &after));
    CHECK(!after.has_old_attempt && after.has_recent_attempt);
    CHECK_EQ_U64(after.n, objects_of(&b3) + 1);
    CHECK_EQ_U64(rep.objects_removed + rep.backups_removed, before.n - after.n);
    CHECK_OK(kvault_verify(fx.kv, &vo, &vr));
    CHECK_OK(kvault_restore(fx.kv, &ro, r3, &r));
    CHECK_STR(r.id, b3.id);
    CHECK(db_matches(r3, &small, 2) == 0);

    /* a second prune has nothing left to do */
    CHECK_OK(kvault_prune(fx.kv, &po, &rep));
    kvault_free(rep.decisions);
    CHECK_EQ_U64(rep.backups_removed + rep.objects_removed, 0);
    (void)b2;
    free(r3);
}

static void test_prune(void)
{
    run_in_fixture(prune_body);
}

/* What killed restores and verifies left (named after their dead process)
 * goes with the next run; a directory of a live process stays. */
static void orphans_body(void)
{
    kvault_backup_info b, r;
    kvault_restore_opts ro = KVAULT_RESTORE_OPTS_INIT;
    kvault_verify_opts vo = KVAULT_VERIFY_OPTS_INIT;
    kvault_verify_report rep;
    kvault *kv = NULL;
    char *dest = cat(fx.base, "r1"), *live = NULL;
    static const char *const dead[] = {".r1.kvault-restore-2147483646-abc123",
                                       ".r1.kvault-old-2147483646-abc123",
                                       ".r7.kvault-restore-2147483646-abc123",
                                       "kvault-verify-2147483646-abc123",
                                       "kvault-rocksdb-log-2147483646-abc123"};

    CHECK(db_create(fx.db, &small, 1) == 0);
    CHECK_OK(kvault_backup(fx.kv, fx.db, NULL, &b));
    for (size_t i = 0; i < sizeof dead / sizeof *dead; i++) {
        char *d = cat(fx.base, dead[i]), *f;
        CHECK(mkdir(d, 0755) == 0);
        f = cat(d, "000001.sst");
        CHECK(write_file(f, "left over") == 0);
        free(f);
        free(d);
    }
    CHECK(asprintf(&live, "%s/.r1.kvault-restore-%ld-abc123", fx.base, (long)getppid()) > 0);
    CHECK(mkdir(live, 0755) == 0);
    CHECK_OK(kvault_open(fx.store, &(kvault_options){.version = KVAULT_OPTIONS_VERSION,
                                                     .tmp_dir = fx.base},
                         &kv));
    CHECK_OK(kvault_restore(kv, &ro, dest, &r));
    vo.restore_check = 1;
    CHECK_OK(kvault_verify(kv, &vo, &rep));
    kvault_close(kv);
    for (size_t i = 0; i < sizeof dead / sizeof *dead; i++)
        CHECK(count_entries(fx.base, dead[i]) == 0);
    CHECK(exists(live));
    CHECK(count_entries(fx.base, ".kvault-") == 1);
    CHECK(count_entries(fx.base, "kvault-verify-") == 0);
    rmdir(live);
    free(live);
    free(dest);
}

static void test_orphans(void)
{
    run_in_fixture(orphans_body);
}

/* An SST export of a live handle through the library, restored whole and
 * by one column family. */
static void export_live_body(void)
{
    kvault_backup_info b, r;
    kvault_backup_opts bo = KVAULT_BACKUP_OPTS_INIT;
    kvault_restore_opts ro = KVAULT_RESTORE_OPTS_INIT;
    kvault_verify_opts vo = KVAULT_VERIFY_OPTS_INIT;
    kvault_verify_report rep;
    const char *only[] = {"events"};
    char *r1 = cat(fx.base, "r1"), *r2 = cat(fx.base, "r2");
    db d;

    bo.format = KVAULT_FORMAT_SST;
    bo.sst_size = 256 << 10;
    CHECK(db_open(fx.db, &d) == 0);
    CHECK(db_write_phase(&d, &small, 1) == 0);
    CHECK_OK(kvault_backup_live(fx.kv, d.db, fx.db, &bo, &b));
    CHECK(db_write_phase(&d, &small, 2) == 0); /* after the export: not in it */
    db_close(&d);
    CHECK(b.files > NCF); /* several files, and the OPTIONS file */
    CHECK_OK(kvault_restore(fx.kv, &ro, r1, &r));
    CHECK(db_matches(r1, &small, 1) == 0);
    vo.restore_check = 1;
    CHECK_OK(kvault_verify(fx.kv, &vo, &rep));
    CHECK_EQ_U64(rep.column_families, NCF);
    ro.cfs = only;
    ro.ncfs = 1;
    CHECK_OK(kvault_restore(fx.kv, &ro, r2, &r));
    ro.backup_id = "nonsense";
    CHECK(kvault_restore(fx.kv, &ro, r2, &r) != KV_OK);
    /* into a database the caller holds open: a new, empty one here */
    {
        char *live = cat(fx.base, "live");
        kvault_ingest_opts io = KVAULT_INGEST_OPTS_INIT;
        db t;
        CHECK(db_open(live, &t) == 0);
        CHECK_OK(kvault_ingest_live(fx.kv, &io, t.db, live, (const char *const *)cf_names, t.cf, NCF));
        db_close(&t);
        CHECK(db_matches(live, &small, 1) == 0);
        /* a column family the export has but no handle was given for */
        CHECK(db_open(live, &t) == 0);
        CHECK(kvault_ingest_live(fx.kv, &io, t.db, live, (const char *const *)cf_names, t.cf, 2) ==
              KV_EINVAL);
        CHECK(strstr(kvault_errmsg(), "no handle"));
        db_close(&t);
        free(live);
    }
    /* a version-1 options struct is still taken, and means a checkpoint */
    bo.version = 1;
    CHECK_OK(kvault_backup(fx.kv, fx.db, &bo, &b));
    bo.version = 3;
    CHECK(kvault_backup(fx.kv, fx.db, &bo, &b) == KV_EINVAL);
    free(r1);
    free(r2);
}

static void test_export_live(void)
{
    run_in_fixture(export_live_body);
}

/* ---- single-file --------------------------------------------------------------- */

/* Bytes of the files of column family cf in manifest m (all when cf NULL). */
static uint64_t export_bytes_of(json_t *m, const char *cf)
{
    uint64_t sum = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(m, "files"), i, f) {
        const char *c = json_string_value(json_object_get(f, "cf"));
        if (!cf || (c && strcmp(c, cf) == 0))
            sum += (uint64_t)json_integer_value(json_object_get(f, "size"));
    }
    return sum;
}

static void single_file_export_body(void)
{
    kvault_backup_opts bo = KVAULT_BACKUP_OPTS_INIT;
    kvault_restore_opts ro = KVAULT_RESTORE_OPTS_INIT;
    kvault_backup_info b, r;
    kvault_object *objs = NULL;
    kvt_mem_counts c;
    const char *only[] = {"events"};
    char *r1 = cat(fx.base, "r1"), *r2 = cat(fx.base, "r2");
    kvault *kv = NULL;
    size_t n = 0;
    json_t *m = NULL;

    CHECK(db_create(fx.db, &small, 1) == 0);
    bo.format = KVAULT_FORMAT_SST;
    bo.sst_size = 128 << 10;
    bo.single_file = KVAULT_SINGLE_FILE_YES;
    /* first to the local store, to read its manifest; then the same to mem */
    CHECK_OK(kvault_backup(fx.kv, fx.db, &bo, &b));
    CHECK((m = read_manifest(fx.store, &b)));
    CHECK_OK(kvt_mem_register());
    CHECK_OK(kvault_open("mem://single/", NULL, &kv));
    CHECK_OK(kvault_backup(kv, fx.db, &bo, &b));
    CHECK_OK(kvault_ls(kv, "", &objs, &n));
    for (size_t i = 0; i < n; i++) /* the backup's folder: the archive and the manifest */
        CHECK(strstr(objs[i].key, "/index/") || strstr(objs[i].key, ".kvault") ||
              strstr(objs[i].key, "manifest.json.zst"));
    kvault_free_objects(objs, n);
    CHECK_OK(kvault_restore(kv, &ro, r1, &r));
    CHECK(db_matches(r1, &small, 1) == 0);
    /* one column family reads only its ranges (and the manifest, index, OPTIONS) */
    CHECK_OK(kvt_mem_reset("single"));
    ro.cfs = only;
    ro.ncfs = 1;
    CHECK_OK(kvault_restore(kv, &ro, r2, &r));
    CHECK_OK(kvt_mem_stats("single", &c));
    fprintf(stderr, "  --cf events read %llu bytes; its files hold %llu of %llu\n",
            (unsigned long long)c.bytes_got, (unsigned long long)export_bytes_of(m, "events"),
            (unsigned long long)export_bytes_of(m, NULL));
    CHECK(c.bytes_got >= export_bytes_of(m, "events"));
    CHECK(c.bytes_got < export_bytes_of(m, "events") + (64 << 10));
    kvault_close(kv);
    json_decref(m);
    free(r1);
    free(r2);
}

static void test_single_file_export(void)
{
    run_in_fixture(single_file_export_body);
}

/* Flips the byte at off of the object key of the local store. */
static int flip_object_byte(const char *key, uint64_t off)
{
    char *path = cat(fx.store, key);
    int rc = path ? flip_byte(path, (off_t)off) : -1;
    free(path);
    return rc;
}

static void single_file_files_body(void)
{
    kvault_backup_opts bo = KVAULT_BACKUP_OPTS_INIT;
    kvault_restore_opts ro = KVAULT_RESTORE_OPTS_INIT;
    kvault_verify_opts vo = KVAULT_VERIFY_OPTS_INIT;
    kvault_verify_report rep;
    kvault_backup_info b1, b2, r;
    char *r1 = cat(fx.base, "r1"), *r2 = cat(fx.base, "r2");
    json_t *m = NULL, *f;
    struct stat st;

    bo.single_file = KVAULT_SINGLE_FILE_YES;
    CHECK(db_create(fx.db, &small, 1) == 0);
    CHECK_OK(kvault_backup(fx.kv, fx.db, &bo, &b1));
    CHECK(db_create(fx.db, &small, 2) == 0);
    CHECK_OK(kvault_backup(fx.kv, fx.db, &bo, &b2));
    CHECK(b2.files_new < b2.files); /* later archives hold only what is new */
    CHECK_OK(kvault_restore(fx.kv, &ro, r1, &r));
    CHECK(db_matches(r1, &small, 2) == 0);
    CHECK_OK(kvault_verify(fx.kv, &vo, &rep));
    CHECK((m = read_manifest(fx.store, &b2)));
    /* a member of b2's archive damaged: verify and restore name it */
    {
        size_t i;
        const char *name = NULL, *object = NULL;
        uint64_t off = 0;
        json_array_foreach(json_object_get(m, "files"), i, f) {
            if (strstr(json_string_value(json_object_get(f, "object")), b2.id) &&
                json_object_get(f, "offset") && json_integer_value(json_object_get(f, "size")) > 100) {
                name = json_string_value(json_object_get(f, "name"));
                object = json_string_value(json_object_get(f, "object"));
                off = (uint64_t)json_integer_value(json_object_get(f, "offset"));
                break;
            }
        }
        CHECK(name && object);
        CHECK(flip_object_byte(object, off + 50) == 0);
        CHECK(kvault_verify(fx.kv, &vo, &rep) == KV_ECORRUPT);
        CHECK(strstr(kvault_errmsg(), name));
        CHECK(kvault_restore(fx.kv, &ro, r2, &r) == KV_ECORRUPT);
        CHECK(strstr(kvault_errmsg(), name));
        CHECK(!exists(r2));
        CHECK(flip_object_byte(object, off + 50) == 0); /* back as it was */
        CHECK_OK(kvault_verify(fx.kv, &vo, &rep));
        /* the trailer damaged: the index cannot be trusted */
        {
            char *path = cat(fx.store, object);
            CHECK(stat(path, &st) == 0);
            free(path);
        }
        CHECK(flip_object_byte(object, (uint64_t)st.st_size - 10) == 0);
        CHECK(kvault_verify(fx.kv, &vo, &rep) == KV_ECORRUPT);
        CHECK(strstr(kvault_errmsg(), "trailer"));
    }
    json_decref(m);
    free(r1);
    free(r2);
}

static void test_single_file_files(void)
{
    run_in_fixture(single_file_files_body);
}

/* ---- faults ------------------------------------------------------------------ */

/* Opens the store fx.store through the fault store (tests/support/
 * fault_store.h) with the given rules. */
static int open_faulty(const char *fail, const char *lose, const char *shorten, kvault **out)
{
    const kvault_setting settings[] = {
        {"KVT_FAULT_INNER", fx.store},
        {"KVT_FAULT_FAIL", fail},
        {"KVT_FAULT_LOSE", lose},
        {"KVT_FAULT_SHORT", shorten},
    };
    kvault_store_opts so = KVAULT_STORE_OPTS_INIT;
    kvault_options o = KVAULT_OPTIONS_INIT;
    int rc = kvt_fault_register();
    so.settings = settings;
    so.nsettings = sizeof settings / sizeof *settings;
    so.max_retries = 3;
    o.store = &so;
    o.workers = 3;
    o.part_size = 256 << 10; /* several parts per SST: multipart is exercised */
    return rc ? rc : kvault_open("fault://test/", &o, out);
}

static size_t store_objects(void)
{
    kvault_object *objs = NULL;
    size_t n = 0;
    if (kvault_ls(fx.kv, "", &objs, &n) != KV_OK)
        return (size_t)-1;
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  in the store: %s\n", objs[i].key);
    kvault_free_objects(objs, n);
    return n;
}

/* Replies lost after the store acted, and failures a retry fixes, in every
 * step of a backup: the backup completes and restores as it was. */
static void faults_retried_body(void)
{
    kvault_backup_info b, r;
    kvault_restore_opts ro = KVAULT_RESTORE_OPTS_INIT;
    kvault_verify_opts vo = KVAULT_VERIFY_OPTS_INIT;
    kvault_verify_report rep;
    char *dest = cat(fx.base, "restored");
    kvault *kv = NULL;

    CHECK(db_create(fx.db, &small, 1) == 0);
    CHECK_OK(open_faulty("put:2:transient,upload_part:4:transient,stat:1:transient,"
                         "list:2:transient,upload_begin:1:transient",
                         "put:1,put:4,upload_part:2,upload_complete:1,upload_begin:2,list:1,"
                         "remove:1",
                         NULL, &kv));
    CHECK_OK(kvault_backup(kv, fx.db, NULL, &b));
    CHECK(b.files_new == b.files && b.files > 4);
    kvault_close(kv);
    CHECK_OK(kvault_verify(fx.kv, &vo, &rep));
    CHECK_EQ_U64(rep.objects_checked, b.files);
    CHECK_OK(kvault_restore(fx.kv, &ro, dest, &r));
    CHECK_STR(r.id, b.id);
    CHECK(db_matches(dest, &small, 1) == 0);
    free(dest);
}

static void test_faults_retried(void)
{
    run_in_fixture(faults_retried_body);
}

/* A failure no retry fixes, at each step of the upload: the backup fails
 * naming it and leaves nothing in the store. */
static void faults_permanent_body(void)
{
    static const char *const rules[] = {"put:3:io", "upload_part:5:auth", "upload_begin:2:io",
                                        "upload_complete:1:corrupt"};
    kvault_backup_info b;
    kvault *kv = NULL;

    CHECK(db_create(fx.db, &small, 1) == 0);
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
        int rc;
        CHECK_OK(open_faulty(rules[i], NULL, NULL, &kv));
        rc = kvault_backup(kv, fx.db, NULL, &b);
        kvault_close(kv);
        CHECK(rc != KV_OK);
        CHECK(strstr(kvault_errmsg(), "failed as told"));
        CHECK_EQ_U64(store_objects(), 0);
    }
}

static void test_faults_permanent(void)
{
    run_in_fixture(faults_permanent_body);
}

/* A store whose reads come back short: the restore fails naming the
 * object, and nothing is left where the database would have gone. */
static void faults_short_read_body(void)
{
    kvault_backup_info b, r;
    kvault_restore_opts ro = KVAULT_RESTORE_OPTS_INIT;
    char *dest = cat(fx.base, "restored");
    kvault *kv = NULL;

    CHECK(db_create(fx.db, &small, 1) == 0);
    CHECK_OK(kvault_backup(fx.kv, fx.db, NULL, &b));
    CHECK_OK(open_faulty(NULL, NULL, "1", &kv));
    CHECK(kvault_restore(kv, &ro, dest, &r) == KV_ECORRUPT);
    CHECK(strstr(kvault_errmsg(), "shorter"));
    kvault_close(kv);
    CHECK(!exists(dest));
    CHECK(count_entries(fx.base, ".kvault-") == 0);
    free(dest);
}

static void test_faults_short_read(void)
{
    run_in_fixture(faults_short_read_body);
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"incremental", test_incremental},
        {"live", test_live},
        {"cancel", test_cancel},
        {"corrupt_object", test_corrupt_object},
        {"hostile_manifest", test_hostile_manifest},
        {"damaged_manifest", test_damaged_manifest},
        {"objects", test_objects},
        {"prune", test_prune},
        {"orphans", test_orphans},
        {"export_live", test_export_live},
        {"single_file_export", test_single_file_export},
        {"single_file_files", test_single_file_files},
        {"faults_retried", test_faults_retried},
        {"faults_permanent", test_faults_permanent},
        {"faults_short_read", test_faults_short_read},
        {NULL, NULL},
    };
    return kvt_run(cases, argc, argv);
}
