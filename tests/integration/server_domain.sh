#!/usr/bin/env bash
# server_domain.sh — domain rules of `allot server` that an outside probe found broken: no
# token reaches the database, a log or an event (Idempotency-Key replays included, before and
# after a restart); org names, customer codes and ids are one namespace; every MIG profile
# /v1/models lists is accepted by POST /v1/requests, and the field limits docs/api.md lists
# are the ones the server applies; asks that can never be sold (past the sale horizon, more
# memory than any instance or GPU of the fleet has) are refused at create; a refused
# extension names the other hold by its id and its window in RFC 3339 times.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq, sqlite3.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/allot_dom.XXXXXX)
pid=

# shellcheck source=tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"

cleanup() {
    reap -9 "$pid"
    rm_tmp
}
trap cleanup EXIT

T0=$(date +%s)
write_clock "$T0"
DAY=86400
HORIZON=$((5 * 366 * DAY)) # the sale horizon docs/api.md documents

port=$(free_port)
U=http://127.0.0.1:$port

# start_api: the server of this suite; its clock only moves when the suite writes it
start_api() {
    start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port" \
        --clock-file "$tmp/clock" --tick-ms 3600000
}

# in_files NEEDLE FILE…: does any of the files (those that exist) hold NEEDLE's bytes?
in_files() {
    local n=$1 f
    shift
    for f in "$@"; do
        [ -f "$f" ] && grep -q -a -F -- "$n" "$f" && return 0
    done
    return 1
}
dbfiles() { al_db_files "$tmp/db" | tr '\n' ' '; }

# ---------------------------------------------------------------- init
OP=$(operator_token "$tmp/db" "$tmp/init.log")
check "server init prints an operator token" [ "${OP:0:3}" = al_ ]
# shellcheck disable=SC2046
check "the operator token is in no database file, nor in init's log" \
    bash -c "! { $(declare -f in_files); in_files '$OP' $(dbfiles) '$tmp/init.log'; }"
start_api || { nok "server starts"; exit 1; }
ok "server starts"

# ---------------------------------------------------------------- 1. secrets
call "$OP" POST /v1/orgs '{"name":"acme","customer_code":"ACME-1"}'
ACME=$(j .id)
# confirmations need a contract in force: invoiced without a credit limit (charges_api.sh tests
# the money)
call "$OP" POST /v1/contracts "{\"org\":\"acme\",\"terms\":\"invoiced\",\"valid_to\":\"$(ts $((T0 + 1000 * 86400)))\"}"
call "$OP" POST /v1/users '{"name":"alice","role":"org_admin","org":"acme"}' -H "Idempotency-Key: mk-alice"
expect "user created with an Idempotency-Key" 201
ALICE=$(j .token) ALICE_ID=$(j .user.id)
check "… its token is shown" [ "${ALICE:0:3}" = al_ -a "${#ALICE}" = 46 ]
call "$OP" POST /v1/users '{"name":"alice","role":"org_admin","org":"acme"}' -H "Idempotency-Key: mk-alice"
check "a replay in the same server run answers the same user and token" \
    [ "$code" = 201 -a "$(j .user.id)" = "$ALICE_ID" -a "$(j .token)" = "$ALICE" ]
call "$OP" POST /v1/users '{"name":"agent1","role":"agent"}'
AGENT=$(j .token)
call "$OP" GET "/v1/events?limit=500"
check "no event holds a token" [ "$(grep -c -F -e "$ALICE" -e "$AGENT" <<<"$body")" = 0 ]
check "the database (file and WAL) holds neither token" \
    bash -c "! { $(declare -f in_files); in_files '$ALICE' $(dbfiles) || in_files '$AGENT' $(dbfiles); }"
check "the server log holds neither token" \
    bash -c "! { $(declare -f in_files); in_files '$ALICE' '$tmp/server.log' || in_files '$AGENT' '$tmp/server.log'; }"
"$ALLOT" user create carol --role member --org acme --idempotency-key mk-carol --server "$U" \
    --token "$OP" >"$tmp/carol.out" 2>&1
CAROL=$(sed -n 's/^token (shown only now): //p' "$tmp/carol.out")
check "the CLI creates a user with an Idempotency-Key and prints the token" [ "${CAROL:0:3}" = al_ ]
check "SIGTERM stops the server" stop_server
check "… and after the checkpoint at close, still no token in the database" \
    bash -c "! { $(declare -f in_files); in_files '$ALICE' $(dbfiles) || in_files '$CAROL' $(dbfiles); }"
