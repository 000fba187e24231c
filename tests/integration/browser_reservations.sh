#!/usr/bin/env bash
# browser_reservations.sh — the dashboard's Reservations page in a real browser
# (tests/browser/reservations.mjs, docs/dashboard.md "Reservations"): in the browser world
# (browser_lib.sh) acme's org admin reserves, self-service, two whole H100 GPUs from in two
# hours, a 3g.71gb MIG instance of mig-h200's H200 from in an hour, and an A100 in ten days
# for a month; globex (given a contract and money here) an A100 from tomorrow. The spec checks
# the timeline against GET /v1/reservations (count, a hold's position and dates, a MIG hold
# at its placement units), the zoom and the window in the URL, a reload keeping the view, the
# details with the containers, extend, shorten and cancel through the page (the API agrees),
# a change made through the API drawn live, a member without the controls (the API refuses
# them too), and globex's admin seeing nothing of acme's. Screenshots reservations,
# reservation-detail, reservations-quarter (and reservations-mig). Before the world, the
# timeline's arithmetic in node (tests/browser/reservations_time.mjs).
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq, node, chromium.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/browser_lib.sh
. "$AL_ROOT/tests/integration/browser_lib.sh"
# the timeline's arithmetic first, in node alone (no browser, no server)
if command -v node >/dev/null; then
    node "$AL_ROOT/tests/browser/reservations_time.mjs"
else
    nok "reservations_time: no node (scripts/deps.sh test)"
fi
# shellcheck disable=SC2119 # the world of make run's fleet: no arguments
browser_world || exit 1

# at: an hour boundary `+N hour|day` from now, as the API takes times
at() { date -u -d "$(date -u +%Y-%m-%dT%H:00:00Z) $1" +%Y-%m-%dT%H:%M:%SZ; }

# reserve TOKEN BODY VAR: a self-service reservation; its id in VAR (and RSV_IDS)
reserve() {
    call "$1" POST /v1/reservations "$2" -H "Idempotency-Key: rsv-$3"
    if [ "$code" = 201 ]; then
        export "$3=$(j .id)"
        ok "world: reservation $3 ($(j .id), $(j .state))"
    else
        nok "world: reservation $3 answered $code: $(head -c 300 <<<"$body")"
        return 1
    fi
}

{
    "$ALLOT" contract create --org globex --terms prepaid --valid-to +365d --self-service &&
        "$ALLOT" org topup globex 20000 --reference "browser reservations top-up"
} >/dev/null || nok "world: globex's contract and money"

reserve "$ADMIN_TOKEN" "{\"kind\":\"gpu\",\"count\":2,\"model\":\"H100-80GB\",\"start\":\"$(at '+2 hour')\",\"end\":\"$(at '+3 day')\"}" RSV_GPU &&
    reserve "$ADMIN_TOKEN" "{\"kind\":\"mig\",\"count\":1,\"model\":\"H200-141GB\",\"profile\":\"3g.71gb\",\"start\":\"$(at '+1 hour')\",\"end\":\"$(at '+2 day')\"}" RSV_MIG &&
    reserve "$ADMIN_TOKEN" "{\"kind\":\"gpu\",\"count\":1,\"model\":\"A100-80GB\",\"start\":\"$(at '+10 day')\",\"end\":\"$(at '+40 day')\"}" RSV_LATER &&
    reserve "$OTHER_ADMIN_TOKEN" "{\"kind\":\"gpu\",\"count\":1,\"model\":\"A100-80GB\",\"start\":\"$(at '+1 day')\",\"end\":\"$(at '+5 day')\"}" RSV_OTHER ||
    exit 1
export RSV_GPU RSV_MIG RSV_LATER RSV_OTHER
browser_run reservations.mjs
