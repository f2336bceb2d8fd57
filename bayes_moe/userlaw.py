"""A parametric law defined by the user in a small Python file, loaded by path (docs/scalebench.md).

A law file reads like the math::

    from bayes_moe.userlaw import HalfNormal, Uniform

    inputs = {"N": "dense_parameter_count", "E": "num_experts"}   # symbol -> column of the table
    output = "loss_validation"                                     # the observed column
    priors = {"L_inf": Uniform(-100, 100), "B": Uniform(-1e4, 1e4),
              "alpha": Uniform(-5, 5), "beta": Uniform(-5, 5)}
    noise_sd = HalfNormal(0.1)                                     # y ~ Normal(mean, sigma)

    def mean(N, E, L_inf, B, alpha, beta, xp):
        return L_inf + B / (N**alpha * E**beta)

``mean`` is written once with array operators and ``xp`` for functions (``xp.log``, ``xp.exp``,
``xp.where``...): ``xp`` is numpy for the fast fits and the design, ``pytensor.tensor`` inside the
PyMC model, so the same text is both. Parameters arrive with a leading draw axis (``draws x 1``) and
inputs as ``points``, so one call evaluates every posterior draw at every point.

A law with several outputs (e.g. one loss per data domain) names them as a list, ``output = ["a", "b"]``,
and its ``mean`` returns one array per output, in that order. Every run then observes all of them: the
fits see the outputs of a run as that many observations with one noise level, and predictions come
flattened point by point (``points x outputs``, row-major), which is how ScaleBench scores R^2.
"""

from __future__ import annotations

import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bayes_moe.errors import InputError

WIDE_BOX = 100.0      # a Uniform box reaching this magnitude holds a scale: half its starts are log-uniform
START_DECADES = 4     # over its top four decades (docs/scalebench.md: measured on vocab, moe, sparsity, parallel)


