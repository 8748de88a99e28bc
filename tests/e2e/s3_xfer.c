/* s3_xfer put FILE s3://bucket/key | s3_xfer get s3://bucket/key FILE
 * Moves one file with the transfer engine in 5 MiB parts (so files over
 * 5 MiB go multipart); for the interop test while the CLI is young. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store.h"
#include "test_store.h"
#include "transfer/transfer.h"
#include "util/err.h"

static int split(const char *url, char *store, size_t n, const char **key)
{
    const char *slash = strncmp(url, "s3://", 5) == 0 ? strchr(url + 5, '/') : NULL;
    if (!slash || (size_t)(slash - url) >= n)
        return KV_EINVAL;
    snprintf(store, n, "%.*s", (int)(slash - url), url);
    *key = slash + 1;
    return KV_OK;
}

int main(int argc, char **argv)
{
    int put = argc == 4 && strcmp(argv[1], "put") == 0;
    const char *url = put ? argv[3] : argv[2], *file = put ? argv[2] : argv[3], *key;
    kv_xfer_opts o = {.workers = 4, .part_size = 5 << 20};
    kv_xfer_item it = {file, NULL, 0, 0, 0, 0, 0};
    kv_object_info info;
    kv_store *st = NULL;
    char store[256];
    struct stat sb;
    int rc;

    if (argc != 4 || (!put && strcmp(argv[1], "get") != 0) ||
        split(url, store, sizeof store, &key) != KV_OK) {
        fprintf(stderr, "usage: s3_xfer put FILE s3://bucket/key | get s3://bucket/key FILE\n");
        return 2;
    }
    it.key = key;
    rc = kvt_store_open(store, &st);
    if (rc == KV_OK && put) {
        rc = stat(file, &sb) == 0 ? KV_OK : kv_seterr(KV_ENOTFOUND, "no file %s", file);
        it.size = (uint64_t)sb.st_size;
        if (rc == KV_OK)
            rc = kv_xfer_upload(st, &it, 1, &o);
    } else if (rc == KV_OK) {
        rc = kv_store_stat(st, key, &info);
        it.size = info.size;
        if (rc == KV_OK)
            rc = kv_xfer_download(st, &it, 1, &o);
    }
    if (rc)
        fprintf(stderr, "s3_xfer: %s\n", kv_errmsg());
    kv_store_close(st);
    return rc ? 1 : 0;
}
