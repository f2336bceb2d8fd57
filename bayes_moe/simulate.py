"""A ground-truth world that answers runs with noisy losses, so that models and designs can be
checked against a known ``r*``.

Worlds (``law``):
  ``paper``       the optimum follows the paper's r* law; loss = frontier + a symmetric quadratic in
                  ``log r - log r*`` (the model's own assumptions: the well-specified case).
  ``asymmetric``  the paper's r* law, but the loss rises ``asymmetry`` times faster above r* than
                  below it (misspecified for a symmetric penalty).
  ``two-term``    ``E + A_A (C_A/C0)^-p + A_E(S) (C_E/C0)^-q`` (docs/paper.md point 1): r* is the root of
                  the first-order condition, not a power law in C, and the valley is asymmetric
                  (misspecified for the power law). With ``q_exponent`` != 0 the experts' exponent
                  varies with sparsity, so r*'s exponent of compute does too, as the paper's beta_r(S)
                  (the two-term form follows it through its q_slope).
  ``bending``     the paper's law from ``bend_compute`` up; below it r* is inflated by ``r_star_bend``
                  (log r* per decade) and the frontier bends up by ``frontier_bend`` (nats per decade), as
                  short runs deviated on the measured campaigns (issue #17): a law that holds only at
                  large compute, so data below ``bend_compute`` mislead a model that assumes it everywhere.
                  Each bend is a parameter of either sign ([world] table, ``World(...)``): ``frontier_bend``
                  0.2 is a kink no power law in compute follows (benchmarks/frontier.py), < 0 a concave one;
                  ``kappa_bend`` bends the valley's curvature the same way (log kappa per decade below
                  ``bend_compute``; 0 by default), a change with compute no power of C follows.
Noise is Student-t (``nu`` degrees of freedom, scale ``noise``) or Gaussian, from a seeded generator.
In every world ``seed_offset`` (nats, 0 by default) is the sd of a shift that a run's trainer seed adds to
the loss of every run of that seed (``World.seed_offsets``), as a seed's data order did on the measured
campaigns (experiments/h100_wide_r): drawn once per (world seed, trainer seed), a blank seed read as the
trainer's default (``laws.trainer_seeds``).

Reproducible data set (the demo's runs.csv)::

    python -m bayes_moe.simulate --law paper --seed 0 --noise 0.01 --out experiments/demo/runs.csv
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from bayes_moe import laws
from bayes_moe.errors import InputError
from bayes_moe.fields import is_sparsity

LAWS = ("paper", "asymmetric", "two-term", "bending")
NOISES = ("student_t", "normal")
DEMO_COMPUTES = tuple(np.logspace(17, 19, 5))
DEMO_R_GRID = (0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 1.0, 1.2, 1.5)
SEED_OFFSET_STREAM = 4021  # World.seed_offsets: a stream of the world's seed apart from its noise's


@dataclass
class World:
    """A loss surface over (r, compute, sparsity). Frontier ``E + A(S) (C/C0)^-gamma`` with
    ``A(S) = A ((1-S)/(1-S_REF))^A_exponent``; curvature ``kappa`` of the valley in ``log r``."""

    law: str = "paper"
    seed: int = 0
    noise: float = 0.01
    noise_dist: str = "student_t"
    nu: float = 5.0
    E: float = 1.7
    A: float = 1.1
    A_exponent: float = 0.1
    gamma: float = 0.15
    kappa: float = 0.03
    asymmetry: float = 4.0  # kappa_right / kappa_left in the asymmetric world (geometric mean kappa)
    slope_shift: float = 0.0  # added to the paper's beta_r (paper, asymmetric): < -0.13, r* falls with compute
    bend_compute: float = 1e18  # bending world: the law holds from this compute up
    r_star_bend: float = 0.3  # bending world: log r* added per decade below bend_compute (r* x1.35 per decade)
    frontier_bend: float = 0.05  # bending world: nats added to the frontier per decade below bend_compute
    kappa_bend: float = 0.0  # bending world: log kappa added per decade below bend_compute (the valley's curvature)
    A_attention: float = 0.25  # two-term world: A_A, p (attention) and q (experts)
    p: float = 0.3
    q: float = 0.15
    q_exponent: float = 0.0  # two-term world: q(S) = q ((1-S)/(1-S_REF))^q_exponent, experts' exponent by sparsity
    seed_offset: float = 0.0  # sd (nats) of the loss shift shared by the runs of one trainer seed
    rng: np.random.Generator = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.law not in LAWS:
            raise InputError(f"world law {self.law!r}: choose one of {', '.join(LAWS)}")
        if self.noise_dist not in NOISES:
            raise InputError(f"world noise_dist {self.noise_dist!r}: choose one of {', '.join(NOISES)}")
        if (not self.noise >= 0 or not self.nu > 0 or not self.kappa > 0 or not self.asymmetry > 0
                or not self.seed_offset >= 0):
            raise InputError(f"world needs noise >= 0, nu > 0, kappa > 0, asymmetry > 0, seed_offset >= 0; got "
                             f"noise={self.noise}, nu={self.nu}, kappa={self.kappa}, asymmetry={self.asymmetry}, "
                             f"seed_offset={self.seed_offset}")
        self.rng = np.random.default_rng(self.seed)

    @classmethod
    def from_config(cls, config: dict) -> "World":
        """A world from a campaign's [world] table (``law``, ``seed``, ``noise`` and any field above)."""
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(config) - known)
        if unknown:
            raise InputError(f"[world] unknown key(s) {unknown}; known: {sorted(known)}")
        return cls(**config)

    def log_r_star(self, compute, sparsity):
        """The true ``log r*`` at (compute, sparsity), broadcast."""
        compute, sparsity = _checked(compute=compute, sparsity=sparsity)
        if self.law == "two-term":
            A_E = self._expert_weight(sparsity)
            return np.log(laws.foc_r_star(compute / laws.PIVOT, self.A_attention, A_E, self.p, self.expert_exponent(sparsity)))
        return self._power_log_r_star(compute, sparsity)

    def mean_loss(self, r, compute, sparsity, *, n_active=None, tokens=None):
        """Noise-free loss. The surfaces here depend on compute only, so ``n_active`` and ``tokens``
        (accepted so that every executor is called alike) do not change it."""
        r, compute, sparsity = _checked(r=r, compute=compute, sparsity=sparsity)
        if self.law == "two-term":
            return laws.two_term_loss(r, compute / laws.PIVOT, self.E, self.A_attention, self._expert_weight(sparsity),
                                      self.p, self.expert_exponent(sparsity))
        A = self.A * np.exp(self.A_exponent * laws.centred_log_active(sparsity))
        ratio = np.sqrt(self.asymmetry) if self.law == "asymmetric" else 1.0
        kappa = self.kappa * np.exp(self.kappa_bend * self._decades_below(compute))
        distance = np.log(r) - self._power_log_r_star(compute, sparsity)
        return (laws.frontier(self.E, A, self.gamma, compute / laws.PIVOT)
                + self.frontier_bend * self._decades_below(compute)
                + laws.penalty(distance, kappa / ratio, kappa * ratio))

    def loss(self, r, compute, sparsity, *, n_active=None, tokens=None, rng=None, trainer_seed=None):
        """Observed loss: ``mean_loss``, the offset of each run's ``trainer_seed`` (``seed_offsets``) and noise
        drawn from ``rng`` (default: the world's seeded one)."""
        mean = self.mean_loss(r, compute, sparsity, n_active=n_active, tokens=tokens)
        rng = self.rng if rng is None else rng
        shape = np.shape(mean)
        draws = rng.standard_t(self.nu, shape) if self.noise_dist == "student_t" else rng.standard_normal(shape)
        return mean + self.seed_offsets(laws.trainer_seeds(trainer_seed, shape)).reshape(shape) + self.noise * draws

    def seed_offsets(self, trainer_seed) -> np.ndarray:
        """The loss shift of runs of each ``trainer_seed`` (blank: the trainer's default), shared by all runs of
        a seed: N(0, ``seed_offset``), drawn from (world seed, trainer seed) alone."""
        distinct, index = np.unique(laws.trainer_seeds(trainer_seed), return_inverse=True)
        offsets = [self.seed_offset * np.random.default_rng([self.seed, SEED_OFFSET_STREAM, s]).standard_normal()
                   for s in distinct]
        return np.array(offsets)[index.ravel()]

    def _power_log_r_star(self, compute, sparsity):
        return (laws.paper_log_r_star(compute, sparsity) + self.slope_shift * np.log(compute / laws.PIVOT)
                + self.r_star_bend * self._decades_below(compute))

    def _decades_below(self, compute):
        """Bending world: decades of compute below ``bend_compute`` (0 above it, and in every other world)."""
        if self.law != "bending":
            return 0.0
        return np.maximum(0.0, np.log10(self.bend_compute / compute))

    def _expert_weight(self, sparsity):
        """Two-term world: ``A_E(S)`` that puts r* at the paper's value at the pivot compute."""
        return laws.foc_expert_weight(laws.paper_r_star(laws.PIVOT, sparsity), self.A_attention, self.p,
                                      self.expert_exponent(sparsity))

    def expert_exponent(self, sparsity):
        """Two-term world: the experts' compute exponent at ``sparsity`` (``q`` when ``q_exponent`` is 0)."""
        return self.q * np.exp(self.q_exponent * laws.centred_log_active(sparsity))


