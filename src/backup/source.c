#include "backup/source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup/localdir.h"
#include "backup/rocks.h"
#include "backup/walscan.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"

#define VIEW_TAG "kvault-backup-"
#define MAX_ATTEMPTS 60
#define MAX_CURRENT 256

enum kind { K_SST, K_BLOB, K_WAL, K_OPTIONS };

typedef struct pinned {
    char *name;
    enum kind kind;
    uint64_t number;    /* of a WAL */
    int fd;
    struct stat st;
    int keep;           /* goes into the backup */
} pinned;

typedef struct attempt {
    char current[MAX_CURRENT];
    int manifest_fd;
    struct stat manifest_st;
    pinned *p;
    size_t n, cap;
} attempt;

/* ---- names --------------------------------------------------------------- */

/* "000123.sst" -> 123 with *ext = ".sst"; 0 if the name is not <digits>.<ext>. */
static int numbered(const char *name, uint64_t *number, const char **ext)
{
    char *end;
    if (name[0] < '0' || name[0] > '9')
        return 0;
    errno = 0;
    *number = strtoull(name, &end, 10);
    *ext = end;
    return !errno && *end == '.';
}

static int kind_of(const char *name, const char *options_file, int in_wal_dir, enum kind *k,
                   uint64_t *number)
{
    const char *ext;
    if (!in_wal_dir && options_file && strcmp(name, options_file) == 0) {
        *k = K_OPTIONS;
        return 1;
    }
    if (!numbered(name, number, &ext))
        return 0;
    if (in_wal_dir) {
        *k = K_WAL;
        return strcmp(ext, ".log") == 0;
    }
    *k = strcmp(ext, ".blob") == 0 ? K_BLOB : K_SST;
    return !strcmp(ext, ".sst") || !strcmp(ext, ".ldb") || !strcmp(ext, ".blob");
}

/* ---- pinning ------------------------------------------------------------- */

/* Opens a file of the source for reading without changing its access time
 * where the kernel allows (O_NOATIME needs ownership). */
static int open_source(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd;
}

static int pin_failed(const char *path, int count)
{
    if (errno == EMFILE || errno == ENFILE)
        return kv_seterr(KV_EIO, "cannot hold '%s' open: too many open files (%d held); kvault "
                         "keeps every SST file of the database open during a backup: raise the "
                         "limit (ulimit -n)", path, count);
    return kv_seterr_errno(kv_errno_code(errno), errno, "cannot open '%s'", path);
}

static int add_pinned(attempt *a, const char *dir, const char *name, enum kind k, uint64_t number)
{
    char *path = NULL;
    pinned *p;
    int rc = KV_OK;

    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        pinned *np = realloc(a->p, cap * sizeof *np);
        if (!np)
            return kv_oom();
        a->p = np;
        a->cap = cap;
    }
    if (asprintf(&path, "%s/%s", dir, name) < 0)
        return kv_oom();
    p = &a->p[a->n];
    memset(p, 0, sizeof *p);
    p->fd = open_source(path);
    if (p->fd < 0) {
        /* deleted since the listing: step 3 tells whether that mattered */
        rc = errno == ENOENT ? KV_OK : pin_failed(path, (int)a->n);
        goto out;
    }
    if (fstat(p->fd, &p->st) != 0 || !(p->name = strdup(name))) {
        rc = p->name ? kv_seterr_errno(KV_EIO, errno, "cannot stat '%s'", path) : kv_oom();
        close(p->fd);
        goto out;
    }
    p->kind = k;
    p->number = number;
    a->n++;
out:
    free(path);
    return rc;
}

static int pin_dir(attempt *a, const char *dir, const char *options_file, int files, int wals)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int rc = KV_OK;
    if (!d)
        return kv_seterr_errno(kv_errno_code(errno), errno, "cannot read directory '%s'", dir);
    while (!rc && (e = readdir(d))) {
        enum kind k;
        uint64_t number = 0;
        if ((files && kind_of(e->d_name, options_file, 0, &k, &number)) ||
            (wals && kind_of(e->d_name, NULL, 1, &k, &number)))
            rc = add_pinned(a, dir, e->d_name, k, number);
    }
    closedir(d);
    return rc;
}

