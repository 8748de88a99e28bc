#include "backup/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup/sealed.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/parallel.h"

#define FORMAT "kvault-archive"
#define VERSION 1
#define MAGIC "KVAULT-ARCHIVE\0\1"
#define MAX_INDEX_JSON (256u << 20)

/* ---- the index and trailer -------------------------------------------------------- */

static int encode_index(const char *backup_id, const kv_archive_member *m, size_t n, void **data,
                        size_t *len)
{
    json_t *members = json_array(), *root;
    int rc;
    for (size_t i = 0; members && i < n; i++) {
        char hex[9];
        kv_crc32c_hex(m[i].crc32c, hex);
        if (json_array_append_new(members, json_pack("[s, I, I, s]", m[i].name,
                                                     (json_int_t)m[i].offset,
                                                     (json_int_t)m[i].size, hex)) != 0) {
            json_decref(members);
            members = NULL;
        }
    }
    root = members ? json_pack("{s:s, s:i, s:s, s:o}", "format", FORMAT, "version", VERSION,
                               "backup", backup_id, "members", members)
                   : NULL;
    if (!root)
        return kv_oom();
    rc = kv_sealed_encode(root, data, len);
    json_decref(root);
    return rc;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void make_trailer(uint64_t index_off, const void *index, size_t index_len,
                         unsigned char t[KV_ARCHIVE_TRAILER])
{
    memcpy(t, MAGIC, 16);
    put_le(t + 16, index_off, 8);
    put_le(t + 24, index_len, 8);
    put_le(t + 32, kv_crc32c(0, index, index_len), 4);
    put_le(t + 36, kv_crc32c(0, t, 36), 4);
}

/* ---- the archive as one virtual file ------------------------------------------------ */

typedef struct virt {
    const kv_archive_member *m;
    size_t n;
    const unsigned char *tail;   /* index and trailer */
    uint64_t tail_off, total;
} virt;

/* Copies [off, off + len) of member i that lies in the archive's range. */
static int read_member(const kv_archive_member *m, uint64_t off, char *buf, size_t len)
{
    int fd = open(m->path, O_RDONLY | O_CLOEXEC), rc;
    if (fd < 0)
        return kv_seterr_errno(kv_errno_code(errno), errno, "cannot open '%s'", m->path);
    rc = kv_pread_full(fd, buf, len, off, m->path);
    close(fd);
    return rc;
}

static int read_virtual(void *ctx, uint64_t off, void *buf, size_t len)
{
    const virt *v = ctx;
    char *out = buf;
    for (size_t i = 0; i < v->n && len; i++) {
        const kv_archive_member *m = &v->m[i];
        uint64_t end = m->offset + m->size, n;
        int rc;
        if (off >= end || off < m->offset)
            continue;
        n = end - off < len ? end - off : len;
        if ((rc = read_member(m, off - m->offset, out, (size_t)n)))
            return rc;
        out += n;
        off += n;
        len -= (size_t)n;
    }
    if (len && (off < v->tail_off || off + len > v->total))
        return kv_seterr(KV_ERR, "archive read past its end (%llu)", (unsigned long long)off);
    memcpy(out, v->tail + (off - v->tail_off), len);
    return KV_OK;
}

int kv_archive_upload(kvault *kv, const char *key, const char *backup_id, kv_archive_member *m,
                      size_t n)
{
    virt v = {.m = m, .n = n};
    void *index = NULL;
    unsigned char *tail = NULL;
    size_t index_len;
    uint64_t off = 0;
    kv_xfer_item it = {0};
    int rc;

    for (size_t i = 0; i < n; i++) {
        m[i].offset = off;
        off += m[i].size;
    }
    if ((rc = encode_index(backup_id, m, n, &index, &index_len)))
        return rc;
    if (!(tail = malloc(index_len + KV_ARCHIVE_TRAILER))) {
        free(index);
        return kv_oom();
    }
    memcpy(tail, index, index_len);
    make_trailer(off, index, index_len, tail + index_len);
    v.tail = tail;
    v.tail_off = off;
    v.total = off + index_len + KV_ARCHIVE_TRAILER;
    it = (kv_xfer_item){.local_path = key, .key = key, .size = v.total, .read = read_virtual,
                        .read_ctx = &v};
    rc = kv_xfer_upload(kv->st, &it, 1, &kv->xo);
    free(index);
    free(tail);
    return rc;
}

/* ---- checksums first ------------------------------------------------------------------ */

typedef struct sums {
    kv_archive_member *m;
    const int *has_crc;
} sums;

static int sum_one(size_t i, void *arg)
{
    sums *s = arg;
    if (s->has_crc[i])
        return KV_OK;
    return kv_xfer_checksum_file(s->m[i].path, s->m[i].size, &s->m[i].crc32c);
}

int kv_archive_checksum(kv_archive_member *m, size_t n, const int *has_crc, int workers)
{
    sums s = {.m = m, .has_crc = has_crc};
    return kv_parallel_for(n, workers, sum_one, &s);
}

/* ---- reading the index back -------------------------------------------------------------- */

static int read_range(kv_store *st, const char *key, uint64_t off, size_t len, void *buf)
{
    size_t got = 0;
    int rc = kv_store_get(st, key, off, len, buf, &got);
    if (!rc && got != len)
        rc = kv_seterr(KV_ECORRUPT, "archive '%s' ends before byte %llu", key,
                       (unsigned long long)(off + len));
    return rc;
}

static int parse_trailer(const char *key, uint64_t size, const unsigned char *t, uint64_t *off,
                         uint64_t *len, uint32_t *crc)
{
    if (memcmp(t, MAGIC, 16) != 0 || get_le(t + 36, 4) != kv_crc32c(0, t, 36))
        return kv_seterr(KV_ECORRUPT, "archive '%s' has no valid trailer in its last %d bytes",
                         key, KV_ARCHIVE_TRAILER);
    *off = get_le(t + 16, 8);
    *len = get_le(t + 24, 8);
    *crc = (uint32_t)get_le(t + 32, 4);
    if (*len > MAX_INDEX_JSON || *off + *len + KV_ARCHIVE_TRAILER != size)
        return kv_seterr(KV_ECORRUPT, "archive '%s': its trailer places the index at %llu (%llu "
                         "bytes), which does not end where the trailer starts", key,
                         (unsigned long long)*off, (unsigned long long)*len);
    return KV_OK;
}

/* Each member the manifest names is in the index as it says. */
static int compare_members(const char *key, json_t *members, const kv_archive_member *want,
                           size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k;
        json_t *e;
        int found = 0;
        json_array_foreach(members, k, e) {
            const char *name, *hex;
            json_int_t off, size;
            uint32_t crc;
            if (json_unpack(e, "[s, I, I, s]", &name, &off, &size, &hex) != 0 ||
                kv_crc32c_parse(hex, &crc) != KV_OK)
                return kv_seterr(KV_ECORRUPT, "archive '%s': index entry %zu is malformed", key, k);
            found |= strcmp(name, want[i].name) == 0 && (uint64_t)off == want[i].offset &&
                     (uint64_t)size == want[i].size && crc == want[i].crc32c;
        }
        if (!found)
            return kv_seterr(KV_ECORRUPT, "archive '%s': its index does not list '%s' at %llu "
                             "as the manifest does", key, want[i].name,
                             (unsigned long long)want[i].offset);
    }
    return KV_OK;
}

