/* GCS end to end, through the public API only (kvault_open("gs://...")),
 * against both servers of tests/gcs.cmake:
 *   - Google's emulator (firebase-tools): backup, change, incremental backup,
 *     verify with a restore check, restore both; single-request uploads only
 *     (it has no compose and finalises a resumable upload on its first PUT);
 *     interop with Google's Node.js client both ways;
 *   - the project's server (tests/servers/gcs_server.py) with OAuth from a generated
 *     service account: the same backup cycle with the SST in 1 MiB part
 *     objects, each sent as a resumable upload of 256 KiB chunks, joined with
 *     compose; a connection dropped mid-chunk is resumed (a status query, and
 *     fewer than 2x the bytes sent); tokens that live 4 s are refreshed;
 *     wrong credentials give clear errors that leak no secret.
 *
 * Usage: test_gcs gs://bucket/prefix GCS_INTEROP_JS [CASE-FILTER]
 * (run under tests/servers/with_gcs_env.sh both ...). */
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "e2e_db.h"
#include "scenario.h"
#include "test.h"

#define PART (1u << 20)  /* so the SST goes up in 5 parts */

/* ---- the database ----------------------------------------------------- */


/* ---- environment ------------------------------------------------------------ */

static char base_url[512];  /* gs://bucket/prefix/run-... */
static char bucket[128];
static const char *interop_js;
static char tmp[64];

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v ? v : "";
}

