#!/usr/bin/env bash
# End-to-end tests of the kvault command against local stores.
#   tests/cli/cli_test.sh KVAULT GENDB CASE
# CASE is one of: usage backup_restore objects errors sigkill prune. Each case runs
# in its own temporary directory, removed afterwards.
set -euo pipefail

KVAULT=$(realpath "$1")
GENDB=$(realpath "$2")
CASE=$3
LABEL="$CASE"
. "$(dirname "$(realpath "$0")")/cli_lib.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/kvault-cli-$CASE.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
# Keep the tests away from the user's own default store and checksum cache.
export HOME="$T/home" KVAULT_CACHE_DIR="$T/cache"
unset KVAULT_STORE XDG_DATA_HOME XDG_CACHE_HOME

same_db() {
    "$GENDB" --digest "$1" >"$T/d1" || fail "digest of $1 failed"
    "$GENDB" --digest "$2" >"$T/d2" || fail "digest of $2 failed"
    cmp -s "$T/d1" "$T/d2" || fail "$2 differs from $1: $(diff "$T/d1" "$T/d2" | head -5)"
}

case_usage() {
    run 0 --help
    has_out "Usage: kvault COMMAND"
    run 0 --version
    has_out "^kvault [0-9]+\.[0-9]+\.[0-9]+"
    for c in backup list restore verify cp ls cat rm stat; do
        run 0 "$c" --help
        has_out "Usage: kvault $c"
        has_out "--limit-rate"
    done
    run 2
    run 2 frobnicate
    has_err "unknown command 'frobnicate'"
    run 2 list --bogus
    has_err "unknown option '--bogus'"
    has_err "Try 'kvault list --help'"
    run 2 list -x
    has_err "unknown option '-x'"
    run 2 backup
    has_err "kvault backup: --db is required"
    has_err "Try 'kvault backup --help'"
    run 2 backup --db
    has_err "option '--db' needs a value"
    run 2 list --json=yes
    has_err "option '--json' takes no value"
    run 2 restore
    has_err "--to DIR is required"
    run 2 backup --db x --workers x
    has_err "--workers must be 1..256, got 'x'"
    run 2 backup --db x --workers 0
    has_err "--workers must be 1..256, got '0'"
    run 2 backup --db x --part-size 12Q
    has_err "--part-size: '12Q' is not a size"
    run 2 backup --db x --part-size 1K
    has_err "--part-size must be between"
    run 2 backup --db x --memory lots
    has_err "--memory: 'lots' is not a size"
    run 2 backup --db x --limit-rate fast
    has_err "--limit-rate: 'fast' is not a rate"
    run 2 backup --db x -q -v
    has_err "exclude each other"
    run 2 cp onlyone
    has_err "needs 2 arguments, got 1"
    run 2 cat a b
    has_err "unexpected argument 'b'"
    run 2 list extra
    has_err "unexpected argument 'extra'"
    run 2 ls --db x file:///tmp
    has_err "unknown option '--db'"
}

case_backup_restore() {
    "$GENDB" --size 6M --cfs 3 db >/dev/null
    "$GENDB" --digest db >first.digest

    run 0 backup --db db --to store --workers 4 --part-size 1M --memory 16M --limit-rate 1G/s
    has_out "^backup [^ ]+ of [^ ]+ to [^ ]+ \(env default\) done: [0-9]+ files"
    local id1
    id1=$(awk '{print $2}' "$T/out")

    run 0 list --from store
    has_out "^ID +TIME \(UTC\) +FILES +SIZE +NEW"
    has_out "^$id1 "
    run 0 list --from store --json
    is_json
    [[ $(json 'len(j)') == 1 && $(json 'j[0]["id"]') == "$id1" ]] || fail "list --json: $(cat out)"
    [[ $(json 'j[0]["bytes"] > 5000000 and j[0]["bytes_new"] == j[0]["bytes"]') == True ]] ||
        fail "first backup's bytes: $(cat out)"

    run 0 restore --from store --to restored
    has_out "^restored backup $id1 to restored"
    same_db db restored

    run 0 verify --from store --restore-check
    has_out "^backup $id1 OK: .*restored and read [0-9]+ keys in 3 column families"
    run 0 verify --from store --backup "$id1" --json
    is_json

    # Incremental: change 5% of the keys; the second backup stores less.
    "$GENDB" --update 5 db >/dev/null
    run 0 backup --db db --to store --json
    is_json
    local id2
    id2=$(json 'j["id"]')
    [[ $(json 'j["bytes_new"] < j["bytes"] / 2') == True ]] || fail "not incremental: $(cat out)"
    [[ $id2 != "$id1" ]] || fail "same id twice"

    run 0 restore --from store --backup "$id1" --to r1 --json
    is_json
    "$GENDB" --digest r1 | cmp -s - first.digest || fail "backup $id1 does not restore the first state"
    run 0 restore --from store --backup latest --to r2 -q
    [[ ! -s out ]] || fail "restore -q printed: $(cat out)"
    same_db db r2
    run 0 verify --from store --backup "$id2" --restore-check -q

    # Environments keep separate lists.
    run 0 backup --db db --to store --env staging -q
    local id3
    id3=$(cat out)
    run 0 list --from store --env staging --json
    [[ $(json 'len(j)') == 1 && $(json 'j[0]["id"]') == "$id3" ]] || fail "env staging: $(cat out)"
    run 0 list --from store --json
    [[ $(json 'len(j)') == 2 ]] || fail "env default should hold 2 backups: $(cat out)"

    # The default store: $KVAULT_STORE, else under $HOME.
    KVAULT_STORE="$T/envstore" run 0 backup --db db -q
    local id4
    id4=$(cat out)
    KVAULT_STORE="$T/envstore" run 0 list
    has_out "^$id4 "
    [[ -d envstore ]] || fail "KVAULT_STORE not used"
    run 0 backup --db db -q
    [[ -d home/.local/share/kvault/store ]] || fail "default store not under \$HOME"
    run 0 list
    has_out "^ID"
}

