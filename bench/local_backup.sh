#!/usr/bin/env bash
# kvault's local backup against RocksDB's own BackupEngine and cp, side by
# side in one run, then an incremental backup after ~1% of the keys change.
#
#   bench/local_backup.sh [SIZE] [WORKERS]     (defaults: 2G, 8)
#
# The full backups run KV_BENCH_RUNS times (default 3), taking turns, and the
# table shows each one's median run (by wall time); the incremental backups
# run once, after the last round.
# Builds into build/ (or $KV_BUILD_DIR) if needed, generates a SIZE database with kvault-gendb
# under $KV_BENCH_DIR (default /tmp/kvault-bench, removed at the end unless
# KV_BENCH_KEEP=1), and measures every run with /usr/bin/time -v: wall time,
# CPU time (user + sys) and peak RSS. Before each run the page cache is
# dropped when we may (root); otherwise the runs are warm and the table says
# so. Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${1:-2G}
WORKERS=${2:-8}
RUNS=${KV_BENCH_RUNS:-3}
DIR=${KV_BENCH_DIR:-/tmp/kvault-bench}
B=$(realpath -m "${KV_BUILD_DIR:-build}")
KVAULT=$B/kvault
GENDB=$B/kvault-gendb
BENGINE=$B/kvault-bench-backupengine

. bench/lib.sh
need_time
if [[ ! -x $KVAULT || ! -x $GENDB || ! -x $BENGINE ]]; then
    cmake -S . -B "$B" >/dev/null
    cmake --build "$B" -j"$(nproc)" --target kvault kvault-gendb kvault-bench-backupengine
fi

rm -rf "$DIR"
mkdir -p "$DIR"
[[ ${KV_BENCH_KEEP:-0} == 1 ]] || trap 'rm -rf "$DIR"' EXIT
export KVAULT_CACHE_DIR=$DIR/cache

echo "generating a $SIZE database..." >&2
"$GENDB" --size "$SIZE" --cfs 4 "$DIR/db" >&2
DB_BYTES=$(du -sb "$DIR/db" | cut -f1)

# Full backups, RUNS rounds taking turns; each starts from empty targets and
# an empty checksum cache (a first backup).
for ((round = 1; round <= RUNS; round++)); do
    echo "full backups, round $round of $RUNS ($WORKERS workers / threads)..." >&2
    rm -rf "$DIR/kstore" "$DIR/bestore" "$DIR/cpcopy" "$DIR/cpcopy2" "$KVAULT_CACHE_DIR"
    measure "kvault backup" "$KVAULT" backup --db "$DIR/db" --to "$DIR/kstore" --workers "$WORKERS" --json
    measure "BackupEngine" "$BENGINE" "$DIR/db" "$DIR/bestore" "$WORKERS"
    measure "cp -r" cp -r "$DIR/db" "$DIR/cpcopy"
    # shellcheck disable=SC2016 # $1 and $2 are sh -c's arguments
    measure "cp -r + sync" sh -c 'cp -r "$1" "$2" && sync' sh "$DIR/db" "$DIR/cpcopy2"
done

echo "changing ~1% of the keys, incremental backups..." >&2
"$GENDB" --update 1 "$DIR/db" >&2
measure "kvault backup, incremental" "$KVAULT" backup --db "$DIR/db" --to "$DIR/kstore" --workers "$WORKERS" --json
measure "BackupEngine, incremental" "$BENGINE" "$DIR/db" "$DIR/bestore" "$WORKERS"

python3 - "$DIR" "$DB_BYTES" "$SIZE" "$WORKERS" "$CACHE" <<'EOF'
import json, sys
d, db_bytes, size, workers, cache = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
runs = {}
for line in open(f"{d}/results"):
    *name, wall, cpu, rss = line.split()
    runs.setdefault(" ".join(name), []).append((float(wall), float(cpu), int(rss)))
rows = []
for name, rs in runs.items():  # in first-run order; the median run by wall time
    rs.sort()
    rows.append((name, *rs[len(rs) // 2]))
nruns = max(len(rs) for rs in runs.values())
full = json.load(open(f"{d}/kvault_backup.out"))
inc = json.load(open(f"{d}/kvault_backup__incremental.out"))
gib = db_bytes / 2**30
base = {r[0]: r for r in rows}
print(f"Database: {db_bytes / 2**30:.2f} GiB ({size} requested), 4 column families; "
      f"{workers} workers/threads; {cache} page cache before each run; full backups: median of "
      f"{nruns} runs.\n")
print("| run | wall s | MiB/s | CPU s | CPU s/GiB | peak RSS MiB | wall vs kvault |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, wall, cpu, rss in rows:
    ref = base["kvault backup, incremental" if "incremental" in name else "kvault backup"][1]
    mibs = db_bytes / 2**20 / wall if wall > 0 else 0
    print(f"| {name} | {wall:.2f} | {mibs:.0f} | {cpu:.2f} | {cpu / gib:.2f} | {rss / 1024:.0f} | "
          f"{wall / ref if ref else 0:.2f}x |")
print(f"\nkvault full backup stored {full['bytes_new'] / 2**20:.1f} MiB in {full['files_new']} files; "
      f"the incremental one stored {inc['bytes_new'] / 2**20:.1f} MiB in {inc['files_new']} files "
      f"of {inc['bytes'] / 2**20:.1f} MiB ({100 * inc['bytes_new'] / max(inc['bytes'], 1):.1f}%).")
print("MiB/s is the database size over wall time (for incremental runs too).\n")
print("Every run, wall s / CPU s:\n")
for name, rs in runs.items():
    print(f"- {name}: " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c, _ in sorted(rs, key=lambda r: r)))
EOF
