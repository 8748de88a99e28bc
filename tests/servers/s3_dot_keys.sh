#!/bin/sh
# s3_dot_keys.sh KVAULT BUCKET: a key with dot segments on a real RGW (run
# under tests/servers/with_rgw_env.sh). kvault sends such a key as it is
# (so the request it signed is the one RGW checks, and RGW stores the key
# literally); a listing that meets one fails naming it, and neither ls nor
# gc acts on it or on what its dots point to; rm of the literal key works.
set -u
kvault=$1
bucket=$2
run=dotkeys-$$
# a file of a backup in env "default", as S3 allows; its dots point to
# default/victim
dots=default/rocksdb/2020-01-01/20200101T000000Z-abcdef/../../../victim
work=$(mktemp -d /tmp/kvdots-XXXXXX)
trap 'rm -rf "$work"; aws s3 rm --recursive --quiet "s3://$bucket/$run/" >/dev/null 2>&1' EXIT
fail() { echo "s3_dot_keys.sh: $*" >&2; exit 1; }

echo data >"$work/f"
"$kvault" cp "$work/f" "s3://$bucket/$run/default/victim" || fail "cp of a plain key failed"
"$kvault" cp "$work/f" "s3://$bucket/$run/$dots" ||
    fail "cp of a key with dot segments failed"
keys=$(aws s3api list-objects-v2 --bucket "$bucket" --prefix "$run/" --query 'Contents[].Key' \
       --output text)
case "$keys" in *"$run/$dots"*) ;;
    *) fail "RGW does not hold the literal key: $keys" ;; esac

"$kvault" ls "s3://$bucket/$run/" 2>"$work/err" && fail "ls listed a key with dot segments"
cat "$work/err"
grep -q "'.' or '..' segment" "$work/err" || fail "ls: no clear message"
grep -q SignatureDoesNotMatch "$work/err" && fail "ls: a signature error"

"$kvault" gc --grace 0 --from "s3://$bucket/$run" 2>"$work/err" && fail "gc went past the key"
cat "$work/err"
grep -q "'.' or '..' segment" "$work/err" || fail "gc: no clear message"
aws s3api head-object --bucket "$bucket" --key "$run/default/victim" >/dev/null ||
    fail "the key the dots point to was removed"

"$kvault" rm "s3://$bucket/$run/$dots" ||
    fail "rm of the literal key failed"
"$kvault" ls "s3://$bucket/$run/" >"$work/out" || fail "ls after rm failed"
grep -q "$run/default/victim" "$work/out" || fail "the plain key is gone"
[ "$(wc -l <"$work/out")" = 1 ] || fail "ls after rm: $(cat "$work/out")"
echo "s3_dot_keys.sh: passed"
