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
 * CREATE, APPEND and OPEN are two steps: the NameNode answers 307 with a
 * DataNode Location that is followed by hand (optionally rewritten for
 * clusters behind NAT). The NameNode step fails over between the
 * nameservice's NameNodes (HADOOP_CONF_DIR). After a put or complete, the
 * file's GETFILECHECKSUM (MD5-of-MD5-of-CRC32C/CRC32, or COMPOSITE-CRC) is
 * compared with the same value computed here from the bytes sent. */
#include <errno.h>
#include <isa-l/crc.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http/http.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "store/hdfs_conf.h"
#include "store/hdfs_token.h"
#include "util/log.h"
#include "util/random.h"
#include "util/secret.h"

#define MIB (1024ull * 1024ull)
/* dfs.namenode.fs-limits.min-block-size: the smallest block (= part) a
 * NameNode accepts by default */
#define HDFS_MIN_PART (1 * MIB)
#define HDFS_MAX_PART (1024 * MIB)
#define HDFS_MAX_PARTS 10000
#define BYTES_PER_CRC 512
#define CONCAT_BATCH 64        /* sources per CONCAT request */
#define TMP_MARK ".kvtmp-"
#define PART_MARK ".kvpart-"

typedef struct hdfs_store {
    kv_store base;
    kv_http *http;
    char **nns;           /* NameNode origins ("http://nn1:9870"), config order */
    size_t nnn;
    atomic_int active;    /* index of the NameNode that last answered */
    char *name;           /* "hdfs://namenode:9870" or "hdfs://ns", for messages */
    char *root;           /* HDFS path of the store root: "" or "/a/b" */
    char *auth;           /* "user.name=..." or "delegation=...", encoded */
    char *dn_from, *dn_to; /* KVAULT_HDFS_DATANODE_REWRITE */
    int httpfs;           /* KVAULT_HDFS_HTTPFS: data=true, one request */
    int kerberos;         /* SPNEGO through libcurl (KVAULT_HDFS_KERBEROS) */
    int verify;           /* KVAULT_HDFS_CHECKSUM (default on) */
    atomic_int no_batch;  /* the server has no LISTSTATUS_BATCH */
    atomic_int sum_kind;  /* the cluster's checksum kind, LEARNED(); 0 unknown */
    atomic_int told_other; /* an uncomputable checksum kind was logged */
} hdfs_store;

struct kv_upload {
    hdfs_store *s;
    char *path;           /* final HDFS path */
    char *dir, *base;     /* its directory and (escaped) name */
    char tag[17];
    uint64_t total, part_size;
    uint32_t nparts;
    struct part_sum *sums; /* each part's share of the checksum, for verify */
};

