/* Azure Storage credentials (auth_azure.h) and Shared Key / SAS
 * authorization of service requests with them. */
#include "http/auth_azure.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/sign_azure.h"
#include "util/err.h"
#include "util/secret.h"

/* The storage emulator's published development account. */
#define DEV_ACCOUNT "devstoreaccount1"
#define DEV_KEY \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define DEV_ENDPOINT "http://127.0.0.1:10000/" DEV_ACCOUNT

struct kv_azure_auth {
    char *account;         /* NULL only with a SAS and an explicit endpoint */
    unsigned char key[KV_AZURE_KEY_MAX];
    size_t key_len;        /* 0: authorize with the SAS instead */
    char *sas;             /* SAS query string without '?' */
    char *endpoint;
};

/* ---- sources -------------------------------------------------------------- */

/* The value of name in a connection string "A=1;B=2" (names in any case;
 * values may hold '='), malloc'd, or NULL. */
static char *conn_get(const char *cs, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = cs; *p;) {
        size_t len = strcspn(p, ";");
        while (len && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        if (len > nlen && p[nlen] == '=' && strncasecmp(p, name, nlen) == 0)
            return strndup(p + nlen + 1, len - nlen - 1);
        p += len;
        if (*p == ';')
            p++;
    }
    return NULL;
}

/* What the sources found. */
typedef struct az_settings {
    char *account, *key, *sas, *endpoint;
} az_settings;

static void settings_free(az_settings *a)
{
    free(a->account);
    kv_secret_free(a->key);
    kv_secret_free(a->sas);
    free(a->endpoint);
}

static char *dup_or_null(const char *v)
{
    return v ? strdup(v) : NULL;
}

/* The endpoint a connection string implies when it names none:
 * DefaultEndpointsProtocol://AccountName.blob.EndpointSuffix. */
static char *conn_endpoint(const char *cs, const char *account)
{
    char *proto = conn_get(cs, "DefaultEndpointsProtocol");
    char *suffix = conn_get(cs, "EndpointSuffix");
    char *out = NULL;
    if (asprintf(&out, "%s://%s.blob.%s", proto ? proto : "https", account,
                 suffix ? suffix : "core.windows.net") < 0)
        out = NULL;
    free(proto);
    free(suffix);
    return out;
}

static int read_connection_string(const char *cs, az_settings *a)
{
    char *dev = conn_get(cs, "UseDevelopmentStorage");
    int use_dev = dev && strcasecmp(dev, "true") == 0;
    free(dev);
    if (use_dev) {
        a->account = strdup(DEV_ACCOUNT);
        a->key = strdup(DEV_KEY);
        a->endpoint = strdup(DEV_ENDPOINT);
        return a->account && a->key && a->endpoint ? KV_OK : kv_oom();
    }
    a->account = conn_get(cs, "AccountName");
    a->key = conn_get(cs, "AccountKey");
    a->sas = conn_get(cs, "SharedAccessSignature");
    a->endpoint = conn_get(cs, "BlobEndpoint");
    if (!a->endpoint && a->account)
        a->endpoint = conn_endpoint(cs, a->account);
    return KV_OK;
}

static int from_connection_string(const kv_store_opts *o, az_settings *a, int *found)
{
    const char *cs = kv_opt_str(o, "AZURE_STORAGE_CONNECTION_STRING");
    *found = cs != NULL;
    return cs ? read_connection_string(cs, a) : KV_OK;
}

static int from_settings(const kv_store_opts *o, az_settings *a, int *found)
{
    a->account = dup_or_null(kv_opt_str(o, "AZURE_STORAGE_ACCOUNT"));
    a->key = dup_or_null(kv_opt_str(o, "AZURE_STORAGE_KEY"));
    a->sas = dup_or_null(kv_opt_str(o, "AZURE_STORAGE_SAS_TOKEN"));
    *found = 1;
    return KV_OK;
}

/* The endpoint: the store's option, KVAULT_AZURE_ENDPOINT,
 * AZURE_STORAGE_BLOB_ENDPOINT, the connection string's, the account's. */
static int pick_endpoint(const kv_store_opts *o, az_settings *a)
{
    const char *ep = o->endpoint ? o->endpoint : kv_opt_str(o, "KVAULT_AZURE_ENDPOINT");
    if (!ep)
        ep = kv_opt_str(o, "AZURE_STORAGE_BLOB_ENDPOINT");
    if (ep) {
        free(a->endpoint);
        a->endpoint = strdup(ep);
        if (!a->endpoint)
            return kv_oom();
    }
    if (!a->endpoint && a->account &&
        asprintf(&a->endpoint, "https://%s.blob.core.windows.net", a->account) < 0) {
        a->endpoint = NULL;
        return kv_oom();
    }
    return KV_OK;
}

