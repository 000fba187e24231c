#!/usr/bin/env bash
# http_hardening.sh — `allot server` against hostile HTTP over loopback, the bytes crafted with
# curl or, where curl cannot write them, bash's /dev/tcp:
#   - NUL bytes: encoded (%00) in a path segment or a query parameter, raw in the
#     request-target or a header value: 400, never the object before the NUL;
#   - authentication: one Authorization field, scheme in any case, the token's shape checked,
#     every 401 with WWW-Authenticate: Bearer, and a stranger's bad body answered 401, not 400;
#   - framing: one Content-Length, parsed strictly, an oversized body refused at once (413, no
#     "100 Continue"), Transfer-Encoding refused (411/400/501), each answer one response with
#     one status line; HEAD like GET without a body; 414 for long paths and targets;
#   - resource limits: one client address holding idle connections gets at most
#     --max-conns-per-ip of them, others are served meanwhile, and idle ones time out.
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT, curl, jq.
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
tmp=$(mktemp -d /tmp/allot_http.XXXXXX)
pid=
hog=() # fds of held connections

# shellcheck source=tests/integration/lib.sh
. "${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

cleanup() {
    release_hog
    reap -9 "$pid"
    rm_tmp
}
trap cleanup EXIT

port=$(free_port)
U=http://127.0.0.1:$port

start_api() { # start_api [EXTRA ARGS…]
    start_server "$U" "$tmp/server.log" --db "$tmp/db" --listen "127.0.0.1:$port" "$@"
}

# raw BYTES [SECONDS]: send BYTES (printf %b escapes: \r \n \0) on a fresh connection, read the
# answer until the server closes or SECONDS (default 3) pass; sets $code (first status),
# $body (from the first '{'), $nstatus (status lines in the answer) and $raw_ms.
raw() {
    local t0 fd
    t0=$(date +%s%N)
    exec {fd}<>"/dev/tcp/127.0.0.1/$port"
    # the server may answer and close before all is written: no SIGPIPE for this shell
    (trap '' PIPE && printf '%b' "$1" >&"$fd") 2>/dev/null
    timeout "${2:-3}" cat <&"$fd" >"$tmp/raw" 2>/dev/null
    exec {fd}<&-
    raw_ms=$((($(date +%s%N) - t0) / 1000000))
    code=$(head -c 64 "$tmp/raw" | tr -d '\r' | sed -n '1s/^HTTP\/1\.1 \([0-9]*\).*/\1/p')
    nstatus=$(grep -a -o 'HTTP/1\.[01] [0-9][0-9][0-9] ' "$tmp/raw" | wc -l)
    body=$(tr -d '\r' <"$tmp/raw" | grep -a '^{' | head -1)
}

# expect_one DESC STATUS [ERROR_CODE [FIELD]] — a raw answer: also exactly one status line
expect_one() {
    if [ "$nstatus" != 1 ]; then
        nok "$1 ($nstatus status lines; want 1) $(head -c 300 "$tmp/raw" | tr -d '\r' | tr '\n' '|')"
        return
    fi
    expect "$@"
}
has_header() { tr -d '\r' <"$tmp/hdr" | grep -qi "^$1"; }
# y or n: the last answer's headers, body, raw bytes hold a match
yn() { if "$@"; then echo y; else echo n; fi; }
hdr_has() { yn has_header "$1"; }
body_has() { yn grep -q "$1" <<<"$body"; }
raw_has() { yn grep -aq "$1" "$tmp/raw"; }

OP=$(operator_token "$tmp/db")
if ! start_api; then
    nok "server starts"
    exit 1
fi
ok "server starts"
call "$OP" POST /v1/orgs '{"name":"acme"}'
ACME=$(jq -r .id <<<"$body")
H="Host: x\r\nConnection: close\r\n"

