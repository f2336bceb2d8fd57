"""The next runs from a pool of candidates for any law file, and 90% intervals at the targets: what
``bayes-moe pool-next`` prints and the scalebench notebook draws (docs/scalebench.md, "Next runs from a pool").

A pool row with every output of the law is a run done, a row with none a candidate; the law is fitted to the
runs done (``laplace.fit``, polished), and ``design.pool.select_batch`` picks the candidates that most lower the
predictive variance (or carry the most information) at the targets per unit cost, within the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from bayes_moe import laplace
from bayes_moe.discrepancy import AMPLITUDE, Discrepancy
from bayes_moe.errors import InputError
from bayes_moe.pooltask import check_table, run_costs
from bayes_moe.strategy_names import DESIGN_DRAWS, DISCREPANCY_MEANS
from bayes_moe.userlaw import Law

LEVEL = 0.9


@dataclass(frozen=True)
class Proposal:
    """``done``: the pool rows fitted; ``candidates``: those to choose from; ``picks``: ``(pool row, acquisition)``
    in pick order; ``next`` and ``at_targets``: one record per output of each pick and target row (``row`` counts
    from 1, the first row after the CSV's header), with the prediction (``predicted``: the best fit's ``law`` plus
    the discrepancy's posterior mean where it is added) and the 90% predictive interval; ``features``,
    ``target_features``: the law's inputs at the pool's and the targets' rows; ``observed``: the pool's outputs (rows
    x outputs, NaN at the candidates); ``costs`` of the pool rows, ``target_costs`` of the target rows (None where the
    cost rule's columns are not in the targets table); ``discrepancy_sd``: the prior sd of the law's discrepancy in
    the intervals, in noise sds, and ``discrepancy_learnt`` whether the fit's residuals showed it (else it is the one
    assumed), ``discrepancy_mean`` whether the predictions add its posterior mean; ``noise``: the fit's noise sd
    (``noise_summary``)."""

    law: Law
    fit: laplace.LaplaceFit
    done: np.ndarray
    candidates: list[int]
    features: dict
    target_features: dict
    observed: np.ndarray
    costs: np.ndarray
    target_costs: np.ndarray | None
    picks: list[tuple[int, float]]
    next: list[dict]
    at_targets: list[dict]
    discrepancy_sd: float
    discrepancy_learnt: bool
    discrepancy_mean: bool
    noise: dict


def propose(law: Law, pool: pd.DataFrame, targets: pd.DataFrame, cost_rule: str, *, budget: float = math.inf,
            batch: int = 1, cost_power: float = 1.0, criterion: str = "variance", starts: int = 16,
            discrepancy: float = AMPLITUDE, learnt_discrepancy: bool = True,
            discrepancy_mean: str = DISCREPANCY_MEANS[0], loo_scale: bool = True, noise_trend: bool = False,
            design_draws: str = DESIGN_DRAWS[0], seed: int = 0, pool_name: str = "pool",
            targets_name: str = "targets") -> Proposal:
    """Fit ``law`` to the pool's runs done and pick up to ``batch`` candidates within ``budget``, by the posterior
    draws that ``laplace.design_posterior`` gives for ``design_draws`` (as a benchmark campaign's selection: by
    default through the law where the runs done partly determine it, linearized elsewhere), with the law's
    discrepancy of prior sd ``discrepancy`` noise sds (in the intervals, with ``learnt_discrepancy``, the one the
    fit's residuals show where they show one, and its posterior mean added to the predictions where ``discrepancy_mean``
    says, the intervals' noise and discrepancy scaled by leave-one-out there with ``loo_scale``; the selection keeps
    ``discrepancy``);
    ``InputError`` naming the table (``pool_name``, ``targets_name``), row, column or value of bad input."""
    from bayes_moe.design.pool import select_batch  # BoTorch

    if discrepancy < 0:
        raise InputError(f"discrepancy {discrepancy}: an sd cannot be negative")
    check_table(pool, law, [*law.inputs.values(), *law.outputs], pool_name)
    check_table(targets, law, list(law.inputs.values()), targets_name)
    costs = run_costs(pool, cost_rule, pool_name)
    observed = law.observed(pool).reshape(len(pool), -1)
    known = np.isfinite(observed)
    done, candidates = np.flatnonzero(known.all(axis=1)), [int(i) for i in np.flatnonzero(~known.any(axis=1))]
    partial = np.flatnonzero(known.any(axis=1) & ~known.all(axis=1))
    if partial.size:
        raise InputError(f"{pool_name}: row {partial[0] + 1} has some of {', '.join(law.outputs)} but not all")
    if done.size == 0:
        raise InputError(f"{pool_name}: no row has a value in {', '.join(law.outputs)}; run a first design "
                         "(e.g. the cheapest runs)")
    target_costs = _target_costs(targets, cost_rule, targets_name, required=noise_trend)
    rng = np.random.default_rng(seed)
    features, target_features = law.features(pool), law.features(targets)
    done_features = {k: v[done] for k, v in features.items()}
    # a noise trend: each run's log cost its size, the targets' by the same rule (their table needs its columns)
    size = np.log(costs) if noise_trend else None
    target_size = np.log(target_costs) if noise_trend else None
    fit = laplace.fit(law, done_features, observed[done].ravel(), rng=rng, starts=starts, polish=True,
                      size=None if size is None else np.repeat(size[done], len(law.outputs)),
                      centred_boxes=laplace.boxes_centred(law, done.size))
    # the law's discrepancy at the pool's rows and the targets: the predictions' of the prior sd the fit's residuals
    # show where they show one (with learnt_discrepancy), the selection's of the assumed one (the same factors where
    # the residuals show none)
    model_discrepancy = Discrepancy(features, target_features, len(law.outputs))
    run_scale = None if size is None else fit.noise_scale(size[done])
    residuals = fit.residuals(done_features, observed[done])
    at_points = (model_discrepancy.at_points(discrepancy, residuals, fit.noise_sd,
                                             done_features, features, target_features, noise_scale=run_scale,
                                             learn=learnt_discrepancy, mean=discrepancy_mean, loo_scale=loo_scale)
                 if discrepancy else None)
    factors = at_points.factors if at_points else None
    if at_points and at_points.prior_sd != discrepancy:
        factors = model_discrepancy.given_fit(discrepancy, fit.noise_sd, done_features, features, target_features,
                                              noise_scale=run_scale)
    design = laplace.design_posterior(fit, done.size, design_draws)
    picks = select_batch(design.mean_draws(features), design.mean_draws(target_features), fit.noise_sd, costs,
                         candidates, budget, batch, cost_power, outputs=len(law.outputs), discrepancy=factors,
                         noise_scale=None if size is None else fit.noise_scale(size), criterion=criterion)
    pool_sd, target_sd = at_points.sd if at_points else (None, None)
    pool_shift, target_shift = at_points.mean if at_points and at_points.mean else (None, None)
    predictive = fit.noise_scaled(at_points.scale) if at_points else fit
    columns = list(law.inputs.values())
    runs = [{"row": i + 1, **{c: pool[c].iloc[i] for c in columns}, "cost": costs[i], "acquisition": value} | at
            for i, value in picks for at in _predictions(predictive, features, i, rng, pool_sd, pool_shift, size)]
    at_targets = [{"row": j + 1, **{c: targets[c].iloc[j] for c in columns}} | at for j in range(len(targets))
                  for at in _predictions(predictive, target_features, j, rng, target_sd, target_shift, target_size)]
    return Proposal(law, fit, done, candidates, features, target_features, observed, costs, target_costs, picks, runs,
                    at_targets, at_points.prior_sd if at_points else 0.0, bool(at_points and at_points.learnt),
                    bool(at_points and at_points.mean), noise_summary(fit, residuals))


def noise_summary(fit: laplace.LaplaceFit, residuals: np.ndarray) -> dict:
    """The fit's noise sd for a user reading the intervals: the median and 90% interval of its posterior draws (at
    the runs' mean log cost, with a noise trend); ``prior``, whether it is the law's prior alone (no more
    observations than parameters, ``laplace.residual_dof``); ``prior_too_narrow``, the ``residuals``' rms where it
    lies beyond the prior's 99th percentile (the prior then shrinks the noise, and the intervals with it), else
    None."""
    lower, median, upper = np.quantile(fit.noise_sd, [0.05, 0.5, 0.95])
    rms = float(np.sqrt(np.mean(residuals ** 2)))
    return {"median": float(median), "lower90": float(lower), "upper90": float(upper),
            "prior": laplace.residual_dof(fit.law, residuals.size) == 0,
            "prior_too_narrow": rms if rms > stats.halfnorm.ppf(0.99, scale=fit.law.noise_sd.sigma) else None}


def _target_costs(targets: pd.DataFrame, cost_rule: str, name: str, required: bool) -> np.ndarray | None:
    """The target rows' costs by the pool's rule: a noise trend needs them; otherwise they only place the targets
    in a figure, and a targets table without the rule's columns has none."""
    try:
        return run_costs(targets, cost_rule, name)
    except InputError:
        if required:
            raise
        return None


def _predictions(fit, features: dict, row: int, rng, discrepancy_sd=None, discrepancy_mean=None,
                 size=None) -> list[dict]:
    """One record per output at ``features``' row ``row``: the best fit (``law``), the prediction (plus the model
    discrepancy's posterior mean at each point and output, ``discrepancy_mean``, where it is added) and the 90%
    predictive interval about it (with the discrepancy's sd, ``discrepancy_sd``, where there is one, and the noise
    at the row's log size, ``size``, for a fit with a noise trend)."""
    law, k = fit.law, len(fit.law.outputs)
    at_row = {symbol: value[row:row + 1] for symbol, value in features.items()}
    best = law.predict(fit.best, at_row)[0]
    extra = None if discrepancy_sd is None else discrepancy_sd[row * k:(row + 1) * k]
    shift = 0.0 if discrepancy_mean is None else discrepancy_mean[row * k:(row + 1) * k]
    lower, upper = fit.interval(at_row, LEVEL, rng, extra, None if size is None else size[row:row + 1])
    predicted, lower, upper = best + shift, lower + shift, upper + shift
    return [{"output": law.outputs[o], "predicted": predicted[o], "lower90": lower[o], "upper90": upper[o],
             "law": best[o]} for o in range(k)]
