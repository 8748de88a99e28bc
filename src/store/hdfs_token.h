/* Hadoop's token storage files (what HADOOP_TOKEN_FILE_LOCATION names, and
 * `hdfs fetchdt` writes): Credentials.writeTokenStorageToStream's "HDTS",
 * a format byte (SerializedFormat: 0 WRITABLE, 1 PROTOBUF) and the tokens,
 * each turned into Token.encodeToUrlString()'s form, the one WebHDFS takes
 * as delegation=. Tokens are secrets: nothing here logs them, and
 * kv_hadoop_tokens_free wipes them. */
#ifndef KV_STORE_HDFS_TOKEN_H
#define KV_STORE_HDFS_TOKEN_H

#include <stddef.h>

typedef struct kv_hadoop_token {
    char *alias;       /* the Credentials map's key */
    char *kind;        /* e.g. "HDFS_DELEGATION_TOKEN" */
    char *service;     /* e.g. "ha-hdfs:ns1" or "10.0.0.1:8020" */
    char *url_string;  /* Token.encodeToUrlString(): URL-safe base64 of
                          Token.write, no padding */
} kv_hadoop_token;

/* Reads every token of the file at path (secret keys are skipped). A file
 * that is not a token storage file, or is truncated, is an error naming it. */
int kv_hadoop_tokens_read(const char *path, kv_hadoop_token **out, size_t *n);
void kv_hadoop_tokens_free(kv_hadoop_token *tokens, size_t n);

#endif
