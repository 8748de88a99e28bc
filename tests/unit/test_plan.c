/* kv_plan_parts against the limits of the real stores, plus the registry. */
#include <stdint.h>
#include <string.h>

#include "store/store.h"
#include "test.h"
#include "util/err.h"

#define MIB (1024ull * 1024ull)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)

static const kv_store_ops s3_like = {
    .scheme = "s3like", .min_part = 5 * MIB, .max_part = 5 * GIB, .max_parts = 10000};
static const kv_store_ops azure_like = {
    .scheme = "azlike", .min_part = 0, .max_part = 4000 * MIB, .max_parts = 50000};
static const kv_store_ops unlimited = {.scheme = "unlimited"};
static const kv_store_ops one_part = {
    .scheme = "onepart", .min_part = 0, .max_part = 10 * MIB, .max_parts = 1};

/* What every plan must satisfy. */
static int plan_is_valid(const kv_store_ops *ops, uint64_t size, uint64_t ps, uint32_t n)
{
    if (n < 1 || (ops->max_parts && n > ops->max_parts))
        return 0;
    if (ops->max_part && ps > ops->max_part)
        return 0;
    if (ops->min_part && ps < ops->min_part)
        return 0;
    if ((unsigned __int128)ps * n < size)
        return 0;
    return size == 0 ? n == 1 : (uint64_t)ps * (n - 1) < size;
}

static void small_objects_are_one_part(void)
{
    uint64_t ps;
    uint32_t n;
    CHECK_OK(kv_plan_parts(&s3_like, 100, 0, &ps, &n));
    CHECK_EQ_U64(ps, 8 * MIB);
    CHECK_EQ_U64(n, 1);
    CHECK_OK(kv_plan_parts(&s3_like, 8 * MIB, 0, &ps, &n));
    CHECK_EQ_U64(n, 1);
    CHECK_OK(kv_plan_parts(&s3_like, 8 * MIB + 1, 0, &ps, &n));
    CHECK_EQ_U64(n, 2);
}

static void empty_object_is_one_empty_part(void)
{
    uint64_t ps;
    uint32_t n;
    CHECK_OK(kv_plan_parts(&s3_like, 0, 0, &ps, &n));
    CHECK_EQ_U64(n, 1);
    CHECK_OK(kv_plan_parts(&unlimited, 0, 0, &ps, &n));
    CHECK_EQ_U64(n, 1);
    CHECK(plan_is_valid(&unlimited, 0, ps, n));
}

static void default_part_is_8_mib(void)
{
    uint64_t ps;
    uint32_t n;
    CHECK_OK(kv_plan_parts(&s3_like, 1 * GIB, 0, &ps, &n));
    CHECK_EQ_U64(ps, 8 * MIB);
    CHECK_EQ_U64(n, 128);
    CHECK_OK(kv_plan_parts(&azure_like, 100 * GIB, 0, &ps, &n));
    CHECK_EQ_U64(ps, 8 * MIB);
    CHECK_EQ_U64(n, 12800);
}

static void s3_huge_grows_in_whole_mib(void)
{
    uint64_t ps;
    uint32_t n;
    /* 1 TiB / 10000 parts = 104.9 MiB: the first whole MiB that fits is 105 */
    CHECK_OK(kv_plan_parts(&s3_like, 1 * TIB, 0, &ps, &n));
    CHECK_EQ_U64(ps, 105 * MIB);
    CHECK_EQ_U64(n, 9987);
    CHECK(plan_is_valid(&s3_like, 1 * TIB, ps, n));
    /* S3's largest object: 5 TiB */
    CHECK_OK(kv_plan_parts(&s3_like, 5 * TIB, 0, &ps, &n));
    CHECK_EQ_U64(ps, 525 * MIB);
    CHECK(plan_is_valid(&s3_like, 5 * TIB, ps, n));
    /* exactly 10000 parts of the default still fits without growing */
    CHECK_OK(kv_plan_parts(&s3_like, 10000 * 8 * MIB, 0, &ps, &n));
    CHECK_EQ_U64(ps, 8 * MIB);
    CHECK_EQ_U64(n, 10000);
    CHECK_OK(kv_plan_parts(&s3_like, 10000 * 8 * MIB + 1, 0, &ps, &n));
    CHECK_EQ_U64(ps, 9 * MIB);
    CHECK(plan_is_valid(&s3_like, 10000 * 8 * MIB + 1, ps, n));
}

