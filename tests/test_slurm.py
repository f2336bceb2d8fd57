"""Slurm through submitit's local executor: a batch becomes concurrent jobs, results land through the
campaign's process only (the jobs run with the workspace out of reach), restarts re-attach, killed jobs
fail their run or are retried."""

import json
import os
import signal
import time

import pytest

from bayes_moe.executors.batch import run_batch
from bayes_moe.executors.slurm import SlurmExecutor
from bayes_moe.ledger import Ledger

WORLD = '[world]\nlaw = "paper"\nseed = 3\nnoise = 0.01\n'


@pytest.fixture
def workspace(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "campaign.toml").write_text(WORLD)
    with Ledger.open(folder, create=True) as ledger:
        for compute in (1e18, 2e18, 3e18, 4e18):
            ledger.add_run(0.8, compute, 0.9538)
    return folder


def local(tmp_path, **settings):
    """The simulator payload as local jobs, their files in a folder apart from the workspace."""
    return SlurmExecutor(payload="simulator", cluster="local", poll_s=0.1,
                         settings={"folder": str(tmp_path / "scratch"), **settings})


def submissions(tmp_path) -> int:
    return len(list((tmp_path / "scratch" / "submitit").glob("*_submitted.pkl")))


def test_a_batch_runs_as_concurrent_jobs_and_results_land_through_the_campaign(workspace, tmp_path):
    executor = local(tmp_path, max_jobs=4)
    handles = executor.start(workspace, [Ledger.open(workspace).get(i) for i in (1, 2, 3, 4)])
    assert submissions(tmp_path) == 4  # submitted together, before any is collected
    assert sum(handle.job.state == "RUNNING" for handle in handles) >= 2  # several jobs at once
    records = {i: json.loads((workspace / "jobs" / f"{i}.json").read_text()) for i in (1, 2, 3, 4)}
    assert len({record["job_id"] for record in records.values()}) == 4
    finished = [run for handle in handles for run in _wait(executor, workspace, handle)]
    assert all(run.status == "done" and run.executor == "slurm" and 1.5 < run.loss < 5 for run in finished)
    assert {run.metrics["job_id"] for run in finished} == {record["job_id"] for record in records.values()}


def test_jobs_never_open_the_ledger(workspace, tmp_path):
    """The workspace is moved away while the jobs run: they cannot reach the ledger, and their results
    still land once the campaign's process (here, the test) collects them."""
    executor = local(tmp_path, max_jobs=4)
    handles = executor.start(workspace, [Ledger.open(workspace).get(i) for i in (1, 2, 3, 4)])
    away = workspace.rename(tmp_path / "away")
    deadline = time.monotonic() + 120
    while not all(handle.job.paths.result_pickle.exists() for handle in handles) and time.monotonic() < deadline:
        time.sleep(0.1)
    away.rename(workspace)
    finished = [run for handle in handles for run in _wait(executor, workspace, handle)]
    assert [run.status for run in finished] == ["done"] * 4


def test_a_restarted_campaign_reattaches_to_its_jobs(workspace, tmp_path):
    local(tmp_path).start(workspace, [Ledger.open(workspace).get(i) for i in (1, 2)])  # then the campaign died
    with Ledger.open(workspace) as ledger:
        assert ledger.counts()["running"] == 2
    finished = run_batch(workspace, local(tmp_path), [1, 2, 3])
    assert submissions(tmp_path) == 3  # runs 1 and 2 were not submitted again
    assert sorted(run.id for run in finished) == [1, 2, 3]
    assert all(run.status == "done" for run in finished)


@pytest.mark.parametrize("retries", [0, 1])
def test_a_killed_job_fails_its_run_or_is_retried_once(workspace, tmp_path, retries):
    executor = local(tmp_path, retries=retries)
    [handle] = executor.start(workspace, [Ledger.open(workspace).get(1)])
    os.kill(int(handle.job.job_id), signal.SIGKILL)  # a local job's id is its process id
    [run] = _wait(executor, workspace, handle)
    if retries:
        assert run.status == "done" and submissions(tmp_path) == 2
        assert json.loads((workspace / "jobs" / "1.json").read_text())["attempt"] == 1
    else:
        assert run.status == "failed" and "INTERRUPTED without a result" in run.reason


def test_a_job_that_raises_fails_its_run_and_the_others_go_on(workspace, tmp_path):
    (workspace / "campaign.toml").write_text('[world]\nlaw = "no-such-law"\n')  # every job's world is broken
    finished = run_batch(workspace, local(tmp_path), [1, 2])
    assert [run.status for run in finished] == ["failed", "failed"]
    assert all("no-such-law" in run.reason for run in finished)


def test_a_trainer_run_that_cannot_be_built_fails_before_submission(workspace, tmp_path):
    executor = SlurmExecutor(payload="trainer", cluster="local", poll_s=0.1, settings={"folder": str(tmp_path / "s")})
    [run] = run_batch(workspace, executor, [1])  # recorded without an architecture
    assert run.status == "failed" and "no architecture" in run.reason
    assert not (tmp_path / "s").exists()


def _wait(executor, workspace, handle, seconds=120):
    deadline = time.monotonic() + seconds
    while (run := executor.poll(workspace, handle)) is None:
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.1)
    return [run]


@pytest.mark.slow
def test_a_trainer_job_trains_its_spec_and_the_campaign_records_it(tmp_path, monkeypatch):
    from bayes_moe.train import data
    from tests.test_executors import TINY, tiny_runs

    monkeypatch.setenv(data.CORPUS_ENV, str(data.SAMPLE_DIR))
    workspace = tmp_path / "ws"
    [run_id] = tiny_runs(workspace, [3])
    executor = SlurmExecutor(payload="trainer", cluster="local", poll_s=0.2, config=TINY, device="cpu",
                             settings={"folder": str(tmp_path / "scratch")})
    [run] = run_batch(workspace, executor, [run_id])
    assert run.status == "done" and run.metrics["steps"] == 3 and run.tokens == 3 * 16 * 64
    assert run.metrics["job_id"] == json.loads((workspace / "jobs" / f"{run_id}.json").read_text())["job_id"]
    assert not (workspace / "checkpoints").exists()  # the job wrote only under its own folder


def test_the_slurm_table_of_campaign_toml_is_checked_and_kept(tmp_path):
    from bayes_moe.config import dump_campaign, load_campaign
    from bayes_moe.errors import InputError

    path = tmp_path / "campaign.toml"
    path.write_text('[slurm]\npartition = "gpu"\ngpus_per_job = 1\ntime_limit_min = 90\nmax_jobs = 8\nretries = 1\n')
    campaign = load_campaign(path)
    assert campaign.slurm == {"partition": "gpu", "gpus_per_job": 1, "time_limit_min": 90, "max_jobs": 8, "retries": 1}
    path.write_text(dump_campaign(campaign))
    assert load_campaign(path) == campaign
    assert SlurmExecutor(settings=campaign.slurm).slots == 8
    for bad, message in (("gpus = 1", "unknown key [slurm] gpus"), ("retries = -1", "retries must be an integer >= 0"),
                         ('max_jobs = "8"', "max_jobs must be an integer")):
        path.write_text(f"[slurm]\n{bad}\n")
        with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
            load_campaign(path)
