#!/usr/bin/env bash
# Notifications and the config file, end to end with the kvault command.
#   tests/cli/notify_test.sh KVAULT GENDB CASE
# CASE: hook (--notify commands: success, failure, failing and hanging
# hooks, --notify-required), url (--notify-url against a local receiver,
# tests/servers/hook_receiver.py: retries, refusals, timeouts, the
# Authorization header never shown), config (defaults and per-store
# sections, command-line flags winning, errors naming the file).
set -euo pipefail

KVAULT=$(realpath "$1")
GENDB=$(realpath "$2")
CASE=$3
LABEL="notify $CASE"
. "$(dirname "$(realpath "$0")")/cli_lib.sh"
HERE=$(dirname "$(realpath "$0")")

T=$(mktemp -d "${TMPDIR:-/tmp}/kvault-notify-$CASE.XXXXXX")
RECEIVER=
trap '[[ -n $RECEIVER ]] && kill $RECEIVER 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"
export HOME="$T/home" KVAULT_CACHE_DIR="$T/cache"
unset KVAULT_STORE XDG_DATA_HOME XDG_CACHE_HOME KVAULT_CONFIG

# jq_file FILE EXPR: a Python expression over the JSON in FILE as j.
jq_file() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(($2))" "$1"; }
backups() { "$KVAULT" list --from store --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

"$GENDB" --size 2M --cfs 2 db >/dev/null
mkdir store

case_hook() {
    # success: the report on stdin, the facts in the environment
    local hook='cat >"$PWD/report.json"; env | grep ^KVAULT_ | sort >"$PWD/env.txt"'
    run 0 backup --db db --to store --env prod --notify "$hook" -q
    local id
    id=$(cat out)
    [[ $(jq_file report.json 'j["event"], j["ok"], j["id"], j["env"], j["error"]') == \
        "('backup', True, '$id', 'prod', None)" ]] || fail "report: $(cat report.json)"
    [[ $(jq_file report.json 'j["files"] > 0 and j["store"].endswith("store")') == True ]] ||
        fail "report: $(cat report.json)"
    grep -qx "KVAULT_EVENT=backup" env.txt && grep -qx "KVAULT_OK=1" env.txt &&
        grep -qx "KVAULT_BACKUP_ID=$id" env.txt && grep -qx "KVAULT_ENV=prod" env.txt &&
        grep -q "^KVAULT_STORE=.*store$" env.txt || fail "environment: $(cat env.txt)"

    # the recipe: a hook that verifies the new backup with a trial restore
    run 0 backup --db db --to store --env prod -q \
        --notify "$KVAULT"' verify --env "$KVAULT_ENV" --backup "$KVAULT_BACKUP_ID" --restore-check -q'

    # failure: reported too, with the error, and the exit status is the backup's
    rm -f report.json
    run 1 backup --db nosuchdb --to store --notify "$hook"
    [[ $(jq_file report.json 'j["event"], j["ok"]') == "('backup', False)" ]] ||
        fail "failure report: $(cat report.json)"
    [[ $(jq_file report.json '"nosuchdb" in j["error"]') == True ]] || fail "error: $(cat report.json)"
    grep -qx "KVAULT_OK=0" env.txt || fail "KVAULT_OK on failure"

    # a failing hook changes nothing but a warning, unless required
    local before
    before=$(backups)
    run 0 backup --db db --to store --notify 'exit 3'
    has_err "notification: the --notify command 'exit 3' exited with status 3"
    [[ $(backups) == $((before + 1)) ]] || fail "the backup is not there"
    run 1 backup --db db --to store --notify 'exit 3' --notify-required
    [[ $(backups) == $((before + 2)) ]] || fail "--notify-required undid the backup"

    # a hook that hangs is killed at the timeout, with its children
    local t0=$SECONDS
    run 0 backup --db db --to store --notify 'sleep 300 & sleep 300' --notify-timeout 2s
    has_err "did not finish in time and was killed"
    ((SECONDS - t0 < 30)) || fail "the hung hook held the backup for $((SECONDS - t0)) s"
    [[ $(backups) == $((before + 3)) ]] || fail "the backup is not there after a hung hook"
    ! pgrep -f "sleep 300" >/dev/null || fail "the hook's children were left running"

    # restore, verify, prune and gc notify too; a hook that does not read
    # its stdin is fine
    run 0 restore --from store --to r1 --notify 'echo restore >>events'
    run 0 verify --from store --notify 'echo verify >>events'
    run 0 prune --from store --keep-last 2 --notify 'cat >prune.json'
    run 0 gc --from store --notify 'echo gc >>events'
    [[ $(tr '\n' ' ' <events) == "restore verify gc " ]] || fail "events: $(cat events)"
    [[ $(jq_file prune.json 'j["event"], j["backups_kept"]') == "('prune', 2)" ]] ||
        fail "prune report: $(cat prune.json)"
    # list is not an event
    run 2 list --from store --notify 'true'
}

start_receiver() {
    mkdir recv
    python3 "$HERE/../servers/hook_receiver.py" recv &
    RECEIVER=$!
    for _ in $(seq 100); do [[ -s recv/port ]] && break; sleep 0.1; done
    URL="http://127.0.0.1:$(cat recv/port)"
}

requests() { [[ -s recv/requests ]] && wc -l <recv/requests || echo 0; }

case_url() {
    start_receiver
    export HOOK_TOKEN="Bearer s3cr3t-t0ken"
    run 0 backup --db db --to store --json --notify-url "$URL/ok" --notify-auth-env HOOK_TOKEN -vv
    local id
    id=$(jq_file out 'j["id"]')
    python3 - recv/requests "$id" <<'PY' || fail "request: $(cat recv/requests)"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][-1]
assert r["headers"]["Content-Type"] == "application/json", r
assert r["headers"]["Authorization"] == "Bearer s3cr3t-t0ken", r
assert r["body"]["event"] == "backup" and r["body"]["ok"] is True and r["body"]["id"] == sys.argv[2], r
PY
    ! grep -q s3cr3t out err || fail "the token was printed"

    # 500 twice, then 200: retried to success
    run 0 backup --db db --to store -q --notify-url "$URL/flaky-2"
    [[ $(grep -c '"/flaky-2"' recv/requests) == 3 ]] || fail "flaky: $(grep -c flaky-2 recv/requests) requests"
    # 403: not retried, a warning, the backup stands; required: exit 1
    local n
    n=$(requests)
    run 0 backup --db db --to store -q --notify-url "$URL/forbidden"
    has_err "notification to http://127.0.0.1:[0-9]+/forbidden: the receiver answered HTTP 403"
    [[ $(requests) == $((n + 1)) ]] || fail "a 403 was retried"
    run 1 backup --db db --to store -q --notify-url "$URL/forbidden" --notify-required
    # a receiver that does not answer: the timeout, a few retries, then a warning
    local t0=$SECONDS
    run 0 backup --db db --to store -q --notify-url "$URL/slow" --notify-timeout 1s
    has_err "notification to .*/slow"
    ((SECONDS - t0 < 25)) || fail "the slow receiver held the backup for $((SECONDS - t0)) s"
    # nobody listening: refused, retried, a warning
    run 0 backup --db db --to store -q --notify-url "http://127.0.0.1:1/x"
    has_err "notification to http://127.0.0.1:1/x"
    # a failed backup is posted too
    run 1 backup --db nosuchdb --to store --notify-url "$URL/ok"
    python3 -c '
import json, sys
r = [json.loads(l) for l in open("recv/requests")][-1]["body"]
assert r["ok"] is False and "nosuchdb" in r["error"], r' || fail "failure post"
    run 2 backup --db db --to store --notify-url "ftp://x/y" -q
    has_err "notify-url"
}

