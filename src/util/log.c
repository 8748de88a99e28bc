#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int log_level = KV_LOG_ERROR;

void kv_log_set_level(int level)
{
    atomic_store(&log_level, level);
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
    /* one fputs per line so lines from worker threads do not interleave */
    fprintf(stderr, "kvault: %s\n", line);
}
