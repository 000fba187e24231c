#!/usr/bin/env bash
# fuzz.sh — build the libFuzzer targets (preset "fuzz": clang, ASan+UBSan) and run each one for
# a bounded time from its seed corpus tests/fuzz/corpus/<target>/, with its dictionary.
# Prints "ok - fuzz <target>" or "not ok - fuzz <target>" per target; a crash, a sanitizer
# report, a broken invariant (abort), a leak or a slow input (-timeout) is "not ok", and the
# input that did it is kept under build/fuzz/crashes/<target>/ and printed as a reproducer.
# Budget: FUZZ_SECONDS per target (default: 48 s shared by all, so the run with its build
# stays under 90 s). Every tests/fuzz/fuzz_<name>.c is a target and needs corpus/fuzz_<name>/.
# Without clang it skips and prints no result line, so nothing counts as passed (make test
# installs clang first, through scripts/deps.sh test); with clang but without libFuzzer's
# runtime (libclang-rt-14-dev) the build fails and every target is "not ok". FUZZ_SKIP=1 skips
# on purpose, the same way.
set -uo pipefail
root=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
build=build/fuzz
targets=()
for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
# 48 s of fuzzing in all, shared by the targets (12 s each for four), unless told otherwise;
# with the clang build (~15 s fresh) the script stays around a minute.
secs=${FUZZ_SECONDS:-$((48 / ${#targets[@]}))}

if [ "${FUZZ_SKIP:-0}" = 1 ]; then
    echo "# fuzz: skipped (FUZZ_SKIP=1)"
    exit 0
fi
if ! command -v clang >/dev/null; then
    # Nothing is counted as passed: run-tests.sh shows "fuzz (0)".
    echo "# fuzz: skipped, no clang (scripts/deps.sh test installs clang and libclang-rt-14-dev)"
    exit 0
fi

log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
if ! { cmake --preset fuzz >"$log/configure" 2>&1 && cmake --build --preset fuzz >"$log/build" 2>&1; }; then
    cat "$log/configure" "$log/build" 2>/dev/null | tail -30
    for t in "${targets[@]}"; do echo "not ok - fuzz $t (build failed)"; done
    exit 1
fi

failed=0
for t in "${targets[@]}"; do
    bin=$build/$t
    seeds=tests/fuzz/corpus/$t
    crashes=$build/crashes/$t
    work=$log/$t.corpus # new inputs go here; the committed seeds stay as they are
    rm -rf "$crashes"
    mkdir -p "$crashes" "$work"
    dict=()
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
        echo "not ok - fuzz $t (no program or no seed corpus $seeds)"
        failed=1
        continue
    fi
    # -timeout: one input slower than 5 s is a denial of service on an untrusted parser.
    # The outer timeout is a backstop should libFuzzer itself hang.
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        timeout $((secs + 30)) "$bin" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
        -max_len=2048 -print_final_stats=1 -artifact_prefix="$crashes/" "${dict[@]}" \
        "$work" "$seeds" >"$log/$t.out" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log/$t.out" | tail -1)
    if [ "$rc" -eq 0 ] && [ -n "$runs" ] && [ "$runs" -gt 0 ]; then
        echo "ok - fuzz $t ($runs runs in ${secs}s)"
    else
        echo "not ok - fuzz $t (exit $rc)"
        grep -vE '^#[0-9]+ +(NEW|REDUCE|pulse|INITED)' "$log/$t.out" | tail -40 | sed 's/^/    /'
        for a in "$crashes"/*; do
            [ -f "$a" ] && echo "    reproduce: $bin $a"
        done
        failed=1
    fi
done
exit "$failed"
