/* kvault-testapp: an application that owns RocksDB databases the way real
 * services do, for the source-safety tests. It keeps code that kvault does
 * not have (a merge operator, a custom comparator), a WAL in a separate
 * directory, and writes that live only in the WAL; and it can keep writing
 * while kvault backs the database up.
 *
 *   kvault-testapp make DIR [--merge] [--comparator] [--wal-dir W] [--keys N]
 *       a DB with 3 column families: N puts per CF flushed to SSTs, then
 *       N/4 more puts (and merges with --merge) left only in the WAL
 *   kvault-testapp dump DIR [--merge] [--comparator] [--wal-dir W]
 *       every key and value of every CF, in the DB's order, one per line
 *       (opened read-only, its info log kept out of DIR)
 *   kvault-testapp writer DIR --cfs N --counter FILE [--wal-dir W]
 *                         [--rate BATCHES_PER_S] [--write-buffer BYTES] [--odd-cf]
 *       writes batch after batch (one key per CF, value = batch number) until
 *       SIGTERM; after each acknowledged write, FILE holds the batch count;
 *       on exit prints put latency percentiles (microseconds). Memtables of
 *       256 KiB by default, so flushes and compactions never stop. --odd-cf
 *       names the last CF "odd name/<u-umlaut>:%N", which is no file name.
 *   kvault-testapp check-prefix DIR --cfs N --min A
 *       a restored writer DB: every CF holds exactly the batches 0..M-1 for
 *       one M >= A; prints M
 *   kvault-testapp hold DIR    opens DIR read-write and waits for SIGTERM
 *   kvault-testapp seq DIR [--merge] [--comparator]
 *       the latest sequence number (opened read-only)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rocksdb/c.h>

#define MAX_CFS 16

typedef struct app {
    const char *dir, *wal_dir, *counter;
    int merge, comparator, ncf, small_memtables, odd_cf;
    uint64_t keys, min, rate, write_buffer;
    rocksdb_options_t *opts;
    rocksdb_mergeoperator_t *mop;
    rocksdb_comparator_t *cmp;
    rocksdb_t *db;
    rocksdb_column_family_handle_t *cf[MAX_CFS];
    char *names[MAX_CFS];
} app;

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static void die(const char *what, char *err)
{
    fprintf(stderr, "kvault-testapp: %s: %s\n", what, err ? err : "failed");
    exit(1);
}

/* ---- the code kvault does not have -------------------------------------- */

static void no_state(void *s)
{
    (void)s;
}

static const char *merge_name(void *s)
{
    (void)s;
    return "kvault.test.append";
}

/* Joins the existing value and the operands with ','. */
static char *join(const char *first, size_t flen, const char *const *ops, const size_t *lens,
                  int n, size_t *out_len)
{
    size_t len = flen, k = 0;
    char *v;
    for (int i = 0; i < n; i++)
        len += lens[i] + 1;
    if (!(v = malloc(len + 1)))
        return NULL;
    if (first) {
        memcpy(v, first, flen);
        k = flen;
    }
    for (int i = 0; i < n; i++) {
        if (k)
            v[k++] = ',';
        memcpy(v + k, ops[i], lens[i]);
        k += lens[i];
    }
    *out_len = k;
    return v;
}

static char *full_merge(void *s, const char *key, size_t klen, const char *existing, size_t elen,
                        const char *const *ops, const size_t *lens, int n, unsigned char *ok,
                        size_t *out_len)
{
    (void)s, (void)key, (void)klen;
    char *v = join(existing, existing ? elen : 0, ops, lens, n, out_len);
    *ok = v != NULL;
    return v;
}

static char *partial_merge(void *s, const char *key, size_t klen, const char *const *ops,
                           const size_t *lens, int n, unsigned char *ok, size_t *out_len)
{
    (void)s, (void)key, (void)klen;
    char *v = join(NULL, 0, ops, lens, n, out_len);
    *ok = v != NULL;
    return v;
}

static void delete_value(void *s, const char *v, size_t len)
{
    (void)s, (void)len;
    free((void *)v);
}

static const char *cmp_name(void *s)
{
    (void)s;
    return "kvault.test.reverse";
}

/* Reverse bytewise order: a DB sorted by it cannot be read in bytewise order. */
static int cmp_reverse(void *s, const char *a, size_t alen, const char *b, size_t blen)
{
    (void)s;
    size_t n = alen < blen ? alen : blen;
    int c = memcmp(a, b, n);
    if (c == 0)
        c = alen < blen ? -1 : alen > blen;
    return -c;
}

