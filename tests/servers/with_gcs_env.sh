#!/bin/sh
# with_gcs_env.sh MODE EMULATOR_DIR SERVER_DIR COMMAND [ARG...]: runs COMMAND
# with the GCS test servers' environment. Settings a developer may have for
# real Google Cloud are cleared first so they cannot leak in.
#   MODE emulator  STORAGE_EMULATOR_HOST points at Google's emulator
#   MODE server    KVAULT_GCS_ENDPOINT + GOOGLE_APPLICATION_CREDENTIALS point
#                  at the project's server (OAuth on)
#   MODE both      both env files' variables, neither selected (the test
#                  chooses per case)
set -e
mode=$1 emu=$2 srv=$3
shift 3
unset STORAGE_EMULATOR_HOST KVAULT_GCS_ENDPOINT GOOGLE_APPLICATION_CREDENTIALS KVAULT_GCS_TOKEN \
    GOOGLE_OAUTH_ACCESS_TOKEN GCE_METADATA_HOST KVAULT_GCS_CHUNK_SIZE \
    KVAULT_GCS_RESUMABLE_THRESHOLD KVAULT_GCS_MAX_RESULTS KVAULT_STALL_TIMEOUT
for d in "$emu" "$srv"; do
    [ -f "$d/env" ] || { echo "with_gcs_env.sh: no server at $d (fixture not run?)" >&2; exit 1; }
    . "$d/env"
done
export KV_GCS_EMULATOR_HOST="$STORAGE_EMULATOR_HOST"
unset STORAGE_EMULATOR_HOST
case $mode in
emulator) export STORAGE_EMULATOR_HOST="$KV_GCS_EMULATOR_HOST" ;;
server)
    export KVAULT_GCS_ENDPOINT="$KV_GCS_SERVER_ENDPOINT"
    export GOOGLE_APPLICATION_CREDENTIALS="$KV_GCS_SERVER_CREDENTIALS"
    ;;
both) ;;
*) echo "with_gcs_env.sh: MODE is emulator, server or both" >&2; exit 2 ;;
esac
exec "$@"
