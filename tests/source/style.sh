#!/usr/bin/env bash
# Checks the style rules of docs/architecture.md that a reader can lose track
# of, over src/:
#  - no function body longer than MAX_BODY lines (small functions; the longest
#    today is about 50);
#  - none of the C library's calls that write without a bound or parse
#    without reporting errors (sprintf, vsprintf, strcpy, strcat, strtok,
#    gets, atoi, atol, atoll): snprintf, memcpy with a checked length,
#    strtok_r, strtol/strtoull with an end pointer instead.
# (That every header compiles on its own is checked by the build:
# tests/source.cmake.)
set -u
MAX_BODY=${MAX_BODY:-60}
cd "$(dirname "$0")/../../src" || exit 1
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

# Comments and string literals are left out before matching.
banned='\b(sprintf|vsprintf|strcpy|strcat|strtok|gets|atoi|atol|atoll)[[:space:]]*\('
while IFS= read -r hit; do
  echo "banned call: $hit"
  fail=1
done < <(for f in */*.[ch]; do
  sed -e 's://.*$::' -e 's:"\([^"\\]\|\\.\)*":"":g' "$f" |
    awk -v F="$f" '{ gsub(/\/\*([^*]|\*[^\/])*\*\//, "") } /\/\*/ { c = 1 } !c { print F ":" NR ": " $0 } /\*\// { c = 0 }' |
    grep -E "$banned"
done)

[ $fail = 0 ] && echo "style: every function body within $MAX_BODY lines, no banned calls"
exit $fail
