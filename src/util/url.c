#include "util/url.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"

static char *strip_slashes(const char *s, size_t len)
{
    char *out;
    while (len && *s == '/') {
        s++;
        len--;
    }
    while (len && s[len - 1] == '/')
        len--;
    out = malloc(len + 1);
    if (out) {
        memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

static int parse_local(const char *path, kv_url *out)
{
    char cwd[PATH_MAX];
    size_t n;
    snprintf(out->scheme, sizeof out->scheme, "file");
    out->host = strdup("");
    if (path[0] == '/') {
        out->path = strdup(path);
    } else {
        if (!getcwd(cwd, sizeof cwd))
            return kv_seterr_errno(KV_EIO, errno, "cannot resolve relative path '%s'", path);
        out->path = kv_path_join(cwd, path);
    }
    if (!out->host || !out->path)
        return kv_seterr(KV_ENOMEM, "out of memory parsing '%s'", path);
    n = strlen(out->path);
    while (n > 1 && out->path[n - 1] == '/')
        out->path[--n] = '\0';
    return KV_OK;
}

static int parse_authority(const char *text, const char *auth, size_t len, kv_url *out)
{
    const char *colon = memchr(auth, ':', len);
    size_t hostlen = colon ? (size_t)(colon - auth) : len;
    if (colon) {
        char *end;
        long port = strtol(colon + 1, &end, 10);
        if (end != auth + len || port <= 0 || port > 65535)
            return kv_seterr(KV_EINVAL, "bad port in URL '%s'", text);
        out->port = (int)port;
    }
    out->host = strndup(auth, hostlen);
    return out->host ? KV_OK : kv_seterr(KV_ENOMEM, "out of memory");
}

/* Schemes whose empty authority names the configured default file system
 * (Hadoop's fs.defaultFS): hdfs:///path. */
static int default_authority(const char *scheme)
{
    return strcmp(scheme, "hdfs") == 0 || strcmp(scheme, "webhdfs") == 0 ||
           strcmp(scheme, "swebhdfs") == 0;
}

int kv_url_parse(const char *text, kv_url *out)
{
    const char *sep = strstr(text, "://");
    const char *auth, *slash;
    size_t slen;
    int rc;

    memset(out, 0, sizeof *out);
    if (!text || !*text)
        return kv_seterr(KV_EINVAL, "empty store URL");
    if (!sep)
        return parse_local(text, out);
    slen = (size_t)(sep - text);
    if (slen == 0 || slen >= sizeof out->scheme)
        return kv_seterr(KV_EINVAL, "bad scheme in URL '%s'", text);
    for (size_t i = 0; i < slen; i++)
        out->scheme[i] = (char)tolower((unsigned char)text[i]);
    auth = sep + 3;
    if (strcmp(out->scheme, "file") == 0) {
        if (*auth != '/')
            return kv_seterr(KV_EINVAL, "file URL '%s' must be file:///absolute/path", text);
        rc = parse_local(auth, out);
        return rc;
    }
    slash = strchr(auth, '/');
    rc = parse_authority(text, auth, slash ? (size_t)(slash - auth) : strlen(auth), out);
    if (rc)
        return rc;
    if (!*out->host && !default_authority(out->scheme)) {
        kv_url_free(out);
        return kv_seterr(KV_EINVAL, "URL '%s' names no bucket, container or host", text);
    }
    out->path = strip_slashes(slash ? slash : "", slash ? strlen(slash) : 0);
    return out->path ? KV_OK : kv_seterr(KV_ENOMEM, "out of memory");
}

void kv_url_free(kv_url *url)
{
    free(url->host);
    free(url->path);
    url->host = url->path = NULL;
}

char *kv_path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb;
    char *out;
    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/' && la)
        b++;
    lb = strlen(b);
    out = malloc(la + lb + 2);
    if (!out)
        return NULL;
    memcpy(out, a, la);
    if (la && lb && a[la - 1] != '/')
        out[la++] = '/';
    memcpy(out + la, b, lb + 1);
    return out;
}

char *kv_url_encode(const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *p = out;
    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            *p++ = (char)c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    return out;
}
