#include "util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define KV_ERRMSG_MAX 1024

static _Thread_local char errmsg[KV_ERRMSG_MAX];

static void set_message(const char *fmt, va_list ap)
{
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
}

int kv_seterr(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    return code;
}

int kv_seterr_errno(int code, int errnum, const char *fmt, ...)
{
    va_list ap;
    size_t n;
    va_start(ap, fmt);
    set_message(fmt, ap);
    va_end(ap);
    n = strlen(errmsg);
    snprintf(errmsg + n, sizeof errmsg - n, ": %s", strerror(errnum));
    return code;
}

const char *kv_errmsg(void)
{
    return errmsg;
}

void kv_errclear(void)
{
    errmsg[0] = '\0';
}

int kv_errset_msg(int code, const char *msg)
{
    snprintf(errmsg, sizeof errmsg, "%s", msg ? msg : "");
    return code;
}

int kv_errno_code(int errnum)
{
    switch (errnum) {
    case ENOENT:
    case ENOTDIR:
        return KV_ENOTFOUND;
    case EEXIST:
    case ENOTEMPTY:
        return KV_EEXIST;
    case EACCES:
    case EPERM:
        return KV_EAUTH;
    case ENOMEM:
        return KV_ENOMEM;
    case EINVAL:
    case ENAMETOOLONG:
        return KV_EINVAL;
    default:
        return KV_EIO;
    }
}

const char *kv_strcode(int code)
{
    switch (code) {
    case KV_OK: return "ok";
    case KV_EINVAL: return "invalid";
    case KV_ENOTFOUND: return "not found";
    case KV_EEXIST: return "exists";
    case KV_EAUTH: return "access denied";
    case KV_ECORRUPT: return "corrupt";
    case KV_EIO: return "i/o error";
    case KV_ETRANSIENT: return "transient";
    case KV_ENOMEM: return "out of memory";
    case KV_ECANCELED: return "canceled";
    case KV_EUNSUPPORTED: return "unsupported";
    default: return "error";
    }
}

int kv_oom(void)
{
    return kv_seterr(KV_ENOMEM, "out of memory");
}
