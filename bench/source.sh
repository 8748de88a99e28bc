#!/usr/bin/env bash
# Backing up a running database: the time to back up a database while a
# service writes to it, against the same database stopped, and the service's
# write latency with and without a backup running.
#
#   bench/source.sh [SIZE] [RATE] [SECONDS]     (defaults: 1G, 20000, 20)
#
# The "service" is kvault-testapp's writer: one write batch (a 128-byte value
# in each of 3 column families, WAL on, no sync) RATE times a second, 64 MiB
# memtables, on a SIZE database made by kvault-gendb. Rows:
#   - writer alone: SECONDS of writes, no backup
#   - stopped: full backups of the database the writer left (KV_BENCH_RUNS,
#     default 3), with the writes its WAL holds
#   - running: full backups back to back while the writer writes, then the
#     writer's latency over that time
# Each backup goes to a new store with an empty checksum cache (reads every
# byte). The page cache is not dropped (that would stall the writer and
# measure the drop, not the backup): every run reads a warm database.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${1:-1G}
RATE=${2:-20000}
SECS=${3:-20}
RUNS=${KV_BENCH_RUNS:-3}
DIR=${KV_BENCH_DIR:-/tmp/kvault-bench-source}
B=$(realpath -m "${KV_BUILD_DIR:-build}")
. bench/lib.sh
need_time
CACHE=warm
if [[ ! -x $B/kvault || ! -x $B/kvault-gendb || ! -x $B/kvault-testapp ]]; then
    cmake -S . -B "$B" >/dev/null
    cmake --build "$B" -j"$(nproc)" --target kvault kvault-gendb kvault-testapp
fi
rm -rf "$DIR"
mkdir -p "$DIR"
[[ ${KV_BENCH_KEEP:-0} == 1 ]] || trap 'rm -rf "$DIR"' EXIT
export KVAULT_CACHE_DIR=$DIR/cache

backup() { # backup NAME: one full backup of $DIR/db into a new store
    rm -rf "$DIR/store" "$KVAULT_CACHE_DIR"
    measure "$1" "$B/kvault" backup --db "$DIR/db" --to "$DIR/store" --json
}

writer() { # writer OUT: starts the service, its latency report goes to OUT
    "$B/kvault-testapp" writer "$DIR/db" --cfs 3 --counter "$DIR/counter" --rate "$RATE" \
        --write-buffer $((64 << 20)) >"$1" 2>&1 &
    WRITER=$!
    sleep 2 # opened and writing
}

echo "generating a $SIZE database..." >&2
"$B/kvault-gendb" --size "$SIZE" --cfs 3 "$DIR/db" >&2
DB_BYTES=$(du -sb "$DIR/db" | cut -f1)

echo "writer alone for $SECS s..." >&2
writer "$DIR/alone.lat"
sleep "$SECS"
kill "$WRITER" && wait "$WRITER"

# stopped with what the writer left in its WAL, as a running one has
for ((i = 1; i <= RUNS; i++)); do
    echo "stopped database, backup $i of $RUNS..." >&2
    backup "stopped"
done

echo "writer with backups running..." >&2
writer "$DIR/during.lat"
t0=$(date +%s)
n=0
while (($(date +%s) - t0 < SECS || n < RUNS)); do
    backup "running"
    n=$((n + 1))
done
kill "$WRITER" && wait "$WRITER"

python3 - "$DIR" "$DB_BYTES" "$RATE" "$CACHE" <<'PY'
import json, sys
d, db_bytes, rate, cache = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
runs = {}
for line in open(f"{d}/results"):
    *name, wall, cpu, rss = line.split()
    runs.setdefault(" ".join(name), []).append((float(wall), float(cpu), int(rss)))
gib = db_bytes / 2**30
print(f"Database: {gib:.2f} GiB, 3 column families; writer: {rate} batches/s; "
      f"{cache} page cache before each backup.\n")
print("| backup of the database | runs | wall s (median) | MiB/s | CPU s | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|")
med = {}
for name, rs in runs.items():
    rs.sort()
    w, c, r = rs[len(rs) // 2]
    med[name] = w
    print(f"| {name} | {len(rs)} | {w:.2f} | {db_bytes / 2**20 / w:.0f} | {c:.2f} | {r / 1024:.0f} |")
print(f"\nrunning / stopped wall time: {med['running'] / med['stopped']:.2f}x\n")
def lat(f):
    for line in open(f):
        if line.startswith("puts "):
            p = line.split()
            return dict(zip(p[0::2], map(int, p[1::2])))
    sys.exit(f"{f}: the writer printed no latency")
print("| writer | puts | p50 µs | p99 µs | p99.9 µs | max µs |")
print("|---|---:|---:|---:|---:|---:|")
for name, f in (("alone", "alone.lat"), ("during backups", "during.lat")):
    l = lat(f"{d}/{f}")
    print(f"| {name} | {l['puts']} | {l['p50_us']} | {l['p99_us']} | {l['p999_us']} | {l['max_us']} |")
PY
