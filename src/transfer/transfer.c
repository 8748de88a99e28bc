/* The transfer engine. A call plans every item into units (an item's parts,
 * or the whole item when it fits one part), and workers take units in order
 * from one shared cursor. The first unit of an item prepares it (starts a
 * multipart upload, or opens the local file); the worker that finishes its
 * last unit completes it. Part buffers are drawn from one byte budget for
 * the whole process. */
#include "transfer/transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/crc32c.h"
#include "util/err.h"
#include "util/fs.h"

#define MIB (1024ull * 1024ull)
#define DEFAULT_WORKERS 8
#define MAX_WORKERS 256
#define BUDGET_CAP (1024 * MIB)
#define PROGRESS_INTERVAL 0.2 /* seconds: at most ~5 reports a second */
#define CHECKSUM_CHUNK MIB
#define ERRMSG_MAX 1536

/* ---- the process-wide memory budget -------------------------------------- */

/* A counting semaphore of bytes. Its capacity is the budget of the latest
 * transfer call (callers pass the process's one setting). A request larger
 * than the whole budget is granted when nothing else is held, so every
 * request is eventually served. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    uint64_t capacity, in_use, peak;
} budget = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

static void budget_set(uint64_t capacity)
{
    pthread_mutex_lock(&budget.lock);
    budget.capacity = capacity;
    pthread_cond_broadcast(&budget.freed);
    pthread_mutex_unlock(&budget.lock);
}

static void budget_acquire(uint64_t n)
{
    pthread_mutex_lock(&budget.lock);
    while (budget.in_use && budget.in_use + n > budget.capacity)
        pthread_cond_wait(&budget.freed, &budget.lock);
    budget.in_use += n;
    if (budget.in_use > budget.peak)
        budget.peak = budget.in_use;
    pthread_mutex_unlock(&budget.lock);
}

static void budget_release(uint64_t n)
{
    pthread_mutex_lock(&budget.lock);
    budget.in_use -= n;
    pthread_cond_broadcast(&budget.freed);
    pthread_mutex_unlock(&budget.lock);
}

uint64_t kv_xfer_budget_peak(void)
{
    uint64_t peak;
    pthread_mutex_lock(&budget.lock);
    peak = budget.peak;
    pthread_mutex_unlock(&budget.lock);
    return peak;
}

void kv_xfer_budget_reset_peak(void)
{
    pthread_mutex_lock(&budget.lock);
    budget.peak = budget.in_use;
    pthread_mutex_unlock(&budget.lock);
}

static _Atomic uint64_t process_budget; /* kv_xfer_set_memory_budget */

void kv_xfer_set_memory_budget(uint64_t bytes)
{
    atomic_store(&process_budget, bytes);
}

static uint64_t budget_for(int workers, uint64_t part_size)
{
    uint64_t b = atomic_load(&process_budget);
    if (b)
        return b;
    b = (uint64_t)(workers + 2) * part_size;
    return b < BUDGET_CAP ? b : (part_size > BUDGET_CAP ? part_size : BUDGET_CAP);
}

/* ---- progress ------------------------------------------------------------- */

typedef struct progress {
    kv_xfer_progress_cb cb;
    void *payload;
    uint64_t total;
    atomic_uint_fast64_t done;
    pthread_mutex_t lock;
    double last;
    atomic_int canceled;      /* the callback asked to stop */
} progress;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_init(progress *pr, const kv_xfer_opts *opts, uint64_t total)
{
    pr->cb = opts ? opts->progress : NULL;
    pr->payload = opts ? opts->progress_payload : NULL;
    pr->total = total;
    atomic_init(&pr->done, 0);
    atomic_init(&pr->canceled, 0);
    pthread_mutex_init(&pr->lock, NULL);
    pr->last = 0; /* the first bytes are reported at once (and may cancel) */
}

/* Counts n more bytes; KV_ECANCELED once the callback asked to stop. */
static int progress_add(progress *pr, uint64_t n)
{
    double now;
    atomic_fetch_add(&pr->done, n);
    if (!pr->cb)
        return KV_OK;
    now = now_seconds();
    pthread_mutex_lock(&pr->lock);
    if (now - pr->last >= PROGRESS_INTERVAL && !atomic_load(&pr->canceled)) {
        pr->last = now;
        if (pr->cb(atomic_load(&pr->done), pr->total, pr->payload) != 0)
            atomic_store(&pr->canceled, 1);
    }
    pthread_mutex_unlock(&pr->lock);
    return atomic_load(&pr->canceled)
               ? kv_seterr(KV_ECANCELED, "canceled (the progress callback asked to stop)")
               : KV_OK;
}

