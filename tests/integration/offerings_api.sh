#!/usr/bin/env bash
# offerings_api.sh — asks with performance floors and node label selectors, the alternatives
# of a no_capacity quote, and self-service offerings, over loopback with curl and the CLI:
#   - min_tflops_bf16 / min_memory_bandwidth_gbs on requests (recorded, shown in GET, used by
#     the quote's model choice; a named model below them is 400 naming the field; a MIG
#     instance counts its share);
#   - labels {"k": "v"}: only GPUs of nodes with every label are planned; a node relabelled by
#     its report is planned by its new labels; bad selectors are 400 labels;
#   - a quote that does not fit lists up to 3 disjoint alternative windows, each priced (one
#     long tentative hold used to leave only 1);
#   - GET /v1/offerings: priced windows, limit, validation (every parameter, unknown ones),
#     roles and orgs; GET /v1/offerings/{id}: the sealed fields, a tampered id, another org's,
#     an expired one;
#   - the CLI: `allot offerings`, `allot request create --min-tflops-bf16 … --label k=v`.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
tmp=$(mktemp -d /tmp/allot_offer.XXXXXX)
pid=

# shellcheck source=tests/integration/lib.sh
. "${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

cleanup() {
    reap -9 "$pid"
    rm_tmp
}
trap cleanup EXIT

T0=$(($(date +%s) / 3600 * 3600 + 3600)) # a whole hour: windows and prices stay round
write_clock "$T0"
OP=$(operator_token "$tmp/db")
# start_api: the suite's server on a free port; a second port when another process took the
# first between free_port and the bind (suites of other checkouts run beside this one)
start_api() {
    port=$(free_port)
    U=http://127.0.0.1:$port
    start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port" \
        --clock-file "$tmp/clock" --tick-ms 100 --heartbeat-timeout 864000
}
if ! start_api && ! { grep -q "Address already in use" "$tmp/server.log" && start_api; }; then
    nok "server starts"
    exit 1
fi
ok "server starts"

