#!/usr/bin/env bash
# End-to-end tests of the kvault command against an S3 store (the Ceph RADOS
# Gateway of tests/s3.cmake's fixture; run through tests/servers/with_rgw_env.sh).
#   tests/cli/cli_s3_test.sh KVAULT GENDB BUCKET CASE
# CASE is one of: backup_restore objects errors sigkill. Each case works in
# its own temporary directory (removed afterwards) and under its own key
# prefix in BUCKET.
set -euo pipefail

KVAULT=$(realpath "$1")
GENDB=$(realpath "$2")
BUCKET=$3
CASE=$4
LABEL="s3 $CASE"
. "$(dirname "$(realpath "$0")")/cli_lib.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/kvault-cli-s3-$CASE.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"
# Keep the tests away from the user's own default store and checksum cache.
export HOME="$T/home" KVAULT_CACHE_DIR="$T/cache"
unset KVAULT_STORE XDG_DATA_HOME XDG_CACHE_HOME
[[ -n ${AWS_ENDPOINT_URL:-} && -n ${AWS_SECRET_ACCESS_KEY:-} ]] ||
    { echo "cli_s3_test.sh: run me through tests/servers/with_rgw_env.sh" >&2; exit 1; }
STORE="s3://$BUCKET/cli-$CASE-$(date +%s%N)-$$"

lacks_err() { ! grep -qF -- "$1" "$T/err" || fail "stderr shows '$1'"; }

same_db() {
    "$GENDB" --digest "$1" >"$T/d1" || fail "digest of $1 failed"
    "$GENDB" --digest "$2" >"$T/d2" || fail "digest of $2 failed"
    cmp -s "$T/d1" "$T/d2" || fail "$2 differs from $1: $(diff "$T/d1" "$T/d2" | head -5)"
}

case_backup_restore() {
    # Two column families of ~12 MB, each flushed into one SST: bigger than
    # the 5 MiB parts, so those go up as multipart uploads.
    "$GENDB" --size 24M --cfs 2 db >/dev/null
    "$GENDB" --digest db >first.digest

    run 0 backup --db db --to "$STORE" --part-size 5M --workers 4 --json
    is_json
    local id1 bytes1 new1
    id1=$(json 'j["id"]')
    bytes1=$(json 'j["bytes"]')
    new1=$(json 'j["bytes_new"]')
    [[ $bytes1 -gt 20000000 && $new1 == "$bytes1" ]] || fail "first backup: $(cat out)"

    # The biggest object is an SST stored in parts: its ETag says how many.
    run 0 ls "$STORE/" --json
    is_json
    local big
    big=$(json 'max((o for o in j if o["key"].endswith(".sst")), key=lambda o: o["size"])["key"]')
    [[ $(json "[o['size'] for o in j if o['key'] == '$big'][0] > 5 * 2**20") == True ]] ||
        fail "no SST over 5 MiB: $(cat out)"
    run 0 stat "s3://$BUCKET/$big" --json
    [[ $(json 'j["etag"]') =~ -[0-9]+$ ]] || fail "$big was not a multipart upload: $(cat out)"

    # Incremental: ~1% of the keys change; the second backup stores far less.
    "$GENDB" --update 1 db >/dev/null
    run 0 backup --db db --to "$STORE" --part-size 5M --workers 4 -q
    local id2
    id2=$(cat out)
    [[ -n $id2 && $id2 != "$id1" ]] || fail "second backup id '$id2'"

    run 0 list --from "$STORE" --json
    is_json
    [[ $(json 'len(j)') == 2 && $(json 'j[0]["id"]') == "$id1" && $(json 'j[1]["id"]') == "$id2" ]] ||
        fail "list --json: $(cat out)"
    [[ $(json 'j[1]["bytes_new"] * 10 < j[0]["bytes_new"]') == True ]] ||
        fail "the second backup is not much smaller than the first: $(cat out)"
    run 0 list --from "$STORE"
    has_out "^ID +TIME \(UTC\) +FILES +SIZE +NEW"
    has_out "^$id1 "
    has_out "^$id2 "

    run 0 verify --from "$STORE" --backup "$id1" --restore-check
    has_out "^backup $id1 OK: .*restored and read [0-9]+ keys in 2 column families"
    run 0 verify --from "$STORE" --backup "$id2" --restore-check --json
    is_json
    [[ $(json 'j["ok"] and j["restore_checked"]') == True ]] || fail "verify --json: $(cat out)"

    run 0 restore --from "$STORE" --backup "$id1" --to r1 --workers 4 --part-size 5M
    has_out "^restored backup $id1 to r1"
    "$GENDB" --digest r1 | cmp -s - first.digest || fail "backup $id1 does not restore the first state"
    run 0 restore --from "$STORE" --backup latest --to r2 -q
    same_db db r2
}

