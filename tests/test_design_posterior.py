"""``bayes-moe next`` on a real (tiny) posterior of the demo runs: the staleness and convergence
gates, --force, predicted loss and information recorded, pending runs never proposed again."""

import json
import shutil

import pytest

from bayes_moe import cli, model, posterior
from bayes_moe.ledger import Ledger


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """The demo workspace with a deliberately short (unconverged) fit saved beside its ledger."""
    workspace = tmp_path_factory.mktemp("fitted") / "ws"
    assert cli.main(["--workspace", str(workspace), "init", "--from", "experiments/demo"]) == 0
    with Ledger.open(workspace) as ledger:
        dataset = ledger.to_dataset()
    posterior.save(model.fit(dataset, draws=60, tune=60, chains=1, seed=0, progressbar=False), workspace)
    return workspace


@pytest.fixture
def workspace(fitted, tmp_path):
    return shutil.copytree(fitted, tmp_path / "ws")


def run_next(workspace, *flags):
    return cli.main(["--workspace", str(workspace), "next", *flags])


def test_unconverged_posterior_is_refused_unless_forced(workspace, capsys):
    assert run_next(workspace) == 2
    assert "has not converged" in capsys.readouterr().err
    with Ledger.open(workspace) as ledger:
        assert ledger.runs("proposed") == []
    assert run_next(workspace, "--force", "--batch", "2", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["strategy"] for row in rows] == ["active", "active"]
    for row in rows:
        assert row["loss_lower"] < row["predicted_loss"] < row["loss_upper"]
        assert row["information_per_flop"] > 0 and row["acquisition"] > 0
    with Ledger.open(workspace) as ledger:
        recorded = ledger.get(rows[0]["id"])
    assert recorded.status == "proposed" and recorded.metrics["predicted_loss"] == rows[0]["predicted_loss"]


def test_pending_runs_are_not_proposed_again(workspace, capsys):
    assert run_next(workspace, "--force", "--batch", "2", "--json") == 0
    first = json.loads(capsys.readouterr().out)
    assert run_next(workspace, "--force", "--batch", "2", "--json") == 0
    second = json.loads(capsys.readouterr().out)
    key = lambda row: (round(row["r"], 3), round(row["compute"], -15), round(row["sparsity"], 4))  # noqa: E731
    assert not {key(row) for row in first} & {key(row) for row in second}


def test_stale_posterior_is_refused(workspace, capsys):
    with Ledger.open(workspace) as ledger:
        run_id = ledger.add_run(1.0, 1e18, 0.9538)
        ledger.start(run_id, "simulator")
        ledger.finish(run_id, 3.0)
    assert run_next(workspace, "--strategy", "grid") == 2
    assert "stale" in capsys.readouterr().err
