/* RocksDB's OPTIONS file is INI-like (util/options_parser.cc): "[Section]"
 * or "[Section "argument"]" lines, then indented "name=value" lines, '#'
 * comments. General INI readers get it wrong (indented lines read as
 * continuations, ';' as a comment start, short line limits), and every option
 * but the three below is read by RocksDB's own parser
 * (rocksdb_load_latest_options), so this reads just those lines. */
#include "backup/dbconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/err.h"
#include "util/fs.h"

#define LOG_HEADER_BYTES (1u << 20) /* the options dump is at the LOG's top */
#define BYTEWISE "leveldb.BytewiseComparator"

int kv_comparator_is_builtin(const char *name)
{
    static const char *const builtin[] = {
        BYTEWISE,
        "rocksdb.ReverseBytewiseComparator",
        "leveldb.BytewiseComparator.u64ts",
        "rocksdb.ReverseBytewiseComparator.u64ts",
    };
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
        if (strcmp(name, builtin[i]) == 0)
            return 1;
    return 0;
}

static int options_number(const char *name, unsigned long long *n)
{
    char *end;
    if (strncmp(name, "OPTIONS-", 8) != 0 || name[8] < '0' || name[8] > '9')
        return 0;
    errno = 0;
    *n = strtoull(name + 8, &end, 10);
    return !errno && *end == '\0';
}

int kv_latest_options_file(const char *dir, char **name)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned long long best = 0, n;
    int rc = KV_OK;

    *name = NULL;
    if (!d)
        return kv_seterr_errno(kv_errno_code(errno), errno, "cannot read directory '%s'", dir);
    while (!rc && (e = readdir(d))) {
        if (!options_number(e->d_name, &n) || (*name && n <= best))
            continue;
        best = n;
        free(*name);
        if (!(*name = strdup(e->d_name)))
            rc = kv_oom();
    }
    closedir(d);
    return rc;
}

/* ---- the OPTIONS file ---------------------------------------------------- */

static char *trim(char *s)
{
    char *end;
    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        *--end = '\0';
    return s;
}

/* The argument of [CFOptions "name"], with RocksDB's backslash escapes undone. */
static char *section_argument(const char *line)
{
    const char *q = strchr(line, '"');
    const char *r = q ? strrchr(line, '"') : NULL;
    char *out, *o;
    if (!q || r == q || !(out = malloc((size_t)(r - q))))
        return NULL;
    o = out;
    for (const char *p = q + 1; p < r; p++)
        *o++ = *p == '\\' && p + 1 < r ? *++p : *p;
    *o = '\0';
    return out;
}

static int add_cf(kv_db_conf *c, char *name)
{
    kv_cf_conf *cfs = realloc(c->cfs, (c->ncf + 1) * sizeof *cfs);
    if (!cfs) {
        free(name);
        return kv_oom();
    }
    c->cfs = cfs;
    memset(&cfs[c->ncf], 0, sizeof *cfs);
    cfs[c->ncf++].name = name;
    return KV_OK;
}

static int set_value(char **dst, const char *value)
{
    free(*dst);
    *dst = strdup(value);
    return *dst ? KV_OK : kv_oom();
}

/* One "name=value" line of the section being read (cf NULL: DBOptions). */
static int take_option(kv_db_conf *c, kv_cf_conf *cf, int in_db, char *line)
{
    char *eq = strchr(line, '='), *name, *value;
    if (!eq)
        return KV_OK;
    *eq = '\0';
    name = trim(line);
    value = trim(eq + 1);
    if (in_db && strcmp(name, "wal_dir") == 0 && *value)
        return set_value(&c->wal_dir, value);
    if (!cf)
        return KV_OK;
    if (strcmp(name, "comparator") == 0)
        return set_value(&cf->comparator, value);
    if (strcmp(name, "merge_operator") == 0)
        return strcmp(value, "nullptr") == 0 || !*value ? KV_OK : set_value(&cf->merge_operator, value);
    return KV_OK;
}

