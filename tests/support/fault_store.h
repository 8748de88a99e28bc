/* A store that wraps another and injects faults, for tests of everything
 * above the store layer (transfers, backups, restores). Registered at run
 * time through the backend contract (kvault/sys/store.h):
 *
 *   fault://name/                the store; its settings say the rest:
 *   KVT_FAULT_INNER=URL          the store it wraps (e.g. /tmp/x/store)
 *   KVT_FAULT_FAIL=op:n:kind,... the n-th call of op (put, get, stat, list,
 *                                remove, upload_begin, upload_part,
 *                                upload_complete, garbage) fails without
 *                                doing anything; kind: transient, io, auth,
 *                                corrupt, notfound. n-m: calls n to m
 *   KVT_FAULT_LOSE=op:n,...      the n-th call of op (or n-m) is done, then
 *                                reports KV_ETRANSIENT: a reply lost on the
 *                                way back
 *   KVT_FAULT_SHORT=1            every get returns at most half the bytes
 *                                asked for (at least one)
 *
 * Calls are counted per op from the store's open. Every method of the
 * contract is passed on (garbage too), so with no rules it is the store it
 * wraps: the conformance suite runs on it over the mem store. */
#ifndef KV_TEST_FAULT_STORE_H
#define KV_TEST_FAULT_STORE_H

#include "kvault/sys/store.h"

/* Registers the "fault" scheme (once per process; later calls are no-ops). */
int kvt_fault_register(void);

/* How many times op (as the rules name it) was called on st, a fault
 * store, failed and lost calls included; KV_EINVAL for another store or
 * an unknown op. */
int kvt_fault_calls(kv_store *st, const char *op, unsigned *out);

#endif
