"""``bayes-moe next`` on a real, short (unconverged) posterior of the demo runs: the staleness and
convergence gates, --force, predicted loss and information recorded, pending runs never proposed again."""

import json

import pytest

from bayes_moe.ledger import Ledger
from conftest import record_finished_run


def run_next(run_cli, workspace, *flags):
    return run_cli("--workspace", workspace, "next", *flags)


@pytest.mark.slow
def test_unconverged_posterior_is_refused_unless_forced(fitted_demo, run_cli):
    code, _, err = run_next(run_cli, fitted_demo)
    assert code == 2 and "has not converged" in err
    with Ledger.open(fitted_demo) as ledger:
        assert ledger.runs("proposed") == []
    code, out, _ = run_next(run_cli, fitted_demo, "--force", "--batch", "2", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [row["strategy"] for row in rows] == ["active", "active"]
    for row in rows:
        assert row["loss_lower"] < row["predicted_loss"] < row["loss_upper"]
        assert row["information_per_flop"] > 0 and row["acquisition"] > 0
    with Ledger.open(fitted_demo) as ledger:
        recorded = ledger.get(rows[0]["id"])
    assert recorded.status == "proposed" and recorded.metrics["predicted_loss"] == rows[0]["predicted_loss"]


@pytest.mark.slow
def test_pending_runs_are_not_proposed_again(fitted_demo, run_cli):
    first = json.loads(run_next(run_cli, fitted_demo, "--force", "--batch", "2", "--json").out)
    second = json.loads(run_next(run_cli, fitted_demo, "--force", "--batch", "2", "--json").out)
    key = lambda row: (round(row["r"], 3), round(row["compute"], -15), round(row["sparsity"], 4))  # noqa: E731
    assert not {key(row) for row in first} & {key(row) for row in second}


@pytest.mark.slow
def test_stale_posterior_is_refused(fitted_demo, run_cli):
    record_finished_run(fitted_demo, 1.0, 1e18, 0.9538, 3.0)
    code, _, err = run_next(run_cli, fitted_demo, "--strategy", "grid")
    assert code == 2 and "stale" in err
