/* Azure Blob end to end against Azurite (the fixture of tests/azure.cmake),
 * through the public API only: back up a RocksDB whose SST file goes up in
 * several blocks, change it, back it up again, verify with a restore check,
 * restore both backups and compare every key and value; with the dev
 * account's connection string and with a second account's name and key.
 * Then what users see when credentials are wrong: a wrong key, an expired
 * SAS, a read-only SAS.
 *
 * Usage: test_azure az://container/prefix AZURE_INTEROP_JS [CASE-FILTER]
 * (run under tests/servers/with_azurite_env.sh; AZURE_INTEROP_JS makes SAS tokens
 * with the Azure SDK). */
#include <stdint.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "e2e_db.h"
#include "scenario.h"
#include "test.h"

#define PART (1u << 20)  /* so the SST goes up in 5 blocks */

static char base_url[512];  /* az://container/prefix/run-... */
static char container[128];
static const char *interop_js;
static char tmp[64];

/* ---- the database ----------------------------------------------------- */

/* ---- credentials ---------------------------------------------------------- */

/* Replaces the Azure settings of the environment with the given ones
 * (NULL = unset). */
static void use_env(const char *conn, const char *account, const char *key, const char *sas,
                    const char *endpoint)
{
    const char *names[] = {"AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT",
                           "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN",
                           "KVAULT_AZURE_ENDPOINT"};
    const char *values[] = {conn, account, key, sas, endpoint};
    for (size_t i = 0; i < 5; i++) {
        if (values[i])
            setenv(names[i], values[i], 1);
        else
            unsetenv(names[i]);
    }
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v ? v : "";
}

static void use_dev_account(void)
{
    use_env(env("KV_AZURITE_DEV_CONN"), NULL, NULL, NULL, NULL);
}

/* A service SAS for the container from the Azure SDK, made with the dev
 * account's key: "sv=...&sig=...". */
static int make_sas(const char *perms, long seconds, char *out, size_t n)
{
    char cmd[1024];
    FILE *p;
    int ok;
    snprintf(cmd, sizeof cmd, "AZURE_STORAGE_CONNECTION_STRING=\"$KV_AZURITE_DEV_CONN\" "
                              "node '%s' sas '%s' %s %ld",
             interop_js, container, perms, seconds);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    ok = fgets(out, (int)n, p) != NULL;
    if (pclose(p) != 0 || !ok)
        return -1;
    out[strcspn(out, "\n")] = '\0';
    return 0;
}

/* tmp/small: a few bytes for the cases that need any file. */
static int write_small_file(void)
{
    char path[128];
    FILE *f;
    snprintf(path, sizeof path, "%s/small", tmp);
    f = fopen(path, "w");
    if (!f || fputs("hello azure\n", f) < 0 || fclose(f) != 0) {
        perror(path);
        return 2;
    }
    return 0;
}

/* ---- cases ------------------------------------------------------------------ */

/* Removes everything under url; for the end of a case. */
/* The shared scenario (tests/support/scenario.c) with 1 MiB blocks, as
 * files and as single-file archives. */
static void backup_restore_verify_at(const char *url, const char *name)
{
    char dir[128], dir2[160], single[700];
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    snprintf(dir2, sizeof dir2, "%s-single", dir);
    CHECK(mkdir(dir, 0755) == 0 && mkdir(dir2, 0755) == 0);
    CHECK(kvt_backup_scenario(url, dir, PART, 5u << 20, KVAULT_SINGLE_FILE_DEFAULT) == 0);
    snprintf(single, sizeof single, "%s/single", url);
    CHECK(kvt_backup_scenario(single, dir2, PART, 5u << 20, KVAULT_SINGLE_FILE_YES) == 0);
}

static void dev_account_connection_string(void)
{
    char url[600];
    use_dev_account();
    snprintf(url, sizeof url, "%s/dev", base_url);
    backup_restore_verify_at(url, "dev");
}

/* The second account by AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY and an
 * endpoint override, no connection string. */
static void custom_account_name_and_key(void)
{
    char url[600];
    use_env(NULL, env("KV_AZURITE_CUSTOM_ACCOUNT"), env("KV_AZURITE_CUSTOM_KEY"), NULL,
            env("KV_AZURITE_CUSTOM_ENDPOINT"));
    snprintf(url, sizeof url, "%s/custom", base_url);
    backup_restore_verify_at(url, "custom");
    use_dev_account();
}

