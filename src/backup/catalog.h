/* Finding and reading the manifests of an env: the complete backups. */
#ifndef KV_BACKUP_CATALOG_H
#define KV_BACKUP_CATALOG_H

#include <stddef.h>

#include "backup/manifest.h"
#include "store/store.h"

typedef struct kv_catalog {
    kv_manifest *m; /* oldest first */
    size_t n;
} kv_catalog;

/* Reads every manifest of env. A manifest that does not parse fails the
 * load, or with skip_bad is logged and left out. */
int kv_catalog_load(kv_store *st, const char *env, int skip_bad, kv_catalog *out);
void kv_catalog_free(kv_catalog *c);

/* The manifest of backup id in env; id NULL or "latest" = the newest. */
int kv_catalog_find(kv_store *st, const char *env, const char *id, kv_manifest *out);

#endif