start_api || nok "server restarts"
call "$OP" POST /v1/users '{"name":"alice","role":"org_admin","org":"acme"}' -H "Idempotency-Key: mk-alice"
check "a replay after a restart answers the same user, the token withheld (shown once)" \
    [ "$code" = 201 -a "$(j .user.id)" = "$ALICE_ID" -a "$(j .token)" = null -a "$(j '.withheld | join(",")')" = token ]
call "$ALICE" GET /v1/me
check "the token shown first still works" [ "$code" = 200 -a "$(j .user.id)" = "$ALICE_ID" ]
"$ALLOT" user create carol --role member --org acme --idempotency-key mk-carol --server "$U" \
    --token "$OP" >"$tmp/carol2.out" 2>&1
rc=$?
check "the CLI's retry after a restart says the token is withheld (exit 1)" \
    bash -c "[ $rc = 1 ] && grep -q 'withholds the token' '$tmp/carol2.out' && ! grep -q -F '$CAROL' '$tmp/carol2.out'"

# ---------------------------------------------------------------- 4. one namespace for orgs
call "$OP" POST /v1/orgs '{"name":"ACME-1"}'
expect "a name equal to another org's customer code → 409 name" 409 conflict name
check "… naming the clash (the other org's id)" grep -q -F "$ACME" <<<"$(j .error.message)"
call "$OP" POST /v1/orgs '{"name":"zeta","customer_code":"acme"}'
expect "a customer code equal to another org's name → 409 customer_code" 409 conflict customer_code
check "… naming the clash" grep -q -F "$ACME" <<<"$(j .error.message)"
call "$OP" POST /v1/orgs '{"name":"zeta","customer_code":"ACME-1"}'
expect "a customer code taken as a customer code → 409 customer_code" 409 conflict customer_code
call "$OP" POST /v1/orgs "{\"name\":\"$ACME\"}"
expect "a name equal to an org id → 400 name (ids have a shape names may not take)" 400 invalid_argument name
call "$OP" POST /v1/orgs "{\"name\":\"zeta\",\"customer_code\":\"$ACME\"}"
expect "a customer code equal to an org id → 400 customer_code" 400 invalid_argument customer_code
call "$OP" POST /v1/orgs '{"name":"org_0123456789abcdef"}'
expect "a name shaped like a future org id → 400 name" 400 invalid_argument name
call "$OP" POST /v1/orgs '{"name":"delta","customer_code":"delta"}'
expect "an org's name may equal its own customer code" 201
DELTA=$(j .id)
call "$OP" POST /v1/orgs '{"name":"omega","customer_code":"delta"}'
expect "… which then clashes for every other org" 409 conflict customer_code
for key in acme ACME-1 "$ACME"; do
    call "$OP" GET "/v1/orgs/$key"
    check "GET /v1/orgs/$key finds acme" [ "$code" = 200 -a "$(j .id)" = "$ACME" ]
done
call "$OP" GET "/v1/orgs/$DELTA"
check "GET /v1/orgs/<id> finds delta" [ "$(j .name)" = delta ]

# ---------------------------------------------------------------- fleet
node() { # node NAME MODEL N [ZONE]
    local g="" i
    for ((i = 0; i < $3; i++)); do
        g+="${g:+,}{\"index\":$i,\"uuid\":\"GPU-$1-$i\",\"model\":\"$2\"}"
    done
    call "$AGENT" PUT "/v1/nodes/$1" "{\"zone\":\"${4:-z1}\",\"gpus\":[$g]}"
}
node n1 H100-80GB 2
node solo L40S 1
node a30 A30 1
for m in H100-80GB L40S A30; do
    call "$OP" PUT "/v1/prices/$m" '{"gpu_hour_micros":1000000,"mig_slice_hour_micros":100000}'
done
S1=$(ts $((T0 + DAY))) E1=$(ts $((T0 + 2 * DAY)))
req() { # req BODY-FIELDS → POST /v1/requests for acme as the operator
    call "$OP" POST /v1/requests "{\"org\":\"acme\",$1}"
}

