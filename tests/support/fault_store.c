#include "fault_store.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/err.h"

enum {
    OP_PUT, OP_GET, OP_STAT, OP_LIST, OP_REMOVE, OP_BEGIN, OP_PART, OP_COMPLETE, OP_GARBAGE,
    NOPS
};

static const char *const op_names[NOPS] = {"put",          "get",         "stat",
                                           "list",         "remove",      "upload_begin",
                                           "upload_part",  "upload_complete", "garbage"};

/* Calls from..to of an op (from 0: none). */
typedef struct calls {
    unsigned from, to;
} calls;

typedef struct fault_store {
    kv_store base;
    kv_store *inner;
    pthread_mutex_t lock;
    unsigned calls[NOPS];
    calls fail_at[NOPS];
    int fail_code[NOPS];
    calls lose_at[NOPS];
    int short_reads;
} fault_store;

struct kv_upload {
    fault_store *f;
    kv_upload *inner;
};

/* ---- rules ------------------------------------------------------------------- */

static int op_of(const char *name, size_t n)
{
    for (int i = 0; i < NOPS; i++)
        if (strlen(op_names[i]) == n && strncmp(op_names[i], name, n) == 0)
            return i;
    return -1;
}

static int code_of(const char *kind)
{
    static const struct {
        const char *name;
        int code;
    } kinds[] = {{"transient", KV_ETRANSIENT}, {"io", KV_EIO},           {"auth", KV_EAUTH},
                 {"corrupt", KV_ECORRUPT},     {"notfound", KV_ENOTFOUND}};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(kind, kinds[i].name) == 0)
            return kinds[i].code;
    return 0;
}

/* One rule, "op:n[-m][:kind]": *op, the calls and the kind ("" if none). */
static int parse_rule(const char *rule, int *op, calls *at, const char **kind)
{
    const char *colon = strchr(rule, ':');
    char *end;
    unsigned long from, to;
    if (!colon || (*op = op_of(rule, (size_t)(colon - rule))) < 0)
        return -1;
    from = to = strtoul(colon + 1, &end, 10);
    if (*end == '-')
        to = strtoul(end + 1, &end, 10);
    if (end == colon + 1 || from == 0 || to < from || to > UINT_MAX || (*end && *end != ':'))
        return -1;
    *at = (calls){.from = (unsigned)from, .to = (unsigned)to};
    *kind = *end ? end + 1 : "";
    return 0;
}

/* "rule,rule,..." into at[] (and code[] when code is not NULL). */
static int parse_rules(const char *text, calls at[NOPS], int code[NOPS], const char *what)
{
    for (const char *p = text; p && *p;) {
        size_t len = strcspn(p, ",");
        char rule[64];
        const char *kind;
        calls c;
        int op;
        snprintf(rule, sizeof rule, "%.*s", (int)len, p);
        if (parse_rule(rule, &op, &c, &kind) || (code && !(code[op] = code_of(kind))) ||
            (!code && *kind))
            return kv_seterr(KV_EINVAL, "%s: bad rule '%s'", what, rule);
        at[op] = c;
        p += len + (p[len] == ',');
    }
    return KV_OK;
}

static int in_calls(const calls *c, unsigned n)
{
    return c->from && n >= c->from && n <= c->to;
}

/* KV_OK to go on; else the injected failure. *lose: do it, then report a
 * lost reply. */
static int fault_before(fault_store *f, int op, const char *key, int *lose)
{
    unsigned n;
    int rc = KV_OK;
    pthread_mutex_lock(&f->lock);
    n = ++f->calls[op];
    *lose = in_calls(&f->lose_at[op], n);
    if (in_calls(&f->fail_at[op], n))
        rc = kv_seterr(f->fail_code[op], "fault://: %s '%s' (call %u) failed as told", op_names[op],
                       key ? key : "", n);
    pthread_mutex_unlock(&f->lock);
    return rc;
}

