#include "store/hdfs_token.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/secret.h"

#define MAX_FILE (16u << 20)

/* A cursor over the file; bad is set by any read past the end. */
typedef struct reader {
    const unsigned char *p;
    size_t n, pos;
    int bad;
} reader;

/* One token's fields, pointing into the file. */
typedef struct raw_token {
    const unsigned char *field[4]; /* identifier, password, kind, service */
    size_t len[4];
} raw_token;

/* WritableUtils.readVLong: one byte for -112..127, else a length byte
 * (-113..-120 positive, -121..-128 negative) and big-endian bytes. */
static int64_t read_vlong(reader *r)
{
    int8_t first;
    int size;
    uint64_t v = 0;
    if (r->pos >= r->n) {
        r->bad = 1;
        return 0;
    }
    first = (int8_t)r->p[r->pos++];
    if (first >= -112)
        return first;
    size = first < -120 ? -120 - first : -112 - first;
    if (r->n - r->pos < (size_t)size) {
        r->bad = 1;
        return 0;
    }
    for (int i = 0; i < size; i++)
        v = v << 8 | r->p[r->pos++];
    return first < -120 ? (int64_t)~v : (int64_t)v;
}

/* n bytes at the cursor (NULL and bad when there are not so many). */
static const unsigned char *read_bytes(reader *r, int64_t n)
{
    const unsigned char *out = r->p + r->pos;
    if (r->bad || n < 0 || (uint64_t)n > r->n - r->pos) {
        r->bad = 1;
        return NULL;
    }
    r->pos += (size_t)n;
    return out;
}

/* A vint-prefixed byte string (Text.readFields, and Token's fields). */
static const unsigned char *read_field(reader *r, size_t *len)
{
    int64_t n = read_vlong(r);
    const unsigned char *p = read_bytes(r, n);
    *len = p ? (size_t)n : 0;
    return p;
}

