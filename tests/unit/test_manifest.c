/* Manifest round trip, its digest, and hostile manifests rejected naming
 * the field. */
#include <jansson.h>

#include "backup/layout.h"
#include "backup/manifest.h"
#include "backup/sealed.h"
#include "test.h"

#define ID "20260102T030405.678Z-a1b2c3"
#define DATE "2026-01-02"
#define KEY "prod/rocksdb/" DATE "/" ID "/manifest.json.zst"

static char *cfs[] = {"default", "users"};

static kv_mfile files[] = {
    {"000012.sst", 1234, 0xdeadbeef, "prod/rocksdb/2026-01-01/20260101T000000Z-000000/000012.sst"},
    {"CURRENT", 16, 0x01020304, "prod/rocksdb/" DATE "/" ID "/CURRENT"},
    {"MANIFEST-000005", 9007199254740992ull, 0, "prod/rocksdb/" DATE "/" ID "/MANIFEST-000005"},
};

static kv_manifest sample(void)
{
    kv_manifest m = {.version = 3, .id = ID, .env = "prod", .date = DATE,
                     .created_ms = 1767323045678,
                     .seconds = 1.5, .tool_version = "0.1.0", .db_path = "/var/db",
                     .hostname = "host1", .db_identity = "abc-123", .column_families = cfs,
                     .ncolumn_families = 2, .sequence = 4242, .files_new = 2,
                     .bytes_new = 16, .files = files, .nfiles = 2};
    return m; /* the third file is for the 2^53 limit only */
}

/* The sample as stored (sealed), and as its JSON object. */
static int sample_bytes(void **data, size_t *len)
{
    kv_manifest m = sample();
    return kv_manifest_encode(&m, data, len);
}

static json_t *sample_root(void)
{
    void *data = NULL;
    size_t len;
    json_t *root = NULL;
    int sealed;
    if (sample_bytes(&data, &len) == KV_OK)
        kv_sealed_decode(data, len, 1 << 20, "sample", &root, &sealed);
    free(data);
    return root;
}