static void progress_end(progress *pr, int rc)
{
    if (pr->cb && rc == KV_OK)
        pr->cb(atomic_load(&pr->done), pr->total, pr->payload);
    pthread_mutex_destroy(&pr->lock);
}

/* ---- the engine ------------------------------------------------------------ */

enum { PH_IDLE, PH_BEGINNING, PH_READY, PH_FAILED };

typedef struct item_state {
    kv_xfer_item *item;
    uint64_t part_size;
    uint32_t parts, parts_done;
    int phase;
    int failed;
    uint32_t *crcs;           /* per part, joined in order when complete */
    kv_upload *up;            /* upload of several parts, until complete */
    int fd;                   /* download target, while open */
} item_state;

typedef struct xfer xfer;

/* What a direction does with an item; begin and finish run once per item. */
typedef struct direction {
    int (*begin)(xfer *x, item_state *s);
    int (*part)(xfer *x, item_state *s, uint32_t p, void *buf, size_t len);
    int (*finish)(xfer *x, item_state *s);
    void (*cleanup)(xfer *x, item_state *s); /* after all workers are done */
    void (*context)(const item_state *s, char *out, size_t n);
    int probe_end; /* the last unit reads one byte more to see the object ends */
} direction;

struct xfer {
    kv_store *st;
    const direction *dir;
    item_state *items;
    size_t n;
    pthread_mutex_t lock;
    pthread_cond_t began;
    size_t next_item;
    uint32_t next_part;
    int stop;
    int err;
    char errmsg[ERRMSG_MAX];
    progress pr;
    void (*item_done)(const kv_xfer_item *item, void *payload);
    void *item_payload;
};

static uint64_t part_off(const item_state *s, uint32_t p)
{
    return (uint64_t)p * s->part_size;
}

static size_t part_len(const item_state *s, uint32_t p)
{
    uint64_t left = s->item->size - part_off(s, p);
    return (size_t)(left < s->part_size ? left : s->part_size);
}

/* Prefixes this thread's message with the item it concerns. */
static int with_context(const direction *dir, const item_state *s, int rc)
{
    char msg[ERRMSG_MAX];
    size_t used;
    dir->context(s, msg, sizeof msg);
    used = strlen(msg);
    snprintf(msg + used, sizeof msg - used, ": %s", kv_errmsg());
    return kv_errset_msg(rc, msg);
}

/* Records a failure; the first one's message, with the item named, is what
 * the caller sees. Nothing new is handed out after it. */
static void fail(xfer *x, item_state *s, int rc)
{
    pthread_mutex_lock(&x->lock);
    if (!s->failed) {
        s->failed = 1;
        s->item->status = rc;
    }
    if (!x->err) {
        x->err = with_context(x->dir, s, rc);
        snprintf(x->errmsg, sizeof x->errmsg, "%s", kv_errmsg());
    }
    x->stop = 1;
    pthread_mutex_unlock(&x->lock);
}

static int take_unit(xfer *x, item_state **s, uint32_t *p)
{
    int ok;
    pthread_mutex_lock(&x->lock);
    ok = !x->stop && x->next_item < x->n;
    if (ok) {
        *s = &x->items[x->next_item];
        *p = x->next_part++;
        if (*p == 0)
            (*s)->phase = PH_BEGINNING;
        if (x->next_part == (*s)->parts) {
            x->next_item++;
            x->next_part = 0;
        }
    }
    pthread_mutex_unlock(&x->lock);
    return ok;
}

static int begin_item(xfer *x, item_state *s)
{
    int rc;
    s->item->started = 1;
    rc = x->dir->begin(x, s);
    pthread_mutex_lock(&x->lock);
    s->phase = rc ? PH_FAILED : PH_READY;
    pthread_cond_broadcast(&x->began);
    pthread_mutex_unlock(&x->lock);
    return rc;
}

