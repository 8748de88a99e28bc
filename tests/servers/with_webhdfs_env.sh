#!/bin/bash
# with_webhdfs_env.sh DIR COMMAND [ARG...]: runs COMMAND with the environment
# of the WebHDFS test server that `tests/servers/webhdfs.sh start DIR` started; "@NN@"
# in any argument becomes the NameNode's host:port, "@CA@" the fixture's CA
# file (HTTPS fixtures). HDFS settings a developer
# may have are cleared so that they cannot leak into the test.
set -e
dir=$1
shift
[ -f "$dir/env" ] || { echo "with_webhdfs_env.sh: no server at $dir (fixture not run?)" >&2; exit 1; }
unset HADOOP_USER_NAME KVAULT_HDFS_DELEGATION KVAULT_HDFS_HTTPFS KVAULT_HDFS_CA_FILE
unset KVAULT_HDFS_DATANODE_REWRITE KVAULT_HDFS_CHECKSUM KVAULT_HDFS_KERBEROS
unset HADOOP_CONF_DIR HADOOP_TOKEN_FILE_LOCATION HADOOP_SECURITY_AUTHENTICATION
. "$dir/env"
args=()
for a in "$@"; do
    a=${a//@NN@/$KV_HDFS_NN}
    args+=("${a//@CA@/${KV_HDFS_CA:-}}")
done
exec "${args[@]}"
