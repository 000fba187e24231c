#!/usr/bin/env bash
# deps.sh — install the Debian 12 packages allot needs to build, test and run.
# Idempotent: silent when everything is present; otherwise it says what it is about to do
# before each step (the package lists, then the packages, which can take a minute or two),
# and that it is done.
# Usage: scripts/deps.sh [build|run|test|bench|lint|valgrind]   (each implies build)
#   run:  jq, with which the README's quickstart picks ids out of -o json, and the container
#         runtime the agent drives (podman, runc, busybox-static: scripts/podman.sh)
#   test: clang + libFuzzer's runtime (libclang-rt-14-dev) for tests/integration/fuzz.sh, the
#         linters (clang-format, clang-tidy, cppcheck) for tests/integration/lint.sh,
#         podman, runc, busybox-static for tests/integration/runtime_podman.sh, prometheus
#         for its promtool (tests/integration/metrics.sh checks GET /metrics), systemd
#         (systemd-analyze verify) for tests/integration/packaging.sh, and nodejs +
#         npm for the OpenAPI checks: then `npm ci` installs tests/openapi's packages (the
#         versions of its package-lock.json: @redocly/cli, ajv, ajv-formats, yaml) into
#         tests/openapi/node_modules, again whenever the lock file is newer
set -euo pipefail

what=${1:-build}
pkgs=(build-essential cmake ninja-build pkg-config libcmocka-dev libmicrohttpd-dev
      libjansson-dev libyaml-dev libsqlite3-dev libsodium-dev libcurl4-openssl-dev libpq-dev
      ca-certificates curl)
case "$what" in
run)   pkgs+=(jq podman runc busybox-static) ;;
test)  pkgs+=(sqlite3 procps jq clang libclang-rt-14-dev clang-format clang-tidy cppcheck prometheus
             podman runc busybox-static nodejs)
       # Debian's npm, unless an npm came with the nodejs installed (NodeSource's bundles it,
       # and conflicts with Debian's)
       command -v npm >/dev/null || pkgs+=(npm) ;;
bench) pkgs+=(postgresql procps) ;;
lint)  pkgs+=(clang-format clang-tidy cppcheck) ;;
valgrind) pkgs+=(valgrind) ;;
build) ;;
*) echo "deps.sh: unknown set '$what' (build, run, test, bench, lint, valgrind)" >&2; exit 2 ;;
esac
# tests/integration/packaging.sh checks the units with systemd-analyze (no systemd is started).
[ "$what" = test ] && pkgs+=(systemd)

# tests/openapi's npm packages, after the Debian packages (nodejs, npm) are in: `npm ci`
# installs exactly the lock file's versions, when node_modules is missing or older than it.
npm_packages() {
    [ "$what" = test ] || return 0
    local dir
    dir=$(cd "$(dirname "$0")/.." && pwd)/tests/openapi
    [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ] && return 0
    echo "deps.sh: npm ci in tests/openapi (the OpenAPI lint and answer checks) …" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
        { echo "deps.sh: npm ci in $dir failed" >&2; exit 1; }
    echo "deps.sh: installed tests/openapi/node_modules" >&2
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