/* 1 when the item could not begin (the worker that began it records why). */
static int wait_begun(xfer *x, item_state *s)
{
    int failed;
    pthread_mutex_lock(&x->lock);
    while (s->phase == PH_BEGINNING)
        pthread_cond_wait(&x->began, &x->lock);
    failed = s->phase == PH_FAILED;
    pthread_mutex_unlock(&x->lock);
    return failed;
}

static int run_part(xfer *x, item_state *s, uint32_t p)
{
    size_t len = part_len(s, p);
    size_t buf_len = len + (x->dir->probe_end && p == s->parts - 1);
    void *buf;
    int rc;
    budget_acquire(buf_len);
    buf = malloc(buf_len ? buf_len : 1);
    rc = buf ? x->dir->part(x, s, p, buf, len)
             : kv_seterr(KV_ENOMEM, "out of memory for a buffer of %zu bytes", buf_len);
    free(buf);
    budget_release(buf_len);
    return rc;
}

static int run_unit(xfer *x, item_state *s, uint32_t p)
{
    int rc, last;
    if (p == 0) {
        rc = begin_item(x, s);
        if (rc)
            return rc;
    } else if (wait_begun(x, s)) {
        return KV_OK;
    }
    rc = run_part(x, s, p);
    if (rc)
        return rc;
    pthread_mutex_lock(&x->lock);
    last = ++s->parts_done == s->parts;
    pthread_mutex_unlock(&x->lock);
    if (!last)
        return KV_OK;
    rc = x->dir->finish(x, s);
    if (!rc) {
        s->item->status = KV_OK;
        if (x->item_done)
            x->item_done(s->item, x->item_payload);
    }
    return rc;
}

static void *worker(void *arg)
{
    xfer *x = arg;
    item_state *s;
    uint32_t p;
    while (take_unit(x, &s, &p)) {
        int rc = run_unit(x, s, p);
        if (rc)
            fail(x, s, rc);
    }
    return NULL;
}

static uint32_t joined_crc(const item_state *s)
{
    uint32_t crc = s->crcs[0];
    for (uint32_t p = 1; p < s->parts; p++)
        crc = kv_crc32c_combine(crc, s->crcs[p], part_len(s, p));
    return crc;
}

static int worker_count(const kv_xfer_opts *opts, uint64_t units)
{
    int w = opts && opts->workers > 0 ? opts->workers : DEFAULT_WORKERS;
    if (w > MAX_WORKERS)
        w = MAX_WORKERS;
    return (uint64_t)w > units ? (int)units : w;
}

/* Starts the workers and waits for them; the calling thread gets the first
 * failure's message. */
