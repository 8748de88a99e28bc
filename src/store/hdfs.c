/* HDFS over WebHDFS (hdfs://namenode[:port]/path, hdfs://nameservice/path,
 * hdfs:///path; aliases webhdfs://, and swebhdfs:// for HTTPS; port 9870 or
 * 9871 by default): the REST protocol every NameNode serves, spoken through
 * the http layer. See docs/hdfs.md for settings, the Hadoop sources each
 * behaviour follows, and what was checked.
 *
 * Keys map to paths under the store's root directory. HDFS forbids ':' in
 * names (DFSUtil.isValidName), so ':' is stored as "%3A" and '%' as "%25";
 * other names are unchanged, so backups read naturally with `hdfs dfs`.
 *
 * Writes never show a partial object under its final name: put CREATEs
 * ".<name>.kvtmp-<rand>" in the final directory and RENAMEs it into place
 * (after deleting an existing destination: RENAME does not overwrite).
 * Multipart uploads write ".<name>.kvpart-<tag>-<n>" files concurrently,
 * each CREATEd with blocksize = the part size so that every part is whole
 * blocks and CONCAT is legal on every Hadoop version (before 2.7 all blocks
 * but the last had to be full); complete CONCATs parts 2..n into part 1 and
 * RENAMEs it. Listings hide these names.
 *
 * Listings hide these names; garbage removes those a killed process left.
 *
 * Requests go through the service-request path (http/service.h): one
 * service per NameNode (its origin, user.name= or delegation= added by the
 * authorize callback, RemoteException replies read by hdfs_parse_error and
 * mapped by hdfs_rules; the Kerberos hint chosen by the reply's
 * WWW-Authenticate header), and one for the DataNode step, whose URL comes
 * whole from a redirect that already carries the credentials.
 * CREATE, OPEN and GETFILECHECKSUM are two steps: the NameNode answers 307
 * with a DataNode Location that is followed by hand (optionally rewritten
 * for clusters behind NAT). The NameNode step fails over between the
 * nameservice's NameNodes (HADOOP_CONF_DIR). After a put or complete, the
 * file's GETFILECHECKSUM (MD5-of-MD5-of-CRC32C/CRC32, or COMPOSITE-CRC) is
 * compared with the same value computed here from the bytes sent. */
#include <jansson.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http/service.h"
#include "store/bucket.h"
#include "store/hdfs_conf.h"
#include "store/hdfs_sum.h"
#include "store/hdfs_token.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"
#include "util/random.h"
#include "util/secret.h"

#define MIB (1024ull * 1024ull)
/* dfs.namenode.fs-limits.min-block-size: the smallest block (= part) a
 * NameNode accepts by default */
#define HDFS_MIN_PART (1 * MIB)
#define HDFS_MAX_PART (1024 * MIB)
#define HDFS_MAX_PARTS 10000
#define CONCAT_BATCH 64        /* sources per CONCAT request */
#define MAX_QUERY 4            /* parameters of a call besides op and data */
#define TMP_MARK ".kvtmp-"
#define PART_MARK ".kvpart-"

typedef struct hdfs_store {
    kv_store base;
    kv_http *http;
    char **nns;           /* NameNode origins ("http://nn1:9870"), config order */
    size_t nnn;
    kv_service *nn;       /* [nnn]: the service of each NameNode */
    kv_service dn;        /* DataNode steps: whole URLs, no authorize */
    atomic_int active;    /* index of the NameNode that last answered */
    char *name;           /* "hdfs://namenode:9870" or "hdfs://ns", for messages */
    char *root;           /* HDFS path of the store root: "" or "/a/b" */
    char *auth;           /* "user.name=..." or "delegation=...", encoded */
    char *dn_from, *dn_to; /* KVAULT_HDFS_DATANODE_REWRITE */
    int httpfs;           /* KVAULT_HDFS_HTTPFS: data=true, one request */
    int kerberos;         /* SPNEGO through libcurl (KVAULT_HDFS_KERBEROS) */
    int verify;           /* KVAULT_HDFS_CHECKSUM (default on) */
    atomic_int no_batch;  /* the server has no LISTSTATUS_BATCH */
    atomic_int sum_kind;  /* the cluster's checksum kind, KV_HDFS_LEARNED(); 0 unknown */
    atomic_int told_other; /* an uncomputable checksum kind was logged */
} hdfs_store;

struct kv_upload {
    hdfs_store *s;
    char *path;           /* final HDFS path */
    char *dir, *base;     /* its directory and (escaped) name */
    char tag[17];
    uint64_t total, part_size;
    uint32_t nparts;
    kv_hdfs_part_sum *sums; /* each part's share of the checksum, for verify */
};

/* One request to the NameNode (and, after a redirect, to a DataNode). */
typedef struct hdfs_call {
    const char *method;
    const char *path;      /* HDFS path, "/..." */
    const char *op;
    const kv_http_header *query; /* more parameters, raw; at most MAX_QUERY */
    size_t nquery;
    const void *body;      /* data for CREATE (sent to the DataNode) */
    size_t body_len;
    void *dst;             /* OPEN: the caller's buffer */
    size_t dst_cap;
    const char *shown;     /* path named in errors, if not path (a
                              temporary's final name); may be NULL */
} hdfs_call;

/* ---- small helpers ---------------------------------------------------------- */

/* Cleanup after a failure may set the thread's message; the failure's own
 * message is the one to report. */
typedef struct saved_err {
    char msg[1024];
} saved_err;

static void save_err(saved_err *e)
{
    snprintf(e->msg, sizeof e->msg, "%s", kv_errmsg());
}

static int restore_err(int rc, const saved_err *e)
{
    return kv_errset_msg(rc, e->msg);
}

/* A key as an HDFS name: ':' -> %3A and '%' -> %25 (see the top). */
static int escape_key(const char *key, kv_buf *out)
{
    int rc = KV_OK;
    for (const char *p = key; *p && rc == KV_OK; p++) {
        if (*p == ':')
            rc = kv_buf_puts(out, "%3A");
        else if (*p == '%')
            rc = kv_buf_puts(out, "%25");
        else
            rc = kv_buf_put(out, p, 1);
    }
    return rc;
}

/* The inverse of escape_key, for names read back from listings. */
static char *unescape_name(const char *name)
{
    char *out = malloc(strlen(name) + 1), *o = out;
    if (!out)
        return NULL;
    while (*name) {
        if (strncasecmp(name, "%3A", 3) == 0 || strncmp(name, "%25", 3) == 0) {
            *o++ = name[2] == '5' ? '%' : ':';
            name += 3;
        } else {
            *o++ = *name++;
        }
    }
    *o = '\0';
    return out;
}

