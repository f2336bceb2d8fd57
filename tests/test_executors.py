"""Executors move proposed runs to done or failed, many at once, and a re-run finds the same state."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from bayes_moe.errors import InputError
from bayes_moe.executors import make_executor
from bayes_moe.executors.batch import Executor, run_batch
from bayes_moe.executors.pool import TrainerPool, gpu_groups, visible_devices
from bayes_moe.executors.simulator import simulate_run
from bayes_moe.ledger import Ledger
from bayes_moe.train import data

TINY = {"batch_size": 16, "lr": 1e-2, "eval_tokens": 4096}


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "campaign.toml").write_text('[world]\nlaw = "paper"\nseed = 3\nnoise = 0.01\n')
    with Ledger.open(tmp_path, create=True) as ledger:
        ledger.add_run(0.8, 1e18, 0.9538)
        ledger.add_run(0.5, 1e19, 0.9091)
    return tmp_path


def test_simulator_finishes_runs_reproducibly(workspace, tmp_path_factory):
    first = make_executor("simulator").execute(workspace, 1)
    assert first.status == "done" and 1.5 < first.loss < 5 and first.executor == "simulator"
    twin = tmp_path_factory.mktemp("twin")
    (twin / "campaign.toml").write_text((workspace / "campaign.toml").read_text())
    with Ledger.open(twin, create=True) as ledger:
        ledger.add_run(0.8, 1e18, 0.9538)
    assert simulate_run(twin, 1).loss == first.loss  # noise seeded by (world seed, run id)
    with pytest.raises(InputError, match="run 1 is done"):
        simulate_run(workspace, 1)


def test_simulator_resumes_a_run_left_running(workspace):
    with Ledger.open(workspace) as ledger:
        ledger.start(2, "simulator")  # as if the process died between start and finish
    assert simulate_run(workspace, 2).status == "done"


def test_unknown_executor():
    with pytest.raises(InputError, match="choose one of simulator, trainer, slurm"):
        make_executor("kubernetes")


def test_run_command_with_the_simulator(workspace, run_cli):
    done = run_cli("--workspace", workspace, "run", "2", "--executor", "simulator", "--json")
    assert done.code == 0 and json.loads(done.out)["status"] == "done"
    again = run_cli("--workspace", workspace, "run", "2", "--executor", "simulator")
    assert again.code == 2 and "run 2 is done, not proposed" in again.err


# --- the batch loop ---------------------------------------------------------------------------------


class Timed(Executor):
    """Each run takes ``seconds[id]``; records how many were in flight at most. A run id in ``failing``
    fails. The loop sees only start and poll, as with real executors."""

    name = "timed"
    poll_s = 0.01

    def __init__(self, slots, seconds, failing=()):
        self.slots, self.seconds, self.failing = slots, seconds, set(failing)
        self.started, self.in_flight, self.most = [], 0, 0

    def start(self, workspace, runs):
        with Ledger.open(workspace) as ledger:
            for run in runs:
                ledger.start(run.id, self.name)
        self.started += [run.id for run in runs]
        self.in_flight += len(runs)
        self.most = max(self.most, self.in_flight)
        return [(run.id, time.monotonic() + self.seconds[run.id]) for run in runs]

    def poll(self, workspace, handle):
        run_id, ends = handle
        if time.monotonic() < ends:
            return None
        self.in_flight -= 1
        with Ledger.open(workspace) as ledger:
            if run_id in self.failing:
                return ledger.fail(run_id, "it broke")
            return ledger.finish(run_id, 3.0)


def test_a_batch_starts_longest_first_keeps_slots_busy_and_collects_as_runs_finish(tmp_path):
    with Ledger.open(tmp_path, create=True) as ledger:
        ids = [ledger.add_run(0.5, compute, 0.9) for compute in (1e17, 4e17, 2e17, 3e17, 5e17)]
    # seconds per run: the largest compute is not the slowest, so finishing order differs from starting order
    seconds = dict(zip(ids, (0.05, 0.4, 0.1, 0.3, 0.6)))
    executor = Timed(2, seconds, failing=[ids[3]])
    arrived = []
    finished = run_batch(tmp_path, executor, ids, on_result=arrived.append)
    assert executor.started == [ids[4], ids[1], ids[3], ids[2], ids[0]]  # by compute, largest first
    assert executor.most == 2
    assert [run.id for run in finished] == [run.id for run in arrived] != executor.started
    assert finished[0].id == ids[1]  # 0.4 s beside the 0.6 s run: the first to finish
    assert {run.id: run.status for run in finished} == {**{i: "done" for i in ids}, ids[3]: "failed"}


# --- the trainer pool -------------------------------------------------------------------------------


@pytest.fixture
def sample_corpus(monkeypatch):
    monkeypatch.setenv(data.CORPUS_ENV, str(data.SAMPLE_DIR))


@pytest.fixture
def tiny_config(tmp_path_factory):
    """The trainer settings of a tiny run, as the TOML file ``--config`` takes."""
    path = tmp_path_factory.mktemp("config") / "train.toml"
    path.write_text("".join(f"{key} = {value!r}\n" for key, value in TINY.items()))
    return path


def tiny_runs(workspace, steps, batch=16):
    """A proposed run of a tiny arch per entry of ``steps`` (that many optimizer steps of ``batch``
    sequences), in ``workspace``'s ledger (made if missing)."""
    from bayes_moe import arch

    tiny = arch.solve(1.0, 24 * 32 * 32 * 2 + 8 * 64 * 32, 0.5, n_layers=2, n_heads=2, d_model=32, n_ctx=64)
    with Ledger.open(workspace, create=not (workspace / "ledger.sqlite").exists()) as ledger:
        return [ledger.add_run(tiny.r, 3 * tiny.c_token * batch * tiny.n_ctx * n, tiny.sparsity, arch=tiny.to_dict())
                for n in steps]


