/* The string set of strset.h: FNV-1a hashes, linear probing, kept at most
 * half full. Values may hold NUL bytes (their length is stored first). */
#include "util/strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

static uint64_t hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

/* A stored value: its length, then its bytes. */
static int same(const char *slot, const char *s, size_t len)
{
    size_t n;
    memcpy(&n, slot, sizeof n);
    return n == len && memcmp(slot + sizeof n, s, len) == 0;
}

static size_t slot_len(const char *slot)
{
    size_t n;
    memcpy(&n, slot, sizeof n);
    return n;
}

/* The slot holding s, or the empty one where it would go. */
static char **find(const kv_strset *set, const char *s, size_t len)
{
    size_t i = (size_t)hash(s, len) & (set->cap - 1);
    while (set->slots[i] && !same(set->slots[i], s, len))
        i = (i + 1) & (set->cap - 1);
    return &set->slots[i];
}

static int grow(kv_strset *set)
{
    kv_strset bigger = {.cap = set->cap ? 2 * set->cap : 64};
    bigger.slots = calloc(bigger.cap, sizeof *bigger.slots);
    if (!bigger.slots)
        return kv_oom();
    for (size_t i = 0; i < set->cap; i++)
        if (set->slots[i])
            *find(&bigger, set->slots[i] + sizeof(size_t), slot_len(set->slots[i])) =
                set->slots[i];
    bigger.n = set->n;
    free(set->slots);
    *set = bigger;
    return KV_OK;
}

int kv_strset_add(kv_strset *set, const char *s, size_t len, int *added)
{
    char **slot;
    *added = 0;
    if (2 * (set->n + 1) > set->cap && grow(set) != KV_OK)
        return KV_ENOMEM;
    slot = find(set, s, len);
    if (*slot)
        return KV_OK;
    *slot = malloc(sizeof len + len);
    if (!*slot)
        return kv_oom();
    memcpy(*slot, &len, sizeof len);
    memcpy(*slot + sizeof len, s, len);
    set->n++;
    *added = 1;
    return KV_OK;
}

void kv_strset_free(kv_strset *set)
{
    for (size_t i = 0; i < set->cap; i++)
        free(set->slots[i]);
    free(set->slots);
    *set = (kv_strset)KV_STRSET_INIT;
}
