#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

int kv_buf_grow(kv_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1, cap = b->cap ? b->cap : 256;
    char *p;
    if (need <= b->cap)
        return KV_OK;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p)
        return kv_seterr(KV_ENOMEM, "out of memory growing a buffer to %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    return KV_OK;
}

int kv_buf_put(kv_buf *b, const void *data, size_t len)
{
    int rc = kv_buf_grow(b, len);
    if (rc)
        return rc;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return KV_OK;
}

int kv_buf_puts(kv_buf *b, const char *s)
{
    return kv_buf_put(b, s, strlen(s));
}

int kv_buf_printf(kv_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return kv_seterr(KV_EINVAL, "bad format");
    rc = kv_buf_grow(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return KV_OK;
}

void kv_buf_clear(kv_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void kv_buf_free(kv_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
