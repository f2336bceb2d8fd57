"""The ledger under real concurrent processes and under kill -9: nothing committed is lost, nothing
is half-written, and the database stays intact."""

import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bayes_moe.ledger import Ledger
from helpers_ledger_writer import expected_run

WRITER = Path(__file__).with_name("helpers_ledger_writer.py")


def ready_writer(*args) -> subprocess.Popen:
    """A writer process that has opened the ledger and waits for ``go``."""
    process = subprocess.Popen([sys.executable, str(WRITER), *map(str, args)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(WRITER.parent.parent)})
    assert process.stdout.readline() == "ready\n"
    return process


def go(process: subprocess.Popen) -> subprocess.Popen:
    process.stdin.write("go\n")
    process.stdin.close()
    return process


def start_writer(*args) -> subprocess.Popen:
    return go(ready_writer(*args))


def kill(process: subprocess.Popen) -> list[str]:
    """SIGKILL ``process``; the lines it printed (each printed after a commit)."""
    process.send_signal(signal.SIGKILL)
    output = process.stdout.read()
    process.wait()
    return output.splitlines()


def committed(lines: list[str]) -> dict[int, str]:
    """Run id -> the last status the writer reported as committed."""
    reported = {}
    for line in lines:
        event, run_id = line.split()
        reported[int(run_id)] = {"added": "proposed", "started": "running", "done": "done"}[event]
    return reported


def check_integrity(path: Path) -> None:
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    db.close()


def check_churned_row(run, worker: int) -> None:
    """A row of the churn writer: its fields are the ones written, its status fields consistent."""
    index = int(run.label.split("-")[1])
    expected = expected_run(worker, index)
    assert (run.r, run.compute, run.sparsity, run.seed) == (expected["r"], expected["compute"],
                                                            expected["sparsity"], expected["seed"])
    assert run.executor == (None if run.status == "proposed" else expected["executor"])
    assert run.loss == (expected["loss"] if run.status == "done" else None)


@pytest.fixture
def workspace(tmp_path):
    Ledger.open(tmp_path, create=True).close()
    return tmp_path


def test_four_processes_writing_at_once_lose_nothing(workspace):
    n_workers, n_runs = 4, 100
    writers = [go(writer) for writer in [ready_writer("churn", workspace, w, n_runs) for w in range(n_workers)]]
    outputs = [writer.stdout.read().splitlines() for writer in writers]
    for writer in writers:
        writer.wait()
    assert [writer.returncode for writer in writers] == [0] * n_workers
    check_integrity(workspace / "ledger.sqlite")
    with Ledger.open(workspace) as ledger:
        runs = ledger.runs()
        assert len(runs) == n_workers * n_runs
        assert len({run.label for run in runs}) == n_workers * n_runs  # each run exactly once
        workers_by_id = [run.label.split("-")[0] for run in runs]
        switches = sum(a != b for a, b in zip(workers_by_id, workers_by_id[1:]))
        # the writers really ran at the same time: one after another would switch n_workers - 1 times (a
        # count that depends on the machine's load beyond that: 37 to well over 100 switches seen)
        assert switches > n_workers
        for worker, lines in enumerate(outputs):
            reported = committed(lines)
            assert len(reported) == n_runs and set(reported.values()) == {"done"}
            for run_id in reported:
                run = ledger.get(run_id)
                assert run.label.startswith(f"w{worker}-") and run.status == "done"
                check_churned_row(run, worker)


def test_kill_9_at_random_moments_keeps_every_commit(workspace):
    rng = random.Random(20260310)
    reported = {}
    for _ in range(5):
        writer = start_writer("churn", workspace, 0, 0)
        reported.update(committed(kill_after(writer, rng.uniform(0.02, 0.4))))
        check_integrity(workspace / "ledger.sqlite")
    order = ("proposed", "running", "done")
    with Ledger.open(workspace) as ledger:
        runs = {run.id: run for run in ledger.runs()}
        assert set(reported) <= set(runs)
        assert len(reported) > 20  # the writer really ran between the kills
        for run_id, run in runs.items():
            check_churned_row(run, 0)
            if run_id in reported:  # at least as far as reported, and at most one move further
                assert 0 <= order.index(run.status) - order.index(reported[run_id]) <= 1
        # the ledger is still usable: stranded 'running' runs can be failed, new runs added
        for run in runs.values():
            if run.status == "running":
                ledger.fail(run.id, "writer killed")
        assert ledger.add_run(1.0, 1e18, 0.5) == max(runs) + 1


def kill_after(process: subprocess.Popen, seconds: float) -> list[str]:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pass
    return kill(process)


@pytest.fixture
def big_csv(tmp_path):
    path = tmp_path / "big.csv"
    rows = (f"{1 + i * 1e-3!r},1e18,0.9538,{3 + i * 1e-4!r}\n" for i in range(20_000))
    path.write_text("r,compute,sparsity,loss\n" + "".join(rows))
    return path


def test_kill_9_inside_the_import_transaction_leaves_no_row(workspace, big_csv):
    writer = start_writer("import", workspace, big_csv, 5_000)
    assert writer.stdout.readline() == "inserted 5000\n"  # 5000 rows written, transaction still open
    kill(writer)
    check_integrity(workspace / "ledger.sqlite")
    with Ledger.open(workspace) as ledger:
        assert ledger.runs() == []
        assert len(ledger.import_csv(big_csv)) == 20_000  # and the import can simply be run again


def test_kill_9_at_random_moments_during_import_is_all_or_nothing(workspace, big_csv):
    rng = random.Random(7)
    for _ in range(4):
        lines = kill_after(start_writer("import", workspace, big_csv), rng.uniform(0.0, 1.2))
        check_integrity(workspace / "ledger.sqlite")
        with Ledger.open(workspace) as ledger:
            count = len(ledger.runs())
        assert count in (0, 20_000)
        assert (count == 20_000) >= (lines == ["imported 20000"])  # reported -> committed
        if count:
            break
