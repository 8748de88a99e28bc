/* Local file system helpers. Every failure names the path. */
#ifndef KV_UTIL_FS_H
#define KV_UTIL_FS_H

#include <stddef.h>
#include <stdint.h>

int kv_mkdir_p(const char *path, unsigned mode);
int kv_rm_rf(const char *path);
int kv_fsync_dir(const char *path);
/* Reads a whole (small) file into a malloc'd NUL-terminated buffer. */
int kv_read_file(const char *path, char **data, size_t *len);
/* Writes data to path via path.tmp-XXXX + fsync + rename. */
int kv_write_file_atomic(const char *path, const void *data, size_t len);
/* 1 if path is an existing directory with no entries, 0 if it has some,
 * KV_ENOTFOUND if it does not exist. */
int kv_dir_is_empty(const char *path);
/* Full pread/pwrite loops that retry on EINTR and short counts. */
int kv_pread_full(int fd, void *buf, size_t len, uint64_t off, const char *path);
int kv_pwrite_full(int fd, const void *buf, size_t len, uint64_t off, const char *path);
int kv_write_full(int fd, const void *buf, size_t len, const char *what);

#endif
