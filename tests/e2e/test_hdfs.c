/* HDFS against the WebHDFS test server (tests/servers/webhdfs.sh fixture): backup,
 * incremental backup, verify and restore through the public API with a
 * file large enough to go up in parts joined by CONCAT; a connection
 * dropped mid-upload; permission errors; checksum comparison; the
 * LISTSTATUS fallback; delegation tokens (the variable and Hadoop token
 * files); DataNode address rewriting; StandbyException retries. Against an
 * HA fixture (KV_HDFS_NN2 set): a nameservice from HADOOP_CONF_DIR, failover
 * mid-backup, on refusal and on timeouts. Against an HTTPS fixture
 * (KV_HDFS_CA set): swebhdfs://, certificate verification, HTTPS_ONLY.
 *
 * Usage (with tests/servers/with_webhdfs_env.sh, which sets KV_HDFS_CONTROL and
 * KV_HDFS_DN_PORT, and KV_HDFS_NN2, KV_HDFS_CA, KV_HDFS_TOKENS as the
 * fixture has them): test_hdfs hdfs://127.0.0.1:PORT/prefix [CASE-FILTER] */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "http/http.h"
#include "store/store.h"
#include "test_store.h"
#include "e2e_db.h"
#include "scenario.h"
#include "test.h"
#include "util/err.h"

#define NBIG 1000        /* keys of 4 KiB random values: a ~4 MiB SST */
#define NSMALL 300
#define PART (1u << 20)  /* = the server's block size in the fixture */

static char url[512];    /* hdfs://nn/prefix/run-... */
static char tmp[64];
static const char *control_url;
static kv_http_opts test_http; /* the fixture's CA, for an HTTPS server */

/* ---- the server's test hooks ------------------------------------------- */

