#!/usr/bin/env bash
# Source safety: the kvault command backs up real RocksDB databases, running
# or stopped, without writing a byte into them.
#   tests/cli/cli_source_test.sh KVAULT TESTAPP CASE
# TESTAPP is kvault-testapp (tests/support/rdb_app.c): an application with its own
# merge operator, comparator and WAL directory, and a continuous writer.
# CASE: merge_wal comparator wal_dir running_writer restore_live
#       readonly_source operator_errors
set -euo pipefail

KVAULT=$(realpath "$1")
APP=$(realpath "$2")
CASE=$3
LABEL="$CASE"
. "$(dirname "$(realpath "$0")")/cli_lib.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/kvault-src-$CASE.XXXXXX")
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    chmod -R u+w "$T" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
cd "$T"
export HOME="$T/home" KVAULT_CACHE_DIR="$T/cache" KVAULT_STORE="$T/store"
unset XDG_DATA_HOME XDG_CACHE_HOME

# Every entry under the directories: name, type, size, mtime (ns), inode and
# SHA-256 of regular files. Equal snapshots = nothing written, renamed,
# created or deleted.
snapshot() {
    python3 - "$@" <<'EOF'
import hashlib, os, sys
for top in sys.argv[1:]:
    for root, dirs, files in os.walk(top):
        for n in sorted(dirs + files):
            p = os.path.join(root, n)
            st = os.lstat(p)
            h = ""
            if os.path.isfile(p) and not os.path.islink(p):
                h = hashlib.sha256(open(p, "rb").read()).hexdigest()
            print(p, oct(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ino, h)
EOF
}

same_snapshot() {
    cmp -s "$1" "$2" || fail "the source changed: $(diff "$1" "$2" | head -8)"
}

# dump DIR [APP OPTIONS]: every key and value, read by the application.
dump() { "$APP" dump "$@" || fail "the application cannot read $1"; }

# backs up DIR (extra kvault options after it), restores, compares with the
# application's own reading of the source, checks the sequence number.
round_trip() {
    local db=$1 env=$2
    shift 2
    local app_opts=() kv_opts=()
    while (($#)); do
        case $1 in --merge | --comparator) app_opts+=("$1") ;; *) kv_opts+=("$1") ;; esac
        shift
    done
    # the application reads a copy (its reads write a LOG), WAL directory too
    cp -a "$db" "$T/copy-$env"
    if ((${#WALS[@]})); then
        cp -a "${WALS[0]}" "$T/copy-wal-$env"
        app_opts+=(--wal-dir "$T/copy-wal-$env")
    fi
    dump "$T/copy-$env" "${app_opts[@]}" >"$T/want-$env"
    ((${#WALS[@]})) && app_opts=("${app_opts[@]:0:${#app_opts[@]}-2}")
    [[ -s $T/want-$env ]] || fail "the source of $env holds no keys"
    snapshot "$db" "${WALS[@]}" >"$T/before-$env"
    run 0 backup --db "$db" --env "$env" --json "${kv_opts[@]}"
    local id seq
    id=$(json 'j["id"]')
    seq=$(json 'j["sequence"]')
    snapshot "$db" "${WALS[@]}" >"$T/after-$env"
    same_snapshot "$T/before-$env" "$T/after-$env"
    run 0 restore --env "$env" --backup "$id" --to "$T/restored-$env" -q
    dump "$T/restored-$env" "${app_opts[@]}" >"$T/got-$env"
    cmp -s "$T/want-$env" "$T/got-$env" ||
        fail "restored $env differs: $(diff "$T/want-$env" "$T/got-$env" | head -5)"
    [[ $("$APP" seq "$T/restored-$env" "${app_opts[@]}") == "$seq" ]] ||
        fail "restored $env is not at the manifest's sequence number $seq"
    ls "$T/restored-$env"/*.log >/dev/null 2>&1 || fail "restored $env has no WAL"
}

WALS=()

case_merge_wal() {
    # puts flushed to SSTs, then puts and merges that live only in the WAL
    "$APP" make db --merge --keys 20000
    round_trip "$T/db" merge --merge
    grep -c $'\t.*,' "$T/got-merge" >/dev/null || fail "no merged values were restored"
    run 0 verify --env merge --restore-check --json
    [[ $(json 'j["keys"]') == $(wc -l <"$T/want-merge") ]] || fail "verify read $(json 'j["keys"]') keys"
    [[ $(json 'j["not_checked"]') == *"merge operator 'kvault.test.append'"* ]] ||
        fail "verify does not say merges were not computed: $(cat "$T/out")"
}

case_comparator() {
    "$APP" make db --comparator --keys 5000
    round_trip "$T/db" cmp --comparator
    run 0 verify --env cmp --restore-check
    has_out "^not checked: keys of column family 'default' not read: its comparator 'kvault.test.reverse'"
    run 0 list --env cmp --json
    [[ $(json 'j[0]["files"]') -ge 5 ]] || fail "list: $(cat "$T/out")"
    kvault_manifest=$(find store -name manifest.json.zst | head -1)
    zstd -qdc "$kvault_manifest" | grep -q '"comparator":"kvault.test.reverse"' ||
        fail "the manifest does not record the comparator"
}

case_wal_dir() {
    mkdir wal
    WALS=("$T/wal")
    "$APP" make db --wal-dir "$T/wal" --keys 5000
    ls wal/*.log >/dev/null || fail "the application put no WAL in wal/"
    # found through the database's info LOG
    round_trip "$T/db" wal
    grep -q "$T/wal" "$T/restored-wal"/OPTIONS-* && fail "the restored OPTIONS name the source's WAL dir"
    # found through the info LOG when the OPTIONS file does not say
    cp -a db nowal && sed -i '/^  wal_dir=/d' nowal/OPTIONS-*
    run 0 backup --db nowal --env nowal
    # neither says: kvault must be told, and says so
    rm nowal/LOG*
    run 1 backup --db nowal --env nowal
    has_err "needs its write-ahead log .* not in '$T/nowal'.*--wal-dir"
    run 0 backup --db nowal --env nowal --wal-dir "$T/wal"
    # the WAL directory moved: the OPTIONS file names one that is gone
    mv wal wal-moved
    run 1 backup --db db --env moved
    has_err "cannot use the WAL directory '$T/wal' that the files of database 'db'.*--wal-dir.*No such file"
    run 0 backup --db db --env moved --wal-dir wal-moved
    run 0 restore --env moved --to r-moved -q
    dump r-moved >"$T/got-moved"
    cmp -s "$T/want-wal" "$T/got-moved" || fail "restore of the moved-WAL backup differs"
}

# Writes batches to 3 column families until killed; batch i is acknowledged
# once counter holds i+1.
start_writer() {
    "$APP" writer "$1" --cfs 3 --counter "$T/counter" >"$T/writer.out" 2>&1 &
    PIDS+=($!)
    WRITER=$!
    local i
    for i in $(seq 100); do [[ -s $T/counter && -e $1/LOG ]] && break; sleep 0.1; done
    [[ -s $T/counter ]] || fail "the writer did not start: $(cat "$T/writer.out")"
}

stop_writer() {
    kill "$WRITER"
    wait "$WRITER" || fail "the writer failed: $(cat "$T/writer.out")"
    grep -q "^puts " "$T/writer.out" || fail "the writer reported nothing: $(cat "$T/writer.out")"
}

case_running_writer() {
    start_writer "$T/live"
    local log_inode i min batches
    log_inode=$(stat -c %i live/LOG)
    for i in 1 2 3 4 5 6; do
        min=$(cat counter)
        run 0 backup --db live --env live -q
        rm -rf restored
        run 0 restore --env live --backup "$(cat out)" --to restored -q
        batches=$("$APP" check-prefix restored --cfs 3 --min "$min") ||
            fail "backup $i is not a consistent prefix holding the $min acknowledged batches"
        echo "backup $i: $batches batches, $min acknowledged before it started"
    done
    kill -0 "$WRITER" || fail "the writer died during the backups"
    [[ $(stat -c %i live/LOG) == "$log_inode" ]] || fail "the writer's LOG was replaced"
    ! ls live/LOG.old.* >/dev/null 2>&1 || fail "kvault renamed the writer's LOG"
    stop_writer
}

case_restore_live() {
    # a stopped copy to restore, and a database a process holds open
    "$APP" make db --keys 2000
    run 0 backup --db db -q
    "$APP" make held --keys 1000
    "$APP" hold held >"$T/hold.out" 2>&1 &
    PIDS+=($!)
    local holder=$! i
    for i in $(seq 100); do grep -q holding "$T/hold.out" && break; sleep 0.1; done
    snapshot held >"$T/before"
    run 1 restore --to held --force
    has_err "restore destination 'held' is in use: process $holder holds its RocksDB lock 'held/LOCK'"
    run 1 restore --to held
    has_err "is in use"
    snapshot held >"$T/after"
    same_snapshot "$T/before" "$T/after"
    kill -0 "$holder" || fail "the process holding the database died"
    ! ls -a . | grep -q kvault-restore || fail "a refused restore left a scratch directory"
    # the running writer's database too, while it writes
    start_writer "$T/live"
    run 1 restore --to live --force
    has_err "in use: process $WRITER holds"
    kill -0 "$WRITER" || fail "the writer died"
    stop_writer
    "$APP" check-prefix live --cfs 3 >/dev/null || fail "the writer's database is damaged"
    # once the holder stops, --force replaces it
    kill "$holder"
    wait "$holder" || true
    run 0 restore --to held --force -q
    dump held >"$T/got"
    cp -a db dbcopy
    dump dbcopy >"$T/want"
    cmp -s "$T/want" "$T/got" || fail "the forced restore is not the backup"
}

# Runs kvault as a user without write permission on the database.
as_nobody() {
    if ((EUID == 0)); then
        setpriv --reuid=65534 --regid=65534 --clear-groups "$KVAULT" "$@"
    else
        "$KVAULT" "$@"
    fi
}

case_readonly_source() {
    chmod 755 "$T"
    mkdir -p parent store cache && chmod 777 store cache
    "$APP" make parent/db --merge --keys 5000
    cp -a parent/db dbcopy
    dump dbcopy --merge >"$T/want"
    # no write permission on the database or its parent directory
    chmod -R a-w parent
    snapshot parent >"$T/before"
    as_nobody backup --db parent/db --env perm -q >"$T/out" 2>"$T/err" ||
        fail "backup without write permission failed: $(cat "$T/err")"
    snapshot parent >"$T/after"
    same_snapshot "$T/before" "$T/after"
    run 0 restore --env perm --to r1 -q
    dump r1 --merge | cmp -s "$T/want" - || fail "restore of the permission-protected source differs"
    # a read-only mount of it (a private mount namespace, needs root)
    if ((EUID == 0)); then
        mkdir ro
        unshare -m sh -c 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" &&
            touch "$2/probe" 2>/dev/null && exit 3
            "$3" backup --db "$2" --env rofs -q' sh "$T/parent/db" "$T/ro" "$KVAULT" >"$T/out" 2>"$T/err" ||
            fail "backup of a read-only mount failed (status $?): $(cat "$T/err")"
        run 0 restore --env rofs --to r2 -q
        dump r2 --merge | cmp -s "$T/want" - || fail "restore of the read-only mount differs"
    fi
}

case_operator_errors() {
    "$APP" make db --keys 1000
    local u
    for u in s3:/bucket/x s3//bucket gs:bucket az:/container hdfs:/nn/x; do
        run 2 list --from "$u"
        has_err "'$u' looks like a mistyped store URL"
        run 2 backup --db db --to "$u"
        has_err "mistyped store URL"
    done
    run 2 cp db/CURRENT s3:/bucket/x
    has_err "mistyped store URL"
    run 1 list --from "$T/nowhere"
    has_err "store '$T/nowhere' does not exist"
    run 1 backup --db /etc
    has_err "'/etc' is not a RocksDB database: it has no CURRENT file"
    run 1 backup --db "$T/nowhere"
    has_err "cannot use database path '$T/nowhere'"
    run 0 backup --db db --env alpha
    has_out "^backup [^ ]+ of db to $T/store \(env alpha\) done: "
    run 0 backup --db db --to "$T/other" --env beta
    has_out "to $T/other \(env beta\) done"
    run 0 backup --db db --env beta -q
    run 0 envs
    has_out "^alpha +1 "
    has_out "^beta +1 "
    run 0 envs --json
    [[ $(json '[(e["env"], e["backups"]) for e in j]') == "[('alpha', 1), ('beta', 1)]" ]] ||
        fail "envs: $(cat "$T/out")"
    run 0 envs --from "$T/other"
    has_out "^beta +1 "
}

"case_$CASE"
echo "cli source $CASE: ok"
