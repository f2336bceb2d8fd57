"""Model discrepancy: how far the law itself may be wrong where it has no runs.

The Laplace posterior (``laplace``) knows only its parameters' uncertainty: it trusts the law's
extrapolation, so the selection buys many cheap runs far from the targets and the intervals at the
targets are too narrow where the law is misspecified (docs/scalebench.md). A discrepancy ``delta(x)`` is
added to the law's mean: a Gaussian process with a squared-exponential kernel over the inputs (logs of
positive inputs, each scaled by its spread over the pool), of prior sd ``amplitude``, represented by
its values at inducing points (``delta(x) = k(x, Z) K_ZZ^-1 delta(Z)``): the target points, so it is
largest at the targets and vanishes far from them; runs observed near the targets explain it away, runs
far from them cannot. With ``over_pool`` pool points join them, farthest-first until every pool row is
within ``COVER`` length scales of one (Kennedy and O'Hagan's discrepancy, everywhere): a cluster of cheap
runs far from the targets then shares one smooth discrepancy and cannot pin the law's extrapolation
beyond what it allows (docs/scalebench.md measures both). Each output of a law has its own, independent
discrepancy.

The discrepancy is a linear-Gaussian term, so its posterior given the observed runs is exact; it is
returned as a factor ``F`` (``rank x columns``, ``F^T F`` the covariance), the form the selection
(``design.pool.select_batch``) adds to its draws' covariance and the intervals add to their variance. Its prior sd
is a multiple of the fit's noise sd, assumed (``AMPLITUDE``) or learnt from the fit's residuals where they show
smooth structure (``learnt_amplitude``: what the law misses among the runs it also misses near them). Given the
fit's residuals the discrepancy also has a posterior mean; a prediction adds it (Kennedy and O'Hagan's) where the
residuals showed the discrepancy (``at_points``, ``DISCREPANCY_MEANS``; docs/scalebench.md measures where).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize_scalar

from bayes_moe.strategy_names import DISCREPANCY_MEANS

AMPLITUDE = 0.5     # default prior sd at the targets, in noise sds of the fit (docs/scalebench.md: measured)
LENGTH = 1.0        # the kernel's length scale, in spreads of the pool's (log) inputs
MAX_INDUCING = 64   # target points that carry the discrepancy (distinct ones; evenly spaced ones beyond)
MAX_POOL_INDUCING = 64  # pool points that carry it besides, farthest-first
COVER = 0.5         # until every pool row is this many length scales from an inducing point
JITTER = 1e-8
EVIDENCE = 6.63     # a learnt amplitude is kept where its likelihood ratio statistic passes chi^2_1's 99% point
LEARNT_RANGE = (math.log(1e-3), math.log(1e2))  # the learnt amplitude's search, log noise sds


@dataclass(frozen=True)
class AtPoints:
    """The discrepancy's posterior at some point sets (``Discrepancy.at_points``): per set, its posterior ``factors``
    (``Discrepancy.posterior_factor``'s, unscaled), and its ``sd`` and ``mean`` at each point and output (``mean``
    None where predictions do not add it); its ``prior_sd`` in noise sds, whether
    the residuals showed it (``learnt``) or it was assumed, and the factor on the fit's noise sd that goes with it
    (``scale``: 1 but where the leave-one-out scale applies, ``Discrepancy.loo_scale``)."""

    factors: list
    mean: list | None
    prior_sd: float
    learnt: bool
    scale: float = 1.0

    @property
    def sd(self) -> list:
        """Each point set's sd at each point and output, scaled."""
        return [self.scale * pointwise_sd(factor) for factor in self.factors]


