#!/bin/bash
# Google's Cloud Storage emulator (from npm firebase-tools), for tests and
# benchmarks.
#
#   scripts/gcs-emulator.sh start DIR   installs firebase-tools and the
#                                       @google-cloud/storage client into
#                                       KV_NODE_DIR if missing (slow: 2-4 min
#                                       and ~300 MB the first time), starts
#                                       the emulator on a free 127.0.0.1 port
#                                       with its files under DIR, writes DIR/env
#   scripts/gcs-emulator.sh stop DIR    kills it by PID and removes DIR
#
# DIR/env holds shell `export` lines: STORAGE_EMULATOR_HOST
# (http://127.0.0.1:PORT), KV_GCS_EMULATOR_PIDS, NODE_PATH. Buckets need no
# creating: the emulator makes a bucket when a request first names it.
# What it serves faithfully and what not: shared notes/test-servers.md and
# docs/gcs.md.
set -euo pipefail

KV_SCRIPT=gcs-emulator.sh
# shellcheck source=scripts/server-lib.sh
. "$(dirname "$0")/server-lib.sh"

FIREBASE_VERSION=15.34.2 # tests/servers/gcs_emulator.js uses its internals: keep pinned
STORAGE_SDK_VERSION=8.4.0
REPO=$(cd "$(dirname "$0")/.." && pwd)
KV_NODE_DIR=${KV_NODE_DIR:-$REPO/.cache/node}

usage() {
    die "usage: gcs-emulator.sh start|stop DIR"
}

install_if_missing() {
    if [ "$(installed_version firebase-tools)" = $FIREBASE_VERSION ] &&
        [ "$(installed_version @google-cloud/storage)" = $STORAGE_SDK_VERSION ]; then
        return 0
    fi
    mkdir -p "$KV_NODE_DIR"
    echo "gcs-emulator.sh: installing firebase-tools@$FIREBASE_VERSION and" \
        "@google-cloud/storage@$STORAGE_SDK_VERSION into $KV_NODE_DIR (slow: 2-4 min, ~300 MB)" >&2
    npm install --prefix "$KV_NODE_DIR" --no-audit --no-fund --loglevel=error \
        firebase-tools@$FIREBASE_VERSION @google-cloud/storage@$STORAGE_SDK_VERSION >&2 ||
        die "npm install failed"
}

start() {
    local port pid
    install_if_missing
    mkdir -p "$DIR/tmp"
    port=$(free_port)
    # TMPDIR keeps the emulator's blob files under DIR
    TMPDIR="$DIR/tmp" NODE_PATH="$KV_NODE_DIR/node_modules" \
        setsid node "$REPO/tests/servers/gcs_emulator.js" "$port" </dev/null >"$DIR/emulator.out" 2>&1 &
    pid=$!
    echo $pid >"$DIR/pids"
    for ((i = 0; i < 300; i++)); do
        listening "$port" && break
        kill -0 $pid 2>/dev/null || die "the emulator exited: $(cat "$DIR/emulator.out")"
        sleep 0.1
    done
    listening "$port" || die "the emulator did not listen on port $port within 30 s"
    cat >"$DIR/env" <<ENV
export STORAGE_EMULATOR_HOST='http://127.0.0.1:$port'
export KV_GCS_EMULATOR_PIDS='$pid'
export NODE_PATH='$KV_NODE_DIR/node_modules'
ENV
    echo "gcs-emulator.sh: firebase-tools $FIREBASE_VERSION storage emulator (pid $pid) at http://127.0.0.1:$port" >&2
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
