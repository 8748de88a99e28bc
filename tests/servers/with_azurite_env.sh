#!/bin/sh
# with_azurite_env.sh DIR COMMAND [ARG...]: runs COMMAND with the environment
# of the Azurite that `scripts/azurite.sh start DIR` started (the dev
# account's connection string, the custom account, NODE_PATH). Settings a
# developer may have for real Azure are cleared so they cannot leak in.
set -e
dir=$1
shift
[ -f "$dir/env" ] || { echo "with_azurite_env.sh: no Azurite at $dir (fixture not run?)" >&2; exit 1; }
unset AZURE_STORAGE_ACCOUNT AZURE_STORAGE_KEY AZURE_STORAGE_SAS_TOKEN AZURE_STORAGE_BLOB_ENDPOINT
unset KVAULT_AZURE_ENDPOINT KVAULT_AZURE_MAX_RESULTS KVAULT_STALL_TIMEOUT
. "$dir/env"
exec "$@"
