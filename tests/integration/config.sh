#!/usr/bin/env bash
# config.sh — the configuration file of `allot server` and `allot agent` (src/cli/config.c,
# docs/operations.md): a server and an agent run from a file alone, the command line wins over
# it, every flag that `allot server --help` and `allot agent --help` list is settable and acts
# as the flag does, and each kind of bad file is refused with "PATH:LINE: what", exit 2,
# without printing a value. The default file (/etc/allot/allot.conf) is tried only by
# packaging.sh, inside a throwaway container: a test never writes to this host's /etc.
set -uo pipefail
ALLOT=${ALLOT:?set ALLOT to the allot binary}
AL_ROOT=${AL_ROOT:-$(pwd)}
tmp=$(mktemp -d)
pid=
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
trap_stop_server -TERM

# refused WHAT WANT_STDERR_REGEX COMMAND… : exit 2 and a message matching the regex
refused() {
    local what=$1 want=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -eq 2 ] && grep -qE -- "$want" "$tmp/err"; then
        ok "$what"
    else
        nok "$what (exit $rc, stderr: $(head -c 300 "$tmp/err"))"
    fi
}

# ------------------------------------------------------------ a server from the file alone
port=$(free_port)
port2=$(free_port)
U=http://127.0.0.1:$port
OP=$(operator_token "$tmp/db")
must "server init gives an operator token" test -n "$OP"
cat >"$tmp/allot.conf" <<EOF
# a comment, then a blank line

[server]
$(al_conf_db "$tmp/db")
listen   =   127.0.0.1:$port
threads=2
	idle-timeout = 30
; another kind of comment

[agent]
fleet = $AL_ROOT/tests/data/demo-fleet.json
server = $U
token-file = $tmp/token
once = true
observe = false
EOF
must "a server whose db and listen come from the file starts" \
    start_server "$U" "$tmp/server.log" --config "$tmp/allot.conf"
call "$OP" GET /v1/me
expect "it serves the file's database (the operator of server init is known)" 200
stop_server

# ------------------------------------------------------------ the command line wins
U2=http://127.0.0.1:$port2
must "with --listen on the command line, the server starts" \
    start_server "$U2" "$tmp/server.log" --config="$tmp/allot.conf" --listen "127.0.0.1:$port2"
check "the command line's --listen wins over the file's" \
    curl -fsS --max-time 5 -o /dev/null "$U2/healthz"
check "nothing listens at the file's address" \
    bash -c "! curl -fsS --max-time 2 -o /dev/null '$U/healthz' 2>/dev/null"

# ------------------------------------------------------------ an agent from the file alone
U=$U2
sed -i "s|^server = .*|server = $U2|" "$tmp/allot.conf"
printf '%s\n' "$OP" >"$tmp/token"
chmod 600 "$tmp/token"
"$ALLOT" agent --config "$tmp/allot.conf" >"$tmp/agent.out" 2>&1
rc=$?
check "an agent whose fleet, server, token-file and once come from the file reports (exit 0)" \
    test "$rc" -eq 0
call "$OP" GET /v1/nodes
n=$(jq '.items | length' <<<"$body" 2>/dev/null)
want=$(jq '.nodes | length' "$AL_ROOT/tests/data/demo-fleet.json")
check "the server knows the fleet file's $want nodes (got ${n:-none})" test "${n:-0}" = "$want"
check "the token read from token-file is never printed" \
    bash -c "! grep -qF -- '$OP' '$tmp/agent.out'"
"$ALLOT" agent --config "$tmp/allot.conf" --token nope >"$tmp/agent.out" 2>&1
check "--token on the command line wins over token-file (a bad one is refused: exit 1)" \
    test $? -eq 1
stop_server

