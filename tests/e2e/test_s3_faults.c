/* The S3 backend and the transfer engine against a faulty network: a proxy
 * (tests/servers/s3_fault_proxy.py) between kvault and the gateway resets
 * connections, answers 503 SlowDown and cuts replies short; another accepts
 * connections and never answers. Run by tests/servers/s3_faults.sh, which starts the
 * proxies and passes KV_FAULTY_ENDPOINT and KV_STALL_ENDPOINT.
 * Usage: test_s3_faults s3://bucket/prefix [CASE-FILTER] */
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "store/s3.h"
#include "store/store.h"
#include "test_store.h"
#include "test.h"
#include "transfer/transfer.h"
#include "util/err.h"
#include "util/fs.h"

#define MIB (1024 * 1024)
#define NSMALL 30

static char base_url[512];
static char tmpdir[64];

/* Opens base_url/sub through endpoint (NULL = the real one). */
static int open_via(const char *endpoint, const char *sub, int max_retries, kv_store **out)
{
    char url[640], *saved = NULL;
    int rc;
    snprintf(url, sizeof url, "%s/%s", base_url, sub);
    if (endpoint) {
        saved = strdup(getenv("AWS_ENDPOINT_URL"));
        setenv("AWS_ENDPOINT_URL", endpoint, 1);
    }
    rc = kvt_store_open_retries(url, max_retries, out);
    if (saved) {
        setenv("AWS_ENDPOINT_URL", saved, 1);
        free(saved);
    }
    return rc;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static int make_file(const char *path, size_t size, uint64_t seed)
{
    char *data = malloc(size ? size : 1);
    int rc;
    if (!data)
        return KV_ENOMEM;
    for (size_t i = 0; i < size; i += 8) {
        uint64_t v = mix(seed + i);
        memcpy(data + i, &v, size - i < 8 ? size - i : 8);
    }
    rc = kv_write_file_atomic(path, data, size);
    free(data);
    return rc;
}

static int same_files(const char *a, const char *b)
{
    char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    int same = kv_read_file(a, &da, &la) == KV_OK && kv_read_file(b, &db, &lb) == KV_OK &&
               la == lb && memcmp(da, db, la) == 0;
    free(da);
    free(db);
    return same;
}

typedef struct files {
    char up[NSMALL + 1][128], down[NSMALL + 1][128], key[NSMALL + 1][64];
    kv_xfer_item items[NSMALL + 1];
} files;

/* One file of 3 parts and a bit (5 MiB parts), and NSMALL of 1..64 KiB. */
static int make_files(files *f)
{
    int rc = KV_OK;
    for (int i = 0; i <= NSMALL && rc == KV_OK; i++) {
        size_t size = i == 0 ? 3 * 5 * MIB + 12345 : 1 + (size_t)(mix((uint64_t)i) % 65536);
        snprintf(f->up[i], sizeof f->up[i], "%s/up-%d", tmpdir, i);
        snprintf(f->down[i], sizeof f->down[i], "%s/down-%d", tmpdir, i);
        snprintf(f->key[i], sizeof f->key[i], i == 0 ? "big" : "small/%02d", i);
        rc = make_file(f->up[i], size, (uint64_t)i << 32);
        f->items[i] = (kv_xfer_item){f->up[i], f->key[i], size, 0, 0, 0, 0};
    }
    return rc;
}

/* Downloads every item to its down path and compares with the original. */
static int download_and_compare(kv_store *st, files *f)
{
    kv_xfer_item items[NSMALL + 1];
    kv_xfer_opts o = {.workers = 4, .part_size = 5 * MIB};
    int rc;
    for (int i = 0; i <= NSMALL; i++) {
        items[i] = (kv_xfer_item){f->down[i], f->key[i], f->items[i].size, 1,
                                  f->items[i].crc32c, 0, 0};
        unlink(f->down[i]);
    }
    rc = kv_xfer_download(st, items, NSMALL + 1, &o);
    if (rc)
        return rc;
    for (int i = 0; i <= NSMALL; i++)
        if (!same_files(f->up[i], f->down[i]))
            return kv_seterr(KV_ECORRUPT, "%s differs from %s", f->down[i], f->up[i]);
    return KV_OK;
}

static int count_upload(const char *key, const char *upload_id, void *p)
{
    fprintf(stderr, "  open upload: %s (%s)\n", key, upload_id);
    (*(int *)p)++;
    return 0;
}

static void faulty_network_keeps_data_intact(void)
{
    static files f;
    kv_xfer_opts o = {.workers = 4, .part_size = 5 * MIB};
    kv_store *faulty = NULL, *direct = NULL;
    int open_uploads = 0;

    CHECK_OK(make_files(&f));
    CHECK_OK(open_via(getenv("KV_FAULTY_ENDPOINT"), "intact", 6, &faulty));
    CHECK_OK(open_via(NULL, "intact", 6, &direct));
    CHECK_OK(kv_xfer_upload(faulty, f.items, NSMALL + 1, &o));
    /* read back directly from the gateway, then through the faults too */
    CHECK_OK(download_and_compare(direct, &f));
    CHECK_OK(download_and_compare(faulty, &f));
    CHECK_OK(kv_s3_list_uploads(direct, "", count_upload, &open_uploads));
    CHECK_EQ_U64(open_uploads, 0);
    for (int i = 0; i <= NSMALL; i++)
        CHECK_OK(kv_store_remove(faulty, f.key[i]));
    kv_store_close(faulty);
    kv_store_close(direct);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void stalled_server_times_out(void)
{
    kv_store *stalled = NULL;
    char buf[16];
    size_t got;
    double t0;
    int rc;

    setenv("KVAULT_STALL_TIMEOUT", "2", 1);
    rc = open_via(getenv("KV_STALL_ENDPOINT"), "stall", 1, &stalled);
    unsetenv("KVAULT_STALL_TIMEOUT");
    CHECK_OK(rc);
    t0 = now_s();
    rc = kv_store_put(stalled, "x", "x", 1, NULL);
    fprintf(stderr, "  put after %.1f s: %s\n", now_s() - t0, kvault_errmsg());
    CHECK(rc == KV_ETRANSIENT);
    CHECK(now_s() - t0 < 20); /* two attempts of 2 s, plus a backoff */
    CHECK(strstr(kvault_errmsg(), "PUT http://127.0.0.1:"));
    t0 = now_s();
    rc = kv_store_get(stalled, "x", 0, sizeof buf, buf, &got);
    kv_store_close(stalled);
    CHECK(rc == KV_ETRANSIENT);
    CHECK(now_s() - t0 < 20);
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void refused_connection_is_transient(void)
{
    kv_store *nobody = NULL;
    char endpoint[64];
    int rc;
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", closed_port());
    CHECK_OK(open_via(endpoint, "refused", 1, &nobody));
    rc = kv_store_put(nobody, "x", "x", 1, NULL);
    fprintf(stderr, "  put: %s\n", kvault_errmsg());
    kv_store_close(nobody);
    CHECK(rc == KV_ETRANSIENT);
    CHECK(strstr(kvault_errmsg(), endpoint));
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"faulty_network_keeps_data_intact", faulty_network_keeps_data_intact},
        {"stalled_server_times_out", stalled_server_times_out},
        {"refused_connection_is_transient", refused_connection_is_transient},
        {NULL, NULL},
    };
    int rc;
    if (argc < 2 || !getenv("KV_FAULTY_ENDPOINT") || !getenv("KV_STALL_ENDPOINT")) {
        fprintf(stderr, "usage: KV_FAULTY_ENDPOINT=.. KV_STALL_ENDPOINT=.. test_s3_faults "
                        "s3://bucket/prefix [CASE-FILTER]\n");
        return 2;
    }
    snprintf(base_url, sizeof base_url, "%s/run-%ld-%ld", argv[1], (long)time(NULL),
             (long)getpid());
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kvs3-faults-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    if (getenv("KV_TEST_VERBOSE"))
        kvault_global_set(&(kvault_global){.version = KVAULT_GLOBAL_VERSION, .verbosity = atoi(getenv("KV_TEST_VERBOSE"))});
    rc = kvt_run(cases, argc - 1, argv + 1);
    kv_rm_rf(tmpdir);
    return rc;
}
