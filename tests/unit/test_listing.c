/* What the core does not take on trust from a backend or its server:
 * every listed key is checked before anyone acts on it (kv_store_list),
 * paging stops on repeated tokens and empty pages (kv_pages), leftovers are
 * reported once across retries and a table of contract version 1 is never
 * read past its end (kv_store_garbage); and the helpers these use. A
 * scripted backend ("script://") lists what each case tells it to. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/bucket.h"
#include "store/store.h"
#include "test.h"
#include "util/err.h"
#include "util/escape.h"
#include "util/strset.h"

/* ---- the "script" backend: lists the keys of the current script ---------- */

static const char *const *script;   /* keys listed, NULL-terminated */
static int fail_after = -1;         /* fail KV_ETRANSIENT after this many keys, once */
static int garbage_calls;

static int script_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    (void)url;
    (void)opts;
    *out = calloc(1, sizeof **out);
    return *out ? KV_OK : KV_ENOMEM;
}

static int script_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    kv_object_info info = {.size = 1};
    int rc = KV_OK;
    (void)st;
    (void)prefix;
    for (int i = 0; script[i] && rc == KV_OK; i++) {
        if (i == fail_after) {
            fail_after = -1;
            return kv_seterr(KV_ETRANSIENT, "script: connection reset");
        }
        rc = cb(script[i], &info, payload);
    }
    return rc;
}

/* Reports the script's keys as leftovers; fails once part way like list. */
static int script_garbage(kv_store *st, const char *prefix, int64_t older_than_unix,
                          int dry_run, kv_garbage_cb cb, void *payload)
{
    int rc = KV_OK;
    (void)st;
    (void)prefix;
    (void)older_than_unix;
    (void)dry_run;
    garbage_calls++;
    for (int i = 0; script[i] && rc == KV_OK; i++) {
        kv_garbage_item item = {.key = script[i], .name = script[i], .kind = "temporary file"};
        if (i == fail_after) {
            fail_after = -1;
            return kv_seterr(KV_ETRANSIENT, "script: connection reset");
        }
        rc = cb(&item, payload);
    }
    return rc;
}

static int script_unused(void)
{
    return kv_seterr(KV_EUNSUPPORTED, "script: not scripted");
}

static int script_put(kv_store *st, const char *key, const void *buf, size_t len,
                      const kv_digest *digest)
{
    (void)st, (void)key, (void)buf, (void)len, (void)digest;
    return script_unused();
}

static int script_get(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
                      size_t *got)
{
    (void)st, (void)key, (void)off, (void)len, (void)buf, (void)got;
    return script_unused();
}

static int script_stat(kv_store *st, const char *key, kv_object_info *out)
{
    (void)st, (void)key, (void)out;
    return script_unused();
}

static int script_remove(kv_store *st, const char *key)
{
    (void)st, (void)key;
    return script_unused();
}

static void script_close(kv_store *st)
{
    free(st);
}

#define SCRIPT_OPS(version_, scheme_)                                                      \
    {                                                                                      \
        .version = version_, .scheme = scheme_, .open = script_open, .put = script_put,     \
        .get = script_get, .stat = script_stat, .list = script_list,                      \
        .remove = script_remove, .close = script_close, .garbage = script_garbage,         \
    }

static const kv_store_ops script_ops = SCRIPT_OPS(KV_STORE_OPS_VERSION, "script");
/* A table of the first revision: its garbage member does not exist for the
 * core, whatever this (larger) struct holds there. */
static const kv_store_ops script_v1_ops = SCRIPT_OPS(1, "scriptv1");

static kv_store *open_script(const char *url)
{
    kv_store_opts o = {.max_retries = 2};
    kv_store *st = NULL;
    if (kv_store_open(url, &o, &st) != KV_OK)
        fprintf(stderr, "open %s: %s\n", url, kv_errmsg());
    return st;
}

/* ---- listings -------------------------------------------------------------- */

typedef struct seen {
    int n;
    char keys[8][64];
} seen;

