/* Google credentials (auth_google.h): OAuth access tokens from a chain of
 * sources, cached and refreshed, sent as bearer tokens. */
#include "http/auth_google.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/base64.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/secret.h"

#define REFRESH_MARGIN_S 300
#define DEFAULT_METADATA_HOST "metadata.google.internal"
#define SCOPE "https://www.googleapis.com/auth/devstorage.read_write"
#define JWT_GRANT "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"

enum auth_kind { AUTH_NONE, AUTH_STATIC, AUTH_SERVICE_ACCOUNT, AUTH_METADATA };

struct kv_google_auth {
    char *what;            /* "gs://bucket", for messages */
    kv_service *svc;       /* its client fetches tokens; its rules read errors */
    enum auth_kind kind;
    char *static_token;
    char *sa_email;        /* service account */
    char *sa_key_id;
    char *token_uri;
    EVP_PKEY *sa_key;
    char *metadata_url;
    pthread_mutex_t lock;  /* guards the token cache */
    char *token;           /* cached access token */
    time_t token_refresh;  /* fetch a new one from this time on */
};

/* ---- Google's error replies --------------------------------------------------- */

static const char *reason_from_status(long http)
{
    switch (http) {
    case 400: return "badRequest";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "notFound";
    case 412: return "conditionNotMet";
    case 429: return "rateLimitExceeded";
    case 501: return "notImplemented";
    case 503: return "backendError";
    default: return "httpError";
    }
}

/* Reads Google's {error:{code,message,errors:[{reason}]}} (or an OAuth
 * {error, error_description}) into reason and msg. */
void kv_google_parse_error(const kv_http_resp *resp, kv_svc_error *err)
{
    json_t *root = resp->body.len ? json_loadb(resp->body.data, resp->body.len, 0, NULL) : NULL;
    json_t *e = json_object_get(root, "error");
    const char *r = NULL, *m = NULL;
    if (json_is_object(e)) {
        r = json_string_value(json_object_get(json_array_get(json_object_get(e, "errors"), 0),
                                              "reason"));
        m = json_string_value(json_object_get(e, "message"));
    } else if (json_is_string(e)) {
        r = json_string_value(e);
        m = json_string_value(json_object_get(root, "error_description"));
    }
    snprintf(err->code, sizeof err->code, "%s", r ? r : reason_from_status(resp->status));
    snprintf(err->message, sizeof err->message, "%s", m ? m : "");
    json_decref(root);
}

/* A JSON number or a decimal string (the API sends int64 as strings). */
long long kv_google_int64(json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

/* ---- access tokens ------------------------------------------------------ */

static int sign_rs256(EVP_PKEY *key, const char *data, size_t n, kv_buf *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t siglen = 0;
    int rc = KV_OK;
    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)data, n) != 1 ||
        !(sig = malloc(siglen)) ||
        EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)data, n) != 1)
        rc = kv_seterr(KV_EAUTH, "cannot sign the token request with the service account's "
                                 "private key (OpenSSL)");
    if (rc == KV_OK)
        rc = kv_base64url_append(out, sig, siglen);
    free(sig);
    EVP_MD_CTX_free(ctx);
    return rc;
}

static int base64url_json(json_t *j, kv_buf *out)
{
    char *text = json_dumps(j, JSON_COMPACT);
    int rc = text ? kv_base64url_append(out, text, strlen(text)) : kv_oom();
    free(text);
    return rc;
}

/* Appends the signed JWT assertion of the service account
 * (header.claims.signature) to out. */
static int make_assertion(const kv_google_auth *s, kv_buf *out)
{
    size_t start = out->len, signed_len;
    time_t now = time(NULL);
    json_t *hdr = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", s->sa_email, "scope", SCOPE,
                               "aud", s->token_uri, "iat", (json_int_t)now,
                               "exp", (json_int_t)now + 3600);
    int rc = hdr && claims ? KV_OK : kv_oom();
    if (rc == KV_OK && s->sa_key_id && json_object_set_new(hdr, "kid", json_string(s->sa_key_id)))
        rc = kv_oom();
    if (rc == KV_OK)
        rc = base64url_json(hdr, out);
    if (rc == KV_OK)
        rc = kv_buf_puts(out, ".");
    if (rc == KV_OK)
        rc = base64url_json(claims, out);
    signed_len = out->len;
    if (rc == KV_OK)
        rc = kv_buf_puts(out, ".");
    if (rc == KV_OK)
        rc = sign_rs256(s->sa_key, out->data + start, signed_len - start, out);
    json_decref(hdr);
    json_decref(claims);
    return rc;
}

