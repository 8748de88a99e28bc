#include "scenario.h"

#include <stdio.h>
#include <string.h>

#include "e2e_db.h"
#include "test.h"

#define NSMALL 500

int kvt_remove_all(kvault *kv)
{
    kvault_object *objs = NULL;
    size_t n = 0;
    int rc = kvault_ls(kv, "", &objs, &n);
    for (size_t i = 0; i < n && !rc; i++)
        rc = kvault_rm(kv, objs[i].key);
    kvault_free_objects(objs, n);
    return rc;
}

/* The big SST is there (alone or in an archive) and nothing of an upload
 * is left over; single-file: a backup's folder holds only its archive and
 * manifest. */
static void check_objects(kvault *kv, uint64_t sst_bytes, int single)
{
    kvault_object *objs = NULL;
    size_t n = 0, big = 0;
    CHECK_OK(kvault_ls(kv, "", &objs, &n));
    for (size_t i = 0; i < n; i++) {
        const char *k = objs[i].key;
        big += objs[i].size >= sst_bytes / 10 * 9;
        CHECK(strstr(k, ".kvpart") == NULL && strstr(k, ".kvtmp") == NULL);
        if (single && strstr(k, "/rocksdb/"))
            CHECK(strstr(k, ".kvault") || strstr(k, "/manifest.json.zst"));
    }
    kvault_free_objects(objs, n);
    CHECK(big >= 1);
}

static void run(const char *url, const char *tmp, uint64_t part, uint64_t sst_bytes, int single)
{
    /* keys of 4 KiB random values */
    const kvt_db model = {(uint32_t)(sst_bytes / 4096), NSMALL};
    kvault_options o = {.version = KVAULT_OPTIONS_VERSION, .workers = 4, .part_size = part};
    kvault_backup_opts bo = {.version = KVAULT_BACKUP_OPTS_VERSION, .env = "e2e",
                             .single_file = single};
    kvault_restore_opts ro = {.version = KVAULT_RESTORE_OPTS_VERSION, .env = "e2e"};
    kvault_verify_opts vo = {.version = KVAULT_VERIFY_OPTS_VERSION, .env = "e2e",
                             .restore_check = 1};
    kvault_backup_info b1, b2, r;
    kvault_verify_report rep;
    kvault *kv = NULL;
    char db[512], out1[512], out2[512];

    snprintf(db, sizeof db, "%s/db", tmp);
    snprintf(out1, sizeof out1, "%s/restore1", tmp);
    snprintf(out2, sizeof out2, "%s/restore2", tmp);
    CHECK(kvt_db_write_phase(&model, db, 1) == 0);
    CHECK_OK(kvt_open(url, &o, &kv));
    CHECK_OK(kvault_backup(kv, db, &bo, &b1));
    fprintf(stderr, "  backup 1: %s, %llu files, %llu bytes\n", b1.id,
            (unsigned long long)b1.files, (unsigned long long)b1.bytes);
    check_objects(kv, sst_bytes, single == KVAULT_SINGLE_FILE_YES);

    CHECK(kvt_db_write_phase(&model, db, 2) == 0);
    CHECK_OK(kvault_backup(kv, db, &bo, &b2));
    CHECK(b2.files_new < b2.files); /* the big SST is referenced, not stored again */
    CHECK(b2.bytes_new < sst_bytes / 2);
    CHECK_OK(kvault_verify(kv, &vo, &rep));
    CHECK(rep.restore_checked);
    CHECK_EQ_U64(rep.keys, model.nbig + NSMALL + 1);

    ro.backup_id = b1.id;
    CHECK_OK(kvault_restore(kv, &ro, out1, &r));
    CHECK(kvt_db_check(&model, out1, 1) == 0);
    ro.backup_id = NULL; /* latest */
    CHECK_OK(kvault_restore(kv, &ro, out2, &r));
    CHECK_STR(r.id, b2.id);
    CHECK(kvt_db_check(&model, out2, 2) == 0);
    CHECK_OK(kvt_remove_all(kv));
    kvault_close(kv);
}

int kvt_backup_scenario(const char *url, const char *tmp, uint64_t part, uint64_t sst_bytes,
                        int single)
{
    int before = kvt_failed_checks;
    run(url, tmp, part, sst_bytes, single);
    return kvt_failed_checks - before;
}