static void set_or_unset(const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

/* Points kvault at Google's emulator (no auth) with single-request uploads. */
static void use_emulator(void)
{
    set_or_unset("STORAGE_EMULATOR_HOST", env("KV_GCS_EMULATOR_HOST"));
    set_or_unset("KVAULT_GCS_ENDPOINT", NULL);
    set_or_unset("GOOGLE_APPLICATION_CREDENTIALS", NULL);
    set_or_unset("KVAULT_GCS_TOKEN", NULL);
    set_or_unset("KVAULT_GCS_RESUMABLE_THRESHOLD", "1024M");
    set_or_unset("KVAULT_GCS_CHUNK_SIZE", NULL);
}

/* Points kvault at the project's server with the service account (or the
 * credentials given), parts above 512 KiB going resumable in 256 KiB chunks. */
static void use_server(const char *credentials)
{
    set_or_unset("STORAGE_EMULATOR_HOST", NULL);
    set_or_unset("KVAULT_GCS_ENDPOINT", env("KV_GCS_SERVER_ENDPOINT"));
    set_or_unset("GOOGLE_APPLICATION_CREDENTIALS",
                 credentials ? credentials : env("KV_GCS_SERVER_CREDENTIALS"));
    set_or_unset("KVAULT_GCS_TOKEN", NULL);
    set_or_unset("KVAULT_GCS_RESUMABLE_THRESHOLD", "512K");
    set_or_unset("KVAULT_GCS_CHUNK_SIZE", "256K");
}

/* POSTs a JSON body to the server's test hook (path "faults", "reset",
 * "stats") and reads one counter of the stats it answers (NULL = none). */
static long long server_hook(const char *path, const char *json, const char *counter)
{
    char cmd[1024], out[2048], *p;
    size_t n;
    FILE *f;
    snprintf(cmd, sizeof cmd, "curl -sf -X POST -d '%s' '%s/_test/%s'", json ? json : "{}",
             env("KV_GCS_SERVER_ENDPOINT"), path);
    f = popen(cmd, "r");
    if (!f)
        return -1;
    n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    if (pclose(f) != 0)
        return -1;
    if (!counter)
        return 0;
    snprintf(cmd, sizeof cmd, "\"%s\": ", counter);
    p = strstr(out, cmd);
    return p ? atoll(p + strlen(cmd)) : -1;
}

static int write_random_file(const char *path, size_t n, uint64_t seed)
{
    FILE *f = fopen(path, "wb");
    uint64_t x = seed;
    if (!f)
        return -1;
    for (size_t i = 0; i < n; i += 8) {
        x = kvt_mix(x);
        if (fwrite(&x, 1, n - i < 8 ? n - i : 8, f) == 0)
            break;
    }
    return fclose(f);
}

static int same_files(const char *a, const char *b)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

/* ---- cases ------------------------------------------------------------------ */

/* The shared scenario (tests/support/scenario.c), as files and as
 * single-file archives. */
static void backup_restore_verify_at(const char *url, const char *name, uint64_t part)
{
    char dir[128], dir2[160], single[700];
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    snprintf(dir2, sizeof dir2, "%s-single", dir);
    CHECK(mkdir(dir, 0755) == 0 && mkdir(dir2, 0755) == 0);
    CHECK(kvt_backup_scenario(url, dir, part, 5u << 20, KVAULT_SINGLE_FILE_DEFAULT) == 0);
    snprintf(single, sizeof single, "%s/single", url);
    CHECK(kvt_backup_scenario(single, dir2, part, 5u << 20, KVAULT_SINGLE_FILE_YES) == 0);
}

static void emulator_backup_restore_verify(void)
{
    char url[600];
    use_emulator();
    snprintf(url, sizeof url, "%s/emulator", base_url);
    /* parts as large as the SST: the emulator has no compose */
    backup_restore_verify_at(url, "emulator", 64u << 20);
}

static void server_backup_restore_verify_composed(void)
{
    char url[600];
    use_server(NULL);
    CHECK(server_hook("reset", NULL, NULL) == 0);
    snprintf(url, sizeof url, "%s/server", base_url);
    backup_restore_verify_at(url, "server", PART);
    /* the SST went up as resumable parts of several chunks, then composed */
    CHECK(server_hook("stats", NULL, "compose_calls") >= 1);
    CHECK(server_hook("stats", NULL, "resumable_sessions") >= 5);
    CHECK(server_hook("stats", NULL, "chunk_puts") >= 20);
    CHECK(server_hook("stats", NULL, "unauthorized") == 0);
}

/* 40 parts: two compose levels (32 + 8 into temporaries, then the key). */
static void server_compose_tree(void)
{
    kvault_options o = {.version = KVAULT_OPTIONS_VERSION, .workers = 4, .part_size = 256u << 10};
    kvault *kv = NULL;
    kvault_object *objs = NULL;
    size_t n = 0, size = 40 * (256u << 10) - 1000;
    char url[600], path[128], back[128];
    use_server(NULL);
    set_or_unset("KVAULT_GCS_RESUMABLE_THRESHOLD", "1M"); /* parts in one request */
    CHECK(server_hook("reset", NULL, NULL) == 0);
    snprintf(url, sizeof url, "%s/tree", base_url);
    snprintf(path, sizeof path, "%s/tree.bin", tmp);
    snprintf(back, sizeof back, "%s/tree.back", tmp);
    CHECK(write_random_file(path, size, 7) == 0);
    CHECK_OK(kvt_open(url, &o, &kv));
    CHECK_OK(kvault_put_file(kv, path, "tree.bin"));
    CHECK(server_hook("stats", NULL, "compose_calls") == 3);
    CHECK_OK(kvault_ls(kv, "", &objs, &n));
    CHECK_EQ_U64(n, 1); /* parts and temporaries are gone */
    kvault_free_objects(objs, n);
    CHECK_OK(kvault_get_file(kv, "tree.bin", back));
    CHECK(same_files(path, back));
    CHECK_OK(kvt_remove_all(kv));
    kvault_close(kv);
}

static void dropped_connection_is_resumed(void)
{
    kvault_options o = {.version = KVAULT_OPTIONS_VERSION, .workers = 2, .part_size = 64u << 20};
    kvault *kv = NULL;
    size_t size = 2u << 20; /* 8 chunks of 256 KiB in one resumable put */
    char url[600], path[128], back[128];
    long long got;
    use_server(NULL);
    snprintf(url, sizeof url, "%s/dropped", base_url);
    snprintf(path, sizeof path, "%s/dropped.bin", tmp);
    snprintf(back, sizeof back, "%s/dropped.back", tmp);
    CHECK(write_random_file(path, size, 11) == 0);
    CHECK_OK(kvt_open(url, &o, &kv));
    CHECK(server_hook("reset", NULL, NULL) == 0);
    CHECK(server_hook("faults", "{\"drop_chunk\": 4}", NULL) == 0);
    CHECK_OK(kvault_put_file(kv, path, "dropped.bin"));
    CHECK(server_hook("stats", NULL, "dropped") == 1);
    CHECK(server_hook("stats", NULL, "status_queries") >= 1);
    CHECK(server_hook("stats", NULL, "resumable_sessions") == 1); /* not restarted */
    got = server_hook("stats", NULL, "chunk_bytes");
    fprintf(stderr, "  %lld bytes received for a %zu-byte object\n", got, size);
    CHECK(got >= (long long)size && got < 2 * (long long)size);
    CHECK_OK(kvault_get_file(kv, "dropped.bin", back));
    CHECK(same_files(path, back));
    CHECK_OK(kvt_remove_all(kv));
    kvault_close(kv);
}

static void short_lived_tokens_are_refreshed(void)
{
    kvault *kv = NULL;
    kvault_object info;
    char url[600], path[128];
    long long before;
    use_server(NULL);
    snprintf(url, sizeof url, "%s/refresh", base_url);
    snprintf(path, sizeof path, "%s/small", tmp);
    CHECK(write_random_file(path, 1000, 3) == 0);
    CHECK(server_hook("faults", "{\"token_ttl\": 4}", NULL) == 0);
    CHECK(server_hook("reset", NULL, NULL) == 0);
    CHECK_OK(kvt_open(url, NULL, &kv));
    for (int i = 0; i < 3; i++) {
        CHECK_OK(kvault_put_file(kv, path, "small"));
        CHECK_OK(kvault_stat(kv, "small", &info));
        kvault_free(info.key);
        sleep(3); /* past the refresh point (half the 4 s lifetime) */
    }
    CHECK_OK(kvault_rm(kv, "small"));
    before = server_hook("stats", NULL, "tokens_issued");
    fprintf(stderr, "  %lld tokens issued\n", before);
    CHECK(before >= 3);
    CHECK(server_hook("stats", NULL, "unauthorized") == 0);
    CHECK(server_hook("faults", "{\"token_ttl\": 3600}", NULL) == 0);
    kvault_close(kv);
}

static void wrong_credentials_are_clear_errors(void)
{
    kvault *kv = NULL;
    kvault_object info;
    char url[600], cmd[1024], other[128], missing[128];
    snprintf(url, sizeof url, "%s/creds", base_url);
    /* a key file that is not there */
    snprintf(missing, sizeof missing, "%s/no-such-key.json", tmp);
    use_server(missing);
    CHECK(kvt_open(url, NULL, &kv) == KV_EAUTH);
    fprintf(stderr, "  open: %s\n", kvault_errmsg());
    CHECK(strstr(kvault_errmsg(), "GOOGLE_APPLICATION_CREDENTIALS"));

    /* the right account name with another private key: invalid_grant */
    snprintf(other, sizeof other, "%s/other-sa.json", tmp);
    snprintf(cmd, sizeof cmd,
             "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out '%s/other.pem' "
             "2>/dev/null && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
             "d[\"private_key\"]=open(sys.argv[2]).read(); json.dump(d,open(sys.argv[3],\"w\"))' "
             "'%s' '%s/other.pem' '%s'", tmp, env("KV_GCS_SERVER_CREDENTIALS"), tmp, other);
    CHECK(system(cmd) == 0);
    use_server(other);
    CHECK_OK(kvt_open(url, NULL, &kv));
    CHECK(kvault_stat(kv, "anything", &info) == KV_EAUTH);
    fprintf(stderr, "  stat: %s\n", kvault_errmsg());
    CHECK(strstr(kvault_errmsg(), "invalid_grant"));
    CHECK(strstr(kvault_errmsg(), "GOOGLE_APPLICATION_CREDENTIALS"));
    CHECK(strstr(kvault_errmsg(), "system clock"));
    CHECK(strstr(kvault_errmsg(), "PRIVATE KEY") == NULL);
    kvault_close(kv);

    /* a bearer token the server never issued: 401 */
    use_server(NULL);
    setenv("KVAULT_GCS_TOKEN", "ya29.not-a-real-token", 1);
    CHECK_OK(kvt_open(url, NULL, &kv));
    CHECK(kvault_stat(kv, "anything", &info) == KV_EAUTH);
    fprintf(stderr, "  stat: %s\n", kvault_errmsg());
    CHECK(strstr(kvault_errmsg(), "HTTP 401"));
    CHECK(strstr(kvault_errmsg(), "not-a-real-token") == NULL);
    kvault_close(kv);

    /* no credentials at all and no metadata server: says what to set */
    use_server(NULL);
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    setenv("GCE_METADATA_HOST", "127.0.0.1:1", 1);
    CHECK_OK(kvt_open(url, NULL, &kv));
    CHECK(kvault_stat(kv, "anything", &info) == KV_EAUTH);
    fprintf(stderr, "  stat: %s\n", kvault_errmsg());
    CHECK(strstr(kvault_errmsg(), "GOOGLE_APPLICATION_CREDENTIALS"));
    unsetenv("GCE_METADATA_HOST");
    kvault_close(kv);
}

/* Runs the Node.js client: "upload KEY FILE" or "download KEY FILE". */
static int node_client(const char *cmd, const char *key, const char *file)
{
    char line[1024];
    snprintf(line, sizeof line, "STORAGE_EMULATOR_HOST='%s' node '%s' %s '%s' '%s' '%s' 2>&1",
             env("KV_GCS_EMULATOR_HOST"), interop_js, cmd, bucket, key, file);
    return system(line);
}

static void interop_with_google_client(void)
{
    kvault *kv = NULL;
    char url[600], a[128], a_back[128], b[128], b_back[128], prefix[512];
    const char *run = base_url + 5 + strlen(bucket) + 1; /* the key prefix of the run */
    use_emulator();
    snprintf(url, sizeof url, "%s/interop", base_url);
    snprintf(prefix, sizeof prefix, "%s/interop", run);
    snprintf(a, sizeof a, "%s/by-kvault", tmp);
    snprintf(a_back, sizeof a_back, "%s/by-kvault.back", tmp);
    snprintf(b, sizeof b, "%s/by-node", tmp);
    snprintf(b_back, sizeof b_back, "%s/by-node.back", tmp);
    CHECK(write_random_file(a, 3u << 20, 21) == 0);
    CHECK(write_random_file(b, (3u << 20) + 17, 22) == 0);
    CHECK_OK(kvt_open(url, NULL, &kv));
    CHECK_OK(kvault_put_file(kv, a, "by-kvault"));
    {
        char key[600];
        snprintf(key, sizeof key, "%s/by-kvault", prefix);
        CHECK(node_client("download", key, a_back) == 0);
        snprintf(key, sizeof key, "%s/by-node", prefix);
        CHECK(node_client("upload", key, b) == 0);
    }
    CHECK(same_files(a, a_back));
    CHECK_OK(kvault_get_file(kv, "by-node", b_back));
    CHECK(same_files(b, b_back));
    CHECK_OK(kvt_remove_all(kv));
    kvault_close(kv);
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"emulator_backup_restore_verify", emulator_backup_restore_verify},
        {"interop_with_google_client", interop_with_google_client},
        {"server_backup_restore_verify_composed", server_backup_restore_verify_composed},
        {"server_compose_tree", server_compose_tree},
        {"dropped_connection_is_resumed", dropped_connection_is_resumed},
        {"short_lived_tokens_are_refreshed", short_lived_tokens_are_refreshed},
        {"wrong_credentials_are_clear_errors", wrong_credentials_are_clear_errors},
        {NULL, NULL},
    };
    char cmd[128];
    const char *slash;
    int rc;
    if (argc < 3 || strncmp(argv[1], "gs://", 5) != 0 || !getenv("KV_GCS_EMULATOR_HOST") ||
        !getenv("KV_GCS_SERVER_ENDPOINT")) {
        fprintf(stderr, "usage: test_gcs gs://bucket/prefix GCS_INTEROP_JS [CASE-FILTER]\n"
                        "(under tests/servers/with_gcs_env.sh both ...)\n");
        return 2;
    }
    slash = strchr(argv[1] + 5, '/');
    snprintf(bucket, sizeof bucket, "%.*s",
             (int)(slash ? (size_t)(slash - argv[1] - 5) : strlen(argv[1] + 5)), argv[1] + 5);
    interop_js = argv[2];
    snprintf(base_url, sizeof base_url, "%s%s/run-%ld-%ld", argv[1], slash ? "" : "/x",
             (long)time(NULL), (long)getpid());
    snprintf(tmp, sizeof tmp, "/tmp/kvgcs-e2e-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    rc = kvt_run(cases, argc - 2, argv + 2);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmp);
    return rc;
}
