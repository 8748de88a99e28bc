#!/usr/bin/env bash
# Installs a kvault build into a temporary prefix and checks what was
# installed, by using it the way other programs will: against that prefix
# only, never the build or source tree.
#   tests/install/check.sh BUILD_DIR SOURCE_DIR CASE
# CASE is one of
#   layout       the installed files, libkvault.so's SONAME and exported
#                symbols, kvault.pc's contents, the kvault binary
#   pkgconfig    C and C++ programs built with pkg-config flags: shared, and
#                libkvault.a with `pkg-config --static`
#   cmake        C and C++ programs built with find_package(kvault CONFIG):
#                kvault::kvault (shared) and kvault::kvault_static, with
#                RocksDB found through its CMake package and without it
#   static_only  a second build with -DKV_SHARED=OFF, installed: no
#                libkvault.so, and kvault::kvault and -lkvault are the static
#                library
# The environment gives KV_VERSION (the project's version), KV_LIBDIR (the
# install libdir, relative), KV_SANITIZE (ON/OFF: how BUILD_DIR was
# configured), KV_CONSUMER_FLAGS (extra compile and link flags for the
# programs, e.g. the sanitizer's), CC and CXX.
set -euo pipefail

BUILD=$(realpath "$1")
SRC=$(realpath "$2")
CASE=$3
: "${KV_VERSION:?} ${KV_LIBDIR:?} ${KV_SANITIZE:?} ${CC:?} ${CXX:?}"
read -ra FLAGS <<<"${KV_CONSUMER_FLAGS:-}"
MAJOR_MINOR=${KV_VERSION%.*}
MAJOR=${KV_VERSION%%.*}
MINOR=${MAJOR_MINOR#*.}

T=$(realpath "$(mktemp -d "${TMPDIR:-/tmp}/kvault-install-$CASE.XXXXXX")")
trap 'rm -rf "$T"' EXIT
P=$T/prefix
LIB=$P/$KV_LIBDIR
mkdir -p "$T/tmp" "$T/home"
# The programs' scratch files, checksum cache and default store stay in $T;
# nothing is found through the caller's library path or pkg-config path.
export TMPDIR=$T/tmp HOME=$T/home KVAULT_CACHE_DIR=$T/cache
export PKG_CONFIG_PATH=$LIB/pkgconfig
unset LD_LIBRARY_PATH KVAULT_STORE XDG_DATA_HOME XDG_CACHE_HOME PKG_CONFIG_LIBDIR CMAKE_PREFIX_PATH

passed=0
fail() {
    echo "FAIL ($CASE): $*" >&2
    exit 1
}
ok() {
    echo "ok: $*"
    passed=$((passed + 1))
}
# run LOG CMD...: runs CMD with its output in LOG, shown if it fails.
run() {
    local log=$1
    shift
    local rc=0
    "$@" >"$log" 2>&1 || rc=$?
    ((rc == 0)) || { cat "$log" >&2; fail "$* exited $rc"; }
}

install_build() { # install_build BUILD_DIR
    run "$T/install.log" cmake --install "$1" --prefix "$P"
}

needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }

# The checks below prove nothing if the compiler or linker could find kvault
# without being told where.
preflight() {
    local found
    found=$(echo '#include <kvault.h>' | "$CC" -E -x c - 2>/dev/null | grep -m1 -o '"/[^"]*kvault.h"') &&
        fail "the compiler finds $found without -I; remove it so that this test checks the installed headers"
    for f in libkvault.so libkvault.a; do
        found=$("$CC" -print-file-name="$f")
        [[ $found == "$f" ]] || fail "the linker finds $found by default; remove it so that this test checks the installed library"
    done
}

# runs_ok CMD...: runs a consumer (CMD may start with env ...) and checks
# that it reported success.
runs_ok() {
    run "$T/run.log" "$@"
    grep -q ': ok$' "$T/run.log" || { cat "$T/run.log" >&2; fail "$* did not report ok"; }
}
# runs_alone PROGRAM: runs_ok with LD_LIBRARY_PATH unset.
runs_alone() { runs_ok env -u LD_LIBRARY_PATH "$1"; }

