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

int kv_backup_id_new(time_t t, char id[64], char date[16])
{
    struct tm tm;
    char rnd[7];
    int rc = kv_random_hex(rnd, 6);
    if (rc)
        return rc;
    if (!gmtime_r(&t, &tm))
        return kv_seterr(KV_ERR, "cannot convert the time to UTC");
    strftime(date, 16, "%Y-%m-%d", &tm);
    strftime(id, 64, "%Y%m%dT%H%M%SZ-", &tm);
    strcat(id, rnd);
    return KV_OK;
}

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
    return matches(id, "ddddddddTddddddZ-xxxxxx");
}

int kv_date_valid(const char *date)
{
    return matches(date, "dddd-dd-dd");
}

int kv_backup_id_date(const char *id, char date[16])
{
    if (!kv_backup_id_valid(id))
        return kv_seterr(KV_EINVAL, "backup id '%s' is not of the form YYYYMMDDTHHMMSSZ-xxxxxx", id);
    snprintf(date, 16, "%.4s-%.2s-%.2s", id, id + 4, id + 6);
    return KV_OK;
}

int kv_backup_id_time(const char *id, time_t *out)
{
    struct tm tm = {0};
    if (!kv_backup_id_valid(id) || !strptime(id, "%Y%m%dT%H%M%SZ", &tm))
        return kv_seterr(KV_EINVAL, "backup id '%s' is not of the form YYYYMMDDTHHMMSSZ-xxxxxx", id);
    *out = timegm(&tm);
    return KV_OK;
}

char *kv_layout_env_prefix(const char *env)
{
    char *out;
    return asprintf(&out, "%s/rocksdb/", env) < 0 ? NULL : out;
}

char *kv_layout_key(const char *env, const char *date, const char *id, const char *name)
{
    char *out;
    return asprintf(&out, "%s/rocksdb/%s/%s/%s", env, date, id, name) < 0 ? NULL : out;
}