# ------------------------------------------------------------ every flag is settable
# Each flag of --help, set in the file, acts as the same flag on the command line: the same
# exit status and the same message, with a flag no command knows at the end so that nothing
# serves or connects. A switch is set to true, a flag with a value to 0.
for cmd in server agent; do
    flags=$("$ALLOT" "$cmd" --help | sed -nE 's/^  --([a-z0-9-]+)( ([A-Z]))?.*/\1\3/p' |
        grep -v '^config')
    nflags=0 bad=()
    while read -r f; do
        [ -n "$f" ] || continue
        name=${f%[A-Z]} value=true
        [ "$name" != "$f" ] && value=0
        nflags=$((nflags + 1))
        printf '[%s]\n%s = %s\n' "$cmd" "$name" "$value" >"$tmp/one.conf"
        cli=("--$name")
        [ "$value" = true ] || cli+=("$value")
        "$ALLOT" "$cmd" --config "$tmp/one.conf" --no-such-flag x >"$tmp/a.out" 2>"$tmp/a.err"
        ra=$?
        "$ALLOT" "$cmd" --config none "${cli[@]}" --no-such-flag x >"$tmp/b.out" 2>"$tmp/b.err"
        rb=$?
        if [ "$ra" != "$rb" ] || ! cmp -s "$tmp/a.err" "$tmp/b.err"; then
            bad+=("$name (exit $ra vs $rb: $(head -c 120 "$tmp/a.err"))")
        fi
    done <<<"$flags"
    what="every one of the $nflags flags of allot $cmd --help is settable in [$cmd]"
    if [ "$nflags" -ge 5 ] && ((${#bad[@]} == 0)); then ok "$what"; else nok "$what: ${bad[*]}"; fi
done
check "allot server --help names --config" bash -c "'$ALLOT' server --help | grep -q -- '--config PATH|none'"
check "allot agent --help names --config and --token-file" \
    bash -c "'$ALLOT' agent --help | grep -q -- '--config PATH|none' && '$ALLOT' agent --help | grep -q -- '--token-file'"

# ------------------------------------------------------------ bad files, named by line
bad() { # bad WHAT REGEX TEXT : a file holding TEXT is refused, naming $tmp/bad.conf:LINE
    printf '%b' "$3" >"$tmp/bad.conf"
    refused "$1" "^$tmp/bad.conf:$2" "$ALLOT" server --config "$tmp/bad.conf" --no-such-flag x
}
# (--no-such-flag x after each: were a file taken, the command would stop there, not serve)
bad "an unknown key is refused, by line" "3: unknown key 'frobnicate' in \[server\]" \
    '[server]\ndb = x\nfrobnicate = 1\n'
bad "a key set twice is refused" "3: 'db' is set twice in \[server\] \(first at line 2\)" \
    '[server]\ndb = x\ndb = y\n'
bad "a key outside a section is refused" "1: 'db' is outside a section" 'db = x\n'
bad "an unknown section is refused" "2: unknown section \[srever\]" '\n[srever]\n'
bad "a key written with its -- is refused" "2: a key is a flag's name without its --" \
    '[server]\n--db = x\n'
bad "a line without = is refused" "2: expected 'key = value'" '[server]\ndb x\n'
bad "an empty value is refused" "2: 'db' has no value" '[server]\ndb =\n'
bad "a control character is refused" "2: a control character \(byte 0x1b\)" '[server]\ndb = a\033b\n'
bad "a NUL byte is refused" "2: a NUL byte" '[server]\ndb = a\000b\n'
bad "a header with text after it is refused" "1: a section header is" '[server] x\n'
bad "a bad key name is refused" "2: a key is a flag's name: a-z" '[server]\nDB = x\n'
printf '[agent]\nserver = x\n[agent]\nonce = yes\n' >"$tmp/bad.conf"
refused "a switch that is not true/false is refused" "^$tmp/bad.conf:4: 'once' is a switch" \
    "$ALLOT" agent --config "$tmp/bad.conf" --no-such-flag x
printf '[server]\ndb = %s\n' "$(head -c 5000 /dev/zero | tr '\0' x)" >"$tmp/bad.conf"
refused "a line over 4096 bytes is refused" "^$tmp/bad.conf:2: longer than 4096 bytes" \
    "$ALLOT" server --config "$tmp/bad.conf" --no-such-flag x
{ echo '[server]'; for _ in $(seq 1200); do echo "# $(head -c 60 /dev/zero | tr '\0' c)"; done; } >"$tmp/bad.conf"
refused "a file over 64 KiB is refused" "^$tmp/bad.conf: larger than 64 KiB" \
    "$ALLOT" server --config "$tmp/bad.conf" --no-such-flag x
refused "a missing --config file is refused" "^$tmp/none.conf: cannot read it: No such file" \
    "$ALLOT" server --config "$tmp/none.conf" --no-such-flag x
refused "a directory as --config is refused" "^$tmp: not a regular file" "$ALLOT" server --config "$tmp" --no-such-flag x
refused "--config without a value is refused" "--config needs a value" "$ALLOT" server --config
refused "--config twice is refused" "--config is given twice" "$ALLOT" agent --config none --config=none
printf '[server]\nfrobnicate = 1\n' >"$tmp/env.conf"
refused "ALLOT_CONFIG_FILE names the file when --config is not given" \
    "^$tmp/env.conf:2: unknown key 'frobnicate'" \
    env ALLOT_CONFIG_FILE="$tmp/env.conf" "$ALLOT" server --no-such-flag x
refused "--config wins over ALLOT_CONFIG_FILE" "unknown option|no-such-flag" \
    env ALLOT_CONFIG_FILE="$tmp/env.conf" "$ALLOT" agent --config none --no-such-flag x
refused "a missing ALLOT_CONFIG_FILE is refused" "^$tmp/nope.conf: cannot read it" \
    env ALLOT_CONFIG_FILE="$tmp/nope.conf" "$ALLOT" agent --no-such-flag x
printf '[agent]\ntoken = sekrit-value-42\nserver = http://x\nbogus = sekrit-value-43\n' >"$tmp/bad.conf"
refused "an unknown agent key is refused, by line" "^$tmp/bad.conf:4: unknown key 'bogus' in \[agent\]" \
    "$ALLOT" agent --config "$tmp/bad.conf" --no-such-flag x
check "no value of the file is printed with an error" bash -c "! grep -q sekrit '$tmp/err'"
printf '[server]\n' >"$tmp/bad.conf"
refused "an agent flag in [server] is not the server's" "^$tmp/bad.conf:2: unknown key 'fleet'" \
    bash -c "printf 'fleet = x\n' >>'$tmp/bad.conf'; '$ALLOT' server --config '$tmp/bad.conf' --no-such-flag x"
# The other command's section is checked for its form only, but a server's conf with an
# [agent] section (the packaged example holds both) does not stop the server.
printf '[server]\nthreads = 0\n[agent]\nfleet = x\n' >"$tmp/two.conf"
refused "a bad value in the file is the flag's own error (server: threads 0)" "bad number '0'" \
    "$ALLOT" server --config "$tmp/two.conf"
"$ALLOT" server init --db "$tmp/db2" --name op >/dev/null 2>&1
check "server init takes its own flags, the file is not read for it" \
    test "$(sqlite3 "$tmp/db2" "SELECT count(*) FROM users WHERE name = 'op'" 2>/dev/null)" = 1