# ---------------------------------------------------------------- 9. asks that can never be sold
req "\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"9999-01-01T00:00:00Z\",\"end\":\"9999-01-02T00:00:00Z\""
expect "a window in year 9999 → 400 start" 400 invalid_argument start
check "… naming the horizon" grep -q -i "horizon" <<<"$(j .error.message)"
req "\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"$S1\",\"end\":\"$(ts $((T0 + HORIZON + 3600)))\""
expect "an end past the horizon → 400 end" 400 invalid_argument end
req "\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"start\":\"$S1\",\"end\":\"$(ts $((T0 + HORIZON)))\""
expect "an end right at the horizon is accepted" 201
req "\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"duration_hours\":24,\"earliest_start\":\"9999-01-01T00:00:00Z\""
expect "an earliest_start in year 9999 → 400 earliest_start" 400 invalid_argument earliest_start
req "\"kind\":\"gpu\",\"count\":1,\"model\":\"H100-80GB\",\"duration_hours\":48,\"earliest_start\":\"$(ts $((T0 + HORIZON - 10 * DAY)))\",\"latest_start\":\"$(ts $((T0 + HORIZON - DAY)))\""
expect "a start range whose last window ends past the horizon → 400 latest_start" 400 invalid_argument latest_start
call "$OP" GET "/v1/availability?model=H100-80GB&start=9999-01-01T00:00:00Z&end=9999-01-02T00:00:00Z"
expect "availability in year 9999 → 400 start" 400 invalid_argument start
call "$OP" GET "/v1/availability?model=H100-80GB&start=$S1&end=$(ts $((T0 + HORIZON + 3600)))"
expect "availability past the horizon → 400 end" 400 invalid_argument end
call "$OP" GET "/v1/availability?model=H100-80GB&start=$S1&end=$(ts $((T0 + HORIZON)))"
expect "availability up to the horizon answers" 200
req "\"kind\":\"mig\",\"count\":1,\"model\":\"H100-80GB\",\"instance_memory_gb\":200,\"start\":\"$S1\",\"end\":\"$E1\""
expect "instance_memory_gb larger than any instance of the model → 400 instance_memory_gb" 400 invalid_argument instance_memory_gb
req "\"kind\":\"mig\",\"count\":1,\"instance_memory_gb\":1000,\"start\":\"$S1\",\"end\":\"$E1\""
expect "instance_memory_gb no MIG model has → 400 instance_memory_gb" 400 invalid_argument instance_memory_gb
req "\"kind\":\"mig\",\"count\":1,\"min_memory_gb\":100,\"start\":\"$S1\",\"end\":\"$E1\""
expect "min_memory_gb (per instance for mig) no instance in the fleet has → 400 min_memory_gb" 400 invalid_argument min_memory_gb
req "\"kind\":\"gpu\",\"count\":1,\"min_memory_gb\":4000,\"start\":\"$S1\",\"end\":\"$E1\""
expect "min_memory_gb no model in the catalog has → 400 min_memory_gb" 400 invalid_argument min_memory_gb
req "\"kind\":\"gpu\",\"count\":1,\"min_memory_gb\":141,\"start\":\"$S1\",\"end\":\"$E1\""
expect "min_memory_gb no model in the fleet has (H200 is in the catalog only) → 400 min_memory_gb" 400 invalid_argument min_memory_gb
req "\"kind\":\"gpu\",\"count\":1,\"model\":\"H200-141GB\",\"start\":\"$S1\",\"end\":\"$E1\""
expect "a catalog model with no GPU in the fleet → 400 model" 400 invalid_argument model
req "\"kind\":\"gpu\",\"count\":1,\"min_memory_gb\":80,\"start\":\"$S1\",\"end\":\"$E1\""
expect "min_memory_gb a fleet model has is accepted" 201
req "\"kind\":\"mig\",\"count\":1,\"instance_memory_gb\":40,\"start\":\"$S1\",\"end\":\"$E1\""
expect "instance_memory_gb an instance in the fleet has is accepted" 201

