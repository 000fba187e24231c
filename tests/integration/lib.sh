# shellcheck shell=bash
# lib.sh — what the integration suites share (source it at the top, before the suite defines its
# own helpers: a suite whose helper differs defines it after and so replaces this one). It is
# not a suite: sourcing it prints nothing and counts no check. One definition of each helper
# that the suites used to repeat: the "ok - …" / "not ok - …" lines, a free loopback port, the
# temp directory kept on KEEP=1, the injected clock file, the operator's token, curl calls to
# the API with the answer in $code and $body, and starting an allot server and waiting for it
# with a deadline that grows with the machine's load, so that a suite run beside a build does
# not fail at "server starts", and that shows the server's log when it does fail.
#
#   ok DESC / nok DESC          print "ok - DESC" / "not ok - DESC"
#   check DESC CMD…             ok DESC when CMD succeeds, else nok DESC
#   must DESC CMD…              check DESC CMD…, and end the suite (exit 1) when it failed
#   pg_unit PROG DB DESC        a unit program's PostgreSQL cases on database DB: one check
#   free_port                   print a loopback port nothing listens on (0 if none found)
#   rm_tmp                      remove $tmp, or keep it and say so when $KEEP is set
#   reap [-SIG] PID             kill PID (if set) and wait for it, quietly
#   trap_stop_server -SIG       on EXIT: reap -SIG $pid, then rm_tmp (the usual EXIT trap)
#   ts SECS                     print the epoch second SECS as an RFC 3339 UTC time
#   write_clock SECS            set the server's test clock: $tmp/clock, replaced atomically
#   operator_token DB [ERRLOG]  `allot server init` on DB; print the operator's token
#   call TOKEN METHOD PATH [BODY] [CURL_ARGS…]  a request to $U; sets $code and $body
#   j FILTER                    jq -r FILTER on the last $body
#   expect DESC STATUS [ERROR_CODE [FIELD]]     check the last call's status and error
#   stop_server                 SIGTERM $pid, wait, clear $pid; the server's exit status
#   start_server URL LOG ARGS…  run `allot server ARGS…` in the background (stdout and stderr
#                               appended to LOG), set $server_pid and $pid, wait for URL/healthz
#   start_clocked_server TICK_MS [ARGS…]  start_server on $U with $tmp/db, $tmp/server.log,
#                               127.0.0.1:$port and the test clock $tmp/clock ticking every TICK_MS
#   wait_until SECONDS CMD…     poll CMD every 0.1 s until it succeeds (0) or SECONDS pass (1)
#   al_deadline                 print the start-up deadline in seconds (see below)
#   AL_TEST_DB=postgres         run the suite's servers on PostgreSQL (below)
#   show_log LOG                print LOG's last 40 lines as "#   …" (not counted as checks)
#   al_conf_db PATH             a config file's lines naming the database PATH (either store)
#   al_db_files PATH            the files holding the database PATH (a secret's absence)
#
# The helpers that read $tmp (the suite's temp directory), $U (the server's base URL), $pid
# (the server's process), $port or $ALLOT use the suite's variables of those names.
# AL_START_TIMEOUT (default 60) is the deadline on an idle machine; with a 1-minute load
# average above the number of CPUs it is multiplied by load/CPUs (rounded up), up to 300 s.
# The server binary is $ALLOT_SERVER_BIN, else $ALLOT.

# The suites never read the machine's /etc/allot/allot.conf (src/cli/config.h): what they run
# is what their command lines say. config.sh and packaging.sh name their files with --config.
export ALLOT_CONFIG_FILE=none

