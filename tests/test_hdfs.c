/* HDFS against the WebHDFS test server (tests/webhdfs.sh fixture): backup,
 * incremental backup, verify and restore through the public API with a
 * file large enough to go up in parts joined by CONCAT; a connection
 * dropped mid-upload; permission errors; checksum comparison; the
 * LISTSTATUS fallback; delegation tokens; DataNode address rewriting; the
 * native-library switch; StandbyException retries.
 *
 * Usage (with tests/with_webhdfs_env.sh, which sets KV_HDFS_CONTROL and
 * KV_HDFS_DN_PORT): test_hdfs hdfs://127.0.0.1:PORT/prefix [CASE-FILTER] */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "http/http.h"
#include "store/store.h"
#include "e2e_db.h"
#include "test.h"
#include "util/err.h"

#define NBIG 1000        /* keys of 4 KiB random values: a ~4 MiB SST */
#define NSMALL 300
#define PART (1u << 20)  /* = the server's block size in the fixture */

static char url[512];    /* hdfs://nn/prefix/run-... */
static char tmp[64];
static const char *control_url;

/* ---- the server's test hooks ------------------------------------------- */

/* Sends "/_control?query" and returns counter name's value (or -1). */
static long control(const char *query, const char *counter)
{
    kv_http *h = NULL;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char u[512];
    long value = -1;
    snprintf(u, sizeof u, "%s?%s", control_url, query);
    if (kv_http_new(NULL, &h) == KV_OK) {
        kv_http_req req = {"GET", u, NULL, 0, NULL, 0, NULL, 0, 0, 0};
        if (kv_http_do(h, &req, &resp) == KV_OK && resp.status == 200) {
            json_t *root = json_loadb(resp.body.data, resp.body.len, 0, NULL);
            value = counter ? (long)json_integer_value(json_object_get(root, counter)) : 0;
            json_decref(root);
        }
    }
    kv_http_resp_free(&resp);
    kv_http_free(h);
    return value;
}

/* Files under an HDFS directory (recursively) whose names are kvault's
 * temporaries, read with raw LISTSTATUS so that nothing hides them. */
static long raw_temporaries(const char *nn, const char *dir)
{
    kv_http *h = NULL;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char u[1024];
    long n = 0;
    size_t i;
    json_t *root = NULL, *fs;
    snprintf(u, sizeof u, "http://%s/webhdfs/v1%s?op=LISTSTATUS&user.name=hdfs", nn, dir);
    if (kv_http_new(NULL, &h) != KV_OK)
        return -1;
    {
        kv_http_req req = {"GET", u, NULL, 0, NULL, 0, NULL, 0, 0, 0};
        if (kv_http_do(h, &req, &resp) != KV_OK || resp.status != 200)
            n = resp.status == 404 ? 0 : -1;
        else
            root = json_loadb(resp.body.data, resp.body.len, 0, NULL);
    }
    json_array_foreach(json_object_get(json_object_get(root, "FileStatuses"), "FileStatus"), i, fs) {
        const char *name = json_string_value(json_object_get(fs, "pathSuffix"));
        const char *type = json_string_value(json_object_get(fs, "type"));
        if (strcmp(type, "DIRECTORY") == 0) {
            char sub[1024];
            long m;
            snprintf(sub, sizeof sub, "%s/%s", dir, name);
            m = raw_temporaries(nn, sub);
            n = m < 0 ? -1 : n + m;
        } else if (strstr(name, ".kvtmp-") || strstr(name, ".kvpart-")) {
            fprintf(stderr, "  left behind: %s/%s\n", dir, name);
            n++;
        }
    }
    json_decref(root);
    kv_http_resp_free(&resp);
    kv_http_free(h);
    return n;
}

/* A store at the top of the file system (whose root everybody may write,
 * as the test server's is), for a case that runs as another user: the run's
 * own directory belongs to the OS user, mode 755. */
