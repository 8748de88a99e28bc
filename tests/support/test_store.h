/* For tests of the store layer: kv_store_open with the settings the
 * environment gives (as kvault_open gets them through the CLI), the test
 * backends' settings from the environment (KVT_FAULT_*: the library's
 * configuration does not take them, and a ctest can set them), and the
 * test's own. */
#ifndef KV_TEST_STORE_H
#define KV_TEST_STORE_H

#include <stdlib.h>

#include "kvault.h"
#include "store/store.h"

/* base, then the test backends' settings the environment has, then extra
 * (so extra wins): malloc'd into *out. */
static inline int kvt_settings_join(const kvault_setting *base, size_t nbase,
                                    const kvault_setting *extra, size_t nextra,
                                    kvault_setting **out, size_t *n)
{
    /* what the test backends read (tests/support/fault_store.h) */
    static const char *const kvt_env_settings[] = {"KVT_FAULT_INNER", "KVT_FAULT_FAIL",
                                                   "KVT_FAULT_LOSE", "KVT_FAULT_SHORT"};
    size_t nenv = sizeof kvt_env_settings / sizeof *kvt_env_settings;
    kvault_setting *all = malloc((nbase + nenv + nextra + 1) * sizeof *all);
    if (!all)
        return kv_seterr(KV_ENOMEM, "out of memory");
    *n = 0;
    for (size_t i = 0; i < nbase; i++)
        all[(*n)++] = base[i];
    for (size_t i = 0; i < nenv; i++)
        if (getenv(kvt_env_settings[i]))
            all[(*n)++] = (kvault_setting){.name = kvt_env_settings[i],
                                           .value = getenv(kvt_env_settings[i])};
    for (size_t i = 0; i < nextra; i++)
        all[(*n)++] = extra[i];
    *out = all;
    return KV_OK;
}

/* Opens url with those settings; max_retries 0 keeps the environment's. */
static inline int kvt_store_open_with(const char *url, int max_retries,
                                      const kvault_setting *extra, size_t nextra, kv_store **st)
{
    kvault_config *cfg;
    const kvault_store_opts *s;
    kvault_setting *all = NULL;
    size_t n = 0;
    kv_store_opts o;
    int rc = kvault_config_from_env(&cfg);
    if (rc)
        return rc;
    s = kvault_config_options(cfg)->store;
    rc = kvt_settings_join(s->settings, s->nsettings, extra, nextra, &all, &n);
    o = (kv_store_opts){.connect_timeout_s = s->connect_timeout_s,
                        .stall_timeout_s = s->stall_timeout_s,
                        .max_retries = max_retries ? max_retries : s->max_retries,
                        .endpoint = s->endpoint,
                        .region = s->region,
                        .ca_file = s->ca_file,
                        .settings = all,
                        .nsettings = n};
    if (!rc)
        rc = kv_store_open(url, &o, st);
    free(all);
    kvault_config_free(cfg);
    return rc;
}

static inline int kvt_store_open_retries(const char *url, int max_retries, kv_store **st)
{
    return kvt_store_open_with(url, max_retries, NULL, 0, st);
}

static inline int kvt_store_open(const char *url, kv_store **st)
{
    return kvt_store_open_retries(url, 0, st);
}

#endif
