#include "backup/index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/catalog.h"
#include "backup/internal.h"
#include "backup/layout.h"
#include "backup/sealed.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/parallel.h"
#include "util/log.h"
#include "util/random.h"

#define INDEX_FORMAT "kvault-index"
#define INDEX_VERSION 1
#define INDEX_MAX_JSON (512u << 20)

/* ---- encoding ---------------------------------------------------------------- */

static json_t *encode_backup(const kv_index_backup *b)
{
    return json_pack("{s:s, s:s, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:s}", "id", b->id, "date",
                     b->date, "created_ms", (json_int_t)b->created_ms, "seconds", b->seconds,
                     "files", (json_int_t)b->files, "bytes", (json_int_t)b->bytes, "files_new",
                     (json_int_t)b->files_new, "bytes_new", (json_int_t)b->bytes_new, "sequence",
                     (json_int_t)b->sequence, "manifest", b->manifest);
}

/* [name, size, crc, object] or, for a member of an archive, with its offset */
static json_t *encode_file(const kv_index_file *f)
{
    char hex[9];
    kv_crc32c_hex(f->crc32c, hex);
    if (f->in_archive)
        return json_pack("[s, I, s, s, I]", f->name, (json_int_t)f->size, hex, f->object,
                         (json_int_t)f->offset);
    return json_pack("[s, I, s, s]", f->name, (json_int_t)f->size, hex, f->object);
}

/* A sealed index document of backups b[0..nb) and files f[0..nf). */
static int encode_index(const kv_index_backup *b, size_t nb, const kv_index_file *f, size_t nf,
                        void **data, size_t *len)
{
    json_t *backups = json_array(), *files = json_array(), *root;
    int rc;
    for (size_t i = 0; backups && i < nb; i++)
        if (json_array_append_new(backups, encode_backup(&b[i])) != 0)
            json_decref(backups), backups = NULL;
    for (size_t i = 0; files && i < nf; i++)
        if (json_array_append_new(files, encode_file(&f[i])) != 0)
            json_decref(files), files = NULL;
    root = backups && files ? json_pack("{s:s, s:i, s:o, s:o}", "format", INDEX_FORMAT, "version",
                                        INDEX_VERSION, "backups", backups, "files", files)
                            : NULL;
    if (!root) {
        if (!backups || !files) {
            json_decref(backups);
            json_decref(files);
        }
        return kv_oom();
    }
    rc = kv_sealed_encode(root, data, len);
    json_decref(root);
    return rc;
}

/* ---- decoding --------------------------------------------------------------- */