static void unpin(attempt *a)
{
    for (size_t i = 0; i < a->n; i++) {
        close(a->p[i].fd);
        free(a->p[i].name);
    }
    free(a->p);
    if (a->manifest_fd >= 0)
        close(a->manifest_fd);
    memset(a, 0, sizeof *a);
    a->manifest_fd = -1;
}

/* CURRENT's text: "MANIFEST-<n>\n". */
static int read_current(const char *db, char out[MAX_CURRENT])
{
    char *path = NULL, *text = NULL;
    size_t len;
    int rc;

    if (asprintf(&path, "%s/CURRENT", db) < 0)
        return kv_oom();
    rc = kv_read_file(path, &text, &len);
    if (rc == KV_ENOTFOUND)
        rc = kv_seterr(KV_EINVAL, "'%s' is not a RocksDB database: it has no CURRENT file", db);
    else if (!rc && (len < 11 || len >= MAX_CURRENT || strncmp(text, "MANIFEST-", 9) != 0 ||
                     text[len - 1] != '\n' || memchr(text, '/', len)))
        rc = kv_seterr(KV_ECORRUPT, "'%s' does not name a MANIFEST file", path);
    if (!rc)
        memcpy(out, text, len + 1);
    free(text);
    free(path);
    return rc;
}

static int manifest_path(const char *db, const char *current, char **out)
{
    return asprintf(out, "%s/%.*s", db, (int)strcspn(current, "\n"), current) < 0 ? kv_oom()
                                                                                   : KV_OK;
}

/* Steps 1 and 2. */
static int pin_all(const kv_source *s, attempt *a)
{
    char *path = NULL;
    int rc;

    if ((rc = read_current(s->db_path, a->current)) || (rc = manifest_path(s->db_path, a->current, &path)))
        return rc;
    a->manifest_fd = open_source(path);
    if (a->manifest_fd < 0 || fstat(a->manifest_fd, &a->manifest_st) != 0) {
        rc = errno == ENOENT ? KV_ETRANSIENT
                             : kv_seterr_errno(kv_errno_code(errno), errno, "cannot open '%s'", path);
        free(path);
        return rc;
    }
    free(path);
    if (!s->wal_dir)
        return pin_dir(a, s->db_path, s->conf.options_file, 1, 1);
    if ((rc = pin_dir(a, s->db_path, s->conf.options_file, 1, 0)))
        return rc;
    return pin_dir(a, s->wal_dir, NULL, 0, 1);
}

/* Step 3: KV_OK if nothing that could delete a file happened meanwhile. */
static int still_same(const kv_source *s, const attempt *a)
{
    char current[MAX_CURRENT], *path = NULL;
    struct stat st;
    int rc = read_current(s->db_path, current);

    if (rc || strcmp(current, a->current) != 0)
        return rc ? rc : KV_ETRANSIENT;
    if ((rc = manifest_path(s->db_path, current, &path)))
        return rc;
    rc = stat(path, &st) == 0 && st.st_ino == a->manifest_st.st_ino &&
                 st.st_size == a->manifest_st.st_size
             ? KV_OK
             : KV_ETRANSIENT;
    free(path);
    return rc;
}

/* ---- the view ------------------------------------------------------------ */

static int view_path(const kv_source *s, const char *name, char **out)
{
    return asprintf(out, "%s/%s", s->view, name) < 0 ? kv_oom() : KV_OK;
}

