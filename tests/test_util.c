#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/url.h"

static void crc32c_known_vectors(void)
{
    unsigned char zeros[32] = {0}, ones[32];
    memset(ones, 0xff, sizeof ones);
    /* RFC 3720 B.4 and the common check value */
    CHECK_EQ_U64(kv_crc32c(0, "123456789", 9), 0xe3069283u);
    CHECK_EQ_U64(kv_crc32c(0, zeros, 32), 0x8a9136aau);
    CHECK_EQ_U64(kv_crc32c(0, ones, 32), 0x62a8ab43u);
    CHECK_EQ_U64(kv_crc32c(0, "", 0), 0);
}

static void crc32c_streams_and_combines(void)
{
    char data[10000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 7 + 3);
    uint32_t whole = kv_crc32c(0, data, sizeof data);
    for (size_t cut = 0; cut <= sizeof data; cut += 1237) {
        uint32_t a = kv_crc32c(0, data, cut);
        uint32_t b = kv_crc32c(0, data + cut, sizeof data - cut);
        CHECK_EQ_U64(kv_crc32c(a, data + cut, sizeof data - cut), whole);
        CHECK_EQ_U64(kv_crc32c_combine(a, b, sizeof data - cut), whole);
    }
}

static void crc32c_hex_round_trip(void)
{
    char hex[9];
    uint32_t v;
    kv_crc32c_hex(0x0a0b0c0du, hex);
    CHECK_STR(hex, "0a0b0c0d");
    CHECK_OK(kv_crc32c_parse(hex, &v));
    CHECK_EQ_U64(v, 0x0a0b0c0du);
    CHECK(kv_crc32c_parse("0a0b0c0", &v) == KV_EINVAL);
    CHECK(kv_crc32c_parse("0a0b0c0dd", &v) == KV_EINVAL);
    CHECK(kv_crc32c_parse("0A0B0C0D", &v) == KV_EINVAL);
}

static void url_parses_schemes(void)
{
    kv_url u;
    CHECK_OK(kv_url_parse("s3://bucket/some/prefix/", &u));
    CHECK_STR(u.scheme, "s3");
    CHECK_STR(u.host, "bucket");
    CHECK_STR(u.path, "some/prefix");
    CHECK(u.port == 0);
    kv_url_free(&u);

    CHECK_OK(kv_url_parse("HDFS://nn.example:9870/data", &u));
    CHECK_STR(u.scheme, "hdfs");
    CHECK_STR(u.host, "nn.example");
    CHECK(u.port == 9870);
    CHECK_STR(u.path, "data");
    kv_url_free(&u);

    CHECK_OK(kv_url_parse("file:///var/backups/", &u));
    CHECK_STR(u.scheme, "file");
    CHECK_STR(u.path, "/var/backups");
    kv_url_free(&u);

    CHECK_OK(kv_url_parse("/tmp/x", &u));
    CHECK_STR(u.scheme, "file");
    CHECK_STR(u.path, "/tmp/x");
    kv_url_free(&u);

    CHECK_OK(kv_url_parse("gs://b", &u));
    CHECK_STR(u.path, "");
    kv_url_free(&u);
}

static void url_rejects_bad_input(void)
{
    kv_url u;
    CHECK(kv_url_parse("s3:///nobucket", &u) == KV_EINVAL);
    CHECK(strstr(kv_errmsg(), "s3:///nobucket") != NULL);
    CHECK(kv_url_parse("s3://b:99999/x", &u) == KV_EINVAL);
    CHECK(kv_url_parse("file://relative", &u) == KV_EINVAL);
    CHECK(kv_url_parse("", &u) == KV_EINVAL);
}

static void url_join_and_encode(void)
{
    char *s = kv_path_join("a/b/", "/c");
    CHECK_STR(s, "a/b/c");
    free(s);
    s = kv_path_join("", "c");
    CHECK_STR(s, "c");
    free(s);
    s = kv_url_encode("a b/c=d~", 1);
    CHECK_STR(s, "a%20b/c%3Dd~");
    free(s);
    s = kv_url_encode("a/b", 0);
    CHECK_STR(s, "a%2Fb");
    free(s);
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"crc32c_known_vectors", crc32c_known_vectors},
        {"crc32c_streams_and_combines", crc32c_streams_and_combines},
        {"crc32c_hex_round_trip", crc32c_hex_round_trip},
        {"url_parses_schemes", url_parses_schemes},
        {"url_rejects_bad_input", url_rejects_bad_input},
        {"url_join_and_encode", url_join_and_encode},
        {NULL, NULL}};
    return kvt_run(cases, argc, argv);
}