/* The HDFS path of a key: root + "/" + escaped key. */
static char *key_path(const hdfs_store *s, const char *key)
{
    kv_buf b = KV_BUF_INIT;
    if (kv_buf_puts(&b, s->root) || kv_buf_puts(&b, "/") || escape_key(key, &b)) {
        kv_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* Splits an HDFS path "/d/name" into "/d" and "name" (copies). */
static int split_path(const char *path, char **dir, char **base)
{
    const char *slash = strrchr(path, '/');
    *dir = strndup(path, (size_t)(slash - path));
    *base = strdup(slash + 1);
    if (*dir && *base)
        return KV_OK;
    free(*dir);
    free(*base);
    *dir = *base = NULL;
    return kv_oom();
}

static int is_name(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

static int is_hidden_name(const char *name)
{
    return name[0] == '.' && (strstr(name, TMP_MARK) || strstr(name, PART_MARK));
}

/* ---- errors ------------------------------------------------------------------ */

/* RemoteException names (service.h's rules). kvault CREATEs only its own
 * temporary names, so another writer's lease on one
 * (AlreadyBeingCreatedException) is an earlier attempt of ours whose
 * connection died and whose file the DataNode is still closing: retried.
 * Unlike the object stores, WebHDFS answers 403 for any IOException (a
 * denied permission has its own name): 403 and 412 are KV_ERR. */
static const kv_svc_rule hdfs_rules[] = {
    {.code = "StandbyException", .status = KV_ETRANSIENT},
    {.code = "RetriableException", .status = KV_ETRANSIENT},
    {.code = "SafeModeException", .status = KV_ETRANSIENT},
    {.code = "ObserverRetryOnActiveException", .status = KV_ETRANSIENT},
    {.code = "RecoveryInProgressException", .status = KV_ETRANSIENT},
    {.code = "AlreadyBeingCreatedException", .status = KV_ETRANSIENT},
    {.code = "AccessControlException", .status = KV_EAUTH},
    {.code = "SecurityException", .status = KV_EAUTH},
    {.code = "AuthorizationException", .status = KV_EAUTH},
    {.code = "InvalidToken", .status = KV_EAUTH},
    {.code = "FileAlreadyExistsException", .status = KV_EEXIST},
    {.code = "FileNotFoundException", .status = KV_ENOTFOUND},
    {.http = 403, .status = KV_ERR},
    {.http = 412, .status = KV_ERR},
    {0},
};

/* A secure cluster's answer to a request without valid SPNEGO credentials
 * (Hadoop's AuthenticationFilter: 401 with WWW-Authenticate: Negotiate),
 * with Kerberos off and on. */
static const kv_svc_rule kerberos_off_rules[] = {
    {.http = 401, .header = "WWW-Authenticate: Negotiate",
     .hint = "the cluster requires Kerberos: run kinit and set KVAULT_HDFS_KERBEROS=1"},
    {0},
};
static const kv_svc_rule kerberos_on_rules[] = {
    {.http = 401, .header = "WWW-Authenticate: Negotiate",
     .hint = "the cluster did not accept kvault's Kerberos credentials: check `klist` (run "
             "kinit for a ticket, or set KRB5CCNAME)"},
    {0},
};

/* The text of an error page (an HttpFS filter's HTML), tags and runs of
 * spaces dropped. */
static void page_text(const kv_buf *body, char *msg, size_t nmsg)
{
    int in_tag = 0, space = 0;
    size_t n = 0;
    for (size_t i = 0; i < body->len && n + 1 < nmsg; i++) {
        char c = body->data[i];
        if (c == '<' || c == '>') {
            in_tag = c == '<';
            space = 1;
        } else if (!in_tag && (c == ' ' || c == '\n' || c == '\r' || c == '\t')) {
            space = 1;
        } else if (!in_tag) {
            if (space && n)
                msg[n++] = ' ';
            if (n + 1 < nmsg)
                msg[n++] = c;
            space = 0;
        }
    }
    msg[n] = '\0';
}

/* Reads {"RemoteException":{"exception","message"}} or, for bodies that are
 * not JSON, the text itself (the service's parse_error). */
static void hdfs_parse_error(const kv_http_resp *resp, kv_svc_error *err)
{
    json_t *root = resp->body.len ? json_loadb(resp->body.data, resp->body.len, 0, NULL) : NULL;
    json_t *re = json_object_get(root, "RemoteException");
    const char *e = json_string_value(json_object_get(re, "exception"));
    const char *m = json_string_value(json_object_get(re, "message"));
    snprintf(err->code, sizeof err->code, "%s", e ? e : "");
    if (re)
        snprintf(err->message, sizeof err->message, "%s", m ? m : "");
    else
        page_text(&resp->body, err->message, sizeof err->message);
    json_decref(root);
}

/* ---- requests ------------------------------------------------------------------ */

/* The service's authorize: "user.name=..." or "delegation=..." (encoded). */
static int hdfs_authorize(void *ctx, kv_svc_sign *sg)
{
    const hdfs_store *s = ctx;
    return kv_svc_add_query(sg, s->auth);
}

static const char *shown_path(const hdfs_call *c)
{
    return c->shown ? c->shown : c->path;
}

/* The DataNode URL of a redirect, with KVAULT_HDFS_DATANODE_REWRITE applied
 * to its host:port. */
static int datanode_url(const hdfs_store *s, const char *path, const char *location, kv_buf *out)
{
    const char *auth = strstr(location, "://");
    size_t from_len = s->dn_from ? strlen(s->dn_from) : 0;
    int rc;
    if (!auth) {
        char shown[256];
        kv_http_url_for_message(location, shown, sizeof shown); /* no token */
        return kv_seterr(KV_ERR, "%s%s: the NameNode redirected to '%s', not a URL", s->name,
                         path, shown);
    }
    auth += 3;
    if (from_len && strncmp(auth, s->dn_from, from_len) == 0 &&
        (auth[from_len] == '/' || auth[from_len] == '\0'))
        rc = kv_buf_printf(out, "%.*s%s%s", (int)(auth - location), location, s->dn_to,
                           auth + from_len);
    else
        rc = kv_buf_puts(out, location);
    return rc ? kv_oom() : KV_OK;
}

/* The NameNode step of a call to one NameNode: op, the call's parameters
 * and, for HttpFS with data (direct), data=true and the body. */
static int send_namenode_once(hdfs_store *s, kv_service *nn, const hdfs_call *c, int direct,
                              kv_http_resp *resp)
{
    static const kv_http_header octets[] = {{.name = "Content-Type",
                                             .value = "application/octet-stream"}};
    kv_http_header q[MAX_QUERY + 2] = {{.name = "op", .value = c->op}};
    size_t nq = 1;
    if (c->nquery > MAX_QUERY)
        return kv_seterr(KV_EINVAL, "%s%s: %s with %zu parameters", s->name, c->path, c->op,
                         c->nquery);
    for (size_t i = 0; i < c->nquery; i++)
        q[nq++] = c->query[i];
    if (direct)
        q[nq++] = (kv_http_header){.name = "data", .value = "true"};
    {
        kv_svc_req r = {.method = c->method, .key = c->path + 1, .query = q, .nquery = nq,
                        .headers = octets, .nheaders = direct ? 1 : 0,
                        .body = direct ? c->body : NULL, .body_len = direct ? c->body_len : 0,
                        .dst = c->dst, .dst_cap = c->dst_cap, .object = shown_path(c)};
        return kv_svc_send(nn, &r, resp);
    }
}

/* A NameNode's answer that another NameNode of the nameservice should be
 * asked instead (StandbyException, 403). */
static int is_standby(const hdfs_store *s, const kv_http_resp *resp)
{
    kv_svc_error e;
    if (resp->status != 403)
        return 0;
    kv_svc_error_of(&s->dn, resp, &e);
    return strcmp(e.code, "StandbyException") == 0;
}

/* Sends the NameNode's step of a call: to the NameNode that answered last,
 * then, on a StandbyException or a transport failure (refused, timed out,
 * reset: KV_ETRANSIENT from the http layer), to the next in configuration
 * order, once around, as WebHdfsFileSystem fails over
 * (resetStateToFailOver). The NameNode that answers is remembered for the
 * store handle's later calls. What is left when all fail is the last
 * answer: a StandbyException maps to KV_ETRANSIENT, retried later. */
static int send_namenode(hdfs_store *s, const hdfs_call *c, int direct, kv_http_resp *resp)
{
    size_t first = (size_t)atomic_load(&s->active);
    int rc = KV_OK;
    for (size_t i = 0; i < s->nnn; i++) {
        size_t k = (first + i) % s->nnn;
        int last = i + 1 == s->nnn, standby;
        rc = send_namenode_once(s, &s->nn[k], c, direct, resp);
        standby = rc == KV_OK && is_standby(s, resp);
        if (rc == KV_OK && !standby)
            atomic_store(&s->active, (int)k);
        if (last || !(standby || rc == KV_ETRANSIENT))
            break;
        kv_info("hdfs: %s: NameNode %s %s; trying %s", s->name, s->nns[k],
                standby ? "is in standby" : kv_errmsg(), s->nns[(k + 1) % s->nnn]);
        kv_errclear();
    }
    return rc;
}

/* The DataNode step: the redirect's URL as it is (it carries the
 * credentials the NameNode put there), with the body. */
static int send_datanode(hdfs_store *s, const hdfs_call *c, const char *url, kv_http_resp *resp)
{
    static const kv_http_header octets[] = {{.name = "Content-Type",
                                             .value = "application/octet-stream"}};
    kv_svc_req r = {.method = c->method, .url = url, .headers = octets,
                    .nheaders = c->body ? 1 : 0, .body = c->body, .body_len = c->body_len,
                    .dst = c->dst, .dst_cap = c->dst_cap, .object = shown_path(c)};
    return kv_svc_send(&s->dn, &r, resp);
}

/* Sends a call and follows one redirect by hand (CREATE/OPEN/
 * GETFILECHECKSUM), sending the body only to the DataNode, as Hadoop's
 * clients do. KV_OK when a final reply arrived; the status is not checked.
 * Only the NameNode's step fails over: WebHdfsFileSystem retries nothing
 * once redirected (checkRetry = !redirected). */
static int hdfs_send(hdfs_store *s, const hdfs_call *c, kv_http_resp *resp)
{
    kv_buf dn = KV_BUF_INIT;
    const char *loc;
    int rc = send_namenode(s, c, s->httpfs && c->body, resp);
    if (rc || resp->status < 300 || resp->status >= 400)
        goto out;
    loc = kv_http_resp_header(resp, "Location");
    if (!loc) {
        rc = kv_seterr(KV_ETRANSIENT, "%s%s: HTTP %ld redirect without a Location", s->name,
                       c->path, resp->status);
        goto out;
    }
    rc = datanode_url(s, c->path, loc, &dn);
    if (rc == KV_OK)
        rc = send_datanode(s, c, dn.data, resp);
out:
    kv_buf_free(&dn);
    return rc;
}

/* An error reply of a call, as its message says it (kv_svc_fail). */
static int hdfs_check(hdfs_store *s, const hdfs_call *c, const kv_http_resp *resp)
{
    if (resp->status >= 200 && resp->status < 300)
        return KV_OK;
    return kv_svc_fail(&s->dn, shown_path(c), resp);
}

/* Sends a call and maps an error reply. */
static int hdfs_do(hdfs_store *s, const hdfs_call *c, kv_http_resp *resp)
{
    int rc = hdfs_send(s, c, resp);
    return rc ? rc : hdfs_check(s, c, resp);
}

/* Parses a 2xx JSON reply. */
static int parse_json(const hdfs_store *s, const char *path, const kv_http_resp *resp,
                      json_t **out)
{
    json_error_t err;
    *out = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, &err);
    if (*out)
        return KV_OK;
    return kv_seterr(KV_ETRANSIENT, "%s%s: the reply is not JSON (%s, HTTP %ld)", s->name, path,
                     err.text, resp->status);
}

/* For MKDIRS/RENAME/DELETE: the {"boolean": ...} of the reply. */
static int call_boolean(hdfs_store *s, const hdfs_call *c, int *value)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    json_t *root = NULL, *b;
    int rc = hdfs_do(s, c, &resp);
    if (rc == KV_OK)
        rc = parse_json(s, c->path, &resp, &root);
    if (rc == KV_OK) {
        b = json_object_get(root, "boolean");
        if (json_is_boolean(b))
            *value = json_is_true(b);
        else
            rc = kv_seterr(KV_ETRANSIENT, "%s%s: %s reply has no \"boolean\"", s->name,
                           c->path, c->op);
    }
    json_decref(root);
    kv_http_resp_free(&resp);
    return rc;
}

/* ---- file status -------------------------------------------------------------- */

typedef struct hdfs_status {
    int is_dir;
    uint64_t length, block_size;
    int64_t mtime_ms;
    const char *suffix;   /* pathSuffix, valid while the JSON lives */
} hdfs_status;

static void read_status(json_t *fs, hdfs_status *st)
{
    const char *type = json_string_value(json_object_get(fs, "type"));
    st->is_dir = type && strcmp(type, "DIRECTORY") == 0;
    st->length = (uint64_t)json_integer_value(json_object_get(fs, "length"));
    st->block_size = (uint64_t)json_integer_value(json_object_get(fs, "blockSize"));
    st->mtime_ms = json_integer_value(json_object_get(fs, "modificationTime"));
    st->suffix = json_string_value(json_object_get(fs, "pathSuffix"));
    if (!st->suffix)
        st->suffix = "";
}

static int get_status(hdfs_store *s, const char *path, hdfs_status *out)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    hdfs_call c = {.method = "GET", .path = path, .op = "GETFILESTATUS"};
    json_t *root = NULL;
    int rc = hdfs_do(s, &c, &resp);
    if (rc == KV_OK)
        rc = parse_json(s, path, &resp, &root);
    if (rc == KV_OK) {
        json_t *fs = json_object_get(root, "FileStatus");
        if (json_is_object(fs))
            read_status(fs, out);
        else
            rc = kv_seterr(KV_ETRANSIENT, "%s%s: GETFILESTATUS reply has no FileStatus",
                           s->name, path);
    }
    json_decref(root);
    kv_http_resp_free(&resp);
    return rc;
}

