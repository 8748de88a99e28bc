#!/usr/bin/env bash
# kvault in two minutes: installs the build dependencies (as root), builds,
# makes a ~100 MB sample RocksDB with four column families, backs it up to a
# local store, changes 1% of it and backs it up again (incrementally), lists
# the backups, restores the latest, compares it key by key with the source,
# and verifies the backup by restoring it and reading every key.
#
#   scripts/demo.sh [DIR]      (default: a new directory under /tmp)
# KV_BUILD_DIR picks the build directory (default build/).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${KV_BUILD_DIR:-build}

if [[ -t 1 ]]; then BOLD=$'\e[1m' OFF=$'\e[0m'; else BOLD='' OFF=''; fi
say() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$OFF"; }
# show COMMAND...: prints the command (with build/ paths), then runs it.
show() {
    printf '$ %s\n' "$*"
    "$@"
}

say "Installing build dependencies"
if ((EUID == 0)); then
    scripts/deps.sh build
else
    echo "not root: skipping; if the build fails, run 'sudo scripts/deps.sh build'"
fi

say "Building"
cmake -S . -B "$B" >/dev/null
cmake --build "$B" -j"$(nproc)" --target kvault kvault-gendb >/dev/null
echo "built $B/kvault ($("$B"/kvault --version))"

DEMO=${1:-$(mktemp -d /tmp/kvault-demo.XXXXXX)}
mkdir -p "$DEMO"
rm -rf "$DEMO/db" "$DEMO/store" "$DEMO/restored"
# Keep the demo's checksum cache with the demo.
export KVAULT_CACHE_DIR=$DEMO/cache
K=$B/kvault

say "Making a sample database in $DEMO/db"
show "$B/kvault-gendb" --size 100M --cfs 4 "$DEMO/db"

say "Backing it up to the local store $DEMO/store"
show "$K" backup --db "$DEMO/db" --to "$DEMO/store"

say "Changing 1% of the keys, then backing up again: only new files are stored"
show "$B/kvault-gendb" --update 1 "$DEMO/db"
show "$K" backup --db "$DEMO/db" --to "$DEMO/store"

say "Listing the backups"
show "$K" list --from "$DEMO/store"

say "What the store holds (manifest.json is written last: it makes a backup exist)"
(cd "$DEMO/store" && find . -type f | sort | sed 's|^\./||' | head -20)

say "Restoring the latest backup to $DEMO/restored"
show "$K" restore --from "$DEMO/store" --to "$DEMO/restored"

say "Comparing every key and value of the restored database with the source"
"$B"/kvault-gendb --digest "$DEMO/db" >"$DEMO/source.digest"
"$B"/kvault-gendb --digest "$DEMO/restored" >"$DEMO/restored.digest"
if cmp -s "$DEMO/source.digest" "$DEMO/restored.digest"; then
    echo "identical: $(awk '{n += $2} END {print n}' "$DEMO/source.digest") keys in $(wc -l <"$DEMO/source.digest") column families"
else
    echo "the restored database differs from the source" >&2
    exit 1
fi

say "Verifying the backup: every object's CRC32C, then a trial restore reading every key"
show "$K" verify --from "$DEMO/store" --restore-check

say "Done"
echo "Everything is in $DEMO (remove it with: rm -rf $DEMO)."
echo "Next: '$K --help', or back up to S3 with --to s3://bucket/prefix (see README.md)."
