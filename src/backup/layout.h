/* Where a backup's objects live in the store:
 *   <env>/rocksdb/<YYYY-MM-DD>/<backup-id>/manifest.json   (the commit point)
 *   <env>/rocksdb/<YYYY-MM-DD>/<backup-id>/<file>          (files new in it)
 * Backup ids are "YYYYMMDDTHHMMSSZ-xxxxxx" (UTC, 6 random hex digits), so
 * they sort in time order and name their date folder. */
#ifndef KV_BACKUP_LAYOUT_H
#define KV_BACKUP_LAYOUT_H

#include <stddef.h>
#include <time.h>

#define KV_DEFAULT_ENV "default"
#define KV_MANIFEST_NAME "manifest.json"
#define KV_ID_LEN 23 /* strlen("20260102T030405Z-a1b2c3") */

/* Validates env (NULL = "default"): letters, digits, '-', '_', '.', no
 * leading '.', at most 127 characters. */
int kv_env_resolve(const char *env, const char **out);

/* A new id and its date folder for a backup started at t. */
int kv_backup_id_new(time_t t, char id[64], char date[16]);

/* 1 if id has the shape of a backup id, else 0. */
int kv_backup_id_valid(const char *id);

/* 1 if date is "YYYY-MM-DD", else 0. */
int kv_date_valid(const char *date);

/* The date folder an id belongs to (KV_EINVAL naming the id if malformed). */
int kv_backup_id_date(const char *id, char date[16]);

/* The UTC time an id was made at (KV_EINVAL naming the id if malformed). */
int kv_backup_id_time(const char *id, time_t *out);

/* "<env>/rocksdb/" (malloc'd, NULL when out of memory). */
char *kv_layout_env_prefix(const char *env);

/* "<env>/rocksdb/<date>/<id>/<name>" (malloc'd, NULL when out of memory). */
char *kv_layout_key(const char *env, const char *date, const char *id, const char *name);

#endif
