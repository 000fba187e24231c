#!/usr/bin/env bash
# browser_requests.sh — the Requests page in a real browser (tests/browser/requests.mjs): the request flow end to end,
# every role's part — acme's org admin files a request, the operator quotes and approves it in the
# page, the admin accepts it there, the operator confirms it and the page links to the
# reservation; the quote's lines and printable document against the API's; a member sees no
# controls and the API refuses the member; a reject with its reason; a refused confirm shown in
# words; globex's admin sees nothing of acme's request. Screenshots: requests, request-detail,
# quote.
# Prints "ok - …" / "not ok - …" per check and "# timing …" lines (time to a ready page, never
# asserted). Needs $ALLOT, node, tests/browser/node_modules and chromium (skipped without it:
# browser_lib.sh).
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}

# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/browser_lib.sh
. "$AL_ROOT/tests/integration/browser_lib.sh"

# shellcheck disable=SC2119 # no --fleet-size: the small world
browser_world || exit 1
browser_run requests.mjs