/* ---- checksums ------------------------------------------------------------------ */

/* After a put or complete, the file's GETFILECHECKSUM is compared with the
 * value hdfs_sum.c computes from the bytes sent. */

/* A GETFILECHECKSUM reply. */
typedef struct hdfs_sum_reply {
    char algorithm[96];
    char bytes[260];        /* hex; may be longer than 2 * length (padding) */
    long length;            /* meaningful bytes */
} hdfs_sum_reply;

/* GETFILECHECKSUM of path (the NameNode redirects it to a DataNode). */
static int fetch_checksum(hdfs_store *s, const char *path, hdfs_sum_reply *out)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    hdfs_call c = {.method = "GET", .path = path, .op = "GETFILECHECKSUM"};
    json_t *root = NULL, *fc;
    const char *alg, *bytes;
    int rc = hdfs_do(s, &c, &resp);
    if (rc == KV_OK)
        rc = parse_json(s, path, &resp, &root);
    if (rc)
        goto out;
    fc = json_object_get(root, "FileChecksum");
    alg = json_string_value(json_object_get(fc, "algorithm"));
    bytes = json_string_value(json_object_get(fc, "bytes"));
    out->length = (long)json_integer_value(json_object_get(fc, "length"));
    if (!alg || !bytes || !json_is_integer(json_object_get(fc, "length")))
        rc = kv_seterr(KV_ETRANSIENT, "%s%s: GETFILECHECKSUM reply has no FileChecksum "
                       "algorithm, bytes and length", s->name, path);
    else if (out->length < 0 || (size_t)out->length * 2 > strlen(bytes) ||
             strlen(bytes) >= sizeof out->bytes || strlen(alg) >= sizeof out->algorithm)
        rc = kv_seterr(KV_ECORRUPT, "%s%s: GETFILECHECKSUM reply has %zu hex digits of bytes "
                       "for a length of %ld", s->name, path, strlen(bytes), out->length);
    if (rc == KV_OK) {
        snprintf(out->algorithm, sizeof out->algorithm, "%s", alg);
        snprintf(out->bytes, sizeof out->bytes, "%s", bytes);
    }
out:
    json_decref(root);
    kv_http_resp_free(&resp);
    return rc;
}

/* Parses the reply's algorithm and remembers its kind for later uploads
 * (their parts compute only what the cluster reports). A kind kvault cannot
 * compute is logged (once at info level) and not compared: *comparable 0. */
static void learn_algorithm(hdfs_store *s, const char *path, const hdfs_sum_reply *r,
                            kv_hdfs_algo *a, int *comparable)
{
    kv_hdfs_sum_parse(r->algorithm, a);
    *comparable = a->kind != KV_HDFS_SUM_OTHER;
    atomic_store(&s->sum_kind, KV_HDFS_LEARNED(a->kind, a->crc));
    if (*comparable)
        return;
    if (!atomic_exchange(&s->told_other, 1))
        kv_info("hdfs: %s%s: the cluster's checksum is %s, which kvault cannot compute; "
                "uploads are not checked against it", s->name, path, r->algorithm);
    else
        kv_debug("hdfs: %s%s: checksum %s not checked", s->name, path, r->algorithm);
}

