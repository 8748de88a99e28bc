#!/usr/bin/env bash
# Backup shapes side by side on one database: the database's files
# (--format files) against an SST export (--format sst), each one object per
# file and single-file (--single-file); then each one's restore.
#
#   bench/formats.sh [SIZE] [STORE]        (defaults: 2G, a local store)
#
# A SIZE database (kvault-gendb, 4 column families) is backed up once in
# each shape into its own env (a first, full backup: the checksum cache is
# emptied before each), then restored. Table: wall and CPU seconds, peak
# RSS, bytes stored, objects in the store. STORE may be a URL (settings from
# the environment, e.g. tests/servers/with_rgw_env.sh). The page cache is
# dropped before each run when we may (root).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${1:-2G}
BASE=${2:-}
DIR=${KV_BENCH_DIR:-/tmp/kvault-bench-formats}
B=$(realpath -m "${KV_BUILD_DIR:-build}")
. bench/lib.sh
need_time
if [[ ! -x $B/kvault || ! -x $B/kvault-gendb ]]; then
    cmake -S . -B "$B" >/dev/null
    cmake --build "$B" -j"$(nproc)" --target kvault kvault-gendb
fi
rm -rf "$DIR"
mkdir -p "$DIR"
[[ ${KV_BENCH_KEEP:-0} == 1 ]] || trap 'rm -rf "$DIR"' EXIT
export KVAULT_CACHE_DIR=$DIR/cache
if [[ -n $BASE ]]; then
    STORE="$BASE/bench-formats-$(date +%s)-$$"
else
    STORE="$DIR/store"
    mkdir -p "$STORE"
fi

if [[ -n $BASE ]]; then
    # a fresh RGW creates its pools on the first writes, which would slow
    # whichever shape came first
    head -c 24M /dev/urandom >"$DIR/warmup"
    "$B/kvault" cp -q "$DIR/warmup" "$STORE/warmup" && "$B/kvault" rm "$STORE/warmup"
fi
echo "generating a $SIZE database..." >&2
"$B/kvault-gendb" --size "$SIZE" --cfs 4 "$DIR/db" >&2
SHAPES=("files:--format files --no-single-file" "files-single:--format files --single-file"
        "sst:--format sst --no-single-file" "sst-single:--format sst --single-file")
for shape in "${SHAPES[@]}"; do
    name=${shape%%:*}
    echo "backup and restore: $name" >&2
    rm -rf "$KVAULT_CACHE_DIR" "$DIR/restored"
    # shellcheck disable=SC2086
    measure "backup $name" "$B/kvault" backup --db "$DIR/db" --to "$STORE" --env "$name" \
        --json ${shape#*:}
    measure "restore $name" "$B/kvault" restore --from "$STORE" --env "$name" --to "$DIR/restored"
    "$B/kvault" ls "$STORE/$name/rocksdb/" --json >"$DIR/objects.$name"
done

python3 - "$DIR" "$SIZE" "$CACHE" "${SHAPES[@]%%:*}" <<'PY'
import json, sys
d, size, cache, *shapes = sys.argv[1:]
rows = {}
for line in open(d + "/results"):
    *name, wall, cpu, rss = line.split()
    rows[" ".join(name)] = (float(wall), float(cpu), int(rss))
print(f"Database: {size} requested, 4 column families; {cache} page cache before each run.\n")
print("| shape | backup s | backup CPU s | backup RSS MiB | stored MiB | objects | restore s | restore CPU s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for s in shapes:
    b = rows["backup " + s]
    r = rows["restore " + s]
    info = json.load(open(f"{d}/backup_{s}.out"))
    objs = json.load(open(f"{d}/objects.{s}"))
    print(f"| {s} | {b[0]:.2f} | {b[1]:.2f} | {b[2] / 1024:.0f} | {info['bytes_new'] / 2**20:.1f} | "
          f"{len(objs)} | {r[0]:.2f} | {r[1]:.2f} |")
PY
