#!/usr/bin/env bash
# Train every proposed run of workspace $1 on the GPU, one after another, until $2 seconds have passed
# (a run is started only if the last one's time still fits), then copy the ledger to $OUT.
# Usage (device machine, repository root): experiments/h100_small/run_proposed.sh WORKSPACE SECONDS
set -u
workspace=$1; deadline=$(( $(date +%s) + $2 )); last=0
ids=$(python3 - "$workspace" <<'PY'
import sys
from bayes_moe.ledger import Ledger
with Ledger.open(sys.argv[1]) as ledger:
    print(" ".join(str(run.id) for run in ledger.runs("proposed")))
PY
)
for id in $ids; do
    start=$(date +%s)
    if (( start + last > deadline )); then echo "run $id: left proposed (time)"; continue; fi
    python3 -m bayes_moe.cli --workspace "$workspace" run "$id" --executor trainer --device cuda \
        --config experiments/h100_small/train.toml --corpus corpus 2>&1 | tr '\r' '\n' | tail -n 2
    last=$(( $(date +%s) - start )); echo "run $id: ${last}s"
done
python3 -c "import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close()" \
    "$workspace/ledger.sqlite" "$OUT/ledger.sqlite"
python3 -m bayes_moe.cli --workspace "$workspace" status
