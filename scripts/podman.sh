#!/usr/bin/env bash
# podman.sh — a private Podman service speaking the Docker Engine API, for the agent's
# docker-api runtime in tests and `make run` (docs/agent.md, "Containers"). Everything lives in
# DIR: its storage (DIR/root, DIR/run), its containers.conf, its socket, pid and log.
#
#   scripts/podman.sh start DIR   start `podman system service` on unix://DIR/podman.sock (no
#                                 idle timeout), wait until it answers GET /v1.41/version, build
#                                 the busybox image localhost/bb:latest into DIR's storage (no
#                                 registry needed), print the socket's path. Already running: the
#                                 same, without a second service.
#   scripts/podman.sh stop DIR    stop the service by its pid (SIGTERM, then SIGKILL after 10 s)
#   scripts/podman.sh probe DIR   whether a container can really run here: prints "ok" (exit 0)
#                                 or "no: <the runtime's reason>" (exit 1). Inside an unprivileged
#                                 container (../shared/tools/fresh-debian) runc cannot mount /proc.
#
# Why the containers.conf: crun, Podman's default, fails
# on these machines' cgroup v1, so runc with cgroupfs; without the ulimits line every container
# stops at "setrlimit RLIMIT_NOFILE: Operation not permitted"; events go to a file because
# there is no journald. Needs podman, runc, busybox-static (scripts/deps.sh test), and curl.
set -euo pipefail

usage() {
    echo "usage: scripts/podman.sh start|stop|probe DIR" >&2
    exit 2
}
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd)
sock=$dir/podman.sock
image=localhost/bb:latest
export CONTAINERS_CONF=$dir/containers.conf

write_conf() {
    cat >"$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
}

# vfs storage: no overlay mount left behind, so that DIR is removed like any folder (the
# busybox image is 2 MB: a copy per container costs nothing).
pm() { podman --root "$dir/root" --runroot "$dir/run" --storage-driver vfs "$@"; }

need() {
    local t
    for t in podman runc curl; do
        command -v "$t" >/dev/null || { echo "podman.sh: $t not found (scripts/deps.sh test)" >&2; exit 1; }
    done
    [ -x /bin/busybox ] || { echo "podman.sh: /bin/busybox not found (busybox-static; scripts/deps.sh test)" >&2; exit 1; }
}

# The image: a rootfs holding busybox and the few applets the tests call, imported as a tar.
build_image() {
    pm image exists "$image" && return 0
    local rootfs=$dir/rootfs a
    rm -rf "$rootfs" && mkdir -p "$rootfs/bin" "$rootfs/tmp"
    cp /bin/busybox "$rootfs/bin/busybox"
    for a in sh echo env sleep cat printf true false ls; do ln -s busybox "$rootfs/bin/$a"; done
    tar -C "$rootfs" -cf "$dir/bb.tar" .
    pm import "$dir/bb.tar" "$image" >>"$dir/podman.log" 2>&1
    rm -rf "$rootfs" "$dir/bb.tar"
}

answers() { curl -sf --max-time 2 --unix-socket "$sock" http://d/v1.41/version >/dev/null 2>&1; }

running() { [ -f "$dir/podman.pid" ] && kill -0 "$(cat "$dir/podman.pid")" 2>/dev/null; }

start() {
    need
    write_conf
    mkdir -p "$dir/root" "$dir/run"
    if ! running; then
        rm -f "$sock"
        setsid podman --root "$dir/root" --runroot "$dir/run" --storage-driver vfs system service --time=0 "unix://$sock" >>"$dir/podman.log" 2>&1 </dev/null &
        echo $! >"$dir/podman.pid"
    fi
    local end=$((SECONDS + 60))
    until answers; do
        if ! running; then
            echo "podman.sh: the service exited; its log ($dir/podman.log):" >&2
            tail -20 "$dir/podman.log" >&2
            exit 1
        fi
        if ((SECONDS > end)); then
            echo "podman.sh: $sock does not answer after 60 s" >&2
            exit 1
        fi
        sleep 0.2
    done
    build_image
    echo "$sock"
}

stop() {
    running || { rm -f "$dir/podman.pid"; return 0; }
    local pid
    pid=$(cat "$dir/podman.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -f "$dir/podman.pid" "$sock"
}

probe() {
    need
    write_conf
    mkdir -p "$dir/root" "$dir/run"
    build_image
    local out
    if out=$(pm run --rm --network none "$image" /bin/echo probe-ok 2>&1) && [ "$out" = probe-ok ]; then
        echo ok
        return 0
    fi
    # The runtime's own words, after the cause when it is the known one: inside an unprivileged
    # container runc fails with "error mounting "proc" to rootfs at "/proc" … not permitted".
    out=$(tr '\n' ' ' <<<"$out" | sed 's/  */ /g' | tail -c 400)
    case "$out" in
    *proc*ermi*) echo "no: runc cannot mount /proc here (an unprivileged container?): $out" ;;
    *) echo "no: $out" ;;
    esac
    return 1
}

case "$cmd" in
start) start ;;
stop) stop ;;
probe) probe ;;
*) usage ;;
esac
