#!/usr/bin/env bash
# run-suite.sh SUITE.sh — run one integration suite with the debug server's answer tap on
# (ALLOT_ANSWER_TAP: server/tap.h), then check every answer its servers sent against
# docs/openapi.yaml (check-answers.mjs), so that the spec cannot drift from the code. CMake
# registers every suite through this script; `make test` counts the suite's own "ok - …" lines
# and the checker's alike. The suite's exit status is kept; a failed check adds "not ok" lines
# (and fails the test). A suite whose servers sent nothing (no server, or a release binary,
# which has no tap) is only noted. OPENAPI_KEEP=DIR keeps the recorded answers in DIR/SUITE/
# (to look at, or to check again after a change of the spec: check-answers.mjs SPEC DIR/SUITE).
set -uo pipefail
suite=${1:?usage: run-suite.sh tests/integration/SUITE.sh}
root=$(cd "$(dirname "$0")/../.." && pwd)
name=$(basename "$suite" .sh)
tap=$(mktemp -d "${TMPDIR:-/tmp}/allot-tap.XXXXXX")
trap 'rm -rf "$tap"' EXIT

ALLOT_ANSWER_TAP=$tap bash "$suite"
rc=$?
if [ -n "${OPENAPI_KEEP-}" ]; then
    rm -rf "${OPENAPI_KEEP:?}/$name" && mkdir -p "$OPENAPI_KEEP/$name" &&
        cp "$tap"/answers-*.jsonl "$OPENAPI_KEEP/$name/" 2>/dev/null
fi

if ! compgen -G "$tap/answers-*.jsonl" >/dev/null; then
    echo "# openapi $name: no answers recorded"
    exit $rc
fi
mods=$root/tests/openapi/node_modules
if [ ! -d "$mods/ajv" ] || ! command -v node >/dev/null; then
    echo "not ok - openapi $name: the answers cannot be checked: node or tests/openapi/node_modules missing (scripts/deps.sh test installs them)"
    exit 1
fi
node "$root/tests/openapi/check-answers.mjs" "$root/docs/openapi.yaml" "$tap" "$name" || rc=${rc/#0/1}
exit "$rc"
