#!/usr/bin/env bash
# SIGKILL at random moments: backups, restores, prunes and gcs of one env
# are killed mid-way, KILLS times, each followed by a backup that must
# succeed at once (a dead process's lease does not block it). Afterwards
# every listed backup verifies, the newest restores to its database, no
# scratch directory of a killed run is left once the next run of its kind
# has run, and a last prune and gc leave only the kept backup's objects (on
# S3: and no unfinished multipart upload).
#   tests/cli/kill_test.sh KVAULT GENDB STORE KILLS
# STORE is a URL or a local path (created); settings come from the
# environment (tests/servers/with_rgw_env.sh for S3).
set -euo pipefail

. "$(dirname "$(realpath "$0")")/lifecycle_lib.sh"
KVAULT=$(realpath "$1")
GENDB=$(realpath "$2")
STORE=$3
KILLS=$4

T=$(mktemp -d "${TMPDIR:-/tmp}/kvault-kill.XXXXXX")
trap '[[ -n ${KEEP:-} ]] || rm -rf "$T"' EXIT
cd "$T"
export HOME="$T/home" KVAULT_CACHE_DIR="$T/cache" TMPDIR="$T/tmp"
mkdir -p "$TMPDIR"
unset KVAULT_STORE XDG_DATA_HOME XDG_CACHE_HOME
STORE=$(temp_store "$STORE")

fail() {
    echo "FAIL (kill $i: ${op:-}): $*" >&2
    [[ -s $T/err ]] && { echo "--- stderr:" >&2; tail -5 "$T/err" >&2; }
    exit 1
}

kv() { "$KVAULT" "$@" 2>"$T/err"; }
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# killed SECONDS ARGS...: kvault ARGS, killed with SIGKILL after SECONDS
# unless it ended first; counts the kills that landed.
landed=0 kinds=""
killed() {
    local delay=$1 pid
    shift
    "$KVAULT" "$@" >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null && landed=$((landed + 1)) && kinds+=" $1"
    wait "$pid" 2>/dev/null || true
}

# Many SSTs, slowly: a kill lands while parts are in flight.
"$GENDB" --size 24M --cfs 3 --value-size 1024 db >/dev/null
kv backup --db db --to "$STORE" --env k -q >/dev/null || { i=0; fail "first backup"; }
ops=(backup restore prune gc)
quick="0.002, 0.02"
[[ $STORE == *://* ]] && quick="0.02, 0.4"
for ((i = 1; i <= KILLS; i++)); do
    op=${ops[$((i % 4))]}
    # prune and gc take some 20 ms on a local store, longer on a server
    case $op in prune | gc) range=$quick ;; *) range="0.05, 1.0" ;; esac
    delay=$(python3 -c "import random; print(round(random.uniform($range), 3))")
    "$GENDB" --update 5 --seed "$i" db >/dev/null
    case $op in
    backup) killed "$delay" backup --db db --to "$STORE" --env k --limit-rate 1M --part-size 1M ;;
    restore) killed "$delay" restore --from "$STORE" --env k --to restored --force --limit-rate 12M ;;
    prune) killed "$delay" prune --from "$STORE" --env k --keep-last 1 --grace 0 ;;
    gc) killed "$delay" gc --from "$STORE" --env k --grace 0 ;;
    esac
    # the next backup neither waits for nor trips over what the kill left
    timeout 120 "$KVAULT" backup --db db --to "$STORE" --env k -q --lock-wait 0 >/dev/null 2>"$T/err" ||
        fail "the backup after the kill (at ${delay}s)"
    for id in $(kv list --from "$STORE" --env k --json | json '" ".join(b["id"] for b in j)'); do
        kv verify --from "$STORE" --env k --backup "$id" -q || fail "backup $id does not verify"
    done
done
op=final
((landed * 2 >= KILLS)) || fail "only $landed of $KILLS kills found the process running"
for kind in "${ops[@]}"; do
    [[ $kinds == *" $kind"* ]] || fail "no $kind was killed mid-way (killed:$kinds)"
done
"$GENDB" --digest db >"$T/digest"
kv restore --from "$STORE" --env k --to restored --force -q || fail "restore"
"$GENDB" --digest restored | cmp -s - "$T/digest" || fail "the restore differs from the database"
leftover=$(find "$T" "$TMPDIR" -maxdepth 1 -name '*kvault-*' ! -name 'kvault-kill.*')
[[ -z $leftover ]] || fail "scratch directories left: $leftover"

only_kept "$STORE" k
if [[ $STORE == s3://* ]]; then
    bucket=${STORE#s3://}
    prefix=${bucket#*/}
    bucket=${bucket%%/*}
    uploads=$(aws s3api list-multipart-uploads --endpoint-url "$AWS_ENDPOINT_URL" \
        --bucket "$bucket" --prefix "$prefix/" --query 'Uploads[].Key' --output text)
    [[ -z $uploads || $uploads == None ]] || fail "unfinished multipart uploads left: $uploads"
fi
echo "kill: $landed of $KILLS kills landed mid-way; all ok against $STORE"