static void top_url(const char *name, char out[600])
{
    const char *a = strstr(url, "://") + 3;
    snprintf(out, 600, "%.*s/%s-%ld", (int)(strchr(a, '/') - url), url, name, (long)getpid());
}

/* Settings a failed case may have left. */
static void clean_env(void)
{
    unsetenv("HADOOP_USER_NAME");
    unsetenv("KVAULT_HDFS_DELEGATION");
    unsetenv("KVAULT_HDFS_DATANODE_REWRITE");
    unsetenv("KVAULT_HDFS_NATIVE");
}

/* "127.0.0.1:PORT" and "/prefix/run-..." of url. */
static void split_url(char nn[64], char path[256])
{
    const char *a = strstr(url, "://") + 3, *slash = strchr(a, '/');
    snprintf(nn, 64, "%.*s", (int)(slash - a), a);
    snprintf(path, 256, "%s", slash);
}

/* ---- the database --------------------------------------------------------- */

static const kvt_db model = {NBIG, NSMALL};

/* ---- cases ----------------------------------------------------------------- */

static void backup_restore_verify(void)
{
    kvault_options o = {.workers = 4, .part_size = PART};
    kvault_backup_opts bo = {"e2e"};
    kvault_backup_info b1, b2, r;
    kvault_restore_opts ro = {"e2e", NULL, 0};
    kvault_verify_opts vo = {"e2e", NULL, 1};
    kvault_verify_report rep;
    kvault_object *objs = NULL;
    size_t n = 0;
    kvault *kv = NULL;
    long concats = control("", "concat");
    char db[128], out1[128], out2[128], nn[64], path[256];
    snprintf(db, sizeof db, "%s/db", tmp);
    snprintf(out1, sizeof out1, "%s/restore1", tmp);
    snprintf(out2, sizeof out2, "%s/restore2", tmp);
    CHECK(concats >= 0);
    CHECK(kvt_db_write_phase(&model, db, 1) == 0);
    CHECK_OK(kvault_open(url, &o, &kv));
    CHECK_OK(kvault_backup(kv, db, &bo, &b1));
    fprintf(stderr, "  backup 1: %s, %llu files, %llu bytes\n", b1.id,
            (unsigned long long)b1.files, (unsigned long long)b1.bytes);
    /* the big SST went up as parts joined by CONCAT */
    CHECK(control("", "concat") > concats);
    CHECK(kvt_db_write_phase(&model, db, 2) == 0);
    CHECK_OK(kvault_backup(kv, db, &bo, &b2));
    CHECK(b2.files_new < b2.files); /* the big SST is referenced, not stored again */
    CHECK_OK(kvault_verify(kv, &vo, &rep));
    CHECK(rep.restore_checked);
    CHECK_EQ_U64(rep.keys, NBIG + NSMALL + 1);
    ro.backup_id = b1.id;
    CHECK_OK(kvault_restore(kv, &ro, out1, &r));
    CHECK(kvt_db_check(&model, out1, 1) == 0);
    ro.backup_id = NULL; /* latest */
    CHECK_OK(kvault_restore(kv, &ro, out2, &r));
    CHECK_STR(r.id, b2.id);
    CHECK(kvt_db_check(&model, out2, 2) == 0);
    split_url(nn, path);
    CHECK(raw_temporaries(nn, path) == 0);
    CHECK_OK(kvault_ls(kv, "", &objs, &n));
    for (size_t i = 0; i < n; i++)
        CHECK_OK(kvault_rm(kv, objs[i].key));
    kvault_free_objects(objs, n);
    kvault_close(kv);
}

static unsigned char *pattern(size_t n)
{
    unsigned char *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)kvt_mix(i);
    return p;
}

/* The connection to the DataNode dies part way through the data: no object
 * appears under the final name, and no temporary stays behind. */