# AL_TEST_DB=postgres (make test-pg): the suite's servers run on PostgreSQL. The suite runs
# under bench/pg.sh (a throw-away cluster on a unix socket; started here when the caller has
# not started one for several suites), and $ALLOT becomes pg_allot_lib.sh, which gives each
# `allot server … --db PATH` a database of its own in that cluster, named after PATH, and
# the key file PATH.key; the sqlite3 command becomes psql on that database. A suite about the
# SQLite file itself (backup.sh, disk_full.sh) is skipped, its reason printed (never counted
# as passed). A suite whose servers read their database from a config file writes its db
# line with al_conf_db.
if [ "${AL_TEST_DB-}" = postgres ]; then
    # before the cluster's exec, so that the suite, run again, sees the wrapper from its first
    # line (flow_cli.sh copies $ALLOT before it sources this file); pg_run_lib.sh sets both
    if [ -z "${AL_REAL_ALLOT-}" ]; then
        export AL_REAL_ALLOT=${ALLOT:?set ALLOT to the allot binary}
        export ALLOT=${AL_ROOT:?set AL_ROOT}/tests/integration/pg_allot_lib.sh
    fi
    if [ -z "${AL_PG_HOST-}" ] && [ -z "${AL_PG_SKIP-}" ]; then
        exec bash "${AL_ROOT:?set AL_ROOT}/bench/pg.sh" bash "$0" "$@"
    fi
    if [ -n "${AL_PG_SKIP-}" ]; then
        echo "not ok - PostgreSQL for AL_TEST_DB=postgres: $AL_PG_SKIP"
        exit 1
    fi
    case ${0##*/} in
    backup.sh | disk_full.sh)
        echo "# SKIP on PostgreSQL: the suite is about the SQLite file itself (its backup, its" \
            "integrity on a full disk)"
        exit 0 ;;
    esac
    export ALLOT=$AL_ROOT/tests/integration/pg_allot_lib.sh
    # al_pg_dbname, al_pg_conninfo: how the wrapper names a path's database
    # shellcheck source=tests/integration/pg_allot_lib.sh
    . "$AL_ROOT/tests/integration/pg_allot_lib.sh"
    # sqlite3 DB [SQL…]: the suites' look into (or change of) their database, run by psql on
    # the database pg_allot_lib.sh gave that path (the same name), each SQL its own command,
    # or the script on stdin; rows as sqlite3 prints them (columns joined by |)
    sqlite3() {
        local name
        name=$(al_pg_dbname "$1")
        shift
        local args=(-X -q -At -v ON_ERROR_STOP=1 -h "$AL_PG_HOST" -U allot -d "$name")
        if [ $# -eq 0 ]; then
            "$AL_PG_BIN/psql" "${args[@]}" -f -
            return
        fi
        local sql
        for sql in "$@"; do args+=(-c "$sql"); done
        "$AL_PG_BIN/psql" "${args[@]}"
    }
fi

# al_conf_db PATH: the [server] lines of a config file that name the database PATH, as
# `--db PATH` would: "db = PATH" on SQLite; on PostgreSQL the database pg_allot_lib.sh gives
# PATH (its conninfo) and the key file PATH.key that the wrapper would add.
al_conf_db() {
    if [ "${AL_TEST_DB-}" = postgres ]; then
        printf 'db = %s\nsecret-key-file = %s.key\n' "$(al_pg_conninfo "$1")" "$1"
    else
        printf 'db = %s\n' "$1"
    fi
}

# al_db_files PATH: the files that hold the database PATH's bytes, one a line, for the checks
# that a secret is nowhere in them in clear: on SQLite the file, its WAL and its journal (those
# that exist); on PostgreSQL, after a CHECKPOINT (so that the tables' files are written), every
# file of the cluster's data directory: tables, indexes, WAL (other databases of the cluster
# among them).
al_db_files() {
    local f
    if [ "${AL_TEST_DB-}" = postgres ]; then
        "$AL_PG_BIN/psql" -X -q -h "$AL_PG_HOST" -U allot -d postgres -c CHECKPOINT >/dev/null &&
            find "$AL_PG_HOST/data" -type f
        return
    fi
    for f in "$1" "$1-wal" "$1-journal"; do [ -e "$f" ] && echo "$f"; done
    return 0
}

ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; }
# pg_unit PROG DB DESC: one check DESC, that the unit program PROG (built beside $ALLOT) passes
# every case, none skipped, with its PostgreSQL cases on database DB of the suite's cluster
# ($AL_PG_HOST, bench/pg.sh); its output, in $tmp/PROG.out, shown when it fails.
pg_unit() {
    local prog ulog=${tmp:?}/$1.out rc
    prog=$(dirname "$ALLOT")/$1
    if [ ! -x "$prog" ]; then
        nok "$1 is built beside $ALLOT"
        return
    fi
    AL_PG_CONNINFO="host=$AL_PG_HOST dbname=$2 user=allot" "$prog" >"$ulog" 2>&1
    rc=$?
    check "$3" [ $rc = 0 -a -z "$(grep SKIPPED "$ulog")" -a -n "$(grep PASSED "$ulog")" ]
    [ $rc = 0 ] || sed 's/^/# /' "$ulog" | tail -20
}
check() { # check DESC COMMAND… : ok when the command succeeds
    local d=$1
    shift
    if "$@"; then ok "$d"; else nok "$d"; fi
}
# must DESC COMMAND… : a step the rest of the suite needs (the server starts): nothing after it
# could pass, so a failure ends the suite.
must() {
    local d=$1
    shift
    if "$@"; then ok "$d"; else nok "$d"; exit 1; fi
}

