#include "backup/manifest.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/layout.h"
#include "backup/sealed.h"
#include "util/crc32c.h"
#include "util/err.h"

#define MAX_SAFE_INT (UINT64_C(1) << 53) /* exact in every JSON reader */
#define MAX_STRING 4096
#define MAX_KEY_B64 (1u << 20)

uint64_t kv_manifest_bytes(const kv_manifest *m)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < m->nfiles; i++)
        sum += m->files[i].size;
    return sum;
}

/* ---- encoding ---------------------------------------------------------- */

static json_t *encode_file(const kv_manifest *m, const kv_mfile *f)
{
    char hex[9];
    json_t *o;
    kv_crc32c_hex(f->crc32c, hex);
    o = json_pack("{s:s, s:I, s:s, s:s}", "name", f->name, "size", (json_int_t)f->size, "crc32c",
                  hex, "object", f->object);
    if (o && f->in_archive && json_object_set_new(o, "offset", json_integer((json_int_t)f->offset))) {
        json_decref(o);
        return NULL;
    }
    if (o && m->sst_export && f->cf &&
        (json_object_set_new(o, "cf", json_string(f->cf)) ||
         json_object_set_new(o, "smallest", json_string(f->smallest)) ||
         json_object_set_new(o, "largest", json_string(f->largest)) ||
         json_object_set_new(o, "entries", json_integer((json_int_t)f->entries)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *encode_files(const kv_manifest *m)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < m->nfiles; i++) {
        if (json_array_append_new(arr, encode_file(m, &m->files[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *encode_cf_code(const kv_manifest *m)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < m->ncf_code; i++) {
        const kv_cf_conf *c = &m->cf_code[i];
        if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s?}", "name", c->name, "comparator",
                                                 c->comparator, "merge_operator",
                                                 c->merge_operator)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *encode_strings(char **s, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        if (json_array_append_new(arr, json_string(s[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* "2026-12-01T22:33:55.123Z" */
static void format_created(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char secs[24];
    gmtime_r(&t, &tm);
    strftime(secs, sizeof secs, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", secs, (int)(ms % 1000));
}

/* Version 4 for what older readers would misread: exports, archives. */
static int needs_v4(const kv_manifest *m)
{
    for (size_t i = 0; i < m->nfiles; i++)
        if (m->files[i].in_archive)
            return 1;
    return m->sst_export;
}

int kv_manifest_encode(const kv_manifest *m, void **data, size_t *len)
{
    char created[32];
    json_t *files = encode_files(m), *cfs = encode_strings(m->column_families, m->ncolumn_families);
    json_t *code = encode_cf_code(m);
    json_t *root;
    int rc;

    format_created(m->created_ms, created);
    /* "o" steals files and cfs, also when json_pack fails */
    root = files && cfs && code
               ? json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:f, s:s,"
                           " s:{s:s, s:s?, s:s, s:s?, s:o, s:o, s:I, s:I},"
                           " s:{s:I, s:I, s:I, s:I}, s:o}",
                           "format", KV_MANIFEST_FORMAT,
                           "version", needs_v4(m) ? KV_MANIFEST_VERSION_EXPORT : KV_MANIFEST_VERSION,
                           "id", m->id, "env", m->env, "date", m->date, "created", created,
                           "seconds", m->seconds, "tool_version", m->tool_version,
                           "source", "db_path", m->db_path, "wal_dir", m->wal_dir,
                           "hostname", m->hostname, "db_identity", m->db_identity,
                           "column_families", cfs, "column_family_code", code,
                           "sequence", (json_int_t)m->sequence,
                           "manifest_bytes", (json_int_t)m->manifest_size,
                           "totals", "files", (json_int_t)m->nfiles,
                           "bytes", (json_int_t)kv_manifest_bytes(m),
                           "files_new", (json_int_t)m->files_new,
                           "bytes_new", (json_int_t)m->bytes_new, "files", files)
               : NULL;
    if (root && needs_v4(m) &&
        json_object_set_new(root, "layout", json_string(m->sst_export ? "sst" : "files")) != 0) {
        json_decref(root);
        return kv_seterr(KV_ENOMEM, "cannot build the manifest of backup %s", m->id);
    }
    if (!root) {
        if (!(files && cfs && code)) {
            json_decref(files);
            json_decref(cfs);
            json_decref(code);
        }
        return kv_seterr(KV_ENOMEM, "cannot build the manifest of backup %s", m->id);
    }
    rc = kv_sealed_encode(root, data, len);
    json_decref(root);
    return rc;
}

/* ---- parsing ----------------------------------------------------------- */

typedef struct parser {
    const char *key;
    const char *env;
    char *env_prefix;
    int sst_export;
    int v4;
} parser;

static int bad(const parser *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(const parser *p, const char *field, const char *fmt, ...)
{
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return kv_seterr(KV_EINVAL, "manifest '%s': field '%s' %s", p->key, field, why);
}

static int get_string(const parser *p, json_t *obj, const char *name, const char *field,
                      const char **out)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_string(v))
        return bad(p, field, "is missing or not a string");
    if (json_string_length(v) > MAX_STRING)
        return bad(p, field, "is too long");
    *out = json_string_value(v);
    return KV_OK;
}

static int dup_string(const parser *p, json_t *obj, const char *name, const char *field, char **out)
{
    const char *s;
    int rc = get_string(p, obj, name, field, &s);
    if (rc)
        return rc;
    *out = strdup(s);
    return *out ? KV_OK : kv_seterr(KV_ENOMEM, "out of memory");
}

/* A string that may be null or (in version 1) absent. */
static int dup_optional(const parser *p, json_t *obj, const char *name, const char *field, char **out)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    return !v || json_is_null(v) ? KV_OK : dup_string(p, obj, name, field, out);
}

static int copy_string(const parser *p, json_t *obj, const char *name, char *dst, size_t cap)
{
    const char *s;
    int rc = get_string(p, obj, name, name, &s);
    if (rc)
        return rc;
    if (strlen(s) >= cap)
        return bad(p, name, "is too long");
    memcpy(dst, s, strlen(s) + 1);
    return KV_OK;
}

static int get_uint(const parser *p, json_t *obj, const char *name, const char *field,
                    uint64_t max, uint64_t *out)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v))
        return bad(p, field, "is missing or not an integer");
    if (json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return bad(p, field, "is out of range");
    *out = (uint64_t)json_integer_value(v);
    return KV_OK;
}

/* "2026-12-01T22:33:55Z" (versions 1, 2) or "2026-12-01T22:33:55.123Z". */
static int parse_created(const parser *p, const char *created, int64_t *ms)
{
    struct tm tm = {0};
    const char *end = strptime(created, "%Y-%m-%dT%H:%M:%S", &tm);
    int frac = 0;
    if (end && end[0] == '.' && isdigit((unsigned char)end[1]) && isdigit((unsigned char)end[2]) &&
        isdigit((unsigned char)end[3])) {
        frac = (end[1] - '0') * 100 + (end[2] - '0') * 10 + (end[3] - '0');
        end += 4;
    }
    if (!end || strcmp(end, "Z") != 0)
        return bad(p, "created", "'%s' is not an ISO 8601 UTC time", created);
    *ms = (int64_t)timegm(&tm) * 1000 + frac;
    return KV_OK;
}

/* Version 4: "layout" is "sst" for an export, "files" for a checkpoint. */
static int parse_layout(const parser *p, json_t *root, kv_manifest *m)
{
    const char *layout;
    int rc = get_string(p, root, "layout", "layout", &layout);
    if (rc)
        return rc;
    if (strcmp(layout, "sst") != 0 && strcmp(layout, "files") != 0)
        return bad(p, "layout", "is '%s', not 'sst' or 'files'", layout);
    m->sst_export = strcmp(layout, "sst") == 0;
    return KV_OK;
}

static int parse_header(const parser *p, json_t *root, kv_manifest *m)
{
    const char *format, *created;
    json_t *version = json_object_get(root, "version"), *seconds;
    char *expect_key;
    int rc;

    if ((rc = get_string(p, root, "format", "format", &format)))
        return rc;
    if (strcmp(format, KV_MANIFEST_FORMAT) != 0)
        return bad(p, "format", "is '%s', not '" KV_MANIFEST_FORMAT "'", format);
    if (json_is_integer(version) && json_integer_value(version) > KV_MANIFEST_VERSION_EXPORT)
        return kv_seterr(KV_EUNSUPPORTED, "manifest '%s' is version %lld, newer than the %d this "
                         "kvault reads: upgrade kvault", p->key,
                         (long long)json_integer_value(version), KV_MANIFEST_VERSION_EXPORT);
    if (!json_is_integer(version) || json_integer_value(version) < 1)
        return bad(p, "version", "is not 1..%d, the versions this kvault reads",
                   KV_MANIFEST_VERSION_EXPORT);
    m->version = (int)json_integer_value(version);
    if (m->version >= KV_MANIFEST_VERSION_EXPORT && (rc = parse_layout(p, root, m)))
        return rc;
    if ((rc = copy_string(p, root, "id", m->id, sizeof m->id)) ||
        (rc = copy_string(p, root, "env", m->env, sizeof m->env)) ||
        (rc = copy_string(p, root, "date", m->date, sizeof m->date)))
        return rc;
    if (!kv_backup_id_valid(m->id))
        return bad(p, "id", "'%s' is not a backup id", m->id);
    if (!kv_date_valid(m->date) || strncmp(m->date, m->id, 4) || strncmp(m->date + 5, m->id + 4, 2) ||
        strncmp(m->date + 8, m->id + 6, 2))
        return bad(p, "date", "'%s' is not the date of the backup id", m->date);
    if (strcmp(m->env, p->env) != 0)
        return bad(p, "env", "'%s' is not the env the manifest is stored under", m->env);
    if (!(expect_key = kv_layout_manifest_key(m->env, m->date, m->id, m->version < 3)))
        return kv_seterr(KV_ENOMEM, "out of memory");
    rc = strcmp(expect_key, p->key) ? bad(p, "id", "'%s' does not match where the manifest is stored", m->id)
                                    : KV_OK;
    free(expect_key);
    if (rc)
        return rc;
    if ((rc = get_string(p, root, "created", "created", &created)))
        return rc;
    if ((rc = parse_created(p, created, &m->created_ms)))
        return rc;
    seconds = json_object_get(root, "seconds");
    if (!json_is_number(seconds) || !isfinite(json_number_value(seconds)) || json_number_value(seconds) < 0)
        return bad(p, "seconds", "is missing or not a non-negative number");
    m->seconds = json_number_value(seconds);
    return dup_string(p, root, "tool_version", "tool_version", &m->tool_version);
}

static int parse_cf_code(const parser *p, json_t *src, kv_manifest *m)
{
    json_t *code = json_object_get(src, "column_family_code");
    char field[80];
    int rc;
    if (!json_is_array(code))
        return bad(p, "source.column_family_code", "is missing or not an array");
    if (!(m->cf_code = calloc(json_array_size(code) + 1, sizeof *m->cf_code)))
        return kv_oom();
    for (size_t i = 0; i < json_array_size(code); i++) {
        json_t *v = json_array_get(code, i);
        kv_cf_conf *c = &m->cf_code[m->ncf_code++];
        snprintf(field, sizeof field, "source.column_family_code[%zu]", i);
        if (!json_is_object(v))
            return bad(p, field, "is not an object");
        if ((rc = dup_string(p, v, "name", field, &c->name)) ||
            (rc = dup_string(p, v, "comparator", field, &c->comparator)) ||
            (rc = dup_optional(p, v, "merge_operator", field, &c->merge_operator)))
            return rc;
    }
    return KV_OK;
}

static int parse_source(const parser *p, json_t *root, kv_manifest *m)
{
    json_t *src = json_object_get(root, "source"), *cfs;
    char field[64];
    int rc;

    if (!json_is_object(src))
        return bad(p, "source", "is missing or not an object");
    if ((rc = dup_string(p, src, "db_path", "source.db_path", &m->db_path)) ||
        (rc = dup_string(p, src, "hostname", "source.hostname", &m->hostname)) ||
        (rc = dup_optional(p, src, "db_identity", "source.db_identity", &m->db_identity)) ||
        (rc = dup_optional(p, src, "wal_dir", "source.wal_dir", &m->wal_dir)) ||
        (rc = get_uint(p, src, "sequence", "source.sequence", INT64_MAX, &m->sequence)))
        return rc;
    if (m->version >= 2 &&
        ((rc = get_uint(p, src, "manifest_bytes", "source.manifest_bytes", MAX_SAFE_INT,
                        &m->manifest_size)) ||
         (rc = parse_cf_code(p, src, m))))
        return rc;
    cfs = json_object_get(src, "column_families");
    if (!json_is_array(cfs) || json_array_size(cfs) == 0)
        return bad(p, "source.column_families", "is missing or not a non-empty array");
    m->column_families = calloc(json_array_size(cfs), sizeof *m->column_families);
    if (!m->column_families)
        return kv_seterr(KV_ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(cfs); i++) {
        json_t *v = json_array_get(cfs, i);
        if (!json_is_string(v)) {
            snprintf(field, sizeof field, "source.column_families[%zu]", i);
            return bad(p, field, "is not a string");
        }
        if (!(m->column_families[i] = strdup(json_string_value(v))))
            return kv_seterr(KV_ENOMEM, "out of memory");
        m->ncolumn_families++;
    }
    return KV_OK;
}

static int check_name(const parser *p, const char *field, const char *name)
{
    if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || strchr(name, '/') ||
        strlen(name) > 255)
        return bad(p, field, "'%s' is not a plain file name", name);
    return KV_OK;
}

/* An object must lie under <env>/rocksdb/ and be made of plain segments. */
static int check_object(const parser *p, const char *field, const char *object)
{
    const char *s = object;
    if (strncmp(object, p->env_prefix, strlen(p->env_prefix)) != 0)
        return bad(p, field, "'%s' is not under the env's rocksdb/ folder", object);
    while (*s) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return bad(p, field, "'%s' has an empty, '.' or '..' segment", object);
        s += n;
        if (*s == '/' && !*++s)
            return bad(p, field, "'%s' ends with '/'", object);
    }
    return KV_OK;
}

static int check_crc(const parser *p, const char *field, const char *hex, uint32_t *out)
{
    if (strlen(hex) != 8 || strspn(hex, "0123456789abcdef") != 8)
        return bad(p, field, "'%s' is not 8 lowercase hex digits", hex);
    return kv_crc32c_parse(hex, out);
}

/* A key in base64, as long as a key may be (RocksDB's limit is far above
 * what anyone uses; a manifest as a whole is bounded anyway). */
static int dup_key(const parser *p, json_t *obj, const char *name, const char *field, char **out)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_string(v) || json_string_length(v) > MAX_KEY_B64 ||
        strspn(json_string_value(v), "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789+/=") != json_string_length(v))
        return bad(p, field, "is missing or not a key in base64");
    *out = strdup(json_string_value(v));
    return *out ? KV_OK : kv_oom();
}

/* A file of an export is an SST file (cf, keys, entries) or, without "cf",
 * one of the database's own small files (its OPTIONS). */
static int parse_export_file(const parser *p, json_t *v, size_t i, kv_mfile *f)
{
    char field[64];
    int rc;
    if (!json_object_get(v, "cf"))
        return KV_OK;
    snprintf(field, sizeof field, "files[%zu].cf", i);
    if ((rc = dup_string(p, v, "cf", field, &f->cf)))
        return rc;
    snprintf(field, sizeof field, "files[%zu].smallest", i);
    if ((rc = dup_key(p, v, "smallest", field, &f->smallest)))
        return rc;
    snprintf(field, sizeof field, "files[%zu].largest", i);
    if ((rc = dup_key(p, v, "largest", field, &f->largest)))
        return rc;
    snprintf(field, sizeof field, "files[%zu].entries", i);
    return get_uint(p, v, "entries", field, MAX_SAFE_INT, &f->entries);
}

static int parse_file(const parser *p, json_t *v, size_t i, kv_mfile *f)
{
    char field[64];
    const char *crc;
    int rc;

    snprintf(field, sizeof field, "files[%zu]", i);
    if (!json_is_object(v))
        return bad(p, field, "is not an object");
    snprintf(field, sizeof field, "files[%zu].name", i);
    if ((rc = dup_string(p, v, "name", field, &f->name)) || (rc = check_name(p, field, f->name)))
        return rc;
    snprintf(field, sizeof field, "files[%zu].size", i);
    if ((rc = get_uint(p, v, "size", field, MAX_SAFE_INT, &f->size)))
        return rc;
    snprintf(field, sizeof field, "files[%zu].crc32c", i);
    if ((rc = get_string(p, v, "crc32c", field, &crc)) || (rc = check_crc(p, field, crc, &f->crc32c)))
        return rc;
    snprintf(field, sizeof field, "files[%zu].object", i);
    if ((rc = dup_string(p, v, "object", field, &f->object)) ||
        (rc = check_object(p, field, f->object)))
        return rc;
    if (json_object_get(v, "offset")) {
        snprintf(field, sizeof field, "files[%zu].offset", i);
        if (!p->v4)
            return bad(p, field, "appears in a manifest older than version 4");
        if ((rc = get_uint(p, v, "offset", field, MAX_SAFE_INT - f->size, &f->offset)))
            return rc;
        f->in_archive = 1;
    }
    return p->sst_export ? parse_export_file(p, v, i, f) : KV_OK;
}

static int cmp_file_name(const void *a, const void *b)
{
    return strcmp((*(const kv_mfile *const *)a)->name, (*(const kv_mfile *const *)b)->name);
}

static int check_unique_names(const parser *p, const kv_manifest *m)
{
    const kv_mfile **sorted = malloc((m->nfiles ? m->nfiles : 1) * sizeof *sorted);
    int rc = KV_OK;
    if (!sorted)
        return kv_seterr(KV_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->nfiles; i++)
        sorted[i] = &m->files[i];
    qsort(sorted, m->nfiles, sizeof *sorted, cmp_file_name);
    for (size_t i = 1; i < m->nfiles && !rc; i++)
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0)
            rc = bad(p, "files", "name '%s' appears twice", sorted[i]->name);
    free(sorted);
    return rc;
}

static int parse_files(const parser *p, json_t *root, kv_manifest *m)
{
    json_t *files = json_object_get(root, "files");
    int rc;
    if (!json_is_array(files))
        return bad(p, "files", "is missing or not an array");
    m->files = calloc(json_array_size(files) + 1, sizeof *m->files);
    if (!m->files)
        return kv_seterr(KV_ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(files); i++) {
        m->nfiles++;
        if ((rc = parse_file(p, json_array_get(files, i), i, &m->files[i])))
            return rc;
    }
    for (size_t i = 0; m->sst_export && i < m->nfiles; i++) {
        size_t k = 0;
        if (!m->files[i].cf)
            continue;
        while (k < m->ncolumn_families && strcmp(m->column_families[k], m->files[i].cf) != 0)
            k++;
        if (k == m->ncolumn_families)
            return bad(p, "files", "'%s' is of column family '%s', which the source does not list",
                       m->files[i].name, m->files[i].cf);
    }
    return check_unique_names(p, m);
}

static int parse_totals(const parser *p, json_t *root, kv_manifest *m)
{
    json_t *t = json_object_get(root, "totals");
    uint64_t files, bytes, sum = 0;
    int rc;
    if (!json_is_object(t))
        return bad(p, "totals", "is missing or not an object");
    if ((rc = get_uint(p, t, "files", "totals.files", MAX_SAFE_INT, &files)) ||
        (rc = get_uint(p, t, "bytes", "totals.bytes", MAX_SAFE_INT, &bytes)) ||
        (rc = get_uint(p, t, "files_new", "totals.files_new", files, &m->files_new)) ||
        (rc = get_uint(p, t, "bytes_new", "totals.bytes_new", bytes, &m->bytes_new)))
        return rc;
    for (size_t i = 0; i < m->nfiles; i++) {
        if (m->files[i].size > MAX_SAFE_INT - sum)
            return bad(p, "files", "sizes add up to more than 2^53");
        sum += m->files[i].size;
    }
    if (files != m->nfiles || bytes != sum)
        return bad(p, "totals", "does not match the files listed");
    return KV_OK;
}

int kv_manifest_parse(const char *key, const char *env, const void *data, size_t len,
                      kv_manifest *out)
{
    parser p = {.key = key, .env = env, .env_prefix = kv_layout_env_prefix(env)};
    char what[1100];
    json_t *root = NULL;
    int rc, sealed = 0;

    memset(out, 0, sizeof *out);
    if (!p.env_prefix)
        return kv_seterr(KV_ENOMEM, "out of memory");
    snprintf(what, sizeof what, "manifest '%s'", key);
    if ((rc = kv_sealed_decode(data, len, KV_MANIFEST_MAX_JSON, what, &root, &sealed)) ||
        (rc = parse_header(&p, root, out)))
        goto out;
    if (out->version >= 3 && !sealed) {
        rc = kv_seterr(KV_ECORRUPT, "manifest '%s' has no digest: it was changed or damaged", key);
        goto out;
    }
    p.sst_export = out->sst_export;
    p.v4 = out->version >= KV_MANIFEST_VERSION_EXPORT;
    if ((rc = parse_source(&p, root, out)) || (rc = parse_files(&p, root, out)) ||
        (rc = parse_totals(&p, root, out)))
        goto out;
out:
    json_decref(root);
    free(p.env_prefix);
    return rc;
}

void kv_manifest_free(kv_manifest *m)
{
    free(m->tool_version);
    free(m->db_path);
    free(m->hostname);
    free(m->db_identity);
    free(m->wal_dir);
    for (size_t i = 0; i < m->ncf_code; i++) {
        free(m->cf_code[i].name);
        free(m->cf_code[i].comparator);
        free(m->cf_code[i].merge_operator);
    }
    free(m->cf_code);
    for (size_t i = 0; i < m->ncolumn_families; i++)
        free(m->column_families[i]);
    free(m->column_families);
    for (size_t i = 0; i < m->nfiles; i++) {
        free(m->files[i].name);
        free(m->files[i].object);
        free(m->files[i].cf);
        free(m->files[i].smallest);
        free(m->files[i].largest);
    }
    free(m->files);
    memset(m, 0, sizeof *m);
}
