# Shell helpers the benchmark scripts share (source it; not run alone).
# The sourcing script sets DIR (its scratch directory) before calling them.

# CACHE says whether runs start with a cold page cache ("cold") or could not
# drop it ("warm"; not root). A script that wants warm runs sets it to warm.
CACHE=cold

drop_caches() {
    sync
    if [[ $CACHE == cold ]] && ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
        CACHE=warm
        echo "(cannot drop the page cache: runs are warm-cache)" >&2
    fi
}

# measure NAME COMMAND...: one timed run with /usr/bin/time -v after dropping
# the page cache; appends "NAME wall cpu rss_kib" to $RESULTS (default
# $DIR/results; fields joined by $SEP, default a space: set SEP="|" for
# names with spaces) and keeps the command's output in $DIR/<NAME>.out and
# .err (NAME with anything but letters, digits, '.', '_' and '-' as '_').
# A failed command stops the script, showing its stderr.
measure() {
    local name=$1 file
    shift
    file=$DIR/$(printf %s "$name" | tr -c 'A-Za-z0-9._-' _)
    drop_caches
    /usr/bin/time -v -o "$DIR/time.txt" "$@" >"$file.out" 2>"$file.err" || {
        echo "$name failed:" >&2
        cat "$file.err" >&2
        exit 1
    }
    awk -v name="$name" -v sep="${SEP:- }" '
        /Elapsed \(wall clock\)/ { n = split($NF, p, ":"); wall = 0
                                   for (i = 1; i <= n; i++) wall = wall * 60 + p[i] }
        /User time/ { cpu += $NF }
        /System time/ { cpu += $NF }
        /Maximum resident set size/ { rss = $NF }
        END { printf "%s%s%.2f%s%.2f%s%d\n", name, sep, wall, sep, cpu, sep, rss }' \
        "$DIR/time.txt" >>"${RESULTS:-$DIR/results}"
}

# need_time: /usr/bin/time is required (GNU time, Debian package "time").
need_time() {
    [[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time: scripts/deps.sh test" >&2; exit 1; }
}
