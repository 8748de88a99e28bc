#include "util/crc32c.h"

#include <isa-l/crc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "kvault.h"
#include "util/base64.h"

#define CRC32C_POLY 0x82f63b78u /* reflected Castagnoli polynomial */

uint32_t kv_crc32c(uint32_t crc, const void *buf, size_t len)
{
    /* ISA-L's crc32_iscsi takes and returns the register without the final
     * inversion; the standard CRC32C inverts on the way in and out. */
    return ~crc32_iscsi((unsigned char *)buf, (int)len, ~crc);
}

/* GF(2) arithmetic modulo the CRC polynomial, as in zlib's crc32_combine:
 * multiplying by x^(8*len_b) shifts crc_a past len_b zero bytes. */
static uint32_t gf2_multiply(uint32_t a, uint32_t b)
{
    uint32_t m = 1u << 31, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0)
                break;
        }
        m >>= 1;
        b = b & 1 ? (b >> 1) ^ CRC32C_POLY : b >> 1;
    }
    return p;
}

/* x^(2^n * 8) mod P for n = 0..63, filled on first use. */
static uint32_t x2n_table[64];

static void x2n_init(void)
{
    uint32_t p = 1u << 30; /* x^1 in reflected form */
    for (int n = 0; n < 64; n++) {
        x2n_table[n] = p;
        p = gf2_multiply(p, p);
    }
}

static uint32_t x8n_mod_p(uint64_t len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    uint32_t p = 1u << 31; /* x^0 */
    int k = 3;             /* bytes -> bits */
    pthread_once(&once, x2n_init);
    while (len) {
        if (len & 1)
            p = gf2_multiply(x2n_table[k & 63], p);
        len >>= 1;
        k++;
    }
    return p;
}

uint32_t kv_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return gf2_multiply(x8n_mod_p(len_b), crc_a) ^ crc_b;
}

void kv_crc32c_hex(uint32_t crc, char out[9])
{
    snprintf(out, 9, "%08x", crc);
}

int kv_crc32c_parse(const char *hex, uint32_t *out)
{
    uint32_t v = 0;
    int i;
    for (i = 0; i < 8; i++) {
        char c = hex[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else
            return KV_EINVAL;
        v = v << 4 | d;
    }
    if (hex[8] != '\0')
        return KV_EINVAL;
    *out = v;
    return KV_OK;
}

void kv_crc32c_base64(uint32_t crc, char out[9])
{
    unsigned char be[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16),
                           (unsigned char)(crc >> 8), (unsigned char)crc};
    kv_base64_encode(be, sizeof be, out);
}

int kv_crc32c_from_base64(const char *b64, uint32_t *out)
{
    unsigned char raw[6];
    size_t n;
    if (!b64 || strlen(b64) != 8 || kv_base64_decode(b64, 8, raw, &n) != 0 || n != 4)
        return 0;
    *out = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 | (uint32_t)raw[2] << 8 | raw[3];
    return 1;
}