static int collect(const char *key, const kv_object_info *info, void *payload)
{
    seen *s = payload;
    (void)info;
    if (s->n < 8)
        snprintf(s->keys[s->n], sizeof s->keys[0], "%s", key);
    s->n++;
    return 0;
}

/* Lists prefix through the core with the given keys; the status. */
static int list_script(const char *const *keys, const char *prefix, seen *s)
{
    kv_store *st = open_script("script://b/root");
    int rc;
    memset(s, 0, sizeof *s);
    script = keys;
    rc = st ? kv_store_list(st, prefix, collect, s) : KV_ERR;
    kv_store_close(st);
    return rc;
}

static void good_keys_are_listed(void)
{
    static const char *const keys[] = {"env/a", "env/b/c", "env/b/d", "env/c..d", NULL};
    seen s;
    CHECK_OK(list_script(keys, "env/", &s));
    CHECK(s.n == 4);
    CHECK_STR(s.keys[3], "env/c..d"); /* dots inside a name are a name */
}

static void key_outside_the_prefix_fails_the_listing(void)
{
    static const char *const keys[] = {"default/a", "other/rocksdb/x.sst", "default/b", NULL};
    seen s;
    CHECK(list_script(keys, "default/", &s) == KV_ECORRUPT);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "'other/rocksdb/x.sst'"));
    CHECK(strstr(kv_errmsg(), "'default/'"));
    CHECK(strstr(kv_errmsg(), "outside the prefix"));
    CHECK(strstr(kv_errmsg(), "nothing was done with that key"));
    CHECK(s.n == 1); /* what came before is delivered, the rest never */
}

static void dot_segments_fail_the_listing(void)
{
    static const char *const up[] = {"env/20200101T000000Z-abcdef/../../../../../victim", NULL};
    static const char *const here[] = {"env/./x", NULL};
    static const char *const last[] = {"env/x/..", NULL};
    seen s;
    CHECK(list_script(up, "env/", &s) == KV_ECORRUPT);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "'.' or '..' segment"));
    CHECK(strstr(kv_errmsg(), "/../../../../../victim'"));
    CHECK(s.n == 0);
    CHECK(list_script(here, "env/", &s) == KV_ECORRUPT);
    CHECK(list_script(last, "env/", &s) == KV_ECORRUPT);
    CHECK(s.n == 0);
}

static void control_characters_fail_the_listing(void)
{
    static const char *const keys[] = {"env/a\nb", NULL};
    static const char *const del[] = {"env/\x7f", NULL};
    static const char *const empty[] = {"", NULL};
    seen s;
    CHECK(list_script(keys, "env/", &s) == KV_ECORRUPT);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "'env/a\\nb'")); /* escaped, not a line break */
    CHECK(strstr(kv_errmsg(), "control character"));
    CHECK(list_script(del, "env/", &s) == KV_ECORRUPT);
    CHECK(strstr(kv_errmsg(), "'env/\\x7f'"));
    CHECK(list_script(empty, "", &s) == KV_ECORRUPT);
    CHECK(s.n == 0);
}

static void keys_out_of_order_or_repeated_fail(void)
{
    static const char *const again[] = {"k/a", "k/b", "k/a", "k/b", NULL};
    static const char *const back[] = {"k/b", "k/a", NULL};
    seen s;
    CHECK(list_script(again, "k/", &s) == KV_ECORRUPT);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "'k/a' after 'k/b'"));
    CHECK(s.n == 2);
    CHECK(list_script(back, "k/", &s) == KV_ECORRUPT);
}

/* A listing restarted after a transient failure is checked afresh and
 * delivers each key once. */
static void restarted_listing_delivers_each_key_once(void)
{
    static const char *const keys[] = {"r/1", "r/2", "r/3", NULL};
    seen s;
    fail_after = 2;
    CHECK_OK(list_script(keys, "r/", &s));
    CHECK(s.n == 3);
    CHECK_STR(s.keys[2], "r/3");
}

/* ---- paging ---------------------------------------------------------------- */

/* A server's pages: the token each page names next, and how many entries
 * it holds (the same for every page). */
typedef struct pager {
    const char *const *next;  /* next[i]: the token after page i; NULL ends */
    size_t items;
    int pages;
    int forever;              /* fresh tokens for ever */
} pager;

