#!/usr/bin/env bash
# disk_full.sh — the server on a really full file system: its database on a small tmpfs that a
# filler file fills until write() fails with ENOSPC. Over loopback:
#   - while the disk is full, every write call answers 507 storage_full (all the calls of a
#     batch fired at once too: none answers 201), reads answer 200, and nothing of the failed
#     calls is anywhere: not in the database, not in the events, not in the in-memory calendar
#     (a quote whose holds were lost leaves its GPU free);
#   - once the filler is removed, writes succeed again without a restart;
#   - kill -9 and a restart: every call answered 201 is there with its event, none answered 507,
#     and SQLite's integrity check passes;
#   - a server stopped and started again while the disk is full serves reads and answers 507.
# A failed fdatasync (ENOSPC reported at write-back, as NFS or a thin volume can) cannot be had
# from tmpfs, whose fsync never fails: store_faults.sh checks that path by fault injection.
#
# The small file system is a tmpfs mounted in a private mount namespace, so that no mount
# outlives the test: `unshare --mount` (root), else `unshare --user --map-root-user --mount`
# (unprivileged user namespaces); the script runs itself again inside. Where neither is allowed
# it says why and checks nothing (no "ok" line: a skip is not a pass).
# Prints "ok - …" / "not ok - …" per check. Needs $ALLOT (a debug or release build), curl, jq,
# sqlite3, unshare and mount (util-linux).
set -u
ALLOT=${ALLOT:?set ALLOT to the allot binary}
SIZE=8m

# ---------------------------------------------------------------- a namespace with a tmpfs
if [ -z "${AL_DISK_FULL_NS-}" ]; then
    # shellcheck disable=SC2016 # expanded by the probe's own shell
    probe='d=$(mktemp -d) || exit 1; mount -t tmpfs -o size=1m tmpfs "$d" && umount "$d"; r=$?
        rmdir "$d"; exit $r'
    why=
    for how in "--mount" "--user --map-root-user --mount"; do
        # shellcheck disable=SC2086 # $how is a list of options
        if err=$(timeout 20 unshare $how sh -c "$probe" 2>&1); then
            # shellcheck disable=SC2086
            AL_DISK_FULL_NS=$how exec unshare $how bash "$0" "$@"
        fi
        why+="${why:+; }unshare $how: ${err:-failed}"
    done
    echo "# SKIP disk_full: nothing checked: no small file system can be mounted here."
    echo "# It needs root (CAP_SYS_ADMIN) or unprivileged user namespaces, and util-linux."
    echo "# ${why//$'\n'/ }"
    exit 0
fi

tmp=$(mktemp -d /tmp/allot_full.XXXXXX)
mnt=$tmp/mnt
pid=

# shellcheck source=tests/integration/lib.sh
. "${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

