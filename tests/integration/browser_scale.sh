#!/usr/bin/env bash
# browser_scale.sh — the dashboard on a bench-sized fleet (issue 15: "usable within 1 s on make
# run's fleet and within 3 s on a bench-sized one"): tests/browser/scale.mjs times the
# Reservations, Events and Pool pages (to data-ready, from a fresh load) and checks that they
# show the right counts, first on the browser world's fleet (browser_lib.sh: make run's), then
# on the same world grown by 10,000 nodes of 8 GPUs (80,000 GPUs) and 8,000 reservations of
# three orgs (acme among them: its admin's view is timed too), whole GPUs and MIG instances,
# ended, active and scheduled, over five months. Those rows are written with sqlite3 into the
# stopped server's database (browser_scale_fleet.sql: a second, where the API takes minutes on
# a loaded machine), then the server is started again on it; on PostgreSQL (AL_TEST_DB=
# postgres) with psql (browser_scale_fleet_pg.sql, the same rows in its dialect). Times are
# printed as "# timing <page> (<fleet>) <ms> ms" lines, never asserted.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq, sqlite3 (or PostgreSQL's
# psql), node, chromium.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/browser_lib.sh
. "$AL_ROOT/tests/integration/browser_lib.sh"
if [ "${AL_TEST_DB-}" != postgres ] && ! command -v sqlite3 >/dev/null; then
    echo "skip - browser_scale: no sqlite3 command (scripts/deps.sh test installs it)"
    exit 0
fi
# shellcheck disable=SC2119 # the world of make run's fleet: no arguments
browser_world || exit 1
NODES=${SCALE_NODES:-10000}
# the times depend on the server's build (ALLOT_SERVER_BIN: a release build's, say) and the load
echo "# server: ${ALLOT_SERVER_BIN:-$ALLOT}; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "${AL_TEST_DB-}" = postgres ]; then
    gpu_count() { sqlite3 "$tmp/db" "SELECT count(*) FROM gpus"; } # psql (lib.sh)
else
    gpu_count() { sqlite3 "$tmp/db" ".timeout 10000" "SELECT count(*) FROM gpus"; }
fi
# write_rows VAR=VALUE…: browser_scale_fleet.sql run on the stopped server's database with
# those parameters (sqlite3's .parameter, psql's -v)
write_rows() {
    local a args=()
    if [ "${AL_TEST_DB-}" = postgres ]; then
        for a in "$@"; do args+=(-v "$a"); done
        "$AL_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$AL_PG_HOST" -U allot \
            -d "$(al_pg_dbname "$tmp/db")" "${args[@]}" \
            -f "$AL_ROOT/tests/integration/browser_scale_fleet_pg.sql" >/dev/null
        return
    fi
    for a in "$@"; do args+=(-cmd ".parameter set :${a%%=*} ${a#*=}"); done
    sqlite3 -bail "${args[@]}" "$tmp/db" <"$AL_ROOT/tests/integration/browser_scale_fleet.sql"
}

# a reservation on the small fleet, so that its timeline is not empty
call "$ADMIN_TOKEN" POST /v1/reservations "{\"kind\":\"gpu\",\"count\":2,\"model\":\"H100-80GB\",\"start\":\"$(date -u -d '+1 hour' +%Y-%m-%dT%H:00:00Z)\",\"end\":\"$(date -u -d '+3 day' +%Y-%m-%dT%H:00:00Z)\"}" \
    -H 'Idempotency-Key: scale-small'
expect "world: acme reserves two H100s" 201
SCALE_GPUS=$(gpu_count) browser_run scale.mjs small

# the bench-sized world: two more orgs, the rows, the server again on the same database
{ "$ALLOT" org create initech && "$ALLOT" org create umbrella; } >/dev/null ||
    nok "world: orgs initech and umbrella"
org_id() { "$ALLOT" org list -o json | jq -r --arg n "$1" '(if type == "array" then . else .items end)[] | select(.name == $n) | .id'; }
actor=$("$ALLOT" user me -o json | jq -r '.user.id // .id')
orgs=(acme initech umbrella)
# the strings quoted for sqlite3's .parameter (psql's -v takes them as they are, :'x' quotes)
q=\'
[ "${AL_TEST_DB-}" = postgres ] && q=
params=()
for i in 0 1 2; do
    params+=("org$i=$q$(org_id "${orgs[$i]}")$q" "name$i=$q${orgs[$i]}$q")
done
mapfile -d '' -t args </proc/"$pid"/cmdline
stop_server || true
now=$(date -u +%s)
t0=$SECONDS
if write_rows "nodes=$NODES" "now=$now" "day0=$((now / 86400 * 86400))" "actor=$q$actor$q" \
    "whole=$((NODES * 6 / 10))" "mig=$((NODES / 5))" "${params[@]}" 2>"$tmp/scale.err"; then
    ok "world: $NODES nodes of 8 GPUs and $((NODES * 8 / 10)) reservations written in $((SECONDS - t0)) s"
else
    nok "world: the bench-sized rows (browser_scale_fleet.sql)"
    show_log "$tmp/scale.err"
    exit 1
fi
start_server "$U" "$tmp/server.log" "${args[@]:2}" || { nok "the server starts again on the bench-sized database"; exit 1; }
ok "the server starts again on the bench-sized database"
node_written() { "$ALLOT" node show n00042 -o json | jq -e '.gpus | length == 8' >/dev/null; }
check "GET /v1/nodes/n00042 answers the node written, its 8 GPUs" node_written
SCALE_GPUS=$(gpu_count) browser_run scale.mjs bench
