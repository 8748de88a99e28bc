#!/bin/bash
# with_webhdfs_env.sh DIR COMMAND [ARG...]: runs COMMAND with the environment
# of the WebHDFS test server that `tests/webhdfs.sh start DIR` started; "@NN@"
# in any argument becomes the NameNode's host:port. HDFS settings a developer
# may have are cleared so that they cannot leak into the test.
set -e
dir=$1
shift
[ -f "$dir/env" ] || { echo "with_webhdfs_env.sh: no server at $dir (fixture not run?)" >&2; exit 1; }
unset HADOOP_USER_NAME KVAULT_HDFS_DELEGATION KVAULT_HDFS_HTTPFS KVAULT_HDFS_NATIVE
unset KVAULT_HDFS_DATANODE_REWRITE KVAULT_HDFS_CHECKSUM
. "$dir/env"
args=()
for a in "$@"; do
    args+=("${a//@NN@/$KV_HDFS_NN}")
done
exec "${args[@]}"
