/* HDFS file checksums computed as a cluster computes them (hdfs_sum.h). */
#include "store/hdfs_sum.h"

#include <isa-l/crc.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/crc32c.h"
#include "util/err.h"

/* kv_hdfs_part_sum.have */
#define HAVE_MD5(crc) (1u << (crc))
#define HAVE_CRC(crc) (4u << (crc))

void kv_hdfs_sum_parse(const char *alg, kv_hdfs_algo *a)
{
    char type[16] = "";
    unsigned long long cpb;
    int end = 0;
    memset(a, 0, sizeof *a);
    a->kind = KV_HDFS_SUM_OTHER;
    if (sscanf(alg, "MD5-of-%lluMD5-of-%u%15[A-Z0-9]%n", &cpb, &a->bytes_per_crc, type, &end) == 3 &&
        alg[end] == '\0' && a->bytes_per_crc > 0)
        a->kind = KV_HDFS_SUM_MD5;
    else if (strncmp(alg, "COMPOSITE-", 10) == 0 && strlen(alg + 10) < sizeof type) {
        a->kind = KV_HDFS_SUM_COMPOSITE;
        snprintf(type, sizeof type, "%s", alg + 10);
    }
    if (strcmp(type, "CRC32C") == 0)
        a->crc = KV_HDFS_CRC32C;
    else if (strcmp(type, "CRC32") == 0)
        a->crc = KV_HDFS_CRC32;
    else
        a->kind = KV_HDFS_SUM_OTHER;
}

static const char *crc_name(int crc)
{
    return crc == KV_HDFS_CRC32C ? "CRC32C" : "CRC32";
}

/* Extends a standard CRC32C or CRC32 (zlib's) over buf; 0 starts. */
static uint32_t crc_update(int crc, uint32_t v, const void *buf, size_t len)
{
    return crc == KV_HDFS_CRC32C ? kv_crc32c(v, buf, len) : crc32_gzip_refl(v, buf, len);
}

/* CrcUtil.galoisFieldMultiply: polynomials reflected, the top bit x^0. */
static uint32_t gf_multiply(uint32_t p, uint32_t q, uint32_t m)
{
    uint32_t sum = 0, px = p;
    for (uint32_t term = 1u << 31; term; term >>= 1) {
        uint32_t high = px & 1;
        if (q & term)
            sum ^= px;
        px = high ? (px >> 1) ^ m : px >> 1;
    }
    return sum;
}

/* CrcUtil.composeWithMonomial(crcA, crcB, getMonomial(lenB)): the CRC of
 * A||B, as CrcComposer joins block CRCs into COMPOSITE-CRC. */
static uint32_t crc_compose(int crc, uint32_t a, uint32_t b, uint64_t len_b)
{
    uint32_t m = crc == KV_HDFS_CRC32C ? 0x82f63b78u : 0xedb88320u;
    uint32_t mono = 1u << 31, x = 1u << 23; /* x^0 and x^8 */
    for (uint64_t d = len_b; d; d >>= 1) {
        if (d & 1)
            mono = gf_multiply(mono, x, m);
        x = gf_multiply(x, x, m);
    }
    return gf_multiply(a, mono, m) ^ b;
}

/* A block's MD5MD5CRC checksum as a DataNode computes it: MD5 over the
 * big-endian CRC of every bytes_per_crc bytes of the block. */
static int block_md5(int crc, unsigned bytes_per_crc, const void *buf, size_t len,
                     unsigned char out[16])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const unsigned char *p = buf;
    unsigned char crcs[4 * 256];
    size_t n = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
    for (size_t off = 0; ok && off < len; off += bytes_per_crc) {
        size_t chunk = len - off < bytes_per_crc ? len - off : bytes_per_crc;
        uint32_t v = crc_update(crc, 0, p + off, chunk);
        crcs[n++] = (unsigned char)(v >> 24);
        crcs[n++] = (unsigned char)(v >> 16);
        crcs[n++] = (unsigned char)(v >> 8);
        crcs[n++] = (unsigned char)v;
        if (n == sizeof crcs) {
            ok = EVP_DigestUpdate(ctx, crcs, n);
            n = 0;
        }
    }
    ok = ok && EVP_DigestUpdate(ctx, crcs, n) && EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_CTX_free(ctx);
    return ok ? KV_OK : kv_seterr(KV_ERR, "hdfs: MD5 failed");
}

/* The file checksum from its block MD5s, as FileChecksumHelper.
 * makeMd5CrcResult makes it: MD5 over DataOutputBuffer.getData(), i.e. the
 * whole backing array (32 bytes, doubled as needed) with its unused tail
 * zero. Writes the hex of the 28 bytes of MD5MD5CRC32FileChecksum.write
 * (int bytesPerCRC, long crcPerBlock, MD5) and the algorithm name. */
