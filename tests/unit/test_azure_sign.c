/* Azure Shared Key signing against the examples of Microsoft's "Authorize
 * with Shared Key" (learn.microsoft.com/rest/api/storageservices/
 * authorize-with-shared-key). The page publishes strings to sign and
 * canonical forms but no key with its signature, so the signatures are
 * checked against RFC 4231's HMAC-SHA256 vector here and against Azurite's
 * acceptance in the integration tests. */
#include <string.h>

#include "http/sign_azure.h"
#include "test.h"
#include "util/buf.h"

#define DOC_DATE "Fri, 26 Jun 2015 23:39:12 GMT"

static const kv_http_header doc_headers[] = {
    {"x-ms-version", "2015-02-21"},
    {"x-ms-date", DOC_DATE},
};

static void string_to_sign_of_the_get_example(void)
{
    /* "GET ...mycontainer?restype=container&comp=metadata&timeout=20" */
    const kv_http_header q[] = {{"restype", "container"}, {"comp", "metadata"}, {"timeout", "20"}};
    const kv_http_header hs[] = {{"x-ms-date", "Sun, 11 Oct 2009 21:49:13 GMT"},
                                 {"x-ms-version", "2009-09-19"}};
    kv_azure_sign_req r = {"GET", "myaccount", "/mycontainer", q, 3, hs, 2, 0};
    kv_buf out = KV_BUF_INIT;
    CHECK_OK(kv_azure_string_to_sign(&r, &out));
    CHECK_STR(out.data, "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\n"
                        "x-ms-version:2009-09-19\n"
                        "/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20");
    kv_buf_free(&out);
}

static void zero_content_length_signs_empty(void)
{
    /* the page's "Content-Length Header in Version 2015-02-21 and Later"
     * example: PUT ...mycontainer?restype=container&timeout=30, length 0 */
    const kv_http_header q[] = {{"restype", "container"}, {"timeout", "30"}};
    kv_azure_sign_req r = {"PUT", "myaccount", "/mycontainer", q, 2, doc_headers, 2, 0};
    kv_buf out = KV_BUF_INIT;
    CHECK_OK(kv_azure_string_to_sign(&r, &out));
    CHECK_STR(out.data, "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:" DOC_DATE
                        "\nx-ms-version:2015-02-21\n"
                        "/myaccount/mycontainer\nrestype:container\ntimeout:30");
    kv_buf_free(&out);
}

static void canonical_headers_example(void)
{
    /* the page's example, from headers in another order and case, with the
     * white space its rules fold or trim, and headers that are not x-ms- */
    const kv_http_header hs[] = {
        {"X-MS-Version", "2014-02-14"},
        {"Content-Type", "text/plain"},
        {"x-ms-date", "  Sat, 21   Feb 2015\t00:48:38 GMT "},
        {"x-msx-other", "not canonical"},
    };
    kv_buf out = KV_BUF_INIT;
    CHECK_OK(kv_azure_canonical_headers(hs, 4, &out));
    CHECK_STR(out.data, "x-ms-date:Sat, 21 Feb 2015 00:48:38 GMT\nx-ms-version:2014-02-14\n");
    kv_buf_clear(&out);
    CHECK_OK(kv_azure_canonical_headers(hs + 1, 1, &out));
    CHECK_STR(out.data, "");
    kv_buf_free(&out);
}

static void canonical_resource_examples(void)
{
    const kv_http_header meta[] = {{"restype", "container"}, {"comp", "metadata"}};
    /* several values of one name: sorted and joined with ',' */
    const kv_http_header list[] = {{"restype", "container"},
                                   {"comp", "list"},
                                   {"include", "snapshots"},
                                   {"include", "metadata"},
                                   {"include", "uncommittedblobs"}};
    kv_buf out = KV_BUF_INIT;
    CHECK_OK(kv_azure_canonical_resource("myaccount", "/mycontainer", meta, 2, &out));
    CHECK_STR(out.data, "/myaccount/mycontainer\ncomp:metadata\nrestype:container");
    kv_buf_clear(&out);
    /* the page's URL says /container where its result says /mycontainer;
     * the result's path is used on both sides here */
    CHECK_OK(kv_azure_canonical_resource("myaccount", "/mycontainer", list, 5, &out));
    CHECK_STR(out.data,
              "/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\n"
              "restype:container");
    kv_buf_clear(&out);
    /* Get Blob at the secondary location signs as the primary account */
    CHECK_OK(kv_azure_canonical_resource("myaccount", "/mycontainer/myblob", NULL, 0, &out));
    CHECK_STR(out.data, "/myaccount/mycontainer/myblob");
    kv_buf_free(&out);
}