call "$OP" POST /v1/orgs '{"name":"acme"}'
ACME=$(j .id)
call "$OP" POST /v1/orgs '{"name":"beta"}'
mkuser() { # mkuser TOKEN NAME ROLE [ORG] → prints the new token
    local o=${4:+,\"org\":\"$4\"}
    call "$1" POST /v1/users "{\"name\":\"$2\",\"role\":\"$3\"$o}"
    j .token
}
ALICE=$(mkuser "$OP" alice org_admin acme)
BOB=$(mkuser "$OP" bob org_admin beta)
MIKE=$(mkuser "$ALICE" mike member)
AGENT=$(mkuser "$OP" agent1 agent)

node() { # node NAME MODEL N LABELS_JSON
    local g="" i
    for ((i = 0; i < $3; i++)); do
        g+="${g:+,}{\"index\":$i,\"uuid\":\"GPU-$1-$i\",\"model\":\"$2\"}"
    done
    call "$AGENT" PUT "/v1/nodes/$1" "{\"zone\":\"z1\",\"labels\":$4,\"gpus\":[$g]}"
}
node nvl H100-80GB 2 '{"nvlink":"true","rack":"a"}'
expect "a node with labels registers" 200
node pcie H100-80GB 2 '{"rack":"b"}'
node l40 L40S 1 '{}'
node mig A100-40GB 1 '{}'
for m in H100-80GB L40S A100-40GB; do
    call "$OP" PUT "/v1/prices/$m" '{"gpu_hour_micros":2000000,"mig_slice_hour_micros":300000}'
done
expect "prices set" 200

S=$(ts $((T0 + 3600)))
E=$(ts $((T0 + 7200)))
req() { call "$ALICE" POST /v1/requests "$1"; }
quote() { call "$OP" POST "/v1/requests/$1/quote" '{}'; }

# ---------------------------------------------------------------- performance floors
req "{\"kind\":\"gpu\",\"min_memory_gb\":40,\"min_tflops_bf16\":700,\"count\":1,\"start\":\"$S\",\"end\":\"$E\"}"
expect "a request with min_tflops_bf16 is created" 201
R1=$(j .id)
check "… recorded on the request" [ "$(j .min_tflops_bf16)" = 700 -a "$(j .min_memory_bandwidth_gbs)" = null ]
call "$ALICE" GET "/v1/requests/$R1"
check "… and shown in GET (labels {})" [ "$(j .min_tflops_bf16)" = 700 -a "$(j '.labels | length')" = 0 ]
quote "$R1"
expect "it is quoted" 200
check "… on an H100 (the 48 GB L40S has 362 TFLOPS: below the floor)" [ "$(j .quote.model)" = H100-80GB ]
req "{\"kind\":\"gpu\",\"model\":\"L40S\",\"min_tflops_bf16\":500,\"count\":1,\"start\":\"$S\",\"end\":\"$E\"}"
expect "a named model below min_tflops_bf16 → 400 naming it" 400 invalid_argument min_tflops_bf16
req "{\"kind\":\"gpu\",\"model\":\"H100-80GB\",\"min_memory_bandwidth_gbs\":3000,\"count\":1,\"start\":\"$S\",\"end\":\"$E\"}"
expect "a named model below min_memory_bandwidth_gbs → 400 naming it" 400 invalid_argument min_memory_bandwidth_gbs
req "{\"kind\":\"gpu\",\"min_memory_gb\":16,\"min_tflops_bf16\":2000,\"count\":1,\"start\":\"$S\",\"end\":\"$E\"}"
expect "no model of the fleet that fast → 400 min_tflops_bf16" 400 invalid_argument min_tflops_bf16
req "{\"kind\":\"gpu\",\"min_memory_gb\":16,\"min_tflops_bf16\":0,\"count\":1,\"start\":\"$S\",\"end\":\"$E\"}"
expect "min_tflops_bf16 0 → 400" 400 invalid_argument min_tflops_bf16
req "{\"kind\":\"gpu\",\"min_memory_gb\":16,\"min_memory_bandwidth_gbs\":\"fast\",\"count\":1,\"start\":\"$S\",\"end\":\"$E\"}"
expect "min_memory_bandwidth_gbs not an integer → 400" 400 invalid_argument min_memory_bandwidth_gbs
req "{\"kind\":\"mig\",\"model\":\"A100-40GB\",\"profile\":\"1g.5gb\",\"min_tflops_bf16\":100,\"count\":1,\"start\":\"$S\",\"end\":\"$E\"}"
expect "a MIG profile whose share is too slow (1/7 of 312) → 400 min_tflops_bf16" 400 invalid_argument min_tflops_bf16
req "{\"kind\":\"mig\",\"model\":\"A100-40GB\",\"instance_memory_gb\":4,\"min_tflops_bf16\":100,\"count\":1,\"start\":\"$S\",\"end\":\"$E\"}"
expect "a MIG ask by size with a floor is created" 201
quote "$(j .id)"
check "… and quoted on the smallest profile whose share meets it (3g.20gb: 3/7 of 312)" [ "$(j .quote.profile)" = 3g.20gb ]

# ---------------------------------------------------------------- label selectors
S2=$(ts $((T0 + 10 * 3600)))
E2=$(ts $((T0 + 12 * 3600)))
req "{\"kind\":\"gpu\",\"model\":\"H100-80GB\",\"count\":2,\"labels\":{\"nvlink\":\"true\"},\"start\":\"$S2\",\"end\":\"$E2\"}"
expect "a request with labels is created" 201
R2=$(j .id)
check "… recorded" [ "$(j .labels.nvlink)" = true ]
quote "$R2"
expect "it is quoted" 200
check "… only on the node labelled nvlink=true" [ "$(j '[.quote.allocations[].node] | unique | join(",")')" = nvl ]
req "{\"kind\":\"gpu\",\"model\":\"H100-80GB\",\"count\":2,\"labels\":{\"rack\":\"b\",\"nvlink\":\"true\"},\"start\":\"$S2\",\"end\":\"$E2\"}"
R3=$(j .id)
quote "$R3"
expect "no node has every label → no_capacity" 409 no_capacity
check "… and the reason says which labels" grep -q "labels" <<<"$(j .error.message)"
node pcie H100-80GB 2 '{"rack":"b","nvlink":"true"}'
expect "the node is relabelled by its report" 200
quote "$R3"
expect "the relabelled node is planned by its new labels" 200
check "… on it" [ "$(j '[.quote.allocations[].node] | unique | join(",")')" = pcie ]
W=$(ts $((T0 + 30 * 86400)))
W2=$(ts $((T0 + 30 * 86400 + 3600)))
call "$MIKE" GET "/v1/availability?model=H100-80GB&start=$W&end=$W2&labels=rack=a"
check "availability with labels counts only the labelled node's GPUs" [ "$(j .total_gpus)" = 2 -a "$(j .whole_gpus_free)" = 2 ]
call "$MIKE" GET "/v1/availability?model=H100-80GB&start=$W&end=$W2&labels=nvlink=true"
check "… both nodes once relabelled" [ "$(j .total_gpus)" = 4 ]
call "$MIKE" GET "/v1/availability?model=H100-80GB&start=$W&end=$W2&labels=a%20b"
expect "availability with a bad selector → 400 labels" 400 invalid_argument labels
call "$MIKE" GET /v1/models
check "models carry their figures: H100-80GB 756.0 TFLOPS, 2000 GB/s" [ "$(j '.items[] | select(.name == "H100-80GB") | "\(.tflops_bf16_x10) \(.memory_bandwidth_gbs)"')" = "7560 2000" ]
check "… and a MIG profile its share (A100-40GB 3g.20gb: 133.7, 777)" [ "$(j '.items[] | select(.name == "A100-40GB") | .profiles[] | select(.name == "3g.20gb") | "\(.tflops_bf16_x10) \(.memory_bandwidth_gbs)"')" = "1337 777" ]
for bad in '"x"' '{"a b":"1"}' '{"k":"v w"}' '{"k":1}' \
    '{"a":"1","b":"1","c":"1","d":"1","e":"1","f":"1","g":"1","h":"1","i":"1"}'; do
    req "{\"kind\":\"gpu\",\"model\":\"H100-80GB\",\"count\":1,\"labels\":$bad,\"start\":\"$S\",\"end\":\"$E\"}"
    expect "labels $bad → 400 labels" 400 invalid_argument labels
done

# ---------------------------------------------------------------- alternatives
# the one L40S is held by a quote over [S3, S3 + 24h); a 4-hour ask at S3 does not fit, and
# the next three disjoint windows start when the hold ends (only the first was listed before)
S3=$(ts $((T0 + 20 * 3600)))
E3=$(ts $((T0 + 44 * 3600)))
req "{\"kind\":\"gpu\",\"model\":\"L40S\",\"count\":1,\"start\":\"$S3\",\"end\":\"$E3\"}"
quote "$(j .id)"
expect "a day of the only L40S is quoted" 200
req "{\"kind\":\"gpu\",\"model\":\"L40S\",\"count\":1,\"duration_hours\":4,\"earliest_start\":\"$S3\"}"
R4=$(j .id)
quote "$R4"
expect "a 4-hour ask in that day → no_capacity" 409 no_capacity
check "… with 3 alternatives" [ "$(j '.error.details.alternatives | length')" = 3 ]
check "… disjoint, the earliest first" [ "$(j '[.error.details.alternatives[].start] | join(" ")')" = "$E3 $(ts $((T0 + 48 * 3600))) $(ts $((T0 + 52 * 3600)))" ]
check "… each 4 hours long" [ "$(j '[.error.details.alternatives[] | select(.end != null)] | length')" = 3 ]
check "… each priced (4 GPU-hours at 2.00)" [ "$(j '[.error.details.alternatives[].total_micros] | unique | join(",")')" = 8000000 ]
check "… with its price version and model" [ "$(j '.error.details.alternatives[0].price_version')" -ge 1 -a "$(j '.error.details.alternatives[0].model')" = L40S-48GB ]

# ---------------------------------------------------------------- offerings
EARLY=$(ts $((T0 + 20 * 3600)))
call "$ALICE" GET "/v1/offerings?model=L40S&count=1&duration=4h&earliest=$EARLY"
expect "org admin lists offerings" 200
check "… 3 or more, the first when the hold ends" [ "$(j '.items | length')" -ge 3 -a "$(j '.items[0].start')" = "$E3" ]
check "… each priced, with a price version and an id" [ "$(j '[.items[] | select(.total_micros == 8000000 and .price_version >= 1 and (.id | startswith("off_")))] | length')" = "$(j '.items | length')" ]
check "… valid for 5 minutes" [ "$(j '.items[0].valid_until')" = "$(ts $((T0 + 300)))" ]
check "… of the caller's org" [ "$(j .org)" = "$ACME" ]
check "… with their lines" [ "$(j '.items[0].lines[0].units')" = 1 -a "$(j '.items[0].lines[0].hours')" = 4 ]
OFF=$(j '.items[0].id')
call "$ALICE" GET "/v1/offerings?model=L40S&count=1&duration=4&earliest=$EARLY&limit=2"
check "limit 2 → 2 offerings" [ "$(j '.items | length')" = 2 ]
call "$ALICE" GET "/v1/offerings?min_memory_gb=40&count=2&duration=2h&labels=nvlink=true,rack=a"
expect "offerings by memory and labels" 200
check "… only H100s (the labelled nodes)" [ "$(j '[.items[].model] | unique | join(",")')" = H100-80GB ]
call "$ALICE" GET "/v1/offerings?min_memory_gb=40&count=1&duration=2h&min_tflops_bf16=300"
check "a TFLOPS floor of 300 lets the L40S (362), the A100 (312) and the H100 (756) in" [ "$(j '[.items[].model] | unique | sort | join(",")')" = "A100-40GB,H100-80GB,L40S-48GB" ]
call "$ALICE" GET "/v1/offerings?min_memory_gb=40&count=1&duration=2h&min_tflops_bf16=400"
check "a floor of 400 leaves the H100 alone" [ "$(j '[.items[].model] | unique | join(",")')" = H100-80GB ]
call "$ALICE" GET "/v1/offerings?min_memory_gb=40&count=1&duration=2h&min_memory_bandwidth_gbs=1800"
check "a bandwidth floor of 1800 GB/s leaves the H100 alone (the L40S has 864, the A100 1555)" [ "$(j '[.items[].model] | unique | join(",")')" = H100-80GB ]
call "$ALICE" GET "/v1/offerings?kind=mig&model=A100-40GB&profile=3g.20gb&count=2&duration=1h"
expect "MIG offerings" 200
check "… of the profile asked" [ "$(j '.items[0].profile')" = 3g.20gb -a "$(j '.items[0].kind')" = mig ]

call "$ALICE" GET "/v1/offerings?model=L40S&count=1"
expect "no duration → 400 duration" 400 invalid_argument duration
call "$ALICE" GET "/v1/offerings?model=L40S&duration=4h&colour=red"
expect "an unknown parameter → 400 naming it" 400 invalid_argument colour
call "$ALICE" GET "/v1/offerings?model=L40S&duration=soon"
expect "a bad duration → 400 duration" 400 invalid_argument duration
call "$ALICE" GET "/v1/offerings?model=L40S&duration=4h&limit=0"
expect "limit 0 → 400 limit" 400 invalid_argument limit
call "$ALICE" GET "/v1/offerings?model=L40S&duration=4h&limit=51"
expect "limit 51 → 400 limit" 400 invalid_argument limit
call "$ALICE" GET "/v1/offerings?model=L40S&duration=4h&earliest=$(ts $((T0 - 86400)))"
expect "earliest in the past → 400 earliest" 400 invalid_argument earliest
call "$ALICE" GET "/v1/offerings?model=L40S&duration=4h&earliest=tomorrow"
expect "earliest not a time → 400 earliest" 400 invalid_argument earliest
call "$ALICE" GET "/v1/offerings?model=L40S&duration=4h&latest=$(ts $((T0 + 100 * 86400)))"
expect "a start range over 90 days → 400 latest" 400 invalid_argument latest
call "$ALICE" GET "/v1/offerings?model=L40S&duration=4h&kind=tpu"
expect "kind tpu → 400 kind" 400 invalid_argument kind
call "$ALICE" GET "/v1/offerings?model=L40S&duration=4h&count=abc"
expect "count not a number → 400 count" 400 invalid_argument count
call "$ALICE" GET "/v1/offerings?model=L40S&duration=4h&min_tflops_bf16=500"
expect "a named model below the floor → 400 min_tflops_bf16" 400 invalid_argument min_tflops_bf16
call "$ALICE" GET "/v1/offerings?model=L40S&duration=4h&labels=a%20b"
expect "a bad label selector → 400 labels" 400 invalid_argument labels
call "$ALICE" GET "/v1/offerings?model=L40S&duration=4h&labels=a=1,a=2"
expect "a repeated label key → 400 labels" 400 invalid_argument labels
call "$ALICE" GET "/v1/offerings?model=L40S&duration=4h&same_node=maybe"
expect "same_node not a boolean → 400 same_node" 400 invalid_argument same_node
call "$MIKE" GET "/v1/offerings?model=L40S&duration=4h"
expect "a member cannot list offerings" 403 forbidden
call "$OP" GET "/v1/offerings?model=L40S&duration=4h"
expect "the operator must name the org" 400 invalid_argument org
call "$OP" GET "/v1/offerings?model=L40S&duration=4h&org=acme"
expect "… and lists the org's offerings with it" 200
call "$BOB" GET "/v1/offerings?model=L40S&duration=4h&org=acme"
expect "an org admin naming another org → 404" 404 not_found org

call "$ALICE" GET "/v1/offerings/$OFF"
expect "an offering id opens" 200
check "… to the window, model, count and price it was listed with" [ "$(j .start)" = "$E3" -a "$(j .model)" = L40S-48GB -a "$(j .count)" = 1 -a "$(j .total_micros)" = 8000000 -a "$(j .org)" = "$ACME" ]
call "$BOB" GET "/v1/offerings/$OFF"
expect "another org's offering → 404" 404 not_found
# one character of the payload changed (the count 1 → 2 would be "MQ" → "Mg" somewhere; any
# change will do): the tag no longer verifies
payload=${OFF%%.*}
tag=${OFF#*.}
mid=$((${#payload} / 2))
c=${payload:$mid:1}
[ "$c" = A ] && r=B || r=A
call "$ALICE" GET "/v1/offerings/${payload:0:$mid}$r${payload:$((mid + 1))}.$tag"
expect "a tampered offering id → 404" 404 not_found
call "$ALICE" GET "/v1/offerings/off_garbage"
expect "a malformed offering id → 404" 404 not_found
write_clock $((T0 + 301))
call "$ALICE" GET "/v1/offerings/$OFF"
expect "an offering past valid_until → 409 expired" 409 expired

# ---------------------------------------------------------------- CLI
export ALLOT_SERVER=$U ALLOT_TOKEN=$ALICE
out=$("$ALLOT" offerings --model L40S --duration 4h --earliest "$EARLY" --limit 3 -o json 2>&1)
check "allot offerings -o json lists 3" [ "$(jq '.items | length' <<<"$out")" = 3 ]
out=$("$ALLOT" offerings --model L40S --duration 4h --earliest "$EARLY" --limit 1 2>&1)
check "allot offerings prints a table with the id" grep -q "off_" <<<"$out"
tid=$(tail -1 <<<"$out" | awk '{print $NF}')
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ALLOT_TOKEN" "$U/v1/offerings/$tid")
check "… whole, not cut short: the table's id opens (${#tid} chars)" [ "$code" = 200 ]
"$ALLOT" offerings --model L40S >/dev/null 2>&1
check "allot offerings without --duration is a usage error (2)" [ $? = 2 ]
out=$("$ALLOT" request create --org acme --kind gpu --min-memory 40 --count 1 --min-tflops-bf16 700 \
    --min-memory-bandwidth-gbs 2000 --label nvlink=true --label rack=a --duration 2 \
    --earliest-start "$(ts $((T0 + 400)))" -o json 2>&1)
check "allot request create with floors and two --label" [ "$(jq -r '.min_tflops_bf16, .min_memory_bandwidth_gbs, .labels.nvlink, .labels.rack' <<<"$out" | tr '\n' ' ')" = "700 2000 true a " ]
out=$("$ALLOT" offerings --min-memory 40 --count 2 --duration 2h --label nvlink=true --label rack=b -o json 2>&1)
check "allot offerings --label twice: both must match (node pcie)" [ "$(jq -r '.items | length' <<<"$out")" -ge 1 ]
unset ALLOT_SERVER ALLOT_TOKEN
