"""The pool selection's library call (pool_next.propose), ScaleBench's results table (benchmarks.scalebench_table)
and their figures (pool_plots): what each figure draws is checked against the records that made it."""

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from bayes_moe.benchmarks.scalebench_table import TASKS, coverage_table, results_table  # noqa: E402
from bayes_moe.errors import InputError  # noqa: E402
from bayes_moe.pool_next import propose  # noqa: E402
from bayes_moe.pool_plots import LABELS, benchmark_figure, coverage_figure, proposal_figure  # noqa: E402
from bayes_moe.pooltask import TASKS_FOLDER  # noqa: E402
from bayes_moe.userlaw import load_law  # noqa: E402

from test_scalebench import LAW  # noqa: E402  the tiny power law: E + A N^-alpha


@pytest.fixture
def power_law(tmp_path):
    path = tmp_path / "power.py"
    path.write_text(LAW)
    return load_law(path)


def tables(done=8):
    """A pool over N in [1e3, 1e6] (cost N), its ``done`` cheapest runs done, and targets at 2e6-1e7."""
    rng = np.random.default_rng(0)
    n = np.geomspace(1e3, 1e6, 24)
    loss = 1.8 + 20.0 * n ** -0.3 + 0.01 * rng.standard_normal(n.size)
    pool = pd.DataFrame({"params": n, "loss": np.where(np.arange(n.size) < done, loss, np.nan)})
    targets = pd.DataFrame({"params": np.geomspace(2e6, 1e7, 4)})
    return pool, targets


def test_propose_picks_candidates_within_the_budget_with_intervals_at_the_targets(power_law):
    pool, targets = tables()
    proposal = propose(power_law, pool, targets, "params", budget=5e4, batch=3, starts=4)
    rows = [row for row, _ in proposal.picks]
    assert proposal.done.tolist() == list(range(8)) and proposal.candidates == list(range(8, 24))
    assert rows and set(rows) <= set(proposal.candidates) and proposal.costs[rows].sum() <= 5e4
    assert [r["row"] for r in proposal.next] == [row + 1 for row in rows]
    assert np.allclose(proposal.target_costs, targets["params"])
    assert all(t["lower90"] < t["predicted"] < t["upper90"] for t in proposal.at_targets)


def test_propose_selects_by_the_draws_through_the_law_where_the_runs_partly_determine_it(power_law):
    """The power law has 3 parameters: 2 runs done partly determine it (laplace.partly_determined), as a
    campaign's selection there, the draws go through the law (unless ``design_draws`` says otherwise); 8 runs
    determine it, and they stay linearized."""
    from bayes_moe.design.pool import select_batch

    for done, draws, through in ((2, "partly-determined", True), (8, "partly-determined", False),
                                 (2, "linearized", False), (8, "through-law", True)):
        pool, targets = tables(done)
        proposal = propose(power_law, pool, targets, "params", batch=3, starts=4, discrepancy=0.0, design_draws=draws)
        design = proposal.fit.through_law() if through else proposal.fit
        features = proposal.features
        expected = select_batch(design.mean_draws(features), design.mean_draws(proposal.target_features),
                                proposal.fit.noise_sd, proposal.costs, proposal.candidates, np.inf, 3)
        assert proposal.picks == expected


def test_proposal_figure_draws_the_runs_the_picks_and_the_targets(power_law):
    pool, targets = tables()
    proposal = propose(power_law, pool, targets, "params", batch=2, starts=4)
    truth = 1.8 + 20.0 * targets["params"].to_numpy() ** -0.3
    ax = proposal_figure(proposal, "params", truth=truth).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert np.allclose(lines["runs done (8)"].get_ydata(), pool["loss"][:8])
    assert np.allclose(lines["targets, observed"].get_ydata(), truth)
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "loss"
    assert [t.get_text() for t in ax.texts] == ["1", "2"]  # the picks, numbered in order
    # a cost rule over a column the targets table lacks, or costs that do not vary: placed by the law's first input
    without = propose(power_law, pool.assign(width=2.0), targets, "params * width", batch=1, starts=4)
    assert without.target_costs is None
    for other in (without, propose(power_law, pool, targets, "1", batch=1, starts=4)):
        ax = proposal_figure(other).axes[0]
        assert ax.get_xlabel() == "params" and ax.get_xscale() == "log"
        runs = next(line for line in ax.get_lines() if line.get_label() == "runs done (8)")
        assert np.allclose(runs.get_xdata(), pool["params"][:8])


