#!/usr/bin/env bash
# lint.sh — `make lint` as a suite of `make test`: scripts/lint.sh over the whole tree
# (clang-format, clang-tidy, cppcheck, banned functions), one check per step, so that a finding
# fails the run as any test does. The findings themselves are printed above the verdicts.
set -uo pipefail
root=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
bash "$root/scripts/lint.sh" >"$out" 2>&1
rc=$?
cat "$out"
failed=$(sed -n 's/^lint: FAILED: //p' "$out")
for step in clang-format clang-tidy cppcheck banned-functions; do
    if [[ " $failed " == *" $step "* ]]; then
        echo "not ok - lint: $step"
    else
        echo "ok - lint: $step"
    fi
done
# lint.sh stops before its steps when it cannot configure: that is a failure too
if [ "$rc" -ne 0 ] && [ -z "$failed" ]; then
    echo "not ok - lint: scripts/lint.sh exited $rc before its checks"
fi
