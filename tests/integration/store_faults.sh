#!/usr/bin/env bash
# store_faults.sh — the server's failure paths, reached through the store's fault injection
# (AL_STORE_FAULT, compiled in debug builds only; see src/store/store.h). Over loopback:
#   - a statement runs out of memory inside a batch, and SQLite rolls the whole batch back (the
#     server's "batch lost"): every call of that batch answers an error, none of their writes
#     remains, every call answered 201 is kept with its event, and the server goes on;
#   - a COMMIT fails: the same, through the committer;
#   - the fdatasync of the log fails: the server stops without answering the batch (the disk
#     state is unknown), and a restart serves a consistent database.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT (a debug build: make test's), curl, jq.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
tmp=$(mktemp -d /tmp/allot_faults.XXXXXX)
pid=

# shellcheck source=tests/integration/lib.sh
. "${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

cleanup() {
    reap -9 "$pid"
    rm_tmp
}
trap cleanup EXIT

# A release build ignores AL_STORE_FAULT: nothing here could fail, so nothing is counted.
if AL_STORE_FAULT=probe "$ALLOT" server init --db "$tmp/probe.db" >/dev/null 2>&1; then
    echo "# store_faults: skipped, $ALLOT has no fault injection (not a debug build)"
    exit 0
fi

port=$(free_port)
U=http://127.0.0.1:$port
OP=$(operator_token "$tmp/db")
[ -n "$OP" ] || { nok "server init"; exit 1; }

# start_api FAULT: the server with AL_STORE_FAULT=FAULT ("" for none), its log in server.log
start_api() {
    AL_STORE_FAULT=$1 start_server "$U" "$tmp/server.log" --db "$tmp/db" \
        --listen "127.0.0.1:$port"
}

# post_orgs PREFIX N: N org creations at once; PREFIX-i's status code in $tmp/PREFIX-i.code
post_orgs() {
    local jobs=()
    for i in $(seq "$2"); do
        curl -s -o "$tmp/$1-$i.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $OP" \
            -H 'Content-Type: application/json' --data-binary "{\"name\":\"$1-$i\"}" \
            "$U/v1/orgs" >"$tmp/$1-$i.code" 2>/dev/null &
        jobs+=($!)
    done
    { wait "${jobs[@]}"; } 2>/dev/null
}

# org_state NAME: "kept" (the org and its org.created event), "gone" (neither), else "half"
org_state() {
    local code id events
    code=$(curl -s -o "$tmp/org.json" -w '%{http_code}' -H "Authorization: Bearer $OP" \
        "$U/v1/orgs/$1")
    events=$(curl -s -H "Authorization: Bearer $OP" "$U/v1/events?limit=500")
    if [ "$code" = 200 ]; then
        id=$(jq -r .id "$tmp/org.json")
        jq -e --arg id "$id" '[.items[] | select(.kind == "org.created" and .object == $id)]
            | length == 1' <<<"$events" >/dev/null && echo kept || echo half
    elif [ "$code" = 404 ]; then
        jq -e --arg n "$1" '[.items[] | select(.kind == "org.created" and .data.name == $n)]
            | length == 0' <<<"$events" >/dev/null && echo gone || echo half
    else
        echo "half"
    fi
}

# judge PREFIX N WHAT: the answers of a batch that failed against what the database holds
judge() {
    local p=$1 n=$2 what=$3 created=0 failed=0 bad=0 c s
    for i in $(seq "$n"); do
        c=$(cat "$tmp/$p-$i.code")
        s=$(org_state "$p-$i")
        if [ "$c" = 201 ]; then
            created=$((created + 1))
            [ "$s" = kept ] || { bad=1; echo "# $p-$i: answered 201 but $s" >&2; }
        else
            failed=$((failed + 1))
            [ "${c:0:1}" = 5 ] || { bad=1; echo "# $p-$i: answered $c, not 5xx" >&2; }
            [ "$s" = gone ] || { bad=1; echo "# $p-$i: answered $c but $s" >&2; }
        fi
    done
    check "$what: a call of the failed batch answers an error ($failed of $n; $created created)" \
        [ "$failed" -ge 1 ]
    check "$what: every error is a 5xx and left nothing; every 201 is kept with its event" \
        [ "$bad" = 0 ]
}

# ---------------------------------------------------------------- batch lost
# the 3rd event written fails out of memory: SQLite rolls back the batch it was part of
if start_api "alloc:3:INSERT INTO events"; then ok "server starts with an allocation fault armed"; else
    nok "server starts with an allocation fault armed"
    exit 1
fi
post_orgs lost 12
judge lost 12 "batch lost"
check "batch lost: the server saw the database roll the batch back" \
    grep -q "was rolled back by the database" "$tmp/server.log"
post_orgs after-lost 1
check "batch lost: the server goes on (the next call is created)" \
    [ "$(cat "$tmp/after-lost-1.code")" = 201 ]
stop_server

# ---------------------------------------------------------------- commit fails
if start_api "commit:1"; then ok "server starts with a commit fault armed"; else
    nok "server starts with a commit fault armed"
    exit 1
fi
post_orgs commit 8
judge commit 8 "commit fails"
check "commit fails: the server logged the failed commit" \
    grep -q "commit of batch .* failed" "$tmp/server.log"
post_orgs after-commit 1
check "commit fails: the server goes on (the next call is created)" \
    [ "$(cat "$tmp/after-commit-1.code")" = 201 ]
stop_server

# ---------------------------------------------------------------- fdatasync fails
if start_api "sync:1"; then ok "server starts with a sync fault armed"; else
    nok "server starts with a sync fault armed"
    exit 1
fi
post_orgs sync 1
{ wait "$pid"; } 2>/dev/null # (bash's own "Aborted" notice is no finding)
rc=$?
pid=
check "sync fails: the call is not answered 201 (got $(cat "$tmp/sync-1.code"))" \
    [ "$(cat "$tmp/sync-1.code")" != 201 ]
check "sync fails: the server stops at once (exit $rc) and says why" \
    bash -c "[ $rc -ne 0 ] && grep -q 'fdatasync.*stopping' '$tmp/server.log'"
if start_api ""; then ok "sync fails: the server restarts on the same database"; else
    nok "sync fails: the server restarts on the same database"
    exit 1
fi
s=$(org_state sync-1)
check "sync fails: after the restart the call's org and its event are both there or both not ($s)" \
    [ "$s" != half ]
stop_server