/* UseDevelopmentStorage=true names the emulator's account and key; only
 * the port differs here, so the endpoint is overridden. */
static void development_storage_shortcut(void)
{
    char url[600], path[128];
    kvault *kv = NULL;
    kvault_object info;
    use_env("UseDevelopmentStorage=true", NULL, NULL, NULL, env("KV_AZURITE_ENDPOINT"));
    snprintf(url, sizeof url, "%s/devshortcut", base_url);
    snprintf(path, sizeof path, "%s/small", tmp);
    CHECK_OK(kvt_open(url, NULL, &kv));
    CHECK_OK(kvault_put_file(kv, path, "small"));
    CHECK_OK(kvault_stat(kv, "small", &info));
    CHECK_EQ_U64(info.size, 12);
    kvault_free(info.key);
    CHECK_OK(kvault_rm(kv, "small"));
    kvault_close(kv);
    use_dev_account();
}

static void wrong_key_is_an_auth_error(void)
{
    /* a well-formed key that is not the account's */
    const char *bad = "bm90IHRoZSBrZXkgb2YgdGhpcyBhY2NvdW50IGF0IGFsbCwgbm90IGF0IGFsbCEhIQ==";
    kvault *kv = NULL;
    kvault_object info, *objs = NULL;
    size_t n = 0;
    char url[600];
    use_env(NULL, "devstoreaccount1", bad, NULL, env("KV_AZURITE_ENDPOINT"));
    snprintf(url, sizeof url, "%s/wrongkey", base_url);
    CHECK_OK(kvt_open(url, NULL, &kv));
    CHECK(kvault_stat(kv, "anything", &info) == KV_EAUTH); /* HEAD: no body */
    fprintf(stderr, "  stat: %s\n", kvault_errmsg());
    CHECK(strstr(kvault_errmsg(), "AZURE_STORAGE_KEY"));
    CHECK(strstr(kvault_errmsg(), "system clock"));
    CHECK(kvault_ls(kv, "", &objs, &n) == KV_EAUTH);
    fprintf(stderr, "  ls: %s\n", kvault_errmsg());
    /* Azure says AuthenticationFailed, Azurite AuthorizationFailure */
    CHECK(strstr(kvault_errmsg(), "AuthenticationFailed") ||
          strstr(kvault_errmsg(), "AuthorizationFailure"));
    CHECK(strstr(kvault_errmsg(), "wrongkey/"));
    CHECK(strstr(kvault_errmsg(), "AZURE_STORAGE_KEY"));
    CHECK(strstr(kvault_errmsg(), bad) == NULL);
    CHECK(strstr(kvault_errmsg(), "bm90IHRoZSBrZXk") == NULL);
    kvault_close(kv);

    /* not base64 at all: refused at open, the key not repeated */
    use_env(NULL, "devstoreaccount1", "not-a-key!", NULL, env("KV_AZURITE_ENDPOINT"));
    CHECK(kvt_open(url, NULL, &kv) == KV_EAUTH);
    fprintf(stderr, "  open: %s\n", kvault_errmsg());
    CHECK(strstr(kvault_errmsg(), "not-a-key!") == NULL);
    use_dev_account();
}

static void no_credentials_say_what_to_set(void)
{
    kvault *kv = NULL;
    char url[600];
    use_env(NULL, NULL, NULL, NULL, NULL);
    snprintf(url, sizeof url, "%s/nocreds", base_url);
    CHECK(kvt_open(url, NULL, &kv) == KV_EAUTH);
    CHECK(strstr(kvault_errmsg(), "AZURE_STORAGE_CONNECTION_STRING"));
    use_dev_account();
}

/* Opens the store with a SAS token as AZURE_STORAGE_SAS_TOKEN. */
static int open_with_sas(const char *sas, const char *sub, kvault **kv)
{
    char url[600];
    use_env(NULL, "devstoreaccount1", NULL, sas, env("KV_AZURITE_ENDPOINT"));
    snprintf(url, sizeof url, "%s/%s", base_url, sub);
    return kvt_open(url, NULL, kv);
}

