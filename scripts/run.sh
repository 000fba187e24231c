#!/usr/bin/env bash
# run.sh ALLOT_BINARY — what `make run` starts. Until the server lands it shows the MIG engine.
set -euo pipefail
allot=${1:?usage: run.sh ALLOT_BINARY}
"$allot" --help
echo
"$allot" mig --help
echo
echo "Try: $allot mig models ; $allot mig layouts H100-80GB --maximal"
