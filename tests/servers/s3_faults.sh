#!/bin/sh
# s3_faults.sh TEST_BINARY URL: starts the fault-injecting proxies in front of
# the gateway at $AWS_ENDPOINT_URL (run under tests/servers/with_rgw_env.sh), runs
# the test binary against them, and checks that every kind of fault was
# actually injected. Stops the proxies by PID.
set -u
bin=$1
url=$2
here=$(dirname "$0")
work=$(mktemp -d /tmp/kvs3-proxy-XXXXXX)
fp=
sp=

cleanup() {
    [ -n "$fp" ] && kill "$fp" 2>/dev/null
    [ -n "$sp" ] && kill "$sp" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

wait_port() {
    i=0
    while [ ! -s "$1" ]; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "s3_faults.sh: proxy did not start" >&2; exit 1; }
        sleep 0.1
    done
    cat "$1"
}

/usr/bin/python3 "$here/s3_fault_proxy.py" faulty "$AWS_ENDPOINT_URL" 20261123 \
    "$work/faulty.port" "$work/faults.log" &
fp=$!
/usr/bin/python3 "$here/s3_fault_proxy.py" stall "$work/stall.port" &
sp=$!
KV_FAULTY_ENDPOINT=http://127.0.0.1:$(wait_port "$work/faulty.port")
KV_STALL_ENDPOINT=http://127.0.0.1:$(wait_port "$work/stall.port")
export KV_FAULTY_ENDPOINT KV_STALL_ENDPOINT

"$bin" "$url"
rc=$?

touch "$work/faults.log"
echo "faults injected: $(sort "$work/faults.log" | cut -d' ' -f1,2 | uniq -c | tr '\n' ',')"
for kind in reset slowdown cut error200; do
    if ! grep -q "^$kind " "$work/faults.log"; then
        echo "s3_faults.sh: no '$kind' fault was injected: the test proved nothing about it" >&2
        rc=1
    fi
done
exit $rc