/* ---- opening ------------------------------------------------------------- */

static void set_code(app *a)
{
    if (a->merge) {
        a->mop = rocksdb_mergeoperator_create(NULL, no_state, full_merge, partial_merge, delete_value,
                                              merge_name);
        rocksdb_options_set_merge_operator(a->opts, a->mop);
    }
    if (a->comparator) {
        a->cmp = rocksdb_comparator_create(NULL, no_state, cmp_reverse, cmp_name);
        rocksdb_options_set_comparator(a->opts, a->cmp);
    }
    if (a->wal_dir)
        rocksdb_options_set_wal_dir(a->opts, a->wal_dir);
}

static void open_db(app *a, int create, int read_only)
{
    const rocksdb_options_t *cfo[MAX_CFS];
    const char *names[MAX_CFS];
    char *err = NULL, log_dir[] = "/tmp/kvault-testapp-log-XXXXXX";

    a->opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(a->opts, create);
    rocksdb_options_set_create_missing_column_families(a->opts, create);
    set_code(a);
    if (a->small_memtables) {
        /* Flushes and compactions run all the time, deleting files while a
         * backup reads the directory. */
        rocksdb_options_set_write_buffer_size(a->opts, a->write_buffer);
        rocksdb_options_set_level0_file_num_compaction_trigger(a->opts, 2);
    }
    if (read_only) {
        /* A read-only open still creates an info log; keep it out of DIR. */
        if (!mkdtemp(log_dir))
            die("mkdtemp", strerror(errno));
        rocksdb_options_set_db_log_dir(a->opts, log_dir);
    }
    for (int i = 0; i < a->ncf; i++) {
        names[i] = a->names[i];
        cfo[i] = a->opts;
    }
    a->db = read_only ? rocksdb_open_for_read_only_column_families(a->opts, a->dir, a->ncf, names,
                                                                   cfo, a->cf, 0, &err)
                      : rocksdb_open_column_families(a->opts, a->dir, a->ncf, names, cfo, a->cf,
                                                     &err);
    if (err)
        die(a->dir, err);
}

/* Column families as the DB lists them (dump, check-prefix) or as made. */
static void name_cfs(app *a, int from_db)
{
    if (from_db) {
        rocksdb_options_t *o = rocksdb_options_create();
        char *err = NULL, **names;
        size_t n;
        names = rocksdb_list_column_families(o, a->dir, &n, &err);
        if (err)
            die(a->dir, err);
        for (size_t i = 0; i < n && i < MAX_CFS; i++)
            a->names[i] = strdup(names[i]);
        a->ncf = (int)(n < MAX_CFS ? n : MAX_CFS);
        rocksdb_list_column_families_destroy(names, n);
        rocksdb_options_destroy(o);
        return;
    }
    for (int i = 0; i < a->ncf; i++) {
        char name[32];
        snprintf(name, sizeof name, i ? "cf%d" : "default", i);
        if (a->odd_cf && i && i == a->ncf - 1) /* not a safe file name, on purpose */
            snprintf(name, sizeof name, "odd name/\xc3\xbc:%%%d", i);
        a->names[i] = strdup(name);
    }
}

static void close_db(app *a)
{
    for (int i = 0; i < a->ncf; i++)
        rocksdb_column_family_handle_destroy(a->cf[i]);
    rocksdb_close(a->db);
    rocksdb_options_destroy(a->opts); /* owns the merge operator */
    if (a->cmp)
        rocksdb_comparator_destroy(a->cmp);
    for (int i = 0; i < a->ncf; i++)
        free(a->names[i]);
}

/* ---- make, dump ---------------------------------------------------------- */

static void write_keys(app *a, uint64_t from, uint64_t to, int with_merges)
{
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    char *err = NULL;
    for (uint64_t k = from; k < to; k++) {
        rocksdb_writebatch_t *b = rocksdb_writebatch_create();
        char key[32], val[64];
        int klen = snprintf(key, sizeof key, "key%08" PRIu64, k);
        for (int c = 0; c < a->ncf; c++) {
            int vlen = snprintf(val, sizeof val, "v%" PRIu64 "-cf%d-%0*d", k, c, 40, 0);
            if (with_merges && k % 2)
                rocksdb_writebatch_merge_cf(b, a->cf[c], key, (size_t)klen, val, 8);
            else
                rocksdb_writebatch_put_cf(b, a->cf[c], key, (size_t)klen, val, (size_t)vlen);
        }
        rocksdb_write(a->db, wo, b, &err);
        rocksdb_writebatch_destroy(b);
        if (err)
            die("write", err);
    }
    rocksdb_writeoptions_destroy(wo);
}