static int get_u64(json_t *o, const char *name, uint64_t *out)
{
    json_t *v = json_object_get(o, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int decode_backup(json_t *o, kv_index_backup *b)
{
    const char *id, *date, *manifest;
    uint64_t created;
    json_t *secs = json_object_get(o, "seconds");
    if (json_unpack(o, "{s:s, s:s, s:s}", "id", &id, "date", &date, "manifest", &manifest) != 0 ||
        !kv_backup_id_valid(id) || !kv_date_valid(date) || !json_is_number(secs) ||
        get_u64(o, "created_ms", &created) || get_u64(o, "files", &b->files) ||
        get_u64(o, "bytes", &b->bytes) || get_u64(o, "files_new", &b->files_new) ||
        get_u64(o, "bytes_new", &b->bytes_new) || get_u64(o, "sequence", &b->sequence))
        return -1;
    snprintf(b->id, sizeof b->id, "%s", id);
    snprintf(b->date, sizeof b->date, "%s", date);
    b->created_ms = (int64_t)created;
    b->seconds = json_number_value(secs);
    return (b->manifest = strdup(manifest)) ? 0 : -1;
}

static int decode_file(json_t *a, kv_index_file *f)
{
    const char *name, *hex, *object;
    json_int_t size, offset = 0;
    f->in_archive = json_array_size(a) == 5;
    if ((f->in_archive ? json_unpack(a, "[s, I, s, s, I]", &name, &size, &hex, &object, &offset)
                       : json_unpack(a, "[s, I, s, s]", &name, &size, &hex, &object)) != 0 ||
        size < 0 || offset < 0 || strlen(hex) != 8 || kv_crc32c_parse(hex, &f->crc32c) != KV_OK)
        return -1;
    f->offset = (uint64_t)offset;
    f->size = (uint64_t)size;
    f->name = strdup(name);
    f->object = strdup(object);
    return f->name && f->object ? 0 : -1;
}

static int has_backup(const kv_index *ix, const char *id)
{
    for (size_t i = 0; i < ix->nb; i++)
        if (strcmp(ix->b[i].id, id) == 0)
            return 1;
    return 0;
}

/* Adds a decoded document's backups and files to ix (union). */
static int merge_doc(kv_index *ix, json_t *root, const char *key)
{
    json_t *backups = json_object_get(root, "backups"), *files = json_object_get(root, "files");
    kv_index_backup *nb;
    kv_index_file *nf;
    if (!json_is_array(backups) || !json_is_array(files) ||
        json_integer_value(json_object_get(root, "version")) != INDEX_VERSION)
        return kv_seterr(KV_EINVAL, "index object '%s' is not one this kvault reads", key);
    nb = realloc(ix->b, (ix->nb + json_array_size(backups) + 1) * sizeof *nb);
    nf = nb ? realloc(ix->f, (ix->nf + json_array_size(files) + 1) * sizeof *nf) : NULL;
    if (nb)
        ix->b = nb;
    if (!nf)
        return kv_oom();
    ix->f = nf;
    for (size_t i = 0; i < json_array_size(backups); i++) {
        kv_index_backup b = {0};
        if (decode_backup(json_array_get(backups, i), &b))
            return free(b.manifest), kv_seterr(KV_EINVAL, "index object '%s': backup %zu is "
                                                          "malformed", key, i);
        if (has_backup(ix, b.id))
            free(b.manifest);
        else
            ix->b[ix->nb++] = b;
    }
    for (size_t i = 0; i < json_array_size(files); i++) {
        kv_index_file *f = &ix->f[ix->nf];
        memset(f, 0, sizeof *f);
        if (decode_file(json_array_get(files, i), f)) {
            free(f->name);
            free(f->object);
            return kv_seterr(KV_EINVAL, "index object '%s': file %zu is malformed", key, i);
        }
        ix->nf++;
    }
    return KV_OK;
}

/* ---- reading ------------------------------------------------------------------ */

static int cmp_backup(const void *a, const void *b)
{
    const kv_index_backup *x = a, *y = b;
    return kv_backup_order(x->created_ms, x->id, y->created_ms, y->id);
}

/* By where the bytes are: object, then offset (members of one archive). */
static int cmp_file_object(const void *a, const void *b)
{
    const kv_index_file *x = a, *y = b;
    int c = strcmp(x->object, y->object);
    if (c)
        return c;
    return (x->offset > y->offset) - (x->offset < y->offset);
}

static void free_file(kv_index_file *f)
{
    free(f->name);
    free(f->object);
}

/* Sorts backups by time and keeps one file per object. */
static void normalise(kv_index *ix)
{
    size_t k = 0;
    if (ix->nb)
        qsort(ix->b, ix->nb, sizeof *ix->b, cmp_backup);
    if (!ix->nf)
        return;
    qsort(ix->f, ix->nf, sizeof *ix->f, cmp_file_object);
    for (size_t i = 1; i < ix->nf; i++) {
        if (cmp_file_object(&ix->f[i], &ix->f[k]) == 0)
            free_file(&ix->f[i]);
        else
            ix->f[++k] = ix->f[i];
    }
    ix->nf = k + 1;
}

static int keep_attempt(kv_index *ix, const char *key)
{
    char **p = realloc(ix->attempts, (ix->nattempts + 1) * sizeof *p);
    if (!p)
        return kv_oom();
    ix->attempts = p;
    if (!(p[ix->nattempts] = strdup(key)))
        return kv_oom();
    ix->nattempts++;
    return 0;
}

/* Entries and catalogs go into ix->sources; attempt journals are read apart
 * (they name no committed backup and are never compacted). */
static int collect_source(const char *key, const kv_object_info *info, void *payload)
{
    kv_index *ix = payload;
    const char *base = strrchr(key, '/');
    char **p;
    (void)info;
    base = base ? base + 1 : key;
    if (strncmp(base, "entry-", 6) != 0 && strncmp(base, "catalog-", 8) != 0)
        return strncmp(base, "attempt-", 8) == 0 ? keep_attempt(ix, key) : 0;
    if (!(p = realloc(ix->sources, (ix->nsources + 1) * sizeof *p)) || !(p[ix->nsources] = strdup(key))) {
        if (p)
            ix->sources = p;
        return kv_oom();
    }
    ix->sources = p;
    ix->nentries += strncmp(base, "entry-", 6) == 0;
    ix->nsources++;
    return 0;
}

static int decode_doc(const char *key, const char *data, size_t len, kv_index *ix)
{
    char what[1100];
    json_t *root = NULL;
    int sealed, rc;
    snprintf(what, sizeof what, "index object '%s'", key);
    if (!(rc = kv_sealed_decode(data, len, INDEX_MAX_JSON, what, &root, &sealed)))
        rc = sealed ? merge_doc(ix, root, key)
                    : kv_seterr(KV_ECORRUPT, "index object '%s' has no digest", key);
    json_decref(root);
    return rc;
}

static int read_doc(kv_store *st, const char *key, kv_index *ix)
{
    char *data = NULL;
    size_t len;
    int rc = kv_read_small(st, key, INDEX_MAX_JSON, &data, &len);
    if (!rc)
        rc = decode_doc(key, data, len, ix);
    free(data);
    return rc;
}

/* The documents of ix->sources, fetched in parallel: on a remote store a
 * read costs a round trip, and a listing of up to 17 documents would
 * otherwise cost 17. */
typedef struct fetched {
    kv_store *st;
    char **keys;
    char **data;
    size_t *len;
} fetched;

static int fetch_one(size_t i, void *arg)
{
    fetched *f = arg;
    return kv_read_small(f->st, f->keys[i], INDEX_MAX_JSON, &f->data[i], &f->len[i]);
}

#define INDEX_READERS 8

static int read_sources(kv_store *st, kv_index *ix)
{
    fetched f = {.st = st, .keys = ix->sources, .data = calloc(ix->nsources + 1, sizeof *f.data),
                 .len = calloc(ix->nsources + 1, sizeof *f.len)};
    int rc = f.data && f.len ? kv_parallel_for(ix->nsources, INDEX_READERS, fetch_one, &f)
                             : kv_oom();
    for (size_t i = 0; i < ix->nsources && !rc; i++)
        rc = decode_doc(ix->sources[i], f.data[i], f.len[i], ix);
    for (size_t i = 0; f.data && i < ix->nsources; i++)
        free(f.data[i]);
    free(f.data);
    free(f.len);
    return rc;
}

/* The files of an attempt's journal into ix->af. A journal that cannot be
 * read only costs uploads: it is skipped. */
static void read_attempt(kv_store *st, const char *key, kv_index *ix)
{
    kv_index part = {0};
    kv_index_file *p;
    if (read_doc(st, key, &part) != KV_OK ||
        !(p = realloc(ix->af, (ix->naf + part.nf + 1) * sizeof *p))) {
        kv_log(KV_LOG_INFO, "skipping the journal '%s': %s", key, kv_errmsg());
        kv_index_free(&part);
        return;
    }
    ix->af = p;
    memcpy(ix->af + ix->naf, part.f, part.nf * sizeof *part.f);
    ix->naf += part.nf;
    part.nf = 0; /* its files now belong to ix */
    kv_index_free(&part);
}

static int read_index(kv_store *st, const char *env, kv_index *ix)
{
    char *prefix = kv_layout_index_prefix(env);
    int rc;
    if (!prefix)
        return kv_oom();
    rc = kv_store_list(st, prefix, collect_source, ix);
    free(prefix);
    if (!rc)
        rc = read_sources(st, ix);
    if (!rc)
        normalise(ix);
    for (size_t i = 0; i < ix->nattempts && !rc; i++)
        read_attempt(st, ix->attempts[i], ix);
    return rc;
}

/* Rebuilds from the manifests (every one that parses) and writes it. */
static int rebuild(kv_store *st, const char *env, kv_index *out)
{
    kv_catalog c;
    int rc = kv_catalog_load(st, env, 1, &c);
    if (rc)
        return rc;
    kv_index_free(out);
    if (!c.n || (rc = kv_index_write_from(st, env, c.m, c.n)) == KV_OK)
        rc = read_index(st, env, out); /* and the attempts' journals */
    kv_catalog_free(&c);
    return rc;
}

int kv_index_load(kv_store *st, const char *env, kv_index *out)
{
    int rc;
    memset(out, 0, sizeof *out);
    rc = read_index(st, env, out);
    if (rc == KV_ECORRUPT || rc == KV_EINVAL) {
        kv_log(KV_LOG_ERROR, "warning: rebuilding the index of env '%s' from its manifests: %s",
               env, kv_errmsg());
        return rebuild(st, env, out);
    }
    if (!rc && out->nsources == 0)
        rc = rebuild(st, env, out); /* never written, or an env kvault 0.1 made */
    return rc;
}

void kv_index_free(kv_index *ix)
{
    for (size_t i = 0; i < ix->nb; i++)
        free(ix->b[i].manifest);
    for (size_t i = 0; i < ix->nf; i++)
        free_file(&ix->f[i]);
    for (size_t i = 0; i < ix->naf; i++)
        free_file(&ix->af[i]);
    for (size_t i = 0; i < ix->nsources; i++)
        free(ix->sources[i]);
    for (size_t i = 0; i < ix->nattempts; i++)
        free(ix->attempts[i]);
    free(ix->b);
    free(ix->f);
    free(ix->af);
    free(ix->sources);
    free(ix->attempts);
    memset(ix, 0, sizeof *ix);
}

/* ---- writing ------------------------------------------------------------------ */

int kv_index_summary(const kv_manifest *m, kv_index_backup *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->id, sizeof out->id, "%s", m->id);
    snprintf(out->date, sizeof out->date, "%s", m->date);
    out->created_ms = m->created_ms;
    out->seconds = m->seconds;
    out->files = m->nfiles;
    out->bytes = kv_manifest_bytes(m);
    out->files_new = m->files_new;
    out->bytes_new = m->bytes_new;
    out->sequence = m->sequence;
    out->manifest = kv_layout_manifest_key(m->env, m->date, m->id, m->version < 3);
    return out->manifest ? KV_OK : kv_oom();
}

/* The immutable files of manifests ms[0..n), shallow copies. */
static int immutable_files(const kv_manifest *ms, size_t n, kv_index_file **out, size_t *count)
{
    size_t total = 0, k = 0;
    for (size_t i = 0; i < n; i++)
        total += ms[i].nfiles;
    if (!(*out = calloc(total + 1, sizeof **out)))
        return kv_oom();
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ms[i].nfiles; j++)
            if (kv_name_is_immutable(ms[i].files[j].name))
                (*out)[k++] = (kv_index_file){.name = ms[i].files[j].name,
                                              .size = ms[i].files[j].size,
                                              .crc32c = ms[i].files[j].crc32c,
                                              .object = ms[i].files[j].object,
                                              .in_archive = ms[i].files[j].in_archive,
                                              .offset = ms[i].files[j].offset};
    *count = k;
    return KV_OK;
}

