#!/usr/bin/env bash
# valgrind.sh [BUILD_DIR] — run every unit test program (BUILD_DIR/test_*, default
# build/release, which `make valgrind` builds) under valgrind memcheck: invalid reads and
# writes, uses of uninitialised values (which ASan does not see), and leaks. Programs run in
# parallel, one per core. Prints one line per program and exits non-zero if any had an error.
# Needs a build without sanitizers: valgrind and ASan do not mix.
set -uo pipefail
build=${1:-build/release}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc 2>/dev/null || echo 2)
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

if grep -q '^AL_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    echo "valgrind: $build is built with sanitizers; use a release build" >&2
    exit 2
fi
progs=()
for t in "$build"/test_*; do [ -x "$t" ] && progs+=("$t"); done
if ((${#progs[@]} == 0)); then
    echo "valgrind: no test programs in $build" >&2
    exit 2
fi

# Microseconds since the epoch (bash 5), for durations without bc.
now_us() { echo "${EPOCHREALTIME/./}"; }
secs_since() { local d=$(($(now_us) - $1)); printf '%d.%d' $((d / 1000000)) $((d / 100000 % 10)); }

run_one() {
    local t=$1 log=$2 name start rc
    name=$(basename "$t")
    start=$(now_us)
    CMOCKA_MESSAGE_OUTPUT=stdout valgrind -q --error-exitcode=99 --leak-check=full \
        --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
        "$t" >"$log/$name.out" 2>&1
    rc=$?
    echo "$name $rc $(secs_since "$start")" >"$log/$name.rc"
}
export -f run_one now_us secs_since
start=$(now_us)
printf '%s\n' "${progs[@]}" | xargs -P"$jobs" -I{} bash -c 'run_one "$1" "$2"' _ {} "$log"

failed=0
for t in "${progs[@]}"; do
    name=$(basename "$t")
    read -r _ rc secs <"$log/$name.rc"
    if [ "$rc" -eq 0 ]; then
        echo "ok   $name (${secs}s)"
    else
        # 99: valgrind found errors; anything else: the tests themselves failed
        echo "FAIL $name (exit $rc, ${secs}s)"
        sed 's/^/    /' "$log/$name.out" | tail -60
        failed=1
    fi
done
echo "valgrind: ${#progs[@]} programs, $(secs_since "$start")s wall"
exit "$failed"
