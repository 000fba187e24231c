#!/usr/bin/env bash
# openapi.sh — docs/openapi.yaml is a valid OpenAPI 3.1 description: @redocly/cli lint (its
# recommended rules; the version pinned in tests/openapi/package-lock.json, installed by
# scripts/deps.sh test), and it describes every route of the server's route tables
# (src/server/routes_*.c), no more, no fewer. The answers themselves are checked against it
# after every suite (tests/openapi/run-suite.sh).
set -uo pipefail
root=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$root/tests/integration/lib.sh"
spec=$root/docs/openapi.yaml
redocly=$root/tests/openapi/node_modules/.bin/redocly
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$redocly" ]; then
    nok "redocly lint: $redocly missing (scripts/deps.sh test runs npm ci in tests/openapi)"
    exit 1
fi
# no update check, no telemetry: the test needs no network
export REDOCLY_SUPPRESS_UPDATE_NOTICE=true REDOCLY_TELEMETRY=off
if "$redocly" lint --config "$root/tests/openapi/redocly.yaml" --format=stylish "$spec" \
    >"$tmp/lint" 2>&1 &&
    ! grep -q ' warning ' "$tmp/lint"; then
    ok "redocly lint docs/openapi.yaml: valid, no warnings"
else
    nok "redocly lint docs/openapi.yaml"
    sed 's/^/#   /' "$tmp/lint" | tail -40
fi

# Every route of the route tables, as "METHOD /pattern", against the spec's operations (path
# templates as the router's '*' segments).
grep -ho '{"\(GET\|POST\|PUT\|DELETE\)", "/[^"]*"' "$root"/src/server/routes_*.c |
    sed 's/{"\([A-Z]*\)", "\([^"]*\)"/\1 \2/' | sort -u >"$tmp/routes"
node -e '
const YAML = require(process.argv[1] + "/tests/openapi/node_modules/yaml");
const spec = YAML.parse(require("fs").readFileSync(process.argv[2], "utf8"));
for (const [p, ops] of Object.entries(spec.paths))
    for (const m of Object.keys(ops))
        if (["get", "put", "post", "delete", "patch"].includes(m))
            console.log(m.toUpperCase() + " " + p.replace(/\{[^}]+\}/g, "*"));
' "$root" "$spec" | sort -u >"$tmp/spec"
missing=$(comm -23 "$tmp/routes" "$tmp/spec" | paste -sd,)
check "every route of src/server/routes_*.c is in the spec${missing:+ (missing: $missing)}" \
    [ -z "$missing" ]
extra=$(comm -13 "$tmp/routes" "$tmp/spec" | paste -sd,)
check "every operation of the spec is a route${extra:+ (not routes: $extra)}" [ -z "$extra" ]

# The checker itself fails what it must: an undeclared status, a body against its schema, an
# undeclared content type, an unknown route — and passes a good answer.
mkdir -p "$tmp/bad" "$tmp/good"
cat >"$tmp/bad/answers-1.jsonl" <<'JSONL'
{"method":"GET","route":"/healthz","path":"/healthz","status":418,"content_type":"application/json","body":"{\"status\":\"ok\"}","body_utf8":true}
{"method":"GET","route":"/v1/me","path":"/v1/me","status":200,"content_type":"application/json","body":"{\"user\":{\"id\":\"usr_1\"}}","body_utf8":true}
{"method":"GET","route":"/v1/invoices/*/csv","path":"/v1/invoices/1/csv","status":200,"content_type":"application/json","body":"{}","body_utf8":true}
{"method":"GET","route":"/v1/nowhere","path":"/v1/nowhere","status":200,"content_type":"application/json","body":"{}","body_utf8":true}
{"method":"POST","route":"/v1/orgs","path":"/v1/orgs","status":400,"content_type":"application/json","body":"{\"error\":{\"code\":\"bad\",\"message\":\"m\",\"details\":{}}}","body_utf8":true}
JSONL
cat >"$tmp/good/answers-1.jsonl" <<'JSONL'
{"method":"HEAD","route":"/healthz","path":"/healthz","status":200,"content_type":"application/json","body":"{\"status\":\"ok\"}","body_utf8":true}
{"method":"GET","route":null,"path":"/nope","status":404,"content_type":"application/json","body":"{\"error\":{\"code\":\"not_found\",\"message\":\"no such path\",\"details\":{}}}","body_utf8":true}
JSONL
node "$root/tests/openapi/check-answers.mjs" "$spec" "$tmp/bad" bad >"$tmp/bad.out" 2>&1
brc=$?
check "the checker fails a bad recording (exit $brc)" [ "$brc" -eq 1 ]
for want in "GET /healthz 418: status 418 is not declared" "GET /v1/me 200: /user must have required property" \
    "content type application/json is not declared" "route /v1/nowhere is not in the spec" \
    "POST /v1/orgs 400: /error/code must be equal to one of the allowed values"; do
    check "the checker says: $want" grep -qF "$want" "$tmp/bad.out"
done
node "$root/tests/openapi/check-answers.mjs" "$spec" "$tmp/good" good >"$tmp/good.out" 2>&1
check "the checker passes good answers (HEAD as GET, an unrouted 404)" \
    [ "$?" -eq 0 -a "$(grep -c '^ok - ' "$tmp/good.out")" -eq 2 ]

# The debug server's tap records each answer as one line, routed or not.
if [ -x "${ALLOT-}" ]; then
    port=$(free_port)
    U=http://127.0.0.1:$port
    mkdir -p "$tmp/tap"
    "$ALLOT" server init --db "$tmp/db" --name root >/dev/null 2>&1
    if ALLOT_ANSWER_TAP=$tmp/tap start_server "$U" "$tmp/server.log" --db "$tmp/db" \
        --listen "127.0.0.1:$port"; then
        curl -s -o /dev/null "$U/nope"
        stop_server
        lines=$(cat "$tmp"/tap/answers-*.jsonl 2>/dev/null)
        check "the tap recorded /healthz and an unrouted 404 (debug build)" \
            [ "$(jq -rs 'map("\(.route) \(.status)") | unique | join(",")' <<<"$lines")" = "/healthz 200,null 404" ]
    else
        nok "a debug server starts with ALLOT_ANSWER_TAP"
    fi
    reap "$pid"
fi
