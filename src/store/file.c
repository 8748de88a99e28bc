/* The local-directory backend: each key is a file under the root directory.
 * Objects appear whole: they are written under a temporary name in the same
 * directory (".<name>.kvtmp-XXXXXX", multipart uploads too) and renamed into
 * place. Listings do not show temporary files; garbage removes those a
 * killed process left. Nothing is fsync'd per file; the sync op syncs the
 * whole file system once (before a backup writes its manifest). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "util/err.h"
#include "util/rate.h"
#include "util/url.h"

#define MIB (1024ull * 1024ull)
#define TMP_MARK ".kvtmp-"
#define TMP_NAME_MAX 200 /* of the object's name inside a temp name, to stay under NAME_MAX */

typedef struct file_store {
    kv_store base;
} file_store;

struct kv_upload {
    kv_store *st;
    char *key, *path, *tmp;
    int fd;
};

static const char *root_of(kv_store *st)
{
    return st->url.path;
}

static int is_temp_name(const char *name)
{
    return name[0] == '.' && strstr(name, TMP_MARK) != NULL;
}

static int fail_errno(int errnum, const char *key, const char *what, const char *path)
{
    return kv_seterr_errno(kv_errno_code(errnum), errnum, "object '%s': cannot %s '%s'", key, what,
                           path);
}

static int not_found(const char *key, const char *path)
{
    return kv_seterr(KV_ENOTFOUND, "object '%s' not found (no file '%s')", key, path);
}

static int is_dot_segment(const char *seg, size_t len)
{
    return (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.');
}

/* Keys are relative paths of plain names: no '/' at either end, no empty,
 * "." or ".." segments, nothing that looks like our temporary files. A
 * prefix may also be empty, end with '/' or end part way through a name. */
static int check_name(const char *name, int is_prefix)
{
    const char *what = is_prefix ? "prefix" : "key";
    const char *seg = name;
    if (!is_prefix && !*name)
        return kv_seterr(KV_EINVAL, "empty object key");
    if (*name == '/')
        return kv_seterr(KV_EINVAL, "%s '%s' starts with '/'", what, name);
    while (*seg) {
        size_t len = strcspn(seg, "/");
        int partial = is_prefix && seg[len] == '\0';
        if (!partial && (len == 0 || is_dot_segment(seg, len)))
            return kv_seterr(KV_EINVAL, "%s '%s' has an empty, '.' or '..' segment", what, name);
        if (!is_prefix && seg[0] == '.' && memmem(seg, len, TMP_MARK, strlen(TMP_MARK)))
            return kv_seterr(KV_EINVAL, "key '%s' looks like a temporary file of the local store",
                             name);
        if (!seg[len])
            break;
        seg += len + 1;
        if (!*seg && !is_prefix)
            return kv_seterr(KV_EINVAL, "key '%s' ends with '/'", name);
    }
    return KV_OK;
}

static int key_path(kv_store *st, const char *key, char **path)
{
    int rc = check_name(key, 0);
    if (rc)
        return rc;
    *path = kv_path_join(root_of(st), key);
    return *path ? KV_OK : kv_seterr(KV_ENOMEM, "out of memory for key '%s'", key);
}

/* Creates the directories between the root and path's file. */
static int make_parents(kv_store *st, const char *key, const char *path)
{
    char *dir = strdup(path);
    size_t root_len = strlen(root_of(st));
    int rc = KV_OK;
    if (!dir)
        return kv_seterr(KV_ENOMEM, "out of memory for key '%s'", key);
    *strrchr(dir, '/') = '\0';
    for (char *s = dir + (root_len > 1 ? 1 : root_len);; s++) {
        char c = *s;
        if (c != '/' && c != '\0')
            continue;
        *s = '\0';
        if (*dir && mkdir(dir, 0755) != 0 && errno != EEXIST) {
            rc = fail_errno(errno, key, "create directory", dir);
            break;
        }
        *s = c;
        if (!c)
            break;
    }
    free(dir);
    return rc;
}

/* Opens a new temporary file beside path. A concurrent remove may prune the
 * directory between mkdir and create, hence the few attempts. */
static int create_temp(kv_store *st, const char *key, const char *path, char **tmp, int *fd)
{
    const char *base = strrchr(path, '/') + 1;
    size_t dlen = (size_t)(base - path), n = dlen + TMP_NAME_MAX + 16;
    char *name = malloc(n);
    int rc = KV_OK;
    if (!name)
        return kv_seterr(KV_ENOMEM, "out of memory for key '%s'", key);
    for (int attempt = 0;; attempt++) {
        snprintf(name, n, "%.*s.%.*s" TMP_MARK "XXXXXX", (int)dlen, path, TMP_NAME_MAX, base);
        *fd = mkostemp(name, O_CLOEXEC);
        if (*fd >= 0)
            break;
        if (errno != ENOENT || attempt == 3) {
            rc = fail_errno(errno, key, "create", name);
            goto out;
        }
        rc = make_parents(st, key, path);
        if (rc)
            goto out;
    }
    if (fchmod(*fd, 0644) != 0) {
        rc = fail_errno(errno, key, "set the mode of", name);
        close(*fd);
        unlink(name);
        goto out;
    }
    *tmp = name;
    name = NULL;
out:
    free(name);
    return rc;
}

static int write_at(int fd, const void *buf, size_t len, uint64_t off, const char *key,
                    const char *path)
{
    const char *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail_errno(errno, key, "write", path);
        kv_rate_consume((size_t)n);
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return KV_OK;
}

static int rename_into_place(const char *key, const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0)
        return kv_seterr_errno(kv_errno_code(errno), errno, "object '%s': cannot rename '%s' to '%s'",
                               key, tmp, path);
    return KV_OK;
}

