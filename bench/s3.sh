#!/usr/bin/env bash
# kvault cp against rclone copyto and aws s3 cp, up and down, on one Ceph
# RADOS Gateway and one file per size, side by side in one run.
#
#   bench/s3.sh [SIZE...]          (default: 1G 4G)
#
# For each SIZE a file of random bytes is written once to local disk, then
# each client uploads it and downloads it back with CONCURRENCY requests in
# flight (KV_BENCH_CONCURRENCY, default 8) in CHUNK parts (KV_BENCH_CHUNK,
# default 8M): kvault `--workers --part-size`; rclone `--s3-upload-concurrency
# --s3-chunk-size` up and `--multi-thread-streams` down; the aws CLI's
# max_concurrent_requests and multipart_chunksize (its own config file).
# Every download is compared with the file (cmp) and every object is deleted
# after its download, so the single OSD holds one copy at a time (RGW's
# garbage collection is short in scripts/rgw.sh). KV_BENCH_RUNS rounds
# (default 3), taking turns; the table shows each run's median by wall time.
#
# Each run is measured with /usr/bin/time -v: wall time, the client's CPU
# (user + sys; RGW's own CPU is not counted) and peak RSS. The page cache is
# dropped before each run when we may (root); otherwise runs are warm and the
# table says so. Builds build/kvault (or $KV_BUILD_DIR) if needed, starts and
# stops its own RGW (scripts/rgw.sh) under $KV_BENCH_DIR (default
# /tmp/kvault-s3bench, removed at the end). Prints two markdown tables per
# size: the runs, and kvault's ratios to the others (speed: kvault's MiB/s
# over theirs, above 1 is faster; CPU/GiB and RSS: kvault's over theirs,
# below 1 is less).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=("$@")
[[ ${#SIZES[@]} -gt 0 ]] || SIZES=(1G 4G)
CONC=${KV_BENCH_CONCURRENCY:-8}
CHUNK=${KV_BENCH_CHUNK:-8M}
RUNS=${KV_BENCH_RUNS:-3}
DIR=${KV_BENCH_DIR:-/tmp/kvault-s3bench}
B=$(realpath -m "${KV_BUILD_DIR:-build}")
KVAULT=$B/kvault
BUCKET=bench

. bench/lib.sh
need_time
SEP="|"
command -v rclone >/dev/null || { echo "needs rclone (Debian package rclone)" >&2; exit 1; }
command -v aws >/dev/null || { echo "needs the aws CLI (Debian package awscli)" >&2; exit 1; }
if [[ ! -x $KVAULT ]]; then
    cmake -S . -B "$B" >/dev/null
    cmake --build "$B" -j"$(nproc)" --target kvault
fi

rm -rf "$DIR"
mkdir -p "$DIR"
trap 'scripts/rgw.sh stop "$DIR/rgw" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
scripts/rgw.sh start "$DIR/rgw" >&2
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3 AWS_DEFAULT_REGION AWS_CA_BUNDLE
unset KVAULT_S3_ADDRESSING KVAULT_S3_CHECKSUM KVAULT_STALL_TIMEOUT
# shellcheck disable=SC1091
. "$DIR/rgw/env"
export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=$DIR/aws-config
cat >"$AWS_CONFIG_FILE" <<EOF
[default]
s3 =
    max_concurrent_requests = $CONC
    multipart_chunksize = ${CHUNK}B
    multipart_threshold = ${CHUNK}B
EOF
export RCLONE_CONFIG=/dev/null RCLONE_CONFIG_X_TYPE=s3 RCLONE_CONFIG_X_PROVIDER=Ceph
export RCLONE_CONFIG_X_ENDPOINT=$AWS_ENDPOINT_URL RCLONE_CONFIG_X_REGION=$AWS_REGION
export RCLONE_CONFIG_X_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
export RCLONE_CONFIG_X_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
aws s3 mb "s3://$BUCKET" >&2

# check: the downloaded copy is the file; then both copies go.
check() {
    cmp "$DIR/file" "$DIR/back"
    rm -f "$DIR/back"
}

one_round() {
    measure "up: kvault cp" "$KVAULT" cp -q --workers "$CONC" --part-size "$CHUNK" \
        "$DIR/file" "s3://$BUCKET/kv/file"
    measure "down: kvault cp" "$KVAULT" cp -q --workers "$CONC" --part-size "$CHUNK" \
        "s3://$BUCKET/kv/file" "$DIR/back"
    check
    "$KVAULT" rm "s3://$BUCKET/kv/file"
    measure "up: rclone copyto" rclone copyto --ignore-times --s3-upload-concurrency "$CONC" \
        --s3-chunk-size "$CHUNK" "$DIR/file" "X:$BUCKET/rc/file"
    measure "down: rclone copyto" rclone copyto --ignore-times --multi-thread-streams "$CONC" \
        "X:$BUCKET/rc/file" "$DIR/back"
    check
    rclone deletefile "X:$BUCKET/rc/file"
    measure "up: aws s3 cp" aws s3 cp --only-show-errors "$DIR/file" "s3://$BUCKET/aws/file"
    measure "down: aws s3 cp" aws s3 cp --only-show-errors "s3://$BUCKET/aws/file" "$DIR/back"
    check
    aws s3 rm --only-show-errors "s3://$BUCKET/aws/file"
}

table() {
    python3 - "$RESULTS" "$BYTES" "$CONC" "$CHUNK" "$CACHE" "$RUNS" \
        "$(rclone version | head -1)" "$(aws --version 2>&1)" "$(radosgw --version | cut -d' ' -f1-3)" <<'EOF'
import sys
path, nbytes, conc, chunk, cache, runs, rclone, aws, rgw = sys.argv[1:]
nbytes = int(nbytes)
runs_by = {}
for line in open(path):
    name, wall, cpu, rss = line.rstrip("\n").split("|")
    runs_by.setdefault(name, []).append((float(wall), float(cpu), int(rss)))
med = {n: sorted(r)[len(r) // 2] for n, r in runs_by.items()}
gib = nbytes / 2**30
print(f"File: {nbytes / 2**20:.0f} MiB of random bytes; {conc} requests in flight; {chunk} parts; "
      f"{rgw}, one OSD, on the same 2 vCPUs; {rclone}; {aws}; {cache} page cache before "
      f"each run; median of {runs} runs by wall time.\n")
print("| run | wall s | MiB/s | client CPU s | CPU s/GiB | peak RSS MiB |")
print("|---|---:|---:|---:|---:|---:|")
for name, (wall, cpu, rss) in med.items():
    print(f"| {name} | {wall:.2f} | {nbytes / 2**20 / wall:.0f} | {cpu:.2f} | {cpu / gib:.2f} | "
          f"{rss / 1024:.0f} |")
print("\n| ratio (kvault / other) | MiB/s up | MiB/s down | CPU/GiB up | CPU/GiB down | RSS up | RSS down |")
print("|---|---:|---:|---:|---:|---:|---:|")
for other in ("rclone copyto", "aws s3 cp"):
    cells = []
    for col in (0, 1, 2):
        for d in ("up", "down"):
            k, o = med[f"{d}: kvault cp"][col], med[f"{d}: {other}"][col]
            cells.append(o / k if col == 0 else k / o)  # speed ratio = their wall / ours
    print(f"| kvault / {other} | " + " | ".join(f"{c:.2f}x" for c in cells) + " |")
print("\nEvery run, wall s / CPU s:\n")
for name, r in runs_by.items():
    print(f"- {name}: " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c, _ in r))
EOF
}

# Warm-up: RGW creates its data pools on the first writes, which would slow
# whichever client came first.
head -c "$(($(numfmt --from=iec "$CHUNK") * 3))" /dev/urandom >"$DIR/file"
"$KVAULT" cp -q --part-size "$CHUNK" "$DIR/file" "s3://$BUCKET/warmup"
"$KVAULT" rm "s3://$BUCKET/warmup"

for SIZE in "${SIZES[@]}"; do
    RESULTS=$DIR/results.$SIZE
    : >"$RESULTS"
    echo "writing a $SIZE random file..." >&2
    head -c "$(numfmt --from=iec "$SIZE")" /dev/urandom >"$DIR/file"
    BYTES=$(stat -c %s "$DIR/file")
    for ((round = 1; round <= RUNS; round++)); do
        echo "$SIZE: round $round of $RUNS ($CONC in flight, $CHUNK parts)..." >&2
        one_round
    done
    table >"$DIR/table.$SIZE.md"
    cat "$DIR/table.$SIZE.md"
    echo
done
