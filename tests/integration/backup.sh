#!/usr/bin/env bash
# backup.sh — backup and restore as docs/operations.md tells an operator to do it: while the
# server serves writes (a client topping an org up as fast as it can), `sqlite3 DB ".backup
# COPY"` takes a consistent copy without stopping it; the writes go on through the backup;
# a server started on the copy answers with the data (every top-up acknowledged before the
# backup began, none begun after it ended), the copy passes `PRAGMA integrity_check`, and
# `allot ledger verify` on it says the books add up. Needs sqlite3 (scripts/deps.sh test).
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
tmp=$(mktemp -d)
pid= writer= pid2=
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
trap 'reap "$writer"; reap "$pid2"; reap "$pid"; rm_tmp' EXIT
if ! command -v sqlite3 >/dev/null; then
    echo "skip - backup while serving: no sqlite3 command (scripts/deps.sh test installs it)"
    exit 0
fi

port=$(free_port)
U=http://127.0.0.1:$port
OP=$(operator_token "$tmp/db")
must "server starts" start_server "$U" "$tmp/server.log" --config none --db "$tmp/db" \
    --listen "127.0.0.1:$port"
call "$OP" POST /v1/orgs '{"name":"acme"}' -H 'Idempotency-Key: o1'
A=$(j .id)
must "an org to top up" test -n "$A"

# The writer: one top-up of 1 USD after another; each acknowledged one appends its number to
# $tmp/done, until $tmp/stop appears.
topups() {
    local i=0 c
    while [ ! -e "$tmp/stop" ]; do
        i=$((i + 1))
        c=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $OP" \
            -H "Idempotency-Key: t$i" -H 'Content-Type: application/json' \
            --data-binary '{"amount_micros":1000000}' "$U/v1/orgs/$A/topups")
        case $c in 2??) echo "$i" >>"$tmp/done" ;; *) echo "$i $c" >>"$tmp/failed" ;; esac
    done
}
: >"$tmp/done"
topups &
writer=$!
done_count() { wc -l <"$tmp/done"; }
wait_until 60 bash -c "[ \$(wc -l <'$tmp/done') -ge 20 ]"
before=$(done_count)
must "the server is serving writes (top-ups acknowledged: $before)" test "$before" -ge 20
sqlite3 "$tmp/db" ".timeout 10000" ".backup '$tmp/copy.db'" 2>"$tmp/backup.err"
rc=$?
after=$(done_count)
check "sqlite3 .backup succeeds while the server serves writes (exit $rc)" test "$rc" -eq 0
wait_until 30 bash -c "[ \$(wc -l <'$tmp/done') -ge $((after + 10)) ]"
touch "$tmp/stop"
wait "$writer"
writer=
total=$(done_count)
check "the writes went on through the backup ($before before, $total in all)" \
    test "$total" -ge $((after + 10))
check "no write failed during the backup" test ! -s "$tmp/failed"
check "the copy passes PRAGMA integrity_check" \
    test "$(sqlite3 "$tmp/copy.db" 'PRAGMA integrity_check')" = ok

call "$OP" GET "/v1/orgs/$A/balance"
check "the serving database has every acknowledged top-up ($total USD)" \
    test "$(j .cash_micros)" = "$((total * 1000000))"
stop_server

# ------------------------------------------------------------ restore: a server on the copy
port2=$(free_port)
U=http://127.0.0.1:$port2
must "a server starts on the copy" start_server "$U" "$tmp/server2.log" --config none \
    --db "$tmp/copy.db" --listen "127.0.0.1:$port2"
pid2=$pid
call "$OP" GET /v1/me
expect "the copy knows the operator (the token works)" 200
call "$OP" GET "/v1/orgs/$A/balance"
cash=$(j .cash_micros)
n=$((${cash:-0} / 1000000))
check "the copy holds every top-up acknowledged before the backup began ($n >= $before)" \
    test "$n" -ge "$before"
check "… and none begun after it ended ($n <= $((after + 1)))" test "$n" -le $((after + 1))
"$ALLOT" ledger verify --server "$U" --token "$OP" >"$tmp/verify.out" 2>&1
rc=$?
check "allot ledger verify passes on the copy (exit $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || show_log "$tmp/verify.out"
call "$OP" POST "/v1/orgs/$A/topups" '{"amount_micros":1000000}' -H 'Idempotency-Key: after-restore'
expect "the restored server takes writes" 201