static int cmd_make(app *a)
{
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    char *err = NULL;
    a->ncf = 3;
    name_cfs(a, 0);
    open_db(a, 1, 0);
    write_keys(a, 0, a->keys, 0);
    for (int c = 0; c < a->ncf; c++) {
        rocksdb_flush_cf(a->db, fo, a->cf[c], &err);
        if (err)
            die("flush", err);
    }
    /* These stay in the WAL: RocksDB does not flush on close when it has one. */
    write_keys(a, a->keys / 2, a->keys + a->keys / 4, a->merge);
    rocksdb_flushoptions_destroy(fo);
    close_db(a);
    return 0;
}

static void put_escaped(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '\\')
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static int cmd_dump(app *a)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    char *err = NULL;
    name_cfs(a, 1);
    open_db(a, 0, 1);
    for (int c = 0; c < a->ncf; c++) {
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(a->db, ro, a->cf[c]);
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
            size_t kl, vl;
            const char *k = rocksdb_iter_key(it, &kl), *v = rocksdb_iter_value(it, &vl);
            printf("%s\t", a->names[c]);
            put_escaped(k, kl);
            putchar('\t');
            put_escaped(v, vl);
            putchar('\n');
        }
        rocksdb_iter_get_error(it, &err);
        rocksdb_iter_destroy(it);
        if (err)
            die("read", err);
    }
    rocksdb_readoptions_destroy(ro);
    close_db(a);
    return 0;
}

/* ---- writer, check-prefix, hold ------------------------------------------ */

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static void print_latency(uint64_t *lat, size_t n)
{
    if (!n)
        return;
    qsort(lat, n, sizeof *lat, cmp_u64);
    printf("puts %zu p50_us %" PRIu64 " p99_us %" PRIu64 " p999_us %" PRIu64 " max_us %" PRIu64 "\n",
           n, lat[n / 2], lat[n * 99 / 100], lat[n * 999 / 1000], lat[n - 1]);
}

static uint64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static int cmd_writer(app *a)
{
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    size_t cap = 1 << 20, n = 0;
    uint64_t *lat = malloc(cap * sizeof *lat);
    int fd = open(a->counter, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char val[128];

    if (fd < 0 || !lat)
        die(a->counter, strerror(errno));
    name_cfs(a, 0);
    a->small_memtables = 1;
    open_db(a, 1, 0);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    memset(val, 'x', sizeof val);
    uint64_t start = now_us();
    for (uint64_t i = 0; !stop; i++) {
        rocksdb_writebatch_t *b;
        /* at a fixed rate, a service's load rather than a stress test */
        while (a->rate && !stop && (now_us() - start) * a->rate < i * 1000000u)
            usleep(50);
        b = rocksdb_writebatch_create();
        char key[32], count[32];
        char *err = NULL;
        int klen = snprintf(key, sizeof key, "%010" PRIu64, i), clen;
        int vlen = snprintf(val, 24, "%" PRIu64 "|", i);
        uint64_t t0;
        val[vlen] = 'x';
        for (int c = 0; c < a->ncf; c++)
            rocksdb_writebatch_put_cf(b, a->cf[c], key, (size_t)klen, val, sizeof val);
        t0 = now_us();
        rocksdb_write(a->db, wo, b, &err);
        if (n == cap) {
            cap *= 2;
            if (!(lat = realloc(lat, cap * sizeof *lat)))
                die("realloc", NULL);
        }
        lat[n++] = now_us() - t0;
        rocksdb_writebatch_destroy(b);
        if (err)
            die("write", err);
        clen = snprintf(count, sizeof count, "%" PRIu64 "\n", i + 1);
        if (pwrite(fd, count, (size_t)clen, 0) != clen)
            die(a->counter, strerror(errno));
    }
    close(fd);
    close_db(a);
    print_latency(lat, n);
    free(lat);
    rocksdb_writeoptions_destroy(wo);
    return 0;
}

static int cmd_check_prefix(app *a)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    uint64_t m = UINT64_MAX;
    name_cfs(a, 1);
    open_db(a, 0, 1);
    for (int c = 0; c < a->ncf; c++) {
        rocksdb_iterator_t *it = rocksdb_create_iterator_cf(a->db, ro, a->cf[c]);
        uint64_t i = 0;
        char *err = NULL;
        for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it); rocksdb_iter_next(it), i++) {
            size_t kl, vl;
            const char *k = rocksdb_iter_key(it, &kl), *v = rocksdb_iter_value(it, &vl);
            char want[32];
            int wl = snprintf(want, sizeof want, "%010" PRIu64, i);
            if (kl != (size_t)wl || memcmp(k, want, kl) != 0 || strtoull(v, NULL, 10) != i) {
                fprintf(stderr, "check-prefix: CF %s: gap or wrong value at batch %" PRIu64 "\n",
                        a->names[c], i);
                return 1;
            }
        }
        rocksdb_iter_get_error(it, &err);
        rocksdb_iter_destroy(it);
        if (err)
            die("read", err);
        if (m != UINT64_MAX && i != m) {
            fprintf(stderr, "check-prefix: CF %s holds %" PRIu64 " batches, CF %s %" PRIu64 "\n",
                    a->names[c], i, a->names[0], m);
            return 1;
        }
        m = i;
    }
    rocksdb_readoptions_destroy(ro);
    close_db(a);
    if (m < a->min) {
        fprintf(stderr, "check-prefix: %" PRIu64 " batches, but %" PRIu64 " were acknowledged "
                "before the backup started\n", m, a->min);
        return 1;
    }
    printf("%" PRIu64 "\n", m);
    return 0;
}