class Discrepancy:
    """The discrepancy prior of one law's inputs on one pool and its targets, of unit amplitude, carried by
    the target points (it vanishes far from them), or with ``over_pool`` by the pool's too (measured in
    docs/scalebench_record.md: not better on the whole benchmark, so not the default)."""

    def __init__(self, pool_features: dict, target_features: dict, outputs: int = 1, over_pool: bool = False):
        self.symbols = list(pool_features)
        self.positive = {s: bool(np.all(pool_features[s] > 0) and np.all(target_features[s] > 0))
                         for s in self.symbols}
        spread = {s: float(np.std(self._transform(s, pool_features[s]))) for s in self.symbols}
        self.spread = {s: v if v > 0 else 1.0 for s, v in spread.items()}
        inducing = np.unique(self._space(target_features), axis=0)
        if len(inducing) > MAX_INDUCING:
            inducing = inducing[np.linspace(0, len(inducing) - 1, MAX_INDUCING).astype(int)]
        self.inducing = _cover(self._space(pool_features), inducing) if over_pool else inducing
        self.outputs = outputs
        kernel = self._kernel(self.inducing, self.inducing) + JITTER * np.eye(len(self.inducing))
        self.root = np.linalg.cholesky(kernel)

    def _transform(self, symbol, values):
        return np.log(values) if self.positive[symbol] else np.asarray(values, float)

    def _space(self, features: dict) -> np.ndarray:
        return np.column_stack([self._transform(s, features[s]) / self.spread[s] for s in self.symbols])

    def _kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        distance2 = np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)
        return np.exp(-0.5 * distance2 / LENGTH ** 2)

    def _prior_factor(self, features: dict) -> np.ndarray:
        """``inducing x points``: ``L^-1 k(Z, x)``, whose cross-products are the prior covariance."""
        return solve_triangular(self.root, self._kernel(self.inducing, self._space(features)), lower=True)

    def _given_runs(self, amplitude: float, observed: dict, noise_var) -> tuple[np.ndarray, np.ndarray]:
        """The prior factor at the runs ``observed`` times ``amplitude`` and the Cholesky factor of the inducing
        values' posterior precision given them (noise variance ``noise_var``, one or one per run)."""
        seen = amplitude * self._prior_factor(observed)
        return seen, cholesky(np.eye(len(self.inducing)) + (seen / noise_var) @ seen.T, lower=True)

    def _factors(self, amplitude: float, lower: np.ndarray, priors: list) -> list:
        """``posterior_factor``'s factors from the posterior precision's Cholesky factor and each point set's prior
        factor (``_prior_factor``)."""
        return [np.kron(amplitude * solve_triangular(lower, prior, lower=True), np.eye(self.outputs))
                for prior in priors]

    def _means(self, amplitude: float, seen: np.ndarray, lower: np.ndarray, noise_var, residuals: np.ndarray,
               priors: list) -> list:
        """``posterior_mean``'s means from ``_given_runs``' pieces and each point set's prior factor."""
        residuals = np.asarray(residuals, float).reshape(seen.shape[1], self.outputs)
        inducing = cho_solve((lower, True), (seen / noise_var) @ residuals)
        return [(amplitude * prior.T @ inducing).ravel() for prior in priors]

    def posterior_factor(self, amplitude: float, observed: dict, noise_var: float, *point_sets: dict) -> list:
        """The posterior factor of the discrepancy of prior sd ``amplitude`` at each of ``point_sets`` given
        runs at ``observed`` with noise variance ``noise_var`` (one, or one per run): ``(inducing * outputs) x (points * outputs)``
        each, columns point by point as ``userlaw.Law.predict`` (``kron(F, I_outputs)``: each output its own)."""
        _, lower = self._given_runs(amplitude, observed, noise_var)
        return self._factors(amplitude, lower, [self._prior_factor(features) for features in point_sets])

    def posterior_mean(self, amplitude: float, observed: dict, noise_var, residuals: np.ndarray,
                       *point_sets: dict) -> list:
        """The discrepancy's posterior mean at each of ``point_sets`` (flat, point by point as ``posterior_factor``'s
        columns) given the law's ``residuals`` (runs x outputs) at the runs ``observed``: what the law's best fit
        misses there, carried to the points by the kernel. The law plus it is Kennedy and O'Hagan's prediction."""
        seen, lower = self._given_runs(amplitude, observed, noise_var)
        return self._means(amplitude, seen, lower, noise_var, residuals,
                           [self._prior_factor(features) for features in point_sets])

    def given_fit(self, amplitude: float, noise_sd: np.ndarray, observed: dict, *point_sets: dict,
                  noise_scale=None) -> list:
        """``posterior_factor`` with ``amplitude`` in noise sds of a fit whose noise sd draws are ``noise_sd``;
        ``noise_scale``: each observed run's noise sd over those (a noise trend's)."""
        noise_var, per_run = _noise(noise_sd, noise_scale)
        return self.posterior_factor(amplitude * math.sqrt(noise_var), observed, per_run, *point_sets)

    def at_points(self, assumed: float, residuals: np.ndarray, noise_sd: np.ndarray, observed: dict, *point_sets: dict,
                  noise_scale=None, learn: bool = True, mean: str = DISCREPANCY_MEANS[0],
                  loo_scale: bool = True) -> AtPoints:
        """The discrepancy at ``point_sets`` for predictions and their intervals, given a fit whose noise sd draws are
        ``noise_sd`` and whose ``residuals`` at the runs ``observed`` are known: its prior sd the one they show
        (``amplitude``; with ``learn``) or ``assumed``, and its posterior mean added where ``mean`` says
        (``DISCREPANCY_MEANS``: where the prior sd was learnt, always, or never). Where it was learnt, with
        ``loo_scale``, its sd and the noise's are scaled by ``loo_scale`` (the caller scales its noise by
        ``AtPoints.scale``). The runs' factor and precision are computed once for all three."""
        prior_sd, learnt = (self.amplitude(assumed, residuals, noise_sd, observed, noise_scale) if learn
                            else (assumed, False))
        noise_var, per_run = _noise(noise_sd, noise_scale)
        amplitude = prior_sd * math.sqrt(noise_var)
        seen, lower = self._given_runs(amplitude, observed, per_run)
        priors = [self._prior_factor(features) for features in point_sets]
        added = mean == "always" or (mean == "learnt" and learnt)
        means = self._means(amplitude, seen, lower, per_run, residuals, priors) if added else None
        scale = _loo_scale(seen, per_run, residuals) if learnt and loo_scale else 1.0
        return AtPoints(self._factors(amplitude, lower, priors), means, prior_sd, learnt, scale)

    def loo_scale(self, amplitude: float, observed: dict, noise_var, residuals: np.ndarray) -> float:
        """The factor on the sds of the discrepancy of prior sd ``amplitude`` and of the noise (variance ``noise_var``)
        that maximises the leave-one-out predictive likelihood of the ``residuals`` (runs x outputs) at the runs
        ``observed`` (``_loo_scale``)."""
        return _loo_scale(amplitude * self._prior_factor(observed), noise_var, residuals)

    def learnt_amplitude(self, residuals: np.ndarray, noise_sd: np.ndarray, observed: dict,
                         noise_scale=None) -> float | None:
        """The prior sd, in noise sds, that the fit's ``residuals`` at the runs ``observed`` (runs x outputs) show:
        type-II maximum likelihood of each output's residuals as ``N(0, a^2 K + noise)``, ``K`` this kernel among
        the runs and the noise the fit's (``given_fit``'s). Kept where its likelihood ratio statistic against
        ``a = 0`` passes chi^2_1's 99% point (``EVIDENCE``, the noise trend's test); None where the residuals show
        no smooth structure (Kennedy and O'Hagan estimate the discrepancy's scale; docs/scalebench.md measures it)."""
        noise_var, per_run = _noise(noise_sd, noise_scale)
        space = self._space(observed)
        kernel = self._kernel(space, space)
        noise = np.diag(np.broadcast_to(per_run, len(space)))
        residuals = np.asarray(residuals, float).reshape(len(space), -1)

        def negative_log_likelihood(log_amplitude: float) -> float:
            variance = noise_var * math.exp(2 * log_amplitude) if np.isfinite(log_amplitude) else 0.0
            lower = cholesky(variance * kernel + noise + JITTER * noise_var * np.eye(len(space)), lower=True)
            white = solve_triangular(lower, residuals, lower=True)
            return 0.5 * float(np.sum(white ** 2)) + residuals.shape[1] * float(np.sum(np.log(np.diag(lower))))

        best = minimize_scalar(negative_log_likelihood, bounds=LEARNT_RANGE, method="bounded")
        ratio = 2 * (negative_log_likelihood(-np.inf) - best.fun)
        return float(math.exp(best.x)) if ratio > EVIDENCE else None

    def amplitude(self, assumed: float, residuals: np.ndarray, noise_sd: np.ndarray, observed: dict,
                  noise_scale=None) -> tuple[float, bool]:
        """The prior sd for the intervals, in noise sds, and whether it was learnt: the one the residuals show where
        they show one (``learnt_amplitude``), else ``assumed``."""
        learnt = self.learnt_amplitude(residuals, noise_sd, observed, noise_scale)
        return (assumed, False) if learnt is None else (learnt, True)