/* Compares the reply with the expected value: the algorithm names must be
 * the same (else the block layout is not what kvault assumed: logged, not
 * compared) and the first `length` bytes equal; what follows them in
 * "bytes" is the DataOutputBuffer's padding. */
static int compare_checksum(const hdfs_store *s, const char *path, const hdfs_sum_reply *r,
                            const char *hex, const char *algorithm)
{
    size_t n = strlen(hex);
    if (strcmp(r->algorithm, algorithm) != 0 || (size_t)r->length * 2 != n) {
        kv_debug("hdfs: %s%s: checksum %s (%ld bytes) not comparable with %s; not checked",
                 s->name, path, r->algorithm, r->length, algorithm);
        return KV_OK;
    }
    if (strncasecmp(r->bytes, hex, n) != 0)
        return kv_seterr(KV_ECORRUPT, "%s%s: checksum mismatch: the cluster has %s %.*s, kvault "
                         "sent %s", s->name, path, r->algorithm, (int)n, r->bytes, hex);
    return KV_OK;
}

/* Checks a file written in one CREATE from buf: its length, and its
 * checksum. */
static int verify_single(hdfs_store *s, const char *path, const void *buf, size_t len)
{
    hdfs_status st;
    hdfs_sum_reply r;
    kv_hdfs_algo a;
    char hex[57], alg[96];
    int comparable;
    int rc = get_status(s, path, &st);
    if (rc)
        return rc;
    if (st.length != len)
        return kv_seterr(KV_ECORRUPT, "%s%s: %llu bytes sent but the file has %llu", s->name,
                         path, (unsigned long long)len, (unsigned long long)st.length);
    if (len == 0 || st.block_size == 0)
        return KV_OK; /* an empty file's checksum is a constant */
    rc = fetch_checksum(s, path, &r);
    if (rc)
        return rc;
    learn_algorithm(s, path, &r, &a, &comparable);
    if (!comparable)
        return KV_OK;
    rc = kv_hdfs_sum_single(buf, len, st.block_size, &a, hex, alg);
    return rc ? rc : compare_checksum(s, path, &r, hex, alg);
}

/* ---- writing ------------------------------------------------------------------- */

/* CREATEs path with the bytes (two steps: NameNode, then DataNode). Only
 * kvault's own temporary names are CREATEd, so overwrite=true is safe, and
 * makes a request that libcurl re-sends on a fresh connection (after a
 * kept-alive one died) harmless. */
static int create_file(hdfs_store *s, const char *path, const char *shown, const void *buf,
                       size_t len, uint64_t block_size)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char blocks[24];
    const kv_http_header q[] = {{.name = "overwrite", .value = "true"},
                                {.name = "blocksize", .value = blocks}};
    hdfs_call c = {.method = "PUT", .path = path, .op = "CREATE", .query = q,
                   .nquery = block_size ? 2 : 1, .body = buf ? buf : "", .body_len = len,
                   .shown = shown};
    int rc;
    snprintf(blocks, sizeof blocks, "%llu", (unsigned long long)block_size);
    rc = hdfs_do(s, &c, &resp);
    if (rc == KV_OK && resp.status != 201)
        rc = kv_seterr(KV_ETRANSIENT, "%s%s: CREATE answered HTTP %ld, expected 201 Created",
                       s->name, shown, resp.status);
    kv_http_resp_free(&resp);
    return rc;
}

static int delete_path(hdfs_store *s, const char *path)
{
    const kv_http_header q[] = {{.name = "recursive", .value = "false"}};
    hdfs_call c = {.method = "DELETE", .path = path, .op = "DELETE", .query = q, .nquery = 1};
    int deleted;
    return call_boolean(s, &c, &deleted);
}

static int rename_once(hdfs_store *s, const char *from, const char *to, int *done)
{
    const kv_http_header q[] = {{.name = "destination", .value = to}};
    hdfs_call c = {.method = "PUT", .path = from, .op = "RENAME", .query = q, .nquery = 1};
    return call_boolean(s, &c, done);
}

/* RENAMEs from onto to. RENAME neither overwrites (it answers false) nor
 * fails onto a directory (it moves from into it), so to is looked at first:
 * an existing file is DELETEd, a directory is an error. A false answer is
 * an error too. */
static int rename_into_place(hdfs_store *s, const char *from, const char *to)
{
    hdfs_status st;
    int done = 0;
    int rc = get_status(s, to, &st);
    if (rc == KV_OK && st.is_dir)
        return kv_seterr(KV_EEXIST, "%s%s: is a directory, so no object can have its name",
                         s->name, to);
    if (rc == KV_OK) {
        rc = delete_path(s, to);
    } else if (rc == KV_ENOTFOUND) {
        rc = KV_OK;
        kv_errclear();
    }
    if (rc == KV_OK)
        rc = rename_once(s, from, to, &done);
    if (rc == KV_OK && !done)
        rc = kv_seterr(KV_ERR, "%s%s: RENAME to %s answered false (the source is gone, or the "
                       "destination was created meanwhile)", s->name, from, to);
    return rc;
}

static char *temp_path(const char *dir, const char *base, const char *mark, const char *tag)
{
    char *out = NULL;
    if (asprintf(&out, "%s/.%s%s%s", dir, base, mark, tag) < 0)
        return NULL;
    return out;
}

static int hdfs_put(kv_store *st, const char *key, const void *buf, size_t len,
                    const kv_digest *digest)
{
    hdfs_store *s = (hdfs_store *)st;
    char *path = key_path(s, key), *dir = NULL, *base = NULL, *tmp = NULL, tag[17];
    int rc;
    (void)digest;
    if (!path)
        return kv_oom();
    rc = split_path(path, &dir, &base);
    if (rc == KV_OK)
        rc = kv_random_hex(tag, 16);
    if (rc == KV_OK && !(tmp = temp_path(dir, base, TMP_MARK, tag)))
        rc = kv_oom();
    if (rc == KV_OK)
        rc = create_file(s, tmp, path, buf, len, 0);
    if (rc == KV_OK && s->verify)
        rc = verify_single(s, tmp, buf, len);
    if (rc == KV_OK)
        rc = rename_into_place(s, tmp, path);
    if (rc && tmp) { /* even a failed CREATE may leave a truncated file */
        saved_err e;
        save_err(&e);
        delete_path(s, tmp);
        restore_err(rc, &e);
    }
    free(tmp);
    free(dir);
    free(base);
    free(path);
    return rc;
}

/* ---- reading ------------------------------------------------------------------- */

static int hdfs_stat(kv_store *st, const char *key, kv_object_info *out)
{
    hdfs_store *s = (hdfs_store *)st;
    char *path = key_path(s, key);
    hdfs_status fs;
    int rc;
    if (!path)
        return kv_oom();
    rc = get_status(s, path, &fs);
    if (rc == KV_OK && fs.is_dir)
        rc = kv_seterr(KV_ENOTFOUND, "%s%s: is a directory, not an object", s->name, path);
    if (rc == KV_OK) {
        memset(out, 0, sizeof *out);
        out->size = fs.length;
        out->mtime_unix = fs.mtime_ms / 1000;
    }
    free(path);
    return rc;
}

