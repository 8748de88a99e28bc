/* kvault-gendb: makes sample RocksDB databases for the demo, tests and
 * benchmarks, changes a share of their keys, and prints a digest of their
 * contents so that a restored copy can be compared with its source.
 *
 *   kvault-gendb [--size SIZE] [--cfs N] [--value-size N] [--sst-size SIZE] [--seed N] DIR
 *   kvault-gendb --update PCT [--seed N] DIR
 *   kvault-gendb --digest DIR
 *
 * Values are pseudo-random bytes (incompressible), so the database's size on
 * disk is close to SIZE. Keys are spread round-robin over the column
 * families "default", "cf1", "cf2", ... --sst-size makes many small SST
 * files (memtables of that size, flushed and never compacted), as a
 * database with thousands of SSTs has. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <rocksdb/c.h>

#define MAX_CFS 64
#define BATCH 1000
#define KEY_COUNT_KEY "__kvault_gendb_keys"

typedef struct gen_opts {
    uint64_t size, value_size, seed, sst_size;
    int cfs;
    double update_pct;       /* > 0: update mode */
    int digest;
    const char *dir;
} gen_opts;

typedef struct gen_db {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_column_family_handle_t *cf[MAX_CFS];
    char **names;             /* from rocksdb_list_column_families, or NULL */
    size_t ncf;
    uint64_t flush_every;     /* keys between flushes (--sst-size); 0 = RocksDB decides */
} gen_db;

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static void fill_random(uint64_t *state, char *buf, size_t len)
{
    for (size_t i = 0; i < len; i += 8) {
        uint64_t r = rng_next(state);
        memcpy(buf + i, &r, len - i < 8 ? len - i : 8);
    }
}

static int parse_size(const char *text, uint64_t *out)
{
    char *end;
    double v = strtod(text, &end);
    uint64_t mult = 1;

    switch (*end) {
    case 'k': case 'K': mult = 1ull << 10; end++; break;
    case 'm': case 'M': mult = 1ull << 20; end++; break;
    case 'g': case 'G': mult = 1ull << 30; end++; break;
    }
    if (end == text || v < 0 || (*end && strcasecmp(end, "iB") != 0 && strcmp(end, "B") != 0))
        return -1;
    *out = (uint64_t)(v * (double)mult);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: kvault-gendb [--size SIZE] [--cfs N] [--value-size N] [--sst-size SIZE] "
                    "[--seed N] DIR\n"
                    "       kvault-gendb --update PCT [--seed N] DIR\n"
                    "       kvault-gendb --digest DIR\n");
    return 2;
}

static int parse_args(int argc, char **argv, gen_opts *o)
{
    static const struct option longopts[] = {
        {"size", required_argument, NULL, 's'}, {"cfs", required_argument, NULL, 'c'},
        {"value-size", required_argument, NULL, 'V'}, {"seed", required_argument, NULL, 'S'},
        {"update", required_argument, NULL, 'u'}, {"digest", no_argument, NULL, 'd'},
        {"sst-size", required_argument, NULL, 'F'},
        {NULL, 0, NULL, 0}};
    int c;

    *o = (gen_opts){.size = 100ull << 20, .value_size = 1000, .seed = 1, .cfs = 3};
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': if (parse_size(optarg, &o->size) != 0) return usage(); break;
        case 'V': if (parse_size(optarg, &o->value_size) != 0 || !o->value_size) return usage(); break;
        case 'F': if (parse_size(optarg, &o->sst_size) != 0 || o->sst_size < 4096) return usage(); break;
        case 'c': o->cfs = atoi(optarg); break;
        case 'S': o->seed = strtoull(optarg, NULL, 10); break;
        case 'u': o->update_pct = strtod(optarg, NULL); break;
        case 'd': o->digest = 1; break;
        default: return usage();
        }
    }
    if (optind != argc - 1 || o->cfs < 1 || o->cfs > MAX_CFS || o->update_pct < 0 ||
        o->update_pct > 100)
        return usage();
    o->dir = argv[optind];
    if (o->seed == 0)
        o->seed = 1; /* xorshift's state must not be 0 */
    return 0;
}

static int fail(const char *what, char *err)
{
    fprintf(stderr, "kvault-gendb: %s: %s\n", what, err ? err : "failed");
    free(err);
    return 1;
}