case_config() {
    mkdir -p home/.config/kvault other
    cat >home/.config/kvault/config <<CONF
# kvault defaults
[defaults]
store = $T/store
env = staging
workers = 3
notify = echo "\$KVAULT_EVENT \$KVAULT_ENV" >>$T/events

[store $T/other]
env = elsewhere
CONF
    run 0 backup --db db -q
    [[ $("$KVAULT" list --from store --env staging --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') == 1 ]] ||
        fail "the config's store and env were not used"
    [[ $(cat events) == "backup staging" ]] || fail "events: $(cat events)"
    # the command line wins; a store's own section applies to it
    run 0 backup --db db --env cli -q
    run 0 backup --db db --to other -q
    [[ $(tail -2 events | tr '\n' ' ') == "backup cli backup elsewhere " ]] || fail "events: $(cat events)"
    [[ -d other/elsewhere ]] || fail "the store section's env was not used"
    # restore reads the store from --from (the config's), not --to
    run 0 restore --to r2 --env staging -q
    [[ -f r2/CURRENT ]] || fail "restore through the config's store"
    # KVAULT_CONFIG names another file, which must exist
    KVAULT_CONFIG=$T/missing run 1 list
    has_err "cannot read the config file '$T/missing' \\(named by KVAULT_CONFIG\\)"
    printf '[defaults]\nworkers = lots\n' >bad1
    KVAULT_CONFIG=$T/bad1 run 2 list
    has_err "--workers must be 1..256, got 'lots'"
    has_err "the setting 'workers' in \\[defaults\\] of $T/bad1"
    printf '[defaults]\ncolour = blue\n' >bad2
    KVAULT_CONFIG=$T/bad2 run 2 list
    has_err "$T/bad2: no setting 'colour'"
    printf '[default]\nenv = x\n' >bad3
    KVAULT_CONFIG=$T/bad3 run 2 list
    has_err "no section \\[default\\]"
    printf 'just words\n' >bad4
    KVAULT_CONFIG=$T/bad4 run 2 list
    has_err "bad4 line 1: not a 'key = value' line"
    printf '[defaults]\ndb = /x\n' >bad5
    KVAULT_CONFIG=$T/bad5 run 2 backup
    has_err "no setting 'db'"
}

"case_$CASE"
echo "notify $CASE: ok"
