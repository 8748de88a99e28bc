#!/usr/bin/env bash
# kvault against the WebHDFS test server (tests/servers/webhdfs_server.py): upload
# and download throughput, client CPU per GiB and peak RSS, one stream
# against parts written in parallel and joined with CONCAT.
#
#   bench/hdfs.sh [SIZE] [PART] [SUMSIZE]   (defaults: 256M, 8M, 64M)
#
# Runs, on one file of SIZE random bytes:
#   up 1 stream      kvault cp --workers 1 --part-size SIZE: one CREATE
#   up 1 worker      --workers 1 --part-size PART: parts one after another, CONCAT
#   up 8 workers     --workers 8 --part-size PART: parts in parallel, CONCAT
#   down 1 / 8       kvault cp back with 1 and 8 workers
#   up 8 + checksum  8 workers with KVAULT_HDFS_CHECKSUM=1 (GETFILECHECKSUM
#                    compared), on a file of SUMSIZE
# Uploads other than the last run with KVAULT_HDFS_CHECKSUM=0: the server
# computes CRC32C in pure Python (~16 MB/s), which would otherwise dominate,
# and beyond ~1 GB one GETFILECHECKSUM outlasts the client's 60 s stall
# timeout. A DataNode reads the CRCs it stored on write instead.
# Client numbers come from /usr/bin/time -v; the server's CPU seconds from
# /proc/PID/stat, to show where the time goes. Builds into build/ (or
# $KV_BUILD_DIR) if needed. Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${1:-256M}
PART=${2:-8M}
SUMSIZE=${3:-64M}
DIR=${KV_BENCH_DIR:-/tmp/kvault-bench-hdfs}
B=$(realpath -m "${KV_BUILD_DIR:-build}")
KVAULT=$B/kvault

. bench/lib.sh
need_time
CACHE=warm
SEP="|"
if [[ ! -x $KVAULT ]]; then
    cmake -S . -B "$B" >/dev/null
    cmake --build "$B" -j"$(nproc)" --target kvault
fi

rm -rf "$DIR"
mkdir -p "$DIR"
SERVER=$DIR/server
cleanup() {
    sh tests/servers/webhdfs.sh stop "$SERVER" || true
    [[ ${KV_BENCH_KEEP:-0} == 1 ]] || rm -rf "$DIR"
}
trap cleanup EXIT
sh tests/servers/webhdfs.sh start "$SERVER"   # Hadoop's defaults: 128 MiB blocks
. "$SERVER/env"
URL=hdfs://$KV_HDFS_NN/bench
TICKS=$(getconf CLK_TCK)

# the file to move, of $1 bytes; the rows report throughput for its size
set_file() {
    bytes=$(numfmt --from=iec "${1%iB}")
    head -c "$bytes" /dev/urandom >"$DIR/file"
}
set_file "$SIZE"

server_cpu() {
    awk -v t="$TICKS" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$KV_HDFS_PID/stat"
}

# hdfs_measure NAME COMMAND...: measure (lib.sh) with the server's CPU
# seconds over the run; appends a table row to $DIR/rows.
hdfs_measure() {
    local name=$1 s0 s1
    shift
    s0=$(server_cpu)
    measure "$name" "$@"
    s1=$(server_cpu)
    tail -1 "$DIR/results" | awk -F'|' -v bytes="$bytes" -v s0="$s0" -v s1="$s1" '{
        gib = bytes / 1073741824
        printf "| %s | %.2f | %.0f | %.2f | %.2f | %.0f | %.2f |\n", $1, $2,
               bytes / 1048576 / $2, $3, $3 / gib, $4 / 1024, s1 - s0 }' >>"$DIR/rows"
}

up() {
    local name=$1 workers=$2 part=$3 sum=$4
    KVAULT_HDFS_CHECKSUM=$sum hdfs_measure "$name" "$KVAULT" cp -q --workers "$workers" \
        --part-size "$part" "$DIR/file" "$URL/file"
    cmp <("$KVAULT" cat "$URL/file") "$DIR/file"
    "$KVAULT" rm -q "$URL/file"
}

up "up: 1 stream (one CREATE)" 1 "$SIZE" 0
up "up: 1 worker, $PART parts + CONCAT" 1 "$PART" 0
up "up: 8 workers, $PART parts + CONCAT" 8 "$PART" 0
KVAULT_HDFS_CHECKSUM=0 "$KVAULT" cp -q --workers 8 --part-size "$PART" "$DIR/file" "$URL/file"
for w in 1 8; do
    hdfs_measure "down: $w worker(s), $PART ranges" "$KVAULT" cp -q --workers "$w" \
        --part-size "$PART" "$URL/file" "$DIR/back"
    cmp "$DIR/back" "$DIR/file"
    rm -f "$DIR/back"
done
"$KVAULT" rm -q "$URL/file"
set_file "$SUMSIZE"
up "up: 8 workers + GETFILECHECKSUM compared ($SUMSIZE)" 8 "$PART" 1

echo "File: $SIZE of random bytes; part size $PART; the WebHDFS test server"
echo "(Python $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))"
echo "on the same $(nproc) vCPUs, 128 MiB default blocks."
echo
echo "| run | wall s | MiB/s | client CPU s | CPU s/GiB | peak RSS MiB | server CPU s |"
echo "|---|---:|---:|---:|---:|---:|---:|"
cat "$DIR/rows"