/* Sends "/_control?query" and returns counter name's value (or -1). */
static long control(const char *query, const char *counter)
{
    kv_http *h = NULL;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char u[512];
    long value = -1;
    snprintf(u, sizeof u, "%s?%s", control_url, query);
    if (kv_http_new(&test_http, &h) == KV_OK) {
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
    snprintf(u, sizeof u, "%s://%s/webhdfs/v1%s?op=LISTSTATUS&user.name=hdfs",
             test_http.ca_file ? "https" : "http", nn, dir);
    if (kv_http_new(&test_http, &h) != KV_OK)
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
    unsetenv("HADOOP_CONF_DIR");
    unsetenv("HADOOP_TOKEN_FILE_LOCATION");
    unsetenv("KVAULT_HDFS_CA_FILE");
    unsetenv("KVAULT_STALL_TIMEOUT");
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

/* The shared scenario (tests/support/scenario.c), as single-file archives
 * (HDFS's default) and as files; the big SST goes up as parts joined by
 * CONCAT and no temporary stays behind. */
static void backup_restore_verify(void)
{
    long concats = control("", "concat");
    char dir[128], dir2[160], nn[64], path[256];
    snprintf(dir, sizeof dir, "%s/scenario", tmp);
    snprintf(dir2, sizeof dir2, "%s-files", dir);
    CHECK(concats >= 0);
    CHECK(mkdir(dir, 0755) == 0 && mkdir(dir2, 0755) == 0);
    CHECK(kvt_backup_scenario(url, dir, PART, 4u << 20, KVAULT_SINGLE_FILE_DEFAULT) == 0);
    CHECK(kvt_backup_scenario(url, dir2, PART, 4u << 20, KVAULT_SINGLE_FILE_NO) == 0);
    CHECK(control("", "concat") > concats);
    split_url(nn, path);
    CHECK(raw_temporaries(nn, path) == 0);
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
    CHECK_OK(kvt_store_open(url, &st));
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
    CHECK_OK(kvt_open(base, NULL, &kv));
    CHECK_OK(kvault_put_file(kv, file, "home/x"));
    kvault_close(kv);
    setenv("HADOOP_USER_NAME", "bob", 1);
    CHECK_OK(kvt_open(base, NULL, &kv));
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
    CHECK_OK(kvt_open(base, NULL, &kv));
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
    CHECK_OK(kvt_store_open(url, &st));
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
    CHECK_OK(kvt_store_open(url, &st));
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
    CHECK_OK(kvt_store_open(url, &st));
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
    CHECK_OK(kvt_store_open(base, &st));
    CHECK_OK(kv_store_put(st, "token/obj", "token", 5, NULL));
    CHECK_OK(kv_store_get(st, "token/obj", 0, sizeof buf, buf, &got));
    CHECK(got == 5 && memcmp(buf, "token", 5) == 0);
    CHECK_OK(kv_store_remove(st, "token/obj"));
    kv_store_close(st);
    setenv("KVAULT_HDFS_DELEGATION", "not-a-token", 1);
    CHECK_OK(kvt_store_open(base, &st));
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
    CHECK_OK(kvt_store_open(url, &st));
    CHECK_OK(kv_store_put(st, "rewrite/obj", "x", 1, NULL));
    CHECK_OK(kv_store_remove(st, "rewrite/obj"));
    kv_store_close(st);
    /* a rule that sends the data nowhere shows that it is applied */
    snprintf(rule, sizeof rule, "127.0.0.1:%s=127.0.0.1:1", dn);
    setenv("KVAULT_HDFS_DATANODE_REWRITE", rule, 1);
    CHECK_OK(kvt_store_open(url, &st));
    CHECK(st->ops->put(st, "rewrite/obj", "x", 1, NULL) == KV_ETRANSIENT);
    CHECK(strstr(kv_errmsg(), "127.0.0.1:1"));
    kv_store_close(st);
    setenv("KVAULT_HDFS_DATANODE_REWRITE", "nonsense", 1);
    CHECK(kvt_store_open(url, &st) == KV_EINVAL);
    unsetenv("KVAULT_HDFS_DATANODE_REWRITE");
}

/* HDFS cannot hold both "a" and "a/b": the put is refused, not misplaced
 * (RENAME onto a directory would move the data into it). */
static void key_over_directory_refused(void)
{
    kv_store *st = NULL;
    kv_object_info info;
    clean_env();
    CHECK_OK(kvt_store_open(url, &st));
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
    CHECK_OK(kvt_store_open(url, &st));
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
    CHECK_OK(kvt_store_open(url, &st));
    CHECK(kv_store_stat(st, "krb/obj", &info) == KV_EAUTH);
    fprintf(stderr, "  kerberos off: %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "(HTTP 401)") && strstr(kv_errmsg(), "KVAULT_HDFS_KERBEROS=1"));
    kv_store_close(st);
    st = NULL;

    setenv("KVAULT_HDFS_KERBEROS", "1", 1);
    CHECK_OK(kvt_store_open(url, &st));
    CHECK(kv_store_stat(st, "krb/obj", &info) == KV_EAUTH);
    fprintf(stderr, "  kerberos on, no ticket: %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "(HTTP 401)") && strstr(kv_errmsg(), "kinit"));
    kv_store_close(st);
    st = NULL;
    CHECK(control("kerberos=0", NULL) == 0);
    unsetenv("KVAULT_HDFS_KERBEROS");
    unsetenv("KRB5CCNAME");
}

/* ---- Hadoop configuration, tokens, HA, HTTPS ------------------------------------- */

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Writes HADOOP_CONF_DIR (tmp/conf) with the given <property> lists (each
 * "name=value\n" lines) and points the variable at it. */
static void write_conf(const char *core, const char *hdfs)
{
    char dir[128], path[192], xml[8192];
    const char *lists[2] = {core, hdfs}, *files[2] = {"core-site.xml", "hdfs-site.xml"};
    snprintf(dir, sizeof dir, "%s/conf", tmp);
    mkdir(dir, 0755);
    for (int i = 0; i < 2; i++) {
        size_t n = (size_t)snprintf(xml, sizeof xml, "<?xml version=\"1.0\"?>\n<configuration>\n");
        for (const char *p = lists[i]; p && *p;) {
            const char *eq = strchr(p, '='), *nl = strchr(p, '\n');
            n += (size_t)snprintf(xml + n, sizeof xml - n,
                                  "  <property>\n    <name>%.*s</name>\n    <value> %.*s </value>\n"
                                  "  </property>\n", (int)(eq - p), p, (int)(nl - eq - 1), eq + 1);
            p = nl + 1;
        }
        snprintf(xml + n, sizeof xml - n, "</configuration>\n");
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        write_text(path, xml);
    }
    setenv("HADOOP_CONF_DIR", dir, 1);
}

/* The owner of an HDFS path, read with a raw GETFILESTATUS. */
static void owner_of(const char *nn, const char *path, char out[64])
{
    kv_http *h = NULL;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char u[1024];
    snprintf(out, 64, "?");
    snprintf(u, sizeof u, "%s://%s/webhdfs/v1%s?op=GETFILESTATUS&user.name=hdfs",
             test_http.ca_file ? "https" : "http", nn, path);
    if (kv_http_new(&test_http, &h) == KV_OK) {
        kv_http_req req = {"GET", u, NULL, 0, NULL, 0, NULL, 0, 0, 0};
        if (kv_http_do(h, &req, &resp) == KV_OK && resp.status == 200) {
            json_t *root = json_loadb(resp.body.data, resp.body.len, 0, NULL);
            const char *o = json_string_value(
                json_object_get(json_object_get(root, "FileStatus"), "owner"));
            snprintf(out, 64, "%s", o ? o : "?");
            json_decref(root);
        }
    }
    kv_http_resp_free(&resp);
    kv_http_free(h);
}

/* Puts one object through base and returns its owner on the cluster. */
static int put_owner(const char *base, const char *key, char owner[64])
{
    kv_store *st = NULL;
    const char *a = strstr(base, "://") + 3, *slash = strchr(a, '/');
    char path[512];
    int rc = kvt_store_open(base, &st);
    if (rc == KV_OK)
        rc = kv_store_put(st, key, "tok", 3, NULL);
    snprintf(path, sizeof path, "%s/%s", slash, key);
    owner_of(getenv("KV_HDFS_NN"), path, owner);
    if (rc == KV_OK)
        rc = kv_store_remove(st, key);
    kv_store_close(st);
    return rc;
}

/* HADOOP_TOKEN_FILE_LOCATION, in both of Hadoop's formats: the token whose
 * kind is an HDFS one and whose service is this NameNode is sent (the file
 * also holds a kms-dt token for the same service, listed first, and one
 * for another cluster); KVAULT_HDFS_DELEGATION wins over the file; a
 * NameNode no token names gets user.name; a broken file is an error that
 * names it, and no token text is ever in a message. */
static void token_file(void)
{
    const char *dir = getenv("KV_HDFS_TOKENS"), *nn = getenv("KV_HDFS_NN");
    char file[256], base[600], owner[64], bad[256];
    kv_store *st = NULL;
    clean_env();
    CHECK(dir != NULL);
    if (test_http.ca_file)
        setenv("KVAULT_HDFS_CA_FILE", test_http.ca_file, 1);
    top_url("tokf", base);
    setenv("HADOOP_USER_NAME", "zoe", 1);
    for (int i = 0; i < 2; i++) {
        snprintf(file, sizeof file, "%s/tokens.%s", dir, i ? "protobuf" : "writable");
        setenv("HADOOP_TOKEN_FILE_LOCATION", file, 1);
        CHECK_OK(put_owner(base, "t/obj", owner));
        fprintf(stderr, "  %s: owner %s\n", file, owner);
        CHECK_STR(owner, "carol");
    }
    setenv("KVAULT_HDFS_DELEGATION", "kvfrank", 1);
    top_url("tokfrank", base); /* carol's directory is not frank's to write */
    CHECK_OK(put_owner(base, "t/obj", owner));
    CHECK_STR(owner, "frank");
    unsetenv("KVAULT_HDFS_DELEGATION");
    /* "localhost" is not the service any token names */
    snprintf(base, sizeof base, "%s://localhost:%s/tokzoe-%ld",
             test_http.ca_file ? "swebhdfs" : "hdfs", strchr(nn, ':') + 1, (long)getpid());
    CHECK_OK(put_owner(base, "t/obj", owner));
    CHECK_STR(owner, "zoe");
    /* a truncated file */
    snprintf(bad, sizeof bad, "%s/tokens.cut", tmp);
    {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "head -c 40 '%s/tokens.writable' > '%s'", dir, bad);
        CHECK(system(cmd) == 0);
    }
    setenv("HADOOP_TOKEN_FILE_LOCATION", bad, 1);
    CHECK(kvt_store_open(base, &st) != KV_OK);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), bad) && strstr(kv_errmsg(), "truncated"));
    clean_env();
}