static int put_doc(kv_store *st, const char *key, const kv_index_backup *b, size_t nb,
                   const kv_index_file *f, size_t nf)
{
    void *data = NULL;
    size_t len;
    kv_digest d = {0};
    int rc = encode_index(b, nb, f, nf, &data, &len);
    if (!rc) {
        d.crc32c = kv_crc32c(0, data, len);
        rc = kv_store_put(st, key, data, len, &d);
    }
    free(data);
    return rc;
}

static int catalog_key(const char *env, const char *newest_id, char **key)
{
    char rnd[7], *prefix = kv_layout_index_prefix(env);
    int rc = prefix ? kv_random_hex(rnd, 6) : kv_oom();
    if (!rc && asprintf(key, "%scatalog-%s-%s.json.zst", prefix, newest_id, rnd) < 0)
        rc = kv_oom();
    free(prefix);
    return rc;
}

/* Removes the index objects in keys (best effort: a leftover is only read
 * again, never wrong). */
static void remove_sources(kv_store *st, char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (kv_store_remove(st, keys[i]) != KV_OK)
            kv_log(KV_LOG_ERROR, "warning: index object '%s' not removed: %s", keys[i], kv_errmsg());
}

int kv_index_write_from(kv_store *st, const char *env, const kv_manifest *ms, size_t n)
{
    kv_index old = {0};
    kv_index_backup *b = calloc(n + 1, sizeof *b);
    kv_index_file *f = NULL;
    size_t nf = 0;
    char *key = NULL;
    int rc = b ? KV_OK : kv_oom();

    for (size_t i = 0; i < n && !rc; i++)
        rc = kv_index_summary(&ms[i], &b[i]);
    if (!rc && !(rc = immutable_files(ms, n, &f, &nf)) &&
        !(rc = catalog_key(env, n ? ms[n - 1].id : "empty", &key))) {
        char *prefix = kv_layout_index_prefix(env);
        rc = prefix ? kv_store_list(st, prefix, collect_source, &old) : kv_oom();
        free(prefix);
    }
    if (!rc && !(rc = put_doc(st, key, b, n, f, nf)))
        remove_sources(st, old.sources, old.nsources);
    for (size_t i = 0; b && i < n; i++)
        free(b[i].manifest);
    free(b);
    free(f);
    free(key);
    kv_index_free(&old);
    return rc;
}