static int hdfs_get(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
                    size_t *got)
{
    hdfs_store *s = (hdfs_store *)st;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char offset[24], length[24], *path;
    const kv_http_header q[] = {{.name = "offset", .value = offset},
                                {.name = "length", .value = length}};
    int rc;

    *got = 0;
    if (len == 0) {
        kv_object_info info; /* nothing to read, but a missing key is still an error */
        return hdfs_stat(st, key, &info);
    }
    path = key_path(s, key);
    if (!path)
        return kv_oom();
    snprintf(offset, sizeof offset, "%llu", (unsigned long long)off);
    snprintf(length, sizeof length, "%zu", len);
    {
        hdfs_call c = {.method = "GET", .path = path, .op = "OPEN", .query = q, .nquery = 2,
                       .dst = buf, .dst_cap = len};
        rc = hdfs_do(s, &c, &resp);
    }
    if (rc == KV_OK)
        *got = resp.received;
    kv_http_resp_free(&resp);
    free(path);
    return rc;
}

/* ---- listing ------------------------------------------------------------------- */

typedef struct entry {
    char *raw;        /* the HDFS name */
    char *sort;       /* the key name; directories end in '/' */
    int is_dir;
    uint64_t size;
    int64_t mtime_ms;
} entry;

/* A directory's entries: the objects and directories (listing), or the
 * directories and kvault's temporary files (garbage). */
typedef struct entries {
    entry *v;
    size_t n, cap;
    const char *want; /* keep names (of temporaries: the names they are for)
                         that start with this (unescaped) */
    int hidden;       /* temporary files instead of objects */
} entries;

static void entries_free(entries *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].raw);
        free(e->v[i].sort);
    }
    free(e->v);
}

/* The name a temporary ".<name>.kvtmp-<rand>" or ".<name>.kvpart-<tag>-<n>"
 * was written for (cut in place), or NULL when name is not one. */
static const char *temp_target(char *name)
{
    char *mark = NULL;
    if (!is_hidden_name(name))
        return NULL;
    for (char *p = name; (p = strstr(p, TMP_MARK)); p++)
        mark = p;
    for (char *p = name; (p = strstr(p, PART_MARK)); p++)
        mark = p > mark ? p : mark;
    if (mark == name)
        return "";
    *mark = '\0';
    return name + 1;
}

/* Whether e keeps an entry (see entries), by its unescaped name. */
static int entry_wanted(const entries *e, const hdfs_status *st, char *name)
{
    int hidden = is_hidden_name(st->suffix);
    const char *match = name;
    if (!*st->suffix || (hidden && (!e->hidden || st->is_dir)) ||
        (e->hidden && !hidden && !st->is_dir))
        return 0; /* a file listed as itself, or not of the kind asked for */
    if (hidden)
        match = temp_target(name);
    return strncmp(match, e->want, strlen(e->want)) == 0;
}

static int entries_push(entries *e, const hdfs_status *st, const char *name)
{
    entry *x;
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 64;
        entry *v = realloc(e->v, cap * sizeof *v);
        if (!v)
            return kv_oom();
        e->v = v;
        e->cap = cap;
    }
    x = &e->v[e->n];
    *x = (entry){.raw = strdup(st->suffix), .is_dir = st->is_dir, .size = st->length,
                 .mtime_ms = st->mtime_ms};
    if (!x->raw || asprintf(&x->sort, "%s%s", name, st->is_dir ? "/" : "") < 0) {
        free(x->raw);
        return kv_oom();
    }
    e->n++;
    return KV_OK;
}

static int entries_add(entries *e, const hdfs_status *st)
{
    char *name = unescape_name(st->suffix), *probe = name ? strdup(name) : NULL;
    int rc = name && probe ? KV_OK : kv_oom();
    if (rc == KV_OK && entry_wanted(e, st, probe))
        rc = entries_push(e, st, name);
    free(probe);
    free(name);
    return rc;
}

static int add_statuses(const hdfs_store *s, const char *dir, json_t *array, entries *e,
                        const char **last, size_t *items)
{
    size_t i;
    json_t *fs;
    if (!json_is_array(array))
        return kv_seterr(KV_ETRANSIENT, "%s%s: listing reply has no FileStatus array", s->name,
                         dir);
    json_array_foreach(array, i, fs) {
        hdfs_status st;
        int rc;
        read_status(fs, &st);
        rc = entries_add(e, &st);
        if (rc)
            return rc;
        *last = st.suffix;
        (*items)++;
    }
    return KV_OK;
}

/* Whether a failed LISTSTATUS_BATCH means the server does not know the op
 * (Hadoop before 2.8 answers 400 IllegalArgumentException "No enum
 * constant ...", others UnsupportedOperationException). */
static int batch_unsupported(const hdfs_store *s, const kv_http_resp *resp)
{
    kv_svc_error e;
    if (resp->status != 400 && resp->status != 501)
        return 0;
    kv_svc_error_of(&s->dn, resp, &e);
    return strcmp(e.code, "UnsupportedOperationException") == 0 ||
           strstr(e.message, "LISTSTATUS_BATCH") || resp->status == 501;
}

/* The LISTSTATUS_BATCH pages of one directory (kv_pages). */
typedef struct dir_pages {
    hdfs_store *s;
    const char *dir;
    entries *e;
    int unsupported;      /* the server has no LISTSTATUS_BATCH */
} dir_pages;

/* Reads a LISTSTATUS_BATCH reply into d->e; *next is its last name while
 * entries remain. */
static int batch_reply(dir_pages *d, const kv_http_resp *resp, char **next, size_t *items)
{
    json_t *root = NULL, *dl, *list;
    const char *last = NULL;
    long remaining;
    int rc = parse_json(d->s, d->dir, resp, &root);
    if (rc)
        return rc;
    dl = json_object_get(root, "DirectoryListing");
    list = json_object_get(json_object_get(json_object_get(dl, "partialListing"),
                                           "FileStatuses"), "FileStatus");
    rc = add_statuses(d->s, d->dir, list, d->e, &last, items);
    remaining = (long)json_integer_value(json_object_get(dl, "remainingEntries"));
    if (rc == KV_OK && remaining > 0 && !last)
        rc = kv_seterr(KV_ETRANSIENT, "%s%s: empty listing page with %ld entries remaining",
                       d->s->name, d->dir, remaining);
    if (rc == KV_OK && remaining > 0 && !(*next = strdup(last)))
        rc = kv_oom();
    json_decref(root);
    return rc;
}

/* One LISTSTATUS_BATCH page after the name token (NULL = from the start). */
static int list_page(void *ctx, const char *token, char **next, size_t *items)
{
    dir_pages *d = ctx;
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    const kv_http_header q[] = {{.name = "startAfter", .value = token}};
    hdfs_call c = {.method = "GET", .path = d->dir, .op = "LISTSTATUS_BATCH", .query = q,
                   .nquery = token ? 1 : 0};
    int rc = hdfs_send(d->s, &c, &resp);
    if (rc == KV_OK && !token && batch_unsupported(d->s, &resp))
        d->unsupported = 1;
    else if (rc == KV_OK && (rc = hdfs_check(d->s, &c, &resp)) == KV_OK)
        rc = batch_reply(d, &resp, next, items);
    kv_http_resp_free(&resp);
    return rc;
}

static int list_whole(hdfs_store *s, const char *dir, entries *e)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    hdfs_call c = {.method = "GET", .path = dir, .op = "LISTSTATUS"};
    json_t *root = NULL;
    const char *last = NULL;
    size_t items = 0;
    int rc = hdfs_do(s, &c, &resp);
    if (rc == KV_OK)
        rc = parse_json(s, dir, &resp, &root);
    if (rc == KV_OK)
        rc = add_statuses(s, dir, json_object_get(json_object_get(root, "FileStatuses"),
                                                  "FileStatus"), e, &last, &items);
    json_decref(root);
    kv_http_resp_free(&resp);
    return rc;
}

/* Every entry of a directory: LISTSTATUS_BATCH pages, or LISTSTATUS where
 * the server has no batches. */
static int read_dir(hdfs_store *s, const char *dir, entries *e)
{
    dir_pages d = {.s = s, .dir = dir, .e = e};
    char what[1024];
    int rc;
    if (atomic_load(&s->no_batch))
        return list_whole(s, dir, e);
    snprintf(what, sizeof what, "%s%s", s->name, dir);
    rc = kv_pages(what, list_page, &d);
    if (rc == KV_OK && d.unsupported) {
        kv_debug("hdfs: %s has no LISTSTATUS_BATCH; listing with LISTSTATUS", s->name);
        atomic_store(&s->no_batch, 1);
        rc = list_whole(s, dir, e);
    }
    return rc;
}