static void azure_50000_blocks(void)
{
    uint64_t ps;
    uint32_t n;
    CHECK_OK(kv_plan_parts(&azure_like, 1 * TIB, 0, &ps, &n));
    CHECK_EQ_U64(ps, 21 * MIB);
    CHECK_EQ_U64(n, 49933);
    CHECK(plan_is_valid(&azure_like, 1 * TIB, ps, n));
    /* the largest block blob: 50000 blocks of 4000 MiB */
    CHECK_OK(kv_plan_parts(&azure_like, 50000 * 4000 * MIB, 0, &ps, &n));
    CHECK_EQ_U64(ps, 4000 * MIB);
    CHECK_EQ_U64(n, 50000);
}

static void too_large_is_einval(void)
{
    uint64_t ps = 0;
    uint32_t n = 0;
    CHECK(kv_plan_parts(&s3_like, 10000 * 5 * GIB + 1, 0, &ps, &n) == KV_EINVAL);
    CHECK(strstr(kv_errmsg(), "does not fit"));
    CHECK(strstr(kv_errmsg(), "s3like"));
    CHECK(kv_plan_parts(&azure_like, 50000 * 4000 * MIB + 1, 0, &ps, &n) == KV_EINVAL);
    CHECK(kv_plan_parts(&one_part, 10 * MIB + 1, 0, &ps, &n) == KV_EINVAL);
    CHECK_OK(kv_plan_parts(&one_part, 10 * MIB, 0, &ps, &n));
    CHECK_EQ_U64(ps, 10 * MIB);
    CHECK_EQ_U64(n, 1);
}

static void wanted_size_is_clamped(void)
{
    const kv_store_ops *file = kv_store_backend("file");
    uint64_t ps;
    uint32_t n;
    CHECK_OK(kv_plan_parts(&s3_like, 100 * MIB, 1 * MIB, &ps, &n));
    CHECK_EQ_U64(ps, 5 * MIB);
    CHECK_EQ_U64(n, 20);
    CHECK(file != NULL);
    CHECK_OK(kv_plan_parts(file, 10 * GIB, 2 * GIB, &ps, &n));
    CHECK_EQ_U64(ps, 1 * GIB);
    CHECK_EQ_U64(n, 10);
    CHECK_OK(kv_plan_parts(&s3_like, 100 * MIB, 16 * MIB, &ps, &n));
    CHECK_EQ_U64(ps, 16 * MIB);
    CHECK_EQ_U64(n, 7);
    /* a wanted size too small for the part limit grows like the default */
    CHECK_OK(kv_plan_parts(&s3_like, 1 * TIB, 5 * MIB, &ps, &n));
    CHECK_EQ_U64(ps, 105 * MIB);
}

static void bad_limits_are_einval(void)
{
    const kv_store_ops bad = {.scheme = "bad", .min_part = 10 * MIB, .max_part = 5 * MIB,
                              .max_parts = 10};
    uint64_t ps;
    uint32_t n;
    CHECK(kv_plan_parts(&bad, 1, 0, &ps, &n) == KV_EINVAL);
}

