"""``bayes-moe next`` on a workspace: first batch, no repeats, budget, bad input (exit 2, nothing written)."""

import json

import numpy as np
import pytest

from bayes_moe.config import PAPER_SPARSITIES
from bayes_moe.ledger import Ledger


def next_json(run_cli, workspace, *flags):
    code, out, err = run_cli("--workspace", workspace, "next", "--json", *flags)
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def workspace(tmp_path, run_cli):
    assert run_cli("--workspace", tmp_path / "ws", "init").code == 0
    return tmp_path / "ws"


def test_empty_ledger_gets_a_space_filling_first_batch(workspace, run_cli):
    rows = next_json(run_cli, workspace, "--batch", "8")
    assert len(rows) == 8
    assert {"id", "r", "compute", "sparsity", "n_active", "tokens", "predicted_loss", "acquisition"} <= set(rows[0])
    assert {round(row["sparsity"], 4) for row in rows} == set(PAPER_SPARSITIES)
    assert np.ptp(np.log10([row["compute"] for row in rows])) > 2  # spans most of 1e17..1e20
    assert np.ptp(np.log([row["r"] for row in rows])) > 0.6 * np.log(40)
    with Ledger.open(workspace) as ledger:
        runs = ledger.runs("proposed")
    assert [run.id for run in runs] == [row["id"] for row in rows]
    for run in runs:  # recorded as the solved architecture achieves it
        assert run.arch["n_routed"] + run.arch["n_shared"] in (17, 33, 65, 129)
        assert run.n_active < run.n_total and run.tokens > 0


def test_proposing_twice_never_repeats_a_run(workspace, run_cli):
    first = next_json(run_cli, workspace, "--batch", "3")
    second = next_json(run_cli, workspace, "--batch", "3")
    keys = {(round(np.log(row["r"]), 2), round(np.log(row["compute"]), 2), round(row["sparsity"], 4))
            for row in first + second}
    assert len(keys) == 6


def test_text_output_says_how_to_run_each(workspace, run_cli):
    code, out, _ = run_cli("--workspace", workspace, "next", "--batch", "2")
    assert code == 0
    assert "space-filling sobol batch" in out
    assert f"bayes-moe --workspace {workspace} run 1" in out and f"bayes-moe --workspace {workspace} run 2" in out


def test_unless_pending_lists_waiting_runs_instead_of_proposing_more(workspace, run_cli):
    first = next_json(run_cli, workspace, "--batch", "2", "--unless-pending")
    again = next_json(run_cli, workspace, "--unless-pending")
    assert [row["id"] for row in again] == [row["id"] for row in first]
    with Ledger.open(workspace) as ledger:
        assert len(ledger.runs("proposed")) == 2
        for row in first:
            ledger.start(row["id"], "simulator")
            ledger.finish(row["id"], 3.0)
    code, out, _ = run_cli("--workspace", workspace, "next", "--unless-pending", "--force")
    assert code == 0 and "proposed 1 run(s)" in out


@pytest.mark.parametrize("flags, message", [
    (["--strategy", "best"], "argument --strategy: invalid choice: 'best'"),
    (["--batch", "0"], "batch size must be a positive integer, got 0"),
])
def test_bad_input_exits_2_and_writes_nothing(workspace, run_cli, flags, message):
    code, _, err = run_cli("--workspace", workspace, "next", *flags)
    assert code == 2 and message in err
    with Ledger.open(workspace) as ledger:
        assert ledger.runs() == []


def test_exhausted_budget_exits_2(workspace, run_cli):
    (workspace / "campaign.toml").write_text("[stopping]\ncompute_budget = 5e16\n")
    code, _, err = run_cli("--workspace", workspace, "next")
    assert code == 2 and "compute budget exhausted" in err
