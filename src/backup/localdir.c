#include "backup/localdir.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Whether the entry name is <prefix>...<pid>-XXXXXX (with marker in the
 * "...", when given), made by a process of this host that is gone (not
 * merely one we may not signal). */
static int owner_gone(const char *name, const char *prefix, const char *marker)
{
    const char *last = strrchr(name, '-'), *p;
    char *end;
    long pid;
    if (strncmp(name, prefix, strlen(prefix)) != 0 || !last || last - name <= (long)strlen(prefix) ||
        (marker && !strstr(name, marker)))
        return 0;
    for (p = last - 1; p > name && p[-1] != '-'; p--)
        ;
    errno = 0;
    pid = strtol(p, &end, 10);
    if (errno || end != last || pid <= 0 || pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static void remove_orphans(const char *parent, const char *prefix, const char *marker)
{
    DIR *d = opendir(parent);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d))) {
        char *path;
        if (!owner_gone(e->d_name, prefix, marker) || asprintf(&path, "%s/%s", parent, e->d_name) < 0)
            continue;
        kv_info("removing '%s', left by a kvault process that did not finish", path);
        kv_rm_rf_quiet(path);
        free(path);
    }
    closedir(d);
}

static int make_owned_dir(const char *parent, const char *prefix, char **out)
{
    char *dir;
    if (asprintf(&dir, "%s/%s%ld-XXXXXX", parent, prefix, (long)getpid()) < 0)
        return kv_oom();
    if (!mkdtemp(dir)) {
        int rc = kv_seterr_errno(kv_errno_code(errno), errno, "cannot create directory '%s'", dir);
        free(dir);
        return rc;
    }
    *out = dir;
    return KV_OK;
}

int kv_make_owned_dir(const char *parent, const char *prefix, char **out)
{
    remove_orphans(parent, prefix, NULL);
    return make_owned_dir(parent, prefix, out);
}

/* The orphans of every restore into this parent go (".<any name>.kvault-"):
 * restores of other names and tags would otherwise leave theirs forever. */
int kv_make_sibling_dir(const char *path, const char *tag, char **out)
{
    char *parent = NULL, *name = NULL, *prefix = NULL;
    int rc = kv_split_path(path, &parent, &name);
    if (rc)
        return rc;
    remove_orphans(parent, ".", ".kvault-");
    if (asprintf(&prefix, ".%s.kvault-%s-", name, tag) < 0) {
        prefix = NULL;
        rc = kv_oom();
    } else {
        rc = make_owned_dir(parent, prefix, out);
    }
    free(prefix);
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
