#!/usr/bin/env bash
# browser_pool.sh — the dashboard's Pool and New request pages in Debian's chromium
# (tests/browser/pool.mjs, driven by playwright-core) against the browser world of
# browser_lib.sh (a server with the web files, the demo fleet, the pool node pool-h100 whose
# agent runs containers with the `process` runtime, acme with a self-service contract, its admin
# and member, globex's admin): the Pool's counts against GET /v1/availability and GET /v1/pool,
# a container launched on a pool GPU, running, its logs, stopped; a self-service reservation
# and a request filed through New request, each checked through the API; count 0 refused under
# its input with the API's message; what the member, globex's admin and the operator see.
# Screenshots pool, pool-container, request, request-error in $SHOTS; "# timing" lines.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq, node, chromium.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/browser_lib.sh
. "$AL_ROOT/tests/integration/browser_lib.sh"

# shellcheck disable=SC2119 # no --fleet-size: the demo fleet
browser_world || exit 1
browser_run pool.mjs
