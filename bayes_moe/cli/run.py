"""``run``: execute one proposed run (torch trainer here, simulator, or Slurm) and record its loss.
Exit status 0 for a done run, 1 for a failed one (its reason printed), 2 for bad input (nothing changed)."""

from __future__ import annotations

import argparse

from bayes_moe.cli.flags import trainer_flags
from bayes_moe.cli.output import emit, workspace_path
from bayes_moe.executors import EXECUTORS


def _cmd_run(args: argparse.Namespace) -> int:
    if args.executor == "trainer":  # in this process: the trainer executor of a campaign calls this command
        from bayes_moe.train.loop import train_run  # torch loads only for this command
        from bayes_moe.train.settings import read_config

        config = read_config(args.config) if args.config else None
        run = train_run(workspace_path(args), args.id, nproc=args.nproc, device=args.device, config=config,
                        corpus=args.corpus, progress=not args.json)
    else:
        from bayes_moe.executors import make_executor

        run = make_executor(args.executor).execute(workspace_path(args), args.id)
    payload = run.to_dict()
    if run.status == "done" and "train_loss" in run.metrics:
        m = run.metrics
        text = (f"run {run.id} done: validation loss {run.loss:.4f} nats, train loss {m['train_loss']:.4f}, "
                f"{m['tokens']:.4g} tokens at {m['tokens_per_s']:.4g} tokens/s"
                + (f", MFU {m['mfu']:.1%}" if "mfu" in m else "") + f", {m['wall_s']:.1f} s")
    elif run.status == "done":
        text = f"run {run.id} done ({run.executor}): loss {run.loss:.4f} nats"
    else:
        text = f"run {run.id} {run.status}" + (f": {run.reason}" if run.reason else "")
    emit(args, payload, text)
    return 0 if run.status == "done" else 1


def register(command) -> None:
    p = command("run", _cmd_run, "train a proposed run and record its loss", reports=True)
    p.add_argument("id", type=int, help="run id in the ledger")
    p.add_argument("--executor", choices=EXECUTORS, default="trainer",
                   help="who runs it: the torch trainer here, the campaign's simulated world, or a submitit job")
    p.add_argument("--nproc", type=int, default=1, help="processes (GPUs) through torchrun")
    trainer_flags(p)