static int by_sort_name(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->sort, ((const entry *)b)->sort);
}

/* A walk of the directories under a prefix, calling visit for each file of
 * the kind asked for (objects, or kvault's temporary files), in key order. */
typedef struct hdfs_walk {
    hdfs_store *s;
    int hidden;
    int (*visit)(struct hdfs_walk *w, const char *key, const char *path, const entry *x);
    void *arg;
} hdfs_walk;

static int walk_dir(hdfs_walk *w, const char *dir, const char *key_dir, const char *want);

/* One entry of a walk: a directory walked into, a file visited. */
static int walk_entry(hdfs_walk *w, const char *dir, const char *key_dir, const entry *x)
{
    char *key = NULL, *path = NULL;
    int rc = KV_OK;
    if (asprintf(&key, "%s%s", key_dir, x->sort) < 0 ||
        asprintf(&path, "%s/%s", dir, x->raw) < 0)
        rc = kv_oom();
    else if (x->is_dir)
        rc = walk_dir(w, path, key, "");
    else
        rc = w->visit(w, key, path, x);
    free(path);
    free(key);
    return rc;
}

/* Walks dir (HDFS path) whose keys start with key_dir ("" or "a/b/"),
 * keeping names that start with want, recursing into directories. Entries
 * are sorted as their keys sort, a directory as its name + '/'. */
static int walk_dir(hdfs_walk *w, const char *dir, const char *key_dir, const char *want)
{
    entries e = {.want = want, .hidden = w->hidden};
    int rc = read_dir(w->s, dir, &e);
    if (rc == KV_ENOTFOUND) {
        rc = KV_OK; /* nothing under a prefix whose directory does not exist */
        kv_errclear();
    }
    if (rc == KV_OK && e.n)
        qsort(e.v, e.n, sizeof *e.v, by_sort_name);
    for (size_t i = 0; rc == KV_OK && i < e.n; i++)
        rc = walk_entry(w, dir, key_dir, &e.v[i]);
    entries_free(&e);
    return rc;
}

/* Walks the directory of prefix's last '/' for names starting with the
 * rest. */
static int walk_prefix(hdfs_walk *w, const char *prefix)
{
    const char *slash = strrchr(prefix, '/');
    char *key_dir = strndup(prefix, slash ? (size_t)(slash - prefix + 1) : 0);
    kv_buf dir = KV_BUF_INIT;
    int rc;
    if (!key_dir)
        return kv_oom();
    if (kv_buf_puts(&dir, w->s->root) || kv_buf_puts(&dir, "/") || escape_key(key_dir, &dir))
        rc = kv_oom();
    else {
        while (dir.len > 1 && dir.data[dir.len - 1] == '/')
            dir.data[--dir.len] = '\0';
        rc = walk_dir(w, dir.data, key_dir, slash ? slash + 1 : prefix);
    }
    kv_buf_free(&dir);
    free(key_dir);
    return rc;
}

typedef struct list_arg {
    kv_list_cb cb;
    void *payload;
} list_arg;

static int list_visit(hdfs_walk *w, const char *key, const char *path, const entry *x)
{
    const list_arg *a = w->arg;
    kv_object_info info = {.size = x->size, .mtime_unix = x->mtime_ms / 1000};
    (void)path;
    return a->cb(key, &info, a->payload);
}

static int hdfs_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    list_arg a = {.cb = cb, .payload = payload};
    hdfs_walk w = {.s = (hdfs_store *)st, .visit = list_visit, .arg = &a};
    return walk_prefix(&w, prefix);
}

static int hdfs_remove(kv_store *st, const char *key)
{
    hdfs_store *s = (hdfs_store *)st;
    char *path = key_path(s, key);
    int rc;
    if (!path)
        return kv_oom();
    rc = delete_path(s, path);
    free(path);
    return rc;
}

/* ---- garbage: temporary and part files never renamed into place ------------------- */

typedef struct hdfs_garbage {
    hdfs_store *s;
    kv_garbage_args args;
    const char *path;     /* the file being taken */
} hdfs_garbage;

/* The key a temporary file's key "dir/.<name>.kvtmp-..." was written for
 * (malloc'd). */
static char *target_key(const char *key)
{
    char *out = strdup(key), *base;
    const char *name;
    if (!out)
        return NULL;
    base = strrchr(out, '/');
    base = base ? base + 1 : out;
    name = temp_target(base);
    memmove(base, name, strlen(name) + 1);
    return out;
}

static int drop_file(void *ctx)
{
    const hdfs_garbage *g = ctx;
    return delete_path(g->s, g->path);
}

/* A temporary file of the walk, its names checked first as a listing's
 * are. */
static int garbage_visit(hdfs_walk *w, const char *key, const char *path, const entry *x)
{
    hdfs_garbage *g = w->arg;
    char *target = target_key(key);
    kv_garbage_item item = {.key = target, .name = key, .size = x->size,
                            .mtime_unix = x->mtime_ms / 1000,
                            .kind = strstr(x->raw, TMP_MARK) ? "temporary file" : "part file"};
    int rc = target ? kv_listed_key_check(g->s->name, key, "") : kv_oom();
    if (rc == KV_OK)
        rc = kv_listed_key_check(g->s->name, target, g->args.prefix);
    g->path = path;
    if (rc == KV_OK)
        rc = kv_garbage_take(&g->args, &item, drop_file, g);
    free(target);
    return rc;
}

static int hdfs_garbage_collect(kv_store *st, const char *prefix, int64_t older_than_unix,
                                int dry_run, kv_garbage_cb cb, void *payload)
{
    hdfs_garbage g = {.s = (hdfs_store *)st,
                      .args = {.prefix = prefix, .older_than = older_than_unix,
                               .dry_run = dry_run, .cb = cb, .payload = payload}};
    hdfs_walk w = {.s = g.s, .hidden = 1, .visit = garbage_visit, .arg = &g};
    return walk_prefix(&w, prefix);
}

/* ---- multipart: part files, CONCAT, RENAME ---------------------------------------- */

static char *part_path(const kv_upload *up, uint32_t n)
{
    char tag[40];
    snprintf(tag, sizeof tag, "%s-%u", up->tag, n);
    return temp_path(up->dir, up->base, PART_MARK, tag);
}

static void upload_free(kv_upload *up)
{
    if (!up)
        return;
    free(up->path);
    free(up->dir);
    free(up->base);
    free(up->sums);
    free(up);
}

static int hdfs_upload_begin(kv_store *st, const char *key, uint64_t total_size,
                             uint64_t part_size, kv_upload **out)
{
    hdfs_store *s = (hdfs_store *)st;
    kv_upload *up = calloc(1, sizeof *up);
    int rc;
    if (!up)
        return kv_oom();
    up->s = s;
    up->total = total_size;
    up->part_size = part_size;
    up->nparts = total_size ? (uint32_t)((total_size + part_size - 1) / part_size) : 1;
    up->path = key_path(s, key);
    up->sums = calloc(up->nparts, sizeof *up->sums);
    rc = up->path && up->sums ? KV_OK : kv_oom();
    if (rc == KV_OK)
        rc = split_path(up->path, &up->dir, &up->base);
    if (rc == KV_OK)
        rc = kv_random_hex(up->tag, 16);
    if (rc == KV_OK && part_size % KV_HDFS_BYTES_PER_CRC)
        rc = kv_seterr(KV_EINVAL, "%s%s: part size %llu is not a multiple of %d bytes, as HDFS "
                       "block sizes must be", s->name, up->path, (unsigned long long)part_size,
                       KV_HDFS_BYTES_PER_CRC);
    if (rc) {
        upload_free(up);
        return rc;
    }
    *out = up;
    return KV_OK;
}

