#include "backup/sealed.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "util/crc32c.h"
#include "util/err.h"

#define DIGEST_PREFIX "sha256:"
#define ZSTD_LEVEL 6
/* After the data frame, a zstd skippable frame (magic 0x184D2A5E, 4 bytes)
 * holding the CRC32C of the data frame: a damaged byte anywhere is caught,
 * even one the decompressor would not notice, and `zstd -d` still reads
 * the document. */
#define TRAILER_MAGIC 0x184D2A5Eu
#define TRAILER_SIZE 12

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* "sha256:<hex>" of root's canonical form (root without "digest"). */
static int digest_of(json_t *root, char out[72])
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    char *text = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
    int ok;
    if (!text)
        return kv_oom();
    ok = EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32;
    free(text);
    if (!ok)
        return kv_seterr(KV_ERR, "cannot compute SHA-256");
    memcpy(out, DIGEST_PREFIX, sizeof DIGEST_PREFIX - 1);
    for (int i = 0; i < 32; i++)
        snprintf(out + sizeof DIGEST_PREFIX - 1 + 2 * i, 3, "%02x", md[i]);
    return KV_OK;
}

int kv_sealed_encode(json_t *root, void **out, size_t *len)
{
    char digest[72], *text = NULL;
    size_t cap, n;
    int rc;

    if ((rc = digest_of(root, digest)))
        return rc;
    if (json_object_set_new(root, "digest", json_string(digest)) != 0 ||
        !(text = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT)))
        return kv_oom();
    cap = ZSTD_compressBound(strlen(text)) + TRAILER_SIZE;
    if (!(*out = malloc(cap))) {
        free(text);
        return kv_oom();
    }
    n = ZSTD_compress(*out, cap, text, strlen(text), ZSTD_LEVEL);
    free(text);
    if (ZSTD_isError(n)) {
        free(*out);
        *out = NULL;
        return kv_seterr(KV_ERR, "cannot compress a document: %s", ZSTD_getErrorName(n));
    }
    put32((unsigned char *)*out + n, TRAILER_MAGIC);
    put32((unsigned char *)*out + n + 4, 4);
    put32((unsigned char *)*out + n + 8, kv_crc32c(0, *out, n));
    *len = n + TRAILER_SIZE;
    return KV_OK;
}

/* The length of the data frame, after checking the trailer's CRC32C. */
static int check_trailer(const unsigned char *data, size_t len, const char *what, size_t *frame)
{
    const unsigned char *t = data + len - TRAILER_SIZE;
    if (len < TRAILER_SIZE + 4 || get32(t) != TRAILER_MAGIC || get32(t + 4) != 4)
        return kv_seterr(KV_ECORRUPT, "%s is damaged: its checksum frame is missing", what);
    if (get32(t + 8) != kv_crc32c(0, data, len - TRAILER_SIZE))
        return kv_seterr(KV_ECORRUPT, "%s is damaged: its bytes do not match their checksum", what);
    *frame = len - TRAILER_SIZE;
    return KV_OK;
}

/* The JSON text of a zstd frame, NUL-terminated, at most max bytes. */
static int decompress(const void *data, size_t len, size_t max, const char *what, char **text,
                      size_t *text_len)
{
    unsigned long long size = ZSTD_getFrameContentSize(data, len);
    size_t n;
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
        return kv_seterr(KV_ECORRUPT, "%s is not a whole zstd frame", what);
    if (size > max)
        return kv_seterr(KV_EINVAL, "%s holds %llu bytes of JSON, more than the %zu kvault reads",
                         what, size, max);
    if (!(*text = malloc((size_t)size + 1)))
        return kv_oom();
    n = ZSTD_decompress(*text, (size_t)size, data, len);
    if (ZSTD_isError(n) || n != size) {
        free(*text);
        *text = NULL;
        return kv_seterr(KV_ECORRUPT, "%s cannot be decompressed: %s", what,
                         ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short");
    }
    (*text)[n] = '\0';
    *text_len = n;
    return KV_OK;
}

static int check_digest(json_t *root, const char *what, int *sealed)
{
    json_t *d = json_object_get(root, "digest");
    char want[72], got[72];
    int rc;
    *sealed = d != NULL;
    if (!d)
        return KV_OK;
    if (!json_is_string(d) || json_string_length(d) >= sizeof got)
        return kv_seterr(KV_ECORRUPT, "%s: its digest is not a string", what);
    memcpy(got, json_string_value(d), json_string_length(d) + 1);
    json_object_del(root, "digest");
    rc = digest_of(root, want);
    if (!rc && strcmp(want, got) != 0)
        rc = kv_seterr(KV_ECORRUPT, "%s does not match its digest: it was changed or damaged",
                       what);
    if (!rc)
        json_object_set_new(root, "digest", json_string(got));
    return rc;
}

int kv_sealed_decode(const void *data, size_t len, size_t max_json, const char *what,
                     json_t **root, int *sealed)
{
    char *text = NULL;
    size_t text_len = len;
    json_error_t jerr;
    int rc = KV_OK;

    *root = NULL;
    if (len >= 4 && memcmp(data, "\x28\xb5\x2f\xfd", 4) == 0) { /* ZSTD_MAGICNUMBER */
        size_t frame = 0;
        if (!(rc = check_trailer(data, len, what, &frame)))
            rc = decompress(data, frame, max_json, what, &text, &text_len);
    }
    else if (len > max_json)
        rc = kv_seterr(KV_EINVAL, "%s is larger than the %zu bytes kvault reads", what, max_json);
    if (rc)
        return rc;
    /* duplicate members and NUL bytes in strings are refused by the parser */
    *root = json_loadb(text ? text : data, text_len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!*root)
        return kv_seterr(KV_EINVAL, "%s is not valid JSON: line %d: %s", what, jerr.line, jerr.text);
    if (!json_is_object(*root))
        rc = kv_seterr(KV_EINVAL, "%s is not a JSON object", what);
    if (!rc)
        rc = check_digest(*root, what, sealed);
    if (rc) {
        json_decref(*root);
        *root = NULL;
    }
    return rc;
}
