"""A fast posterior for a user law (``userlaw.Law``): multistart MAP, then a Laplace mixture over its modes.

Pool selection refits after every batch, and the ScaleBench protocol runs thousands of fits, so NUTS
per step is too slow here (docs/scalebench.md has the measurements). What this does instead:

1. MAP by trust-region least squares (``scipy.optimize.least_squares``) from the priors' starting
   points (``start``: half of a wide box's log-uniform in magnitude; redrawn where a parameter has no
   effect at the runs, ``live_starts``) and warm starts (joined by a copy with their dead parameters redrawn,
   ``revived_starts``), inside the priors' bounds; Normal and HalfNormal
   priors enter as extra residuals.
2. Noise: sigma's posterior given the best fit's residuals on ``max(runs - parameters, 0)`` degrees of
   freedom under the law's own ``HalfNormal`` prior (``NoisePosterior``: sigma^2 is generalised inverse
   Gaussian; with no more runs than parameters, the prior itself). Every draw has its own sigma; the
   Laplace covariance below takes sigma^2's posterior mean.
   With ``size`` (each run's log size, e.g. its log cost) the noise sd is ``sigma * exp(trend * u)``,
   ``u`` the size standardised over the runs: ``trend`` is estimated from the best fit's residuals
   (its prior sd ``NOISE_TREND_SD``) and kept only where they show one (``noise_trend``'s likelihood
   ratio test), the fit is then searched again weighted by it, and the noise at
   a point outside the runs' sizes is that of the nearest size seen (no extrapolation). ScaleBench's
   cheap runs are often noisier than its dear ones (lr_bsz: residual sd 0.040 on the cheapest quarter of
   the pool, 0.021-0.024 on the rest and at the targets).
3. Every distinct mode within ``MODE_WINDOW`` nats of the best gets a Gaussian with the Gauss-Newton
   precision ``J^T J / sigma^2`` plus the prior's precision, weighted by its Laplace evidence. Laws
   that extrapolate are often multimodal at few runs; one Gaussian at the best mode under-covers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
from scipy import special, stats
from scipy.optimize import least_squares, minimize_scalar

from bayes_moe.errors import InputError
from bayes_moe.strategy_names import BOXES, DESIGN_DRAWS
from bayes_moe.userlaw import Law

MODE_WINDOW = 4.0  # nats of log posterior below the best mode that a mode may sit and still count
MAX_MODES = 8
SEARCH_NFEV = 100  # evaluations of each start's least squares
POLISH_NFEV = 1000  # of the best start's, when polished: 100 leave lr_bsz and vocab fits 1.1-4x above their RSS
BAD_RESIDUAL = 1e6  # stands in for a non-finite prediction, so the optimiser backs away from it
NOISE_TREND_SD = 0.5  # prior sd of the noise trend: log noise sd per sd of the runs' log size
NOISE_TREND_EVIDENCE = 6.63  # a trend is kept when its likelihood ratio statistic passes chi^2_1's 99% point
REFIT_STARTS = 3  # best solutions searched again once the noise trend is known
LIVE_DRAWS = 256  # starts drawn at most per start wanted, looking for starts where every parameter has an effect
DEAD_CHECK_VALUES = 2_000_000  # law evaluations per vectorised call of that check
REVIVE_DRAWS = 64  # redraws of a warm start's dead parameters, looking for a copy with fewer dead


@dataclass(frozen=True)
class LaplaceFit:
    """``best``: the MAP parameters; ``modes``: ``(parameters, slice of draws)`` of each Gaussian;
    ``draws``: ``draws x parameters``; ``noise_sd``: per draw, at the runs' mean log size; ``trend`` and
    ``sizes`` (centre, scale, lowest and highest standardised size seen): the noise trend. ``linearized``: a draw's mean is the
    first-order expansion of the law around its mode (the Gaussian's own predictive; otherwise the law
    itself at the draw, whose nonlinear tails are far wider than the posterior's)."""

    law: Law
    best: np.ndarray
    modes: tuple
    draws: np.ndarray
    noise_sd: np.ndarray
    linearized: bool = True
    trend: float = 0.0
    sizes: tuple = (0.0, 1.0, 0.0, 0.0)

    def noise_scale(self, size) -> np.ndarray | float:
        """The noise sd at runs of log size ``size`` over the ``noise_sd`` draws (1 without a size), clipped
        to the sizes the fit has seen."""
        if size is None:
            return 1.0
        centre, scale, lowest, highest = self.sizes
        return np.exp(self.trend * np.clip((np.asarray(size, float) - centre) / scale, lowest, highest))

    def noise_scaled(self, factor: float) -> LaplaceFit:
        """The same posterior with every noise sd draw times ``factor`` (itself where it is 1)."""
        return self if factor == 1.0 else replace(self, noise_sd=self.noise_sd * factor)

    def mean_draws(self, features: dict) -> np.ndarray:
        """``draws x points`` mean of each draw (the best fit's where a draw is not finite)."""
        if not self.linearized:
            values = self.law.predict(self.draws, features)
            return np.where(np.isfinite(values), values, self.law.predict(self.best, features))
        out = np.empty((len(self.draws), len(next(iter(features.values()))) * len(self.law.outputs)))
        for theta, rows in self.modes:
            value, jacobian = value_and_jacobian(self.law, theta, features)
            out[rows] = value + (self.draws[rows] - theta) @ jacobian.T
        return out

    def residuals(self, features: dict, observed: np.ndarray) -> np.ndarray:
        """``observed`` (runs x outputs) less the best fit at the runs' ``features``: what the law misses there."""
        return observed - self.law.predict(self.best, features)[0].reshape(observed.shape)

    def through_law(self) -> LaplaceFit:
        """The same posterior with each draw's mean the law itself at the draw, clipped to the boxes."""
        lower, upper = self.law.bounds
        return replace(self, draws=np.clip(self.draws, lower, upper), linearized=False)

    def nonlinearity(self, features: dict) -> float:
        """How far the law strays from its linearization over the draws at ``features``: the median over
        points of the 5-95% range of the law itself at the draws (``through_law``) over that of the
        linearized means (1: the linearization holds there)."""
        fits = (self.through_law(), replace(self, linearized=True))
        spread = [np.subtract(*np.quantile(f.mean_draws(features), [0.95, 0.05], axis=0)) for f in fits]
        return float(np.median(spread[0] / np.maximum(spread[1], 1e-300)))

    def interval(self, features: dict, level: float, rng: np.random.Generator,
                 extra_sd: np.ndarray | None = None, size=None) -> tuple[np.ndarray, np.ndarray]:
        """Equal-tailed predictive interval (noise included) at ``features``; ``extra_sd``: the sd of a
        further independent Gaussian term at each point (the model discrepancy, ``discrepancy``); ``size``:
        each point's log size, for a fit with a noise trend."""
        scale = np.repeat(self.noise_scale(size), len(self.law.outputs)) if size is not None else 1.0
        predictive = self.mean_draws(features) + self.noise_sd[:, None] * scale * rng.standard_normal(
            (len(self.noise_sd), 1))
        if extra_sd is not None:
            predictive = predictive + extra_sd * rng.standard_normal(predictive.shape)
        tail = (1 - level) / 2
        return np.quantile(predictive, tail, axis=0), np.quantile(predictive, 1 - tail, axis=0)


def value_and_jacobian(law: Law, theta: np.ndarray, features: dict) -> tuple[np.ndarray, np.ndarray]:
    """The law at ``theta`` (``points``) and its Jacobian in the parameters (``points x parameters``) by
    forward differences, in one vectorised call; non-finite entries of the Jacobian are 0."""
    step = _difference_step(theta)
    values = law.predict(np.vstack([theta, theta + np.diag(step)]), features)
    jacobian = ((values[1:] - values[0]) / step[:, None]).T
    return values[0], np.where(np.isfinite(jacobian), jacobian, 0.0)


def _difference_step(theta: np.ndarray) -> np.ndarray:
    """Each parameter's forward-difference step: relative, with a floor for parameters near 0."""
    return 1e-7 * np.maximum(np.abs(theta), 1e-2)


def dead_mask(law: Law, thetas: np.ndarray, features: dict) -> np.ndarray:
    """``thetas x parameters``: True where the parameter has no effect on the law's mean at ``features`` (a
    Jacobian column exactly 0: a term clipped, floored by ``max(A, 1e-6)`` or too small to change a sum),
    vectorised over ``thetas`` in chunks of about ``DEAD_CHECK_VALUES`` evaluations."""
    thetas = np.atleast_2d(np.asarray(thetas, float))
    n, k = thetas.shape
    points = len(next(iter(features.values()))) * len(law.outputs)
    dead = np.empty((n, k), bool)
    chunk = max(1, DEAD_CHECK_VALUES // ((k + 1) * max(points, 1)))
    for first in range(0, n, chunk):
        block = thetas[first:first + chunk]
        step = _difference_step(block)
        shifted = block[:, None, :] + step[:, :, None] * np.eye(k)  # block x parameters x parameters
        values = law.predict(np.concatenate([block[:, None, :], shifted], axis=1).reshape(-1, k), features)
        values = values.reshape(len(block), k + 1, -1)
        effect = np.isfinite(values[:, 1:]) & np.isfinite(values[:, :1]) & (values[:, 1:] != values[:, :1])
        dead[first:first + len(block)] = ~effect.any(axis=2)
    return dead


def dead_parameters(law: Law, thetas: np.ndarray, features: dict) -> np.ndarray:
    """How many parameters of each row of ``thetas`` have no effect at ``features`` (``dead_mask``)."""
    return dead_mask(law, thetas, features).sum(axis=1)


def live_starts(law: Law, features: dict, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` starting points of the MAP search from the priors' ``start``, redrawn where a start leaves some
    parameter without effect at the runs (``dead_parameters``): least squares cannot move such a parameter,
    and on ScaleBench's wide boxes (exponents to +-5 clipped at +-50, amplitudes floored at 1e-6) most starts
    of the vocab and lr_bsz forms are such (docs/scalebench.md). Starts are drawn in rounds until ``n`` are
    live or ``LIVE_DRAWS`` per start were drawn; the rest are the drawn starts with the fewest dead
    parameters (a parameter without effect at every start, e.g. one of an input constant over the runs,
    does not stop the search). The first round is the priors' ``n`` starts, so a law whose starts are all
    live gets exactly the starts it got without the check."""
    priors = list(law.priors.values())
    drawn = np.column_stack([p.start(rng, n) for p in priors])
    dead = dead_parameters(law, drawn, features)
    while np.sum(dead == 0) < n and len(drawn) < LIVE_DRAWS * n:
        more = np.column_stack([p.start(rng, 8 * n) for p in priors])
        drawn, dead = np.vstack([drawn, more]), np.concatenate([dead, dead_parameters(law, more, features)])
    return drawn[np.argsort(dead, kind="stable")[:n]]


def revived_starts(law: Law, warm, features: dict, rng: np.random.Generator) -> list[np.ndarray]:
    """For each of the ``warm`` starts (the previous fit's modes) where some parameter has no effect at the
    runs (``dead_mask``), a copy whose dead parameters are redrawn from their priors' ``start``: of
    ``REVIVE_DRAWS`` such copies, the one with the fewest dead parameters, where it has fewer than the warm
    start. A least-squares search can end where a term is clipped or floored away (lr_bsz sl_2: 4 of 26
    parameters), and kept as a warm start that mode stays the best one refit after refit, its dead
    parameters never moved (docs/scalebench.md). No draw is made where every warm start is live."""
    if not len(warm):
        return []
    warm = np.asarray(warm, float)
    priors = list(law.priors.values())
    revived = []
    for theta, dead in zip(warm, dead_mask(law, warm, features)):
        if not dead.any():
            continue
        copies = np.tile(theta, (REVIVE_DRAWS, 1))
        for j in np.flatnonzero(dead):
            copies[:, j] = priors[j].start(rng, REVIVE_DRAWS)
        counts = dead_parameters(law, copies, features)
        if counts.min() < dead.sum():
            revived.append(copies[np.argmin(counts)])
    return revived


def underdetermined(law: Law, n_runs: int) -> bool:
    """Fewer runs than ``law`` has parameters: the runs leave directions open. Runs, not observations: a run of a
    law with several outputs still counts once (on domain_mixture the centred boxes of these fits were measured
    to help at every budget; docs/scalebench_record.md)."""
    return n_runs < len(law.priors)


def partly_determined(law: Law, n_runs: int, least: float = 0.5) -> bool:
    """At least ``least`` observations per parameter (runs times the law's outputs, each run observing every
    output) but fewer than one: the runs pin some directions and leave others open, and the law curves along
    those where the linearized draws see a line. With fewer, the draws through the law are mostly the boxes
    pushed through it, and mislead the picks (both measured on ScaleBench, docs/scalebench_record.md)."""
    observations = n_runs * len(law.outputs)
    return least * len(law.priors) <= observations < len(law.priors)


def boxes_centred(law: Law, n_runs: int, boxes: str = BOXES[0]) -> bool:
    """Whether a fit of ``n_runs`` runs searches with its flat boxes centred (``fit``'s ``centred_boxes``):
    where the runs are fewer than the parameters (``underdetermined``; the default), in every fit or in none."""
    if boxes not in BOXES:
        raise ValueError(f"boxes {boxes!r}: one of {', '.join(BOXES)}")
    return boxes == "centred" or (boxes == "centred-underdetermined" and underdetermined(law, n_runs))


def design_posterior(fit: LaplaceFit, n_runs: int, draws: str = DESIGN_DRAWS[0], least: float = 0.5) -> LaplaceFit:
    """The posterior whose draws guide the selection, after a fit of ``n_runs`` runs: ``fit`` with its draws
    pushed through the law (``LaplaceFit.through_law``) where the runs partly determine it (``partly_determined``
    with ``least``; the default), where they are fewer than the parameters, in every fit, or never (linearized).
    Scored fits and intervals stay linearized (docs/scalebench.md, "The posterior")."""
    if draws not in DESIGN_DRAWS:
        raise ValueError(f"design draws {draws!r}: one of {', '.join(DESIGN_DRAWS)}")
    law = fit.law
    through = (draws == "through-law" or (draws == "underdetermined" and underdetermined(law, n_runs))
               or (draws == "partly-determined" and partly_determined(law, n_runs, least)))
    return fit.through_law() if through else fit


def fit(law: Law, features: dict, y: np.ndarray, *, rng: np.random.Generator, starts: int = 16,
        n_draws: int = 256, warm: tuple = (), linearized: bool = True, polish: bool = False,
        size: np.ndarray | None = None, centred_boxes: bool = False) -> LaplaceFit:
    """Laplace posterior of ``law`` given observations ``y`` at ``features`` (module docstring): ``starts``
    starting points from the priors (``start``), the ``warm`` parameter vectors and a revived copy of each
    warm one with dead parameters (``revived_starts``) start the MAP search,
    ``SEARCH_NFEV`` evaluations each; ``polish``: the best of them then goes on for up to ``POLISH_NFEV``
    (the fit that is scored or reported; a refit that only guides the selection need not converge).
    ``size``: each observation's log run size, for a noise trend (module docstring; None: one noise sd).
    ``centred_boxes``: each flat box (``Uniform``) enters the search as a Gaussian of its centre and sd, the
    prior whose precision the Laplace covariance already adds: in directions the runs do not determine (more
    parameters than observations, a ridge) the mode is then the box's centre, not wherever a start left it. The
    best ``REFIT_STARTS`` solutions of the flat search are searched again with the boxes, weighed against the
    runs at the noise sd their residuals show (the search's residuals are in units of the noise prior's scale)."""
    y = np.asarray(y, float)
    lower, upper = law.bounds
    priors = list(law.priors.values())
    flat = {j for j, p in enumerate(priors) if p.penalty(0.0) is None}  # boxes: no residual of their own
    penalised = [j for j in range(len(priors)) if centred_boxes or j not in flat]

    box_weight = 0.0  # centred_boxes: sigma / scale0 once the first search gives sigma (0: flat, as the default)

    def penalty(j, value):  # prior j's residual in the search; a flat box's as a Gaussian of its centre and sd
        if j not in flat:
            return priors[j].penalty(value)
        return box_weight * (value - 0.5 * sum(priors[j].bounds)) / priors[j].sd
    scale0 = law.noise_sd.sigma
    weight = np.ones_like(y)  # each observation's noise sd over sigma's (the noise trend's)

    def residuals(theta):
        predicted = law.predict(theta, features)[0]
        r = np.where(np.isfinite(predicted), (predicted - y) / (scale0 * weight), BAD_RESIDUAL)
        return np.concatenate([r, [penalty(j, theta[j]) for j in penalised]])

    def jacobian(theta):
        _, J = value_and_jacobian(law, theta, features)
        prior_rows = np.zeros((len(penalised), len(theta)))
        for row, j in enumerate(penalised):
            prior_rows[row, j] = penalty(j, theta[j] + 1.0) - penalty(j, theta[j])
        return np.vstack([J / (scale0 * weight[:, None]), prior_rows])

    warm = [np.clip(w, lower, upper) for w in warm]
    initial = warm + list(live_starts(law, features, rng, starts))
    initial += revived_starts(law, warm, features, rng)  # after the random starts: theirs are drawn as before
    def search(theta0, max_nfev):
        theta0 = np.clip(theta0, np.nextafter(lower, upper), np.nextafter(upper, lower))
        try:
            result = least_squares(residuals, theta0, jac=jacobian, bounds=(lower, upper), x_scale="jac",
                                   max_nfev=max_nfev)
        except ValueError:  # a start where the residuals are not finite
            return None
        if np.any(result.fun[:y.size] == BAD_RESIDUAL):  # the law is not finite at some run there: no fit
            return None
        return float(np.sum(result.fun ** 2)), result.x

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        solutions = [s for s in (search(theta0, SEARCH_NFEV) for theta0 in initial) if s is not None]
        if not solutions:
            raise InputError(f"law {law.name}: its mean is not finite at the runs from any start ({len(initial)} "
                             "tried): check the law's inputs, its boxes and where it takes logs or powers")
        solutions.sort(key=lambda s: s[0])
        trend, sizes = 0.0, LaplaceFit.sizes
        if size is not None:
            sizes, u = _standardised(np.asarray(size, float))
            trend = noise_trend(law.predict(solutions[0][1], features)[0] - y, u, len(y) - len(priors))
        if trend:
            weight = np.exp(trend * u)
        if centred_boxes:  # residuals are in units of scale0: the boxes weigh in at the noise the runs show
            box_weight = np.sqrt(NoisePosterior.of(law, solutions[0][1], features, y, weight).mean()) / scale0
        if trend or centred_boxes:
            solutions = sorted((s for s in (search(theta, SEARCH_NFEV) for _, theta in solutions[:REFIT_STARTS])
                                if s is not None), key=lambda s: s[0]) or solutions
        polished = search(solutions[0][1], POLISH_NFEV) if polish else None
    if polished is not None and polished[0] < solutions[0][0]:
        solutions.insert(0, polished)

    best = solutions[0][1]
    noise = NoisePosterior.of(law, best, features, y, weight)
    sigma2 = noise.mean()

    modes, log_weights = [], []
    for objective, theta in solutions:
        log_post = -0.5 * objective * scale0 ** 2 / sigma2
        if log_post < -0.5 * solutions[0][0] * scale0 ** 2 / sigma2 - MODE_WINDOW or len(modes) == MAX_MODES:
            break
        if any(np.allclose(theta, m, rtol=1e-3, atol=1e-9) for m, _ in modes):
            continue
        root, log_det = _laplace_covariance_root(law, theta, features, sigma2 * weight ** 2)
        modes.append((theta, root))
        log_weights.append(log_post + 0.5 * log_det)
    weights = np.exp(np.array(log_weights) - max(log_weights))
    counts = rng.multinomial(n_draws, weights / weights.sum())
    draws = np.concatenate([m + rng.standard_normal((k, len(m))) @ root.T for (m, root), k in zip(modes, counts)])
    ends = np.cumsum(counts)
    spans = tuple((m, slice(end - k, end)) for (m, _), k, end in zip(modes, counts, ends) if k)
    noise_sd = noise.sigma_draws(n_draws, rng)
    result = LaplaceFit(law=law, best=best, modes=spans, draws=draws, noise_sd=noise_sd, trend=trend, sizes=sizes)
    return result if linearized else result.through_law()


def residual_dof(law: Law, observations: int) -> int:
    """The residuals' degrees of freedom after fitting ``law`` to ``observations``: 0 where they are no more than
    its parameters (the noise is then its prior's)."""
    return max(observations - len(law.priors), 0)


@dataclass(frozen=True)
class NoisePosterior:
    """sigma^2's posterior given residuals with sum of squares ``rss`` on ``dof`` degrees of freedom and a
    ``HalfNormal(prior_sd)`` prior on sigma: density proportional to ``v^(-(dof + 1) / 2) exp(-(rss / v +
    v / prior_sd^2) / 2)``, a generalised inverse Gaussian. With no degrees of freedom and no residual it is the
    prior itself; with many, the residuals' scale. (The conjugate scaled-inverse-chi^2 with half a pseudo-run
    at the prior's scale that it replaces has no finite mean at zero degrees of freedom: draws of thousands
    of prior scales, and intervals as wide.)"""

    rss: float
    dof: int
    prior_sd: float

    @classmethod
    def of(cls, law: Law, theta: np.ndarray, features: dict, y: np.ndarray, weight: np.ndarray) -> NoisePosterior:
        """Given the residuals at ``theta`` (weighted by the noise trend's ``weight``) under ``law``'s prior."""
        rss = float(np.sum(((law.predict(theta, features)[0] - y) / weight) ** 2))
        return cls(rss, residual_dof(law, len(y)), law.noise_sd.sigma)

    def _shape(self) -> tuple[float, float, float]:
        """scipy's ``geninvgauss`` arguments ``(p, b, scale)``; a residual sum of 0 (a law through every run) is
        floored far below any noise."""
        chi, psi = max(self.rss, 1e-12 * self.prior_sd ** 2), self.prior_sd ** -2
        return (1 - self.dof) / 2, float(np.sqrt(chi * psi)), float(np.sqrt(chi / psi))

    def mean(self) -> float:
        """E sigma^2, by Bessel functions; where one of them overflows (hundreds of degrees of freedom) by the
        inverse-gamma's mean, which the distribution then is to within 1%."""
        p, b, scale = self._shape()
        with np.errstate(all="ignore"):
            mean = scale * special.kve(p + 1, b) / special.kve(p, b)
        return float(mean) if np.isfinite(mean) and mean > 0 else self.rss / max(self.dof - 3, 1)

    def sigma_draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws of sigma."""
        p, b, scale = self._shape()
        return np.sqrt(stats.geninvgauss.rvs(p, b, scale=scale, size=n, random_state=rng))


def _standardised(size: np.ndarray) -> tuple[tuple, np.ndarray]:
    """``(centre, scale, lowest, highest)`` of the runs' log sizes and each standardised (scale 1 when all
    are equal)."""
    centre, scale = float(np.mean(size)), float(np.std(size)) or 1.0
    u = (size - centre) / scale
    return (centre, scale, float(u.min()), float(u.max())), u


def noise_trend(residuals: np.ndarray, u: np.ndarray, dof: int | None = None) -> float:
    """The MAP of ``t`` in ``residual ~ Normal(0, s exp(t u))`` with ``s`` profiled out and a
    ``Normal(0, NOISE_TREND_SD)`` prior (``u`` standardised: its mean is 0), or 0 unless the data show
    one: its likelihood ratio against ``t = 0``, scaled by ``dof`` / runs (the residuals' degrees of
    freedom: a fit with about as many runs as parameters leaves residuals near 0 on some runs, which
    look like a steep trend), must pass ``NOISE_TREND_EVIDENCE``."""
    r2 = np.maximum(residuals ** 2, 1e-30)
    dof = len(r2) if dof is None else dof

    def log_ratio(t):  # the profiled negative log-likelihood less its value at t = 0
        return 0.5 * len(r2) * (np.log(np.mean(r2 * np.exp(-2 * t * u))) - np.log(np.mean(r2)))

    t = float(minimize_scalar(lambda t: log_ratio(t) + 0.5 * (t / NOISE_TREND_SD) ** 2, bounds=(-3.0, 3.0),
                              method="bounded").x)
    return t if dof > 0 and -2 * log_ratio(t) * dof / len(r2) > NOISE_TREND_EVIDENCE else 0.0


def _laplace_covariance_root(law: Law, theta: np.ndarray, features: dict, noise_var):
    """A square root ``S`` (``S S^T`` = the covariance) of the Gauss-Newton covariance at ``theta``,
    (J^T diag(1 / noise_var) J + prior precision)^-1, and the covariance's log-determinant."""
    _, jacobian = value_and_jacobian(law, theta, features)
    return covariance_root(jacobian, noise_var, np.array([1.0 / p.sd ** 2 for p in law.priors.values()]))


def covariance_root(jacobian: np.ndarray, noise_var, prior_precision: np.ndarray):
    """``S`` with ``S S^T`` = (J^T diag(1 / noise_var) J + diag(prior_precision))^-1, and the log-determinant of
    that covariance (its eigenvalues floored at the least prior precision, which they cannot fall below but by
    rounding)."""
    precision = jacobian.T @ (jacobian / np.reshape(noise_var, (-1, 1))) + np.diag(prior_precision)
    eigenvalues, vectors = np.linalg.eigh(precision)
    eigenvalues = np.maximum(eigenvalues, prior_precision.min())
    return vectors / np.sqrt(eigenvalues), -float(np.sum(np.log(eigenvalues)))