static char *sample_json(void)
{
    json_t *root = sample_root();
    char *text = root ? json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

static void test_round_trip(void)
{
    kv_manifest back;
    void *data = NULL;
    size_t len;
    CHECK_OK(sample_bytes(&data, &len));
    CHECK(len > 4 && memcmp(data, "\x28\xb5\x2f\xfd", 4) == 0); /* a zstd frame */
    CHECK_OK(kv_manifest_parse(KEY, "prod", data, len, &back));
    free(data);
    CHECK_EQ_U64(back.version, 3);
    CHECK_STR(back.id, ID);
    CHECK_STR(back.env, "prod");
    CHECK_STR(back.date, DATE);
    CHECK_EQ_U64(back.created_ms, 1767323045678);
    CHECK(back.seconds == 1.5);
    CHECK_STR(back.tool_version, "0.1.0");
    CHECK_STR(back.db_path, "/var/db");
    CHECK_STR(back.hostname, "host1");
    CHECK_STR(back.db_identity, "abc-123");
    CHECK_EQ_U64(back.ncolumn_families, 2);
    CHECK_STR(back.column_families[1], "users");
    CHECK_EQ_U64(back.sequence, 4242);
    CHECK_EQ_U64(back.files_new, 2);
    CHECK_EQ_U64(back.bytes_new, 16);
    CHECK_EQ_U64(back.nfiles, 2);
    for (size_t i = 0; i < 2; i++) {
        CHECK_STR(back.files[i].name, files[i].name);
        CHECK_EQ_U64(back.files[i].size, files[i].size);
        CHECK_EQ_U64(back.files[i].crc32c, files[i].crc32c);
        CHECK_STR(back.files[i].object, files[i].object);
    }
    CHECK_EQ_U64(kv_manifest_bytes(&back), 1250);
    kv_manifest_free(&back);
}

/* Parses data as the manifest at key for env "prod"; expects status code
 * with a message naming the key and containing want. */
static int rejected_as(int code, const char *key, const void *data, size_t len, const char *want)
{
    kv_manifest m;
    int rc = kv_manifest_parse(key, "prod", data, len, &m);
    kv_manifest_free(&m);
    if (rc != code || !strstr(kvault_errmsg(), key) || !strstr(kvault_errmsg(), want)) {
        fprintf(stderr, "  expected rejection %d naming '%s', got %d: %s\n", code, want, rc,
                kvault_errmsg());
        return 0;
    }
    return 1;
}

static int rejected(const char *key, const char *text, const char *want)
{
    return rejected_as(KV_EINVAL, key, text, strlen(text), want);
}

/* The sample with one change made by edit(root), sealed again (as someone
 * who can write the store can): the parser itself must refuse it. */
typedef void (*edit_fn)(json_t *root);

static int rejects_edit_as(int code, edit_fn edit, const char *want)
{
    json_t *root = sample_root();
    void *data = NULL;
    size_t len;
    int ok;
    if (!root)
        return 0;
    json_object_del(root, "digest");
    edit(root);
    ok = kv_sealed_encode(root, &data, &len) == KV_OK && rejected_as(code, KEY, data, len, want);
    json_decref(root);
    free(data);
    return ok;
}

static int rejects_edit(edit_fn edit, const char *want)
{
    return rejects_edit_as(KV_EINVAL, edit, want);
}

static json_t *file0(json_t *root)
{
    return json_array_get(json_object_get(root, "files"), 0);
}

#define EDIT(fname, body)                 \
    static void fname(json_t *root)       \
    {                                     \
        body;                             \
    }

EDIT(name_dotdot, json_object_set_new(file0(root), "name", json_string("../x")))
EDIT(name_parent_only, json_object_set_new(file0(root), "name", json_string("..")))
EDIT(name_absolute, json_object_set_new(file0(root), "name", json_string("/etc/passwd")))
EDIT(name_slash, json_object_set_new(file0(root), "name", json_string("a/b")))
EDIT(name_empty, json_object_set_new(file0(root), "name", json_string("")))
EDIT(name_nul, json_object_set_new(file0(root), "name", json_stringn("a\0/../b", 7)))
EDIT(name_number, json_object_set_new(file0(root), "name", json_integer(5)))
EDIT(size_string, json_object_set_new(file0(root), "size", json_string("1234")))
EDIT(size_real, json_object_set_new(file0(root), "size", json_real(1234.5)))
EDIT(size_negative, json_object_set_new(file0(root), "size", json_integer(-1)))
EDIT(size_huge, json_object_set_new(file0(root), "size", json_integer((1ll << 53) + 1)))
EDIT(size_missing, json_object_del(file0(root), "size"))
EDIT(crc_upper, json_object_set_new(file0(root), "crc32c", json_string("DEADBEEF")))
EDIT(crc_short, json_object_set_new(file0(root), "crc32c", json_string("deadbee")))
EDIT(crc_nonhex, json_object_set_new(file0(root), "crc32c", json_string("deadbeeg")))
EDIT(crc_number, json_object_set_new(file0(root), "crc32c", json_integer(12)))
EDIT(duplicate_name, json_object_set_new(json_array_get(json_object_get(root, "files"), 1), "name",
                                         json_string("000012.sst")))
EDIT(object_other_env, json_object_set_new(file0(root), "object", json_string("other/rocksdb/x/y")))
EDIT(object_dotdot, json_object_set_new(file0(root), "object",
                                        json_string("prod/rocksdb/../../etc/passwd")))
EDIT(object_absolute, json_object_set_new(file0(root), "object", json_string("/prod/rocksdb/x")))
EDIT(object_empty_segment, json_object_set_new(file0(root), "object", json_string("prod/rocksdb//x")))
EDIT(object_not_rocksdb, json_object_set_new(file0(root), "object", json_string("prod/x")))
EDIT(format_other, json_object_set_new(root, "format", json_string("something-else")))
EDIT(version_newer, json_object_set_new(root, "version", json_integer(5)))
EDIT(export_no_layout, json_object_set_new(root, "version", json_integer(4)))
EDIT(version_missing, json_object_del(root, "version"))
EDIT(env_other, json_object_set_new(root, "env", json_string("staging")))
EDIT(id_elsewhere, json_object_set_new(root, "id", json_string("20260102T030405Z-ffffff")))
EDIT(date_wrong, json_object_set_new(root, "date", json_string("2026-01-03")))
EDIT(totals_lie, json_object_set_new(json_object_get(root, "totals"), "bytes", json_integer(1)))
EDIT(files_not_array, json_object_set_new(root, "files", json_object()))
EDIT(file_not_object, json_array_append_new(json_object_get(root, "files"), json_string("x")))
EDIT(cfs_empty, json_object_set_new(json_object_get(root, "source"), "column_families", json_array()))
EDIT(created_bad, json_object_set_new(root, "created", json_string("yesterday")))

static void test_hostile_names(void)
{
    CHECK(rejects_edit(name_dotdot, "files[0].name"));
    CHECK(rejects_edit(name_parent_only, "files[0].name"));
    CHECK(rejects_edit(name_absolute, "files[0].name"));
    CHECK(rejects_edit(name_slash, "files[0].name"));
    CHECK(rejects_edit(name_empty, "files[0].name"));
    CHECK(rejects_edit(name_nul, "not valid JSON"));
    CHECK(rejects_edit(name_number, "files[0].name"));
    CHECK(rejects_edit(duplicate_name, "appears twice"));
}

static void test_hostile_sizes_and_crcs(void)
{
    CHECK(rejects_edit(size_string, "files[0].size"));
    CHECK(rejects_edit(size_real, "files[0].size"));
    CHECK(rejects_edit(size_negative, "files[0].size"));
    CHECK(rejects_edit(size_huge, "files[0].size"));
    CHECK(rejects_edit(size_missing, "files[0].size"));
    CHECK(rejects_edit(crc_upper, "files[0].crc32c"));
    CHECK(rejects_edit(crc_short, "files[0].crc32c"));
    CHECK(rejects_edit(crc_nonhex, "files[0].crc32c"));
    CHECK(rejects_edit(crc_number, "files[0].crc32c"));
    CHECK(rejects_edit(totals_lie, "totals"));
}

static void test_hostile_objects(void)
{
    CHECK(rejects_edit(object_other_env, "files[0].object"));
    CHECK(rejects_edit(object_dotdot, "files[0].object"));
    CHECK(rejects_edit(object_absolute, "files[0].object"));
    CHECK(rejects_edit(object_empty_segment, "files[0].object"));
    CHECK(rejects_edit(object_not_rocksdb, "files[0].object"));
}

static void test_hostile_header(void)
{
    CHECK(rejects_edit(format_other, "'format'"));
    CHECK(rejects_edit_as(KV_EUNSUPPORTED, version_newer, "newer than the 4 this kvault reads"));
    CHECK(rejects_edit(export_no_layout, "'layout'"));
    CHECK(rejects_edit(version_missing, "'version'"));
    CHECK(rejects_edit(env_other, "'env'"));
    CHECK(rejects_edit(id_elsewhere, "'id'"));
    CHECK(rejects_edit(date_wrong, "'date'"));
    CHECK(rejects_edit(files_not_array, "'files'"));
    CHECK(rejects_edit(file_not_object, "files[2]"));
    CHECK(rejects_edit(cfs_empty, "source.column_families"));
    CHECK(rejects_edit(created_bad, "'created'"));
}

static void test_not_json(void)
{
    char *json = sample_json(), *dup;
    CHECK(json);
    CHECK(rejected(KEY, "", "not valid JSON"));
    CHECK(rejected(KEY, "[1, 2]", "not a JSON object"));
    CHECK(rejected(KEY, "{\"format\": \"kvault-backup\"", "not valid JSON"));
    /* a repeated member must not let a second value hide behind the first */
    dup = malloc(strlen(json) + 64);
    CHECK(dup);
    sprintf(dup, "{\"version\": 1, %s", json + 1);
    free(json);
    CHECK(rejected(KEY, dup, "not valid JSON"));
    free(dup);
}

/* Edited without sealing again, or its digest taken away: refused. */
static void test_digest(void)
{
    json_t *root = sample_root();
    char *text;
    CHECK(root);
    json_object_set_new(json_array_get(json_object_get(root, "files"), 1), "name",
                        json_string("CURREJT"));
    text = json_dumps(root, JSON_COMPACT);
    CHECK(text && rejected_as(KV_ECORRUPT, KEY, text, strlen(text),
                              "does not match its digest"));
    free(text);
    json_object_del(root, "digest");
    text = json_dumps(root, JSON_COMPACT);
    CHECK(text && rejected_as(KV_ECORRUPT, KEY, text, strlen(text), "has no digest"));
    free(text);
    json_decref(root);
}

/* Every single-bit flip of a stored manifest, and of its JSON, is refused
 * (none parses into a manifest), and the refusal names the manifest. */
static void test_every_bit_flip(void)
{
    void *data = NULL;
    char *json = sample_json();
    size_t len, flips = 0, refused = 0;
    CHECK_OK(sample_bytes(&data, &len));
    CHECK(json);
    for (int pass = 0; pass < 2; pass++) {
        unsigned char *buf = pass ? (unsigned char *)json : data;
        size_t n = pass ? strlen(json) : len;
        for (size_t i = 0; i < n * 8; i++) {
            kv_manifest m;
            int rc;
            buf[i / 8] ^= (unsigned char)(1u << (i % 8));
            rc = kv_manifest_parse(KEY, "prod", buf, n, &m);
            kv_manifest_free(&m);
            buf[i / 8] ^= (unsigned char)(1u << (i % 8));
            flips++;
            refused += rc != KV_OK && strstr(kvault_errmsg(), KEY) != NULL;
            if (rc == KV_OK)
                fprintf(stderr, "  flip of bit %zu (%s) was accepted\n", i, pass ? "JSON" : "stored");
        }
    }
    fprintf(stderr, "  %zu flips, %zu refused naming the manifest\n", flips, refused);
    CHECK_EQ_U64(refused, flips);
    free(data);
    free(json);
}

static void test_size_limit_is_2_pow_53(void)
{
    kv_manifest m = sample(), back;
    void *data = NULL;
    size_t len;
    m.files = files + 1;   /* CURRENT (16) and MANIFEST (2^53): the sum is over */
    m.nfiles = 2;
    CHECK_OK(kv_manifest_encode(&m, &data, &len));
    CHECK(kv_manifest_parse(KEY, "prod", data, len, &back) == KV_EINVAL);
    kv_manifest_free(&back);
    free(data);
    CHECK(strstr(kvault_errmsg(), KEY));
}

static void test_env_and_ids(void)
{
    const char *env;
    char id[64], date[16];
    CHECK_OK(kv_env_resolve(NULL, &env));
    CHECK_STR(env, "default");
    CHECK_OK(kv_env_resolve("prod-eu_1.x", &env));
    CHECK(kv_env_resolve(".hidden", &env) == KV_EINVAL);
    CHECK(strstr(kvault_errmsg(), "env '.hidden'"));
    CHECK(kv_env_resolve("a/b", &env) == KV_EINVAL);
    CHECK(kv_env_resolve("..", &env) == KV_EINVAL);
    CHECK(kv_env_resolve("", &env) == KV_EINVAL);
    int64_t ms;
    CHECK_OK(kv_backup_id_new(1767323045678, id, date));
    CHECK(kv_backup_id_valid(id));
    CHECK(strncmp(id, "20260102T030405.678Z-", 21) == 0);
    CHECK_OK(kv_backup_id_time_ms(id, &ms));
    CHECK_EQ_U64(ms, 1767323045678);
    CHECK(kv_backup_id_valid("20260102T030405Z-a1b2c3")); /* kvault 0.1's */
    CHECK_OK(kv_backup_id_time_ms("20260102T030405Z-a1b2c3", &ms));
    CHECK_EQ_U64(ms, 1767323045000);
    CHECK_STR(date, DATE);
    CHECK_OK(kv_backup_id_date(ID, date));
    CHECK_STR(date, DATE);
    CHECK(kv_backup_id_date("../../x", date) == KV_EINVAL);
}


/* ---- SST exports (version 4) ------------------------------------------------ */

static kv_mfile export_files[] = {
    {.name = "OPTIONS-000007", .size = 100, .crc32c = 1, .object = "prod/rocksdb/" DATE "/" ID "/OPTIONS-000007"},
    {.name = "cf_users-00001.sst", .size = 2000, .crc32c = 2,
     .object = "prod/rocksdb/" DATE "/" ID "/cf_users-00001.sst", .cf = "users",
     .smallest = "AAE=", .largest = "/w==", .entries = 77},
};

static int export_bytes(void **data, size_t *len)
{
    kv_manifest m = sample();
    m.sst_export = 1;
    m.files = export_files;
    m.nfiles = 2;
    return kv_manifest_encode(&m, data, len);
}

static void test_export_round_trip(void)
{
    kv_manifest back;
    void *data = NULL;
    size_t len;
    CHECK_OK(export_bytes(&data, &len));
    CHECK_OK(kv_manifest_parse(KEY, "prod", data, len, &back));
    free(data);
    CHECK_EQ_U64(back.version, 4);
    CHECK(back.sst_export);
    CHECK(back.files[0].cf == NULL);
    CHECK_STR(back.files[1].cf, "users");
    CHECK_STR(back.files[1].smallest, "AAE=");
    CHECK_STR(back.files[1].largest, "/w==");
    CHECK_EQ_U64(back.files[1].entries, 77);
    kv_manifest_free(&back);
}

/* The export sample with file 1 changed by edit, sealed again. */
static int export_rejects(void (*edit)(json_t *file), const char *want)
{
    void *data = NULL;
    size_t len;
    json_t *root = NULL;
    int sealed, ok = 0;
    if (export_bytes(&data, &len) == KV_OK &&
        kv_sealed_decode(data, len, 1 << 20, "export", &root, &sealed) == KV_OK) {
        free(data);
        data = NULL;
        json_object_del(root, "digest");
        edit(json_array_get(json_object_get(root, "files"), 1));
        if (kv_sealed_encode(root, &data, &len) == KV_OK)
            ok = rejected_as(KV_EINVAL, KEY, data, len, want);
    }
    json_decref(root);
    free(data);
    return ok;
}

static void cf_unknown(json_t *f) { json_object_set_new(f, "cf", json_string("nosuch")); }
static void key_not_b64(json_t *f) { json_object_set_new(f, "smallest", json_string("a b?")); }
static void entries_missing(json_t *f) { json_object_del(f, "entries"); }
static void largest_number(json_t *f) { json_object_set_new(f, "largest", json_integer(3)); }

static void test_export_hostile(void)
{
    CHECK(export_rejects(cf_unknown, "column family 'nosuch'"));
    CHECK(export_rejects(key_not_b64, "files[1].smallest"));
    CHECK(export_rejects(entries_missing, "files[1].entries"));
    CHECK(export_rejects(largest_number, "files[1].largest"));
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"round_trip", test_round_trip},
        {"hostile_names", test_hostile_names},
        {"hostile_sizes_and_crcs", test_hostile_sizes_and_crcs},
        {"hostile_objects", test_hostile_objects},
        {"hostile_header", test_hostile_header},
        {"not_json", test_not_json},
        {"digest", test_digest},
        {"every_bit_flip", test_every_bit_flip},
        {"size_limit_is_2_pow_53", test_size_limit_is_2_pow_53},
        {"env_and_ids", test_env_and_ids},
        {"export_round_trip", test_export_round_trip},
        {"export_hostile", test_export_hostile},
        {NULL, NULL},
    };
    return kvt_run(cases, argc, argv);
}
