#include "store/hdfs_conf.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
