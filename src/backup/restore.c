/* Restoring a backup: everything is downloaded and checked in a temporary
 * directory beside the destination, opened with RocksDB, and only then
 * renamed into place, so a failure never leaves a half-written database. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/catalog.h"
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
                                  .check_crc = 1, .expect_crc32c = f->crc32c};
    }
    rc = kv_xfer_download(kv->st, items, m->nfiles, &kv->xo);
out:
    for (size_t i = 0; paths && i < m->nfiles; i++)
        free(paths[i]);
    free(paths);
    free(items);
    return rc;
}

int kv_check_restored(const kv_manifest *m, const char *dir, int read_all, uint64_t *keys)
{
    uint64_t ncf;
    int rc = kv_rdb_check(dir, read_all, &ncf, keys);
    if (!rc && ncf != m->ncolumn_families)
        rc = kv_seterr(KV_ECORRUPT, "backup %s restored to '%s' has %llu column families, its "
                       "manifest lists %zu", m->id, dir, (unsigned long long)ncf, m->ncolumn_families);
    return rc;
}

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

/* Puts the restored directory at dest; an occupied dest is first renamed
 * aside and removed only once the new one is in place. */
static int move_into_place(const char *tmp, const char *dest, int occupied)
{
    char *old = NULL, *parent = NULL, *name = NULL;
    int rc;

    if ((rc = kv_split_path(dest, &parent, &name)))
        return rc;
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

/* Downloads m into a new sibling directory of dest and checks it opens. */
static int restore_beside(kvault *kv, const kv_manifest *m, const char *dest, char **tmp)
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
    if ((rc = kv_fetch_backup(kv, m, *tmp)) || (rc = kv_fsync_dir(*tmp)))
        goto out;
    rc = kv_check_restored(m, *tmp, 0, NULL);
out:
    free(parent);
    free(name);
    return rc;
}

int kvault_restore(kvault *kv, const kvault_restore_opts *opts, const char *dest_dir,
                   kvault_backup_info *out)
{
    const char *env;
    char *tmp = NULL;
    kv_manifest m = {0};
    int occupied, rc;

    if ((rc = kv_env_resolve(opts ? opts->env : NULL, &env)) ||
        (rc = kv_catalog_find(kv->st, env, opts ? opts->backup_id : NULL, &m)))
        goto out;
    if ((occupied = dest_occupied(dest_dir)) < 0) {
        rc = occupied;
        goto out;
    }
    if (occupied && !(opts && opts->force)) {
        rc = kv_seterr(KV_EEXIST, "restore destination '%s' is not empty; use --force to replace it",
                       dest_dir);
        goto out;
    }
    if ((rc = restore_beside(kv, &m, dest_dir, &tmp)) || (rc = move_into_place(tmp, dest_dir, occupied)))
        goto out;
    free(tmp);
    tmp = NULL;
    kv_info_from_manifest(&m, out);
    kv_info("restored backup %s to '%s'", m.id, dest_dir);
out:
    if (tmp)
        kv_rm_rf_quiet(tmp);
    free(tmp);
    kv_manifest_free(&m);
    return rc;
}