/* Copies the first len bytes of fd into the view as name. */
static int copy_into_view(const kv_source *s, int fd, const char *name, uint64_t len)
{
    char *path = NULL;
    int out, rc = KV_OK;
    loff_t in_off = 0;

    if ((rc = view_path(s, name, &path)))
        return rc;
    out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        rc = kv_seterr_errno(kv_errno_code(errno), errno, "cannot create '%s'", path);
        goto done;
    }
    while (!rc && (uint64_t)in_off < len) {
        ssize_t n = copy_file_range(fd, &in_off, out, NULL, (size_t)(len - (uint64_t)in_off), 0);
        if (n < 0 && errno != EINTR)
            rc = kv_seterr_errno(kv_errno_code(errno), errno, "cannot copy into '%s'", path);
        else if (n == 0)
            rc = kv_seterr(KV_ETRANSIENT, "'%s' became shorter while kvault copied it", name);
    }
    if (close(out) != 0 && !rc)
        rc = kv_seterr_errno(KV_EIO, errno, "cannot write '%s'", path);
done:
    free(path);
    return rc;
}

static int link_into_view(const kv_source *s, const pinned *p)
{
    char *path = NULL, target[64];
    int rc;
    if ((rc = view_path(s, p->name, &path)))
        return rc;
    snprintf(target, sizeof target, "/proc/self/fd/%d", p->fd);
    if (symlink(target, path) != 0)
        rc = kv_seterr_errno(kv_errno_code(errno), errno, "cannot create '%s'", path);
    free(path);
    return rc;
}

/* A WAL up to its last whole record: what the owner had written completely. */
static int copy_wal(const kv_source *s, pinned *p)
{
    uint64_t complete;
    int rc = kv_wal_complete_prefix(p->fd, (uint64_t)p->st.st_size, p->number, p->name, &complete);
    if (rc)
        return rc;
    p->st.st_size = (off_t)complete;
    return copy_into_view(s, p->fd, p->name, complete);
}

static int write_current(const kv_source *s, const char *text)
{
    char *path = NULL;
    int rc = view_path(s, "CURRENT", &path);
    if (!rc)
        rc = kv_write_file_atomic(path, text, strlen(text));
    free(path);
    return rc;
}

/* Step 4. */
static int build_view(kv_source *s, attempt *a)
{
    char name[MAX_CURRENT];
    int rc;

    snprintf(name, sizeof name, "%.*s", (int)strcspn(a->current, "\n"), a->current);
    if ((rc = write_current(s, a->current)) ||
        (rc = copy_into_view(s, a->manifest_fd, name, (uint64_t)a->manifest_st.st_size)))
        return rc;
    for (size_t i = 0; i < a->n && !rc; i++) {
        pinned *p = &a->p[i];
        if (p->kind == K_WAL)
            rc = copy_wal(s, p);
        else if (p->kind == K_OPTIONS)
            rc = copy_into_view(s, p->fd, p->name, (uint64_t)p->st.st_size);
        else
            rc = link_into_view(s, p);
    }
    return rc;
}

static int make_view(kv_source *s, const kv_source_opts *o)
{
    const char *dir = o->scratch_dir ? o->scratch_dir : o->tmp_dir;
    char cause[512];
    int rc = kv_make_owned_dir(dir, VIEW_TAG, &s->view);
    if (rc) {
        snprintf(cause, sizeof cause, "%s", kv_errmsg());
        kv_seterr(rc, "%s (the scratch directory, kvault_backup_opts.scratch_dir)", cause);
    }
    return rc;
}

/* ---- step 5: what the view says ------------------------------------------ */

static int mark_live(const char *name, void *payload)
{
    attempt *a = payload;
    for (size_t i = 0; i < a->n; i++)
        if (a->p[i].kind == K_SST && strcmp(a->p[i].name, name) == 0)
            a->p[i].keep = 1;
    return KV_OK;
}

/* Keeps the live SSTs, every blob file, the OPTIONS file and the WALs the
 * database needs; fails when it needs WALs kvault did not find. */
static int choose_files(const kv_source *s, const kv_rdb *r, attempt *a)
{
    uint64_t min_log;
    int have_wal = 0, rc;

    if ((rc = kv_rdb_live_ssts(r, mark_live, a)) || (rc = kv_rdb_min_log(r, &min_log)))
        return rc;
    for (size_t i = 0; i < a->n; i++) {
        pinned *p = &a->p[i];
        if (p->kind == K_BLOB || p->kind == K_OPTIONS)
            p->keep = 1;
        else if (p->kind == K_WAL && p->number >= min_log)
            p->keep = have_wal = 1;
    }
    if (!have_wal)
        return kv_seterr(KV_ENOTFOUND, "database '%s' needs its write-ahead log (files %06llu.log "
                         "and later), which is not in '%s': if it keeps its WAL in another "
                         "directory, name it (kvault_backup_opts.wal_dir)", s->db_path, (unsigned long long)min_log,
                         s->wal_dir ? s->wal_dir : s->db_path);
    return KV_OK;
}

