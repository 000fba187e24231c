#!/usr/bin/env bash
# pg_allot_lib.sh — `allot` for the suites run on PostgreSQL (AL_TEST_DB=postgres, lib.sh):
# not a suite. `allot server [init] … --db PATH` (PATH as the suite names its SQLite file;
# ./allot.db when not given) runs with --db set to a database of the throw-away cluster that
# bench/pg.sh started (AL_PG_HOST), one per PATH (created at its first use, named al_ and a
# hash of PATH's absolute form), and with --secret-key-file PATH.key unless the call names
# one (SQLite's default key file). Every other command runs as it is, and so does a server
# given --config: a config file's `db` is the suite's to write (lib.sh's al_conf_db gives it
# the same database). The real binary is $AL_REAL_ALLOT.
#
# Sourced (lib.sh does), it only defines the two functions that name a PATH's database, so
# that the wrapper, the suites' sqlite3 (psql) and their config files agree on it:
#   al_pg_dbname PATH    print the database's name for PATH (relative to $PWD)
#   al_pg_conninfo PATH  create that database when missing; print its libpq conninfo

al_pg_dbname() {
    local db=$1
    case $db in /*) ;; *) db=$PWD/$db ;; esac
    printf 'al_%s\n' "$(printf '%s' "$db" | md5sum | cut -c1-20)"
}

al_pg_conninfo() {
    local name
    name=$(al_pg_dbname "$1")
    if ! "$AL_PG_BIN/psql" -h "${AL_PG_HOST:?run under bench/pg.sh}" -U allot -d postgres -qAtc \
        "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        "$AL_PG_BIN/createdb" -h "$AL_PG_HOST" -U allot "$name" 2>/dev/null
    fi
    printf 'host=%s dbname=%s user=allot\n' "$AL_PG_HOST" "$name"
}

[ "${BASH_SOURCE[0]}" = "$0" ] || return 0 # sourced: the functions only
set -uo pipefail

real=${AL_REAL_ALLOT:?set AL_REAL_ALLOT to the allot binary}
[ "${1-}" = server ] || exec "$real" "$@"

args=("$@")
db=allot.db has_db=0 has_key=0
for ((i = 1; i < ${#args[@]}; i++)); do
    case ${args[i]} in
    --db) has_db=1 db=${args[i + 1]-} ;;
    --secret-key-file) has_key=1 ;;
    -h | --help | --config | --config=*) exec "$real" "$@" ;; # the file names its db itself
    esac
done
case $db in
postgres://* | postgresql://* | *=*) exec "$real" "$@" ;; # PostgreSQL already
/*) ;;
*) db=$PWD/$db ;;
esac
conninfo=$(al_pg_conninfo "$db")
out=()
for ((i = 0; i < ${#args[@]}; i++)); do
    if [ "${args[i]}" = --db ]; then
        out+=(--db "$conninfo")
        i=$((i + 1))
    else
        out+=("${args[i]}")
    fi
done
# after the subcommand (server, or server init): the flags may come in any order
pos=1
[ "${args[1]-}" = init ] && pos=2
extra=()
((has_db)) || extra+=(--db "$conninfo")
((has_key)) || extra+=(--secret-key-file "$db.key")
exec "$real" "${out[@]:0:pos}" "${extra[@]}" "${out[@]:pos}"
