/* End to end against S3 (the RGW fixture), through the public API only:
 * back up a RocksDB whose SST file is large enough to go up in several
 * parts, change it, back it up again, verify, restore both backups and
 * compare every key and value; then remove everything the run stored.
 * Usage: test_s3_e2e s3://bucket/prefix [CASE-FILTER] */
#include <rocksdb/c.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "test.h"

#define NBIG 3000        /* keys of 4 KiB random values: a ~12 MiB SST */
#define NSMALL 500
#define PART (5u << 20)

static char url[512];
static char tmp[64];

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Value of key i at version ver: 4 KiB for the big keys, else short. */
static size_t value_of(uint32_t i, int ver, char buf[4096])
{
    size_t len = i < NBIG ? 4096 : 16 + i % 50;
    for (size_t off = 0; off < len; off += 8) {
        uint64_t v = mix(((uint64_t)ver << 40) ^ ((uint64_t)i << 16) ^ off);
        memcpy(buf + off, &v, len - off < 8 ? len - off : 8);
    }
    return len;
}

static void key_of(uint32_t i, char buf[16])
{
    snprintf(buf, 16, "k%08u", i);
}

static rocksdb_t *open_db(const char *path, rocksdb_options_t **opts)
{
    char *err = NULL;
    rocksdb_t *db;
    *opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(*opts, 1);
    /* random values do not compress: the SST stays as large as the data */
    rocksdb_options_set_compression(*opts, rocksdb_no_compression);
    db = rocksdb_open(*opts, path, &err);
    if (err) {
        fprintf(stderr, "  rocksdb_open %s: %s\n", path, err);
        free(err);
    }
    return db;
}

/* Phase 1: keys 0..NBIG+NSMALL-1 at version 0, flushed to SST. Phase 2:
 * every 10th small key at version 1, and one new key. */
static int write_phase(const char *path, int phase)
{
    rocksdb_options_t *opts;
    rocksdb_t *db = open_db(path, &opts);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    char k[16], v[4096], *err = NULL;
    int rc = db ? 0 : -1;
    for (uint32_t i = 0; rc == 0 && i < NBIG + NSMALL + 1; i++) {
        int ver = phase == 2 && i >= NBIG && i % 10 == 0;
        if ((phase == 1 && i == NBIG + NSMALL) || (phase == 2 && !ver && i != NBIG + NSMALL))
            continue;
        key_of(i, k);
        rocksdb_put(db, wo, k, strlen(k), v, value_of(i, ver, v), &err);
        rc = err ? -1 : 0;
    }
    if (rc == 0)
        rocksdb_flush(db, fo, &err);
    if (err) {
        fprintf(stderr, "  write %s: %s\n", path, err);
        free(err);
        rc = -1;
    }
    rocksdb_flushoptions_destroy(fo);
    rocksdb_writeoptions_destroy(wo);
    if (db)
        rocksdb_close(db);
    rocksdb_options_destroy(opts);
    return rc;
}

/* Every key of a restored database matches the model of phase. */
static int check_db(const char *path, int phase)
{
    rocksdb_options_t *opts;
    rocksdb_t *db = open_db(path, &opts);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    char k[16], v[4096], *err = NULL;
    int bad = db ? 0 : 1;
    for (uint32_t i = 0; !bad && i < NBIG + NSMALL + 1; i++) {
        size_t len = 0, want_len;
        char *got;
        int ver = phase == 2 && i >= NBIG && i % 10 == 0;
        key_of(i, k);
        got = rocksdb_get(db, ro, k, strlen(k), &len, &err);
        want_len = value_of(i, ver, v);
        if (i == NBIG + NSMALL && phase == 1)
            bad = got != NULL;
        else
            bad = !got || len != want_len || memcmp(got, v, len) != 0;
        if (bad)
            fprintf(stderr, "  %s: key %s is wrong (phase %d)\n", path, k, phase);
        free(got);
    }
    rocksdb_readoptions_destroy(ro);
    if (db)
        rocksdb_close(db);
    rocksdb_options_destroy(opts);
    return bad;
}

static void backup_restore_verify(void)
{
    kvault_options o = {.workers = 4, .part_size = PART};
    kvault_backup_opts bo = {"e2e"};
    kvault_backup_info b1, b2, r;
    kvault_restore_opts ro = {"e2e", NULL, 0};
    kvault_verify_opts vo = {"e2e", NULL, 1};
    kvault_verify_report rep;
    kvault_object *objs = NULL, big;
    size_t n = 0, multipart = 0;
    kvault *kv = NULL;
    char db[128], out1[128], out2[128];

    snprintf(db, sizeof db, "%s/db", tmp);
    snprintf(out1, sizeof out1, "%s/restore1", tmp);
    snprintf(out2, sizeof out2, "%s/restore2", tmp);
    CHECK(write_phase(db, 1) == 0);
    CHECK_OK(kvault_open(url, &o, &kv));
    CHECK_OK(kvault_backup(kv, db, &bo, &b1));
    fprintf(stderr, "  backup 1: %s, %llu files, %llu bytes\n", b1.id,
            (unsigned long long)b1.files, (unsigned long long)b1.bytes);
    /* the big SST went up in parts: S3's ETag of such an object ends in -N */
    CHECK_OK(kvault_ls(kv, "", &objs, &n));
    for (size_t i = 0; i < n; i++) {
        if (objs[i].size > PART && strchr(objs[i].etag, '-')) {
            multipart++;
            big = objs[i];
        }
    }
    CHECK(multipart >= 1);
    fprintf(stderr, "  multipart object: %s, %llu bytes, etag %s\n", big.key,
            (unsigned long long)big.size, big.etag);
    kvault_free_objects(objs, n);
    objs = NULL;

    CHECK(write_phase(db, 2) == 0);
    CHECK_OK(kvault_backup(kv, db, &bo, &b2));
    CHECK(b2.files_new < b2.files); /* the big SST is referenced, not stored again */
    CHECK_OK(kvault_verify(kv, &vo, &rep));
    CHECK(rep.restore_checked);
    CHECK_EQ_U64(rep.keys, NBIG + NSMALL + 1);

    ro.backup_id = b1.id;
    CHECK_OK(kvault_restore(kv, &ro, out1, &r));
    CHECK(check_db(out1, 1) == 0);
    ro.backup_id = NULL; /* latest */
    CHECK_OK(kvault_restore(kv, &ro, out2, &r));
    CHECK_STR(r.id, b2.id);
    CHECK(check_db(out2, 2) == 0);

    /* leave the bucket as it was */
    CHECK_OK(kvault_ls(kv, "", &objs, &n));
    for (size_t i = 0; i < n; i++)
        CHECK_OK(kvault_rm(kv, objs[i].key));
    kvault_free_objects(objs, n);
    kvault_close(kv);
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"backup_restore_verify", backup_restore_verify},
        {NULL, NULL},
    };
    char cmd[128];
    int rc;
    if (argc < 2 || strncmp(argv[1], "s3://", 5) != 0) {
        fprintf(stderr, "usage: test_s3_e2e s3://bucket/prefix [CASE-FILTER]\n");
        return 2;
    }
    snprintf(url, sizeof url, "%s/run-%ld-%ld", argv[1], (long)time(NULL), (long)getpid());
    snprintf(tmp, sizeof tmp, "/tmp/kvs3-e2e-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    rc = kvt_run(cases, argc - 1, argv + 1);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmp);
    return rc;
}