static void expired_sas_is_an_auth_error(void)
{
    char sas[2048], path[128];
    kvault *kv = NULL;
    kvault_object *objs = NULL;
    size_t n = 0;
    const char *sig;
    CHECK(make_sas("racwdl", -600, sas, sizeof sas) == 0);
    sig = strstr(sas, "sig=");
    CHECK(sig != NULL);
    snprintf(path, sizeof path, "%s/small", tmp);
    CHECK_OK(open_with_sas(sas, "expired", &kv));
    CHECK(kvault_ls(kv, "", &objs, &n) == KV_EAUTH);
    fprintf(stderr, "  ls: %s\n", kvault_errmsg());
    CHECK(strstr(kvault_errmsg(), "SAS token"));
    CHECK(strstr(kvault_errmsg(), "expiry"));
    CHECK(strstr(kvault_errmsg(), sig + 4) == NULL);
    CHECK(kvault_put_file(kv, path, "x") == KV_EAUTH);
    fprintf(stderr, "  put: %s\n", kvault_errmsg());
    CHECK(strstr(kvault_errmsg(), sig + 4) == NULL);
    kvault_close(kv);
    use_dev_account();
}

static void read_only_sas_reads_but_cannot_write(void)
{
    char sas[2048], path[128], back[128], url[600];
    kvault *kv = NULL, *writer = NULL;
    kvault_object *objs = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/small", tmp);
    snprintf(back, sizeof back, "%s/small.back", tmp);
    /* stored with the key, read with the SAS */
    use_dev_account();
    snprintf(url, sizeof url, "%s/readonly", base_url);
    CHECK_OK(kvt_open(url, NULL, &writer));
    CHECK_OK(kvault_put_file(writer, path, "present"));
    CHECK(make_sas("rl", 3600, sas, sizeof sas) == 0);
    CHECK_OK(open_with_sas(sas, "readonly", &kv));
    CHECK_OK(kvault_ls(kv, "", &objs, &n));
    CHECK_EQ_U64(n, 1);
    kvault_free_objects(objs, n);
    CHECK_OK(kvault_get_file(kv, "present", back));
    CHECK(kvault_put_file(kv, path, "new") == KV_EAUTH);
    fprintf(stderr, "  put: %s\n", kvault_errmsg());
    CHECK(strstr(kvault_errmsg(), "lacks a permission"));
    CHECK(strstr(kvault_errmsg(), "sig=") == NULL);
    CHECK(kvault_rm(kv, "present") == KV_EAUTH);
    kvault_close(kv);
    CHECK_OK(kvault_rm(writer, "present"));
    kvault_close(writer);
    use_dev_account();
}

int main(int argc, char **argv)
{
    static const kvt_case cases[] = {
        {"dev_account_connection_string", dev_account_connection_string},
        {"custom_account_name_and_key", custom_account_name_and_key},
        {"development_storage_shortcut", development_storage_shortcut},
        {"wrong_key_is_an_auth_error", wrong_key_is_an_auth_error},
        {"no_credentials_say_what_to_set", no_credentials_say_what_to_set},
        {"expired_sas_is_an_auth_error", expired_sas_is_an_auth_error},
        {"read_only_sas_reads_but_cannot_write", read_only_sas_reads_but_cannot_write},
        {NULL, NULL},
    };
    char cmd[128];
    const char *slash;
    int rc;
    if (argc < 3 || strncmp(argv[1], "az://", 5) != 0 || !getenv("KV_AZURITE_DEV_CONN")) {
        fprintf(stderr, "usage: test_azure az://container/prefix AZURE_INTEROP_JS [CASE-FILTER]\n"
                        "(under tests/servers/with_azurite_env.sh)\n");
        return 2;
    }
    slash = strchr(argv[1] + 5, '/');
    snprintf(container, sizeof container, "%.*s",
             (int)(slash ? (size_t)(slash - argv[1] - 5) : strlen(argv[1] + 5)), argv[1] + 5);
    interop_js = argv[2];
    snprintf(base_url, sizeof base_url, "%s/run-%ld-%ld", argv[1], (long)time(NULL),
             (long)getpid());
    snprintf(tmp, sizeof tmp, "/tmp/kvaz-e2e-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    rc = write_small_file();
    if (rc == 0)
        rc = kvt_run(cases, argc - 2, argv + 2);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmp);
    return rc;
}
