/* CRC32C (Castagnoli), the checksum of every byte kvault moves. */
#ifndef KV_UTIL_CRC32C_H
#define KV_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over buf; standard CRC32C: "123456789" -> e3069283. */
uint32_t kv_crc32c(uint32_t crc, const void *buf, size_t len);

/* CRC of A||B from crc(A), crc(B) and len(B): lets parts checksummed on
 * different threads be joined in order without reading the bytes again. */
uint32_t kv_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* 8 lowercase hex digits + NUL, and back (KV_EINVAL on bad text). */
void kv_crc32c_hex(uint32_t crc, char out[9]);
int kv_crc32c_parse(const char *hex, uint32_t *out);

/* The base64 of the CRC's 4 big-endian bytes (8 characters + NUL), as S3's
 * x-amz-checksum-crc32c and Google's crc32c carry it; and back: 1 when b64
 * is such a value, else 0 (no message). */
void kv_crc32c_base64(uint32_t crc, char out[9]);
int kv_crc32c_from_base64(const char *b64, uint32_t *out);

#endif
