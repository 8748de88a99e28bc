/* Store URLs: scheme://host[:port]/path, or a plain local path. */
#ifndef KV_UTIL_URL_H
#define KV_UTIL_URL_H

typedef struct kv_url {
    char scheme[16];   /* "file", "s3", "az", "gs", "hdfs", ... lower case */
    char *host;        /* bucket, container, namenode host; "" for file */
    int port;          /* 0 when not given */
    char *path;        /* file: absolute path; others: key prefix without
                          leading or trailing '/', possibly "" */
} kv_url;

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
