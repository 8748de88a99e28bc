/* A minimal test harness: each test binary runs its cases and prints
 * "N passed, N failed"; the exit status is non-zero when any failed. */
#ifndef KV_TEST_H
#define KV_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvault.h"

static int kvt_failed_checks;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            kvt_failed_checks++;                                                 \
            return;                                                              \
        }                                                                        \
    } while (0)

/* Checks a kvault status; on failure prints the library's message. */
#define CHECK_OK(expr)                                                           \
    do {                                                                         \
        int kvt_rc = (expr);                                                     \
        if (kvt_rc != 0) {                                                       \
            fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__,   \
                    #expr, kvt_rc, kvault_errmsg());                             \
            kvt_failed_checks++;                                                 \
            return;                                                              \
        }                                                                        \
    } while (0)

#define CHECK_EQ_U64(a, b)                                                       \
    do {                                                                         \
        unsigned long long kvt_a = (unsigned long long)(a), kvt_b = (unsigned long long)(b); \
        if (kvt_a != kvt_b) {                                                    \
            fprintf(stderr, "%s:%d: %s == %s failed: %llu != %llu\n", __FILE__,  \
                    __LINE__, #a, #b, kvt_a, kvt_b);                             \
            kvt_failed_checks++;                                                 \
            return;                                                              \
        }                                                                        \
    } while (0)

#define CHECK_STR(a, b)                                                          \
    do {                                                                         \
        const char *kvt_a = (a), *kvt_b = (b);                                   \
        if (!kvt_a || !kvt_b || strcmp(kvt_a, kvt_b) != 0) {                     \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n",        \
                    __FILE__, __LINE__, #a, #b, kvt_a ? kvt_a : "(null)",        \
                    kvt_b ? kvt_b : "(null)");                                   \
            kvt_failed_checks++;                                                 \
            return;                                                              \
        }                                                                        \
    } while (0)

/* Opens url as the CLI does: settings (credentials, endpoints, cache
 * directory) from the environment, which the library itself never reads;
 * workers, part size and progress from o (may be NULL). */
static inline int kvt_open(const char *url, const kvault_options *o, kvault **kv)
{
    kvault_config *cfg;
    kvault_options opts;
    int rc = kvault_config_from_env(&cfg);
    if (rc)
        return rc;
    opts = *kvault_config_options(cfg);
    if (o) {
        opts.workers = o->workers;
        opts.part_size = o->part_size;
        opts.progress = o->progress;
        opts.progress_payload = o->progress_payload;
    }
    rc = kvault_open(url, &opts, kv);
    kvault_config_free(cfg);
    return rc;
}

typedef struct {
    const char *name;
    void (*fn)(void);
} kvt_case;

static inline int kvt_run(const kvt_case *cases, int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (const kvt_case *c = cases; c->name; c++) {
        int before = kvt_failed_checks;
        if (argc > 1 && !strstr(c->name, argv[1]))
            continue;
        fprintf(stderr, "--- %s\n", c->name);
        c->fn();
        if (kvt_failed_checks > before) {
            failed++;
            fprintf(stderr, "FAIL %s\n", c->name);
        } else {
            passed++;
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