# ---------------------------------------------------------------- 11. refusals name ids and times
# L40S: one GPU. V1 [S1, E1), V2 [E1, E1 + 1 day), a live quote Q3 on [E1 + 1 day, + 2 days).
flow() { # flow START END → confirms a 1×L40S request, prints the reservation id
    req "\"kind\":\"gpu\",\"count\":1,\"model\":\"L40S\",\"start\":\"$1\",\"end\":\"$2\""
    local id
    id=$(j .id)
    call "$OP" POST "/v1/requests/$id/quote"
    call "$OP" POST "/v1/requests/$id/approve"
    call "$ALICE" POST "/v1/requests/$id/accept"
    call "$OP" POST "/v1/requests/$id/confirm" '{"payment_terms":"invoiced"}'
    j .id
}
V1=$(flow "$S1" "$E1")
E2=$(ts $((T0 + 3 * DAY))) E3=$(ts $((T0 + 4 * DAY)))
V2=$(flow "$E1" "$E2")
check "two back-to-back reservations on the one L40S" [ "${V1:0:4}" = rsv_ -a "${V2:0:4}" = rsv_ ]
call "$OP" POST "/v1/reservations/$V1/extend" "{\"end\":\"$(ts $((T0 + 2 * DAY + 43200)))\"}"
expect "extending into the next reservation → 409 no_capacity" 409 no_capacity
msg=$(j .error.message)
check "… the message names the other reservation's id ($msg)" grep -q -F "$V2" <<<"$msg"
check "… and its window as RFC 3339 times" grep -q -F "[$E1, $E2)" <<<"$msg"
# ids removed, no number as long as unix seconds is left; no id opens a window
check "… and no id where a time belongs, no unix seconds" \
    bash -c "! sed -E 's/(rsv|qte|gpu)_[A-Za-z0-9._-]+//g' <<<'$msg' | grep -q -E '[0-9]{9,}' &&
        ! grep -q -E '\\[(rsv|qte)_' <<<'$msg'"
check "… details name the hold: {gpu, held_by, start, end}" \
    [ "$(j .error.details.held_by)" = "$V2" -a "$(j .error.details.start)" = "$E1" -a "$(j .error.details.end)" = "$E2" ]
req "\"kind\":\"gpu\",\"count\":1,\"model\":\"L40S\",\"start\":\"$E2\",\"end\":\"$E3\""
call "$OP" POST "/v1/requests/$(j .id)/quote"
Q3=$(j .quote.id)
call "$OP" POST "/v1/reservations/$V2/extend" "{\"end\":\"$(ts $((T0 + 3 * DAY + 3600)))\"}"
expect "extending into a live quote → 409 no_capacity" 409 no_capacity
check "… the message names the quote's id and window" \
    bash -c "grep -q -F '$Q3' <<<'$(j .error.message)' && grep -q -F '[$E2, $E3)' <<<'$(j .error.message)'"
call "$OP" POST "/v1/reservations/$V1/extend" "{\"end\":\"$(ts $((T0 + HORIZON + DAY)))\"}"
expect "an extension past the sale horizon → 400 end" 400 invalid_argument end

# ---------------------------------------------------------------- 5. catalog and API agree
# one GPU of every MIG model /v1/models lists (64 per node at most)
call "$OP" GET /v1/models
jq -c '[.items[] | select(.mig) | {model: .name, profiles: [.profiles[].name]}]' <<<"$body" >"$tmp/mig.json"
nm=$(jq length "$tmp/mig.json")
g=""
for ((i = 0; i < nm; i++)); do
    g+="${g:+,}{\"index\":$i,\"uuid\":\"GPU-cat-$i\",\"model\":\"$(jq -r ".[$i].model" "$tmp/mig.json")\"}"
done
call "$AGENT" PUT /v1/nodes/cat "{\"gpus\":[$g]}"
expect "a node with one GPU of each of the $nm MIG models" 200
refused=""
total=0
while read -r m p; do
    total=$((total + 1))
    req "\"kind\":\"mig\",\"count\":1,\"model\":\"$m\",\"profile\":\"$p\",\"start\":\"$S1\",\"end\":\"$E1\""
    [ "$code" = 201 ] && [ "$(j .profile)" = "$p" ] || refused+=" $m/$p($code $(j .error.message))"
done < <(jq -r '.[] | .model as $m | .profiles[] | "\($m) \(.)"' "$tmp/mig.json")
check "POST /v1/requests accepts all $total profiles /v1/models lists${refused:+; refused:$refused}" \
    [ -z "$refused" -a "$total" -gt 50 ]
call "$OP" GET "/v1/availability?model=H100-80GB&profile=1g.10gb%2Bme&start=$S1&end=$E1"
check "availability answers for a profile with an attribute" [ "$code" = 200 -a "$(j '.profiles[0].profile')" = 1g.10gb+me ]

