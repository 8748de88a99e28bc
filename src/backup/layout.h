/* Where a backup's objects live in the store:
 *   <env>/rocksdb/<YYYY-MM-DD>/<backup-id>/manifest.json   (the commit point)
 *   <env>/rocksdb/<YYYY-MM-DD>/<backup-id>/<file>          (files new in it)
 * Backup ids are "YYYYMMDDTHHMMSS.mmmZ-xxxxxx" (UTC to the millisecond, 6
 * random hex digits), so they sort in time order and name their date folder;
 * kvault 0.1's "YYYYMMDDTHHMMSSZ-xxxxxx" are still read. */
#ifndef KV_BACKUP_LAYOUT_H
#define KV_BACKUP_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define KV_DEFAULT_ENV "default"
#define KV_MANIFEST_NAME "manifest.json.zst"
#define KV_MANIFEST_NAME_V2 "manifest.json" /* versions 1 and 2: plain JSON */
#define KV_ID_MAX 27 /* strlen("20260102T030405.678Z-a1b2c3") */

/* Validates env (NULL = "default"): letters, digits, '-', '_', '.', no
 * leading '.', at most 127 characters. */
int kv_env_resolve(const char *env, const char **out);

/* A new id and its date folder for a backup started at ms (Unix time in
 * milliseconds). */
int kv_backup_id_new(int64_t ms, char id[64], char date[16]);

/* 1 if id has the shape of a backup id, else 0. */
int kv_backup_id_valid(const char *id);

/* 1 if date is "YYYY-MM-DD", else 0. */
int kv_date_valid(const char *date);

/* The date folder an id belongs to (KV_EINVAL naming the id if malformed). */
int kv_backup_id_date(const char *id, char date[16]);

/* The time an id was made at, in Unix milliseconds (KV_EINVAL naming the id
 * if malformed). */
int kv_backup_id_time_ms(const char *id, int64_t *out);

/* "<env>/rocksdb/", "<env>/index/", "<env>/locks/" (malloc'd, NULL when
 * out of memory). */
char *kv_layout_env_prefix(const char *env);
char *kv_layout_index_prefix(const char *env);
char *kv_layout_locks_prefix(const char *env);

/* The manifest key of a backup; legacy: the plain-JSON name of versions 1
 * and 2 (malloc'd, NULL when out of memory). */
char *kv_layout_manifest_key(const char *env, const char *date, const char *id, int legacy);

/* 1 if key names a manifest (either name) in a backup folder; *id (64
 * bytes) receives the backup id. */
int kv_layout_manifest_id(const char *key, char id[64]);

/* Orders backups by start time, then id (ties: two hosts in one ms). */
int kv_backup_order(int64_t a_ms, const char *a_id, int64_t b_ms, const char *b_id);

/* 1 for the names of files that never change once written (SST, blob). */
int kv_name_is_immutable(const char *name);

/* "<env>/rocksdb/<date>/<id>/<name>" (malloc'd, NULL when out of memory). */
char *kv_layout_key(const char *env, const char *date, const char *id, const char *name);

/* A backup folder holds at most this many of its files; more go in
 * numbered sub-folders (000/, 001/, ...), so no folder gets huge however
 * many files a backup has. */
#define KV_FILES_PER_FOLDER 900

/* The key of the index-th file (from 0) a backup stores, named name: in its
 * folder, or in the sub-folder the count puts it in. malloc'd, NULL when
 * out of memory. */
char *kv_layout_member_key(const char *env, const char *date, const char *id, size_t index,
                           const char *name);

#endif
