/* Library-wide entry points of the public API that belong to no one layer. */
#include <stdlib.h>

#include "kvault.h"
#include "util/err.h"
#include "util/log.h"

const char *kvault_errmsg(void)
{
    return kv_errmsg();
}

void kvault_set_verbosity(int level)
{
    kv_log_set_level(level);
}

void kvault_free(void *p)
{
    free(p);
}