static int parse_options(kv_db_conf *c, char *text)
{
    kv_cf_conf *cf = NULL;
    int in_db = 0, rc = KV_OK;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && !rc;
         line = strtok_r(NULL, "\n", &save)) {
        line = trim(line);
        if (*line == '#' || !*line)
            continue;
        if (*line != '[') {
            rc = take_option(c, cf, in_db, line);
            continue;
        }
        in_db = strncmp(line, "[DBOptions]", 11) == 0;
        cf = NULL;
        if (strncmp(line, "[CFOptions ", 11) == 0) {
            char *name = section_argument(line);
            if (!name)
                return kv_oom();
            if (!(rc = add_cf(c, name)))
                cf = &c->cfs[c->ncf - 1];
        }
    }
    for (size_t i = 0; !rc && i < c->ncf; i++)
        if (!c->cfs[i].comparator)
            rc = set_value(&c->cfs[i].comparator, BYTEWISE);
    return rc;
}

/* ---- the info LOG's header ----------------------------------------------- */

/* "... Options.wal_dir: /path" (RocksDB's DBOptions::Dump); the newest such
 * line of the header wins. */
static int wal_dir_from_log(const char *dir, kv_db_conf *c)
{
    char *path = NULL, *text = NULL, *p, *found = NULL;
    ssize_t n;
    int fd, rc = KV_OK;

    if (asprintf(&path, "%s/LOG", dir) < 0)
        return kv_oom();
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || !(text = malloc(LOG_HEADER_BYTES + 1)))
        goto out; /* no LOG here (db_log_dir elsewhere): nothing to learn */
    n = pread(fd, text, LOG_HEADER_BYTES, 0);
    text[n > 0 ? n : 0] = '\0';
    for (p = text; (p = strstr(p, "Options.wal_dir:")); p++)
        found = p + strlen("Options.wal_dir:");
    if (found) {
        found[strcspn(found, "\n")] = '\0';
        found = trim(found);
        if (*found == '/' && strcmp(found, dir) != 0)
            rc = set_value(&c->wal_dir, found);
    }
out:
    if (fd >= 0)
        close(fd);
    free(text);
    free(path);
    return rc;
}

int kv_db_conf_read(const char *dir, kv_db_conf *out)
{
    char *path = NULL, *text = NULL;
    size_t len;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = kv_latest_options_file(dir, &out->options_file)))
        return rc;
    if (out->options_file) {
        if (asprintf(&path, "%s/%s", dir, out->options_file) < 0) {
            path = NULL;
            rc = kv_oom();
            goto out;
        }
        if ((rc = kv_read_file(path, &text, &len)) || (rc = parse_options(out, text)))
            goto out;
    }
    if (!out->wal_dir)
        rc = wal_dir_from_log(dir, out);
out:
    free(text);
    free(path);
    return rc;
}

void kv_db_conf_free(kv_db_conf *c)
{
    for (size_t i = 0; i < c->ncf; i++) {
        free(c->cfs[i].name);
        free(c->cfs[i].comparator);
        free(c->cfs[i].merge_operator);
    }
    free(c->cfs);
    free(c->options_file);
    free(c->wal_dir);
    memset(c, 0, sizeof *c);
}

const kv_cf_conf *kv_db_conf_cf(const kv_db_conf *c, const char *name)
{
    for (size_t i = 0; i < c->ncf; i++)
        if (strcmp(c->cfs[i].name, name) == 0)
            return &c->cfs[i];
    return NULL;
}

/* ---- localizing a restored OPTIONS file ---------------------------------- */

static int names_directory(const char *line)
{
    const char *p = line + strspn(line, " \t");
    return (strncmp(p, "wal_dir=", 8) == 0 && p[8] && p[8] != '\n') ||
           (strncmp(p, "db_log_dir=", 11) == 0 && p[11] && p[11] != '\n');
}

int kv_options_file_localize(const char *path)
{
    char *text = NULL, *out = NULL, *o;
    size_t len;
    int rc, changed = 0;

    if ((rc = kv_read_file(path, &text, &len)))
        return rc;
    if (!(out = malloc(len + 1))) {
        rc = kv_oom();
        goto done;
    }
    o = out;
    for (char *line = text; *line;) {
        size_t n = strcspn(line, "\n");
        if (names_directory(line)) {
            size_t keep = (size_t)(strchr(line, '=') - line) + 1;
            memcpy(o, line, keep);
            o += keep;
            changed = 1;
        } else {
            memcpy(o, line, n);
            o += n;
        }
        line += n;
        if (*line == '\n')
            *o++ = *line++;
    }
    if (changed)
        rc = kv_write_file_atomic(path, out, (size_t)(o - out));
done:
    free(out);
    free(text);
    return rc;
}