/* Reads {access_token, expires_in} from a token endpoint's reply. */
static int read_token_reply(kv_google_auth *s, const char *from, const kv_http_resp *resp)
{
    json_t *root = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);
    const char *tok = json_string_value(json_object_get(root, "access_token"));
    long long ttl = kv_google_int64(json_object_get(root, "expires_in"));
    long long margin;
    int rc = KV_OK;
    if (!tok || !*tok) {
        rc = kv_seterr(KV_EAUTH, "%s: the token endpoint %s returned no access_token",
                       s->what, from);
        goto out;
    }
    if (ttl <= 0)
        ttl = 3600;
    margin = ttl / 2 < REFRESH_MARGIN_S ? ttl / 2 : REFRESH_MARGIN_S;
    kv_secret_free(s->token);
    s->token = strdup(tok);
    s->token_refresh = time(NULL) + (time_t)(ttl - margin);
    if (!s->token)
        rc = kv_oom();
    else
        kv_debug("%s: new access token from %s, valid %lld s", s->what, from, ttl);
out:
    json_decref(root);
    return rc;
}

/* A token endpoint's error reply: KV_EAUTH with a hint, or transient. */
static int token_fail(const kv_google_auth *s, const char *from, const kv_http_resp *resp)
{
    kv_svc_error e;
    int code = kv_svc_error_of(s->svc, resp, &e);
    if (code != KV_ETRANSIENT)
        code = KV_EAUTH;
    return kv_seterr(code, "%s: cannot get an access token from %s: %s%s%s (HTTP %ld)%s",
                     s->what, from, e.code, *e.message ? ": " : "", e.message, resp->status,
                     code == KV_EAUTH ? "; check GOOGLE_APPLICATION_CREDENTIALS and the system "
                                        "clock" : "");
}

static int fetch_service_account_token(kv_google_auth *s)
{
    kv_buf form = KV_BUF_INIT;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    const kv_http_header hs[] = {{.name = "Content-Type",
                                  .value = "application/x-www-form-urlencoded"}};
    int rc = kv_buf_puts(&form, "grant_type=" JWT_GRANT "&assertion=");
    if (rc == KV_OK)
        rc = make_assertion(s, &form);
    if (rc == KV_OK) {
        kv_http_req req = {.method = "POST", .url = s->token_uri, .headers = hs, .nheaders = 1,
                           .body = form.data, .body_len = form.len};
        rc = kv_http_do(s->svc->http, &req, &resp);
    }
    if (rc == KV_OK && resp.status != 200)
        rc = token_fail(s, s->token_uri, &resp);
    if (rc == KV_OK)
        rc = read_token_reply(s, s->token_uri, &resp);
    if (form.data)
        OPENSSL_cleanse(form.data, form.len);
    kv_buf_free(&form);
    if (resp.body.data)
        OPENSSL_cleanse(resp.body.data, resp.body.len);
    kv_http_resp_free(&resp);
    return rc;
}

static int fetch_metadata_token(kv_google_auth *s)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    const kv_http_header hs[] = {{.name = "Metadata-Flavor", .value = "Google"}};
    kv_http_req req = {.method = "GET", .url = s->metadata_url, .headers = hs, .nheaders = 1};
    char why[512];
    int rc = kv_http_do(s->svc->http, &req, &resp);
    if (rc) {
        snprintf(why, sizeof why, "%s", kv_errmsg());
        rc = kv_seterr(KV_EAUTH, "%s: no Google credentials: set "
                                 "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or "
                                 "KVAULT_GCS_TOKEN to an access token; the GCE metadata server "
                                 "is not reachable (%s)", s->what, why);
    }
    else if (resp.status != 200)
        rc = token_fail(s, "the GCE metadata server", &resp);
    else
        rc = read_token_reply(s, "the GCE metadata server", &resp);
    if (resp.body.data)
        OPENSSL_cleanse(resp.body.data, resp.body.len);
    kv_http_resp_free(&resp);
    return rc;
}