static int run_workers(xfer *x, int workers)
{
    pthread_t *threads = calloc((size_t)workers, sizeof *threads);
    int started = 0;
    if (!threads)
        return kv_seterr(KV_ENOMEM, "out of memory starting %d workers", workers);
    for (; started < workers; started++)
        if (pthread_create(&threads[started], NULL, worker, x) != 0)
            break;
    if (!started) {
        free(threads);
        return kv_seterr(KV_ERR, "cannot start transfer threads");
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    for (size_t i = 0; i < x->n; i++)
        x->dir->cleanup(x, &x->items[i]);
    return x->err ? kv_errset_msg(x->err, x->errmsg) : KV_OK;
}

/* Plans each item (plan says how) and runs the transfer. */
static int transfer(kv_store *st, const direction *dir, kv_xfer_item *items, size_t n,
                    const kv_xfer_opts *opts,
                    int (*plan)(kv_store *st, const kv_xfer_opts *opts, item_state *s))
{
    xfer x = {.st = st, .dir = dir, .n = n, .item_done = opts ? opts->item_done : NULL,
              .item_payload = opts ? opts->item_payload : NULL};
    uint64_t units = 0, total = 0, max_part = 0;
    int rc = KV_OK, workers;

    x.items = calloc(n ? n : 1, sizeof *x.items);
    if (!x.items)
        return kv_seterr(KV_ENOMEM, "out of memory planning %zu transfers", n);
    for (size_t i = 0; i < n; i++)
        items[i].status = KV_ECANCELED;
    for (size_t i = 0; i < n; i++) {
        item_state *s = &x.items[i];
        s->item = &items[i];
        s->fd = -1;
        rc = plan(st, opts, s);
        if (!rc && !(s->crcs = calloc(s->parts, sizeof *s->crcs)))
            rc = kv_seterr(KV_ENOMEM, "out of memory");
        if (rc) {
            items[i].status = rc;
            rc = with_context(dir, s, rc);
            goto out;
        }
        units += s->parts;
        total += items[i].size;
        if (s->part_size > max_part)
            max_part = s->part_size;
    }
    if (!n)
        goto out;
    workers = worker_count(opts, units);
    budget_set(budget_for(workers, max_part));
    pthread_mutex_init(&x.lock, NULL);
    pthread_cond_init(&x.began, NULL);
    progress_init(&x.pr, opts, total);
    rc = run_workers(&x, workers);
    progress_end(&x.pr, rc);
    pthread_cond_destroy(&x.began);
    pthread_mutex_destroy(&x.lock);
out:
    for (size_t i = 0; i < n; i++)
        free(x.items[i].crcs);
    free(x.items);
    return rc;
}

/* ---- upload ---------------------------------------------------------------- */

static void upload_context(const item_state *s, char *out, size_t n)
{
    snprintf(out, n, "upload '%s' -> '%s'", s->item->local_path, s->item->key);
}

static int upload_plan(kv_store *st, const kv_xfer_opts *opts, item_state *s)
{
    if (!(kv_store_caps(st) & KV_CAP_MULTIPART)) {
        s->part_size = s->item->size;
        s->parts = 1;
        return KV_OK;
    }
    return kv_store_plan_parts(st, s->item->size, opts ? opts->part_size : 0, &s->part_size,
                         &s->parts);
}

static int upload_begin(xfer *x, item_state *s)
{
    if (s->parts == 1)
        return KV_OK;
    return kv_store_upload_begin(x->st, s->item->key, s->item->size, s->part_size, &s->up);
}

/* Reads exactly len bytes at off: the file was stat'd at item->size, so
 * fewer means it shrank since. */
static int read_exact(const kv_xfer_item *it, uint64_t off, void *buf, size_t len)
{
    size_t done = 0;
    int fd, rc = KV_OK;
    if (it->read)
        return it->read(it->read_ctx, off, buf, len);
    fd = open(it->local_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kv_seterr_errno(kv_errno_code(errno), errno, "cannot open '%s'", it->local_path);
    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = kv_seterr_errno(KV_EIO, errno, "cannot read '%s'", it->local_path);
            break;
        }
        if (r == 0) {
            rc = kv_seterr(KV_ECORRUPT, "file '%s' ends at %llu bytes, expected %llu (changed "
                                        "while being uploaded?)",
                           it->local_path, (unsigned long long)(off + done),
                           (unsigned long long)it->size);
            break;
        }
        done += (size_t)r;
    }
    close(fd);
    return rc;
}

/* One digest of buf with OpenSSL; out holds exactly the digest's size. */
static int evp_digest(const EVP_MD *md, const char *name, const void *buf, size_t len,
                      unsigned char *out, unsigned int size)
{
    unsigned int md_len = 0;
    if (!EVP_Digest(buf, len, out, &md_len, md, NULL) || md_len != size)
        return kv_seterr(KV_ERR, "cannot compute %s (OpenSSL)", name);
    return KV_OK;
}

/* The digests the backend's caps ask for, beside the CRC32C. */
static int fill_digest(unsigned caps, const void *buf, size_t len, uint32_t crc, kv_digest *d)
{
    int rc = KV_OK;
    *d = (kv_digest){.crc32c = crc};
    if (caps & KV_CAP_DIGEST_MD5) {
        d->has_md5 = 1;
        rc = evp_digest(EVP_md5(), "MD5", buf, len, d->md5, sizeof d->md5);
    }
    if (rc == KV_OK && (caps & KV_CAP_DIGEST_SHA256)) {
        d->has_sha256 = 1;
        rc = evp_digest(EVP_sha256(), "SHA-256", buf, len, d->sha256, sizeof d->sha256);
    }
    return rc;
}

static int upload_part(xfer *x, item_state *s, uint32_t p, void *buf, size_t len)
{
    kv_xfer_item *it = s->item;
    uint64_t off = part_off(s, p);
    kv_digest digest, *d = NULL;
    int rc = read_exact(it, off, buf, len);
    if (rc)
        return rc;
    s->crcs[p] = kv_crc32c(0, buf, len);
    if (kv_store_caps(x->st) & (KV_CAP_DIGEST_MD5 | KV_CAP_DIGEST_SHA256)) {
        rc = fill_digest(kv_store_caps(x->st), buf, len, s->crcs[p], &digest);
        if (rc)
            return rc;
        d = &digest;
    }
    if (s->parts == 1)
        rc = kv_store_put(x->st, it->key, buf, len, d);
    else
        rc = kv_store_upload_part(x->st, s->up, p + 1, off, buf, len, d);
    return rc ? rc : progress_add(&x->pr, len);
}

