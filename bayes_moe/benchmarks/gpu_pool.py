"""GPU-pool benchmark: a batch of proposed runs of mixed sizes through the trainer pool, one run per GPU.

    python3 -m bayes_moe.benchmarks.gpu_pool --out $OUT                  # every GPU, 16 runs (~3 min on 4 H100s)
    python3 -m bayes_moe.benchmarks.gpu_pool --cpu-slots 2 --runs 4 --out /tmp/x   # the same on a CPU, tiny runs

A fresh workspace gets ``--runs`` proposed runs (the 20M and 30M presets' shapes, r and sparsity varied, 1x-3x
the tokens of the smallest: 10-30 s each on an H100 at the default ``--scale``), then ``run_batch`` trains them with ``TrainerPool`` (longest
first, each child pinned to its GPU). Writes ``gpu_pool.json``: ``wall_s_ngpu`` (the batch's wall time),
``wall_s_1gpu`` (the sum of the runs' wall times, each run alone on its GPU: what one GPU would take in
series), their ratio, and the GPUs' busy fraction (the share of ``gpus x wall_s_ngpu`` a run held a GPU; with
nvidia-smi, also its mean utilisation). Needs torch only (no PyMC). The corpus: ``$BAYES_MOE_CORPUS`` if set,
else the shipped sample.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bayes_moe import arch, flops
from bayes_moe.executors.batch import run_batch
from bayes_moe.executors.pool import TrainerPool
from bayes_moe.ledger import Ledger
from bayes_moe.workspace import create_workspace

# (label, n_layers, n_heads, d_model, n_ctx): the 20M and 30M presets' shapes (their batch and lr), and on a
# CPU the trainer tests' tiny shape (batch and lr from TINY_TRAINER)
GPU_SHAPES = (("20M", 8, 8, 384, 2048), ("30M", 8, 8, 512, 2048))
CPU_SHAPES = (("tiny", 2, 2, 32, 64),)
GPU_R, CPU_R = (0.5, 1.0, 2.0), (1.0,)  # tiny widths cannot round to r = 0.5 or 2 within 2%
SPARSITIES = (0.8235, 0.9091, 0.9538)
GPU_TOKENS = 3e6  # tokens of the smallest run at scale 1 (~10 s of a 20M run, eager, on an H100)
CPU_TOKENS = 16 * 64 * 2  # two steps of 16 tiny sequences
TRAINER = {"compile": False, "checkpoint_interval_s": 1e9, "eval_tokens": 1 << 16}  # eager: no compile time
TINY_TRAINER = {"batch_size": 16, "lr": 1e-2, "eval_tokens": 4096}


def add_runs(workspace: Path, n: int, shapes: tuple, r_values: tuple, smallest_tokens: float) -> list[int]:
    """``n`` proposed runs in the ledger: shapes, r and sparsity in turn, tokens from 1x to 3x
    ``smallest_tokens`` so that the runs' lengths differ."""
    ids = []
    with Ledger.open(workspace) as ledger:
        for i in range(n):
            label, n_layers, n_heads, d_model, n_ctx = shapes[i % len(shapes)]
            solved = arch.solve(r_values[i % len(r_values)], arch.nominal_c_token(n_layers, d_model, n_ctx),
                                SPARSITIES[i % len(SPARSITIES)], n_layers=n_layers, n_heads=n_heads, d_model=d_model,
                                n_ctx=n_ctx)
            tokens = smallest_tokens * (1 + 2 * (i % 5) / 4)
            ids.append(ledger.add_run(solved.r, flops.TRAIN_FACTOR * solved.c_token * tokens, solved.sparsity,
                                      arch=solved.to_dict(), tokens=tokens, n_active=solved.n_active,
                                      n_total=solved.n_total, label=f"gpu-pool:{label}"))
    return ids


