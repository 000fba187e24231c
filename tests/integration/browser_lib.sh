# shellcheck shell=bash
# browser_lib.sh — the world the dashboard's browser suites share (source it after lib.sh; it is
# not a suite: CMake skips *_lib.sh). A suite tests/integration/browser_<group>.sh is:
#
#   source "$AL_ROOT/tests/integration/lib.sh"
#   source "$AL_ROOT/tests/integration/browser_lib.sh"
#   browser_world || exit 1      # skips the suite (exit 0) where no chromium is installed
#   browser_run <group>.mjs      # node tests/browser/<group>.mjs, its checks are the suite's
#
# browser_world starts, in a temp dir $tmp, on a free port: `allot server` (the debug binary
# $ALLOT, serving the web files of the source tree) with what `make run` (scripts/run.sh) has:
# the simulated fleet tests/data/demo-fleet.json, the demo prices, the demo MIG node mig-h200
# and general-pool node pool-h100 with their own agents on the `process` container runtime, and
# the org acme with a prepaid, self-service contract (so that GET /v1/offerings has offerings
# for it) and 50,000.00 of money; plus acme's org admin and member and a second org globex with
# its own admin, for the wrong-role and wrong-org checks. It exports:
#   U                  the server's base URL
#   OP_TOKEN           the operator's token
#   ADMIN_TOKEN        acme's org admin (acme-admin)
#   MEMBER_TOKEN       acme's member (acme-member)
#   OTHER_ADMIN_TOKEN  globex's org admin (globex-admin)
#   WORLD              $tmp/world.json: all of the above, and the ids and names the specs use
#                      (org ids, user ids, node names and their GPUs' ids, the fleet's size,
#                      acme's contract id)
#   ALLOT_SERVER, ALLOT_TOKEN   the CLI's server and the operator's token, for a suite's own
#                      set-up with $ALLOT
#   SHOTS              where the specs' screenshots go (default: build/screenshots in the
#                      source tree, which the lead copies to docs/screenshots/)
# The nodes never go offline during a suite (--heartbeat-timeout of a day: the fleet reports
# once). KEEP=1 keeps $tmp (database, logs, world.json).
#
# browser_world --fleet-size N (or BROWSER_FLEET=N): instead of demo-fleet.json, a bench-sized
# fleet of N GPUs (N/8 nodes n00000… of 8 GPUs, H100-80GB and A100-80GB by turns), registered
# through PUT /v1/nodes/NAME like bench/e2e.c's (80,000 GPUs: 10,000 nodes, the issue's "fleet
# of 80,000 GPUs"); a minute or more on a loaded machine, for the perf specs only.
#
# browser_run SPEC.mjs [ARGS…]: node tests/browser/SPEC.mjs with the world in its environment;
# the spec's "ok - …" / "not ok - …" lines are the suite's, its exit status returned.

# browser_skip REASON: the suite checks nothing here ("skip - …", never counted as passed).
browser_skip() {
    echo "skip - $(basename "$0" .sh): $1"
}

# browser_missing: why no browser test can run here (nothing when one can). Only a missing
# chromium is a reason to skip; a missing node or playwright-core is a broken test set-up
# that browser_world reports as "not ok".
browser_missing() {
    [ -n "${CHROMIUM-}" ] && [ -x "$CHROMIUM" ] && return 0
    [ -x /usr/lib/chromium/chromium ] || [ -x /usr/bin/chromium ] ||
        echo "no chromium (scripts/deps.sh test installs Debian's)"
}

# browser_agent NAME SEED ARGS…: the node NAME's own agent (its token, its state in
# $tmp/NAME.json copied from SEED) on the process runtime, in the background; pid appended to
# $browser_pids.
browser_agent() {
    local name=$1 seed=$2 tok
    shift 2
    cp "$seed" "$tmp/$name.json"
    tok=$("$ALLOT" node token "$name" -o json | jq -r .token) || return 1
    ALLOT_TOKEN=$tok "$ALLOT" agent --driver sim --state "$tmp/$name.json" --node "$name" \
        --interval 2 --runtime "process:$tmp/containers" "$@" >>"$tmp/$name.log" 2>&1 &
    browser_pids+=("$!")
}

# browser_runtime_up NAME: the node's agent has reported a working container runtime.
browser_runtime_up() {
    "$ALLOT" node show "$1" -o json 2>/dev/null | jq -e '.container_runtime.ok' >/dev/null
}