static int read_settings(const kv_store_opts *o, const char *what, az_settings *a)
{
    static int (*const chain[])(const kv_store_opts *, az_settings *, int *) = {
        from_connection_string, from_settings};
    int found = 0, rc = KV_OK;
    for (size_t i = 0; i < sizeof chain / sizeof chain[0] && rc == KV_OK && !found; i++)
        rc = chain[i](o, a, &found);
    if (rc == KV_OK)
        rc = pick_endpoint(o, a);
    if (rc)
        return rc;
    if ((!a->key && !a->sas) || (a->key && !a->account) || !a->endpoint)
        return kv_seterr(KV_EAUTH,
                         "%s: no Azure credentials: set AZURE_STORAGE_CONNECTION_STRING, "
                         "or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or "
                         "AZURE_STORAGE_SAS_TOKEN",
                         what);
    return KV_OK;
}

static int take_settings(kv_azure_auth *z, az_settings *a, const char *what)
{
    if (a->key && kv_azure_decode_key(a->key, z->key, &z->key_len) != KV_OK)
        return kv_seterr(KV_EAUTH, "%s: the account key is not valid base64: check "
                                   "AZURE_STORAGE_KEY or the AccountKey of "
                                   "AZURE_STORAGE_CONNECTION_STRING", what);
    if (a->sas && !z->key_len && !(z->sas = strdup(a->sas + (a->sas[0] == '?'))))
        return kv_oom();
    z->account = a->account;
    z->endpoint = a->endpoint;
    a->account = a->endpoint = NULL;
    return KV_OK;
}

int kv_azure_auth_new(const kv_store_opts *o, const char *what, kv_azure_auth **out)
{
    az_settings a = {0};
    kv_azure_auth *z = calloc(1, sizeof *z);
    int rc = z ? read_settings(o, what, &a) : kv_oom();
    if (rc == KV_OK)
        rc = take_settings(z, &a, what);
    settings_free(&a);
    if (rc) {
        kv_azure_auth_free(z);
        z = NULL;
    }
    *out = z;
    return rc;
}

void kv_azure_auth_free(kv_azure_auth *z)
{
    if (!z)
        return;
    free(z->account);
    OPENSSL_cleanse(z->key, sizeof z->key);
    kv_secret_free(z->sas);
    free(z->endpoint);
    free(z);
}

const char *kv_azure_auth_endpoint(const kv_azure_auth *z)
{
    return z->endpoint;
}

const char *kv_azure_auth_account(const kv_azure_auth *z)
{
    return z->account;
}

int kv_azure_auth_has_key(const kv_azure_auth *z)
{
    return z->key_len != 0;
}

/* ---- authorization --------------------------------------------------------------- */

static int add_date(kv_svc_sign *sg)
{
    char date[KV_AZURE_DATE_MAX];
    kv_azure_date(time(NULL), date);
    return kv_svc_add_header(sg, "x-ms-date", date);
}

static int shared_key_authorize(void *ctx, kv_svc_sign *sg)
{
    const kv_azure_auth *z = ctx;
    kv_buf auth = KV_BUF_INIT;
    int rc = add_date(sg);
    if (rc == KV_OK) {
        kv_azure_sign_req sr = {.method = sg->method, .account = z->account,
                                .path = sg->encoded_path, .query = sg->query,
                                .nquery = sg->nquery, .headers = sg->headers,
                                .nheaders = sg->nheaders, .content_length = sg->body_len};
        rc = kv_azure_authorization(&sr, z->key, z->key_len, &auth);
    }
    if (rc == KV_OK)
        rc = kv_svc_add_header(sg, "Authorization", auth.data);
    kv_buf_free(&auth);
    return rc;
}

static int sas_authorize(void *ctx, kv_svc_sign *sg)
{
    const kv_azure_auth *z = ctx;
    int rc = add_date(sg);
    return rc ? rc : kv_svc_add_query(sg, z->sas);
}

/* With a key every 403 is about the key or the clock (a key may do
 * anything); Azurite answers a bad signature with AuthorizationFailure where
 * Azure says AuthenticationFailed. With a SAS the code tells the cause. */
static const kv_svc_rule key_rules[] = {
    {.http = 403, .hint = "check AZURE_STORAGE_KEY (or the AccountKey of "
                          "AZURE_STORAGE_CONNECTION_STRING) and the system clock"},
    {0},
};

static const kv_svc_rule sas_rules[] = {
    {.code = "AuthenticationFailed", .http = 403,
     .hint = "check the SAS token (its signature, start and expiry) and the system clock"},
    {.code = "AuthorizationPermissionMismatch", .http = 403,
     .hint = "the SAS token lacks a permission this operation needs (kvault uses read, add, "
             "create, write, delete and list)"},
    {.code = "AuthorizationResourceTypeMismatch", .http = 403,
     .hint = "the SAS token lacks a permission this operation needs (kvault uses read, add, "
             "create, write, delete and list)"},
    {.http = 403, .hint = "the SAS token was refused: check its start and expiry, its "
                          "permissions (kvault uses read, add, create, write, delete and "
                          "list) and the system clock"},
    {0},
};

void kv_azure_auth_use(kv_azure_auth *z, kv_svc_auth *out)
{
    if (z->key_len)
        *out = (kv_svc_auth){.authorize = shared_key_authorize, .rules = key_rules, .ctx = z};
    else
        *out = (kv_svc_auth){.authorize = sas_authorize, .rules = sas_rules, .ctx = z};
}
