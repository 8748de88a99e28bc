/* HDFS over WebHDFS (hdfs://namenode[:port]/path, alias webhdfs://; port
 * 9870 by default): the REST protocol every NameNode serves, spoken through
 * the http layer. See docs/hdfs.md for settings and what was checked.
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
 * clusters behind NAT). After a put or complete, the file's
 * GETFILECHECKSUM (MD5 of the block MD5s of the CRC32C of every 512 bytes)
 * is compared with the same value computed here from the bytes sent. */
#include <dlfcn.h>
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
#include "util/env.h"
#include "util/err.h"
#include "util/log.h"
#include "util/random.h"

#define MIB (1024ull * 1024ull)
/* dfs.namenode.fs-limits.min-block-size: the smallest block (= part) a
 * NameNode accepts by default */
#define HDFS_MIN_PART (1 * MIB)
#define HDFS_MAX_PART (1024 * MIB)
#define HDFS_MAX_PARTS 10000
#define DEFAULT_PORT 9870
#define BYTES_PER_CRC 512
#define CONCAT_BATCH 64        /* sources per CONCAT request */
#define TMP_MARK ".kvtmp-"
#define PART_MARK ".kvpart-"

typedef struct hdfs_store {
    kv_store base;
    kv_http *http;
    char *origin;         /* "http://namenode:9870" */
    char *name;           /* "hdfs://namenode:9870", for messages */
    char *root;           /* HDFS path of the store root: "" or "/a/b" */
    char *auth;           /* "user.name=..." or "delegation=...", encoded */
    char *dn_from, *dn_to; /* KVAULT_HDFS_DATANODE_REWRITE */
    int httpfs;           /* KVAULT_HDFS_HTTPFS: data=true, one request */
    int kerberos;         /* SPNEGO through libcurl (KVAULT_HDFS_KERBEROS) */
    int verify;           /* KVAULT_HDFS_CHECKSUM (default on) */
    atomic_int no_batch;  /* the server has no LISTSTATUS_BATCH */
} hdfs_store;

