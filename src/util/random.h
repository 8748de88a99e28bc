/* Random names (temporary objects, backup ids, multipart boundaries). */
#ifndef KV_UTIL_RANDOM_H
#define KV_UTIL_RANDOM_H

#include <stddef.h>

/* n random lowercase hex digits and a NUL into out (n + 1 bytes), from the
 * kernel's CSPRNG (getrandom); n is at most 64. */
int kv_random_hex(char *out, size_t n);

#endif
