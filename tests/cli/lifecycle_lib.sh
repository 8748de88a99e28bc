# Shared by concurrency_test.sh and kill_test.sh (sourced; they define
# KVAULT, T and fail).

# temp_store STORE: a local path becomes a fresh directory under $T, a URL
# gets a key prefix of its own; prints the store to use.
temp_store() {
    if [[ $1 == *://* ]]; then
        echo "$1/$(basename "$0" .sh)-$(date +%s%N)-$$"
    else
        mkdir -p "$T/$1"
        echo "$T/$1"
    fi
}

# only_kept STORE ENV: prunes ENV to its newest backup with no grace, then
# fails unless the env holds that backup's files, its manifest and the
# index, and nothing else (no leases, journals, objects of removed
# backups or of attempts).
only_kept() {
    local store=$1 env=$2 files
    "$KVAULT" prune --from "$store" --env "$env" --keep-last 1 --grace 0 -q 2>"$T/prune.err" || fail "last prune"
    "$KVAULT" gc --from "$store" --env "$env" --grace 0 -q 2>"$T/gc.err" || fail "last gc"
    files=$("$KVAULT" list --from "$store" --env "$env" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["files"])')
    "$KVAULT" ls "$store/$env/" --json >"$T/objects" 2>"$T/ls.err" || fail "ls"
    python3 - "$T/objects" "$files" <<'PY' || fail "objects left over"
import json, sys
keys = [o["key"] for o in json.load(open(sys.argv[1]))]
data = [k for k in keys if "/rocksdb/" in k and not k.endswith(("/manifest.json.zst", "/REMOVED"))]
other = [k for k in keys if "/rocksdb/" not in k and "/index/" not in k]
if len(data) != int(sys.argv[2]) or other:
    print("want %s data objects and only index/ beside them, have:" % sys.argv[2], file=sys.stderr)
    print("\n".join(keys), file=sys.stderr)
    sys.exit(1)
PY
}