static int md5_file_checksum(unsigned char (*md5s)[16], uint32_t nblocks, uint64_t first_block,
                             const kv_hdfs_algo *a, char hex[57], char algorithm[96])
{
    size_t used = (size_t)nblocks * 16, cap = 32;
    unsigned char *data, raw[28];
    unsigned bpc = a->bytes_per_crc;
    uint64_t crc_per_block = nblocks > 1 ? (first_block + bpc - 1) / bpc : 0;
    unsigned int md_len = 0;
    while (cap < used)
        cap *= 2;
    data = calloc(1, cap);
    if (!data)
        return kv_oom();
    memcpy(data, md5s, used);
    for (int i = 0; i < 4; i++)
        raw[i] = (unsigned char)(bpc >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        raw[4 + i] = (unsigned char)(crc_per_block >> (56 - 8 * i));
    if (!EVP_Digest(data, cap, raw + 12, &md_len, EVP_md5(), NULL)) {
        free(data);
        return kv_seterr(KV_ERR, "hdfs: MD5 failed");
    }
    free(data);
    for (int i = 0; i < 28; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    snprintf(algorithm, 96, "MD5-of-%lluMD5-of-%u%s", (unsigned long long)crc_per_block, bpc,
             crc_name(a->crc));
    return KV_OK;
}

/* CompositeCrcFileChecksum: 4 bytes (CrcUtil.intToBytes), "COMPOSITE-" +
 * the CRC type. */
static void composite_checksum(uint32_t crc, const kv_hdfs_algo *a, char hex[57],
                               char algorithm[96])
{
    snprintf(hex, 57, "%08x", crc);
    snprintf(algorithm, 96, "COMPOSITE-%s", crc_name(a->crc));
}

int kv_hdfs_sum_part(int learned, const void *buf, size_t len, const uint32_t *crc32c,
                     kv_hdfs_part_sum *ps)
{
    int rc = KV_OK;
    for (int c = KV_HDFS_CRC32C; c <= KV_HDFS_CRC32 && rc == KV_OK; c++) {
        if (learned == KV_HDFS_SUM_UNKNOWN || learned == KV_HDFS_LEARNED(KV_HDFS_SUM_MD5, c)) {
            rc = block_md5(c, KV_HDFS_BYTES_PER_CRC, buf, len, ps->md5[c]);
            ps->have |= HAVE_MD5(c);
        }
        if (learned == KV_HDFS_SUM_UNKNOWN ||
            learned == KV_HDFS_LEARNED(KV_HDFS_SUM_COMPOSITE, c)) {
            ps->crc[c] = c == KV_HDFS_CRC32C && crc32c ? *crc32c : crc_update(c, 0, buf, len);
            ps->have |= HAVE_CRC(c);
        }
    }
    return rc;
}

int kv_hdfs_sum_single(const void *buf, size_t len, uint64_t block_size, const kv_hdfs_algo *a,
                       char hex[57], char alg[96])
{
    unsigned char (*md5s)[16];
    uint32_t nblocks = (uint32_t)((len + block_size - 1) / block_size);
    int rc = KV_OK;
    if (a->kind == KV_HDFS_SUM_COMPOSITE) {
        composite_checksum(crc_update(a->crc, 0, buf, len), a, hex, alg);
        return KV_OK;
    }
    md5s = calloc(nblocks, sizeof *md5s);
    if (!md5s)
        return kv_oom();
    for (uint32_t i = 0; i < nblocks && rc == KV_OK; i++) {
        uint64_t off = i * block_size;
        size_t n = (size_t)(len - off < block_size ? len - off : block_size);
        rc = block_md5(a->crc, a->bytes_per_crc, (const char *)buf + off, n, md5s[i]);
    }
    if (rc == KV_OK)
        rc = md5_file_checksum(md5s, nblocks, block_size, a, hex, alg);
    free(md5s);
    return rc;
}

int kv_hdfs_sum_parts_have(const kv_hdfs_part_sum *sums, uint32_t n, const kv_hdfs_algo *a)
{
    unsigned need = a->kind == KV_HDFS_SUM_MD5 ? HAVE_MD5(a->crc) : HAVE_CRC(a->crc);
    if (a->kind == KV_HDFS_SUM_MD5 && a->bytes_per_crc != KV_HDFS_BYTES_PER_CRC)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (!(sums[i].have & need))
            return 0;
    return 1;
}

int kv_hdfs_sum_parts(const kv_hdfs_part_sum *sums, uint32_t n, uint64_t part_size,
                      uint64_t total, const kv_hdfs_algo *a, char hex[57], char alg[96])
{
    unsigned char (*md5s)[16];
    uint32_t crc = sums[0].crc[a->crc];
    int rc;
    if (a->kind == KV_HDFS_SUM_COMPOSITE) {
        for (uint32_t i = 1; i < n; i++) {
            uint64_t len = i + 1 < n ? part_size : total - i * part_size;
            crc = crc_compose(a->crc, crc, sums[i].crc[a->crc], len);
        }
        composite_checksum(crc, a, hex, alg);
        return KV_OK;
    }
    md5s = calloc(n, sizeof *md5s);
    if (!md5s)
        return kv_oom();
    for (uint32_t i = 0; i < n; i++)
        memcpy(md5s[i], sums[i].md5[a->crc], 16);
    rc = md5_file_checksum(md5s, n, part_size, a, hex, alg);
    free(md5s);
    return rc;
}