static int cmd_seq(app *a)
{
    name_cfs(a, 1);
    open_db(a, 0, 1);
    printf("%" PRIu64 "\n", (uint64_t)rocksdb_get_latest_sequence_number(a->db));
    close_db(a);
    return 0;
}

static int cmd_hold(app *a)
{
    name_cfs(a, 1);
    open_db(a, 0, 0);
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    printf("holding %s\n", a->dir);
    fflush(stdout);
    while (!stop)
        pause();
    close_db(a);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"merge", no_argument, NULL, 'm'},      {"comparator", no_argument, NULL, 'c'},
        {"wal-dir", required_argument, NULL, 'w'}, {"keys", required_argument, NULL, 'k'},
        {"cfs", required_argument, NULL, 'n'},  {"counter", required_argument, NULL, 'o'},
        {"min", required_argument, NULL, 'a'},  {"rate", required_argument, NULL, 'r'},
        {"write-buffer", required_argument, NULL, 'b'}, {"odd-cf", no_argument, NULL, 'O'},
        {NULL, 0, NULL, 0},
    };
    app a = {.keys = 20000, .ncf = 3, .write_buffer = 256 << 10};
    const char *cmd;
    int c;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': a.merge = 1; break;
        case 'c': a.comparator = 1; break;
        case 'w': a.wal_dir = optarg; break;
        case 'k': a.keys = strtoull(optarg, NULL, 10); break;
        case 'n': a.ncf = (int)strtol(optarg, NULL, 10); break;
        case 'o': a.counter = optarg; break;
        case 'a': a.min = strtoull(optarg, NULL, 10); break;
        case 'r': a.rate = strtoull(optarg, NULL, 10); break;
        case 'b': a.write_buffer = strtoull(optarg, NULL, 10); break;
        case 'O': a.odd_cf = 1; break;
        default: return 2;
        }
    }
    if (optind + 2 != argc || a.ncf < 1 || a.ncf > MAX_CFS) {
        fprintf(stderr, "usage: kvault-testapp make|dump|writer|check-prefix|hold|seq DIR [options]\n");
        return 2;
    }
    cmd = argv[optind];
    a.dir = argv[optind + 1];
    if (strcmp(cmd, "make") == 0)
        return cmd_make(&a);
    if (strcmp(cmd, "dump") == 0)
        return cmd_dump(&a);
    if (strcmp(cmd, "writer") == 0 && a.counter)
        return cmd_writer(&a);
    if (strcmp(cmd, "check-prefix") == 0)
        return cmd_check_prefix(&a);
    if (strcmp(cmd, "hold") == 0)
        return cmd_hold(&a);
    if (strcmp(cmd, "seq") == 0)
        return cmd_seq(&a);
    fprintf(stderr, "kvault-testapp: unknown command or missing option: %s\n", cmd);
    return 2;
}
