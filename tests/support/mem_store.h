/* An in-memory store for tests of everything above the store layer
 * (transfers, backups, the retrying wrappers). It honours the whole backend
 * contract (kvault/sys/store.h) and passes the conformance suite; it is
 * registered at run time like any backend outside the tree:
 *
 *   mem://name/prefix   the objects of "name", under the root prefix.
 *                       Every store opened with the same name in one
 *                       process shares its objects and uploads (a test can
 *                       open it twice, or write through one prefix and look
 *                       through another); they last until the process ends.
 *
 * A backend's capabilities and part limits belong to its table, not to one
 * opened store, so the digests the store asks for are chosen by scheme, all
 * schemes sharing the same names:
 *   mem, mem+md5, mem+sha256, mem+md5+sha256
 * Each has KV_CAP_MULTIPART | KV_CAP_RANGE_GET plus the digest caps its
 * name says; parts of 64 KiB to 1 GiB, at most 10,000 (begin fails with
 * KV_EINVAL for a plan beyond them, and every part must have the size and
 * offset the plan gives it).
 *
 * Like a server that checks what it is sent, put and upload_part fail with
 * KV_ECORRUPT when a digest does not match the data (the CRC32C always; MD5
 * and SHA-256 when present). Unfinished uploads are the store's garbage.
 * Combine it with the fault store (fault_store.h) to inject failures. */
#ifndef KV_TEST_MEM_STORE_H
#define KV_TEST_MEM_STORE_H

#include <stdint.h>

/* What the stores of one name were asked to do, since the first open or
 * the last kvt_mem_reset. Calls are counted whether they succeed or not. */
typedef struct kvt_mem_counts {
    uint64_t puts, gets, stats, lists, removes;
    uint64_t begins, parts, completes, aborts, garbages;
    uint64_t bytes_put;   /* by put and upload_part */
    uint64_t bytes_got;   /* returned by get */
    uint64_t digests;     /* puts and parts that came with a digest */
    uint64_t no_digests;  /* those that came without (NULL) */
    uint64_t bad_digests; /* digests that do not match the data, or that have
                             an MD5 or SHA-256 the caps do not ask for, or lack
                             one they ask for */
} kvt_mem_counts;

/* Registers the mem schemes (once per process; later calls are no-ops). */
int kvt_mem_register(void);

/* The counts of the stores named name; KV_ENOTFOUND when none was opened. */
int kvt_mem_stats(const char *name, kvt_mem_counts *out);

/* Sets the counts of name to zero (the objects stay); KV_ENOTFOUND when no
 * store of that name was opened. */
int kvt_mem_reset(const char *name);

#endif
