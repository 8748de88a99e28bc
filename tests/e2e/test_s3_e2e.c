/* End to end against S3 (the RGW fixture), through the public API only:
 * back up a RocksDB whose SST file is large enough to go up in several
 * parts, change it, back it up again, verify, restore both backups and
 * compare every key and value; then remove everything the run stored.
 * Usage: test_s3_e2e s3://bucket/prefix [CASE-FILTER] */
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "e2e_db.h"
#include "test.h"

#define NBIG 3000        /* keys of 4 KiB random values: a ~12 MiB SST */
#define NSMALL 500
#define PART (5u << 20)

static char url[512];
static char tmp[64];

static const kvt_db model = {NBIG, NSMALL};

static void backup_restore_verify(void)
{
    kvault_options o = {.version = KVAULT_OPTIONS_VERSION, .workers = 4, .part_size = PART};
    kvault_backup_opts bo = {.version = KVAULT_BACKUP_OPTS_VERSION, .env = "e2e"};
    kvault_backup_info b1, b2, r;
    kvault_restore_opts ro = {.version = KVAULT_RESTORE_OPTS_VERSION, .env = "e2e"};
    kvault_verify_opts vo = {.version = KVAULT_VERIFY_OPTS_VERSION, .env = "e2e", .restore_check = 1};
    kvault_verify_report rep;
    kvault_object *objs = NULL, big;
    size_t n = 0, multipart = 0;
    kvault *kv = NULL;
    char db[128], out1[128], out2[128];

    snprintf(db, sizeof db, "%s/db", tmp);
    snprintf(out1, sizeof out1, "%s/restore1", tmp);
    snprintf(out2, sizeof out2, "%s/restore2", tmp);
    CHECK(kvt_db_write_phase(&model, db, 1) == 0);
    CHECK_OK(kvt_open(url, &o, &kv));
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

    CHECK(kvt_db_write_phase(&model, db, 2) == 0);
    CHECK_OK(kvault_backup(kv, db, &bo, &b2));
    CHECK(b2.files_new < b2.files); /* the big SST is referenced, not stored again */
    CHECK_OK(kvault_verify(kv, &vo, &rep));
    CHECK(rep.restore_checked);
    CHECK_EQ_U64(rep.keys, NBIG + NSMALL + 1);

    ro.backup_id = b1.id;
    CHECK_OK(kvault_restore(kv, &ro, out1, &r));
    CHECK(kvt_db_check(&model, out1, 1) == 0);
    ro.backup_id = NULL; /* latest */
    CHECK_OK(kvault_restore(kv, &ro, out2, &r));
    CHECK_STR(r.id, b2.id);
    CHECK(kvt_db_check(&model, out2, 2) == 0);

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
