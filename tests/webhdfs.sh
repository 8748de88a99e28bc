#!/bin/sh
# The WebHDFS test server (tests/webhdfs_server.py) as a test fixture.
#
#   tests/webhdfs.sh start DIR [SERVER-ARGS...]  starts it on free 127.0.0.1
#                                                ports, data under DIR, and
#                                                writes DIR/env
#   tests/webhdfs.sh stop DIR                    stops it by PID, removes DIR
#
# DIR/env exports KV_HDFS_NN (host:port of the NameNode), KV_HDFS_DN_PORT,
# KV_HDFS_CONTROL (the server's test-hook URL) and KV_HDFS_PID.
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

case $cmd in
start)
    stop
    mkdir -p "$dir"
    setsid /usr/bin/python3 "$here/webhdfs_server.py" --dir "$dir/data" \
        --port-file "$dir/ports" "$@" </dev/null >"$dir/server.log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
        [ -f "$dir/ports" ] && break
        kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
        sleep 0.1
    done
    [ -f "$dir/ports" ] || { echo "webhdfs.sh: server did not start" >&2; exit 1; }
    /usr/bin/python3 - "$dir/ports" >"$dir/env" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
print("export KV_HDFS_NN=127.0.0.1:%d KV_HDFS_DN_PORT=%d KV_HDFS_PID=%d"
      % (p["namenode"], p["datanode"], p["pid"]))
print("export KV_HDFS_CONTROL=http://127.0.0.1:%d/_control" % p["namenode"])
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