/* A port nothing listens on. */
static int closed_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The fixture's pair as nameservice kvns in HADOOP_CONF_DIR: nn1 = first,
 * nn2 = second (host:port each). */
static void ha_conf(const char *first, const char *second, const char *more)
{
    char core[256], hdfs[1024];
    snprintf(core, sizeof core, "fs.defaultFS=hdfs://kvns\n");
    snprintf(hdfs, sizeof hdfs, "dfs.nameservices=other, kvns\n"
             "dfs.ha.namenodes.kvns=nn1, nn2\n"
             "dfs.namenode.http-address.kvns.nn1=%s\n"
             "dfs.namenode.http-address.kvns.nn2=%s\n%s", first, second, more);
    write_conf(core, hdfs);
}

/* The standby and the active NameNode's host:port, as the server has them
 * now. */
static void pair(char standby[64], char active[64])
{
    int a = (int)control("", "active");
    snprintf(active, 64, "%s", getenv(a == 0 ? "KV_HDFS_NN" : "KV_HDFS_NN2"));
    snprintf(standby, 64, "%s", getenv(a == 0 ? "KV_HDFS_NN2" : "KV_HDFS_NN"));
}

/* Backup and restore through hdfs://kvns, configured only by the
 * HADOOP_CONF_DIR written here, with the standby listed first; the active
 * NameNode switches during the backup and again during the restore (which
 * goes through hdfs:/// and fs.defaultFS). Both complete, and the restore
 * is exact. */
