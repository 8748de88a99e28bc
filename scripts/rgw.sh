#!/bin/bash
# A throw-away one-node Ceph cluster with a RADOS Gateway, for tests.
#
#   scripts/rgw.sh start DIR   mon + osd (bluestore on a sparse file) + radosgw
#                              on free 127.0.0.1 ports, all state under DIR;
#                              creates user "test" and writes DIR/env
#   scripts/rgw.sh start-mon DIR   only the monitor (a RocksDB-backed service,
#                              for the source-safety tests); writes DIR/env
#   scripts/rgw.sh stop DIR    kills the daemons by PID and removes DIR
#
# DIR/env holds shell `export` lines: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_ENDPOINT_URL, AWS_REGION and KV_RGW_PIDS. No bucket is created.
# Settings follow shared/notes/test-servers.md; the short GC settings matter
# (without them deleted data stays for 2 h and the OSD can fill up).
set -eEuo pipefail

die() {
    echo "rgw.sh: $*" >&2
    exit 1
}

usage() {
    die "usage: rgw.sh start|start-mon|stop DIR"
}

# Prints a base port P such that P..P+31 are all free on 127.0.0.1. Random
# blocks keep concurrent clusters apart; the bind check skips busy ones.
pick_ports() {
    /usr/bin/python3 - <<'EOF'
import random, socket, sys
for _ in range(200):
    base = random.randrange(20000, 60000 - 32)
    socks = []
    try:
        for p in range(base, base + 32):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit("no free port block found")
EOF
}

# Runs a daemon in the foreground mode (-f) detached from this shell: its own
# session, output to a file, so that callers waiting on our stdout (ctest)
# are not held up. Appends its PID to DIR/pids.
spawn() {
    local name=$1
    shift
    setsid "$@" </dev/null >"$DIR/log/$name.out" 2>&1 &
    echo $! >>"$DIR/pids"
}

# wait_for SECONDS WHAT COMMAND...: retries COMMAND four times a second;
# gives up early when the daemon started last has died.
wait_for() {
    local limit=$1 what=$2 pid
    shift 2
    pid=$(tail -n 1 "$DIR/pids")
    for ((i = 0; i < limit * 4; i++)); do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "rgw.sh: the daemon started last (PID $pid) died while waiting for $what" >&2
            return 1
        fi
        sleep 0.25
    done
    echo "rgw.sh: timed out after ${limit}s waiting for $what" >&2
    return 1
}

# True when something answers HTTP at URL (any status).
http_answers() {
    /usr/bin/python3 - "$1" <<'EOF2'
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
EOF2
}

osd_up() {
    ceph -c "$CONF" osd stat 2>/dev/null | grep -q ' 1 up'
}

write_conf() {
    local base=$1 fsid=$2
    MON_V1=$base
    MON_V2=$((base + 1))
    RGW_PORT=$((base + 2))
    cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_V2,v1:127.0.0.1:$MON_V1]
mon initial members = a
public addr = 127.0.0.1
ms bind ipv6 = false
ms bind port min = $((base + 3))
ms bind port max = $((base + 31))
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
mon data = $DIR/mon/\$id
osd data = $DIR/osd/\$id
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon max pg per osd = 1000
auth allow insecure global id reclaim = false

[osd]
osd objectstore = bluestore
bluestore block path = $DIR/block.file
bluestore block create = true
bluestore block size = 17179869184
bluestore cache size = 512M
osd memory target = 1G
keyring = $DIR/osd/\$id/keyring

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw data = $DIR/rgw
keyring = $DIR/rgw/keyring
rgw gc obj min wait = 5
rgw gc processor period = 10
rgw gc processor max time = 10
EOF
}

start_mon() {
    local fsid=$1
    ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
    ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n client.admin \
        --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
    ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/keyring" >/dev/null
    monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_V2,v1:127.0.0.1:$MON_V1]" \
        "$DIR/monmap" >/dev/null
    mkdir -p "$DIR/mon/a"
    ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/mon.keyring"
    spawn mon.a ceph-mon -c "$CONF" -i a -f
    wait_for 60 "the monitor" ceph -c "$CONF" --connect-timeout 5 -s
}

