"""Selection from a finite pool of candidate runs: the next batch that most lowers the predictive variance
at the target rows per unit cost (docs/scalebench.md).

The posterior enters as draws: each draw's mean at every pool row and at every target row, and its
noise sd. The criterion is ``design.acquisition.TargetVarianceReduction``'s (the linear-Gaussian
variance reduction at the targets over the draws, debiased for the number of draws, conditioned on the
earlier picks of the batch) divided by ``(cost / total cost) ** cost_power``, and a batch is built
greedily, one affordable row at a time, so that it never exceeds the budget left - what
``optimize_acqf_discrete`` does with that acquisition and ``InverseCostWeightedUtility`` (or, with
``criterion="information"``, its ``information``: each target's reduction relative to its variance left). It
is computed here incrementally: each pick conditions the draws' covariance by rank-one updates (the ensemble
square-root filter's) instead of factoring [pending, candidate] afresh for every candidate, so a pick
costs O(draws x rows) rather than O(rows x pending^2 x draws). On a 1080-row pool, batches of 100 took
minutes through BoTorch; the test suite checks that both give the same picks and values.

**Plans to the budget's end.** Per unit cost alone, a small budget goes to cheap rows that together tell
less than one dearer row it then can no longer afford (ScaleBench's parallel task at 5%: three runs of
one model size, none at another). Where the greedy plan per unit cost spends the budget left within
``PLAN_PICKS`` picks, it is compared with the greedy plan by variance reduction alone (also to the
budget's end), and the batch is the start of the plan that reduces more in total: the better of the two
greedy solutions, which for a submodular value under a budget is within (1 - 1/e) / 2 of the best
(Leskovec et al. 2007, "Cost-effective outbreak detection", CELF). A budget that buys more than
``PLAN_PICKS`` runs is left to the ratio: one run is then a small share of it.

A law with ``k`` outputs gives each row ``k`` columns of draws (row-major, as ``userlaw.Law.predict``):
picking a row observes them together, so a row's value is the joint variance reduction of its ``k``
columns.
"""

from __future__ import annotations

import numpy as np

from bayes_moe.errors import InputError
from bayes_moe.pooltask import fits_budget
from bayes_moe.strategy_names import POOL_CRITERIA


PLAN_PICKS = 32  # the longest plans compared (module docstring)


