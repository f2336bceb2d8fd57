"""Selection from a finite pool of candidate runs: the next batch that most lowers the predictive variance
at the target rows per unit cost (docs/scalebench.md).

The posterior enters as draws: each draw's mean at every pool row and at every target row, and its
noise sd. The pool becomes an ``EnsembleModel`` over one feature, the row index, so the project's
``TargetVarianceReduction`` (the linear-Gaussian variance reduction over the draws, conditioned on the
earlier picks through ``X_pending``) scores every row, with the targets' draws of the mean as the
quantity of interest. Cost enters through BoTorch's ``InverseCostWeightedUtility`` as
``(cost / total cost) ** cost_power``; a batch is built greedily by ``optimize_acqf_discrete`` over the
rows still affordable, one pick at a time, so that it never exceeds the budget left.
"""

from __future__ import annotations

import numpy as np
import torch
from botorch.acquisition.cost_aware import InverseCostWeightedUtility
from botorch.models.deterministic import GenericDeterministicModel
from botorch.optim import optimize_acqf_discrete

from bayes_moe.design.acquisition import TargetVarianceReduction
from bayes_moe.design.ensemble import EnsembleModel
from bayes_moe.errors import InputError


def _row_lookup(table: torch.Tensor):
    """``X`` (``batch x n x 1`` row indices) -> ``batch x draws x n`` values of ``table`` (``draws x rows``)."""
    def lookup(X: torch.Tensor) -> torch.Tensor:
        values = table[:, X[..., 0].long()]  # draws x batch... x n
        return values.movedim(0, -2) if X.dim() > 2 else values
    return lookup


def select_batch(pool_means: np.ndarray, target_means: np.ndarray, noise_sd: np.ndarray, costs: np.ndarray,
                 candidates, budget_left: float, q: int, cost_power: float = 1.0) -> list[tuple[int, float]]:
    """Up to ``q`` rows of the pool (indices from ``candidates``) with their acquisition values, picked in
    turn by variance reduction at the targets per ``cost ** cost_power``, each given the earlier picks,
    whose costs sum to at most ``budget_left``. ``pool_means``: draws x rows; ``target_means``: draws x
    targets; ``noise_sd``: draws; ``costs``: rows."""
    if pool_means.shape[0] != target_means.shape[0] or pool_means.shape[0] != len(noise_sd):
        raise InputError(f"draws disagree: pool {pool_means.shape}, targets {target_means.shape}, "
                         f"noise {np.shape(noise_sd)}")
    costs = np.asarray(costs, float)
    table = torch.as_tensor(pool_means, dtype=torch.float64)
    weights = torch.as_tensor((costs / costs.sum()) ** cost_power, dtype=torch.float64)
    cost_model = GenericDeterministicModel(lambda X: weights[X[..., 0].long()].unsqueeze(-1))
    model = EnsembleModel(_row_lookup(table), torch.as_tensor(noise_sd, dtype=torch.float64))
    acquisition = TargetVarianceReduction(model, torch.as_tensor(target_means, dtype=torch.float64),
                                          cost=InverseCostWeightedUtility(cost_model))
    left = list(candidates)
    picks: list[tuple[int, float]] = []
    for _ in range(q):
        spend = budget_left - sum(costs[i] for i, _ in picks)
        affordable = [i for i in left if costs[i] <= spend * (1 + 1e-12)]
        if not affordable:
            break
        choices = torch.tensor(affordable, dtype=torch.float64).unsqueeze(-1)
        with torch.no_grad():
            pick, value = optimize_acqf_discrete(acquisition, q=1, choices=choices)
        row = int(pick[0, 0])
        picks.append((row, float(value.reshape(-1)[0])))
        left.remove(row)
        acquisition.set_X_pending(torch.tensor([[float(i)] for i, _ in picks], dtype=torch.float64))
    return picks