cleanup() {
    reap -9 "$pid"
    if mountpoint -q "$mnt" 2>/dev/null; then umount "$mnt" 2>/dev/null || umount -l "$mnt"; fi
    rm_tmp
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir "$mnt"
if ! mount -t tmpfs -o "size=$SIZE,mode=0700" tmpfs "$mnt" 2>"$tmp/mount.err"; then
    nok "mount a $SIZE tmpfs ($AL_DISK_FULL_NS): $(cat "$tmp/mount.err")"
    exit 1
fi
ok "a $SIZE tmpfs for the database (unshare $AL_DISK_FULL_NS)"

port=$(free_port)
U=http://127.0.0.1:$port
T0=$(date +%s)
S1=$(ts $((T0 + 86400))) E1=$(ts $((T0 + 2 * 86400)))

OP=$(operator_token "$mnt/db" "$tmp/init.err")
[ -n "$OP" ] || { nok "server init: $(cat "$tmp/init.err")"; exit 1; }

start_api() { # its log in server.log, outside the small file system
    start_server "$U" "$tmp/server.log" --db "$mnt/db" --listen "127.0.0.1:$port"
}

# call METHOD PATH [BODY]: sets $code and $body (operator token); replaces lib.sh's call
# (this suite's calls are all the operator's, and give up after 20 s on a stuck server)
call() {
    local args=(-s -m 20 -o "$tmp/resp" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $OP")
    [ -n "${3-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    code=$(curl "${args[@]}" "$U$2")
    body=$(cat "$tmp/resp" 2>/dev/null)
}
# post_orgs PREFIX N: N org creations at once (they share batches); answers in $tmp/PREFIX-i.*
post_orgs() {
    local jobs=()
    for i in $(seq "$2"); do
        curl -s -m 20 -o "$tmp/$1-$i.body" -w '%{http_code}' -X POST \
            -H "Authorization: Bearer $OP" -H 'Content-Type: application/json' \
            --data-binary "{\"name\":\"$1-$i\"}" "$U/v1/orgs" >"$tmp/$1-$i.code" 2>/dev/null &
        jobs+=($!)
    done
    { wait "${jobs[@]}"; } 2>/dev/null
}

# answered PREFIX N: "CODE:ERROR_CODE" of each call, sorted and counted ("8 507:storage_full")
answered() {
    for i in $(seq "$2"); do
        echo "$(cat "$tmp/$1-$i.code"):$(jq -r '.error.code // "-"' "$tmp/$1-$i.body" 2>/dev/null)"
    done | sort | uniq -c | sed 's/^ *//'
}

# orgs_named PREFIX: how many orgs, and how many org.created events, have names PREFIX-*
orgs_named() {
    local orgs events
    call GET "/v1/orgs?limit=500"
    orgs=$(jq --arg p "$1-" '[.items[] | select(.name | startswith($p))] | length' <<<"$body")
    call GET "/v1/events?limit=500"
    events=$(jq --arg p "$1-" '[.items[] | select(.kind == "org.created"
        and (.data.name | startswith($p)))] | length' <<<"$body")
    echo "$orgs $events"
}

# free_blocks: blocks still free on the small file system
free_blocks() { stat -f -c %a "$mnt"; }

# fill [NAME]: a filler file takes every free block
fill() {
    dd if=/dev/zero of="$mnt/${1:-filler}" bs=64k 2>"$tmp/dd.err"
    grep -q "No space left on device" "$tmp/dd.err" && [ "$(free_blocks)" = 0 ]
}

# A read that saw a write batch whose commit then failed (the clock's own, which runs each
# second and fails while the disk is full) answers 507 with it (docs/api.md, "Durability");
# the same read after that batch answers as usual.
read_again() {
    call GET "$1"
    [ "$code" = 507 ] && sleep 1.2 && call GET "$1"
}

# ---------------------------------------------------------------- before: a GPU, two requests
if start_api; then ok "server starts on the small file system"; else
    nok "server starts on the small file system: $(tail -5 "$tmp/server.log")"
    exit 1
fi
call POST /v1/orgs '{"name":"acme"}'
expect "before: an org is created" 201
post_orgs before 4
call PUT /v1/nodes/n1 '{"zone":"z1","gpus":[{"index":0,"uuid":"GPU-n1-0","model":"L40S"}]}'
expect "before: a node with one L40S registers" 200
call PUT /v1/prices/L40S '{"gpu_hour_micros":2000000}'
expect "before: a price is set" 200
ask="{\"org\":\"acme\",\"kind\":\"gpu\",\"count\":1,\"model\":\"L40S\",\"start\":\"$S1\",\"end\":\"$E1\"}"
call POST /v1/requests "$ask"
R1=$(j .id)
expect "before: the first request ($R1)" 201
call POST /v1/requests "$ask"
R2=$(j .id)
expect "before: two requests for the one GPU" 201

# ---------------------------------------------------------------- the disk fills up
if fill; then ok "the filler takes every block (dd: $(tail -1 "$tmp/dd.err"))"; else
    nok "the filler takes every block ($(free_blocks) free; $(cat "$tmp/dd.err"))"
    exit 1
fi

post_orgs full 8
a=$(answered full 8)
check "full: 8 org creations at once all answer 507 storage_full (${a//$'\n'/, })" \
    [ "$a" = "8 507:storage_full" ]
check "full: the message says the disk is full and nothing was saved" \
    grep -q "disk is full.*nothing of this call was saved" "$tmp/full-1.body"
call POST /v1/requests "$ask"
expect "full: a request answers 507" 507 storage_full
call POST "/v1/requests/$R1/quote" '{}'
expect "full: a quote (holds on the GPU) answers 507" 507 storage_full
call PUT /v1/prices/L40S '{"gpu_hour_micros":1}'
expect "full: a price change answers 507" 507 storage_full

call GET /healthz
expect "full: healthz answers 200" 200
read_again /v1/orgs/acme
expect "full: an org reads 200" 200
read -r orgs events <<<"$(orgs_named full)"
check "full: none of the 8 orgs exists, nor its event ($orgs orgs, $events events)" \
    [ "$orgs $events" = "0 0" ]
read -r orgs events <<<"$(orgs_named before)"
check "full: the 4 orgs from before are there with their events ($orgs, $events)" \
    [ "$orgs $events" = "4 4" ]
read_again "/v1/requests/$R1"
check "full: the request whose quote failed is still submitted ($code $(j .state) $(head -c 200 <<<"$body"))" \
    [ "$code $(j .state)" = "200 submitted" ]
read_again "/v1/availability?model=L40S&start=$S1&end=$E1"
check "full: the in-memory calendar holds nothing of the lost quote ($(j .whole_gpus_free) free)" \
    [ "$code $(j .whole_gpus_free)" = "200 1" ]
call GET /v1/prices
check "full: the price is unchanged ($(j '.items[0].gpu_hour_micros'))" \
    [ "$(j '.items[0].gpu_hour_micros')" = 2000000 ]
check "full: the server runs on, and logged the full disk" \
    bash -c "kill -0 $pid && grep -q 'the disk is full' '$tmp/server.log'"

# ---------------------------------------------------------------- space again
rm -f "$mnt/filler"
post_orgs after 4
a=$(answered after 4)
check "space again: 4 org creations answer 201 without a restart (${a//$'\n'/, })" \
    [ "$a" = "4 201:-" ]
call POST "/v1/requests/$R2/quote" '{}'
expect "space again: the other request quotes the GPU (the lost holds are gone)" 200
call POST "/v1/requests/$R1/quote" '{}'
expect "space again: the first request finds the GPU held now" 409 no_capacity
call PUT /v1/prices/L40S '{"gpu_hour_micros":3000000}'
expect "space again: a price change is saved" 200

# ---------------------------------------------------------------- kill -9, restart
kill -9 "$pid"
{ wait "$pid"; } 2>/dev/null # (bash's own "Killed" notice is no finding)
pid=
integrity=$(sqlite3 "$mnt/db" "PRAGMA integrity_check" 2>&1)
check "kill -9: the database passes SQLite's integrity check ($integrity)" [ "$integrity" = ok ]
lost=$(sqlite3 "$mnt/db" "SELECT (SELECT count(*) FROM orgs WHERE name LIKE 'full-%')
    + (SELECT count(*) FROM events WHERE data LIKE '%full-%')" 2>&1)
check "kill -9: the database holds no row of a call answered 507 ($lost)" [ "$lost" = 0 ]
if start_api; then ok "kill -9: the server restarts"; else
    nok "kill -9: the server restarts: $(tail -5 "$tmp/server.log")"
    exit 1
fi
read -r orgs events <<<"$(orgs_named after)"
check "restart: the 4 orgs answered 201 after the full disk are there, with events ($orgs, $events)" \
    [ "$orgs $events" = "4 4" ]
read -r orgs events <<<"$(orgs_named before)"
check "restart: the 4 orgs from before too ($orgs, $events)" [ "$orgs $events" = "4 4" ]
read -r orgs events <<<"$(orgs_named full)"
check "restart: none answered 507 ($orgs, $events)" [ "$orgs $events" = "0 0" ]
call GET "/v1/requests/$R2"
s2=$(j .state)
call GET "/v1/requests/$R1"
check "restart: the quoted request is quoted, the other submitted ($s2, $(j .state))" \
    [ "$s2 $(j .state)" = "quoted submitted" ]
call GET /v1/prices
check "restart: the last price saved is the price ($(j '.items[0].gpu_hour_micros'))" \
    [ "$(j '.items[0].gpu_hour_micros')" = 3000000 ]

# ---------------------------------------------------------------- stop and start while full
if fill; then ok "full again"; else nok "full again ($(free_blocks) free)"; fi
stop_server
rc=$?
check "full: a stop (SIGTERM) while the disk is full exits 0 (exit $rc)" [ "$rc" = 0 ]
if start_api; then ok "full: the server starts while the disk is full"; else
    nok "full: the server starts while the disk is full: $(tail -5 "$tmp/server.log")"
    exit 1
fi
read -r orgs events <<<"$(orgs_named after)"
check "full, restarted: reads answer ($orgs orgs, $events events)" [ "$orgs $events" = "4 4" ]
# what the stop may have freed (a write-ahead log checkpointed and removed) is taken too
if fill filler2; then ok "full, restarted: still no free block"; else
    nok "full, restarted: still no free block ($(free_blocks) free)"
fi
call POST /v1/orgs '{"name":"full-again"}'
expect "full, restarted: a write answers 507" 507 storage_full
rm -f "$mnt/filler" "$mnt/filler2"
call POST /v1/orgs '{"name":"last"}'
expect "full, restarted: with space again a write answers 201" 201
stop_server
rc=$?
check "the server stops cleanly (exit $rc)" [ "$rc" = 0 ]
