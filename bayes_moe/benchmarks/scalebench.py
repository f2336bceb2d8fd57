"""ScaleBench's protocol (Li et al. 2026, arXiv 2604.22753) on a pool task (docs/scalebench.md).

For every law form of the task, seed and strategy, one campaign per group: runs are picked from the pool
until the next budget (a share of the group's total cost) is spent (only runs that still fit it are
eligible), the law is fitted on the picks (``laplace.fit``), and at each budget the fitted law (its MAP)
is scored by R^2 on the target rows of all groups together, clipped to [-1, 1] as in the paper, by
``coverage90``, the share of target rows inside their 90% predictive intervals, and by ``width90``, those
intervals' median width (coverage alone would reward intervals as wide as the prior). R^2 is averaged over law
forms and seeds.

A law with several outputs (domain_mixture's per-domain losses) is scored on all its outputs at the
targets together, as the paper's R^2 flattens them; each pick observes every output of its run.

Strategies: ``active`` (the cheapest runs until they give half as many observations as the law has
parameters, ``Settings.first_design``, or would spend more than half the budget in force, which is left to
the selection, ``Settings.first_design_budget``; ties in random order, or cheap runs that vary every input,
``Settings.first_design_spread`` and ``design.pool.first_design_pick``; then batches by variance reduction at the
targets per unit cost, or by information about them, ``Settings.criterion``, ``design.pool.select_batch``,
refitting after each batch), ``random`` (one
affordable run uniformly at a time) and ``cost_random`` (probability proportional to 1 / cost, the
paper's Cost-Rand).
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayes_moe import laplace
from bayes_moe.discrepancy import AMPLITUDE, Discrepancy
from bayes_moe.errors import InputError
from bayes_moe.pooltask import PoolTask, fits_budget, load_task
from bayes_moe.strategy_names import BOXES, DESIGN_DRAWS, DISCREPANCY_MEANS

STRATEGIES = ("active", "random", "cost_random")
LEVEL = 0.9
CAMPAIGN_KEYS = ("task", "law", "strategy", "seed", "results")  # a --log line, as summarise reads it
RESULT_KEYS = ("budget", "r2", "coverage90", "wall_s")  # each of its results


@dataclass(frozen=True)
class Settings:
    """Inference and design settings of the active campaigns (and of every final fit)."""

    starts: int = 8      # random starts of the first fit of a campaign
    restarts: int = 2    # random starts of a refit, besides the previous fit's modes
    final_starts: int = 0  # random starts of the fit scored at each budget, besides the modes (0: restarts)
    draws: int = 256
    first_design: float = 0.5  # the first design until this many observations per parameter, then selection
    batch_share: float = 0.25  # a batch adds this share of the runs picked so far (at least one)
    cost_power: float = 1.0
    discrepancy: float = AMPLITUDE  # prior sd of the model discrepancy at the targets, in noise sds (0: none)
    learnt_discrepancy: bool = True  # ... in the scored intervals, learnt from the residuals where they show structure
    discrepancy_mean: str = DISCREPANCY_MEANS[0]  # where the scored prediction adds the discrepancy's mean (measured)
    loo_scale: bool = True  # ... and where it is learnt, the intervals' noise and discrepancy scaled by leave-one-out
    polish: bool = True  # the fit scored at each budget: its best start's least squares run on to converge
    noise_trend: bool = True  # the noise sd log-linear in the run's log cost where the runs show it (laplace.fit's size)
    discrepancy_over_pool: bool = False  # the discrepancy's inducing points cover the pool too (docs: measured)
    first_design_spread: bool = False  # the first design varies every input, not the cheapest runs (measured)
    first_design_budget: float = 0.5  # the first design's runs (but the first) spend at most this share of the budget in force
    boxes: str = BOXES[0]  # where flat boxes enter the MAP search centred (laplace.boxes_centred; measured)
    design_draws: str = DESIGN_DRAWS[0]  # where the selection's draws go through the law (laplace.design_posterior; measured)
    criterion: str = "variance"  # a run's value: variance reduction at the targets, or "information" (EPIG-style; measured)
    bagged: int = 0  # the scored prediction: the median over this many bootstrap refits of the picks (0: the MAP; measured)
    bag_min_runs: int = 1  # ... only in a fit of at least this many runs (a resample of a few runs holds fewer still)


def _affordable(costs, rows, chosen, spend_left) -> list[int]:
    rows = np.asarray(rows)
    return rows[~np.isin(rows, chosen) & fits_budget(costs[rows], spend_left)].tolist()


class GroupCampaign:
    """One group's campaign under one law and strategy: picks, spending and the latest fit."""

    def __init__(self, task: PoolTask, law, rows, target_rows, strategy, rng, settings):
        self.task, self.law, self.rows, self.strategy, self.rng, self.settings = task, law, rows, strategy, rng, settings
        self.features = law.features(task.pool)
        self.y = law.observed(task.pool).reshape(len(task.pool), -1)  # rows x outputs
        self.tiebreak = rng.permutation(len(task.pool))  # the first design's order among equal costs
        self.target_features = {k: v[target_rows] for k, v in law.features(task.targets).items()}
        self.size = np.log(task.costs) if settings.noise_trend else None  # each pool row's, for a noise trend
        self.target_size = np.log(task.target_costs[target_rows]) if settings.noise_trend else None
        self.total = float(task.costs[rows].sum())
        self.chosen: list[int] = []
        self.fit: laplace.LaplaceFit | None = None
        self.modes: tuple = ()
        self.discrepancy = (Discrepancy({k: v[rows] for k, v in self.features.items()}, self.target_features,
                                        len(law.outputs), settings.discrepancy_over_pool)
                            if settings.discrepancy else None)

    def spent(self) -> float:
        return float(self.task.costs[self.chosen].sum())

    def refit(self, starts: int = 0, polish: bool = False):
        """Fit the picks from ``starts`` random starts (0: the settings') and the last fit's modes."""
        chosen = np.array(self.chosen)
        starts = starts or (self.settings.restarts if self.modes else self.settings.starts)
        self.fit = self._fit(chosen, self.rng, starts, polish)
        self.modes = tuple(theta for theta, _ in self.fit.modes)
        if not polish:  # a fit that guides the selection, not one that is scored
            self.fit = laplace.design_posterior(self.fit, len(chosen), self.settings.design_draws,
                                                self.settings.first_design)

    def _fit(self, chosen: np.ndarray, rng, starts: int, polish: bool) -> laplace.LaplaceFit:
        """The law fitted to the pool rows ``chosen`` (a row may repeat) from the last fit's modes and ``starts``
        random starts."""
        size = None if self.size is None else np.repeat(self.size[chosen], len(self.law.outputs))
        return laplace.fit(self.law, {k: v[chosen] for k, v in self.features.items()}, self.y[chosen].ravel(),
                           rng=rng, starts=starts, n_draws=self.settings.draws, warm=self.modes, polish=polish,
                           size=size, centred_boxes=laplace.boxes_centred(self.law, len(chosen), self.settings.boxes))

    def bagged_prediction(self, bags: int) -> np.ndarray:
        """The law at the targets, the median over ``bags`` polished fits to bootstrap resamples of the picks (the
        MAP's where none is finite): a steadier point than the MAP where one run moves it. Drawn from a stream
        of its own, so the campaign's later picks are the ones it makes without it."""
        rng = self.rng.spawn(1)[0]
        chosen = np.array(self.chosen)
        predictions = [self.law.predict(self._fit(rng.choice(chosen, len(chosen)), rng, self.settings.restarts,
                                                  polish=True).best, self.target_features)[0] for _ in range(bags)]
        finite = [p for p in predictions if np.isfinite(p).all()]
        return np.median(finite, axis=0) if finite else self.law.predict(self.fit.best, self.target_features)[0]

    def discrepancy_factors(self, *point_sets: dict) -> list | None:
        """The model discrepancy's posterior factors at ``point_sets`` given the picks (``discrepancy``), its
        prior sd the settings' multiple of the fit's noise sd (the selection's); None without a discrepancy."""
        if self.discrepancy is None:
            return None
        observed = {k: v[self.chosen] for k, v in self.features.items()}
        return self.discrepancy.given_fit(self.settings.discrepancy, self.fit.noise_sd, observed, *point_sets,
                                          noise_scale=self.noise_scale(self.chosen))

    def at_targets(self):
        """The discrepancy at the targets for the scored prediction and intervals (``Discrepancy.at_points``: its
        prior sd learnt where the fit's residuals show it, with ``learnt_discrepancy``), or None without one."""
        if self.discrepancy is None:
            return None
        observed = {k: v[self.chosen] for k, v in self.features.items()}
        residuals = self.fit.residuals(observed, self.y[self.chosen])
        return self.discrepancy.at_points(self.settings.discrepancy, residuals, self.fit.noise_sd, observed,
                                          self.target_features, noise_scale=self.noise_scale(self.chosen),
                                          learn=self.settings.learnt_discrepancy, mean=self.settings.discrepancy_mean,
                                          loo_scale=self.settings.loo_scale)

    def noise_scale(self, rows):
        """Each of pool ``rows``' noise sd over the fit's (its noise trend), or None without one."""
        return None if self.size is None else self.fit.noise_scale(self.size[rows])

    def advance(self, budget: float):
        """Pick runs until nothing more fits ``budget`` (a share of the group's cost), then fit."""
        costs = self.task.costs
        while True:
            spend_left = budget * self.total - self.spent()
            affordable = _affordable(costs, self.rows, self.chosen, spend_left)
            if not affordable:
                break
            self.chosen.extend(self._pick(affordable, spend_left))
        if self.chosen:
            self.refit(self.settings.final_starts, polish=self.settings.polish)

    def _pick(self, affordable, spend_left) -> list[int]:
        costs = self.task.costs
        if self.strategy == "random":
            return [int(self.rng.choice(affordable))]
        if self.strategy == "cost_random":
            weights = 1.0 / costs[affordable]
            return [int(self.rng.choice(affordable, p=weights / weights.sum()))]
        from bayes_moe.design.pool import first_design_pick, select_batch  # BoTorch: the active strategy only

        observations = len(self.chosen) * len(self.law.outputs)
        if not self.chosen or observations < self.settings.first_design * len(self.law.priors):
            if self.settings.first_design_spread:
                pick = first_design_pick(self.features, costs, affordable, self.chosen, self.tiebreak)
            else:
                pick = min(affordable, key=lambda i: (costs[i], self.tiebreak[i]))
            if not self.chosen or self.spent() + costs[pick] <= self.settings.first_design_budget * (spend_left + self.spent()):
                return [pick]  # else the selection has the rest: the first design must not leave it no choice
        self.refit()
        pool_features = {k: v[affordable] for k, v in self.features.items()}
        q = max(1, math.ceil(self.settings.batch_share * len(self.chosen)))
        picks = select_batch(self.fit.mean_draws(pool_features), self.fit.mean_draws(self.target_features),
                             self.fit.noise_sd, costs[affordable], range(len(affordable)), spend_left, q,
                             self.settings.cost_power, outputs=len(self.law.outputs),
                             discrepancy=self.discrepancy_factors(pool_features, self.target_features),
                             noise_scale=self.noise_scale(affordable), criterion=self.settings.criterion)
        return [affordable[i] for i, _ in picks]


