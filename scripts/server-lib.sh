# Shell helpers the test-server scripts share (source it; not run alone).
# The sourcing script sets KV_SCRIPT to its own name for messages.

die() {
    echo "${KV_SCRIPT:-kvault}: $*" >&2
    exit 1
}

# A port that is free on 127.0.0.1 right now.
free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# True when something accepts connections on 127.0.0.1:PORT.
listening() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Version of an npm package installed under KV_NODE_DIR, or nothing.
installed_version() {
    node -e 'try { console.log(require(process.argv[1]).version) } catch (e) {}' \
        "$KV_NODE_DIR/node_modules/$1/package.json"
}

# Stops every PID listed in FILE: TERM, up to 5 s to exit, then KILL.
stop_pids() {
    local pid i
    [ -f "$1" ] || return 0
    for pid in $(cat "$1"); do
        kill "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    done
}
