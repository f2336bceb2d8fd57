#!/bin/bash
# One call of the ladder campaign on a 4-GPU machine (device tool), from the repository root, torch with
# CUDA, nothing installed. The campaign's workspace is experiments/h100_ladder/workspace (committed: ledger,
# plans, logs); a machine still warm from the call before keeps its own ./ladderws (.gitignore'd) with the
# runs' checkpoints, so a run cut by the call's end resumes where it stopped; a fresh machine copies the
# committed workspace and restarts such a run from its saved plan. After a call, unpack ladderws.tgz from
# ladder.tgz over experiments/h100_ladder/workspace and commit it.
#   bash experiments/h100_ladder/session.sh first 560   # + #14's pool record on every GPU, then the ladder
#   bash experiments/h100_ladder/session.sh more 560    # the ladder's queued runs until 560 s
# Writes $OUT/ladder.tgz: the workspace without the checkpoints' weights (ledger, logs, plans), the corpus
# manifest, the campaign's log and, on 'first', gpu_pool.json.
set -u
: "${OUT:?set OUT to the folder for the results}"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
part=$1 limit=$2
work=$(mktemp -d)
nvidia-smi --query-gpu=name,memory.total --format=csv > "$work/gpus.csv"
if test -f ladderws/ledger.sqlite; then echo "workspace: kept from the call before" > "$work/session.log"
else cp -r experiments/h100_ladder/workspace ladderws; echo "workspace: the committed one" > "$work/session.log"; fi
if [ "$part" = first ]; then  # #14's record on the shipped sample while the CPUs build the corpus
  timeout 200 python3 -m bayes_moe.benchmarks.gpu_pool --out "$work" --time-limit 180 --scale 0.6 \
    > "$work/pool.log" 2>&1 &
fi
if ! test -f corpus/manifest.json; then
  start=$SECONDS
  timeout 200 taskset -c 0-15 python3 -m bayes_moe.train.corpus --from-installed --out corpus > "$work/corpus.log" 2>&1
  echo "corpus build: $((SECONDS - start)) s wall, exit $?" >> "$work/session.log"
fi
cp corpus/manifest.json "$work/corpus_manifest.json"
wait  # the pool record, if any: every GPU free again
echo "ladder starts at $SECONDS s" >> "$work/session.log"
BAYES_MOE_CORPUS=$PWD/corpus timeout $((limit - SECONDS)) python3 -m bayes_moe.cli --workspace ladderws campaign \
  --config experiments/h100_ladder/train.toml \
  --executor trainer --gpus all --execute-only > "$work/campaign.log" 2>&1
echo "campaign exit $? at $SECONDS s" >> "$work/session.log"
sleep 5  # children killed with the campaign (parent-death signal) are gone before the ledger is packed
tar czf "$work/ladderws.tgz" --exclude="ladderws/checkpoints/*/checkpoint.*" ladderws  # weights, and a half-written one
tar czf "$OUT/ladder.tgz" -C "$work" .
cat "$work/session.log"; tail -n 3 "$work"/*.log
