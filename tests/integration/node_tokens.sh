#!/usr/bin/env bash
# node_tokens.sh — agent tokens bound to a node (POST/DELETE /v1/nodes/{name}/token, `allot node
# token`): the holder reports and reads its own node only, and any other node answers 404 as
# one that does not exist would; the listing shows its node alone; operators still see all;
# fleet agents (users of role agent) keep reporting any node; the token never reaches the
# database, the server's log or an event; an Idempotency-Key retry answers the same token in
# the same server run; a revoked or replaced token is refused (401); `allot agent` with the
# bound token reports its node and fails clearly for another.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/allot_nodetok.XXXXXX)
pid=

# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
trap_stop_server -KILL

port=$(free_port)
U=http://127.0.0.1:$port

# in_files NEEDLE FILE…: does any of the files (those that exist) hold NEEDLE's bytes?
in_files() {
    local n=$1 f
    shift
    for f in "$@"; do
        [ -f "$f" ] && grep -q -a -F -- "$n" "$f" && return 0
    done
    return 1
}
secret_nowhere() { # secret_nowhere TOKEN: in no database file, nor the server's log
    # shellcheck disable=SC2046 # one file a word (al_db_files: SQLite's files or the cluster's)
    ! in_files "$1" $(al_db_files "$tmp/db") "$tmp/server.log"
}
report() { # report TOKEN NODE UUID: a one-GPU heartbeat of NODE
    call "$1" PUT "/v1/nodes/$2" "{\"gpus\":[{\"index\":0,\"model\":\"H100-80GB\",\"uuid\":\"$3\"}]}"
}

OP=$(operator_token "$tmp/db")
must "server init prints an operator token" [ "${OP:0:3}" = al_ ]
must "server starts" start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port"

# ---------------------------------------------------------------- issue
call "$OP" POST /v1/users '{"name":"fleet","role":"agent"}'
FLEET=$(j .token)
report "$FLEET" n2 GPU-n2-0
expect "a fleet agent (role agent, no node) reports n2" 200

call "$OP" POST /v1/nodes/n1/token '' -H "Idempotency-Key: tok-n1"
expect "an operator issues n1's token before n1 ever reported" 201
N1=$(j .token) N1_ID=$(j .id)
check "… answered with id, node, token and created_at" \
    [ "${N1:0:3}" = al_ -a "${#N1}" = 46 -a "${N1_ID:0:4}" = ntk_ -a "$(j .node)" = n1 \
    -a "$(j '.created_at | test("^[0-9-]+T[0-9:]+Z$")')" = true ]
call "$OP" POST /v1/nodes/n1/token '' -H "Idempotency-Key: tok-n1"
check "an Idempotency-Key retry answers the same token (sealed, same server run)" \
    [ "$code" = 201 -a "$(j .token)" = "$N1" -a "$(j .id)" = "$N1_ID" ]
call "$FLEET" POST /v1/nodes/n1/token ''
expect "an agent cannot issue tokens" 403 forbidden
call "$OP" POST '/v1/nodes/bad%20name/token' ''
expect "a node name the reports would refuse is refused" 400 invalid_argument name
call "$OP" POST /v1/nodes/n1/token '{"ttl":1}'
expect "an unknown body field is refused" 400 invalid_argument ttl

# ---------------------------------------------------------------- its own node only
report "$N1" n1 GPU-n1-0
expect "the bound token reports n1" 200
report "$N1" n2 GPU-n2-x
expect "… reporting n2 answers 404" 404 not_found
check "… the message does not say that n2 exists" [ "$(j .error.message)" = "no node n2" ]
call "$OP" GET /v1/nodes/n2
check "… and n2 is unchanged" [ "$code" = 200 -a "$(j '[.gpus[].uuid] | join(",")')" = GPU-n2-0 ]
report "$N1" n3 GPU-n3-0
expect "… reporting a node that does not exist answers the same 404" 404 not_found
call "$OP" GET /v1/nodes/n3
expect "… and creates nothing" 404
call "$N1" GET /v1/nodes/n1
check "the bound token reads n1" [ "$code" = 200 -a "$(j .name)" = n1 ]
call "$N1" GET /v1/nodes/n2
expect "… GET n2 answers 404" 404 not_found
call "$N1" GET /v1/nodes
check "… the listing shows n1 alone" [ "$code" = 200 -a "$(j '[.items[].name] | join(",")')" = n1 ]
call "$OP" GET /v1/nodes
check "an operator still lists every node" [ "$code" = 200 -a "$(j '[.items[].name] | join(",")')" = n1,n2 ]
call "$FLEET" GET /v1/nodes
expect "a fleet agent reads nodes one by one, not the listing (as before)" 403 forbidden
call "$N1" GET /v1/me
check "/v1/me names the bound token's node" [ "$code" = 200 -a "$(j .user.role)" = agent -a "$(j .user.node)" = n1 ]

call "$N1" GET /v1/reservations
expect "… (reservations: forbidden)" 403 forbidden

