# Helpers the kvault command's test scripts share (sourced). The script
# sets KVAULT, T (its temporary directory) and LABEL (how failures name
# it) before calling them.

# fail MESSAGE: prints it with the last command's output, and exits 1.
fail() {
    echo "FAIL ($LABEL): $*" >&2
    for f in out err; do
        [[ -s $T/$f ]] && { echo "--- $f:" >&2; cat "$T/$f" >&2; }
    done
    exit 1
}

# run WANT_STATUS ARGS...: runs kvault, output in $T/out and $T/err.
run() {
    local want=$1 got=0
    shift
    "$KVAULT" "$@" >"$T/out" 2>"$T/err" || got=$?
    [[ $got == "$want" ]] || fail "kvault $* exited $got, want $want"
}

has_out() { grep -qE -- "$1" "$T/out" || fail "stdout lacks /$1/"; }
has_err() { grep -qE -- "$1" "$T/err" || fail "stderr lacks /$1/"; }
is_json() { python3 -c 'import json,sys; json.load(sys.stdin)' <"$T/out" || fail "stdout is not JSON"; }
# json EXPR: evaluates a Python expression over the parsed stdout as `j`.
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)" <"$T/out"; }