@dataclass(frozen=True)
class Uniform:
    """Flat prior on ``[lower, upper]`` (a fit stays inside; ScaleBench's parameter boxes)."""

    lower: float
    upper: float

    def __post_init__(self):
        if not np.isfinite([self.lower, self.upper]).all() or self.lower >= self.upper:
            raise InputError(f"Uniform({self.lower}, {self.upper}): need finite lower < upper")

    bounds = property(lambda self: (self.lower, self.upper))
    sd = property(lambda self: (self.upper - self.lower) / np.sqrt(12.0))

    def start(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Starting points of a MAP search: uniform on the box, but for a box reaching ``WIDE_BOX`` or more
        (amplitudes, scales) each start is, with probability 1/2, drawn log-uniformly in magnitude over
        the box's top ``START_DECADES`` decades, with a random sign where the box has both: a uniform draw
        on [-1e4, 1e4] is almost never of order 1-100, where such amplitudes usually are."""
        uniform = rng.uniform(self.lower, self.upper, n)
        top = max(abs(self.lower), abs(self.upper))
        if top < WIDE_BOX:
            return uniform
        floor = max(top * 10.0 ** -START_DECADES, self.lower if self.lower > 0 else 0.0, -self.upper if self.upper < 0 else 0.0)
        magnitude = np.exp(rng.uniform(np.log(floor), np.log(top), n))
        sign = np.where(rng.uniform(self.lower, self.upper, n) < 0, -1.0, 1.0)
        logged = np.clip(sign * magnitude, self.lower, self.upper)
        return np.where(rng.random(n) < 0.5, logged, uniform)

    def penalty(self, value: float) -> float | None:
        return None  # flat inside the bounds

    def pymc(self, name: str):
        import pymc as pm
        return pm.Uniform(name, self.lower, self.upper)


@dataclass(frozen=True)
class Normal:
    """Gaussian prior ``Normal(mu, sigma)``."""

    mu: float
    sigma: float

    def __post_init__(self):
        if not np.isfinite([self.mu, self.sigma]).all() or self.sigma <= 0:
            raise InputError(f"Normal({self.mu}, {self.sigma}): need a finite mu and a finite sigma > 0")

    bounds = property(lambda self: (-np.inf, np.inf))
    sd = property(lambda self: self.sigma)

    def start(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Starting points of a MAP search: prior draws."""
        return rng.normal(self.mu, self.sigma, n)

    def penalty(self, value: float) -> float:
        return (value - self.mu) / self.sigma

    def pymc(self, name: str):
        import pymc as pm
        return pm.Normal(name, self.mu, self.sigma)


@dataclass(frozen=True)
class HalfNormal:
    """Half-Gaussian prior on ``[0, inf)`` with scale ``sigma`` (noise scales, amplitudes)."""

    sigma: float

    def __post_init__(self):
        if not np.isfinite(self.sigma) or self.sigma <= 0:
            raise InputError(f"HalfNormal({self.sigma}): need a finite sigma > 0")

    bounds = property(lambda self: (0.0, np.inf))
    sd = property(lambda self: self.sigma)

    def start(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Starting points of a MAP search: prior draws."""
        return np.abs(rng.normal(0.0, self.sigma, n))

    def penalty(self, value: float) -> float:
        return value / self.sigma

    def pymc(self, name: str):
        import pymc as pm
        return pm.HalfNormal(name, self.sigma)


PRIORS = (Uniform, Normal, HalfNormal)


def quadratic(z, c):
    """Building block for law files: the full quadratic in the features ``z`` with coefficients ``c``
    ordered bias, linear terms, squares, then cross terms ``z_i z_j`` (i < j) in order (ScaleBench's
    lr_bsz polynomials: 15 coefficients for 4 features)."""
    n = len(z)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    if len(c) != 1 + 2 * n + len(pairs):
        raise ValueError(f"quadratic in {n} features needs {1 + 2 * n + len(pairs)} coefficients, got {len(c)}")
    return (c[0] + sum(c[1 + i] * z[i] + c[1 + n + i] * z[i] ** 2 for i in range(n))
            + sum(c[1 + 2 * n + k] * z[i] * z[j] for k, (i, j) in enumerate(pairs)))


def softplus(x, xp):
    """Building block for law files: ``log(1 + exp(x))`` with ``x`` clipped to [-20, 20] (as ScaleBench's
    lr_bsz laws, whose positive parameters pass through it)."""
    return xp.log(1.0 + xp.exp(xp.clip(x, -20.0, 20.0)))


@dataclass(frozen=True)
class Law:
    """A loaded law: ``inputs`` (symbol -> column), ``outputs`` (the observed columns), ``priors`` (in the
    order of ``mean``'s arguments), ``noise_sd`` prior, and ``mean(**inputs, **parameters, xp=...)``."""

    name: str
    inputs: dict
    outputs: tuple[str, ...]
    priors: dict
    noise_sd: HalfNormal
    mean: callable

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(self.priors)

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lower, upper = zip(*(prior.bounds for prior in self.priors.values()))
        return np.array(lower, float), np.array(upper, float)

    def features(self, table) -> dict:
        """The law's inputs from ``table`` (a mapping of columns, e.g. a pandas DataFrame) as arrays."""
        missing = [column for column in self.inputs.values() if column not in table]
        if missing:
            raise InputError(f"law {self.name}: table lacks input column(s) {', '.join(missing)}")
        return {symbol: np.asarray(table[column], float) for symbol, column in self.inputs.items()}

    def observed(self, table) -> np.ndarray:
        """The outputs of ``table``'s rows, flattened as ``predict`` lays them out (``rows * outputs``)."""
        return np.column_stack([np.asarray(table[o], float) for o in self.outputs]).reshape(-1)

    def predict(self, theta: np.ndarray, features: dict) -> np.ndarray:
        """The mean at ``features`` for each parameter vector: ``theta`` is ``draws x parameters``,
        the result ``draws x (points * outputs)``, each point's outputs together (non-finite where the
        law overflows)."""
        theta = np.atleast_2d(np.asarray(theta, float))
        parameters = {name: theta[:, j, None] for j, name in enumerate(self.parameter_names)}
        with np.errstate(all="ignore"):
            values = self._mean(**features, **parameters, xp=np)
        shape = (theta.shape[0], len(next(iter(features.values()))))
        if len(self.outputs) == 1:
            return self._per_point(values, shape)
        if len(values) != len(self.outputs):
            raise InputError(f"law {self.name}: mean returned {len(values)} outputs, the law names {len(self.outputs)}")
        return np.stack([self._per_point(v, shape) for v in values], axis=-1).reshape(shape[0], -1)

    def _per_point(self, values, shape: tuple[int, int]) -> np.ndarray:
        """``values`` as ``draws x points``; ``InputError`` where ``mean`` returned another shape."""
        try:
            return np.broadcast_to(np.asarray(values, float), shape)
        except (ValueError, TypeError) as error:
            raise InputError(f"law {self.name}: mean returned {np.shape(values)}, not one value per point "
                             f"({shape[1]} points; {error})") from error

    def _mean(self, **arguments):
        """The law file's ``mean``: any error its code raises is one line naming the law (an unknown name, say)."""
        try:
            return self.mean(**arguments)
        except InputError:
            raise
        except Exception as error:  # the law file's own code may raise anything
            raise InputError(f"law {self.name}: mean failed: {type(error).__name__}: {error}") from error

    def pymc_model(self, table, observed=None):
        """The PyMC model of ``observed`` (default: the outputs of ``table``, flattened as ``observed``):
        the priors, the same ``mean`` in PyTensor, Normal noise with the ``noise_sd`` prior."""
        import pymc as pm
        import pytensor.tensor as pt

        features = self.features(table)
        y = self.observed(table) if observed is None else np.asarray(observed, float)
        with pm.Model() as model:
            x = {symbol: pm.Data(symbol, value) for symbol, value in features.items()}
            parameters = {name: prior.pymc(name) for name, prior in self.priors.items()}
            zeros = pt.zeros_like(x[next(iter(x))])
            values = self._mean(**x, **parameters, xp=pt)
            values = [values] if len(self.outputs) == 1 else values
            mu = pm.Deterministic("mu", pt.stack([v + zeros for v in values], axis=-1).flatten())
            pm.Normal("observed", mu, self.noise_sd.pymc("sigma"), observed=y)
        return model


def load_law(path) -> Law:
    """Import the law file at ``path`` and check its declarations (``InputError`` naming the problem)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"law file {path} does not exist")
    spec = importlib.util.spec_from_file_location(f"bayes_moe_userlaw_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # a user's file: any error is theirs, reported in one line
        raise InputError(f"law file {path}: {type(error).__name__}: {error}") from error
    missing = [name for name in ("inputs", "output", "priors", "mean") if not hasattr(module, name)]
    if missing:
        raise InputError(f"law file {path}: missing {', '.join(missing)} (see docs/scalebench.md)")
    inputs, priors = dict(module.inputs), dict(module.priors)
    if not inputs or not priors:
        raise InputError(f"law file {path}: {'inputs' if not inputs else 'priors'} must name at least one "
                         f"{'input column' if not inputs else 'parameter'}")
    bad = [name for name, prior in priors.items() if not isinstance(prior, PRIORS)]
    if bad:
        raise InputError(f"law file {path}: prior of {', '.join(bad)} is not one of "
                         f"{', '.join(p.__name__ for p in PRIORS)}")
    arguments = [a for a in inspect.signature(module.mean).parameters if a != "xp"]
    expected = list(inputs) + list(priors)
    if sorted(arguments) != sorted(expected):
        raise InputError(f"law file {path}: mean's arguments {arguments} must be the inputs and the "
                         f"parameters {expected} (and xp)")
    noise_sd = getattr(module, "noise_sd", HalfNormal(0.1))
    if not isinstance(noise_sd, HalfNormal):
        raise InputError(f"law file {path}: noise_sd must be a HalfNormal prior")
    outputs = (module.output,) if isinstance(module.output, str) else tuple(module.output)
    if not outputs or not all(isinstance(o, str) for o in outputs):
        raise InputError(f"law file {path}: output must be a column name or a list of them")
    both = sorted(set(outputs) & set(inputs.values()))
    if both:
        raise InputError(f"law file {path}: column(s) {', '.join(both)} both an input and the output")
    return Law(name=path.stem, inputs=inputs, outputs=outputs, priors=priors, noise_sd=noise_sd, mean=module.mean)