struct kv_upload {
    hdfs_store *s;
    char *path;           /* final HDFS path */
    char *dir, *base;     /* its directory and (escaped) name */
    char tag[17];
    uint64_t total, part_size;
    uint32_t nparts;
    unsigned char (*md5s)[16]; /* block MD5 of each part, for verify */
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

static int build_url(const hdfs_store *s, const hdfs_call *c, kv_buf *url)
{
    char *enc = kv_url_encode(*c->path ? c->path : "/", 1);
    int rc;
    if (!enc)
        return kv_oom();
    rc = kv_buf_printf(url, "%s/webhdfs/v1%s?op=%s&%s%s%s", s->origin, enc, c->op, s->auth,
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
    if (!auth)
        return kv_seterr(KV_ERR, "%s%s: the NameNode redirected to '%s', not a URL", s->name,
                         path, location);
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

/* Sends a call and follows one redirect by hand (CREATE/APPEND/OPEN/
 * GETFILECHECKSUM), sending the body only to the DataNode, as Hadoop's
 * clients do. KV_OK when a final reply arrived; the status is not checked. */
static int hdfs_send(hdfs_store *s, const hdfs_call *c, kv_http_resp *resp)
{
    kv_buf url = KV_BUF_INIT, dn = KV_BUF_INIT;
    const char *loc;
    int direct = s->httpfs && c->body, rc;

    rc = build_url(s, c, &url);
    if (rc)
        goto out;
    rc = send_once(s, c->method, url.data, direct ? c->body : NULL, direct ? c->body_len : 0,
                   direct, c, resp);
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
    kv_buf_free(&url);
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

/* ---- checksums: Hadoop's MD5-of-MD5-of-CRC32C ------------------------------------ */

/* A block's checksum as a DataNode computes it: MD5 over the big-endian
 * CRC32C of every 512 bytes of the block. */
static int block_md5(const void *buf, size_t len, unsigned char out[16])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    const unsigned char *p = buf;
    unsigned char crcs[4 * 256];
    size_t n = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
    for (size_t off = 0; ok && off < len; off += BYTES_PER_CRC) {
        size_t chunk = len - off < BYTES_PER_CRC ? len - off : BYTES_PER_CRC;
        uint32_t crc = kv_crc32c(0, p + off, chunk);
        crcs[n++] = (unsigned char)(crc >> 24);
        crcs[n++] = (unsigned char)(crc >> 16);
        crcs[n++] = (unsigned char)(crc >> 8);
        crcs[n++] = (unsigned char)crc;
        if (n == sizeof crcs) {
            ok = EVP_DigestUpdate(ctx, crcs, n);
            n = 0;
        }
    }
    ok = ok && EVP_DigestUpdate(ctx, crcs, n) && EVP_DigestFinal_ex(ctx, out, NULL);
    EVP_MD_CTX_free(ctx);
    return ok ? KV_OK : kv_seterr(KV_ERR, "hdfs: MD5 failed");
}

/* The file checksum from its block MD5s, as FileChecksumHelper makes it: MD5
 * over DataOutputBuffer.getData(), i.e. the whole backing array (32 bytes,
 * doubled as needed) with its unused tail zero. Writes the 28-byte value's
 * hex and the algorithm name. */
static int file_checksum(unsigned char (*md5s)[16], uint32_t nblocks, uint64_t first_block,
                         char hex[57], char algorithm[64])
{
    size_t used = (size_t)nblocks * 16, cap = 32;
    unsigned char *data, raw[28];
    uint64_t crc_per_block = nblocks > 1 ? (first_block + BYTES_PER_CRC - 1) / BYTES_PER_CRC : 0;
    unsigned int md_len = 0;
    while (cap < used)
        cap *= 2;
    data = calloc(1, cap);
    if (!data)
        return kv_oom();
    memcpy(data, md5s, used);
    raw[0] = 0, raw[1] = 0, raw[2] = BYTES_PER_CRC >> 8, raw[3] = BYTES_PER_CRC & 0xff;
    for (int i = 0; i < 8; i++)
        raw[4 + i] = (unsigned char)(crc_per_block >> (56 - 8 * i));
    if (!EVP_Digest(data, cap, raw + 12, &md_len, EVP_md5(), NULL)) {
        free(data);
        return kv_seterr(KV_ERR, "hdfs: MD5 failed");
    }
    free(data);
    for (int i = 0; i < 28; i++)
        sprintf(hex + 2 * i, "%02x", raw[i]);
    snprintf(algorithm, 64, "MD5-of-%lluMD5-of-%dCRC32C", (unsigned long long)crc_per_block,
             BYTES_PER_CRC);
    return KV_OK;
}

/* Compares the server's GETFILECHECKSUM of path with the expected value. A
 * cluster that uses another checksum (dfs.checksum.type CRC32, or
 * COMPOSITE_CRC) cannot be compared: logged and accepted. */
static int compare_checksum(hdfs_store *s, const char *path, const char *hex,
                            const char *algorithm)
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
    if (!alg || !bytes) {
        rc = kv_seterr(KV_ETRANSIENT, "%s%s: GETFILECHECKSUM reply has no FileChecksum", s->name,
                       path);
    } else if (strcmp(alg, algorithm) != 0) {
        kv_debug("hdfs: %s%s: checksum %s not comparable with %s; not checked", s->name, path,
                 alg, algorithm);
    } else if (strcasecmp(bytes, hex) != 0) {
        rc = kv_seterr(KV_ECORRUPT, "%s%s: checksum mismatch: the cluster has %s %s, kvault sent "
                       "%s", s->name, path, alg, bytes, hex);
    }
out:
    json_decref(root);
    kv_http_resp_free(&resp);
    return rc;
}

/* Checks a file written in one CREATE from buf: its length, and its
 * checksum, computed with the block size the file got. */
static int verify_single(hdfs_store *s, const char *path, const void *buf, size_t len)
{
    hdfs_status st;
    unsigned char (*md5s)[16] = NULL;
    char hex[57], alg[64];
    uint32_t nblocks;
    int rc = get_status(s, path, &st);
    if (rc)
        return rc;
    if (st.length != len)
        return kv_seterr(KV_ECORRUPT, "%s%s: %llu bytes sent but the file has %llu", s->name,
                         path, (unsigned long long)len, (unsigned long long)st.length);
    if (len == 0 || st.block_size == 0)
        return KV_OK;
    nblocks = (uint32_t)((len + st.block_size - 1) / st.block_size);
    md5s = calloc(nblocks, sizeof *md5s);
    if (!md5s)
        return kv_oom();
    for (uint32_t i = 0; i < nblocks && rc == KV_OK; i++) {
        uint64_t off = i * st.block_size;
        size_t n = (size_t)(len - off < st.block_size ? len - off : st.block_size);
        rc = block_md5((const char *)buf + off, n, md5s[i]);
    }
    if (rc == KV_OK)
        rc = file_checksum(md5s, nblocks, st.block_size, hex, alg);
    if (rc == KV_OK)
        rc = compare_checksum(s, path, hex, alg);
    free(md5s);
    return rc;
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
    free(up->md5s);
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
    up->md5s = calloc(up->nparts, sizeof *up->md5s);
    rc = up->path && up->md5s ? KV_OK : kv_oom();
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
    (void)digest;
    if (n < 1 || n > up->nparts)
        return kv_seterr(KV_EINVAL, "%s%s: part %u of an upload of %u parts", up->s->name,
                         up->path, n, up->nparts);
    path = part_path(up, n);
    if (!path)
        return kv_oom();
    rc = create_file(up->s, path, up->path, buf, len, up->part_size);
    if (rc == KV_OK && up->s->verify)
        rc = block_md5(buf, len, up->md5s[n - 1]);
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

static int verify_upload(kv_upload *up, const char *path)
{
    char hex[57], alg[64];
    int rc;
    if (!up->s->verify || up->total == 0)
        return KV_OK;
    rc = file_checksum(up->md5s, up->nparts, up->part_size, hex, alg);
    return rc ? rc : compare_checksum(up->s, path, hex, alg);
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

/* KVAULT_HDFS_NATIVE=1 asks for libhdfs3, loaded at run time so that builds
 * need no HDFS library. Only the loading is done: data still goes over
 * WebHDFS, so asking for it is an error that says so. */
static int native_requested(const hdfs_store *s)
{
    void *lib;
    if (!kv_env_flag("KVAULT_HDFS_NATIVE", 0))
        return KV_OK;
    lib = dlopen("libhdfs3.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return kv_seterr(KV_EUNSUPPORTED,
                         "%s: KVAULT_HDFS_NATIVE=1 but libhdfs3.so cannot be loaded (%s); install "
                         "libhdfs3 (e.g. `conda install -c conda-forge libhdfs3`, or build "
                         "apache/hawq's libhdfs3) where the dynamic loader finds it, or unset "
                         "KVAULT_HDFS_NATIVE to use WebHDFS",
                         s->name, dlerror());
    dlclose(lib);
    return kv_seterr(KV_EUNSUPPORTED,
                     "%s: libhdfs3.so loads, but kvault's native HDFS path is not implemented "
                     "yet; unset KVAULT_HDFS_NATIVE to use WebHDFS", s->name);
}

static int load_user(hdfs_store *s)
{
    const char *token = kv_env_str("KVAULT_HDFS_DELEGATION");
    const char *user = kv_env_str("HADOOP_USER_NAME");
    char pwbuf[1024], *enc;
    struct passwd pw, *found = NULL;
    int rc;
    if (!token && !user) {
        if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof pwbuf, &found) != 0 || !found)
            return kv_seterr(KV_EAUTH, "%s: no HDFS user: set HADOOP_USER_NAME (uid %u has no "
                             "name)", s->name, (unsigned)geteuid());
        user = found->pw_name;
    }
    enc = kv_url_encode(token ? token : user, 0);
    if (!enc)
        return kv_oom();
    rc = asprintf(&s->auth, "%s=%s", token ? "delegation" : "user.name", enc) < 0 ? kv_oom() : KV_OK;
    free(enc);
    return rc;
}

static int load_rewrite(hdfs_store *s)
{
    const char *v = kv_env_str("KVAULT_HDFS_DATANODE_REWRITE");
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
    free(s->origin);
    free(s->name);
    free(s->root);
    free(s->auth);
    free(s->dn_from);
    free(s->dn_to);
    free(s);
}

/* Hadoop's own switch, as a shell that sources hadoop-env.sh may carry it. */
static int kerberos_configured(void)
{
    const char *v = kv_env_str("HADOOP_SECURITY_AUTHENTICATION");
    return v && strcasecmp(v, "kerberos") == 0;
}

static int hdfs_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    hdfs_store *s = calloc(1, sizeof *s);
    int port = url->port ? url->port : DEFAULT_PORT, rc;
    kv_http_opts ho = {opts->connect_timeout_s, opts->stall_timeout_s};

    *out = NULL;
    if (!s)
        return kv_oom();
    if (asprintf(&s->origin, "http://%s:%d", url->host, port) < 0 ||
        asprintf(&s->name, "hdfs://%s:%d", url->host, port) < 0 ||
        asprintf(&s->root, "%s%s", *url->path ? "/" : "", url->path) < 0) {
        rc = kv_oom();
        goto out;
    }
    rc = native_requested(s);
    if (rc == KV_OK)
        rc = load_user(s);
    if (rc == KV_OK)
        rc = load_rewrite(s);
    if (rc)
        goto out;
    s->httpfs = kv_env_flag("KVAULT_HDFS_HTTPFS", 0);
    s->kerberos = kv_env_flag("KVAULT_HDFS_KERBEROS", 0) || kerberos_configured();
    ho.negotiate = s->kerberos;
    s->verify = kv_env_flag("KVAULT_HDFS_CHECKSUM", 1);
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

/* The same backend under both schemes. */
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
