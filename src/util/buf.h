/* A growable byte buffer, always NUL-terminated for convenience. */
#ifndef KV_UTIL_BUF_H
#define KV_UTIL_BUF_H

#include <stddef.h>

typedef struct kv_buf {
    char *data;
    size_t len, cap;
} kv_buf;

#define KV_BUF_INIT {NULL, 0, 0}

int kv_buf_grow(kv_buf *b, size_t extra);
int kv_buf_put(kv_buf *b, const void *data, size_t len);
int kv_buf_puts(kv_buf *b, const char *s);
int kv_buf_printf(kv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kv_buf_clear(kv_buf *b);
void kv_buf_free(kv_buf *b);

#endif
