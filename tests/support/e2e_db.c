#include "e2e_db.h"

#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t kvt_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Value of key i at version ver: 4 KiB for the big keys, else short. */
static size_t value_of(const kvt_db *m, uint32_t i, int ver, char buf[4096])
{
    size_t len = i < m->nbig ? 4096 : 16 + i % 50;
    for (size_t off = 0; off < len; off += 8) {
        uint64_t v = kvt_mix(((uint64_t)ver << 40) ^ ((uint64_t)i << 16) ^ off);
        memcpy(buf + off, &v, len - off < 8 ? len - off : 8);
    }
    return len;
}

static void key_of(uint32_t i, char buf[16])
{
    snprintf(buf, 16, "k%08u", i);
}

static int version_in(const kvt_db *m, int phase, uint32_t i)
{
    return phase == 2 && i >= m->nbig && i % 10 == 0;
}

static rocksdb_t *open_db(const char *path, rocksdb_options_t **opts)
{
    char *err = NULL;
    rocksdb_t *db;
    *opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(*opts, 1);
    /* random values do not compress: the SST stays as large as the data */
    rocksdb_options_set_compression(*opts, rocksdb_no_compression);
    db = rocksdb_open(*opts, path, &err);
    if (err) {
        fprintf(stderr, "  rocksdb_open %s: %s\n", path, err);
        free(err);
    }
    return db;
}

int kvt_db_write_phase(const kvt_db *m, const char *path, int phase)
{
    rocksdb_options_t *opts;
    rocksdb_t *db = open_db(path, &opts);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    char k[16], v[4096], *err = NULL;
    int rc = db ? 0 : -1;
    for (uint32_t i = 0; rc == 0 && i <= m->nbig + m->nsmall; i++) {
        int last = i == m->nbig + m->nsmall;
        if ((phase == 1 && last) || (phase == 2 && !version_in(m, 2, i) && !last))
            continue;
        key_of(i, k);
        rocksdb_put(db, wo, k, strlen(k), v, value_of(m, i, version_in(m, phase, i), v), &err);
        rc = err ? -1 : 0;
    }
    if (rc == 0)
        rocksdb_flush(db, fo, &err);
    if (err) {
        fprintf(stderr, "  write %s: %s\n", path, err);
        free(err);
        rc = -1;
    }
    rocksdb_flushoptions_destroy(fo);
    rocksdb_writeoptions_destroy(wo);
    if (db)
        rocksdb_close(db);
    rocksdb_options_destroy(opts);
    return rc;
}

int kvt_db_check(const kvt_db *m, const char *path, int phase)
{
    rocksdb_options_t *opts;
    rocksdb_t *db = open_db(path, &opts);
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    char k[16], v[4096], *err = NULL;
    int bad = db ? 0 : 1;
    for (uint32_t i = 0; !bad && i <= m->nbig + m->nsmall; i++) {
        size_t len = 0, want_len = value_of(m, i, version_in(m, phase, i), v);
        char *got;
        key_of(i, k);
        got = rocksdb_get(db, ro, k, strlen(k), &len, &err);
        if (i == m->nbig + m->nsmall && phase == 1)
            bad = got != NULL;
        else
            bad = !got || len != want_len || memcmp(got, v, len) != 0;
        if (bad)
            fprintf(stderr, "  %s: key %s is wrong (phase %d)\n", path, k, phase);
        free(got);
    }
    rocksdb_readoptions_destroy(ro);
    if (db)
        rocksdb_close(db);
    rocksdb_options_destroy(opts);
    return bad;
}