@pytest.mark.slow
def test_the_pool_trains_runs_side_by_side_and_fails_the_broken_one(tmp_path, sample_corpus, tiny_config):
    ids = tiny_runs(tmp_path, [3, 2, 4])
    with Ledger.open(tmp_path) as ledger:
        broken = ledger.add_run(0.5, 1e17, 0.9)  # no architecture: the child refuses it (exit 2)
    pool = make_executor("trainer", slots=2, device="cpu", config=tiny_config)
    finished = run_batch(tmp_path, pool, [*ids, broken])
    status = {run.id: run.status for run in finished}
    assert status == {**{i: "done" for i in ids}, broken: "failed"}
    with Ledger.open(tmp_path) as ledger:
        reason = ledger.get(broken).reason
        assert all(ledger.get(i).metrics["world_size"] == 1 for i in ids)
    assert "exited with code 2" in reason and "no architecture" in reason
    assert set(pool.run_seconds) == {*ids, broken}
    assert (tmp_path / "logs" / f"{broken}.log").is_file()


def test_gpus_are_refused_on_a_machine_without_them(workspace, run_cli):
    refused = run_cli("--workspace", workspace, "campaign", "--rounds", "1", "--executor", "trainer", "--gpus", "all")
    assert refused.code == 2
    error = refused.err
    assert "torch sees no CUDA GPU" in error and "--slots K" in error and len(error.splitlines()) == 1
    with Ledger.open(workspace) as ledger:
        assert ledger.counts()["proposed"] == 2 and len(ledger.runs()) == 2


def test_a_missing_corpus_stops_the_campaign_before_any_run(workspace, run_cli, monkeypatch):
    monkeypatch.setenv(data.CORPUS_ENV, str(workspace / "no-corpus"))
    refused = run_cli("--workspace", workspace, "campaign", "--execute-only", "--executor", "trainer", "--slots", "2")
    assert refused.code == 2 and refused.err.count("\n") == 1
    assert f"corpus {workspace / 'no-corpus'} is neither a folder" in refused.err
    with Ledger.open(workspace) as ledger:
        assert ledger.counts()["proposed"] == 2


@pytest.fixture
def four_gpus(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)  # ids are the machine's


@pytest.mark.parametrize("gpus, per_run, groups", [
    ("all", 1, ((0,), (1,), (2,), (3,))),
    ("0,1,2,3", 2, ((0, 1), (2, 3))),
    ("3,1", 1, ((3,), (1,))),
])
def test_gpu_groups(four_gpus, gpus, per_run, groups):
    assert gpu_groups(gpus, per_run) == groups


@pytest.mark.parametrize("gpus, per_run, message", [
    ("0,4", 1, "among 0..3"), ("1,1", 1, "distinct"), ("one", 1, "'all' or GPU ids"),
    ("0,1,2", 2, "does not divide"), ("all", 0, "positive integer"),
])
def test_bad_gpu_flags(four_gpus, gpus, per_run, message):
    with pytest.raises(InputError, match=message):
        gpu_groups(gpus, per_run)


