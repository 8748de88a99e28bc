#include "backup/lock.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup/catalog.h"
#include "backup/layout.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/log.h"
#include "util/random.h"

#define DEFAULT_STALE_S 1800
#define LEASE_MAX_BYTES 65536
#define FORMAT "kvault-lock"

struct kv_lock {
    kv_store *st;
    kv_lock_opts o;
    char *env, *op, *key;
    int64_t created_ms;
    char host[256];
    pthread_t refresher;
    int running;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int stop;
    int64_t refreshed_ms;     /* last successful refresh */
};

/* A lease of someone else, as listed. */
typedef struct lease {
    char *key;
    int64_t mtime_ms;
    char op[32], host[256];
    long pid;
    int exclusive, parsed;
    int64_t refreshed_ms;
} lease;

typedef struct lease_list {
    lease *l;
    size_t n;
} lease_list;

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t stale_ms(const kv_lock *l)
{
    return (int64_t)(l->o.stale_s > 0 ? l->o.stale_s : DEFAULT_STALE_S) * 1000;
}

/* ---- our lease -------------------------------------------------------------- */

static int write_lease(kv_lock *l, int64_t refreshed)
{
    json_t *doc = json_pack("{s:s, s:i, s:s, s:b, s:s, s:I, s:I, s:I}", "format", FORMAT, "version",
                            1, "op", l->op, "exclusive", l->o.exclusive, "host", l->host, "pid",
                            (json_int_t)getpid(), "created_ms", (json_int_t)l->created_ms,
                            "refreshed_ms", (json_int_t)refreshed);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    kv_digest d = {0};
    int rc;
    json_decref(doc);
    if (!text)
        return kv_oom();
    d.crc32c = kv_crc32c(0, text, strlen(text));
    rc = kv_store_put(l->st, l->key, text, strlen(text), &d);
    free(text);
    return rc;
}

static int new_key(kv_lock *l)
{
    char rnd[7], *prefix = kv_layout_locks_prefix(l->env);
    int rc = prefix ? kv_random_hex(rnd, 6) : kv_oom();
    free(l->key);
    l->key = NULL;
    l->created_ms = now_ms();
    if (!rc && asprintf(&l->key, "%s%s-%lld-%s.json", prefix, l->op, (long long)l->created_ms,
                        rnd) < 0) {
        l->key = NULL;
        rc = kv_oom();
    }
    free(prefix);
    return rc;
}

/* ---- theirs ------------------------------------------------------------------ */

static int collect_lease(const char *key, const kv_object_info *info, void *payload)
{
    lease_list *ll = payload;
    lease *p = realloc(ll->l, (ll->n + 1) * sizeof *p);
    if (!p)
        return kv_oom();
    ll->l = p;
    memset(&p[ll->n], 0, sizeof *p);
    if (!(p[ll->n].key = strdup(key)))
        return kv_oom();
    p[ll->n++].mtime_ms = info->mtime_unix * 1000;
    return 0;
}

static void parse_lease(kv_store *st, lease *le)
{
    char *data = NULL;
    size_t len;
    json_t *doc = NULL;
    const char *op, *host;
    json_int_t pid, refreshed;
    int excl;
    if (kv_read_small(st, le->key, LEASE_MAX_BYTES, &data, &len) != KV_OK ||
        !(doc = json_loadb(data, len, 0, NULL)) ||
        json_unpack(doc, "{s:s, s:b, s:s, s:I, s:I}", "op", &op, "exclusive", &excl, "host", &host,
                    "pid", &pid, "refreshed_ms", &refreshed) != 0) {
        kv_errclear();
    } else {
        snprintf(le->op, sizeof le->op, "%s", op);
        snprintf(le->host, sizeof le->host, "%s", host);
        le->pid = (long)pid;
        le->exclusive = excl;
        le->refreshed_ms = (int64_t)refreshed;
        le->parsed = 1;
    }
    json_decref(doc);
    free(data);
}

static void free_leases(lease_list *ll)
{
    for (size_t i = 0; i < ll->n; i++)
        free(ll->l[i].key);
    free(ll->l);
    memset(ll, 0, sizeof *ll);
}

static int list_leases(kv_lock *l, lease_list *out)
{
    char *prefix = kv_layout_locks_prefix(l->env);
    int rc;
    memset(out, 0, sizeof *out);
    if (!prefix)
        return kv_oom();
    rc = kv_store_list(l->st, prefix, collect_lease, out);
    free(prefix);
    for (size_t i = 0; !rc && i < out->n; i++)
        if (strcmp(out->l[i].key, l->key) != 0)
            parse_lease(l->st, &out->l[i]);
    return rc;
}

/* A lease whose holder is gone: one of this host whose process no longer
 * exists (a backup killed with SIGKILL), or one nobody refreshed in time
 * (its host died or is cut off). One that cannot be read counts from its
 * store time, and as exclusive. */
static int is_stale(const kv_lock *l, const lease *le)
{
    int64_t seen = le->parsed && le->refreshed_ms > le->mtime_ms ? le->refreshed_ms : le->mtime_ms;
    if (le->parsed && strcmp(le->host, l->host) == 0 && le->pid > 0 &&
        kill((pid_t)le->pid, 0) != 0 && errno == ESRCH)
        return 1;
    return now_ms() - seen > stale_ms(l);
}

static void describe(const lease *le, char *out, size_t n)
{
    time_t t = (time_t)((le->parsed ? le->refreshed_ms : le->mtime_ms) / 1000);
    char when[32];
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    if (le->parsed)
        snprintf(out, n, "%s (%s) on host %s, process %ld, alive at %s", le->op,
                 le->exclusive ? "exclusive" : "shared", le->host, le->pid, when);
    else
        snprintf(out, n, "an unreadable lease '%s' written at %s", le->key, when);
}