static int upload_finish(xfer *x, item_state *s)
{
    int rc = KV_OK;
    s->item->crc32c = joined_crc(s);
    if (s->up) {
        rc = kv_store_upload_complete(x->st, s->up);
        if (!rc)
            s->up = NULL;
    }
    return rc;
}

static void upload_cleanup(xfer *x, item_state *s)
{
    if (s->up)
        kv_store_upload_abort(x->st, s->up);
    s->up = NULL;
}

static const direction upload_dir = {
    .begin = upload_begin,
    .part = upload_part,
    .finish = upload_finish,
    .cleanup = upload_cleanup,
    .context = upload_context,
};

int kv_xfer_upload(kv_store *st, kv_xfer_item *items, size_t n, const kv_xfer_opts *opts)
{
    return transfer(st, &upload_dir, items, n, opts, upload_plan);
}

/* ---- download -------------------------------------------------------------- */

static void download_context(const item_state *s, char *out, size_t n)
{
    if (s->item->local_path)
        snprintf(out, n, "download '%s' -> '%s'", s->item->key, s->item->local_path);
    else
        snprintf(out, n, "check '%s'", s->item->key);
}

static int download_plan(kv_store *st, const kv_xfer_opts *opts, item_state *s)
{
    kv_xfer_item *it = s->item;
    if (!(kv_store_caps(st) & KV_CAP_RANGE_GET)) {
        s->part_size = it->size;
        s->parts = 1;
        return KV_OK;
    }
    return kv_store_plan_parts(st, it->size, opts ? opts->part_size : 0, &s->part_size,
                         &s->parts);
}

static int download_begin(xfer *x, item_state *s)
{
    const char *path = s->item->local_path;
    (void)x;
    if (!path)
        return KV_OK;
    s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (s->fd < 0)
        return kv_seterr_errno(kv_errno_code(errno), errno, "cannot create '%s'", path);
    if (ftruncate(s->fd, (off_t)s->item->size) != 0)
        return kv_seterr_errno(KV_EIO, errno, "cannot size '%s'", path);
    return KV_OK;
}

/* Reads one range; the last asks for a byte more than the object should
 * have, so an object longer than expected is caught without another request. */
static int download_part(xfer *x, item_state *s, uint32_t p, void *buf, size_t len)
{
    kv_xfer_item *it = s->item;
    uint64_t off = part_off(s, p);
    /* a member's object goes on after it: no extra byte to ask for */
    size_t want = len + (p == s->parts - 1 && !it->member), got = 0;
    int rc = kv_store_get(x->st, it->key, it->object_offset + off, want, buf, &got);
    if (rc)
        return rc;
    if (got != len && it->member)
        return kv_seterr(KV_ECORRUPT, "object '%s' ends before the %llu bytes of '%s' at %llu",
                         it->key, (unsigned long long)it->size,
                         it->member_name ? it->member_name : "a member",
                         (unsigned long long)it->object_offset);
    if (got != len)
        return kv_seterr(KV_ECORRUPT, "object '%s' is %s than the expected %llu bytes", it->key,
                         got < len ? "shorter" : "longer", (unsigned long long)it->size);
    s->crcs[p] = kv_crc32c(0, buf, len);
    if (s->fd >= 0) {
        rc = kv_pwrite_full(s->fd, buf, len, off, it->local_path);
        if (rc)
            return rc;
    }
    return progress_add(&x->pr, len);
}