static void dropped_upload_leaves_nothing(void)
{
    clean_env();
    size_t len = 3 * PART;
    unsigned char *data = pattern(len), *back = malloc(len + 1);
    kv_store *st = NULL;
    kv_upload *up = NULL;
    kv_object_info info;
    char nn[64], path[256];
    size_t got = 0;
    int rc;
    split_url(nn, path);
    CHECK_OK(kv_store_open(url, NULL, &st));
    /* a single put, called without the retrying wrapper */
    CHECK(control("drop_after=300000", "dropped") >= 0);
    CHECK(st->ops->put(st, "drop/single", data, len, NULL) == KV_ETRANSIENT);
    fprintf(stderr, "  dropped put: %s\n", kv_errmsg());
    CHECK(kv_store_stat(st, "drop/single", &info) == KV_ENOTFOUND);
    /* a part of a multipart upload */
    CHECK_OK(kv_store_upload_begin(st, "drop/multi", len, PART, &up));
    CHECK_OK(st->ops->upload_part(up, 2, PART, data + PART, PART, NULL));
    /* twice: libcurl re-sends once by itself on a kept-alive connection */
    CHECK(control("drop_after=100000&drop_times=2", "dropped") >= 0);
    rc = st->ops->upload_part(up, 1, 0, data, PART, NULL);
    fprintf(stderr, "  dropped part: %d %s\n", rc, kv_errmsg());
    CHECK(rc == KV_ETRANSIENT);
    kv_store_upload_abort(st, up);
    CHECK(kv_store_stat(st, "drop/multi", &info) == KV_ENOTFOUND);
    CHECK(raw_temporaries(nn, path) == 0);
    /* through the retrying wrapper the same drop is survived */
    CHECK(control("drop_after=200000", "dropped") >= 0);
    CHECK_OK(kv_store_put(st, "drop/retried", data, len, NULL));
    CHECK_OK(kv_store_get(st, "drop/retried", 0, len + 1, back, &got));
    CHECK_EQ_U64(got, len);
    CHECK(memcmp(back, data, len) == 0);
    CHECK_OK(kv_store_remove(st, "drop/retried"));
    CHECK(raw_temporaries(nn, path) == 0);
    kv_store_close(st);
    free(data);
    free(back);
}

static void permission_denied_is_clear(void)
{
    char file[128], base[600];
    kvault *kv = NULL;
    int rc;
    snprintf(file, sizeof file, "%s/small", tmp);
    clean_env();
    top_url("perm", base);
    {
        FILE *f = fopen(file, "w");
        CHECK(f != NULL);
        fputs("hello", f);
        fclose(f);
    }
    setenv("HADOOP_USER_NAME", "alice", 1);
    CHECK_OK(kvault_open(base, NULL, &kv));
    CHECK_OK(kvault_put_file(kv, file, "home/x"));
    kvault_close(kv);
    setenv("HADOOP_USER_NAME", "bob", 1);
    CHECK_OK(kvault_open(base, NULL, &kv));
    rc = kvault_put_file(kv, file, "home/y");
    fprintf(stderr, "  as bob: %s\n", kvault_errmsg());
    CHECK(rc == KV_EAUTH);
    CHECK(strstr(kvault_errmsg(), "AccessControlException"));
    CHECK(strstr(kvault_errmsg(), "Permission denied: user=bob, access=WRITE"));
    CHECK(strstr(kvault_errmsg(), "(HTTP 403)"));
    CHECK(strstr(kvault_errmsg(), "hdfs://"));
    CHECK(kvault_rm(kv, "home/x") == KV_EAUTH);
    kvault_close(kv);
    setenv("HADOOP_USER_NAME", "alice", 1);
    CHECK_OK(kvault_open(base, NULL, &kv));
    CHECK_OK(kvault_rm(kv, "home/x"));
    kvault_close(kv);
    unsetenv("HADOOP_USER_NAME");
}

