"""Executors move a proposed run to done or failed, and a re-run finds the same state."""

import json

import pytest

from bayes_moe.errors import InputError
from bayes_moe.executors import SlurmExecutor, make_executor, simulate_run
from bayes_moe.ledger import Ledger


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


def test_trainer_failure_is_recorded_once(workspace):
    """Run 1 has no architecture, so the trainer refuses it: the run fails with the trainer's message."""
    run = make_executor("trainer", device="cpu").execute(workspace, 1)
    assert run.status == "failed" and "exited with code 2" in run.reason
    with Ledger.open(workspace) as ledger:
        assert ledger.counts()["failed"] == 1


def test_slurm_local_job_writes_the_ledger_and_is_not_resubmitted(workspace):
    executor = SlurmExecutor(payload="simulator", cluster="local", poll_s=0.2)
    run = executor.execute(workspace, 2)
    assert run.status == "done" and run.executor == "simulator"
    record = json.loads((workspace / "jobs" / "2.json").read_text())
    assert record["payload"] == "simulator"
    # a restarted campaign sees the job record and the finished run: no second job
    assert executor.execute(workspace, 2).loss == run.loss
    assert len(list((workspace / "jobs" / "submitit").glob("*_submitted.pkl"))) == 1


def test_slurm_job_that_raises_fails_the_run(workspace):
    (workspace / "campaign.toml").write_text('[world]\nlaw = "no-such-law"\n')  # the job's world is broken
    run = SlurmExecutor(payload="simulator", cluster="local", poll_s=0.2).execute(workspace, 1)
    assert run.status == "failed" and "no-such-law" in run.reason


def test_unknown_executor():
    with pytest.raises(InputError, match="choose one of simulator, trainer, slurm"):
        make_executor("kubernetes")


def test_run_command_with_the_simulator(workspace, capsys):
    from bayes_moe.cli import main

    assert main(["--workspace", str(workspace), "run", "2", "--executor", "simulator", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "done"
    assert main(["--workspace", str(workspace), "run", "2", "--executor", "simulator"]) == 2
    assert "run 2 is done, not proposed" in capsys.readouterr().err