/* Opens dir with the given column families (create) or the ones it has. */
static int open_db(const gen_opts *o, int create, gen_db *g)
{
    char *err = NULL;
    char names_buf[MAX_CFS][16];
    const char *names[MAX_CFS];
    const rocksdb_options_t *cf_opts[MAX_CFS];

    g->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(g->opts, create);
    rocksdb_options_set_create_missing_column_families(g->opts, create);
    rocksdb_options_increase_parallelism(g->opts, 2);
    rocksdb_options_set_write_buffer_size(g->opts, 64u << 20);
    if (o->sst_size) {
        rocksdb_options_set_write_buffer_size(g->opts, o->sst_size);
        rocksdb_options_set_disable_auto_compactions(g->opts, 1);
        rocksdb_options_set_level0_slowdown_writes_trigger(g->opts, 1 << 30);
        rocksdb_options_set_level0_stop_writes_trigger(g->opts, 1 << 30);
        rocksdb_options_set_max_open_files(g->opts, 256);
    }
    if (create) {
        g->ncf = (size_t)o->cfs;
        for (size_t i = 0; i < g->ncf; i++) {
            snprintf(names_buf[i], sizeof(names_buf[i]), i ? "cf%zu" : "default", i);
            names[i] = names_buf[i];
        }
    } else {
        g->names = rocksdb_list_column_families(g->opts, o->dir, &g->ncf, &err);
        if (err)
            return fail(o->dir, err);
        if (g->ncf > MAX_CFS)
            return fail(o->dir, strdup("too many column families"));
        for (size_t i = 0; i < g->ncf; i++)
            names[i] = g->names[i];
    }
    for (size_t i = 0; i < g->ncf; i++)
        cf_opts[i] = g->opts;
    g->db = rocksdb_open_column_families(g->opts, o->dir, (int)g->ncf, names, cf_opts, g->cf, &err);
    return err ? fail(o->dir, err) : 0;
}

static void close_db(gen_db *g)
{
    for (size_t i = 0; g->db && i < g->ncf; i++)
        rocksdb_column_family_handle_destroy(g->cf[i]);
    if (g->db)
        rocksdb_close(g->db);
    if (g->names)
        rocksdb_list_column_families_destroy(g->names, g->ncf);
    if (g->opts)
        rocksdb_options_destroy(g->opts);
}

/* Flushes memtables so everything written lives in SST files (the WAL is
 * off while generating). */
static int flush_all(gen_db *g)
{
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    char *err = NULL;

    rocksdb_flushoptions_set_wait(fo, 1);
    for (size_t i = 0; i < g->ncf && !err; i++)
        rocksdb_flush_cf(g->db, fo, g->cf[i], &err);
    rocksdb_flushoptions_destroy(fo);
    return err ? fail("flush", err) : 0;
}

/* splitmix64's finaliser: picks keys to update evenly over all column
 * families (a plain i % step would put them all in one when step % ncf == 0). */
static uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* Writes key i for every i in [0, n) with mix(i ^ salt) % step == 0 (all of
 * them when step is 1). */
static int write_keys(gen_db *g, uint64_t n, uint64_t step, uint64_t salt, uint64_t value_size,
                      uint64_t seed)
{
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    char *value = malloc(value_size), *err = NULL;
    char key[32];
    uint64_t state = seed;

    rocksdb_writeoptions_disable_WAL(wo, 1);
    for (uint64_t i = 0; value && i < n && !err; i++) {
        if (step > 1 && mix(i ^ salt) % step != 0)
            continue;
        fill_random(&state, value, value_size);
        snprintf(key, sizeof(key), "k%012" PRIu64, i);
        rocksdb_writebatch_put_cf(wb, g->cf[i % g->ncf], key, strlen(key), value, value_size);
        if (rocksdb_writebatch_count(wb) >= BATCH ||
            (g->flush_every && (i + 1) % g->flush_every == 0)) {
            rocksdb_write(g->db, wo, wb, &err);
            rocksdb_writebatch_clear(wb);
        }
        if (!err && g->flush_every && (i + 1) % g->flush_every == 0 && flush_all(g) != 0)
            break;
    }
    if (!err && rocksdb_writebatch_count(wb) > 0)
        rocksdb_write(g->db, wo, wb, &err);
    free(value);
    rocksdb_writebatch_destroy(wb);
    rocksdb_writeoptions_destroy(wo);
    return err ? fail("write", err) : 0;
}

