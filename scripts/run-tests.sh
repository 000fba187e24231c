#!/usr/bin/env bash
# run-tests.sh BUILD_DIR — run every test CTest knows in BUILD_DIR, one at a time, print one line
# per test, and end with one line "N passed, N failed" (", N skipped" added when checks were
# skipped), N counting checks, not programs:
#   unit tests (tests/unit/test_*, cmocka): the program's own PASSED / FAILED / SKIPPED counts;
#   integration suites (tests/integration/*.sh): their "ok - …" / "not ok - …" / "skip - …"
#   lines (a check that cannot run where it is says "skip - CHECK: REASON": never passed).
# The list of tests is CTest's (CMakeLists.txt registers both kinds, with the environment they
# need), so `ctest --test-dir BUILD_DIR` runs the same tests. A test CTest fails (a crash, a
# sanitizer report, a leak, a non-zero exit) counts as at least one failure; a skipped suite
# counts nothing. A failure prints the test's last 40 lines of output.
set -uo pipefail
build=${1:?usage: run-tests.sh BUILD_DIR}
build=$(cd "$build" && pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export CMOCKA_MESSAGE_OUTPUT=stdout
passed=0 failed=0 skipped=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

mapfile -t tests < <(ctest --test-dir "$build" -N | sed -n 's/^ *Test *#[0-9]*: //p')
if ((${#tests[@]} == 0)); then
    echo "run-tests.sh: CTest lists no tests in $build (configure and build it first)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

for name in "${tests[@]}"; do
    # -V prints the test's output, each line as "<number>: …"; the last lines are CTest's verdict.
    ctest --test-dir "$build" -R "^${name}\$" -V >"$log/ctest.out" 2>&1
    rc=$?
    sed -n 's/^[0-9][0-9]*: //p' "$log/ctest.out" >"$log/$name.out"
    if grep -q "Test *#[0-9]*: $name .*Skipped" "$log/ctest.out"; then
        why=$(grep -m1 -E '^# (SKIP|fuzz: skipped)' "$log/$name.out")
        echo "skip $name (${why:-skipped})"
        continue
    fi
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log/$name.out" | tail -1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log/$name.out" | tail -1)
    s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log/$name.out" | tail -1)
    p=${p:-$(grep -c '^ok ' "$log/$name.out")}
    f=${f:-$(grep -c '^not ok ' "$log/$name.out")}
    s=${s:-$(grep -c '^skip - ' "$log/$name.out")}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi # crashed, sanitizer, leak, timeout
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    if [ "$f" -ne 0 ]; then
        echo "FAIL $name"
        grep -E "Test +#[0-9]+: $name " "$log/ctest.out" | tail -1 | sed "s/^/    /"
        tail -40 "$log/$name.out" | sed 's/^/    /'
    else
        echo "ok   $name ($p)"
    fi
    if [ "$s" -ne 0 ]; then # shown, never counted as passed
        echo "     $name: $s skipped"
        grep -m3 '^skip - ' "$log/$name.out" | sed 's/^/    /'
    fi
done

echo "$passed passed, $failed failed$( ((skipped)) && echo ", $skipped skipped")"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