/* A copy of a valid access token (free with free_secret), or NULL for no
 * authentication. */
static int get_token(kv_google_auth *s, char **out)
{
    int rc = KV_OK;
    *out = NULL;
    if (s->kind == AUTH_NONE)
        return KV_OK;
    if (s->kind == AUTH_STATIC) {
        *out = strdup(s->static_token);
        return *out ? KV_OK : kv_oom();
    }
    pthread_mutex_lock(&s->lock);
    if (!s->token || time(NULL) >= s->token_refresh)
        rc = s->kind == AUTH_SERVICE_ACCOUNT ? fetch_service_account_token(s)
                                             : fetch_metadata_token(s);
    if (rc == KV_OK && !(*out = strdup(s->token)))
        rc = kv_oom();
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* After a 401 the cached token is not used again. */
static void drop_token(kv_google_auth *s, const char *used)
{
    pthread_mutex_lock(&s->lock);
    if (s->token && used && strcmp(s->token, used) == 0)
        s->token_refresh = 0;
    pthread_mutex_unlock(&s->lock);
}

static int copy_field(json_t *root, const char *field, const char *path, char **out)
{
    const char *v = json_string_value(json_object_get(root, field));
    if (!v || !*v)
        return kv_seterr(KV_EAUTH, "GOOGLE_APPLICATION_CREDENTIALS '%s': no \"%s\" in the key "
                                   "file", path, field);
    *out = strdup(v);
    return *out ? KV_OK : kv_oom();
}

static int load_private_key(kv_google_auth *s, const char *pem, const char *path)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    s->sa_key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!s->sa_key || EVP_PKEY_base_id(s->sa_key) != EVP_PKEY_RSA)
        return kv_seterr(KV_EAUTH, "GOOGLE_APPLICATION_CREDENTIALS '%s': \"private_key\" is not "
                                   "an RSA private key in PEM form", path);
    return KV_OK;
}

static int load_service_account(kv_google_auth *s, const char *path)
{
    char *text = NULL, *pem = NULL;
    size_t len;
    json_t *root = NULL;
    const char *type, *kid;
    char why[512];
    int rc = kv_read_file(path, &text, &len);
    if (rc) {
        snprintf(why, sizeof why, "%s", kv_errmsg()); /* names the file and why */
        rc = kv_seterr(KV_EAUTH, "GOOGLE_APPLICATION_CREDENTIALS: %s", why);
        goto out;
    }
    root = json_loadb(text, len, 0, NULL);
    type = json_string_value(json_object_get(root, "type"));
    if (!json_is_object(root) || !type || strcmp(type, "service_account") != 0) {
        rc = kv_seterr(KV_EAUTH, "GOOGLE_APPLICATION_CREDENTIALS '%s': not a service-account "
                                 "key file (JSON with \"type\": \"service_account\")", path);
        goto out;
    }
    rc = copy_field(root, "client_email", path, &s->sa_email);
    if (rc == KV_OK)
        rc = copy_field(root, "private_key", path, &pem);
    if (rc == KV_OK)
        rc = load_private_key(s, pem, path);
    if (rc == KV_OK && !json_object_get(root, "token_uri"))
        s->token_uri = strdup("https://oauth2.googleapis.com/token");
    else if (rc == KV_OK)
        rc = copy_field(root, "token_uri", path, &s->token_uri);
    kid = json_string_value(json_object_get(root, "private_key_id"));
    if (rc == KV_OK && kid && !(s->sa_key_id = strdup(kid)))
        rc = kv_oom();
    if (rc == KV_OK && !s->token_uri)
        rc = kv_oom();
    s->kind = AUTH_SERVICE_ACCOUNT;
out:
    kv_secret_free(pem);
    if (text)
        OPENSSL_cleanse(text, len);
    free(text);
    json_decref(root);
    return rc;
}

/* ---- the chain ------------------------------------------------------------ */

/* One source: sets *found when it applies. */
typedef int (*google_source)(kv_google_auth *s, const kv_store_opts *o, int *found);

/* Google's libraries send nothing to an emulator. */
static int from_emulator(kv_google_auth *s, const kv_store_opts *o, int *found)
{
    *found = kv_opt_str(o, "STORAGE_EMULATOR_HOST") != NULL;
    s->kind = AUTH_NONE;
    return KV_OK;
}