/* Entry of one committed backup: its summary and the files it stored. */
static int write_entry(kv_store *st, const char *env, const kv_manifest *m)
{
    kv_index_backup b;
    kv_index_file *f = NULL;
    size_t nf = 0;
    char *key = NULL, *prefix = kv_layout_index_prefix(env);
    int rc = prefix ? kv_index_summary(m, &b) : kv_oom();
    if (rc) {
        free(prefix);
        return rc;
    }
    if (!(rc = immutable_files(m, 1, &f, &nf)) &&
        asprintf(&key, "%sentry-%s.json.zst", prefix, m->id) < 0) {
        key = NULL;
        rc = kv_oom();
    }
    if (!rc)
        rc = put_doc(st, key, &b, 1, f, nf);
    free(b.manifest);
    free(f);
    free(key);
    free(prefix);
    return rc;
}

/* Merges ix and m into one catalog and removes the objects ix was read from. */
static int compact(kv_store *st, const char *env, const kv_manifest *m, const kv_index *ix)
{
    kv_index_backup *b = calloc(ix->nb + 2, sizeof *b);
    kv_index_file *f = NULL, *mine = NULL;
    size_t nmine = 0;
    char *key = NULL;
    int rc = b ? immutable_files(m, 1, &mine, &nmine) : kv_oom();

    if (!rc && !(f = calloc(ix->nf + nmine + 1, sizeof *f)))
        rc = kv_oom();
    if (!rc) {
        memcpy(b, ix->b, ix->nb * sizeof *b);
        memcpy(f, ix->f, ix->nf * sizeof *f);
        memcpy(f + ix->nf, mine, nmine * sizeof *f);
        rc = kv_index_summary(m, &b[ix->nb]);
    }
    if (!rc && !(rc = catalog_key(env, m->id, &key)) &&
        !(rc = put_doc(st, key, b, ix->nb + 1, f, ix->nf + nmine)))
        remove_sources(st, ix->sources, ix->nsources);
    if (b)
        free(b[ix->nb].manifest);
    free(b);
    free(f);
    free(mine);
    free(key);
    return rc;
}

