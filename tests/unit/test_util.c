#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "http/http.h"
#include "util/base64.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/random.h"
#include "util/secret.h"
#include "util/time.h"
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

/* RFC 4648 section 10 */
static void base64_known_vectors(void)
{
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                        "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char enc[16];
        unsigned char dec[16];
        size_t n = 99;
        CHECK_EQ_U64(kv_base64_encode(plain[i], strlen(plain[i]), enc), strlen(coded[i]));
        CHECK_STR(enc, coded[i]);
        CHECK_EQ_U64(KV_BASE64_LEN(strlen(plain[i])), strlen(coded[i]));
        CHECK(kv_base64_decode(coded[i], strlen(coded[i]), dec, &n) == 0);
        CHECK_EQ_U64(n, strlen(plain[i]));
        CHECK(memcmp(dec, plain[i], n) == 0);
    }
}

static void base64_round_trip_and_bad_input(void)
{
    unsigned char all[256], dec[256];
    char enc[KV_BASE64_LEN(256) + 1];
    size_t n;
    for (size_t i = 0; i < sizeof all; i++)
        all[i] = (unsigned char)i;
    for (size_t len = 0; len <= sizeof all; len += 37) {
        size_t elen = kv_base64_encode(all, len, enc);
        CHECK(kv_base64_decode(enc, elen, dec, &n) == 0);
        CHECK_EQ_U64(n, len);
        CHECK(memcmp(dec, all, len) == 0);
    }
    CHECK(kv_base64_decode("Zm9", 3, dec, &n) == -1);       /* not a multiple of 4 */
    CHECK(kv_base64_decode("Zm9v!A==", 8, dec, &n) == -1);  /* bad character */
    CHECK(kv_base64_decode("Zg=v", 4, dec, &n) == -1);      /* data after padding */
    CHECK(kv_base64_decode("Zg==Zm9v", 8, dec, &n) == -1);  /* padding before the end */
    CHECK(kv_base64_decode("Z===", 4, dec, &n) == -1);
    CHECK(kv_base64_decode("Zm-_", 4, dec, &n) == -1);      /* URL-safe is not standard */
}

static void base64url_has_no_padding(void)
{
    kv_buf b = KV_BUF_INIT;
    const unsigned char raw[] = {0xfb, 0xff, 0xbf, 0x01};
    CHECK_OK(kv_buf_puts(&b, "x."));
    CHECK_OK(kv_base64url_append(&b, raw, sizeof raw));
    CHECK_STR(b.data, "x.-_-_AQ");
    CHECK_OK(kv_base64url_append(&b, "", 0));
    CHECK_STR(b.data, "x.-_-_AQ");
    kv_buf_free(&b);
}

static void crc32c_base64_round_trip(void)
{
    char b64[9];
    uint32_t v = 0;
    kv_crc32c_base64(0xe3069283u, b64);   /* crc32c("123456789") */
    CHECK_STR(b64, "4waSgw==");
    CHECK(kv_crc32c_from_base64(b64, &v));
    CHECK_EQ_U64(v, 0xe3069283u);
    kv_crc32c_base64(0, b64);
    CHECK_STR(b64, "AAAAAA==");
    CHECK(!kv_crc32c_from_base64("4waSgw=", &v));
    CHECK(!kv_crc32c_from_base64("4waSgwAA", &v));   /* 6 bytes, not 4 */
    CHECK(!kv_crc32c_from_base64(NULL, &v));
}

