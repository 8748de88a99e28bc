/* AWS Signature Version 4 against the examples AWS publishes: the S3 API
 * reference's "Signature Calculations for the Authorization Header:
 * Transferring Payload in a Single Chunk" (GET Object, PUT Object, GET Bucket
 * lifecycle, GET Bucket list objects) and the IAM guide's signing-key
 * derivation example. Expected values are copied from those pages. */
#include "http/sign_aws.h"
#include "test.h"

#define EX_HOST "examplebucket.s3.amazonaws.com"
#define EX_DATE "20130524T000000Z"

static const kv_aws_creds ex_creds = {"AKIAIOSFODNN7EXAMPLE",
                                      "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};

/* Signs r and returns the hex signature at the end of the Authorization
 * value (static storage; NULL on failure). */
static const char *signature_of(const kv_sigv4_req *r, kv_buf *auth)
{
    const char *sig;
    kv_buf_clear(auth);
    if (kv_sigv4_authorization(r, &ex_creds, auth) != KV_OK)
        return NULL;
    sig = strstr(auth->data, "Signature=");
    return sig ? sig + 10 : NULL;
}

static void canonical_hash(const kv_sigv4_req *r, char out[65])
{
    kv_buf creq = KV_BUF_INIT, sh = KV_BUF_INIT;
    out[0] = '\0';
    if (kv_sigv4_canonical_request(r, &creq, &sh) == KV_OK)
        kv_sha256_hex(creq.data, creq.len, out);
    kv_buf_free(&creq);
    kv_buf_free(&sh);
}

static void test_get_object(void)
{
    const kv_http_header h[] = {
        {"Host", EX_HOST},
        {"Range", "bytes=0-9"},
        {"x-amz-content-sha256", KV_SHA256_EMPTY},
        {"x-amz-date", EX_DATE},
    };
    kv_sigv4_req r = {"GET", "/test.txt", NULL, 0, h, 4, KV_SHA256_EMPTY, EX_DATE,
                      "us-east-1", "s3"};
    static const char head[] =
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
        "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=";
    kv_buf auth = KV_BUF_INIT;
    char hash[65];
    canonical_hash(&r, hash);
    CHECK_STR(hash, "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    CHECK_STR(signature_of(&r, &auth),
              "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    CHECK(strncmp(auth.data, head, strlen(head)) == 0);
    kv_buf_free(&auth);
}

static void test_put_object(void)
{
    const char *body = "Welcome to Amazon S3.";
    char payload[65], hash[65];
    kv_buf auth = KV_BUF_INIT;
    kv_sha256_hex(body, strlen(body), payload);
    CHECK_STR(payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    {
        /* given out of order and in mixed case: the canonical form sorts and
         * lowercases them */
        const kv_http_header h[] = {
            {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
            {"Host", EX_HOST},
            {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
            {"x-amz-date", EX_DATE},
            {"X-Amz-Content-Sha256", payload},
        };
        /* the key "test$file.text" signs as /test%24file.text */
        kv_sigv4_req r = {"PUT", "/test$file.text", NULL, 0, h, 5, payload, EX_DATE,
                          "us-east-1", "s3"};
        canonical_hash(&r, hash);
        CHECK_STR(hash, "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
        CHECK_STR(signature_of(&r, &auth),
                  "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
        CHECK(strstr(auth.data,
                     "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"));
    }
    kv_buf_free(&auth);
}

static void test_get_bucket_lifecycle(void)
{
    const kv_http_header q[] = {{"lifecycle", ""}};
    const kv_http_header h[] = {
        {"host", EX_HOST},
        {"x-amz-content-sha256", KV_SHA256_EMPTY},
        {"x-amz-date", EX_DATE},
    };
    kv_sigv4_req r = {"GET", "/", q, 1, h, 3, KV_SHA256_EMPTY, EX_DATE, "us-east-1", "s3"};
    kv_buf auth = KV_BUF_INIT, creq = KV_BUF_INIT, sh = KV_BUF_INIT;
    char hash[65];
    CHECK_OK(kv_sigv4_canonical_request(&r, &creq, &sh));
    CHECK(strncmp(creq.data, "GET\n/\nlifecycle=\n", 17) == 0);
    canonical_hash(&r, hash);
    CHECK_STR(hash, "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
    CHECK_STR(signature_of(&r, &auth),
              "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    kv_buf_free(&auth);
    kv_buf_free(&creq);
    kv_buf_free(&sh);
}

static void test_list_objects(void)
{
    /* given in the opposite order to the canonical one */
    const kv_http_header q[] = {{"prefix", "J"}, {"max-keys", "2"}};
    const kv_http_header h[] = {
        {"host", EX_HOST},
        {"x-amz-content-sha256", KV_SHA256_EMPTY},
        {"x-amz-date", EX_DATE},
    };
    kv_sigv4_req r = {"GET", "/", q, 2, h, 3, KV_SHA256_EMPTY, EX_DATE, "us-east-1", "s3"};
    kv_buf auth = KV_BUF_INIT;
    char hash[65];
    canonical_hash(&r, hash);
    CHECK_STR(hash, "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7");
    CHECK_STR(signature_of(&r, &auth),
              "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    kv_buf_free(&auth);
}

static void test_signing_key(void)
{
    /* IAM user guide: secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY,
     * 20120215, us-east-1, iam */
    unsigned char key[32];
    char hex[65];
    CHECK_OK(kv_sigv4_signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                  "us-east-1", "iam", key));
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", key[i]);
    CHECK_STR(hex, "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

static void test_encoding(void)
{
    kv_buf b = KV_BUF_INIT;
    const kv_http_header q[] = {{"uploads", NULL}, {"prefix", "a/b c+d"}, {"list-type", "2"}};
    CHECK_OK(kv_aws_uri_encode("/dir/a b+c=d~e_f.g-h%é", 1, &b));
    CHECK_STR(b.data, "/dir/a%20b%2Bc%3Dd~e_f.g-h%25%C3%A9");
    kv_buf_clear(&b);
    CHECK_OK(kv_aws_uri_encode("a/b", 0, &b));
    CHECK_STR(b.data, "a%2Fb");
    kv_buf_clear(&b);
    CHECK_OK(kv_aws_canonical_query(q, 3, &b));
    CHECK_STR(b.data, "list-type=2&prefix=a%2Fb%20c%2Bd&uploads=");
    kv_buf_clear(&b);
    CHECK_OK(kv_aws_canonical_query(NULL, 0, &b));
    CHECK_STR(b.data, "");
    kv_buf_free(&b);
}

static void test_header_values_trimmed(void)
{
    /* inner runs of spaces collapse to one; ends are trimmed */
    const kv_http_header h[] = {{"X-Amz-Meta-A", "  one   two  "}, {"host", "h"}};
    kv_sigv4_req r = {"GET", "", NULL, 0, h, 2, KV_UNSIGNED_PAYLOAD, EX_DATE, "us-east-1", "s3"};
    kv_buf creq = KV_BUF_INIT, sh = KV_BUF_INIT;
    CHECK_OK(kv_sigv4_canonical_request(&r, &creq, &sh));
    CHECK_STR(creq.data, "GET\n/\n\nhost:h\nx-amz-meta-a:one two\n\nhost;x-amz-meta-a\n"
                         "UNSIGNED-PAYLOAD");
    CHECK_STR(sh.data, "host;x-amz-meta-a");
    kv_buf_free(&creq);
    kv_buf_free(&sh);
}

static void test_amz_date(void)
{
    char d[17];
    kv_aws_amz_date(1369353600, d); /* 2013-05-24 00:00:00 UTC */
    CHECK_STR(d, EX_DATE);
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"get_object", test_get_object},
        {"put_object", test_put_object},
        {"get_bucket_lifecycle", test_get_bucket_lifecycle},
        {"list_objects", test_list_objects},
        {"signing_key", test_signing_key},
        {"encoding", test_encoding},
        {"header_values_trimmed", test_header_values_trimmed},
        {"amz_date", test_amz_date},
        {NULL, NULL},
    };
    return kvt_run(cases, argc, argv);
}
