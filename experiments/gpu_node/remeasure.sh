#!/bin/bash
# The two campaigns trained with frozen routed experts (experiments/h100_small, h100_wide_r; docs/trainer.md, "The
# routed experts' bf16 copies") measured again with the fixed trainer on a 4-GPU machine: h100_small on GPU 0 and
# h100_wide_r on GPUs 1-3 at the same time, each from its committed workspace (the first measurement's runs queued
# as 'proposed' with their r, compute, sparsity, seed and label), eager as before, on the default corpus. A warm
# machine keeps both workspaces in /tmp/remeasure from the call before, so a second call goes on where the first
# stopped (a run cut by the limit restarts from its plan). From the repository root, torch with CUDA:
#   bash experiments/gpu_node/remeasure.sh 560 [SMALL_GPUS WIDE_GPUS]   # GPUs of each campaign: 0 and 1,2,3
# Writes $OUT/remeasure.tgz: both workspaces (ledger, plans, logs; no weights), the corpus manifest, the logs.
# Unpack its workspaces.tgz over experiments/<campaign>/workspace and commit them.
set -u
: "${OUT:?set OUT to the folder for the results}"
export PYTHONUNBUFFERED=1
limit=${1:?seconds} small_gpus=${2:-0} wide_gpus=${3:-1,2,3}
state=/tmp/remeasure
work=$(mktemp -d)
nvidia-smi --query-gpu=name,memory.total --format=csv > "$work/gpus.csv"
for campaign in h100_small h100_wide_r; do
  if test -f "$state/$campaign/ledger.sqlite"; then echo "$campaign: workspace kept from the call before"
  else mkdir -p "$state" && cp -r "experiments/$campaign/workspace" "$state/$campaign" && echo "$campaign: the committed workspace"; fi
done > "$work/session.log"
if ! test -f corpus/manifest.json; then
  start=$SECONDS
  timeout 200 taskset -c 0-15 python3 -m bayes_moe.train.corpus --from-installed --out corpus > "$work/corpus.log" 2>&1
  echo "corpus build: $((SECONDS - start)) s wall, exit $?" >> "$work/session.log"
fi
cp corpus/manifest.json "$work/corpus_manifest.json"
execute() {  # campaign gpus: its queued runs, one a GPU, until the limit
  BAYES_MOE_CORPUS=$PWD/corpus OMP_NUM_THREADS=4 timeout $((limit - SECONDS)) python3 -m bayes_moe.cli \
    --workspace "$state/$1" campaign --config "experiments/$1/train.toml" --executor trainer --gpus "$2" \
    --execute-only > "$work/$1.log" 2>&1
  echo "$1: campaign exit $? at $SECONDS s" >> "$work/session.log"
}
execute h100_small "$small_gpus" &
execute h100_wide_r "$wide_gpus" &
wait
sleep 5  # children killed with a campaign (parent-death signal) are gone before the ledgers are packed
tar czf "$work/workspaces.tgz" --exclude="*/checkpoints/*/checkpoint.*" -C "$state" h100_small h100_wide_r
tar czf "$OUT/remeasure.tgz" -C "$work" .
cat "$work/session.log"; tail -n 3 "$work"/h100_*.log
