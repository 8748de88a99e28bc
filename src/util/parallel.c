#include "util/parallel.h"

#include <pthread.h>
#include <stdio.h>

#include "util/err.h"

#define MAX_WORKERS 32

typedef struct run {
    size_t n, next;
    int (*fn)(size_t i, void *arg);
    void *arg;
    pthread_mutex_t lock;
    int err;
    char errmsg[1024];
} run;

static void *worker(void *p)
{
    run *r = p;
    for (;;) {
        size_t i;
        int rc;
        pthread_mutex_lock(&r->lock);
        i = r->next++;
        if (r->err)
            i = r->n;
        pthread_mutex_unlock(&r->lock);
        if (i >= r->n)
            return NULL;
        if ((rc = r->fn(i, r->arg)) == KV_OK)
            continue;
        pthread_mutex_lock(&r->lock);
        if (!r->err) {
            r->err = rc;
            snprintf(r->errmsg, sizeof r->errmsg, "%s", kv_errmsg());
        }
        pthread_mutex_unlock(&r->lock);
    }
}

int kv_parallel_for(size_t n, int workers, int (*fn)(size_t i, void *arg), void *arg)
{
    run r = {.n = n, .fn = fn, .arg = arg};
    pthread_t th[MAX_WORKERS];
    int started = 0;
    if (workers < 1)
        workers = 1;
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    if ((size_t)workers > n)
        workers = (int)n;
    pthread_mutex_init(&r.lock, NULL);
    while (started < workers - 1 && pthread_create(&th[started], NULL, worker, &r) == 0)
        started++;
    worker(&r); /* the caller works too */
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&r.lock);
    return r.err ? kv_errset_msg(r.err, r.errmsg) : KV_OK;
}