/* An upload in parts through the store's own functions (no retries). */
static int multipart(kv_store *st, const char *key, const unsigned char *data, size_t len)
{
    kv_upload *up = NULL;
    uint32_t n = (uint32_t)((len + PART - 1) / PART);
    int rc = kv_store_upload_begin(st, key, len, PART, &up);
    for (uint32_t i = n; rc == KV_OK && i >= 1; i--) { /* any order */
        size_t off = (size_t)(i - 1) * PART, m = len - off < PART ? len - off : PART;
        rc = st->ops->upload_part(up, i, off, data + off, m, NULL);
    }
    if (rc == KV_OK)
        rc = st->ops->upload_complete(up);
    if (rc && up)
        kv_store_upload_abort(st, up);
    return rc;
}

/* The checksum the cluster reports is compared, for single puts and for
 * parts joined by CONCAT, whatever the server's mode (CRC32C, CRC32,
 * COMPOSITE-CRC): a digit changed inside its first `length` bytes fails the
 * upload, and nothing appears under the key. */
static void checksum_mismatch_is_detected(void)
{
    clean_env();
    size_t big = 2 * PART + 5000;
    unsigned char *data = pattern(big);
    kv_store *st = NULL;
    kv_object_info info;
    CHECK_OK(kv_store_open(url, NULL, &st));
    CHECK_OK(kv_store_put(st, "sum/good", data, PART + 5000, NULL));
    CHECK_OK(multipart(st, "sum/goodmulti", data, big));
    CHECK(control("flip_checksum=1", NULL) == 0);
    CHECK(st->ops->put(st, "sum/bad", data, PART + 5000, NULL) == KV_ECORRUPT);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "checksum mismatch"));
    CHECK(kv_store_stat(st, "sum/bad", &info) == KV_ENOTFOUND);
    CHECK(control("flip_checksum=1", NULL) == 0);
    CHECK(multipart(st, "sum/badmulti", data, big) == KV_ECORRUPT);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "checksum mismatch"));
    CHECK(kv_store_stat(st, "sum/badmulti", &info) == KV_ENOTFOUND);
    CHECK_OK(kv_store_remove(st, "sum/good"));
    CHECK_OK(kv_store_remove(st, "sum/goodmulti"));
    kv_store_close(st);
    free(data);
}

/* A checksum type kvault cannot compute is accepted (and logged), even when
 * its bytes are wrong; the next upload is compared again. */
static void checksum_unknown_type_is_accepted(void)
{
    clean_env();
    unsigned char *data = pattern(PART + 100);
    kv_store *st = NULL;
    CHECK_OK(kv_store_open(url, NULL, &st));
    CHECK(control("checksum_algorithm=MD5-of-0MD5-of-512CRC64NVME&flip_checksum=1", NULL) == 0);
    CHECK_OK(st->ops->put(st, "sum/other", data, PART + 100, NULL));
    CHECK(control("flip_checksum=1", NULL) == 0);
    CHECK(st->ops->put(st, "sum/other2", data, PART + 100, NULL) == KV_ECORRUPT);
    CHECK_OK(kv_store_remove(st, "sum/other"));
    kv_store_close(st);
    free(data);
}

static int count_cb(const char *key, const kv_object_info *info, void *payload)
{
    (void)key;
    (void)info;
    (*(int *)payload)++;
    return 0;
}

static void liststatus_fallback(void)
{
    clean_env();
    kv_store *st = NULL;
    int n = 0;
    CHECK(control("liststatus_batch=0", NULL) == 0);
    CHECK_OK(kv_store_open(url, NULL, &st));
    for (int i = 0; i < 5; i++) {
        char k[32];
        snprintf(k, sizeof k, "fallback/k%d", i);
        CHECK_OK(kv_store_put(st, k, "x", 1, NULL));
    }
    CHECK_OK(kv_store_list(st, "fallback/", count_cb, &n));
    CHECK(n == 5);
    for (int i = 0; i < 5; i++) {
        char k[32];
        snprintf(k, sizeof k, "fallback/k%d", i);
        CHECK_OK(kv_store_remove(st, k));
    }
    kv_store_close(st);
    CHECK(control("liststatus_batch=1", NULL) == 0);
}

