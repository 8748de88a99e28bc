/* A set of strings (copies), for spotting a value seen before: a listing's
 * continuation tokens, the leftovers a retried clean-up already reported. */
#ifndef KV_UTIL_STRSET_H
#define KV_UTIL_STRSET_H

#include <stddef.h>

typedef struct kv_strset {
    char **slots;      /* open addressing; NULL = empty */
    size_t cap, n;
} kv_strset;

#define KV_STRSET_INIT {NULL, 0, 0}

/* Adds a copy of the len bytes at s; *added is 1 when they were not in the
 * set yet, 0 when they were. KV_ENOMEM (message set) when out of memory. */
int kv_strset_add(kv_strset *set, const char *s, size_t len, int *added);
void kv_strset_free(kv_strset *set);

#endif
