#!/usr/bin/env bash
# What history and size cost: backups and `list` as an env's history grows,
# and a database of thousands of SST files.
#
#   bench/scale.sh [BACKUPS] [STORE]        (defaults: 1000, a local store)
#
# History: an 8 MiB database (2 column families, a few SSTs) is backed up
# BACKUPS times without changes. Backups #2-#4 and the last three are timed,
# as is `list` with 4 and with BACKUPS backups (three runs each, median).
# The aim (docs/lifecycle.md): backup #BACKUPS and `list` of BACKUPS backups
# within 1.2x of #2 and of `list` with 4.
#
# Size: a database of about 4,000 SST files (kvault-gendb --sst-size),
# backed up twice (the second unchanged): time, objects stored, the most
# objects in one folder, and the manifest's bytes in the store and as JSON.
#
# STORE may be a URL (settings from the environment, e.g. through
# tests/servers/with_rgw_env.sh); each run uses a fresh prefix under it. The
# page cache is warm: the runs are short and read little.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-1000}
BASE=${2:-}
DIR=${KV_BENCH_DIR:-/tmp/kvault-bench-scale}
B=$(realpath -m "${KV_BUILD_DIR:-build}")
. bench/lib.sh
need_time
CACHE=warm
if [[ ! -x $B/kvault || ! -x $B/kvault-gendb ]]; then
    cmake -S . -B "$B" >/dev/null
    cmake --build "$B" -j"$(nproc)" --target kvault kvault-gendb
fi
rm -rf "$DIR"
mkdir -p "$DIR"
[[ ${KV_BENCH_KEEP:-0} == 1 ]] || trap 'rm -rf "$DIR"' EXIT
export KVAULT_CACHE_DIR=$DIR/cache
if [[ -n $BASE ]]; then
    STORE="$BASE/bench-scale-$(date +%s)-$$"
else
    STORE="$DIR/store"
    mkdir -p "$STORE"
fi
kv() { "$B/kvault" "$@"; }

# timed NAME COMMAND...: appends "NAME wall cpu rss_kib" to results as
# measure (lib.sh) does, with the wall time to the microsecond and no sync
# before: a backup of an unchanged small database on a local store takes
# some 20 ms, below /usr/bin/time's resolution.
timed() {
    local name=$1 t0 t1
    shift
    t0=$(date +%s%N)
    /usr/bin/time -f "%U %S %M" -o "$DIR/time.txt" "$@" >"$DIR/$name.out" 2>"$DIR/$name.err" ||
        { cat "$DIR/$name.err" >&2; exit 1; }
    t1=$(date +%s%N)
    awk -v n="$name" -v w="$(((t1 - t0) / 1000))" '{ printf "%s %.6f %.2f %d\n", n, w / 1e6, $1 + $2, $3 }' \
        "$DIR/time.txt" >>"$DIR/results"
}

echo "history: $N backups of an unchanged 8 MiB database to $STORE" >&2
"$B/kvault-gendb" --size 8M --cfs 2 "$DIR/db" >&2
kv backup --db "$DIR/db" --to "$STORE" --env h -q >/dev/null
for i in 2 3 4; do
    timed backup_early "$B/kvault" backup --db "$DIR/db" --to "$STORE" --env h -q
done
for i in 1 2 3; do
    timed list_early "$B/kvault" list --from "$STORE" --env h --json
done
for ((i = 5; i <= N - 3; i++)); do
    kv backup --db "$DIR/db" --to "$STORE" --env h -q >/dev/null
    ((i % 100 == 0)) && echo "  $i backups" >&2
done
for i in 1 2 3; do
    timed backup_late "$B/kvault" backup --db "$DIR/db" --to "$STORE" --env h -q
done
for i in 1 2 3; do
    timed list_late "$B/kvault" list --from "$STORE" --env h --json
done
listed=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$DIR/list_late.out")
[[ $listed == "$N" ]] || { echo "list shows $listed backups, not $N" >&2; exit 1; }
index_objects=$(kv ls "$STORE/h/index/" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')

echo "size: a database of about 4,000 SST files" >&2
"$B/kvault-gendb" --size 40M --cfs 2 --value-size 200 --sst-size 10K "$DIR/big" >&2
ssts=$(find "$DIR/big" -name '*.sst' | wc -l)
measure big_first "$B/kvault" backup --db "$DIR/big" --to "$STORE" --env s --json
measure big_second "$B/kvault" backup --db "$DIR/big" --to "$STORE" --env s --json
kv ls "$STORE/s/rocksdb/" --json >"$DIR/objects.json"
python3 - "$DIR/objects.json" >"$DIR/folders" <<'PY'
import collections, json, sys
objs = json.load(open(sys.argv[1]))
folders = collections.Counter(o["key"].rsplit("/", 1)[0] for o in objs)
manifests = [(o["key"], o["size"]) for o in objs if o["key"].endswith("/manifest.json.zst")]
key = max(manifests, key=lambda m: m[0].rsplit("/", 2)[-2])  # the newest id
print(max(folders.values()), len(folders), key[1], key[0].split("/s/rocksdb/", 1)[-1])
PY
read -r max_per_folder nfolders manifest_bytes manifest_key <"$DIR/folders"
kv cat "$STORE/s/rocksdb/$manifest_key" | zstd -dcq >"$DIR/manifest.json"
manifest_json=$(stat -c %s "$DIR/manifest.json")

python3 - "$DIR" "$N" "$index_objects" "$ssts" "$max_per_folder" "$nfolders" "$manifest_bytes" \
    "$manifest_json" "$CACHE" <<'PY'
import json, statistics, sys
d, n, index_objects, ssts, per_folder, nfolders, mbytes, mjson, cache = sys.argv[1:]
rows = {}
for line in open(d + "/results"):
    name, wall, cpu, rss = line.split()
    rows.setdefault(name, []).append((float(wall), int(rss)))
med = lambda k: statistics.median(w for w, _ in rows[k])
first = json.load(open(d + "/big_first.out"))
second = json.load(open(d + "/big_second.out"))
print(f"| history ({n} backups of an unchanged 8 MiB DB) | #2-#4 / list of 4 | last 3 / list of {n} | ratio |")
print("|---|---:|---:|---:|")
print(f"| backup, s (median of 3) | {med('backup_early'):.3f} | {med('backup_late'):.3f} | {med('backup_late') / med('backup_early'):.2f}x |")
print(f"| list, s (median of 3) | {med('list_early'):.3f} | {med('list_late'):.3f} | {med('list_late') / med('list_early'):.2f}x |")
print(f"| list, max RSS MiB | {max(r for _, r in rows['list_early']) / 1024:.1f} | {max(r for _, r in rows['list_late']) / 1024:.1f} | |")
print(f"\nindex objects after {n} backups: {index_objects}")
print(f"\n| {ssts} SST files, {first['bytes'] / 2**20:.1f} MiB | first backup | second (unchanged) |")
print("|---|---:|---:|")
print(f"| time, s | {rows['big_first'][0][0]:.2f} | {rows['big_second'][0][0]:.2f} |")
print(f"| files / new | {first['files']} / {first['files_new']} | {second['files']} / {second['files_new']} |")
print(f"| bytes new | {first['bytes_new']} | {second['bytes_new']} |")
print(f"| max RSS MiB | {rows['big_first'][0][1] / 1024:.1f} | {rows['big_second'][0][1] / 1024:.1f} |")
print(f"\nfolders: {nfolders}, at most {per_folder} objects in one; "
      f"manifest of the second backup: {mbytes} bytes stored ({mjson} bytes of JSON); page cache {cache}")
PY