/* One request to the NameNode. */
typedef struct hdfs_call {
    const char *method;
    const char *path;      /* HDFS path */
    const char *op;
    const char *query;     /* more "&k=v" parameters, encoded; may be NULL */
    const void *body;      /* data for CREATE/APPEND (sent to the DataNode) */
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

static int is_hidden_name(const char *name)
{
    return name[0] == '.' && (strstr(name, TMP_MARK) || strstr(name, PART_MARK));
}

/* ---- errors ------------------------------------------------------------------ */

static int is_name(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* store.h's mapping for a RemoteException (or, without one, the status).
 * kvault CREATEs only its own temporary names, so another writer's lease on
 * one (AlreadyBeingCreatedException) is an earlier attempt of ours whose
 * connection died and whose file the DataNode is still closing: retried. */
static int code_for(long http, const char *exception)
{
    static const char *const transient[] = {"StandbyException", "RetriableException",
                                            "SafeModeException", "ObserverRetryOnActiveException",
                                            "RecoveryInProgressException",
                                            "AlreadyBeingCreatedException", NULL};
    static const char *const auth[] = {"AccessControlException", "SecurityException",
                                       "AuthorizationException", "InvalidToken", NULL};
    if (is_name(exception, transient))
        return KV_ETRANSIENT;
    if (is_name(exception, auth))
        return KV_EAUTH;
    if (strcmp(exception, "FileAlreadyExistsException") == 0)
        return KV_EEXIST;
    if (strcmp(exception, "FileNotFoundException") == 0)
        return KV_ENOTFOUND;
    /* unlike the object stores, WebHDFS answers 403 for any IOException (a
     * denied permission has its own name, mapped above): kept KV_ERR, as 412 */
    if (http == 403 || http == 412)
        return KV_ERR;
    return kv_http_status_code(http);
}

/* Reads {"RemoteException":{"exception","message"}} or, for bodies that are
 * not JSON (an HttpFS filter's HTML page), the text itself. */
static void remote_exception(const kv_buf *body, char *exc, size_t nexc, char *msg, size_t nmsg)
{
    json_t *root = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
    json_t *re = json_object_get(root, "RemoteException");
    const char *e = json_string_value(json_object_get(re, "exception"));
    const char *m = json_string_value(json_object_get(re, "message"));
    size_t n = 0;
    snprintf(exc, nexc, "%s", e ? e : "");
    if (re) {
        snprintf(msg, nmsg, "%s", m ? m : "");
    } else {
        /* the text of an error page, tags and runs of spaces dropped */
        int in_tag = 0, space = 0;
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
    json_decref(root);
}

/* "hdfs://nn:port/path: Exception: message (HTTP nnn)" for an error reply. */
/* A secure cluster's answer to a request without valid SPNEGO credentials. */
static const char *kerberos_hint(const hdfs_store *s, const kv_http_resp *resp)
{
    const char *www = kv_http_resp_header(resp, "WWW-Authenticate");
    if (resp->status != 401 || !www || strncasecmp(www, "Negotiate", 9) != 0)
        return "";
    return s->kerberos ? "; the cluster did not accept kvault's Kerberos credentials: "
                         "check `klist` (run kinit for a ticket, or set KRB5CCNAME)"
                       : "; the cluster requires Kerberos: run kinit and set "
                         "KVAULT_HDFS_KERBEROS=1";
}

static int hdfs_fail(const hdfs_store *s, const char *path, const kv_http_resp *resp)
{
    char exc[128], msg[768];
    remote_exception(&resp->body, exc, sizeof exc, msg, sizeof msg);
    return kv_seterr(code_for(resp->status, exc), "%s%s: %s%s%s (HTTP %ld)%s", s->name, path,
                     *exc ? exc : "HTTP error", *msg ? ": " : "", msg, resp->status,
                     kerberos_hint(s, resp));
}

static int hdfs_check(const hdfs_store *s, const char *path, const kv_http_resp *resp)
{
    if (resp->status >= 200 && resp->status < 300)
        return KV_OK;
    return hdfs_fail(s, path, resp);
}

/* ---- requests ------------------------------------------------------------------ */

static int build_url(const hdfs_store *s, const char *origin, const hdfs_call *c, kv_buf *url)
{
    char *enc = kv_url_encode(*c->path ? c->path : "/", 1);
    int rc;
    if (!enc)
        return kv_oom();
    rc = kv_buf_printf(url, "%s/webhdfs/v1%s?op=%s&%s%s%s", origin, enc, c->op, s->auth,
                       c->query ? c->query : "",
                       s->httpfs && c->body ? "&data=true" : "");
    free(enc);
    return rc ? kv_oom() : KV_OK;
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

static int send_once(hdfs_store *s, const char *method, const char *url, const void *body,
                     size_t body_len, int with_body, const hdfs_call *c, kv_http_resp *resp)
{
    kv_http_header hs[1] = {{"Content-Type", "application/octet-stream"}};
    kv_http_req req = {method, url, hs, with_body ? 1 : 0, body, body_len, c->dst,
                       c->dst_cap, 0, 0};
    return kv_http_do(s->http, &req, resp);
}

/* A NameNode's answer that another NameNode of the nameservice should be
 * asked instead (StandbyException, 403). */
static int is_standby(const kv_http_resp *resp)
{
    char exc[64], msg[8];
    if (resp->status != 403)
        return 0;
    remote_exception(&resp->body, exc, sizeof exc, msg, sizeof msg);
    return strcmp(exc, "StandbyException") == 0;
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
        kv_buf url = KV_BUF_INIT;
        int last = i + 1 == s->nnn, standby;
        rc = build_url(s, s->nns[k], c, &url);
        if (rc == KV_OK)
            rc = send_once(s, c->method, url.data, direct ? c->body : NULL,
                           direct ? c->body_len : 0, direct, c, resp);
        kv_buf_free(&url);
        standby = rc == KV_OK && is_standby(resp);
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

/* Sends a call and follows one redirect by hand (CREATE/APPEND/OPEN/
 * GETFILECHECKSUM), sending the body only to the DataNode, as Hadoop's
 * clients do. KV_OK when a final reply arrived; the status is not checked.
 * Only the NameNode's step fails over: WebHdfsFileSystem retries nothing
 * once redirected (checkRetry = !redirected). */
static int hdfs_send(hdfs_store *s, const hdfs_call *c, kv_http_resp *resp)
{
    kv_buf dn = KV_BUF_INIT;
    const char *loc;
    int direct = s->httpfs && c->body;
    int rc = send_namenode(s, c, direct, resp);
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
        rc = send_once(s, c->method, dn.data, c->body, c->body_len, c->body != NULL, c, resp);
out:
    kv_buf_free(&dn);
    return rc;
}

/* Sends a call and maps an error reply. */
static int hdfs_do(hdfs_store *s, const hdfs_call *c, kv_http_resp *resp)
{
    int rc = hdfs_send(s, c, resp);
    return rc ? rc : hdfs_check(s, c->shown ? c->shown : c->path, resp);
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
    hdfs_call c = {"GET", path, "GETFILESTATUS", NULL, NULL, 0, NULL, 0};
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

/* What a cluster's GETFILECHECKSUM reports (docs/hdfs.md "Checksums"): the
 * per-chunk CRC is CRC32C or CRC32 (dfs.checksum.type), combined either as
 * MD5-of-MD5-of-CRC (the DataNode's WebHDFS always; HttpFS by default) or as
 * COMPOSITE-CRC (HttpFS with dfs.checksum.combine.mode=COMPOSITE_CRC). */
enum { CRC_C = 0, CRC_Z = 1 };                 /* CRC32C, CRC32 (gzip) */
enum { SUM_UNKNOWN = 0, SUM_MD5, SUM_COMPOSITE, SUM_OTHER };

typedef struct hdfs_algo {
    int kind;               /* SUM_MD5, SUM_COMPOSITE or SUM_OTHER */
    int crc;                /* CRC_C or CRC_Z */
    unsigned bytes_per_crc; /* SUM_MD5 */
} hdfs_algo;

/* A GETFILECHECKSUM reply. */
typedef struct hdfs_sum_reply {
    char algorithm[96];
    char bytes[260];        /* hex; may be longer than 2 * length (padding) */
    long length;            /* meaningful bytes */
} hdfs_sum_reply;

/* The cluster's kind as remembered in hdfs_store.sum_kind: 0 unknown. */
#define LEARNED(kind, crc) ((kind) == SUM_OTHER ? 1 : (kind) * 2 + (crc))

/* What a part contributes to its file's checksum, for each way the cluster
 * may report it. Only the cluster's way is computed once it is known (from
 * an earlier reply); every way until then. */
typedef struct part_sum {
    unsigned char md5[2][16]; /* block MD5 of the CRC32C / CRC32 chunks */
    uint32_t crc[2];          /* CRC32C / CRC32 of the part */
    unsigned have;            /* HAVE_MD5(crc) | HAVE_CRC(crc) */
} part_sum;
#define HAVE_MD5(crc) (1u << (crc))
#define HAVE_CRC(crc) (4u << (crc))

/* Reads MD5MD5CRC32FileChecksum.getAlgorithmName ("MD5-of-<n>MD5-of-<bpc>
 * CRC32C") and CompositeCrcFileChecksum's ("COMPOSITE-CRC32C"). */
static void parse_algorithm(const char *alg, hdfs_algo *a)
{
    char type[16] = "";
    unsigned long long cpb;
    int end = 0;
    memset(a, 0, sizeof *a);
    a->kind = SUM_OTHER;
    if (sscanf(alg, "MD5-of-%lluMD5-of-%u%15[A-Z0-9]%n", &cpb, &a->bytes_per_crc, type, &end) == 3 &&
        alg[end] == '\0' && a->bytes_per_crc > 0)
        a->kind = SUM_MD5;
    else if (strncmp(alg, "COMPOSITE-", 10) == 0 && strlen(alg + 10) < sizeof type) {
        a->kind = SUM_COMPOSITE;
        memcpy(type, alg + 10, strlen(alg + 10) + 1);
    }
    if (strcmp(type, "CRC32C") == 0)
        a->crc = CRC_C;
    else if (strcmp(type, "CRC32") == 0)
        a->crc = CRC_Z;
    else
        a->kind = SUM_OTHER;
}

static const char *crc_name(int crc)
{
    return crc == CRC_C ? "CRC32C" : "CRC32";
}

/* Extends a standard CRC32C or CRC32 (zlib's) over buf; 0 starts. */
static uint32_t crc_update(int crc, uint32_t v, const void *buf, size_t len)
{
    return crc == CRC_C ? kv_crc32c(v, buf, len) : crc32_gzip_refl(v, buf, len);
}

/* CrcUtil.galoisFieldMultiply: polynomials reflected, the top bit x^0. */
static uint32_t gf_multiply(uint32_t p, uint32_t q, uint32_t m)
{
    uint32_t sum = 0, px = p;
    for (uint32_t term = 1u << 31; term; term >>= 1) {
        uint32_t high = px & 1;
        if (q & term)
            sum ^= px;
        px = high ? (px >> 1) ^ m : px >> 1;
    }
    return sum;
}

/* CrcUtil.composeWithMonomial(crcA, crcB, getMonomial(lenB)): the CRC of
 * A||B, as CrcComposer joins block CRCs into COMPOSITE-CRC. */
static uint32_t crc_compose(int crc, uint32_t a, uint32_t b, uint64_t len_b)
{
    uint32_t m = crc == CRC_C ? 0x82f63b78u : 0xedb88320u;
    uint32_t mono = 1u << 31, x = 1u << 23; /* x^0 and x^8 */
    for (uint64_t d = len_b; d; d >>= 1) {
        if (d & 1)
            mono = gf_multiply(mono, x, m);
        x = gf_multiply(x, x, m);
    }
    return gf_multiply(a, mono, m) ^ b;
}

/* A block's MD5MD5CRC checksum as a DataNode computes it: MD5 over the
 * big-endian CRC of every bytes_per_crc bytes of the block. */
static int block_md5(int crc, unsigned bytes_per_crc, const void *buf, size_t len,
                     unsigned char out[16])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const unsigned char *p = buf;
    unsigned char crcs[4 * 256];
    size_t n = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
    for (size_t off = 0; ok && off < len; off += bytes_per_crc) {
        size_t chunk = len - off < bytes_per_crc ? len - off : bytes_per_crc;
        uint32_t v = crc_update(crc, 0, p + off, chunk);
        crcs[n++] = (unsigned char)(v >> 24);
        crcs[n++] = (unsigned char)(v >> 16);
        crcs[n++] = (unsigned char)(v >> 8);
        crcs[n++] = (unsigned char)v;
        if (n == sizeof crcs) {
            ok = EVP_DigestUpdate(ctx, crcs, n);
            n = 0;
        }
    }
    ok = ok && EVP_DigestUpdate(ctx, crcs, n) && EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_CTX_free(ctx);
    return ok ? KV_OK : kv_seterr(KV_ERR, "hdfs: MD5 failed");
}

/* The file checksum from its block MD5s, as FileChecksumHelper.
 * makeMd5CrcResult makes it: MD5 over DataOutputBuffer.getData(), i.e. the
 * whole backing array (32 bytes, doubled as needed) with its unused tail
 * zero. Writes the hex of the 28 bytes of MD5MD5CRC32FileChecksum.write
 * (int bytesPerCRC, long crcPerBlock, MD5) and the algorithm name. */
static int md5_file_checksum(unsigned char (*md5s)[16], uint32_t nblocks, uint64_t first_block,
                             const hdfs_algo *a, char hex[57], char algorithm[96])
{
    size_t used = (size_t)nblocks * 16, cap = 32;
    unsigned char *data, raw[28];
    unsigned bpc = a->bytes_per_crc;
    uint64_t crc_per_block = nblocks > 1 ? (first_block + bpc - 1) / bpc : 0;
    unsigned int md_len = 0;
    while (cap < used)
        cap *= 2;
    data = calloc(1, cap);
    if (!data)
        return kv_oom();
    memcpy(data, md5s, used);
    for (int i = 0; i < 4; i++)
        raw[i] = (unsigned char)(bpc >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        raw[4 + i] = (unsigned char)(crc_per_block >> (56 - 8 * i));
    if (!EVP_Digest(data, cap, raw + 12, &md_len, EVP_md5(), NULL)) {
        free(data);
        return kv_seterr(KV_ERR, "hdfs: MD5 failed");
    }
    free(data);
    for (int i = 0; i < 28; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    snprintf(algorithm, 96, "MD5-of-%lluMD5-of-%u%s", (unsigned long long)crc_per_block, bpc,
             crc_name(a->crc));
    return KV_OK;
}

/* CompositeCrcFileChecksum: 4 bytes (CrcUtil.intToBytes), "COMPOSITE-" +
 * the CRC type. */
static void composite_checksum(uint32_t crc, const hdfs_algo *a, char hex[57],
                               char algorithm[96])
{
    snprintf(hex, 57, "%08x", crc);
    snprintf(algorithm, 96, "COMPOSITE-%s", crc_name(a->crc));
}

/* A part's share of the checksum (see part_sum); the transfer layer's
 * CRC32C of the part is used when it is there. */
static int part_sums(hdfs_store *s, const void *buf, size_t len, const kv_digest *digest,
                     part_sum *ps)
{
    int known = atomic_load(&s->sum_kind), rc = KV_OK;
    for (int c = CRC_C; c <= CRC_Z && rc == KV_OK; c++) {
        if (known == SUM_UNKNOWN || known == LEARNED(SUM_MD5, c)) {
            rc = block_md5(c, BYTES_PER_CRC, buf, len, ps->md5[c]);
            ps->have |= HAVE_MD5(c);
        }
        if (known == SUM_UNKNOWN || known == LEARNED(SUM_COMPOSITE, c)) {
            ps->crc[c] = c == CRC_C && digest ? digest->crc32c : crc_update(c, 0, buf, len);
            ps->have |= HAVE_CRC(c);
        }
    }
    return rc;
}

/* GETFILECHECKSUM of path (the NameNode redirects it to a DataNode). */
static int fetch_checksum(hdfs_store *s, const char *path, hdfs_sum_reply *out)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    hdfs_call c = {"GET", path, "GETFILECHECKSUM", NULL, NULL, 0, NULL, 0};
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
                            hdfs_algo *a, int *comparable)
{
    parse_algorithm(r->algorithm, a);
    *comparable = a->kind != SUM_OTHER;
    atomic_store(&s->sum_kind, LEARNED(a->kind, a->crc));
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

/* The expected checksum of a file written in one CREATE from buf, computed
 * for the algorithm the cluster reports and the block size the file got. */
static int expected_single(const void *buf, size_t len, uint64_t block_size, const hdfs_algo *a,
                           char hex[57], char alg[96])
{
    unsigned char (*md5s)[16];
    uint32_t nblocks = (uint32_t)((len + block_size - 1) / block_size);
    int rc = KV_OK;
    if (a->kind == SUM_COMPOSITE) {
        composite_checksum(crc_update(a->crc, 0, buf, len), a, hex, alg);
        return KV_OK;
    }
    md5s = calloc(nblocks, sizeof *md5s);
    if (!md5s)
        return kv_oom();
    for (uint32_t i = 0; i < nblocks && rc == KV_OK; i++) {
        uint64_t off = i * block_size;
        size_t n = (size_t)(len - off < block_size ? len - off : block_size);
        rc = block_md5(a->crc, a->bytes_per_crc, (const char *)buf + off, n, md5s[i]);
    }
    if (rc == KV_OK)
        rc = md5_file_checksum(md5s, nblocks, block_size, a, hex, alg);
    free(md5s);
    return rc;
}

/* Checks a file written in one CREATE from buf: its length, and its
 * checksum. */
static int verify_single(hdfs_store *s, const char *path, const void *buf, size_t len)
{
    hdfs_status st;
    hdfs_sum_reply r;
    hdfs_algo a;
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
    rc = expected_single(buf, len, st.block_size, &a, hex, alg);
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
    char query[96];
    int n = snprintf(query, sizeof query, "&overwrite=true");
    hdfs_call c = {"PUT", path, "CREATE", query, buf ? buf : "", len, NULL, 0, shown};
    int rc;
    if (block_size)
        snprintf(query + n, sizeof query - (size_t)n, "&blocksize=%llu",
                 (unsigned long long)block_size);
    rc = hdfs_do(s, &c, &resp);
    if (rc == KV_OK && resp.status != 201)
        rc = kv_seterr(KV_ETRANSIENT, "%s%s: CREATE answered HTTP %ld, expected 201 Created",
                       s->name, shown, resp.status);
    kv_http_resp_free(&resp);
    return rc;
}

static int delete_path(hdfs_store *s, const char *path)
{
    hdfs_call c = {"DELETE", path, "DELETE", "&recursive=false", NULL, 0, NULL, 0};
    int deleted;
    return call_boolean(s, &c, &deleted);
}

static int rename_once(hdfs_store *s, const char *from, const char *to, int *done)
{
    char *enc = kv_url_encode(to, 1), *query = NULL;
    int rc;
    if (!enc || asprintf(&query, "&destination=%s", enc) < 0) {
        free(enc);
        return kv_oom();
    }
    {
        hdfs_call c = {"PUT", from, "RENAME", query, NULL, 0, NULL, 0};
        rc = call_boolean(s, &c, done);
    }
    free(query);
    free(enc);
    return rc;
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
    char query[80], *path;
    int rc;

    *got = 0;
    if (len == 0) {
        kv_object_info info; /* nothing to read, but a missing key is still an error */
        return hdfs_stat(st, key, &info);
    }
    path = key_path(s, key);
    if (!path)
        return kv_oom();
    snprintf(query, sizeof query, "&offset=%llu&length=%zu", (unsigned long long)off, len);
    {
        hdfs_call c = {"GET", path, "OPEN", query, NULL, 0, buf, len};
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

typedef struct entries {
    entry *v;
    size_t n, cap;
    const char *want; /* keep names that start with this (unescaped) */
} entries;

static void entries_free(entries *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->v[i].raw);
        free(e->v[i].sort);
    }
    free(e->v);
}

static int entries_add(entries *e, const hdfs_status *st)
{
    entry *x;
    char *name;
    if (!*st->suffix || is_hidden_name(st->suffix))
        return KV_OK; /* a file listed as itself, or one of our temporaries */
    name = unescape_name(st->suffix);
    if (!name)
        return kv_oom();
    if (strncmp(name, e->want, strlen(e->want)) != 0) {
        free(name);
        return KV_OK;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 64;
        entry *v = realloc(e->v, cap * sizeof *v);
        if (!v) {
            free(name);
            return kv_oom();
        }
        e->v = v;
        e->cap = cap;
    }
    x = &e->v[e->n];
    x->raw = strdup(st->suffix);
    x->sort = NULL;
    if (!x->raw || asprintf(&x->sort, "%s%s", name, st->is_dir ? "/" : "") < 0) {
        free(x->raw);
        free(name);
        return kv_oom();
    }
    free(name);
    x->is_dir = st->is_dir;
    x->size = st->length;
    x->mtime_ms = st->mtime_ms;
    e->n++;
    return KV_OK;
}

static int add_statuses(const hdfs_store *s, const char *dir, json_t *array, entries *e,
                        const char **last)
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
    }
    return KV_OK;
}

/* Whether a failed LISTSTATUS_BATCH means the server does not know the op
 * (Hadoop before 2.8 answers 400 IllegalArgumentException "No enum
 * constant ...", others UnsupportedOperationException). */
static int batch_unsupported(const kv_http_resp *resp)
{
    char exc[128], msg[256];
    if (resp->status != 400 && resp->status != 501)
        return 0;
    remote_exception(&resp->body, exc, sizeof exc, msg, sizeof msg);
    return strcmp(exc, "UnsupportedOperationException") == 0 || strstr(msg, "LISTSTATUS_BATCH") ||
           resp->status == 501;
}

/* One LISTSTATUS_BATCH page after *after (NULL = from the start). Sets
 * *remaining and *after (a copy, for the next page). */
static int list_page(hdfs_store *s, const char *dir, char **after, entries *e, long *remaining,
                     int *unsupported)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    char *enc = *after ? kv_url_encode(*after, 0) : NULL, *query = NULL;
    json_t *root = NULL, *dl;
    const char *last = NULL;
    int rc;
    if ((*after && !enc) || (enc && asprintf(&query, "&startAfter=%s", enc) < 0)) {
        free(enc);
        return kv_oom();
    }
    {
        hdfs_call c = {"GET", dir, "LISTSTATUS_BATCH", query, NULL, 0, NULL, 0};
        rc = hdfs_send(s, &c, &resp);
    }
    if (rc)
        goto out;
    if (!*after && batch_unsupported(&resp)) {
        *unsupported = 1;
        goto out;
    }
    rc = hdfs_check(s, dir, &resp);
    if (rc == KV_OK)
        rc = parse_json(s, dir, &resp, &root);
    if (rc)
        goto out;
    dl = json_object_get(root, "DirectoryListing");
    rc = add_statuses(s, dir, json_object_get(json_object_get(json_object_get(dl, "partialListing"),
                                                              "FileStatuses"), "FileStatus"),
                      e, &last);
    *remaining = (long)json_integer_value(json_object_get(dl, "remainingEntries"));
    if (rc == KV_OK && *remaining > 0 && !last)
        rc = kv_seterr(KV_ETRANSIENT, "%s%s: empty listing page with %ld entries remaining",
                       s->name, dir, *remaining);
    if (rc == KV_OK && last) {
        free(*after);
        if (!(*after = strdup(last)))
            rc = kv_oom();
    }
out:
    json_decref(root);
    kv_http_resp_free(&resp);
    free(query);
    free(enc);
    return rc;
}

static int list_whole(hdfs_store *s, const char *dir, entries *e)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    hdfs_call c = {"GET", dir, "LISTSTATUS", NULL, NULL, 0, NULL, 0};
    json_t *root = NULL;
    const char *last = NULL;
    int rc = hdfs_do(s, &c, &resp);
    if (rc == KV_OK)
        rc = parse_json(s, dir, &resp, &root);
    if (rc == KV_OK)
        rc = add_statuses(s, dir, json_object_get(json_object_get(root, "FileStatuses"),
                                                  "FileStatus"), e, &last);
    json_decref(root);
    kv_http_resp_free(&resp);
    return rc;
}

/* Every entry of a directory: LISTSTATUS_BATCH pages, or LISTSTATUS where
 * the server has no batches. */
static int read_dir(hdfs_store *s, const char *dir, entries *e)
{
    char *after = NULL;
    long remaining = 1;
    int rc = KV_OK, unsupported = 0;
    if (atomic_load(&s->no_batch))
        return list_whole(s, dir, e);
    while (rc == KV_OK && remaining > 0 && !unsupported)
        rc = list_page(s, dir, &after, e, &remaining, &unsupported);
    free(after);
    if (rc == KV_OK && unsupported) {
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

/* Lists dir (HDFS path) whose keys start with key_dir ("" or "a/b/"),
 * keeping names that start with want, recursing into directories. Entries
 * are sorted as their keys sort, a directory as its name + '/'. */
static int list_dir(hdfs_store *s, const char *dir, const char *key_dir, const char *want,
                    kv_list_cb cb, void *payload)
{
    entries e = {NULL, 0, 0, want};
    int rc = read_dir(s, dir, &e);
    if (rc == KV_ENOTFOUND) {
        rc = KV_OK; /* nothing under a prefix whose directory does not exist */
        kv_errclear();
    }
    if (rc == KV_OK && e.n)
        qsort(e.v, e.n, sizeof *e.v, by_sort_name);
    for (size_t i = 0; rc == KV_OK && i < e.n; i++) {
        char *key = NULL, *sub = NULL;
        if (asprintf(&key, "%s%s", key_dir, e.v[i].sort) < 0) {
            rc = kv_oom();
            break;
        }
        if (e.v[i].is_dir) {
            if (asprintf(&sub, "%s/%s", dir, e.v[i].raw) < 0)
                rc = kv_oom();
            else
                rc = list_dir(s, sub, key, "", cb, payload);
        } else {
            kv_object_info info = {e.v[i].size, e.v[i].mtime_ms / 1000, ""};
            rc = cb(key, &info, payload);
        }
        free(sub);
        free(key);
    }
    entries_free(&e);
    return rc;
}

static int hdfs_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    hdfs_store *s = (hdfs_store *)st;
    const char *slash = strrchr(prefix, '/');
    char *key_dir = strndup(prefix, slash ? (size_t)(slash - prefix + 1) : 0);
    kv_buf dir = KV_BUF_INIT;
    int rc;
    if (!key_dir)
        return kv_oom();
    if (kv_buf_puts(&dir, s->root) || kv_buf_puts(&dir, "/") || escape_key(key_dir, &dir))
        rc = kv_oom();
    else {
        while (dir.len > 1 && dir.data[dir.len - 1] == '/')
            dir.data[--dir.len] = '\0';
        rc = list_dir(s, dir.data, key_dir, slash ? slash + 1 : prefix, cb, payload);
    }
    kv_buf_free(&dir);
    free(key_dir);
    return rc;
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
    if (rc == KV_OK && part_size % BYTES_PER_CRC)
        rc = kv_seterr(KV_EINVAL, "%s%s: part size %llu is not a multiple of %d bytes, as HDFS "
                       "block sizes must be", s->name, up->path, (unsigned long long)part_size,
                       BYTES_PER_CRC);
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
        rc = part_sums(up->s, buf, len, digest, &up->sums[n - 1]);
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
    kv_buf query = KV_BUF_INIT;
    int rc = kv_buf_puts(&query, "&sources=") ? kv_oom() : KV_OK;
    for (uint32_t n = from; rc == KV_OK && n <= to; n++) {
        char *p = part_path(up, n), *enc = p ? kv_url_encode(p, 1) : NULL;
        if (!enc || (n > from && kv_buf_puts(&query, ",")) || kv_buf_puts(&query, enc))
            rc = kv_oom();
        free(enc);
        free(p);
    }
    if (rc == KV_OK) {
        hdfs_call c = {"POST", first, "CONCAT", query.data, NULL, 0, NULL, 0};
        rc = hdfs_do(up->s, &c, &resp);
    }
    kv_http_resp_free(&resp);
    kv_buf_free(&query);
    return rc;
}

/* Whether every part has what the cluster's checksum needs (parts summed
 * before the cluster's kind was learned have all kinds). */
static int parts_have(const kv_upload *up, const hdfs_algo *a)
{
    unsigned need = a->kind == SUM_MD5 ? HAVE_MD5(a->crc) : HAVE_CRC(a->crc);
    if (a->kind == SUM_MD5 && a->bytes_per_crc != BYTES_PER_CRC)
        return 0;
    for (uint32_t i = 0; i < up->nparts; i++)
        if (!(up->sums[i].have & need))
            return 0;
    return 1;
}

/* The expected checksum of the joined parts: MD5MD5CRC over the parts'
 * block MD5s (each part is one block), or their CRCs composed. */
static int expected_multi(const kv_upload *up, const hdfs_algo *a, char hex[57], char alg[96])
{
    unsigned char (*md5s)[16];
    uint32_t crc = up->sums[0].crc[a->crc];
    int rc;
    if (a->kind == SUM_COMPOSITE) {
        for (uint32_t i = 1; i < up->nparts; i++) {
            uint64_t len = i + 1 < up->nparts ? up->part_size : up->total - i * up->part_size;
            crc = crc_compose(a->crc, crc, up->sums[i].crc[a->crc], len);
        }
        composite_checksum(crc, a, hex, alg);
        return KV_OK;
    }
    md5s = calloc(up->nparts, sizeof *md5s);
    if (!md5s)
        return kv_oom();
    for (uint32_t i = 0; i < up->nparts; i++)
        memcpy(md5s[i], up->sums[i].md5[a->crc], 16);
    rc = md5_file_checksum(md5s, up->nparts, up->part_size, a, hex, alg);
    free(md5s);
    return rc;
}

static int verify_upload(kv_upload *up, const char *path)
{
    hdfs_sum_reply r;
    hdfs_algo a;
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
    if (!parts_have(up, &a)) {
        kv_debug("hdfs: %s%s: parts were summed for another checksum than %s; not checked",
                 up->s->name, path, r.algorithm);
        return KV_OK;
    }
    rc = expected_multi(up, &a, hex, alg);
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

#define HTTP_PORT 9870  /* DFS_NAMENODE_HTTP_PORT_DEFAULT (Hadoop 3) */
#define HTTPS_PORT 9871 /* DFS_NAMENODE_HTTPS_PORT_DEFAULT */

/* The Hadoop configuration in HADOOP_CONF_DIR, or NULL when it is not set. */
static int load_conf(const kv_store_opts *o, kv_hadoop_conf **conf)
{
    static const char *const files[] = {"core-site.xml", "hdfs-site.xml", NULL};
    const char *dir = kv_opt_str(o, "HADOOP_CONF_DIR");
    *conf = NULL;
    return dir ? kv_hadoop_conf_load(dir, files, conf) : KV_OK;
}

/* Whether item is one of the comma-separated names of list (white space
 * around names ignored, as getTrimmedStringCollection does). */
static int list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ','), *e;
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        e = end ? end : p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n'))
            e--;
        if ((size_t)(e - p) == n && strncmp(p, item, n) == 0)
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* Adds a NameNode by its "host:port" address, checked. */
static int add_namenode(hdfs_store *s, int https, const char *key, const char *addr,
                        const char *file)
{
    const char *colon = strrchr(addr, ':');
    char *end = NULL, **v;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == addr || *end || port < 1 || port > 65535 ||
        strncmp(addr, "0.0.0.0:", 8) == 0)
        return kv_seterr(KV_EINVAL, "%s: %s = '%s' is not a NameNode host:port", file, key, addr);
    v = realloc(s->nns, (s->nnn + 1) * sizeof *v);
    if (!v)
        return kv_oom();
    s->nns = v;
    if (asprintf(&s->nns[s->nnn], "%s://%s", https ? "https" : "http", addr) < 0)
        return kv_oom();
    s->nnn++;
    return KV_OK;
}

/* The NameNodes of a nameservice, in configuration order: the HTTP (or
 * HTTPS) address of each of dfs.ha.namenodes.<ns>, or of the nameservice
 * itself when it is not HA (DFSUtilClient.getHaNnWebHdfsAddresses,
 * getAddressesForNameserviceId). */
static int ns_namenodes(hdfs_store *s, const kv_hadoop_conf *conf, const char *ns, int https)
{
    const char *kind = https ? "https-address" : "http-address", *dir = kv_hadoop_conf_dir(conf);
    const char *ids, *file, *addr;
    char key[512], *copy, *save = NULL;
    int rc = KV_OK;
    snprintf(key, sizeof key, "dfs.ha.namenodes.%s", ns);
    ids = kv_hadoop_conf_get(conf, key, NULL);
    if (!ids) {
        snprintf(key, sizeof key, "dfs.namenode.%s.%s", kind, ns);
        addr = kv_hadoop_conf_get(conf, key, &file);
        if (!addr)
            return kv_seterr(KV_EINVAL, "%s/hdfs-site.xml: nameservice '%s' has neither "
                             "dfs.ha.namenodes.%s nor dfs.namenode.%s.%s", dir, ns, ns, kind, ns);
        return add_namenode(s, https, key, addr, file);
    }
    if (!(copy = strdup(ids)))
        return kv_oom();
    for (char *id = strtok_r(copy, ", \t\n", &save); id && rc == KV_OK;
         id = strtok_r(NULL, ", \t\n", &save)) {
        snprintf(key, sizeof key, "dfs.namenode.%s.%s.%s", kind, ns, id);
        addr = kv_hadoop_conf_get(conf, key, &file);
        rc = addr ? add_namenode(s, https, key, addr, file)
                  : kv_seterr(KV_EINVAL, "%s/hdfs-site.xml: %s is not set (NameNode '%s' of "
                              "dfs.ha.namenodes.%s)", dir, key, id, ns);
    }
    free(copy);
    if (rc == KV_OK && s->nnn == 0)
        rc = kv_seterr(KV_EINVAL, "%s/hdfs-site.xml: dfs.ha.namenodes.%s names no NameNode",
                       dir, ns);
    return rc;
}

/* dfs.http.policy (DFSUtil.getHttpPolicy, HttpConfig.Policy): HTTPS_ONLY
 * means the NameNodes serve only their https-address. */
static int https_only(const kv_hadoop_conf *conf, int *https)
{
    const char *file, *v = kv_hadoop_conf_get(conf, "dfs.http.policy", &file);
    *https = v && strcasecmp(v, "HTTPS_ONLY") == 0;
    if (v && !*https && strcasecmp(v, "HTTP_ONLY") != 0 && strcasecmp(v, "HTTP_AND_HTTPS") != 0)
        return kv_seterr(KV_EINVAL, "%s: dfs.http.policy = '%s': expected HTTP_ONLY, "
                         "HTTPS_ONLY or HTTP_AND_HTTPS", file, v);
    return KV_OK;
}

/* The authority of fs.defaultFS ("hdfs://ns1" -> "ns1"), for hdfs:///path. */
static int default_fs(const kv_hadoop_conf *conf, char **authority, int *tls)
{
    const char *file, *v = conf ? kv_hadoop_conf_get(conf, "fs.defaultFS", &file) : NULL;
    const char *sep = v ? strstr(v, "://") : NULL;
    if (!conf)
        return kv_seterr(KV_EINVAL, "the URL names no NameNode (hdfs:///...) and "
                         "HADOOP_CONF_DIR is not set (its core-site.xml's fs.defaultFS would)");
    if (!v)
        return kv_seterr(KV_EINVAL, "%s/core-site.xml: fs.defaultFS is not set, so an "
                         "hdfs:///... URL names no NameNode", kv_hadoop_conf_dir(conf));
    if (!sep || sep == v || sep[3] == '/' || sep[3] == '\0' ||
        !(strncmp(v, "hdfs", 4) == 0 || strncmp(v, "webhdfs", 7) == 0 ||
          strncmp(v, "swebhdfs", 8) == 0))
        return kv_seterr(KV_EINVAL, "%s: fs.defaultFS = '%s' is not an hdfs://, webhdfs:// or "
                         "swebhdfs:// URI with a NameNode or nameservice", file, v);
    *tls = strncmp(v, "swebhdfs", 8) == 0;
    *authority = strndup(sep + 3, strcspn(sep + 3, "/"));
    return *authority ? KV_OK : kv_oom();
}

/* A host (no nameservice) from fs.defaultFS, whose port is the RPC one:
 * its web port is that of dfs.namenode.http(s)-address, or the default. */
static int default_host(hdfs_store *s, const kv_hadoop_conf *conf, const char *host, int https)
{
    const char *key = https ? "dfs.namenode.https-address" : "dfs.namenode.http-address";
    const char *file, *v = kv_hadoop_conf_get(conf, key, &file), *colon = v ? strrchr(v, ':') : 0;
    char addr[512];
    snprintf(addr, sizeof addr, "%.*s:%s", (int)strcspn(host, ":"), host,
             colon ? colon + 1 : https ? "9871" : "9870");
    return add_namenode(s, https, key, addr, file ? file : "fs.defaultFS");
}

/* Fills s->nns and s->name from the URL: host[:port] as given; a
 * nameservice of dfs.nameservices through HADOOP_CONF_DIR; hdfs:///path
 * through fs.defaultFS. *ns gets the nameservice (NULL for a host). */
static int resolve_namenodes(hdfs_store *s, const kv_url *url, const kv_hadoop_conf *conf,
                             char **ns)
{
    int tls = strcmp(url->scheme, "swebhdfs") == 0, from_default = !*url->host, https = tls;
    char *auth = NULL, addr[512];
    const char *services = conf ? kv_hadoop_conf_get(conf, "dfs.nameservices", NULL) : NULL;
    int rc = from_default ? default_fs(conf, &auth, &tls)
                          : ((auth = strdup(url->host)) ? KV_OK : kv_oom());
    *ns = NULL;
    if (rc == KV_OK && (conf && (from_default || !tls)))
        rc = https_only(conf, &https);
    https = https || tls;
    if (rc)
        goto out;
    if (conf && !url->port && !strchr(auth, ':') && services && list_has(services, auth)) {
        rc = ns_namenodes(s, conf, auth, https);
        if (rc == KV_OK && !(*ns = strdup(auth)))
            rc = kv_oom();
    } else if (from_default) {
        rc = default_host(s, conf, auth, https);
    } else {
        https = tls;
        snprintf(addr, sizeof addr, "%s:%d", auth,
                 url->port ? url->port : tls ? HTTPS_PORT : HTTP_PORT);
        rc = add_namenode(s, https, "the URL", addr, url->scheme);
    }
    if (rc == KV_OK && asprintf(&s->name, "%s://%s", url->scheme,
                                *ns || from_default ? auth : s->nns[0] + (https ? 8 : 7)) < 0)
        rc = kv_oom();
out:
    free(auth);
    return rc;
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

/* The store's CA file or KVAULT_HDFS_CA_FILE: the CA certificates (PEM)
 * that HTTPS NameNodes and DataNodes are verified against, instead of the
 * system's. */
static int load_ca_file(const kv_store_opts *o, const char **ca_file)
{
    return kv_opt_ca_file(o, "KVAULT_HDFS_CA_FILE", ca_file);
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
    char *ns = NULL;
    int rc = load_conf(o, &conf);
    if (rc == KV_OK)
        rc = resolve_namenodes(s, url, conf, &ns);
    if (rc == KV_OK)
        rc = load_user(s, o, ns);
    if (rc == KV_OK && s->nnn > 1)
        kv_debug("hdfs: %s: %zu NameNodes, %s first", s->name, s->nnn, s->nns[0]);
    free(ns);
    kv_hadoop_conf_free(conf);
    return rc;
}

static int hdfs_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    hdfs_store *s = calloc(1, sizeof *s);
    kv_http_opts ho = {.connect_timeout_s = opts->connect_timeout_s,
                       .stall_timeout_s = opts->stall_timeout_s};
    int rc;

    *out = NULL;
    if (!s)
        return kv_oom();
    if (asprintf(&s->root, "%s%s", *url->path ? "/" : "", url->path) < 0) {
        free(s);
        return kv_oom();
    }
    rc = locate(s, opts, url);
    if (rc == KV_OK)
        rc = load_rewrite(s, opts);
    if (rc == KV_OK)
        rc = load_ca_file(opts, &ho.ca_file);
    if (rc)
        goto out;
    s->httpfs = kv_opt_flag(opts, "KVAULT_HDFS_HTTPFS", 0);
    s->kerberos = kv_opt_flag(opts, "KVAULT_HDFS_KERBEROS", 0) || kerberos_configured(opts);
    ho.negotiate = s->kerberos;
    s->verify = kv_opt_flag(opts, "KVAULT_HDFS_CHECKSUM", 1);
    rc = kv_http_new(&ho, &s->http);
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
        .caps = KV_CAP_MULTIPART | KV_CAP_RANGE_GET,            \
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
    }

const kv_store_ops kv_hdfs_ops = HDFS_OPS("hdfs");
const kv_store_ops kv_webhdfs_ops = HDFS_OPS("webhdfs");
const kv_store_ops kv_swebhdfs_ops = HDFS_OPS("swebhdfs");
