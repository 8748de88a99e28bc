#!/usr/bin/env bash
# A real application's RocksDB: the Ceph monitor keeps its state in
# <mon data>/store.db, written by Ceph's own bundled RocksDB (6.x, an older
# table format than the librocksdb 7.8 kvault links). kvault backs it up
# while the monitor runs and writes, and again after it stops, without
# changing a byte of it; the monitor restarts on its own store; the restored
# store is read by Ceph's own tool and a monitor starts on it; a restore onto
# the running monitor's store is refused.
#   tests/cli/ceph_mon_test.sh KVAULT RGW_SH
set -euo pipefail

KVAULT=$(realpath "$1")
LABEL="ceph mon"
. "$(dirname "$(realpath "$0")")/cli_lib.sh"
RGW_SH=$(realpath "$2")
T=$(mktemp -d "${TMPDIR:-/tmp}/kvault-ceph-mon.XXXXXX")
C=$T/ceph
CONF=$C/ceph.conf
MON_DATA=$C/mon/a
DB=$MON_DATA/store.db
LOOP=
cleanup() {
    [[ -z $LOOP ]] || kill "$LOOP" 2>/dev/null || true
    "$RGW_SH" stop "$C" >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
export HOME="$T/home" KVAULT_CACHE_DIR="$T/cache" KVAULT_STORE="$T/store"

ceph_() { timeout 30 ceph -c "$CONF" --connect-timeout 10 "$@"; }

snapshot() {
    python3 - "$1" <<'EOF'
import hashlib, os, sys
for root, dirs, files in os.walk(sys.argv[1]):
    for n in sorted(dirs + files):
        p = os.path.join(root, n)
        st = os.lstat(p)
        h = hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.isfile(p) else ""
        print(n, st.st_size, st.st_mtime_ns, st.st_ino, h)
EOF
}

start_mon() { # start_mon DATA_DIR
    setsid ceph-mon -c "$CONF" -i a --mon-data "$1" -f </dev/null >>"$C/log/mon.restart.out" 2>&1 &
    MON=$!
    local i
    for i in $(seq 120); do ceph_ -s >/dev/null 2>&1 && return 0; sleep 0.5; done
    fail "the monitor did not start on $1: $(tail -5 "$C/log/mon.restart.out")"
}

stop_mon() {
    kill "$1"
    local i
    for i in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
    fail "the monitor did not stop"
}

key_value() { # key_value STORE_COPY KEY: the value Ceph's own tool reads
    ceph-kvstore-tool rocksdb "$1" get mon_config_key "$2" out "$T/value" >/dev/null 2>&1 ||
        fail "ceph-kvstore-tool cannot read $2 from $1"
    cat "$T/value"
}

"$RGW_SH" start-mon "$C" >"$T/start.out" 2>&1 || fail "monitor start: $(cat "$T/start.out")"
. "$C/env"
MON=$KV_MON_PID
for i in 1 2 3 4 5; do ceph_ config-key set "kvault/before/$i" "value-$i" >/dev/null; done

# 1. While the monitor runs and keeps writing.
(for i in $(seq 1000); do ceph_ config-key set "kvault/during/$i" "x$i" >/dev/null 2>&1 || exit; done) &
LOOP=$!
for i in $(seq 60); do ceph_ config-key get kvault/during/2 >/dev/null 2>&1 && break; sleep 0.5; done
run 0 backup --db "$DB" --env running --json
RUNNING_ID=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <"$T/out")
ceph_ -s >/dev/null || fail "the monitor is unhealthy after the backup"
run 1 restore --env running --to "$DB" --force
grep -q "is in use: process $MON holds its RocksDB lock" "$T/err" || fail "restore onto the live store: $(cat "$T/err")"
kill -0 "$MON" || fail "the monitor died"
kill "$LOOP" 2>/dev/null || true
wait "$LOOP" 2>/dev/null || true
LOOP=
[[ $(ceph_ config-key get kvault/before/3) == value-3 ]] || fail "the monitor lost a key"
ceph_ config-key set kvault/after-running-backup yes >/dev/null

# 2. After it stops: not a byte of its store changes.
stop_mon "$MON"
snapshot "$DB" >"$T/before"
run 0 backup --db "$DB" --env stopped -q
STOPPED_ID=$(cat "$T/out")
snapshot "$DB" >"$T/after"
cmp -s "$T/before" "$T/after" || fail "the backup changed the store: $(diff "$T/before" "$T/after" | head)"

# 3. The monitor restarts on its own store.
start_mon "$MON_DATA"
[[ $(ceph_ config-key get kvault/after-running-backup) == yes ]] || fail "the restarted monitor lost a key"
stop_mon "$MON"

# 4. Ceph's own tool reads both restored stores (on copies: it opens read-write).
for b in "running:$RUNNING_ID" "stopped:$STOPPED_ID"; do
    run 0 restore --env "${b%%:*}" --backup "${b#*:}" --to "$T/restored-${b%%:*}" -q
    cp -a "$T/restored-${b%%:*}" "$T/copy-${b%%:*}"
    [[ $(key_value "$T/copy-${b%%:*}" kvault/before/5) == value-5 ]] || fail "${b%%:*}: wrong value"
done
[[ $(key_value "$T/copy-stopped" kvault/after-running-backup) == yes ]] || fail "stopped: key missing"
run 0 verify --env running --restore-check

# 5. A monitor starts on the restored store (the backup taken while it ran).
mkdir "$T/mon-restored"
cp -a "$MON_DATA"/keyring "$MON_DATA"/kv_backend "$MON_DATA"/min_mon_release "$T/mon-restored/"
mv "$T/restored-running" "$T/mon-restored/store.db"
start_mon "$T/mon-restored"
[[ $(ceph_ config-key get kvault/before/1) == value-1 ]] || fail "the restored monitor lacks a key"
ceph_ config-key get kvault/during/2 >/dev/null || fail "the restored monitor lacks a write made before the backup"
stop_mon "$MON"
echo "ceph mon: ok"
