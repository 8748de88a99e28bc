#include "util/rate.h"

#include <pthread.h>
#include <time.h>

static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rate_bps;
static double next_free; /* monotonic time at which the bucket is empty */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void kv_rate_set(uint64_t bytes_per_second)
{
    pthread_mutex_lock(&rate_lock);
    rate_bps = bytes_per_second;
    next_free = 0;
    pthread_mutex_unlock(&rate_lock);
}

uint64_t kv_rate_get(void)
{
    uint64_t bps;
    pthread_mutex_lock(&rate_lock);
    bps = rate_bps;
    pthread_mutex_unlock(&rate_lock);
    return bps;
}

void kv_rate_consume(size_t n)
{
    double now, wait_until;
    pthread_mutex_lock(&rate_lock);
    if (!rate_bps) {
        pthread_mutex_unlock(&rate_lock);
        return;
    }
    now = now_seconds();
    /* allow a burst of at most 100 ms worth of bytes */
    if (next_free < now - 0.1)
        next_free = now - 0.1;
    next_free += (double)n / (double)rate_bps;
    wait_until = next_free;
    pthread_mutex_unlock(&rate_lock);
    if (wait_until > now) {
        double d = wait_until - now;
        struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
}
