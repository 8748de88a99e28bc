/* kvault_config_from_env: the one place the library reads the process
 * environment, for programs that want the clouds' usual variables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/internal.h"
#include "util/err.h"

extern char **environ;

struct kvault_config {
    kvault_options opts;
    kvault_store_opts store;
    kvault_setting *settings;
    size_t nsettings;
    char **strings;            /* everything allocated, freed at the end */
    size_t nstrings;
};

/* Variables a store reads, by prefix or whole name. */
static int wanted(const char *name, size_t len)
{
    static const char *const prefixes[] = {"AWS_", "AZURE_", "GOOGLE_", "HADOOP_", "KVAULT_"};
    static const char *const names[] = {"GCE_METADATA_HOST", "STORAGE_EMULATOR_HOST",
                                        "SSL_CERT_FILE", "CURL_CA_BUNDLE", "HOME"};
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (len > strlen(prefixes[i]) && strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return 1;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (len == strlen(names[i]) && strncmp(name, names[i], len) == 0)
            return 1;
    return 0;
}

/* Keeps s (malloc'd, may be NULL after a failed allocation) for the end. */
static char *keep(kvault_config *c, char *s)
{
    char **p;
    if (!s || !(p = realloc(c->strings, (c->nstrings + 1) * sizeof *p))) {
        free(s);
        return NULL;
    }
    c->strings = p;
    return c->strings[c->nstrings++] = s;
}

static int add_setting(kvault_config *c, const char *entry)
{
    const char *eq = strchr(entry, '=');
    kvault_setting *p;
    char *name, *value;
    if (!eq || !wanted(entry, (size_t)(eq - entry)))
        return KV_OK;
    if (!(name = keep(c, strndup(entry, (size_t)(eq - entry)))) ||
        !(value = keep(c, strdup(eq + 1))) ||
        !(p = realloc(c->settings, (c->nsettings + 1) * sizeof *p)))
        return kv_oom();
    c->settings = p;
    c->settings[c->nsettings++] = (kvault_setting){name, value};
    return KV_OK;
}

/* A whole number of seconds in 1..1000000, else 0 (the default). */
static int seconds(const char *v)
{
    char *end;
    long n = v ? strtol(v, &end, 10) : 0;
    return v && *v && !*end && n >= 1 && n <= 1000000 ? (int)n : 0;
}

static int read_dirs(kvault_config *c)
{
    const char *cache = getenv("KVAULT_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME"), *tmp = getenv("TMPDIR");
    char *dir = NULL;
    if (cache && *cache)
        dir = strdup(cache);
    else if (xdg && *xdg && asprintf(&dir, "%s/kvault", xdg) < 0)
        dir = NULL;
    else if (!(xdg && *xdg) && home && *home && asprintf(&dir, "%s/.cache/kvault", home) < 0)
        dir = NULL;
    if (dir && !(c->opts.cache_dir = keep(c, dir)))
        return kv_oom();
    if (tmp && *tmp && !(c->opts.tmp_dir = keep(c, strdup(tmp))))
        return kv_oom();
    return KV_OK;
}

int kvault_config_from_env(kvault_config **out)
{
    static const kvault_options opts_init = KVAULT_OPTIONS_INIT;
    static const kvault_store_opts store_init = KVAULT_STORE_OPTS_INIT;
    kvault_config *c = calloc(1, sizeof *c);
    int rc = KV_OK;

    if (!c)
        return kv_oom();
    c->opts = opts_init;
    c->store = store_init;
    for (char **e = environ; e && *e && !rc; e++)
        rc = add_setting(c, *e);
    if (!rc)
        rc = read_dirs(c);
    if (rc) {
        kvault_config_free(c);
        return rc;
    }
    c->store.connect_timeout_s = seconds(getenv("KVAULT_CONNECT_TIMEOUT"));
    c->store.stall_timeout_s = seconds(getenv("KVAULT_STALL_TIMEOUT"));
    c->store.settings = c->settings;
    c->store.nsettings = c->nsettings;
    c->opts.store = &c->store;
    *out = c;
    return KV_OK;
}

const kvault_options *kvault_config_options(const kvault_config *cfg)
{
    return &cfg->opts;
}

void kvault_config_free(kvault_config *c)
{
    if (!c)
        return;
    /* values may be secrets: wiped before they go back to the allocator */
    for (size_t i = 0; i < c->nstrings; i++) {
        explicit_bzero(c->strings[i], strlen(c->strings[i]));
        free(c->strings[i]);
    }
    free(c->strings);
    free(c->settings);
    free(c);
}