# ---------------------------------------------------------------- 2. NUL bytes
call "$OP" GET /v1/orgs/acme
check "control: GET /v1/orgs/acme finds it" [ "$code" = 200 -a "$(jq -r .id <<<"$body")" = "$ACME" ]
call "$OP" GET /v1/orgs/acme%00zzz
expect "encoded NUL in a path segment → 400 path, not the org before it" 400 invalid_argument path
call "$OP" GET "/v1/events?limit=5%00"
expect "encoded NUL in a query value → 400 naming it" 400 invalid_argument limit
call "$OP" GET "/v1/requests?state%00x=new"
expect "encoded NUL in a query name → 400" 400 invalid_argument
call "$OP" GET "/v1/orgs/%9f%ff%85"
expect "bytes that are not UTF-8 in a path segment → a clean 404 (found by fuzz_call)" 404 not_found
call "$OP" GET "/v1/reservations?org=%9f%ff%85"
expect "bytes that are not UTF-8 in a query value → 400 naming it (PostgreSQL refuses them in a text parameter)" 400 invalid_argument org
call "$OP" GET "/v1/events?limit=1&limit=2"
expect "a query parameter given twice → 400 naming it" 400 invalid_argument limit
raw "GET /v1/orgs/acme\0zzz HTTP/1.1\r\n${H}Authorization: Bearer $OP\r\n\r\n"
expect_one "raw NUL in the request-target → 400" 400 invalid_argument
raw "GET /v1/orgs/acme HTTP/1.1\r\n${H}X-Note: a\0b\r\nAuthorization: Bearer $OP\r\n\r\n"
expect_one "raw NUL in a header value → 400" 400 invalid_argument
raw "GET /v1/orgs/acme HTTP/1.1\r\n${H}Authorization: Bearer $OP\r\n\r\n"
expect_one "control: the same request without the NUL → 200" 200
raw "GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $OP\r\n\r\nGET /v1/orgs/acme%00 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $OP\r\n\r\n"
check "two pipelined requests, the second with a NUL: 200 then 400 ($nstatus answers)" \
    [ "$nstatus" = 2 -a "$(raw_has '^HTTP/1.1 200')" = y -a "$(raw_has 'HTTP/1.1 400')" = y ]
raw "GET /v1/orgs/acme HTTP/1.1\nHost: x\nConnection: close\nAuthorization:\t Bearer $OP\n\n"
expect_one "bare LF line ends and a tab after the colon still parse → 200" 200
raw "GET /v1/orgs/acme HTTP/1.1\r\n${H}X-A: a\r\n folded\r\nAuthorization: Bearer $OP\r\n\r\n"
expect_one "an obsolete folded header line → 400 (RFC 9112 5.2)" 400 invalid_argument
raw "GET /v1/orgs/acme HTTP/1.1\r\n${H}Authorization : Bearer $OP\r\n\r\n"
expect_one "a space between field name and colon → 400 (RFC 9112 5.1)" 400 invalid_argument headers

# ---------------------------------------------------------------- 3. authentication
raw "GET /v1/me HTTP/1.1\r\n${H}Authorization: Bearer $OP\0junk\r\n\r\n"
expect_one "a valid token followed by a NUL and junk → 400, not the operator" 400 invalid_argument
call "" GET /v1/me "" -H "Authorization: Bearer $OP" -H "Authorization: Bearer $OP"
expect "two Authorization fields → 400 Authorization" 400 invalid_argument Authorization
check "… with WWW-Authenticate: Bearer error=\"invalid_request\"" has_header 'WWW-Authenticate: Bearer .*error="invalid_request"'
call "" GET /v1/me "" -H "Authorization: bearer $OP"
check "scheme 'bearer' (case-insensitive, RFC 9110 11.1) → 200" [ "$code" = 200 ]
call "" GET /v1/me "" -H "Authorization: BEARER   $OP  "
check "scheme 'BEARER', several spaces, trailing blanks → 200" [ "$code" = 200 ]
call "" GET /v1/me
expect "no token → 401" 401 unauthenticated
check "… with WWW-Authenticate: Bearer realm=\"allot\"" has_header 'WWW-Authenticate: Bearer realm="allot"'
call "al_nope" GET /v1/me
expect "a malformed token → 401" 401 unauthenticated
check "… with WWW-Authenticate: Bearer … error=\"invalid_token\"" has_header 'WWW-Authenticate: Bearer .*error="invalid_token"'
check "… refused for its shape, before any lookup" grep -q "malformed bearer token" <<<"$body"
call "${OP}x" GET /v1/me
check "the token with one more character → 401 malformed" [ "$code" = 401 -a "$(body_has malformed)" = y ]
call "${OP:0:45}B" GET /v1/me # 'B' leaves unused bits set in the last base64 character
check "a non-canonical last character → 401 malformed" [ "$code" = 401 -a "$(body_has malformed)" = y ]
call "al_$(printf 'A%.0s' {1..43})" GET /v1/me
check "a well-formed unknown token → 401 unknown token" [ "$code" = 401 -a "$(body_has 'unknown token')" = y ]
call "" GET /v1/me "" -H "Authorization: Basic dXNlcjpwYXNz"
expect "another scheme → 401" 401 unauthenticated
call "" POST /v1/orgs '{not json'
expect "a stranger's POST with bad JSON → 401, not 400 (authenticated first)" 401 unauthenticated
head -c 1100000 /dev/zero | tr '\0' ' ' >"$tmp/big"
code=$(curl -s -o "$tmp/resp" -w '%{http_code}' -X POST --data-binary @"$tmp/big" "$U/v1/orgs")
body=$(cat "$tmp/resp")
expect "a stranger's oversized body → 413 before anything else" 413 payload_too_large

