/* The end-to-end scenario every store runs (tests/e2e/scenario.c runs it on a
 * URL; a backend's own test may run it and then look at its server). */
#ifndef KV_TEST_SCENARIO_H
#define KV_TEST_SCENARIO_H

#include <stdint.h>

#include "kvault.h"

/* Backs up a RocksDB with a big SST of about sst_bytes (it goes up in parts
 * when that is more than part), changes it, backs it up again (the big SST referenced, not stored
 * again), verifies with a restore check, restores both backups and
 * compares every key and value, then removes everything it stored; single
 * is a KVAULT_SINGLE_FILE_* value for the backups. tmp is
 * a scratch directory; url is opened with the environment's settings.
 * Returns the number of failed checks. */
int kvt_backup_scenario(const char *url, const char *tmp, uint64_t part, uint64_t sst_bytes,
                        int single);

/* Removes every object of the store kv; KV_OK or the first failure. */
int kvt_remove_all(kvault *kv);

#endif
