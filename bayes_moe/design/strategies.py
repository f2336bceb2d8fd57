"""Strategies that propose the next runs, behind one interface.

``active``        expected reduction of Var(log r*) at the targets per FLOP (TargetVarianceReduction
                  weighted by InverseCostWeightedUtility), optimised by ``optimize_acqf_mixed``
``max-variance``  uncertainty sampling: where the posterior disagrees most about the loss
``sobol``         space-filling scrambled Sobol points (also the first batch, before any posterior)
``grid``          the paper's design: an r sweep over [0.2, 1.5] in every (compute, sparsity) cell,
                  cheapest compute first, then ever finer compute levels

A batch is built greedily: each pick conditions the next on what it will observe (for the
acquisition strategies, the linear-Gaussian covariance update over the draws), a batch never
repeats a run that is pending or already in it, and the runs fit the compute budget left.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import Counter
from typing import ClassVar

import numpy as np
import torch
from botorch.acquisition.cost_aware import InverseCostWeightedUtility
from botorch.optim import optimize_acqf_mixed
from torch.quasirandom import SobolEngine

from bayes_moe.design.acquisition import PredictiveVariance, TargetVarianceReduction
from bayes_moe.design.ensemble import EnsembleModel
from bayes_moe.design.space import COMPUTE_COL, SAME_RUN, Candidate, DesignSpace, same_run
from bayes_moe.errors import InputError

# Small multistart settings keep memory and time in check (BoTorch's defaults ran out of 24 GB here).
OPTIMISER = dict(num_restarts=4, raw_samples=64, options={"batch_limit": 8, "init_batch_limit": 64, "maxiter": 50},
                 retry_on_optimization_warning=False)  # an early line-search stop still returns its best point
FALLBACK_CHOICES = 256  # space-filling choices ranked when the optimum repeats a pending run
GRID_R = tuple(np.geomspace(0.2, 1.5, 6))  # the paper's r sweep
GRID_LEVELS = 5  # compute refinements: decades, then halves, quarters, ... of a decade
SOBOL_TRIES = 64
TOP_DECADES = 0.5  # the guard's "top of the affordable range": within this many decades of the largest run allowed
# the guard's windows: from the largest run allowed down this many decades; a level's guarded picks take turns
# among them, and per FLOP a pick goes to its window's floor (here a half decade and a decade and a half below the
# top: on the bending world, 8 seeds, fewer misses on the way than one window at 0.6x its compute; docs/design.md)
TOP_STRATA = (TOP_DECADES, 1.5)


class Strategy(ABC):
    """Proposes a batch of runs in a design space, given the runs done and pending."""

    name: ClassVar[str]
    needs_posterior: ClassVar[bool] = False

    def __init__(self, seed: int = 0):
        self.seed = seed  # every random choice of the strategy derives from it

    def propose(self, q: int, space: DesignSpace, *, done=(), pending=(), budget_left: float = math.inf
                ) -> list[Candidate]:
        """Up to ``q`` distinct runs, none equal to a pending one, whose compute sums to at most
        ``budget_left`` FLOPs (fewer when the budget runs out; none when not even the smallest fits)."""
        if not isinstance(q, int) or q < 1:
            raise InputError(f"batch size must be a positive integer, got {q!r}")
        picks: list[Candidate] = []
        for _ in range(q):
            left = budget_left - sum(c.compute for c in picks)
            if left < space.compute_bounds[0]:
                break
            allowed = self._space_for(space.capped(left), len(picks), [*done, *pending, *picks])
            picks.append(self._pick(allowed, list(done), [*pending, *picks]))
        return picks

    def _space_for(self, space: DesignSpace, index: int, runs: list) -> DesignSpace:
        """Where the batch's pick number ``index`` may go, given the ``runs`` done and pending (the batch's
        earlier picks included): anywhere in ``space`` unless a strategy says otherwise."""
        return space

    @abstractmethod
    def _pick(self, space: DesignSpace, done: list, pending: list) -> Candidate:
        """One run in ``space``, conditioned on (and distinct from) ``pending``."""


class Sobol(Strategy):
    """Scrambled Sobol points over (log r, log compute, sparsity), continuing the sequence past the
    runs already in the ledger so that successive batches keep filling the space."""

    name = "sobol"

    def _pick(self, space, done, pending):
        X = sobol_features(space, SOBOL_TRIES, self.seed, skip=len(done) + len(pending))
        return _first_new(space, X, [*done, *pending], self.name)


def sobol_features(space: DesignSpace, n: int, seed: int, skip: int = 0) -> torch.Tensor:
    """``n x 3`` scrambled Sobol features in ``space`` (past the first ``skip``), sparsities equally often."""
    u = SobolEngine(3, scramble=True, seed=seed).fast_forward(skip).draw(n, dtype=torch.float64)
    k = len(space.new_run_sparsities)
    sparsity = torch.tensor(space.new_run_sparsities, dtype=torch.float64)[(u[:, 2] * k).long().clamp(max=k - 1)]
    low, high = space.bounds()[:, COMPUTE_COL]
    return torch.stack([u[:, 0], low + u[:, 1] * (high - low), sparsity], dim=-1)


class Grid(Strategy):
    """The paper's grid: every (compute, sparsity) cell swept over r in [0.2, 1.5] (clipped to the
    space), cells by increasing compute; when the decade levels are done, their midpoints in log
    compute, and so on (coarse to fine)."""

    name = "grid"

    def _pick(self, space, done, pending):
        low, high = space.compute_bounds
        decades = max(1, round(math.log10(high / low)))
        r_low, r_high = space.r_bounds
        sweep = np.clip(GRID_R, r_low, r_high)
        seen: set[float] = set()
        for level in range(GRID_LEVELS):
            levels = np.geomspace(low, high, decades * 2**level + 1)
            for compute in (c for c in levels if round(math.log(c), 9) not in seen):
                seen.add(round(math.log(compute), 9))
                if compute > space.largest_compute:
                    continue
                X = space.to_features(*np.broadcast_arrays(sweep[None, :], compute, np.array(space.sparsities)[:, None]))
                X = X.reshape(-1, 3)
                new = _first_new(space, X, [*done, *pending], self.name, required=False)
                if new is not None:
                    return new
        raise InputError(f"the grid is exhausted: every run of {GRID_LEVELS} compute refinements is done or pending")


class _AcquisitionStrategy(Strategy):
    """Picks by maximising an acquisition function over the posterior draws with BoTorch.
    ``model`` must tabulate every sparsity of the space and of the pending runs. The guard
    ``top_picks``: the first that many picks of each batch are kept near the largest compute allowed
    (conditioned on as usual by the later ones), so that a myopic criterion per FLOP cannot spend a
    campaign on cheap runs whose law may not hold where the targets are; each such pick goes to a
    target sparsity (``target_sparsities``, default every sparsity of the space) with the fewest runs
    near the top so far, done, pending or picked, so that every target's own level gets runs where it
    is wanted (a law's transfer across levels is what fails first), and within that level to the
    window of ``guard_strata`` with the fewest of its runs (ties: the narrower), so that its runs near
    the top sit at more than one compute and measure the law's slope there, not only its level at one
    compute (per FLOP, every pick in one window goes to its floor)."""

    needs_posterior = True

    def __init__(self, model: EnsembleModel, targets, seed: int = 0, top_picks: int = 0, target_sparsities=()):
        super().__init__(seed)
        if not isinstance(top_picks, int) or top_picks < 0:
            raise InputError(f"top_picks must be a whole number >= 0, got {top_picks!r}")
        self.model = model
        self.targets = torch.as_tensor(targets, dtype=torch.float64)
        self.top_picks = top_picks
        self.target_sparsities = tuple(target_sparsities)

    def _space_for(self, space, index, runs):
        if index >= self.top_picks:
            return space
        strata = guard_strata(space)
        wanted = {space.campaign_sparsity(t) for t in self.target_sparsities}
        levels = [s for s in space.sparsities if s in wanted] or space.sparsities
        counts = Counter()  # (level, stratum) -> runs done, pending or picked there (the narrowest window holding it)
        for run in runs:
            stratum = next((k for k, top in enumerate(strata) if run.compute >= top.smallest_compute * (1 - SAME_RUN)),
                           None)
            if stratum is not None:
                counts[space.campaign_sparsity(run.sparsity), stratum] += 1
        near_top = {s: sum(counts[s, k] for k in range(len(strata))) for s in levels}
        levels = [s for s in levels if near_top[s] == min(near_top.values())]
        fewest = {k: min(counts[s, k] for s in levels) for k in range(len(strata))}
        stratum = min(fewest, key=lambda k: (fewest[k], k))  # ties: the narrower window
        return strata[stratum].at_sparsities([s for s in levels if counts[s, stratum] == fewest[stratum]])

    @abstractmethod
    def acquisition(self, model: EnsembleModel, space: DesignSpace):
        """The BoTorch acquisition function this strategy maximises."""

    def _pick(self, space, done, pending):
        acqf = self.acquisition(self.model, space)
        X_pending = space.features_of(pending)
        acqf.set_X_pending(X_pending if len(X_pending) else None)
        # the multistart draws its raw starts and picks among them (torch.multinomial) at random: from
        # the strategy's seed, in a forked generator, so the same posterior and seed propose the same runs
        # and the caller's generator is left as it was (BoTorch's options["seed"] covers the raw starts only)
        with torch.random.fork_rng():
            torch.manual_seed(self.seed + len(pending))
            x, value = optimize_acqf_mixed(acqf, space.bounds(), q=1, fixed_features_list=space.fixed_sparsities(),
                                           **OPTIMISER)
        candidate = space.snap(x[0], float(value))
        if not any(same_run(candidate, run) for run in pending):
            return candidate
        # The optimum repeats a pending run (a replicate can be worth most, e.g. for uncertainty
        # sampling at a corner): take the best new run among space-filling choices (from the strategy's seed) instead.
        choices = sobol_features(space, FALLBACK_CHOICES, seed=self.seed)
        with torch.no_grad():
            values = acqf(choices.unsqueeze(-2))
        order = values.argsort(descending=True)
        return _first_new(space, choices[order], pending, self.name, values=values[order])


class Active(_AcquisitionStrategy):
    """Expected variance reduction of log r* at the targets per unit compute."""

    name = "active"

    def acquisition(self, model, space):
        cost = InverseCostWeightedUtility(space.cost_model())
        return TargetVarianceReduction(model, self.targets, cost=cost)


class MaxVariance(_AcquisitionStrategy):
    """Uncertainty sampling: the largest epistemic variance of the loss, whatever the run costs."""

    name = "max-variance"

    def acquisition(self, model, space):
        return PredictiveVariance(model)


STRATEGIES = {cls.name: cls for cls in (Active, MaxVariance, Sobol, Grid)}  # named in bayes_moe.strategy_names


def make_strategy(name: str, *, model: EnsembleModel | None = None, targets=None, seed: int = 0,
                  top_picks: int = 0, target_sparsities=()) -> Strategy:
    """The strategy called ``name``; the acquisition strategies need the posterior's ``model`` and
    its draws of log r* at the ``targets`` (``draws x targets``) and take the guard ``top_picks``,
    spread over the ``target_sparsities`` (default: every sparsity of the space)."""
    if name not in STRATEGIES:
        raise InputError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    cls = STRATEGIES[name]
    if cls.needs_posterior:
        if model is None or targets is None:
            raise InputError(f"strategy {name!r} needs a fitted posterior")
        return cls(model, targets, seed, top_picks, target_sparsities)
    return cls(seed)


def guard_strata(space: DesignSpace) -> list[DesignSpace]:
    """The guard's windows of ``space``, narrowest first: each of ``TOP_STRATA`` decades down from the largest
    compute allowed, clipped to the smallest (a window clipped to the same floor as a narrower one is left out)."""
    strata = []
    for decades in sorted(TOP_STRATA):
        top = space.top(decades)
        if not strata or top.smallest_compute < strata[-1].smallest_compute:
            strata.append(top)
    return strata


def _first_new(space: DesignSpace, X: torch.Tensor, existing: list, name: str, required: bool = True,
               values: torch.Tensor | None = None):
    """The first row of ``X`` whose run is not in ``existing``, with its acquisition value (the
    matching entry of ``values``) where given."""
    for i, x in enumerate(X):
        candidate = space.snap(x, None if values is None else float(values[i]))
        if not any(same_run(candidate, run) for run in existing):
            return candidate
    if required:
        raise InputError(f"{name}: no new run among {len(X)} points; every one is done or pending")
    return None
