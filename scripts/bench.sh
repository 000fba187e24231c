#!/usr/bin/env bash
# bench.sh BUILD_DIR — run every benchmark program; each prints JSON lines on stdout.
# QUICK=1 runs the small versions for a first look. bench_admission runs under bench/pg.sh,
# which starts a private PostgreSQL server for its peer comparison (and stops it after);
# bench_pg_ceiling under bench/pg.sh with durable commits (AL_PG_DURABLE=1): PostgreSQL's own
# ceiling of one INSERT per durable transaction, the line bench_e2e on PostgreSQL will meet.
set -euo pipefail
build=${1:?usage: bench.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
export AL_ROOT="$root" QUICK=${QUICK:-}
found=0
for b in "$build"/bench_*; do
    [ -x "$b" ] || continue
    found=1
    echo "# $(basename "$b")" >&2
    case "$(basename "$b")" in
    bench_admission) "$root/bench/pg.sh" "$b" ;;
    bench_pg_ceiling) AL_PG_DURABLE=1 "$root/bench/pg.sh" "$b" ;;
    *) "$b" ;;
    esac
done
[ "$found" -eq 1 ] || { echo "bench.sh: no benchmark programs in $build" >&2; exit 1; }
