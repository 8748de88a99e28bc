/* The config file: defaults for options, for every store and per store.
 *
 *   # $KVAULT_CONFIG, else ~/.config/kvault/config, else /etc/kvault/config
 *   [defaults]
 *   store = s3://backups/db1      ; --to / --from when the command line has none
 *   env = prod
 *   workers = 16
 *   notify-url = https://hooks.example.com/kvault
 *
 *   [store s3://backups/db1]      ; only when this is the store in use
 *   notify = /usr/local/bin/after-backup
 *
 * Keys are the long options' names (docs/config.md lists them); values as
 * on the command line; yes/no for switches. The command line wins over the
 * store's section, which wins over [defaults]. Parsed with inih. */
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct entry {
    char *section, *key, *value;
} entry;

typedef struct config {
    entry *e;
    size_t n;
    char *bad_section; /* the first section that is neither kind */
} config;

/* Every value the file gave lives until the process ends: options point
 * into them. */
static config loaded;
static char *loaded_path;

static int keep_entry(void *user, const char *section, const char *key, const char *value)
{
    config *c = user;
    entry *e = realloc(c->e, (c->n + 1) * sizeof *e);
    if (!e)
        return 0;
    c->e = e;
    e += c->n;
    e->section = strdup(section);
    e->key = strdup(key);
    e->value = strdup(value);
    if (!e->section || !e->key || !e->value) {
        free(e->section);
        free(e->key);
        free(e->value);
        return 0;
    }
    c->n++;
    if (strcmp(section, "defaults") != 0 && strncmp(section, "store ", 6) != 0 && !c->bad_section)
        c->bad_section = e->section;
    return 1;
}

static void free_config(void)
{
    for (size_t i = 0; i < loaded.n; i++) {
        free(loaded.e[i].section);
        free(loaded.e[i].key);
        free(loaded.e[i].value);
    }
    free(loaded.e);
    memset(&loaded, 0, sizeof loaded);
    free(loaded_path);
    loaded_path = NULL;
}

/* The first of $KVAULT_CONFIG (which must exist), ~/.config/kvault/config
 * and /etc/kvault/config; NULL when there is none. */
static const char *config_path(char *buf, size_t n, int *required)
{
    const char *env = getenv("KVAULT_CONFIG"), *home = getenv("HOME");
    *required = env && *env;
    if (*required)
        return env;
    if (home && *home && snprintf(buf, n, "%s/.config/kvault/config", home) < (int)n &&
        access(buf, F_OK) == 0)
        return buf;
    return access("/etc/kvault/config", F_OK) == 0 ? "/etc/kvault/config" : NULL;
}

static int apply_section(const cli_cmd *cmd, cli_args *a, const char *section)
{
    for (size_t i = 0; i < loaded.n; i++) {
        int rc;
        if (strcmp(loaded.e[i].section, section) != 0)
            continue;
        rc = cli_apply_named(cmd, loaded.e[i].key, loaded.e[i].value, a);
        if (rc == CLI_USAGE) {
            fprintf(stderr, "(the setting '%s' in [%s] of %s)\n", loaded.e[i].key, section,
                    a->config_file);
            return rc;
        }
    }
    return CLI_OK;
}

/* The store the command will use: the command line's, else the one
 * [defaults] names, else none. */
static const char *store_in_use(const cli_cmd *cmd, const cli_args *a)
{
    const char *given = cmd->accepts & CLI_O_FROM ? a->from : a->to;
    if (given)
        return given;
    for (size_t i = 0; i < loaded.n; i++)
        if (strcmp(loaded.e[i].section, "defaults") == 0 && strcmp(loaded.e[i].key, "store") == 0)
            return loaded.e[i].value;
    return NULL;
}

/* Whether section is "store <url>" for the store in use: the same URL, or
 * the same local directory however it is written ("./x", "/abs/x"). */
static int section_is_store(const char *section, const char *store)
{
    char p1[4096], p2[4096];
    const char *url;
    if (strncmp(section, "store ", 6) != 0)
        return 0;
    url = section + 6;
    if (strcmp(url, store) == 0)
        return 1;
    if (strncmp(url, "file://", 7) == 0)
        url += 7;
    if (strncmp(store, "file://", 7) == 0)
        store += 7;
    return !strstr(url, "://") && !strstr(store, "://") && realpath(url, p1) && realpath(store, p2) &&
           strcmp(p1, p2) == 0;
}

static const char *store_section(const char *store)
{
    for (size_t i = 0; store && i < loaded.n; i++)
        if (section_is_store(loaded.e[i].section, store))
            return loaded.e[i].section;
    return NULL;
}

int cli_config_apply(const cli_cmd *cmd, cli_args *a)
{
    static int registered;
    char buf[4096];
    int required, rc;
    const char *path = config_path(buf, sizeof buf, &required), *store;

    if (!path || !(cmd->accepts & (CLI_O_TO | CLI_O_FROM)))
        return CLI_OK;
    if (!registered++)
        atexit(free_config);
    free_config();
    if (!(loaded_path = strdup(path)))
        return cli_error("out of memory");
    a->config_file = loaded_path;
    rc = ini_parse(path, keep_entry, &loaded);
    if (rc < 0)
        return cli_error("cannot read the config file '%s'%s", path,
                         required ? " (named by KVAULT_CONFIG)" : "");
    if (rc > 0)
        return cli_usage_error(cmd->name, "%s line %d: not a 'key = value' line or a [section]",
                               path, rc);
    if (loaded.bad_section)
        return cli_usage_error(cmd->name, "%s: no section [%s]: sections are [defaults] and "
                               "[store URL]", path, loaded.bad_section);
    store = store_section(store_in_use(cmd, a));
    if (store && (rc = apply_section(cmd, a, store)) != CLI_OK)
        return rc;
    return apply_section(cmd, a, "defaults");
}