case_objects() {
    head -c 12000000 /dev/urandom >big.bin
    head -c 1000 /dev/urandom >small.bin

    # 12 MB in 5 MiB parts: three parts, a multipart ETag.
    run 0 cp --part-size 5M big.bin "$STORE/dir/big.bin"
    run 0 cp small.bin "$STORE/dir/"
    run 0 stat "$STORE/dir/big.bin"
    has_out "^size: +12000000 "
    run 0 stat "$STORE/dir/big.bin" --json
    is_json
    [[ $(json 'j["size"]') == 12000000 && $(json 'j["etag"]') =~ -3$ ]] || fail "stat --json: $(cat out)"
    run 0 stat "$STORE/dir/small.bin" --json
    [[ $(json 'j["size"]') == 1000 ]] || fail "stat small: $(cat out)"

    run 0 ls "$STORE/dir/"
    has_out "^ +12000000 .*dir/big\.bin$"
    has_out "^ +1000 .*dir/small\.bin$"
    run 0 ls "$STORE/dir/" --json
    is_json
    [[ $(json 'len(j)') == 2 ]] || fail "ls --json: $(cat out)"

    "$KVAULT" cat "$STORE/dir/big.bin" | cmp -s - big.bin || fail "cat differs"
    run 0 cp --part-size 5M "$STORE/dir/big.bin" back.bin
    cmp -s big.bin back.bin || fail "download differs"
    mkdir into
    run 0 cp "$STORE/dir/small.bin" into
    cmp -s small.bin into/small.bin || fail "cp into a local directory"
    # Store to store, and what another client reads back.
    run 0 cp "$STORE/dir/big.bin" "$STORE/copy/big.bin"
    "$KVAULT" cat "$STORE/copy/big.bin" | cmp -s - big.bin || fail "store to store copy"
    aws s3 cp --quiet "$STORE/dir/big.bin" aws.bin || fail "aws s3 cp could not read kvault's object"
    cmp -s big.bin aws.bin || fail "aws s3 cp read other bytes"

    run 0 rm "$STORE/dir/big.bin"
    run 1 stat "$STORE/dir/big.bin"
    has_err "^kvault: .*dir/big\.bin"
    run 1 cat "$STORE/dir/big.bin"
    has_err "NoSuchKey|NotFound"
    run 0 ls "$STORE/dir/" --json
    [[ $(json 'len(j)') == 1 ]] || fail "ls after rm: $(cat out)"
    run 1 cp "$T/nonexistent.bin" "$STORE/x"
    has_err "nonexistent.bin"
}

case_errors() {
    local real=$AWS_SECRET_ACCESS_KEY wrong=kvaultWrongSecret0123456789abcdefghijklmn
    head -c 1000 /dev/urandom >a.bin
    run 0 cp a.bin "$STORE/a.bin"

    for cmd in "stat $STORE/a.bin" "ls $STORE/" "cp a.bin $STORE/b.bin" "list --from $STORE"; do
        # shellcheck disable=SC2086 # cmd is split into words on purpose
        AWS_SECRET_ACCESS_KEY=$wrong run 1 $cmd
        has_err "^kvault: "
        has_err "SignatureDoesNotMatch"
        has_err "check AWS_SECRET_ACCESS_KEY and the system clock"
        lacks_err "$wrong"
        lacks_err "$real"
    done
    AWS_ACCESS_KEY_ID=NOSUCHKEY0000000000 run 1 stat "$STORE/a.bin"
    has_err "InvalidAccessKeyId|Forbidden"
    lacks_err "$real"

    run 1 stat "s3://no-such-bucket-kvault/x"
    has_err "^kvault: "
    run 1 list --from "s3://no-such-bucket-kvault/p"
    has_err "NoSuchBucket"
    run 1 verify --from "$STORE"
    has_err "^kvault: "
}

# True once something of the backup is in the bucket: an object, or a
# multipart upload under way.
upload_started() {
    [[ -n $("$KVAULT" ls "$STORE/" 2>/dev/null) ]] ||
        aws s3api list-multipart-uploads --bucket "$BUCKET" --prefix "${STORE#s3://"$BUCKET"/}/" \
            --query 'Uploads[0].Key' --output text 2>/dev/null | grep -qv '^None$'
}

case_sigkill() {
    "$GENDB" --size 40M --cfs 2 db >/dev/null
    # At 4 MiB/s the 40 MB backup takes about 10 s; kill it once uploading.
    "$KVAULT" backup --db db --to "$STORE" --part-size 5M --limit-rate 4M >"$T/out" 2>"$T/err" &
    local pid=$! status=0 waited=0
    until upload_started || ((waited++ >= 100)); do
        sleep 0.1
    done
    sleep 1
    kill -0 "$pid" 2>/dev/null || fail "backup ended before it could be killed"
    kill -9 "$pid"
    { wait "$pid"; } 2>/dev/null || status=$?
    [[ $status == 137 ]] || fail "backup exited $status, not by SIGKILL"
    upload_started || fail "nothing was uploaded before the kill"
    run 0 ls "$STORE/" --json
    [[ $(json 'len([o for o in j if o["key"].endswith("manifest.json")])') == 0 ]] ||
        fail "a manifest exists after the kill: $(cat out)"

    run 0 list --from "$STORE" --json
    [[ $(json 'len(j)') == 0 ]] || fail "a killed backup is listed: $(cat out)"

    run 0 backup --db db --to "$STORE" --part-size 5M -q
    local id
    id=$(cat out)
    run 0 list --from "$STORE" --json
    [[ $(json 'len(j)') == 1 && $(json 'j[0]["id"]') == "$id" ]] || fail "after the kill: $(cat out)"
    run 0 verify --from "$STORE" --restore-check
    run 0 restore --from "$STORE" --to restored -q
    same_db db restored
}

"case_$CASE"
echo "cli s3 $CASE: ok"
