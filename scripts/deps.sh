#!/usr/bin/env bash
# Installs what kvault needs on Debian 12, as root. Idempotent, and quick
# when everything is already there (no apt-get update then).
#   scripts/deps.sh build   compiler, CMake and the libraries kvault links
#   scripts/deps.sh test    the servers and clients the tests and benchmarks use
#   scripts/deps.sh [all]   both
set -euo pipefail

BUILD_PKGS=(build-essential cmake pkg-config librocksdb-dev libjansson-dev
    libcurl4-openssl-dev libssl-dev libxml2-dev libisal-dev libzstd-dev libinih-dev)
TEST_PKGS=(ceph-mon ceph-osd radosgw ceph-common uuid-runtime awscli rclone python3 time
    rocksdb-tools # sst_dump and ldb check exported files (tests/cli/export_test.sh)
    groff-base # tests/install/man_check.py checks doc/kvault.1 with groff
    # what `pkg-config --static --libs kvault` names through libcurl.pc: the
    # install tests link libkvault.a with those flags
    libnghttp2-dev librtmp-dev libssh2-1-dev libpsl-dev libkrb5-dev libldap-dev)

case "${1:-all}" in
build) wanted=("${BUILD_PKGS[@]}") ;;
test) wanted=("${TEST_PKGS[@]}") ;;
all) wanted=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}") ;;
*)
    echo "usage: $0 [build|test|all]" >&2
    exit 2
    ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
    if [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]} == 0)); then
    echo "deps: all ${#wanted[@]} packages already installed"
    exit 0
fi

if ((EUID != 0)); then
    echo "deps: missing ${missing[*]}; run this script as root to install them" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
