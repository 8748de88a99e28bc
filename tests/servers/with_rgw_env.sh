#!/bin/sh
# with_rgw_env.sh DIR COMMAND [ARG...]: runs COMMAND with the environment of
# the RADOS Gateway that `scripts/rgw.sh start DIR` started (credentials,
# endpoint, region). Settings a developer may have for real AWS are cleared
# so that they cannot leak into the test.
set -e
dir=$1
shift
[ -f "$dir/env" ] || { echo "with_rgw_env.sh: no cluster at $dir (fixture not run?)" >&2; exit 1; }
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3 AWS_DEFAULT_REGION AWS_CA_BUNDLE
unset KVAULT_S3_ADDRESSING KVAULT_S3_CHECKSUM KVAULT_S3_MAX_KEYS
unset KVAULT_STALL_TIMEOUT KVAULT_CONNECT_TIMEOUT
export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null
. "$dir/env"
exec "$@"