static void emulator_path_names_the_account_twice(void)
{
    /* path-style emulator URL .../devstoreaccount1/c/some%20blob?comp=block
     * &blockid=...: the path as sent (encoded), the query value decoded */
    const kv_http_header q[] = {{"comp", "block"}, {"blockid", "AAAA+/=="}};
    kv_buf out = KV_BUF_INIT;
    CHECK_OK(kv_azure_canonical_resource("devstoreaccount1", "/devstoreaccount1/c/some%20blob", q,
                                         2, &out));
    CHECK_STR(out.data,
              "/devstoreaccount1/devstoreaccount1/c/some%20blob\nblockid:AAAA+/==\ncomp:block");
    kv_buf_free(&out);
}

static void standard_headers_keep_their_places(void)
{
    const kv_http_header hs[] = {
        {"x-ms-version", "2021-08-06"}, {"Range", "bytes=0-9"},   {"content-md5", "MD5=="},
        {"Content-Type", "a/b"},        {"If-Match", "\"e\""},    {"x-ms-date", DOC_DATE},
        {"Content-Encoding", "gzip"},   {"Content-Language", "en"}, {"If-None-Match", "*"},
    };
    kv_azure_sign_req r = {"PUT", "acct", "/c/b", NULL, 0, hs, 9, 11};
    kv_buf out = KV_BUF_INIT;
    CHECK_OK(kv_azure_string_to_sign(&r, &out));
    CHECK_STR(out.data, "PUT\ngzip\nen\n11\nMD5==\na/b\n\n\n\"e\"\n*\n\nbytes=0-9\n"
                        "x-ms-date:" DOC_DATE "\nx-ms-version:2021-08-06\n/acct/c/b");
    kv_buf_free(&out);
}

static void hmac_rfc4231_case_2(void)
{
    /* key "Jefe" (base64 SmVmZQ==), data "what do ya want for nothing?":
     * 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843 */
    unsigned char key[KV_AZURE_KEY_MAX];
    size_t len = 0;
    char sig[45];
    CHECK_OK(kv_azure_decode_key("SmVmZQ==", key, &len));
    CHECK_EQ_U64(len, 4);
    CHECK(memcmp(key, "Jefe", 4) == 0);
    kv_azure_hmac_b64(key, len, "what do ya want for nothing?", sig);
    CHECK_STR(sig, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
}

static void authorization_header_form(void)
{
    const kv_http_header q[] = {{"restype", "container"}, {"comp", "metadata"}, {"timeout", "20"}};
    kv_azure_sign_req r = {"GET", "myaccount", "/mycontainer", q, 3, doc_headers, 2, 0};
    unsigned char key[KV_AZURE_KEY_MAX];
    kv_buf sts = KV_BUF_INIT, auth = KV_BUF_INIT;
    char sig[45], want[80];
    size_t len;
    CHECK_OK(kv_azure_decode_key("SmVmZQ==", key, &len));
    CHECK_OK(kv_azure_string_to_sign(&r, &sts));
    kv_azure_hmac_b64(key, len, sts.data, sig);
    snprintf(want, sizeof want, "SharedKey myaccount:%s", sig);
    CHECK_OK(kv_azure_authorization(&r, key, len, &auth));
    CHECK_STR(auth.data, want);
    kv_buf_free(&sts);
    kv_buf_free(&auth);
}

static void bad_keys_are_refused(void)
{
    unsigned char key[KV_AZURE_KEY_MAX];
    size_t len;
    CHECK(kv_azure_decode_key("", key, &len) == KV_EINVAL);
    CHECK(kv_azure_decode_key("abc", key, &len) == KV_EINVAL);
    CHECK(kv_azure_decode_key("ab!?", key, &len) == KV_EINVAL);
    CHECK(strstr(kvault_errmsg(), "ab!?") == NULL);
}

static void date_is_rfc1123(void)
{
    char d[KV_AZURE_DATE_MAX];
    kv_azure_date(1435361952, d); /* the page's example date */
    CHECK_STR(d, DOC_DATE);
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"string_to_sign_of_the_get_example", string_to_sign_of_the_get_example},
        {"zero_content_length_signs_empty", zero_content_length_signs_empty},
        {"canonical_headers_example", canonical_headers_example},
        {"canonical_resource_examples", canonical_resource_examples},
        {"emulator_path_names_the_account_twice", emulator_path_names_the_account_twice},
        {"standard_headers_keep_their_places", standard_headers_keep_their_places},
        {"hmac_rfc4231_case_2", hmac_rfc4231_case_2},
        {"authorization_header_form", authorization_header_form},
        {"bad_keys_are_refused", bad_keys_are_refused},
        {"date_is_rfc1123", date_is_rfc1123},
        {NULL, NULL},
    };
    return kvt_run(cases, argc, argv);
}
