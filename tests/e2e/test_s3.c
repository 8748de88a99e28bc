/* The S3 backend against a real server (Ceph RGW from the fixture): what the
 * shared conformance suite does not cover — multipart listings, error
 * mapping and messages, settings from AWS profile files, pagination, digests.
 * Usage: test_s3 s3://bucket/prefix [CASE-FILTER], with the server's
 * AWS_* environment (tests/servers/with_rgw_env.sh). */
#include <openssl/evp.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/s3.h"
#include "store/store.h"
#include "test_store.h"
#include "test.h"
#include "util/err.h"
#include "util/fs.h"

static char base_url[512];   /* s3://bucket/prefix/run-id */
static kv_store *st;         /* opened on base_url with the real settings */

/* Opens base_url/sub with the current environment and the given retries. */
static int open_store(const char *sub, int max_retries, kv_store **out)
{
    char url[640];
    snprintf(url, sizeof url, "%s%s%s", base_url, *sub ? "/" : "", sub);
    return kvt_store_open_retries(url, max_retries, out);
}

/* Sets name=value for the duration of a case; restore_env() undoes all. */
static struct {
    char name[64];
    char *old;
    int had;
} saved[8];
static int nsaved;

static void set_env(const char *name, const char *value)
{
    const char *old = getenv(name);
    snprintf(saved[nsaved].name, sizeof saved[nsaved].name, "%s", name);
    saved[nsaved].had = old != NULL;
    saved[nsaved].old = old ? strdup(old) : NULL;
    nsaved++;
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

static void restore_env(void)
{
    while (nsaved > 0) {
        nsaved--;
        if (saved[nsaved].had)
            setenv(saved[nsaved].name, saved[nsaved].old, 1);
        else
            unsetenv(saved[nsaved].name);
        free(saved[nsaved].old);
    }
}

/* ---- multipart listings ------------------------------------------------- */

typedef struct found_upload {
    const char *key;
    char id[512];
    int count;
} found_upload;

static int find_upload(const char *key, const char *upload_id, void *p)
{
    found_upload *f = p;
    if (strcmp(key, f->key) == 0) {
        snprintf(f->id, sizeof f->id, "%s", upload_id);
        f->count++;
    }
    return 0;
}

static void multipart_listings(void)
{
    static char part[5 << 20];
    kv_upload *up;
    found_upload f = {"mp/listed", "", 0};
    uint32_t parts;
    uint64_t bytes;

    memset(part, 'p', sizeof part);
    CHECK_OK(kv_store_upload_begin(st, "mp/listed", sizeof part + 100, sizeof part, &up));
    CHECK_OK(kv_store_upload_part(st, up, 2, sizeof part, part, 100, NULL));
    CHECK_OK(kv_store_upload_part(st, up, 1, 0, part, sizeof part, NULL));
    CHECK_OK(kv_s3_list_uploads(st, "mp/", find_upload, &f));
    CHECK_EQ_U64(f.count, 1);
    CHECK_OK(kv_s3_list_parts(st, "mp/listed", f.id, &parts, &bytes));
    CHECK_EQ_U64(parts, 2);
    CHECK_EQ_U64(bytes, sizeof part + 100);
    kv_store_upload_abort(st, up);
    f.count = 0;
    CHECK_OK(kv_s3_list_uploads(st, "mp/", find_upload, &f));
    CHECK_EQ_U64(f.count, 0);
}

static void entity_too_small_is_invalid(void)
{
    /* S3 rejects a part below 5 MiB unless it is the last: at complete */
    kv_upload *up;
    found_upload f = {"mp/small", "", 0};
    int rc;
    CHECK_OK(kv_store_upload_begin(st, "mp/small", 6 << 20, 3 << 20, &up));
    CHECK_OK(kv_store_upload_part(st, up, 1, 0, "a", 1, NULL));
    CHECK_OK(kv_store_upload_part(st, up, 2, 3 << 20, "b", 1, NULL));
    rc = kv_store_upload_complete(st, up);
    fprintf(stderr, "  complete: %s\n", kvault_errmsg());
    CHECK(rc == KV_EINVAL);
    CHECK(strstr(kvault_errmsg(), "EntityTooSmall"));
    kv_store_upload_abort(st, up);
    CHECK_OK(kv_s3_list_uploads(st, "mp/", find_upload, &f));
    CHECK_EQ_U64(f.count, 0);
}

/* ---- errors ------------------------------------------------------------- */

static void wrong_secret_is_auth(void)
{
    const char *secret = "wrongwrongwrongwrongwrongwrong0123456789";
    kv_store *bad = NULL;
    int rc;
    set_env("AWS_SECRET_ACCESS_KEY", secret);
    rc = open_store("", 1, &bad);
    restore_env();
    CHECK_OK(rc);
    rc = kv_store_put(bad, "auth/x", "x", 1, NULL);
    fprintf(stderr, "  put: %s\n", kvault_errmsg());
    kv_store_close(bad);
    CHECK(rc == KV_EAUTH);
    CHECK(strstr(kvault_errmsg(), "SignatureDoesNotMatch"));
    CHECK(strstr(kvault_errmsg(), "check AWS_SECRET_ACCESS_KEY and the system clock"));
    CHECK(strstr(kvault_errmsg(), "(HTTP 403)"));
    CHECK(!strstr(kvault_errmsg(), secret));
    CHECK(!strstr(kvault_errmsg(), getenv("AWS_SECRET_ACCESS_KEY")));
}

static void wrong_access_key_is_auth(void)
{
    kv_store *bad = NULL;
    int rc;
    set_env("AWS_ACCESS_KEY_ID", "AKIANOSUCHKEY0000000");
    rc = open_store("", 1, &bad);
    restore_env();
    CHECK_OK(rc);
    rc = kv_store_put(bad, "auth/x", "x", 1, NULL);
    fprintf(stderr, "  put: %s\n", kvault_errmsg());
    kv_store_close(bad);
    CHECK(rc == KV_EAUTH);
    CHECK(strstr(kvault_errmsg(), "InvalidAccessKeyId"));
    CHECK(strstr(kvault_errmsg(), "check AWS_ACCESS_KEY_ID"));
}

static void missing_bucket_is_not_found(void)
{
    kv_store *nb = NULL;
    int rc;
    char name[64], url[96];
    snprintf(name, sizeof name, "kv-missing-%ld", (long)getpid());
    snprintf(url, sizeof url, "s3://%s/p", name);
    CHECK_OK(kvt_store_open(url, &nb));
    rc = kv_store_put(nb, "k", "x", 1, NULL);
    fprintf(stderr, "  put: %s\n", kvault_errmsg());
    CHECK(rc == KV_ENOTFOUND);
    CHECK(strstr(kvault_errmsg(), "NoSuchBucket"));
    CHECK(strstr(kvault_errmsg(), name));
    CHECK(strstr(kvault_errmsg(), "does not exist"));
    rc = kv_store_list(nb, "", NULL, NULL);
    kv_store_close(nb);
    CHECK(rc == KV_ENOTFOUND);
    CHECK(strstr(kvault_errmsg(), name));
}

static void missing_key_messages(void)
{
    char buf[8];
    size_t got;
    kv_object_info info;
    CHECK(kv_store_get(st, "no/such/key", 0, sizeof buf, buf, &got) == KV_ENOTFOUND);
    CHECK(strstr(kvault_errmsg(), "NoSuchKey"));
    CHECK(strstr(kvault_errmsg(), "/no/such/key"));
    CHECK(kv_store_stat(st, "no/such/key", &info) == KV_ENOTFOUND);
    CHECK(strstr(kvault_errmsg(), "(HTTP 404)"));
    CHECK_OK(kv_store_remove(st, "no/such/key"));
}

/* The signed x-amz-content-sha256 is what proves a body: the caller's
 * SHA-256 (kv_digest.sha256) is signed as given, so a wrong one must be
 * refused for PutObject and UploadPart alike; a digest without a SHA-256
 * (the manifest's: CRC32C only) has the body hashed by the backend. */
static void payload_sha256_is_checked(void)
{
    static const char body[] = "payload signing";
    kv_digest good = {0}, bad = {0}, crc_only = {0};
    unsigned int md_len = 0;
    char back[sizeof body];
    size_t got;
    kv_upload *up;
    int rc;

    CHECK(EVP_Digest(body, sizeof body, good.sha256, &md_len, EVP_sha256(), NULL) == 1);
    good.has_sha256 = bad.has_sha256 = 1;
    bad.sha256[0] = (unsigned char)(good.sha256[0] ^ 1);
    CHECK_OK(kv_store_put(st, "signing/x", body, sizeof body, &good));
    CHECK_OK(kv_store_get(st, "signing/x", 0, sizeof back, back, &got));
    CHECK(got == sizeof body && memcmp(back, body, got) == 0);
    CHECK_OK(kv_store_put(st, "signing/x", body, sizeof body, &crc_only));

    rc = kv_store_put(st, "signing/x", body, sizeof body, &bad);
    fprintf(stderr, "  put: %s\n", kvault_errmsg());
    CHECK(rc == KV_ECORRUPT);
    CHECK(strstr(kvault_errmsg(), "XAmzContentSHA256Mismatch"));

    CHECK_OK(kv_store_upload_begin(st, "signing/mp", sizeof body, sizeof body, &up));
    rc = kv_store_upload_part(st, up, 1, 0, body, sizeof body, &bad);
    fprintf(stderr, "  part: %s\n", kvault_errmsg());
    CHECK(rc == KV_ECORRUPT);
    CHECK(strstr(kvault_errmsg(), "XAmzContentSHA256Mismatch"));
    CHECK_OK(kv_store_upload_part(st, up, 1, 0, body, sizeof body, &good));
    CHECK_OK(kv_store_upload_complete(st, up));
    CHECK_OK(kv_store_remove(st, "signing/mp"));
    CHECK_OK(kv_store_remove(st, "signing/x"));
}

static void no_credentials_is_auth(void)
{
    kv_store *none = NULL;
    int rc;
    set_env("AWS_ACCESS_KEY_ID", NULL);
    set_env("AWS_SECRET_ACCESS_KEY", NULL);
    set_env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
    set_env("AWS_CONFIG_FILE", "/nonexistent/config");
    rc = open_store("", 1, &none);
    restore_env();
    kv_store_close(none);
    fprintf(stderr, "  open: %s\n", kvault_errmsg());
    CHECK(rc == KV_EAUTH);
    CHECK(strstr(kvault_errmsg(), "AWS_ACCESS_KEY_ID"));
}

/* ---- settings from profile files ---------------------------------------- */

static int write_text(const char *path, const char *text)
{
    return kv_write_file_atomic(path, text, strlen(text));
}

static void settings_from_profile_files(void)
{
    char dir[] = "/tmp/kvs3-profile-XXXXXX", creds[256], config[256], text[2048];
    kv_store *p = NULL;
    char buf[16];
    size_t got = 0;
    int rc;

    CHECK(mkdtemp(dir));
    snprintf(creds, sizeof creds, "%s/credentials", dir);
    snprintf(config, sizeof config, "%s/config", dir);
    /* the keys live only in profile "kvt"; "default" holds wrong ones */
    snprintf(text, sizeof text,
             "[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = wrong\n\n"
             "# a comment\n[kvt]\naws_access_key_id = %s\naws_secret_access_key=%s  \n",
             getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"));
    CHECK_OK(write_text(creds, text));
    snprintf(text, sizeof text,
             "[default]\nregion = eu-west-1\n[profile kvt]\nregion = %s\n"
             "s3 =\n  addressing_style = path\nendpoint_url = %s\n",
             getenv("AWS_REGION"), getenv("AWS_ENDPOINT_URL"));
    CHECK_OK(write_text(config, text));
    set_env("AWS_PROFILE", "kvt");
    set_env("AWS_SHARED_CREDENTIALS_FILE", creds);
    set_env("AWS_CONFIG_FILE", config);
    set_env("AWS_ACCESS_KEY_ID", NULL);
    set_env("AWS_SECRET_ACCESS_KEY", NULL);
    set_env("AWS_ENDPOINT_URL", NULL);
    set_env("AWS_REGION", NULL);
    rc = open_store("", 1, &p);
    restore_env();
    kv_rm_rf(dir);
    CHECK_OK(rc);
    rc = kv_store_put(p, "profile/x", "from profile", 12, NULL);
    if (rc == KV_OK)
        rc = kv_store_get(p, "profile/x", 0, sizeof buf, buf, &got);
    kv_store_close(p);
    CHECK_OK(rc);
    CHECK_EQ_U64(got, 12);
    CHECK(memcmp(buf, "from profile", 12) == 0);
    CHECK_OK(kv_store_remove(st, "profile/x"));
}

/* ---- listing and keys --------------------------------------------------- */

typedef struct collected {
    char keys[16][64];
    int n;
} collected;

static int collect(const char *key, const kv_object_info *info, void *p)
{
    collected *c = p;
    (void)info;
    if (c->n < 16)
        snprintf(c->keys[c->n], sizeof c->keys[0], "%s", key);
    c->n++;
    return 0;
}

static void list_pages(void)
{
    /* pages of 2 keys: 7 keys take 4 requests with continuation tokens */
    collected c = {.n = 0};
    kv_store *paged = NULL;
    char key[32];
    int rc;
    for (int i = 0; i < 7; i++) {
        snprintf(key, sizeof key, "pages/k%d", i);
        CHECK_OK(kv_store_put(st, key, key, strlen(key), NULL));
    }
    CHECK_OK(kv_store_put(st, "pagesX", "x", 1, NULL)); /* not under "pages/" */
    set_env("KVAULT_S3_MAX_KEYS", "2");
    rc = open_store("", 1, &paged);
    restore_env();
    CHECK_OK(rc);
    rc = kv_store_list(paged, "pages/", collect, &c);
    kv_store_close(paged);
    CHECK_OK(rc);
    CHECK_EQ_U64(c.n, 7);
    for (int i = 0; i < 7; i++) {
        snprintf(key, sizeof key, "pages/k%d", i);
        CHECK_STR(c.keys[i], key);
    }
    for (int i = 0; i < 7; i++) {
        snprintf(key, sizeof key, "pages/k%d", i);
        CHECK_OK(kv_store_remove(st, key));
    }
    CHECK_OK(kv_store_remove(st, "pagesX"));
}

static void keys_needing_encoding(void)
{
    static const char *const keys[] = {"enc/a b", "enc/plus+sign", "enc/eq=amp&q?x",
                                       "enc/tilde~pct%41", "enc/utf8-\xc3\xa9\xe2\x82\xac",
                                       "enc/semi;colon:comma,star*", NULL};
    collected c = {.n = 0};
    char buf[64];
    size_t got;
    for (int i = 0; keys[i]; i++) {
        CHECK_OK(kv_store_put(st, keys[i], keys[i], strlen(keys[i]), NULL));
        CHECK_OK(kv_store_get(st, keys[i], 0, sizeof buf, buf, &got));
        CHECK_EQ_U64(got, strlen(keys[i]));
        CHECK(memcmp(buf, keys[i], got) == 0);
    }
    CHECK_OK(kv_store_list(st, "enc/", collect, &c));
    CHECK_EQ_U64(c.n, 6);
    for (int i = 0; keys[i]; i++)
        CHECK_OK(kv_store_remove(st, keys[i]));
}

static int first_info(const char *key, const kv_object_info *info, void *p)
{
    (void)key;
    *(kv_object_info *)p = *info;
    return 1; /* one is enough */
}

static void stat_and_list_report_size_time_etag(void)
{
    kv_object_info info, listed;
    time_t now = time(NULL);
    CHECK_OK(kv_store_put(st, "stat/x", "hello world", 11, NULL));
    CHECK_OK(kv_store_stat(st, "stat/x", &info));
    CHECK_EQ_U64(info.size, 11);
    CHECK(info.mtime_unix > now - 300 && info.mtime_unix < now + 300);
    CHECK_STR(info.etag, "5eb63bbbe01eeed093cb22bb8f5acdc3"); /* MD5 of the body */
    CHECK(kv_store_list(st, "stat/", first_info, &listed) == 1);
    CHECK_EQ_U64(listed.size, 11);
    CHECK(listed.mtime_unix > now - 300 && listed.mtime_unix < now + 300);
    CHECK_STR(listed.etag, info.etag);
    CHECK_OK(kv_store_remove(st, "stat/x"));
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"multipart_listings", multipart_listings},
        {"entity_too_small_is_invalid", entity_too_small_is_invalid},
        {"wrong_secret_is_auth", wrong_secret_is_auth},
        {"wrong_access_key_is_auth", wrong_access_key_is_auth},
        {"missing_bucket_is_not_found", missing_bucket_is_not_found},
        {"missing_key_messages", missing_key_messages},
        {"payload_sha256_is_checked", payload_sha256_is_checked},
        {"no_credentials_is_auth", no_credentials_is_auth},
        {"settings_from_profile_files", settings_from_profile_files},
        {"list_pages", list_pages},
        {"keys_needing_encoding", keys_needing_encoding},
        {"stat_and_list_report_size_time_etag", stat_and_list_report_size_time_etag},
        {NULL, NULL},
    };
    collected left = {.n = 0};
    int rc;

    if (argc < 2 || strncmp(argv[1], "s3://", 5) != 0) {
        fprintf(stderr, "usage: test_s3 s3://bucket/prefix [CASE-FILTER]\n");
        return 2;
    }
    snprintf(base_url, sizeof base_url, "%s/run-%ld-%ld", argv[1], (long)time(NULL), (long)getpid());
    if (open_store("", 0, &st) != KV_OK) {
        fprintf(stderr, "cannot open %s: %s\n", base_url, kv_errmsg());
        return 2;
    }
    if (getenv("KV_TEST_VERBOSE"))
        kvault_global_set(&(kvault_global){.version = KVAULT_GLOBAL_VERSION, .verbosity = atoi(getenv("KV_TEST_VERBOSE"))});
    rc = kvt_run(cases, argc - 1, argv + 1);
    /* every case cleans up after itself */
    if (kv_store_list(st, "", collect, &left) != KV_OK || left.n != 0) {
        fprintf(stderr, "objects left under %s: %d (%s)\n", base_url, left.n,
                left.n ? left.keys[0] : kv_errmsg());
        rc = 1;
    }
    kv_store_close(st);
    return rc;
}
