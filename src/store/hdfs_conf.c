#include "store/hdfs_conf.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/err.h"
#include "util/fs.h"
#include "util/xml.h"

typedef struct prop {
    char *name, *value;
    const char *file; /* one of files[] */
    int final;
} prop;

struct kv_hadoop_conf {
    char *dir;
    char *files[4];   /* paths of the files read */
    size_t nfiles;
    prop *v;
    size_t n, cap;
};

/* s without leading and trailing white space, in place. */
static char *trim(char *s)
{
    char *end;
    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static prop *find(const kv_hadoop_conf *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].name, name) == 0)
            return &c->v[i];
    return NULL;
}

/* Records name = value from file, unless an earlier final value holds. */
static int set(kv_hadoop_conf *c, const char *name, const char *value, const char *file,
               int final)
{
    prop *p = find(c, name);
    char *v;
    if (p && p->final)
        return KV_OK;
    if (!(v = strdup(value)))
        return kv_oom();
    if (p) {
        free(p->value);
    } else {
        if (c->n == c->cap) {
            size_t cap = c->cap ? 2 * c->cap : 32;
            prop *nv = realloc(c->v, cap * sizeof *nv);
            if (!nv) {
                free(v);
                return kv_oom();
            }
            c->v = nv;
            c->cap = cap;
        }
        p = &c->v[c->n];
        if (!(p->name = strdup(name))) {
            free(v);
            return kv_oom();
        }
        c->n++;
    }
    p->value = v;
    p->file = file;
    p->final = final;
    return KV_OK;
}

/* One <property>: its name, value and final flag. A property without a
 * name or value is skipped, as Configuration does. */
static int read_property(kv_hadoop_conf *c, xmlNode *node, const char *file)
{
    char *name = kv_xml_text_dup(node, "name"), *value = kv_xml_text_dup(node, "value");
    char *final = kv_xml_text_dup(node, "final");
    int rc = KV_OK;
    if (name && value)
        rc = set(c, trim(name), trim(value), file, final && strcmp(trim(final), "true") == 0);
    free(name);
    free(value);
    free(final);
    return rc;
}

static int read_file(kv_hadoop_conf *c, const char *path)
{
    kv_buf body = KV_BUF_INIT;
    xmlDoc *doc = NULL;
    xmlNode *root;
    size_t len = 0;
    int rc = kv_read_file(path, &body.data, &len);
    if (rc)
        return rc;
    body.len = body.cap = len;
    doc = kv_xml_parse(&body);
    root = kv_xml_root(doc, "configuration");
    if (!root)
        rc = kv_seterr(KV_EINVAL, "Hadoop configuration '%s': %s", path,
                       doc ? "the root element is not <configuration>" : "not well-formed XML");
    for (xmlNode *n = root ? root->children : NULL; n && rc == KV_OK; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "property") == 0)
            rc = read_property(c, n, path);
    xmlFreeDoc(doc);
    kv_buf_free(&body);
    return rc;
}

int kv_hadoop_conf_load(const char *dir, const char *const *files, kv_hadoop_conf **out)
{
    kv_hadoop_conf *c = calloc(1, sizeof *c);
    int rc = c && (c->dir = strdup(dir)) ? KV_OK : kv_oom();
    *out = NULL;
    for (size_t i = 0; rc == KV_OK && files[i] && c->nfiles < 4; i++) {
        struct stat st;
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, files[i]) < 0) {
            rc = kv_oom();
            break;
        }
        c->files[c->nfiles++] = path;
        if (stat(path, &st) == 0)
            rc = read_file(c, path);
        else if (errno != ENOENT)
            rc = kv_seterr_errno(KV_EIO, errno, "Hadoop configuration '%s'", path);
    }
    if (rc) {
        kv_hadoop_conf_free(c);
        return rc;
    }
    *out = c;
    return KV_OK;
}

void kv_hadoop_conf_free(kv_hadoop_conf *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].name);
        free(c->v[i].value);
    }
    for (size_t i = 0; i < c->nfiles; i++)
        free(c->files[i]);
    free(c->v);
    free(c->dir);
    free(c);
}

const char *kv_hadoop_conf_get(const kv_hadoop_conf *c, const char *name, const char **file)
{
    const prop *p = c ? find(c, name) : NULL;
    if (file)
        *file = p ? p->file : NULL;
    return p ? p->value : NULL;
}

const char *kv_hadoop_conf_dir(const kv_hadoop_conf *c)
{
    return c->dir;
}

/* ---- which NameNodes a URL names ------------------------------------------------- */

#define HTTP_PORT 9870  /* DFS_NAMENODE_HTTP_PORT_DEFAULT (Hadoop 3) */
#define HTTPS_PORT 9871 /* DFS_NAMENODE_HTTPS_PORT_DEFAULT */

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
static int add_namenode(kv_hadoop_nns *s, int https, const char *key, const char *addr,
                        const char *file)
{
    const char *colon = strrchr(addr, ':');
    char *end = NULL, **v;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == addr || *end || port < 1 || port > 65535 ||
        strncmp(addr, "0.0.0.0:", 8) == 0)
        return kv_seterr(KV_EINVAL, "%s: %s = '%s' is not a NameNode host:port", file, key, addr);
    v = realloc(s->origins, (s->n + 1) * sizeof *v);
    if (!v)
        return kv_oom();
    s->origins = v;
    if (asprintf(&s->origins[s->n], "%s://%s", https ? "https" : "http", addr) < 0)
        return kv_oom();
    s->n++;
    return KV_OK;
}

/* The NameNodes of a nameservice, in configuration order: the HTTP (or
 * HTTPS) address of each of dfs.ha.namenodes.<ns>, or of the nameservice
 * itself when it is not HA (DFSUtilClient.getHaNnWebHdfsAddresses,
 * getAddressesForNameserviceId). */
static int ns_namenodes(kv_hadoop_nns *s, const kv_hadoop_conf *conf, const char *ns, int https)
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
    if (rc == KV_OK && s->n == 0)
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
static int default_host(kv_hadoop_nns *s, const kv_hadoop_conf *conf, const char *host, int https)
{
    const char *key = https ? "dfs.namenode.https-address" : "dfs.namenode.http-address";
    const char *file, *v = kv_hadoop_conf_get(conf, key, &file), *colon = v ? strrchr(v, ':') : 0;
    char addr[512];
    snprintf(addr, sizeof addr, "%.*s:%s", (int)strcspn(host, ":"), host,
             colon ? colon + 1 : https ? "9871" : "9870");
    return add_namenode(s, https, key, addr, file ? file : "fs.defaultFS");
}

/* Fills s->origins and s->name from the URL; *ns gets the nameservice. */
static int resolve(kv_hadoop_nns *s, const kv_url *url, const kv_hadoop_conf *conf, char **ns)
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
                                *ns || from_default ? auth : s->origins[0] + (https ? 8 : 7)) < 0)
        rc = kv_oom();
out:
    free(auth);
    return rc;
}

int kv_hadoop_namenodes(const kv_url *url, const kv_hadoop_conf *conf, kv_hadoop_nns *out)
{
    int rc;
    memset(out, 0, sizeof *out);
    rc = resolve(out, url, conf, &out->ns);
    if (rc)
        kv_hadoop_nns_free(out);
    return rc;
}

void kv_hadoop_nns_free(kv_hadoop_nns *nns)
{
    for (size_t i = 0; i < nns->n; i++)
        free(nns->origins[i]);
    free(nns->origins);
    free(nns->name);
    free(nns->ns);
    memset(nns, 0, sizeof *nns);
}
