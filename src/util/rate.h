/* One bytes-per-second limit for the whole process, however many
 * connections draw on it (a token bucket shared by all threads). */
#ifndef KV_UTIL_RATE_H
#define KV_UTIL_RATE_H

#include <stddef.h>
#include <stdint.h>

/* 0 = unlimited (the default). */
void kv_rate_set(uint64_t bytes_per_second);
/* The limit set, 0 = none. */
uint64_t kv_rate_get(void);
/* Called by whoever moves n bytes; sleeps as long as the limit requires. */
void kv_rate_consume(size_t n);

#endif