static int fault_after(int op, int lose, int rc, const char *key)
{
    if (rc == KV_OK && lose)
        return kv_seterr(KV_ETRANSIENT, "fault://: the reply to %s '%s' was lost as told",
                         op_names[op], key ? key : "");
    return rc;
}

/* ---- the store ------------------------------------------------------------------ */

static int fault_open(const kv_url *url, const kv_store_opts *opts, kv_store **out)
{
    fault_store *f = calloc(1, sizeof *f);
    const char *inner = kv_opt_str(opts, "KVT_FAULT_INNER");
    int rc;
    (void)url;
    if (!f)
        return kv_oom();
    pthread_mutex_init(&f->lock, NULL);
    f->short_reads = kv_opt_flag(opts, "KVT_FAULT_SHORT", 0);
    rc = inner ? KV_OK : kv_seterr(KV_EINVAL, "fault://: KVT_FAULT_INNER names no store");
    if (!rc)
        rc = parse_rules(kv_opt_str(opts, "KVT_FAULT_FAIL"), f->fail_at, f->fail_code,
                         "KVT_FAULT_FAIL");
    if (!rc)
        rc = parse_rules(kv_opt_str(opts, "KVT_FAULT_LOSE"), f->lose_at, NULL, "KVT_FAULT_LOSE");
    if (!rc)
        rc = kv_store_open(inner, opts, &f->inner);
    if (rc) {
        free(f);
        return rc;
    }
    *out = &f->base;
    return KV_OK;
}

