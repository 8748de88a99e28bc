#!/bin/sh
# azure_interop.sh KVAULT AZURE_INTEROP_JS CONTAINER: blobs kvault writes
# (one Put Blob, one block list) download intact with the Azure SDK, and blobs
# the SDK writes (one single shot, one in 1 MiB blocks) download intact with
# kvault. Run under tests/servers/with_azurite_env.sh (dev account).
set -eu
kvault=$1
js=$2
container=$3
work=$(mktemp -d /tmp/kvaz-interop-XXXXXX)
prefix=interop/run-$$-$(date +%s)
cleanup() {
    for b in kv-small kv-big sdk-small sdk-big; do
        "$kvault" rm -q "az://$container/$prefix/$b" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

head -c 300000 /dev/urandom >"$work/small"
head -c 5500000 /dev/urandom >"$work/big"   # 6 blocks of 1 MiB

blocks() {
    node "$js" blocks "$container" "$prefix/$1"
}

expect_blocks() { # BLOB N
    n=$(blocks "$1")
    [ "$n" = "$2" ] || { echo "$1: $n committed blocks, expected $2" >&2; exit 1; }
}

# kvault writes, the SDK reads
"$kvault" cp -q "$work/small" "az://$container/$prefix/kv-small"
"$kvault" cp -q --part-size 1M "$work/big" "az://$container/$prefix/kv-big"
expect_blocks kv-small 0
expect_blocks kv-big 6
for f in small big; do
    node "$js" download "$container" "$prefix/kv-$f" "$work/$f.sdk"
    cmp "$work/$f" "$work/$f.sdk"
done

# the SDK writes, kvault reads
node "$js" upload "$container" "$prefix/sdk-small" "$work/small"
node "$js" upload "$container" "$prefix/sdk-big" "$work/big" 1048576
expect_blocks sdk-big 6
for f in small big; do
    "$kvault" cp -q "az://$container/$prefix/sdk-$f" "$work/$f.kv"
    cmp "$work/$f" "$work/$f.kv"
done
echo "interop ok: kvault -> Azure SDK and Azure SDK -> kvault, single blobs and block lists"