/* KV_OK when nothing conflicts with l; KV_EEXIST naming a conflict. Stale
 * leases are removed by exclusive takers. */
static int check_conflicts(kv_lock *l)
{
    lease_list ll;
    char who[512];
    int rc = list_leases(l, &ll);
    for (size_t i = 0; !rc && i < ll.n; i++) {
        lease *le = &ll.l[i];
        if (strcmp(le->key, l->key) == 0)
            continue;
        if (is_stale(l, le)) {
            if (l->o.exclusive && kv_store_remove(l->st, le->key) == KV_OK)
                kv_info("removed the stale lease '%s'", le->key);
            continue;
        }
        if (l->o.exclusive || !le->parsed || le->exclusive) {
            describe(le, who, sizeof who);
            rc = kv_seterr(KV_EEXIST, "env '%s' is in use: %s; its %s cannot run at the same time",
                           l->env, who, l->op);
        }
    }
    free_leases(&ll);
    return rc;
}

/* ---- taking it ------------------------------------------------------------------ */

static void pause_ms(int64_t ms)
{
    struct timespec t = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static int take(kv_lock *l)
{
    int64_t deadline = now_ms() + (int64_t)l->o.wait_s * 1000, wait = 500;
    for (;;) {
        int rc = new_key(l);
        if (!rc)
            rc = write_lease(l, l->created_ms);
        if (!rc)
            rc = check_conflicts(l);
        if (rc == KV_OK) {
            l->refreshed_ms = l->created_ms;
            return KV_OK;
        }
        if (l->key && kv_store_remove(l->st, l->key) != KV_OK)
            kv_log(KV_LOG_ERROR, "warning: lease '%s' not removed (it goes stale)", l->key);
        if (rc != KV_EEXIST || now_ms() >= deadline)
            return rc;
        kv_info("waiting for the lease of env '%s': %s", l->env, kv_errmsg());
        /* Jittered: takers that collided must not retry in step, or each
         * sees the other's lease every time and none ever proceeds. */
        pause_ms((int64_t)kv_random_between((uint64_t)wait / 10, (uint64_t)wait));
        wait = wait < 8000 ? wait * 2 : 10000;
    }
}

static void *refresh_loop(void *arg)
{
    kv_lock *l = arg;
    int64_t every = stale_ms(l) / 6;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        struct timespec until;
        int64_t t, at = now_ms() + every;
        until.tv_sec = (time_t)(at / 1000);
        until.tv_nsec = (long)(at % 1000) * 1000000L;
        pthread_cond_timedwait(&l->wake, &l->mu, &until);
        if (l->stop)
            break;
        pthread_mutex_unlock(&l->mu);
        t = now_ms();
        if (write_lease(l, t) == KV_OK) {
            pthread_mutex_lock(&l->mu);
            l->refreshed_ms = t;
        } else {
            kv_log(KV_LOG_ERROR, "warning: cannot refresh the lease of env '%s': %s", l->env,
                   kv_errmsg());
            pthread_mutex_lock(&l->mu);
        }
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

static void start_refresher(kv_lock *l)
{
    l->stop = 0;
    if (pthread_create(&l->refresher, NULL, refresh_loop, l) == 0)
        l->running = 1;
    else
        kv_log(KV_LOG_ERROR, "warning: the lease of env '%s' will not be refreshed", l->env);
}

static void stop_refresher(kv_lock *l)
{
    if (!l->running)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->refresher, NULL);
    l->running = 0;
}

static void free_lock(kv_lock *l)
{
    free(l->env);
    free(l->op);
    free(l->key);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->wake);
    free(l);
}

int kv_lock_acquire(kv_store *st, const kv_lock_opts *o, kv_lock **out)
{
    kv_lock *l = calloc(1, sizeof *l);
    int rc;
    if (!l)
        return kv_oom();
    l->st = st;
    l->o = *o;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->wake, NULL);
    gethostname(l->host, sizeof l->host - 1);
    if (!(l->env = strdup(o->env)) || !(l->op = strdup(o->op))) {
        free_lock(l);
        return kv_oom();
    }
    l->o.env = l->env;
    l->o.op = l->op;
    if ((rc = take(l))) {
        free_lock(l);
        return rc;
    }
    start_refresher(l);
    *out = l;
    return KV_OK;
}

int kv_lock_confirm(kv_lock *l)
{
    kv_object_info info;
    int64_t refreshed;
    int rc;
    pthread_mutex_lock(&l->mu);
    refreshed = l->refreshed_ms;
    pthread_mutex_unlock(&l->mu);
    if (now_ms() - refreshed < stale_ms(l) && kv_store_stat(l->st, l->key, &info) == KV_OK)
        return KV_OK;
    kv_log(KV_LOG_ERROR, "warning: the lease of env '%s' lapsed; taking it again", l->env);
    stop_refresher(l);
    kv_store_remove(l->st, l->key);
    if ((rc = take(l)))
        return rc;
    start_refresher(l);
    return KV_ETRANSIENT;
}

void kv_lock_release(kv_lock *l)
{
    if (!l)
        return;
    stop_refresher(l);
    if (l->key && kv_store_remove(l->st, l->key) != KV_OK)
        kv_log(KV_LOG_ERROR, "warning: lease '%s' not removed (it goes stale): %s", l->key,
               kv_errmsg());
    free_lock(l);
}
