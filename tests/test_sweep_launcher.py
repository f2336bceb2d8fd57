"""The lr sweep trains through the executors' trainer pool: GPUs shared by several runs, each run's own
trainer settings, and a deadline that stops what is still going (train/lr_sweep.py, executors/pool.py)."""

import sys
import time

import pytest

from bayes_moe.errors import InputError
from bayes_moe.executors.batch import run_batch
from bayes_moe.executors.pool import TrainerPool
from bayes_moe.ledger import Ledger
from bayes_moe.train.lr_sweep import SweepPool


@pytest.fixture
def workspace(tmp_path):
    with Ledger.open(tmp_path / "ws", create=True) as ledger:
        for compute in (4e18, 3e18, 2e18, 1e18):  # ids 1-4, longest first
            ledger.add_run(0.8, compute, 0.9538)
    return tmp_path / "ws"


def child(monkeypatch, script: str) -> None:
    """Every child of the pool runs ``script`` instead of the trainer."""
    monkeypatch.setattr(TrainerPool, "command", lambda self, workspace, run_id, slot: [sys.executable, "-c", script])


def test_runs_per_gpu_shares_each_gpu_and_the_first_runs_spread_over_them(workspace, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    child(monkeypatch, "import os; print('GPUS', os.environ['CUDA_VISIBLE_DEVICES'])")
    pool = TrainerPool(gpus="all", runs_per_gpu=2)
    assert pool.slots == 4
    run_batch(workspace, pool, [1, 2, 3, 4])
    seen = {i: (workspace / "logs" / f"{i}.log").read_text().split()[1] for i in (1, 2, 3, 4)}
    assert seen == {1: "0", 2: "1", 3: "0", 4: "1"}  # the two longest runs do not share a GPU
    with pytest.raises(InputError, match="runs_per_gpu"):
        TrainerPool(slots=2, runs_per_gpu=2)


def test_each_sweep_run_gets_its_own_trainer_settings(workspace):
    config = workspace / "configs" / "1.toml"
    pool = SweepPool(slots=1, configs={(workspace, 1): config})
    assert pool.command(workspace, 1, 0)[-2:] == ["--config", str(config)]
    assert "--config" not in pool.command(workspace, 2, 0)


def test_the_deadline_stops_what_runs_fails_its_run_and_leaves_the_queue_proposed(workspace, monkeypatch):
    child(monkeypatch, "import time; time.sleep(60)")
    pool = SweepPool(slots=1, poll_s=0.1, deadline=time.monotonic() + 1.0)
    began = time.monotonic()
    run_batch(workspace, pool, [1, 2])
    assert time.monotonic() - began < 10  # SIGTERM ended the child, well before its 60 s
    assert pool.stopped == ["ws/1", "ws/2 (never started)"]
    with Ledger.open(workspace) as ledger:
        stopped, queued = ledger.get(1), ledger.get(2)
    assert stopped.status == "failed" and "exited with code -15" in stopped.reason
    assert queued.status == "proposed"
