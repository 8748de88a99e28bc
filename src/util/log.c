#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int log_level = KV_LOG_ERROR;
static pthread_rwlock_t sink_lock = PTHREAD_RWLOCK_INITIALIZER;
static kv_log_sink sink;
static void *sink_payload;

void kv_log_set_level(int level)
{
    atomic_store(&log_level, level);
}

void kv_log_set_sink(kv_log_sink cb, void *payload)
{
    pthread_rwlock_wrlock(&sink_lock);
    sink = cb;
    sink_payload = payload;
    pthread_rwlock_unlock(&sink_lock);
}

int kv_log_enabled(int level)
{
    return level <= atomic_load(&log_level);
}

void kv_log(int level, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    if (!kv_log_enabled(level))
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_rwlock_rdlock(&sink_lock);
    if (sink)
        sink(level, line, sink_payload);
    else /* one fprintf per line so lines from worker threads do not interleave */
        fprintf(stderr, "kvault: %s\n", line);
    pthread_rwlock_unlock(&sink_lock);
}
