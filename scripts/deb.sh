#!/usr/bin/env bash
# deb.sh [OUT_DIR] — build the Debian package of allot, OUT_DIR/allot_<version>_<arch>.deb
# (default OUT_DIR: build), with dpkg-deb from a staged `cmake --install --prefix /usr`
# (the same install as `make install`: the binary, stripped; the systemd units; the docs)
# plus /etc/allot/allot.conf, a conffile, and packaging/'s maintainer scripts (postinst
# creates the user allot). Depends: the runtime libraries the binary links, with the versions
# dpkg-shlibdeps derives from their symbols. Prints the package's path on stdout.
# `make deb` runs it after installing the build dependencies; tests/integration/packaging.sh
# checks what it builds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-build}

cmake --preset release >/dev/null
cmake --build --preset release --target allot >&2
version=$(build/release/allot --version | sed -n 's/^allot \([0-9][0-9.a-z~+-]*\)$/\1/p')
[ -n "$version" ] || { echo "deb.sh: no version from allot --version" >&2; exit 1; }
arch=$(dpkg --print-architecture)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/pkg
DESTDIR=$pkg cmake --install build/release --prefix /usr --strip >/dev/null
install -D -m 0644 packaging/allot.conf "$pkg/etc/allot/allot.conf"
install -d -m 0755 "$pkg/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "packaging/$s" "$pkg/DEBIAN/$s"; done
echo /etc/allot/allot.conf >"$pkg/DEBIAN/conffiles"

# dpkg-shlibdeps wants a source package around it: a debian/control naming the package.
mkdir -p "$stage/src/debian"
printf 'Source: allot\n\nPackage: allot\nArchitecture: any\n' >"$stage/src/debian/control"
depends=$(cd "$stage/src" && dpkg-shlibdeps -O -e"$pkg/usr/bin/allot" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: allot
Version: $version
Architecture: $arch
Maintainer: allot maintainers <allot@localhost>
Installed-Size: $size
Depends: $depends, passwd
Suggests: sqlite3
Section: admin
Priority: optional
Description: control plane that sells GPU capacity
 allot reserves dedicated GPUs, MIG instances and a pay-as-you-go pool for
 organizations, and bills them. One binary: the HTTP API server, the node
 agent that reports a host's GPUs and applies MIG changes, and the CLI.
 This package holds the binary, systemd units for the server and the agent,
 /etc/allot/allot.conf and the documentation (docs/operations.md).
CONTROL
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
    xargs -0 md5sum >DEBIAN/md5sums)

mkdir -p "$out"
deb=$out/allot_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