# The limits docs/api.md's table lists ("| `key` | … | min–max | …"), probed at the bound and
# one past it.
lim() { # lim KEY → "MIN MAX" from the doc's table
    sed -n "s/^| \`$1\` |[^|]*| \([0-9]*\)–\([0-9]*\) |.*/\1 \2/p" "$ROOT/docs/api.md"
}
str() { head -c "$1" /dev/zero | tr '\0' "${2:-x}"; }
read -r _ NODE_MAX <<<"$(lim node)"
read -r _ ZONE_MAX <<<"$(lim zone)"
read -r _ UUID_MAX <<<"$(lim uuid)"
read -r _ NAME_MAX <<<"$(lim name)"
read -r _ DISP_MAX <<<"$(lim display_name)"
check "docs/api.md lists the node, zone, uuid, name and display_name limits" \
    [ -n "${NODE_MAX:-}" -a -n "${ZONE_MAX:-}" -a -n "${UUID_MAX:-}" -a -n "${NAME_MAX:-}" -a -n "${DISP_MAX:-}" ]
probe() { # probe DESC FIELD OK_BODY_CMD BAD_BODY_CMD: the bound passes, one more is refused naming FIELD
    local d=$1 f=$2
    eval "$3"
    local c1=$code
    eval "$4"
    if [ "${c1:0:1}" = 2 ] && [ "$code" = 400 ] && [ "$(j .error.details.field)" = "$f" ]; then
        ok "$d"
    else
        nok "$d (at the bound $c1, past it $code $(j .error.details.field))"
    fi
}
probe "node names: ${NODE_MAX:-?} characters pass, one more is refused" name \
    "call \"\$AGENT\" PUT /v1/nodes/$(str "${NODE_MAX:-1}") '{\"gpus\":[]}'" \
    "call \"\$AGENT\" PUT /v1/nodes/$(str $((${NODE_MAX:-1} + 1))) '{\"gpus\":[]}'"
probe "zones: ${ZONE_MAX:-?} characters pass, one more is refused" zone \
    "call \"\$AGENT\" PUT /v1/nodes/zn '{\"zone\":\"$(str "${ZONE_MAX:-1}")\",\"gpus\":[]}'" \
    "call \"\$AGENT\" PUT /v1/nodes/zn '{\"zone\":\"$(str $((${ZONE_MAX:-1} + 1)))\",\"gpus\":[]}'"
probe "request zones: ${ZONE_MAX:-?} characters pass, one more is refused" zone \
    "req '\"kind\":\"gpu\",\"count\":1,\"model\":\"L40S\",\"start\":\"$S1\",\"end\":\"$E1\",\"zone\":\"$(str "${ZONE_MAX:-1}")\"'" \
    "req '\"kind\":\"gpu\",\"count\":1,\"model\":\"L40S\",\"start\":\"$S1\",\"end\":\"$E1\",\"zone\":\"$(str $((${ZONE_MAX:-1} + 1)))\"'"
probe "GPU uuids: ${UUID_MAX:-?} characters pass, one more is refused" "gpus[0].uuid" \
    "call \"\$AGENT\" PUT /v1/nodes/uu '{\"gpus\":[{\"index\":0,\"model\":\"T4\",\"uuid\":\"$(str "${UUID_MAX:-1}" u)\"}]}'" \
    "call \"\$AGENT\" PUT /v1/nodes/uu '{\"gpus\":[{\"index\":0,\"model\":\"T4\",\"uuid\":\"$(str $((${UUID_MAX:-1} + 1)) v)\"}]}'"
probe "org names: ${NAME_MAX:-?} characters pass, one more is refused" name \
    "call \"\$OP\" POST /v1/orgs '{\"name\":\"$(str "${NAME_MAX:-1}" n)\"}'" \
    "call \"\$OP\" POST /v1/orgs '{\"name\":\"$(str $((${NAME_MAX:-1} + 1)) m)\"}'"
probe "display names: ${DISP_MAX:-?} bytes pass, one more is refused" display_name \
    "call \"\$OP\" POST /v1/orgs '{\"name\":\"d1\",\"display_name\":\"$(str "${DISP_MAX:-1}")\"}'" \
    "call \"\$OP\" POST /v1/orgs '{\"name\":\"d2\",\"display_name\":\"$(str $((${DISP_MAX:-1} + 1)))\"}'"

check "SIGTERM stops the server cleanly (exit 0, no leaks)" stop_server
check "no token in the server log, ever" \
    bash -c "! { $(declare -f in_files); in_files '$ALICE' '$tmp/server.log' || in_files '$OP' '$tmp/server.log'; }"
