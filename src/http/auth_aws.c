/* AWS credentials, region and profile (auth_aws.h), and SigV4 signing of
 * service requests with them. */
#include "http/auth_aws.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/sign_aws.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/secret.h"

struct kv_aws_auth {
    kv_aws_creds creds;   /* strings owned here */
    char *region;
    char *profile_endpoint;
    const char *service;
};

/* The profile files, read once for every source. */
typedef struct aws_profile {
    char *credentials;    /* ~/.aws/credentials text */
    char *config;         /* ~/.aws/config text */
    const char *name;
    char config_section[256];
} aws_profile;

/* ---- profile files ---------------------------------------------------------- */

static const char *trim(const char *s, size_t *n)
{
    while (*n && isspace((unsigned char)*s)) {
        s++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)s[*n - 1]))
        (*n)--;
    return s;
}

/* The value of key in [section] of an AWS ini file, malloc'd, or NULL.
 * Indented lines belong to nested sub-sections (e.g. "s3 =") and are skipped. */
static char *ini_lookup(const char *text, const char *section, const char *key)
{
    size_t klen = strlen(key);
    int in_section = 0;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n'), *p;
        size_t n = end ? (size_t)(end - line) : strlen(line);
        int indented = n && (line[0] == ' ' || line[0] == '\t');
        p = trim(line, &n);
        line = end ? end + 1 : NULL;
        if (indented || !n || p[0] == '#' || p[0] == ';')
            continue;
        if (p[0] == '[') {
            size_t m = n >= 2 ? n - 2 : 0;
            const char *name = trim(p + 1, &m);
            in_section = p[n - 1] == ']' && m == strlen(section) && strncmp(name, section, m) == 0;
        } else if (in_section && n > klen && strncmp(p, key, klen) == 0) {
            const char *q = p + klen;
            size_t rest = n - klen;
            q = trim(q, &rest);
            if (rest && *q == '=') {
                size_t vlen = rest - 1;
                const char *v = trim(q + 1, &vlen);
                return strndup(v, vlen);
            }
        }
    }
    return NULL;
}

/* Reads an AWS ini file: path from env_name, else ~/.aws/<file>. A missing
 * file is no error (*text stays NULL). */
static int read_aws_file(const kv_store_opts *o, const char *env_name, const char *file,
                         char **text)
{
    const char *home = kv_opt_str(o, "HOME"), *path = kv_opt_str(o, env_name);
    char *def = NULL;
    size_t len;
    int rc = KV_OK;
    *text = NULL;
    if (!path && home && asprintf(&def, "%s/.aws/%s", home, file) >= 0)
        path = def;
    if (path) {
        rc = kv_read_file(path, text, &len);
        if (rc == KV_ENOTFOUND) {
            kv_errclear();
            rc = KV_OK;
        }
    }
    free(def);
    return rc;
}

static int profile_read(const kv_store_opts *o, aws_profile *p)
{
    int rc;
    p->name = kv_opt_str(o, "AWS_PROFILE");
    if (!p->name)
        p->name = "default";
    if (strcmp(p->name, "default") == 0)
        snprintf(p->config_section, sizeof p->config_section, "default");
    else
        snprintf(p->config_section, sizeof p->config_section, "profile %s", p->name);
    rc = read_aws_file(o, "AWS_SHARED_CREDENTIALS_FILE", "credentials", &p->credentials);
    if (rc == KV_OK)
        rc = read_aws_file(o, "AWS_CONFIG_FILE", "config", &p->config);
    return rc;
}

/* A profile setting: credentials file first, then config file. */
static char *profile_get(const aws_profile *p, const char *key)
{
    char *v = p->credentials ? ini_lookup(p->credentials, p->name, key) : NULL;
    if (!v && p->config)
        v = ini_lookup(p->config, p->config_section, key);
    return v;
}

/* ---- the credential chain ----------------------------------------------------- */

/* One source: sets *found and fills creds when it has credentials. */
typedef int (*aws_source)(const kv_store_opts *o, const aws_profile *p, kv_aws_creds *creds,
                          int *found);

static int from_settings(const kv_store_opts *o, const aws_profile *p, kv_aws_creds *creds,
                         int *found)
{
    const char *ak = kv_opt_str(o, "AWS_ACCESS_KEY_ID"), *sk = kv_opt_str(o, "AWS_SECRET_ACCESS_KEY");
    const char *tok = kv_opt_str(o, "AWS_SESSION_TOKEN");
    (void)p;
    *found = ak && sk;
    if (!*found)
        return KV_OK;
    creds->access_key = strdup(ak);
    creds->secret_key = strdup(sk);
    creds->session_token = tok ? strdup(tok) : NULL;
    if (!creds->access_key || !creds->secret_key || (tok && !creds->session_token))
        return kv_oom();
    return KV_OK;
}

static int from_profile(const kv_store_opts *o, const aws_profile *p, kv_aws_creds *creds,
                        int *found)
{
    (void)o;
    creds->access_key = profile_get(p, "aws_access_key_id");
    creds->secret_key = profile_get(p, "aws_secret_access_key");
    creds->session_token = profile_get(p, "aws_session_token");
    *found = creds->access_key && creds->secret_key;
    return KV_OK;
}