case_objects() {
    head -c 3000000 /dev/urandom >a.bin
    local url="file://$T/objstore/dir/a.bin"

    run 0 cp a.bin "$url"
    run 0 stat "$url"
    has_out "^size: +3000000 "
    run 0 stat "$url" --json
    is_json
    [[ $(json 'j["size"]') == 3000000 ]] || fail "stat --json size: $(cat out)"
    run 0 ls "file://$T/objstore/dir"
    has_out "^ +3000000 .*dir/a\.bin$"
    run 0 ls "file://$T/objstore/dir" --json
    is_json
    "$KVAULT" cat "$url" | cmp -s - a.bin || fail "cat differs"
    run 0 cp "$url" back.bin
    cmp -s a.bin back.bin || fail "download differs"

    # Into a directory: the source's name is appended.
    mkdir into
    run 0 cp "$url" into
    cmp -s a.bin into/a.bin || fail "cp into a local directory"
    run 0 cp a.bin "file://$T/objstore/other/"
    run 0 stat "file://$T/objstore/other/a.bin"
    # Store to store goes through a temporary file.
    run 0 cp "$url" "file://$T/objstore2/copy.bin"
    "$KVAULT" cat "file://$T/objstore2/copy.bin" | cmp -s - a.bin || fail "store to store copy"

    # A plain local path is an object URL too.
    run 0 stat "$T/objstore/dir/a.bin"
    has_out "^size: +3000000 "

    run 0 rm "$url"
    run 1 stat "$url"
    has_err "^kvault: "
    run 1 cat "$url"
    run 1 cp "$T/nonexistent.bin" "$url"
    has_err "nonexistent.bin"
}

case_errors() {
    "$GENDB" --size 2M db >/dev/null
    run 1 backup --db "$T/nodb" --to store
    has_err "^kvault: .*nodb"
    run 1 verify --from store
    has_err "^kvault: "
    run 1 restore --from store --to r
    has_err "^kvault: "

    run 0 backup --db db --to store -q
    mkdir full && echo x >full/file
    run 1 restore --from store --to full
    has_err "^kvault: .*full"
    run 0 restore --from store --to full --force
    same_db db full
    run 1 restore --from store --backup no-such-backup --to r
    has_err "no-such-backup"

    # A flipped byte in a stored file is found and named.
    local victim
    victim=$(find store -type f -name '*.sst' | head -1)
    [[ -n $victim ]] || fail "no .sst object in the store: $(find store -type f)"
    python3 - "$victim" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(100)
    b = f.read(1)
    f.seek(100)
    f.write(bytes([b[0] ^ 0xff]))
EOF
    run 1 verify --from store
    has_err "^kvault: "
    run 1 restore --from store --to r3
    has_err "^kvault: "
    [[ ! -e r3 ]] || [[ -z $(ls -A r3) ]] || fail "a failed restore left files in r3"
}

