#!/bin/sh
# s3_interop.sh S3_XFER BUCKET: objects written by kvault read intact with the
# aws CLI, and objects the aws CLI writes (one of them multipart) read intact
# with kvault. Run under tests/servers/with_rgw_env.sh.
set -eu
xfer=$1
bucket=$2
work=$(mktemp -d /tmp/kvs3-interop-XXXXXX)
prefix=interop/run-$$-$(date +%s)
trap 'aws s3 rm --quiet --recursive "s3://$bucket/$prefix" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

head -c 300000 /dev/urandom >"$work/small"
head -c 13000000 /dev/urandom >"$work/big"     # 3 parts of 5 MiB for kvault
head -c 20000000 /dev/urandom >"$work/big2"    # over the aws CLI's 8 MiB threshold

# kvault writes, aws reads
for f in small big; do
    "$xfer" put "$work/$f" "s3://$bucket/$prefix/kv-$f"
    aws s3 cp --quiet "s3://$bucket/$prefix/kv-$f" "$work/$f.aws"
    cmp "$work/$f" "$work/$f.aws"
done
etag=$(aws s3api head-object --bucket "$bucket" --key "$prefix/kv-big" --query ETag --output text)
case $etag in *-3\"|*-3) ;; *) echo "kvault's upload of big is not a 3-part multipart: $etag" >&2; exit 1 ;; esac

# aws writes, kvault reads
for f in small big2; do
    aws s3 cp --quiet "$work/$f" "s3://$bucket/$prefix/aws-$f"
    "$xfer" get "s3://$bucket/$prefix/aws-$f" "$work/$f.kv"
    cmp "$work/$f" "$work/$f.kv"
done
etag=$(aws s3api head-object --bucket "$bucket" --key "$prefix/aws-big2" --query ETag --output text)
case $etag in *-*) ;; *) echo "the aws CLI's upload of big2 is not multipart: $etag" >&2; exit 1 ;; esac
echo "interop ok: kvault -> aws and aws -> kvault, single and multipart"
