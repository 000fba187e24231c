#!/usr/bin/env bash
# browser_shell.sh — the dashboard's shell in Debian's chromium (tests/browser/shell.mjs): the
# headers of / and of the JavaScript, the login page and a wrong token's message, each role's
# header and navigation against web/pages/index.js, the token kept in sessionStorage and never
# in a URL, logout, a reload, a bookmarked view; the time from login to the first page ready
# ("# timing …"). Screenshots: login, login-wrong-token, shell-<role> in $SHOTS.
# Skipped where no chromium is installed (scripts/deps.sh test installs it).
set -uo pipefail
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$AL_ROOT/tests/integration/lib.sh"
source "$AL_ROOT/tests/integration/browser_lib.sh"

# shellcheck disable=SC2119 # no --fleet-size: the small world
browser_world || exit 1
browser_run shell.mjs
