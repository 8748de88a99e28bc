#include "backup/localdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"

int kv_split_path(const char *path, char **parent, char **name)
{
    size_t n = strlen(path);
    const char *slash;
    while (n > 1 && path[n - 1] == '/')
        n--;
    slash = memrchr(path, '/', n);
    if (n == 0 || (slash && slash == path + n - 1))
        return kv_seterr(KV_EINVAL, "'%s' does not name a directory below another", path);
    *parent = !slash ? strdup(".") : slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
    *name = slash ? strndup(slash + 1, n - (size_t)(slash + 1 - path)) : strndup(path, n);
    if (!*parent || !*name) {
        free(*parent);
        free(*name);
        return kv_seterr(KV_ENOMEM, "out of memory");
    }
    return KV_OK;
}

int kv_make_sibling_dir(const char *path, const char *tag, char **out)
{
    char *parent = NULL, *name = NULL, *dir = NULL;
    int rc = kv_split_path(path, &parent, &name);
    if (rc)
        return rc;
    if (asprintf(&dir, "%s/.%s.kvault-%s-XXXXXX", parent, name, tag) < 0) {
        dir = NULL;
        rc = kv_seterr(KV_ENOMEM, "out of memory");
        goto out;
    }
    if (!mkdtemp(dir)) {
        rc = kv_seterr_errno(kv_errno_code(errno), errno, "cannot create directory '%s'", dir);
        goto out;
    }
    *out = dir;
    dir = NULL;
out:
    free(dir);
    free(parent);
    free(name);
    return rc;
}

void kv_rm_rf_quiet(const char *path)
{
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", kv_errmsg());
    if (kv_rm_rf(path) != KV_OK)
        kv_log(KV_LOG_ERROR, "warning: %s", kv_errmsg());
    kv_errset_msg(KV_OK, saved);
}
