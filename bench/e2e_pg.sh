#!/usr/bin/env bash
# e2e_pg.sh BUILD_DIR — issue 16's benchmark: bench_e2e against 1, 2 and 3 `allot server`
# replicas on one PostgreSQL (durable commits: synchronous_commit=on, fsync on), beside
# bench_e2e on SQLite and bench_pg_ceiling (PostgreSQL's own ceiling: one INSERT per durable
# transaction from a C client) in the same run, on one machine. Each replica count gets a
# database of its own in one private cluster (bench/pg.sh). JSON lines on stdout: the e2e lines
# carry "replicas" and "db". The knobs of bench_e2e apply (E2E_MODE, E2E_SECONDS,
# E2E_NODES, QUICK…); the default here is the write path alone (E2E_READERS=0), as the
# ceiling is.
set -euo pipefail
build=$(cd "${1:?usage: e2e_pg.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
export E2E_READERS=${E2E_READERS:-0}
echo "# bench_e2e on SQLite" >&2
"$build/bench_e2e"
# shellcheck disable=SC2016 # expanded by the inner shell, under pg.sh's environment
AL_PG_DURABLE=1 "$root/bench/pg.sh" bash -c '
    set -euo pipefail
    [ -z "${AL_PG_SKIP-}" ] || { echo "e2e_pg.sh: no PostgreSQL: $AL_PG_SKIP" >&2; exit 1; }
    for n in 1 2 3; do
        "$AL_PG_BIN/psql" -h "$AL_PG_HOST" -U allot -d postgres -qc "CREATE DATABASE e2e_$n" >&2
        echo "# bench_e2e on PostgreSQL, $n replica(s)" >&2
        E2E_DB="host=$AL_PG_HOST dbname=e2e_$n user=allot" E2E_REPLICAS=$n "$1/bench_e2e"
    done
    echo "# bench_pg_ceiling" >&2
    "$1/bench_pg_ceiling"' _ "$build"