static int download_finish(xfer *x, item_state *s)
{
    kv_xfer_item *it = s->item;
    char want[9], got[9];
    int fd = s->fd;
    (void)x;
    it->crc32c = joined_crc(s);
    if (fd >= 0) {
        s->fd = -1;
        if (fsync(fd) != 0) {
            int e = errno;
            close(fd);
            return kv_seterr_errno(KV_EIO, e, "cannot sync '%s'", it->local_path);
        }
        if (close(fd) != 0)
            return kv_seterr_errno(KV_EIO, errno, "cannot close '%s'", it->local_path);
    }
    if (!it->check_crc || it->crc32c == it->expect_crc32c)
        return KV_OK;
    kv_crc32c_hex(it->expect_crc32c, want);
    kv_crc32c_hex(it->crc32c, got);
    if (it->member)
        return kv_seterr(KV_ECORRUPT, "'%s' in object '%s' (bytes %llu..%llu): CRC32C mismatch "
                         "(manifest %s, read %s)", it->member_name ? it->member_name : "member",
                         it->key, (unsigned long long)it->object_offset,
                         (unsigned long long)(it->object_offset + it->size), want, got);
    return kv_seterr(KV_ECORRUPT, "object '%s': CRC32C mismatch (manifest %s, read %s)", it->key,
                     want, got);
}