static void creds_free(kv_aws_creds *c)
{
    free((char *)c->access_key);
    kv_secret_free((char *)c->secret_key);
    kv_secret_free((char *)c->session_token);
    *c = (kv_aws_creds){0};
}

static int run_chain(const kv_store_opts *o, const aws_profile *p, const char *what,
                     kv_aws_creds *creds)
{
    static const aws_source chain[] = {from_settings, from_profile};
    int found = 0, rc = KV_OK;
    for (size_t i = 0; i < sizeof chain / sizeof chain[0] && rc == KV_OK && !found; i++) {
        creds_free(creds);
        rc = chain[i](o, p, creds, &found);
    }
    if (rc == KV_OK && !found)
        rc = kv_seterr(KV_EAUTH,
                       "%s: no AWS credentials: set AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY, or give profile '%s' aws_access_key_id and "
                       "aws_secret_access_key in ~/.aws/credentials (AWS_PROFILE picks another)",
                       what, p->name);
    return rc;
}

static int load_region(kv_aws_auth *a, const kv_store_opts *o, const aws_profile *p)
{
    const char *r = o->region ? o->region : kv_opt_str(o, "AWS_REGION");
    if (!r)
        r = kv_opt_str(o, "AWS_DEFAULT_REGION");
    a->region = r ? strdup(r) : profile_get(p, "region");
    if (!a->region)
        a->region = strdup("us-east-1");
    return a->region ? KV_OK : kv_oom();
}

int kv_aws_auth_new(const kv_store_opts *o, const char *what, kv_aws_auth **out)
{
    aws_profile p = {0};
    kv_aws_auth *a = calloc(1, sizeof *a);
    int rc = a ? profile_read(o, &p) : kv_oom();
    if (rc == KV_OK)
        rc = run_chain(o, &p, what, &a->creds);
    if (rc == KV_OK)
        rc = load_region(a, o, &p);
    if (rc == KV_OK && p.config)
        a->profile_endpoint = ini_lookup(p.config, p.config_section, "endpoint_url");
    kv_secret_free(p.credentials);
    kv_secret_free(p.config);
    if (rc) {
        kv_aws_auth_free(a);
        a = NULL;
    }
    *out = a;
    return rc;
}

void kv_aws_auth_free(kv_aws_auth *a)
{
    if (!a)
        return;
    creds_free(&a->creds);
    free(a->region);
    free(a->profile_endpoint);
    free(a);
}

const char *kv_aws_auth_region(const kv_aws_auth *a)
{
    return a->region;
}

const char *kv_aws_auth_profile_endpoint(const kv_aws_auth *a)
{
    return a->profile_endpoint;
}

/* ---- signing -------------------------------------------------------------------- */

static int sigv4_authorize(void *ctx, kv_svc_sign *sg)
{
    const kv_aws_auth *a = ctx;
    kv_buf auth = KV_BUF_INIT;
    char date[17], payload[65];
    int rc;
    kv_aws_amz_date(time(NULL), date);
    kv_aws_payload_hash(sg->body, sg->body_len, sg->body_sha256, payload);
    rc = kv_svc_add_header(sg, "Host", sg->host);
    if (rc == KV_OK)
        rc = kv_svc_add_header(sg, "x-amz-date", date);
    if (rc == KV_OK)
        rc = kv_svc_add_header(sg, "x-amz-content-sha256", payload);
    if (rc == KV_OK && a->creds.session_token)
        rc = kv_svc_add_header(sg, "x-amz-security-token", a->creds.session_token);
    if (rc == KV_OK) {
        kv_sigv4_req sr = {.method = sg->method, .path = sg->path, .query = sg->query,
                           .nquery = sg->nquery, .headers = sg->headers,
                           .nheaders = sg->nheaders, .payload_hash = payload,
                           .amz_date = date, .region = a->region, .service = a->service};
        rc = kv_sigv4_authorization(&sr, &a->creds, &auth);
    }
    if (rc == KV_OK)
        rc = kv_svc_add_header(sg, "Authorization", auth.data);
    kv_buf_free(&auth);
    return rc;
}

/* What refused AWS credentials mean. */
static const kv_svc_rule aws_rules[] = {
    {.code = "SignatureDoesNotMatch", .status = KV_EAUTH,
     .hint = "check AWS_SECRET_ACCESS_KEY and the system clock"},
    {.code = "RequestTimeTooSkewed", .status = KV_EAUTH, .hint = "the system clock is off"},
    {.code = "InvalidAccessKeyId", .status = KV_EAUTH, .hint = "check AWS_ACCESS_KEY_ID"},
    {.code = "AccessDenied", .status = KV_EAUTH},
    {.code = "ExpiredToken", .status = KV_EAUTH},
    {.code = "InvalidToken", .status = KV_EAUTH},
    {.code = "AuthorizationHeaderMalformed",
     .hint = "the bucket may be in another region: set AWS_REGION"},
    {.code = "", .http = 403,
     .hint = "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and the system clock"},
    {0},
};

void kv_aws_auth_use(kv_aws_auth *a, const char *service, kv_svc_auth *out)
{
    a->service = service;
    *out = (kv_svc_auth){.authorize = sigv4_authorize, .rules = aws_rules, .ctx = a};
}
