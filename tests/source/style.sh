#!/usr/bin/env bash
# Checks the style rules of docs/architecture.md that a reader can lose track
# of, over src/:
#  - no function body longer than MAX_BODY lines (small functions; the longest
#    today is about 50);
#  - none of the C library's calls that write without a bound or parse
#    without reporting errors (sprintf, vsprintf, strcpy, strcat, strtok,
#    gets, atoi, atol, atoll): snprintf, memcpy with a checked length,
#    strtok_r, strtol/strtoull with an end pointer instead;
#  - no new positional struct initializers: `TYPE var = {X` or
#    `TYPE var[...] = {{X` for a struct TYPE of src/ or include/, where X is
#    not '.', "0}" or '}' (designated and zero initializers are fine).
#    Older code has some: tests/source/positional.txt holds each file's
#    count, which may fall but never rise. Once you have removed some, lower
#    the ratchet with
#        tests/source/style.sh --update-positional
#    and commit tests/source/positional.txt with the change.
# (That every header compiles on its own is checked by the build:
# tests/source.cmake.)
set -u
MAX_BODY=${MAX_BODY:-60}
here=$(cd "$(dirname "$0")" && pwd)
ratchet=$here/positional.txt
cd "$here/../../src" || exit 1
fail=0

# A body runs from a '{' alone in column 0 to the next '}' in column 0
# (the project's formatting, kept by .clang-format).
while IFS= read -r line; do
  echo "function too long: $line"
  fail=1
done < <(for f in */*.c; do
  awk -v F="$f" -v max="$MAX_BODY" '
    /^\{$/ { start = NR }
    /^}/ { if (start && NR - start - 1 > max) printf "%s:%d: %d lines (at most %d)\n", F, start, NR - start - 1, max; start = 0 }' "$f"
done)

# Every line of src/, as "file:line: code", with comments and string
# literals left out.
code_lines() {
  for f in */*.[ch]; do
    sed -e 's://.*$::' -e 's:"\([^"\\]\|\\.\)*":"":g' "$f" |
      awk -v F="$f" '{ gsub(/\/\*([^*]|\*[^\/])*\*\//, "") } /\/\*/ { c = 1 } !c { print F ":" NR ": " $0 } /\*\// { c = 0 }'
  done
}
code=$(code_lines)

banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|gets|atoi|atol|atoll)[[:space:]]*\('
while IFS= read -r hit; do
  echo "banned call: $hit"
  fail=1
done < <(grep -E "$banned" <<<"$code")

# ---- positional struct initializers (a ratchet) ------------------------------

# The struct types of src/ and include/: "typedef struct A B;", the B of
# "typedef struct [A] {" ... "} B;", and "struct A {" (as "struct A").
struct_types() {
  awk '
    /^typedef struct [A-Za-z_0-9]+ [A-Za-z_0-9]+;/ { sub(/;.*/, "", $4); print $4 }
    /^typedef struct( [A-Za-z_0-9]+)? *\{/ { block = 1 }
    block && /^\} *[A-Za-z_0-9]+;/ {
      n = $0; sub(/^\} */, "", n); sub(/;.*/, "", n); print n; block = 0
    }
    /^(typedef )?struct [A-Za-z_0-9]+ *\{/ {
      n = $0; sub(/^(typedef )?struct /, "", n); sub(/ *\{.*/, "", n); print "struct " n
    }
  ' */*.[ch] ../include/*.h ../include/*/*/*.h | sort -u | paste -sd'|' -
}
types=$(struct_types)
id='[A-Za-z_][A-Za-z0-9_]*'
sp='[[:space:]]*'
# TYPE var = {X  or  TYPE var[...] = {{X, where X starts with neither '.'
# nor '}' nor "0}"
first="([^.}0[:space:]]|0$sp[^}[:space:]])"
positional="(^|[^A-Za-z0-9_])($types)[[:space:]]+$id$sp(=$sp\{|(\[[^]]*\])+$sp=$sp\{$sp\{)$sp$first"
hits=$(grep -E "$positional" <<<"$code")
counts() { cut -d: -f1 <<<"$hits" | grep -v '^$' | sort | uniq -c | awk '{ print $2, $1 }'; }

if [ "${1:-}" = --update-positional ]; then
  {
    echo "# Positional struct initializers per file of src/, which tests/source/style.sh"
    echo "# lets fall but never rise. After removing some, lower the counts with"
    echo "#   tests/source/style.sh --update-positional"
    counts
  } >"$ratchet"
  echo "style: wrote $(counts | wc -l) files' counts to tests/source/positional.txt"
  exit 0
fi

lower() { echo "note: $1: lower the ratchet with tests/source/style.sh --update-positional"; }
declare -A allowed=()
[ -r "$ratchet" ] || { echo "style: cannot read $ratchet"; exit 1; }
while read -r f n; do
  allowed[$f]=$n
done < <(grep -v '^#' "$ratchet")
while read -r f n; do
  max=${allowed[$f]:-0}
  if [ "$n" -gt "$max" ]; then
    echo "positional struct initializers: $f has $n, the ratchet allows $max"
    echo "  (tests/source/positional.txt); use designated ones (.field = value) in:"
    awk -v p="$f:" 'index($0, p) == 1 { print "    " $0 }' <<<"$hits"
    fail=1
  elif [ "$n" -lt "$max" ]; then
    lower "$f has $n positional struct initializers, $max recorded"
  fi
done < <(counts)
for f in "${!allowed[@]}"; do
  awk -v p="$f:" 'index($0, p) == 1 { found = 1 } END { exit !found }' <<<"$hits" ||
    lower "$f has no positional struct initializers, ${allowed[$f]} recorded"
done

[ $fail = 0 ] && echo "style: every function body within $MAX_BODY lines, no banned calls," \
  "no new positional struct initializers"
exit $fail