class _ConditionedDraws:
    """Covariances of the pool's columns and the targets over the draws, conditioned on observed columns."""

    def __init__(self, pool_means: np.ndarray, target_means: np.ndarray, noise_sd: np.ndarray, outputs: int,
                 discrepancy: tuple | None = None, noise_scale: np.ndarray | None = None,
                 criterion: str = "variance"):
        self.n_draws = pool_means.shape[0]
        self.k = outputs
        self.criterion = criterion
        # each column's noise variance: E_s sigma_s^2, as TargetVarianceReduction, times its row's scale^2
        scale = np.ones(pool_means.shape[1] // outputs) if noise_scale is None else np.asarray(noise_scale, float)
        self.noise = float(np.mean(np.square(noise_sd))) * np.repeat(scale ** 2, outputs)
        self.pool = (pool_means - pool_means.mean(axis=0)) / np.sqrt(self.n_draws - 1)
        targets = (target_means - target_means.mean(axis=0)) / np.sqrt(self.n_draws - 1)
        if discrepancy is not None:  # its factors' rows join the draws' as more square-root rows
            self.pool = np.vstack([self.pool, discrepancy[0]])
            targets = np.vstack([targets, discrepancy[1]])
        self.pool_targets = self.pool.T @ targets            # columns x targets
        self.left = np.sum(targets ** 2, axis=0)              # Var(target) still left
        by_row = self.pool.reshape(len(self.pool), -1, outputs)
        self.blocks = np.einsum("mri,mrj->rij", by_row, by_row)  # rows x k x k: a row's columns' covariance
        self.updates: list[np.ndarray] = []                  # rank-one corrections, one per observed column

    @np.errstate(over="ignore", invalid="ignore")  # draws far apart at a row overflow: its value is not finite
    def reductions(self, rows: np.ndarray) -> np.ndarray:
        """Each row's value from observing its columns together: the debiased variance reduction at the
        targets, summed (``variance``), or the information it carries about them, ``sum_t 1/2 log(Var before
        / Var after)`` in nats (``information``: each target's reduction relative to what is left of it)."""
        by_column = self.pool_targets.reshape(-1, self.k, self.pool_targets.shape[1])[rows]
        noise = self.noise.reshape(-1, self.k)[rows]  # rows x k
        if self.k == 1:  # one output: a division, not batched 1 x 1 eigh and Cholesky (1.7x faster on 2702 rows)
            variance = np.maximum(self.blocks[rows, :, 0], 0.0) + noise  # rows x 1
            shares = by_column ** 2 / variance[..., None]
            epistemic = 1 - noise / variance
        else:
            blocks = _nonnegative(self.blocks[rows])
            # the noise, and a rounding floor for blocks whose variances dwarf it (domain_mixture sl_4's
            # wide posterior: the repaired blocks plus the noise alone were not positive definite)
            floor = 1e-9 * np.max(np.diagonal(blocks, axis1=1, axis2=2), axis=1)
            factor = np.linalg.cholesky(blocks + (noise + floor[:, None])[:, :, None] * np.eye(self.k))
            shares = np.linalg.solve(factor, by_column) ** 2      # rows x k x targets
            epistemic = 1 - noise / np.diagonal(factor, axis1=1, axis2=2) ** 2
        before = self.left - (np.cumsum(shares, axis=1) - shares)
        debiased = shares - before * epistemic[..., None] / (self.n_draws - 1)
        by_target = np.clip(debiased.sum(axis=1), 0, None)  # rows x targets
        if self.criterion == "variance":
            return by_target.sum(axis=1)
        share = np.divide(by_target, self.left, out=np.zeros_like(by_target), where=self.left > 0)
        return -0.5 * np.log1p(-np.minimum(share, 1 - 1e-12)).sum(axis=1)

    @np.errstate(over="ignore", invalid="ignore")  # ... and so are its covariances with the row observed
    def observe(self, row: int):
        """Condition on the row's columns, one at a time (a rank-one update each)."""
        for column in range(row * self.k, (row + 1) * self.k):
            covariance = self.pool.T @ self.pool[:, column]
            if self.updates:
                done = np.asarray(self.updates)
                covariance -= done[:, column] @ done
            scale = np.sqrt(max(covariance[column], 0.0) + self.noise[column])
            u, w = covariance / scale, self.pool_targets[column] / scale
            self.pool_targets -= np.outer(u, w)
            self.left = np.maximum(self.left - w ** 2, 0.0)
            by_row = u.reshape(-1, self.k)
            self.blocks -= by_row[:, :, None] * by_row[:, None, :]
            self.updates.append(u)


def _nonnegative(blocks: np.ndarray) -> np.ndarray:
    """The nearest positive semi-definite matrices (symmetrised, negative eigenvalues set to 0): many
    rank-one updates of wide posteriors leave rounding errors larger than the noise variance."""
    values, vectors = np.linalg.eigh((blocks + np.swapaxes(blocks, -1, -2)) / 2)
    return (vectors * np.maximum(values, 0.0)[..., None, :]) @ np.swapaxes(vectors, -1, -2)


def first_design_pick(features: dict, costs: np.ndarray, candidates, chosen, tiebreak: np.ndarray) -> int:
    """The next run of a first design, before there is a posterior to select by: the cheapest candidate
    that brings a new value of the input with the fewest distinct values among the ``chosen`` runs (inputs
    in turn, ties in the law's order; ``tiebreak`` orders equal costs), else the cheapest. The cheapest
    runs alone often share a value of some input (lr_bsz's 8 cheapest: one model and data size, varying
    only learning rate and batch size), and a posterior from them knows nothing of that input's effect:
    the linearized criterion then extrapolates from the prior (docs/scalebench.md)."""
    candidates = np.asarray(candidates)
    ranked = candidates[np.lexsort((tiebreak[candidates], costs[candidates]))]
    seen = {symbol: np.unique(values[list(chosen)]) for symbol, values in features.items()}
    for symbol in sorted(features, key=lambda symbol: len(seen[symbol])):
        new = ~np.isin(features[symbol][ranked], seen[symbol])
        if new.any():
            return int(ranked[np.argmax(new)])
    return int(ranked[0])


def select_batch(pool_means: np.ndarray, target_means: np.ndarray, noise_sd: np.ndarray, costs: np.ndarray,
                 candidates, budget_left: float, q: int, cost_power: float = 1.0,
                 outputs: int = 1, discrepancy: tuple | None = None,
                 noise_scale: np.ndarray | None = None, criterion: str = "variance") -> list[tuple[int, float]]:
    """Up to ``q`` rows of the pool (indices from ``candidates``) with their acquisition values, picked in
    turn by variance reduction at the targets per ``(cost / total cost) ** cost_power``, each given the
    earlier picks, whose costs sum to at most ``budget_left``, or by variance reduction alone where that plan
    reduces more by the budget's end (module docstring). ``pool_means``: draws x (rows * outputs);
    ``target_means``: draws x (targets * outputs); ``noise_sd``: draws; ``costs``: rows.
    ``discrepancy``: the model discrepancy's posterior factors at the pool and the targets
    (``discrepancy.Discrepancy.posterior_factor``), whose variance the picks also reduce. ``noise_scale``:
    each row's noise sd over ``noise_sd``'s (a fit's noise trend, ``laplace.LaplaceFit.noise_scale``).
    ``criterion``: ``variance`` (the reduction summed over the targets) or ``information`` (EPIG-style: the
    expected information about the targets, each target's reduction relative to its variance left)."""
    if criterion not in POOL_CRITERIA:
        raise InputError(f"criterion {criterion!r}: choose one of {', '.join(POOL_CRITERIA)}")
    if pool_means.shape[0] != target_means.shape[0] or pool_means.shape[0] != len(noise_sd):
        raise InputError(f"draws disagree: pool {pool_means.shape}, targets {target_means.shape}, "
                         f"noise {np.shape(noise_sd)}")
    costs = np.asarray(costs, float)
    if pool_means.shape[1] != len(costs) * outputs:
        raise InputError(f"pool draws {pool_means.shape} do not hold {outputs} output(s) for each of {len(costs)} rows")

    def conditioned():
        return _ConditionedDraws(np.asarray(pool_means, float), np.asarray(target_means, float),
                                 np.asarray(noise_sd, float), outputs, discrepancy, noise_scale, criterion)

    candidates = np.fromiter(candidates, dtype=int)
    per_cost = (costs / costs.sum()) ** cost_power
    # with equal costs the plans per unit cost and by value are one plan
    planned = candidates.size > 1 and np.ptp(per_cost[candidates]) > 0 and _may_spend_out(costs[candidates], budget_left)
    picks = _greedy(conditioned(), costs, per_cost, candidates, budget_left, max(q, PLAN_PICKS) if planned else q)
    if planned and _spends_out(costs, candidates, [row for row, _ in picks], budget_left):
        by_value = _greedy(conditioned(), costs, np.ones_like(costs), candidates, budget_left, PLAN_PICKS)
        if sum(value for _, value in by_value) > sum(value for _, value in picks):
            picks = by_value
    with np.errstate(over="ignore"):  # a value past the float range per unit cost is reported as inf
        return [(row, value / per_cost[row]) for row, value in picks[:q]]


def _may_spend_out(costs: np.ndarray, budget_left: float) -> bool:
    """Whether ``PLAN_PICKS`` picks could leave no candidate affordable: not when the ``PLAN_PICKS``
    dearest and the ``PLAN_PICKS + 1``-th cheapest still fit together (then no plan is computed)."""
    if len(costs) <= PLAN_PICKS:
        return np.isfinite(budget_left)
    ranked = np.sort(costs)
    return not fits_budget(ranked[-PLAN_PICKS:].sum() + ranked[PLAN_PICKS], budget_left)


def _spends_out(costs, candidates, picks, budget_left) -> bool:
    """Whether ``picks`` leave no other candidate affordable (a plan that ran to the budget's end)."""
    spend = budget_left - costs[picks].sum()
    rest = np.setdiff1d(candidates, picks)
    return not fits_budget(costs[rest], spend).any()


def _greedy(draws: _ConditionedDraws, costs, per_cost, candidates, budget_left, q) -> list[tuple[int, float]]:
    """Up to ``q`` rows, each the affordable one of most variance reduction per ``per_cost`` given the
    earlier: ``(row, its variance reduction)``. A row whose value is not finite (posterior draws so far apart there
    that their covariance overflows, as a wide fit's extrapolation can be) is never picked: taken by ``argmax`` as
    NaN it was picked first, and conditioning on it spoiled the later picks."""
    left = np.ones(len(candidates), dtype=bool)
    picks: list[tuple[int, float]] = []
    for _ in range(q):
        spend = budget_left - sum(costs[i] for i, _ in picks)
        affordable = candidates[left & fits_budget(costs[candidates], spend)]
        if not affordable.size:
            break
        reductions = draws.reductions(affordable)
        shares = per_cost[affordable] / per_cost[affordable].min()  # >= 1: a large reduction cannot overflow
        ratios = np.where(np.isfinite(reductions), reductions / shares, -np.inf)
        if not np.isfinite(ratios).any():
            break
        best = int(np.argmax(ratios))
        row = int(affordable[best])
        picks.append((row, float(reductions[best])))
        left[candidates == row] = False
        draws.observe(row)
    return picks