# free_port: a random port in 20000-59999 that refuses a connection (50 tries). Another
# process may take it before the server binds it; the server's start then fails loudly.
free_port() {
    local p
    for _ in $(seq 50); do
        p=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768..), which clients take
        (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
    done
    echo 0
}

# rm_tmp: the end of a suite's EXIT trap; KEEP=1 keeps the files (database, logs) to look at.
rm_tmp() {
    # shellcheck disable=SC2154 # $tmp is the suite's
    if [ -n "${KEEP-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}

# reap [-SIG] PID: for EXIT traps; nothing when PID is empty, no message when it is gone.
reap() {
    local sig=-TERM
    case ${1-} in -*) sig=$1; shift ;; esac
    [ -n "${1-}" ] || return 0
    kill "$sig" "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# trap_stop_server -SIG: the EXIT trap of a suite whose only process is its server $pid
# (-KILL: at once, no clean stop to wait for; -TERM: the clean stop).
trap_stop_server() {
    # shellcheck disable=SC2064 # the signal now, $pid when the trap runs
    trap "reap $1 \"\$pid\"; rm_tmp" EXIT
}

ts() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# write_clock SECS: the file `allot server --clock-file` reads; renamed into place so that the
# server never reads it half-written.
write_clock() { echo "$1" >"$tmp/clock.new" && mv "$tmp/clock.new" "$tmp/clock"; }

# operator_token DB [ERRLOG]: init DB with the operator "root"; its stderr to ERRLOG (default
# /dev/null). Prints the token (nothing when init failed: the caller checks).
operator_token() {
    "$ALLOT" server init --db "$1" --name root 2>"${2:-/dev/null}"
}

# call TOKEN METHOD PATH [BODY] [EXTRA_CURL_ARGS…]: sets $code and $body (headers in $tmp/hdr,
# the body in $tmp/resp). No Authorization header when TOKEN is empty, no body when BODY is.
call() {
    local tok=$1 m=$2 p=$3 data=${4-}
    shift 3
    [ $# -gt 0 ] && shift
    local args=(-s -D "$tmp/hdr" -o "$tmp/resp" -w '%{http_code}' -X "$m" "$@")
    [ -n "$tok" ] && args+=(-H "Authorization: Bearer $tok")
    [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
    code=$(curl "${args[@]}" "$U$p")
    body=$(cat "$tmp/resp")
}
j() { jq -r "$1" <<<"$body"; }

# expect DESC STATUS [ERROR_CODE [FIELD]] — checks the last call: its status, and when given
# the error's code and .error.details.field
expect() {
    local d=$1 st=$2 ec=${3-} f=${4-}
    local got_ec got_f
    got_ec=$(jq -r '.error.code // empty' <<<"$body" 2>/dev/null)
    got_f=$(jq -r '.error.details.field // empty' <<<"$body" 2>/dev/null)
    if [ "$code" = "$st" ] && { [ -z "$ec" ] || [ "$got_ec" = "$ec" ]; } &&
        { [ -z "$f" ] || [ "$got_f" = "$f" ]; }; then
        ok "$d"
    else
        nok "$d (got $code $got_ec ${got_f:+field=$got_f}; want $st $ec ${f:+field=$f}) $(head -c 300 <<<"$body")"
    fi
}

# stop_server: a clean stop (SIGTERM) of the suite's server $pid; returns its exit status.
stop_server() {
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    local rc=$?
    pid=
    return $rc
}

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
# when the server exited or the deadline passed. $server_pid (and $pid, which cleanup, reap and
# stop_server use) is set either way.
start_server() {
    local url=$1 log=$2 secs end
    shift 2
    "${ALLOT_SERVER_BIN:-${ALLOT:?set ALLOT to the allot binary}}" server "$@" >>"$log" 2>&1 &
    server_pid=$!
    pid=$server_pid
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

# start_clocked_server TICK_MS [ARGS…]: the money suites' server: database $tmp/db, log
# $tmp/server.log, listening on $port, its clock read from $tmp/clock (write_clock), the draw
# pass every TICK_MS ms (3600000: in effect never, the suite moves money by its own calls).
start_clocked_server() {
    local tick=$1
    shift
    # shellcheck disable=SC2154 # $port is the suite's
    start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port" \
        --clock-file "$tmp/clock" --tick-ms "$tick" "$@"
}