static void fault_close(kv_store *st)
{
    fault_store *f = (fault_store *)st;
    kv_store_close(f->inner);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

static int fault_put(kv_store *st, const char *key, const void *buf, size_t len,
                     const kv_digest *d)
{
    fault_store *f = (fault_store *)st;
    int lose, rc = fault_before(f, OP_PUT, key, &lose);
    if (!rc)
        rc = f->inner->ops->put(f->inner, key, buf, len, d);
    return fault_after(OP_PUT, lose, rc, key);
}

static int fault_get(kv_store *st, const char *key, uint64_t off, size_t len, void *buf,
                     size_t *got)
{
    fault_store *f = (fault_store *)st;
    int lose, rc = fault_before(f, OP_GET, key, &lose);
    if (!rc)
        rc = f->inner->ops->get(f->inner, key, off, f->short_reads && len > 1 ? len / 2 : len,
                                buf, got);
    return fault_after(OP_GET, lose, rc, key);
}

static int fault_stat(kv_store *st, const char *key, kv_object_info *out)
{
    fault_store *f = (fault_store *)st;
    int lose, rc = fault_before(f, OP_STAT, key, &lose);
    if (!rc)
        rc = f->inner->ops->stat(f->inner, key, out);
    return fault_after(OP_STAT, lose, rc, key);
}

static int fault_list(kv_store *st, const char *prefix, kv_list_cb cb, void *payload)
{
    fault_store *f = (fault_store *)st;
    int lose, rc = fault_before(f, OP_LIST, prefix, &lose);
    if (!rc)
        rc = f->inner->ops->list(f->inner, prefix, cb, payload);
    return fault_after(OP_LIST, lose, rc, prefix);
}

static int fault_remove(kv_store *st, const char *key)
{
    fault_store *f = (fault_store *)st;
    int lose, rc = fault_before(f, OP_REMOVE, key, &lose);
    if (!rc)
        rc = f->inner->ops->remove(f->inner, key);
    return fault_after(OP_REMOVE, lose, rc, key);
}

/* ---- multipart ------------------------------------------------------------------ */

static int fault_begin(kv_store *st, const char *key, uint64_t total, uint64_t part,
                       kv_upload **out)
{
    fault_store *f = (fault_store *)st;
    kv_upload *up = calloc(1, sizeof *up);
    int lose, rc = up ? fault_before(f, OP_BEGIN, key, &lose) : kv_oom();
    if (!rc)
        rc = f->inner->ops->upload_begin(f->inner, key, total, part, &up->inner);
    if (!rc && lose) {
        f->inner->ops->upload_abort(up->inner); /* a lost reply: the caller begins again */
        rc = fault_after(OP_BEGIN, lose, rc, key);
    }
    if (rc) {
        free(up);
        return rc;
    }
    up->f = f;
    *out = up;
    return KV_OK;
}

static int fault_part(kv_upload *up, uint32_t n, uint64_t off, const void *buf, size_t len,
                      const kv_digest *d)
{
    int lose, rc = fault_before(up->f, OP_PART, NULL, &lose);
    if (!rc)
        rc = up->f->inner->ops->upload_part(up->inner, n, off, buf, len, d);
    return fault_after(OP_PART, lose, rc, NULL);
}

/* The inner upload frees itself when it completes; a lost reply after that
 * must still answer KV_OK when the caller retries, as the contract says. */
static int fault_complete(kv_upload *up)
{
    int lose, rc = up->inner ? fault_before(up->f, OP_COMPLETE, NULL, &lose) : KV_OK;
    if (!up->inner) {
        free(up);
        return KV_OK;
    }
    if (!rc)
        rc = up->f->inner->ops->upload_complete(up->inner);
    if (!rc) {
        up->inner = NULL;
        if (lose)
            return fault_after(OP_COMPLETE, lose, rc, NULL);
        free(up);
    }
    return rc;
}

static void fault_abort(kv_upload *up)
{
    if (up->inner)
        up->f->inner->ops->upload_abort(up->inner);
    free(up);
}

static int fault_sync(kv_store *st)
{
    fault_store *f = (fault_store *)st;
    return f->inner->ops->sync ? f->inner->ops->sync(f->inner) : KV_OK;
}

static int fault_garbage(kv_store *st, const char *prefix, int64_t older_than_unix, int dry_run,
                         kv_garbage_cb cb, void *payload)
{
    fault_store *f = (fault_store *)st;
    const kv_store_ops *in = f->inner->ops;
    int lose, rc = fault_before(f, OP_GARBAGE, prefix, &lose);
    if (!rc && in->version >= 2 && in->garbage)
        rc = in->garbage(f->inner, prefix, older_than_unix, dry_run, cb, payload);
    return fault_after(OP_GARBAGE, lose, rc, prefix);
}

static const kv_store_ops fault_ops = {
    .version = KV_STORE_OPS_VERSION,
    .scheme = "fault",
    .caps = KV_CAP_MULTIPART | KV_CAP_RANGE_GET,
    .min_part = 64 << 10,
    .max_part = 1u << 30,
    .max_parts = 10000,
    .open = fault_open,
    .put = fault_put,
    .get = fault_get,
    .stat = fault_stat,
    .list = fault_list,
    .remove = fault_remove,
    .upload_begin = fault_begin,
    .upload_part = fault_part,
    .upload_complete = fault_complete,
    .upload_abort = fault_abort,
    .sync = fault_sync,
    .close = fault_close,
    .garbage = fault_garbage,
};

static int register_rc;

static void register_once(void)
{
    register_rc = kv_store_register(&fault_ops);
}

int kvt_fault_calls(kv_store *st, const char *op, unsigned *out)
{
    int i = op_of(op, strlen(op)), rc = kv_store_check_backend(st, &fault_ops, "kvt_fault_calls");
    fault_store *f = (fault_store *)st;
    if (!rc && i < 0)
        rc = kv_seterr(KV_EINVAL, "kvt_fault_calls: no op '%s'", op);
    if (rc)
        return rc;
    pthread_mutex_lock(&f->lock);
    *out = f->calls[i];
    pthread_mutex_unlock(&f->lock);
    return KV_OK;
}

int kvt_fault_register(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
    return register_rc;
}
