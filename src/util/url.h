/* Store URLs: scheme://host[:port]/path, or a plain local path. */
#ifndef KV_UTIL_URL_H
#define KV_UTIL_URL_H

/* kv_url is part of the backend contract (a backend is opened with one). */
#include "kvault/sys/store.h"

/* Parses text into out (free with kv_url_free). A string without "://" is a
 * local path, made absolute against the current directory. */
int kv_url_parse(const char *text, kv_url *out);
void kv_url_free(kv_url *url);

/* Joins a prefix and a key with exactly one '/' between non-empty parts.
 * Returns a malloc'd string or NULL when out of memory. */
char *kv_path_join(const char *a, const char *b);

/* Percent-encodes s for a URL path (keep_slash) or a query value. */
char *kv_url_encode(const char *s, int keep_slash);

#endif
