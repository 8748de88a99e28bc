#!/usr/bin/env bash
# SST exports (backup --format sst), their restore, ingest and verify, with
# the kvault command against a local store.
#   tests/cli/export_test.sh KVAULT TESTAPP GENDB CASE
# CASE: running (an export of a database a writer keeps writing: every file
# passes sst_dump's verify, the restore is one point in time in every
# column family, --cf and ingest load exactly what they should), refusals
# (what an export cannot do, said clearly, nothing left behind), damage (a
# flipped byte in a file is caught by verify and restore, naming it).
set -euo pipefail

KVAULT=$(realpath "$1")
APP=$(realpath "$2")
GENDB=$(realpath "$3")
CASE=$4
LABEL="export $CASE"
. "$(dirname "$(realpath "$0")")/cli_lib.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/kvault-export-$CASE.XXXXXX")
WRITER=
trap '[[ -n $WRITER ]] && kill $WRITER 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
export HOME="$T/home" KVAULT_CACHE_DIR="$T/cache" KVAULT_STORE="$T/store"
unset XDG_DATA_HOME XDG_CACHE_HOME KVAULT_CONFIG
ODD=$'odd name/\xc3\xbc:%3'
ODD_FILE='cf_odd%20name%2F%C3%BC%3A%253'

# keys of column family CF in DB (hex, so values with newlines count once)
keys_in() { ldb --db="$1" --column_family="$2" scan --hex 2>/dev/null | wc -l; }

start_writer() {
    "$APP" writer live --cfs 4 --odd-cf --counter counter --rate 20000 >writer.out 2>&1 &
    WRITER=$!
    local i
    for i in $(seq 300); do [[ -s counter ]] && (($(cat counter) >= $1)) && return; sleep 0.1; done
    fail "the writer did not reach $1 batches: $(cat writer.out)"
}

case_running() {
    # 4 column families (one named with '/', ':', '%', a space and UTF-8),
    # 60,000+ batches = 240,000+ keys, and still writing during the export
    start_writer 60000
    local min
    min=$(cat counter)
    run 0 backup --db live --format sst --sst-size 512K --json
    local id
    id=$(json 'j["id"]')
    kill -0 "$WRITER" || fail "the writer died during the export"
    kill "$WRITER" && wait "$WRITER"
    WRITER=
    local dir
    dir=$(dirname "$(find store -name manifest.json.zst)")
    # only export files and the OPTIONS file; escaped names; several per CF
    [[ -z $(ls "$dir" | grep -v -e '^cf_.*-[0-9]\{5\}\.sst$' -e '^OPTIONS-' -e '^manifest.json.zst$') ]] ||
        fail "unexpected files: $(ls "$dir")"
    ls "$dir" | grep -q "^${ODD_FILE}-00001.sst$" || fail "no escaped file for '$ODD': $(ls "$dir")"
    (($(ls "$dir" | grep -c '^cf_cf1-') >= 2)) || fail "--sst-size did not split: $(ls "$dir")"
    local f
    for f in "$dir"/cf_*.sst; do
        sst_dump --file="$f" --command=verify 2>&1 | grep -q "The file is ok" ||
            fail "sst_dump rejects $f: $(sst_dump --file="$f" --command=verify 2>&1 | tail -2)"
    done

    # restore: one point in time in all four column families
    run 0 restore --to restored -q
    local batches
    batches=$("$APP" check-prefix restored --cfs 4 --min "$min") ||
        fail "the restore is not one consistent prefix of at least $min batches"
    echo "export of a running writer: $batches batches, $min acknowledged before it started"
    ldb --db=restored list_column_families | grep -qF "$ODD" || fail "the odd column family's name changed"
    run 0 verify --restore-check --json
    [[ $(json 'j["keys"]') == $((4 * batches)) && $(json 'j["column_families"]') == 4 ]] ||
        fail "verify: $(cat out)"

    # --cf: only that column family (and the default one every DB has, empty)
    run 0 restore --to one --cf "$ODD" -q
    [[ $(keys_in one "$ODD") == "$batches" && $(keys_in one default) == 0 ]] ||
        fail "--cf restored $(keys_in one "$ODD") and $(keys_in one default) keys"
    [[ $(ldb --db=one list_column_families | tr -d '\n') == *"{default, $ODD}"* ]] ||
        fail "--cf made: $(ldb --db=one list_column_families)"
    run 1 restore --to none --cf nosuch
    has_err "has no column family 'nosuch'"
    [[ ! -e none ]] || fail "a refused restore left 'none'"

    # ingest into an existing database: its own keys stay, the export's arrive
    "$GENDB" --size 1M --cfs 2 target >/dev/null
    "$GENDB" --digest target >before
    local own
    own=$(keys_in target cf1)
    run 0 ingest --db target --cf cf2 --cf "$ODD"
    [[ $(keys_in target cf2) == "$batches" && $(keys_in target "$ODD") == "$batches" ]] ||
        fail "ingest loaded $(keys_in target cf2) and $(keys_in target "$ODD") keys, want $batches"
    [[ $(keys_in target cf1) == "$own" ]] || fail "ingest changed cf1 ($own keys)"
    ! ls -a | grep -q kvault-ingest || fail "a staging directory was left"
}

case_refusals() {
    # a merge operator kvault does not have: the merged values would be wrong
    "$APP" make merged --merge --keys 2000
    run 1 backup --db merged --format sst
    has_err "merge operator 'kvault.test.append'"
    has_err "db_options"
    # a comparator it does not have: the order would be wrong
    "$APP" make reversed --comparator --keys 2000
    run 1 backup --db reversed --format sst
    has_err "comparator 'kvault.test.reverse'"
    run 0 list --json
    [[ $(json 'len(j)') == 0 ]] || fail "a refused export is listed"
    [[ -z $(find store -name '*.sst') ]] || fail "a refused export left objects: $(find store -type f)"
    # what only an export can do
    "$GENDB" --size 1M --cfs 2 db >/dev/null
    run 0 backup --db db -q
    run 1 restore --to r --cf cf1
    has_err "holds the database's own files: it restores whole"
    run 1 ingest --db db
    has_err "not an SST export"
    run 2 backup --db db --format tar
    has_err "--format is 'files' or 'sst'"
    run 2 backup --db db --format sst --sst-size 1K
    has_err "--sst-size must be between"
    # ingest into a database a process holds
    run 0 backup --db db --format sst -q
    "$APP" hold db >hold.out 2>&1 &
    WRITER=$!
    for _ in $(seq 100); do grep -q holding hold.out && break; sleep 0.1; done
    run 1 ingest --db db
    has_err "lock"
    kill "$WRITER"
    WRITER=
}

case_damage() {
    "$GENDB" --size 4M --cfs 2 db >/dev/null
    run 0 backup --db db --format sst --sst-size 1M -q
    local f
    f=$(find store -name 'cf_cf1-00002.sst')
    [[ -n $f ]] || fail "no second file of cf1: $(find store -type f)"
    printf '\x55' | dd of="$f" bs=1 seek=1000 conv=notrunc 2>/dev/null
    run 1 verify
    has_err "cf_cf1-00002.sst"
    run 1 restore --to r
    has_err "cf_cf1-00002.sst"
    [[ ! -e r ]] && ! ls -a | grep -q kvault- || fail "a failed restore left something: $(ls -a)"
}

"case_$CASE"
echo "export $CASE: ok"