static int copy_cf_names(kv_source *s, const kv_rdb *r)
{
    if (!(s->cfs = calloc(r->ncf, sizeof *s->cfs)))
        return kv_oom();
    for (size_t i = 0; i < r->ncf; i++) {
        if (!(s->cfs[i] = strdup(r->cf_names[i])))
            return kv_oom();
        s->ncf++;
    }
    return KV_OK;
}

static int open_view(kv_source *s, attempt *a, const kv_source_opts *o)
{
    kv_rdb r;
    int rc = kv_rdb_open(s->view, s->view, o->app, o->tmp_dir, &r);
    if (!rc && !(rc = choose_files(s, &r, a)) && !(rc = copy_cf_names(s, &r)))
        s->sequence = kv_rdb_sequence(&r);
    kv_rdb_close(&r);
    return rc;
}

/* ---- the files of the backup ---------------------------------------------- */

static int add_file(kv_source *s, const char *name, int fd, const struct stat *st, int immutable)
{
    kv_src_file *f = &s->files[s->nfiles];
    memset(f, 0, sizeof *f);
    f->fd = fd;
    if (!(f->name = strdup(name)) || view_path(s, name, &f->path))
        return kv_oom();
    s->nfiles++;
    f->immutable = immutable;
    if (st) {
        f->st = *st;
        return KV_OK;
    }
    if (stat(f->path, &f->st) != 0)
        return kv_seterr_errno(KV_EIO, errno, "cannot stat '%s'", f->path);
    return KV_OK;
}

static int cmp_file_name(const void *a, const void *b)
{
    return strcmp(((const kv_src_file *)a)->name, ((const kv_src_file *)b)->name);
}

/* Moves the kept files' descriptors from the attempt into s->files. */
static int take_files(kv_source *s, attempt *a)
{
    int rc;
    if (!(s->files = calloc(a->n + 3, sizeof *s->files)))
        return kv_oom();
    if ((rc = add_file(s, "CURRENT", -1, NULL, 0)) || (rc = add_file(s, s->manifest_name, -1, NULL, 0)))
        return rc;
    for (size_t i = 0; i < a->n && !rc; i++) {
        pinned *p = &a->p[i];
        if (!p->keep)
            continue;
        rc = add_file(s, p->name, p->kind == K_SST || p->kind == K_BLOB ? p->fd : -1,
                      p->kind == K_SST || p->kind == K_BLOB ? &p->st : NULL,
                      p->kind == K_SST || p->kind == K_BLOB);
        if (s->files[s->nfiles - 1].fd >= 0)
            p->fd = -1;
    }
    qsort(s->files, s->nfiles, sizeof *s->files, cmp_file_name);
    return rc;
}

/* ---- the whole ------------------------------------------------------------ */

static void pause_before_retry(int n)
{
    struct timespec t = {0, (long)(n < 20 ? n : 20) * 50 * 1000 * 1000L};
    nanosleep(&t, NULL);
}

/* One pass of steps 1-5: KV_ETRANSIENT when the database changed under it. */
static int try_once(kv_source *s, const kv_source_opts *o, attempt *a)
{
    int rc;
    if (o->live && (rc = kv_rdb_pause_deletions(o->live, s->db_path)))
        return rc;
    rc = pin_all(s, a);
    if (!rc && !o->live)
        rc = still_same(s, a);
    if (o->live)
        kv_rdb_resume_deletions(o->live);
    if (rc || (rc = make_view(s, o)) || (rc = build_view(s, a)))
        return rc;
    rc = open_view(s, a, o);
    if (rc == KV_ENOTFOUND && !o->live && still_same(s, a) == KV_ETRANSIENT)
        rc = KV_ETRANSIENT; /* a file went away: the database changed again */
    return rc;
}

