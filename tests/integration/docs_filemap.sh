#!/usr/bin/env bash
# docs_filemap.sh — docs/design.md against the tree, so that the design stays true:
#   - every src/<room>/*.c and *.h is named in the file map (between the filemap:begin and
#     filemap:end markers, as `room/file`), and every file the map names exists;
#   - each room includes only the rooms docs/design.md ("Rooms") says it may use, the CLI only
#     server/server.h and agent/agent.h of those two rooms, and no room another's
#     *_internal.h or a header whose comment says "Internal to src/<room>" (store/db.h);
#   - no file a clone of allot carries points at documents it does not carry (the intended
#     design, the style study and the research notes kept outside the repository):
#     docs/design.md and docs/style.md are the repository's own, facts cite public sources;
#   - the relative links of docs/design.md and docs/style.md lead to files that exist.
# Needs nothing but bash, grep, sed and find (no build). Prints "ok - …" / "not ok - …" per
# check, with what is wrong as "#   …" lines.
set -u
root=${AL_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || {
    echo "not ok - the source tree is at $root"
    exit 1
}
design=docs/design.md
fails=0

# report WHAT FILE: ok when FILE (the list of problems) is empty, else not ok and the list.
report() {
    if [ -s "$2" ]; then
        echo "not ok - $1"
        sed 's/^/#   /' "$2" | head -40
        fails=$((fails + 1))
    else
        echo "ok - $1"
    fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -f "$design" ]; then
    echo "not ok - $design exists"
    exit 1
fi
echo "ok - $design exists"

# ---- the file map ----
sed -n '/<!-- filemap:begin -->/,/<!-- filemap:end -->/p' "$design" >"$tmp/map"
if [ ! -s "$tmp/map" ]; then
    echo "not ok - $design has a file map between <!-- filemap:begin --> and <!-- filemap:end -->"
    exit 1
fi
rooms='core|common|store|server|agent|client|cli|migyaml'
grep -oE "\`($rooms)/[A-Za-z0-9_]+\.[ch]\`" "$tmp/map" | tr -d '`' | sort -u >"$tmp/named"
(cd src && find . -type f \( -name '*.c' -o -name '*.h' \) | sed 's|^\./||' | sort) >"$tmp/files"

comm -23 "$tmp/files" "$tmp/named" | sed 's|^|src/|; s|$| is not in the file map|' >"$tmp/p1"
report "every file under src/ is in the file map of $design ($(wc -l <"$tmp/files") files)" \
    "$tmp/p1"
comm -13 "$tmp/files" "$tmp/named" | sed 's|^|the map names src/|; s|$|, which does not exist|' \
    >"$tmp/p2"
report "every file the map names exists under src/" "$tmp/p2"

# ---- includes across rooms ----
# allowed ROOM: the rooms whose headers ROOM may include (docs/design.md, "Rooms").
allowed() {
    case $1 in
    core) echo "core" ;;
    common) echo "common" ;;
    store) echo "store core common" ;;
    client) echo "client core common" ;;
    migyaml) echo "migyaml core" ;;
    server) echo "server core common store" ;;
    agent) echo "agent core common client" ;;
    cli) echo "cli core common client migyaml" ;;
    *) echo "" ;;
    esac
}
: >"$tmp/p3"
for dir in src/*/; do
    room=$(basename "$dir")
    ok_rooms=" $(allowed "$room") "
    if [ "$ok_rooms" = "  " ]; then
        echo "src/$room is a room $design does not list" >>"$tmp/p3"
        continue
    fi
    grep -HnoE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[^"]+"' "$dir"*.[ch] 2>/dev/null |
        while IFS= read -r hit; do
            where=${hit%%:#*}
            where=${where%%:[[:space:]]*}
            inc=$(sed -E 's/.*"([^"]+)".*/\1/' <<<"$hit")
            to=${inc%%/*}
            [ "$to" = "$inc" ] && to=$room # a bare "x.h" is the room's own
            # the CLI starts the server and the agent through one header each
            if [ "$room" = cli ] && { [ "$inc" = server/server.h ] || [ "$inc" = agent/agent.h ]; }; then
                continue
            fi
            if [[ $ok_rooms != *" $to "* ]]; then
                echo "$where: $room includes $inc (room $to)" >>"$tmp/p3"
            elif [ "$to" != "$room" ] && { [[ $inc == *_internal.h ]] ||
                grep -q "Internal to src/$to" "src/$inc" 2>/dev/null; }; then
                echo "$where: $room includes $inc, internal to src/$to" >>"$tmp/p3"
            fi
        done
done
report "each room includes only the rooms it may use (docs/design.md, Rooms)" "$tmp/p3"

# ---- pointers outside the repository ----
# The patterns are split so that this file does not match itself.
outside="DESIGN""\\.md|c-style""\\.md|shared/""reference|mig-""facts|placement-""papers|style ""§|brief/""api-contract"
grep -rnE "$outside" README.md docs src tests scripts bench CMakeLists.txt Makefile \
    .clang-tidy .clang-format 2>/dev/null | grep -v '^tests/fuzz/corpus/' >"$tmp/p4"
report "no file points at documents kept outside the repository (design, style, research notes)" "$tmp/p4"

# ---- links of the two documents ----
: >"$tmp/p5"
for doc in docs/design.md docs/style.md; do
    if [ ! -f "$doc" ]; then
        echo "$doc does not exist" >>"$tmp/p5"
        continue
    fi
    grep -oE '\]\([^)#]+(#[^)]*)?\)' "$doc" | sed -E 's/^\]\(([^)#]*).*/\1/' | sort -u |
        while IFS= read -r link; do
            case $link in
            http://* | https://* | "") continue ;;
            esac
            [ -e "docs/$link" ] || echo "$doc links to $link, which does not exist" >>"$tmp/p5"
        done
done
report "the relative links of docs/design.md and docs/style.md lead to files" "$tmp/p5"

exit $((fails > 0))
