#!/usr/bin/env bash
# replicas_pg.sh — issue 16's test in the normal `make test`: tests/integration/replicas.sh
# with three `allot server` replicas on one throw-away PostgreSQL 15 (bench/pg.sh, through
# lib.sh's AL_TEST_DB=postgres), thousands of confirmations, self-service reservations,
# extensions, shortenings, cancellations and top-ups fired at them from many clients while
# replicas are killed with kill -9 and started again; then replicas.sh's checks (no overlap,
# ledger verify, every 201 there, each charge and refund once, each background action once).
# On SQLite, replicas.sh itself runs one replica (a second cannot open the file).
# Under make test-pg (AL_TEST_DB=postgres already, tests/integration/pg_run_lib.sh) it skips
# itself: that run takes replicas.sh on PostgreSQL, the same test.
# Knobs: replicas.sh's (TARGET, SECONDS_LOAD, CLIENTS, REPLICAS). Needs PostgreSQL's server
# (scripts/deps.sh test), $ALLOT, curl, jq, node, python3.
set -uo pipefail
root=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ "${AL_TEST_DB-}" = postgres ]; then
    echo "# SKIP under AL_TEST_DB=postgres: replicas.sh runs there on PostgreSQL, the same test"
    exit 0
fi
AL_TEST_DB=postgres AL_ROOT=$root exec bash "$root/tests/integration/replicas.sh" "$@"
