"""Acquisition functions over an ``EnsembleModel``: what observing a run would teach us.

Both work with the linear-Gaussian approximation over the posterior draws. With ``mu_s(x)`` draw
s's mean loss at run x, ``sigma_s`` its noise and ``Q_s`` its ``log r*`` at the targets, the draws
give the joint covariance of the observations ``y(x) = mu(x) + noise`` and the targets:

    K = Cov_s(mu(X), mu(X)) + diag(E_s sigma_s^2),     c_t = Cov_s(mu(X), Q_t)

Observing ``X`` lowers Var(Q_t) by ``c_t^T K^-1 c_t``. Pending runs (``X_pending``: proposed or
running, and earlier picks of a batch) are conditioned on as if observed: in the linear-Gaussian
update the covariance does not depend on the value seen, so this equals observing them at their
predicted mean. One Cholesky factor of the joint ``K`` over [pending, X] gives every conditional
quantity: the rows of ``L^-1 c`` below the pending ones are exactly the extra variance reduction.
"""

from __future__ import annotations

import torch
from botorch.acquisition.acquisition import AcquisitionFunction
from botorch.acquisition.cost_aware import CostAwareUtility
from botorch.utils.transforms import t_batch_mode_transform

from bayes_moe.design.ensemble import EnsembleModel

JITTER = 1e-10  # relative to the largest predictive variance, for a safe Cholesky


class _ConditionedOnPending(AcquisitionFunction):
    """Shared machinery: the joint draw covariance of pending runs and candidates, and its factor.
    ``cost`` (e.g. ``InverseCostWeightedUtility``) turns a utility into a utility per unit cost."""

    def __init__(self, model: EnsembleModel, cost: CostAwareUtility | None = None, X_pending=None):
        super().__init__(model)
        self.cost = cost
        self.set_X_pending(X_pending)

    def _factor(self, X: torch.Tensor):
        """``(L, centred draws of mu, noise variance, p)`` over [pending, X]; ``p`` pending rows."""
        pending = self.X_pending
        p = 0 if pending is None else pending.shape[-2]
        if p:
            X = torch.cat([pending.to(X).expand(*X.shape[:-2], p, X.shape[-1]), X], dim=-2)
        posterior = self.model.posterior(X, observation_noise=True)
        mean = posterior.mean.squeeze(-1)  # batch x draws x n
        noise = posterior.variance.squeeze(-1).mean(dim=-2)  # batch x n: E_s sigma_s^2
        centred = mean - mean.mean(dim=-2, keepdim=True)
        n_draws = mean.shape[-2]
        K = centred.transpose(-1, -2) @ centred / (n_draws - 1) + torch.diag_embed(noise)
        jitter = JITTER * K.diagonal(dim1=-2, dim2=-1).amax(dim=-1)
        K = K + jitter[..., None, None] * torch.eye(K.shape[-1], dtype=K.dtype)
        return torch.linalg.cholesky(K), centred, noise, p

    def _weighted(self, X: torch.Tensor, utility: torch.Tensor) -> torch.Tensor:
        return utility if self.cost is None else self.cost(X, utility)


class TargetVarianceReduction(_ConditionedOnPending):
    """Expected reduction of sum_t Var(log r*_t) from observing the q runs in ``X``, given the
    pending runs; per unit cost when ``cost`` is set. ``targets``: ``draws x targets``."""

    def __init__(self, model: EnsembleModel, targets: torch.Tensor, cost: CostAwareUtility | None = None,
                 X_pending=None):
        super().__init__(model, cost, X_pending)
        targets = torch.as_tensor(targets, dtype=torch.float64)
        self.register_buffer("targets_centred", targets - targets.mean(dim=0))

    def _reductions(self, X: torch.Tensor):
        """``(by pending, by X)``, each ``batch x targets``: the variance of log r* each removes,
        X's share conditioned on the pending runs (rows of the whitened covariance), debiased.

        Row j's share is a squared sample correlation times the variance of Q_t left before it, so
        with M draws it is about ``left_t * epistemic_j / (M - 1)`` even where the true correlation
        is zero (``epistemic_j``: the share of row j's predictive variance that is not noise). Per
        unit cost that floor makes the cheapest runs look informative forever; it is subtracted."""
        L, centred, noise, p = self._factor(X)
        n_draws = centred.shape[-2]
        cov = centred.transpose(-1, -2) @ self.targets_centred.to(centred) / (n_draws - 1)
        shares = torch.linalg.solve_triangular(L, cov, upper=False).pow(2)  # batch x n x targets
        left = self.prior_variance - (shares.cumsum(dim=-2) - shares)  # Var(Q_t) before each row
        epistemic = 1 - noise / L.diagonal(dim1=-2, dim2=-1).pow(2)
        debiased = shares - left * epistemic.unsqueeze(-1) / (n_draws - 1)
        return debiased[..., :p, :].sum(dim=-2).clamp_min(0), debiased[..., p:, :].sum(dim=-2).clamp_min(0)

    @property
    def prior_variance(self) -> torch.Tensor:
        """Var(log r*_t) over the draws, before any run."""
        return self.targets_centred.pow(2).sum(dim=0) / (self.targets_centred.shape[0] - 1)

    def variance_reduction(self, X: torch.Tensor) -> torch.Tensor:
        """``batch x targets``: how much each target's variance drops (in (log r*)^2)."""
        return self._reductions(X)[1]

    def information(self, X: torch.Tensor) -> torch.Tensor:
        """``batch``: expected information about the targets in nats (Gaussian approximation,
        targets treated as independent): sum_t 1/2 log(Var before / Var after)."""
        by_pending, by_X = self._reductions(X)
        before = self.prior_variance - by_pending
        return 0.5 * torch.log(before / (before - by_X)).sum(dim=-1)

    @t_batch_mode_transform()
    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self._weighted(X, self.variance_reduction(X).sum(dim=-1))


class PredictiveVariance(_ConditionedOnPending):
    """Uncertainty sampling: the epistemic variance of the loss at the q runs in ``X`` (summed in
    sequence, each conditioned on the earlier ones and on the pending runs), optionally per cost."""

    @t_batch_mode_transform()
    def forward(self, X: torch.Tensor) -> torch.Tensor:
        L, _, noise, p = self._factor(X)
        conditional = L.diagonal(dim1=-2, dim2=-1).pow(2) - noise  # Var(y_i | earlier) - noise
        return self._weighted(X, conditional[..., p:].clamp_min(0.0).sum(dim=-1))