static void delegation_token(void)
{
    kv_store *st = NULL;
    char buf[8], base[600];
    size_t got = 0;
    clean_env();
    top_url("token", base);
    setenv("KVAULT_HDFS_DELEGATION", "kvtesttoken", 1);
    CHECK_OK(kv_store_open(base, NULL, &st));
    CHECK_OK(kv_store_put(st, "token/obj", "token", 5, NULL));
    CHECK_OK(kv_store_get(st, "token/obj", 0, sizeof buf, buf, &got));
    CHECK(got == 5 && memcmp(buf, "token", 5) == 0);
    CHECK_OK(kv_store_remove(st, "token/obj"));
    kv_store_close(st);
    setenv("KVAULT_HDFS_DELEGATION", "not-a-token", 1);
    CHECK_OK(kv_store_open(base, NULL, &st));
    CHECK(kv_store_put(st, "token/obj", "x", 1, NULL) == KV_EAUTH);
    CHECK(strstr(kv_errmsg(), "SecurityException"));
    kv_store_close(st);
    unsetenv("KVAULT_HDFS_DELEGATION");
}

static void datanode_rewrite(void)
{
    clean_env();
    const char *dn = getenv("KV_HDFS_DN_PORT");
    char rule[128];
    kv_store *st = NULL;
    CHECK(dn != NULL);
    snprintf(rule, sizeof rule, "127.0.0.1:%s=localhost:%s", dn, dn);
    setenv("KVAULT_HDFS_DATANODE_REWRITE", rule, 1);
    CHECK_OK(kv_store_open(url, NULL, &st));
    CHECK_OK(kv_store_put(st, "rewrite/obj", "x", 1, NULL));
    CHECK_OK(kv_store_remove(st, "rewrite/obj"));
    kv_store_close(st);
    /* a rule that sends the data nowhere shows that it is applied */
    snprintf(rule, sizeof rule, "127.0.0.1:%s=127.0.0.1:1", dn);
    setenv("KVAULT_HDFS_DATANODE_REWRITE", rule, 1);
    CHECK_OK(kv_store_open(url, NULL, &st));
    CHECK(st->ops->put(st, "rewrite/obj", "x", 1, NULL) == KV_ETRANSIENT);
    CHECK(strstr(kv_errmsg(), "127.0.0.1:1"));
    kv_store_close(st);
    setenv("KVAULT_HDFS_DATANODE_REWRITE", "nonsense", 1);
    CHECK(kv_store_open(url, NULL, &st) == KV_EINVAL);
    unsetenv("KVAULT_HDFS_DATANODE_REWRITE");
}

static void native_library_missing(void)
{
    clean_env();
    kv_store *st = NULL;
    setenv("KVAULT_HDFS_NATIVE", "1", 1);
    CHECK(kv_store_open(url, NULL, &st) == KV_EUNSUPPORTED);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "libhdfs3.so"));
    unsetenv("KVAULT_HDFS_NATIVE");
}

/* HDFS cannot hold both "a" and "a/b": the put is refused, not misplaced
 * (RENAME onto a directory would move the data into it). */
static void key_over_directory_refused(void)
{
    kv_store *st = NULL;
    kv_object_info info;
    clean_env();
    CHECK_OK(kv_store_open(url, NULL, &st));
    CHECK_OK(kv_store_put(st, "dirkey/inner", "x", 1, NULL));
    CHECK(kv_store_put(st, "dirkey", "y", 1, NULL) == KV_EEXIST);
    CHECK(strstr(kv_errmsg(), "is a directory"));
    CHECK_OK(kv_store_stat(st, "dirkey/inner", &info));
    CHECK(kv_store_stat(st, "dirkey", &info) == KV_ENOTFOUND);
    CHECK_OK(kv_store_remove(st, "dirkey/inner"));
    kv_store_close(st);
}

