#!/bin/bash
# The trainer's compiled step speed at 20M and 100M, as `make bench` measures it, under variants, each in its own
# process, on one GPU (#14 item 6). From the repository root, torch with CUDA, nothing installed:
#   bash experiments/gpu_node/mfu_knobs.sh autotune   # ~8 min: the trainer's default compilation against
#       TORCHINDUCTOR_MAX_AUTOTUNE=1 and TORCHINDUCTOR_COORDINATE_DESCENT_TUNING=1 (Triton GEMM templates and kernel
#       configs searched at compile time)
#   BASE=.base bash experiments/gpu_node/mfu_knobs.sh against-base   # ~8 min: this tree against a baseline tree
#       (BASE holds the baseline commit's package: `mkdir .base && git archive COMMIT bayes_moe | tar -x -C .base`,
#       untracked, so it travels with the tree), with the top kernels of this tree's steps, then the baseline's
#       20M again (the VM drifts within a call)
#   BASE=.base bash experiments/gpu_node/mfu_knobs.sh against-base-twice 100M   # ~8 min: base, this, this with
#       the profile, base again, each in its own process (for a change that only one size sees)
#   BASE=.base bash experiments/gpu_node/mfu_knobs.sh alternate 20M 3   # base, this, base, this, ... (3 each)
# Writes $OUT/<variant>-<size>.json and .log, and mfu.log.
set -u
: "${OUT:?set OUT to the folder for the results}"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv > "$OUT/gpus.csv"
measure() {  # variant size seconds [VAR=value ...] [-- bench flags]: one bench process, stopped before the call's end,
             # run in the folder $tree (default: here)
  local variant=$1 size=$2 limit=$3 left=$((580 - SECONDS)) start=$SECONDS settings=() flags=()
  shift 3
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do settings+=("$1"); shift; done
  [ $# -gt 0 ] && shift && flags=("$@")
  if [ "$left" -lt 60 ]; then echo "$variant $size: skipped, too late" >> "$OUT/mfu.log"; return; fi
  [ "$limit" -gt "$left" ] && limit=$left
  (cd "${tree:-.}" && env "${settings[@]}" timeout "$limit" python3 -m bayes_moe.train.bench \
    --out "$OUT/$variant-$size.json" --sizes "$size" --compile on --seconds 6 "${flags[@]}") > "$OUT/$variant-$size.log" 2>&1
  echo "$variant $size: exit $? after $((SECONDS - start)) s" >> "$OUT/mfu.log"
}
case ${1:?say autotune, against-base, against-base-twice or alternate} in
  autotune)
    autotune=(TORCHINDUCTOR_MAX_AUTOTUNE=1 TORCHINDUCTOR_COORDINATE_DESCENT_TUNING=1)
    measure default 20M 100
    measure autotune 20M 240 "${autotune[@]}"
    measure default 100M 130
    measure autotune 100M 250 "${autotune[@]}"
    ;;
  against-base)
    : "${BASE:?set BASE to the baseline tree}"
    tree=$BASE measure base 20M 100
    measure this 20M 110 -- --profile
    tree=$BASE measure base 100M 140
    measure this 100M 150 -- --profile
    tree=$BASE measure base2 20M 100
    ;;
  against-base-twice)
    : "${BASE:?set BASE to the baseline tree}"
    size=${2:?say the size}
    tree=$BASE measure base "$size" 140
    measure this "$size" 140
    measure this-profile "$size" 150 -- --profile
    tree=$BASE measure base2 "$size" 140
    ;;
  alternate)  # base and this in turn, N times each, one size: for a change worth a few percent
    : "${BASE:?set BASE to the baseline tree}"
    size=${2:?say the size}
    for i in $(seq "${3:-2}"); do
      tree=$BASE measure "base$i" "$size" 110
      measure "this$i" "$size" 110
    done
    ;;
esac
cat "$OUT/mfu.log"