def test_each_child_sees_only_its_gpus_and_a_child_that_leaves_its_run_unfinished_fails_it(
        workspace, four_gpus, monkeypatch):
    """Children that print their CUDA_VISIBLE_DEVICES and exit 0 without training: each run is failed
    (exit 0 is no proof), and each log shows the GPU group the child was pinned to."""
    script = "import os; print('GPUS', os.environ['CUDA_VISIBLE_DEVICES'])"
    monkeypatch.setattr(TrainerPool, "command", lambda self, workspace, run_id, slot: [sys.executable, "-c", script])
    pool = TrainerPool(gpus="0,1,2,3", gpus_per_run=2)
    assert pool.slots == 2
    finished = run_batch(workspace, pool, [1, 2])
    assert all(run.status == "failed" and "exited with code 0 leaving the run proposed" in run.reason
               for run in finished)
    seen = sorted((workspace / "logs" / f"{i}.log").read_text().split()[1] for i in (1, 2))
    assert seen == ["0,1", "2,3"]


@pytest.mark.parametrize("parent, ids, child", [
    (None, (0, 1), "0,1"), ("2,3", (0,), "2"), ("2,3", (1,), "3"), ("2,3", (0, 1), "2,3"),
    ("GPU-aa, GPU-bb ,GPU-cc", (2,), "GPU-cc"),
])
def test_a_child_gets_the_gpus_its_parent_numbers_not_the_machines_first(monkeypatch, parent, ids, child):
    """Under CUDA_VISIBLE_DEVICES=2,3 torch numbers GPUs 2 and 3 as 0 and 1: a child pinned to "0" would
    train on GPU 0 (on 4 H100s a DDP run on GPUs 0, 1 ran at 0.32-0.58x beside a sweep meant for 2, 3)."""
    if parent is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", parent)
    assert visible_devices(ids) == child


@pytest.mark.parametrize("pool_flags, threads", [
    (dict(slots=2), 8), (dict(slots=1, nproc=2), 8), (dict(gpus="all"), 4), (dict(gpus="all", gpus_per_run=2), 4),
])
def test_children_share_the_cores_instead_of_each_taking_all(four_gpus, monkeypatch, pool_flags, threads):
    """On 16 cores, each child's OMP_NUM_THREADS is its share (per process where it spans several), so K
    children do not oversubscribe the CPU; a value the user set is left alone."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    pool = TrainerPool(**pool_flags)
    assert pool.environment(pool._free[0])["OMP_NUM_THREADS"] == str(threads)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert pool.environment(pool._free[0])["OMP_NUM_THREADS"] == "3"


@pytest.mark.slow
def test_pool_children_die_with_the_campaign_and_their_runs_resume(tmp_path, sample_corpus, tiny_config):
    """SIGKILL the process running the pool: its child dies too (no stray trainer racing the restart),
    the run stays 'running', and the next batch resumes it to done."""
    from bayes_moe.train.plan import PLAN, checkpoint_dir

    [run_id] = tiny_runs(tmp_path, [40])
    parent = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
from bayes_moe.executors.pool import TrainerPool
from bayes_moe.ledger import Ledger
pool = TrainerPool(device="cpu", config={str(tiny_config)!r})
[child] = pool.start({str(tmp_path)!r}, [Ledger.open({str(tmp_path)!r}).get({run_id})])
print(child.process.pid, flush=True)
time.sleep(600)
"""], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    deadline = time.monotonic() + 120
    while not (checkpoint_dir(tmp_path, run_id) / PLAN).is_file() and time.monotonic() < deadline:
        time.sleep(0.05)  # the child has started the run
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(100):
        if not os.path.exists(f"/proc/{child}") or open(f"/proc/{child}/stat").read().split()[2] == "Z":
            break
        time.sleep(0.1)
    else:
        pytest.fail("the pool's child outlived the campaign")
    with Ledger.open(tmp_path) as ledger:
        assert ledger.get(run_id).status == "running"
    [run] = run_batch(tmp_path, TrainerPool(device="cpu", config=tiny_config), [run_id])
    assert run.status == "done"


def test_campaign_execute_only_runs_the_queue_longest_first_without_fitting(workspace, capsys):
    from bayes_moe.cli import main

    base = ["--workspace", str(workspace), "campaign"]
    assert main(base + ["--executor", "simulator", "--execute-only", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"executed": [2, 1], "failed": []}  # 1e19 FLOPs before 1e18
    assert main(base + ["--rounds", "1", "--execute-only"]) == 2
    assert "--rounds N, or --execute-only (not both)" in capsys.readouterr().err
    assert main(base + ["--execute-only", "--slots", "2"]) == 2  # a trainer flag with the simulator
    assert "--slots: not a setting of --executor simulator" in capsys.readouterr().err
