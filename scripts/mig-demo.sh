#!/usr/bin/env bash
# mig-demo.sh ALLOT_BINARY — `allot mig` on a few real examples, no server needed (it was
# `make run` until the server landed; run it as scripts/mig-demo.sh build/release/allot).
set -euo pipefail
allot=${1:?usage: mig-demo.sh ALLOT_BINARY}
show() {
    echo "\$ allot $*"
    "$allot" "$@" || echo "(exit $?)"
    echo
}
"$allot" --help
echo
show mig models
show mig profiles H100-80GB
show mig layouts H100-80GB --profiles 1g.10gb,2g.20gb,3g.40gb,4g.40gb,7g.80gb --maximal
show mig validate H100-80GB 3g.40gb@0,2g.20gb@4,1g.10gb@6
show mig place H100-80GB 3g.40gb 2g.20gb 1g.10gb
show mig diff H100-80GB 3g.40gb@0,3g.40gb@4 3g.40gb@0,2g.20gb@4,1g.10gb@6
show mig pick H100-80GB --min-memory 30GB
show mig export-mig-parted H100-80GB 3g.40gb,2g.20gb,1g.10gb,1g.10gb --name balanced
echo "More: $allot mig --help ; README.md \"The MIG engine: allot mig\" ; docs/mig.md"