def _checked(**values):
    """The inputs as float arrays; ``InputError`` naming the first bad one."""
    out = []
    for name, value in values.items():
        array = np.asarray(value, dtype=float)
        ok = (array > 0) if name != "sparsity" else is_sparsity(array)
        if not np.all(ok):
            bound = "in [0, 1)" if name == "sparsity" else "> 0"
            raise InputError(f"{name} must be {bound}, got {array[~ok].ravel()[0]!r}")
        out.append(array)
    return out


def sweep_dataset(world: World, sparsities=laws.PAPER_SPARSITIES, computes=DEMO_COMPUTES,
                  r_grid=DEMO_R_GRID, rng=None) -> xr.Dataset:
    """The paper's design: every r in ``r_grid`` at every (compute, sparsity), one noisy run each,
    shaped like ``Ledger.to_dataset()`` (dim ``run``; NaN where unknown)."""
    S, C, r = (a.ravel() for a in np.meshgrid(sparsities, computes, r_grid, indexing="ij"))
    loss = world.loss(r, C, S, rng=rng)
    unknown = np.full(r.size, np.nan)
    variables = {"r": r, "compute": C, "sparsity": S, "loss": loss,
                 "n_active": unknown, "n_total": unknown, "tokens": unknown}
    return xr.Dataset({k: ("run", v) for k, v in variables.items()},
                      coords={"run": np.arange(1, r.size + 1)}, attrs={"world": repr(world)})


