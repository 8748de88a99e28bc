/* Hadoop's XML configuration files (core-site.xml, hdfs-site.xml in
 * HADOOP_CONF_DIR): <configuration><property><name/><value/><final/>
 * </property>...</configuration>, as org.apache.hadoop.conf.Configuration
 * reads them, parsed with libxml2. Variable expansion (${...}) and
 * XInclude are not done. */
#ifndef KV_STORE_HDFS_CONF_H
#define KV_STORE_HDFS_CONF_H

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

#endif
