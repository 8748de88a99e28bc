#include "backup/crccache.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/crc32c.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"

#define CACHE_FORMAT "kvault-crc-cache"

typedef struct entry {
    uint64_t dev, ino, size;
    int64_t mtime_ns;
    uint32_t crc;
} entry;

typedef struct entries {
    entry *e;
    size_t n, cap;
} entries;

struct kv_crc_cache {
    char *dir;    /* NULL when there is nowhere to keep a cache */
    char *path;
    entries old;  /* as loaded, sorted */
    entries live; /* seen by this backup */
};

static int push(entries *v, const entry *e)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 64;
        entry *p = realloc(v->e, cap * sizeof *p);
        if (!p)
            return kv_seterr(KV_ENOMEM, "out of memory");
        v->e = p;
        v->cap = cap;
    }
    v->e[v->n++] = *e;
    return KV_OK;
}

static int cmp_entry(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    if (a->dev != b->dev)
        return a->dev < b->dev ? -1 : 1;
    if (a->ino != b->ino)
        return a->ino < b->ino ? -1 : 1;
    if (a->size != b->size)
        return a->size < b->size ? -1 : 1;
    if (a->mtime_ns != b->mtime_ns)
        return a->mtime_ns < b->mtime_ns ? -1 : 1;
    return 0;
}

static entry key_of(const struct stat *st, uint32_t crc)
{
    entry e = {(uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
               (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec, crc};
    return e;
}

static int parse_entry(json_t *v, entry *e)
{
    uint32_t crc;
    if (!json_is_array(v) || json_array_size(v) != 5 || !json_is_string(json_array_get(v, 4)) ||
        kv_crc32c_parse(json_string_value(json_array_get(v, 4)), &crc) != KV_OK)
        return -1;
    for (size_t i = 0; i < 4; i++)
        if (!json_is_integer(json_array_get(v, i)))
            return -1;
    e->dev = (uint64_t)json_integer_value(json_array_get(v, 0));
    e->ino = (uint64_t)json_integer_value(json_array_get(v, 1));
    e->size = (uint64_t)json_integer_value(json_array_get(v, 2));
    e->mtime_ns = (int64_t)json_integer_value(json_array_get(v, 3));
    e->crc = crc;
    return 0;
}

/* Loads what parses; anything wrong leaves the cache empty. */
static void load(kv_crc_cache *c)
{
    char *data = NULL;
    size_t len;
    json_t *root = NULL, *arr;
    entry e;

    if (kv_read_file(c->path, &data, &len) != KV_OK)
        goto out;
    root = json_loadb(data, len, 0, NULL);
    arr = json_object_get(root, "entries");
    if (!json_is_string(json_object_get(root, "format")) ||
        strcmp(json_string_value(json_object_get(root, "format")), CACHE_FORMAT) || !json_is_array(arr))
        goto out;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if (parse_entry(json_array_get(arr, i), &e) || push(&c->old, &e)) {
            c->old.n = 0;
            goto out;
        }
    }
    if (c->old.n)
        qsort(c->old.e, c->old.n, sizeof *c->old.e, cmp_entry);
out:
    if (!c->old.n)
        kv_debug("no usable checksum cache at '%s'", c->path);
    kv_errclear();
    json_decref(root);
    free(data);
}

int kv_crc_cache_open(const char *dir, const char *db_identity, kv_crc_cache **out)
{
    kv_crc_cache *c = calloc(1, sizeof *c);
    char *id = strdup(db_identity);
    int rc = KV_OK;

    if (!c || !id) {
        rc = kv_seterr(KV_ENOMEM, "out of memory");
        goto out;
    }
    for (char *p = id; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            *p = '_';
    c->dir = dir ? strdup(dir) : NULL;
    if (c->dir && asprintf(&c->path, "%s/crc-%s.json", c->dir, id) < 0) {
        rc = kv_seterr(KV_ENOMEM, "out of memory");
        goto out;
    }
    if (c->path)
        load(c);
    *out = c;
    c = NULL;
out:
    kv_crc_cache_free(c);
    free(id);
    return rc;
}

int kv_crc_cache_lookup(const kv_crc_cache *c, const struct stat *st, uint32_t *crc)
{
    entry key = key_of(st, 0);
    const entry *hit = c->old.n ? bsearch(&key, c->old.e, c->old.n, sizeof key, cmp_entry) : NULL;
    if (hit)
        *crc = hit->crc;
    return hit != NULL;
}

int kv_crc_cache_add(kv_crc_cache *c, const struct stat *st, uint32_t crc)
{
    entry e = key_of(st, crc);
    return push(&c->live, &e);
}

static json_t *encode(const kv_crc_cache *c)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < c->live.n; i++) {
        const entry *e = &c->live.e[i];
        char hex[9];
        kv_crc32c_hex(e->crc, hex);
        if (json_array_append_new(arr, json_pack("[I, I, I, I, s]", (json_int_t)e->dev,
                                                 (json_int_t)e->ino, (json_int_t)e->size,
                                                 (json_int_t)e->mtime_ns, hex))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr ? json_pack("{s:s, s:i, s:o}", "format", CACHE_FORMAT, "version", 1, "entries", arr)
               : NULL;
}

int kv_crc_cache_save(kv_crc_cache *c)
{
    json_t *root;
    char *text = NULL;
    int rc;

    if (!c->path)
        return KV_OK;
    if ((rc = kv_mkdir_p(c->dir, 0700)))
        return rc;
    root = encode(c);
    text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    rc = text ? kv_write_file_atomic(c->path, text, strlen(text))
              : kv_seterr(KV_ENOMEM, "out of memory writing checksum cache '%s'", c->path);
    free(text);
    return rc;
}

void kv_crc_cache_free(kv_crc_cache *c)
{
    if (!c)
        return;
    free(c->dir);
    free(c->path);
    free(c->old.e);
    free(c->live.e);
    free(c);
}