static int file_put(kv_store *st, const char *key, const void *buf, size_t len,
                    const kv_digest *digest)
{
    char *path = NULL, *tmp = NULL;
    int fd = -1, rc;
    (void)digest;
    rc = key_path(st, key, &path);
    if (rc)
        goto out;
    rc = create_temp(st, key, path, &tmp, &fd);
    if (rc)
        goto out;
    rc = write_at(fd, buf, len, 0, key, tmp);
    if (!rc)
        rc = rename_into_place(key, tmp, path);
out:
    if (fd >= 0) {
        close(fd);
        if (rc)
            unlink(tmp);
    }
    free(tmp);
    free(path);
    return rc;
}

static int file_get(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
                    size_t *got)
{
    char *path = NULL;
    struct stat sb;
    size_t done = 0;
    int fd = -1, rc;
    rc = key_path(st, key, &path);
    if (rc)
        goto out;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = errno == ENOENT || errno == ENOTDIR ? not_found(key, path)
                                                : fail_errno(errno, key, "open", path);
        goto out;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        rc = not_found(key, path);
        goto out;
    }
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = fail_errno(errno, key, "read", path);
            goto out;
        }
        if (n == 0)
            break;
        kv_rate_consume((size_t)n);
        done += (size_t)n;
    }
    *got = done;
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

static int file_stat(kv_store *st, const char *key, kv_object_info *out)
{
    char *path = NULL;
    struct stat sb;
    int rc = key_path(st, key, &path);
    if (rc)
        goto out;
    if (stat(path, &sb) != 0) {
        rc = errno == ENOENT || errno == ENOTDIR ? not_found(key, path)
                                                : fail_errno(errno, key, "stat", path);
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        rc = not_found(key, path);
        goto out;
    }
    memset(out, 0, sizeof *out);
    out->size = (uint64_t)sb.st_size;
    out->mtime_unix = (int64_t)sb.st_mtime;
out:
    free(path);
    return rc;
}

/* ---- list --------------------------------------------------------------- */

typedef struct entry {
    char *key;
    kv_object_info info;
} entry;

/* The files under a prefix: the objects (list), or the temporary files of
 * objects under it (garbage). */
