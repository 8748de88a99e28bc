/* Logging, filtered by one process-wide verbosity, to stderr or to the
 * program's sink (kvault_global.log). Never pass a secret to these:
 * messages are for people and may be collected. */
#ifndef KV_UTIL_LOG_H
#define KV_UTIL_LOG_H

enum { KV_LOG_ERROR = 0, KV_LOG_INFO = 1, KV_LOG_DEBUG = 2 };

typedef void (*kv_log_sink)(int level, const char *line, void *payload);

void kv_log_set_level(int level);
/* cb NULL = stderr. */
void kv_log_set_sink(kv_log_sink cb, void *payload);
int kv_log_enabled(int level);
void kv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define kv_debug(...) kv_log(KV_LOG_DEBUG, __VA_ARGS__)
#define kv_info(...) kv_log(KV_LOG_INFO, __VA_ARGS__)

#endif