static int page(void *ctx, const char *token, char **next, size_t *items)
{
    pager *p = ctx;
    (void)token;
    *items = p->items;
    if (p->forever)
        return asprintf(next, "t%d", p->pages++) < 0 ? KV_ENOMEM : KV_OK;
    *next = p->next[p->pages] ? strdup(p->next[p->pages]) : NULL;
    p->pages++;
    return KV_OK;
}

static void pages_until_the_last(void)
{
    static const char *const tokens[] = {"a", "b", "c", NULL};
    pager p = {.next = tokens, .items = 3};
    CHECK_OK(kv_pages("s3://b/p", page, &p));
    CHECK(p.pages == 4);
}

static void a_repeated_token_stops_the_listing(void)
{
    static const char *const same[] = {"tok", "tok", "tok", NULL};
    static const char *const circle[] = {"A", "B", "A", NULL};
    pager p = {.next = same, .items = 1};
    CHECK(kv_pages("s3://b/p", page, &p) == KV_ECORRUPT);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "s3://b/p") && strstr(kv_errmsg(), "'tok'"));
    CHECK(strstr(kv_errmsg(), "page 2"));
    CHECK(p.pages == 2);
    p = (pager){.next = circle, .items = 1};
    CHECK(kv_pages("s3://b/p", page, &p) == KV_ECORRUPT);
    CHECK(p.pages == 3);
}

static void endless_empty_pages_stop_the_listing(void)
{
    pager p = {.items = 0, .forever = 1};
    CHECK(kv_pages("gs://b/p", page, &p) == KV_ECORRUPT);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "held nothing"));
    CHECK(p.pages == KV_PAGES_MAX_EMPTY);
}

/* ---- garbage --------------------------------------------------------------- */

static int count_garbage(const kv_garbage_item *item, void *payload)
{
    (void)item;
    (*(int *)payload)++;
    return 0;
}

static void garbage_is_reported_once_across_retries(void)
{
    static const char *const keys[] = {"g/.a.kvtmp-1", "g/.b.kvtmp-2", NULL};
    kv_store *st = open_script("script://b/root");
    uint64_t n = 0;
    int calls = 0;
    CHECK(st != NULL);
    script = keys;
    fail_after = 1;
    garbage_calls = 0;
    CHECK_OK(kv_store_garbage(st, "g/", 0, 1, count_garbage, &calls, &n));
    CHECK(garbage_calls == 2);
    CHECK_EQ_U64(n, 2);
    CHECK(calls == 2);
    kv_store_close(st);
}

/* A table of version 1 has no garbage member: it registers, opens, and
 * kv_store_garbage finds nothing without calling what lies past its end. */
static void version_1_tables_have_no_garbage(void)
{
    static const char *const keys[] = {"g/x", NULL};
    kv_store *st;
    uint64_t n = 7;
    CHECK_OK(kv_store_register(&script_v1_ops));
    st = open_script("scriptv1://b/root");
    CHECK(st != NULL);
    script = keys;
    garbage_calls = 0;
    CHECK_OK(kv_store_garbage(st, "g/", 0, 0, NULL, NULL, &n));
    CHECK_EQ_U64(n, 0);
    CHECK(garbage_calls == 0);
    kv_store_close(st);
}

/* kv_garbage_take, which every built-in backend's garbage method uses:
 * leftovers at or after the cutoff, or of unknown time, are kept. */
static int drops;

static int drop(void *ctx)
{
    (void)ctx;
    drops++;
    return KV_OK;
}

