#!/bin/bash
# A throw-away Azurite (Microsoft's Azure Storage emulator), blob service
# only, for tests and benchmarks.
#
#   scripts/azurite.sh start DIR   installs azurite (and the Azure SDK the
#                                  interop tests use) into KV_NODE_DIR if
#                                  missing, starts azurite-blob on a free
#                                  127.0.0.1 port with all state under DIR,
#                                  and writes DIR/env
#   scripts/azurite.sh stop DIR    kills it by PID and removes DIR
#
# Strict mode: no --loose and no --skipApiVersionCheck, so a header or an
# x-ms-version Azurite does not support is an error, as it would be on Azure.
# Two accounts: the emulator's well-known devstoreaccount1 and "kvcustom"
# with a key made up per start (AZURITE_ACCOUNTS replaces the default
# account, so both are listed). KV_AZURITE_DEBUG=1 writes Azurite's debug log
# (it shows every string to sign) to DIR/debug.log.
#
# DIR/env holds shell `export` lines: AZURE_STORAGE_CONNECTION_STRING (the
# dev account), KV_AZURITE_ENDPOINT, KV_AZURITE_DEV_CONN, KV_AZURITE_DEV_KEY,
# KV_AZURITE_CUSTOM_ACCOUNT, KV_AZURITE_CUSTOM_KEY, KV_AZURITE_CUSTOM_ENDPOINT,
# KV_AZURITE_CUSTOM_CONN, KV_AZURITE_PIDS, NODE_PATH (for the SDK). No
# container is created.
set -euo pipefail

KV_SCRIPT=azurite.sh
# shellcheck source=scripts/server-lib.sh
. "$(dirname "$0")/server-lib.sh"

AZURITE_VERSION=3.35.0
SDK_VERSION=12.29.1 # its x-ms-version 2025-11-05 is the newest Azurite 3.35 accepts
DEV_ACCOUNT=devstoreaccount1
DEV_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
CUSTOM_ACCOUNT=kvcustom
REPO=$(cd "$(dirname "$0")/.." && pwd)
KV_NODE_DIR=${KV_NODE_DIR:-$REPO/.cache/node}

usage() {
    die "usage: azurite.sh start|stop DIR"
}

install_if_missing() {
    if [ "$(installed_version azurite)" = $AZURITE_VERSION ] &&
        [ "$(installed_version @azure/storage-blob)" = $SDK_VERSION ]; then
        return 0
    fi
    mkdir -p "$KV_NODE_DIR"
    echo "azurite.sh: installing azurite@$AZURITE_VERSION and @azure/storage-blob@$SDK_VERSION into $KV_NODE_DIR" >&2
    npm install --prefix "$KV_NODE_DIR" --no-audit --no-fund --loglevel=error \
        azurite@$AZURITE_VERSION @azure/storage-blob@$SDK_VERSION >&2 ||
        die "npm install failed"
}

conn_string() { # ACCOUNT KEY ENDPOINT
    printf 'DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;' "$1" "$2" "$3"
}

start() {
    local port custom_key debug=() pid
    install_if_missing
    mkdir -p "$DIR/data"
    port=$(free_port)
    custom_key=$(head -c 64 /dev/urandom | base64 -w0)
    if [ "${KV_AZURITE_DEBUG:-}" = 1 ]; then
        debug=(--debug "$DIR/debug.log")
    fi
    AZURITE_ACCOUNTS="$DEV_ACCOUNT:$DEV_KEY;$CUSTOM_ACCOUNT:$custom_key" \
        setsid "$KV_NODE_DIR/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 \
        --blobPort "$port" --location "$DIR/data" --disableTelemetry "${debug[@]}" \
        </dev/null >"$DIR/azurite.out" 2>&1 &
    pid=$!
    echo $pid >"$DIR/pids"
    for ((i = 0; i < 300; i++)); do
        listening "$port" && break
        kill -0 $pid 2>/dev/null || die "azurite exited: $(cat "$DIR/azurite.out")"
        sleep 0.1
    done
    listening "$port" || die "azurite did not listen on port $port within 30 s"
    local dev_ep="http://127.0.0.1:$port/$DEV_ACCOUNT" custom_ep="http://127.0.0.1:$port/$CUSTOM_ACCOUNT"
    cat >"$DIR/env" <<ENV
export KV_AZURITE_ENDPOINT='$dev_ep'
export KV_AZURITE_DEV_KEY='$DEV_KEY'
export KV_AZURITE_DEV_CONN='$(conn_string $DEV_ACCOUNT "$DEV_KEY" "$dev_ep")'
export KV_AZURITE_CUSTOM_ACCOUNT='$CUSTOM_ACCOUNT'
export KV_AZURITE_CUSTOM_KEY='$custom_key'
export KV_AZURITE_CUSTOM_ENDPOINT='$custom_ep'
export KV_AZURITE_CUSTOM_CONN='$(conn_string $CUSTOM_ACCOUNT "$custom_key" "$custom_ep")'
export AZURE_STORAGE_CONNECTION_STRING="\$KV_AZURITE_DEV_CONN"
export KV_AZURITE_PIDS='$pid'
export NODE_PATH='$KV_NODE_DIR/node_modules'
ENV
    echo "azurite.sh: azurite $AZURITE_VERSION (pid $pid) at $dev_ep and $custom_ep" >&2
}

stop() {
    stop_pids "$DIR/pids"
    rm -rf "$DIR"
}

[ $# = 2 ] || usage
DIR=$(mkdir -p "$2" && cd "$2" && pwd)
case $1 in
start) start ;;
stop) stop ;;
*) usage ;;
esac
