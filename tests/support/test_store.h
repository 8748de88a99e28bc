/* For tests of the store layer: kv_store_open with the settings the
 * environment gives (as kvault_open gets them through the CLI). */
#ifndef KV_TEST_STORE_H
#define KV_TEST_STORE_H

#include "kvault.h"
#include "store/store.h"

static inline int kvt_store_open_retries(const char *url, int max_retries, kv_store **st)
{
    kvault_config *cfg;
    const kvault_store_opts *s;
    kv_store_opts o;
    int rc = kvault_config_from_env(&cfg);
    if (rc)
        return rc;
    s = kvault_config_options(cfg)->store;
    o = (kv_store_opts){.connect_timeout_s = s->connect_timeout_s,
                        .stall_timeout_s = s->stall_timeout_s,
                        .max_retries = max_retries ? max_retries : s->max_retries,
                        .endpoint = s->endpoint,
                        .region = s->region,
                        .ca_file = s->ca_file,
                        .settings = s->settings,
                        .nsettings = s->nsettings};
    rc = kv_store_open(url, &o, st);
    kvault_config_free(cfg);
    return rc;
}

static inline int kvt_store_open(const char *url, kv_store **st)
{
    return kvt_store_open_retries(url, 0, st);
}

#endif
