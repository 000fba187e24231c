#!/usr/bin/env bash
# packaging.sh — the Debian package and the systemd units (scripts/deb.sh, packaging/,
# docs/operations.md): builds the .deb (release build), checks it with dpkg-deb (control,
# dependencies, contents, conffiles, maintainer scripts, owners), runs `systemd-analyze verify`
# on the units it ships, and checks `make install`'s staged tree. Inside a throwaway container
# (/run/.containerenv exists, as in fresh-debian) it also installs the package for real with
# apt and starts the server as its unit would — with systemctl when systemd is PID 1, else
# `runuser -u allot -- <the unit's ExecStart>` — then purges it. Anywhere else that part says
# "skip - …": this suite never installs a package on the machine it runs on.
set -uo pipefail
AL_ROOT=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
ALLOT=${ALLOT:-}
tmp=$(mktemp -d)
pid=
# shellcheck source=tests/integration/lib.sh
. "$AL_ROOT/tests/integration/lib.sh"
cd "$AL_ROOT" || exit 1
installed=
cleanup() {
    reap "$pid"
    if [ -n "$installed" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq allot >/dev/null 2>&1
        rm -rf /var/lib/allot
    fi
    rm_tmp
}
trap cleanup EXIT

# ------------------------------------------------------------ the package
deb=$(scripts/deb.sh "$tmp/out" 2>"$tmp/deb.log")
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
    nok "scripts/deb.sh builds a package"
    show_log "$tmp/deb.log"
    exit 1
fi
version=$(build/release/allot --version | cut -d' ' -f2)
arch=$(dpkg --print-architecture)
check "scripts/deb.sh builds allot_${version}_${arch}.deb" test "$(basename "$deb")" = "allot_${version}_${arch}.deb"

dpkg-deb --field "$deb" >"$tmp/control"
field() { sed -n "s/^$1: //p" "$tmp/control"; }
check "control: Package allot, the binary's version, this architecture" \
    test "$(field Package) $(field Version) $(field Architecture)" = "allot $version $arch"
deps=$(field Depends)
missing=()
for lib in libc6 libmicrohttpd12 libjansson4 libsqlite3-0 libsodium23 libcurl4 libyaml-0-2 passwd; do
    grep -qE "(^|, )$lib( |,|$)" <<<"$deps" || missing+=("$lib")
done
if ((${#missing[@]} == 0)); then ok "Depends names the runtime libraries (and passwd, for useradd)"; else
    nok "Depends names the runtime libraries: missing ${missing[*]} in '$deps'"; fi
check "Depends carries minimum versions (dpkg-shlibdeps)" grep -qE 'libc6 \(>= [0-9.]+\)' <<<"$deps"

dpkg-deb --contents "$deb" >"$tmp/contents"
missing=()
for f in ./usr/bin/allot ./usr/lib/systemd/system/allot-server.service \
    ./usr/lib/systemd/system/allot-agent.service ./etc/allot/allot.conf \
    ./usr/share/doc/allot/operations.md ./usr/share/doc/allot/README.md \
    ./usr/share/doc/allot/examples/allot.conf; do
    grep -q " $f\$" "$tmp/contents" || missing+=("$f")
done
if ((${#missing[@]} == 0)); then ok "contents: the binary, both units, the conf, the docs"; else
    nok "contents: missing ${missing[*]}"; fi
owners_root() { ! awk '{print $2}' "$tmp/contents" | grep -v '^root/root$'; }
check "every file belongs to root:root" owners_root
paths_ok() { ! awk '{print $6}' "$tmp/contents" | grep -vE '^\./($|usr/|etc/$|etc/allot/)'; }
check "nothing outside /usr and /etc/allot (no build paths, no /usr/local)" paths_ok

mkdir -p "$tmp/ctrl" "$tmp/root"
dpkg-deb --control "$deb" "$tmp/ctrl"
dpkg-deb -x "$deb" "$tmp/root"
check "conffiles: /etc/allot/allot.conf, alone" test "$(cat "$tmp/ctrl/conffiles")" = /etc/allot/allot.conf
scripts_ok() {
    for s in postinst prerm postrm; do
        test -x "$tmp/ctrl/$s" && sh -n "$tmp/ctrl/$s" || return 1
    done
}
check "postinst, prerm, postrm are executable shell scripts that parse" scripts_ok
check "postinst creates the system user allot and its state directory" \
    grep -q 'useradd --system.*allot' "$tmp/ctrl/postinst"
sums_ok() {
    (cd "$tmp/root" && md5sum --quiet -c "$tmp/ctrl/md5sums") &&
        test "$(find "$tmp/root" -type f | wc -l)" -eq "$(wc -l <"$tmp/ctrl/md5sums")"
}
check "md5sums covers every file of the package" sums_ok
check "the packaged binary runs and says its version" \
    test "$("$tmp/root/usr/bin/allot" --version)" = "allot $version"
check "the packaged binary is stripped (no symbol table)" \
    bash -c "! readelf -S '$tmp/root/usr/bin/allot' | grep -q '\.symtab'"
conf_ok() {
    "$tmp/root/usr/bin/allot" server --config "$tmp/root/etc/allot/allot.conf" --threads 0 \
        >"$tmp/conf.out" 2>&1
    cmp -s "$tmp/root/etc/allot/allot.conf" packaging/allot.conf &&
        grep -q "bad number '0'" "$tmp/conf.out"
}
check "the packaged conf is the example, and a server reads it" conf_ok
"$tmp/root/usr/bin/allot" agent --config "$tmp/root/etc/allot/allot.conf" --driver sim --once \
    >/dev/null 2>"$tmp/agent.err"
check "the packaged conf's [agent] section is valid for the agent" \
    grep -q 'needs one of --fleet FILE, --state FILE' "$tmp/agent.err"

# ------------------------------------------------------------ the units
units=$tmp/root/usr/lib/systemd/system
for u in allot-server allot-agent; do
    f=$units/$u.service
    check "$u: ExecStart is /usr/bin/allot ${u#allot-} --config /etc/allot/allot.conf" \
        grep -qx "ExecStart=/usr/bin/allot ${u#allot-} --config /etc/allot/allot.conf" "$f"
    miss=()
    for k in User=allot Group=allot StateDirectory=allot NoNewPrivileges=yes \
        ProtectSystem=strict ProtectHome=yes PrivateTmp=yes RestrictSUIDSGID=yes \
        'WantedBy=multi-user.target'; do
        grep -qx "$k" "$f" || miss+=("$k")
    done
    if ((${#miss[@]} == 0)); then ok "$u: a dedicated user, StateDirectory, hardened"; else
        nok "$u: missing ${miss[*]}"; fi
done
check "allot-server: no capabilities, no devices" \
    bash -c "grep -qx 'CapabilityBoundingSet=' '$units/allot-server.service' && grep -qx 'PrivateDevices=yes' '$units/allot-server.service'"
if command -v systemd-analyze >/dev/null; then
    # verify wants ExecStart's binary to exist: the copies point at the extracted one. Any
    # line it prints (an unknown key is only a warning) fails the check.
    mkdir -p "$tmp/units"
    for u in allot-server allot-agent; do
        sed "s|^ExecStart=/usr/bin/allot|ExecStart=$tmp/root/usr/bin/allot|" \
            "$units/$u.service" >"$tmp/units/$u.service"
    done
    systemd-analyze verify --man=no "$tmp/units/allot-server.service" \
        "$tmp/units/allot-agent.service" >"$tmp/verify.log" 2>&1
    rc=$?
    what="systemd-analyze verify passes on both units, without a warning"
    if [ "$rc" -eq 0 ] && [ ! -s "$tmp/verify.log" ]; then ok "$what"; else
        nok "$what (exit $rc)"
        show_log "$tmp/verify.log"
    fi
else
    echo "skip - systemd-analyze verify on the units: systemd-analyze is not installed (scripts/deps.sh test installs systemd)"
fi

# ------------------------------------------------------------ make install's tree
DESTDIR=$tmp/inst cmake --install build/release --prefix /usr/local >/dev/null 2>"$tmp/inst.log"
check "make install (PREFIX=/usr/local): units point at /usr/local/bin/allot" \
    grep -qx 'ExecStart=/usr/local/bin/allot server --config /etc/allot/allot.conf' \
    "$tmp/inst/usr/local/lib/systemd/system/allot-server.service"
inst_ok() {
    local d=$tmp/inst/usr/local
    test -x "$d/bin/allot" && test -f "$d/share/doc/allot/examples/allot.conf" &&
        test -f "$d/share/doc/allot/operations.md" && test ! -e "$tmp/inst/etc"
}
check "make install: binary, example conf and docs, nothing in /etc" inst_ok
web_ok() {
    local w=$tmp/inst/usr/local/share/allot/web
    test -f "$w/index.html" && test -f "$w/app.js" && test -f "$w/pages/index.js" &&
        cmp -s "$w/vendor/htm-preact.js" web/node_modules/htm/preact/standalone.module.js &&
        test ! -e "$w/node_modules" && test ! -e "$w/package.json"
}
check "make install: the dashboard in share/allot/web, its npm file as vendor/htm-preact.js, no node_modules" web_ok

# ------------------------------------------------------------ installed for real
if [ ! -e /run/.containerenv ]; then
    echo "skip - apt-get install of the .deb and starting its server: not inside a throwaway container (no /run/.containerenv); this suite never installs onto the machine it runs on"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || dpkg-query -W allot >/dev/null 2>&1; then
    echo "skip - apt-get install of the .deb: needs root, and no allot package installed before"
    exit 0
fi
cp "$deb" "$tmp/allot.deb"
chmod 755 "$tmp"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tmp/allot.deb" >"$tmp/apt.log" 2>&1
rc=$?
[ "$rc" -eq 0 ] && installed=1
must "apt-get install ./allot_${version}_${arch}.deb installs it (exit $rc)" test "$rc" -eq 0
check "the package is installed, its conffile registered" \
    bash -c "dpkg-query -W -f='\${Status} \${Conffiles}' allot | grep -q 'install ok installed.*/etc/allot/allot.conf'"
check "postinst created the system user allot (no login shell)" \
    bash -c "getent passwd allot | grep -q ':/var/lib/allot:/usr/sbin/nologin$'"
check "/var/lib/allot belongs to allot" test "$(stat -c %U /var/lib/allot)" = allot
check "allot --version works from PATH" test "$(allot --version)" = "allot $version"
port=$(free_port)
U=http://127.0.0.1:$port
OP=$(runuser -u allot -- allot server init --db /var/lib/allot/allot.db 2>"$tmp/init.log")
must "runuser -u allot -- allot server init --db /var/lib/allot/allot.db gives a token" test -n "$OP"
exec_start=$(sed -n 's/^ExecStart=//p' /usr/lib/systemd/system/allot-server.service)
if [ -d /run/systemd/system ]; then
    # systemd is PID 1: the real unit, with the test's port in a drop-in.
    mkdir -p /etc/systemd/system/allot-server.service.d
    printf '[Service]\nExecStart=\nExecStart=%s --listen 127.0.0.1:%s\n' "$exec_start" "$port" \
        >/etc/systemd/system/allot-server.service.d/test.conf
    systemctl daemon-reload
    check "systemctl start allot-server" systemctl start allot-server.service
    wait_until 30 curl -fsS -o /dev/null "$U/healthz"
    check "the unit's server answers" curl -fsS -o /dev/null "$U/healthz"
    check "… and serves the installed dashboard (/usr/share/allot/web)" \
        bash -c "curl -fsS '$U/' | grep -q 'src=\"/app.js\"' && curl -fsS -o /dev/null '$U/vendor/htm-preact.js'"
    systemctl stop allot-server.service
    rm -rf /etc/systemd/system/allot-server.service.d
else
    # No systemd: the unit's own command line, as its user, in its working directory; the port
    # on the command line (the host's 8080 may be taken), which wins over the conf's listen.
    # shellcheck disable=SC2086 # ExecStart is words
    (cd /var/lib/allot && exec runuser -u allot -- $exec_start --listen "127.0.0.1:$port") \
        >"$tmp/server.log" 2>&1 &
    pid=$!
    wait_until "$(al_deadline)" curl -fsS -o /dev/null "$U/healthz"
    check "the server started as its unit would (runuser -u allot -- $exec_start) answers" \
        curl -fsS -o /dev/null "$U/healthz"
    check "… and serves the installed dashboard from /usr/share/allot/web" \
        bash -c "grep -q 'files from /usr/bin/../share/allot/web' '$tmp/server.log' && curl -fsS '$U/' | grep -q 'src=\"/app.js\"' && curl -fsS -o /dev/null '$U/vendor/htm-preact.js'"
    call "$OP" GET /v1/me
    expect "it serves the conf's database, /var/lib/allot/allot.db (the operator is known)" 200
    check "the server runs as the user allot" \
        bash -c "ps -o user= -C allot | grep -qx allot"
    printf '%s\n' "$OP" >/etc/allot/agent.token
    chown root:allot /etc/allot/agent.token
    chmod 0640 /etc/allot/agent.token
    agent_exec=$(sed -n 's/^ExecStart=//p' /usr/lib/systemd/system/allot-agent.service)
    install -o allot -g allot -m 0640 tests/data/demo-mig-node.json /var/lib/allot/sim-node.json
    # shellcheck disable=SC2086
    (cd /var/lib/allot && runuser -u allot -- $agent_exec --driver sim \
        --state /var/lib/allot/sim-node.json --node pkg-node --server "$U" --once) \
        >"$tmp/agent.log" 2>&1
    rc=$?
    check "the agent as its unit would (conf's token-file and journal, a sim node) reports (exit $rc)" \
        test "$rc" -eq 0
    [ "$rc" -eq 0 ] || show_log "$tmp/agent.log"
    call "$OP" GET /v1/nodes/pkg-node
    expect "the server knows the agent's node" 200
    # systemctl stop signals the server itself; runuser then exits with its status.
    spid=$(pgrep -u allot -x allot | head -1)
    kill -TERM "${spid:-$pid}" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    check "SIGTERM stops the server cleanly (exit $rc), as systemctl stop would" test "$rc" -eq 0
    pid=
fi
# Without --config (and without the suites' ALLOT_CONFIG_FILE=none) the default file is read:
# a key no agent knows, added at its end, is reported by that file's name and line.
echo "bogus-key = 1" >>/etc/allot/allot.conf
n=$(wc -l </etc/allot/allot.conf)
env -u ALLOT_CONFIG_FILE allot agent --once >/dev/null 2>"$tmp/default.err"
check "without --config, /etc/allot/allot.conf is read (an error names it, line $n)" \
    grep -q "^/etc/allot/allot.conf:$n: unknown key 'bogus-key' in \[agent\]" "$tmp/default.err"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq allot >/dev/null 2>&1
check "apt-get purge removes the package and its conffile, keeps the database" \
    bash -c "! dpkg-query -W -f='\${Status}' allot 2>/dev/null | grep -q installed && test ! -e /etc/allot/allot.conf && test -f /var/lib/allot/allot.db"
