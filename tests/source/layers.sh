#!/usr/bin/env bash
# Checks the layer rule of docs/architecture.md by reading #include lines:
# cli -> backup -> transfer -> store -> http -> util, each calling only down;
# only backup/ talks to RocksDB, only http/ to libcurl; backends never include
# each other; the CLI includes nothing of the project but kvault.h (not even
# the backend contract, include/kvault/sys/).
set -u
cd "$(dirname "$0")/../../src" || exit 1
fail=0
violation() { echo "layer violation: $*"; fail=1; }

# allowed project include prefixes per layer
declare -A allowed=(
  [util]="util/"
  [http]="util/ http/"
  [store]="util/ http/ store/store.h store/bucket.h"
  [transfer]="util/ store/store.h transfer/"
  [backup]="util/ store/store.h transfer/ backup/"
)
for layer in util http store transfer backup; do
  for f in "$layer"/*.[ch]; do
    [ -e "$f" ] || continue
    while IFS= read -r inc; do
      ok=0
      for p in ${allowed[$layer]}; do
        case "$inc" in "$p"*) ok=1 ;; esac
      done
      # a backend's own headers (store/hdfs.h, store/hdfs_conf.h for hdfs.c
      # and hdfs_conf.c) are its own business; another backend's are not
      own=$(basename "${f%.*}")
      own=${own%%_*}
      [ "$layer" = store ] && case "$inc" in "store/$own.h" | "store/${own}_"*.h) ok=1 ;; esac
      [ "$inc" = kvault.h ] && ok=1
      # the backend contract (include/kvault/sys/) is public, like kvault.h
      case "$inc" in kvault/sys/*) ok=1 ;; esac
      # a notification is not a store object: notify.c posts it itself
      [ "$f" = backup/notify.c ] && [ "$inc" = http/http.h ] && ok=1
      [ $ok = 1 ] || violation "$f includes \"$inc\""
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
  done
done

for f in cli/*.[ch]; do
  [ -e "$f" ] || continue
  while IFS= read -r inc; do
    [ "$inc" = kvault.h ] || [ -e "cli/$inc" ] || violation "$f includes \"$inc\" (the CLI uses only kvault.h)"
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done

while IFS= read -r f; do
  violation "$f includes RocksDB (only backup/ may)"
done < <(grep -l '#include <rocksdb/' -r . | grep -v '^\./backup/')
while IFS= read -r f; do
  violation "$f includes libcurl (only http/ may)"
done < <(grep -l '#include <curl/' -r . | grep -v '^\./http/')

if [ $fail = 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
