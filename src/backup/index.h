/* The env index: what `list` and a backup need to know about an env's
 * backups without reading every manifest, so their cost does not grow with
 * history.
 *
 *   <env>/index/entry-<id>.json.zst      one per committed backup: its
 *                                         summary and the immutable files it
 *                                         stored (written right after its
 *                                         manifest, the commit point)
 *   <env>/index/catalog-<id>-<rnd>.json.zst   a compaction: summaries of many
 *                                         backups and every immutable file
 *                                         they hold
 *   <env>/index/attempt-<id>.json.zst    the journal of a backup in progress:
 *                                         the immutable files it stored so far,
 *                                         so that the next backup after it was
 *                                         killed uploads only what is missing
 *                                         (removed when it commits; by gc once
 *                                         older than the grace period)
 *
 * Readers take the union of every catalog and entry present (a listing of
 * <env>/index/ and a bounded number of reads: a backup that finds more than
 * KV_INDEX_MAX_ENTRIES entries compacts them into a catalog and removes what
 * it merged). Concurrent compactions stay correct because readers take the
 * union and a compactor removes only what it read. Prune and gc (which hold
 * the env's exclusive lock and list everything anyway) rebuild it from the
 * manifests; so does anyone who finds it missing while manifests exist, or
 * damaged. All documents are sealed (sealed.h). */
#ifndef KV_BACKUP_INDEX_H
#define KV_BACKUP_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "backup/manifest.h"
#include "store/store.h"

#define KV_INDEX_MAX_ENTRIES 16

typedef struct kv_index_backup {
    char id[64];
    char date[16];
    int64_t created_ms;
    double seconds;
    uint64_t files, bytes, files_new, bytes_new, sequence;
    char *manifest;          /* its key */
} kv_index_backup;

typedef struct kv_index_file {
    char *name;
    uint64_t size;
    uint32_t crc32c;
    char *object;
    int in_archive;     /* object is a single-file archive holding it at offset */
    uint64_t offset;
} kv_index_file;

typedef struct kv_index {
    kv_index_backup *b;      /* oldest first */
    size_t nb;
    kv_index_file *f;        /* immutable files of the backups, one per object */
    size_t nf;
    kv_index_file *af;       /* immutable files of attempts that never committed */
    size_t naf;
    char **sources;          /* index objects it was read from */
    size_t nsources;
    char **attempts;         /* attempt journals it read */
    size_t nattempts;
    size_t nentries;         /* of which entries (the rest are catalogs) */
} kv_index;

/* Reads the index of env; rebuilds it from the manifests when it is
 * missing or damaged. */
int kv_index_load(kv_store *st, const char *env, kv_index *out);
void kv_index_free(kv_index *ix);

/* After backup m committed: writes its entry; compacts ix (the index the
 * backup loaded) with it when ix has many entries. */
int kv_index_add(kv_store *st, const char *env, const kv_manifest *m, const kv_index *ix);

/* Builds the index of the given manifests (oldest first), writes it as one
 * catalog and removes every other index object (for prune and gc, under
 * the exclusive lock). */
int kv_index_write_from(kv_store *st, const char *env, const kv_manifest *ms, size_t n);

/* Writes (replaces) the journal of attempt id: files f[0..n). */
int kv_index_write_attempt(kv_store *st, const char *env, const char *id, const kv_index_file *f,
                           size_t n);
int kv_index_remove_attempt(kv_store *st, const char *env, const char *id);
/* The key of attempt id's journal (malloc'd, NULL when out of memory), and
 * the attempt id of a key (0 when key is no journal). */
char *kv_index_attempt_key(const char *env, const char *id);
int kv_index_attempt_id(const char *key, char id[64]);

/* The summary of m, as the index keeps it. */
int kv_index_summary(const kv_manifest *m, kv_index_backup *out);

#endif
