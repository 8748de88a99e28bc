/* HDFS file checksums (GETFILECHECKSUM) computed as a cluster computes them,
 * from the bytes kvault sends, so an upload can be checked against what the
 * DataNodes stored. The per-chunk CRC is CRC32C or CRC32
 * (dfs.checksum.type), combined either as MD5-of-MD5-of-CRC
 * (MD5MD5CRC32FileChecksum: the DataNode's WebHDFS always, HttpFS by
 * default) or as COMPOSITE-CRC (CompositeCrcFileChecksum: HttpFS with
 * dfs.checksum.combine.mode=COMPOSITE_CRC). docs/hdfs.md "Checksums" gives
 * the Hadoop source of each rule. Pure computation: nothing here talks to a
 * cluster. */
#ifndef KV_STORE_HDFS_SUM_H
#define KV_STORE_HDFS_SUM_H

#include <stddef.h>
#include <stdint.h>

#define KV_HDFS_BYTES_PER_CRC 512  /* dfs.bytes-per-checksum, the default */

enum { KV_HDFS_CRC32C = 0, KV_HDFS_CRC32 = 1 };   /* CRC32 is gzip's */
enum { KV_HDFS_SUM_UNKNOWN = 0, KV_HDFS_SUM_MD5, KV_HDFS_SUM_COMPOSITE, KV_HDFS_SUM_OTHER };

/* A checksum algorithm as a reply names it. */
typedef struct kv_hdfs_algo {
    int kind;               /* KV_HDFS_SUM_MD5, _COMPOSITE or _OTHER */
    int crc;                /* KV_HDFS_CRC32C or KV_HDFS_CRC32 */
    unsigned bytes_per_crc; /* KV_HDFS_SUM_MD5 */
} kv_hdfs_algo;

/* A cluster's kind in one int, as a store remembers it: 0 = not seen yet. */
#define KV_HDFS_LEARNED(kind, crc) ((kind) == KV_HDFS_SUM_OTHER ? 1 : (kind) * 2 + (crc))

/* What a part (one block) contributes to its file's checksum, for each way
 * the cluster may report it. */
typedef struct kv_hdfs_part_sum {
    unsigned char md5[2][16]; /* block MD5 of the CRC32C / CRC32 chunks */
    uint32_t crc[2];          /* CRC32C / CRC32 of the part */
    unsigned have;            /* which of these are computed */
} kv_hdfs_part_sum;

/* Reads MD5MD5CRC32FileChecksum.getAlgorithmName ("MD5-of-<n>MD5-of-<bpc>
 * CRC32C") and CompositeCrcFileChecksum's ("COMPOSITE-CRC32C"); anything
 * else is KV_HDFS_SUM_OTHER. */
void kv_hdfs_sum_parse(const char *algorithm, kv_hdfs_algo *a);

/* A part's share (adds to ps): only the learned kind (KV_HDFS_LEARNED), or
 * every kind while none is learned. crc32c: the part's, when the caller has
 * it (may be NULL). */
int kv_hdfs_sum_part(int learned, const void *buf, size_t len, const uint32_t *crc32c,
                     kv_hdfs_part_sum *ps);

/* The checksum of a file written in one CREATE from buf, for algorithm a and
 * the block size the file got: hex digits and the algorithm's name. */
int kv_hdfs_sum_single(const void *buf, size_t len, uint64_t block_size, const kv_hdfs_algo *a,
                       char hex[57], char alg[96]);

/* Whether all n parts have what a needs (parts summed before the kind was
 * learned have every kind). */
int kv_hdfs_sum_parts_have(const kv_hdfs_part_sum *sums, uint32_t n, const kv_hdfs_algo *a);

/* The checksum of the file the n parts (each one block of part_size, total
 * bytes in all) were joined into: MD5MD5CRC over their block MD5s, or their
 * CRCs composed. */
int kv_hdfs_sum_parts(const kv_hdfs_part_sum *sums, uint32_t n, uint64_t part_size,
                      uint64_t total, const kv_hdfs_algo *a, char hex[57], char alg[96]);

#endif
