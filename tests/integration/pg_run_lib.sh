#!/usr/bin/env bash
# pg_run_lib.sh BUILD_DIR [SUITE…] — `make test-pg`: the integration suites with their servers on
# PostgreSQL (AL_TEST_DB=postgres, lib.sh), all in one throw-away cluster (bench/pg.sh), each
# server's database its own (pg_allot_lib.sh). Not a suite itself (CTest skips *_lib.sh). Prints
# one line per suite (its checks and seconds) and ends with the whole run's seconds and
# "N passed, N failed" (", N skipped" when checks or suites were skipped), N counting checks
# as scripts/run-tests.sh does. Left out, with the reason: the suites that start no server on
# a database of their own (lint, fuzz, the build and packaging checks, the docs), pg_schema,
# pg_store and pg_replica (they start their own cluster, in make test), suites_pg (make
# test's selection of these suites on PostgreSQL: each runs here on its own), and the
# dashboard's browser suites unless AL_PG_BROWSER=1 (two and a half minutes of Chromium in
# all; the store calls behind them are the API suites'). A suite about the SQLite file itself
# is skipped by lib.sh, its reason printed.
set -uo pipefail
build=$(cd "${1:?usage: pg_run_lib.sh BUILD_DIR [SUITE...]}" && pwd)
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
export AL_REAL_ALLOT=$build/allot ALLOT=$root/tests/integration/pg_allot_lib.sh AL_ROOT=$root
export AL_TEST_DB=postgres ALLOT_CONFIG_FILE=none
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

run_all() {
    [ -n "${AL_PG_SKIP-}" ] && { echo "0 passed, 1 failed (PostgreSQL: $AL_PG_SKIP)"; return 1; }
    local passed=0 failed=0 skipped=0 name s out rc p f k t0 t start
    start=$(date +%s)
    out=$(mktemp)
    for s in "$@"; do
        name=$(basename "$s" .sh)
        case $name in
        lib | *_lib | lint | fuzz | pg_schema | pg_store | pg_replica | docs_filemap | release_build | make_run | \
            packaging | openapi | runtime_podman | suites_pg)
            continue ;;
        browser_*) [ "${AL_PG_BROWSER:-}" = 1 ] || { echo "left out $name (AL_PG_BROWSER=1 runs it)"; continue; } ;;
        esac
        t0=$(date +%s)
        timeout 900 bash "$s" >"$out" 2>&1
        rc=$?
        t=$(($(date +%s) - t0))
        if grep -q '^# SKIP' "$out" && ! grep -q '^ok ' "$out"; then
            echo "skip $name ($(grep -m1 '^# SKIP' "$out"), ${t} s)"
            skipped=$((skipped + 1))
            continue
        fi
        p=$(grep -c '^ok ' "$out")
        f=$(grep -c '^not ok ' "$out")
        k=$(grep -c '^skip - ' "$out")
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + k))
        if [ "$f" -ne 0 ]; then
            echo "FAIL $name ($p passed, $f failed, exit $rc, ${t} s)"
            grep -m8 '^not ok ' "$out" | sed 's/^/    /'
        else
            echo "ok   $name ($p, ${t} s)"
        fi
    done
    rm -f "$out"
    echo "# the suites took $(($(date +%s) - start)) s"
    echo "$passed passed, $failed failed$( ((skipped)) && echo ", $skipped skipped")"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}
export -f run_all

if [ $# -eq 0 ]; then
    set -- "$root"/tests/integration/*.sh
fi
bash "$root/bench/pg.sh" bash -c 'run_all "$@"' run_all "$@"