def _loo_scale(seen: np.ndarray, noise_var, residuals: np.ndarray) -> float:
    """The factor on the sds of the discrepancy (prior factor at the runs ``seen``) and the noise that maximises the
    leave-one-out predictive likelihood of the ``residuals`` under them (Sundararajan and Keerthi): the root mean
    square of each run's leave-one-out error over its predictive sd. Maximum likelihood of the amplitude with the fit's
    noise leaves both too wide where the discrepancy explains much of the residuals (docs/scalebench.md); a common
    scale leaves the posterior mean as it is."""
    covariance = seen.T @ seen + np.diag(np.broadcast_to(noise_var, seen.shape[1]))
    precision = cho_solve((cholesky(covariance, lower=True), True), np.eye(len(covariance)))
    diagonal = np.diag(precision)[:, None]
    errors = precision @ np.asarray(residuals, float).reshape(len(covariance), -1) / diagonal
    return math.sqrt(float(np.mean(errors ** 2 * diagonal)))


def _noise(noise_sd: np.ndarray, noise_scale) -> tuple:
    """The fit's mean noise variance and each run's (with a noise trend's ``noise_scale``, else the same)."""
    noise_var = float(np.mean(noise_sd ** 2))
    return noise_var, noise_var if noise_scale is None else noise_var * np.square(noise_scale)


def _cover(points: np.ndarray, inducing: np.ndarray) -> np.ndarray:
    """``inducing`` and, farthest-first, up to ``MAX_POOL_INDUCING`` of ``points`` until every point is
    within ``COVER`` length scales of one of them."""
    distance = np.min(np.linalg.norm(points[:, None, :] - inducing[None, :, :], axis=-1), axis=1)
    chosen = []
    while len(chosen) < MAX_POOL_INDUCING and distance.max() > COVER * LENGTH:
        far = int(np.argmax(distance))
        chosen.append(far)
        distance = np.minimum(distance, np.linalg.norm(points - points[far], axis=1))
    return np.vstack([inducing, points[chosen]])


def pointwise_sd(factor: np.ndarray) -> np.ndarray:
    """The discrepancy's sd at each of a posterior factor's columns."""
    return np.sqrt(np.sum(factor ** 2, axis=0))
