/* Restoring a backup: everything is downloaded and checked in a temporary
 * directory beside the destination, opened read-only with RocksDB, and only
 * then swapped into place, so a failure never leaves a half-written
 * database. A destination a running process holds is never touched. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/catalog.h"
#include "backup/dbconf.h"
#include "backup/ingest.h"
#include "backup/internal.h"
#include "backup/layout.h"
#include "backup/localdir.h"
#include "backup/rocks.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"

int kv_fetch_backup(kvault *kv, const kv_manifest *m, const char *dir)
{
    kv_xfer_item *items = calloc(m->nfiles + 1, sizeof *items);
    char **paths = calloc(m->nfiles + 1, sizeof *paths);
    int rc = KV_OK;

    if (!items || !paths) {
        rc = kv_seterr(KV_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < m->nfiles; i++) {
        const kv_mfile *f = &m->files[i];
        if (dir && asprintf(&paths[i], "%s/%s", dir, f->name) < 0) {
            paths[i] = NULL;
            rc = kv_seterr(KV_ENOMEM, "out of memory");
            goto out;
        }
        items[i] = (kv_xfer_item){.local_path = paths[i], .key = f->object, .size = f->size,
                                  .check_crc = 1, .expect_crc32c = f->crc32c,
                                  .member = f->in_archive, .object_offset = f->offset,
                                  .member_name = f->name};
    }
    rc = kv_xfer_download(kv->st, items, m->nfiles, &kv->xo);
out:
    for (size_t i = 0; paths && i < m->nfiles; i++)
        free(paths[i]);
    free(paths);
    free(items);
    return rc;
}

/* OPTIONS files of older RocksDB versions name the source's WAL directory:
 * the restored database keeps its WAL files in its own directory. */
static int localize_options(const kv_manifest *m, const char *dir)
{
    int rc = KV_OK;
    for (size_t i = 0; i < m->nfiles && !rc; i++) {
        char *path;
        if (strncmp(m->files[i].name, "OPTIONS-", 8) != 0)
            continue;
        if (asprintf(&path, "%s/%s", dir, m->files[i].name) < 0)
            return kv_oom();
        rc = kv_options_file_localize(path);
        free(path);
    }
    return rc;
}

int kv_check_restored(const kv_manifest *m, const char *dir, const kvault_db_options *app,
                      const char *tmp_dir, int read_all, kv_rdb_read_report *report)
{
    kv_rdb r;
    int rc = kv_rdb_open(dir, NULL, app, tmp_dir, &r);
    if (!rc && r.ncf != m->ncolumn_families)
        rc = kv_seterr(KV_ECORRUPT, "backup %s restored to '%s' has %zu column families, its "
                       "manifest lists %zu", m->id, dir, r.ncf, m->ncolumn_families);
    /* version 1 recorded the sequence before a checkpoint that flushed later writes */
    if (!rc && m->version >= 2 && kv_rdb_sequence(&r) != m->sequence)
        rc = kv_seterr(KV_ECORRUPT, "backup %s restored to '%s' is at sequence number %llu, its "
                       "manifest says %llu", m->id, dir, (unsigned long long)kv_rdb_sequence(&r),
                       (unsigned long long)m->sequence);
    if (!rc && read_all)
        rc = kv_rdb_read_all(&r, report);
    kv_rdb_close(&r);
    return rc;
}

/* ---- the destination --------------------------------------------------------- */

/* 1 if dest holds something, 0 if it is missing or an empty directory. */
static int dest_occupied(const char *dest)
{
    struct stat st;
    int rc;
    if (lstat(dest, &st) != 0)
        return errno == ENOENT ? 0
                               : kv_seterr_errno(kv_errno_code(errno), errno, "cannot stat '%s'", dest);
    if (!S_ISDIR(st.st_mode))
        return kv_seterr(KV_EEXIST, "restore destination '%s' exists and is not a directory", dest);
    rc = kv_dir_is_empty(dest);
    return rc < 0 ? rc : rc == 0;
}

/* Takes dest/LOCK as RocksDB does (a write lock on the whole file with
 * fcntl, env/fs_posix.cc LockFile), so no process can open the database
 * while kvault replaces it; refuses when a process already holds it.
 * *fd is -1 when there is no LOCK file (no RocksDB ever opened dest). */
