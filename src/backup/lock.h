/* Leases on an env, kept as objects in the store (as restic does), so that
 * backups, prunes and gcs on different hosts cannot harm each other:
 *
 *   <env>/locks/<op>-<ms>-<rnd>.json   {"op", "exclusive", "host", "pid",
 *                                        "created_ms", "refreshed_ms"}
 *
 * Backups take a shared lease, prune and gc an exclusive one. To take one,
 * write it, then list the others: a shared lease conflicts with any fresh
 * exclusive one, an exclusive lease with any fresh lease. On a conflict the
 * new lease is removed again and the caller waits (up to a bound) or fails
 * naming the holder. Of two processes that take conflicting leases at the
 * same moment at least one sees the other (the stores list what was written
 * before, S3 since 2020 included), so they never both proceed.
 *
 * A lease not refreshed for stale_s seconds, or one of this host whose
 * process no longer exists, belongs to a process that died: exclusive
 * takers remove it. A holder refreshes its lease from a thread
 * every stale_s / 6; before a backup commits it checks its lease is still
 * there (kv_lock_confirm) and otherwise takes it again, which waits for a
 * prune that took over, so a backup that stalled for longer than stale_s
 * re-checks everything it references after any such prune. */
#ifndef KV_BACKUP_LOCK_H
#define KV_BACKUP_LOCK_H

#include <stdint.h>

#include "store/store.h"

typedef struct kv_lock kv_lock;

typedef struct kv_lock_opts {
    const char *env;
    const char *op;          /* "backup", "prune", "gc" */
    int exclusive;
    int wait_s;              /* how long to wait for conflicting leases; 0 = not */
    int stale_s;             /* 0 = 1800 */
} kv_lock_opts;

int kv_lock_acquire(kv_store *st, const kv_lock_opts *o, kv_lock **out);

/* KV_OK when the lease is still in the store and was refreshed in time;
 * otherwise takes it again (waiting as acquire does) and returns
 * KV_ETRANSIENT, telling the caller that others may have run meanwhile. */
int kv_lock_confirm(kv_lock *l);

/* Stops refreshing and removes the lease (best effort: a leftover goes
 * stale). NULL is allowed. */
void kv_lock_release(kv_lock *l);

#endif
