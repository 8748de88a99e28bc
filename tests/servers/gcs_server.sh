#!/bin/bash
# The project's GCS test server (tests/servers/gcs_server.py) with OAuth, for tests.
#
#   tests/servers/gcs_server.sh start DIR [TOKEN_TTL]  makes a throw-away service
#                                  account (openssl genpkey; the private key
#                                  lives only in DIR), starts the server on a
#                                  free 127.0.0.1 port with bucket "kvtest",
#                                  pages of 100 and tokens valid TOKEN_TTL
#                                  seconds (default 3600), and writes DIR/env
#   tests/servers/gcs_server.sh stop DIR   kills it by PID and removes DIR
#
# DIR/env holds shell `export` lines: KV_GCS_SERVER_ENDPOINT (the API base
# URL), KV_GCS_SERVER_CREDENTIALS (the service-account JSON, token_uri at the
# server), KV_GCS_SERVER_PIDS.
set -euo pipefail

KV_SCRIPT=gcs_server.sh
# shellcheck source=scripts/server-lib.sh
. "$(dirname "$0")/../../scripts/server-lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

start() {
    local ttl=${1:-3600} port pid email=kvault-test@kvault-test.iam.gserviceaccount.com
    mkdir -p "$DIR"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$DIR/key.pem" 2>/dev/null
    openssl pkey -in "$DIR/key.pem" -pubout -out "$DIR/pub.pem"
    port=$(free_port)
    /usr/bin/python3 - "$DIR/key.pem" "$email" "http://127.0.0.1:$port/token" >"$DIR/sa.json" <<'PY'
import json, sys
key = open(sys.argv[1]).read()
print(json.dumps({"type": "service_account", "project_id": "kvault-test",
                  "private_key_id": "test-key-1", "private_key": key,
                  "client_email": sys.argv[2], "client_id": "1",
                  "token_uri": sys.argv[3]}, indent=2))
PY
    chmod 600 "$DIR/key.pem" "$DIR/sa.json"
    setsid /usr/bin/python3 "$HERE/gcs_server.py" --port "$port" --bucket kvtest \
        --public-key "$DIR/pub.pem" --client-email "$email" --token-ttl "$ttl" \
        --page-size 100 </dev/null >"$DIR/server.out" 2>&1 &
    pid=$!
    echo $pid >"$DIR/pids"
    for ((i = 0; i < 100; i++)); do
        listening "$port" && break
        kill -0 $pid 2>/dev/null || die "the server exited: $(cat "$DIR/server.out")"
        sleep 0.1
    done
    listening "$port" || die "the server did not listen on port $port within 10 s"
    cat >"$DIR/env" <<ENV
export KV_GCS_SERVER_ENDPOINT='http://127.0.0.1:$port'
export KV_GCS_SERVER_CREDENTIALS='$DIR/sa.json'
export KV_GCS_SERVER_PIDS='$pid'
ENV
    echo "gcs_server.sh: test server (pid $pid) at http://127.0.0.1:$port" >&2
}

stop() {
    stop_pids "$DIR/pids"
    rm -rf "$DIR"
}

[ $# -ge 2 ] || die "usage: gcs_server.sh start DIR [TOKEN_TTL] | stop DIR"
DIR=$(mkdir -p "$2" && cd "$2" && pwd)
case $1 in
start) start "${3:-}" ;;
stop) stop ;;
*) die "usage: gcs_server.sh start DIR [TOKEN_TTL] | stop DIR" ;;
esac
