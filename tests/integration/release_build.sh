#!/usr/bin/env bash
# release_build.sh — `make run` builds the release preset (-O3), where gcc's warnings see more
# than in the debug build make test uses (format-truncation after inlining, for one): build
# the allot binary there too, so that a warning that would stop `make run` fails the tests.
set -uo pipefail
root=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if cmake --preset release >"$log" 2>&1 && cmake --build --preset release --target allot >>"$log" 2>&1; then
    echo "ok - the release build of allot (make run's) compiles without a warning"
else
    grep -E 'error|warning' "$log" | head -20
    echo "not ok - the release build of allot (make run's) compiles without a warning"
fi
