/* The manifests of an env as the store holds them: finding, reading and
 * parsing them. The index (index.h) spares most callers from reading them
 * all; prune, gc and index rebuilds do. */
#ifndef KV_BACKUP_CATALOG_H
#define KV_BACKUP_CATALOG_H

#include <stddef.h>

#include "backup/manifest.h"
#include "store/store.h"

typedef struct kv_catalog {
    kv_manifest *m; /* oldest first */
    size_t n;
    char **bad;     /* keys of manifests that did not parse (skip_bad) */
    size_t nbad;
} kv_catalog;

/* Reads every manifest of env (one listing of the env's objects, one read
 * per manifest). A manifest that does not parse or match its digest fails
 * the load, or with skip_bad is logged, left out and named in out->bad. */
int kv_catalog_load(kv_store *st, const char *env, int skip_bad, kv_catalog *out);
void kv_catalog_free(kv_catalog *c);

/* Reads and parses the manifest at key. */
int kv_catalog_read(kv_store *st, const char *env, const char *key, kv_manifest *out);

/* The manifest of backup id in env; id NULL or "latest" = the newest. */
int kv_backup_find(kv_store *st, const char *env, const char *id, kv_manifest *out);

/* Reads a whole object of at most max bytes into malloc'd, NUL-terminated
 * *data (the NUL is not counted in *len). */
int kv_read_small(kv_store *st, const char *key, size_t max, char **data, size_t *len);

#endif
