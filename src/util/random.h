/* Random names (temporary objects, backup ids, multipart boundaries). */
#ifndef KV_UTIL_RANDOM_H
#define KV_UTIL_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* n random lowercase hex digits and a NUL into out (n + 1 bytes), from the
 * kernel's CSPRNG (getrandom); n is at most 64. */
int kv_random_hex(char *out, size_t n);

/* A number in [lo, hi] (lo <= hi), for spreading out retries; from the
 * CSPRNG, falling back to the clock when it cannot be read. */
uint64_t kv_random_between(uint64_t lo, uint64_t hi);

#endif