int kv_archive_check_index(kv_store *st, const char *key, uint64_t size,
                           const kv_archive_member *want, size_t n)
{
    unsigned char t[KV_ARCHIVE_TRAILER];
    uint64_t off = 0, len = 0;
    uint32_t crc = 0;
    char *index = NULL, what[1100];
    json_t *root = NULL;
    int sealed, rc;

    if (size < KV_ARCHIVE_TRAILER)
        return kv_seterr(KV_ECORRUPT, "archive '%s' is too short to be one", key);
    if ((rc = read_range(st, key, size - KV_ARCHIVE_TRAILER, sizeof t, t)) ||
        (rc = parse_trailer(key, size, t, &off, &len, &crc)))
        return rc;
    if (!(index = malloc(len ? len : 1)))
        return kv_oom();
    snprintf(what, sizeof what, "the index of archive '%s'", key);
    if (!(rc = read_range(st, key, off, (size_t)len, index)) && kv_crc32c(0, index, len) != crc)
        rc = kv_seterr(KV_ECORRUPT, "%s does not match its CRC32C", what);
    if (!rc && !(rc = kv_sealed_decode(index, len, MAX_INDEX_JSON, what, &root, &sealed)))
        rc = compare_members(key, json_object_get(root, "members"), want, n);
    json_decref(root);
    free(index);
    return rc;
}