# ---------------------------------------------------------------- 7. framing
raw "POST /v1/orgs HTTP/1.1\r\n${H}Authorization: Bearer $OP\r\nContent-Length: 2\r\nContent-Length: 14\r\n\r\n{}"
expect_one "two different Content-Length fields → 400 Content-Length" 400 invalid_argument Content-Length
raw "POST /v1/orgs HTTP/1.1\r\n${H}Authorization: Bearer $OP\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}"
expect_one "a repeated Content-Length field → 400" 400 invalid_argument Content-Length
raw "POST /v1/orgs HTTP/1.1\r\n${H}Authorization: Bearer $OP\r\nContent-Length: 104857600\r\nExpect: 100-continue\r\n\r\n"
expect_one "100 MB announced with Expect: 100-continue → 413, no 100 Continue" 413 payload_too_large
raw "POST /v1/orgs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $OP\r\nContent-Length: 104857600\r\n\r\n{" 5
expect_one "100 MB announced, body not sent → 413 at once" 413 payload_too_large
check "… within a second ($raw_ms ms), the body never read" [ "$raw_ms" -lt 1000 ]
raw "POST /v1/orgs HTTP/1.1\r\n${H}Authorization: Bearer $OP\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
expect_one "a chunked upload → 411 length_required" 411 length_required
raw "POST /v1/orgs HTTP/1.1\r\n${H}Authorization: Bearer $OP\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}"
expect_one "Transfer-Encoding with Content-Length → 400" 400 invalid_argument Transfer-Encoding
raw "POST /v1/orgs HTTP/1.1\r\n${H}Authorization: Bearer $OP\r\nTransfer-Encoding: gzip\r\n\r\n"
expect_one "an unknown Transfer-Encoding → 501" 501 unsupported
raw "GET /healthz HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n"
expect_one "Content-Length: 0 on a GET → 200" 200
# (with -I, curl writes the answer's head where the body would go)
code=$(curl -s -o "$tmp/resp" -w '%{http_code}' -I "$U/healthz")
check "HEAD /healthz → 200, the GET's Content-Length, no body" [ "$code" = 200 -a \
    "$(yn grep -qi '^Content-Length: 15' "$tmp/resp")" = y -a "$(yn grep -q '{' "$tmp/resp")" = n ]