static void ha_backup_restore_failover(void)
{
    kvault_options o = {.version = KVAULT_OPTIONS_VERSION, .workers = 4, .part_size = PART};
    kvault_backup_opts bo = {.version = KVAULT_BACKUP_OPTS_VERSION, .env = "ha"};
    kvault_backup_info b, r;
    kvault_restore_opts ro = {.version = KVAULT_RESTORE_OPTS_VERSION, .env = "ha"};
    kvault *kv = NULL;
    char standby[64], active[64], db[128], out[128], nsurl[128], defurl[128];
    long active0, standbys0;
    clean_env();
    snprintf(db, sizeof db, "%s/ha-db", tmp);
    snprintf(out, sizeof out, "%s/ha-restore", tmp);
    snprintf(nsurl, sizeof nsurl, "hdfs://kvns/ha-%ld", (long)getpid());
    snprintf(defurl, sizeof defurl, "hdfs:///ha-%ld", (long)getpid());
    pair(standby, active);
    ha_conf(standby, active, "");
    active0 = control("", "active");
    standbys0 = control("", "standby");
    CHECK(kvt_db_write_phase(&model, db, 1) == 0);
    CHECK(control("failover_after=12", NULL) == 0);
    CHECK_OK(kvt_open(nsurl, &o, &kv));
    CHECK_OK(kvault_backup(kv, db, &bo, &b));
    kvault_close(kv);
    fprintf(stderr, "  backup %s: %llu files; active NameNode %ld -> %ld, %ld standby answers\n",
            b.id, (unsigned long long)b.files, active0, control("", "active"),
            control("", "standby") - standbys0);
    CHECK(control("", "active") != active0);        /* it switched mid-backup */
    CHECK(control("", "standby") > standbys0 + 1);  /* and kvault was told so */
    CHECK(control("failover_after=5", NULL) == 0);
    CHECK_OK(kvt_open(defurl, &o, &kv));
    CHECK_OK(kvault_restore(kv, &ro, out, &r));
    CHECK_STR(r.id, b.id);
    CHECK(kvt_db_check(&model, out, 1) == 0);
    CHECK(control("", "active") == active0);        /* switched back meanwhile */
    CHECK_OK(kvt_remove_all(kv));
    kvault_close(kv);
    clean_env();
}

