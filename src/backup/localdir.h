/* kvault's local scratch directories. Each is named after the process that
 * made it, so the next kvault run removes those of processes that were
 * killed. A restore's are siblings of the directory they serve
 * (".<name>.kvault-<tag>-<pid>-..."), on the same file system, so renames
 * work. */
#ifndef KV_BACKUP_LOCALDIR_H
#define KV_BACKUP_LOCALDIR_H

/* Splits path (trailing '/' ignored) into its parent directory and last
 * component, both malloc'd. "db" has parent ".". */
int kv_split_path(const char *path, char **parent, char **name);

/* Creates a new empty directory <parent>/<prefix><pid>-XXXXXX (malloc'd
 * into *out). First removes the directories of that prefix whose process,
 * on this host, is gone: what a killed backup, restore or verify left. */
int kv_make_owned_dir(const char *parent, const char *prefix, char **out);

/* kv_make_owned_dir beside path: <parent of path>/.<name>.kvault-<tag>-<pid>-XXXXXX;
 * the orphans it removes are those of any name and tag in that parent. */
int kv_make_sibling_dir(const char *path, const char *tag, char **out);

/* Removes path and everything under it, keeping this thread's error message
 * (for cleanup after a failure); a failure to remove is only logged. */
void kv_rm_rf_quiet(const char *path);

#endif
