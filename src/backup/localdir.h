/* Local directories beside a database: kvault's scratch directories are
 * siblings of the directory they serve (".<name>.kvault-<tag>-..."), on the
 * same file system, so hard links and renames work. */
#ifndef KV_BACKUP_LOCALDIR_H
#define KV_BACKUP_LOCALDIR_H

/* Splits path (trailing '/' ignored) into its parent directory and last
 * component, both malloc'd. "db" has parent ".". */
int kv_split_path(const char *path, char **parent, char **name);

/* Creates a new empty directory <parent of path>/.<name>.kvault-<tag>-XXXXXX. */
int kv_make_sibling_dir(const char *path, const char *tag, char **out);

/* Removes path and everything under it, keeping this thread's error message
 * (for cleanup after a failure); a failure to remove is only logged. */
void kv_rm_rf_quiet(const char *path);

#endif