/* A NameNode that refuses connections, or accepts and never answers, is
 * passed over for the next; when none answers the error says so. */
static void ha_failover_on_refusal_and_timeout(void)
{
    char standby[64], active[64], dead[64], nsurl[128];
    kv_store *st = NULL;
    kv_object_info info;
    time_t t0;
    long idx;
    clean_env();
    snprintf(nsurl, sizeof nsurl, "hdfs://kvns/hato-%ld", (long)getpid());
    snprintf(dead, sizeof dead, "127.0.0.1:%d", closed_port());
    pair(standby, active);
    ha_conf(dead, active, "");
    CHECK_OK(kvt_store_open(nsurl, &st));
    CHECK_OK(st->ops->put(st, "obj", "abc", 3, NULL)); /* no retry needed */
    CHECK_OK(st->ops->stat(st, "obj", &info));
    kv_store_close(st);
    /* the standby hangs: a stall of 1 s, then the next NameNode */
    idx = control("", "active") == 0 ? 1 : 0;
    {
        char q[32];
        snprintf(q, sizeof q, "hang=%ld", idx);
        CHECK(control(q, NULL) == 0);
    }
    setenv("KVAULT_STALL_TIMEOUT", "1", 1);
    ha_conf(standby, active, "");
    t0 = time(NULL);
    CHECK_OK(kvt_store_open(nsurl, &st));
    CHECK_OK(st->ops->stat(st, "obj", &info));
    CHECK_EQ_U64(info.size, 3);
    fprintf(stderr, "  past a hung NameNode in %ld s\n", (long)(time(NULL) - t0));
    CHECK(time(NULL) - t0 < 15);
    /* remembered: the next call goes straight to the active one */
    t0 = time(NULL);
    CHECK_OK(st->ops->stat(st, "obj", &info));
    CHECK(time(NULL) - t0 < 1);
    CHECK_OK(kv_store_remove(st, "obj"));
    kv_store_close(st);
    CHECK(control("hang=-1", NULL) == 0);
    /* nobody home */
    ha_conf(dead, dead, "");
    CHECK_OK(kvt_store_open(nsurl, &st));
    CHECK(st->ops->stat(st, "obj", &info) == KV_ETRANSIENT);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), dead));
    kv_store_close(st);
    clean_env();
}