typedef struct listing {
    kv_store *st;
    const char *prefix;
    size_t plen;
    int temps;
    entry *v;
    size_t n, cap;
} listing;

/* The key a temporary file "dir/.<name>.kvtmp-XXXXXX" was written for:
 * "dir/<name>" (the name cut to TMP_NAME_MAX). malloc'd; NULL = no memory. */
static char *temp_target(const char *rel)
{
    const char *base = strrchr(rel, '/'), *mark = NULL;
    char *out = NULL;
    base = base ? base + 1 : rel;
    for (const char *p = base; (p = strstr(p, TMP_MARK)); p++)
        mark = p;
    if (asprintf(&out, "%.*s%.*s", (int)(base - rel), rel,
                 mark > base ? (int)(mark - base - 1) : 0, base + 1) < 0)
        return NULL;
    return out;
}

static int add_entry(listing *l, char *key, const struct stat *sb)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        entry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return kv_seterr(KV_ENOMEM, "out of memory listing '%s'", l->prefix);
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n].info, 0, sizeof l->v[l->n].info);
    l->v[l->n].key = key;
    l->v[l->n].info.size = (uint64_t)sb->st_size;
    l->v[l->n].info.mtime_unix = (int64_t)sb->st_mtime;
    l->n++;
    return KV_OK;
}

/* 1 if rel (a key, or a directory ending in '/') may hold or be a match. */
static int may_match(const listing *l, const char *rel)
{
    size_t n = strlen(rel);
    return strncmp(rel, l->prefix, n < l->plen ? n : l->plen) == 0;
}

/* Whether the file rel (named name) is one l collects: an object under the
 * prefix, or with l->temps a temporary file of one. */
static int wanted(const listing *l, const char *rel, const char *name, int *yes)
{
    char *target;
    if (!l->temps || !is_temp_name(name)) {
        *yes = !l->temps && strncmp(rel, l->prefix, l->plen) == 0;
        return KV_OK;
    }
    target = temp_target(rel);
    if (!target)
        return kv_seterr(KV_ENOMEM, "out of memory listing '%s'", l->prefix);
    *yes = strncmp(target, l->prefix, l->plen) == 0;
    free(target);
    return KV_OK;
}

static int walk(listing *l, const char *rel_dir);

static int visit(listing *l, const char *rel_dir, const char *dir, const char *name)
{
    char *rel = NULL, *path = kv_path_join(dir, name);
    struct stat sb;
    int rc = KV_OK, yes = 0;
    if (!path || asprintf(&rel, "%s%s/", rel_dir, name) < 0) {
        rel = NULL;
        rc = kv_seterr(KV_ENOMEM, "out of memory listing '%s'", l->prefix);
        goto out;
    }
    if (lstat(path, &sb) != 0) {
        /* removed while we walk: as if listed just after */
        if (errno != ENOENT)
            rc = fail_errno(errno, rel, "stat", path);
        goto out;
    }
    if (S_ISDIR(sb.st_mode)) {
        if (may_match(l, rel))
            rc = walk(l, rel);
        goto out;
    }
    rel[strlen(rel) - 1] = '\0';
    if (S_ISREG(sb.st_mode))
        rc = wanted(l, rel, name, &yes);
    if (rc == KV_OK && yes) {
        rc = add_entry(l, rel, &sb);
        if (!rc)
            rel = NULL;
    }
out:
    free(rel);
    free(path);
    return rc;
}

/* Collects matching files under rel_dir ("" or "a/b/"). */
static int walk(listing *l, const char *rel_dir)
{
    char *dir = kv_path_join(root_of(l->st), rel_dir);
    struct dirent *e;
    DIR *d = NULL;
    int rc = KV_OK;
    if (!dir)
        return kv_seterr(KV_ENOMEM, "out of memory listing '%s'", l->prefix);
    d = opendir(dir);
    if (!d) {
        if (errno != ENOENT && errno != ENOTDIR)
            rc = kv_seterr_errno(kv_errno_code(errno), errno, "listing prefix '%s': cannot read '%s'",
                                 l->prefix, dir);
        goto out;
    }
    while (!rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            (is_temp_name(e->d_name) && !l->temps))
            continue;
        rc = visit(l, rel_dir, dir, e->d_name);
    }
