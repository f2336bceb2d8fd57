"""The posterior as BoTorch sees it: an ensemble of MCMC draws, each a noisy loss surface.

``PosteriorDraws`` holds what the design needs from a fitted model, as plain arrays and one callable:
the mean loss of each draw at any runs, each draw's noise, and each draw's ``log r*`` at the targets.
``EnsembleModel`` wraps it as a fully Bayesian ``botorch.models.model.Model``: its posterior at
``X`` is a ``GaussianMixturePosterior`` with one Gaussian per draw (mean = that draw's loss surface,
variance = its noise), so BoTorch's fully Bayesian machinery (BALD, mixture quantiles) runs on it.

The loss callable is evaluated once on a grid over (log r, log compute) per sparsity and then
interpolated bicubically in torch, which makes the acquisition differentiable for BoTorch's
gradient-based optimisers whatever the model behind the draws is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from botorch.models.model import Model
from botorch.posteriors.fully_bayesian import GaussianMixturePosterior
from gpytorch.distributions import MultivariateNormal
from linear_operator.operators import DiagLinearOperator

from bayes_moe.design.space import COMPUTE_COL, R_COL, SPARSITY_COL, DesignSpace
from bayes_moe.errors import InputError

LossDraws = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (r, compute, S) -> (draw, point)
GRID_SIZE = 41  # nodes per axis: ~3e-3 nats absolute, ~1% of the spread across draws, on smooth surfaces
MIN_VARIANCE = 1e-12  # keeps a noiseless per-draw Gaussian proper


@dataclass(frozen=True)
class PosteriorDraws:
    """Posterior draws for design: ``loss(r, compute, sparsity)`` gives each draw's mean loss at
    runs (``draws x points``, nats), ``noise_sd`` each draw's noise (nats), ``targets`` each draw's
    ``log r*`` at the target points (``draws x targets``), ``target_sparsities`` their sparsities
    (where the design's guard spreads its picks; empty: unknown, every sparsity)."""

    loss: LossDraws
    noise_sd: np.ndarray
    targets: np.ndarray
    target_sparsities: tuple = ()

    def __post_init__(self):
        if self.targets.ndim != 2 or self.noise_sd.shape != self.targets.shape[:1]:
            raise InputError(f"targets must be (draws, targets) and noise_sd (draws,), got "
                             f"{self.targets.shape} and {self.noise_sd.shape}")
        if self.targets.shape[0] < 2:
            raise InputError(f"design needs at least 2 posterior draws, got {self.targets.shape[0]}")

    @property
    def n_draws(self) -> int:
        return self.targets.shape[0]


class GriddedLoss(torch.nn.Module):
    """Each draw's loss surface tabulated on a (log compute, log r) grid per sparsity and
    interpolated bicubically: ``forward(X)`` maps ``batch x n x 3`` features to ``batch x draws x n``."""

    def __init__(self, loss: LossDraws, space: DesignSpace, sparsities, size: int = GRID_SIZE):
        super().__init__()
        self.sparsities = tuple(sorted({float(s) for s in sparsities}))
        step = 1.0 / (size - 1)  # one node beyond each bound: the cubic stencil of edge cells needs it
        self.pad = step
        u = np.linspace(-step, 1.0 + step, size + 2)
        u_c, u_r = np.meshgrid(u, u, indexing="ij")  # rows: compute (grid y), columns: r (grid x)
        nodes = torch.as_tensor(np.stack([u_r.ravel(), u_c.ravel()], axis=-1))
        r, compute = space.r_of(nodes).numpy(), space.compute_of(nodes).numpy()
        tables = []
        for s in self.sparsities:
            values = np.asarray(loss(r, compute, np.full_like(r, s)), dtype=float)
            if not np.isfinite(values).all():
                raise InputError(f"posterior loss draws are not finite on the design grid at sparsity {s}")
            tables.append(values.reshape(-1, size + 2, size + 2))
        self.register_buffer("tables", torch.as_tensor(np.stack(tables)))  # sparsity x draw x C x r

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        batch, n = X.shape[:-2], X.shape[-2]
        flat = X.reshape(-1, X.shape[-1])
        out = flat.new_zeros(self.tables.shape[1], flat.shape[0])
        matched = torch.zeros(flat.shape[0], dtype=torch.bool)
        for k, s in enumerate(self.sparsities):
            rows = (flat[:, SPARSITY_COL] - s).abs() < 1e-6
            if rows.any():
                u = (flat[rows][:, [R_COL, COMPUTE_COL]] + self.pad) / (1 + 2 * self.pad)
                grid = (u * 2 - 1).view(1, 1, -1, 2).to(self.tables)
                sampled = F.grid_sample(self.tables[k : k + 1], grid, mode="bicubic", padding_mode="border",
                                        align_corners=True)
                out[:, rows] = sampled[0, :, 0]
                matched |= rows
        if not matched.all():
            missing = sorted({round(float(s), 6) for s in flat[~matched, SPARSITY_COL]})
            raise InputError(f"sparsity {missing} is not among the tabulated {list(self.sparsities)}")
        return out.view(-1, *batch, n).movedim(0, -2) if batch else out


class EnsembleModel(Model):
    """A fully Bayesian BoTorch model over posterior draws: a mixture with one Gaussian per draw."""

    _is_fully_bayesian = True
    _is_ensemble = True

    def __init__(self, mean: Callable[[torch.Tensor], torch.Tensor], noise_sd: torch.Tensor):
        super().__init__()
        self.mean = mean
        self.register_buffer("noise_variance", torch.as_tensor(noise_sd, dtype=torch.float64) ** 2)

    @classmethod
    def from_draws(cls, draws: PosteriorDraws, space: DesignSpace, sparsities=()) -> "EnsembleModel":
        """The model of ``draws`` tabulated over ``space`` at its sparsities plus ``sparsities``."""
        gridded = GriddedLoss(draws.loss, space, tuple(space.sparsities) + tuple(sparsities))
        return cls(gridded, torch.as_tensor(draws.noise_sd))

    @property
    def num_outputs(self) -> int:
        return 1

    @property
    def batch_shape(self) -> torch.Size:
        return torch.Size([self.noise_variance.numel()])

    def posterior(self, X, output_indices=None, observation_noise=False, posterior_transform=None, **kwargs):
        """``batch x draws x n x 1`` means (draw axis at BoTorch's ``MCMC_DIM``), each draw's noise
        variance on the diagonal when ``observation_noise``."""
        mean = self.mean(X)
        variance = self.noise_variance.unsqueeze(-1) if observation_noise is True else torch.zeros(())
        variance = (variance + torch.zeros_like(mean)).clamp_min(MIN_VARIANCE)
        posterior = GaussianMixturePosterior(MultivariateNormal(mean, DiagLinearOperator(variance)))
        return posterior_transform(posterior) if posterior_transform is not None else posterior