/* Configuration mistakes are errors that name the file and the property. */
static void ha_config_errors(void)
{
    char standby[64], active[64], path[192];
    kv_store *st = NULL;
    clean_env();
    pair(standby, active);
    CHECK(kvt_store_open("hdfs:///x", &st) == KV_EINVAL);
    CHECK(strstr(kv_errmsg(), "HADOOP_CONF_DIR"));
    write_conf("", "dfs.nameservices=kvns\ndfs.ha.namenodes.kvns=nn1,nn2\n"
                   "dfs.namenode.http-address.kvns.nn1=127.0.0.1:1\n");
    CHECK(kvt_store_open("hdfs://kvns/x", &st) == KV_EINVAL);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "hdfs-site.xml") &&
          strstr(kv_errmsg(), "dfs.namenode.http-address.kvns.nn2"));
    CHECK(kvt_store_open("hdfs:///x", &st) == KV_EINVAL);
    CHECK(strstr(kv_errmsg(), "core-site.xml") && strstr(kv_errmsg(), "fs.defaultFS"));
    ha_conf(standby, active, "dfs.http.policy=HTTPS_SOMETIMES\n");
    CHECK(kvt_store_open("hdfs://kvns/x", &st) == KV_EINVAL);
    CHECK(strstr(kv_errmsg(), "dfs.http.policy") && strstr(kv_errmsg(), "hdfs-site.xml"));
    ha_conf("0.0.0.0:9870", active, "");
    CHECK(kvt_store_open("hdfs://kvns/x", &st) == KV_EINVAL);
    CHECK(strstr(kv_errmsg(), "dfs.namenode.http-address.kvns.nn1"));
    snprintf(path, sizeof path, "%s/conf/core-site.xml", tmp);
    write_text(path, "<configuration><property><name>fs.defaultFS</name>");
    CHECK(kvt_store_open("hdfs://kvns/x", &st) == KV_EINVAL);
    fprintf(stderr, "  %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), path) && strstr(kv_errmsg(), "not well-formed"));
    /* a name that is no nameservice is a host, as before */
    ha_conf(standby, active, "");
    CHECK_OK(kvt_store_open("hdfs://localhost/x", &st));
    kv_store_close(st);
    clean_env();
}

/* The token for "ha-hdfs:kvns" is the one sent to a nameservice. */
static void ha_token_file(void)
{
    char standby[64], active[64], file[256], owner[64], nsurl[128];
    const char *dir = getenv("KV_HDFS_TOKENS");
    clean_env();
    CHECK(dir != NULL);
    pair(standby, active);
    ha_conf(standby, active, "");
    snprintf(file, sizeof file, "%s/tokens.protobuf", dir);
    setenv("HADOOP_TOKEN_FILE_LOCATION", file, 1);
    snprintf(nsurl, sizeof nsurl, "hdfs://kvns/hatok-%ld", (long)getpid());
    {
        kv_store *st = NULL;
        char path[256];
        CHECK_OK(kvt_store_open(nsurl, &st));
        CHECK_OK(kv_store_put(st, "obj", "x", 1, NULL));
        snprintf(path, sizeof path, "/hatok-%ld/obj", (long)getpid());
        owner_of(active, path, owner);
        CHECK_OK(kv_store_remove(st, "obj"));
        kv_store_close(st);
    }
    CHECK_STR(owner, "dave");
    clean_env();
}

/* swebhdfs://: the certificate is verified, against KVAULT_HDFS_CA_FILE. */
static void tls_certificate_verified(void)
{
    kv_store *st = NULL;
    char buf[8], plain[600];
    size_t got = 0;
    clean_env();
    CHECK_OK(kvt_store_open(url, &st));
    CHECK(st->ops->put(st, "tls/obj", "x", 1, NULL) != KV_OK);
    fprintf(stderr, "  no CA: %s\n", kv_errmsg());
    CHECK(strstr(kv_errmsg(), "certificate"));
    kv_store_close(st);
    setenv("KVAULT_HDFS_CA_FILE", "/nonexistent/ca.pem", 1);
    CHECK(kvt_store_open(url, &st) == KV_EINVAL);
    CHECK(strstr(kv_errmsg(), "/nonexistent/ca.pem"));
    setenv("KVAULT_HDFS_CA_FILE", test_http.ca_file, 1);
    CHECK_OK(kvt_store_open(url, &st));
    CHECK_OK(kv_store_put(st, "tls/obj", "tls", 3, NULL));
    CHECK_OK(kv_store_get(st, "tls/obj", 0, sizeof buf, buf, &got));
    CHECK(got == 3 && memcmp(buf, "tls", 3) == 0);
    CHECK_OK(kv_store_remove(st, "tls/obj"));
    kv_store_close(st);
    /* plain HTTP to an HTTPS-only cluster fails */
    snprintf(plain, sizeof plain, "hdfs://%s", strstr(url, "://") + 3);
    CHECK_OK(kvt_store_open(plain, &st));
    CHECK(st->ops->put(st, "tls/obj", "x", 1, NULL) != KV_OK);
    kv_store_close(st);
    clean_env();
}

