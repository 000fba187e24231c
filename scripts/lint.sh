#!/usr/bin/env bash
# lint.sh [FILE…] — the three static checks of `make lint`, each run to the end so that all
# findings show at once; exits non-zero if any of them found something.
#   1. clang-format --dry-run --Werror on every C file (src, tests, bench), with .clang-format
#   2. clang-tidy (.clang-tidy) on src/ with the release preset's compile_commands.json
#   3. cppcheck (warning, style, performance, portability) on src/, same compile database
#   4. the functions docs/style.md bans, by grep on src/ (comments and strings are not parsed:
#      write around them, e.g. "strcpy-like")
# With FILE arguments (e.g. `scripts/lint.sh src/core/fleet.c`) only those files are checked.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=build/release
jobs=$(nproc 2>/dev/null || echo 2)

if (($#)); then
    fmt_files=("$@")
    src_files=()
    for f in "$@"; do [[ $f == src/*.c ]] && src_files+=("$f"); done
else
    mapfile -t fmt_files < <(find src tests bench -name '*.[ch]' 2>/dev/null | sort)
    mapfile -t src_files < <(find src -name '*.c' | sort)
fi

# The compile database lists the flags each file is built with; configuring writes it.
cmake --preset release >/dev/null || { echo "lint: cmake --preset release failed" >&2; exit 1; }

failed=()

echo "lint: clang-format (${#fmt_files[@]} files)"
if ((${#fmt_files[@]})) && ! clang-format --dry-run --Werror "${fmt_files[@]}"; then
    failed+=(clang-format)
fi

echo "lint: clang-tidy (${#src_files[@]} files)"
if ((${#src_files[@]})); then
    # One process per file, in parallel; xargs exits non-zero if any of them does. The
    # "N warnings generated" chatter (suppressed system-header warnings) is dropped.
    if ! printf '%s\0' "${src_files[@]}" |
        xargs -0 -n1 -P"$jobs" clang-tidy --quiet -p "$build" 2> >(grep -v 'warnings\? generated\.$' >&2); then
        failed+=(clang-tidy)
    fi
fi

echo "lint: cppcheck"
if ((${#src_files[@]})); then
    filters=()
    for f in "${src_files[@]}"; do filters+=("--file-filter=$f"); done
    # --library=posix knows read/write/dlopen …; its macros (W_OK …) also catch name clashes.
    # scripts/cppcheck/*.cfg: macros of the libraries we use (cppcheck skips system headers).
    # No --cppcheck-build-dir: its cache ignores changes to these files (stale findings).
    if ! cppcheck --quiet --error-exitcode=1 -j "$jobs" --std=c11 --library=posix \
        --library=scripts/cppcheck/jansson.cfg \
        --enable=warning,style,performance,portability --inline-suppr \
        --suppress=missingIncludeSystem \
        --project="$build/compile_commands.json" "${filters[@]}" \
        --template='{file}:{line}:{column}: {severity}: {message} [{id}]'; then
        failed+=(cppcheck)
    fi
fi

# docs/style.md: unbounded copies, unchecked number parsing (strto* skip spaces, take a sign
# and stop at junk), strtok's hidden state. Use snprintf / memcpy with a checked length, and
# the checked parsers of common/num.h (al_num_parse_u64/i64/hex_u64) instead.
banned='strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|strtol|strtoul|strtoll|strtoull'
echo "lint: banned functions ($banned)"
if ((${#src_files[@]})); then
    hdrs=()
    for f in "${src_files[@]}"; do [ -f "${f%.c}.h" ] && hdrs+=("${f%.c}.h"); done
    if grep -nE "(^|[^a-zA-Z0-9_.>])($banned)[[:space:]]*\(" "${src_files[@]}" "${hdrs[@]}"; then
        failed+=(banned-functions)
    fi
fi

if ((${#failed[@]})); then
    echo "lint: FAILED: ${failed[*]}"
    exit 1
fi
echo "lint: clean"
