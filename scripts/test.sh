#!/usr/bin/env bash
# Everything CI checks, in one command:
#   1. installs the dependencies (scripts/deps.sh all),
#   2. builds in build/ with warnings as errors and runs every test,
#   3. builds in build-asan/ with AddressSanitizer + UBSan and runs the tests
#      again, except those labelled "slow".
# Exits non-zero if any build or test fails. KV_TEST_JOBS sets the parallelism
# (default: the number of CPUs); KV_BUILD_DIR the build directory (default
# build; the sanitizer build goes to the same name with -asan).
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${KV_TEST_JOBS:-$(nproc)}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# build_and_test DIR CTEST_ARGS -- CMAKE_ARGS
build_and_test() {
    local dir=$1 ctest_args=$2
    shift 2
    echo "==> $dir: configure $*"
    mkdir -p "$dir"
    cmake -S . -B "$dir" -DKV_WERROR=ON "$@" >"$dir/configure.log" 2>&1 ||
        { cat "$dir/configure.log"; return 1; }
    echo "==> $dir: build"
    cmake --build "$dir" -j"$JOBS"
    echo "==> $dir: ctest $ctest_args"
    # shellcheck disable=SC2086 # ctest_args is a word list
    (cd "$dir" && ctest --output-on-failure --timeout 1200 -j"$JOBS" $ctest_args)
}

scripts/deps.sh all

status=0
B=${KV_BUILD_DIR:-build}
build_and_test "$B" "" || status=1
build_and_test "$B-asan" "-LE slow" -DKV_SANITIZE=ON || status=1

if ((status == 0)); then
    echo "==> all builds and tests passed"
else
    echo "==> FAILED (see above)" >&2
fi
exit $status