case_sigkill() {
    "$GENDB" --size 40M --cfs 3 db >/dev/null # three SST files of about 14 MB
    # One worker at 4 MiB/s: the files complete one after another, about 3.5 s
    # apart. Kill it once its journal names a stored file.
    "$KVAULT" backup --db db --to store --limit-rate 4M --workers 1 >"$T/out" 2>"$T/err" &
    local pid=$! status=0 waited=0
    until [[ -n $(find store -name 'attempt-*' 2>/dev/null) ]] || ((waited++ >= 300)); do
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null || fail "backup ended before it could be killed"
    kill -9 "$pid"
    { wait "$pid"; } 2>/dev/null || status=$?
    [[ $status == 137 ]] || fail "backup exited $status, not by SIGKILL"
    # Proof that it was killed mid-upload: some data but no manifest.
    [[ -n $(find store -name '*.sst') ]] || fail "nothing was uploaded before the kill"
    [[ -z $(find store -name 'manifest.json*') ]] || fail "a manifest exists after the kill"

    run 0 list --from store --json
    [[ $(json 'len(j)') == 0 ]] || fail "a killed backup is listed: $(cat out)"

    # Run again: it resumes, storing only what the killed one had not.
    run 0 backup --db db --to store --json
    local id new total
    id=$(json 'j["id"]')
    new=$(json 'j["bytes_new"]')
    total=$(json 'j["bytes"]')
    echo "resumed: $new of $total bytes stored anew"
    ((new < total - 10000000)) || fail "the second backup stored $new of $total bytes again"
    run 0 list --from store --json
    [[ $(json 'len(j)') == 1 && $(json 'j[0]["id"]') == "$id" ]] || fail "after the kill: $(cat out)"
    run 0 verify --from store --restore-check
    run 0 restore --from store --to restored -q
    same_db db restored
    # gc removes the killed attempt's journal, not the objects the new backup uses
    run 0 gc --from store --grace 0
    [[ -z $(find store -name 'attempt-*') ]] || fail "gc left the journal"
    run 0 verify --from store
}

case_prune() {
    "$GENDB" --size 2M --cfs 2 db >/dev/null
    local ids=() i
    for i in 1 2 3; do
        ((i == 1)) || "$GENDB" --update 20 db >/dev/null
        run 0 backup --db db --to store -q
        ids+=("$(cat out)")
    done
    run 2 prune --from store
    has_err "say what to keep: --keep-last, --keep-days or a calendar rule"
    run 2 prune --from store --keep-daily 1 --grace soon
    has_err "--grace: 'soon' is not a duration"
    # all three are of today: daily keeps the newest, the table says why
    run 0 prune --from store --keep-daily 1 --keep-last 2 --dry-run
    has_out "^${ids[0]} .* remove +no rule keeps it"
    has_out "^${ids[1]} .* keep +last 2$"
    has_out "^${ids[2]} .* keep +last 1, daily 1$"
    run 2 prune --from store --keep-last 0
    has_err "--keep-last must be 1"

    run 0 prune --from store --keep-last 2 --dry-run --json
    is_json
    [[ $(json 'j["backups_removed"]') == 1 && $(json 'j["dry_run"]') == True ]] || fail "dry run: $(cat out)"
    run 0 list --from store --json
    [[ $(json 'len(j)') == 3 ]] || fail "a dry run removed a backup: $(cat out)"

    run 0 prune --from store --keep-last 2
    has_out "^removed 1 backups, kept 2"
    run 0 list --from store --json
    [[ $(json '[b["id"] for b in j]') == "['${ids[1]}', '${ids[2]}']" ]] || fail "kept: $(cat out)"
    run 0 verify --from store --backup "${ids[1]}" --restore-check -q
    run 0 restore --from store --to restored -q
    same_db db restored
    # objects of failed attempts: an old one goes, one of today is kept for
    # the next backup to resume from (24 h) unless --grace 0
    local old=store/default/rocksdb/2020-01-01/20200101T000000.000Z-0ddba1
    local new
    new=store/default/rocksdb/$(date -u +%F)/$(date -u +%Y%m%dT%H%M%S).000Z-0ddba2
    mkdir -p "$old" "$new"
    echo partial >"$old/000009.sst"
    echo partial >"$new/000010.sst"
    run 0 gc --from store --json --dry-run
    [[ $(json 'j["incomplete_removed"]') == 1 ]] || fail "gc dry run: $(cat out)"
    [[ -e $old/000009.sst ]] || fail "a dry run removed something"
    run 0 gc --from store
    has_out "^removed 1 objects"
    [[ ! -e $old/000009.sst && -e $new/000010.sst ]] || fail "gc with the default grace"
    # a temporary file of an upload that never finished: the store's own
    # leftover, invisible to ls; gc removes it past the grace
    echo partial >"$new/.000011.sst.kvtmp-AbC123"
    touch -d '2 days ago' "$new/.000011.sst.kvtmp-AbC123"
    run 0 ls store/default/ --json
    ! grep -q kvtmp out || fail "ls shows a temporary file"
    run 0 gc --from store --grace 0
    has_out "^removed 1 objects .*; 1 store leftovers"
    [[ ! -e $new/000010.sst ]] || fail "gc --grace 0 kept it"
    [[ ! -e $new/.000011.sst.kvtmp-AbC123 ]] || fail "gc left the temporary file"
    run 0 list --from store --json
    [[ $(json 'len(j)') == 2 ]] || fail "gc changed the backups: $(cat out)"
}

"case_$CASE"
echo "cli $CASE: ok"
