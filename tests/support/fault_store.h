/* A store that wraps another and injects faults, for tests of everything
 * above the store layer (transfers, backups, restores). Registered at run
 * time through the backend contract (kvault/sys/store.h):
 *
 *   fault://name/                the store; its settings say the rest:
 *   KVT_FAULT_INNER=URL          the store it wraps (e.g. /tmp/x/store)
 *   KVT_FAULT_FAIL=op:n:kind,... the n-th call of op (put, get, stat, list,
 *                                remove, upload_begin, upload_part,
 *                                upload_complete) fails without doing
 *                                anything; kind: transient, io, auth,
 *                                corrupt, notfound
 *   KVT_FAULT_LOSE=op:n,...      the n-th call of op is done, then reports
 *                                KV_ETRANSIENT: a reply lost on the way back
 *   KVT_FAULT_SHORT=1            every get returns at most half the bytes
 *                                asked for (at least one)
 *
 * Calls are counted per op from the store's open. */
#ifndef KV_TEST_FAULT_STORE_H
#define KV_TEST_FAULT_STORE_H

/* Registers the "fault" scheme (once per process; later calls are no-ops). */
int kvt_fault_register(void);

#endif
