#!/usr/bin/env bash
# mig_changes_api.sh — the people's side of MIG changes (docs/api.md, "MIG changes"): change
# windows set, read, replaced and removed by operators only (the text checked by core's parser
# and kept in its canonical form; scopes default, zone:NAME, node:NAME; events window.set and
# window.removed), the list of changes (empty before any is planned; filters checked), 404 for
# a change that does not exist, the roles each route refuses, and the CLI (`allot window`,
# `allot mig changes|check|ack|apply`) over the same routes.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/allot_migchanges.XXXXXX)
pid=

# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
trap_stop_server -KILL

port=$(free_port)
U=http://127.0.0.1:$port

OP=$(operator_token "$tmp/db")
must "server init prints an operator token" [ "${OP:0:3}" = al_ ]
must "server starts" start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port"

mkuser() { # mkuser TOKEN NAME ROLE [ORG] → prints the new token
    local o=${4:+,\"org\":\"$4\"}
    call "$1" POST /v1/users "{\"name\":\"$2\",\"role\":\"$3\"$o}"
    j .token
}
call "$OP" POST /v1/orgs '{"name":"acme"}'
ALICE=$(mkuser "$OP" alice org_admin acme)
MIKE=$(mkuser "$ALICE" mike member)
AGENT=$(mkuser "$OP" agent1 agent)
must "users for the roles" [ "${ALICE:0:3}${MIKE:0:3}${AGENT:0:3}" = al_al_al_ ]

# ---------------------------------------------------------------- change windows
call "$OP" GET /v1/change-windows
check "no change windows at first" [ "$code" = 200 -a "$(j '.items | length')" = 0 ]
call "$OP" PUT /v1/change-windows/default '{"windows":"sat,sun 00:00-06:00; WED 12:00-13:00"}'
expect "an operator sets the default window" 200
check "… kept in canonical text, auto_apply false by default" \
    [ "$(j .windows)" = "wed 12:00-13:00; weekends 00:00-06:00" -o \
    "$(j .windows)" = "weekends 00:00-06:00; wed 12:00-13:00" ]
check "… auto_apply false, by the operator, at an RFC 3339 time" \
    [ "$(j .auto_apply)" = false -a "$(j '.updated_at | test("^[0-9-]+T[0-9:]+Z$")')" = true \
    -a "$(j .scope)" = default ]
call "$OP" PUT /v1/change-windows/zone:eu-1 '{"windows":"daily 02:00-04:00","auto_apply":true}'
expect "a zone's window with auto_apply" 200
call "$OP" PUT /v1/change-windows/node:n1 '{"windows":"mon-thu 01:00-24:00"}'
expect "a node's window" 200
call "$OP" PUT /v1/change-windows/zone:eu-1 '{"windows":"weekdays 22:00-02:00","auto_apply":false}'
expect "a put replaces the scope's window" 200
call "$OP" GET /v1/change-windows
check "three windows by scope" [ "$(j '[.items[].scope] | join(",")')" = "default,node:n1,zone:eu-1" ]
check "… the replaced one as put" \
    [ "$(j '.items[2].windows')" = "weekdays 22:00-02:00" -a "$(j '.items[2].auto_apply')" = false ]

call "$OP" PUT /v1/change-windows/default '{"windows":"sat 6:00-07:00"}'
expect "a malformed window → 400 naming windows" 400 invalid_argument windows
check "… the message names the window and what is wrong" \
    [ "$(j '.error.message | test("window 1 .sat 6:00-07:00.")')" = true ]
call "$OP" PUT /v1/change-windows/default '{"windows":"daily 02:00-02:00"}'
expect "an empty window → 400" 400 invalid_argument windows
call "$OP" PUT /v1/change-windows/default '{}'
expect "windows is required" 400 invalid_argument windows
call "$OP" PUT /v1/change-windows/default '{"windows":"daily 02:00-04:00","auto_apply":"yes"}'
expect "auto_apply must be a boolean" 400 invalid_argument auto_apply
call "$OP" PUT /v1/change-windows/default '{"windows":"daily 02:00-04:00","color":"red"}'
expect "an unknown member → 400" 400 invalid_argument
call "$OP" PUT /v1/change-windows/rack:r1 '{"windows":"daily 02:00-04:00"}'
expect "an unknown scope form → 400 scope" 400 invalid_argument scope
call "$OP" PUT /v1/change-windows/zone: '{"windows":"daily 02:00-04:00"}'
expect "zone: without a name → 400 scope" 400 invalid_argument scope
call "$OP" PUT "/v1/change-windows/node:$(printf 'n%.0s' $(seq 64))" '{"windows":"daily 02:00-04:00"}'
expect "a 64-byte node name → 400 scope" 400 invalid_argument scope
call "$OP" PUT '/v1/change-windows/node:a%20b' '{"windows":"daily 02:00-04:00"}'
expect "a node name with a space → 400 scope" 400 invalid_argument scope

call "$ALICE" PUT /v1/change-windows/default '{"windows":"daily 02:00-04:00"}'
expect "an org admin cannot set a window" 403 forbidden
call "$AGENT" GET /v1/change-windows
expect "an agent cannot read the windows" 403 forbidden
call "$MIKE" DELETE /v1/change-windows/default
expect "a member cannot remove a window" 403 forbidden

call "$OP" DELETE /v1/change-windows/node:n1
expect "an operator removes a window" 200
check "… answered removed" [ "$(j .removed)" = true -a "$(j .scope)" = node:n1 ]
call "$OP" DELETE /v1/change-windows/node:n1
expect "removing it again → 404" 404 not_found
call "$OP" GET /v1/events?limit=500
check "events window.set (4) and window.removed (1), about the scope" \
    [ "$(j '[.items[] | select(.kind=="window.set")] | length')" = 4 \
    -a "$(j '[.items[] | select(.kind=="window.removed")][0].object')" = node:n1 ]

# ---------------------------------------------------------------- changes
call "$OP" GET /v1/mig-changes
check "no MIG changes before any is planned" \
    [ "$code" = 200 -a "$(j '.items | length')" = 0 -a "$(j .next_cursor)" = null ]
call "$ALICE" GET "/v1/mig-changes?state=planned&node=n1"
check "an org admin lists (none of her org's)" [ "$code" = 200 -a "$(j '.items | length')" = 0 ]
call "$MIKE" GET /v1/mig-changes
expect "a member lists" 200
call "$OP" GET "/v1/mig-changes?state=done"
expect "an unknown state → 400" 400 invalid_argument state
call "$OP" GET "/v1/mig-changes?node=a%20b"
expect "a bad node name → 400" 400 invalid_argument node
call "$OP" GET "/v1/mig-changes?limit=0"
expect "a bad limit → 400" 400 invalid_argument limit
call "$AGENT" GET /v1/mig-changes
expect "an agent cannot list changes" 403 forbidden
call "$OP" GET /v1/mig-changes/mch_nope
expect "an unknown change → 404" 404 not_found
call "$ALICE" GET /v1/mig-changes/mch_nope
expect "… to an org admin too" 404 not_found
call "$ALICE" POST /v1/mig-changes/mch_nope/ack '{"job_shutdown":true,"data_backup":true}'
expect "acknowledging an unknown change → 404" 404 not_found
call "$ALICE" POST /v1/mig-changes/mch_nope/ack '{"job_shutdown":true,"data_backup":false}'
expect "an ack needs both flags true → 400" 400 invalid_argument data_backup
call "$OP" POST /v1/mig-changes/mch_nope/ack '{"job_shutdown":true,"data_backup":true}'
expect "an operator does not acknowledge for an org" 403 forbidden
call "$MIKE" POST /v1/mig-changes/mch_nope/ack '{"job_shutdown":true,"data_backup":true}'
expect "a member does not acknowledge" 403 forbidden
call "$OP" POST /v1/mig-changes/mch_nope/apply '{}'
expect "applying an unknown change → 404" 404 not_found
call "$OP" POST /v1/mig-changes/mch_nope/apply '{"force":"yes"}'
expect "force must be a boolean" 400 invalid_argument force
call "$ALICE" POST /v1/mig-changes/mch_nope/apply '{}'
expect "an org admin cannot apply" 403 forbidden

# ---------------------------------------------------------------- the CLI
export ALLOT_SERVER=$U
cli() { ALLOT_TOKEN=$1 "$ALLOT" "${@:2}"; }
out=$(cli "$OP" window set node:n2 "daily 03:00-05:00" --auto-apply 2>&1)
check "allot window set" [ $? = 0 ]
out=$(cli "$OP" window list 2>&1)
check "allot window list shows the scopes" grep -q "node:n2.*daily 03:00-05:00.*true" <<<"$out"
out=$(cli "$OP" window list -o json 2>&1)
check "allot window list -o json" [ "$(jq -r ".items | length" <<<"$out")" = 3 ]
out=$(cli "$OP" window set node:n2 "daily 3:00-05:00" 2>&1)
rc=$?
check "allot window set with a malformed window fails (1), naming it" \
    [ $rc = 1 -a "$(grep -c "window 1" <<<"$out")" -ge 1 ]
out=$(cli "$OP" window remove node:n2 2>&1)
check "allot window remove" [ $? = 0 ]
out=$(cli "$OP" window remove node:n2 2>&1)
check "allot window remove again fails (404)" [ $? != 0 ]
out=$(cli "$OP" mig changes 2>&1)
check "allot mig changes (none)" [ $? = 0 ]
out=$(cli "$OP" mig changes --state planned -o json 2>&1)
check "allot mig changes --state planned -o json" [ "$(jq -r '.items | length' <<<"$out")" = 0 ]
out=$(cli "$OP" mig check mch_nope 2>&1)
check "allot mig check of an unknown change fails" [ $? != 0 ]
out=$(cli "$OP" mig apply mch_nope --force 2>&1)
rc=$?
check "allot mig apply --force needs --reason (usage: 2)" \
    [ $rc = 2 -a "$(grep -c -- "--reason" <<<"$out")" -ge 1 ]
out=$(cli "$ALICE" mig ack mch_nope 2>&1)
check "allot mig ack of an unknown change fails" [ $? != 0 ]
