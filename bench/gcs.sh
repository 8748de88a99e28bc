#!/usr/bin/env bash
# kvault against Google's Node.js client (@google-cloud/storage) and rclone
# (download only: it cannot upload to this emulator) on Google's Cloud
# Storage emulator (firebase-tools), same file, one run.
#
#   bench/gcs.sh [SIZE]      (default 128M; at most 256M: the emulator keeps
#                             every object in memory and copies it per read)
#
# Starts the emulator with scripts/gcs-emulator.sh (installing it the first
# time: 2-4 min), uploads and downloads one file of random bytes with each
# client, measured with /usr/bin/time -v (wall, user+sys CPU, peak RSS), and
# prints a markdown table. kvault uploads the file as one resumable upload in
# one chunk (the emulator has no compose and finalises a resumable upload on
# its first PUT) and downloads it with ranged reads on 4 workers.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZE=${1:-128M}
B=$(realpath -m "${KV_BUILD_DIR:-build}")
DIR=$(mktemp -d /tmp/kvault-gcs-bench-XXXXXX)
EMU=$DIR/emulator
KVAULT=$B/kvault

. bench/lib.sh
need_time
CACHE=warm
command -v rclone >/dev/null || { echo "needs rclone (Debian package)" >&2; exit 1; }
if [[ ! -x $KVAULT ]]; then
    cmake -S . -B "$B" >/dev/null
    cmake --build "$B" -j"$(nproc)" --target kvault
fi
cleanup() {
    scripts/gcs-emulator.sh stop "$EMU" || true
    rm -rf "$DIR"
}
trap cleanup EXIT
scripts/gcs-emulator.sh start "$EMU"
. "$EMU/env"
export RCLONE_CONFIG_GCSEMU_TYPE="google cloud storage" RCLONE_CONFIG_GCSEMU_ANONYMOUS=true
export RCLONE_CONFIG_GCSEMU_ENDPOINT="$STORAGE_EMULATOR_HOST/storage/v1/"
export RCLONE_CONFIG_GCSEMU_NO_CHECK_BUCKET=true

head -c "$SIZE" /dev/urandom >"$DIR/file"
BYTES=$(stat -c %s "$DIR/file")

check() { # FILE: the download must equal the file
    cmp -s "$DIR/file" "$1" || { echo "download $1 differs" >&2; exit 1; }
    rm -f "$1"
}

URL=gs://kvtest/bench
measure "kvault up" env KVAULT_GCS_RESUMABLE_THRESHOLD=1M KVAULT_GCS_CHUNK_SIZE=1G \
    "$KVAULT" cp -q --part-size 1G "$DIR/file" "$URL/kvault"
measure "kvault down (4 workers, 8M ranges)" "$KVAULT" cp -q --workers 4 --part-size 8M \
    "$URL/kvault" "$DIR/back"
check "$DIR/back"
measure "kvault down (4 workers, 64M ranges)" "$KVAULT" cp -q --workers 4 --part-size 64M \
    "$URL/kvault" "$DIR/back"
check "$DIR/back"
measure "@google-cloud/storage up (resumable)" node tests/servers/gcs_interop.js upload kvtest bench/node \
    "$DIR/file" resumable
measure "@google-cloud/storage down" node tests/servers/gcs_interop.js download kvtest bench/node "$DIR/back"
check "$DIR/back"
# rclone cannot upload to this emulator: its multipart bodies are refused
# ("Missing content type") and its resumable chunks would be cut short at the
# first PUT; it reads the object kvault stored
measure "rclone down" rclone copyto gcsemu:kvtest/bench/kvault "$DIR/back"
check "$DIR/back"

echo
echo "File: $SIZE of random bytes ($BYTES bytes); firebase-tools 15.34.2 storage emulator on the same $(nproc) vCPUs."
echo
echo "| run | wall s | MiB/s | client CPU s | CPU s/GiB | peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|"
while read -r line; do
    name=${line% * * *}
    read -r wall cpu rss <<<"${line##"$name" }"
    awk -v n="$name" -v w="$wall" -v c="$cpu" -v r="$rss" -v b="$BYTES" 'BEGIN {
        printf "| %s | %.2f | %.0f | %.2f | %.2f | %.0f |\n", n, w, b / 1048576 / w, c,
               c / (b / 1073741824), r / 1024 }'
done <"$DIR/results"
