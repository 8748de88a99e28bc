#include "backup/walscan.h"

#include <stdlib.h>

#include "util/crc32c.h"
#include "util/err.h"
#include "util/fs.h"

/* RocksDB db/log_format.h and db/log_writer.cc (EmitPhysicalRecord). */
#define BLOCK_SIZE 32768u
#define HEADER_SIZE 7u            /* crc32c (4), length (2), type (1) */
#define RECYCLABLE_HEADER_SIZE 11u /* ... and the log number (4) */
#define MASK_DELTA 0xa282ead8u

enum {
    ZERO_TYPE = 0,
    FULL_TYPE = 1,
    FIRST_TYPE = 2,
    MIDDLE_TYPE = 3,
    LAST_TYPE = 4,
    RECYCLABLE_FULL_TYPE = 5,
    RECYCLABLE_LAST_TYPE = 8,
    SET_COMPRESSION_TYPE = 9,
    TIMESTAMP_SIZE_TYPE = 10,           /* RocksDB 8.x */
    RECYCLABLE_TIMESTAMP_SIZE_TYPE = 11 /* RocksDB 8.x */
};

typedef struct scan {
    uint64_t log_number;
    int in_fragments;   /* inside a First..Last sequence */
    uint64_t complete;  /* end of the last whole logical record */
} scan;

static uint32_t load32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int is_recyclable(unsigned type)
{
    return (type >= RECYCLABLE_FULL_TYPE && type <= RECYCLABLE_LAST_TYPE) ||
           type == RECYCLABLE_TIMESTAMP_SIZE_TYPE;
}

/* The record's stored checksum against crc32c(type [+ log number] + payload),
 * masked as RocksDB's crc32c::Mask does. */
static int checksum_ok(const unsigned char *rec, size_t header, size_t len)
{
    uint32_t crc = kv_crc32c(0, rec + 6, 1 + (header - HEADER_SIZE));
    crc = kv_crc32c(crc, rec + header, len);
    crc = ((crc >> 15) | (crc << 17)) + MASK_DELTA;
    return crc == load32(rec);
}

/* Applies one physical record of type at offset end (just past it): 1 to go
 * on, 0 when the log's good part ends before it. */
static int take_record(scan *s, unsigned type, uint64_t end)
{
    unsigned base = is_recyclable(type) && type <= RECYCLABLE_LAST_TYPE ? type - 4 : type;
    switch (base) {
    case FULL_TYPE:
    case SET_COMPRESSION_TYPE:
    case TIMESTAMP_SIZE_TYPE:
    case RECYCLABLE_TIMESTAMP_SIZE_TYPE:
        if (s->in_fragments)
            return 0;
        s->complete = end;
        return 1;
    case FIRST_TYPE:
        if (s->in_fragments)
            return 0;
        s->in_fragments = 1;
        return 1;
    case MIDDLE_TYPE:
        return s->in_fragments;
    case LAST_TYPE:
        if (!s->in_fragments)
            return 0;
        s->in_fragments = 0;
        s->complete = end;
        return 1;
    default:
        return 0;
    }
}

/* Walks the physical records of one block (off is its offset in the file):
 * 1 to go on with the next block, 0 when the good part ended in this one. */
static int scan_block(scan *s, const unsigned char *b, size_t n, uint64_t off)
{
    size_t pos = 0;
    while (pos + HEADER_SIZE <= n) {
        const unsigned char *rec = b + pos;
        unsigned type = rec[6];
        size_t len = (size_t)rec[4] | (size_t)rec[5] << 8;
        size_t header = is_recyclable(type) ? RECYCLABLE_HEADER_SIZE : HEADER_SIZE;
        if (type == ZERO_TYPE && n - pos < RECYCLABLE_HEADER_SIZE)
            break; /* a recyclable log's zero-filled block trailer */
        if (type == ZERO_TYPE || pos + header + len > n || !checksum_ok(rec, header, len))
            return 0;
        /* a recycled file holds the records of its earlier life after the new ones */
        if (header == RECYCLABLE_HEADER_SIZE && load32(rec + 7) != (uint32_t)s->log_number)
            return 0;
        pos += header + len;
        if (!take_record(s, type, off + pos))
            return 0;
    }
    /* fewer bytes than a header are left: the writer zero-filled them */
    return n == BLOCK_SIZE;
}

int kv_wal_complete_prefix(int fd, uint64_t size, uint64_t log_number, const char *path,
                           uint64_t *complete)
{
    unsigned char *block = malloc(BLOCK_SIZE);
    scan s = {.log_number = log_number};
    int rc = KV_OK;

    if (!block)
        return kv_seterr(KV_ENOMEM, "out of memory");
    for (uint64_t off = 0; off < size; off += BLOCK_SIZE) {
        size_t n = size - off < BLOCK_SIZE ? (size_t)(size - off) : BLOCK_SIZE;
        if ((rc = kv_pread_full(fd, block, n, off, path)) || !scan_block(&s, block, n, off))
            break;
    }
    free(block);
    if (!rc)
        *complete = s.complete;
    return rc;
}
