#!/bin/sh
# The WebHDFS test server (tests/servers/webhdfs_server.py) as a test fixture.
#
#   tests/servers/webhdfs.sh start DIR [SERVER-ARGS...]  starts it on free 127.0.0.1
#                                                ports, data under DIR, and
#                                                writes DIR/env
#   tests/servers/webhdfs.sh stop DIR                    stops it by PID, removes DIR
#   tests/servers/webhdfs.sh certs DIR                   writes a test CA (ca.pem) and
#                                                a certificate for 127.0.0.1
#                                                signed by it (server.pem,
#                                                server.key) into DIR
#
# Among the server's arguments, --tls makes certificates under DIR/tls and
# serves HTTPS with them, and --token-files writes DIR/tokens.writable and
# DIR/tokens.protobuf (Hadoop credentials files for the server's tokens).
#
# DIR/env exports KV_HDFS_NN (host:port of the NameNode), KV_HDFS_DN_PORT,
# KV_HDFS_CONTROL (the server's test-hook URL), KV_HDFS_PID, and with HA
# (--standby) KV_HDFS_NN2 (the second NameNode), with --tls KV_HDFS_CA (the
# CA file), with --token-files KV_HDFS_TOKENS (the directory of the files).
set -eu
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: webhdfs.sh start|stop DIR [ARGS]" >&2; exit 2; }
shift 2
here=$(cd "$(dirname "$0")" && pwd)

stop() {
    if [ -f "$dir/pid" ]; then
        pid=$(cat "$dir/pid")
        kill "$pid" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

# A CA and a server certificate for 127.0.0.1 (EC P-256, valid 2 days),
# made fresh for each fixture: no key is ever committed.
certs() {
    mkdir -p "$1"
    (
        cd "$1"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout ca.key -out ca.pem -days 2 -subj "/CN=kvault test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -out server.pem -days 2 -extfile ext 2>/dev/null
        rm -f server.csr ext ca.srl
    )
    [ -s "$1/server.pem" ] || { echo "webhdfs.sh: openssl could not make certificates" >&2; exit 1; }
}

case $cmd in
certs)
    certs "$dir"
    ;;
start)
    stop
    mkdir -p "$dir"
    args=""
    for a in "$@"; do
        case $a in
        --tls) certs "$dir/tls"
               args="$args --tls-cert $dir/tls/server.pem --tls-key $dir/tls/server.key" ;;
        --token-files) args="$args --token-files $dir" ;;
        *) args="$args $a" ;;
        esac
    done
    # shellcheck disable=SC2086 # word splitting of the argument list is wanted
    setsid /usr/bin/python3 "$here/webhdfs_server.py" --dir "$dir/data" \
        --port-file "$dir/ports" $args </dev/null >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
        [ -f "$dir/ports" ] && break
        kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
        sleep 0.1
    done
    [ -f "$dir/ports" ] || { echo "webhdfs.sh: server did not start" >&2; exit 1; }
    /usr/bin/python3 - "$dir" >"$dir/env" <<'PY'
import json, os, sys
d = sys.argv[1]
p = json.load(open(os.path.join(d, "ports")))
tls = os.path.exists(os.path.join(d, "tls", "ca.pem"))
print("export KV_HDFS_NN=127.0.0.1:%d KV_HDFS_DN_PORT=%d KV_HDFS_PID=%d"
      % (p["namenode"], p["datanode"], p["pid"]))
print("export KV_HDFS_CONTROL=%s://127.0.0.1:%d/_control" % ("https" if tls else "http",
                                                             p["namenode"]))
if "namenode2" in p:
    print("export KV_HDFS_NN2=127.0.0.1:%d" % p["namenode2"])
if tls:
    print("export KV_HDFS_CA=%s" % os.path.join(d, "tls", "ca.pem"))
if os.path.exists(os.path.join(d, "tokens.writable")):
    print("export KV_HDFS_TOKENS=%s" % d)
PY
    ;;
stop)
    stop
    ;;
*)
    echo "usage: webhdfs.sh start|stop DIR [ARGS]" >&2
    exit 2
    ;;
esac
