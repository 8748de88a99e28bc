/* What the in-memory test store (tests/support/mem_store.h) does beyond the
 * contract the conformance suite checks: it catches the callers' mistakes
 * the other tests rely on it to catch (wrong digests, parts outside the
 * plan), counts exactly, and shares a name across opens. */
#include <openssl/evp.h>
#include <string.h>

#include "mem_store.h"
#include "store/store.h"
#include "test_store.h"
#include "test.h"
#include "util/crc32c.h"

#define MIB (1024ull * 1024ull)

static int open_mem(const char *url, kv_store **st)
{
    return kvt_store_open_retries(url, 1, st);
}

/* A digest of buf as the core makes it for caps. */
static kv_digest digest_of(const void *buf, size_t len, unsigned caps)
{
    kv_digest d = {.crc32c = kv_crc32c(0, buf, len)};
    if (caps & KV_CAP_DIGEST_MD5)
        d.has_md5 = EVP_Digest(buf, len, d.md5, NULL, EVP_md5(), NULL);
    if (caps & KV_CAP_DIGEST_SHA256)
        d.has_sha256 = EVP_Digest(buf, len, d.sha256, NULL, EVP_sha256(), NULL);
    return d;
}

static void digests_are_checked_and_counted(void)
{
    kv_store *st;
    kvt_mem_counts c;
    kv_digest good = digest_of("abc", 3, KV_CAP_DIGEST_MD5), bad = good, plain;
    CHECK_OK(open_mem("mem+md5://digests/", &st));
    CHECK_OK(kv_store_put(st, "a", "abc", 3, &good));
    bad.md5[0] ^= 1;
    CHECK(kv_store_put(st, "b", "abc", 3, &bad) == KV_ECORRUPT);
    CHECK(strstr(kvault_errmsg(), "mem://digests/b") && strstr(kvault_errmsg(), "digest"));
    bad = good;
    bad.crc32c ^= 1;
    CHECK(kv_store_put(st, "b", "abc", 3, &bad) == KV_ECORRUPT);
    plain = digest_of("abc", 3, 0); /* right, but without the MD5 the store asks for */
    CHECK_OK(kv_store_put(st, "c", "abc", 3, &plain));
    CHECK_OK(kv_store_put(st, "d", "abc", 3, NULL));
    kv_store_close(st);
    CHECK_OK(kvt_mem_stats("digests", &c));
    CHECK(c.puts == 5 && c.digests == 4 && c.no_digests == 1 && c.bad_digests == 3);
    CHECK_EQ_U64(c.bytes_put, 15);
    CHECK_OK(kvt_mem_reset("digests"));
    CHECK_OK(kvt_mem_stats("digests", &c));
    CHECK(c.puts == 0 && c.bad_digests == 0);
    CHECK(kvt_mem_stats("never-opened", &c) == KV_ENOTFOUND);
}

static void parts_must_follow_the_plan(void)
{
    kv_store *st;
    kv_upload *up = NULL, *big = NULL;
    static unsigned char data[MIB + 10];
    CHECK_OK(open_mem("mem://plan/", &st));
    CHECK(kv_store_upload_begin(st, "tiny", 4096, 1024, &big) == KV_EINVAL); /* < 64 KiB parts */
    CHECK(strstr(kvault_errmsg(), "limits"));
    CHECK_OK(kv_store_upload_begin(st, "obj", MIB + 10, MIB, &up));
    CHECK(kv_store_upload_part(st, up, 3, 2 * MIB, data, 10, NULL) == KV_EINVAL);
    CHECK(kv_store_upload_part(st, up, 2, MIB, data, 11, NULL) == KV_EINVAL);
    CHECK(kv_store_upload_part(st, up, 2, 0, data, 10, NULL) == KV_EINVAL);
    CHECK(strstr(kvault_errmsg(), "not in the plan"));
    CHECK_OK(kv_store_upload_part(st, up, 2, MIB, data + MIB, 10, NULL));
    /* a complete that fails leaves the upload as it was: a repeat completes it */
    CHECK(kv_store_upload_complete(st, up) == KV_EINVAL);
    CHECK(strstr(kvault_errmsg(), "part 1 of 2 was never uploaded"));
    CHECK_OK(kv_store_upload_part(st, up, 1, 0, data, MIB, NULL));
    CHECK_OK(kv_store_upload_complete(st, up));
    CHECK_OK(kv_store_remove(st, "obj"));
    kv_store_close(st);
}

typedef struct removal {
    kv_store *st;
    size_t n;
} removal;

static int count_and_remove(const char *key, const kv_object_info *info, void *payload)
{
    removal *r = payload;
    (void)info;
    r->n++;
    return kv_store_remove(r->st, key); /* the store is not locked while it lists */
}

/* Two opens of one name, under different roots, see one set of objects;
 * a listing of more than a page may change the store as it goes. */
static void names_are_shared(void)
{
    kv_store *a, *b;
    kv_object_info info;
    char key[32];
    removal r = {.n = 0};
    CHECK_OK(open_mem("mem://shared/", &a));
    CHECK_OK(open_mem("mem://shared/sub/dir", &b));
    CHECK_OK(kv_store_put(b, "x", "1234", 4, NULL));
    CHECK_OK(kv_store_stat(a, "sub/dir/x", &info));
    CHECK_EQ_U64(info.size, 4);
    CHECK(info.mtime_unix > 0 && info.etag[0]);
    CHECK_OK(kv_store_remove(a, "sub/dir/x"));
    for (int i = 0; i < 600; i++) {
        snprintf(key, sizeof key, "k%04d", i);
        CHECK_OK(kv_store_put(b, key, "", 0, NULL));
    }
    r.st = b;
    CHECK_OK(kv_store_list(b, "k", count_and_remove, &r));
    CHECK_EQ_U64(r.n, 600);
    r.n = 0;
    CHECK_OK(kv_store_list(a, "", count_and_remove, &r));
    CHECK_EQ_U64(r.n, 0);
    kv_store_close(a);
    kv_store_close(b);
}

/* An upload taken as garbage is gone for its owner too. */
static void collected_upload_is_gone(void)
{
    kv_store *st;
    kv_upload *up = NULL;
    static unsigned char data[MIB];
    uint64_t n = 0;
    CHECK_OK(open_mem("mem://collected/", &st));
    CHECK_OK(kv_store_upload_begin(st, "obj", 2 * MIB, MIB, &up));
    CHECK_OK(kv_store_upload_part(st, up, 1, 0, data, MIB, NULL));
    CHECK_OK(kv_store_garbage(st, "", INT64_MAX, 0, NULL, NULL, &n));
    CHECK_EQ_U64(n, 1);
    CHECK(kv_store_upload_part(st, up, 2, MIB, data, MIB, NULL) == KV_ENOTFOUND);
    CHECK(kv_store_upload_complete(st, up) == KV_ENOTFOUND);
    CHECK(strstr(kvault_errmsg(), "no such upload"));
    kv_store_upload_abort(st, up);
    kv_store_close(st);
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"digests_are_checked_and_counted", digests_are_checked_and_counted},
        {"parts_must_follow_the_plan", parts_must_follow_the_plan},
        {"names_are_shared", names_are_shared},
        {"collected_upload_is_gone", collected_upload_is_gone},
        {NULL, NULL},
    };
    if (kvt_mem_register() != KV_OK) {
        fprintf(stderr, "cannot register the mem store: %s\n", kvault_errmsg());
        return 1;
    }
    return kvt_run(cases, argc, argv);
}
