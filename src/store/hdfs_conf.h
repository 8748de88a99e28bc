/* Hadoop's XML configuration files (core-site.xml, hdfs-site.xml in
 * HADOOP_CONF_DIR): <configuration><property><name/><value/><final/>
 * </property>...</configuration>, as org.apache.hadoop.conf.Configuration
 * reads them, parsed with libxml2. Variable expansion (${...}) and
 * XInclude are not done. And what they say about a store URL: which
 * NameNodes it names. */
#ifndef KV_STORE_HDFS_CONF_H
#define KV_STORE_HDFS_CONF_H

#include <stddef.h>

#include "kvault/sys/store.h"

typedef struct kv_hadoop_conf kv_hadoop_conf;

/* Reads each of files (NULL-terminated names) in dir, in order: a later
 * file's value replaces an earlier one unless that was <final>true</final>,
 * as Configuration.addResource does. A missing file is skipped; one that is
 * not well-formed, or whose root is not <configuration>, is an error naming
 * it. */
int kv_hadoop_conf_load(const char *dir, const char *const *files, kv_hadoop_conf **out);
void kv_hadoop_conf_free(kv_hadoop_conf *conf);

/* The value of name with surrounding white space removed (getTrimmed), or
 * NULL when it is not set; *file (if file is not NULL) gets the path of the
 * file that set it. */
const char *kv_hadoop_conf_get(const kv_hadoop_conf *conf, const char *name, const char **file);

/* The directory the configuration was read from. */
const char *kv_hadoop_conf_dir(const kv_hadoop_conf *conf);

/* The NameNodes of a URL (docs/hdfs.md "Which NameNodes"). */
typedef struct kv_hadoop_nns {
    char **origins;   /* "http://nn1:9870", in configuration order */
    size_t n;
    char *name;       /* "hdfs://nn1:9870" or "hdfs://ns1", for messages */
    char *ns;         /* the nameservice; NULL for a host */
} kv_hadoop_nns;

/* hdfs://host[:port] as given (port 9870, 9871 for swebhdfs://); a
 * nameservice of dfs.nameservices with the HTTP (or, by dfs.http.policy,
 * HTTPS) address of each of its NameNodes; hdfs:///path through
 * fs.defaultFS. conf may be NULL (no HADOOP_CONF_DIR). Mistakes are
 * KV_EINVAL naming the file and the property. */
int kv_hadoop_namenodes(const kv_url *url, const kv_hadoop_conf *conf, kv_hadoop_nns *out);
void kv_hadoop_nns_free(kv_hadoop_nns *nns);

#endif