# browser_user NAME ROLE ORG VAR: create the user, export its token as VAR and its id as
# VAR_ID (json: $tmp/user-NAME.json).
browser_user() {
    local out
    out=$("$ALLOT" user create "$1" --role "$2" --org "$3" -o json) || return 1
    printf '%s\n' "$out" >"$tmp/user-$1.json"
    export "$4=$(jq -r .token <<<"$out")"
    export "${4}_ID=$(jq -r '.user.id // .id' <<<"$out")"
}

# browser_big_fleet N: N GPUs as N/8 nodes (bench/e2e.c's node_body), registered by 8 curl
# workers each reading its requests from a config file (one curl, one connection, per worker).
browser_big_fleet() {
    local nodes=$(($1 / 8)) w workers=()
    for ((w = 0; w < 8; w++)); do
        (
            {
            echo fail-early # any failed request fails the worker, not only its last one
            for ((i = w; i < nodes; i += 8)); do
                local m=H100-80GB g gpus=
                ((i % 2)) && m=A100-80GB
                for ((g = 0; g < 8; g++)); do
                    gpus+=$(printf '%s{"index":%d,"uuid":"GPU-b7000000-0000-0000-%04x-%012x","model":"%s","pool":"dedicated","healthy":true}' \
                        "${gpus:+,}" "$g" "$g" "$i" "$m")
                done
                # one request per block; "next" so that the data of two do not add up
                ((i > w)) && echo next
                printf 'url = "%s/v1/nodes/n%05d"\nrequest = "PUT"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata = "{\\"zone\\":\\"z%d\\",\\"labels\\":{},\\"gpus\\":[%s]}"\noutput = "/dev/null"\nfail\nsilent\nshow-error\n' \
                    "$U" "$i" "$OP_TOKEN" $((i % 4)) "${gpus//\"/\\\"}"
            done
            } >"$tmp/fleet-$w.curl"
            curl -K "$tmp/fleet-$w.curl" || : >"$tmp/fleet-failed"
        ) &
        workers+=("$!")
    done
    wait "${workers[@]}" # not a bare wait: the server is a background job too
    [ ! -e "$tmp/fleet-failed" ]
}

# browser_world [--fleet-size N]: start the world (above); 1 with "not ok" lines when it could
# not. Where no chromium is installed it prints the skip line and exits the suite (0).
browser_world() {
    local fleet_size=${BROWSER_FLEET:-0} why t0=$SECONDS web=()
    [ "${1-}" = --fleet-size ] && fleet_size=${2:?browser_world --fleet-size N}
    why=$(browser_missing)
    if [ -n "$why" ]; then
        browser_skip "$why"
        exit 0
    fi
    command -v node >/dev/null || { nok "browser tests: no node (scripts/deps.sh test)"; return 1; }
    [ -d "$AL_ROOT/tests/browser/node_modules/playwright-core" ] || {
        nok "browser tests: no tests/browser/node_modules (scripts/deps.sh test runs npm ci)"
        return 1
    }
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/allot-browser.XXXXXX")
    browser_pids=()
    pid=
    # shellcheck disable=SC2154 # $browser_pids, $pid: this file's and lib.sh's
    trap 'for p in "${browser_pids[@]}"; do reap "$p"; done; reap "$pid"; rm_tmp' EXIT
    port=$(free_port)
    U=http://127.0.0.1:$port
    OP_TOKEN=$(operator_token "$tmp/db" "$tmp/init.err")
    [ -n "$OP_TOKEN" ] || { nok "browser world: allot server init"; show_log "$tmp/init.err"; return 1; }
    # the server's own web files once it serves them (`allot server --web DIR`)
    "$ALLOT" server --help 2>&1 | grep -qE -- '--web[ =|]' && web=(--web "$AL_ROOT/web")
    start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port" \
        --heartbeat-timeout 86400 "${web[@]}" || { nok "browser world: the server starts"; return 1; }
    export U OP_TOKEN ALLOT_SERVER=$U ALLOT_TOKEN=$OP_TOKEN
    browser_populate "$fleet_size" || { show_log "$tmp/server.log"; return 1; }
    browser_world_json "$fleet_size" || { nok "browser world: $tmp/world.json"; return 1; }
    export WORLD=$tmp/world.json SHOTS=${SHOTS:-$AL_ROOT/build/screenshots}
    mkdir -p "$SHOTS"
    echo "# browser world on $U in $((SECONDS - t0)) s (fleet: ${fleet_size/#0/demo-fleet.json}; files: $tmp)"
}