static void standby_is_transient(void)
{
    clean_env();
    kv_store *st = NULL;
    kv_object_info info;
    CHECK_OK(kv_store_open(url, NULL, &st));
    CHECK_OK(kv_store_put(st, "standby/obj", "abc", 3, NULL));
    CHECK(control("fail_op=GETFILESTATUS&exception=StandbyException&times=1", NULL) == 0);
    CHECK(st->ops->stat(st, "standby/obj", &info) == KV_ETRANSIENT);
    CHECK(strstr(kv_errmsg(), "StandbyException"));
    CHECK(control("fail_op=GETFILESTATUS&exception=StandbyException&times=2", NULL) == 0);
    CHECK_OK(kv_store_stat(st, "standby/obj", &info)); /* the wrapper retries */
    CHECK_EQ_U64(info.size, 3);
    CHECK_OK(kv_store_remove(st, "standby/obj"));
    kv_store_close(st);
}

/* A secure cluster: the NameNode demands SPNEGO. Without Kerberos turned on,
 * and with it on but no ticket (there is no KDC here), the error says what
 * to do; the ticket exchange itself is not testable without a KDC. */
static void kerberos_required_is_clear(void)
{
    kv_store *st = NULL;
    kv_object_info info;
    char ccache[64];
    clean_env();
    snprintf(ccache, sizeof ccache, "FILE:/nonexistent/kvault-test-%d", (int)getpid());
    setenv("KRB5CCNAME", ccache, 1);
    CHECK(control("kerberos=1", NULL) == 0);
    CHECK_OK(kv_store_open(url, NULL, &st));
    CHECK(kv_store_stat(st, "krb/obj", &info) == KV_EAUTH);
    fprintf(stderr, "  kerberos off: %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "(HTTP 401)") && strstr(kv_errmsg(), "KVAULT_HDFS_KERBEROS=1"));
    kv_store_close(st);
    st = NULL;

    setenv("KVAULT_HDFS_KERBEROS", "1", 1);
    CHECK_OK(kv_store_open(url, NULL, &st));
    CHECK(kv_store_stat(st, "krb/obj", &info) == KV_EAUTH);
    fprintf(stderr, "  kerberos on, no ticket: %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "(HTTP 401)") && strstr(kv_errmsg(), "kinit"));
    kv_store_close(st);
    st = NULL;
    CHECK(control("kerberos=0", NULL) == 0);
    unsetenv("KVAULT_HDFS_KERBEROS");
    unsetenv("KRB5CCNAME");
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"backup_restore_verify", backup_restore_verify},
        {"dropped_upload_leaves_nothing", dropped_upload_leaves_nothing},
        {"permission_denied_is_clear", permission_denied_is_clear},
        {"checksum_mismatch_is_detected", checksum_mismatch_is_detected},
        {"checksum_unknown_type_is_accepted", checksum_unknown_type_is_accepted},
        {"liststatus_fallback", liststatus_fallback},
        {"delegation_token", delegation_token},
        {"datanode_rewrite", datanode_rewrite},
        {"native_library_missing", native_library_missing},
        {"key_over_directory_refused", key_over_directory_refused},
        {"standby_is_transient", standby_is_transient},
        {"kerberos_required_is_clear", kerberos_required_is_clear},
        {NULL, NULL},
    };
    char cmd[128];
    int rc;
    control_url = getenv("KV_HDFS_CONTROL");
    if (argc < 2 || strncmp(argv[1], "hdfs://", 7) != 0 || !control_url) {
        fprintf(stderr, "usage: test_hdfs hdfs://namenode:port/prefix [CASE-FILTER] "
                        "(with KV_HDFS_CONTROL and KV_HDFS_DN_PORT set)\n");
        return 2;
    }
    snprintf(url, sizeof url, "%s/run-%ld-%ld", argv[1], (long)time(NULL), (long)getpid());
    snprintf(tmp, sizeof tmp, "/tmp/kvhdfs-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    rc = kvt_run(cases, argc - 1, argv + 1);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmp);
    return rc;
}
