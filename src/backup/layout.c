#include "backup/layout.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/random.h"

int kv_env_resolve(const char *env, const char **out)
{
    size_t n;
    if (!env) {
        *out = KV_DEFAULT_ENV;
        return KV_OK;
    }
    n = strlen(env);
    if (n == 0 || n > 127)
        return kv_seterr(KV_EINVAL, "env '%s' must be 1 to 127 characters", env);
    if (env[0] == '.')
        return kv_seterr(KV_EINVAL, "env '%s' must not start with '.'", env);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)env[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != '.')
            return kv_seterr(KV_EINVAL,
                             "env '%s' may hold only letters, digits, '-', '_' and '.'", env);
    }
    *out = env;
    return KV_OK;
}

int kv_backup_id_new(int64_t ms, char id[64], char date[16])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char rnd[7], stamp[32];
    int rc = kv_random_hex(rnd, 6);
    if (rc)
        return rc;
    if (!gmtime_r(&t, &tm))
        return kv_seterr(KV_ERR, "cannot convert the time to UTC");
    strftime(date, 16, "%Y-%m-%d", &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    snprintf(id, 64, "%s.%03dZ-%s", stamp, (int)(ms % 1000), rnd);
    return KV_OK;
}

#define ID_PATTERN "ddddddddTdddddd.dddZ-xxxxxx"
#define OLD_ID_PATTERN "ddddddddTddddddZ-xxxxxx" /* kvault 0.1: to the second */

/* Checks s against a pattern where 'd' is a digit, 'x' a lowercase hex
 * digit and anything else itself. */
static int matches(const char *s, const char *pattern)
{
    for (; *pattern; s++, pattern++) {
        if (*pattern == 'd' ? !isdigit((unsigned char)*s)
            : *pattern == 'x' ? !(isdigit((unsigned char)*s) || (*s >= 'a' && *s <= 'f'))
                              : *s != *pattern)
            return 0;
    }
    return *s == '\0';
}

int kv_backup_id_valid(const char *id)
{
    return matches(id, ID_PATTERN) || matches(id, OLD_ID_PATTERN);
}

int kv_date_valid(const char *date)
{
    return matches(date, "dddd-dd-dd");
}

static int bad_id(const char *id)
{
    return kv_seterr(KV_EINVAL, "backup id '%s' is not of the form YYYYMMDDTHHMMSS.mmmZ-xxxxxx "
                     "(or YYYYMMDDTHHMMSSZ-xxxxxx)", id);
}

int kv_backup_id_date(const char *id, char date[16])
{
    if (!kv_backup_id_valid(id))
        return bad_id(id);
    snprintf(date, 16, "%.4s-%.2s-%.2s", id, id + 4, id + 6);
    return KV_OK;
}

int kv_backup_id_time_ms(const char *id, int64_t *out)
{
    struct tm tm = {0};
    if (!kv_backup_id_valid(id) || !strptime(id, "%Y%m%dT%H%M%S", &tm))
        return bad_id(id);
    *out = (int64_t)timegm(&tm) * 1000 + (id[15] == '.' ? strtol(id + 16, NULL, 10) : 0);
    return KV_OK;
}

char *kv_layout_env_prefix(const char *env)
{
    char *out;
    return asprintf(&out, "%s/rocksdb/", env) < 0 ? NULL : out;
}

char *kv_layout_index_prefix(const char *env)
{
    char *out;
    return asprintf(&out, "%s/index/", env) < 0 ? NULL : out;
}

char *kv_layout_locks_prefix(const char *env)
{
    char *out;
    return asprintf(&out, "%s/locks/", env) < 0 ? NULL : out;
}

char *kv_layout_manifest_key(const char *env, const char *date, const char *id, int legacy)
{
    return kv_layout_key(env, date, id, legacy ? KV_MANIFEST_NAME_V2 : KV_MANIFEST_NAME);
}

int kv_layout_manifest_id(const char *key, char id[64])
{
    const char *name = strrchr(key, '/'), *start;
    size_t n;
    if (!name || (strcmp(name + 1, KV_MANIFEST_NAME) != 0 && strcmp(name + 1, KV_MANIFEST_NAME_V2) != 0))
        return 0;
    for (start = name; start > key && start[-1] != '/'; start--)
        ;
    n = (size_t)(name - start);
    if (n == 0 || n >= 64)
        return 0;
    memcpy(id, start, n);
    id[n] = '\0';
    return kv_backup_id_valid(id);
}

int kv_backup_order(int64_t a_ms, const char *a_id, int64_t b_ms, const char *b_id)
{
    if (a_ms != b_ms)
        return a_ms < b_ms ? -1 : 1;
    return strcmp(a_id, b_id);
}

int kv_name_is_immutable(const char *name)
{
    size_t n = strlen(name);
    return (n > 4 && (strcmp(name + n - 4, ".sst") == 0 || strcmp(name + n - 4, ".ldb") == 0)) ||
           (n > 5 && strcmp(name + n - 5, ".blob") == 0);
}

char *kv_layout_key(const char *env, const char *date, const char *id, const char *name)
{
    char *out;
    return asprintf(&out, "%s/rocksdb/%s/%s/%s", env, date, id, name) < 0 ? NULL : out;
}

char *kv_layout_member_key(const char *env, const char *date, const char *id, size_t index,
                           const char *name)
{
    char sub[300];
    if (index < KV_FILES_PER_FOLDER)
        snprintf(sub, sizeof sub, "%s", name);
    else
        snprintf(sub, sizeof sub, "%03zu/%s", index / KV_FILES_PER_FOLDER - 1, name);
    return kv_layout_key(env, date, id, sub);
}
