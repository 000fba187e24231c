#!/usr/bin/env bash
# browser_org.sh — the Organization page in a real browser (tests/browser/org.mjs): acme's balance and
# ledger against the API's answers, an invoice opened printable and its CSV downloaded, the
# operator's top-up, the org admin creating a member (its token shown once, and working), a
# member seeing no money, globex's admin seeing nothing of acme. Screenshots: org, invoice.
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
browser_run org.mjs
