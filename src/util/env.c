#include "util/env.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *kv_env_str(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int kv_env_int(const char *name, int fallback)
{
    const char *v = kv_env_str(name);
    char *end;
    long n;
    if (!v)
        return fallback;
    n = strtol(v, &end, 10);
    return *end || n <= 0 || n > 1000000 ? fallback : (int)n;
}

int kv_env_flag(const char *name, int fallback)
{
    const char *v = kv_env_str(name);
    if (!v)
        return fallback;
    return !(strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0);
}
