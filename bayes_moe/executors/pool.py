"""The trainer pool: ``bayes-moe run ID --executor trainer`` children, one per slot.

On a GPU machine a slot is one GPU, or a group of ``gpus_per_run`` GPUs that one run spans through
torchrun; each child sees only its slot's GPUs (``CUDA_VISIBLE_DEVICES``). Without ``gpus``, ``slots``
children run side by side unpinned (several tiny runs on a CPU). A child writes its own run to the
ledger (same host); one that exits without finishing it (killed, out of memory, bad input) fails the run
with its exit status and the tail of its log (``<workspace>/logs/<run id>.log``). Children die with the
campaign (Linux's parent-death signal), so a restarted campaign resumes their runs from their
checkpoints instead of racing a stray child.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bayes_moe.errors import InputError
from bayes_moe.executors.batch import Executor, fail_unfinished
from bayes_moe.ledger import Ledger, Run

NAME = "trainer"
LOG_TAIL = 2000  # characters of a failed child's log kept as the run's reason
LOGS = "logs"
PR_SET_PDEATHSIG = 1


def gpu_groups(gpus: str, per_run: int = 1) -> tuple[tuple[int, ...], ...]:
    """The GPU groups of ``--gpus all|0,1,...`` and ``--gpus-per-run N``: consecutive ids, N per group."""
    if not isinstance(per_run, int) or per_run < 1:
        raise InputError(f"--gpus-per-run must be a positive integer, got {per_run!r}")
    import torch

    available = torch.cuda.device_count()
    if available == 0:
        raise InputError("--gpus: torch sees no CUDA GPU on this machine; to run several runs side by side "
                         "on the CPU, use --slots K")
    if gpus == "all":
        ids = list(range(available))
    else:
        try:
            ids = [int(part) for part in gpus.split(",")]
        except ValueError:
            raise InputError(f"--gpus must be 'all' or GPU ids like 0,1,2,3, got {gpus!r}") from None
        if len(set(ids)) != len(ids) or not all(0 <= i < available for i in ids):
            raise InputError(f"--gpus {gpus}: ids must be distinct, among 0..{available - 1} (the GPUs torch sees)")
    if len(ids) % per_run:
        raise InputError(f"--gpus-per-run {per_run} does not divide the {len(ids)} GPU(s) of --gpus {gpus}")
    return tuple(tuple(ids[i:i + per_run]) for i in range(0, len(ids), per_run))


def visible_devices(ids: tuple[int, ...]) -> str:
    """``CUDA_VISIBLE_DEVICES`` for a child on the GPUs this process numbers ``ids``: torch numbers the GPUs
    its own ``CUDA_VISIBLE_DEVICES`` lets it see from 0, so under ``2,3`` id 0 is GPU 2 (a child told "0"
    would land on GPU 0, beside whatever runs there)."""
    mine = os.environ.get("CUDA_VISIBLE_DEVICES")
    if mine is None:
        return ",".join(map(str, ids))
    names = [name.strip() for name in mine.split(",") if name.strip()]
    return ",".join(names[i] for i in ids)


@dataclass
class _Child:
    run_id: int
    slot: tuple[int, ...] | int
    process: subprocess.Popen
    log: Path
    began: float


@dataclass
class TrainerPool(Executor):
    """Trains runs in child processes, one per slot: GPU groups from ``gpus`` ('all' or '0,1,...', with
    ``gpus_per_run`` GPUs each; ``runs_per_gpu`` children on each group), else ``slots`` unpinned children of
    ``nproc`` processes each."""

    gpus: str | None = None
    gpus_per_run: int = 1
    runs_per_gpu: int = 1  # with gpus: children sharing each GPU (group); tiny runs leave a GPU mostly idle
    slots: int = 1
    nproc: int = 1
    device: str | None = None  # 'cpu' or 'cuda'; None: the child's default (cuda if available)
    config: Path | None = None  # trainer settings TOML for every run
    corpus: Path | None = None
    poll_s: float = 0.5
    run_seconds: dict[int, float] = field(default_factory=dict)  # wall time of each finished child
    name = NAME

    def __post_init__(self):
        for flag, value in (("--slots", self.slots), ("--nproc", self.nproc), ("runs_per_gpu", self.runs_per_gpu)):
            if not isinstance(value, int) or value < 1:
                raise InputError(f"{flag} must be a positive integer, got {value!r}")
        if self.gpus is not None:
            if self.slots != 1 or self.nproc != 1:
                raise InputError("--gpus gives one slot per GPU (group): it takes --gpus-per-run, not --slots "
                                 "or --nproc")
            if self.device == "cpu":
                raise InputError("--gpus with --device cpu: GPUs are for CUDA runs")
            groups = gpu_groups(self.gpus, self.gpus_per_run)
            self._free = [group for _ in range(self.runs_per_gpu) for group in groups]  # the first runs spread out
            self.slots = len(self._free)
        else:
            if self.runs_per_gpu != 1:
                raise InputError("runs_per_gpu shares the GPUs of --gpus; without them, --slots sets the runs")
            self._free = list(range(self.slots))
        from bayes_moe.train.data import corpus_folder

        corpus_folder(self.corpus)  # a corpus that is not there fails the campaign, not each of its runs

    def command(self, workspace: Path, run_id: int, slot) -> list[str]:
        """The child that trains ``run_id`` in ``slot`` (a GPU group, or an unpinned slot number)."""
        device = "cuda" if isinstance(slot, tuple) else self.device
        command = [sys.executable, "-m", "bayes_moe.cli", "--workspace", str(workspace), "run", str(run_id),
                   "--executor", "trainer", "--nproc", str(self.processes(slot)), "--json"]
        for flag, value in (("--device", device), ("--config", self.config), ("--corpus", self.corpus)):
            if value is not None:
                command += [flag, str(value)]
        return command

    def processes(self, slot) -> int:
        """Processes of the child in ``slot``: one per GPU of a pinned group, else ``nproc``."""
        return len(slot) if isinstance(slot, tuple) else self.nproc

    def environment(self, slot) -> dict[str, str]:
        """A child's environment: its GPUs (a pinned slot), and its share of the CPU cores as
        ``OMP_NUM_THREADS`` unless the user set it. Left to torch's default, every child (and each of its
        torchrun processes) would start a thread per core: K children on a 2-core machine then wait on
        each other's OpenMP barriers (a tiny model's step ~9x slower with two threads than with one)."""
        environment = dict(os.environ)
        if isinstance(slot, tuple):
            environment["CUDA_VISIBLE_DEVICES"] = visible_devices(slot)
        cores = len(os.sched_getaffinity(0))
        environment.setdefault("OMP_NUM_THREADS", str(max(1, cores // (self.slots * self.processes(slot)))))
        return environment

    def start(self, workspace: Path, runs: list[Run]) -> list[_Child]:
        children = []
        for run in runs:
            slot = self._free.pop(0)
            environment = self.environment(slot)
            log = Path(workspace) / LOGS / f"{run.id}.log"
            log.parent.mkdir(exist_ok=True)
            with open(log, "w") as out:
                process = subprocess.Popen(self.command(workspace, run.id, slot), stdout=out, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, env=environment, preexec_fn=_die_with_parent)
            children.append(_Child(run.id, slot, process, log, time.monotonic()))
        return children

    def poll(self, workspace: Path, child: _Child) -> Run | None:
        code = child.process.poll()
        if code is None:
            return None
        self._free.append(child.slot)
        self.run_seconds[child.run_id] = time.monotonic() - child.began
        with Ledger.open(workspace) as ledger:
            run = ledger.get(child.run_id)
            if run.status in ("done", "failed"):
                return run
            tail = child.log.read_text(errors="replace")[-LOG_TAIL:]
            return fail_unfinished(ledger, child.run_id, self.name,
                                   f"trainer exited with code {code} leaving the run {run.status}: {tail}")


def _die_with_parent() -> None:
    """In the child before it runs: be killed when the campaign process dies (Linux; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