out:
    if (d)
        closedir(d);
    free(dir);
    return rc;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->key, ((const entry *)b)->key);
}

static void listing_free(listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].key);
    free(l->v);
}

/* Fills l with what it collects under its prefix, in key order. */
static int collect(listing *l)
{
    const char *slash = strrchr(l->prefix, '/');
    char *start = strndup(l->prefix, slash ? (size_t)(slash - l->prefix + 1) : 0);
    int rc = check_name(l->prefix, 1);
    if (!rc && !start)
        rc = kv_seterr(KV_ENOMEM, "out of memory listing '%s'", l->prefix);
    if (!rc)
        rc = walk(l, start);
    if (!rc && l->n)
        qsort(l->v, l->n, sizeof *l->v, by_key);
    free(start);
    return rc;
}

static int file_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    listing l = {.st = st, .prefix = prefix, .plen = strlen(prefix)};
    int rc = collect(&l);
    for (size_t i = 0; i < l.n && !rc; i++)
        rc = cb(l.v[i].key, &l.v[i].info, payload);
    listing_free(&l);
    return rc;
}

/* ---- remove ------------------------------------------------------------- */

/* Removes the directories left empty between path and the root. */
static void prune_parents(kv_store *st, char *path)
{
    size_t root_len = strlen(root_of(st));
    char *slash;
    while ((slash = strrchr(path, '/')) && (size_t)(slash - path) > root_len) {
        *slash = '\0';
        if (rmdir(path) != 0)
            break;
    }
}

static int file_remove(kv_store *st, const char *key)
{
    char *path = NULL;
    int rc = key_path(st, key, &path);
    if (rc)
        goto out;
    if (unlink(path) != 0) {
        /* a directory at key is a prefix, not an object: nothing to remove */
        if (errno != ENOENT && errno != ENOTDIR && errno != EISDIR)
            rc = fail_errno(errno, key, "remove", path);
        goto out;
    }
    prune_parents(st, path);
out:
    free(path);
    return rc;
}

/* ---- multipart ---------------------------------------------------------- */

static void free_upload(kv_upload *up)
{
    if (up->fd >= 0)
        close(up->fd);
    free(up->key);
    free(up->path);
    free(up->tmp);
    free(up);
}

static int file_upload_begin(kv_store *st, const char *key, uint64_t total_size,
                             uint64_t part_size, kv_upload **out)
{
    kv_upload *up = calloc(1, sizeof *up);
    int rc;
    (void)part_size;
    if (!up)
        return kv_seterr(KV_ENOMEM, "out of memory for key '%s'", key);
    up->st = st;
    up->fd = -1;
    up->key = strdup(key);
    if (!up->key) {
        rc = kv_seterr(KV_ENOMEM, "out of memory for key '%s'", key);
        goto out;
    }
    rc = key_path(st, key, &up->path);
    if (!rc)
        rc = create_temp(st, key, up->path, &up->tmp, &up->fd);
    if (!rc && ftruncate(up->fd, (off_t)total_size) != 0)
        rc = fail_errno(errno, key, "size", up->tmp);
out:
    if (rc) {
        if (up->tmp)
            unlink(up->tmp);
        free_upload(up);
        return rc;
    }
    *out = up;
    return KV_OK;
}

static int file_upload_part(kv_upload *up, uint32_t n, uint64_t off, const void *buf,
                            size_t len, const kv_digest *digest)
{
    (void)n;
    (void)digest;
    return write_at(up->fd, buf, len, off, up->key, up->tmp);
}

static int file_upload_complete(kv_upload *up)
{
    int rc;
    if (up->fd >= 0 && close(up->fd) != 0) {
        up->fd = -1;
        return fail_errno(errno, up->key, "close", up->tmp);
    }
    up->fd = -1;
    rc = rename_into_place(up->key, up->tmp, up->path);
    if (!rc)
        free_upload(up);
    return rc;
}