# ---------------------------------------------------------------- the token is a secret
call "$OP" GET "/v1/events?limit=500"
check "token issued: an event naming n1 and the token's id" \
    [ "$(j "[.items[] | select(.kind == \"node.token_issued\" and .object == \"n1\" and .data.id == \"$N1_ID\")] | length")" = 1 ]
check "no event holds the token" [ "$(grep -c -F -e "$N1" <<<"$body")" = 0 ]
check "the database (file and WAL) and the server log do not hold it" secret_nowhere "$N1"

# ---------------------------------------------------------------- the agent
cat >"$tmp/state.json" <<'JSON'
{"gpus":[{"index":0,"model":"H100-80GB","uuid":"GPU-n1-0","mig":{"current":false}}]}
JSON
"$ALLOT" agent --driver sim --state "$tmp/state.json" --node n1 --once --server "$U" \
    --token "$N1" >"$tmp/a1.out" 2>&1
check "allot agent --driver sim --once with the bound token reports n1" \
    bash -c "[ $? = 0 ] && grep -q 'reported node n1' '$tmp/a1.out'"
"$ALLOT" agent --driver sim --state "$tmp/state.json" --node n2 --once --server "$U" \
    --token "$N1" >"$tmp/a2.out" 2>&1
rc=$?
check "… against n2 it fails (exit 1), saying the server has no node n2 for it" \
    bash -c "[ $rc = 1 ] && grep -q 'no node n2' '$tmp/a2.out'"

# ---------------------------------------------------------------- the CLI, replace, revoke
"$ALLOT" node token n1 --server "$U" --token "$OP" >"$tmp/t.out" 2>&1
N1B=$(sed -n 's/^token (shown only now): //p' "$tmp/t.out")
check "allot node token n1 prints a new token, saying it is shown only now" [ "${N1B:0:3}" = al_ -a "$N1B" != "$N1" ]
report "$N1" n1 GPU-n1-0
expect "… which replaces the old one: refused (401)" 401 unauthenticated
check "… as an unknown token" [ "$(j .error.message)" = "unknown token" ]
report "$N1B" n1 GPU-n1-0
expect "… the new one reports n1" 200
"$ALLOT" node token n1 -o json --server "$U" --token "$OP" >"$tmp/t2.out" 2>&1
N1C=$(jq -r .token "$tmp/t2.out")
check "allot node token n1 -o json: {id, node, token, created_at}" \
    [ "${N1C:0:3}" = al_ -a "$(jq -r '[.id[0:4], .node] | join(" ")' "$tmp/t2.out")" = "ntk_ n1" ]
call "$N1C" GET /v1/nodes/n1
expect "… that token reads n1" 200
"$ALLOT" node token 'a/b' --server "$U" --token "$OP" >"$tmp/u.out" 2>&1
check "allot node token with a name no node has: usage error (exit 2), nothing sent" \
    bash -c "[ $? = 2 ] && grep -q 'node names are' '$tmp/u.out'"
"$ALLOT" node token n1 --revoke --server "$U" --token "$OP" >"$tmp/r.out" 2>&1
check "allot node token n1 --revoke" bash -c "[ $? = 0 ] && grep -q 'revoked' '$tmp/r.out'"
call "$N1C" GET /v1/nodes/n1
expect "a revoked token is refused (401)" 401 unauthenticated
check "… as an unknown token" [ "$(j .error.message)" = "unknown token" ]
call "$OP" DELETE /v1/nodes/n1/token
expect "revoking again: the node has no token (404)" 404 not_found
call "$OP" GET "/v1/events?limit=500"
check "the revocation is an event" [ "$(j '[.items[] | select(.kind == "node.token_revoked" and .object == "n1")] | length')" = 1 ]
report "$FLEET" n1 GPU-n1-0
expect "a fleet agent still reports n1" 200
check "no token issued here is in the database or the server log" \
    bash -c "$(declare -f in_files secret_nowhere); tmp='$tmp'; secret_nowhere '$N1B' && secret_nowhere '$N1C'"

# ---------------------------------------------------------------- after a restart
check "SIGTERM stops the server" stop_server
check "… after the checkpoint at close, no token in the database" \
    bash -c "$(declare -f in_files secret_nowhere); tmp='$tmp'; secret_nowhere '$N1' && secret_nowhere '$N1B'"
must "server restarts" start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port"
call "$OP" POST /v1/nodes/n1/token '' -H "Idempotency-Key: tok-n1"
check "a replay after a restart withholds the token (shown once)" \
    [ "$code" = 201 -a "$(j .id)" = "$N1_ID" -a "$(j .token)" = null -a "$(j '.withheld | join(",")')" = token ]
call "$OP" POST /v1/nodes/n4/token ''
N4=$(j .token)
report "$N4" n4 GPU-n4-0
expect "a token issued after the restart reports its node" 200
report "$N4" n1 GPU-n1-0
expect "… and not another" 404 not_found