# browser_populate FLEET_SIZE: the fleet, prices, orgs, users, money and the nodes' agents.
browser_populate() {
    local fleet=$AL_ROOT/tests/data/demo-fleet.json model gpu slice pool
    if (($1 > 0)); then
        browser_big_fleet "$1" || { nok "browser world: a fleet of $1 GPUs registered"; return 1; }
    else
        "$ALLOT" agent --driver sim --fleet "$fleet" --once >"$tmp/fleet.log" 2>&1 ||
            { nok "browser world: the simulated fleet reports"; show_log "$tmp/fleet.log"; return 1; }
    fi
    # run.sh's demo prices (USD per hour: a dedicated GPU, a MIG compute slice, a pool GPU)
    while read -r model gpu slice pool; do
        "$ALLOT" price set "$model" --gpu-hour "$gpu" --mig-slice-hour "$slice" \
            --pool-gpu-hour "$pool" >/dev/null || { nok "browser world: price of $model"; return 1; }
    done <<'PRICES'
H100-80GB 2.50 0.40 3.00
A100-80GB 1.80 0.30 2.20
A30-24GB 0.90 0.25 1.10
L40S-48GB 1.10 0 1.40
H200-141GB 3.20 0.50 3.80
PRICES
    {
        "$ALLOT" org create acme --customer-code ACME --display-name "Acme Research" -o json \
            >"$tmp/org-acme.json" &&
            "$ALLOT" contract create --org acme --terms prepaid --valid-to +365d \
                --credit-limit 1000 --self-service -o json >"$tmp/contract-acme.json" &&
            "$ALLOT" org topup acme 50000 --reference "browser world top-up" >/dev/null &&
            browser_user acme-admin org_admin acme ADMIN_TOKEN &&
            browser_user acme-member member acme MEMBER_TOKEN &&
            "$ALLOT" org create globex --customer-code GLOBEX --display-name "Globex Corporation" \
                -o json >"$tmp/org-globex.json" &&
            browser_user globex-admin org_admin globex OTHER_ADMIN_TOKEN
    } >/dev/null || { nok "browser world: orgs acme and globex, their users and money"; return 1; }
    if ! browser_agent mig-h200 "$AL_ROOT/tests/data/demo-mig-node.json" \
        --journal "$tmp/mig-h200.journal" ||
        ! browser_agent pool-h100 "$AL_ROOT/tests/data/demo-pool-node.json" --pool general; then
        nok "browser world: the nodes' agents start"
        return 1
    fi
    wait_until 30 eval 'browser_runtime_up mig-h200 && browser_runtime_up pool-h100' || {
        nok "browser world: mig-h200 and pool-h100 report their container runtime"
        show_log "$tmp/mig-h200.log"
        return 1
    }
}

# browser_world_json FLEET_SIZE: $tmp/world.json (mode 0600: it holds the tokens).
browser_world_json() {
    "$ALLOT" node show mig-h200 -o json >"$tmp/node-mig.json" &&
        "$ALLOT" node show pool-h100 -o json >"$tmp/node-pool.json" || return 1
    (umask 077 && jq -n \
        --arg u "$U" --arg op "$OP_TOKEN" --arg admin "$ADMIN_TOKEN" \
        --arg member "$MEMBER_TOKEN" --arg other "$OTHER_ADMIN_TOKEN" \
        --arg admin_id "$ADMIN_TOKEN_ID" --arg member_id "$MEMBER_TOKEN_ID" \
        --arg other_id "$OTHER_ADMIN_TOKEN_ID" --argjson fleet "$1" \
        --slurpfile acme "$tmp/org-acme.json" --slurpfile globex "$tmp/org-globex.json" \
        --slurpfile contract "$tmp/contract-acme.json" \
        --slurpfile mig "$tmp/node-mig.json" --slurpfile pool "$tmp/node-pool.json" '{
            U: $u, OP_TOKEN: $op, ADMIN_TOKEN: $admin, MEMBER_TOKEN: $member,
            OTHER_ADMIN_TOKEN: $other,
            org: {id: $acme[0].id, name: "acme", customer_code: "ACME"},
            other_org: {id: $globex[0].id, name: "globex", customer_code: "GLOBEX"},
            contract_id: $contract[0].id,
            users: {admin: {id: $admin_id, name: "acme-admin"},
                    member: {id: $member_id, name: "acme-member"},
                    other_admin: {id: $other_id, name: "globex-admin"}},
            nodes: {mig: "mig-h200", pool: "pool-h100"},
            gpus: {mig: [$mig[0].gpus[].id], pool: [$pool[0].gpus[].id]},
            fleet_size: $fleet
        }' >"$tmp/world.json")
}

# browser_run SPEC.mjs [ARGS…]: the spec, with the world's environment (see above).
browser_run() {
    local spec=$1
    shift
    node "$AL_ROOT/tests/browser/$spec" "$@"
}
