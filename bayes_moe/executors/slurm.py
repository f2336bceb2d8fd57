"""The Slurm executor: a batch of runs as one submitit job array; results come back through the campaign's host.

Jobs never open the ledger. The campaign's process builds each run's full spec (``run_spec``: the trained
model's plan, or the simulated world) on its own host, submits the batch at once (``map_array``, at most
``max_jobs`` running), records each run's job id in ``<workspace>/jobs/<run id>.json`` and, as jobs
finish, reads their results from submitit's result files and writes the ledger itself. On a cluster the
workspace (ledger.sqlite) stays on a local disk of that host; only the jobs' folder (``[slurm] folder``)
must be on a filesystem the nodes share. A restarted campaign finds its running runs' job records and
re-attaches to the jobs instead of submitting them again. A job the scheduler killed (or that died
without a result) fails its run with the scheduler's state, or is resubmitted ``retries`` times first.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from bayes_moe.config import load_campaign
from bayes_moe.errors import InputError
from bayes_moe.executors.batch import Executor, fail_unfinished
from bayes_moe.executors.simulator import simulated_loss
from bayes_moe.ledger import Ledger, Run

NAME = "slurm"
PAYLOADS = ("trainer", "simulator")
RECORDS = "jobs"  # <workspace>/jobs/<run id>.json, written by the campaign's host only
DEFAULT_MAX_JOBS = 32
REASON_TAIL = 2000  # characters of a job's error kept as the run's reason
DEAD_STATES = {"FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL",
               "DEADLINE", "INTERRUPTED"}  # the scheduler's (and submitit's local) states of a job that ended
# [slurm] keys (config.SLURM_KEYS) -> submitit's parameters
SUBMITIT_PARAMETERS = {"partition": "slurm_partition", "account": "slurm_account", "gpus_per_job": "gpus_per_node",
                       "cpus_per_job": "cpus_per_task", "mem_gb": "mem_gb", "time_limit_min": "timeout_min",
                       "max_jobs": "slurm_array_parallelism"}


def run_spec(spec: dict) -> dict:
    """What a job executes: its run's result from the spec alone (the ledger is not read or written).
    Returns ``{"loss", "tokens", "metrics"}``, or ``{"reason"}`` for a run that ended failed."""
    if spec["payload"] == "simulator":
        loss = simulated_loss(spec["world"], spec["run_id"], **spec["run"])
        return {"loss": loss, "metrics": {"world": spec["world"]["law"]}}
    from bayes_moe.train.loop import train_spec

    return train_spec(spec["plan"], Path(spec["root"]), device=spec.get("device"))


@dataclass
class _Job:
    run_id: int
    job: object | None  # submitit Job; None once the run is finished
    attempt: int = 0
    finished: Run | None = None


@dataclass
class SlurmExecutor(Executor):
    """One submitit job per run. ``settings``: [slurm] keys (None: the workspace campaign's [slurm]);
    ``cluster``: 'local' runs the jobs as processes here (tests), None lets submitit choose Slurm where
    it is available."""

    payload: str = "trainer"
    cluster: str | None = None
    settings: dict | None = None
    config: dict | None = None  # trainer settings of every run (the payload 'trainer')
    corpus: Path | None = None
    device: str | None = None  # the jobs' torch device (default: cuda if the node has one)
    poll_s: float = 2.0
    name = NAME

    def __post_init__(self):
        if self.payload not in PAYLOADS:
            raise InputError(f"slurm payload {self.payload!r}: choose one of {', '.join(PAYLOADS)}")

    @property
    def slots(self) -> int:
        return int((self.settings or {}).get("max_jobs") or DEFAULT_MAX_JOBS)

    def start(self, workspace: Path, runs: list[Run]) -> list[_Job]:
        workspace = Path(workspace).resolve()
        handles, submitting = [], []
        with Ledger.open(workspace) as ledger:
            for run in runs:
                record = _read_record(workspace, run.id)
                if run.status == "running" and record is not None:  # submitted by an earlier campaign process
                    handles.append(_Job(run.id, self._attach(workspace, record["job_id"]), record["attempt"]))
                    continue
                try:
                    spec = self._spec(workspace, run)
                except InputError as error:  # this run cannot be trained: it fails, the others go on
                    handles.append(_Job(run.id, None, finished=fail_unfinished(ledger, run.id, NAME, str(error))))
                    continue
                if run.status == "proposed":
                    ledger.start(run.id, NAME)
                submitting.append((_Job(run.id, None), spec))
        self._submit(workspace, submitting)
        return handles + [handle for handle, _ in submitting]

    def poll(self, workspace: Path, handle: _Job) -> Run | None:
        if handle.finished is not None:
            return handle.finished
        job = handle.job
        ended = job.paths.result_pickle.exists()
        if not ended and not _died(job):
            return None
        if not ended and handle.attempt < self._settings(workspace).get("retries", 0):
            handle.attempt += 1
            with Ledger.open(workspace) as ledger:
                spec = self._spec(Path(workspace).resolve(), ledger.get(handle.run_id))
            self._submit(Path(workspace).resolve(), [(handle, spec)])
            return None
        with Ledger.open(workspace) as ledger:
            if not ended:
                reason = f"slurm job {job.job_id} ended {job.state} without a result"
            elif (error := job.exception()) is not None:
                reason = f"slurm job {job.job_id}: {str(error)[-REASON_TAIL:]}"
            else:
                result = job.result()
                reason = result.get("reason")
            if reason is not None:
                handle.finished = fail_unfinished(ledger, handle.run_id, NAME, reason)
            elif (run := ledger.get(handle.run_id)).status != "running":
                handle.finished = run  # finished meanwhile by someone else: keep what the ledger says
            else:
                metrics = {**result["metrics"], "job_id": job.job_id, "payload": self.payload}
                handle.finished = ledger.finish(handle.run_id, result["loss"], tokens=result.get("tokens"),
                                                metrics=metrics)
        return handle.finished

    # --- submitting ------------------------------------------------------------------------------

    def _settings(self, workspace: Path) -> dict:
        return self.settings if self.settings is not None else load_campaign(workspace).slurm

    def _folder(self, workspace: Path) -> Path:
        folder = self._settings(workspace).get("folder")
        return Path(folder).resolve() if folder else workspace / RECORDS

    def _executor(self, workspace: Path):
        import submitit

        executor = submitit.AutoExecutor(folder=self._folder(workspace) / "submitit", cluster=self.cluster)
        settings = self._settings(workspace)
        executor.update_parameters(**{SUBMITIT_PARAMETERS[key]: value for key, value in settings.items()
                                      if key in SUBMITIT_PARAMETERS})
        return executor

    def _attach(self, workspace: Path, job_id: str):
        """The submitit job ``job_id`` that an earlier campaign process submitted."""
        import submitit

        folder = self._folder(workspace) / "submitit"
        local = self._executor(workspace).cluster == "local"
        return submitit.local.local.LocalJob(folder, job_id) if local else submitit.SlurmJob(folder, job_id)

    def _submit(self, workspace: Path, submitting: list[tuple[_Job, dict]]) -> None:
        """Submit the specs as one job array and record each run's job id."""
        if not submitting:
            return
        jobs = self._executor(workspace).map_array(run_spec, [spec for _, spec in submitting])
        for (handle, _), job in zip(submitting, jobs):
            handle.job = job
            _write_record(workspace, handle.run_id, {"job_id": job.job_id, "attempt": handle.attempt,
                                                     "payload": self.payload})

    def _spec(self, workspace: Path, run: Run) -> dict:
        """Everything the job of ``run`` needs, built and checked here: bad input raises ``InputError``."""
        if self.payload == "simulator":
            return {"payload": "simulator", "run_id": run.id, "world": dict(load_campaign(workspace).world),
                    "run": {"r": run.r, "compute": run.compute, "sparsity": run.sparsity,
                            "n_active": run.n_active, "tokens": run.tokens, "seed": run.seed}}
        from bayes_moe.train.plan import plan_spec

        return {"payload": "trainer", "run_id": run.id, "device": self.device,
                "plan": plan_spec(run, config=self.config, corpus=self.corpus, workspace=workspace),
                "root": str(self._folder(workspace))}  # checkpoints go to <root>/checkpoints/<run id>


def _died(job) -> bool:
    """Whether ``job`` ended without a result: the scheduler says so, or (a local job re-attached after a
    restart, which has no process handle) its process is gone."""
    state = job.state
    if state in DEAD_STATES:
        return True
    if state == "NO PROCESS AND NO RESULT":  # submitit's local job: its id is the process id
        try:
            os.kill(int(job.job_id), 0)
        except ProcessLookupError:
            return True
    return False


def _read_record(workspace: Path, run_id: int) -> dict | None:
    path = workspace / RECORDS / f"{run_id}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _write_record(workspace: Path, run_id: int, record: dict) -> None:
    """Written to a temporary file and renamed: a kill leaves the old record or the new one."""
    path = workspace / RECORDS / f"{run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record))
    temporary.replace(path)
