#!/usr/bin/env bash
# deps.sh — install the Debian 12 packages allot needs to build, test and run.
# Idempotent: silent when everything is present; otherwise it says what it is about to do
# before each step (the package lists, then the packages, which can take a minute or two),
# and that it is done.
# Usage: scripts/deps.sh [build|dist|run|test|bench|lint|valgrind]   (each implies build)
#   build: the compiler, CMake, and the libraries allot links: libpq-dev among them (the
#         store's PostgreSQL driver, src/store/db_pg.c, is always built; the PostgreSQL server
#         itself comes with test and bench, for the suites and benchmarks that start one)
#   dist: nodejs + npm and `npm ci` in web/, so that `make install` and `make deb` can install
#         the dashboard's one npm file (docs/dashboard.md)
#   run:  jq, with which the README's quickstart picks ids out of -o json, the container
#         runtime the agent drives (podman, runc, busybox-static: scripts/podman.sh), and
#         nodejs + npm, whose `npm ci` installs the dashboard's library into web/node_modules
#   test: clang + libFuzzer's runtime (libclang-rt-14-dev) for tests/integration/fuzz.sh, the
#         linters (clang-format, clang-tidy, cppcheck) for tests/integration/lint.sh,
#         podman, runc, busybox-static for tests/integration/runtime_podman.sh, prometheus
#         for its promtool (tests/integration/metrics.sh checks GET /metrics), systemd
#         (systemd-analyze verify) for tests/integration/packaging.sh, postgresql (whose
#         server tests/integration/pg_schema.sh, pg_store.sh and `make test-pg` start, a
#         throw-away cluster), chromium for the
#         dashboard's browser tests (tests/integration/browser_*.sh), and nodejs + npm: then
#         `npm ci` installs each npm directory's packages (the versions of its
#         package-lock.json) into its node_modules, again whenever the lock file is newer:
#         web (the dashboard's library), tests/openapi (@redocly/cli, ajv, ajv-formats, yaml:
#         the OpenAPI checks) and tests/browser (playwright-core, which drives chromium)
set -euo pipefail

what=${1:-build}
pkgs=(build-essential cmake ninja-build pkg-config libcmocka-dev libmicrohttpd-dev
      libjansson-dev libyaml-dev libsqlite3-dev libsodium-dev libcurl4-openssl-dev libpq-dev
      ca-certificates curl)
case "$what" in
run)   pkgs+=(jq podman runc busybox-static nodejs)
       command -v npm >/dev/null || pkgs+=(npm) ;;
test)  pkgs+=(sqlite3 procps jq clang libclang-rt-14-dev clang-format clang-tidy cppcheck prometheus
             postgresql podman runc busybox-static nodejs chromium)
       # Debian's npm, unless an npm came with the nodejs installed (NodeSource's bundles it,
       # and conflicts with Debian's)
       command -v npm >/dev/null || pkgs+=(npm) ;;
dist)  pkgs+=(nodejs)
       command -v npm >/dev/null || pkgs+=(npm) ;;
bench) pkgs+=(postgresql procps wrk) ;;
lint)  pkgs+=(clang-format clang-tidy cppcheck) ;;
valgrind) pkgs+=(valgrind) ;;
build) ;;
*) echo "deps.sh: unknown set '$what' (build, dist, run, test, bench, lint, valgrind)" >&2; exit 2 ;;
esac
# tests/integration/packaging.sh checks the units with systemd-analyze (no systemd is started).
[ "$what" = test ] && pkgs+=(systemd)

# The npm packages, after the Debian packages (nodejs, npm) are in: `npm ci` installs exactly
# each lock file's versions, when node_modules is missing or older than the lock. web/: the
# dashboard's one library (htm + Preact), which allot server serves; tests/openapi: the
# OpenAPI lint and answer checks; tests/browser: playwright-core, for the browser tests.
npm_dirs=()
case "$what" in
run | dist) npm_dirs=(web) ;;
test) npm_dirs=(web tests/openapi tests/browser) ;;
esac
npm_packages() {
    local root d dir
    root=$(cd "$(dirname "$0")/.." && pwd)
    for d in "${npm_dirs[@]}"; do
        dir=$root/$d
        [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ] && continue
        echo "deps.sh: npm ci in $d …" >&2
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
            { echo "deps.sh: npm ci in $dir failed" >&2; exit 1; }
        echo "deps.sh: installed $d/node_modules" >&2
    done
}

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
((${#missing[@]})) || { npm_packages; exit 0; }

sudo=
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
fi
# One line before each step, so that a minute of apt is not a minute of silence.
echo "deps.sh: Debian packages missing for '$what': ${missing[*]}${sudo:+ (installing with sudo)}" >&2
echo "deps.sh: [1/2] apt-get update (refreshing the package lists) …" >&2
$sudo apt-get update -qq
echo "deps.sh: [2/2] apt-get install ${missing[*]} (a minute or two on a fresh machine) …" >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps.sh: installed ${missing[*]}" >&2
npm_packages
