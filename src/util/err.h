/* Errors: a status code plus a message set where the failure is found, kept
 * per thread, and passed up unchanged. */
#ifndef KV_UTIL_ERR_H
#define KV_UTIL_ERR_H

#include "kvault.h"

/* Sets this thread's message from a printf format and returns code, so that
 * `return kv_seterr(KV_ENOTFOUND, "...")` reads as one step. */
int kv_seterr(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same, with ": strerror(errnum)" appended. */
int kv_seterr_errno(int code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* kv_seterr(KV_ENOMEM, "out of memory"): the message for a failed
 * allocation that has nothing more useful to say. */
int kv_oom(void);

const char *kv_errmsg(void);
void kv_errclear(void);

/* Copies a message captured on another thread into this one (used when a
 * worker's failure is handed back to the thread that waits for it). */
int kv_errset_msg(int code, const char *msg);

/* Maps an errno value to a status code (ENOENT -> KV_ENOTFOUND, ...). */
int kv_errno_code(int errnum);

/* Name of a status code for logs: "not found", "auth", ... */
const char *kv_strcode(int code);

#endif
