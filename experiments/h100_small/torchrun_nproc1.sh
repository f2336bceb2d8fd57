#!/usr/bin/env bash
# Issue #7 on one GPU: train run $2 of workspace $1 through torchrun (--standalone --nproc-per-node=1,
# NCCL process group on cuda), i.e. the launcher `bayes-moe run --nproc N` uses for N > 1.
# `bayes-moe run --nproc 1` itself trains in-process (train_run skips torchrun when nproc == 1), so this
# script calls train_run with _train swapped for launch_ranks(..., nproc=1): same checks, same plan file, then
# torchrun starts `python -m bayes_moe.train.loop WORKSPACE ID --device cuda` as rank 0 of a world of 1.
# Usage (device machine, repository root): experiments/h100_small/torchrun_nproc1.sh WORKSPACE ID
set -eu
python3 - "$1" "$2" <<'PY'
import sys
from pathlib import Path
import bayes_moe.train.loop as loop
from bayes_moe.train.launch import launch_ranks
from bayes_moe.train.settings import read_config
workspace, run_id = Path(sys.argv[1]), int(sys.argv[2])
loop._train = lambda ws, rid, plan, device, progress: launch_ranks(ws, rid, device, 1, progress)
run = loop.train_run(workspace, run_id, nproc=1, device="cuda", corpus=Path("corpus"),
                     config=read_config("experiments/h100_small/train.toml"), progress=False)
print("torchrun run", run.id, run.status, "loss", run.loss, "world_size", run.metrics.get("world_size"),
      "tokens/s", run.metrics.get("tokens_per_s"))
PY