static int from_token(kv_google_auth *s, const kv_store_opts *o, int *found)
{
    const char *tok = kv_opt_str(o, "KVAULT_GCS_TOKEN");
    if (!tok)
        tok = kv_opt_str(o, "GOOGLE_OAUTH_ACCESS_TOKEN");
    *found = tok != NULL;
    if (!tok)
        return KV_OK;
    s->kind = AUTH_STATIC;
    s->static_token = strdup(tok);
    return s->static_token ? KV_OK : kv_oom();
}

static int from_key_file(kv_google_auth *s, const kv_store_opts *o, int *found)
{
    const char *path = kv_opt_str(o, "GOOGLE_APPLICATION_CREDENTIALS");
    *found = path != NULL;
    return path ? load_service_account(s, path) : KV_OK;
}

static int from_metadata(kv_google_auth *s, const kv_store_opts *o, int *found)
{
    const char *mdhost = kv_opt_str(o, "GCE_METADATA_HOST");
    *found = 1;
    s->kind = AUTH_METADATA;
    if (asprintf(&s->metadata_url, "http://%s/computeMetadata/v1/instance/service-accounts/"
                                   "default/token", mdhost ? mdhost : DEFAULT_METADATA_HOST) < 0) {
        s->metadata_url = NULL;
        return kv_oom();
    }
    return KV_OK;
}

int kv_google_auth_new(const kv_store_opts *o, const char *what, kv_google_auth **out)
{
    static const google_source chain[] = {from_emulator, from_token, from_key_file,
                                          from_metadata};
    kv_google_auth *s = calloc(1, sizeof *s);
    int found = 0, rc = s && (s->what = strdup(what)) ? KV_OK : kv_oom();
    if (s)
        pthread_mutex_init(&s->lock, NULL);
    for (size_t i = 0; i < sizeof chain / sizeof chain[0] && rc == KV_OK && !found; i++)
        rc = chain[i](s, o, &found);
    if (rc) {
        kv_google_auth_free(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

void kv_google_auth_free(kv_google_auth *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s->what);
    kv_secret_free(s->static_token);
    free(s->sa_email);
    free(s->sa_key_id);
    free(s->token_uri);
    EVP_PKEY_free(s->sa_key);
    free(s->metadata_url);
    kv_secret_free(s->token);
    free(s);
}

const char *kv_google_auth_kind(const kv_google_auth *s)
{
    switch (s->kind) {
    case AUTH_NONE: return "none (emulator)";
    case AUTH_STATIC: return "bearer token";
    case AUTH_SERVICE_ACCOUNT: return "service account";
    default: return "GCE metadata server";
    }
}

/* ---- authorization ------------------------------------------------------------ */

static int bearer_authorize(void *ctx, kv_svc_sign *sg)
{
    kv_google_auth *s = ctx;
    char *token = NULL, *auth = NULL;
    int rc = get_token(s, &token);
    if (rc == KV_OK && token && asprintf(&auth, "Bearer %s", token) < 0) {
        auth = NULL;
        rc = kv_oom();
    }
    if (rc == KV_OK && auth)
        rc = kv_svc_add_header(sg, "Authorization", auth);
    kv_secret_free(auth);
    kv_secret_free(token);
    return rc;
}

/* After a 401 the token that was sent is not used again. */
static void bearer_refused(void *ctx, const kv_svc_sign *sg)
{
    for (size_t i = 0; i < sg->nheaders; i++)
        if (strcmp(sg->headers[i].name, "Authorization") == 0)
            drop_token(ctx, sg->headers[i].value + strlen("Bearer "));
}

static const kv_svc_rule google_rules[] = {
    {.http = 401, .hint = "check GOOGLE_APPLICATION_CREDENTIALS (or the token given) and the "
                          "system clock"},
    {.code = "invalid_grant", .hint = "check GOOGLE_APPLICATION_CREDENTIALS (or the token "
                                      "given) and the system clock"},
    {0},
};

void kv_google_auth_use(kv_google_auth *s, kv_service *svc)
{
    s->svc = svc;
    svc->auth = (kv_svc_auth){.authorize = bearer_authorize, .refused = bearer_refused,
                              .rules = google_rules, .ctx = s};
}