def test_results_table_holds_our_record_the_peers_runs_and_the_papers_rows():
    table = results_table()
    cell = table.set_index(["task", "budget", "method"])
    for strategy, folder in (("active", "noise_posterior"), ("random", "noise_posterior")):
        log = TASKS_FOLDER / "results" / folder / "moe.jsonl"
        campaigns = [json.loads(line) for line in log.read_text().splitlines()]
        r2 = [c["results"][0]["r2"] for c in campaigns if c["strategy"] == strategy]
        assert cell.loc[("moe", 0.01, strategy), "r2"] == pytest.approx(np.mean(r2))
    assert cell.loc[("moe", 0.01, "MSPE"), "r2"] == 0.59 and cell.loc[("sparsity", 0.2, "MSPE"), "r2"] == 0.31
    assert cell.loc[("moe", 0.01, "MSPE here"), "r2"] == pytest.approx(0.577, abs=1e-3)
    assert ("parallel", 0.01, "MSPE here") not in cell.index  # the authors' code spent more than the budget there
    assert set(table["task"]) == set(TASKS) and (table.groupby(["task", "method"]).size() <= 3).all()


def test_results_table_names_a_missing_record_or_strategy(tmp_path):
    with pytest.raises(InputError, match="moe.jsonl"):
        results_table(results=tmp_path)
    with pytest.raises(InputError, match="thirty_seeds/moe.jsonl: no campaign of the random strategy"):
        results_table(records={"random": "thirty_seeds"})


def test_coverage_table_and_figure_hold_each_forms_coverage_and_their_mean():
    table = coverage_table()
    assert list(dict.fromkeys(table["task"])) == list(TASKS) and table.groupby("task")["law"].nunique()["moe"] == 10
    vocab = table.query("task == 'vocab' and budget == 0.01")["coverage"]
    assert 0.9 < vocab.mean() < 0.96  # the record with the leave-one-out scale (docs/design.md)
    # runs as few as the parameters: intervals as the noise prior allows, no longer hundreds of nats wide
    parallel_5 = table.query("task == 'parallel' and budget == 0.05")
    assert parallel_5["coverage"].mean() < 0.9 and parallel_5["width"].median() < 1
    assert table.query("task == 'parallel' and budget == 0.01")["coverage"].isna().all()  # nothing to score at 1%
    fig = coverage_figure(table)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == list(TASKS)
    means = next(line for line in panels[TASKS.index("vocab")].get_lines() if line.get_label() == "mean over the forms")
    expected = table.query("task == 'vocab'").groupby("budget")["coverage"].mean()
    assert np.allclose(means.get_ydata(), expected) and np.allclose(means.get_xdata(), [0, 1, 2])
    parallel = panels[TASKS.index("parallel")]
    widths = table.query("task == 'parallel' and budget > 0.01").groupby("budget")["width"].median()
    assert [t.get_text() for t in parallel.texts] == ["no fit", *(f"{w:.2g}" for w in widths)]


def test_coverage_table_names_a_record_without_the_active_strategy(tmp_path):
    for task in TASKS:
        (tmp_path / "rec").mkdir(exist_ok=True)
        (tmp_path / "rec" / f"{task}.jsonl").write_text(json.dumps(
            {"task": task, "law": "sl_1", "strategy": "random", "seed": 0,
             "results": [{"budget": 0.1, "r2": 0.5, "coverage90": 0.9, "wall_s": 1.0}]}) + "\n")
    with pytest.raises(InputError, match="no campaign of the active strategy"):
        coverage_table(tmp_path, "rec")


def test_benchmark_figure_has_a_panel_per_task_and_every_method():
    table = results_table()
    fig = benchmark_figure(table)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == list(TASKS)
    moe = panels[0]
    assert [t.get_text() for t in moe.get_xticklabels()] == ["1%", "5%", "10%"]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["active", "random", "cost_random", *LABELS.values()]
    active = next(bars for bars in moe.containers if bars.get_label() == "active").lines[0]
    expected = table.query("task == 'moe' and method == 'active'").sort_values("budget")["r2"]
    assert np.allclose(active.get_ydata(), expected)
