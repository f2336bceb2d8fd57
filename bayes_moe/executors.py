"""Executors turn a proposed run into a measured loss in the ledger.

One small interface, ``execute(workspace, run_id) -> Run``: the executor moves the run
proposed -> running -> done | failed itself, so the ledger is the only state and a run left
'running' by a killed process is picked up again by the next ``execute`` of the same run.

- ``simulator``: the campaign's ground-truth world (``[world]`` of campaign.toml); the noise of a run
  is seeded by (world seed, run id), so re-executing a run gives the same loss.
- ``trainer``: the torch trainer in a subprocess (``bayes-moe run ID --executor trainer``, which
  launches torchrun for several GPUs), so a crash or an out-of-memory kill cannot take the campaign down.
- ``slurm``: one submitit job per run; the job itself writes to the ledger, so results land even when
  the campaign process was restarted meanwhile. Tested with submitit's local executor.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayes_moe.config import load_campaign
from bayes_moe.errors import InputError
from bayes_moe.ledger import Ledger, Run

EXECUTORS = ("simulator", "trainer", "slurm")
STDERR_TAIL = 2000  # characters of a failed subprocess's stderr kept as the run's reason


def simulate_run(workspace: Path, run_id: int) -> Run:
    """Answer run ``run_id`` from the campaign's simulated world."""
    from bayes_moe.simulate import World

    world = World.from_config(dict(load_campaign(workspace).world))
    with Ledger.open(workspace) as ledger:
        run = ledger.get(run_id)
        if run.status == "proposed":
            run = ledger.start(run_id, "simulator")
        elif run.status != "running":
            raise InputError(f"run {run_id} is {run.status}, not proposed: nothing to execute")
        rng = np.random.default_rng([world.seed, run_id])
        loss = float(world.loss(run.r, run.compute, run.sparsity, n_active=run.n_active, tokens=run.tokens,
                                rng=rng))
        return ledger.finish(run_id, loss, metrics={"world": world.law})


@dataclass
class SimulatorExecutor:
    name = "simulator"

    def execute(self, workspace: Path, run_id: int) -> Run:
        return simulate_run(workspace, run_id)


@dataclass
class TrainerExecutor:
    """The torch trainer in a child process; a non-zero exit that left the run 'running' fails it
    with the tail of the child's stderr, so a broken run is recorded once, not retried forever."""

    nproc: int = 1
    device: str | None = None
    name = "trainer"

    def command(self, workspace: Path, run_id: int) -> list[str]:
        command = [sys.executable, "-m", "bayes_moe.cli", "--workspace", str(workspace), "run", str(run_id),
                   "--executor", "trainer", "--nproc", str(self.nproc)]
        return command + (["--device", self.device] if self.device else [])

    def execute(self, workspace: Path, run_id: int) -> Run:
        child = subprocess.run(self.command(workspace, run_id), stderr=subprocess.PIPE, text=True)
        with Ledger.open(workspace) as ledger:
            if child.returncode != 0:
                reason = f"trainer exited with code {child.returncode}: {child.stderr[-STDERR_TAIL:]}"
                return fail_unfinished(ledger, run_id, self.name, reason)
            return ledger.get(run_id)


@dataclass
class SlurmExecutor:
    """One submitit job per run. ``cluster='local'`` runs jobs as local processes (tests, laptops);
    ``None`` lets submitit pick Slurm where it is available. The job id is kept in
    ``<workspace>/jobs/<run id>.json`` so a restarted campaign waits for the job instead of
    submitting the run again."""

    payload: str = "trainer"  # what the job executes: 'trainer' or 'simulator'
    cluster: str | None = None
    poll_s: float = 2.0
    slurm_parameters: dict | None = None
    name = "slurm"

    def execute(self, workspace: Path, run_id: int) -> Run:
        import submitit

        workspace = Path(workspace).resolve()  # the job may start in another directory
        folder = workspace / "jobs"
        record = folder / f"{run_id}.json"
        executor = submitit.AutoExecutor(folder=folder / "submitit", cluster=self.cluster)
        if record.exists():  # submitted by an earlier campaign process: wait for that job
            job_class = submitit.LocalJob if executor.cluster == "local" else submitit.SlurmJob
            job = job_class(folder / "submitit", json.loads(record.read_text())["job_id"])
        else:
            executor.update_parameters(**(self.slurm_parameters or {}))
            job = executor.submit(_PAYLOADS[self.payload], workspace, run_id)
            _write_atomically(record, json.dumps({"job_id": job.job_id, "payload": self.payload}))
        return self._wait(workspace, run_id, job)

    def _wait(self, workspace: Path, run_id: int, job) -> Run:
        """Poll the ledger, the only state, until the run is finished; a job that ended without
        finishing it (an exception, a kill, a node failure) fails the run with the job's reason."""
        with Ledger.open(workspace) as ledger:
            while (run := ledger.get(run_id)).status in ("proposed", "running"):
                if _job_ended(job):
                    ended = job.paths.result_pickle.exists()
                    reason = f"job {job.job_id}: {job.exception() if ended else job.state}"
                    return fail_unfinished(ledger, run_id, self.name, reason)
                time.sleep(self.poll_s)
        return run


def _job_ended(job) -> bool:
    """True once submitit has the job's result (or error), or the scheduler reports it dead. A local job
    re-attached after a restart has no process handle: only its result file tells, so keep polling."""
    return job.paths.result_pickle.exists() or job.state in _DEAD_JOB_STATES


_DEAD_JOB_STATES = {"FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "INTERRUPTED"}


def fail_unfinished(ledger: Ledger, run_id: int, executor: str, reason: str) -> Run:
    """Fail run ``run_id`` with ``reason`` unless it already finished; returns the run as it stands."""
    run = ledger.get(run_id)
    if run.status == "proposed":
        run = ledger.start(run_id, executor)
    if run.status == "running":
        run = ledger.fail(run_id, reason)
    return run


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def _train_payload(workspace: Path, run_id: int) -> Run:
    from bayes_moe.train.loop import train_run

    return train_run(workspace, run_id)


_PAYLOADS = {"trainer": _train_payload, "simulator": simulate_run}


def make_executor(name: str, **options):
    """The executor called ``name``; ``options`` go to its constructor (e.g. nproc for the trainer)."""
    kinds = {"simulator": SimulatorExecutor, "trainer": TrainerExecutor, "slurm": SlurmExecutor}
    if name not in kinds:
        raise InputError(f"--executor {name!r}: choose one of {', '.join(EXECUTORS)}")
    return kinds[name](**options)
