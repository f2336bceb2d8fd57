"""Executors turn proposed runs into measured losses in the ledger, many at once.

Every executor speaks the interface that ``batch.run_batch`` drives: ``slots`` (runs in flight at
most), ``start(workspace, runs)`` (begin them, returns one handle per run) and ``poll(workspace,
handle)`` (the run once finished, done or failed; None while in flight). ``run_batch`` starts the
queue longest first, collects runs in the order they finish and keeps ``slots`` busy; a run that
fails is recorded and the others go on. The ledger is the only state: a run left 'running' by a
killed campaign is picked up again (resumed, or re-attached to its job) by the next batch.

- ``simulator`` (simulator.py): the campaign's ground-truth world (``[world]`` of campaign.toml),
  seeded by (world seed, run id), so re-executing a run gives the same loss.
- ``trainer`` (pool.py): ``bayes-moe run ID --executor trainer`` children, one per GPU (or group of
  GPUs through torchrun), pinned with CUDA_VISIBLE_DEVICES; or K side by side on CPU.
- ``slurm`` (slurm.py): one submitit job per run, submitted together as a job array; jobs get the
  run's full spec and return its result through submitit's result file; only the campaign writes
  the ledger.

This module is light (names only), so the CLI's ``--help`` does not import torch or submitit.
"""

from __future__ import annotations

from bayes_moe.errors import InputError

EXECUTORS = ("simulator", "trainer", "slurm")
DEFAULT_EXECUTOR = "simulator"


def make_executor(name: str, **options):
    """The executor called ``name``; ``options`` go to its constructor (e.g. ``slots`` for the trainer)."""
    if name == "simulator":
        from bayes_moe.executors.simulator import SimulatorExecutor as kind
    elif name == "trainer":
        from bayes_moe.executors.pool import TrainerPool as kind
    elif name == "slurm":
        from bayes_moe.executors.slurm import SlurmExecutor as kind
    else:
        raise InputError(f"--executor {name!r}: choose one of {', '.join(EXECUTORS)}")
    return kind(**options)
