"""The DDP record (experiments/benchmarks/ddp_2gpu.json): one run trained on 1 GPU and on N GPUs at the
same global batch, each through ``train_run`` as ``bayes-moe run ID [--nproc N]`` trains it (torchrun,
NCCL, the trainer's defaults: micro-batch that fits, compiled), in a scratch workspace. Writes
``world_size``, ``tokens_per_s_1``, ``tokens_per_s_2`` (for N = 2; ``tokens_per_s_N`` otherwise),
``val_loss_1``, ``val_loss_N``, the speedup, and both runs' metrics. The corpus: ``$BAYES_MOE_CORPUS``
if set, else the shipped sample. Exit status 1 where a run failed (its reason is in the JSON).

    python3 -m bayes_moe.train.bench_ddp --out $OUT/ddp_2gpu.json          # 55M preset, 100 steps
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from bayes_moe import arch as arch_module
from bayes_moe.ledger import Ledger
from bayes_moe.train.loop import train_run
from bayes_moe.train.settings import read_config

R, SPARSITY = 1.0, 0.9538


def record(preset: str, steps: int, batch: int, nproc: int, device: str, config: dict, workspace: Path,
           out: Path, seed: int = 0) -> dict:
    """Train the same run (``steps`` steps of ``batch`` sequences, the run's ``seed``) with ``nproc``
    processes, then with 1 in this process (in that order, so that the torchrun workers find the GPUs
    empty); ``out`` is rewritten after each, so a run cut off by a time limit keeps what it measured."""
    a = arch_module.solve_preset(R, SPARSITY, preset)
    compute = 3 * a.c_token * batch * a.n_ctx * (steps - 0.5)  # rounds up to exactly ``steps`` steps
    config = {"batch_size": batch, "checkpoint_interval_s": 1e9, **config}
    result = {"world_size": nproc, "preset": preset, "arch": a.summary(), "steps": steps, "batch": batch, "seed": seed,
              "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu", "torch": torch.__version__}
    for world in (nproc, 1):
        with Ledger.open(workspace, create=not (workspace / "ledger.sqlite").exists()) as ledger:
            run_id = ledger.add_run(a.r, compute, a.sparsity, arch=a.to_dict(), seed=seed, label=f"ddp-{world}")
        began = time.perf_counter()
        run = train_run(workspace, run_id, nproc=world, device=device, config=config, progress=False)
        result[f"wall_s_{world}"] = time.perf_counter() - began
        result[f"metrics_{world}"] = run.metrics
        if run.status != "done":
            result[f"failed_{world}"] = run.reason
            _write(out, result)
            return result
        result[f"tokens_per_s_{world}"] = run.metrics["tokens_per_s"]
        result[f"val_loss_{world}"] = run.loss
        print(f"{world} process(es): {run.metrics['tokens_per_s']:.4g} tokens/s, validation loss {run.loss:.4f}, "
              f"micro-batch {run.metrics['micro_batch_size']}, compile {run.metrics['compile']}", flush=True)
        _write(out, result)
    result["speedup"] = result[f"tokens_per_s_{nproc}"] / result["tokens_per_s_1"]
    result["val_loss_difference"] = result[f"val_loss_{nproc}"] - result["val_loss_1"]
    _write(out, result)
    return result


def _write(out: Path, result: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--preset", default="55M")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=112, help="global batch, sequences per step (112)")
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda", help="cpu: tests of this script (gloo)")
    parser.add_argument("--config", type=Path, help="more trainer settings (TOML), e.g. compile = false")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed: initialisation and data order (0)")
    args = parser.parse_args(argv)
    config = read_config(args.config) if args.config else {}
    with tempfile.TemporaryDirectory(prefix="bench_ddp_") as workspace:  # checkpoints stay out of --out
        result = record(args.preset, args.steps, args.batch, args.nproc, args.device, config, Path(workspace), args.out,
                        args.seed)
    return 0 if "speedup" in result else 1


if __name__ == "__main__":
    raise SystemExit(main())
