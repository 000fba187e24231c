# shellcheck shell=bash
# lib.sh — what the integration suites share (source it; it is not a suite: it prints nothing
# and defines no checks). Starting an allot server and waiting for it with a deadline that
# grows with the machine's load, so that a suite run beside a build does not fail at "server
# starts", and that shows the server's log when it does fail.
#
#   start_server URL LOG ARGS…  run `allot server ARGS…` in the background (stdout and stderr
#                               appended to LOG), set $server_pid, wait for URL/healthz
#   wait_until SECONDS CMD…     poll CMD every 0.1 s until it succeeds (0) or SECONDS pass (1)
#   al_deadline                 print the start-up deadline in seconds (see below)
#   show_log LOG                print LOG's last 40 lines as "#   …" (not counted as checks)
#
# AL_START_TIMEOUT (default 60) is the deadline on an idle machine; with a 1-minute load
# average above the number of CPUs it is multiplied by load/CPUs (rounded up), up to 300 s.
# The server binary is $ALLOT_SERVER_BIN, else $ALLOT.

al_deadline() {
    local base=${AL_START_TIMEOUT:-60} cpus load factor
    cpus=$(nproc 2>/dev/null || echo 1)
    load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
    load=${load%%.*} # whole part: "3.42" → 3
    factor=$(((${load:-0} + cpus - 1) / cpus))
    ((factor < 1)) && factor=1
    local s=$((base * factor))
    ((s > 300)) && s=300
    echo "$s"
}

wait_until() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.1
    done
}

show_log() {
    [ -f "$1" ] || { echo "#   (no log at $1)"; return; }
    echo "#   last lines of $1:"
    tail -40 "$1" | sed 's/^/#   /'
}

# start_server URL LOG ARGS… : 0 when URL/healthz answers; 1 (after printing why and the log)
# when the server exited or the deadline passed. $server_pid is set either way.
start_server() {
    local url=$1 log=$2 secs end
    shift 2
    "${ALLOT_SERVER_BIN:-${ALLOT:?set ALLOT to the allot binary}}" server "$@" >>"$log" 2>&1 &
    server_pid=$!
    secs=$(al_deadline)
    end=$((SECONDS + secs))
    while ((SECONDS < end)); do
        curl -fsS --max-time 2 -o /dev/null "$url/healthz" 2>/dev/null && return 0
        if ! kill -0 "$server_pid" 2>/dev/null; then
            wait "$server_pid"
            echo "# the server exited (status $?) before answering $url/healthz"
            show_log "$log"
            return 1
        fi
        sleep 0.1
    done
    echo "# the server did not answer $url/healthz within ${secs}s (pid $server_pid still running)"
    show_log "$log"
    return 1
}
