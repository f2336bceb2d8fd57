#!/bin/bash
# One lease of a 2-GPU machine (nvidia-h100-x2; the 4-GPU kinds were withdrawn the day it ran), in three calls
# of at most 10 minutes each, the machine kept warm between them so ./corpus survives. From the repository root, torch with CUDA, nothing installed:
#   bash experiments/gpu_node/session.sh corpus-and-trainer   # corpus build (CPU), then the trainer's records
#   bash experiments/gpu_node/session.sh corpus-and-sweep     # corpus again if missing, then #16's lr sweep at
#                                                             # T = 20 and the smoke campaign
#   bash experiments/gpu_node/session.sh pool                 # #14: 16 runs through the GPU pool, then the
#                                                             # 100M bench compiled alone (no eager OOM before it)
#   bash experiments/gpu_node/session.sh ddp-seeds 400        # on 4 GPUs: the DDP record on the real corpus, seeds 0
#                                                             # and 1 side by side on GPU pairs (0,1) and (2,3), 400 steps
#   bash experiments/gpu_node/session.sh recheck 560          # on 4 GPUs, after the bf16-copy fix (e7d4e55): the
#       trainer bench at 100M and 20M (GPUs 2, 3) while the CPUs build the corpus, then the DDP record's seed 0
#       again (GPUs 0, 1: its loss against the record's) beside #16's lr sweep at 1e15 and 3e15 (GPUs 2, 3), all
#       stopped by the limit
#   BASE=.prev bash experiments/gpu_node/session.sh ddp-ab 560   # on 4 GPUs: the DDP record's run (seed 0, 300 steps)
#       on 2 GPUs with the baseline tree BASE, then with this tree on 2 and on 1 (GPUs 0, 1), beside #16's lr sweep
#       at 1e16 (compiled, lr 0.5-8x the rule's; GPUs 2, 3, two OpenMP threads a run)
#   bash experiments/gpu_node/session.sh lr-over-r 560       # on 4 GPUs: #16's sweep at 1e16 FLOPs for r = 0.3, 1
#       and 3 at half, once and twice the rule's lr (compiled, two runs a GPU): does half the best lr (the ladder's
#       runs) cost the same at every r, so that r* did not move?
#   bash experiments/gpu_node/session.sh lr-over-r-3e16 560  # on 4 GPUs, after lr-over-r showed the half-lr penalty
#       depends on r at 1e16: the same at 3e16 (half and once the rule's lr, GPUs 0-2), and 0.7x at 1e16 (GPU 3)
#   BASE=.prev bash experiments/gpu_node/session.sh ddp-side-by-side 480   # on 4 GPUs, the shipped sample: the
#       GPUs' links and an all-reduce's bandwidth per pair, then the DDP record's run (seed 0, 300 steps, on 2
#       GPUs then on 1) with BASE on GPUs 0, 1 and this tree on GPUs 2, 3 at the same time
# The corpus: the pinned wheels, Ubuntu packages and English texts (experiments/corpus), ~50 s on 16 cores.
# Everything a part writes is packed into $OUT/<part>.tgz (a call brings back at most 8 files).
set -u
: "${OUT:?set OUT to the folder for the results}"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
part=$1
work=$(mktemp -d)
corpus_ready() { test -f corpus/manifest.json; }
build_corpus() {  # unless a warm machine kept it; on 16 of the cores: the limit is stated for a 16-core machine
  if ! corpus_ready; then
    local start=$SECONDS
    timeout 200 taskset -c 0-15 python3 -m bayes_moe.train.corpus --from-installed --out corpus > "$work/corpus.log" 2>&1
    echo "corpus build: $((SECONDS - start)) s wall, exit $?" >> "$work/corpus.log"
  fi
  cp corpus/manifest.json "$work/corpus_manifest.json" 2>/dev/null
  corpus_ready && export BAYES_MOE_CORPUS=$PWD/corpus
}
case $part in
  corpus-and-trainer)
    nvidia-smi --query-gpu=name,memory.total --format=csv > "$work/gpus.csv"
    # the trainer bench and the sharing bench need no corpus: they run while the CPUs build it
    OUT=$work bash -c '
      CUDA_VISIBLE_DEVICES=0 timeout 300 python3 -m bayes_moe.train.bench --out "$OUT/trainer_bench.json" \
        --sizes 100M 20M 6x6x384 4x4x256 2x2x128 --compile both --time-limit 270 > "$OUT/bench.log" 2>&1 &
      CUDA_VISIBLE_DEVICES=1 timeout 300 python3 -m bayes_moe.train.bench --out "$OUT/trainer_share.json" \
        --sizes 4x4x256 --compile on --batches 64 128 --share 1 2 4 --time-limit 250 > "$OUT/share.log" 2>&1 &
      wait' &
    benches=$!
    build_corpus
    wait $benches  # both GPUs free again
    CUDA_VISIBLE_DEVICES=0,1 timeout 260 python3 -m bayes_moe.train.bench_ddp --out "$work/ddp_2gpu.json" \
      > "$work/ddp.log" 2>&1 ;;
  corpus-and-sweep)
    build_corpus
    timeout $((560 - SECONDS)) python3 -m bayes_moe.train.lr_sweep run --out "$work" --time-limit $((530 - SECONDS)) \
      > "$work/sweep.log" 2>&1 ;;
  pool)
    corpus_ready && export BAYES_MOE_CORPUS=$PWD/corpus
    timeout 330 python3 -m bayes_moe.benchmarks.gpu_pool --out "$work" --time-limit 300 --scale 0.6 > "$work/pool.log" 2>&1
    CUDA_VISIBLE_DEVICES=0 timeout 200 python3 -m bayes_moe.train.bench --out "$work/trainer_bench_100M.json" \
      --sizes 100M --compile on --time-limit 180 > "$work/bench.log" 2>&1 ;;
  ddp-seeds)
    steps=${2:?steps per run}
    build_corpus
    for seed in 0 1; do
      CUDA_VISIBLE_DEVICES=$((2 * seed)),$((2 * seed + 1)) timeout $((570 - SECONDS)) python3 -m bayes_moe.train.bench_ddp \
        --steps "$steps" --seed $seed --out "$work/ddp_seed$seed.json" > "$work/ddp_seed$seed.log" 2>&1 &
    done
    wait ;;
  recheck)
    limit=${2:?seconds}
    nvidia-smi --query-gpu=name,memory.total --format=csv > "$work/gpus.csv"
    CUDA_VISIBLE_DEVICES=2 timeout 170 python3 -m bayes_moe.train.bench --out "$work/trainer_bench_100M.json" \
      --sizes 100M --compile on --time-limit 150 > "$work/bench_100M.log" 2>&1 &
    bench_100M=$!
    CUDA_VISIBLE_DEVICES=3 timeout 170 python3 -m bayes_moe.train.bench --out "$work/trainer_bench_20M.json" \
      --sizes 20M --compile on --time-limit 150 > "$work/bench_20M.log" 2>&1 &
    bench_20M=$!
    build_corpus
    CUDA_VISIBLE_DEVICES=0,1 timeout $((limit - SECONDS)) python3 -m bayes_moe.train.bench_ddp --steps 400 --seed 0 \
      --out "$work/ddp_seed0.json" > "$work/ddp_seed0.log" 2>&1 &
    wait $bench_100M $bench_20M  # GPUs 2 and 3 free
    CUDA_VISIBLE_DEVICES=2,3 timeout $((limit - SECONDS)) python3 -m bayes_moe.train.lr_sweep run --out "$work/sweep" \
      --smoke-runs 0 --time-limit $((limit - 20 - SECONDS)) > "$work/sweep.log" 2>&1
    wait ;;
  ddp-ab)
    limit=${2:?seconds}
    : "${BASE:?set BASE to the baseline tree}"
    nvidia-smi --query-gpu=name,memory.total --format=csv > "$work/gpus.csv"
    build_corpus
    OMP_NUM_THREADS=2 CUDA_VISIBLE_DEVICES=2,3 timeout $((limit - SECONDS)) python3 -m bayes_moe.train.lr_sweep run \
      --out "$work/sweep" --computes 1e16 --factors 0.5 1 2 4 8 --smoke-runs 0 --extra '{"compile": true}' \
      --time-limit $((limit - 20 - SECONDS)) > "$work/sweep.log" 2>&1 &
    ddp="python3 -m bayes_moe.train.bench_ddp --steps 300 --seed 0"
    (cd "$BASE" && CUDA_VISIBLE_DEVICES=0,1 timeout 240 $ddp --out "$work/ddp_base.json") > "$work/ddp_base.log" 2>&1
    CUDA_VISIBLE_DEVICES=0,1 timeout $((limit - SECONDS)) $ddp --out "$work/ddp_this.json" > "$work/ddp_this.log" 2>&1
    wait ;;
  ddp-side-by-side)
    limit=${2:?seconds}
    : "${BASE:?set BASE to the baseline tree}"
    nvidia-smi --query-gpu=name,memory.total --format=csv > "$work/gpus.csv"
    nvidia-smi topo -m > "$work/topo.txt" 2>&1
    for pair in 0,1 2,3; do
      CUDA_VISIBLE_DEVICES=$pair timeout 60 torchrun --nproc-per-node 2 experiments/gpu_node/allreduce.py \
        >> "$work/allreduce.log" 2>&1
    done
    ddp="python3 -m bayes_moe.train.bench_ddp --steps 300 --seed 0"
    (cd "$BASE" && CUDA_VISIBLE_DEVICES=0,1 timeout $((limit - SECONDS)) $ddp --out "$work/ddp_base.json") \
      > "$work/ddp_base.log" 2>&1 &
    CUDA_VISIBLE_DEVICES=2,3 timeout $((limit - SECONDS)) $ddp --out "$work/ddp_this.json" > "$work/ddp_this.log" 2>&1
    wait ;;
  lr-over-r)
    limit=${2:?seconds}
    nvidia-smi --query-gpu=name,memory.total --format=csv > "$work/gpus.csv"
    build_corpus
    OMP_NUM_THREADS=2 timeout $((limit - SECONDS)) python3 -m bayes_moe.train.lr_sweep run --out "$work/sweep" \
      --computes 1e16 --r 0.3 1 3 --factors 0.5 1 2 --smoke-runs 0 --extra '{"compile": true}' \
      --time-limit $((limit - 20 - SECONDS)) > "$work/sweep.log" 2>&1 ;;
  lr-over-r-3e16)
    limit=${2:?seconds}
    nvidia-smi --query-gpu=name,memory.total --format=csv > "$work/gpus.csv"
    build_corpus
    sweep() { OMP_NUM_THREADS=2 timeout $((limit - SECONDS)) python3 -m bayes_moe.train.lr_sweep run --r 0.3 1 3 \
      --smoke-runs 0 --extra '{"compile": true}' --time-limit $((limit - 20 - SECONDS)) "$@"; }
    CUDA_VISIBLE_DEVICES=0,1,2 sweep --out "$work/sweep_3e16" --base /tmp/sweep_3e16 --computes 3e16 --factors 0.5 1 \
      > "$work/sweep_3e16.log" 2>&1 &
    CUDA_VISIBLE_DEVICES=3 sweep --out "$work/sweep_1e16" --base /tmp/sweep_1e16 --computes 1e16 --factors 0.7 \
      --per-gpu 3 > "$work/sweep_1e16.log" 2>&1
    wait ;;
  lr-over-r-3e16-rest)  # the runs lr-over-r-3e16's limit stopped, one a GPU, and 0.7x at r = 0.3
    limit=${2:?seconds}
    build_corpus
    gpu=0
    for run in "1 0.5" "3 0.5" "3 1" "0.3 0.7"; do
      set -- $run
      CUDA_VISIBLE_DEVICES=$gpu OMP_NUM_THREADS=4 timeout $((limit - SECONDS)) python3 -m bayes_moe.train.lr_sweep run \
        --out "$work/sweep_r$1_x$2" --base "/tmp/sweep_r$1_x$2" --computes 3e16 --r "$1" --factors "$2" --per-gpu 1 \
        --smoke-runs 0 --extra '{"compile": true}' --time-limit $((limit - 20 - SECONDS)) > "$work/sweep_r$1_x$2.log" 2>&1 &
      gpu=$((gpu + 1))
    done
    wait ;;
  *) echo "unknown part $part" >&2; exit 2 ;;
esac
status=$?
tar czf "$OUT/$part.tgz" -C "$work" .
ls -la "$work"; tail -n 5 "$work"/*.log
exit $status