static int put_count(gen_db *g, uint64_t n)
{
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    char text[32], *err = NULL;

    snprintf(text, sizeof(text), "%" PRIu64, n);
    rocksdb_put(g->db, wo, KEY_COUNT_KEY, strlen(KEY_COUNT_KEY), text, strlen(text), &err);
    rocksdb_writeoptions_destroy(wo);
    return err ? fail("write", err) : 0;
}

static int get_count(gen_db *g, uint64_t *n)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    char *err = NULL, *v;
    size_t len;
    char text[32];

    v = rocksdb_get(g->db, ro, KEY_COUNT_KEY, strlen(KEY_COUNT_KEY), &len, &err);
    rocksdb_readoptions_destroy(ro);
    if (err || !v || len >= sizeof(text)) {
        free(v);
        return fail("not a kvault-gendb database", err);
    }
    memcpy(text, v, len);
    text[len] = '\0';
    free(v);
    *n = strtoull(text, NULL, 10);
    return 0;
}

static int generate(const gen_opts *o, gen_db *g)
{
    uint64_t n = o->size / (o->value_size + 13);
    int rc = open_db(o, 1, g);

    /* one SST of about sst_size per column family per flush */
    g->flush_every = o->sst_size ? o->sst_size * g->ncf / (o->value_size + 13) + 1 : 0;
    if (rc == 0)
        rc = write_keys(g, n, 1, 0, o->value_size, o->seed);
    if (rc == 0)
        rc = put_count(g, n);
    if (rc == 0)
        rc = flush_all(g);
    if (rc == 0)
        printf("%s: %" PRIu64 " keys of %" PRIu64 " bytes in %zu column families\n", o->dir, n,
               o->value_size, g->ncf);
    return rc;
}

static int update(const gen_opts *o, gen_db *g)
{
    uint64_t n = 0, step = (uint64_t)(100.0 / o->update_pct + 0.5);
    /* A new seed each run, so that repeated updates change the values. */
    uint64_t seed = o->seed ^ (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
    int rc = open_db(o, 0, g);

    if (step == 0)
        step = 1;
    if (rc == 0)
        rc = get_count(g, &n);
    if (rc == 0)
        rc = write_keys(g, n, step, seed, o->value_size, seed | 1);
    if (rc == 0)
        rc = flush_all(g);
    if (rc == 0)
        printf("%s: updated about 1 in %" PRIu64 " of %" PRIu64 " keys\n", o->dir, step, n);
    return rc;
}

/* Prints "CF KEYS FNV1A64" per column family. */
static int digest(const gen_opts *o, gen_db *g)
{
    rocksdb_readoptions_t *ro;
    int rc = open_db(o, 0, g);

    if (rc != 0)
        return rc;
    ro = rocksdb_readoptions_create();
    for (size_t i = 0; i < g->ncf; i++) {
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(g->db, ro, g->cf[i]);
        uint64_t h = 14695981039346656037ull, count = 0;
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
            size_t kl, vl;
            const unsigned char *k = (const unsigned char *)rocksdb_iter_key(it, &kl);
            const unsigned char *v = (const unsigned char *)rocksdb_iter_value(it, &vl);
            for (size_t j = 0; j < kl; j++)
                h = (h ^ k[j]) * 1099511628211ull;
            h = (h ^ 0xff) * 1099511628211ull; /* separates key from value */
            for (size_t j = 0; j < vl; j++)
                h = (h ^ v[j]) * 1099511628211ull;
            count++;
        }
        rocksdb_iter_destroy(it);
        printf("%s %" PRIu64 " %016" PRIx64 "\n", g->names[i], count, h);
    }
    rocksdb_readoptions_destroy(ro);
    return 0;
}

int main(int argc, char **argv)
{
    gen_opts o;
    gen_db g = {0};
    int rc = parse_args(argc, argv, &o);

    if (rc != 0)
        return rc;
    if (o.digest)
        rc = digest(&o, &g);
    else if (o.update_pct > 0)
        rc = update(&o, &g);
    else
        rc = generate(&o, &g);
    close_db(&g);
    return rc;
}
