#!/usr/bin/env bash
# dashboard_http.sh — how `allot server` answers the dashboard's files (server/web.h), over
# real HTTP: the page and its scripts with their content types and the dashboard's headers (a
# strict Content-Security-Policy, nosniff, no framing, no referrer), ETag revalidation (304),
# HEAD; nothing outside the file set (dot dot, encoded or not, npm's files, package.json, a
# POST) and the API's paths still the API's; the web files themselves free of inline script
# and style, which the CSP would block; `--web off`, a missing directory, and a directory
# without its npm file. Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
tmp=$(mktemp -d /tmp/allot_dashboard_http.XXXXXX)
pid=
trap_stop_server -KILL
web=$AL_ROOT/web
CSP="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

must "web/node_modules holds the dashboard's library (scripts/deps.sh run|test: npm ci in web/)" \
    [ -f "$web/node_modules/htm/preact/standalone.module.js" ]
OP=$(operator_token "$tmp/db")
port=$(free_port)
U=http://127.0.0.1:$port
must "server starts with --web $web" start_server "$U" "$tmp/server.log" --db "$tmp/db" \
    --listen "127.0.0.1:$port" --web "$web"
check "the start-up line names the dashboard's URL" grep -q "dashboard at $U/" "$tmp/server.log"

# get PATH [CURL_ARGS…]: $code, the headers in $tmp/h, the body in $tmp/b
get() {
    local path=$1
    shift
    code=$(curl -s --path-as-is -D "$tmp/h" -o "$tmp/b" -w '%{http_code}' "$@" "$U$path")
}
hdr() { tr -d '\r' <"$tmp/h" | awk -v k="$(echo "$1" | tr 'A-Z' 'a-z')" \
    'index(tolower($0), k ": ") == 1 { print substr($0, length(k) + 3) }'; }

get /
check "GET / → 200, the page" [ "$code" = 200 ]
check "/ is text/html; charset=utf-8" [ "$(hdr Content-Type)" = "text/html; charset=utf-8" ]
check "/ carries the dashboard's Content-Security-Policy" [ "$(hdr Content-Security-Policy)" = "$CSP" ]
check "/ carries X-Content-Type-Options: nosniff" [ "$(hdr X-Content-Type-Options)" = nosniff ]
check "/ may not be framed (X-Frame-Options: DENY)" [ "$(hdr X-Frame-Options)" = DENY ]
check "/ sends no referrer" [ "$(hdr Referrer-Policy)" = no-referrer ]
check "/ is revalidated each time (Cache-Control: no-cache)" [ "$(hdr Cache-Control)" = no-cache ]
check "/ is web/index.html" cmp -s "$tmp/b" "$web/index.html"
etag=$(hdr ETag)
check "/ has a quoted ETag" grep -Eq '^"[0-9a-f]{16}"$' <<<"$etag"
get / -H "If-None-Match: $etag"
check "the same ETag back → 304, no body" [ "$code" = 304 ] && [ ! -s "$tmp/b" ]
get / -H 'If-None-Match: "0000000000000000"'
check "another ETag → 200" [ "$code" = 200 ]
get / -I
check "HEAD / → 200 with the length and no body" \
    [ "$code" = 200 ] && [ "$(hdr Content-Length)" = "$(wc -c <"$web/index.html")" ] && [ ! -s "$tmp/b" ]

for f in app.js lib/api.js lib/ui.js pages/index.js; do
    get "/$f"
    check "/$f → 200 text/javascript, web/$f as is" [ "$code" = 200 ] &&
        [ "$(hdr Content-Type)" = "text/javascript; charset=utf-8" ] && cmp -s "$tmp/b" "$web/$f"
done
get /app.css
check "/app.css → 200 text/css" [ "$code" = 200 ] && [ "$(hdr Content-Type)" = "text/css; charset=utf-8" ]
get /vendor/htm-preact.js
check "/vendor/htm-preact.js is npm's htm/preact/standalone.module.js" [ "$code" = 200 ] &&
    cmp -s "$tmp/b" "$web/node_modules/htm/preact/standalone.module.js"
get "/app.js?v=2"
check "a query string does not change the file" [ "$code" = 200 ] && cmp -s "$tmp/b" "$web/app.js"

for p in /package.json /package-lock.json /node_modules/htm/package.json \
    /node_modules/htm/preact/standalone.module.js /../README.md /%2e%2e/README.md \
    /lib/../app.js /lib/%2e%2e/app.js /index.html/ /lib /nope.js /.gitignore //app.js; do
    get "$p"
    check "GET $p → 404 (not a dashboard file)" [ "$code" = 404 ]
done
get / -X POST
check "POST / is not served the page (the API's 404)" [ "$code" = 404 ] && grep -q '"not_found"' "$tmp/b"
get /v1/me
check "the API's paths stay the API's: /v1/me without a token → 401" [ "$code" = 401 ]
get /v1/me -H "Authorization: Bearer $OP"
check "… and with the operator's token → 200 JSON" [ "$code" = 200 ] &&
    [ "$(hdr Content-Type)" = application/json ]
get /healthz
check "/healthz → 200" [ "$code" = 200 ]

# What the CSP forbids must not be in the files: it would be blocked in the browser.
inline=$(grep -rlE '<script(\s[^>]*)?>[^<]|<script>|<style|\sstyle="|\son[a-z]+=' \
    --include='*.html' "$web" --exclude-dir=node_modules)
check "web/*.html hold no inline script, style element or attribute, or on…= handler${inline:+: $inline}" \
    [ -z "$inline" ]
ext=$(grep -rhoE "(src|href)=\"https?://[^\"]*" --include='*.html' --include='*.js' "$web" \
    --exclude-dir=node_modules | head -3)
check "the files load nothing from another origin${ext:+: $ext}" [ -z "$ext" ]
evals=$(grep -rlE '\beval\(|new Function\(' --include='*.js' "$web" --exclude-dir=node_modules)
check "no eval or new Function in web/ (script-src has no 'unsafe-eval')${evals:+: $evals}" [ -z "$evals" ]
stop_server

port=$(free_port)
U=http://127.0.0.1:$port
must "server starts with --web off" start_server "$U" "$tmp/server.log" --db "$tmp/db" \
    --listen "127.0.0.1:$port" --web off
get /
check "--web off: GET / → 404" [ "$code" = 404 ]
stop_server

"$ALLOT" server --db "$tmp/db" --listen "127.0.0.1:$(free_port)" --web "$tmp/none" \
    >"$tmp/out" 2>&1
rc=$?
check "--web naming a missing directory: the server refuses to start (status $rc), naming it" \
    [ "$rc" -ne 0 ] && grep -q "$tmp/none" "$tmp/out"
mkdir -p "$tmp/bare"
cp "$web/index.html" "$tmp/bare/"
"$ALLOT" server --db "$tmp/db" --listen "127.0.0.1:$(free_port)" --web "$tmp/bare" \
    >"$tmp/out" 2>&1
rc=$?
check "--web without its npm file: refused (status $rc), saying deps.sh installs it" \
    [ "$rc" -ne 0 ] && grep -q "standalone.module.js" "$tmp/out" && grep -q "deps.sh" "$tmp/out"