/* A protobuf varint. */
static uint64_t read_varint(reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->pos >= r->n)
            break;
        v |= (uint64_t)(r->p[r->pos] & 0x7f) << shift;
        if (!(r->p[r->pos++] & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

/* WritableUtils.writeVLong. */
static int put_vlong(kv_buf *b, int64_t v)
{
    unsigned char out[9];
    int len = -112, n = 0;
    uint64_t u = (uint64_t)v;
    if (v >= -112 && v <= 127) {
        out[0] = (unsigned char)(int8_t)v;
        return kv_buf_put(b, out, 1);
    }
    if (v < 0) {
        u = ~u;
        len = -120;
    }
    for (uint64_t tmp = u; tmp; tmp >>= 8)
        len--;
    out[n++] = (unsigned char)(int8_t)len;
    for (int i = (len < -120 ? -(len + 120) : -(len + 112)) - 1; i >= 0; i--)
        out[n++] = (unsigned char)(u >> (8 * i));
    return kv_buf_put(b, out, (size_t)n);
}

/* Token.write (vint length + bytes of identifier, password, kind,
 * service), then Token.encodeWritable's URL-safe base64 without padding. */
static int url_string(const raw_token *t, char **out)
{
    kv_buf w = KV_BUF_INIT, s = KV_BUF_INIT;
    int rc = KV_OK;
    for (int i = 0; i < 4 && rc == KV_OK; i++)
        if (put_vlong(&w, (int64_t)t->len[i]) || kv_buf_put(&w, t->field[i], t->len[i]))
            rc = kv_oom();
    if (rc == KV_OK && kv_base64url_append(&s, w.data, w.len))
        rc = kv_oom();
    if (w.data)
        OPENSSL_cleanse(w.data, w.len);
    kv_buf_free(&w);
    *out = rc == KV_OK ? s.data : NULL;
    if (rc)
        kv_buf_free(&s);
    return rc;
}

typedef struct tokens {
    kv_hadoop_token *v;
    size_t n;
} tokens;

static int add_token(tokens *ts, const unsigned char *alias, size_t alias_len,
                     const raw_token *t)
{
    kv_hadoop_token *v = realloc(ts->v, (ts->n + 1) * sizeof *v), *x;
    if (!v)
        return kv_oom();
    ts->v = v;
    x = &v[ts->n];
    memset(x, 0, sizeof *x);
    x->alias = strndup((const char *)alias, alias_len);
    x->kind = strndup((const char *)t->field[2], t->len[2]);
    x->service = strndup((const char *)t->field[3], t->len[3]);
    ts->n++;
    if (!x->alias || !x->kind || !x->service)
        return kv_oom();
    return url_string(t, &x->url_string);
}

/* Credentials.readFields: vint count, then Text alias + Token per token
 * (the secret keys that follow are not needed). */
static int read_writable(reader *r, tokens *ts)
{
    int64_t count = read_vlong(r);
    int rc = KV_OK;
    r->bad |= count < 0;
    for (int64_t i = 0; i < count && rc == KV_OK && !r->bad; i++) {
        raw_token t;
        size_t alias_len;
        const unsigned char *alias = read_field(r, &alias_len);
        for (int f = 0; f < 4; f++)
            t.field[f] = read_field(r, &t.len[f]);
        if (!r->bad)
            rc = add_token(ts, alias, alias_len, &t);
    }
    return rc;
}

/* Skips a protobuf field of the given wire type. */
static void skip_field(reader *r, unsigned wire)
{
    if (wire == 0)
        read_varint(r);
    else if (wire == 1)
        read_bytes(r, 8);
    else if (wire == 2)
        read_bytes(r, (int64_t)read_varint(r));
    else if (wire == 5)
        read_bytes(r, 4);
    else
        r->bad = 1;
}

/* Calls fn(payload, field number, bytes) for each length-delimited field of
 * the message in r, skipping the others. */
static int each_field(reader *r, int (*fn)(void *, unsigned, reader *), void *payload)
{
    int rc = KV_OK;
    while (rc == KV_OK && !r->bad && r->pos < r->n) {
        uint64_t key = read_varint(r);
        if ((key & 7) == 2) {
            int64_t len = (int64_t)read_varint(r);
            const unsigned char *p = read_bytes(r, len);
            reader sub = {p, p ? (size_t)len : 0, 0, 0};
            if (p)
                rc = fn(payload, (unsigned)(key >> 3), &sub);
            r->bad |= sub.bad;
        } else {
            skip_field(r, (unsigned)(key & 7));
        }
    }
    return rc;
}

/* TokenProto: identifier 1, password 2, kind 3, service 4. */
static int token_field(void *payload, unsigned num, reader *r)
{
    raw_token *t = payload;
    if (num >= 1 && num <= 4) {
        t->field[num - 1] = r->p;
        t->len[num - 1] = r->n;
    }
    return KV_OK;
}

typedef struct kv_entry {
    reader alias, token;
    int has_token;
} kv_entry;

/* CredentialsKVProto: alias 1, token 2 (secret 3 is skipped). */
static int kv_field(void *payload, unsigned num, reader *r)
{
    kv_entry *e = payload;
    if (num == 1)
        e->alias = *r;
    else if (num == 2)
        e->token = *r, e->has_token = 1;
    return KV_OK;
}

/* CredentialsProto: tokens 1 (secrets 2 are skipped). */
static int credentials_field(void *payload, unsigned num, reader *r)
{
    kv_entry e = {{NULL, 0, 0, 0}, {NULL, 0, 0, 0}, 0};
    raw_token t = {{(const unsigned char *)"", (const unsigned char *)"",
                    (const unsigned char *)"", (const unsigned char *)""}, {0, 0, 0, 0}};
    int rc;
    if (num != 1)
        return KV_OK;
    rc = each_field(r, kv_field, &e);
    if (rc == KV_OK && !r->bad && e.has_token)
        rc = each_field(&e.token, token_field, &t);
    if (rc == KV_OK && !r->bad && !e.token.bad && e.has_token)
        rc = add_token(payload, e.alias.p ? e.alias.p : (const unsigned char *)"", e.alias.n, &t);
    r->bad |= e.token.bad;
    return rc;
}

/* Credentials.readProto: CredentialsProto.parseDelimitedFrom (a varint
 * length, then the message). */
static int read_protobuf(reader *r, tokens *ts)
{
    int64_t len = (int64_t)read_varint(r);
    const unsigned char *p = read_bytes(r, len);
    reader msg = {p, p ? (size_t)len : 0, 0, 0};
    int rc = p ? each_field(&msg, credentials_field, ts) : KV_OK;
    r->bad |= msg.bad;
    return rc;
}

static int parse(const char *path, const unsigned char *data, size_t len, tokens *ts)
{
    reader r = {data, len, 5, 0};
    int rc;
    if (len < 5 || memcmp(data, "HDTS", 4) != 0)
        return kv_seterr(KV_EINVAL, "Hadoop token file '%s': bad header (not \"HDTS\")", path);
    if (data[4] > 1)
        return kv_seterr(KV_EUNSUPPORTED, "Hadoop token file '%s': unknown format %u (0 is "
                         "Writable, 1 protobuf)", path, data[4]);
    rc = data[4] == 0 ? read_writable(&r, ts) : read_protobuf(&r, ts);
    if (rc == KV_OK && r.bad)
        rc = kv_seterr(KV_ECORRUPT, "Hadoop token file '%s': truncated or malformed %s data",
                       path, data[4] == 0 ? "Writable" : "protobuf");
    return rc;
}

int kv_hadoop_tokens_read(const char *path, kv_hadoop_token **out, size_t *n)
{
    char *data = NULL;
    size_t len = 0;
    tokens ts = {NULL, 0};
    int rc = kv_read_file(path, &data, &len);
    *out = NULL;
    *n = 0;
    if (rc)
        return rc;
    rc = len > MAX_FILE ? kv_seterr(KV_EINVAL, "Hadoop token file '%s': larger than %u bytes",
                                    path, MAX_FILE)
                        : parse(path, (const unsigned char *)data, len, &ts);
    OPENSSL_cleanse(data, len);
    free(data);
    if (rc) {
        kv_hadoop_tokens_free(ts.v, ts.n);
        return rc;
    }
    *out = ts.v;
    *n = ts.n;
    return KV_OK;
}

void kv_hadoop_tokens_free(kv_hadoop_token *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].alias);
        free(t[i].kind);
        free(t[i].service);
        kv_secret_free(t[i].url_string);
    }
    free(t);
}