static void reset_attempt(kv_source *s)
{
    if (s->view)
        kv_rm_rf_quiet(s->view);
    free(s->view);
    s->view = NULL;
    for (size_t i = 0; i < s->ncf; i++)
        free(s->cfs[i]);
    free(s->cfs);
    s->cfs = NULL;
    s->ncf = 0;
}

static int resolve_dirs(kv_source *s, const char *db_path, const char *wal_dir)
{
    struct stat st;
    int rc;
    if (!(s->db_path = realpath(db_path, NULL)))
        return kv_seterr_errno(kv_errno_code(errno), errno, "cannot use database path '%s'", db_path);
    if (stat(s->db_path, &st) != 0 || !S_ISDIR(st.st_mode))
        return kv_seterr(KV_EINVAL, "'%s' is not a RocksDB database: it is not a directory", db_path);
    if ((rc = kv_db_conf_read(s->db_path, &s->conf)))
        return rc;
    if (!wal_dir)
        wal_dir = s->conf.wal_dir;
    if (wal_dir && !(s->wal_dir = realpath(wal_dir, NULL)))
        return kv_seterr_errno(kv_errno_code(errno), errno, "cannot use the WAL directory '%s' %s "
                               "database '%s' (name where its WAL files are: "
                               "kvault_backup_opts.wal_dir)", wal_dir,
                               wal_dir == s->conf.wal_dir ? "that the files of" : "given for",
                               db_path);
    if (s->wal_dir && strcmp(s->wal_dir, s->db_path) == 0) {
        free(s->wal_dir);
        s->wal_dir = NULL;
    }
    return KV_OK;
}

static int read_identity(kv_source *s)
{
    char *path = NULL;
    size_t len;
    int rc;
    if (asprintf(&path, "%s/IDENTITY", s->db_path) < 0)
        return kv_oom();
    rc = kv_read_file(path, &s->identity, &len);
    free(path);
    if (rc == KV_ENOTFOUND) /* RocksDB makes one at open; a copy may lack it */
        return KV_OK;
    while (!rc && len && (s->identity[len - 1] == '\n' || s->identity[len - 1] == ' '))
        s->identity[--len] = '\0';
    return rc;
}

int kv_source_open(const char *db_path, const kv_source_opts *o, kv_source *out)
{
    attempt a = {.manifest_fd = -1};
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = resolve_dirs(out, db_path, o->wal_dir)) || (rc = read_identity(out)))
        return rc;
    for (out->attempts = 0;; out->attempts++) {
        rc = try_once(out, o, &a);
        if (rc != KV_ETRANSIENT || out->attempts + 1 >= MAX_ATTEMPTS)
            break;
        kv_debug("database '%s' changed while kvault took hold of its files; again", out->db_path);
        unpin(&a);
        reset_attempt(out);
        pause_before_retry(out->attempts + 1);
    }
    if (rc == KV_ETRANSIENT)
        rc = kv_seterr(KV_ETRANSIENT, "database '%s' changed every time kvault took hold of its "
                       "files (%d tries)", out->db_path, MAX_ATTEMPTS);
    if (!rc) {
        out->manifest_size = (uint64_t)a.manifest_st.st_size;
        out->manifest_name = strndup(a.current, strcspn(a.current, "\n"));
        rc = out->manifest_name ? take_files(out, &a) : kv_oom();
    }
    unpin(&a);
    return rc;
}

void kv_source_close(kv_source *s)
{
    for (size_t i = 0; i < s->nfiles; i++) {
        if (s->files[i].fd >= 0)
            close(s->files[i].fd);
        free(s->files[i].name);
        free(s->files[i].path);
    }
    free(s->files);
    reset_attempt(s);
    kv_db_conf_free(&s->conf);
    free(s->db_path);
    free(s->wal_dir);
    free(s->identity);
    free(s->manifest_name);
    memset(s, 0, sizeof *s);
}
