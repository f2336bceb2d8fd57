"""Many runs at once: start the queue longest first, keep every slot busy, collect runs as they finish.

``run_batch`` is the one loop behind the GPU pool and Slurm (and the simulator, one slot). A failed run
is recorded by its executor (``fail_unfinished``) and the others go on.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path

from bayes_moe.ledger import Ledger, Run

QUEUED = ("proposed", "running")  # the runs a batch executes: new ones, and those a killed campaign left


class Executor(ABC):
    """Runs proposed runs, ``slots`` at a time, through ``start`` and ``poll``."""

    name: str
    slots: int = 1  # runs in flight at most
    poll_s: float = 1.0  # seconds between looks at the runs in flight

    @abstractmethod
    def start(self, workspace: Path, runs: list[Run]) -> list:
        """Begin ``runs`` (proposed, or running ones a killed campaign left); one handle per run."""

    @abstractmethod
    def poll(self, workspace: Path, handle) -> Run | None:
        """The run of ``handle`` once finished (done or failed, recorded in the ledger); None while in flight."""

    def execute(self, workspace: Path, run_id: int) -> Run:
        """Run ``run_id`` alone (``bayes-moe run ID``)."""
        return run_batch(workspace, self, [run_id])[0]


def longest_first(runs: Iterable[Run]) -> list[Run]:
    """The runs by decreasing compute (then id), so that the last runs to start are the short ones."""
    return sorted(runs, key=lambda run: (-run.compute, run.id))


def run_batch(workspace: Path, executor: Executor, run_ids: Iterable[int], *,
              on_result: Callable[[Run], None] | None = None) -> list[Run]:
    """Execute ``run_ids`` with at most ``executor.slots`` in flight; returns the finished runs in the
    order they finished, calling ``on_result`` with each as it arrives."""
    with Ledger.open(workspace) as ledger:
        queue = longest_first(ledger.get(run_id) for run_id in run_ids)
    in_flight: list = []
    finished: list[Run] = []
    while queue or in_flight:
        free = executor.slots - len(in_flight)
        if queue and free > 0:
            starting, queue = queue[:free], queue[free:]
            in_flight += executor.start(workspace, starting)
        arrived = [(handle, run) for handle in in_flight if (run := executor.poll(workspace, handle)) is not None]
        for handle, run in arrived:
            in_flight.remove(handle)
            finished.append(run)
            if on_result is not None:
                on_result(run)
        if in_flight and not arrived:
            time.sleep(executor.poll_s)
    return finished


def execute_queue(workspace: Path, executor: Executor, on_result: Callable[[Run], None] | None = None
                  ) -> tuple[list[int], list[int]]:
    """Execute every queued (proposed or running) run of the ledger as one batch; returns (executed ids,
    failed ids)."""
    with Ledger.open(workspace) as ledger:
        queue = [run.id for run in ledger.runs(QUEUED)]
    finished = run_batch(workspace, executor, queue, on_result=on_result)
    return [run.id for run in finished], [run.id for run in finished if run.status == "failed"]


def fail_unfinished(ledger: Ledger, run_id: int, executor: str, reason: str) -> Run:
    """Fail run ``run_id`` with ``reason`` unless it already finished; returns the run as it stands."""
    run = ledger.get(run_id)
    if run.status == "proposed":
        run = ledger.start(run_id, executor)
    if run.status == "running":
        run = ledger.fail(run_id, reason)
    return run