code=$(curl -s -o "$tmp/resp" -w '%{http_code}' -I -H "Authorization: Bearer $OP" "$U/v1/orgs/acme")
check "HEAD on an authenticated GET route → 200, no body" [ "$code" = 200 -a \
    "$(yn grep -q '{' "$tmp/resp")" = n ]
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$U/v1/me")
check "HEAD without a token → 401" [ "$code" = 401 ]
raw "HEAD /v1/orgs/acme HTTP/1.1\r\n${H}Authorization: Bearer $OP\r\n\r\n"
check "… one response, no body on the wire" [ "$nstatus" = 1 -a -z "$body" ]
call "$OP" GET "/$(head -c 510 /dev/zero | tr '\0' a)"
expect "a path of 511 bytes → 404" 404 not_found
call "$OP" GET "/$(head -c 511 /dev/zero | tr '\0' a)"
expect "a path of 512 bytes → 414" 414 uri_too_long
call "$OP" GET "/v1/events?x=$(head -c 5000 /dev/zero | tr '\0' a)"
expect "a request-target over 4096 bytes → 414" 414 uri_too_long
hdrs=""
for i in $(seq 65); do hdrs+="X-H$i: v\r\n"; done
raw "GET /healthz HTTP/1.1\r\n${H}${hdrs}\r\n"
expect_one "65 header fields → 431" 431 headers_too_large
raw "GET /healthz HTTP/1.1\r\n${H}X-Big: $(head -c 40000 /dev/zero | tr '\0' a)\r\n\r\n"
check "a 40 kB header: libmicrohttpd's 431, one status line" [ "$code" = 431 -a "$nstatus" = 1 ]
raw "GET /$(head -c 40000 /dev/zero | tr '\0' a) HTTP/1.1\r\n${H}\r\n"
check "a 40 kB request line: libmicrohttpd's 414, one status line" [ "$code" = 414 -a "$nstatus" = 1 ]
check "the server still answers" curl -sf -o /dev/null "$U/healthz"

# ---------------------------------------------------------------- 8. resource limits
# hold N: open N idle connections from 127.0.0.1 (bash fds in $hog), once the server has
# let go of the connections the readiness probe made (they count for 127.0.0.1 until then)
hold() {
    local fd
    sleep 0.5
    for ((i = 0; i < $1; i++)); do
        exec {fd}<>"/dev/tcp/127.0.0.1/$port" || break
        hog+=("$fd")
    done
}
# held: how many of $hog the server keeps open (a closed one reads EOF at once)
held() {
    local fd n=0 x
    for fd in "${hog[@]}"; do
        read -r -t 0.05 -N 1 -u "$fd" x
        [ $? -gt 128 ] && n=$((n + 1))
    done
    echo "$n"
}
release_hog() {
    local fd
    for fd in "${hog[@]}"; do exec {fd}<&-; done
    hog=()
}
# other: /healthz from another loopback address within 3 s
other() { curl -s -m 3 --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "$U/healthz"; }

# the test opens up to ~150 descriptors
[ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 512 ] && ulimit -n 512 2>/dev/null
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 512 ]; then
    nok "open file limit $(ulimit -n) < 512: cannot hold the connections"
    exit 1
fi

"$ALLOT" server --db "$tmp/db" --max-conns-per-ip 0 >/dev/null 2>&1
rc0=$?
"$ALLOT" server --db "$tmp/db" --idle-timeout 1s >/dev/null 2>&1
rc1=$?
check "a bad limit flag is a usage error (exit 2: $rc0, $rc1)" [ "$rc0" = 2 -a "$rc1" = 2 ]
stop_server
start_api --threads 4 --max-conns-per-ip 8 --max-conns 64 --idle-timeout 2 || nok "server restarts"
hold 30
sleep 0.5
n=$(held)
check "one address holding 30 idle connections keeps 8 (--max-conns-per-ip 8), got $n" [ "$n" = 8 ]
check "another client is served meanwhile" [ "$(other)" = 200 ]
check "the holder's next connection is refused" bash -c "! curl -s -m 3 -o /dev/null '$U/healthz'"
sleep 3
n=$(held)
check "idle connections time out (--idle-timeout 2), $n left" [ "$n" = 0 ]
release_hog
check "the holder is served again" curl -s -m 3 -o /dev/null "$U/healthz"

stop_server
start_api || nok "server restarts with the defaults"
hold 140
sleep 0.5
n=$(held)
check "by default one address keeps 128 connections of 140, got $n" [ "$n" = 128 ]
check "another client is served meanwhile (defaults)" [ "$(other)" = 200 ]
release_hog
check "no 5xx and the server alive at the end" curl -sf -o /dev/null "$U/healthz"