def run_campaign(task: PoolTask, law_index: int, strategy: str, seed: int, settings: Settings,
                 budgets=None) -> list[dict]:
    """One law form, seed and strategy over every group: ``[{budget, r2, coverage90, width90, runs, wall_s, cpu_s}]``,
    the times from the campaign's start (``cpu_s``: this process's CPU time, which a shared machine does
    not inflate)."""
    if strategy not in STRATEGIES:
        raise InputError(f"strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    law = task.laws[law_index]
    start, cpu_start = time.perf_counter(), time.process_time()
    campaigns = [(GroupCampaign(task, law, rows, target_rows, strategy,
                                 np.random.default_rng([seed, law_index, g]), settings), target_rows)
                 for g, (rows, target_rows) in enumerate(task.groups())]
    y_targets = law.observed(task.targets).reshape(len(task.targets), -1)
    results = []
    for budget in budgets or task.budgets:
        predicted, lower, upper, truth = [], [], [], []
        for campaign, target_rows in campaigns:
            campaign.advance(budget)
            if campaign.fit is None:
                continue
            mean = (campaign.bagged_prediction(settings.bagged)
                    if settings.bagged and len(campaign.chosen) >= settings.bag_min_runs
                    else law.predict(campaign.fit.best, campaign.target_features)[0])
            if not np.isfinite(mean).all():
                continue
            discrepancy = campaign.at_targets()
            extra_sd = None if discrepancy is None else discrepancy.sd[0]
            shift = discrepancy.mean[0] if discrepancy and discrepancy.mean else 0.0
            fit = campaign.fit if discrepancy is None else campaign.fit.noise_scaled(discrepancy.scale)
            lo, hi = fit.interval(campaign.target_features, LEVEL, campaign.rng, extra_sd, campaign.target_size)
            mean, lo, hi = mean + shift, lo + shift, hi + shift
            predicted.append(mean), lower.append(lo), upper.append(hi), truth.append(y_targets[target_rows].ravel())
        results.append(scores(budget, predicted, lower, upper, truth)
                       | {"runs": sum(len(c.chosen) for c, _ in campaigns), "wall_s": time.perf_counter() - start,
                          "cpu_s": time.process_time() - cpu_start})
    return results


def scores(budget, predicted, lower, upper, truth) -> dict:
    """R^2 (clipped to [-1, 1]), coverage90 and width90 over the groups' target rows together."""
    if not predicted:  # no group has a fit: the paper scores this -1
        return {"budget": budget, "r2": -1.0, "coverage90": float("nan"), "width90": float("nan")}
    y, mean = np.concatenate(truth), np.concatenate(predicted)
    lower, upper = np.concatenate(lower), np.concatenate(upper)
    total = np.sum((y - y.mean()) ** 2)
    r2 = 1 - np.sum((y - mean) ** 2) / total if total > 0 else -1.0
    return {"budget": budget, "r2": float(np.clip(r2, -1, 1)), "coverage90": float(np.mean((y >= lower) & (y <= upper))),
            "width90": float(np.median(upper - lower))}


@functools.cache
def _task_in_worker(folder) -> PoolTask:
    return load_task(folder)


def _job(arguments):
    """One campaign; ``task`` is a PoolTask, or its folder in a worker process (law files' functions do not
    pickle: each worker loads the task once)."""
    task, law_index, strategy, seed, settings, budgets = arguments
    task = task if isinstance(task, PoolTask) else _task_in_worker(task)
    return law_index, strategy, seed, run_campaign(task, law_index, strategy, seed, settings, budgets)


def benchmark(task: PoolTask, *, seeds: int, strategies=STRATEGIES, budgets=None, settings: Settings = Settings(),
              workers: int = 1, laws=None, on_campaign=None) -> list[dict]:
    """Every law form (or the indices ``laws``) x seed x strategy, summarised by ``summarise``.
    ``on_campaign`` is called with each campaign's record ``{task, law, strategy, seed, results}`` as it
    ends (in job order)."""
    laws = list(range(len(task.laws)) if laws is None else laws)
    jobs = [(task if workers == 1 else task.folder, k, s, seed, settings, budgets) for k in laws for s in strategies
            for seed in range(seeds)]
    campaigns = []
    with ProcessPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as pool:
        for k, strategy, seed, results in (pool.map(_job, jobs) if pool else map(_job, jobs)):
            campaigns.append({"task": task.name, "law": task.laws[k].name, "strategy": strategy, "seed": seed,
                              "results": results})
            if on_campaign:
                on_campaign(campaigns[-1])
    return summarise(campaigns)


def read_log(path: str) -> list[dict]:
    """The campaign records of a ``--log`` file; ``InputError`` naming the first bad line."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as error:
        raise InputError(f"{path}: {error}") from error
    records = []
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{path}:{number}: not a campaign record ({error})") from error
        if not _is_campaign(record):
            raise InputError(f"{path}:{number}: not a campaign record (needs {', '.join(CAMPAIGN_KEYS)}, and "
                             f"results with {', '.join(RESULT_KEYS)} at each budget)")
        records.append(record)
    return records


def _is_campaign(record) -> bool:
    """Whether a log line holds what ``summarise`` reads: a campaign's keys and a score per budget."""
    return (isinstance(record, dict) and all(key in record for key in CAMPAIGN_KEYS)
            and isinstance(record["results"], list) and bool(record["results"])
            and all(isinstance(r, dict) and all(key in r for key in RESULT_KEYS) for r in record["results"]))


def summarise(campaigns: list[dict]) -> list[dict]:
    """One row per (budget, strategy) over the law forms that have a campaign for every (strategy, seed)
    present (all of them after a whole benchmark; the finished ones in a partial log): R^2 mean over
    forms and seeds, its std across forms (of each form's seed mean, as the paper's table), each form's
    seed mean (``r2_by_law``) and coverage (``coverage_by_law``), coverage90 averaged over the campaigns,
    width90 their median (NaN for logs from before it was recorded), and the campaigns' summed wall and CPU
    times up to that budget."""
    pairs = {(c["strategy"], c["seed"]) for c in campaigns}
    laws = list(dict.fromkeys(c["law"] for c in campaigns))
    laws = [law for law in laws if {(c["strategy"], c["seed"]) for c in campaigns if c["law"] == law} == pairs]
    strategies = [s for s in STRATEGIES if any(s == strategy for strategy, _ in pairs)]
    budgets = [r["budget"] for r in campaigns[0]["results"]] if campaigns else []
    summary = []
    for b, budget in enumerate(budgets):
        for strategy in strategies:
            rows = [(c["law"], c["results"][b]) for c in campaigns if c["strategy"] == strategy and c["law"] in laws]
            per_law = [np.mean([r["r2"] for law2, r in rows if law2 == law]) for law in laws]
            coverage_by_law = [np.mean([r["coverage90"] for law2, r in rows if law2 == law and np.isfinite(r["coverage90"])]
                                       or [np.nan]) for law in laws]
            coverage = [r["coverage90"] for _, r in rows if np.isfinite(r["coverage90"])]
            widths = [r["width90"] for _, r in rows if np.isfinite(r.get("width90", np.nan))]
            summary.append({"task": campaigns[0]["task"], "budget": budget, "strategy": strategy,
                            "r2_mean": float(np.mean([r["r2"] for _, r in rows])), "r2_std": float(np.std(per_law)),
                            "coverage90": float(np.mean(coverage)) if coverage else float("nan"),
                            "width90": float(np.median(widths)) if widths else float("nan"),
                            "laws": len(laws), "seeds": len({seed for _, seed in pairs}),
                            "r2_by_law": {law: float(m) for law, m in zip(laws, per_law)},
                            "coverage_by_law": {law: float(c) for law, c in zip(laws, coverage_by_law)},
                            "wall_s": float(sum(r["wall_s"] for _, r in rows)),
                            "cpu_s": float(sum(r.get("cpu_s", np.nan) for _, r in rows))})
    return summary