static void download_cleanup(xfer *x, item_state *s)
{
    (void)x;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

static const direction download_dir = {
    .begin = download_begin,
    .part = download_part,
    .finish = download_finish,
    .cleanup = download_cleanup,
    .context = download_context,
    .probe_end = 1,
};

int kv_xfer_download(kv_store *st, kv_xfer_item *items, size_t n, const kv_xfer_opts *opts)
{
    return transfer(st, &download_dir, items, n, opts, download_plan);
}

/* ---- cat ----------------------------------------------------------------------- */

/* Workers read ranges into slots; the calling thread writes them in order.
 * A worker takes a buffer from the budget before it takes a range, so the
 * next range to write always has one and held-back ranges cannot starve it. */
typedef struct slot {
    char *buf;
    size_t len;
    int ready;
} slot;

typedef struct cat_job {
    kv_store *st;
    const char *key;
    uint64_t size, part_size;
    uint64_t slot_bytes; /* budget per range: a part and the probe byte */
    uint32_t parts, next;
    slot *slots;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int stop, err;
    char errmsg[ERRMSG_MAX];
} cat_job;

static void cat_fail(cat_job *c, int rc)
{
    pthread_mutex_lock(&c->lock);
    if (!c->err) {
        c->err = rc;
        snprintf(c->errmsg, sizeof c->errmsg, "%s", kv_errmsg());
    }
    c->stop = 1;
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

/* Like download_part, the last range probes one byte past the end. */
static int cat_read(cat_job *c, uint32_t p, char *buf, size_t len)
{
    size_t got = 0, want = len + (p == c->parts - 1);
    int rc = kv_store_get(c->st, c->key, (uint64_t)p * c->part_size, want, buf, &got);
    if (!rc && got != len)
        rc = kv_seterr(KV_ECORRUPT, "object '%s' changed while read: %s than its %llu bytes",
                       c->key, got < len ? "shorter" : "longer", (unsigned long long)c->size);
    return rc;
}

static void *cat_worker(void *arg)
{
    cat_job *c = arg;
    for (;;) {
        uint64_t off;
        size_t len;
        uint32_t p;
        char *buf;
        int rc;
        budget_acquire(c->slot_bytes);
        pthread_mutex_lock(&c->lock);
        if (c->stop || c->next == c->parts) {
            pthread_mutex_unlock(&c->lock);
            budget_release(c->slot_bytes);
            return NULL;
        }
        p = c->next++;
        pthread_mutex_unlock(&c->lock);
        off = (uint64_t)p * c->part_size;
        len = (size_t)(c->size - off < c->part_size ? c->size - off : c->part_size);
        buf = malloc(len + 1);
        rc = buf ? cat_read(c, p, buf, len)
                 : kv_seterr(KV_ENOMEM, "out of memory for a buffer of %zu bytes", len);
        if (rc)
            cat_fail(c, rc);
        pthread_mutex_lock(&c->lock);
        if (c->stop) {
            free(buf);
            budget_release(c->slot_bytes);
        } else {
            c->slots[p] = (slot){buf, len, 1};
            pthread_cond_broadcast(&c->changed);
        }
        pthread_mutex_unlock(&c->lock);
    }
}

/* Writes the ranges to fd in order as they arrive. */
static int cat_write(cat_job *c, int fd, uint64_t *bytes, uint32_t *crc)
{
    for (uint32_t p = 0; p < c->parts; p++) {
        slot s;
        int rc;
        pthread_mutex_lock(&c->lock);
        while (!c->slots[p].ready && !c->stop)
            pthread_cond_wait(&c->changed, &c->lock);
        s = c->slots[p];
        c->slots[p] = (slot){NULL, 0, 0};
        pthread_mutex_unlock(&c->lock);
        if (!s.ready)
            return KV_ECANCELED;
        rc = kv_write_full(fd, s.buf, s.len, "output");
        if (!rc) {
            *crc = kv_crc32c(*crc, s.buf, s.len);
            *bytes += s.len;
        }
        free(s.buf);
        budget_release(c->slot_bytes);
        if (rc) {
            char msg[1024];
            snprintf(msg, sizeof msg, "cat '%s': %s", c->key, kv_errmsg());
            kv_errset_msg(rc, msg);
            return rc;
        }
    }
    return KV_OK;
}

/* Stops the workers and returns the buffers they left. */
static void cat_drain(cat_job *c, pthread_t *threads, int started)
{
    pthread_mutex_lock(&c->lock);
    c->stop = 1;
    for (uint32_t p = 0; p < c->parts; p++) {
        if (c->slots[p].ready) {
            free(c->slots[p].buf);
            budget_release(c->slot_bytes);
            c->slots[p].ready = 0;
        }
    }
    pthread_mutex_unlock(&c->lock);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
}

static int cat_plan(kv_store *st, const char *key, const kv_xfer_opts *opts, cat_job *c)
{
    kv_object_info info;
    int rc = kv_store_stat(st, key, &info);
    if (rc)
        return rc;
    c->size = info.size;
    if (!(kv_store_caps(st) & KV_CAP_RANGE_GET)) {
        c->part_size = info.size;
        c->parts = 1;
        return KV_OK;
    }
    return kv_store_plan_parts(st, info.size, opts ? opts->part_size : 0, &c->part_size,
                         &c->parts);
}

int kv_xfer_cat(kv_store *st, const char *key, int fd, const kv_xfer_opts *opts,
                uint64_t *bytes, uint32_t *crc32c)
{
    cat_job c = {.st = st, .key = key};
    pthread_t *threads = NULL;
    int started = 0, workers, rc;
    uint64_t n = 0;
    uint32_t crc = 0;

    rc = cat_plan(st, key, opts, &c);
    if (rc)
        return rc;
    workers = worker_count(opts, c.parts);
    c.slots = calloc(c.parts, sizeof *c.slots);
    threads = calloc((size_t)workers, sizeof *threads);
    if (!c.slots || !threads) {
        rc = kv_seterr(KV_ENOMEM, "out of memory reading '%s'", key);
        goto out;
    }
    c.slot_bytes = c.part_size + 1;
    budget_set(budget_for(workers, c.slot_bytes));
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.changed, NULL);
    for (; started < workers; started++)
        if (pthread_create(&threads[started], NULL, cat_worker, &c) != 0)
            break;
    rc = started ? cat_write(&c, fd, &n, &crc) : kv_seterr(KV_ERR, "cannot start transfer threads");
    cat_drain(&c, threads, started);
    if (c.err)
        rc = kv_errset_msg(c.err, c.errmsg);
    pthread_cond_destroy(&c.changed);
    pthread_mutex_destroy(&c.lock);
    if (!rc) {
        *bytes = n;
        *crc32c = crc;
    }
out:
    free(threads);
    free(c.slots);
    return rc;
}

/* ---- checksum ---------------------------------------------------------------- */

int kv_xfer_checksum_file(const char *path, uint64_t size, uint32_t *crc32c)
{
    char *buf = malloc(CHECKSUM_CHUNK);
    uint32_t crc = 0;
    uint64_t off = 0;
    int fd = -1, rc = KV_OK;
    if (!buf)
        return kv_seterr(KV_ENOMEM, "out of memory checksumming '%s'", path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = kv_seterr_errno(kv_errno_code(errno), errno, "cannot open '%s'", path);
        goto out;
    }
    while (off < size) {
        size_t len = (size_t)(size - off < CHECKSUM_CHUNK ? size - off : CHECKSUM_CHUNK);
        rc = kv_pread_full(fd, buf, len, off, path);
        if (rc)
            goto out;
        crc = kv_crc32c(crc, buf, len);
        off += len;
    }
    *crc32c = crc;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}
