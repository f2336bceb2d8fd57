"""The simulator executor: the campaign's ground-truth world answers a run at once (one slot)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bayes_moe.config import load_campaign
from bayes_moe.errors import InputError
from bayes_moe.executors.batch import Executor
from bayes_moe.ledger import Ledger, Run

NAME = "simulator"


def simulated_loss(world: dict, run_id: int, r: float, compute: float, sparsity: float, *,
                   n_active=None, tokens=None, seed=None) -> float:
    """The loss the world ``world`` (``[world]`` of a campaign) gives run ``run_id`` of trainer ``seed`` (the
    ledger's; the world's ``seed_offset`` shifts every run of a seed alike); its noise is seeded by (world
    seed, run id), so the same run always gets the same loss."""
    from bayes_moe.simulate import World

    world = World.from_config(dict(world))
    rng = np.random.default_rng([world.seed, run_id])
    return float(world.loss(r, compute, sparsity, n_active=n_active, tokens=tokens, rng=rng, trainer_seed=seed))


def simulate_run(workspace: Path, run_id: int) -> Run:
    """Answer run ``run_id`` (proposed, or left running) from the campaign's simulated world."""
    world = dict(load_campaign(workspace).world)
    with Ledger.open(workspace) as ledger:
        run = ledger.get(run_id)
        if run.status == "proposed":
            run = ledger.start(run_id, NAME)
        elif run.status != "running":
            raise InputError(f"run {run_id} is {run.status}, not proposed: nothing to execute")
        loss = simulated_loss(world, run_id, run.r, run.compute, run.sparsity, n_active=run.n_active,
                              tokens=run.tokens, seed=run.seed)
        return ledger.finish(run_id, loss, metrics={"world": world["law"]})


class SimulatorExecutor(Executor):
    """Answers each run as it starts; the handle is the finished run."""

    name = NAME

    def start(self, workspace: Path, runs: list[Run]) -> list[Run]:
        return [simulate_run(workspace, run.id) for run in runs]

    def poll(self, workspace: Path, handle: Run) -> Run:
        return handle
