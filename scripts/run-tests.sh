#!/usr/bin/env bash
# run-tests.sh BUILD_DIR — run every test and end with one line "N passed, N failed".
# Unit tests: each build/…/test_* cmocka program; its own PASSED/FAILED counts are summed.
# Integration tests: tests/integration/*.sh; each prints "ok - what" / "not ok - what" per check.
set -uo pipefail
build=${1:?usage: run-tests.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
export ALLOT="$build/allot" AL_ROOT="$root"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CMOCKA_MESSAGE_OUTPUT=stdout
passed=0 failed=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

for t in "$build"/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    "$t" >"$log/$name.out" 2>&1
    rc=$?
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log/$name.out" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log/$name.out" | tail -1)
    p=${p:-0} f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed, sanitizer, leak
    passed=$((passed + p)) failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        echo "FAIL $name"; sed 's/^/    /' "$log/$name.out" | tail -40
    else
        echo "ok   $name ($p)"
    fi
done

for s in "$root"/tests/integration/*.sh; do
    [ -f "$s" ] || continue
    name=$(basename "$s" .sh)
    (cd "$root" && timeout 600 bash "$s") >"$log/$name.out" 2>&1
    rc=$?
    p=$(grep -c '^ok ' "$log/$name.out")
    f=$(grep -c '^not ok ' "$log/$name.out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)) failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        echo "FAIL $name"; sed 's/^/    /' "$log/$name.out" | tail -40
    else
        echo "ok   $name ($p)"
    fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
