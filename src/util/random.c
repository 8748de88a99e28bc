#include "util/random.h"

#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>
#include <time.h>

#include "util/err.h"

int kv_random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[64];
    if (n > sizeof raw)
        return kv_seterr(KV_EINVAL, "random name too long");
    if (getrandom(raw, n, 0) != (ssize_t)n)
        return kv_seterr_errno(KV_EIO, errno, "cannot read random bytes");
    for (size_t i = 0; i < n; i++)
        out[i] = hex[raw[i] & 15];
    out[n] = '\0';
    return KV_OK;
}

uint64_t kv_random_between(uint64_t lo, uint64_t hi)
{
    uint64_t r;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        r = (uint64_t)t.tv_nsec * 0x9e3779b97f4a7c15ull;
    }
    return hi - lo == UINT64_MAX ? r : lo + r % (hi - lo + 1);
}
