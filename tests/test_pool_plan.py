"""A batch as the start of the better of two plans to the budget (design.pool.select_batch), and a first
design that leaves the selection a share of the budget (benchmarks.scalebench)."""

import numpy as np

from bayes_moe.benchmarks import scalebench
from bayes_moe.design.pool import PLAN_PICKS, _may_spend_out, select_batch
from bayes_moe.pooltask import load_task
from tests.test_scalebench import make_task


def knapsack_pool(dear_blur, cheap_blur, n_draws=4096):
    """Row 0 (cost 2) and rows 1 and 2 (cost 1 each) measure the targets' signal, blurred by draw-to-draw
    variation of sd ``dear_blur`` and ``cheap_blur``: a budget of 2 buys row 0 or the pair."""
    rng = np.random.default_rng(0)
    signal = rng.standard_normal(n_draws)
    rows = [signal + blur * rng.standard_normal(n_draws) for blur in (dear_blur, cheap_blur, cheap_blur)]
    return np.stack(rows, axis=1), signal[:, None], np.full(n_draws, 0.1), np.array([2.0, 1.0, 1.0])


def test_a_budget_that_buys_the_dear_row_or_two_cheap_ones_buys_the_better_plan():
    # row 0 exact (variance reduction ~0.99); each cheap row ~0.55, more per unit cost, the pair only ~0.71
    pool, targets, noise, costs = knapsack_pool(0.0, 0.9)
    (first, _), = select_batch(pool, targets, noise, costs, range(3), np.inf, 1)
    assert first in (1, 2)  # per unit cost a cheap row first, with no budget's end to plan for
    (row, value), = select_batch(pool, targets, noise, costs, range(3), 2.0, 1)
    assert row == 0 and value > 0
    # row 0 ~0.79, each cheap row ~0.73, the pair ~0.84: the cheap plan wins
    pool, targets, noise, costs = knapsack_pool(0.5, 0.6)
    assert [row for row, _ in select_batch(pool, targets, noise, costs, range(3), 2.0, 2)] in ([1, 2], [2, 1])


def test_plans_are_computed_only_where_the_budget_may_run_out_within_them():
    costs = np.ones(PLAN_PICKS + 8)
    assert not _may_spend_out(costs, PLAN_PICKS + 1.0)  # any PLAN_PICKS picks leave one more affordable
    assert _may_spend_out(costs, PLAN_PICKS + 0.5) and _may_spend_out(costs[:PLAN_PICKS], 1e9)
    assert not _may_spend_out(costs[:4], np.inf)


def test_the_first_design_stops_where_it_would_leave_the_selection_too_little(tmp_path):
    """first_design 1.0 would take the 3 cheapest runs of the power law; with a tiny share of the budget
    for it, only the first run is the first design's and the selection picks the next."""
    task = load_task(make_task(tmp_path / "tiny"))
    order = np.argsort(task.costs).tolist()
    for share, cheapest in ((1.0, 3), (1e-9, 1)):
        settings = scalebench.Settings(starts=4, draws=64, first_design=1.0, first_design_budget=share)
        campaign = scalebench.GroupCampaign(task, task.laws[0], *task.groups()[0], "active",
                                            np.random.default_rng(0), settings)
        campaign.advance(0.3)
        assert campaign.chosen[:cheapest] == order[:cheapest] and campaign.chosen[cheapest] != order[cheapest]