static int lock_dest(const char *dest, int *fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    char *path = NULL;
    int rc = KV_OK;

    *fd = -1;
    if (asprintf(&path, "%s/LOCK", dest) < 0)
        return kv_oom();
    *fd = open(path, O_RDWR | O_CLOEXEC);
    if (*fd < 0) {
        rc = errno == ENOENT ? KV_OK
                             : kv_seterr_errno(kv_errno_code(errno), errno, "cannot open '%s'", path);
        goto out;
    }
    if (fcntl(*fd, F_SETLK, &fl) != 0) {
        int err = errno;
        fl = (struct flock){.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (err == EACCES || err == EAGAIN) {
            long pid = fcntl(*fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ? (long)fl.l_pid : 0;
            rc = kv_seterr(KV_EEXIST, "restore destination '%s' is in use: process %ld holds its "
                           "RocksDB lock '%s'; stop the process that has the database open, then "
                           "restore (nothing was changed)", dest, pid, path);
        } else {
            rc = kv_seterr_errno(KV_EIO, err, "cannot lock '%s'", path);
        }
        close(*fd);
        *fd = -1;
    }
out:
    free(path);
    return rc;
}

/* Puts the restored directory at dest. An occupied dest is exchanged with it
 * in one step (renameat2 RENAME_EXCHANGE) so dest always holds a whole
 * database, then removed; where the file system cannot exchange, it is
 * renamed aside first. */
static int move_into_place(const char *tmp, const char *dest, int occupied)
{
    char *old = NULL, *parent = NULL, *name = NULL;
    int rc;

    if ((rc = kv_split_path(dest, &parent, &name)))
        return rc;
    if (occupied && renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_EXCHANGE) == 0) {
        rc = kv_fsync_dir(parent);
        kv_rm_rf_quiet(tmp); /* now the old database */
        goto out;
    }
    if (occupied) {
        if ((rc = kv_make_sibling_dir(dest, "old", &old)))
            goto out;
        if (rename(dest, old) != 0) {
            rc = kv_seterr_errno(kv_errno_code(errno), errno, "cannot move '%s' aside to '%s'", dest, old);
            rmdir(old);
            free(old);
            old = NULL;
            goto out;
        }
    }
    if (rename(tmp, dest) != 0) {
        rc = kv_seterr_errno(kv_errno_code(errno), errno, "cannot rename '%s' to '%s'", tmp, dest);
        if (old && rename(old, dest) != 0)
            kv_log(KV_LOG_ERROR, "warning: the old database is left at '%s'", old);
        goto out;
    }
    rc = kv_fsync_dir(parent);
    if (old)
        kv_rm_rf_quiet(old);
out:
    free(old);
    free(parent);
    free(name);
    return rc;
}

/* The files of m into dir, checked: a database's own files downloaded, or
 * an export ingested into a new database. */
static int restore_into(kvault *kv, const kv_manifest *m, const char *dir,
                        const kvault_restore_opts *o)
{
    const kvault_db_options *app = o ? o->db_options : NULL;
    size_t ncfs = o && o->version >= 2 ? o->ncfs : 0;
    uint64_t keys;
    int rc;
    if (m->sst_export)
        return kv_restore_export(kv, m, dir, ncfs ? (char *const *)o->cfs : NULL, ncfs, app, &keys);
    if (ncfs)
        return kv_seterr(KV_EUNSUPPORTED, "backup %s holds the database's own files: it restores "
                         "whole (kvault_restore_opts.cfs needs an SST export)", m->id);
    if ((rc = kv_fetch_backup(kv, m, dir)) || (rc = localize_options(m, dir)) ||
        (rc = kv_fsync_dir(dir)))
        return rc;
    return kv_check_restored(m, dir, app, kv->tmp_dir, 0, NULL);
}

/* Restores m into a new sibling directory of dest. */
static int restore_beside(kvault *kv, const kv_manifest *m, const char *dest,
                          const kvault_restore_opts *o, char **tmp)
{
    char *parent = NULL, *name = NULL;
    int rc;

    if ((rc = kv_split_path(dest, &parent, &name)) || (rc = kv_mkdir_p(parent, 0755)) ||
        (rc = kv_make_sibling_dir(dest, "restore", tmp)))
        goto out;
    if (chmod(*tmp, 0755) != 0) {
        rc = kv_seterr_errno(KV_EIO, errno, "cannot set the mode of '%s'", *tmp);
        goto out;
    }
    rc = restore_into(kv, m, *tmp, o);
out:
    free(parent);
    free(name);
    return rc;
}

static int check_dest(const char *dest, int force, int *occupied, int *lock_fd)
{
    int rc;
    if ((*occupied = dest_occupied(dest)) < 0)
        return *occupied;
    if (*occupied && (rc = lock_dest(dest, lock_fd)))
        return rc;
    if (*occupied && !force)
        return kv_seterr(KV_EEXIST, "restore destination '%s' is not empty (kvault_restore_opts."
                         "force replaces it)", dest);
    return KV_OK;
}

int kvault_restore(kvault *kv, const kvault_restore_opts *opts, const char *dest_dir,
                   kvault_backup_info *out)
{
    const char *env;
    char *tmp = NULL;
    kv_manifest m = {0};
    int occupied = 0, lock_fd = -1, rc;

    if (opts && (rc = kv_check_versions(opts->version, 1, KVAULT_RESTORE_OPTS_VERSION,
                                        "kvault_restore_opts")))
        return rc;
    if ((rc = kv_env_resolve(opts ? opts->env : NULL, &env)) ||
        (rc = kv_backup_find(kv->st, env, opts ? opts->backup_id : NULL, &m)) ||
        (rc = check_dest(dest_dir, opts && opts->force, &occupied, &lock_fd)))
        goto out;
    if ((rc = restore_beside(kv, &m, dest_dir, opts, &tmp)) ||
        (rc = move_into_place(tmp, dest_dir, occupied)))
        goto out;
    free(tmp);
    tmp = NULL;
    kv_info_from_manifest(&m, out);
    kv_info("restored backup %s to '%s'", m.id, dest_dir);
out:
    if (tmp)
        kv_rm_rf_quiet(tmp);
    if (lock_fd >= 0)
        close(lock_fd);
    free(tmp);
    kv_manifest_free(&m);
    return rc;
}