static void garbage_take_keeps_the_young_and_the_unknown(void)
{
    int reported = 0;
    kv_garbage_args run = {.older_than = 1000, .cb = count_garbage, .payload = &reported};
    kv_garbage_args dry = {.older_than = 1000, .dry_run = 1, .cb = count_garbage,
                           .payload = &reported};
    kv_garbage_item old = {.key = "k", .name = "n", .kind = "temporary file", .mtime_unix = 999};
    kv_garbage_item young = old, unknown = old;
    young.mtime_unix = 1000;
    unknown.mtime_unix = 0;
    drops = 0;
    CHECK_OK(kv_garbage_take(&run, &young, drop, NULL));
    CHECK_OK(kv_garbage_take(&run, &unknown, drop, NULL));
    CHECK(drops == 0 && reported == 0);
    CHECK_OK(kv_garbage_take(&dry, &old, drop, NULL));
    CHECK(drops == 0 && reported == 1);
    CHECK_OK(kv_garbage_take(&run, &old, drop, NULL));
    CHECK(drops == 1 && reported == 2);
}

/* ---- helpers ----------------------------------------------------------------- */

static void escape_makes_text_printable(void)
{
    char out[16];
    CHECK_STR(kv_escape("a\nb\x01'\\", out, sizeof out), "a\\nb\\x01\\'\\\\");
    CHECK_STR(kv_escape("abcdefghijklmnopqrstuvwxyz", out, sizeof out), "abcdefghijkl...");
    CHECK_STR(kv_escape("abcdefghijklmno", out, sizeof out), "abcdefghijklmno");
}

static void strset_remembers(void)
{
    kv_strset set = KV_STRSET_INIT;
    char key[32];
    int added = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "token-%d", i);
        CHECK_OK(kv_strset_add(&set, key, strlen(key), &added));
        CHECK(added);
    }
    CHECK_OK(kv_strset_add(&set, "token-517", 9, &added));
    CHECK(!added);
    CHECK_OK(kv_strset_add(&set, "a\0b", 3, &added));
    CHECK(added);
    CHECK_OK(kv_strset_add(&set, "a\0c", 3, &added));
    CHECK(added); /* values are compared whole, NULs included */
    kv_strset_free(&set);
}

static void size_settings(void)
{
    kvault_setting s[] = {{"A", "16M"}, {"B", "2k"}, {"C", "7"}, {"D", "5 "}, {"E", "-1"},
                          {"F", "9999999999G"}};
    kv_store_opts o = {.settings = s, .nsettings = 6};
    CHECK_EQ_U64(kv_setting_size(&o, "A", 1), 16u << 20);
    CHECK_EQ_U64(kv_setting_size(&o, "B", 1), 2048);
    CHECK_EQ_U64(kv_setting_size(&o, "C", 1), 7);
    CHECK_EQ_U64(kv_setting_size(&o, "D", 1), 1);
    CHECK_EQ_U64(kv_setting_size(&o, "E", 1), 1);
    CHECK_EQ_U64(kv_setting_size(&o, "F", 1), 1);
    CHECK_EQ_U64(kv_setting_size(&o, "unset", 3), 3);
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"good_keys_are_listed", good_keys_are_listed},
        {"key_outside_the_prefix_fails_the_listing", key_outside_the_prefix_fails_the_listing},
        {"dot_segments_fail_the_listing", dot_segments_fail_the_listing},
        {"control_characters_fail_the_listing", control_characters_fail_the_listing},
        {"keys_out_of_order_or_repeated_fail", keys_out_of_order_or_repeated_fail},
        {"restarted_listing_delivers_each_key_once", restarted_listing_delivers_each_key_once},
        {"pages_until_the_last", pages_until_the_last},
        {"a_repeated_token_stops_the_listing", a_repeated_token_stops_the_listing},
        {"endless_empty_pages_stop_the_listing", endless_empty_pages_stop_the_listing},
        {"garbage_is_reported_once_across_retries", garbage_is_reported_once_across_retries},
        {"version_1_tables_have_no_garbage", version_1_tables_have_no_garbage},
        {"garbage_take_keeps_the_young_and_the_unknown",
         garbage_take_keeps_the_young_and_the_unknown},
        {"escape_makes_text_printable", escape_makes_text_printable},
        {"strset_remembers", strset_remembers},
        {"size_settings", size_settings},
        {NULL, NULL},
    };
    if (kv_store_register(&script_ops) != KV_OK) {
        fprintf(stderr, "register: %s\n", kv_errmsg());
        return 1;
    }
    return kvt_run(cases, argc, argv);
}
