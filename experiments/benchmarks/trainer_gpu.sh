#!/bin/bash
# The trainer's GPU records in one call on a machine with 4 GPUs (about 9 minutes; torch with CUDA,
# run from the repository root, nothing installed): the DDP record on GPUs 0-1 (55M preset, 100 steps
# of 112 sequences on 2 GPUs then on 1), the speed bench on GPU 2 (100M, 20M and three ladder rungs,
# eager and compiled), and batch sizes and K runs sharing one GPU on GPU 3 (the 4x4x256 rung).
# The corpus: $BAYES_MOE_CORPUS if set, else the shipped sample.
#   OUT=results bash experiments/benchmarks/trainer_gpu.sh
set -u
: "${OUT:?set OUT to the folder for the results}"
export NCCL_NVLS_ENABLE=0
mkdir -p "$OUT"
CUDA_VISIBLE_DEVICES=0,1 timeout 420 python3 -m bayes_moe.train.bench_ddp --out "$OUT/ddp_2gpu.json" \
    > "$OUT/ddp.log" 2>&1 &
CUDA_VISIBLE_DEVICES=2 timeout 570 python3 -m bayes_moe.train.bench --out "$OUT/trainer_bench.json" \
    --sizes 100M 20M 6x6x384 4x4x256 2x2x128 --compile both --time-limit 480 > "$OUT/bench.log" 2>&1 &
CUDA_VISIBLE_DEVICES=3 timeout 570 python3 -m bayes_moe.train.bench --out "$OUT/trainer_share.json" \
    --sizes 4x4x256 --compile on --batches 64 128 --share 1 2 4 --time-limit 420 > "$OUT/share.log" 2>&1 &
wait