/* Each part is CREATEd with blocksize = the part size: one whole block. */
static int hdfs_upload_part(kv_upload *up, uint32_t n, uint64_t off, const void *buf,
                            size_t len, const kv_digest *digest)
{
    char *path;
    int rc;
    (void)off;
    if (n < 1 || n > up->nparts)
        return kv_seterr(KV_EINVAL, "%s%s: part %u of an upload of %u parts", up->s->name,
                         up->path, n, up->nparts);
    path = part_path(up, n);
    if (!path)
        return kv_oom();
    rc = create_file(up->s, path, up->path, buf, len, up->part_size);
    if (rc == KV_OK && up->s->verify)
        rc = kv_hdfs_sum_part(atomic_load(&up->s->sum_kind), buf, len,
                              digest ? &digest->crc32c : NULL, &up->sums[n - 1]);
    free(path);
    return rc;
}

/* How many parts part 1 already holds (a retried complete resumes after
 * the CONCATs that went through): its length says. */
static int parts_merged(kv_upload *up, const char *first, uint32_t *merged)
{
    hdfs_status st;
    int rc = get_status(up->s, first, &st);
    if (rc)
        return rc;
    if (st.length >= up->total || up->nparts == 1)
        *merged = up->nparts;
    else
        *merged = (uint32_t)(st.length / up->part_size);
    return KV_OK;
}

/* CONCATs parts from..to (inclusive) into part 1. */
static int concat_parts(kv_upload *up, const char *first, uint32_t from, uint32_t to)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    kv_buf sources = KV_BUF_INIT;
    int rc = KV_OK;
    for (uint32_t n = from; rc == KV_OK && n <= to; n++) {
        char *p = part_path(up, n);
        if (!p || (n > from && kv_buf_puts(&sources, ",")) || kv_buf_puts(&sources, p))
            rc = kv_oom();
        free(p);
    }
    if (rc == KV_OK) {
        const kv_http_header q[] = {{.name = "sources", .value = sources.data}};
        hdfs_call c = {.method = "POST", .path = first, .op = "CONCAT", .query = q,
                       .nquery = 1};
        rc = hdfs_do(up->s, &c, &resp);
    }
    kv_http_resp_free(&resp);
    kv_buf_free(&sources);
    return rc;
}

static int verify_upload(kv_upload *up, const char *path)
{
    hdfs_sum_reply r;
    kv_hdfs_algo a;
    char hex[57], alg[96];
    int comparable, rc;
    if (!up->s->verify || up->total == 0)
        return KV_OK;
    rc = fetch_checksum(up->s, path, &r);
    if (rc)
        return rc;
    learn_algorithm(up->s, path, &r, &a, &comparable);
    if (!comparable)
        return KV_OK;
    if (!kv_hdfs_sum_parts_have(up->sums, up->nparts, &a)) {
        kv_debug("hdfs: %s%s: parts were summed for another checksum than %s; not checked",
                 up->s->name, path, r.algorithm);
        return KV_OK;
    }
    rc = kv_hdfs_sum_parts(up->sums, up->nparts, up->part_size, up->total, &a, hex, alg);
    return rc ? rc : compare_checksum(up->s, path, &r, hex, alg);
}

/* After a complete whose reply was lost and is now retried: part 1 is
 * gone and the object is in place with the whole length. */
static int completed_before(kv_upload *up)
{
    hdfs_status st;
    saved_err e;
    int done;
    save_err(&e);
    done = get_status(up->s, up->path, &st) == KV_OK && !st.is_dir && st.length == up->total;
    restore_err(KV_OK, &e);
    if (done)
        kv_info("%s%s: an earlier attempt to complete the upload succeeded", up->s->name,
                up->path);
    return done;
}

static int hdfs_upload_complete(kv_upload *up)
{
    char *first = part_path(up, 1);
    uint32_t merged = 1;
    int rc = first ? parts_merged(up, first, &merged) : kv_oom();
    if (rc == KV_ENOTFOUND && completed_before(up)) {
        free(first);
        upload_free(up);
        return KV_OK;
    }
    while (rc == KV_OK && merged < up->nparts) {
        uint32_t to = merged + CONCAT_BATCH < up->nparts ? merged + CONCAT_BATCH : up->nparts;
        rc = concat_parts(up, first, merged + 1, to);
        if (rc == KV_OK)
            merged = to;
    }
    if (rc == KV_OK)
        rc = verify_upload(up, first);
    if (rc == KV_OK)
        rc = rename_into_place(up->s, first, up->path);
    free(first);
    if (rc == KV_OK)
        upload_free(up);
    return rc;
}

static void hdfs_upload_abort(kv_upload *up)
{
    saved_err e;
    save_err(&e);
    for (uint32_t n = 1; n <= up->nparts; n++) {
        char *p = part_path(up, n);
        if (p)
            delete_path(up->s, p);
        free(p);
    }
    restore_err(KV_OK, &e);
    upload_free(up);
}

/* ---- open/close ------------------------------------------------------------------ */

/* ---- where the NameNodes are: the URL, or HADOOP_CONF_DIR ------------------------ */

/* The Hadoop configuration in HADOOP_CONF_DIR, or NULL when it is not set. */
static int load_conf(const kv_store_opts *o, kv_hadoop_conf **conf)
{
    static const char *const files[] = {"core-site.xml", "hdfs-site.xml", NULL};
    const char *dir = kv_opt_str(o, "HADOOP_CONF_DIR");
    *conf = NULL;
    return dir ? kv_hadoop_conf_load(dir, files, conf) : KV_OK;
}

/* ---- credentials ------------------------------------------------------------------ */

static const char *const token_kinds[] = {"HDFS_DELEGATION_TOKEN", "WEBHDFS delegation",
                                          "SWEBHDFS delegation", NULL};

/* Whether a token's service names this cluster, at one of three levels
 * tried in turn: 0, "ha-<scheme>:<ns>" for a nameservice
 * (HAUtilClient.buildTokenServiceForLogicalUri: the only service Hadoop's
 * selectors accept for a logical URI); 1, a NameNode's host:port
 * (SecurityUtil.buildTokenService); 2, a NameNode's host with another port
 * (kvault's addition: a token fetched over RPC, port 8020, is as good over
 * HTTP). */
static int token_matches(const hdfs_store *s, const char *ns, const char *service, int level)
{
    static const char *const prefixes[] = {"ha-hdfs:", "ha-webhdfs:", "ha-swebhdfs:", NULL};
    for (int i = 0; level == 0 && ns && prefixes[i]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(service, prefixes[i], n) == 0 && strcmp(service + n, ns) == 0)
            return 1;
    }
    for (size_t i = 0; level > 0 && i < s->nnn; i++) {
        const char *hostport = strstr(s->nns[i], "://") + 3;
        size_t host = strcspn(hostport, ":"), shost = strcspn(service, ":");
        if (level == 1 ? strcmp(hostport, service) == 0
                       : host == shost && strncmp(hostport, service, host) == 0)
            return 1;
    }
    return 0;
}

/* The delegation token for this cluster from HADOOP_TOKEN_FILE_LOCATION
 * (a Hadoop Credentials file), as its URL string; *out NULL when the
 * variable is unset or no token fits (then other credentials are used, as
 * Hadoop's token selectors do). */
static int token_from_file(const hdfs_store *s, const kv_store_opts *o, const char *ns,
                           char **out)
{
    const char *path = kv_opt_str(o, "HADOOP_TOKEN_FILE_LOCATION");
    kv_hadoop_token *t = NULL;
    size_t n = 0;
    int rc = path ? kv_hadoop_tokens_read(path, &t, &n) : KV_OK;
    *out = NULL;
    for (int level = 0; rc == KV_OK && level < 3 && !*out; level++)
        for (size_t i = 0; i < n && !*out; i++)
            if (is_name(t[i].kind, token_kinds) && token_matches(s, ns, t[i].service, level)) {
                kv_debug("hdfs: %s: delegation token '%s' (%s, service %s) from %s", s->name,
                         t[i].alias, t[i].kind, t[i].service, path);
                if (!(*out = strdup(t[i].url_string)))
                    rc = kv_oom();
            }
    if (rc == KV_OK && path && !*out)
        kv_debug("hdfs: %s: %s holds no HDFS delegation token for this cluster", s->name, path);
    kv_hadoop_tokens_free(t, n);
    return rc;
}

