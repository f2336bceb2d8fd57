#!/bin/bash
# Inductor's autotuning against the trainer's default compilation, on one GPU (#14 item 6), from the repository
# root, torch with CUDA, nothing installed: the 20M and 100M presets compiled as `make bench` measures them,
# first as the trainer compiles them, then with TORCHINDUCTOR_MAX_AUTOTUNE=1 and
# TORCHINDUCTOR_COORDINATE_DESCENT_TUNING=1 (Triton GEMM templates and kernel configs searched at compile time).
#   bash experiments/gpu_node/mfu_knobs.sh    # ~8 minutes; writes $OUT/<variant>-<size>.json and .log, mfu.log
set -u
: "${OUT:?set OUT to the folder for the results}"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv > "$OUT/gpus.csv"
measure() {  # variant size seconds [VAR=value ...]: one bench process, stopped before the call's 10 minutes
  local variant=$1 size=$2 limit=$3 left=$((580 - SECONDS)) start=$SECONDS
  shift 3
  if [ "$left" -lt 60 ]; then echo "$variant $size: skipped, too late" >> "$OUT/mfu.log"; return; fi
  [ "$limit" -gt "$left" ] && limit=$left
  env "$@" timeout "$limit" python3 -m bayes_moe.train.bench --out "$OUT/$variant-$size.json" --sizes "$size" \
    --compile on --seconds 6 > "$OUT/$variant-$size.log" 2>&1
  echo "$variant $size: exit $? after $((SECONDS - start)) s" >> "$OUT/mfu.log"
}
autotune=(TORCHINDUCTOR_MAX_AUTOTUNE=1 TORCHINDUCTOR_COORDINATE_DESCENT_TUNING=1)
measure default 20M 100
measure autotune 20M 240 "${autotune[@]}"
measure default 100M 130
measure autotune 100M 250 "${autotune[@]}"
cat "$OUT/mfu.log"