/* dfs.http.policy=HTTPS_ONLY: a nameservice's https-address, and
 * fs.defaultFS's host with dfs.namenode.https-address's port. */
static void tls_https_only_conf(void)
{
    const char *nn = getenv("KV_HDFS_NN");
    char hdfs[512], core[128];
    kv_store *st = NULL;
    kv_object_info info;
    clean_env();
    setenv("KVAULT_HDFS_CA_FILE", test_http.ca_file, 1);
    snprintf(hdfs, sizeof hdfs, "dfs.nameservices=kvtls\ndfs.http.policy=HTTPS_ONLY\n"
             "dfs.namenode.https-address.kvtls=%s\n"
             "dfs.namenode.https-address=0.0.0.0:%s\n", nn, strchr(nn, ':') + 1);
    snprintf(core, sizeof core, "fs.defaultFS=hdfs://127.0.0.1:8020\n");
    write_conf(core, hdfs);
    CHECK_OK(kvt_store_open("hdfs://kvtls/httpsonly", &st));
    CHECK_OK(kv_store_put(st, "obj", "x", 1, NULL));
    kv_store_close(st);
    CHECK_OK(kvt_store_open("hdfs:///httpsonly", &st));
    CHECK_OK(kv_store_stat(st, "obj", &info));
    CHECK_OK(kv_store_remove(st, "obj"));
    kv_store_close(st);
    clean_env();
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
        {"key_over_directory_refused", key_over_directory_refused},
        {"standby_is_transient", standby_is_transient},
        {"kerberos_required_is_clear", kerberos_required_is_clear},
        {"token_file", token_file},
        {NULL, NULL},
    };
    static const kvt_case ha_cases[] = {
        {"ha_backup_restore_failover", ha_backup_restore_failover},
        {"ha_failover_on_refusal_and_timeout", ha_failover_on_refusal_and_timeout},
        {"ha_config_errors", ha_config_errors},
        {"ha_token_file", ha_token_file},
        {NULL, NULL},
    };
    static const kvt_case tls_cases[] = {
        {"tls_certificate_verified", tls_certificate_verified},
        {"tls_https_only_conf", tls_https_only_conf},
        {"token_file", token_file},
        {NULL, NULL},
    };
    const kvt_case *run = cases;
    char cmd[128];
    int rc;
    control_url = getenv("KV_HDFS_CONTROL");
    test_http.ca_file = getenv("KV_HDFS_CA");
    if (argc < 2 || !strstr(argv[1], "hdfs://") || !control_url) {
        fprintf(stderr, "usage: test_hdfs [s]hdfs://namenode:port/prefix [CASE-FILTER] "
                        "(with KV_HDFS_CONTROL and KV_HDFS_DN_PORT set)\n");
        return 2;
    }
    /* the fixture decides which cases apply: an HA pair, HTTPS, or neither */
    if (getenv("KV_HDFS_NN2"))
        run = ha_cases;
    else if (test_http.ca_file)
        run = tls_cases;
    snprintf(url, sizeof url, "%s/run-%ld-%ld", argv[1], (long)time(NULL), (long)getpid());
    snprintf(tmp, sizeof tmp, "/tmp/kvhdfs-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    rc = kvt_run(run, argc - 1, argv + 1);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmp);
    return rc;
}