start_osd() {
    local uuid secret
    uuid=$(uuidgen)
    secret=$(ceph-authtool --gen-print-key)
    mkdir -p "$DIR/osd/0"
    echo "{\"cephx_secret\": \"$secret\"}" >"$DIR/osd/secret.json"
    ceph -c "$CONF" osd new "$uuid" -i "$DIR/osd/secret.json" >/dev/null
    rm -f "$DIR/osd/secret.json"
    ceph-authtool --create-keyring "$DIR/osd/0/keyring" --name osd.0 --add-key "$secret" >/dev/null
    ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" >"$DIR/log/osd-mkfs.out" 2>&1
    spawn osd.0 ceph-osd -c "$CONF" -i 0 -f
    wait_for 120 "the OSD to come up" osd_up
}

start_rgw() {
    mkdir -p "$DIR/rgw"
    ceph -c "$CONF" auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' \
        -o "$DIR/rgw/keyring"
    spawn rgw.a radosgw -c "$CONF" -n client.rgw.a -f
    wait_for 120 "radosgw to answer HTTP" http_answers "http://127.0.0.1:$RGW_PORT/"
}

random_key() {
    head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F'
}

create_user() {
    ACCESS=$(random_key 10)
    SECRET=$(head -c 60 /dev/urandom | base64 -w0 | tr -d '+/=' | head -c 40)
    radosgw-admin -c "$CONF" user create --uid=test --display-name=test \
        --access-key="$ACCESS" --secret-key="$SECRET" >/dev/null
}

write_env() {
    local pids
    pids=$(tr '\n' ' ' <"$DIR/pids" | sed 's/ $//')
    umask 077
    cat >"$DIR/env" <<EOF
export AWS_ACCESS_KEY_ID=$ACCESS
export AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_ENDPOINT_URL=http://127.0.0.1:$RGW_PORT
export AWS_REGION=us-east-1
export KV_RGW_PIDS="$pids"
EOF
}

# True when PID still runs with our ceph.conf (a PID may have been reused).
ours() {
    local cmdline
    cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
    case $cmdline in *"$CONF"*) return 0 ;; *) return 1 ;; esac
}

# Kills the daemons listed in DIR/pids: TERM, up to 10 s to exit, then KILL.
kill_daemons() {
    local pid alive
    [ -f "$DIR/pids" ] || return 0
    for pid in $(cat "$DIR/pids"); do
        ! ours "$pid" || kill -TERM "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < 50; i++)); do
        alive=0
        for pid in $(cat "$DIR/pids"); do
            ! ours "$pid" || alive=1
        done
        [ $alive = 0 ] && return 0
        sleep 0.2
    done
    for pid in $(cat "$DIR/pids"); do
        ! ours "$pid" || kill -KILL "$pid" 2>/dev/null || true
    done
}

on_start_failure() {
    trap - ERR
    echo "rgw.sh: start failed; the daemons' last log lines:" >&2
    tail -n 20 "$DIR"/log/*.out "$DIR"/log/*.log >&2 2>/dev/null || true
    kill_daemons
}

cmd_start() {
    local fsid t0
    t0=$(date +%s%N)
    [ ! -e "$DIR/env" ] || die "$DIR already holds a cluster (stop it first)"
    mkdir -p "$DIR/log" "$DIR/run"
    : >"$DIR/pids"
    trap on_start_failure ERR
    fsid=$(uuidgen)
    write_conf "$(pick_ports)" "$fsid"
    start_mon "$fsid"
    start_osd
    start_rgw
    create_user
    write_env
    trap - ERR
    echo "rgw.sh: radosgw on http://127.0.0.1:$RGW_PORT," \
        "started in $((($(date +%s%N) - t0) / 1000000)) ms"
}

cmd_start_mon() {
    [ ! -e "$DIR/env" ] || die "$DIR already holds a cluster (stop it first)"
    mkdir -p "$DIR/log" "$DIR/run"
    : >"$DIR/pids"
    trap on_start_failure ERR
    write_conf "$(pick_ports)" "$(uuidgen)"
    start_mon "$(sed -n 's/^fsid = //p' "$CONF")"
    echo "export KV_MON_PID=$(tail -n 1 "$DIR/pids")" >"$DIR/env"
    trap - ERR
}

cmd_stop() {
    [ -d "$DIR" ] || return 0
    kill_daemons
    rm -rf "$DIR"
}

[ $# = 2 ] || usage
DIR=$(realpath -m "$2")
CONF=$DIR/ceph.conf
case $1 in
start) cmd_start ;;
start-mon) cmd_start_mon ;;
stop) cmd_stop ;;
*) usage ;;
esac
