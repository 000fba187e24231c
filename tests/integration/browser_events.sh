#!/usr/bin/env bash
# browser_events.sh — the dashboard's Events page in a real browser (tests/browser/events.mjs):
# the newest events as the API lists them, a filter in the URL, an event arriving live, and
# what a member and another org's admin see. The world is browser_lib.sh's.
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
browser_run events.mjs
