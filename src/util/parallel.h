/* A parallel for: fn(i, arg) for every i in [0, n) on up to `workers`
 * threads. For many small requests to a store (stat every referenced
 * object, read every index document), whose latency, not bandwidth, is the
 * cost. */
#ifndef KV_UTIL_PARALLEL_H
#define KV_UTIL_PARALLEL_H

#include <stddef.h>

/* Runs fn for each index, each once, in no particular order; after a
 * failure the remaining indexes are not started. Returns KV_OK or the first
 * failure, with the message its thread set. Works on the calling thread
 * alone when threads cannot be created. */
int kv_parallel_for(size_t n, int workers, int (*fn)(size_t i, void *arg), void *arg);

#endif