def write_csv(dataset: xr.Dataset, path) -> None:
    """The known columns of ``dataset`` as a CSV the ledger imports (``bayes-moe import``)."""
    frame = dataset[["r", "compute", "sparsity", "loss"]].to_dataframe()
    frame.to_csv(path, index=False, float_format="%.8g")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bayes_moe.simulate", description=__doc__.splitlines()[0])
    parser.add_argument("--law", default="paper", choices=LAWS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", type=float, default=0.01, help="noise scale (nats)")
    parser.add_argument("--noise-dist", default="student_t", choices=NOISES)
    parser.add_argument("--sparsities", type=float, nargs="+", default=list(laws.PAPER_SPARSITIES))
    parser.add_argument("--computes", type=float, nargs="+", default=list(DEMO_COMPUTES))
    parser.add_argument("--r-grid", type=float, nargs="+", default=list(DEMO_R_GRID))
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    world = World(law=args.law, seed=args.seed, noise=args.noise, noise_dist=args.noise_dist)
    dataset = sweep_dataset(world, args.sparsities, args.computes, args.r_grid)
    write_csv(dataset, args.out)
    print(f"wrote {dataset.sizes['run']} simulated runs ({world.law} world, seed {world.seed}) to {args.out}")


if __name__ == "__main__":
    main()