# links_shared PROGRAM: it needs libkvault.so.MAJOR.MINOR; links_static: no libkvault.so.
links_shared() {
    needed "$1" | grep -qx "libkvault.so.$MAJOR_MINOR" ||
        fail "$1 does not need libkvault.so.$MAJOR_MINOR: $(needed "$1" | tr '\n' ' ')"
}
links_static() {
    ! needed "$1" | grep -q '^libkvault' || fail "$1 needs $(needed "$1" | grep libkvault)"
}
resolves_from_prefix() { # PROGRAM [LD_LIBRARY_PATH]
    local where
    where=$(env -u LD_LIBRARY_PATH ${2:+LD_LIBRARY_PATH=$2} ldd "$1" | awk '$1 ~ /^libkvault/ {print $3}')
    [[ $where == "$LIB/libkvault.so.$MAJOR_MINOR" ]] ||
        fail "$1 loads libkvault from '$where', not $LIB"
}

# ---- layout ------------------------------------------------------------------
case_layout() {
    install_build "$BUILD"
    for f in bin/kvault include/kvault.h "$KV_LIBDIR/libkvault.a" "$KV_LIBDIR/pkgconfig/kvault.pc" \
        "$KV_LIBDIR/cmake/kvault/kvaultConfig.cmake" "$KV_LIBDIR/cmake/kvault/kvaultConfigVersion.cmake" \
        "$KV_LIBDIR/cmake/kvault/kvaultDependencies.cmake" \
        "$KV_LIBDIR/cmake/kvault/kvault-static-targets.cmake" \
        "$KV_LIBDIR/cmake/kvault/kvault-shared-targets.cmake" share/man/man1/kvault.1; do
        [[ -f $P/$f ]] || fail "$f is not installed"
    done
    diff <(cd "$SRC/include" && find . -name '*.h' | sort) <(cd "$P/include" && find . -type f | sort) ||
        fail "include/ is not exactly the source tree's public headers"
    cmp -s "$SRC/include/kvault.h" "$P/include/kvault.h" || fail "installed kvault.h differs from the source's"
    cmp -s "$SRC/doc/kvault.1" "$P/share/man/man1/kvault.1" || fail "installed man page differs from doc/kvault.1"
    ok "headers, libraries, pkg-config file, CMake package and man page installed"

    # Nothing installed points back into the build or source tree, and the
    # CMake package does not name the prefix either: it can be moved (as
    # vcpkg moves a port's files from packages/ to installed/).
    if grep -rlF -e "$BUILD" -e "$SRC" "$LIB/pkgconfig" "$LIB/cmake"; then
        fail "installed package files name the build or source directory"
    fi
    if grep -rlF "$P" "$LIB/cmake"; then
        fail "the installed CMake package names its prefix $P: it cannot be moved"
    fi
    ok "the pkg-config and CMake files name neither the build nor the source directory; the CMake package is relocatable"

    # libkvault.so -> libkvault.so.MAJOR.MINOR -> libkvault.so.VERSION, whose
    # SONAME is libkvault.so.MAJOR.MINOR.
    [[ $(readlink "$LIB/libkvault.so") == "libkvault.so.$MAJOR_MINOR" &&
        $(readlink "$LIB/libkvault.so.$MAJOR_MINOR") == "libkvault.so.$KV_VERSION" &&
        -f $LIB/libkvault.so.$KV_VERSION && ! -L $LIB/libkvault.so.$KV_VERSION ]] ||
        fail "symlinks: $(ls -l "$LIB"/libkvault.so*)"
    local soname
    soname=$(readelf -d "$LIB/libkvault.so.$KV_VERSION" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [[ $soname == "libkvault.so.$MAJOR_MINOR" ]] || fail "SONAME is '$soname', want libkvault.so.$MAJOR_MINOR"
    ok "SONAME libkvault.so.$MAJOR_MINOR, symlinks libkvault.so -> .so.$MAJOR_MINOR -> .so.$KV_VERSION"

    # The shared library exports exactly the functions the public headers
    # declare.
    local api exported
    # (prototypes start a line: "int kvault_open(", "int kv_store_register(")
    api=$(grep -rhoE '^[a-z][a-z0-9_ *]*\b(kvault|kv)_[a-z0-9_]+\(' "$P/include" |
        grep -oE '(kvault|kv)_[a-z0-9_]+\($' | tr -d '(' | sort -u)
    exported=$(nm -D --defined-only "$LIB/libkvault.so" | awk '{print $NF}' | sort -u)
    [[ -n $api ]] || fail "found no functions in the installed headers"
    diff <(echo "$api") <(echo "$exported") >"$T/exports.diff" ||
        fail "libkvault.so exports (>) differ from the public headers' functions (<):
$(cat "$T/exports.diff")"
    ok "libkvault.so exports exactly the $(echo "$api" | wc -l) functions the public headers declare"

    # The static library keeps its internal symbols global: the CLI and the
    # tests link them.
    local internal
    internal=$(nm --defined-only -g "$LIB/libkvault.a" 2>/dev/null | awk 'NF == 3 && $3 !~ /^kvault_/' | wc -l)
    ((internal > 0)) || fail "libkvault.a has no global symbols besides kvault_*"
    ok "libkvault.a keeps its $internal internal global symbols"

    # The CLI links libkvault.a: it needs no libkvault.so and no RPATH.
    links_static "$P/bin/kvault"
    ! readelf -d "$P/bin/kvault" | grep -qE '\((RPATH|RUNPATH)\)' ||
        fail "bin/kvault has an RPATH: $(readelf -d "$P/bin/kvault" | grep -E 'RPATH|RUNPATH')"
    local header_version
    header_version=$(sed -n 's/^#define KVAULT_VERSION "\(.*\)"/\1/p' "$P/include/kvault.h")
    run "$T/version.log" env -u LD_LIBRARY_PATH "$P/bin/kvault" --version
    [[ $(cat "$T/version.log") == "kvault $header_version" ]] ||
        fail "bin/kvault --version says '$(cat "$T/version.log")', want 'kvault $header_version'"
    ok "bin/kvault --version runs without LD_LIBRARY_PATH: $(cat "$T/version.log")"

    # kvault.pc
    run "$T/pc.log" pkg-config --validate kvault
    [[ $(pkg-config --modversion kvault) == "$KV_VERSION" ]] ||
        fail "pkg-config --modversion kvault: $(pkg-config --modversion kvault)"
    [[ $(pkg-config --variable=prefix kvault) == "$P" ]] ||
        fail "kvault.pc's prefix is $(pkg-config --variable=prefix kvault), not $P"
    local cflags libs static
    # (xargs trims the trailing space pkg-config prints)
    cflags=$(pkg-config --cflags kvault | xargs)
    libs=$(pkg-config --libs kvault | xargs)
    static=$(pkg-config --static --libs kvault | xargs)
    [[ " $cflags " == *" -I$P/include "* ]] || fail "pkg-config --cflags kvault: $cflags"
    [[ $libs == "-L$LIB -lkvault" ]] || fail "pkg-config --libs kvault: '$libs', want '-L$LIB -lkvault'"
    for l in -lkvault -lrocksdb -ljansson -lxml2 -lcurl -lcrypto -lisal -lpthread -lm; do
        [[ " $static " == *" $l "* ]] || fail "pkg-config --static --libs kvault lacks $l: $static"
    done
    ok "kvault.pc: version $KV_VERSION, prefix $P, -lkvault; --static adds the dependencies"
}

# ---- pkg-config ----------------------------------------------------------------
# build_c OUT LIBS...: compiles consumer.c with pkg-config's cflags, strict C11;
# fails unless the kvault.h it read is the installed one and the linker read
# libkvault from $LIB (-Wl,-t lists the files the linker opened).
build_c() {
    local out=$1
    shift
    # shellcheck disable=SC2046 # pkg-config output is a word list
    run "$T/$out.log" "$CC" -std=c11 -Wall -Wextra -Wpedantic -Werror "${FLAGS[@]}" -MD -MF "$T/$out.d" \
        $(pkg-config --cflags kvault) "$T/src/consumer.c" -o "$T/$out" "$@" -Wl,-t
    grep -q "$P/include/kvault.h" "$T/$out.d" || fail "$out was not compiled with $P/include/kvault.h"
    grep -q "^$LIB/libkvault\.\(so\|a\)" "$T/$out.log" || fail "$out was not linked with libkvault from $LIB"
}

case_pkgconfig() {
    install_build "$BUILD"
    mkdir -p "$T/src" && cp "$SRC/tests/install/consumer.c" "$SRC/tests/install/consumer.cpp" "$T/src/"

    # shellcheck disable=SC2046
    build_c c_shared $(pkg-config --libs kvault)
    links_shared "$T/c_shared"
    resolves_from_prefix "$T/c_shared" "$LIB"
    ! env -u LD_LIBRARY_PATH "$T/c_shared" >"$T/norun.log" 2>&1 ||
        fail "c_shared ran without libkvault.so on the library path"
    grep -q "libkvault.so.$MAJOR_MINOR" "$T/norun.log" || fail "c_shared failed for another reason: $(cat "$T/norun.log")"
    runs_ok env LD_LIBRARY_PATH="$LIB" "$T/c_shared"
    ok "C, pkg-config --cflags --libs kvault: needs libkvault.so.$MAJOR_MINOR from $LIB, round trip ok"

    # libkvault.a with `pkg-config --static`: -l:libkvault.a picks the archive
    # where -lkvault would pick the shared library beside it.
    local static
    static=$(pkg-config --static --libs kvault)
    # shellcheck disable=SC2086
    build_c c_static ${static/-lkvault /-l:libkvault.a }
    links_static "$T/c_static"
    runs_alone "$T/c_static"
    ok "C, libkvault.a with pkg-config --static --libs kvault: round trip ok without libkvault.so"
    # ... and --static is what makes that link work.
    # shellcheck disable=SC2046
    if "$CC" "${FLAGS[@]}" $(pkg-config --cflags kvault) "$T/src/consumer.c" -o "$T/c_nostatic" \
        -L"$LIB" -l:libkvault.a >"$T/nostatic.log" 2>&1; then
        fail "libkvault.a linked without its dependencies; the --static check proves nothing"
    fi
    grep -q "undefined reference to" "$T/nostatic.log" ||
        fail "linking libkvault.a alone failed for another reason: $(head -5 "$T/nostatic.log")"
    ok "libkvault.a without --static's flags does not link: $(grep -o "undefined reference to .[a-zA-Z_]*" "$T/nostatic.log" | sort -u | wc -l) undefined symbols"

    # C++17 with RocksDB's own header, against the shared library.
    # shellcheck disable=SC2046
    run "$T/cpp.log" "$CXX" -std=c++17 -Wall -Wextra -Wpedantic -Werror "${FLAGS[@]}" \
        $(pkg-config --cflags kvault rocksdb) "$T/src/consumer.cpp" -o "$T/cpp_shared" \
        $(pkg-config --libs kvault rocksdb)
    links_shared "$T/cpp_shared"
    runs_ok env LD_LIBRARY_PATH="$LIB" "$T/cpp_shared"
    ok "C++17, pkg-config kvault rocksdb: live backup and restore through libkvault.so ok"
}

# ---- CMake ---------------------------------------------------------------------
# cmake_consumer DIR ARGS...: configures and builds the consumer project.
cmake_consumer() {
    local dir=$1
    shift
    mkdir -p "$dir/src"
    cp "$SRC/tests/install/consumer.c" "$SRC/tests/install/consumer.cpp" "$dir/src/"
    cp "$SRC/tests/install/CMakeLists.consumer.txt" "$dir/src/CMakeLists.txt"
    local reject="$MAJOR.$((MINOR + 1));$((MAJOR + 1)).0"
    ((MINOR > 0)) && reject+=";$MAJOR.$((MINOR - 1))"
    run "$dir/configure.log" cmake -S "$dir/src" -B "$dir/build" -G "Unix Makefiles" \
        -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
        -DCMAKE_C_FLAGS="${FLAGS[*]}" -DCMAKE_CXX_FLAGS="${FLAGS[*]}" \
        -DCMAKE_EXE_LINKER_FLAGS="${FLAGS[*]}" \
        -DCMAKE_PREFIX_PATH="$P" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
        -DKVAULT_REQUEST="$MAJOR_MINOR" -DKVAULT_REJECT="$reject" \
        -DKVAULT_EXPECT_DIR="$LIB/cmake/kvault" "$@"
    run "$dir/build.log" cmake --build "$dir/build" -j2
    local cmd=$dir/build/CMakeFiles
    if grep -lF -e "$BUILD" -e "$SRC" "$cmd"/consumer_*.dir/{flags.make,link.txt}; then
        fail "the consumer's compile or link commands name kvault's build or source directory"
    fi
    grep -q -- "$P/include" "$cmd/consumer_c.dir/flags.make" || fail "consumer_c is not compiled with $P/include"
}

case_cmake() {
    install_build "$BUILD"
    local d=$T/cmake
    cmake_consumer "$d"
    local c=$d/build/consumer_c cpp=$d/build/consumer_cpp
    grep -q "$LIB/libkvault.so.$KV_VERSION" "$d/build/CMakeFiles/consumer_c.dir/link.txt" ||
        fail "consumer_c is not linked with $LIB/libkvault.so.$KV_VERSION"
    links_shared "$c"
    resolves_from_prefix "$c"
    runs_alone "$c"
    ok "C, kvault::kvault: needs libkvault.so.$MAJOR_MINOR, found through the build RPATH in $LIB, round trip ok"

    grep -q "$LIB/libkvault.a" "$d/build/CMakeFiles/consumer_cpp.dir/link.txt" ||
        fail "consumer_cpp is not linked with $LIB/libkvault.a"
    links_static "$cpp"
    runs_alone "$cpp"
    ok "C++17, kvault::kvault_static: live backup and restore ok without libkvault.so"
    ok "find_package(kvault $MAJOR_MINOR) found $LIB/cmake/kvault and refused other minor and major versions"

    # kvault's package finds librocksdb itself when RocksDB has no CMake package.
    cmake_consumer "$T/cmake-norocksdbpkg" -DCMAKE_DISABLE_FIND_PACKAGE_RocksDB=ON \
        -DKVAULT_EXPECT_ROCKSDB_FALLBACK=ON
    runs_alone "$T/cmake-norocksdbpkg/build/consumer_cpp"
    ok "kvault::kvault_static without RocksDB's CMake package (librocksdb found directly): ok"
}

# ---- static only ---------------------------------------------------------------
case_static_only() {
    local b=$T/build-static
    run "$T/configure.log" cmake -S "$SRC" -B "$b" -DKV_SHARED=OFF -DBUILD_TESTING=OFF \
        -DKV_WERROR=ON -DKV_SANITIZE="$KV_SANITIZE" -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX"
    run "$T/build.log" cmake --build "$b" -j2
    install_build "$b"
    if compgen -G "$LIB/libkvault.so*" >/dev/null || [[ -e $LIB/cmake/kvault/kvault-shared-targets.cmake ]]; then
        fail "KV_SHARED=OFF installed a shared library: $(ls "$LIB")"
    fi
    [[ -f $LIB/libkvault.a ]] || fail "KV_SHARED=OFF did not install libkvault.a"
    ok "KV_SHARED=OFF installs libkvault.a and no libkvault.so"

    mkdir -p "$T/src" && cp "$SRC/tests/install/consumer.c" "$T/src/"
    # shellcheck disable=SC2046
    build_c c_static $(pkg-config --static --libs kvault)
    links_static "$T/c_static"
    runs_alone "$T/c_static"
    ok "C, pkg-config --static --libs kvault (plain -lkvault): libkvault.a, round trip ok"

    cmake_consumer "$T/cmake"
    links_static "$T/cmake/build/consumer_c"
    runs_alone "$T/cmake/build/consumer_c"
    runs_alone "$T/cmake/build/consumer_cpp"
    ok "kvault::kvault is libkvault.a when no shared library is installed; C and C++ programs ok"
}

preflight
case "$CASE" in
layout | pkgconfig | cmake | static_only) "case_$CASE" ;;
*) fail "unknown case '$CASE'" ;;
esac
echo "$passed passed, 0 failed"
