#!/usr/bin/env bash
# Train every proposed run of workspace $1 with the torch trainer on this machine's GPU, $4 runs at a
# time (default 1), until $2 seconds have passed: a run starts only if its estimated time still fits
# (its tokens at $5 tokens/s per process, default 150000, plus 25 s of start-up and evaluation), longest
# first so that the last wave is short. Then copy the ledger to $OUT (the device tool's output folder) and
# print the runs' counts by status.
# Usage (GPU machine, repository root, corpus built there or carried):
#   experiments/run_proposed.sh WORKSPACE SECONDS TRAIN_TOML [PARALLEL] [TOKENS_PER_S]
# Runs that share the GPU record the throughput and MFU they got while sharing it.
set -u
workspace=$1; deadline=$(( $(date +%s) + $2 )); config=$3; parallel=${4:-1}; rate=${5:-150000}
plan=$(python3 - "$workspace" "$rate" <<'PY'
import math, sys
from bayes_moe.ledger import Ledger
with Ledger.open(sys.argv[1]) as ledger:
    runs = ledger.runs("proposed")  # each recorded with the tokens its compute buys
for run in sorted(runs, key=lambda run: run.tokens, reverse=True):
    print(run.id, 25 + math.ceil(run.tokens / float(sys.argv[2])))
PY
)
train() {  # run id, estimated seconds
    local start=$(date +%s)
    python3 -m bayes_moe.cli --workspace "$workspace" run "$1" --executor trainer --device cuda \
        --config "$config" --corpus corpus 2>&1 | tr '\r' '\n' | tail -n 2
    echo "run $1: $(( $(date +%s) - start ))s (estimated $2s)"
}
while read -r id estimate; do
    [[ -z $id ]] && continue
    while (( $(jobs -rp | wc -l) >= parallel )); do wait -n; done
    if (( $(date +%s) + estimate > deadline )); then echo "run $id: left proposed (time)"; continue; fi
    train "$id" "$estimate" &
done <<< "$plan"
wait
python3 -c "import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close()" \
    "$workspace/ledger.sqlite" "$OUT/ledger.sqlite"
python3 -c "from bayes_moe.ledger import Ledger; import sys; print(Ledger.open(sys.argv[1]).counts())" "$workspace"