/* How requests say who they are: KVAULT_HDFS_DELEGATION, else a token from
 * HADOOP_TOKEN_FILE_LOCATION, else user.name=HADOOP_USER_NAME (or the OS
 * user). */
static int load_user(hdfs_store *s, const kv_store_opts *o, const char *ns)
{
    const char *user = kv_opt_str(o, "HADOOP_USER_NAME");
    char pwbuf[1024], *token = NULL, *enc;
    struct passwd pw, *found = NULL;
    int rc = KV_OK;
    if (kv_opt_str(o, "KVAULT_HDFS_DELEGATION"))
        token = strdup(kv_opt_str(o, "KVAULT_HDFS_DELEGATION"));
    else
        rc = token_from_file(s, o, ns, &token);
    if (rc == KV_OK && !token && !user) {
        if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof pwbuf, &found) != 0 || !found)
            rc = kv_seterr(KV_EAUTH, "%s: no HDFS user: set HADOOP_USER_NAME (uid %u has no "
                           "name)", s->name, (unsigned)geteuid());
        else
            user = found->pw_name;
    }
    if (rc == KV_OK) {
        enc = kv_url_encode(token ? token : user, 0);
        if (!enc || asprintf(&s->auth, "%s=%s", token ? "delegation" : "user.name", enc) < 0)
            rc = kv_oom();
        kv_secret_free(enc);
    }
    kv_secret_free(token);
    return rc;
}

static int load_rewrite(hdfs_store *s, const kv_store_opts *o)
{
    const char *v = kv_opt_str(o, "KVAULT_HDFS_DATANODE_REWRITE");
    const char *eq = v ? strchr(v, '=') : NULL;
    if (!v)
        return KV_OK;
    if (!eq || eq == v || !eq[1])
        return kv_seterr(KV_EINVAL, "KVAULT_HDFS_DATANODE_REWRITE='%s': expected "
                         "FROM_HOST:PORT=TO_HOST:PORT", v);
    s->dn_from = strndup(v, (size_t)(eq - v));
    s->dn_to = strdup(eq + 1);
    return s->dn_from && s->dn_to ? KV_OK : kv_oom();
}

static void hdfs_close(kv_store *st)
{
    hdfs_store *s = (hdfs_store *)st;
    if (!s)
        return;
    kv_http_free(s->http);
    for (size_t i = 0; i < s->nnn; i++)
        free(s->nns[i]);
    free(s->nns);
    free(s->nn);
    free(s->name);
    free(s->root);
    kv_secret_free(s->auth);
    free(s->dn_from);
    free(s->dn_to);
    free(s);
}

/* Hadoop's own switch, as a shell that sources hadoop-env.sh may carry it. */
static int kerberos_configured(const kv_store_opts *o)
{
    const char *v = kv_opt_str(o, "HADOOP_SECURITY_AUTHENTICATION");
    return v && strcasecmp(v, "kerberos") == 0;
}

/* Where the NameNodes are and who kvault is to them. */
static int locate(hdfs_store *s, const kv_store_opts *o, const kv_url *url)
{
    kv_hadoop_conf *conf = NULL;
    kv_hadoop_nns found;
    int rc = load_conf(o, &conf);
    if (rc == KV_OK)
        rc = kv_hadoop_namenodes(url, conf, &found);
    kv_hadoop_conf_free(conf);
    if (rc)
        return rc;
    s->nns = found.origins;
    s->nnn = found.n;
    s->name = found.name;
    rc = load_user(s, o, found.ns);
    if (rc == KV_OK && s->nnn > 1)
        kv_debug("hdfs: %s: %zu NameNodes, %s first", s->name, s->nnn, s->nns[0]);
    free(found.ns);
    return rc;
}

/* The request path: a service per NameNode (authorized with user.name= or
 * delegation=), and the DataNode step's (whole URLs, no authorize); both
 * read RemoteExceptions and tell what a Kerberos refusal means. */
static int make_services(hdfs_store *s)
{
    kv_service base = {
        .http = s->http, .base_path = "/webhdfs/v1", .name = s->name,
        .auth = {.rules = s->kerberos ? kerberos_on_rules : kerberos_off_rules},
        .parse_error = hdfs_parse_error, .rules = hdfs_rules,
    };
    s->nn = calloc(s->nnn, sizeof *s->nn);
    if (!s->nn)
        return kv_oom();
    s->dn = base;
    base.auth.authorize = hdfs_authorize;
    base.auth.ctx = s;
    for (size_t i = 0; i < s->nnn; i++) {
        s->nn[i] = base;
        s->nn[i].origin = s->nns[i];
    }
    return KV_OK;
}

static int hdfs_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    hdfs_store *s = calloc(1, sizeof *s);
    int rc;

    *out = NULL;
    if (!s)
        return kv_oom();
    if (asprintf(&s->root, "%s%s", *url->path ? "/" : "", url->path) < 0) {
        free(s);
        return kv_oom();
    }
    s->httpfs = kv_opt_flag(opts, "KVAULT_HDFS_HTTPFS", 0);
    s->kerberos = kv_opt_flag(opts, "KVAULT_HDFS_KERBEROS", 0) || kerberos_configured(opts);
    s->verify = kv_opt_flag(opts, "KVAULT_HDFS_CHECKSUM", 1);
    rc = locate(s, opts, url);
    if (rc == KV_OK)
        rc = load_rewrite(s, opts);
    /* HTTPS NameNodes and DataNodes are verified with the store's CA file,
     * KVAULT_HDFS_CA_FILE, SSL_CERT_FILE or CURL_CA_BUNDLE */
    if (rc == KV_OK)
        rc = kv_store_http_new(opts, "KVAULT_HDFS_CA_FILE", s->kerberos, &s->http);
    if (rc == KV_OK)
        rc = make_services(s);
    if (rc)
        goto out;
    kv_debug("hdfs: %s root '%s'%s, checksums %s", s->name, s->root,
             s->httpfs ? " via HttpFS" : "", s->verify ? "compared" : "not compared");
    *out = &s->base;
out:
    if (rc)
        hdfs_close(&s->base);
    return rc;
}

/* The same backend under WebHDFS's schemes (swebhdfs: HTTPS). */
#define HDFS_OPS(scheme_name)                                   \
    {                                                           \
        .version = KV_STORE_OPS_VERSION,                        \
        .scheme = scheme_name,                                  \
        .caps = KV_CAP_MULTIPART | KV_CAP_RANGE_GET |           \
                KV_CAP_FEW_LARGE_FILES,                         \
        .min_part = HDFS_MIN_PART,                              \
        .max_part = HDFS_MAX_PART,                              \
        .max_parts = HDFS_MAX_PARTS,                            \
        .open = hdfs_open,                                      \
        .put = hdfs_put,                                        \
        .get = hdfs_get,                                        \
        .stat = hdfs_stat,                                      \
        .list = hdfs_list,                                      \
        .remove = hdfs_remove,                                  \
        .upload_begin = hdfs_upload_begin,                      \
        .upload_part = hdfs_upload_part,                        \
        .upload_complete = hdfs_upload_complete,                \
        .upload_abort = hdfs_upload_abort,                      \
        .sync = NULL,                                           \
        .close = hdfs_close,                                    \
        .garbage = hdfs_garbage_collect,                        \
    }

const kv_store_ops kv_hdfs_ops = HDFS_OPS("hdfs");
const kv_store_ops kv_webhdfs_ops = HDFS_OPS("webhdfs");
const kv_store_ops kv_swebhdfs_ops = HDFS_OPS("swebhdfs");