static void file_upload_abort(kv_upload *up)
{
    unlink(up->tmp);
    prune_parents(up->st, up->tmp);
    free_upload(up);
}

/* ---- garbage: temporary files of writes never finished ------------------ */

typedef struct file_garbage {
    kv_store *st;
    kv_garbage_args args;
    const char *key;         /* the key the temporary file being taken was for */
    char *path;              /* its path (cut short by prune_parents) */
} file_garbage;

static int drop_temp(void *ctx)
{
    const file_garbage *g = ctx;
    if (unlink(g->path) == 0)
        prune_parents(g->st, g->path);
    else if (errno != ENOENT)
        return fail_errno(errno, g->key, "remove the temporary file", g->path);
    return KV_OK;
}

static int take_temp(file_garbage *g, const entry *e)
{
    char *target = temp_target(e->key), *path = kv_path_join(root_of(g->st), e->key);
    kv_garbage_item item = {.key = target, .name = e->key, .kind = "temporary file",
                            .size = e->info.size, .mtime_unix = e->info.mtime_unix};
    int rc = target && path ? KV_OK : kv_seterr(KV_ENOMEM, "out of memory for '%s'", e->key);
    g->key = target;
    g->path = path;
    if (rc == KV_OK)
        rc = kv_garbage_take(&g->args, &item, drop_temp, g);
    free(target);
    free(path);
    return rc;
}

static int file_garbage_collect(kv_store *st, const char *prefix, int64_t older_than_unix,
                                int dry_run, kv_garbage_cb cb, void *payload)
{
    listing l = {.st = st, .prefix = prefix, .plen = strlen(prefix), .temps = 1};
    file_garbage g = {.st = st,
                      .args = {.older_than = older_than_unix, .dry_run = dry_run, .cb = cb,
                               .payload = payload}};
    int rc = collect(&l);
    for (size_t i = 0; i < l.n && !rc; i++)
        rc = take_temp(&g, &l.v[i]);
    listing_free(&l);
    return rc;
}

/* ---- store -------------------------------------------------------------- */

static int file_sync(kv_store *st)
{
    int fd = open(root_of(st), O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = KV_OK;
    if (fd < 0)
        return errno == ENOENT ? KV_OK /* nothing stored yet */
                               : kv_seterr_errno(kv_errno_code(errno), errno,
                                                 "cannot open store root '%s'", root_of(st));
    if (syncfs(fd) != 0)
        rc = kv_seterr_errno(KV_EIO, errno, "cannot sync the file system of '%s'", root_of(st));
    close(fd);
    return rc;
}

static int file_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    file_store *fs;
    struct stat sb;
    (void)opts;
    if (stat(url->path, &sb) == 0 && !S_ISDIR(sb.st_mode))
        return kv_seterr(KV_EINVAL, "store root '%s' is not a directory", url->path);
    fs = calloc(1, sizeof *fs);
    if (!fs)
        return kv_seterr(KV_ENOMEM, "out of memory opening '%s'", url->path);
    *out = &fs->base;
    return KV_OK;
}

static void file_close(kv_store *st)
{
    free((file_store *)st);
}

const kv_store_ops kv_file_ops = {
    .version = KV_STORE_OPS_VERSION,
    .scheme = "file",
    .caps = KV_CAP_MULTIPART | KV_CAP_RANGE_GET,
    .min_part = MIB,
    .max_part = 1024 * MIB,
    .max_parts = 100000,
    .open = file_open,
    .put = file_put,
    .get = file_get,
    .stat = file_stat,
    .list = file_list,
    .remove = file_remove,
    .upload_begin = file_upload_begin,
    .upload_part = file_upload_part,
    .upload_complete = file_upload_complete,
    .upload_abort = file_upload_abort,
    .sync = file_sync,
    .close = file_close,
    .garbage = file_garbage_collect,
};
