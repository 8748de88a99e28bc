/* Library-wide entry points of the public API that belong to no one layer. */
#include <stdlib.h>

#include "backup/internal.h"
#include "transfer/transfer.h"
#include "util/err.h"
#include "util/log.h"
#include "util/rate.h"

const char *kvault_errmsg(void)
{
    return kv_errmsg();
}

const char *kvault_strerror(int code)
{
    return kv_strcode(code);
}

const char *kvault_version(void)
{
    return KVAULT_VERSION;
}

int kv_check_version(unsigned int version, unsigned int known, const char *type)
{
    return kv_check_versions(version, known, known, type);
}

int kv_check_versions(unsigned int version, unsigned int oldest, unsigned int known,
                      const char *type)
{
    if (version >= oldest && version <= known)
        return KV_OK;
    return kv_seterr(KV_EINVAL, "%s version %u is not one this libkvault %s knows (%u..%u): "
                     "initialise it with its KVAULT_..._INIT macro", type, version,
                     KVAULT_VERSION, oldest, known);
}

int kvault_global_set(const kvault_global *g)
{
    static const kvault_global defaults = KVAULT_GLOBAL_INIT;
    int rc;
    if (!g)
        g = &defaults;
    if ((rc = kv_check_version(g->version, KVAULT_GLOBAL_VERSION, "kvault_global")))
        return rc;
    if (g->verbosity < KVAULT_LOG_ERROR || g->verbosity > KVAULT_LOG_DEBUG)
        return kv_seterr(KV_EINVAL, "kvault_global.verbosity must be KVAULT_LOG_ERROR.."
                         "KVAULT_LOG_DEBUG, got %d", g->verbosity);
    kv_log_set_level(g->verbosity);
    kv_log_set_sink(g->log, g->log_payload);
    kv_rate_set(g->rate_limit);
    kv_xfer_set_memory_budget(g->memory_budget);
    return KV_OK;
}

void kvault_free(void *p)
{
    free(p);
}