static void plans_are_valid_across_sizes(void)
{
    const kv_store_ops *all[] = {&s3_like, &azure_like, &unlimited, kv_store_backend("file")};
    uint64_t sizes[] = {0, 1, MIB - 1, MIB, MIB + 1, 5 * MIB, 8 * MIB - 1, 8 * MIB + 1,
                        1000 * MIB + 7, 77 * GIB + 3, 3 * TIB + 1, 40 * TIB};
    uint64_t wanted[] = {0, 1, 3 * MIB + 5, 64 * MIB, 6 * GIB};
    for (size_t o = 0; o < sizeof all / sizeof all[0]; o++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            for (size_t w = 0; w < sizeof wanted / sizeof wanted[0]; w++) {
                uint64_t ps;
                uint32_t n;
                int rc = kv_plan_parts(all[o], sizes[i], wanted[w], &ps, &n);
                if (rc) {
                    /* only objects too large for the store may fail */
                    CHECK(rc == KV_EINVAL);
                    CHECK((unsigned __int128)all[o]->max_part * all[o]->max_parts < sizes[i]);
                    continue;
                }
                if (!plan_is_valid(all[o], sizes[i], ps, n))
                    fprintf(stderr, "%s size %llu wanted %llu -> %llu x %u\n", all[o]->scheme,
                            (unsigned long long)sizes[i], (unsigned long long)wanted[w],
                            (unsigned long long)ps, n);
                CHECK(plan_is_valid(all[o], sizes[i], ps, n));
            }
}

static void registry_knows_file(void)
{
    kv_store *st = NULL;
    CHECK(kv_store_backend("file") != NULL);
    CHECK(kv_store_backend("nope") == NULL);
    CHECK(kv_store_open("nope://bucket/x", NULL, &st) == KV_EUNSUPPORTED);
    CHECK(strstr(kv_errmsg(), "nope"));
    CHECK_OK(kv_store_open("/tmp", NULL, &st));
    CHECK_STR(st->ops->scheme, "file");
    CHECK_STR(st->url.path, "/tmp");
    CHECK(st->opts.connect_timeout_s == 10);
    CHECK(st->opts.stall_timeout_s == 60);
    CHECK(st->opts.max_retries == 6);
    kv_store_close(st);
}

/* A store's settings: kv_opt_str/int/flag as the backends read them. */
static void settings_read_values(void)
{
    static const char *const bad[] = {"abc", "12x", "0", "-5", "1000001", " "};
    static const char *const off[] = {"0", "false", "FALSE", "no", "No"};
    kvault_setting set[2] = {{"KVT", ""}, {"OTHER", "x"}};
    kv_store_opts o = {.settings = set, .nsettings = 2};
    CHECK(kv_opt_str(&o, "KVT") == NULL);
    CHECK(kv_opt_str(NULL, "KVT") == NULL);
    CHECK_EQ_U64(kv_opt_int(&o, "KVT", 7), 7);
    CHECK_EQ_U64(kv_opt_flag(&o, "KVT", 1), 1);
    CHECK(kv_opt_str(&o, "MISSING") == NULL);
    set[0].value = "42";
    CHECK_STR(kv_opt_str(&o, "KVT"), "42");
    CHECK_EQ_U64(kv_opt_int(&o, "KVT", 7), 42);
    CHECK_EQ_U64(kv_opt_flag(&o, "KVT", 0), 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        set[0].value = bad[i];
        CHECK_EQ_U64(kv_opt_int(&o, "KVT", 7), 7);
    }
    set[0].value = "1000000";
    CHECK_EQ_U64(kv_opt_int(&o, "KVT", 7), 1000000);
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++) {
        set[0].value = off[i];
        CHECK_EQ_U64(kv_opt_flag(&o, "KVT", 1), 0);
    }
    /* a later entry of the same name wins */
    set[1] = (kvault_setting){"KVT", "yes"};
    CHECK_EQ_U64(kv_opt_flag(&o, "KVT", 0), 1);
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"settings_read_values", settings_read_values},
        {"small_objects_are_one_part", small_objects_are_one_part},
        {"empty_object_is_one_empty_part", empty_object_is_one_empty_part},
        {"default_part_is_8_mib", default_part_is_8_mib},
        {"s3_huge_grows_in_whole_mib", s3_huge_grows_in_whole_mib},
        {"azure_50000_blocks", azure_50000_blocks},
        {"too_large_is_einval", too_large_is_einval},
        {"wanted_size_is_clamped", wanted_size_is_clamped},
        {"bad_limits_are_einval", bad_limits_are_einval},
        {"plans_are_valid_across_sizes", plans_are_valid_across_sizes},
        {"registry_knows_file", registry_knows_file},
        {NULL, NULL},
    };
    return kvt_run(cases, argc, argv);
}