static void time_parses_http_dates(void)
{
    /* RFC 9110's example */
    CHECK_EQ_U64(kv_time_parse_http("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    CHECK_EQ_U64(kv_time_parse_http("Sun, 6 Nov 1994 08:49:37 GMT"), 784111777);
    CHECK_EQ_U64(kv_time_parse_http("sunday, 06 NOV 1994 08:49:37"), 784111777);
    CHECK_EQ_U64(kv_time_parse_http("Thu, 29 Feb 2024 23:59:60 GMT"), 1709251200);
    CHECK_EQ_U64(kv_time_parse_http("Tue, 01 Mar 2022 00:00:00 GMT"), 1646092800);
    CHECK_EQ_U64(kv_time_parse_http(NULL), 0);
    CHECK_EQ_U64(kv_time_parse_http(""), 0);
    CHECK_EQ_U64(kv_time_parse_http("Sun 06 Nov 1994 08:49:37 GMT"), 0);
    CHECK_EQ_U64(kv_time_parse_http("Sun, 06 Nox 1994 08:49:37 GMT"), 0);
    CHECK_EQ_U64(kv_time_parse_http("Sun, 32 Nov 1994 08:49:37 GMT"), 0);
    CHECK_EQ_U64(kv_time_parse_http("Sun, 06 Nov 1994 24:49:37 GMT"), 0);
    CHECK_EQ_U64(kv_time_parse_http("Sun, 06 Nov 1994 08:49"), 0);
    CHECK_EQ_U64(kv_time_parse_http("1994-11-06T08:49:37Z"), 0);
}

static void time_parses_rfc3339(void)
{
    CHECK_EQ_U64(kv_time_parse_rfc3339("1994-11-06T08:49:37Z"), 784111777);
    CHECK_EQ_U64(kv_time_parse_rfc3339("1994-11-06T08:49:37.123Z"), 784111777);
    CHECK_EQ_U64(kv_time_parse_rfc3339("2024-02-29T00:00:00.000+00:00"), 1709164800);
    CHECK_EQ_U64(kv_time_parse_rfc3339(NULL), 0);
    CHECK_EQ_U64(kv_time_parse_rfc3339("1994-13-06T08:49:37Z"), 0);
    CHECK_EQ_U64(kv_time_parse_rfc3339("1994-11-06 08:49:37Z"), 0);
    CHECK_EQ_U64(kv_time_parse_rfc3339("Sun, 06 Nov 1994 08:49:37 GMT"), 0);
}

static void random_hex_and_secret(void)
{
    char a[65], b[65];
    CHECK_OK(kv_random_hex(a, 64));
    CHECK_OK(kv_random_hex(b, 64));
    CHECK_EQ_U64(strlen(a), 64);
    CHECK_EQ_U64(strspn(a, "0123456789abcdef"), 64);
    CHECK(strcmp(a, b) != 0);
    CHECK_OK(kv_random_hex(a, 0));
    CHECK_STR(a, "");
    CHECK(kv_random_hex(a, 65) == KV_EINVAL);
    kv_secret_free(strdup("hunter2"));
    kv_secret_free(NULL);
}

static void http_status_classes(void)
{
    CHECK_EQ_U64(kv_http_status_code(401), KV_EAUTH);
    CHECK_EQ_U64(kv_http_status_code(403), KV_EAUTH);
    CHECK_EQ_U64(kv_http_status_code(404), KV_ENOTFOUND);
    CHECK_EQ_U64(kv_http_status_code(412), KV_EEXIST);
    CHECK_EQ_U64(kv_http_status_code(400), KV_EINVAL);
    static const long transient[] = {408, 429, 500, 502, 503, 504};
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        CHECK_EQ_U64(kv_http_status_code(transient[i]), KV_ETRANSIENT);
    static const long other[] = {300, 405, 409, 410, 501, 505, 599};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        CHECK_EQ_U64(kv_http_status_code(other[i]), KV_ERR);
}

static void http_content_range_and_etag(void)
{
    kv_http_header h = {"content-range", "bytes 100-199/1000"};
    kv_http_resp resp = {206, KV_BUF_INIT, 100, &h, 1};
    char etag[8];
    CHECK_OK(kv_http_check_content_range(&resp, 100, "s3://b/k"));
    CHECK(kv_http_check_content_range(&resp, 0, "s3://b/k") == KV_ECORRUPT);
    CHECK_STR(kv_errmsg(), "s3://b/k: asked for bytes from 0, the server sent range "
                           "'bytes 100-199/1000'");
    resp.nheaders = 0;
    CHECK(kv_http_check_content_range(&resp, 5, "gs://b/k") == KV_ECORRUPT);
    CHECK_STR(kv_errmsg(), "gs://b/k: asked for bytes from 5, the server sent range '(none)'");
    kv_http_etag_copy("\"abc\"", etag, sizeof etag);
    CHECK_STR(etag, "abc");
    kv_http_etag_copy("0x8D1234567", etag, sizeof etag);
    CHECK_STR(etag, "0x8D123");
    kv_http_etag_copy(NULL, etag, sizeof etag);
    CHECK_STR(etag, "");
    strcpy(etag, "\"xy\"");
    kv_http_etag_copy(etag, etag, sizeof etag);   /* in place */
    CHECK_STR(etag, "xy");
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
        {"base64_known_vectors", base64_known_vectors},
        {"base64_round_trip_and_bad_input", base64_round_trip_and_bad_input},
        {"base64url_has_no_padding", base64url_has_no_padding},
        {"crc32c_base64_round_trip", crc32c_base64_round_trip},
        {"time_parses_http_dates", time_parses_http_dates},
        {"time_parses_rfc3339", time_parses_rfc3339},
        {"random_hex_and_secret", random_hex_and_secret},
        {"http_status_classes", http_status_classes},
        {"http_content_range_and_etag", http_content_range_and_etag},
        {NULL, NULL}};
    return kvt_run(cases, argc, argv);
}
