#!/usr/bin/env bash
# Backups, prunes and gcs of one env at the same time, round after round,
# against one store: every backup listed afterwards verifies (no prune or gc
# removed an object a backup uses, or one a running backup was about to
# reference), every backup that reported success restores to the database
# it was taken of, and when all is done no object is left that no backup
# uses.
#   tests/cli/concurrency_test.sh KVAULT GENDB STORE ROUNDS
# STORE is a URL (or a local path, created); settings come from the
# environment (tests/servers/with_rgw_env.sh for S3). Each round changes the
# database, then runs at once: two backups of it, a third backup of another
# env, prune --keep-last 2 --grace 0 and gc --grace 0.
set -euo pipefail

. "$(dirname "$(realpath "$0")")/lifecycle_lib.sh"
KVAULT=$(realpath "$1")
GENDB=$(realpath "$2")
STORE=$3
ROUNDS=$4

T=$(mktemp -d "${TMPDIR:-/tmp}/kvault-concurrency.XXXXXX")
trap '[[ -n ${KEEP:-} ]] || rm -rf "$T"' EXIT
cd "$T"
export HOME="$T/home" KVAULT_CACHE_DIR="$T/cache"
unset KVAULT_STORE XDG_DATA_HOME XDG_CACHE_HOME
STORE=$(temp_store "$STORE")

fail() {
    echo "FAIL (concurrency, round ${round:-0}): $*" >&2
    for f in "$T"/*.err; do
        [[ -s $f ]] && { echo "--- $(basename "$f"):" >&2; tail -5 "$f" >&2; }
    done
    exit 1
}

# actor NAME ARGS...: kvault ARGS in the background, output in NAME.out/.err
actor() {
    local name=$1
    shift
    "$KVAULT" "$@" >"$T/$name.out" 2>"$T/$name.err" &
    pids+=($!)
    names+=("$name")
}

json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

"$GENDB" --size 3M --cfs 2 --value-size 512 db >/dev/null
"$GENDB" --size 1M --cfs 1 other >/dev/null
for ((round = 1; round <= ROUNDS; round++)); do
    "$GENDB" --update 3 --seed "$round" db >/dev/null
    "$GENDB" --digest db >"$T/digest"
    pids=() names=()
    actor backup1 backup --db db --to "$STORE" --env c -q
    actor prune prune --from "$STORE" --env c --keep-last 2 --grace 0 -q
    actor backup2 backup --db db --to "$STORE" --env c -q
    actor gc gc --from "$STORE" --env c --grace 0 -q
    actor other backup --db other --to "$STORE" --env d -q
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || fail "${names[$i]} failed: $(tail -2 "$T/${names[$i]}.err")"
    done

    "$KVAULT" list --from "$STORE" --env c --json >"$T/list" 2>"$T/list.err" || fail "list"
    ids=$(json '" ".join(b["id"] for b in j)' <"$T/list")
    [[ -n $ids ]] || fail "no backup listed"
    for id in $ids; do
        "$KVAULT" verify --from "$STORE" --env c --backup "$id" -q 2>"$T/verify.err" ||
            fail "backup $id no longer verifies"
    done
    # both backups of this round reported success: each restores exactly
    # (prune keeps the newest two, and they are)
    for id in $(cat "$T/backup1.out" "$T/backup2.out"); do
        rm -rf restored
        "$KVAULT" restore --from "$STORE" --env c --backup "$id" --to restored -q \
            2>"$T/restore.err" || fail "restore of $id, which reported success"
        "$GENDB" --digest restored | cmp -s - "$T/digest" || fail "the restore of $id differs from the database"
    done
done

only_kept "$STORE" c
echo "concurrency: $ROUNDS rounds ok against $STORE"
