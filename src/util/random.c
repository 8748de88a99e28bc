#include "util/random.h"

#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>

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