class Utilisation(threading.Thread):
    """nvidia-smi's utilisation of every GPU, sampled each second while the batch runs (none without it)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: dict[int, list[float]] = {}
        self.stopped = threading.Event()

    def run(self):
        if shutil.which("nvidia-smi") is None:
            return
        while not self.stopped.wait(1.0):
            query = subprocess.run(["nvidia-smi", "--query-gpu=index,utilization.gpu", "--format=csv,noheader,nounits"],
                                   capture_output=True, text=True)
            for line in query.stdout.splitlines():
                index, used = (part.strip() for part in line.split(","))
                self.samples.setdefault(int(index), []).append(float(used) / 100)

    def means(self) -> dict[int, float]:
        return {gpu: sum(v) / len(v) for gpu, v in self.samples.items() if v}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", default="all", help="GPUs of the pool: all or ids like 0,1,2,3 (all)")
    parser.add_argument("--cpu-slots", type=int, help="no GPUs: this many tiny runs side by side on the CPU")
    parser.add_argument("--runs", type=int, default=16, help="proposed runs (16)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every run's tokens (1)")
    parser.add_argument("--time-limit", type=float, default=420, help="seconds before the batch is abandoned (420)")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "experiments/benchmarks")))
    args = parser.parse_args(argv)

    on_cpu = args.cpu_slots is not None
    workspace = Path(tempfile.mkdtemp(prefix="gpu-pool-")) / "ws"
    create_workspace(workspace)  # the default campaign
    ids = add_runs(workspace, args.runs, *((CPU_SHAPES, CPU_R) if on_cpu else (GPU_SHAPES, GPU_R)),
                   (CPU_TOKENS if on_cpu else GPU_TOKENS) * args.scale)
    config = workspace / "train.toml"
    settings = {**TRAINER, **(TINY_TRAINER if on_cpu else {})}
    config.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items()))  # TOML
    pool = (TrainerPool(slots=args.cpu_slots, device="cpu", config=config) if on_cpu
            else TrainerPool(gpus=args.gpus, config=config))
    print(f"{len(ids)} runs on {pool.slots} {'CPU slots' if on_cpu else 'GPUs'} (workspace {workspace})", flush=True)

    def give_up(*_):
        raise TimeoutError(f"the batch took more than {args.time_limit:g} s")

    signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, args.time_limit)
    utilisation = Utilisation()
    utilisation.start()
    began = time.perf_counter()
    timed_out = None
    try:
        run_batch(workspace, pool, ids, on_result=lambda run: print(
            f"run {run.id} {run.status} in {pool.run_seconds[run.id]:.1f} s", flush=True))
    except TimeoutError as error:
        timed_out = str(error)
    wall = time.perf_counter() - began
    signal.setitimer(signal.ITIMER_REAL, 0)
    utilisation.stopped.set()

    with Ledger.open(workspace) as ledger:
        runs = [ledger.get(run_id) for run_id in ids]
    per_run = [{"id": run.id, "label": run.label, "tokens": run.tokens, "status": run.status,
                "wall_s": pool.run_seconds.get(run.id), "train_wall_s": run.metrics.get("wall_s"),
                "tokens_per_s": run.metrics.get("tokens_per_s"), "reason": run.reason} for run in runs]
    serial = sum(pool.run_seconds.values())
    result = {
        "gpus": 0 if on_cpu else pool.slots, "cpu_slots": pool.slots if on_cpu else 0,
        "device": runs[0].metrics.get("device") if runs[0].metrics.get("device") else None,
        "runs": len(ids), "done": sum(run.status == "done" for run in runs),
        "wall_s_1gpu": serial, "wall_s_1gpu_is": "sum of the runs' wall times, each run alone on its GPU",
        "wall_s_ngpu": wall, "speedup": serial / wall,
        "busy_fraction": serial / (pool.slots * wall),
        "gpu_utilisation": utilisation.means(),
        "trainer": settings, "scale": args.scale, "timed_out": timed_out, "per_run": per_run,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_pool.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['done']}/{len(ids)} done; 1-GPU sum {serial:.1f} s, pool {wall:.1f} s: {result['speedup']:.2f}x, "
          f"busy {result['busy_fraction']:.0%} -> {args.out / 'gpu_pool.json'}")
    return 0 if result["done"] == len(ids) and not timed_out else 1


if __name__ == "__main__":
    sys.exit(main())
