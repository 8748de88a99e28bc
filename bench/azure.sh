#!/usr/bin/env bash
# kvault cp against the Azure SDK for JavaScript (uploadFile / downloadToFile)
# and rclone (azureblob), up and down, on one Azurite and one file, side by
# side in one run.
#
#   bench/azure.sh [SIZE] [CONCURRENCY] [BLOCK]     (defaults: 256M, 4, 8M)
#
# Every client moves the same random SIZE file in BLOCK-sized blocks with
# CONCURRENCY requests in flight; each upload goes to a new blob name. Every
# run is measured with /usr/bin/time -v: wall time, the client's CPU time
# (user + sys; Azurite's own CPU is not counted) and peak RSS. Builds
# build/kvault (or $KV_BUILD_DIR) if needed and starts and stops its own
# Azurite (scripts/azurite.sh) under $KV_BENCH_DIR (default /tmp/kvault-azbench).
# kvault and the SDK use the dev account's Shared Key; rclone 1.60 cannot
# take a path-style endpoint with a key, so it gets a container SAS URL.
# Prints a markdown table; KV_BENCH_APPEND=1 appends it, with the command, to
# docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${1:-256M}
CONC=${2:-4}
BLOCK=${3:-8M}
DIR=${KV_BENCH_DIR:-/tmp/kvault-azbench}
B=$(realpath -m "${KV_BUILD_DIR:-build}")
KVAULT=$B/kvault
JS=$PWD/tests/servers/azure_interop.js
CONTAINER=bench

. bench/lib.sh
need_time
SEP="|"
CACHE=warm # only sync before each run, as before: the file is read warm by every client
command -v rclone >/dev/null || { echo "needs rclone (Debian package rclone)" >&2; exit 1; }
if [[ ! -x $KVAULT ]]; then
    cmake -S . -B "$B" >/dev/null
    cmake --build "$B" -j"$(nproc)" --target kvault
fi
BLOCK_BYTES=$(numfmt --from=iec "$BLOCK")

rm -rf "$DIR"
mkdir -p "$DIR"
trap 'scripts/azurite.sh stop "$DIR/azurite" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
scripts/azurite.sh start "$DIR/azurite"
# shellcheck disable=SC1091
. "$DIR/azurite/env"
node "$JS" mkcontainer "$CONTAINER"
export RCLONE_CONFIG_AZ_TYPE=azureblob RCLONE_CONFIG=/dev/null
RCLONE_CONFIG_AZ_SAS_URL="$KV_AZURITE_ENDPOINT/$CONTAINER?$(node "$JS" sas "$CONTAINER" racwdl 7200)"
export RCLONE_CONFIG_AZ_SAS_URL

echo "writing a $SIZE random file..." >&2
head -c "$(numfmt --from=iec "$SIZE")" /dev/urandom >"$DIR/file"
BYTES=$(stat -c %s "$DIR/file")

# check FILE: the downloaded copy is the file.
check() {
    cmp "$DIR/file" "$1"
    rm -f "$1"
}

echo "uploads and downloads, $CONC in flight, $BLOCK blocks..." >&2
measure "up: kvault cp" "$KVAULT" cp -q --workers "$CONC" --part-size "$BLOCK" \
    "$DIR/file" "az://$CONTAINER/kv/file"
measure "down: kvault cp" "$KVAULT" cp -q --workers "$CONC" --part-size "$BLOCK" \
    "az://$CONTAINER/kv/file" "$DIR/back"
check "$DIR/back"
measure "up: Azure SDK uploadFile" node "$JS" upload "$CONTAINER" sdk/file "$DIR/file" \
    "$BLOCK_BYTES" "$CONC"
measure "down: Azure SDK downloadToFile" node "$JS" download "$CONTAINER" sdk/file "$DIR/back" \
    "$BLOCK_BYTES" "$CONC"
check "$DIR/back"
measure "up: rclone copyto" rclone copyto --azureblob-chunk-size "$BLOCK" \
    --azureblob-upload-concurrency "$CONC" "$DIR/file" "az:$CONTAINER/rc/file"
measure "down: rclone copyto" rclone copyto --multi-thread-streams "$CONC" \
    --multi-thread-cutoff "$BLOCK" "az:$CONTAINER/rc/file" "$DIR/back"
check "$DIR/back"

python3 - "$DIR/results" "$BYTES" "$CONC" "$BLOCK" "$(rclone version | head -1)" \
    >"$DIR/table.md" <<'EOF'
import sys
path, nbytes, conc, block, rclone = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
rows = [line.rstrip("\n").split("|") for line in open(path)]
base = {}
for name, wall, _, _ in rows:
    base.setdefault(name.split(":")[0], float(wall))  # kvault's run of each direction comes first
gib = nbytes / 2**30
print(f"File: {nbytes / 2**20:.0f} MiB of random bytes; {conc} requests in flight; {block} blocks; "
      f"Azurite 3.35.0 on the same 2 vCPUs; Azure SDK @azure/storage-blob 12.29.1 on Node "
      f"{__import__('subprocess').check_output(['node', '--version']).decode().strip()}; {rclone}.\n")
print("| run | wall s | MiB/s | client CPU s | CPU s/GiB | peak RSS MiB | wall vs kvault |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, wall, cpu, rss in rows:
    wall, cpu, rss = float(wall), float(cpu), int(rss)
    ref = base[name.split(":")[0]]
    print(f"| {name} | {wall:.2f} | {nbytes / 2**20 / wall:.0f} | {cpu:.2f} | {cpu / gib:.2f} | "
          f"{rss / 1024:.0f} | {wall / ref:.2f}x |")
EOF
cat "$DIR/table.md"
if [[ ${KV_BENCH_APPEND:-0} == 1 ]]; then
    {
        printf '\n### Results (kvault %s, %s)\n\n' "$("$KVAULT" --version | awk '{print $NF}')" \
            "$(date -u +%F)"
        printf 'Command: `bench/azure.sh %s %s %s`\n\n' "$SIZE" "$CONC" "$BLOCK"
        cat "$DIR/table.md"
    } >>docs/benchmarks.md
fi
