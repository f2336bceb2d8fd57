"""experiments/scalebench/probe_one_run.py and probe_scored_fit.vopt_picks: how much one run moves R^2, and the runs
V-opt's log says it scored at a budget, on the tiny task."""

import numpy as np
import pytest

from bayes_moe.benchmarks import scalebench
from bayes_moe.pooltask import load_task
from conftest import scalebench_probes
from test_scalebench import make_task  # the tiny power-law task: cost = params, 3 parameters, targets beyond the pool


@pytest.fixture(scope="module")
def probes():
    with scalebench_probes("probe_one_run", "probe_scored_fit") as modules:
        yield modules


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    return load_task(make_task(tmp_path_factory.mktemp("tiny")))


def test_vopt_picks_are_its_first_design_and_its_picks_before_the_budget_was_crossed(probes, task):
    costs = task.costs[task.groups()[0][0]]
    log = ("=== vopt === [tiny]\n"
           "[sl_1] groups=1, train=30, params=3\n"
           "    1| idx= 20 c=1e+05 dV=1.0 sig2=1e-03 -> R2=0.5000 f=0.00400 (1.0s)\n"
           "    2| idx=  9 c=1e+04 dV=0.5 sig2=1e-03 -> R2=0.6000 f=0.00900 (1.0s)\n"
           "    3| idx= 29 c=1e+06 dV=0.5 sig2=1e-03 -> R2=0.7000 f=0.20000 (1.0s)\n"
           "  repeat 0 (seed=42): 0.01:0.6000\n")
    [(form, picks)] = probes["probe_scored_fit"].vopt_picks(log, costs, 0.01, {"sl_1": 3}).items()
    # the first design: the cheapest runs, at most 2.5 x 3 // 1 = 7 of them, within 2% of the pool's cost
    cheapest = np.argsort(costs)
    within = np.cumsum(costs[cheapest]) <= 0.02 * costs.sum()
    assert form == "sl_1" and picks["first"] == min(7, int(within.sum()))
    assert picks["runs"] == [int(i) for i in cheapest[:picks["first"]]] + [20, 9]  # not 29: it crossed 1%
    assert picks["logged_r2"] == 0.6


def test_one_run_out_scores_every_subset_and_the_dearest_run_is_the_one_that_matters(probes, task):
    rows, target_rows = task.groups()[0]
    runs = [int(i) for i in np.argsort(task.costs[rows])[:5]] + [int(np.argmax(task.costs[rows]))]
    settings = scalebench.Settings()
    record = probes["probe_one_run"].leave_one_out(task, 0, runs, settings, starts=8)
    assert record["runs"] == runs and len(record["without"]) == len(runs)
    # the whole set's score is the benchmark's score of a fit of those runs
    campaign = scalebench.GroupCampaign(task, task.laws[0], rows, target_rows, "active",
                                        np.random.default_rng([0, 0, 2]), settings)
    campaign.chosen = list(runs)
    campaign.refit(8, polish=True)
    truth = task.laws[0].observed(task.targets).ravel()
    predicted = task.laws[0].predict(campaign.fit.best, campaign.target_features)[0]
    assert record["r2"] == pytest.approx(scalebench.scores(0, [predicted], [predicted], [predicted], [truth])["r2"])
    # the targets lie beyond the pool: without its largest run the law extrapolates from the five smallest alone
    assert record["r2"] > 0.9 and record["without"][-1] < record["r2"] - 0.1
    assert min(record["without"][:-1]) > 0.9
