#!/usr/bin/env bash
# browser_mig.sh — the dashboard's GPU and MIG changes pages in a real browser
# (tests/browser/mig.mjs): the demo MIG node's layout drawn as its agent reports it, a change
# that needs an acknowledgement planned, acknowledged by the org admin and applied by the
# operator through the pages, made by the node's agent, and the new layout drawn; what a member
# and another org's admin see. The world is browser_lib.sh's.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, node, chromium (else it skips).
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
# shellcheck source=tests/integration/browser_lib.sh
. "$AL_ROOT/tests/integration/browser_lib.sh"
# shellcheck disable=SC2119 # no --fleet-size: the small world
browser_world || exit 1
browser_run mig.mjs
