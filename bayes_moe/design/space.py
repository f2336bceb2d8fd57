"""The design space: where a run may be placed, in the features BoTorch optimises, and what it costs.

A candidate run is ``(r, compute, sparsity)``. BoTorch sees it as three features: ``log r`` and
``log compute`` rescaled to [0, 1] (so one optimiser step means the same in both) and the sparsity
itself, which only takes the campaign's discrete, achievable values. A run is what the solver can
build, on the preset's shape or, with ``tokens_per_param``, on the size ladder's shape for its compute
(``arch.size_for_compute``): ``snap`` turns a request into the architecture that would be trained, and
the recorded ``r`` and ``sparsity`` are the ones it achieves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from botorch.models.deterministic import GenericDeterministicModel

from bayes_moe import arch, flops
from bayes_moe.config import DEFAULT_PRESET
from bayes_moe.errors import InputError

R_COL, COMPUTE_COL, SPARSITY_COL = 0, 1, 2
SNAP_STEP = 0.01  # relative step of the search for a buildable r near an unbuildable one
SNAP_STEPS = 10
COMPUTE_DIGITS = 4  # significant digits of a proposed run's compute
SAME_RUN = 0.01  # relative difference in r and in compute under which two runs at one sparsity are the same


@dataclass(frozen=True)
class Candidate:
    """A run to propose: the achieved ``r`` and ``sparsity`` of its architecture, its compute,
    and the acquisition value that chose it (``None`` for strategies without one)."""

    r: float
    compute: float
    sparsity: float
    arch: arch.MoEArch
    acquisition: float | None = None

    @property
    def tokens(self) -> float:
        return flops.tokens_for_compute(self.compute, self.arch.c_token)


@dataclass(frozen=True)
class DesignSpace:
    """Bounds on r and compute (FLOPs), the achievable sparsities, and how runs are sized: the
    preset's shape (``DEFAULT_PRESET`` when neither is given) or ``tokens_per_param`` tokens per
    active parameter at each run's compute (the two are exclusive)."""

    r_bounds: tuple[float, float]
    compute_bounds: tuple[float, float]
    sparsities: tuple[float, ...]
    preset: str | None = None
    compute_max: float | None = None  # a budget's cap on one run; features keep compute_bounds' scale
    compute_min: float | None = None  # a floor on one run (a pick kept near the top: ``top``); the same scale
    run_overhead: float = 0.0  # FLOPs-equivalent fixed cost of a run (start-up, evaluation)
    tokens_per_param: float | None = None
    run_sparsities: tuple[float, ...] = ()  # the sparsities new runs may take, some of ``sparsities`` (empty: all)

    def __post_init__(self):
        for name, (low, high) in (("r", self.r_bounds), ("compute", self.compute_bounds)):
            if not 0 < low < high:
                raise InputError(f"{name} bounds must satisfy 0 < low < high, got {(low, high)!r}")
        if not self.sparsities:
            raise InputError("the design space needs at least one sparsity")
        for s in self.sparsities:
            arch.experts_for_sparsity(s)  # raises InputError naming the nearest achievable values
        if self.tokens_per_param is None:
            arch.preset(self.preset or DEFAULT_PRESET)
            return
        r_middle = math.sqrt(self.r_bounds[0] * self.r_bounds[1])
        for compute in self.compute_bounds:  # the ladder must reach both ends of the compute range
            try:
                self.build(r_middle, compute, self.sparsities[0])
            except InputError as error:
                raise InputError(f"compute bound {compute:g} of the design space: {error}") from None

    @classmethod
    def from_campaign(cls, campaign) -> "DesignSpace":
        """The campaign's [space], its compute starting at the fit floor (``[model] min_compute``) where that
        lies higher: no fit would read a run below it."""
        low, high = campaign.compute_bounds
        compute = (max(low, campaign.min_compute or low), high)
        return cls(tuple(campaign.r_bounds), compute, tuple(campaign.sparsities),
                   campaign.preset, run_overhead=campaign.run_overhead, tokens_per_param=campaign.tokens_per_param)

    def build(self, r: float, compute: float, sparsity: float) -> arch.MoEArch:
        """The architecture of a run at ``(r, compute, sparsity)``: sized by ``tokens_per_param``
        from its compute, else the preset's."""
        preset = self.preset or (DEFAULT_PRESET if self.tokens_per_param is None else None)
        return arch.solve_run(r, compute, sparsity, preset=preset, tokens_per_param=self.tokens_per_param)

    @property
    def sizing(self) -> str:
        """How runs are sized, in words (for error messages)."""
        if self.tokens_per_param is None:
            return f"preset {self.preset or DEFAULT_PRESET!r}"
        return f"{self.tokens_per_param:g} tokens per parameter"

    def capped(self, compute_max: float) -> "DesignSpace":
        """The space with runs of at most ``compute_max`` FLOPs (what a budget still allows)."""
        if compute_max < self.compute_bounds[0]:
            raise InputError(
                f"no run fits: {compute_max:.4g} FLOPs left, the smallest run costs {self.compute_bounds[0]:.4g}"
            )
        return replace(self, compute_max=min(self.compute_bounds[1], compute_max))

    def top(self, decades: float) -> "DesignSpace":
        """The space with runs within ``decades`` of the largest compute allowed (the whole space when
        that reaches below its smallest compute)."""
        return replace(self, compute_min=max(self.compute_bounds[0], self.largest_compute / 10**decades))

    def at_sparsities(self, sparsities) -> "DesignSpace":
        """The space with new runs at ``sparsities`` only (some of its own; runs done at the others
        keep their features)."""
        return replace(self, run_sparsities=tuple(sparsities))

    @property
    def new_run_sparsities(self) -> tuple[float, ...]:
        """The sparsities a new run may take: ``run_sparsities`` where set, else all."""
        return self.run_sparsities or self.sparsities

    @property
    def largest_compute(self) -> float:
        return self.compute_bounds[1] if self.compute_max is None else self.compute_max

    @property
    def smallest_compute(self) -> float:
        return self.compute_bounds[0] if self.compute_min is None else self.compute_min

    # --- features -------------------------------------------------------------------------------

    def bounds(self) -> torch.Tensor:
        """``2 x 3`` feature bounds: unit interval for log r and log compute (less under a budget
        cap or a floor), the sparsity range."""
        u_min, u_max = (float(_unit(math.log(c), *np.log(self.compute_bounds)))
                        for c in (self.smallest_compute, self.largest_compute))
        return torch.tensor([[0.0, u_min, min(self.sparsities)], [1.0, u_max, max(self.sparsities)]],
                            dtype=torch.float64)

    def fixed_sparsities(self) -> list[dict[int, float]]:
        """One ``{column: value}`` per sparsity a new run may take, for ``optimize_acqf_mixed``."""
        return [{SPARSITY_COL: float(s)} for s in self.new_run_sparsities]

    def to_features(self, r, compute, sparsity) -> torch.Tensor:
        """``n x 3`` features of runs (arrays or scalars in natural units)."""
        r, compute, sparsity = (np.atleast_1d(np.asarray(v, dtype=float)) for v in (r, compute, sparsity))
        u_r = _unit(np.log(r), *np.log(self.r_bounds))
        u_c = _unit(np.log(compute), *np.log(self.compute_bounds))
        return torch.as_tensor(np.stack([u_r, u_c, sparsity], axis=-1), dtype=torch.float64)

    def r_of(self, X: torch.Tensor) -> torch.Tensor:
        low, high = math.log(self.r_bounds[0]), math.log(self.r_bounds[1])
        return torch.exp(low + X[..., R_COL] * (high - low))

    def compute_of(self, X: torch.Tensor) -> torch.Tensor:
        low, high = math.log(self.compute_bounds[0]), math.log(self.compute_bounds[1])
        return torch.exp(low + X[..., COMPUTE_COL] * (high - low))

    def run_cost(self, compute):
        """What a run costs in FLOPs: its compute plus the fixed ``run_overhead``. Without an overhead
        the cheapest runs win whenever they carry any information at all."""
        return compute + self.run_overhead

    def cost_model(self) -> GenericDeterministicModel:
        """``run_cost`` as a deterministic BoTorch model, in units of the largest run allowed, so costs
        are O(1) whatever the FLOPs scale."""
        unit = self.compute_bounds[1]
        return GenericDeterministicModel(lambda X: (self.run_cost(self.compute_of(X)) / unit).unsqueeze(-1))

    # --- runs ------------------------------------------------------------------------------------

    def snap(self, x: torch.Tensor, acquisition: float | None = None) -> Candidate:
        """The run ``build`` makes for feature vector ``x``: compute as asked (4 significant
        digits), r and sparsity as achieved. Rounding of widths leaves narrow gaps in the buildable r; where ``x``'s r falls in
        one, the nearest buildable r (in 1% steps, at most 10%) inside the bounds is taken."""
        r, sparsity = float(self.r_of(x)), float(x[SPARSITY_COL])
        compute = min(max(float(f"{float(self.compute_of(x)):.{COMPUTE_DIGITS}g}"), self.smallest_compute),
                      self.largest_compute)
        nearest = min(self.sparsities, key=lambda s: abs(s - sparsity))
        low, high = self.r_bounds
        for step in range(SNAP_STEPS + 1):
            for tried in {min(max(r * (1 + SNAP_STEP) ** sign, low), high) for sign in (step, -step)}:
                try:
                    solved = self.build(tried, compute, nearest)
                except InputError as error:
                    failure = error
                    continue
                if low * (1 - SNAP_STEP) <= solved.r <= high * (1 + SNAP_STEP):
                    return Candidate(solved.r, compute, solved.sparsity, solved, acquisition)
        raise InputError(f"no buildable run near r={r:.4g} at sparsity {nearest} with {self.sizing}: {failure}")

    def features_of(self, runs) -> torch.Tensor:
        """``n x 3`` features of runs (anything with r, compute, sparsity): an achieved sparsity
        within rounding of a campaign sparsity takes its value; r and compute are clipped into the
        space so that runs from outside it still condition the design."""
        if not runs:
            return torch.empty(0, 3, dtype=torch.float64)
        sparsity = [self.campaign_sparsity(run.sparsity) for run in runs]
        X = self.to_features([run.r for run in runs], [run.compute for run in runs], sparsity)
        X[:, :2] = X[:, :2].clamp(0.0, 1.0)
        return X

    def campaign_sparsity(self, sparsity: float) -> float:
        nearest = min(self.sparsities, key=lambda s: abs(s - sparsity))
        return nearest if abs(nearest - sparsity) < arch.SPARSITY_TOLERANCE else sparsity


def same_run(a, b) -> bool:
    """Whether two runs (anything with r, compute, sparsity) are the same experiment: equal
    sparsity, r and compute within 1% (what rounding of widths leaves apart)."""
    return (abs(a.sparsity - b.sparsity) < arch.SPARSITY_TOLERANCE
            and abs(math.log(a.r / b.r)) < SAME_RUN and abs(math.log(a.compute / b.compute)) < SAME_RUN)


def _unit(value, low, high):
    return (value - low) / (high - low)
