"""The main job end to end: `make next-experiment` on a fresh workspace, and the CLI steps it chains."""

import json
import subprocess

import pytest

from bayes_moe.ledger import Ledger
from conftest import DEMO, FAST_FLAGS, REPO, record_finished_run


@pytest.mark.slow
def test_make_next_experiment_fits_reports_and_proposes(tmp_path):
    workspace = tmp_path / "ws"
    done = subprocess.run(["make", "-s", "-C", str(REPO), "next-experiment", f"WORKSPACE={workspace}"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("r* at C=1e+21 FLOPs") == 4  # one line per demo target
    assert f"bayes-moe --workspace {workspace} run" in done.stdout  # the command that runs the proposal
    with Ledger.open(workspace) as ledger:
        proposed = [run.id for run in ledger.runs("proposed")]
        assert len(proposed) >= 1 and ledger.counts()["done"] == 180

    again = subprocess.run(["make", "-s", "-C", str(REPO), "next-experiment", f"WORKSPACE={workspace}"],
                           capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "not yet run, so none proposed" in again.stdout  # the waiting run again, not a new one
    with Ledger.open(workspace) as ledger:
        assert [run.id for run in ledger.runs("proposed")] == proposed


@pytest.mark.slow
def test_fit_if_stale_keeps_a_fresh_posterior_and_refits_a_stale_one(tmp_path, run_cli):
    workspace = tmp_path / "ws"
    assert run_cli("--workspace", workspace, "init", "--from", DEMO).code == 0
    fit_if_stale = ("--workspace", workspace, "fit", "--if-stale", "--json", *FAST_FLAGS)
    assert json.loads(run_cli(*fit_if_stale).out)["refitted"] is True
    assert json.loads(run_cli(*fit_if_stale).out)["refitted"] is False

    code, out, _ = run_cli("--workspace", workspace, "r-star", "--targets", "--json")
    rows = json.loads(out)
    assert code == 0 and [row["compute"] for row in rows] == [1e21] * 4 and all(not row["stale"] for row in rows)
    assert all(row["lower"] < row["median"] < row["upper"] for row in rows)

    record_finished_run(workspace, 0.5, 1e17, 0.9538, 3.4)
    assert json.loads(run_cli(*fit_if_stale).out)["refitted"] is True
