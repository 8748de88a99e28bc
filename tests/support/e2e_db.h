/* The small RocksDB the network backends' end-to-end tests back up and
 * restore. Keys k00000000.. : the first nbig hold 4 KiB random values (an
 * uncompressed SST of about nbig x 4 KiB, large enough to go up in several
 * parts), the next nsmall short ones, and one extra key. Phase 1 writes all
 * but the extra key; phase 2 rewrites every 10th small key and adds the extra
 * one, so its SST is small and the big one is referenced, not uploaded. Each
 * phase ends with a flush. */
#ifndef KV_TEST_E2E_DB_H
#define KV_TEST_E2E_DB_H

#include <stdint.h>

typedef struct kvt_db {
    uint32_t nbig, nsmall;
} kvt_db;

/* A 64-bit mixing function (splitmix64's finaliser) for test data. */
uint64_t kvt_mix(uint64_t x);

/* Writes phase (1 or 2) into the database at path (created if missing). */
int kvt_db_write_phase(const kvt_db *m, const char *path, int phase);

/* 0 when every key of the database at path matches phase, else 1 (and the
 * first wrong key is printed). */
int kvt_db_check(const kvt_db *m, const char *path, int phase);

#endif
