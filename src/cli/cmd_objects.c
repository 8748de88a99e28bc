/* Commands over single objects: cp, ls, cat, rm, stat. A URL names a store
 * and a key in it; anything without "://" is a local path. */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static int is_url(const char *s)
{
    return strstr(s, "://") != NULL;
}

/* Opens the store holding url's object; *key is freed with kvault_free(). */
static int open_object(cli_args *a, const char *url, kvault **kv, char **key)
{
    if (cli_check_store_url(a->cmd, url) != CLI_OK)
        return CLI_USAGE;
    if (a->verbose)
        fprintf(stderr, "kvault: opening %s\n", url);
    return cli_check(kvault_open_url(url, &a->kvopts, kv, key));
}

static int upload(cli_args *a, const char *local, const char *url)
{
    kvault *kv = NULL;
    char *key = NULL;
    int rc = open_object(a, url, &kv, &key);

    if (rc == CLI_OK) {
        rc = cli_check(kvault_put_file(kv, local, key));
        kvault_free(key);
        kvault_close(kv);
    }
    return rc;
}

static int download(cli_args *a, const char *url, const char *local)
{
    kvault *kv = NULL;
    char *key = NULL;
    int rc = open_object(a, url, &kv, &key);

    if (rc == CLI_OK) {
        rc = cli_check(kvault_get_file(kv, key, local));
        kvault_free(key);
        kvault_close(kv);
    }
    return rc;
}

/* Store to store: through a temporary local file, since the stores may be
 * of different kinds. */
static int copy_via_temp(cli_args *a, const char *src, const char *dst)
{
    const char *tmpdir = getenv("TMPDIR");
    char tmp[4096];
    int fd, rc;

    snprintf(tmp, sizeof(tmp), "%s/kvault-cp-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "kvault: cannot create a temporary file in %s: %s\n",
                tmpdir && *tmpdir ? tmpdir : "/tmp", strerror(errno));
        return CLI_FAIL;
    }
    close(fd);
    rc = download(a, src, tmp);
    if (rc == CLI_OK)
        rc = upload(a, tmp, dst);
    unlink(tmp);
    return rc;
}

/* Like cp(1): a destination that ends in '/' or is a local directory gets
 * the source's last path component appended. *out is malloc'd. */
static int resolve_destination(const char *src, const char *dst, char **out)
{
    const char *base = strrchr(src, '/');
    size_t dlen = strlen(dst);
    struct stat st;
    int into_dir;

    base = base ? base + 1 : src;
    into_dir = (dlen > 0 && dst[dlen - 1] == '/') ||
               (!is_url(dst) && stat(dst, &st) == 0 && S_ISDIR(st.st_mode));
    if (!into_dir) {
        *out = strdup(dst);
    } else if (*base == '\0') {
        fprintf(stderr, "kvault: cp: source '%s' names a directory, not an object\n", src);
        return CLI_FAIL;
    } else if (asprintf(out, "%s%s%s", dst, dst[dlen - 1] == '/' ? "" : "/", base) < 0) {
        *out = NULL;
    }
    if (!*out) {
        fprintf(stderr, "kvault: out of memory\n");
        return CLI_FAIL;
    }
    return CLI_OK;
}

int cli_cmd_cp(cli_args *a)
{
    const char *src = a->pos[0];
    char *dst = NULL;
    int rc;

    if (cli_check_store_url(a->cmd, src) != CLI_OK || cli_check_store_url(a->cmd, a->pos[1]) != CLI_OK)
        return CLI_USAGE;
    rc = resolve_destination(src, a->pos[1], &dst);
    if (rc != CLI_OK)
        return rc;
    if (!is_url(src))
        rc = upload(a, src, dst);
    else if (!is_url(dst))
        rc = download(a, src, dst);
    else
        rc = copy_via_temp(a, src, dst);
    free(dst);
    return rc;
}

static void print_object_json(const kvault_object *o)
{
    fputs("{\"key\": ", stdout);
    cli_json_str(stdout, o->key);
    printf(", \"size\": %" PRIu64 ", \"mtime_unix\": %" PRId64 ", \"etag\": ", o->size,
           o->mtime_unix);
    cli_json_str(stdout, o->etag);
    fputs("}", stdout);
}

static void print_objects(const cli_args *a, const kvault_object *objs, size_t n)
{
    char when[32];

    if (a->json)
        fputs("[", stdout);
    for (size_t i = 0; i < n; i++) {
        if (a->json) {
            fputs(i ? ",\n " : "\n ", stdout);
            print_object_json(&objs[i]);
            continue;
        }
        printf("%12" PRIu64 "  %-19s  %s\n", objs[i].size,
               objs[i].mtime_unix ? cli_utc_time(objs[i].mtime_unix, when, sizeof(when)) : "-",
               objs[i].key);
    }
    if (a->json)
        fputs(n ? "\n]\n" : "]\n", stdout);
}

int cli_cmd_ls(cli_args *a)
{
    kvault *kv = NULL;
    char *key = NULL;
    kvault_object *objs = NULL;
    size_t n = 0;
    int rc = open_object(a, a->pos[0], &kv, &key);

    if (rc != CLI_OK)
        return rc;
    rc = cli_check(kvault_ls(kv, key, &objs, &n));
    if (rc == CLI_OK)
        print_objects(a, objs, n);
    kvault_free_objects(objs, n);
    kvault_free(key);
    kvault_close(kv);
    return rc;
}

int cli_cmd_stat(cli_args *a)
{
    kvault *kv = NULL;
    char *key = NULL;
    kvault_object o;
    char size[32], when[32];
    int rc = open_object(a, a->pos[0], &kv, &key);

    if (rc != CLI_OK)
        return rc;
    memset(&o, 0, sizeof(o));
    rc = cli_check(kvault_stat(kv, key, &o));
    if (rc == CLI_OK && a->json) {
        print_object_json(&o);
        fputs("\n", stdout);
    } else if (rc == CLI_OK) {
        printf("key:   %s\nsize:  %" PRIu64 " (%s)\nmtime: %s%s\netag:  %s\n", o.key ? o.key : key,
               o.size, cli_human_size(o.size, size, sizeof(size)),
               o.mtime_unix ? cli_utc_time(o.mtime_unix, when, sizeof(when)) : "-",
               o.mtime_unix ? " UTC" : "", o.etag[0] ? o.etag : "-");
    }
    kvault_free(o.key);
    kvault_free(key);
    kvault_close(kv);
    return rc;
}

int cli_cmd_cat(cli_args *a)
{
    kvault *kv = NULL;
    char *key = NULL;
    int rc = open_object(a, a->pos[0], &kv, &key);

    if (rc != CLI_OK)
        return rc;
    rc = cli_check(kvault_cat(kv, key, STDOUT_FILENO));
    kvault_free(key);
    kvault_close(kv);
    return rc;
}

int cli_cmd_rm(cli_args *a)
{
    kvault *kv = NULL;
    char *key = NULL;
    int rc = open_object(a, a->pos[0], &kv, &key);

    if (rc != CLI_OK)
        return rc;
    rc = cli_check(kvault_rm(kv, key));
    if (rc == CLI_OK && a->verbose)
        fprintf(stderr, "kvault: removed %s\n", a->pos[0]);
    kvault_free(key);
    kvault_close(kv);
    return rc;
}