int kv_index_add(kv_store *st, const char *env, const kv_manifest *m, const kv_index *ix)
{
    /* the entry first: if compacting fails, the backup is still indexed */
    int rc = write_entry(st, env, m);
    if (rc || ix->nentries + 1 <= KV_INDEX_MAX_ENTRIES)
        return rc;
    if (compact(st, env, m, ix) != KV_OK)
        kv_log(KV_LOG_ERROR, "warning: the index of env '%s' was not compacted: %s", env,
               kv_errmsg());
    return KV_OK;
}

/* ---- attempt journals ------------------------------------------------------------ */

char *kv_index_attempt_key(const char *env, const char *id)
{
    char *prefix = kv_layout_index_prefix(env), *key = NULL;
    if (prefix && asprintf(&key, "%sattempt-%s.json.zst", prefix, id) < 0)
        key = NULL;
    free(prefix);
    return key;
}

int kv_index_attempt_id(const char *key, char id[64])
{
    const char *base = strrchr(key, '/'), *end;
    base = base ? base + 1 : key;
    if (strncmp(base, "attempt-", 8) != 0 || !(end = strstr(base, ".json.zst")) ||
        (size_t)(end - base - 8) >= 64)
        return 0;
    memcpy(id, base + 8, (size_t)(end - base - 8));
    id[end - base - 8] = '\0';
    return kv_backup_id_valid(id);
}

int kv_index_write_attempt(kv_store *st, const char *env, const char *id, const kv_index_file *f,
                           size_t n)
{
    char *key = kv_index_attempt_key(env, id);
    int rc = key ? put_doc(st, key, NULL, 0, f, n) : kv_oom();
    free(key);
    return rc;
}

int kv_index_remove_attempt(kv_store *st, const char *env, const char *id)
{
    char *key = kv_index_attempt_key(env, id);
    int rc = key ? kv_store_remove(st, key) : kv_oom();
    free(key);
    return rc;
}
